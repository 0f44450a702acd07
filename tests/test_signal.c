/*
 * test_signal: watchers of cio/signal.h driven through cio_signal_raise(),
 * the test hook that works on every backend (the mock's only source): the
 * counts each watcher reports against the raises made (the oracle), waits
 * that end by delivery, deadline, deadline scope and cancellation, the
 * callback style, several watchers on one loop, the op that keeps the loop
 * going while someone waits and is gone when nobody does, and bad input.
 * Real signals (kill, other threads, dispositions): test_signal_posix.c.
 *
 * CIO_TEST_PORTABLE
 *
 * CIO_TEST_SEEDS: it also runs under 1,000 mock seeds, and 200 with faults (tests/CMakeLists.txt).
 */
#include "test.h"

#include <signal.h>

static bool on_mock(cio_loop *loop) { return cio_loop_backend(loop) == CIO_BACKEND_MOCK; }

/* Tasks here are detached: the test checks what they leave behind. */
static void spawn(cio_loop *loop, cio_task_fn fn, void *arg) {
    cio_task_options o = {.detached = true};
    CHECK_EQ(cio_task_spawn(loop, fn, arg, &o, NULL), 0);
}

/* Closes the loop after checking that nothing is left in flight. */
static void finish(cio_loop *loop) {
    t_run(loop, 10);
    CHECK_EQ(cio_loop_active(loop), 0);
    if (on_mock(loop)) CHECK_EQ(cio_mock_violations(loop), 0);
    t_close(loop);
}

/* ---- a task waits: counts, order, deadline ---- */

typedef struct raiser {
    cio_op op;
    cio_loop *loop;
    int usr1, usr2; /* raises made at the timer: the oracle */
} raiser;

static void raise_now(cio_loop *loop, cio_op *op) {
    raiser *r = (raiser *)op;
    CHECK_EQ(op->res, 0);
    for (int i = 0; i < r->usr1; i++) CHECK_EQ(cio_signal_raise(loop, CIO_SIGUSR1), 0);
    for (int i = 0; i < r->usr2; i++) CHECK_EQ(cio_signal_raise(loop, CIO_SIGUSR2), 0);
}

typedef struct wait_case {
    cio_signal sig;
    int first, second, third;
    uint32_t count1, count2;
    uint64_t waited_ns; /* cio_now() across the timed-out wait */
    uint64_t real_ns;   /* the same on the monotonic clock */
    bool done;
} wait_case;

static intptr_t waiter(void *arg) {
    wait_case *c = arg;
    c->first = cio_signal_wait(&c->sig, 0, &c->count1);
    c->second = cio_signal_wait(&c->sig, 0, &c->count2);
    cio_loop *loop = cio_task_loop();
    uint64_t t0 = cio_now(loop), r0 = t_now_ns();
    c->third = cio_signal_wait(&c->sig, cio_now(loop) + 20000000, NULL);
    c->waited_ns = cio_loop_update_now(loop) - t0;
    c->real_ns = t_now_ns() - r0;
    c->done = true;
    return 0;
}

static void case_wait_counts(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    wait_case c;
    memset(&c, 0, sizeof c);
    CHECK_EQ(cio_signal_init(&c.sig, &loop), 0);
    CHECK_EQ(cio_signal_add(&c.sig, CIO_SIGUSR2), 0);
    CHECK_EQ(cio_signal_add(&c.sig, CIO_SIGUSR1), 0);
    CHECK_EQ(cio_signal_add(&c.sig, CIO_SIGUSR1), 0); /* idempotent */
    spawn(&loop, waiter, &c);
    raiser r = {.loop = &loop, .usr1 = 3, .usr2 = 1};
    cio_prep_timeout(&r.op, 10000000, 0);
    r.op.cb = raise_now;
    CHECK_EQ(cio_submit(&loop, &r.op), 0);
    t_run(&loop, 10);
    CHECK(c.done);
    /* The lowest number first, each with every raise made before it was taken. */
    CHECK_EQ(c.first, CIO_SIGUSR1);
    CHECK_EQ(c.count1, 3);
    CHECK_EQ(c.second, CIO_SIGUSR2);
    CHECK_EQ(c.count2, 1);
    CHECK_EQ(c.third, -CIO_ETIMEDOUT);
    CHECK(c.waited_ns >= 20000000);
    if (!on_mock(&loop)) CHECK(c.real_ns >= 19000000);
    CHECK_EQ(cio_signal_close(&c.sig), 0);
    finish(&loop);
}

