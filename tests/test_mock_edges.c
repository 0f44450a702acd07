/*
 * test_mock_edges - corners of the mock backend a review found wrong, each
 * against what a real kernel does (the oracle is Linux's documented
 * behaviour, and the simulated world read back afterwards):
 * - a close takes effect at once: a cancel of it finds it finished
 *   (-CIO_ENOENT, the close 0), a deadline cannot fail it, and the handle
 *   is gone either way (the peer reads end of file);
 * - a splice naming a number that is not open fails with -CIO_EBADF at
 *   once (it used to wait where nothing could reach it, and the loop's
 *   close never returned);
 * - a timer 2^64 - 1 ns ahead still fires, in virtual time (the mock used
 *   to wait for another thread for ever);
 * - an op a cancel ends is poisoned like one that completes (with
 *   CIO_MOCK_POISON);
 * - AF_UNIX datagrams: a poll for POLLOUT on a sender whose peer is full
 *   completes once the peer reads, and two sends waiting for two full
 *   peers each go on when their own peer reads;
 * - cio_mock_file_put past the capacity leaves nothing behind;
 * - at most cio_mock_options.max_handles handles are open at once, as
 *   RLIMIT_NOFILE: one more is -CIO_EMFILE and leaves nothing behind;
 * - a multishot poll reports a change that comes between one report and
 *   its next try (the mock used to lose it: the poll then waited for a
 *   change that had already come).
 * It names its backend itself: ctest runs it once (CIO_TEST_ONCE). CIO_TEST_PORTABLE.
 */
#include "mock_util.h"

#if defined(_WIN32)
#include <afunix.h>
#else
#include <sys/socket.h>
#include <sys/un.h>
#endif

static void close_is_final(void) {
    cio_loop loop;
    mock_loop(&loop, 51);
    cio_fd p[2];
    CHECK_EQ(cio_mock_pipe(&loop, p), 0);
    t_op cl, cn;
    cio_prep_close(&cl.op, p[1]);
    submit(&loop, &cl);
    cio_prep_cancel(&cn.op, &cl.op);
    CHECK_EQ(do_op(&loop, &cn), -CIO_ENOENT);
    run_until_done(&loop, &cl);
    CHECK_EQ(cl.res, 0);
    char c;
    t_op rd;
    cio_prep_read(&rd.op, p[0], &c, 1, CIO_OFFSET_CURRENT);
    CHECK_EQ(do_op(&loop, &rd), 0); /* end of file: the write end is gone */
    /* A deadline that is already due cannot fail a close either. */
    cio_prep_close(&cl.op, p[0]);
    cl.op.deadline = cio_now(&loop);
    CHECK_EQ(do_op(&loop, &cl), 0);
    cio_prep_close(&cl.op, p[0]);
    CHECK_EQ(do_op(&loop, &cl), -CIO_EBADF); /* gone */
    mock_close(&loop, 0);
}

static void splice_to_nothing(void) {
    cio_loop loop;
    mock_loop(&loop, 52);
    cio_fd p[2];
    CHECK_EQ(cio_mock_pipe(&loop, p), 0);
    t_op sp;
    cio_prep_splice(&sp.op, p[0], CIO_OFFSET_CURRENT, p[1] + 7, CIO_OFFSET_CURRENT, 4, 0);
    t_arm(&sp);
    int r = cio_submit(&loop, &sp.op);
    if (r == -CIO_ENOTSUP) { /* a POSIX-only build: splice(2) is Linux's */
        mock_close(&loop, 2);
        return;
    }
    CHECK_EQ(r, 0);
    cio_fd q[2];
    CHECK_EQ(cio_mock_pipe(&loop, q), 0); /* the numbers after p's */
    run_until_done(&loop, &sp);
    CHECK_EQ(sp.res, -CIO_EBADF);
    t_op c;
    for (int i = 0; i < 2; i++) {
        cio_prep_close(&c.op, p[i]);
        CHECK_EQ(do_op(&loop, &c), 0);
        cio_prep_close(&c.op, q[i]);
        CHECK_EQ(do_op(&loop, &c), 0);
    }
    double t0 = t_seconds();
    mock_close(&loop, 0);
    CHECK(t_seconds() - t0 < 5.0);
}

static void far_timer(void) {
    cio_loop loop;
    mock_loop(&loop, 53);
    t_op tm;
    cio_prep_timeout(&tm.op, UINT64_MAX, 0);
    double t0 = t_seconds();
    CHECK_EQ(do_op(&loop, &tm), 0);
    CHECK_EQ(cio_now(&loop), UINT64_MAX);
    CHECK(t_seconds() - t0 < 5.0);
    mock_close(&loop, 0);
}

