/*
 * bench/echo_uring_ms.c - the raw liburing echo server with multishot
 * receives and a provided-buffer ring: the real limit of bench/echo.sh on
 * io_uring, against which cio's best server is measured (issue 12: cio's
 * CPU per round trip at most 1.03x this one's).
 *
 * Usage: echo_uring_ms CONNS (see bench/echo.h for the protocol).
 *
 * What io_uring offers a server of many connections, used by hand:
 * - the ring set up as cio's io_uring backend does (SINGLE_ISSUER |
 *   DEFER_TASKRUN where the kernel has it, else COOP_TASKRUN, and a
 *   registered ring fd), with a CQ large enough for every connection's
 *   completions of a turn;
 * - one buffer ring (IORING_REGISTER_PBUF_RING, set up by hand: Debian's
 *   liburing 2.3 has no io_uring_setup_buf_ring()) of 4 KiB buffers, at
 *   least two per connection;
 * - one multishot receive per connection (IORING_RECV_MULTISHOT with
 *   IOSQE_BUFFER_SELECT), armed once: each arrival is a CQE naming the
 *   buffer the kernel filled, and the receive stays armed (IORING_CQE_F_MORE)
 *   without a new SQE;
 * - the echo sent straight from that buffer, which goes back to the ring
 *   once the send has completed. A connection has at most one send in
 *   flight (two sends on one socket are not ordered); what arrives meanwhile
 *   waits in the connection's queue of buffers.
 * So a round trip costs one send SQE and two CQEs, and the server enters the
 * kernel once per turn (io_uring_submit_and_wait), as the naive server
 * (bench/echo_uring.c) does.
 *
 * Should the ring run dry, the receive ends with -ENOBUFS (the data stays in
 * the socket) and is armed again once a buffer has come back.
 */
#include <errno.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "echo.h"

enum { OP_ACCEPT, OP_RECV, OP_SEND };
#define BGID 0
#define NO_BUF 0xffffffffu

