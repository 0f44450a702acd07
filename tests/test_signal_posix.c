/*
 * test_signal_posix: real signals into cio/signal.h watchers. The oracle
 * is the number of signals sent with kill(getpid()) or raise() from other
 * threads, each acknowledged before the next is sent (the kernel merges a
 * standard signal sent twice while pending, so unacknowledged ones may
 * count once). Checked: every delivery is counted exactly once for every
 * watcher of every loop (two loops on two threads), other signals'
 * handlers and the thread's mask stay untouched, the earlier disposition
 * comes back after the last watcher (and an earlier handler is chained),
 * a signal the program blocked is read through signalfd (Linux), a task of
 * cio_main waiting for SIGINT is not taken for a deadlock, and the
 * SIGINT/SIGTERM shutdown of the header's top comment works.
 *
 * CIO_TEST_NOT_ON_WINDOWS: POSIX signals (kill, sigaction, signalfd); console events: test_signal_console.c
 */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

static bool is_mock(void) {
    const char *b = getenv("CIO_BACKEND");
    return b && !strcmp(b, "mock");
}

/* Waits (bounded) until `*v` reaches `want`. */
static void await_at_least(_Atomic int *v, int want, const char *what) {
    for (int i = 0; i < 10000 && atomic_load(v) < want; i++) t_sleep_ms(1);
    if (atomic_load(v) < want) {
        fprintf(stderr, "%s: %d of %d after 10 s\n", what, atomic_load(v), want);
        exit(1);
    }
}

/* ThreadSanitizer as shipped with clang 14 makes a thread's signal state
 * the first time the thread needs it, and a signal that arrives while it
 * does so is lost: the handler never runs, and the kernel has nothing
 * pending (a 25-line program without cio loses 1 run in 5 its first
 * kill(getpid()) from a new thread while the main thread enters poll;
 * later LLVM releases make that step reentrant). So every thread that may
 * take the sends below first passes through one of TSan's sleep
 * interceptors, which makes the state. Without TSan this costs a
 * millisecond. */
static void make_signal_state(void) { t_sleep_ms(1); }

/* ---- a callback watcher on a loop, counting ---- */

typedef struct counter {
    cio_signal sig;
    _Atomic int total; /* deliveries reported, counts summed */
    _Atomic int calls;
    int last_signo;
} counter;

static void count_cb(cio_signal *s, int signo, uint32_t count) {
    counter *c = s->data;
    CHECK(signo > 0);
    CHECK(count >= 1);
    c->last_signo = signo;
    atomic_fetch_add(&c->total, (int)count);
    atomic_fetch_add(&c->calls, 1);
}

static void counter_start(counter *c, cio_loop *loop, int signo) {
    memset(c, 0, sizeof *c);
    CHECK_EQ(cio_signal_init(&c->sig, loop), 0);
    c->sig.data = c;
    CHECK_EQ(cio_signal_add(&c->sig, signo), 0);
    CHECK_EQ(cio_signal_start(&c->sig, count_cb), 0);
}

/* Runs `loop` until `*v` reaches `want`, bounded. */
static void run_until_count(cio_loop *loop, _Atomic int *v, int want) {
    double end = t_seconds() + 10;
    while (atomic_load(v) < want) {
        CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
        if (t_seconds() > end) {
            fprintf(stderr, "count %d of %d after 10 s\n", atomic_load(v), want);
            exit(1);
        }
    }
}

/* ---- sends from another thread, each acknowledged ---- */

#define SENDS 20

typedef struct sender {
    int signo;
    int n;
    _Atomic int *acks[2]; /* counters that must each reach i+1 before the next send */
} sender;

static void *send_main(void *arg) {
    sender *s = arg;
    for (int i = 0; i < s->n; i++) {
        /* Both ways a program signals itself: to the process, and to
         * this thread (which then runs the handler itself). */
        if (i % 2)
            CHECK_EQ(raise(s->signo), 0);
        else
            CHECK_EQ(kill(getpid(), s->signo), 0);
        for (int k = 0; k < 2; k++)
            if (s->acks[k]) await_at_least(s->acks[k], i + 1, "acknowledged sends");
    }
    return NULL;
}

static void case_kill_counts(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    counter c;
    counter_start(&c, &loop, SIGUSR1);
    sender s = {.signo = SIGUSR1, .n = SENDS, .acks = {&c.total, NULL}};
    make_signal_state(); /* this thread runs the loop (the sender's kill makes its own) */
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, send_main, &s), 0);
    run_until_count(&loop, &c.total, SENDS);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(atomic_load(&c.total), SENDS); /* each exactly once */
    CHECK_EQ(c.last_signo, SIGUSR1);
    CHECK_EQ(cio_signal_close(&c.sig), 0);
    t_run(&loop, 10);
    t_close(&loop);
}

