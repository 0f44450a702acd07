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
 *
 * ECHO_THREADS=N (bench/echo_mt.sh): the raw multi-threaded server, N
 * threads each with a ring and a listener of its own on one port
 * (SO_REUSEPORT: the kernel spreads the connections), each pinned to the
 * i-th CPU of the process's mask (unless ECHO_PIN=0), sharing nothing but
 * the counts of connections accepted and closed.
 */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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

static _Thread_local struct io_uring ring;
static _Thread_local unsigned open_conns;
static _Thread_local uint64_t recvs, enters;

/* ECHO_THREADS > 1: what the threads share. */
static unsigned threads = 1;
static atomic_uint accepted_all, closed_all;
static atomic_uint_fast64_t recvs_all, enters_all;
static int done_pipe[2];

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

/* One thread's loop: until its share of the connections is done (one
 * thread), or for good (several: main() ends the process). */
static void serve(int lfd, unsigned conns, unsigned entries) {
    setup(entries);
    unsigned accepted = 0;
    queue_accept(lfd);
    while (threads > 1 || accepted < conns || open_conns > 0) {
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
                if (threads > 1) accepted = atomic_fetch_add(&accepted_all, 1) + 1;
                else accepted++;
                if (accepted < conns)
                    queue_accept(lfd);
                else if (threads == 1)
                    close(lfd);
                break;
            case OP_RECV:
                if (res < 0) fail("recv", -res); /* the client closes only when all is echoed */
                if (res == 0) {
                    close(c->fd);
                    free(c);
                    open_conns--;
                    if (threads > 1) {
                        atomic_fetch_add(&recvs_all, recvs);
                        atomic_fetch_add(&enters_all, enters);
                        recvs = enters = 0;
                        if (atomic_fetch_add(&closed_all, 1) + 1 == conns && write(done_pipe[1], "x", 1) != 1)
                            fail("write", errno);
                    }
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
}

typedef struct worker {
    pthread_t t;
    int lfd, cpu;
    unsigned conns, entries;
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    const char *pin = getenv("ECHO_PIN");
    if (!pin || atoi(pin) != 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(w->cpu, &one);
        pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    }
    serve(w->lfd, w->conns, w->entries);
    return NULL;
}

/* A listener on 127.0.0.1:port with SO_REUSEPORT (port 0: the kernel's
 * choice, returned through *port). */
static int listen_shared(uint16_t *port, int backlog) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(*port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, backlog) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        fail("listen", errno);
    *port = ntohs(a.sin_port);
    return fd;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONNS\n", argv[0]);
        return 2;
    }
    unsigned conns = echo_conns_arg(argv[0], argv[1], "CONNS");
    /* One op in flight per connection, and the accept: the CQ (twice the
     * SQ) never overflows. */
    unsigned entries = 64;
    while (entries < conns + 1 && entries < 4096) entries *= 2;
    const char *t = getenv("ECHO_THREADS");
    threads = t ? (unsigned)atoi(t) : 1;
    if (threads <= 1) {
        threads = 1;
        serve(echo_listen(conns < 128 ? 128 : (int)conns), conns, entries);
        echo_server_report("uring-naive", conns, recvs, enters);
        io_uring_queue_exit(&ring);
        return 0;
    }
    if (pipe(done_pipe) < 0) fail("pipe", errno);
    cpu_set_t mask;
    int cpus[64], ncpu = 0;
    if (sched_getaffinity(0, sizeof mask, &mask) < 0) fail("sched_getaffinity", errno);
    for (int c = 0; c < CPU_SETSIZE && ncpu < 64; c++)
        if (CPU_ISSET(c, &mask)) cpus[ncpu++] = c;
    worker *ws = calloc(threads, sizeof *ws);
    uint16_t port = 0;
    for (unsigned i = 0; i < threads; i++) {
        ws[i] = (worker){.lfd = listen_shared(&port, conns < 128 ? 128 : (int)conns), .cpu = cpus[i % (unsigned)ncpu],
                         .conns = conns, .entries = entries};
    }
    printf("port=%u\n", (unsigned)port);
    fflush(stdout);
    for (unsigned i = 0; i < threads; i++)
        if (pthread_create(&ws[i].t, NULL, worker_main, &ws[i]) != 0) fail("pthread_create", EAGAIN);
    char c;
    if (read(done_pipe[0], &c, 1) != 1) fail("read", errno);
    echo_server_report("uring-mt", conns, atomic_load(&recvs_all), atomic_load(&enters_all));
    fflush(stdout);
    _exit(0); /* the threads wait in their rings for good */
}
