/*
 * test_mock_socket - simulated connected stream sockets on the mock
 * backend (cio_mock_socketpair in cio/mock.h). The oracles are the test's
 * own: a byte stream from its own generator, checked byte for byte after
 * an echo across the pair under many seeds; completion counts (each op
 * exactly once); results as a connected TCP socket on Linux gives them
 * (MSG_WAITALL lengths, EAGAIN, PEEK, end of file after SHUT_WR, EPIPE,
 * ECONNRESET after a close with unread data, tcp_poll's events); virtual
 * time at a deadline. Same seed, same run: the trace is compared between
 * two runs. It names its backend itself: ctest runs it once (CIO_TEST_ONCE). CIO_TEST_PORTABLE.
 */
#include "mock_util.h"

#define TOTAL (100 * 1000) /* bytes per run, each way */
#define SEEDS 200

/* Sends all of buf[0..len) with plain sends; counts the short ones. */
static void send_all(cio_fd fd, const unsigned char *buf, uint32_t len, int *sends, int *shorts) {
    uint32_t done = 0;
    for (int tries = 0; done < len; tries++) {
        CHECK(tries < 100000);
        int32_t n = cio_send(fd, buf + done, len - done, 0);
        CHECK(n > 0);
        CHECK((uint32_t)n <= len - done);
        (*sends)++;
        if ((uint32_t)n < len - done) (*shorts)++;
        done += (uint32_t)n;
    }
}

/* ---- an echo across the pair, under many seeds ---- */

typedef struct echo_run {
    cio_fd fds[2]; /* fds[0]: the client's end, fds[1]: the echo's */
    uint32_t sent, got, echoed;
    int sends, short_sends, recvs, short_recvs;
    int writer_done, reader_done, echo_done;
    int waitall; /* the client's reader uses MSG_WAITALL */
} echo_run;

/* The client's writer: TOTAL bytes in chunks of varying size, then
 * SHUT_WR (the echo reads end of file; the echo still comes back). */
static intptr_t client_writer(void *arg) {
    echo_run *r = arg;
    static unsigned char chunk[3000];
    for (int c = 0; r->sent < TOTAL; c++) {
        uint32_t len = 1 + (uint32_t)(c * 977 % 3000);
        if (len > TOTAL - r->sent) len = TOTAL - r->sent;
        for (uint32_t i = 0; i < len; i++) chunk[i] = byte_at(r->sent + i);
        send_all(r->fds[0], chunk, len, &r->sends, &r->short_sends);
        r->sent += len;
    }
    CHECK_EQ(cio_shutdown(r->fds[0], CIO_SHUT_WR), 0);
    r->writer_done = 1;
    return 0;
}

/* The client's reader: the echo, byte for byte, until end of file. With
 * MSG_WAITALL every receive but the last is of the whole length. */
static intptr_t client_reader(void *arg) {
    echo_run *r = arg;
    static unsigned char buf[5000];
    for (int tries = 0;; tries++) {
        CHECK(tries < 200000);
        uint32_t want = 1 + (uint32_t)(tries * 1237 % 5000);
        int32_t n = cio_recv(r->fds[0], buf, want, r->waitall ? CIO_MSG_WAITALL : 0);
        CHECK(n >= 0);
        CHECK((uint32_t)n <= want);
        if (n == 0) break;
        r->recvs++;
        if ((uint32_t)n < want) r->short_recvs++;
        if (r->waitall && (uint32_t)n < want) CHECK_EQ(r->got + (uint32_t)n, TOTAL); /* only at the end */
        for (int32_t i = 0; i < n; i++) CHECK_EQ(buf[i], byte_at(r->got + (uint32_t)i));
        r->got += (uint32_t)n;
    }
    CHECK(r->writer_done);
    CHECK_EQ(cio_close(r->fds[0]), 0);
    r->reader_done = 1;
    return 0;
}

/* The echo: what it receives goes back, until end of file; then it shuts
 * down its sending half and closes. */
static intptr_t echo(void *arg) {
    echo_run *r = arg;
    static unsigned char buf[2500];
    for (int tries = 0;; tries++) {
        CHECK(tries < 200000);
        int32_t n = (tries % 3) ? cio_recv(r->fds[1], buf, sizeof buf, 0) : cio_read(r->fds[1], buf, sizeof buf, 0);
        CHECK(n >= 0);
        if (n == 0) break;
        send_all(r->fds[1], buf, (uint32_t)n, &r->sends, &r->short_sends);
        r->echoed += (uint32_t)n;
    }
    CHECK_EQ(cio_shutdown(r->fds[1], CIO_SHUT_WR), 0);
    CHECK_EQ(cio_close(r->fds[1]), 0);
    r->echo_done = 1;
    return 0;
}

