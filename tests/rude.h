/*
 * tests/rude.h - what the rude-peer tests (test_rude_*.c) share: a
 * connection whose one end is cio's and whose other end is a plain blocking
 * socket driven with system calls only (the peer, usually on a thread of
 * its own), a byte pattern that both sides can check independently, and
 * an open-handle count from the kernel as the leak oracle (port.h).
 *
 * The peer never uses cio: what it sees (bytes, their order, end of
 * stream) is ground truth for what cio's ops did.
 */
#ifndef CIO_TEST_RUDE_H
#define CIO_TEST_RUDE_H

#include "net.h"

#include <errno.h>

/* Byte i of stream `seed`. A hash rather than a counter, so that a chunk
 * delivered twice, dropped or out of place cannot match by accident. */
static inline uint8_t rude_pat(uint32_t seed, size_t i) {
    uint32_t x = (uint32_t)i * 2654435761u ^ seed * 0x9e3779b9u ^ (uint32_t)(i >> 32);
    x ^= x >> 15;
    x *= 0x2c1b3c6du;
    x ^= x >> 12;
    return (uint8_t)(x ^ (x >> 24));
}

static inline void rude_fill(uint8_t *buf, size_t len, uint32_t seed, size_t from) {
    for (size_t i = 0; i < len; i++) buf[i] = rude_pat(seed, from + i);
}

/* The offset of the first byte that differs from the pattern, or (size_t)-1. */
static inline size_t rude_mismatch(const uint8_t *buf, size_t len, uint32_t seed, size_t from) {
    for (size_t i = 0; i < len; i++)
        if (buf[i] != rude_pat(seed, from + i)) return from + i;
    return (size_t)-1;
}

static inline void rude_sleep_ms(unsigned ms) { t_sleep_ms(ms); }

/* Windows: what the process sets up once and keeps (WSAStartup, never
 * undone; under Wine a handle of ntdll's at the first AFD poll) is not a
 * leak: count handles from after one round of it. POSIX: nothing to do. */
static inline void rude_warm_up(void) {
#if defined(_WIN32)
    cio_loop warm;
    t_loop_init(&warm, 8);
    cio_fd sv[2];
    CHECK_EQ(t_socketpair(sv), 0);
    CHECK_EQ(t_sys_write(sv[1], "w", 1), 1);
    t_op p;
    cio_prep_poll(&p.op, sv[0], CIO_POLLIN);
    t_arm(&p);
    CHECK_EQ(cio_submit(&warm, &p.op), 0);
    t_run(&warm, 5);
    CHECK_EQ(p.res, CIO_POLLIN);
    t_close(&warm);
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);
#endif
}

/* Open handles of this process, from the kernel's own count (port.h). */
static inline int rude_fd_count(void) {
    int n = t_handle_count();
    CHECK(n >= 0);
    return n;
}

/* A peer's blocking calls give up after 10 s, so that a peer waiting for
 * bytes cio never sends fails the test instead of hanging it. */
static inline void rude_peer_timeouts(cio_fd fd) { CHECK_EQ(t_sock_timeouts(fd, 10 * 1000), 0); }