static void poisoned_when_cancelled(void) {
    cio_mock_options mo;
    memset(&mo, 0, sizeof mo);
    mo.flags = CIO_MOCK_POISON;
    cio_loop_options o = mock_options(54);
    o.backend_options = &mo;
    cio_loop loop;
    CHECK_EQ(cio_loop_init(&loop, &o), 0);
    cio_fd p[2];
    CHECK_EQ(cio_mock_pipe(&loop, p), 0);
    char c;
    t_op rd;
    cio_prep_read(&rd.op, p[0], &c, 1, CIO_OFFSET_CURRENT);
    submit(&loop, &rd);
    settle(&loop);
    CHECK_EQ(cio_cancel(&loop, &rd.op), 0);
    run_until_done(&loop, &rd);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
    CHECK_EQ(rd.op.internal_.when, 0xa5a5a5a5a5a5a5a5ull);
    CHECK_EQ(rd.op.internal_.bflags, 0xa5a5);
    t_op cl;
    for (int i = 0; i < 2; i++) {
        cio_prep_close(&cl.op, p[i]);
        CHECK_EQ(do_op(&loop, &cl), 0);
    }
    mock_close(&loop, 0);
}

/* AF_UNIX datagram sockets bound to `name`. */
static cio_fd dgram(cio_loop *loop, const char *name, struct sockaddr_un *a) {
    t_op t;
    cio_prep_socket(&t.op, AF_UNIX, SOCK_DGRAM, 0);
    cio_fd fd = do_fd_op(loop, &t);
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s", name);
    cio_prep_bind(&t.op, fd, (struct sockaddr *)a, sizeof *a);
    CHECK_EQ(do_op(loop, &t), 0);
    return fd;
}

/* Sends to `to` until its queue is full (the send parks): the parked
 * send, whose message (one of `msgs`) stays in place until it completes. */
static void fill(cio_loop *loop, cio_fd from, const struct sockaddr_un *to, t_op *parked, cio_msghdr msgs[64]) {
    static char byte = 'x';
    static cio_iovec iov = {.iov_base = &byte, .iov_len = 1};
    for (int i = 0; i < 64; i++) {
        cio_msg_init(&msgs[i], (void *)(uintptr_t)to, sizeof *to, &iov, 1, NULL, 0);
        cio_prep_sendmsg(&parked->op, from, &msgs[i], 0);
        submit(loop, parked);
        settle(loop);
        if (!parked->finals) return;
        CHECK_EQ(parked->res, 1);
    }
    CHECK(!"the receiver's queue never filled");
}

static void take_one(cio_loop *loop, cio_fd fd) {
    char c;
    t_op r;
    cio_prep_recv(&r.op, fd, &c, 1, 0);
    CHECK_EQ(do_op(loop, &r), 1);
}

static void dgram_room(void) {
    cio_loop loop;
    mock_loop(&loop, 55);
    struct sockaddr_un a1, a2, a3;
    cio_fd s = dgram(&loop, "/edges/s", &a1), r2 = dgram(&loop, "/edges/r2", &a2), r3 = dgram(&loop, "/edges/r3", &a3);
    t_op w2, w3;
    static cio_msghdr m2[64], m3[64], m4[64];
    fill(&loop, s, &a2, &w2, m2);
    fill(&loop, s, &a3, &w3, m3);
    CHECK_EQ(w2.finals + w3.finals, 0); /* both wait, each for its own peer */
    take_one(&loop, r2);
    settle(&loop);
    CHECK_EQ(w2.finals, 1);
    CHECK_EQ(w2.res, 1);
    CHECK_EQ(w3.finals, 0);
    take_one(&loop, r3);
    settle(&loop);
    CHECK_EQ(w3.finals, 1);
    /* A poll for POLLOUT on a sender connected to a full peer. */
    t_op c, pl, w;
    cio_prep_connect(&c.op, s, (struct sockaddr *)&a2, sizeof a2);
    CHECK_EQ(do_op(&loop, &c), 0);
    fill(&loop, s, &a2, &w, m4);
    cio_prep_poll(&pl.op, s, CIO_POLLOUT);
    submit(&loop, &pl);
    settle(&loop);
    CHECK_EQ(pl.finals, 0);
    take_one(&loop, r2);
    settle(&loop);
    CHECK_EQ(w.finals, 1); /* the parked send took the room first... */
    take_one(&loop, r2);
    settle(&loop);
    CHECK_EQ(pl.finals, 1); /* ...and the next room ends the poll */
    CHECK(pl.res & CIO_POLLOUT);
    cio_fd all[3] = {s, r2, r3};
    for (int i = 0; i < 3; i++) {
        cio_prep_close(&c.op, all[i]);
        CHECK_EQ(do_op(&loop, &c), 0);
    }
    mock_close(&loop, 0);
}

