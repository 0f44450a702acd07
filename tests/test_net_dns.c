/*
 * test_net_dns - resolving names (cio/net.h): literals and "localhost"
 * without the pool, real names through getaddrinfo on the pool compared
 * with the system's own getaddrinfo (the oracle) as sets, unknown hosts
 * (RFC 6761's .invalid) as -CIO_ENOTFOUND, and the ways a request ends
 * early: a deadline while the pool is busy, a cancel, a cancelled task.
 * In each, the callback runs exactly once, `out` is never written after
 * it, and the job's late answer is freed (ASan/LeakSanitizer builds see it).
 * On the mock, names that need the system's resolver are skipped by name
 * (a simulation has no DNS); literals, localhost and bad input run.
 * CIO_TEST_PORTABLE CIO_TEST_SEEDS
 */
#include "test.h"

#include <stdbool.h>

#include "cio.h"

#if !defined(_WIN32)
#include <netdb.h>
#endif

static cio_loop L;
static bool MOCK;
static int cases_done;

static void fmt(const cio_addr *a, char *buf) { CHECK(cio_addr_format(a, buf, CIO_ADDR_STRLEN) > 0); }

typedef struct rq {
    cio_resolve_req req;
    int calls;
    int32_t res;
} rq;

static void on_resolved(cio_loop *loop, cio_resolve_req *req) {
    (void)loop;
    rq *r = (rq *)req;
    r->calls++;
    r->res = req->res;
}

static void start(rq *r, const char *host, uint16_t port, int family, cio_addr *out, unsigned max, uint64_t dl) {
    memset(r, 0, sizeof *r);
    r->req.cb = on_resolved;
    CHECK_EQ(cio_resolve_start(&L, &r->req, host, port, family, out, max, dl), 0);
}

static void case_literals(void) {
    cio_addr out[4];
    char s[CIO_ADDR_STRLEN];
    rq r;
    start(&r, "127.0.0.1", 80, 0, out, 4, 0);
    CHECK_EQ(r.calls, 0); /* never inside the start call */
    t_run(&L, 10);
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.res, 1);
    fmt(&out[0], s);
    CHECK(strcmp(s, "127.0.0.1:80") == 0);
    start(&r, "::1", 443, 0, out, 4, 0);
    t_run(&L, 10);
    CHECK_EQ(r.res, 1);
    fmt(&out[0], s);
    CHECK(strcmp(s, "[::1]:443") == 0);
    start(&r, "127.0.0.1", 80, AF_INET6, out, 4, 0);
    t_run(&L, 10);
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.res, -CIO_ENOTFOUND);
    /* localhost: 127.0.0.1 then ::1, by RFC 6761, never the resolver. */
    start(&r, "LocalHost.", 7, 0, out, 4, 0);
    t_run(&L, 10);
    CHECK_EQ(r.res, 2);
    fmt(&out[0], s);
    CHECK(strcmp(s, "127.0.0.1:7") == 0);
    fmt(&out[1], s);
    CHECK(strcmp(s, "[::1]:7") == 0);
    start(&r, "localhost", 7, AF_INET6, out, 1, 0);
    t_run(&L, 10);
    CHECK_EQ(r.res, 1);
    fmt(&out[0], s);
    CHECK(strcmp(s, "[::1]:7") == 0);
    /* max 1 of two. */
    start(&r, "localhost", 7, 0, out, 1, 0);
    t_run(&L, 10);
    CHECK_EQ(r.res, 1);
    cases_done++;
}

static void case_bad_input(void) {
    cio_addr out[2];
    cio_resolve_req req;
    memset(&req, 0, sizeof req);
    req.cb = on_resolved;
    CHECK_EQ(cio_resolve_start(&L, &req, NULL, 1, 0, out, 2, 0), -CIO_EINVAL);
    CHECK_EQ(cio_resolve_start(&L, &req, "", 1, 0, out, 2, 0), -CIO_EINVAL);
    CHECK_EQ(cio_resolve_start(&L, &req, "localhost", 1, 0, NULL, 2, 0), -CIO_EINVAL);
    CHECK_EQ(cio_resolve_start(&L, &req, "localhost", 1, 0, out, 0, 0), -CIO_EINVAL);
    CHECK_EQ(cio_resolve_start(&L, &req, "localhost", 1, AF_UNIX, out, 2, 0), -CIO_EAFNOSUPPORT);
    CHECK_EQ(cio_resolve_start(NULL, &req, "localhost", 1, 0, out, 2, 0), -CIO_EINVAL);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK_EQ(cio_resolve_start(&L, &req, longname, 1, 0, out, 2, 0), -CIO_EINVAL);
    req.cb = NULL;
    CHECK_EQ(cio_resolve_start(&L, &req, "localhost", 1, 0, out, 2, 0), -CIO_EINVAL);
    CHECK_EQ(cio_resolve_cancel(&req), -CIO_ENOENT);
    CHECK_EQ(cio_resolve_cancel(NULL), -CIO_ENOENT);
    CHECK_EQ(cio_resolve("localhost", 1, 0, out, 2, 0), -CIO_EPERM);
    CHECK_EQ(cio_loop_active(&L), 0u);
    cases_done++;
}

