/*
 * test_runtime - the thread-per-core runtime (cio/runtime.h): workers,
 * spawn, call, exec, counters, a worker that fails to start, and bad
 * input. The oracles: counts kept by the test itself in atomics (every
 * message seen exactly once, every task run once, on the worker it was
 * sent to, as the thread it runs on says), CLOCK_MONOTONIC for the
 * shutdown's grace time, and the threads' own identities.
 *
 * CIO_TEST_PORTABLE
 */
#include "test.h"

#define WORKERS 4
#define TASKS_PER_WORKER 10000
#define LIVE_CAP 6000 /* runtime tasks alive at once: two memory mappings per task stack */

/* ---- spawn, call, pick, self ---- */

static atomic_int ran_on[WORKERS];
static atomic_int wrong_thread;

static intptr_t note_worker(void *arg) {
    unsigned w = 99;
    cio_runtime *rt = cio_runtime_self(&w);
    if (!rt || w != (unsigned)(uintptr_t)arg || cio_task_loop() != cio_runtime_loop(rt, w))
        atomic_fetch_add(&wrong_thread, 1);
    if (w < WORKERS) atomic_fetch_add(&ran_on[w], 1);
    return 0;
}

static void note_call(cio_loop *loop, void *arg) {
    unsigned w = 99;
    cio_runtime *rt = cio_runtime_self(&w);
    if (!rt || w != (unsigned)(uintptr_t)arg || loop != cio_runtime_loop(rt, w) || cio_task_current())
        atomic_fetch_add(&wrong_thread, 1);
    if (w < WORKERS) atomic_fetch_add(&ran_on[w], 1);
}

/* Waits (bounded) until the runtime's tasks and calls are done. */
static void drain(cio_runtime *rt) {
    uint64_t end = t_now_ns() + 60ull * CIO_NS_PER_SEC;
    cio_worker_stats s;
    for (;;) {
        CHECK_EQ(cio_runtime_stats(rt, &s), 0);
        if (s.load == 0) return;
        CHECK(t_now_ns() < end);
        t_sleep_ms(1);
    }
}

static void test_spawn_call(void) {
    cio_runtime *rt;
    cio_runtime_options o = {.workers = WORKERS};
    CHECK_EQ(cio_runtime_start(&o, &rt), 0);
    CHECK_EQ(cio_runtime_workers(rt), WORKERS);
    CHECK(cio_runtime_self(NULL) == NULL); /* not a worker */
    for (int i = 0; i < WORKERS; i++) {
        CHECK_EQ(cio_runtime_worker_status(rt, (unsigned)i), 0);
        CHECK(cio_runtime_loop(rt, (unsigned)i) != NULL);
        atomic_store(&ran_on[i], 0);
    }
    /* By index: each lands where it was sent. */
    for (int i = 0; i < 40; i++) {
        int w = i % WORKERS;
        CHECK_EQ(cio_runtime_spawn(rt, w, note_worker, (void *)(uintptr_t)w, NULL), w);
        CHECK_EQ(cio_runtime_call(rt, w, note_call, (void *)(uintptr_t)w), w);
    }
    drain(rt);
    for (int i = 0; i < WORKERS; i++) CHECK_EQ(atomic_load(&ran_on[i]), 20);
    CHECK_EQ(atomic_load(&wrong_thread), 0);
    /* Round robin: as many on each. */
    int seen[WORKERS] = {0};
    for (int i = 0; i < 4 * WORKERS; i++) {
        int w = cio_runtime_pick(rt, CIO_WORKER_NEXT);
        CHECK(w >= 0 && w < WORKERS);
        seen[w]++;
    }
    for (int i = 0; i < WORKERS; i++) CHECK_EQ(seen[i], 4);
    /* Least loaded with nothing running: the lowest index. */
    CHECK_EQ(cio_runtime_pick(rt, CIO_WORKER_LEAST), 0);
    cio_worker_stats s;
    CHECK_EQ(cio_runtime_stats(rt, &s), 0);
    CHECK_EQ(s.tasks_spawned, 40);
    CHECK_EQ(s.calls, 40);
    CHECK_EQ(s.load, 0);
    cio_runtime_report rep;
    CHECK_EQ(cio_runtime_shutdown(rt, 0, &rep, NULL), 0);
    CHECK_EQ(rep.tasks_cancelled, 0);
    CHECK_EQ(rep.total.tasks_spawned, 40);
}