/* ---- callback style ---- */

typedef struct cb_case {
    cio_signal sig;
    int calls;
    int signo[8];
    uint32_t count[8];
} cb_case;

static void on_sig(cio_signal *s, int signo, uint32_t count) {
    cb_case *c = s->data;
    CHECK(c->calls < 8);
    c->signo[c->calls] = signo;
    c->count[c->calls] = count;
    c->calls++;
    if (signo == CIO_SIGUSR2) CHECK_EQ(cio_signal_stop(s), 0); /* from the callback */
}

static void case_callback(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cb_case c;
    memset(&c, 0, sizeof c);
    CHECK_EQ(cio_signal_init(&c.sig, &loop), 0);
    c.sig.data = &c;
    CHECK_EQ(cio_signal_add(&c.sig, CIO_SIGUSR1), 0);
    CHECK_EQ(cio_signal_add(&c.sig, CIO_SIGUSR2), 0);
    /* Counted before the start: reported at the first turn after it. */
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGUSR1), 0);
    CHECK_EQ(cio_signal_start(&c.sig, on_sig), 0);
    CHECK_EQ(cio_signal_start(&c.sig, on_sig), -CIO_EBUSY);
    /* Started: something is in flight, so CIO_RUN_DEFAULT would go on. */
    CHECK(cio_loop_active(&loop) >= 1);
    for (int i = 0; i < 5 && c.calls < 1; i++) CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
    CHECK_EQ(c.calls, 1);
    CHECK_EQ(c.signo[0], CIO_SIGUSR1);
    CHECK_EQ(c.count[0], 1);
    /* Two raises before the loop looks: one report of two. */
    raiser r = {.loop = &loop, .usr1 = 2};
    cio_prep_timeout(&r.op, 1000000, 0);
    r.op.cb = raise_now;
    CHECK_EQ(cio_submit(&loop, &r.op), 0);
    for (int i = 0; i < 50 && c.calls < 2; i++) CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
    CHECK_EQ(c.calls, 2);
    CHECK_EQ(c.signo[1], CIO_SIGUSR1);
    CHECK_EQ(c.count[1], 2);
    CHECK(cio_loop_active(&loop) >= 1);
    /* USR2 stops it from the callback; then nothing keeps the loop. */
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGUSR2), 0);
    t_run(&loop, 10); /* returns: the read was cancelled by the stop */
    CHECK_EQ(c.calls, 3);
    CHECK_EQ(c.signo[2], CIO_SIGUSR2);
    CHECK_EQ(c.count[2], 1);
    CHECK_EQ(cio_signal_stop(&c.sig), -CIO_EINVAL);
    /* Stopped, deliveries are still counted for a take. */
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGUSR1), 0);
    t_run(&loop, 10);
    uint32_t n = 0;
    CHECK_EQ(cio_signal_take(&c.sig, &n), CIO_SIGUSR1);
    CHECK_EQ(n, 1);
    CHECK_EQ(cio_signal_take(&c.sig, &n), -CIO_EAGAIN);
    CHECK_EQ(c.calls, 3);
    CHECK_EQ(cio_signal_close(&c.sig), 0);
    finish(&loop);
}

/* ---- several watchers of one loop ---- */