/* A name the system's resolver knows: this machine's own host name. The
 * oracle is getaddrinfo itself; the two must give the same set. */
static void case_system_name(void) {
    if (MOCK) {
        printf("SKIP net_dns.mock/system_name: the simulation has no resolver\n");
        return;
    }
    char host[256];
    t_sock_init();
    CHECK_EQ(gethostname(host, sizeof host), 0);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(host, NULL, &hints, &res);
    cio_addr out[16];
    rq r;
    start(&r, host, 9, 0, out, 16, 0);
    t_run(&L, 30);
    CHECK_EQ(r.calls, 1);
    if (e != 0) {
        printf("note: getaddrinfo(\"%s\") fails here (%d); cio says %d\n", host, e, r.res);
        CHECK(r.res < 0);
        cases_done++;
        return;
    }
    int n = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        cio_addr a;
        CHECK_EQ(cio_addr_from(&a, ai->ai_addr, (cio_socklen)ai->ai_addrlen), 0);
        cio_addr_set_port(&a, 9);
        bool found = false;
        for (int i = 0; i < r.res; i++) found = found || cio_addr_equal(&out[i], &a);
        CHECK(found);
        n++;
    }
    freeaddrinfo(res);
    CHECK(r.res >= 1 && r.res <= n);
    for (int i = 0; i < r.res; i++) {
        CHECK_EQ(cio_addr_port(&out[i]), 9);
        for (int k = 0; k < i; k++) CHECK(!cio_addr_equal(&out[i], &out[k])); /* no duplicates */
    }
    cases_done++;
}

static void case_unknown_host(void) {
    if (MOCK) {
        printf("SKIP net_dns.mock/unknown_host: the simulation has no resolver\n");
        return;
    }
    struct addrinfo *res = NULL;
    int e = getaddrinfo("no-such-host.invalid", NULL, NULL, &res);
    if (e == 0) freeaddrinfo(res);
    cio_addr out[2];
    rq r;
    start(&r, "no-such-host.invalid", 80, 0, out, 2, 0);
    t_run(&L, 60);
    CHECK_EQ(r.calls, 1);
    if (e == EAI_NONAME) {
        CHECK_EQ(r.res, -CIO_ENOTFOUND);
        CHECK(strcmp(cio_strerror(r.res), "host not found") == 0);
    } else {
        printf("note: the system's resolver says %d for .invalid; cio %d\n", e, r.res);
        CHECK(r.res < 0);
    }
    cases_done++;
}

/* ---- ending early ---- */

static volatile int sleepers_done;

static int32_t sleeper(void *arg) {
    (void)arg;
    t_sleep_ms(1500);
    return 0;
}

static void on_sleeper(cio_loop *loop, cio_op *op) {
    (void)loop;
    (void)op;
    sleepers_done++;
}

/* The pool is full of slow calls, so the lookup waits in its queue: the
 * deadline ends the request while no call of the pool has finished. */
static void case_deadline_busy_pool(void) {
    if (MOCK) {
        printf("SKIP net_dns.mock/deadline_busy_pool: the mock runs calls on the loop's thread\n");
        return;
    }
    static cio_op ops[8];
    sleepers_done = 0;
    for (int i = 0; i < 8; i++) {
        cio_prep_call(&ops[i], sleeper, NULL);
        ops[i].cb = on_sleeper;
        CHECK_EQ(cio_submit(&L, &ops[i]), 0);
    }
    cio_addr out[2];
    memset(out, 0xAA, sizeof out);
    rq r;
    uint64_t t0 = t_now_ns();
    start(&r, "no-such-host.invalid", 80, 0, out, 2, cio_now(&L) + 100 * 1000000ull);
    while (!r.calls) CHECK(cio_loop_run(&L, CIO_RUN_ONCE) >= 0);
    CHECK_EQ(r.res, -CIO_ETIMEDOUT);
    CHECK(t_now_ns() - t0 >= 95 * 1000000ull);
    CHECK_EQ(sleepers_done, 0); /* ended at once, not when the pool got to it */
    t_run(&L, 60);
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(sleepers_done, 8);
    unsigned char *b = (unsigned char *)out;
    for (size_t i = 0; i < sizeof out; i++) CHECK_EQ(b[i], 0xAA);
    cases_done++;
}

/* Cancelled right after the start: the pool may be running the lookup
 * already. The callback comes once, with -CIO_ECANCELED, and out stays
 * untouched when the pool's answer arrives later. */