/* ---- 4 workers x 10,000 tasks exchanging messages ----
 *
 * Each worker has a sink task (started by on_start) that receives
 * messages on a cio_xchan and answers each on the sender's own channel.
 * Each task sends its id to the next worker's sink and waits for the
 * answer. Oracles: the sink counts each id it saw; the task checks the
 * answer names its id and the sink's worker. */

typedef struct exchange {
    cio_xmsg out, back;
    cio_xchan reply; /* on the task's own loop */
    uint32_t id;
    unsigned answered_by;
} exchange;

static cio_xchan sinks[WORKERS];
static atomic_int sink_ready;
static atomic_uchar seen_ids[WORKERS * TASKS_PER_WORKER];
static atomic_int exchanged, bad_answers;

static intptr_t sink_main(void *arg) {
    unsigned w = (unsigned)(uintptr_t)arg;
    cio_xmsg *m;
    int r;
    while ((r = cio_xchan_recv(&sinks[w], &m)) == 0) {
        exchange *x = m->data;
        atomic_fetch_add(&seen_ids[x->id], 1);
        x->answered_by = w;
        x->back.data = x;
        CHECK_EQ(cio_xchan_send(&x->reply, &x->back), 0);
    }
    return r;
}

static void start_sink(cio_runtime *rt, unsigned w, cio_loop *loop, void *arg) {
    (void)arg;
    CHECK_EQ(cio_xchan_init(&sinks[w], loop), 0);
    CHECK_EQ(cio_runtime_spawn(rt, (int)w, sink_main, (void *)(uintptr_t)w, NULL), (int)w);
    atomic_fetch_add(&sink_ready, 1);
}

static intptr_t exchanger(void *arg) {
    uint32_t id = (uint32_t)(uintptr_t)arg;
    unsigned me;
    cio_runtime_self(&me);
    unsigned to = (me + 1) % WORKERS;
    exchange x;
    memset(&x, 0, sizeof x);
    x.id = id;
    x.out.data = &x;
    CHECK_EQ(cio_xchan_init(&x.reply, cio_task_loop()), 0);
    CHECK_EQ(cio_xchan_send(&sinks[to], &x.out), 0);
    cio_xmsg *m;
    CHECK_EQ(cio_xchan_recv(&x.reply, &m), 0);
    if (m != &x.back || x.answered_by != to) atomic_fetch_add(&bad_answers, 1);
    atomic_fetch_add(&exchanged, 1);
    return 0;
}

