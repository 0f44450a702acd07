/*
 * Rude peers: a TCP peer driven with plain system calls (tests/rude.h)
 * that resets the connection while cio's ops wait on it, half-closes it,
 * or meets zero-length sends and receives. Each case holds on every
 * backend, in callback style (cio_submit, the loop turned by the test) and,
 * for resets and half-closes, in task style (cio_recv, cio_send).
 *
 * Oracles: the peer's own view of the bytes (count, pattern, end of
 * stream), the kernel's errors seen through plain calls, completion counts
 * (net_cb fails the test on a second completion), a SIGPIPE counter.
 *
 * CIO_TEST_PORTABLE: Windows has no SIGPIPE (the counter stays 0 there).
 */
/* The peers run on threads of their own (rude.h's pthread_create): this
 * names it for tests/CMakeLists.txt, which labels such tests "threads". */
#include "rude.h"

#if defined(_WIN32)
static volatile int sigpipes;
#else
static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig) {
    (void)sig;
    sigpipes++;
}
#endif


/* Windows has no partial send that returns at once: an overlapped send
 * that does not fit takes what fits and waits with it, and when a reset
 * ends it, it reports the bytes it took (op.h). Linux's send returns that
 * partial count at once; only a send that finds no room at all waits, and
 * that one gets the reset. The cases that make a send wait on a full
 * connection expect Linux's answer. */
#define SEND_WAITS_WITH_BYTES(name)                                                                              \
    T_SKIP_CASE_ON_WINDOWS(name, "Windows: a send waiting on a full connection holds the bytes it took and reports " \
                                 "their count at a reset, where Linux's had returned them and moved none")

/* Turns the loop for about `ms` milliseconds (a timer op bounds it), so
 * that an op that could complete gets the chance to. */
static void turn_for(cio_loop *loop, unsigned ms) {
    t_op tm;
    cio_prep_timeout(&tm.op, (uint64_t)ms * 1000000u, 0);
    CHECK_EQ(net_do(loop, &tm), 0);
}

static void submit_armed(cio_loop *loop, t_op *t) {
    net_arm(t);
    CHECK_EQ(cio_submit(loop, &t->op), 0);
}

/*
 * Fills the connection from `s` (its peer does not read) and leaves `*t`
 * a send of `len` bytes from `buf` that has waited at least 50 ms without
 * completing. A send after an -EAGAIN may still find a little room (TCP
 * frees send space in steps), so this repeats until one really waits.
 */
static size_t fill_until_send_waits(cio_loop *loop, cio_fd s, t_op *t, const void *buf, uint32_t len,
                                    int flags) {
    size_t total = 0;
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 10000; i++) {
            t_op f;
            cio_prep_send(&f.op, s, buf, len, CIO_MSG_DONTWAIT | MSG_NOSIGNAL);
            int32_t r = net_do(loop, &f);
            if (r == -CIO_EAGAIN) break;
            CHECK(r > 0 && (uint32_t)r <= len);
            total += (size_t)r;
        }
        cio_prep_send(&t->op, s, buf, len, flags);
        submit_armed(loop, t);
        turn_for(loop, 50);
        if (t->finals == 0) return total;
        CHECK(t->res > 0 && (uint32_t)t->res <= len);
        total += (size_t)t->res;
    }
    fprintf(stderr, "a send never waited after %zu bytes\n", total);
    exit(1);
}

/* After a reset has been reported once, the socket is closed for good:
 * a recv sees end of stream, a send a broken pipe (no SIGPIPE), on every
 * backend alike, as plain calls on such a socket do. */
static void after_reset(cio_loop *loop, cio_fd s) {
    char buf[8];
    t_op t;
    cio_prep_recv(&t.op, s, buf, sizeof buf, 0);
    CHECK_EQ(net_do(loop, &t), 0);
    sigpipes = 0;
    cio_prep_send(&t.op, s, "x", 1, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_EPIPE);
    CHECK_EQ(sigpipes, 0);
}

/* ---- reset ---- */