static uint64_t echo_once(uint64_t seed, echo_run *r, int waitall) {
    memset(r, 0, sizeof *r);
    r->waitall = waitall;
    cio_loop loop;
    mock_loop(&loop, seed);
    CHECK_EQ(cio_mock_socketpair(&loop, r->fds), 0);
    CHECK(r->fds[0] >= CIO_MOCK_FD_BASE && r->fds[1] >= CIO_MOCK_FD_BASE && r->fds[0] != r->fds[1]);
    CHECK_EQ(cio_task_spawn(&loop, echo, r, NULL, NULL), 0);
    CHECK_EQ(cio_task_spawn(&loop, client_reader, r, NULL, NULL), 0);
    CHECK_EQ(cio_task_spawn(&loop, client_writer, r, NULL, NULL), 0);
    t_run(&loop, 10.0);
    CHECK(r->writer_done && r->reader_done && r->echo_done);
    CHECK_EQ(r->sent, TOTAL);
    CHECK_EQ(r->echoed, TOTAL);
    CHECK_EQ(r->got, TOTAL);
    uint64_t trace = cio_mock_trace(&loop);
    t_close(&loop);
    return trace;
}

static echo_run runs[2];

static void many_seeds(int waitall) {
    int with_short_sends = 0;
    long long sends = 0, recvs = 0, short_recvs = 0;
    double t0 = t_seconds();
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        echo_once(seed, &runs[0], waitall);
        if (runs[0].short_sends > 0) with_short_sends++;
        sends += runs[0].sends;
        recvs += runs[0].recvs;
        short_recvs += runs[0].short_recvs;
    }
    printf("%s: %d seeds x %d bytes echoed: %lld sends, %lld recvs (%lld short), short sends in %d seeds, %.3f s\n",
           waitall ? "waitall" : "plain", SEEDS, TOTAL, sends, recvs, short_recvs, with_short_sends, t_seconds() - t0);
    CHECK(with_short_sends >= SEEDS * 9 / 10); /* the mock made the loops matter */
    if (waitall)
        CHECK(short_recvs <= SEEDS); /* at most the last of each run */
    else
        CHECK(short_recvs > SEEDS);
}

static void determinism(void) {
    uint64_t a = echo_once(4242, &runs[0], 0);
    uint64_t b = echo_once(4242, &runs[1], 0);
    CHECK_EQ(a, b);
    CHECK_EQ(runs[0].sends, runs[1].sends);
    CHECK_EQ(runs[0].recvs, runs[1].recvs);
    uint64_t c = echo_once(4243, &runs[1], 0);
    CHECK(a != c);
}

/* ---- ops with callbacks ---- */

/* Submits `t` and runs until it completed: its result. */
static int32_t do_send(cio_loop *loop, cio_fd fd, const char *s, int flags) {
    t_op t;
    cio_prep_send(&t.op, fd, s, (uint32_t)strlen(s), flags);
    return do_op(loop, &t);
}

static int32_t do_recv(cio_loop *loop, cio_fd fd, char *buf, uint32_t len, int flags) {
    t_op t;
    cio_prep_recv(&t.op, fd, buf, len, flags);
    return do_op(loop, &t);
}

/* Sends all of `s` (a short send is possible): its length. */
static void send_str(cio_loop *loop, cio_fd fd, const char *s) {
    size_t len = strlen(s), done = 0;
    for (int i = 0; done < len; i++) {
        CHECK(i < 100);
        int32_t n = do_send(loop, fd, s + done, 0);
        CHECK(n > 0);
        done += (size_t)n;
    }
}

/* Receives exactly `len` bytes (MSG_WAITALL) and compares them with `s`. */
static void recv_str(cio_loop *loop, cio_fd fd, const char *s) {
    char buf[64] = {0};
    uint32_t len = (uint32_t)strlen(s);
    CHECK_EQ(do_recv(loop, fd, buf, len, CIO_MSG_WAITALL), (int32_t)len);
    CHECK(memcmp(buf, s, len) == 0);
}

