/*
 * test_runtime_serve - cio_runtime_serve() on 4 workers, both ways of
 * spreading connections (SO_REUSEPORT where the system has it, and one
 * acceptor handing connections over), against a client written with
 * plain blocking system calls: every byte echoed back in order (a
 * checksum of each connection's stream), every connection handled once,
 * on the worker the counters name; then the shutdown while connections
 * are busy: listeners closed (a new connection is refused), connections
 * that end during the grace time counted as finished, the others
 * cancelled, and the clients see their connections closed.
 *
 * CIO_TEST_PORTABLE
 */
#include "test.h"
#include "net_util.h"

#define WORKERS 4
#define CONNS 40
#define ROUNDS 16
#define CHUNK 4096

static atomic_int handled, bad_peer;

static intptr_t echo(cio_fd fd, const cio_addr *peer, void *arg) {
    (void)arg;
    atomic_fetch_add(&handled, 1);
    char ip[CIO_ADDR_STRLEN];
    if (cio_addr_family(peer) != AF_INET || cio_addr_format(peer, ip, sizeof ip) < 0 ||
        strncmp(ip, "127.0.0.1:", 10) != 0)
        atomic_fetch_add(&bad_peer, 1);
    char buf[CHUNK];
    int32_t n;
    while ((n = cio_recv(fd, buf, sizeof buf, 0)) > 0)
        if (cio_send(fd, buf, (uint32_t)n, CIO_MSG_WAITALL) != n) return -1;
    return n < 0 && n != -CIO_ECONNRESET ? n : 0;
}

static cio_fd dial(uint16_t port) {
    cio_fd fd = t_sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd != (cio_fd)-1);
    struct sockaddr_in a = sin4("127.0.0.1", port);
    CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ(t_sock_timeouts(fd, 20000), 0);
    return fd;
}