/* The peer resets while a recv waits: the recv ends with -CIO_ECONNRESET
 * (the kernel's pending error), once. With `len` 0 too: a zero-length recv
 * waits for the stream like any other. With a deadline, the reset comes
 * first and the deadline, once passed, completes nothing a second time. */
static void reset_recv_waiting(cio_loop *loop, uint32_t len, bool deadline) {
    enum { DEADLINE_MS = 600 };
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0);
    char buf[64];
    t_op rcv;
    cio_prep_recv(&rcv.op, s, len ? buf : NULL, len, 0);
    if (deadline) rcv.op.deadline = cio_loop_update_now(loop) + DEADLINE_MS * 1000000ull;
    submit_armed(loop, &rcv);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(rcv.finals, 0);
    rude_peer peer = {.delay_ms = 30};
    rude_peer_start(&peer, p, rude_peer_reset);
    CHECK_EQ(net_wait(loop, &rcv, 5), -CIO_ECONNRESET);
    rude_peer_join(&peer);
    after_reset(loop, s);
    if (deadline) turn_for(loop, DEADLINE_MS + 100);
    net_settle(loop);
    CHECK_EQ(rcv.finals, 1);
    CHECK_EQ(t_close_handle(s), 0);
}

/* The peer resets while a send waits on a full connection: the send ends
 * with -CIO_ECONNRESET (the first call to see the reset gets it, as for
 * plain send), never SIGPIPE, though MSG_NOSIGNAL is not given. */