static void dontwait_and_peek(void) {
    cio_loop loop;
    mock_loop(&loop, 21);
    cio_fd s[2];
    CHECK_EQ(cio_mock_socketpair(&loop, s), 0);
    char buf[32] = {0}, again[32] = {0};
    /* Nothing held: -CIO_EAGAIN, at once. */
    CHECK_EQ(do_recv(&loop, s[0], buf, sizeof buf, CIO_MSG_DONTWAIT), -CIO_EAGAIN);
    CHECK_EQ(do_recv(&loop, s[1], buf, sizeof buf, CIO_MSG_DONTWAIT), -CIO_EAGAIN);
    /* A peek, then a recv: the same bytes, and they were still there. */
    send_str(&loop, s[0], "hello, peer");
    settle(&loop);
    int32_t p = do_recv(&loop, s[1], buf, sizeof buf, CIO_MSG_PEEK);
    CHECK(p >= 1 && p <= 11);
    CHECK(memcmp(buf, "hello, peer", (size_t)p) == 0);
    int32_t p2 = do_recv(&loop, s[1], again, sizeof again, CIO_MSG_PEEK | CIO_MSG_DONTWAIT);
    CHECK(p2 >= 1 && memcmp(again, "hello, peer", (size_t)p2) == 0);
    memset(again, 0, sizeof again);
    recv_str(&loop, s[1], "hello, peer");
    CHECK_EQ(do_recv(&loop, s[1], buf, sizeof buf, CIO_MSG_DONTWAIT), -CIO_EAGAIN); /* consumed */
    /* A full direction: a DONTWAIT send is -CIO_EAGAIN, others park. */
    static char big[8192];
    uint32_t filled = 0;
    for (int i = 0; i < 10000; i++) {
        t_op t;
        cio_prep_send(&t.op, s[1], big, sizeof big, CIO_MSG_DONTWAIT);
        int32_t n = do_op(&loop, &t);
        if (n == -CIO_EAGAIN) break;
        CHECK(n > 0);
        filled += (uint32_t)n;
    }
    CHECK_EQ(filled, CIO_MOCK_PIPE_CAPACITY);
    /* The other direction is not full. */
    CHECK(do_send(&loop, s[0], "x", CIO_MSG_DONTWAIT) == 1);
    /* Flags the mock does not know, and socket ops on a pipe. */
    CHECK_EQ(do_recv(&loop, s[0], buf, sizeof buf, MSG_OOB), -CIO_EINVAL);
    CHECK_EQ(do_send(&loop, s[0], "x", CIO_MSG_PEEK), -CIO_EINVAL);
    CHECK_EQ(do_send(&loop, s[0], "", MSG_NOSIGNAL), 0);
    t_op t;
    cio_prep_shutdown(&t.op, s[0], 7);
    t_arm(&t);
    CHECK_EQ(cio_submit(&loop, &t.op), -CIO_EINVAL); /* the core refuses it already */
    cio_fd pp[2];
    CHECK_EQ(cio_mock_pipe(&loop, pp), 0);
    CHECK_EQ(do_recv(&loop, pp[0], buf, 1, 0), -CIO_ENOTSOCK);
    cio_prep_shutdown(&t.op, pp[1], CIO_SHUT_WR);
    CHECK_EQ(do_op(&loop, &t), -CIO_ENOTSOCK);
    mock_close(&loop, 4);
}