static void test_exchange(void) {
    cio_runtime *rt;
    cio_runtime_options o = {.workers = WORKERS, .on_start = start_sink};
    CHECK_EQ(cio_runtime_start(&o, &rt), 0);
    CHECK_EQ(atomic_load(&sink_ready), WORKERS);
    uint64_t end = t_now_ns() + 120ull * CIO_NS_PER_SEC;
    for (uint32_t id = 0; id < WORKERS * TASKS_PER_WORKER; id++) {
        for (;;) { /* keep the live stacks under the system's mapping limit */
            cio_worker_stats s;
            CHECK_EQ(cio_runtime_stats(rt, &s), 0);
            if (s.load < LIVE_CAP) break;
            CHECK(t_now_ns() < end);
            t_sleep_ms(1);
        }
        int w = (int)(id % WORKERS);
        CHECK_EQ(cio_runtime_spawn(rt, w, exchanger, (void *)(uintptr_t)id, NULL), w);
    }
    while (atomic_load(&exchanged) < WORKERS * TASKS_PER_WORKER) {
        CHECK(t_now_ns() < end);
        t_sleep_ms(1);
    }
    CHECK_EQ(atomic_load(&bad_answers), 0);
    for (uint32_t id = 0; id < WORKERS * TASKS_PER_WORKER; id++) CHECK_EQ(atomic_load(&seen_ids[id]), 1);
    cio_worker_stats per[WORKERS];
    for (unsigned i = 0; i < WORKERS; i++) {
        CHECK_EQ(cio_runtime_worker_stats(rt, i, &per[i]), 0);
        CHECK_EQ(per[i].status, 0);
        CHECK(per[i].loop.turns > 0);
    }
    /* The sinks are still blocked: the shutdown cancels exactly them. */
    uint64_t t0 = t_now_ns();
    cio_runtime_report rep;
    cio_worker_stats final[WORKERS];
    CHECK_EQ(cio_runtime_shutdown(rt, 50 * CIO_NS_PER_MS, &rep, final), 0);
    CHECK(t_now_ns() - t0 >= 50 * CIO_NS_PER_MS); /* the grace time was given */
    for (unsigned i = 0; i < WORKERS; i++) CHECK_EQ(final[i].tasks_cancelled, 1); /* each worker's sink */
    CHECK_EQ(rep.tasks_cancelled, WORKERS);
    CHECK_EQ(rep.tasks_finished, 0);
    CHECK_EQ(rep.total.tasks_spawned, WORKERS * TASKS_PER_WORKER + WORKERS);
    CHECK_EQ(rep.total.tasks_cancelled, WORKERS);
    CHECK_EQ(rep.total.load, 0);
    for (unsigned i = 0; i < WORKERS; i++) CHECK_EQ(per[i].tasks_spawned >= TASKS_PER_WORKER, 1);
}

/* ---- exec ---- */

static intptr_t times_three(void *arg) {
    cio_sleep(CIO_NS_PER_MS);
    return 3 * (intptr_t)arg;
}

static atomic_int remote_cancelled;

static intptr_t sleep_long(void *arg) {
    (void)arg;
    int r = cio_sleep(60ull * CIO_NS_PER_SEC);
    if (r == -CIO_ECANCELED) atomic_fetch_add(&remote_cancelled, 1);
    return 77;
}

typedef struct exec_case {
    cio_runtime *rt;
    int results_ok;
    int cancel_result;
    intptr_t cancel_value;
    int deadline_result;
} exec_case;

static intptr_t exec_from_task(void *arg) {
    exec_case *c = arg;
    intptr_t v = 0;
    unsigned me;
    cio_runtime_self(&me);
    int other = (int)((me + 1) % WORKERS);
    c->results_ok = cio_runtime_exec(c->rt, other, times_three, (void *)(intptr_t)14, &v) == 0 && v == 42;
    /* To itself works too. */
    c->results_ok &= cio_runtime_exec(c->rt, (int)me, times_three, (void *)(intptr_t)5, &v) == 0 && v == 15;
    /* A deadline scope passes: the remote task is cancelled and waited for. */
    uint64_t prev = cio_deadline_push_after(20 * CIO_NS_PER_MS);
    v = 0;
    c->deadline_result = cio_runtime_exec(c->rt, other, sleep_long, NULL, &v);
    cio_deadline_pop(prev);
    c->results_ok &= v == 77;
    return 0;
}

static intptr_t exec_then_cancelled(void *arg) {
    exec_case *c = arg;
    unsigned me;
    cio_runtime_self(&me);
    c->cancel_value = 0;
    c->cancel_result = cio_runtime_exec(c->rt, (int)((me + 1) % WORKERS), sleep_long, NULL, &c->cancel_value);
    return 0;
}

