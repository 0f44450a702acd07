/*
 * MSG_WAITALL against a peer that trickles: the peer (plain calls) sends
 * in small pieces with pauses, so that the bytes arrive over many wakes.
 * A recv or recvmsg with MSG_WAITALL completes once with the whole length
 * (the bytes checked against the pattern), as on io_uring, where the
 * kernel retries until the length is met; an end of stream or a reset
 * after some bytes reports those bytes, and so does a deadline or a cancel
 * (the bytes have left the socket: an error would lose them). A send with
 * MSG_WAITALL to a slow reader completes once with its whole length; cut
 * short, it reports what it handed to the kernel, which is what the peer
 * then reads. In callback and task
 * style, on every backend (issue 7, point 12: MSG_WAITALL ignored on
 * epoll and poll).
 */
/* The peers run on threads of their own (rude.h's pthread_create): this
 * names it for tests/CMakeLists.txt, which labels such tests "threads". *
 * CIO_TEST_PORTABLE
 */
#include "rude.h"

/* What the trickling peer does after its bytes (rude_peer.mode). */
enum { THEN_STAY, THEN_SHUT, THEN_RESET };

/* Peer: sends p->n bytes in p->chunk pieces, pausing p->delay_ms after
 * each; then leaves the connection open, shuts its sending side, or
 * resets it after 50 ms, as p->mode says. */
static void peer_trickle(rude_peer *p) {
    int then = p->mode;
    uint8_t buf[16384];
    for (size_t off = 0; off < p->n;) {
        size_t k = p->n - off < p->chunk ? p->n - off : p->chunk;
        rude_fill(buf, k, p->seed, off);
        long long r = t_sys_send(p->fd, buf, k, MSG_NOSIGNAL);
        if (r <= 0) {
            p->err = r < 0 ? (int)-r : EIO;
            return;
        }
        off += (size_t)r;
        rude_sleep_ms(p->delay_ms);
    }
    if (then == THEN_SHUT) {
        if (shutdown(p->fd, SHUT_WR) < 0) p->err = t_sock_error();
    } else if (then == THEN_RESET) {
        rude_sleep_ms(50);
        rude_reset_close(p->fd);
        p->fd = T_FD_NONE;
    }
}

static void start_trickle(rude_peer *peer, cio_fd p, size_t n, size_t chunk, unsigned pause, int then,
                          uint32_t seed) {
    memset(peer, 0, sizeof *peer);
    peer->n = n;
    peer->chunk = chunk;
    peer->delay_ms = pause;
    peer->seed = seed;
    peer->mode = then;
    rude_peer_start(peer, p, peer_trickle);
}

/* ---- callback style ---- */

/* 64 KiB in ~1000-byte pieces, 2 ms apart: one recv, the full length. */
static void recv_trickle(cio_loop *loop) {
    enum { N = 64 << 10 };
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0);
    static uint8_t buf[N];
    t_op t;
    cio_prep_recv(&t.op, s, buf, N, MSG_WAITALL);
    net_arm(&t);
    CHECK_EQ(cio_submit(loop, &t.op), 0);
    rude_peer peer;
    start_trickle(&peer, p, N, 997, 2, THEN_STAY, 41);
    int32_t r = net_wait(loop, &t, 10);
    rude_peer_join(&peer);
    CHECK_EQ(peer.err, 0);
    if (r != N) fprintf(stderr, "MSG_WAITALL recv of %d bytes completed with %d\n", N, r);
    CHECK_EQ(r, N);
    CHECK_EQ(rude_mismatch(buf, N, 41, 0), (size_t)-1);
    net_settle(loop);
    CHECK_EQ(t.finals, 1);
    CHECK_EQ(t_close_handle(s), 0);
    CHECK_EQ(t_close_handle(p), 0);
}