static void shut_wr(void) {
    cio_loop loop;
    mock_loop(&loop, 22);
    cio_fd s[2];
    CHECK_EQ(cio_mock_socketpair(&loop, s), 0);
    char buf[32];
    /* A recv parked on s[1] sees the bytes sent before SHUT_WR, then 0. */
    t_op rd, sh, pl;
    cio_prep_recv(&rd.op, s[1], buf, sizeof buf, CIO_MSG_WAITALL);
    submit(&loop, &rd);
    settle(&loop);
    CHECK_EQ(rd.finals, 0);
    send_str(&loop, s[0], "last words");
    cio_prep_shutdown(&sh.op, s[0], CIO_SHUT_WR);
    CHECK_EQ(do_op(&loop, &sh), 0);
    run_until_done(&loop, &rd);
    CHECK_EQ(rd.res, 10); /* MSG_WAITALL: the bytes, then end of file */
    CHECK(memcmp(buf, "last words", 10) == 0);
    CHECK_EQ(do_recv(&loop, s[1], buf, sizeof buf, 0), 0);
    CHECK_EQ(do_recv(&loop, s[1], buf, sizeof buf, CIO_MSG_DONTWAIT), 0);
    /* The shut end's sends fail; the other direction works on. */
    CHECK_EQ(do_send(&loop, s[0], "more", 0), -CIO_EPIPE);
    send_str(&loop, s[1], "reply");
    recv_str(&loop, s[0], "reply");
    /* Poll: s[1] reads end of file (IN, RDHUP), can send (OUT); s[0]
     * has nothing to read and can only fail to send. */
    cio_prep_poll(&pl.op, s[1], CIO_POLLIN | CIO_POLLOUT | CIO_POLLRDHUP);
    CHECK_EQ(do_op(&loop, &pl), (int32_t)(CIO_POLLIN | CIO_POLLOUT | CIO_POLLRDHUP));
    cio_prep_poll(&pl.op, s[0], CIO_POLLIN | CIO_POLLOUT | CIO_POLLRDHUP);
    CHECK_EQ(do_op(&loop, &pl), (int32_t)CIO_POLLOUT);
    /* s[1] shuts down its sending half too: a recv parked on s[0] gets
     * end of file; both halves of both ends are over: HUP. */
    cio_prep_recv(&rd.op, s[0], buf, sizeof buf, 0);
    submit(&loop, &rd);
    settle(&loop);
    CHECK_EQ(rd.finals, 0);
    cio_prep_shutdown(&sh.op, s[1], CIO_SHUT_WR);
    CHECK_EQ(do_op(&loop, &sh), 0);
    run_until_done(&loop, &rd);
    CHECK_EQ(rd.res, 0);
    cio_prep_poll(&pl.op, s[0], CIO_POLLIN | CIO_POLLRDHUP);
    CHECK_EQ(do_op(&loop, &pl), (int32_t)(CIO_POLLIN | CIO_POLLRDHUP | CIO_POLLHUP));
    /* SHUT_RD: what is held is still read, then 0 instead of waiting. */
    cio_fd u[2];
    CHECK_EQ(cio_mock_socketpair(&loop, u), 0);
    send_str(&loop, u[0], "ab");
    cio_prep_shutdown(&sh.op, u[1], CIO_SHUT_RD);
    CHECK_EQ(do_op(&loop, &sh), 0);
    recv_str(&loop, u[1], "ab");
    CHECK_EQ(do_recv(&loop, u[1], buf, sizeof buf, 0), 0);
    cio_prep_shutdown(&sh.op, u[0], CIO_SHUT_RDWR);
    CHECK_EQ(do_op(&loop, &sh), 0);
    CHECK_EQ(do_send(&loop, u[0], "c", 0), -CIO_EPIPE);
    CHECK_EQ(do_recv(&loop, u[0], buf, sizeof buf, 0), 0);
    mock_close(&loop, 4);
}

static void close_ends(void) {
    cio_loop loop;
    mock_loop(&loop, 23);
    cio_fd s[2];
    CHECK_EQ(cio_mock_socketpair(&loop, s), 0);
    char buf[32];
    /* A plain close: the peer reads what came before, then end of file;
     * its parked poll wakes; its sends fail with EPIPE. */
    t_op pl, rd;
    send_str(&loop, s[0], "bye");
    cio_prep_recv(&rd.op, s[0], buf, sizeof buf, 0);
    submit(&loop, &rd); /* parked on the closing end: ends first */
    settle(&loop);
    cio_prep_poll(&pl.op, s[1], CIO_POLLRDHUP);
    submit(&loop, &pl);
    settle(&loop);
    CHECK_EQ(pl.finals, 0);
    close_fd(&loop, s[0]);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
    run_until_done(&loop, &pl);
    CHECK_EQ(pl.res, (int32_t)CIO_POLLRDHUP);
    recv_str(&loop, s[1], "bye");
    CHECK_EQ(do_recv(&loop, s[1], buf, sizeof buf, 0), 0);
    CHECK_EQ(do_send(&loop, s[1], "x", 0), -CIO_EPIPE);
    close_fd(&loop, s[1]);
    CHECK_EQ(do_recv(&loop, s[1], buf, sizeof buf, 0), -CIO_EBADF);

    /* A close with unread data: a reset. The peer's parked recv gets
     * -CIO_ECONNRESET, once; then end of file and EPIPE. */
    CHECK_EQ(cio_mock_socketpair(&loop, s), 0);
    send_str(&loop, s[0], "unread");
    settle(&loop);
    cio_prep_recv(&rd.op, s[0], buf, sizeof buf, 0);
    submit(&loop, &rd);
    settle(&loop);
    CHECK_EQ(rd.finals, 0);
    close_fd(&loop, s[1]);
    run_until_done(&loop, &rd);
    CHECK_EQ(rd.res, -CIO_ECONNRESET);
    CHECK_EQ(do_recv(&loop, s[0], buf, sizeof buf, 0), 0);
    CHECK_EQ(do_send(&loop, s[0], "x", 0), -CIO_EPIPE);
    close_fd(&loop, s[0]);

    /* The reset reported by a send, and by poll (ERR) before it. */
    CHECK_EQ(cio_mock_socketpair(&loop, s), 0);
    send_str(&loop, s[0], "unread");
    close_fd(&loop, s[1]);
    cio_prep_poll(&pl.op, s[0], CIO_POLLOUT);
    CHECK_EQ(do_op(&loop, &pl), (int32_t)(CIO_POLLOUT | CIO_POLLERR | CIO_POLLHUP));
    CHECK_EQ(do_send(&loop, s[0], "x", 0), -CIO_ECONNRESET);
    CHECK_EQ(do_send(&loop, s[0], "x", 0), -CIO_EPIPE);
    mock_close(&loop, 1); /* frees the end left open */
}