static void reset_send_waiting(cio_loop *loop) {
    if (SEND_WAITS_WITH_BYTES("reset_send_waiting")) return;
    cio_fd s, p;
    rude_pair(loop, &s, &p, 32 << 10);
    int small = 16 << 10;
    CHECK_EQ(t_setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    static uint8_t zeros[64 << 10];
    t_op snd;
    size_t filled = fill_until_send_waits(loop, s, &snd, zeros, sizeof zeros, 0);
    CHECK(filled > 0);
    sigpipes = 0;
    rude_peer peer = {.delay_ms = 30};
    rude_peer_start(&peer, p, rude_peer_reset);
    int32_t r = net_wait(loop, &snd, 5);
    rude_peer_join(&peer);
    printf("reset, send waiting after %zu bytes: %d (%s)\n", filled, r, cio_strerror(r));
    CHECK_EQ(r, -CIO_ECONNRESET);
    CHECK_EQ(sigpipes, 0);
    after_reset(loop, s);
    net_settle(loop);
    CHECK_EQ(snd.finals, 1);
    CHECK_EQ(t_close_handle(s), 0);
}

/* A recv and a send wait on the same socket when the reset comes: each
 * completes once; the kernel hands its one pending error to exactly one of
 * them (which one depends on the order the backend retries them in), the
 * other sees what a closed socket gives: end of stream or a broken pipe. */
static void reset_both_waiting(cio_loop *loop) {
    if (SEND_WAITS_WITH_BYTES("reset_both_waiting")) return;
    cio_fd s, p;
    rude_pair(loop, &s, &p, 32 << 10);
    int small = 16 << 10;
    CHECK_EQ(t_setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    static uint8_t zeros[64 << 10];
    char buf[64];
    t_op rcv, snd;
    cio_prep_recv(&rcv.op, s, buf, sizeof buf, 0);
    submit_armed(loop, &rcv);
    fill_until_send_waits(loop, s, &snd, zeros, sizeof zeros, MSG_NOSIGNAL);
    CHECK_EQ(rcv.finals, 0);
    rude_peer peer = {.delay_ms = 30};
    rude_peer_start(&peer, p, rude_peer_reset);
    int32_t rr = net_wait(loop, &rcv, 5);
    int32_t sr = net_wait(loop, &snd, 5);
    rude_peer_join(&peer);
    printf("reset, recv and send waiting: recv %d, send %d\n", rr, sr);
    CHECK(rr == 0 || rr == -CIO_ECONNRESET);
    CHECK(sr == -CIO_EPIPE || sr == -CIO_ECONNRESET);
    CHECK_EQ((rr == -CIO_ECONNRESET) + (sr == -CIO_ECONNRESET), 1);
    after_reset(loop, s);
    net_settle(loop);
    CHECK_EQ(rcv.finals, 1);
    CHECK_EQ(snd.finals, 1);
    CHECK_EQ(t_close_handle(s), 0);
}

/* Several recvs, and with `with_send` a send, wait on one socket (they
 * queue behind each other on the readiness backends) when the reset comes:
 * each completes exactly once, the one pending error goes to exactly one
 * of them, the others see a closed socket. */
static void reset_waiting(cio_loop *loop, bool with_send) {
    enum { RECVS = 4 };
    cio_fd s, p;
    rude_pair(loop, &s, &p, with_send ? 32 << 10 : 0);
    if (with_send) {
        int small = 16 << 10;
        CHECK_EQ(t_setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    }
    static uint8_t zeros[64 << 10];
    char bufs[RECVS][32];
    t_op rcv[RECVS], snd;
    for (int i = 0; i < RECVS; i++) {
        cio_prep_recv(&rcv[i].op, s, bufs[i], sizeof bufs[i], 0);
        submit_armed(loop, &rcv[i]);
    }
    if (with_send)
        fill_until_send_waits(loop, s, &snd, zeros, sizeof zeros, MSG_NOSIGNAL);
    else
        turn_for(loop, 20);
    for (int i = 0; i < RECVS; i++) CHECK_EQ(rcv[i].finals, 0);
    rude_peer peer = {.delay_ms = 20};
    rude_peer_start(&peer, p, rude_peer_reset);
    int resets = 0;
    for (int i = 0; i < RECVS; i++) {
        int32_t r = net_wait(loop, &rcv[i], 5);
        CHECK(r == 0 || r == -CIO_ECONNRESET);
        resets += r == -CIO_ECONNRESET;
    }
    if (with_send) {
        int32_t r = net_wait(loop, &snd, 5);
        CHECK(r == -CIO_EPIPE || r == -CIO_ECONNRESET);
        resets += r == -CIO_ECONNRESET;
    }
    rude_peer_join(&peer);
    CHECK_EQ(resets, 1);
    after_reset(loop, s);
    net_settle(loop);
    for (int i = 0; i < RECVS; i++) CHECK_EQ(rcv[i].finals, 1);
    if (with_send) CHECK_EQ(snd.finals, 1);
    CHECK_EQ(t_close_handle(s), 0);
}

static void reset_many_waiting(cio_loop *loop) {
    if (SEND_WAITS_WITH_BYTES("reset_many_waiting")) return;
    reset_waiting(loop, true);
}

/* Without the send, the case holds on Windows too. */
static void reset_recvs_waiting(cio_loop *loop) { reset_waiting(loop, false); }

/* ---- half-close ---- */

enum { HALF_N = 300000, HALF_M = 200000, CHUNK = 16384 };

/* Peer: sends its bytes, shuts its sending side, then reads to the end. */
static void peer_send_shut_read(rude_peer *p) {
    if (rude_peer_send_all(p) < 0) return;
    if (shutdown(p->fd, SHUT_WR) < 0) {
        p->err = t_sock_error();
        return;
    }
    rude_peer_recv_all(p);
}

/* Peer: reads to the end, then sends its bytes and closes (a FIN). */
static void peer_read_then_send(rude_peer *p) {
    rude_peer_recv_all(p);
    if (!p->eof) return;
    if (rude_peer_send_all(p) < 0) return;
    CHECK_EQ(shutdown(p->fd, SHUT_WR), 0);
}

/* cio receives into `buf` until end of stream, checking the pattern;
 * returns the byte count. Every recv completes once (net_do). */
static size_t recv_to_eof(cio_loop *loop, cio_fd s, uint32_t seed) {
    uint8_t buf[CHUNK];
    size_t got = 0;
    for (int i = 0; i < 100000; i++) {
        t_op t;
        cio_prep_recv(&t.op, s, buf, sizeof buf, 0);
        int32_t r = net_do(loop, &t);
        CHECK(r >= 0 && r <= CHUNK);
        if (r == 0) return got;
        CHECK_EQ(rude_mismatch(buf, (size_t)r, seed, got), (size_t)-1);
        got += (size_t)r;
    }
    CHECK(!"no end of stream");
    return got;
}

/* cio sends `n` pattern bytes, resubmitting the rest after short sends. */
static void send_all(cio_loop *loop, cio_fd s, size_t n, uint32_t seed) {
    uint8_t *data = malloc(n);
    CHECK(data != NULL);
    rude_fill(data, n, seed, 0);
    for (size_t off = 0; off < n;) {
        t_op t;
        uint32_t ask = (uint32_t)(n - off);
        cio_prep_send(&t.op, s, data + off, ask, MSG_NOSIGNAL);
        int32_t r = net_do(loop, &t);
        CHECK(r > 0 && (uint32_t)r <= ask);
        off += (size_t)r;
    }
    free(data);
}

/* The peer sends N bytes and shuts its side: cio receives exactly those,
 * then end of stream (again on every later recv); cio's sends the other
 * way still arrive whole, and cio's shutdown op gives the peer its end of
 * stream. */
static void half_close_by_peer(cio_loop *loop) {
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0);
    rude_peer peer = {.n = HALF_N, .seed = 11, .rx_seed = 12, .chunk = 7000};
    rude_peer_start(&peer, p, peer_send_shut_read);
    CHECK_EQ(recv_to_eof(loop, s, 11), HALF_N);
    uint8_t b[4];
    t_op t;
    cio_prep_recv(&t.op, s, b, sizeof b, 0);
    CHECK_EQ(net_do(loop, &t), 0);
    send_all(loop, s, HALF_M, 12);
    cio_prep_shutdown(&t.op, s, SHUT_WR);
    CHECK_EQ(net_do(loop, &t), 0);
    rude_peer_join(&peer);
    CHECK_EQ(peer.err, 0);
    CHECK_EQ(peer.got, HALF_M);
    CHECK_EQ(peer.bad_at, (size_t)-1);
    CHECK_EQ(peer.eof, 1);
    CHECK_EQ(t_close_handle(s), 0);
    CHECK_EQ(t_close_handle(p), 0);
}

/* cio shuts its sending side first: the peer sees exactly cio's bytes and
 * end of stream, and cio still receives everything the peer sends back. */
static void half_close_by_cio(cio_loop *loop) {
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0);
    rude_peer peer = {.n = HALF_N, .seed = 21, .rx_seed = 22, .chunk = 5000};
    rude_peer_start(&peer, p, peer_read_then_send);
    send_all(loop, s, HALF_M, 22);
    t_op t;
    cio_prep_shutdown(&t.op, s, SHUT_WR);
    CHECK_EQ(net_do(loop, &t), 0);
    CHECK_EQ(recv_to_eof(loop, s, 21), HALF_N);
    rude_peer_join(&peer);
    CHECK_EQ(peer.err, 0);
    CHECK_EQ(peer.got, HALF_M);
    CHECK_EQ(peer.bad_at, (size_t)-1);
    CHECK_EQ(peer.eof, 1);
    CHECK_EQ(t_close_handle(s), 0);
    CHECK_EQ(t_close_handle(p), 0);
}

/* ---- zero length ---- */

/*
 * Zero-length recv and send, with a buffer and with NULL: io_uring's answer
 * (the kernel's, for a blocking socket) on every backend. A zero-length
 * send completes with 0 and puts nothing on the wire; a zero-length recv
 * completes with 0 once the stream has something to say (bytes, which it
 * leaves in place, end of stream, or an error), and waits until then.
 */
static void zero_length(cio_loop *loop) {
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0);
    char buf[16];
    t_op t, r0;

    /* Sends: 0 at once, nothing reaches the peer. */
    for (int k = 0; k < 4; k++) {
        cio_prep_send(&t.op, s, (k & 1) ? NULL : buf, 0, (k & 2) ? MSG_WAITALL : 0);
        CHECK_EQ(net_do(loop, &t), 0);
    }
    CHECK_EQ(t_set_nonblock(p, 1), 0);
    CHECK_EQ(t_sys_recv(p, buf, sizeof buf, 0), -CIO_EAGAIN);
    CHECK_EQ(t_set_nonblock(p, 0), 0);

    /* A recv on an empty stream waits, even for no bytes... */
    for (int k = 0; k < 2; k++) {
        cio_prep_recv(&r0.op, s, k ? NULL : buf, 0, 0);
        submit_armed(loop, &r0);
        turn_for(loop, 30);
        CHECK_EQ(r0.finals, 0);
        /* ...until bytes come; it takes none of them. */
        CHECK_EQ(t_sys_send(p, "abc", 3, MSG_NOSIGNAL), 3);
        CHECK_EQ(net_wait(loop, &r0, 5), 0);
        cio_prep_recv(&t.op, s, buf, 3, MSG_WAITALL);
        CHECK_EQ(net_do(loop, &t), 3);
        CHECK(memcmp(buf, "abc", 3) == 0);
    }

    /* Bytes waiting: 0 at once (MSG_WAITALL too), the bytes stay. */
    CHECK_EQ(t_sys_send(p, "defg", 4, MSG_NOSIGNAL), 4);
    turn_for(loop, 10);
    for (int k = 0; k < 4; k++) {
        cio_prep_recv(&t.op, s, (k & 1) ? NULL : buf, 0, (k & 2) ? MSG_WAITALL : 0);
        CHECK_EQ(net_do(loop, &t), 0);
    }
    cio_prep_recv(&t.op, s, buf, sizeof buf, 0);
    CHECK_EQ(net_do(loop, &t), 4);
    CHECK(memcmp(buf, "defg", 4) == 0);

    /* Non-blocking and empty: -CIO_EAGAIN, as with any length. */
    cio_prep_recv(&t.op, s, NULL, 0, CIO_MSG_DONTWAIT);
    CHECK_EQ(net_do(loop, &t), -CIO_EAGAIN);

    /* End of stream ends a waiting zero-length recv with 0. */
    cio_prep_recv(&r0.op, s, NULL, 0, 0);
    submit_armed(loop, &r0);
    turn_for(loop, 20);
    CHECK_EQ(r0.finals, 0);
    CHECK_EQ(shutdown(p, SHUT_WR), 0);
    CHECK_EQ(net_wait(loop, &r0, 5), 0);
    cio_prep_recv(&t.op, s, NULL, 0, 0);
    CHECK_EQ(net_do(loop, &t), 0);
    /* The way back still works after all that. */
    cio_prep_send(&t.op, s, "hij", 3, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &t), 3);
    CHECK_EQ(t_sys_recv(p, buf, 3, MSG_WAITALL), 3);
    CHECK(memcmp(buf, "hij", 3) == 0);

    /* After the peer's reset (it had shut down first: the kernel's error is
     * then a broken pipe, and the end of stream already seen comes first),
     * a zero-length recv still says 0 and a zero-length send fails. */
    rude_reset_close(p);
    turn_for(loop, 10);
    cio_prep_recv(&t.op, s, NULL, 0, 0);
    CHECK_EQ(net_do(loop, &t), 0);
    sigpipes = 0;
    cio_prep_send(&t.op, s, NULL, 0, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_EPIPE);
    CHECK_EQ(sigpipes, 0);
    net_settle(loop);
    CHECK_EQ(t_close_handle(s), 0);

    /* A zero-length send on a full connection does not wait: 0 at once. */
    rude_pair(loop, &s, &p, 32 << 10);
    int small = 16 << 10;
    CHECK_EQ(t_setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    static uint8_t zeros[64 << 10];
    size_t filled = 0;
    for (int i = 0; i < 10000; i++) {
        cio_prep_send(&t.op, s, zeros, sizeof zeros, CIO_MSG_DONTWAIT | MSG_NOSIGNAL);
        int32_t r = net_do(loop, &t);
        if (r == -CIO_EAGAIN) break;
        CHECK(r > 0);
        filled += (size_t)r;
    }
    CHECK(filled > 0);
    cio_prep_send(&t.op, s, zeros, 1, CIO_MSG_DONTWAIT | MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &t), -CIO_EAGAIN);
    cio_prep_send(&t.op, s, NULL, 0, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &t), 0);
    cio_prep_send(&t.op, s, zeros, 0, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &t), 0);
    rude_reset_close(p);
    CHECK_EQ(t_close_handle(s), 0);
}