static intptr_t canceller(void *arg) {
    exec_case *c = arg;
    cio_task *t;
    CHECK_EQ(cio_task_spawn(cio_task_loop(), exec_then_cancelled, c, NULL, &t), 0);
    cio_sleep(20 * CIO_NS_PER_MS);
    CHECK_EQ(cio_task_cancel(t), 0);
    CHECK_EQ(cio_task_join(t, NULL), 0);
    return 0;
}

static atomic_int deadlk_seen;

static void exec_in_callback(cio_loop *loop, void *arg) {
    (void)loop;
    if (cio_runtime_exec(arg, 0, times_three, NULL, NULL) == -CIO_EDEADLK) atomic_fetch_add(&deadlk_seen, 1);
    if (cio_runtime_shutdown(arg, 0, NULL, NULL) == -CIO_EDEADLK) atomic_fetch_add(&deadlk_seen, 1);
}

static void test_exec(void) {
    cio_runtime *rt;
    cio_runtime_options o = {.workers = WORKERS};
    CHECK_EQ(cio_runtime_start(&o, &rt), 0);
    intptr_t v = 0;
    /* From a plain thread. */
    CHECK_EQ(cio_runtime_exec(rt, 2, times_three, (void *)(intptr_t)7, &v), 0);
    CHECK_EQ(v, 21);
    exec_case c = {.rt = rt};
    CHECK_EQ(cio_runtime_exec(rt, 1, exec_from_task, &c, NULL), 0);
    CHECK_EQ(c.results_ok, 1);
    CHECK_EQ(c.deadline_result, -CIO_ETIMEDOUT);
    atomic_store(&remote_cancelled, 0);
    CHECK_EQ(cio_runtime_exec(rt, 0, canceller, &c, NULL), 0);
    CHECK_EQ(c.cancel_result, -CIO_ECANCELED);
    CHECK_EQ(c.cancel_value, 77); /* the remote task returned before the call did */
    CHECK_EQ(atomic_load(&remote_cancelled), 1);
    CHECK_EQ(cio_runtime_call(rt, 3, exec_in_callback, rt), 3);
    drain(rt);
    CHECK_EQ(atomic_load(&deadlk_seen), 2);
    CHECK_EQ(cio_runtime_shutdown(rt, 0, NULL, NULL), 0);
}

/* ---- a worker whose loop fails to start ---- */

static void test_failed_worker(void) {
    cio_loop_options bad = {0};
    bad.reserved_[0] = 1; /* refused by cio_loop_init on every backend */
    const cio_loop_options *per[WORKERS] = {NULL, NULL, &bad, NULL};
    cio_runtime_options o = {.workers = WORKERS, .worker_loops = per};
    cio_runtime *rt;
    CHECK_EQ(cio_runtime_start(&o, &rt), 0);
    CHECK_EQ(cio_runtime_worker_status(rt, 2), -CIO_EINVAL);
    CHECK(cio_runtime_loop(rt, 2) == NULL);
    CHECK_EQ(cio_runtime_spawn(rt, 2, note_worker, (void *)2, NULL), -CIO_ESRCH);
    CHECK_EQ(cio_runtime_pick(rt, 2), -CIO_ESRCH);
    for (int i = 0; i < 3 * WORKERS; i++) CHECK(cio_runtime_pick(rt, CIO_WORKER_NEXT) != 2);
    for (int i = 0; i < WORKERS; i++) atomic_store(&ran_on[i], 0);
    for (int i = 0; i < 30; i++) {
        int w = cio_runtime_spawn(rt, CIO_WORKER_NEXT, note_worker, NULL, NULL);
        CHECK(w >= 0 && w != 2);
    }
    drain(rt);
    CHECK_EQ(atomic_load(&ran_on[0]) + atomic_load(&ran_on[1]) + atomic_load(&ran_on[3]), 30);
    CHECK_EQ(atomic_load(&ran_on[2]), 0);
    intptr_t v;
    CHECK_EQ(cio_runtime_exec(rt, 3, times_three, (void *)(intptr_t)2, &v), 0);
    CHECK_EQ(v, 6);
    cio_worker_stats s;
    CHECK_EQ(cio_runtime_worker_stats(rt, 2, &s), 0);
    CHECK_EQ(s.status, -CIO_EINVAL);
    CHECK_EQ(cio_runtime_shutdown(rt, 0, NULL, NULL), 0);
    /* All of them failing: no runtime, the error. */
    const cio_loop_options *all_bad[2] = {&bad, &bad};
    cio_runtime_options o2 = {.workers = 2, .worker_loops = all_bad};
    rt = (cio_runtime *)&o2;
    CHECK_EQ(cio_runtime_start(&o2, &rt), -CIO_EINVAL);
    CHECK(rt == NULL);
}