/* ---- two loops on two threads, each sees every delivery ---- */

typedef struct loop_thread {
    counter c;
    _Atomic int ready;
    int want;
} loop_thread;

static void *loop_main(void *arg) {
    loop_thread *lt = arg;
    cio_loop loop;
    t_loop_init(&loop, 64);
    counter_start(&lt->c, &loop, SIGUSR2);
    make_signal_state();
    atomic_store(&lt->ready, 1);
    run_until_count(&loop, &lt->c.total, lt->want);
    CHECK_EQ(cio_signal_close(&lt->c.sig), 0);
    t_run(&loop, 10);
    t_close(&loop);
    return NULL;
}

static void case_two_loops(void) {
    loop_thread lt[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        memset(&lt[i], 0, sizeof lt[i]);
        lt[i].want = SENDS;
        CHECK_EQ(pthread_create(&th[i], NULL, loop_main, &lt[i]), 0);
    }
    for (int i = 0; i < 2; i++) await_at_least(&lt[i].ready, 1, "loop threads ready");
    sender s = {.signo = SIGUSR2, .n = SENDS, .acks = {&lt[0].c.total, &lt[1].c.total}};
    send_main(&s); /* from this thread, which runs no loop */
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(pthread_join(th[i], NULL), 0);
        CHECK_EQ(atomic_load(&lt[i].c.total), SENDS);
    }
}

/* ---- dispositions: others untouched, the earlier one restored ---- */

static _Atomic int own_usr2, own_usr1;
static void own_usr2_handler(int signo) {
    (void)signo;
    atomic_fetch_add(&own_usr2, 1);
}
static void own_usr1_handler(int signo, siginfo_t *info, void *uctx) {
    (void)uctx;
    CHECK_EQ(signo, SIGUSR1);
    CHECK(info != NULL);
    atomic_fetch_add(&own_usr1, 1);
}

static void *disposition_of(int signo, int *flags) {
    struct sigaction sa;
    CHECK_EQ(sigaction(signo, NULL, &sa), 0);
    if (flags) *flags = sa.sa_flags;
    return (sa.sa_flags & SA_SIGINFO) ? (void *)(uintptr_t)sa.sa_sigaction : (void *)(uintptr_t)sa.sa_handler;
}

static void set_handler(int signo, void (*fn)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(signo, &sa, NULL), 0);
}

static bool same_mask(const sigset_t *a, const sigset_t *b) {
    for (int i = 1; i < 65; i++)
        if (sigismember(a, i) != sigismember(b, i)) return false;
    return true;
}

static void case_dispositions(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    sigset_t mask0, mask1;
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &mask0), 0);

    /* A handler of the program's for SIGUSR2, which cio does not watch. */
    set_handler(SIGUSR2, own_usr2_handler);
    /* SIGUSR1 ignored before: cio's handler while watched, ignored after. */
    set_handler(SIGUSR1, SIG_IGN);
    counter c;
    counter_start(&c, &loop, SIGUSR1);
    CHECK(disposition_of(SIGUSR1, NULL) != (void *)(uintptr_t)SIG_IGN);
    CHECK(disposition_of(SIGUSR2, NULL) == (void *)(uintptr_t)own_usr2_handler);
    CHECK_EQ(kill(getpid(), SIGUSR2), 0);
    await_at_least(&own_usr2, 1, "the program's own SIGUSR2 handler");
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    run_until_count(&loop, &c.total, 1);
    CHECK_EQ(cio_signal_take(&c.sig, NULL), -CIO_EAGAIN); /* USR2 is not its business */
    CHECK_EQ(atomic_load(&own_usr2), 1);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &mask1), 0);
    CHECK(same_mask(&mask0, &mask1));
    CHECK_EQ(cio_signal_close(&c.sig), 0);
    CHECK(disposition_of(SIGUSR1, NULL) == (void *)(uintptr_t)SIG_IGN);

    /* Two watchers: the disposition comes back with the last only. */
    set_handler(SIGUSR1, SIG_DFL);
    counter a, b;
    counter_start(&a, &loop, SIGUSR1);
    counter_start(&b, &loop, SIGUSR1);
    CHECK_EQ(cio_signal_close(&a.sig), 0);
    CHECK(disposition_of(SIGUSR1, NULL) != (void *)(uintptr_t)SIG_DFL);
    CHECK_EQ(cio_signal_close(&b.sig), 0);
    CHECK(disposition_of(SIGUSR1, NULL) == (void *)(uintptr_t)SIG_DFL);

    /* An earlier handler function is chained, with its siginfo, and comes back. */
    struct sigaction own;
    memset(&own, 0, sizeof own);
    own.sa_sigaction = own_usr1_handler;
    own.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&own.sa_mask);
    CHECK_EQ(sigaction(SIGUSR1, &own, NULL), 0);
    counter_start(&c, &loop, SIGUSR1);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    run_until_count(&loop, &c.total, 1);
    CHECK_EQ(atomic_load(&own_usr1), 1);
    CHECK_EQ(cio_signal_close(&c.sig), 0);
    int flags = 0;
    CHECK(disposition_of(SIGUSR1, &flags) == (void *)(uintptr_t)own_usr1_handler);
    CHECK(flags & SA_SIGINFO);
    CHECK(flags & SA_RESTART);

    /* Replaced behind cio's back: the replacement stays. */
    counter_start(&c, &loop, SIGUSR1);
    set_handler(SIGUSR1, own_usr2_handler);
    CHECK_EQ(cio_signal_close(&c.sig), 0);
    CHECK(disposition_of(SIGUSR1, NULL) == (void *)(uintptr_t)own_usr2_handler);

    set_handler(SIGUSR1, SIG_DFL);
    set_handler(SIGUSR2, SIG_DFL);
    t_run(&loop, 10);
    t_close(&loop);
}