/* ---- found in review of 23f9c32 (Linux's answers: plain syscalls) ---- */

/* A zero-length recv used as a readiness probe beside a real one (libuv's
 * pattern): the bytes that end the probe go to the other recv. That is not
 * the end of the stream, so a later reset is still -CIO_ECONNRESET. */
static void zero_probe_then_reset(cio_loop *loop) {
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0);
    char buf[100];
    t_op z, r;
    cio_prep_recv(&z.op, s, NULL, 0, 0);
    submit_armed(loop, &z);
    cio_prep_recv(&r.op, s, buf, sizeof buf, 0);
    submit_armed(loop, &r);
    turn_for(loop, 20);
    CHECK_EQ(t_sys_send(p, "0123456789", 10, MSG_NOSIGNAL), 10);
    CHECK_EQ(net_wait(loop, &r, 5), 10);
    CHECK(memcmp(buf, "0123456789", 10) == 0);
    /* Where the other recv took the bytes before the probe looked (Linux
     * may), the probe waits on: cancelled. IOCP ends it when bytes come. */
    turn_for(loop, 20);
    if (!z.finals) {
        t_op c;
        cio_prep_cancel(&c.op, &z.op);
        CHECK_EQ(net_do(loop, &c), 0);
    }
    CHECK(net_wait(loop, &z, 5) == 0 || z.res == -CIO_ECANCELED);
    t_op rcv;
    cio_prep_recv(&rcv.op, s, buf, sizeof buf, 0);
    submit_armed(loop, &rcv);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    rude_peer peer = {.delay_ms = 30};
    rude_peer_start(&peer, p, rude_peer_reset);
    CHECK_EQ(net_wait(loop, &rcv, 5), -CIO_ECONNRESET);
    rude_peer_join(&peer);
    after_reset(loop, s);
    net_settle(loop);
    CHECK_EQ(t_close_handle(s), 0);
}

