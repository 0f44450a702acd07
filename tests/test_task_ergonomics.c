/*
 * test_task_ergonomics - relative deadlines (cio_deadline_push_after),
 * cio_main_ex() with the main task's stack size and name, and what keeps
 * cio_loop_run(CIO_RUN_DEFAULT) going (cio/loop.h, cio/task.h): active
 * ops do; posts, hooks and a task blocked on a sync primitive without a
 * deadline do not.
 *
 * Oracles: CLOCK_MONOTONIC on the real backends (the mock's virtual clock
 * there, where real time stands still), completion and delivery counts,
 * and cio_loop_active() against the ops the test knows it submitted.
 *
 * CIO_TEST_PORTABLE CIO_TEST_SEEDS
 */
#include "test.h"

#include "cio.h"

#define MS 1000000ull

static bool on_mock(void) { return cio_loop_backend(cio_task_loop()) == CIO_BACKEND_MOCK; }
static uint64_t clock_ns(void) { return on_mock() ? cio_now(cio_task_loop()) : t_now_ns(); }

/* ---- relative deadlines ---- */

static intptr_t deadlines(void *arg) {
    (void)arg;
    uint64_t t0 = clock_ns();
    uint64_t prev = cio_deadline_push_after(50 * MS);
    CHECK_EQ(prev, 0);
    CHECK_EQ(cio_sleep(10000 * MS), -CIO_ETIMEDOUT);
    CHECK(clock_ns() - t0 >= 45 * MS);
    /* Nested: a looser relative deadline never loosens the scope. */
    uint64_t inner = cio_deadline_push_after(10000 * MS);
    CHECK_EQ(cio_sleep(1 * MS), -CIO_ETIMEDOUT);
    cio_deadline_pop(inner);
    cio_deadline_pop(prev);
    CHECK_EQ(cio_sleep(1 * MS), 0);

    /* 0: passed already. */
    prev = cio_deadline_push_after(0);
    CHECK_EQ(cio_sleep(1000 * MS), -CIO_ETIMEDOUT);
    cio_deadline_pop(prev);

    /* A huge one is no deadline that fires. */
    prev = cio_deadline_push_after(UINT64_MAX);
    CHECK_EQ(cio_sleep(1 * MS), 0);
    cio_deadline_pop(prev);

    /* A sync wait under a relative scope. */
    cio_event ev;
    cio_event_init(&ev, false);
    t0 = clock_ns();
    prev = cio_deadline_push_after(30 * MS);
    CHECK_EQ(cio_event_wait(&ev), -CIO_ETIMEDOUT);
    cio_deadline_pop(prev);
    CHECK(clock_ns() - t0 >= 27 * MS);

    if (!on_mock()) {
        /* It counts from now, not from the loop's cached time: after 100 ms
         * of computing without blocking, the cache is 100 ms old, and a
         * deadline counted from it would have passed before the sleep. */
        uint64_t spin = t_now_ns();
        while (t_now_ns() - spin < 100 * MS) {
        }
        t0 = t_now_ns();
        prev = cio_deadline_push_after(60 * MS);
        CHECK_EQ(cio_sleep(10000 * MS), -CIO_ETIMEDOUT);
        cio_deadline_pop(prev);
        uint64_t waited = t_now_ns() - t0;
        CHECK(waited >= 55 * MS);
        printf("relative deadline after 100 ms of computing: waited %.1f ms\n", (double)waited / 1e6);
    }
    printf("relative deadlines: ok\n");
    return 0;
}

/* ---- cio_main_ex ---- */

/* Touches `kib` KiB of its own frame, from the top down, page by page:
 * past the default 256 KiB stack this would hit the guard. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static unsigned deep(volatile unsigned char *buf, size_t n) {
    for (size_t i = n; i > 0; i -= 1024) buf[i - 1] = (unsigned char)i;
    unsigned s = 0;
    for (size_t i = n; i > 0; i -= 1024) s += buf[i - 1];
    return s;
}

static intptr_t big_stack(void *arg) {
    (void)arg;
    volatile unsigned char buf[1536 * 1024];
    return (intptr_t)deep(buf, sizeof buf);
}

static intptr_t returns_arg(void *arg) { return (intptr_t)arg; }

static void main_options(void) {
    cio_main_options o = {.stack_size = 4096 * 1024, .name = "roomy"};
    intptr_t res = -1;
    CHECK_EQ(cio_main_ex(big_stack, NULL, &o, &res), 0);
    unsigned want = 0;
    for (size_t i = 1536 * 1024; i > 0; i -= 1024) want += (unsigned char)i;
    CHECK_EQ(res, want);
    /* NULL options: cio_main's defaults. */
    CHECK_EQ(cio_main_ex(returns_arg, (void *)(intptr_t)5, NULL, &res), 0);
    CHECK_EQ(res, 5);
    cio_main_options bad = {0};
    bad.reserved_[3] = 1;
    CHECK_EQ(cio_main_ex(returns_arg, NULL, &bad, &res), -CIO_EINVAL);
    CHECK_EQ(cio_main_ex(NULL, NULL, &o, &res), -CIO_EINVAL);
    /* Loop options pass through: a bad one is the loop's -CIO_EINVAL. */
    cio_loop_options lo = {0};
    lo.flags = 0x80000000u;
    cio_main_options withloop = {.loop = &lo};
    CHECK_EQ(cio_main_ex(returns_arg, NULL, &withloop, &res), -CIO_EINVAL);
    printf("cio_main_ex: a 1.5 MiB frame on a 4 MiB main stack\n");
}