static void parked_ends(void) {
    cio_loop loop;
    mock_loop(&loop, 24);
    cio_fd s[2];
    CHECK_EQ(cio_mock_socketpair(&loop, s), 0);
    char buf[16];
    t_op rd, cancel;
    /* A cancel of a parked recv. */
    cio_prep_recv(&rd.op, s[0], buf, sizeof buf, 0);
    submit(&loop, &rd);
    settle(&loop);
    CHECK_EQ(rd.finals, 0);
    cio_prep_cancel(&cancel.op, &rd.op);
    submit(&loop, &cancel);
    t_run(&loop, 10.0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
    CHECK_EQ(cancel.res, 0);
    /* A deadline an hour away in virtual time: the clock jumps to it. */
    uint64_t hour = 3600ull * 1000 * 1000 * 1000;
    uint64_t t0 = cio_now(&loop);
    double real0 = t_seconds();
    cio_prep_recv(&rd.op, s[0], buf, sizeof buf, 0);
    rd.op.deadline = t0 + hour;
    submit(&loop, &rd);
    t_run(&loop, 10.0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ETIMEDOUT);
    CHECK(cio_now(&loop) >= t0 + hour && cio_now(&loop) < t0 + hour + 1000 * 1000);
    CHECK(t_seconds() - real0 < 5.0);
    /* A MSG_WAITALL recv that got some bytes reports them when cancelled,
     * and when its deadline comes (op.h). */
    int32_t n = do_send(&loop, s[1], "abc", 0);
    CHECK(n >= 1 && n <= 3);
    cio_prep_recv(&rd.op, s[0], buf, sizeof buf, CIO_MSG_WAITALL);
    submit(&loop, &rd);
    settle(&loop);
    CHECK_EQ(rd.finals, 0);
    cio_prep_cancel(&cancel.op, &rd.op);
    submit(&loop, &cancel);
    t_run(&loop, 10.0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, n);
    CHECK(memcmp(buf, "abc", (size_t)n) == 0);
    n = do_send(&loop, s[1], "def", 0);
    CHECK(n >= 1);
    cio_prep_recv(&rd.op, s[0], buf, sizeof buf, CIO_MSG_WAITALL);
    rd.op.deadline = cio_now(&loop) + hour;
    submit(&loop, &rd);
    t_run(&loop, 10.0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, n);
    CHECK_EQ(buf[0], 'd');
    /* Nothing lost: the pair works on. */
    send_str(&loop, s[1], "ok");
    recv_str(&loop, s[0], "ok");
    /* A parked recv left at the loop's close ends there, exactly once. */
    cio_prep_recv(&rd.op, s[1], buf, sizeof buf, 0);
    submit(&loop, &rd);
    settle(&loop);
    CHECK_EQ(rd.finals, 0);
    mock_close(&loop, 2);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
    CHECK_EQ(cio_mock_socketpair(&loop, s), -CIO_EINVAL); /* closed */
}

int main(void) {
    t_watchdog();
    t_unsetenv("CIO_BACKEND"); /* the options name the backend */
    t_unsetenv("CIO_MOCK_SEED");
    dontwait_and_peek();
    shut_wr();
    close_ends();
    parked_ends();
    determinism();
    many_seeds(0);
    many_seeds(1);
    printf("mock_socket: ok\n");
    return 0;
}