/* After the socket's own SHUT_RD: a MSG_DONTWAIT recv is end of stream (0),
 * not -CIO_EAGAIN, like a plain one; a poll for IN|RDHUP reports both at
 * once. */
static void own_shut_rd(cio_loop *loop) {
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0);
    t_op t;
    cio_prep_shutdown(&t.op, s, CIO_SHUT_RD);
    CHECK_EQ(net_do(loop, &t), 0);
    char buf[16];
    cio_prep_recv(&t.op, s, buf, sizeof buf, CIO_MSG_DONTWAIT);
    CHECK_EQ(net_do(loop, &t), 0);
    cio_prep_recv(&t.op, s, buf, sizeof buf, 0);
    CHECK_EQ(net_do(loop, &t), 0);
    cio_prep_poll(&t.op, s, CIO_POLLIN | CIO_POLLRDHUP);
    submit_armed(loop, &t);
    for (int i = 0; i < 50 && !t.finals; i++) turn_for(loop, 100); /* bounded: it used to wait for ever */
    CHECK_EQ(t.finals, 1);
    int32_t ev = t.res;
    CHECK(ev > 0);
    CHECK((ev & (CIO_POLLIN | CIO_POLLRDHUP)) == (CIO_POLLIN | CIO_POLLRDHUP));
    /* The way out still works. */
    cio_prep_send(&t.op, s, "ok", 2, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &t), 2);
    CHECK_EQ(t_sys_recv(p, buf, 2, MSG_WAITALL), 2);
    net_settle(loop);
    CHECK_EQ(t_close_handle(p), 0);
    CHECK_EQ(t_close_handle(s), 0);

    /* A poll for IN already waiting when the socket shuts its read side
     * ends too (Linux wakes it with IN|RDHUP). */
    rude_pair(loop, &s, &p, 0);
    t_op pl;
    cio_prep_poll(&pl.op, s, CIO_POLLIN | CIO_POLLRDHUP);
    submit_armed(loop, &pl);
    turn_for(loop, 20);
    CHECK_EQ(pl.finals, 0);
    cio_prep_shutdown(&t.op, s, CIO_SHUT_RD);
    CHECK_EQ(net_do(loop, &t), 0);
    for (int i = 0; i < 50 && !pl.finals; i++) turn_for(loop, 100);
    CHECK_EQ(pl.finals, 1);
    CHECK((pl.res & (CIO_POLLIN | CIO_POLLRDHUP)) == (CIO_POLLIN | CIO_POLLRDHUP));
    net_settle(loop);
    CHECK_EQ(t_close_handle(p), 0);
    CHECK_EQ(t_close_handle(s), 0);
}