/* Closes with a reset (RST) rather than a FIN: linger on, timeout zero. */
static inline void rude_reset_close(cio_fd fd) {
    struct linger lg = {1, 0};
    CHECK_EQ(t_setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    CHECK_EQ(t_close_handle(fd), 0);
}

/*
 * A loopback TCP connection: `*cio_end` accepted by a cio accept op,
 * `*peer_end` a plain blocking socket that connect(2)ed to it. A nonzero
 * `peer_rcvbuf` fixes the peer's receive buffer before the handshake (the
 * window it announces), so that filling the connection takes little.
 */
static inline void rude_pair(cio_loop *loop, cio_fd *cio_end, cio_fd *peer_end, int peer_rcvbuf) {
    net_addr at;
    cio_fd lfd = net_listener(loop, AF_INET, 4, &at);
    t_op acc;
    cio_prep_accept(&acc.op, lfd, NULL, NULL, SOCK_CLOEXEC);
    net_arm(&acc);
    CHECK_EQ(cio_submit(loop, &acc.op), 0);
    cio_fd p = t_sys_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(p != T_FD_NONE);
    if (peer_rcvbuf) CHECK_EQ(t_setsockopt(p, SOL_SOCKET, SO_RCVBUF, &peer_rcvbuf, sizeof peer_rcvbuf), 0);
    rude_peer_timeouts(p);
    CHECK_EQ(connect(p, net_sa(&at), at.len), 0);
    CHECK(net_wait(loop, &acc, 10) >= 0);
    cio_fd s = t_fd(&acc);
    CHECK_EQ(t_close_handle(lfd), 0);
    *cio_end = s;
    *peer_end = p;
}

/* A peer thread: `fn` runs with the struct, on its own thread. The fields
 * are the scripts' parameters and results; each script uses what it needs. */
typedef struct rude_peer rude_peer;
struct rude_peer {
    t_thread th;
    void (*fn)(rude_peer *);
    cio_fd fd;
    /* parameters */
    size_t n;          /* bytes to send */
    uint32_t seed;     /* pattern of what the peer sends */
    uint32_t rx_seed;  /* pattern of what the peer expects */
    unsigned delay_ms; /* before acting */
    size_t chunk;      /* read or write size (with slow_until: while slow) */
    size_t slow_until; /* rude_peer_recv_all: read `chunk` bytes at a time, pausing
                          pause_ms after each, until this many came; then at full speed */
    unsigned pause_ms;
    int mode;          /* what the script does next, as the script defines it */
    /* results */
    size_t got;        /* bytes received */
    size_t bad_at;     /* first received byte off the pattern, or (size_t)-1 */
    int eof;           /* the peer's recv returned 0 */
    int err;           /* errno value (== CIO_E*) of a failed call, 0 if none */
};

static inline void *rude_peer_main_(void *arg) {
    rude_peer *p = arg;
    p->fn(p);
    return NULL;
}

static inline void rude_peer_start(rude_peer *p, cio_fd fd, void (*fn)(rude_peer *)) {
    p->fd = fd;
    p->fn = fn;
    p->got = 0;
    p->bad_at = (size_t)-1;
    p->eof = 0;
    p->err = 0;
    CHECK_EQ(t_thread_start(&p->th, rude_peer_main_, p), 0);
}

static inline void rude_peer_join(rude_peer *p) { CHECK_EQ(t_thread_join(&p->th, NULL), 0); }

/* Peer: sends p->n pattern bytes in p->chunk pieces; errno in p->err. */
static inline int rude_peer_send_all(rude_peer *p) {
    uint8_t buf[16384];
    size_t chunk = p->chunk && p->chunk < sizeof buf ? p->chunk : sizeof buf;
    for (size_t off = 0; off < p->n;) {
        size_t k = p->n - off < chunk ? p->n - off : chunk;
        rude_fill(buf, k, p->seed, off);
        long long r = t_sys_send(p->fd, buf, k, MSG_NOSIGNAL);
        if (r <= 0) {
            p->err = r < 0 ? (int)-r : EIO;
            return -1;
        }
        off += (size_t)r;
    }
    return 0;
}

/* Peer: reads until end of stream (or an error), checking the pattern;
 * a slow reader first when slow_until is set. */
static inline void rude_peer_recv_all(rude_peer *p) {
    uint8_t buf[16384];
    size_t chunk = p->chunk && p->chunk < sizeof buf ? p->chunk : sizeof buf;
    for (;;) {
        bool slow = p->got < p->slow_until;
        if (slow && p->got > 0) rude_sleep_ms(p->pause_ms);
        long long r = t_sys_recv(p->fd, buf, slow || !p->slow_until ? chunk : sizeof buf, 0);
        if (r == 0) {
            p->eof = 1;
            return;
        }
        if (r < 0) {
            if (r == -EINTR) continue;
            p->err = (int)-r;
            return;
        }
        size_t bad = rude_mismatch(buf, (size_t)r, p->rx_seed, p->got);
        if (bad != (size_t)-1 && p->bad_at == (size_t)-1) p->bad_at = bad;
        p->got += (size_t)r;
    }
}

/* Peer: after p->delay_ms, resets the connection. */
static inline void rude_peer_reset(rude_peer *p) {
    rude_sleep_ms(p->delay_ms);
    rude_reset_close(p->fd);
}

#endif /* CIO_TEST_RUDE_H */