#if !defined(_WIN32)
/* The name reaches the overflow report (in a child, which dies of it). */
/* Frames of 4 KiB, far smaller than the guard, which they reach page by page. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static unsigned recurse(unsigned depth) {
    volatile unsigned char frame[4096];
    frame[0] = (unsigned char)depth;
    frame[4095] = (unsigned char)depth;
    if (depth == 0) return frame[0];
    return recurse(depth - 1) + frame[4095];
}
static intptr_t overflow(void *arg) { return (intptr_t)recurse(1000) + (intptr_t)arg; }
static void overflow_child(void *arg) {
    (void)arg;
    cio_main_options o = {.stack_size = 64 * 1024, .name = "named-main"};
    cio_main_ex(overflow, NULL, &o, NULL);
}
static void main_name(void) {
    char msg[1024];
    int status = t_fork_capture(overflow_child, NULL, 2, msg, sizeof msg);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(msg, "'named-main'"))) {
        fprintf(stderr, "child's status %d, stderr:\n%s\n", status, msg);
        exit(1);
    }
    printf("cio_main_ex: the overflow report names 'named-main'\n");
}
#endif

/* ---- what keeps cio_loop_run going ---- */

static cio_event ev;
static int woke = 99, timed = 99;
static bool blocked_started;

static intptr_t waits_plain(void *arg) {
    (void)arg;
    blocked_started = true;
    woke = cio_event_wait(&ev);
    return 0;
}

static intptr_t waits_until(void *arg) {
    cio_loop *loop = arg;
    timed = cio_event_wait_until(&ev, cio_now(loop) + 50 * MS);
    return 0;
}

static int delivered, hooked;
static void on_post(cio_loop *loop, cio_op *op) {
    (void)loop;
    (void)op;
    delivered++;
}
static void on_hook(cio_loop *loop, cio_op *op) {
    (void)loop;
    CHECK_EQ(op->res, 0);
    hooked++;
}

static void keepalive(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    bool mock = cio_loop_backend(&loop) == CIO_BACKEND_MOCK;
    cio_event_init(&ev, false);

    /* A task that has not run yet: its start is an op. */
    cio_task *t;
    CHECK_EQ(cio_task_spawn(&loop, waits_plain, NULL, NULL, &t), 0);
    CHECK_EQ(cio_loop_active(&loop), 1);
    /* It runs, then blocks without a deadline: nothing active, run returns. */
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_DEFAULT), 0);
    CHECK(blocked_started);
    CHECK_EQ(woke, 99);
    CHECK_EQ(cio_loop_active(&loop), 0);
    /* ONCE does not wait either with nothing active. */
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_ONCE), 0);
    CHECK_EQ(woke, 99);
    /* A wake from outside a task is an op again; the task ends. */
    cio_event_set(&ev);
    CHECK_EQ(cio_loop_active(&loop), 1);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(woke, 0);

    /* A wait with a deadline is a timer: run goes on until it fires. */
    cio_event_reset(&ev);
    cio_task *t2;
    CHECK_EQ(cio_task_spawn(&loop, waits_until, &loop, NULL, &t2), 0);
    uint64_t t0 = t_now_ns(), v0 = cio_now(&loop);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(timed, -CIO_ETIMEDOUT);
    if (mock)
        CHECK(cio_loop_update_now(&loop) - v0 >= 50 * MS);
    else
        CHECK(t_now_ns() - t0 >= 45 * MS);

    /* A post does not count; one queued before the run is delivered, once. */
    cio_op msg;
    cio_prep_nop(&msg);
    msg.cb = on_post;
    CHECK_EQ(cio_loop_post(&loop, &msg), 0);
    CHECK_EQ(cio_loop_active(&loop), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(delivered, 1);

    /* A hook does not count, and runs only at the close. */
    cio_op hook;
    cio_prep_nop(&hook);
    hook.cb = on_hook;
    CHECK_EQ(cio_loop_at_close(&loop, &hook), 0);
    CHECK_EQ(cio_loop_active(&loop), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(hooked, 0);

    /* A plain timer does count: run waits for it. */
    t_op tm;
    cio_prep_timeout(&tm.op, 20 * MS, 0);
    t_arm(&tm);
    CHECK_EQ(cio_submit(&loop, &tm.op), 0);
    CHECK_EQ(cio_loop_active(&loop), 1);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(tm.finals, 1);

    /* The two tasks returned; the close releases them unjoined. */
    (void)t;
    (void)t2;
    t_close(&loop);
    CHECK_EQ(hooked, 1);
    printf("keep-alive: ops count; a plain wait, posts and hooks do not\n");
}

int main(void) {
    t_watchdog();
    intptr_t res = -1;
    CHECK_EQ(cio_main(deadlines, NULL, NULL, &res), 0);
    CHECK_EQ(res, 0);
    CHECK_EQ(cio_deadline_push_after(5), 0); /* outside a task: nothing */
    main_options();
#if !defined(_WIN32)
    const char *be = getenv("CIO_BACKEND");
    if (!be || strcmp(be, "mock") != 0) main_name();
#endif
    keepalive();
    printf("ok\n");
    return 0;
}