/* ---- task style ---- */

static int tasks_done;

/* A task blocked in cio_recv when the peer resets. */
static intptr_t task_reset_recv(void *arg) {
    cio_fd s = (cio_fd)(uintptr_t)arg;
    char buf[64];
    int32_t r = cio_recv(s, buf, sizeof buf, 0);
    CHECK_EQ(r, -CIO_ECONNRESET);
    CHECK_EQ(cio_recv(s, buf, sizeof buf, 0), 0);
    CHECK_EQ(cio_send(s, "x", 1, 0), -CIO_EPIPE);
    CHECK_EQ(cio_close(s), 0);
    tasks_done++;
    return 0;
}

/* A task that sends into a peer that never reads, until the reset ends it:
 * every send moves bytes until the last, which reports the reset. */
static intptr_t task_reset_send(void *arg) {
    cio_fd s = (cio_fd)(uintptr_t)arg;
    static uint8_t zeros[256 << 10];
    size_t sent = 0;
    int32_t r = 0;
    for (int i = 0; i < 100000; i++) {
        r = cio_send(s, zeros, sizeof zeros, 0);
        if (r <= 0) break;
        sent += (size_t)r;
    }
    CHECK_EQ(r, -CIO_ECONNRESET);
    CHECK(sent > 0);
    CHECK_EQ(cio_send(s, zeros, 1, 0), -CIO_EPIPE);
    CHECK_EQ(cio_close(s), 0);
    tasks_done++;
    return 0;
}