typedef struct conn conn;
struct conn {
    int fd;
    uint32_t head, tail; /* queue of buffers to echo, linked by next_buf[]; NO_BUF when empty */
    uint32_t off;        /* bytes of the head buffer already sent */
    bool sending, armed, eof;
    conn *starved; /* next connection waiting for buffers, when its receive ran dry */
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;                  /* nbufs buffers of ECHO_BUF bytes */
static uint32_t nbufs, *next_buf, *buf_len;
static conn *starved;               /* receives to arm again once buffers come back */
static unsigned open_conns;
static uint64_t recvs, enters;

static void fail(const char *what, int err) {
    fprintf(stderr, "echo_uring_ms: %s: %s\n", what, strerror(err));
    exit(1);
}

static void *tag(conn *c, unsigned kind) { return (void *)((uintptr_t)c | kind); }

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

static void arm_recv(conn *c) {
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    io_uring_sqe_set_data(sqe, tag(c, OP_RECV));
    c->armed = true;
}

static void queue_send(conn *c) {
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_send(sqe, c->fd, bufs + (size_t)c->head * ECHO_BUF + c->off, buf_len[c->head] - c->off,
                       MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, tag(c, OP_SEND));
    c->sending = true;
}

/* Gives buffer `bid` back to the kernel. */
static void put_buf(uint32_t bid) {
    io_uring_buf_ring_add(br, bufs + (size_t)bid * ECHO_BUF, ECHO_BUF, (unsigned short)bid,
                          io_uring_buf_ring_mask(nbufs), 0);
    io_uring_buf_ring_advance(br, 1);
    while (starved) { /* rare: only after -ENOBUFS */
        conn *c = starved;
        starved = c->starved;
        c->starved = NULL;
        if (!c->eof) arm_recv(c);
    }
}

static void close_conn(conn *c) {
    close(c->fd);
    free(c);
    open_conns--;
}

static void setup_ring(unsigned conns) {
    unsigned entries = 64;
    while (entries < conns + 1 && entries < 4096) entries *= 2;
    static const unsigned attempts[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        0,
    };
    int r = -EINVAL;
    for (unsigned i = 0; i < sizeof attempts / sizeof *attempts && r == -EINVAL; i++) {
        struct io_uring_params p = {0};
        p.flags = attempts[i] | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP | IORING_SETUP_CQSIZE;
        /* A multishot receive may post several CQEs per connection in a turn. */
        p.cq_entries = entries * 8;
        r = io_uring_queue_init_params(entries, &ring, &p);
    }
    if (r < 0) fail("io_uring_queue_init_params", -r);
    if ((r = io_uring_register_ring_fd(&ring)) < 0) fail("io_uring_register_ring_fd", -r);

    /* The buffer ring: at least two buffers per connection, a power of two
     * (the kernel's rule), at most 32768. */
    nbufs = 64;
    while (nbufs < 2 * conns && nbufs < 32768) nbufs *= 2;
    /* ECHO_BUFS=N (a power of two) forces a smaller ring, to check the
     * -ENOBUFS path; bench/echo.sh does not set it. */
    const char *force = getenv("ECHO_BUFS");
    if (force) nbufs = (uint32_t)strtoul(force, NULL, 10);
    size_t ring_size = (size_t)nbufs * sizeof(struct io_uring_buf);
    br = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (br == MAP_FAILED) fail("mmap", errno);
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg = {.ring_addr = (uintptr_t)br, .ring_entries = nbufs, .bgid = BGID};
    if ((r = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) fail("io_uring_register_buf_ring", -r);
    bufs = malloc((size_t)nbufs * ECHO_BUF);
    next_buf = malloc(nbufs * sizeof *next_buf);
    buf_len = malloc(nbufs * sizeof *buf_len);
    if (!bufs || !next_buf || !buf_len) fail("malloc", ENOMEM);
    for (uint32_t i = 0; i < nbufs; i++)
        io_uring_buf_ring_add(br, bufs + (size_t)i * ECHO_BUF, ECHO_BUF, (unsigned short)i,
                              io_uring_buf_ring_mask(nbufs), (int)i);
    io_uring_buf_ring_advance(br, (int)nbufs);
}

static void on_recv(conn *c, int res, unsigned flags) {
    if (!(flags & IORING_CQE_F_MORE)) c->armed = false;
    if (res == -ENOBUFS) { /* the ring ran dry: arm again once a buffer is back */
        c->starved = starved;
        starved = c;
        return;
    }
    if (res < 0) fail("recv", -res); /* the client closes only when all is echoed */
    if (res == 0) {
        c->eof = true;
        if (!c->sending) close_conn(c);
        return;
    }
    if (!(flags & IORING_CQE_F_BUFFER)) fail("recv without a buffer", EINVAL);
    recvs++;
    uint32_t bid = flags >> IORING_CQE_BUFFER_SHIFT;
    buf_len[bid] = (uint32_t)res;
    next_buf[bid] = NO_BUF;
    if (c->head == NO_BUF)
        c->head = bid;
    else
        next_buf[c->tail] = bid;
    c->tail = bid;
    if (!c->sending) {
        c->off = 0;
        queue_send(c);
    }
    if (!c->armed) arm_recv(c); /* the kernel ended the multishot receive (e.g. its CQ was full) */
}

static void on_send(conn *c, int res) {
    if (res < 0) fail("send", -res);
    c->off += (uint32_t)res;
    uint32_t bid = c->head;
    if (c->off < buf_len[bid]) { /* a short send: the rest */
        queue_send(c);
        return;
    }
    c->head = next_buf[bid];
    c->off = 0;
    put_buf(bid);
    if (c->head != NO_BUF) {
        queue_send(c);
        return;
    }
    c->sending = false;
    if (c->eof) close_conn(c);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONNS\n", argv[0]);
        return 2;
    }
    unsigned conns = echo_conns_arg(argv[0], argv[1], "CONNS");
    int lfd = echo_listen(conns < 128 ? 128 : (int)conns);
    setup_ring(conns);

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
            switch (ud & 7) {
            case OP_ACCEPT:
                if (cqe->res < 0) fail("accept", -cqe->res);
                if (!(c = calloc(1, sizeof *c))) fail("calloc", ENOMEM);
                c->fd = cqe->res;
                c->head = c->tail = NO_BUF;
                echo_nodelay(c->fd);
                open_conns++;
                arm_recv(c);
                if (++accepted < conns)
                    queue_accept(lfd);
                else
                    close(lfd);
                break;
            case OP_RECV:
                on_recv(c, cqe->res, cqe->flags);
                break;
            case OP_SEND:
                on_send(c, cqe->res);
                break;
            }
        }
        io_uring_cq_advance(&ring, seen);
    }
    echo_server_report("uring-multishot", conns, recvs, enters);
    io_uring_queue_exit(&ring);
    return 0;
}