static uint32_t mix(uint32_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

/* One round trip of CHUNK bytes on each connection, ROUNDS times; the
 * bytes differ per connection and round. */
static void exchange(cio_fd *fds, int n) {
    static unsigned char out[CHUNK], in[CHUNK];
    for (int r = 0; r < ROUNDS; r++) {
        for (int c = 0; c < n; c++) {
            for (int i = 0; i < CHUNK; i++) out[i] = (unsigned char)(i * 31 + c * 7 + r * 13);
            CHECK_EQ(t_sys_send(fds[c], out, CHUNK, 0), CHUNK);
            size_t got = 0;
            while (got < CHUNK) {
                long long k = t_sys_recv(fds[c], in + got, CHUNK - got, 0);
                CHECK(k > 0);
                got += (size_t)k;
            }
            CHECK_EQ(mix(2166136261u, in, CHUNK), mix(2166136261u, out, CHUNK));
        }
    }
}

/* Whether the server closed `fd`: a recv sees the end (or a reset). */
static int closed_by_server(cio_fd fd) {
    char b;
    long long k = t_sys_recv(fd, &b, 1, 0);
    return k == 0 || k < 0;
}

static int run_spread(cio_spread asked) {
    cio_spread spread = asked; /* what AUTO stands for here: */
    if (asked == CIO_SPREAD_AUTO) spread = t_on_windows() ? CIO_SPREAD_ACCEPTOR : CIO_SPREAD_REUSEPORT;
    cio_runtime *rt;
    cio_runtime_options o = {.workers = WORKERS};
    CHECK_EQ(cio_runtime_start(&o, &rt), 0);
    cio_serve_options so = {.spread = asked, .acceptor = 1};
    cio_addr bound;
    int r = cio_runtime_serve(rt, "127.0.0.1:0", &so, echo, NULL, &bound);
    if (r == -CIO_ENOTSUP) {
        CHECK_EQ(cio_runtime_shutdown(rt, 0, NULL, NULL), 0);
        return r;
    }
    CHECK_EQ(r, 0);
    uint16_t port = (uint16_t)cio_addr_port(&bound);
    CHECK(port != 0);
    atomic_store(&handled, 0);
    cio_fd fds[CONNS];
    for (int c = 0; c < CONNS; c++) fds[c] = dial(port);
    exchange(fds, CONNS);
    CHECK_EQ(atomic_load(&handled), CONNS);
    CHECK_EQ(atomic_load(&bad_peer), 0);
    uint64_t sum = 0;
    for (unsigned w = 0; w < WORKERS; w++) {
        cio_worker_stats s;
        CHECK_EQ(cio_runtime_worker_stats(rt, w, &s), 0);
        sum += s.connections;
        /* One acceptor, connections handed out in turn: as many each. */
        if (spread == CIO_SPREAD_ACCEPTOR) CHECK_EQ(s.connections, CONNS / WORKERS);
        CHECK_EQ(s.accept_errors, 0);
    }
    CHECK_EQ(sum, CONNS);

    /* The first quarter of the clients close during the grace time; the
     * rest keep their connections open and idle, so the shutdown cancels
     * those. */
    int leaving = CONNS / 4;
    for (int c = 0; c < leaving; c++) CHECK_EQ(t_close_handle(fds[c]), 0);
    uint64_t end = t_now_ns() + 30ull * CIO_NS_PER_SEC;
    for (;;) { /* the servers have seen those closes */
        cio_worker_stats s;
        CHECK_EQ(cio_runtime_stats(rt, &s), 0);
        if (s.load == (uint64_t)(CONNS - leaving)) break;
        CHECK(t_now_ns() < end);
        t_sleep_ms(1);
    }
    cio_runtime_report rep;
    CHECK_EQ(cio_runtime_shutdown(rt, 100 * CIO_NS_PER_MS, &rep, NULL), 0);
    CHECK_EQ(rep.listeners, spread == CIO_SPREAD_ACCEPTOR ? 1 : WORKERS);
    CHECK_EQ(rep.tasks_cancelled, CONNS - leaving);
    CHECK_EQ(rep.tasks_finished, 0);
    CHECK_EQ(rep.total.connections, CONNS);
    CHECK_EQ(rep.total.conn_errors, 0);
    for (int c = leaving; c < CONNS; c++) {
        CHECK(closed_by_server(fds[c]));
        t_close_handle(fds[c]);
    }
    /* No listener any more. */
    cio_fd late = t_sys_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = sin4("127.0.0.1", port);
    CHECK(connect(late, (struct sockaddr *)&a, sizeof a) != 0);
    t_close_handle(late);
    return 0;
}

/* Connections that end within the grace time are not cancelled. */
typedef struct closer {
    cio_fd *fds;
    int n;
    cio_runtime *rt;
} closer;

/* Closes once the shutdown has begun (which cannot end before that, as
 * the connections hold it up). */
static void *close_soon(void *arg) {
    closer *c = arg;
    uint64_t end = t_now_ns() + 30ull * CIO_NS_PER_SEC;
    while (!cio_runtime_stopping(c->rt)) {
        CHECK(t_now_ns() < end);
        t_sleep_ms(1);
    }
    for (int i = 0; i < c->n; i++) t_close_handle(c->fds[i]);
    return NULL;
}

static void run_grace(void) {
    cio_runtime *rt;
    cio_runtime_options o = {.workers = 2};
    CHECK_EQ(cio_runtime_start(&o, &rt), 0);
    cio_serve_options so = {.spread = CIO_SPREAD_ACCEPTOR, .least = true};
    cio_addr bound;
    CHECK_EQ(cio_runtime_serve(rt, "127.0.0.1:0", &so, echo, NULL, &bound), 0);
    uint16_t port = (uint16_t)cio_addr_port(&bound);
    cio_fd fds[8];
    for (int c = 0; c < 8; c++) fds[c] = dial(port);
    exchange(fds, 8);
    closer cl = {fds, 8, rt};
    t_thread th;
    CHECK_EQ(t_thread_start(&th, close_soon, &cl), 0);
    cio_runtime_report rep;
    CHECK_EQ(cio_runtime_shutdown(rt, 60ull * CIO_NS_PER_SEC, &rep, NULL), 0);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(rep.tasks_finished, 8);
    CHECK_EQ(rep.tasks_cancelled, 0);
    CHECK_EQ(rep.listeners, 1);
}

int main(void) {
    t_watchdog();
    CHECK_EQ(t_sock_init(), 0);
    t_ignore_sigpipe();
    int r = run_spread(CIO_SPREAD_REUSEPORT);
#if defined(_WIN32)
    CHECK_EQ(r, -CIO_ENOTSUP);
#else
    CHECK_EQ(r, 0);
#endif
    CHECK_EQ(run_spread(CIO_SPREAD_ACCEPTOR), 0);
    CHECK_EQ(run_spread(CIO_SPREAD_AUTO), 0);
    run_grace();
    printf("runtime_serve: ok\n");
    return 0;
}