static void case_cancel(void) {
    for (int round = 0; round < 20; round++) {
        cio_addr out[4];
        memset(out, 0xAA, sizeof out);
        rq r;
        const char *host = MOCK ? "localhost" : (round % 2 ? "localhost" : "no-such-host.invalid");
        start(&r, host, 80, 0, out, 4, 0);
        CHECK_EQ(cio_resolve_cancel(&r.req), 0);
        CHECK_EQ(cio_resolve_cancel(&r.req), -CIO_EALREADY);
        CHECK_EQ(r.calls, 0);
        t_run(&L, 60);
        CHECK_EQ(r.calls, 1);
        CHECK_EQ(r.res, -CIO_ECANCELED);
        CHECK_EQ(cio_resolve_cancel(&r.req), -CIO_ENOENT);
        if (strcmp(host, "localhost") != 0) {
            unsigned char *b = (unsigned char *)out;
            for (size_t i = 0; i < sizeof out; i++) CHECK_EQ(b[i], 0xAA);
        }
    }
    cases_done++;
}

typedef struct tjob {
    const char *host;
    int32_t res;
    int finished;
    cio_addr out[4];
} tjob;

static intptr_t resolver_task(void *arg) {
    tjob *t = arg;
    t->res = cio_resolve(t->host, 8080, 0, t->out, 4, 0);
    t->finished = 1;
    return 0;
}

static void case_task(void) {
    tjob t = {.host = "localhost"};
    cio_task_options det = {.detached = true};
    CHECK_EQ(cio_task_spawn(&L, resolver_task, &t, &det, NULL), 0);
    t_run(&L, 10);
    CHECK(t.finished);
    CHECK_EQ(t.res, 2);
    CHECK_EQ(cio_addr_port(&t.out[0]), 8080);
    if (!MOCK) {
        /* Cancelled while its lookup waits behind a busy pool: returns
         * -CIO_ECANCELED at once, before any call of the pool finished. */
        static cio_op ops[8];
        sleepers_done = 0;
        for (int i = 0; i < 8; i++) {
            cio_prep_call(&ops[i], sleeper, NULL);
            ops[i].cb = on_sleeper;
            CHECK_EQ(cio_submit(&L, &ops[i]), 0);
        }
        tjob c = {.host = "no-such-host.invalid"};
        memset(c.out, 0xAA, sizeof c.out);
        cio_task *task;
        cio_task_options o = {.detached = true};
        CHECK_EQ(cio_task_spawn(&L, resolver_task, &c, &o, &task), 0);
        CHECK(cio_loop_run(&L, CIO_RUN_NOWAIT) >= 0); /* the task starts and blocks */
        CHECK(!c.finished);
        CHECK_EQ(cio_task_cancel(task), 0);
        while (!c.finished) CHECK(cio_loop_run(&L, CIO_RUN_ONCE) >= 0);
        CHECK_EQ(c.res, -CIO_ECANCELED);
        CHECK_EQ(sleepers_done, 0);
        t_run(&L, 60);
        CHECK_EQ(sleepers_done, 8);
        unsigned char *b = (unsigned char *)c.out;
        for (size_t i = 0; i < sizeof c.out; i++) CHECK_EQ(b[i], 0xAA);
    }
    cases_done++;
}


typedef struct creq {
    cio_connect_req req;
    int calls;
} creq;

static void on_connected(cio_loop *loop, cio_connect_req *req) {
    (void)loop;
    ((creq *)req)->calls++;
}

/* Requests in flight when their loop closes: each callback runs exactly
 * once, inside the close, and what the jobs hold is freed (the sanitizer
 * builds check that no memory is left). */
static void case_close_in_flight(void) {
    cio_loop L2;
    t_loop_init(&L2, 16);
    cio_addr out[2];
    rq a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.req.cb = on_resolved;
    b.req.cb = on_resolved;
    CHECK_EQ(cio_resolve_start(&L2, &a.req, MOCK ? "localhost" : "no-such-host.invalid", 1, 0, out, 2,
                               cio_now(&L2) + 60000000000ull), 0);
    CHECK_EQ(cio_resolve_start(&L2, &b.req, "127.0.0.1", 1, 0, out, 2, 0), 0);
    creq c;
    memset(&c, 0, sizeof c);
    c.req.cb = on_connected;
    CHECK_EQ(cio_tcp_connect_start(&L2, &c.req, "localhost:1", cio_now(&L2) + 60000000000ull), 0);
    CHECK_EQ(cio_loop_close(&L2), 0);
    CHECK_EQ(a.calls, 1);
    CHECK_EQ(b.calls, 1);
    CHECK_EQ(c.calls, 1);
    CHECK(c.req.res < 0);
    CHECK(c.req.fd == CIO_FD_INVALID);
    cases_done++;
}

int main(void) {
    t_loop_init(&L, 64);
    MOCK = cio_loop_backend(&L) == CIO_BACKEND_MOCK;
    case_bad_input();
    case_literals();
    case_system_name();
    case_unknown_host();
    case_cancel();
    case_task();
    case_deadline_busy_pool();
    case_close_in_flight();
    t_close(&L);
    printf("ok (%d cases)\n", cases_done);
    return 0;
}