typedef struct half_args {
    cio_fd s;
    size_t n_in, n_out;
    uint32_t seed_in, seed_out;
} half_args;

/* The task shuts its sending side after its bytes, then reads the peer's
 * answer to the end. */
static intptr_t task_half_close(void *arg) {
    half_args *a = arg;
    uint8_t *data = malloc(a->n_out);
    CHECK(data != NULL);
    rude_fill(data, a->n_out, a->seed_out, 0);
    for (size_t off = 0; off < a->n_out;) {
        int32_t r = cio_send(a->s, data + off, (uint32_t)(a->n_out - off), 0);
        CHECK(r > 0);
        off += (size_t)r;
    }
    free(data);
    CHECK_EQ(cio_shutdown(a->s, SHUT_WR), 0);
    uint8_t buf[CHUNK];
    size_t got = 0;
    for (int i = 0; i < 100000; i++) {
        int32_t r = cio_recv(a->s, buf, sizeof buf, 0);
        CHECK(r >= 0);
        if (r == 0) break;
        CHECK_EQ(rude_mismatch(buf, (size_t)r, a->seed_in, got), (size_t)-1);
        got += (size_t)r;
    }
    CHECK_EQ(got, a->n_in);
    CHECK_EQ(cio_recv(a->s, buf, sizeof buf, 0), 0);
    CHECK_EQ(cio_close(a->s), 0);
    tasks_done++;
    return 0;
}

