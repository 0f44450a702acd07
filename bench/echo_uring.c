/*
 * bench/echo_uring.c - the naive raw liburing echo server, an anchor of
 * bench/echo.sh: what a competent programmer writes against liburing in an
 * afternoon, and what cio's io_uring servers must beat by using what it
 * does not (bench/echo_uring_ms.c is the real limit).
 *
 * Usage: echo_uring CONNS (see bench/echo.h for the protocol).
 *
 * A ring from io_uring_queue_init() with no setup flags; one struct per
 * connection with one 4 KiB buffer; per message one recv SQE and, when it
 * completes with data, one send SQE of what came (and another for the rest
 * of a short send), then the next recv; one io_uring_submit_and_wait() per
 * loop turn, which submits every SQE queued by the previous turn's
 * completions and waits for at least one more. Accepts go through the ring
 * too. A connection has one op in flight at a time, so its buffer is never
 * shared between a receive and a send.
 *
 * ECHO_URING_SETUP=cio sets the ring up as cio's io_uring backend does
 * (SINGLE_ISSUER | DEFER_TASKRUN, or COOP_TASKRUN, and a registered ring
 * fd), to tell the setup flags' share from the rest; bench/echo.sh does not
 * use it.
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echo.h"

enum { OP_ACCEPT, OP_RECV, OP_SEND };

typedef struct conn {
    int fd;
    uint32_t len, off; /* the echo being sent: buf[off..len) is still to go */
    char buf[ECHO_BUF];
} conn;

static struct io_uring ring;
static unsigned open_conns;
static uint64_t recvs, enters;

static void fail(const char *what, int err) {
    fprintf(stderr, "echo_uring: %s: %s\n", what, strerror(err));
    exit(1);
}

/* user_data: the connection's address with the op's kind in its low bits
 * (a conn is at least 8-aligned). The accept carries no connection. */
static void *tag(conn *c, unsigned kind) { return (void *)((uintptr_t)c | kind); }

/* An SQE, submitting what is queued first if the SQ is full (1,000
 * connections may each queue one in a turn). */
static struct io_uring_sqe *sqe_get(void) {
    struct io_uring_sqe *sqe;
    while (!(sqe = io_uring_get_sqe(&ring))) {
        int r = io_uring_submit(&ring);
        if (r < 0) fail("io_uring_submit", -r);
    }
    return sqe;
}

static void queue_accept(int lfd) {
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data(sqe, tag(NULL, OP_ACCEPT));
}

static void queue_recv(conn *c) {
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_recv(sqe, c->fd, c->buf, sizeof c->buf, 0);
    io_uring_sqe_set_data(sqe, tag(c, OP_RECV));
}

static void queue_send(conn *c) {
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_send(sqe, c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, tag(c, OP_SEND));
}

static void setup(unsigned entries) {
    const char *mode = getenv("ECHO_URING_SETUP");
    int r;
    if (!mode || strcmp(mode, "cio") != 0) {
        r = io_uring_queue_init(entries, &ring, 0);
        if (r < 0) fail("io_uring_queue_init", -r);
        return;
    }
    /* cio's setup (src/backend/uring.c), less the disabled start. */
    static const unsigned attempts[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        0,
    };
    r = -EINVAL;
    for (unsigned i = 0; i < sizeof attempts / sizeof *attempts && r == -EINVAL; i++) {
        struct io_uring_params p = {0};
        p.flags = attempts[i] | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP | IORING_SETUP_CQSIZE;
        p.cq_entries = entries * 2;
        r = io_uring_queue_init_params(entries, &ring, &p);
    }
    if (r < 0) fail("io_uring_queue_init_params", -r);
    if ((r = io_uring_register_ring_fd(&ring)) < 0) fail("io_uring_register_ring_fd", -r);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONNS\n", argv[0]);
        return 2;
    }
    unsigned conns = echo_conns_arg(argv[0], argv[1], "CONNS");
    int lfd = echo_listen(conns < 128 ? 128 : (int)conns);
    /* One op in flight per connection, and the accept: the CQ (twice the
     * SQ) never overflows. */
    unsigned entries = 64;
    while (entries < conns + 1 && entries < 4096) entries *= 2;
    setup(entries);

    unsigned accepted = 0;
    queue_accept(lfd);
    while (accepted < conns || open_conns > 0) {
        enters++;
        int r = io_uring_submit_and_wait(&ring, 1);
        if (r < 0 && r != -EINTR) fail("io_uring_submit_and_wait", -r);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            seen++;
            uintptr_t ud = (uintptr_t)io_uring_cqe_get_data(cqe);
            conn *c = (conn *)(ud & ~(uintptr_t)7);
            int res = cqe->res;
            switch (ud & 7) {
            case OP_ACCEPT:
                if (res < 0) fail("accept", -res);
                if (!(c = calloc(1, sizeof *c))) fail("calloc", ENOMEM);
                c->fd = res;
                echo_nodelay(c->fd);
                open_conns++;
                queue_recv(c);
                if (++accepted < conns)
                    queue_accept(lfd);
                else
                    close(lfd);
                break;
            case OP_RECV:
                if (res < 0) fail("recv", -res); /* the client closes only when all is echoed */
                if (res == 0) {
                    close(c->fd);
                    free(c);
                    open_conns--;
                    break;
                }
                recvs++;
                c->off = 0;
                c->len = (uint32_t)res;
                queue_send(c);
                break;
            case OP_SEND:
                if (res < 0) fail("send", -res);
                c->off += (uint32_t)res;
                if (c->off < c->len)
                    queue_send(c); /* a short send: the rest */
                else
                    queue_recv(c);
                break;
            }
        }
        io_uring_cq_advance(&ring, seen);
    }
    echo_server_report("uring-naive", conns, recvs, enters);
    io_uring_queue_exit(&ring);
    return 0;
}