/* ---- a blocked signal: signalfd (Linux) ---- */

#if defined(__linux__)
typedef struct blocked_case {
    cio_signal sig;
    int r1, r2;
    uint32_t n1, n2;
} blocked_case;

static void *late_kill(void *arg) {
    (void)arg;
    t_sleep_ms(50);
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    return NULL;
}

static intptr_t blocked_main(void *arg) {
    blocked_case *c = arg;
    cio_loop *loop = cio_task_loop();
    CHECK_EQ(cio_signal_init(&c->sig, loop), 0);
    CHECK_EQ(cio_signal_add(&c->sig, SIGUSR1), 0);
    /* Sent before the wait: pending, blocked, taken from the signalfd. */
    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    c->r1 = cio_signal_wait(&c->sig, cio_now(loop) + 5000000000ull, &c->n1);
    /* Sent while the task waits, by a thread that blocks it too. */
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, late_kill, NULL), 0);
    c->r2 = cio_signal_wait(&c->sig, cio_now(loop) + 5000000000ull, &c->n2);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(cio_signal_close(&c->sig), 0);
    return 0;
}

static void blocked_child(void *arg) {
    (void)arg;
    /* The program blocks it in every thread: here, before any thread starts. */
    sigset_t set, after;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
    blocked_case c;
    memset(&c, 0, sizeof c);
    intptr_t res = -1;
    CHECK_EQ(cio_main(blocked_main, &c, NULL, &res), 0);
    if (c.r1 != SIGUSR1 || c.n1 != 1 || c.r2 != SIGUSR1 || c.n2 != 1) {
        fprintf(stderr, "blocked: r1 %d n1 %u r2 %d n2 %u\n", c.r1, c.n1, c.r2, c.n2);
        _exit(3);
    }
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &after), 0);
    CHECK(sigismember(&after, SIGUSR1)); /* cio changed no mask */
    _exit(0);
}

static void case_blocked(void) {
    char out[2048];
    int st = t_fork_capture(blocked_child, NULL, 2, out, sizeof out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "blocked-signal child failed (status %d): %s\n", st, out);
        exit(1);
    }
}
#endif

/* ---- cio_main: a task waiting for SIGINT is no deadlock ---- */

typedef struct main_case {
    int res;
    uint32_t count;
} main_case;

static void *send_sigint_late(void *arg) {
    (void)arg;
    t_sleep_ms(100);
    CHECK_EQ(kill(getpid(), SIGINT), 0);
    return NULL;
}

static intptr_t wait_sigint(void *arg) {
    main_case *m = arg;
    cio_signal sig;
    CHECK_EQ(cio_signal_init(&sig, cio_task_loop()), 0);
    CHECK_EQ(cio_signal_add(&sig, SIGINT), 0);
    CHECK_EQ(cio_signal_add(&sig, SIGTERM), 0);
    m->res = cio_signal_wait(&sig, 0, &m->count); /* nothing else in flight */
    CHECK_EQ(cio_signal_close(&sig), 0);
    return 0;
}