/* Two iovecs, 40 000 bytes in 500-byte pieces: one recvmsg, all of them. */
static void recvmsg_trickle(cio_loop *loop) {
    enum { A = 15000, B = 25000 };
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0);
    static uint8_t buf[A + B + 16];
    cio_iovec iov[2] = {{.iov_base = (void *)buf, .iov_len = A}, {.iov_base = (void *)(buf + A + 16), .iov_len = B}};
    cio_msghdr m;
    cio_msg_init(&m, NULL, 0, iov, 2, NULL, 0);
    t_op t;
    cio_prep_recvmsg(&t.op, s, &m, MSG_WAITALL);
    net_arm(&t);
    CHECK_EQ(cio_submit(loop, &t.op), 0);
    rude_peer peer;
    start_trickle(&peer, p, A + B, 500, 1, THEN_STAY, 42);
    int32_t r = net_wait(loop, &t, 10);
    rude_peer_join(&peer);
    CHECK_EQ(peer.err, 0);
    if (r != A + B) fprintf(stderr, "MSG_WAITALL recvmsg of %d bytes completed with %d\n", A + B, r);
    CHECK_EQ(r, A + B);
    CHECK_EQ(rude_mismatch(buf, A, 42, 0), (size_t)-1);
    CHECK_EQ(rude_mismatch(buf + A + 16, B, 42, A), (size_t)-1);
    /* The caller's msghdr is as it gave it. */
    CHECK(T_MSG_IOV(&m) == iov);
    CHECK_EQ(T_MSG_IOVLEN(&m), 2);
    CHECK((void *)iov[0].iov_base == (void *)buf && iov[0].iov_len == A);
    CHECK((void *)iov[1].iov_base == (void *)(buf + A + 16) && iov[1].iov_len == B);
    CHECK_EQ(t_close_handle(s), 0);
    CHECK_EQ(t_close_handle(p), 0);
}

/* The peer stops short: end of stream, or a reset, after 3000 of 8192
 * bytes. The recv reports the 3000 bytes it has (they are in the buffer);
 * the next recv sees the end (0). */
static void recv_cut_short(cio_loop *loop, int then) {
    enum { ASK = 8192, SENT = 3000 };
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0);
    static uint8_t buf[ASK];
    t_op t;
    cio_prep_recv(&t.op, s, buf, ASK, MSG_WAITALL);
    net_arm(&t);
    CHECK_EQ(cio_submit(loop, &t.op), 0);
    rude_peer peer;
    start_trickle(&peer, p, SENT, 600, 2, then, 43);
    int32_t r = net_wait(loop, &t, 10);
    rude_peer_join(&peer);
    CHECK_EQ(peer.err, 0);
    if (r != SENT)
        fprintf(stderr, "MSG_WAITALL recv cut short by %s after %d bytes completed with %d\n",
                then == THEN_SHUT ? "end of stream" : "a reset", SENT, r);
    CHECK_EQ(r, SENT);
    CHECK_EQ(rude_mismatch(buf, SENT, 43, 0), (size_t)-1);
    cio_prep_recv(&t.op, s, buf, ASK, MSG_WAITALL);
    CHECK_EQ(net_do(loop, &t), 0);
    CHECK_EQ(t_close_handle(s), 0);
    if (then == THEN_SHUT) CHECK_EQ(t_close_handle(p), 0);
}

/* A send with MSG_WAITALL of 1 MiB to a reader that starts slowly, with
 * small buffers: one completion, the whole length, the bytes in order. */