static void case_two_watchers(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_signal a, b;
    CHECK_EQ(cio_signal_init(&a, &loop), 0);
    CHECK_EQ(cio_signal_init(&b, &loop), 0);
    CHECK_EQ(cio_signal_add(&a, CIO_SIGUSR1), 0);
    CHECK_EQ(cio_signal_add(&b, CIO_SIGUSR1), 0);
    CHECK_EQ(cio_signal_add(&b, CIO_SIGUSR2), 0);
    for (int i = 0; i < 4; i++) CHECK_EQ(cio_signal_raise(&loop, CIO_SIGUSR1), 0);
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGUSR2), 0);
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGHUP), -CIO_ENOENT); /* nobody watches it */
    t_run(&loop, 10);
    uint32_t n = 0;
    /* Each watcher sees each delivery. */
    CHECK_EQ(cio_signal_take(&a, &n), CIO_SIGUSR1);
    CHECK_EQ(n, 4);
    CHECK_EQ(cio_signal_take(&a, &n), -CIO_EAGAIN);
    CHECK_EQ(cio_signal_take(&b, &n), CIO_SIGUSR1);
    CHECK_EQ(n, 4);
    CHECK_EQ(cio_signal_take(&b, &n), CIO_SIGUSR2);
    CHECK_EQ(n, 1);
    /* Removing drops what was not taken; a signal nobody watches is refused. */
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGUSR2), 0);
    t_run(&loop, 10);
    CHECK_EQ(cio_signal_remove(&b, CIO_SIGUSR2), 0);
    CHECK_EQ(cio_signal_remove(&b, CIO_SIGUSR2), -CIO_ENOENT);
    CHECK_EQ(cio_signal_take(&b, &n), -CIO_EAGAIN);
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGUSR2), -CIO_ENOENT);
    /* Closing one leaves the other watching. */
    CHECK_EQ(cio_signal_close(&a), 0);
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGUSR1), 0);
    t_run(&loop, 10);
    CHECK_EQ(cio_signal_take(&b, &n), CIO_SIGUSR1);
    CHECK_EQ(n, 1);
    CHECK_EQ(cio_signal_take(&a, &n), -CIO_EINVAL);
    CHECK_EQ(cio_signal_close(&b), 0);
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGUSR1), -CIO_ENOENT);
    /* A new watcher after the last one closed gets a new channel. */
    t_run(&loop, 10);
    CHECK_EQ(cio_signal_init(&a, &loop), 0);
    CHECK_EQ(cio_signal_add(&a, CIO_SIGUSR2), 0);
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGUSR2), 0);
    t_run(&loop, 10);
    CHECK_EQ(cio_signal_take(&a, &n), CIO_SIGUSR2);
    CHECK_EQ(cio_signal_close(&a), 0);
    finish(&loop);
}

/* ---- the wait keeps an op in flight; cancel and scopes end it ---- */

typedef struct keep_case {
    cio_signal sig;
    int res;
    uint32_t count;
    bool done;
} keep_case;

static intptr_t keep_waiter(void *arg) {
    keep_case *c = arg;
    c->res = cio_signal_wait(&c->sig, 0, &c->count);
    c->done = true;
    return 0;
}

static void case_keeps_loop(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    keep_case c;
    memset(&c, 0, sizeof c);
    CHECK_EQ(cio_signal_init(&c.sig, &loop), 0);
    CHECK_EQ(cio_signal_add(&c.sig, CIO_SIGINT), 0);
    CHECK_EQ(cio_loop_active(&loop), 0); /* a watcher nobody waits on keeps nothing */
    spawn(&loop, keep_waiter, &c);
    for (int i = 0; i < 5; i++) CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    CHECK(!c.done);
    /* The task waits and nothing else is pending: the wait's own op. */
    CHECK(cio_loop_active(&loop) >= 1);
    CHECK_EQ(cio_signal_close(&c.sig), -CIO_EBUSY);
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGINT), 0);
    t_run(&loop, 10);
    CHECK(c.done);
    CHECK_EQ(c.res, CIO_SIGINT);
    CHECK_EQ(c.count, 1);
    CHECK_EQ(cio_signal_close(&c.sig), 0);
    finish(&loop);
}