static void tasks(cio_loop *loop) {
    cio_task_options det = {.detached = true};
    tasks_done = 0;

    cio_fd s1, p1, s2, p2, s3, p3;
    rude_pair(loop, &s1, &p1, 0);
    rude_pair(loop, &s2, &p2, 32 << 10);
    int small = 16 << 10;
    CHECK_EQ(t_setsockopt(s2, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    rude_pair(loop, &s3, &p3, 0);

    sigpipes = 0;
    CHECK_EQ(cio_task_spawn(loop, task_reset_recv, (void *)(uintptr_t)s1, &det, NULL), 0);
    CHECK_EQ(cio_task_spawn(loop, task_reset_send, (void *)(uintptr_t)s2, &det, NULL), 0);
    half_args ha = {.s = s3, .n_in = HALF_N, .n_out = HALF_M, .seed_in = 31, .seed_out = 32};
    CHECK_EQ(cio_task_spawn(loop, task_half_close, &ha, &det, NULL), 0);

    rude_peer r1 = {.delay_ms = 60}, r2 = {.delay_ms = 100};
    rude_peer h3 = {.n = HALF_N, .seed = 31, .rx_seed = 32, .chunk = 3000};
    rude_peer_start(&r1, p1, rude_peer_reset);
    rude_peer_start(&r2, p2, rude_peer_reset);
    rude_peer_start(&h3, p3, peer_read_then_send);

    double end = t_seconds() + 10;
    while (tasks_done < 3) {
        CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
        if (t_seconds() > end) {
            fprintf(stderr, "tasks stuck: %d of 3 done\n", tasks_done);
            exit(1);
        }
    }
    t_run(loop, 5);
    rude_peer_join(&r1);
    rude_peer_join(&r2);
    rude_peer_join(&h3);
    CHECK_EQ(h3.err, 0);
    CHECK_EQ(h3.got, HALF_M);
    CHECK_EQ(h3.bad_at, (size_t)-1);
    CHECK_EQ(h3.eof, 1);
    CHECK_EQ(t_close_handle(p3), 0);
    CHECK_EQ(sigpipes, 0);
}

int main(void) {
    /* A handler of the program's own: cio keeps it, and it counts any
     * SIGPIPE an op would raise (none may). */
#if !defined(_WIN32)
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigpipe;
    CHECK_EQ(sigaction(SIGPIPE, &sa, NULL), 0);
#endif
    rude_warm_up();
    int fds_before = rude_fd_count();

    cio_loop loop;
    t_loop_init(&loop, 64);
    net_watchdog(30); /* after t_loop_init, whose own watchdog is longer */
#if !defined(_WIN32)
    CHECK_EQ(sigaction(SIGPIPE, &sa, NULL), 0); /* net_watchdog ignores it */
#endif
    reset_recv_waiting(&loop, 64, false);
    reset_recv_waiting(&loop, 0, false);
    reset_recv_waiting(&loop, 64, true);
    reset_send_waiting(&loop);
    reset_both_waiting(&loop);
    reset_many_waiting(&loop);
    reset_recvs_waiting(&loop);
    half_close_by_peer(&loop);
    half_close_by_cio(&loop);
    zero_length(&loop);
    zero_probe_then_reset(&loop);
    own_shut_rd(&loop);
    net_close_loop(&loop);

    /* Tasks on a loop of their own: the task layer's close hook counts as
     * submitted until the loop closes, so net_close_loop's balance does
     * not apply; every task's own checks and its completion count do. */
    t_loop_init(&loop, 64);
    tasks(&loop);
    CHECK_EQ(cio_loop_active(&loop), 0);
    t_close(&loop);

    CHECK_EQ(rude_fd_count(), fds_before);
    CHECK_EQ(sigpipes, 0);
    printf("rude peers: ok\n");
    return 0;
}