static void send_to_slow_reader(cio_loop *loop) {
    enum { N = 1 << 20 };
    cio_fd s, p;
    rude_pair(loop, &s, &p, 32 << 10);
    int small = 32 << 10;
    CHECK_EQ(t_setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    uint8_t *data = malloc(N);
    CHECK(data != NULL);
    rude_fill(data, N, 44, 0);
    rude_peer peer = {.chunk = 2048, .slow_until = 64 << 10, .pause_ms = 1, .rx_seed = 44};
    rude_peer_start(&peer, p, rude_peer_recv_all);
    t_op t;
    cio_prep_send(&t.op, s, data, N, MSG_WAITALL | MSG_NOSIGNAL);
    int32_t r = net_do(loop, &t);
    if (r != N) fprintf(stderr, "MSG_WAITALL send of %d bytes completed with %d\n", N, r);
    CHECK_EQ(r, N);
    cio_prep_shutdown(&t.op, s, SHUT_WR);
    CHECK_EQ(net_do(loop, &t), 0);
    rude_peer_join(&peer);
    CHECK_EQ(peer.err, 0);
    CHECK_EQ(peer.got, N);
    CHECK_EQ(peer.bad_at, (size_t)-1);
    CHECK_EQ(peer.eof, 1);
    free(data);
    CHECK_EQ(t_close_handle(s), 0);
    CHECK_EQ(t_close_handle(p), 0);
}

/* Peer: reads p->n bytes slowly, then resets with the rest unread. */
static void peer_read_then_reset(rude_peer *p) {
    uint8_t buf[4096];
    while (p->got < p->n) {
        size_t want = p->n - p->got < sizeof buf ? p->n - p->got : sizeof buf;
        long long r = t_sys_recv(p->fd, buf, want, 0);
        if (r <= 0) {
            p->err = r < 0 ? (int)-r : EIO;
            return;
        }
        size_t bad = rude_mismatch(buf, (size_t)r, p->rx_seed, p->got);
        if (bad != (size_t)-1 && p->bad_at == (size_t)-1) p->bad_at = bad;
        p->got += (size_t)r;
        rude_sleep_ms(1);
    }
    rude_reset_close(p->fd);
}

/* A MSG_WAITALL send that the peer's reset cuts short reports the bytes
 * it moved (at least those the peer read, fewer than asked), as io_uring
 * does; the reset's error went with it, so the next send finds a broken
 * pipe and a recv the end of the stream. */
static void send_waitall_reset(cio_loop *loop) {
    enum { N = 1 << 20, READ = 100 << 10 };
    cio_fd s, p;
    rude_pair(loop, &s, &p, 32 << 10);
    int small = 32 << 10;
    CHECK_EQ(t_setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    uint8_t *data = malloc(N);
    CHECK(data != NULL);
    rude_fill(data, N, 46, 0);
    rude_peer peer = {.n = READ, .rx_seed = 46};
    rude_peer_start(&peer, p, peer_read_then_reset);
    t_op t;
    cio_prep_send(&t.op, s, data, N, MSG_WAITALL | MSG_NOSIGNAL);
    int32_t r = net_do(loop, &t);
    rude_peer_join(&peer);
    CHECK_EQ(peer.err, 0);
    CHECK_EQ(peer.bad_at, (size_t)-1);
    CHECK_EQ(peer.got, READ);
    printf("MSG_WAITALL send of %d bytes cut by a reset after the peer read %d: %d\n", N, READ, r);
    CHECK(r >= READ && r < N);
    cio_prep_send(&t.op, s, data, 1, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &t), -CIO_EPIPE);
    cio_prep_recv(&t.op, s, data, 1, 0);
    CHECK_EQ(net_do(loop, &t), 0);
    free(data);
    CHECK_EQ(t_close_handle(s), 0);
}

/* The peer sends 1000 of the 4096 bytes asked for, then stalls. A deadline
 * or a cancel ends the recv, which reports the 1000 bytes it took from the
 * stream (they are in the buffer and gone from the socket), as io_uring
 * does, rather than -CIO_ETIMEDOUT or -CIO_ECANCELED that would lose them. */
static void recv_stalled(cio_loop *loop, bool by_deadline) {
    enum { ASK = 4096, SENT = 1000 };
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0);
    uint8_t out[SENT];
    rude_fill(out, SENT, 47, 0);
    CHECK_EQ(t_sys_send(p, out, SENT, MSG_NOSIGNAL), SENT);
    static uint8_t buf[ASK];
    t_op t;
    cio_prep_recv(&t.op, s, buf, ASK, MSG_WAITALL);
    if (by_deadline) t.op.deadline = cio_loop_update_now(loop) + 200 * 1000000ull;
    net_arm(&t);
    CHECK_EQ(cio_submit(loop, &t.op), 0);
    if (!by_deadline) {
        t_op tm;
        cio_prep_timeout(&tm.op, 100 * 1000000ull, 0);
        CHECK_EQ(net_do(loop, &tm), 0);
        CHECK_EQ(t.finals, 0);
        CHECK_EQ(cio_cancel(loop, &t.op), 0);
    }
    int32_t r = net_wait(loop, &t, 5);
    if (r != SENT)
        fprintf(stderr, "MSG_WAITALL recv of %d with %d sent, ended by %s: %d\n", ASK, SENT,
                by_deadline ? "its deadline" : "a cancel", r);
    CHECK_EQ(r, SENT);
    CHECK_EQ(rude_mismatch(buf, SENT, 47, 0), (size_t)-1);
    CHECK_EQ(t_set_nonblock(s, 1), 0);
    CHECK_EQ(t_sys_recv(s, buf, ASK, 0), -CIO_EAGAIN); /* nothing left behind */
    net_settle(loop);
    CHECK_EQ(t.finals, 1);
    CHECK_EQ(t_close_handle(s), 0);
    CHECK_EQ(t_close_handle(p), 0);
}