typedef struct cancel_case {
    cio_signal sig;
    cio_task *victim;
    int res_cancel, res_scope;
    bool done;
} cancel_case;

static intptr_t cancel_victim(void *arg) {
    cancel_case *c = arg;
    c->res_cancel = cio_signal_wait(&c->sig, 0, NULL);
    return 0;
}

static intptr_t canceller(void *arg) {
    cancel_case *c = arg;
    CHECK_EQ(cio_sleep(5000000), 0);
    CHECK_EQ(cio_task_cancel(c->victim), 0);
    CHECK_EQ(cio_task_join(c->victim, NULL), 0);
    /* A deadline scope bounds the wait too. */
    uint64_t prev = cio_deadline_push(cio_now(cio_task_loop()) + 10000000);
    c->res_scope = cio_signal_wait(&c->sig, 0, NULL);
    cio_deadline_pop(prev);
    c->done = true;
    return 0;
}

static void case_cancel(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cancel_case c;
    memset(&c, 0, sizeof c);
    CHECK_EQ(cio_signal_init(&c.sig, &loop), 0);
    CHECK_EQ(cio_signal_add(&c.sig, CIO_SIGTERM), 0);
    CHECK_EQ(cio_task_spawn(&loop, cancel_victim, &c, NULL, &c.victim), 0);
    spawn(&loop, canceller, &c);
    t_run(&loop, 10); /* ends: no wait is left to keep it */
    CHECK(c.done);
    CHECK_EQ(c.res_cancel, -CIO_ECANCELED);
    CHECK_EQ(c.res_scope, -CIO_ETIMEDOUT);
    /* Nothing was lost: a raise now is taken at once. */
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGTERM), 0);
    t_run(&loop, 10);
    CHECK_EQ(cio_signal_take(&c.sig, NULL), CIO_SIGTERM);
    CHECK_EQ(cio_signal_close(&c.sig), 0);
    finish(&loop);
}

/* ---- bad input ---- */

typedef struct busy_case {
    cio_signal sig, empty;
    int res_busy, res_empty, res_other, res_wait;
} busy_case;

static intptr_t busy_second(void *arg) {
    busy_case *c = arg;
    c->res_busy = cio_signal_wait(&c->sig, 0, NULL); /* the first waiter has it */
    c->res_empty = cio_signal_wait(&c->empty, 0, NULL);
    CHECK_EQ(cio_signal_raise(cio_task_loop(), CIO_SIGUSR1), 0);
    return 0;
}

static intptr_t busy_first(void *arg) {
    busy_case *c = arg;
    c->res_wait = cio_signal_wait(&c->sig, 0, NULL);
    return 0;
}