/* ---- pinning, bad input, refusal after shutdown began ---- */

/* Where the system pins threads (Linux, Windows): the CPU the thread runs on. */
#if defined(_WIN32)
#define HAVE_PIN 1
static intptr_t report_cpu(void *arg) {
    (void)arg;
    return (intptr_t)GetCurrentProcessorNumber();
}
#elif defined(__linux__) && !defined(CIO_POSIX_ONLY)
#define HAVE_PIN 1
static intptr_t report_cpu(void *arg) {
    (void)arg;
    return sched_getcpu();
}
#endif

static void test_pin_and_bad_input(void) {
    cio_runtime *rt;
    cio_runtime_options o = {.workers = 2, .pin = true};
    CHECK_EQ(cio_runtime_start(&o, &rt), 0);
    for (unsigned i = 0; i < 2; i++) {
        cio_worker_stats s;
        CHECK_EQ(cio_runtime_worker_stats(rt, i, &s), 0);
#if defined(HAVE_PIN)
        CHECK(s.cpu >= 0);
        intptr_t cpu = -2;
        CHECK_EQ(cio_runtime_exec(rt, (int)i, report_cpu, NULL, &cpu), 0);
        CHECK_EQ(cpu, s.cpu); /* the thread runs where the counters say it is pinned */
#endif
    }
    CHECK_EQ(cio_runtime_spawn(NULL, 0, note_worker, NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_runtime_spawn(rt, 0, NULL, NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_runtime_spawn(rt, 2, note_worker, NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_runtime_spawn(rt, -7, note_worker, NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_runtime_call(rt, 0, NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_runtime_exec(rt, 0, NULL, NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_runtime_pick(NULL, 0), -CIO_EINVAL);
    CHECK_EQ(cio_runtime_worker_status(rt, 5), -CIO_EINVAL);
    CHECK_EQ(cio_runtime_worker_stats(rt, 5, &(cio_worker_stats){0}), -CIO_EINVAL);
    CHECK_EQ(cio_runtime_stats(rt, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_runtime_serve(rt, "not an address", NULL, NULL, NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_runtime_shutdown(NULL, 0, NULL, NULL), -CIO_EINVAL);
    CHECK(!cio_runtime_stopping(rt));
    CHECK_EQ(cio_runtime_shutdown(rt, 0, NULL, NULL), 0);
    cio_runtime_options bad = {.workers = CIO_RUNTIME_MAX_WORKERS + 1};
    CHECK_EQ(cio_runtime_start(&bad, &rt), -CIO_EINVAL);
    cio_runtime_options bad2 = {0};
    bad2.reserved_[1] = 3;
    CHECK_EQ(cio_runtime_start(&bad2, &rt), -CIO_EINVAL);
    CHECK_EQ(cio_runtime_start(NULL, NULL), -CIO_EINVAL);
}

/* Work sent while the shutdown runs is refused or done, never lost. From
 * outside the workers it is refused as soon as the shutdown begins; the
 * runtime's own tasks may still hand work on during the grace time (a
 * request finishing), and are refused from the cancel on. Oracle: every
 * call that returned a worker's index ran its task exactly once. */
static atomic_int late_ran, spam_accepted, spam_other, outside_accepted, outside_refused;
static cio_xchan holder_ch;
static cio_xmsg holder_msg;

static intptr_t late_task(void *arg) {
    (void)arg;
    atomic_fetch_add(&late_ran, 1);
    return 0;
}

/* Whether the runtime has more than enough queued: senders wait then, as
 * cio_runtime_spawn asks (nothing throttles it). */
static int flooded(cio_runtime *rt) {
    cio_worker_stats s;
    return cio_runtime_stats(rt, &s) == 0 && s.load > 2000;
}

/* A runtime task that keeps spawning until it is refused or cancelled. */
static intptr_t spammer(void *arg) {
    cio_runtime *rt = arg;
    for (;;) {
        int r = cio_runtime_spawn(rt, CIO_WORKER_NEXT, late_task, NULL, NULL);
        if (r == -CIO_ECANCELED) break;
        if (r < 0) {
            atomic_fetch_add(&spam_other, 1);
            break;
        }
        atomic_fetch_add(&spam_accepted, 1);
        while (flooded(rt))
            if (cio_sleep(CIO_NS_PER_MS) < 0) return 0; /* cancelled */
    }
    return 0;
}

/* Holds the shutdown in its grace time until the outside spammer has been
 * refused, so that no call of that thread can start after the shutdown
 * returned. */
static intptr_t holder(void *arg) {
    (void)arg;
    cio_xmsg *m;
    return cio_xchan_recv(&holder_ch, &m);
}

static void *outside_spammer(void *arg) {
    cio_runtime *rt = arg;
    for (;;) {
        int r = cio_runtime_spawn(rt, CIO_WORKER_NEXT, late_task, NULL, NULL);
        if (r == -CIO_ECANCELED) break;
        CHECK(r >= 0);
        atomic_fetch_add(&outside_accepted, 1);
        while (flooded(rt)) t_sleep_ms(1);
    }
    atomic_fetch_add(&outside_refused, 1);
    CHECK_EQ(cio_xchan_send(&holder_ch, &holder_msg), 0); /* lets the shutdown go on */
    return NULL;
}

static void holder_setup(cio_loop *loop, void *arg) {
    (void)arg;
    CHECK_EQ(cio_xchan_init(&holder_ch, loop), 0);
}

static void test_refused_during_shutdown(void) {
    cio_runtime *rt;
    cio_runtime_options o = {.workers = 2};
    CHECK_EQ(cio_runtime_start(&o, &rt), 0);
    CHECK_EQ(cio_runtime_call(rt, 1, holder_setup, NULL), 1);
    drain(rt);
    CHECK_EQ(cio_runtime_spawn(rt, 1, holder, NULL, NULL), 1);
    CHECK_EQ(cio_runtime_spawn(rt, 0, spammer, rt, NULL), 0);
    t_thread th;
    CHECK_EQ(t_thread_start(&th, outside_spammer, rt), 0);
    uint64_t end = t_now_ns() + 60ull * CIO_NS_PER_SEC;
    while (atomic_load(&spam_accepted) < 1000 || atomic_load(&outside_accepted) < 1000) {
        CHECK(t_now_ns() < end);
        t_sleep_ms(1);
    }
    cio_runtime_report rep;
    CHECK_EQ(cio_runtime_shutdown(rt, 200 * CIO_NS_PER_MS, &rep, NULL), 0);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(atomic_load(&outside_refused), 1);
    CHECK_EQ(atomic_load(&spam_other), 0);
    int accepted = atomic_load(&spam_accepted) + atomic_load(&outside_accepted);
    CHECK_EQ(rep.total.spawn_failures, 0);
    CHECK_EQ(atomic_load(&late_ran), accepted);
    CHECK_EQ(rep.total.tasks_spawned, (uint64_t)accepted + 2); /* and the spammer and the holder */
    CHECK(rep.tasks_cancelled <= 1);                           /* the spammer, if still spawning */
    CHECK_EQ(rep.total.load, 0);
}

/* ---- the shutdown from a task of another loop, while a task of that loop
 * waits in cio_runtime_exec (regression: the shutdown waited for that call,
 * which could not end while the thread was blocked in the shutdown) ---- */

static cio_runtime *outer_rt;
static int outer_exec_result = 99;
static intptr_t outer_value;

static intptr_t slow_answer(void *arg) {
    (void)arg;
    cio_sleep(100 * CIO_NS_PER_MS);
    return 42;
}

static intptr_t outer_waiter(void *arg) {
    (void)arg;
    outer_exec_result = cio_runtime_exec(outer_rt, 0, slow_answer, NULL, &outer_value);
    return 0;
}

static intptr_t outer_main(void *arg) {
    (void)arg;
    cio_runtime_options o = {.workers = 2};
    CHECK_EQ(cio_runtime_start(&o, &outer_rt), 0);
    cio_task *t;
    CHECK_EQ(cio_task_spawn(cio_task_loop(), outer_waiter, NULL, NULL, &t), 0);
    cio_sleep(20 * CIO_NS_PER_MS); /* the exec is under way */
    cio_runtime_report rep;
    CHECK_EQ(cio_runtime_shutdown(outer_rt, 5 * CIO_NS_PER_SEC, &rep, NULL), 0); /* blocks this thread */
    CHECK_EQ(rep.tasks_finished, 1);
    CHECK_EQ(cio_task_join(t, NULL), 0); /* the exec ends on live memory */
    return 0;
}

static void test_shutdown_from_task(void) {
    CHECK_EQ(cio_main(outer_main, NULL, NULL, NULL), 0);
    CHECK_EQ(outer_exec_result, 0);
    CHECK_EQ(outer_value, 42);
}

/* ---- exec from short-lived loops (regression: the worker's answer woke
 * the waiter's loop after the waiter could have taken it, returned and
 * closed its loop; ASan saw the wake on freed memory) ---- */

static intptr_t seven(void *arg) {
    (void)arg;
    return 7;
}

typedef struct brief_loop {
    cio_runtime *rt;
    int done;
} brief_loop;

static intptr_t brief_waiter(void *arg) {
    brief_loop *b = arg;
    intptr_t v = 0;
    CHECK_EQ(cio_runtime_exec(b->rt, CIO_WORKER_NEXT, seven, NULL, &v), 0);
    CHECK_EQ(v, 7);
    b->done = 1;
    return 0;
}

static intptr_t brief_spinner(void *arg) { /* keeps the loop turning, so it takes the answer at once */
    brief_loop *b = arg;
    while (!b->done) cio_task_yield();
    return 0;
}

static void test_exec_from_brief_loops(void) {
    cio_runtime *rt;
    cio_runtime_options o = {.workers = 2};
    CHECK_EQ(cio_runtime_start(&o, &rt), 0);
    for (int i = 0; i < 300; i++) {
        cio_loop *loop = malloc(sizeof *loop);
        CHECK(loop != NULL);
        t_loop_init(loop, 0);
        brief_loop b = {rt, 0};
        CHECK_EQ(cio_task_spawn(loop, brief_waiter, &b, &(cio_task_options){.detached = true}, NULL), 0);
        CHECK_EQ(cio_task_spawn(loop, brief_spinner, &b, &(cio_task_options){.detached = true}, NULL), 0);
        uint64_t end = t_now_ns() + 30ull * CIO_NS_PER_SEC;
        while (!b.done) {
            CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
            CHECK(t_now_ns() < end);
        }
        t_close(loop);
        memset(loop, 0xA5, sizeof *loop);
        free(loop);
    }
    CHECK_EQ(cio_runtime_shutdown(rt, 0, NULL, NULL), 0);
}

int main(void) {
    t_watchdog();
    test_shutdown_from_task();
    test_exec_from_brief_loops();
    test_spawn_call();
    test_exec();
    test_failed_worker();
    test_pin_and_bad_input();
    test_refused_during_shutdown();
    test_exchange();
    printf("runtime: ok\n");
    return 0;
}
