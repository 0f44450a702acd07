/*
 * test_runtime_mock - the runtime with every worker on the mock backend
 * (cio/runtime.h: each worker a simulation of its own, on its own
 * thread): spawn, call, exec between workers, virtual time inside each
 * worker (an hour of sleeps costs no real time), counters, the shutdown
 * cancelling a task blocked for good, and serve: a listener in each
 * worker's world, reached by client tasks of that worker, every byte
 * echoed (a checksum); the acceptor spread, which would move a
 * connection between worlds, refused. Oracles: the test's own atomic
 * counts, checksums and CLOCK_MONOTONIC.
 *
 * CIO_TEST_ONCE CIO_TEST_PORTABLE
 */
#include "test.h"

#define WORKERS 3

static atomic_int ran, in_virtual_time;

static intptr_t hour_sleeper(void *arg) {
    cio_loop *loop = cio_task_loop();
    uint64_t t0 = cio_now(loop);
    CHECK_EQ(cio_sleep(3600ull * CIO_NS_PER_SEC), 0);
    if (cio_now(loop) - t0 >= 3600ull * CIO_NS_PER_SEC) atomic_fetch_add(&in_virtual_time, 1);
    atomic_fetch_add(&ran, 1);
    return (intptr_t)arg + 1;
}

static void count_call(cio_loop *loop, void *arg) {
    (void)arg;
    CHECK_EQ(cio_loop_backend(loop), CIO_BACKEND_MOCK);
    atomic_fetch_add(&ran, 1);
}

static intptr_t exec_chain(void *arg) {
    cio_runtime *rt = arg;
    unsigned me;
    CHECK(cio_runtime_self(&me) == rt);
    intptr_t v = 0;
    CHECK_EQ(cio_runtime_exec(rt, (int)((me + 1) % WORKERS), hour_sleeper, (void *)(intptr_t)40, &v), 0);
    return v;
}

static intptr_t blocked_for_good(void *arg) {
    cio_event *ev = arg;
    return cio_event_wait(ev); /* nobody sets it: the shutdown cancels it */
}

static intptr_t echo(cio_fd fd, const cio_addr *peer, void *arg) {
    (void)peer, (void)arg;
    char buf[512];
    int32_t n;
    while ((n = cio_recv(fd, buf, sizeof buf, 0)) > 0)
        if (cio_send(fd, buf, (uint32_t)n, CIO_MSG_WAITALL) != n) return -1;
    return n;
}

static cio_addr served;
static atomic_int clients_ok;

/* A client in its worker's world: 16 rounds of 1 KiB out, the same back. */
static intptr_t client(void *arg) {
    (void)arg;
    cio_fd fd;
    CHECK_EQ(cio_tcp_connect_addr(&served, 0, &fd), 0);
    unsigned char out[1024], in[1024];
    for (int round = 0; round < 16; round++) {
        for (size_t i = 0; i < sizeof out; i++) out[i] = (unsigned char)(i * 7 + round);
        CHECK_EQ(cio_send(fd, out, sizeof out, CIO_MSG_WAITALL), (int32_t)sizeof out);
        CHECK_EQ(cio_recv(fd, in, sizeof in, CIO_MSG_WAITALL), (int32_t)sizeof in);
        CHECK(memcmp(in, out, sizeof in) == 0);
    }
    CHECK_EQ(cio_close(fd), 0);
    atomic_fetch_add(&clients_ok, 1);
    return 0;
}

int main(void) {
    t_watchdog();
    t_unsetenv("CIO_BACKEND"); /* the options name the backend */
    cio_loop_options lo = {0};
    lo.backend = CIO_BACKEND_MOCK;
    cio_runtime_options o = {.workers = WORKERS, .loop = &lo};
    cio_runtime *rt;
    CHECK_EQ(cio_runtime_start(&o, &rt), 0);
    for (unsigned i = 0; i < WORKERS; i++) {
        cio_worker_stats s;
        CHECK_EQ(cio_runtime_worker_stats(rt, i, &s), 0);
        CHECK_EQ(s.backend, CIO_BACKEND_MOCK);
    }
    uint64_t t0 = t_now_ns();
    for (int i = 0; i < 30; i++) {
        CHECK(cio_runtime_spawn(rt, CIO_WORKER_NEXT, hour_sleeper, NULL, NULL) >= 0);
        CHECK(cio_runtime_call(rt, CIO_WORKER_LEAST, count_call, NULL) >= 0);
    }
    intptr_t v = 0;
    CHECK_EQ(cio_runtime_exec(rt, 0, exec_chain, rt, &v), 0); /* worker 0's task waits on worker 1 */
    CHECK_EQ(v, 41);
    CHECK_EQ(cio_runtime_exec(rt, 2, hour_sleeper, (void *)(intptr_t)1, &v), 0);
    CHECK_EQ(v, 2);
    uint64_t end = t_now_ns() + 60ull * CIO_NS_PER_SEC;
    while (atomic_load(&ran) < 62) {
        CHECK(t_now_ns() < end);
        t_sleep_ms(1);
    }
    /* 32 hours of sleeps, in much less than real time. */
    CHECK_EQ(atomic_load(&in_virtual_time), 32);
    CHECK(t_now_ns() - t0 < 3600ull * CIO_NS_PER_SEC);

    cio_serve_options acc = {.spread = CIO_SPREAD_ACCEPTOR};
    CHECK_EQ(cio_runtime_serve(rt, "127.0.0.1:0", &acc, echo, NULL, &served), -CIO_ENOTSUP);
    CHECK_EQ(cio_runtime_serve(rt, "127.0.0.1:0", NULL, echo, NULL, &served), 0);
    CHECK(cio_addr_port(&served) > 0);
    for (int i = 0; i < 2 * WORKERS; i++) CHECK_EQ(cio_runtime_spawn(rt, i % WORKERS, client, NULL, NULL), i % WORKERS);
    while (atomic_load(&clients_ok) < 2 * WORKERS) {
        CHECK(t_now_ns() < end);
        t_sleep_ms(1);
    }
    for (unsigned i = 0; i < WORKERS; i++) {
        cio_worker_stats s;
        CHECK_EQ(cio_runtime_worker_stats(rt, i, &s), 0);
        CHECK_EQ(s.connections, 2); /* its own world's clients, and only those */
    }

    static cio_event ev; /* outlives the runtime: the task waits on it until the shutdown */
    CHECK_EQ(cio_runtime_spawn(rt, 1, blocked_for_good, &ev, NULL), 1);
    cio_runtime_report rep;
    CHECK_EQ(cio_runtime_shutdown(rt, 10 * CIO_NS_PER_MS, &rep, NULL), 0);
    CHECK_EQ(rep.tasks_cancelled, 1);
    CHECK_EQ(rep.listeners, WORKERS);
    CHECK_EQ(rep.total.tasks_spawned, 30 + 1 + 2 + 1 + 2 * WORKERS + 2 * WORKERS); /* clients and connections */
    CHECK_EQ(rep.total.conn_errors, 0);
    CHECK_EQ(rep.total.calls, 30);
    CHECK_EQ(rep.total.load, 0);
    CHECK_EQ(cio_mock_violations(NULL), 0);
    printf("runtime_mock: ok\n");
    return 0;
}