static void put_past_capacity(void) {
    cio_loop loop;
    mock_loop(&loop, 56);
    size_t big = (size_t)CIO_MOCK_FS_CAPACITY + 4096;
    char *data = calloc(1, big);
    CHECK(data != NULL);
    CHECK_EQ(cio_mock_file_put(&loop, "/new/dir/too-big", data, big), -CIO_ENOSPC);
    CHECK_EQ(cio_mock_file_get(&loop, "/new/dir/too-big", NULL, 0), -CIO_ENOENT);
    CHECK_EQ(cio_mock_file_get(&loop, "/new/dir", NULL, 0), -CIO_ENOENT); /* no parent made either */
    free(data);
    mock_close(&loop, 0);
}

/* A multishot poll for POLLIN; each report's callback sends one more byte
 * from the peer (until 3), which the next report must see. */
typedef struct ms_poll {
    t_op t;
    cio_fd peer;
    int sent;
    t_op send;
} ms_poll;

static void on_ms_report(cio_loop *loop, cio_op *op) {
    ms_poll *p = (ms_poll *)op;
    t_cb(loop, op);
    if (!(op->flags & CIO_F_MORE) || p->sent == 3) return;
    p->sent++;
    cio_prep_send(&p->send.op, p->peer, "y", 1, 0);
    t_arm(&p->send);
    CHECK_EQ(cio_submit(loop, &p->send.op), 0);
}

static void multishot_change(void) {
    int lost = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        cio_loop loop;
        mock_loop(&loop, seed);
        cio_fd s[2];
        CHECK_EQ(cio_mock_socketpair(&loop, s), 0);
        static ms_poll p;
        memset(&p, 0, sizeof p);
        p.peer = s[0];
        cio_prep_poll(&p.t.op, s[1], CIO_POLLIN);
        p.t.op.flags |= CIO_F_MULTISHOT;
        t_arm(&p.t);
        p.t.op.cb = on_ms_report;
        CHECK_EQ(cio_submit(&loop, &p.t.op), 0);
        t_op first;
        cio_prep_send(&first.op, s[0], "x", 1, 0);
        CHECK_EQ(do_op(&loop, &first), 1);
        settle(&loop);
        settle(&loop);
        /* Each of the 3 sends after a report is a change: each is seen. */
        if (p.t.mores < 4) lost++;
        CHECK_EQ(cio_cancel(&loop, &p.t.op), 0);
        run_until_done(&loop, &p.t);
        t_op c;
        for (int i = 0; i < 2; i++) {
            cio_prep_close(&c.op, s[i]);
            CHECK_EQ(do_op(&loop, &c), 0);
        }
        mock_close(&loop, 0);
    }
    CHECK_EQ(lost, 0);
}

static void handle_limit(void) {
    cio_mock_options mo;
    memset(&mo, 0, sizeof mo);
    mo.max_handles = 5;
    cio_loop_options o = mock_options(57);
    o.backend_options = &mo;
    cio_loop loop;
    CHECK_EQ(cio_loop_init(&loop, &o), 0);
    cio_fd a[2], b[2], c[2];
    CHECK_EQ(cio_mock_pipe(&loop, a), 0);
    CHECK_EQ(cio_mock_socketpair(&loop, b), 0);
    CHECK_EQ(cio_mock_pipe(&loop, c), -CIO_EMFILE); /* 5 and 6: the pair fails whole */
    t_op t;
    cio_prep_socket(&t.op, AF_INET, SOCK_STREAM, 0);
    CHECK(do_op(&loop, &t) >= 0);
    cio_fd s5 = cio_op_fd(&t.op);
    cio_prep_socket(&t.op, AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(do_op(&loop, &t), -CIO_EMFILE);
    cio_fd all[5] = {a[0], a[1], b[0], b[1], s5};
    for (int i = 0; i < 5; i++) {
        cio_prep_close(&t.op, all[i]);
        CHECK_EQ(do_op(&loop, &t), 0);
    }
    CHECK_EQ(cio_mock_pipe(&loop, c), 0); /* room again */
    for (int i = 0; i < 2; i++) {
        cio_prep_close(&t.op, c[i]);
        CHECK_EQ(do_op(&loop, &t), 0);
    }
    mock_close(&loop, 0);
    mo.max_handles = (1u << 29) + 1;
    CHECK_EQ(cio_loop_init(&loop, &o), -CIO_EINVAL);
}

int main(void) {
    t_watchdog();
    t_unsetenv("CIO_BACKEND");
    t_unsetenv("CIO_MOCK_SEED");
    t_unsetenv("CIO_MOCK_FAULTS");
    close_is_final();
    splice_to_nothing();
    far_timer();
    poisoned_when_cancelled();
    dgram_room();
    put_past_capacity();
    multishot_change();
    handle_limit();
    puts("mock_edges: ok");
    return 0;
}