/* A MSG_WAITALL send of 1 MiB to a peer that reads nothing, ended by its
 * deadline: it reports how many bytes it handed to the kernel, and that is
 * exactly what the peer can then read (in order). */
static void send_stalled(cio_loop *loop) {
    enum { N = 1 << 20 };
    cio_fd s, p;
    rude_pair(loop, &s, &p, 32 << 10);
    int small = 16 << 10;
    CHECK_EQ(t_setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    uint8_t *data = malloc(N);
    CHECK(data != NULL);
    rude_fill(data, N, 48, 0);
    t_op t;
    cio_prep_send(&t.op, s, data, N, MSG_WAITALL | MSG_NOSIGNAL);
    t.op.deadline = cio_loop_update_now(loop) + 200 * 1000000ull;
    int32_t r = net_do(loop, &t);
    if (r <= 0 || r >= N) fprintf(stderr, "MSG_WAITALL send of %d to a stalled peer, deadline: %d\n", N, r);
    CHECK(r > 0 && r < N);
    cio_prep_shutdown(&t.op, s, SHUT_WR);
    CHECK_EQ(net_do(loop, &t), 0);
    rude_peer peer = {.rx_seed = 48};
    rude_peer_start(&peer, p, rude_peer_recv_all);
    rude_peer_join(&peer);
    CHECK_EQ(peer.err, 0);
    CHECK_EQ(peer.eof, 1);
    CHECK_EQ(peer.bad_at, (size_t)-1);
    CHECK_EQ(peer.got, (size_t)r);
    free(data);
    CHECK_EQ(t_close_handle(s), 0);
    CHECK_EQ(t_close_handle(p), 0);
}

/* ---- task style ---- */

typedef struct waitall_task {
    cio_fd fd;
    uint32_t len;
    uint8_t *buf;
    int32_t res;
    int done;
} waitall_task;

static intptr_t task_recv_waitall(void *arg) {
    waitall_task *w = arg;
    w->res = cio_recv(w->fd, w->buf, w->len, MSG_WAITALL);
    w->done = 1;
    return 0;
}

/* 256 KiB in 4 KiB pieces, a pause after each: one cio_recv, all of it. */
static void task_trickle(cio_loop *loop) {
    enum { N = 256 << 10 };
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0);
    waitall_task w = {.fd = s, .len = N, .buf = malloc(N)};
    CHECK(w.buf != NULL);
    cio_task_options det = {.detached = true};
    CHECK_EQ(cio_task_spawn(loop, task_recv_waitall, &w, &det, NULL), 0);
    rude_peer peer;
    start_trickle(&peer, p, N, 4096, 1, THEN_STAY, 45);
    t_run_until(loop, &w.done, 10);
    rude_peer_join(&peer);
    CHECK_EQ(peer.err, 0);
    if (w.res != N) fprintf(stderr, "MSG_WAITALL cio_recv of %d bytes returned %d\n", N, w.res);
    CHECK_EQ(w.res, N);
    CHECK_EQ(rude_mismatch(w.buf, N, 45, 0), (size_t)-1);
    t_run(loop, 5);
    free(w.buf);
    CHECK_EQ(t_close_handle(s), 0);
    CHECK_EQ(t_close_handle(p), 0);
}

int main(void) {
    rude_warm_up();
    int fds_before = rude_fd_count();
    cio_loop loop;
    t_loop_init(&loop, 64);
    net_watchdog(30);
    recv_trickle(&loop);
    recvmsg_trickle(&loop);
    recv_cut_short(&loop, THEN_SHUT);
    recv_cut_short(&loop, THEN_RESET);
    send_to_slow_reader(&loop);
    send_waitall_reset(&loop);
    recv_stalled(&loop, true);
    recv_stalled(&loop, false);
    send_stalled(&loop);
    net_close_loop(&loop);

    t_loop_init(&loop, 64);
    task_trickle(&loop);
    CHECK_EQ(cio_loop_active(&loop), 0);
    t_close(&loop);
    CHECK_EQ(rude_fd_count(), fds_before);
    printf("rude waitall: ok\n");
    return 0;
}