static void case_bad_input(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_signal s;
    CHECK_EQ(cio_signal_init(NULL, &loop), -CIO_EINVAL);
    CHECK_EQ(cio_signal_init(&s, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_signal_add(NULL, CIO_SIGINT), -CIO_EINVAL);
    CHECK_EQ(cio_signal_wait(NULL, 0, NULL), -CIO_EPERM); /* not in a task, first */
    CHECK_EQ(cio_signal_take(NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_signal_start(NULL, on_sig), -CIO_EINVAL);
    CHECK_EQ(cio_signal_stop(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_signal_close(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_signal_raise(NULL, CIO_SIGINT), -CIO_EINVAL);
    CHECK_EQ(cio_signal_raise(&loop, 0), -CIO_EINVAL);
    CHECK_EQ(cio_signal_raise(&loop, CIO_SIGINT), -CIO_ENOENT); /* no watcher at all */
    CHECK_EQ(cio_signal_init(&s, &loop), 0);
    CHECK_EQ(cio_signal_add(&s, 0), -CIO_EINVAL);
    CHECK_EQ(cio_signal_add(&s, -1), -CIO_EINVAL);
    CHECK_EQ(cio_signal_add(&s, CIO_SIGNAL_MAX), -CIO_EINVAL);
    CHECK_EQ(cio_signal_add(&s, CIO_SIGBREAK), t_on_windows() ? 0 : -CIO_EINVAL);
#if !defined(_WIN32)
    CHECK_EQ(cio_signal_add(&s, SIGKILL), -CIO_EINVAL);
    CHECK_EQ(cio_signal_add(&s, SIGSTOP), -CIO_EINVAL);
    CHECK_EQ(cio_signal_add(&s, SIGSEGV), -CIO_EINVAL);
#endif
    CHECK_EQ(cio_signal_remove(&s, CIO_SIGINT), -CIO_ENOENT);
    CHECK_EQ(cio_signal_remove(&s, 0), -CIO_EINVAL);
    CHECK_EQ(cio_signal_start(&s, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_signal_take(&s, NULL), -CIO_EAGAIN);
    CHECK_EQ(cio_signal_wait(&s, 0, NULL), -CIO_EPERM);
    CHECK_EQ(cio_signal_close(&s), 0);
    CHECK_EQ(cio_signal_close(&s), -CIO_EINVAL);
    CHECK_EQ(cio_signal_add(&s, CIO_SIGINT), -CIO_EINVAL);

    /* Tasks: one waiter per watcher; a watcher of nothing cannot be waited on. */
    busy_case c;
    memset(&c, 0, sizeof c);
    CHECK_EQ(cio_signal_init(&c.sig, &loop), 0);
    CHECK_EQ(cio_signal_init(&c.empty, &loop), 0);
    CHECK_EQ(cio_signal_add(&c.sig, CIO_SIGUSR1), 0);
    spawn(&loop, busy_first, &c);
    spawn(&loop, busy_second, &c);
    t_run(&loop, 10);
    CHECK_EQ(c.res_busy, -CIO_EBUSY);
    CHECK_EQ(c.res_empty, -CIO_EINVAL);
    CHECK_EQ(c.res_wait, CIO_SIGUSR1);
    CHECK_EQ(cio_signal_start(&c.sig, on_sig), 0);
    CHECK_EQ(cio_signal_stop(&c.sig), 0);
    CHECK_EQ(cio_signal_close(&c.sig), 0);
    CHECK_EQ(cio_signal_close(&c.empty), 0);
    finish(&loop);
}

/* The portable names against the system's own (the C runtime's on Windows). */
static void case_constants(void) {
    CHECK_EQ(CIO_SIGINT, SIGINT);
    CHECK_EQ(CIO_SIGTERM, SIGTERM);
#if defined(_WIN32)
    CHECK_EQ(CIO_SIGBREAK, SIGBREAK);
#else
    CHECK_EQ(CIO_SIGHUP, SIGHUP);
    CHECK_EQ(CIO_SIGQUIT, SIGQUIT);
    CHECK_EQ(CIO_SIGUSR1, SIGUSR1);
    CHECK_EQ(CIO_SIGUSR2, SIGUSR2);
    CHECK_EQ(CIO_SIGWINCH, SIGWINCH);
    CHECK_EQ(CIO_SIGBREAK, 0);
    CHECK(NSIG <= CIO_SIGNAL_MAX);
#endif
    int all[] = {CIO_SIGHUP, CIO_SIGINT, CIO_SIGQUIT, CIO_SIGUSR1, CIO_SIGUSR2, CIO_SIGTERM, CIO_SIGWINCH};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        CHECK(all[i] > 0 && all[i] < CIO_SIGNAL_MAX);
        for (size_t j = 0; j < i; j++) CHECK(all[i] != all[j]);
    }
}

int main(void) {
    case_constants();
    case_wait_counts();
    case_callback();
    case_two_watchers();
    case_keeps_loop();
    case_cancel();
    case_bad_input();
    if (getenv("CIO_BACKEND") && !strcmp(getenv("CIO_BACKEND"), "mock")) CHECK_EQ(cio_mock_violations(NULL), 0);
    printf("ok\n");
    return 0;
}