static void case_cio_main(void) {
    void *before = disposition_of(SIGINT, NULL);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, send_sigint_late, NULL), 0);
    main_case m = {0};
    uint64_t t0 = t_now_ns();
    CHECK_EQ(cio_main(wait_sigint, &m, NULL, NULL), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(m.res, SIGINT);
    CHECK_EQ(m.count, 1);
    CHECK(t_now_ns() - t0 >= 90000000); /* it waited for the signal */
    CHECK(disposition_of(SIGINT, NULL) == before);
}

/* ---- the header's SIGINT/SIGTERM shutdown ---- */

static intptr_t worker(void *arg) {
    (void)arg;
    return cio_sleep(60000000000ull); /* until cancelled */
}

static int stopper_got;

static intptr_t stop_on_signal(void *arg) {
    cio_signal sig;
    cio_signal_init(&sig, cio_task_loop());
    cio_signal_add(&sig, CIO_SIGINT);
    cio_signal_add(&sig, CIO_SIGTERM);
    int signo = cio_signal_wait(&sig, 0, NULL);
    cio_signal_close(&sig);
    stopper_got = signo;
    if (signo > 0) cio_group_cancel(arg);
    return 0;
}

static void *send_sigterm_late(void *arg) {
    (void)arg;
    t_sleep_ms(50);
    CHECK_EQ(kill(getpid(), SIGTERM), 0);
    return NULL;
}

static intptr_t shutdown_main(void *arg) {
    (void)arg;
    cio_loop *loop = cio_task_loop();
    cio_group workers;
    CHECK_EQ(cio_group_init(&workers, loop, 0), 0);
    for (int i = 0; i < 3; i++) CHECK_EQ(cio_group_spawn(&workers, worker, NULL, NULL), 0);
    cio_task *stopper;
    CHECK_EQ(cio_task_spawn(loop, stop_on_signal, &workers, NULL, &stopper), 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, send_sigterm_late, NULL), 0);
    int r = cio_group_wait(&workers); /* by a signal */
    cio_task_cancel(stopper);
    CHECK_EQ(cio_task_join(stopper, NULL), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    return r;
}

static void case_shutdown(void) {
    intptr_t r = 0;
    uint64_t t0 = t_now_ns();
    CHECK_EQ(cio_main(shutdown_main, NULL, NULL, &r), 0);
    CHECK_EQ(r, -CIO_ECANCELED); /* the workers were cancelled */
    CHECK_EQ(stopper_got, SIGTERM);
    CHECK(t_now_ns() - t0 < 30000000000ull);
}

/* ---- closing the loop under a waiting task and a started callback ---- */

static intptr_t wait_forever(void *arg) {
    cio_signal *s = arg;
    CHECK_EQ(cio_signal_wait(s, 0, NULL), -CIO_ECANCELED);
    return 0;
}

static void case_loop_close(void) {
    void *before = disposition_of(SIGHUP, NULL);
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_signal s;
    counter c;
    CHECK_EQ(cio_signal_init(&s, &loop), 0);
    CHECK_EQ(cio_signal_add(&s, SIGHUP), 0);
    counter_start(&c, &loop, SIGHUP);
    cio_task_options o = {.detached = true};
    CHECK_EQ(cio_task_spawn(&loop, wait_forever, &s, &o, NULL), 0);
    for (int i = 0; i < 3; i++) CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    CHECK(cio_loop_active(&loop) >= 1);
    t_close(&loop);
    CHECK(disposition_of(SIGHUP, NULL) == before);
    CHECK_EQ(cio_signal_take(&s, NULL), -CIO_EINVAL); /* closed with its loop */
}

/* With an argument, only the case of that name runs. */
static bool want(int argc, char **argv, const char *name) { return argc < 2 || !strcmp(argv[1], name); }

int main(int argc, char **argv) {
    if (is_mock()) T_SKIP("real signals cannot enter the simulation (test_signal covers the mock)");
    if (want(argc, argv, "kill_counts")) case_kill_counts();
    if (want(argc, argv, "two_loops")) case_two_loops();
    if (want(argc, argv, "dispositions")) case_dispositions();
#if defined(__linux__)
    if (want(argc, argv, "blocked")) case_blocked();
#endif
    if (want(argc, argv, "cio_main")) case_cio_main();
    if (want(argc, argv, "shutdown")) case_shutdown();
    if (want(argc, argv, "loop_close")) case_loop_close();
    printf("ok\n");
    return 0;
}
