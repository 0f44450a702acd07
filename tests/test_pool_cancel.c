/*
 * tests/test_pool_cancel.c - an op that blocks for good on a pool thread
 * (or in an io_uring kernel worker) ends when cancelled (issue 7, bug 11).
 *
 * A splice from a pipe nobody writes to blocks until a writer comes. On
 * epoll and poll it runs on the blocking pool; on io_uring the kernel runs
 * it in an io-wq worker, so there the same cases test the kernel's cancel.
 * (An open of a FIFO no longer blocks on any backend: op.h, and
 * tests/test_fifo_open.c.) Each stuck op is ended by cio_cancel(), also
 * while the loop turns without ever waiting, by a CIO_OP_CANCEL op, by its
 * deadline, and by cio_loop_close() (more ops than a loop may run on the
 * pool at once, so some are still queued), promptly (CLOCK_MONOTONIC,
 * generous bounds) and exactly once with the documented result; no byte
 * reaches the splice's output file (fstat). Submitting and cancelling at
 * once, many times, covers the signal that reaches the pool thread just
 * before its system call. A handler the program installed for the pool's
 * signal (SIGRTMAX - 2) still gets the program's own signals, never the
 * pool's.
 *
 * Without splice (CIO_POSIX_ONLY, not Linux) no op blocks for good on the
 * pool: only the signal handler's part runs, and the test reports a skip.
 *
 * CIO_TEST_PORTABLE: on Windows the stuck op is a read of an anonymous pipe
 * nobody writes to (t_pipe_sync: no overlapped IO, so IOCP runs it on the
 * pool, and cancel interrupts it with CancelSynchronousIo); each op in
 * flight at once has a pipe of its own, and "nothing written" means the
 * read buffers are untouched. The pool's signal (and the program's handler
 * for it) is POSIX's.
 */
#include "fs_util.h"

#include <stdatomic.h>
#if !defined(_WIN32)
#include <sys/stat.h>
#endif

#if defined(__linux__) && !defined(CIO_POSIX_ONLY)
#define HAVE_SPLICE 1
#else
#define HAVE_SPLICE 0
#endif
/* An op that blocks for good on the pool: a splice, or on Windows a read of a synchronous pipe. */
#if HAVE_SPLICE || defined(_WIN32)
#define HAVE_STUCK 1
#else
#define HAVE_STUCK 0
#endif

#define BOUND 2.0 /* seconds an interrupted op may take to come back */
#define MS 1000000ull

#if !defined(_WIN32)
static atomic_int app_signals;

static void app_handler(int sig, siginfo_t *info, void *uctx) {
    (void)sig;
    (void)info;
    (void)uctx;
    atomic_fetch_add(&app_signals, 1);
}
#endif

static void sleep_ms(long ms) { t_sleep_ms((unsigned)ms); }

#if HAVE_STUCK

#if defined(_WIN32)
/* The empty pipes the stuck ops read from (one per op in flight at once),
 * open until the process ends (the guard below writes to them), and the
 * buffers the reads would fill. */
enum { NSTUCK = 10 };
static cio_fd stuck[NSTUCK][2];
static unsigned char stuck_buf[NSTUCK][16];
static unsigned next_stuck;
#else
/* The empty pipe every stuck op reads from, open until the process ends
 * (the guard below writes to it), and the file they would write to. */
static int stuck_pipe[2] = {-1, -1};
static int out_fd = -1;
#endif

/* The guard: if a cio_loop_close() does not return in time (the fix is
 * missing), bytes in the pipe release the splices it waits for, so that
 * the program ends with its report rather than at the watchdog. */
static atomic_llong close_started_ns; /* 0: no close under way */

static long long now_ns(void) { return (long long)(t_seconds() * 1e9); }

static void *guard(void *arg) {
    (void)arg;
    for (;;) {
        long long t0 = atomic_load(&close_started_ns);
        if (t0 && now_ns() - t0 > 5000 * (long long)MS) {
#if defined(_WIN32)
            for (int i = 0; i < NSTUCK; i++) (void)t_sys_write(stuck[i][1], "x", 1);
#else
            ssize_t w = write(stuck_pipe[1], "x", 1);
            (void)w;
#endif
        }
        sleep_ms(50);
    }
    return NULL;
}

static void timed_close(cio_loop *loop, const char *what) {
    atomic_store(&close_started_ns, now_ns());
    double t0 = t_seconds();
    CHECK_EQ(cio_loop_close(loop), 0);
    double took = t_seconds() - t0;
    atomic_store(&close_started_ns, 0);
    if (took > BOUND) {
        fprintf(stderr, "%s: cio_loop_close took %.3f s with blocked ops in flight\n", what, took);
        exit(1);
    }
}

/* Turns `loop` until `t` has its final completion or `limit` seconds pass. */
static bool run_until_done(cio_loop *loop, t_op *t, double limit) {
    double end = t_seconds() + limit;
    while (t->finals == 0 && t_seconds() < end) {
        CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
        if (t->finals == 0) sleep_ms(1);
    }
    return t->finals > 0;
}

/* Submits a splice from the empty pipe and lets it reach the system call
 * that blocks. */
static void start_stuck(cio_loop *loop, t_op *t, uint64_t deadline) {
#if defined(_WIN32)
    unsigned i = next_stuck++ % NSTUCK;
    cio_prep_read(&t->op, stuck[i][0], stuck_buf[i], sizeof stuck_buf[i], CIO_OFFSET_CURRENT);
#else
    cio_prep_splice(&t->op, stuck_pipe[0], CIO_OFFSET_CURRENT, out_fd, 0, 4096, 0);
#endif
    t_arm(t);
    t->op.deadline = deadline;
    CHECK_EQ(cio_submit(loop, &t->op), 0);
    CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
}

static void expect_done(t_op *t, int32_t want, double started, const char *what) {
    double took = t_seconds() - started;
    if (t->finals != 1 || t->res != want || took > BOUND) {
        fprintf(stderr, "%s: finals %d, res %d (%s), want %d (%s), after %.3f s\n", what, t->finals, t->res,
                t->res < 0 ? cio_strerror(t->res) : "-", want, cio_strerror(want), took);
        exit(1);
    }
}

static void expect_nothing_written(void) {
#if defined(_WIN32)
    for (int i = 0; i < NSTUCK; i++)
        for (size_t k = 0; k < sizeof stuck_buf[i]; k++) CHECK_EQ(stuck_buf[i][k], 0);
#else
    struct stat st;
    CHECK_EQ(fstat(out_fd, &st), 0);
    CHECK_EQ(st.st_size, 0);
#endif
}

static void by_cio_cancel(cio_loop *loop) {
    t_op t;
    start_stuck(loop, &t, 0);
    sleep_ms(100); /* the thread (or kernel worker) is now asleep in splice() */
    CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
    if (t.finals != 0) {
        fprintf(stderr, "splice from an empty pipe completed with %d\n", t.res);
        exit(1);
    }
    double t0 = t_seconds();
    CHECK_EQ(cio_cancel(loop, &t.op), 0);
    run_until_done(loop, &t, BOUND + 1);
    expect_done(&t, -CIO_ECANCELED, t0, "splice cancelled by cio_cancel");
}

/* The same, with a loop that turns without ever waiting (an outside
 * driver, a busy poller): re-signalling must not bury the thread. */
static void by_cio_cancel_spinning(cio_loop *loop) {
    for (int i = 0; i < 10; i++) {
        t_op t;
        start_stuck(loop, &t, 0);
        sleep_ms(20);
        double t0 = t_seconds();
        CHECK_EQ(cio_cancel(loop, &t.op), 0);
        while (t.finals == 0 && t_seconds() < t0 + BOUND + 1) CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
        expect_done(&t, -CIO_ECANCELED, t0, "splice cancelled, loop turning without waiting");
    }
}

static void by_cancel_op(cio_loop *loop) {
    t_op t, c;
    start_stuck(loop, &t, 0);
    sleep_ms(50);
    cio_prep_cancel(&c.op, &t.op);
    t_arm(&c);
    double t0 = t_seconds();
    CHECK_EQ(cio_submit(loop, &c.op), 0);
    run_until_done(loop, &t, BOUND + 1);
    expect_done(&t, -CIO_ECANCELED, t0, "splice cancelled by CIO_OP_CANCEL");
    CHECK(run_until_done(loop, &c, 1.0));
    CHECK_EQ(c.finals, 1);
    /* Found it running: 0 or -CIO_EALREADY, as op.h says. */
    CHECK(c.res == 0 || c.res == -CIO_EALREADY);
}

static void by_deadline(cio_loop *loop) {
    t_op t;
    double t0 = t_seconds();
    start_stuck(loop, &t, cio_now(loop) + 200 * MS);
    run_until_done(loop, &t, BOUND + 1);
    CHECK(t_seconds() - t0 >= 0.19); /* not before its deadline */
    expect_done(&t, -CIO_ETIMEDOUT, t0 + 0.2, "splice past its deadline");
}

/* Cancelled right after submission, or a few microseconds later: the
 * signal may reach the pool thread before it enters splice(). */
static void at_once(cio_loop *loop) {
    double end = t_seconds() + 3.0;
    int n = 0;
    for (; n < 300 && t_seconds() < end; n++) {
        t_op t;
        start_stuck(loop, &t, 0);
        for (volatile int spin = 0; spin < (n % 20) * 500; spin++) {
        }
        double t0 = t_seconds();
        CHECK_EQ(cio_cancel(loop, &t.op), 0);
        run_until_done(loop, &t, BOUND + 1);
        expect_done(&t, -CIO_ECANCELED, t0, "splice cancelled at once");
    }
    CHECK(n >= 20);
}

/* Close with blocked ops in flight returns promptly; each completes once.
 * Ten: more than one loop may run on the pool at once (8), so that close
 * takes some back from the queue and interrupts the others. */
static void on_close(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    enum { N = 10 }; /* Windows: NSTUCK pipes, one each */
    t_op t[N];
    for (int i = 0; i < N; i++) start_stuck(&loop, &t[i], 0);
    sleep_ms(100);
    CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    for (int i = 0; i < N; i++) CHECK_EQ(t[i].finals, 0);
    timed_close(&loop, "close with ten stuck splices");
    for (int i = 0; i < N; i++) {
        CHECK_EQ(t[i].finals, 1);
        CHECK_EQ(t[i].res, -CIO_ECANCELED);
    }
}

static void run_all(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    const char *name = cio_backend_name(cio_loop_backend(&loop));
    by_cio_cancel(&loop);
    by_cio_cancel_spinning(&loop);
    by_cancel_op(&loop);
    by_deadline(&loop);
    /* Under qemu-user (the aarch64 CI configuration) a cancel right after
     * the submission was seen to leave the splice blocked past the bound in
     * 2 of 3 runs, and never natively, under load or under TSan: qemu takes
     * the signal in its own handler and does not always interrupt a host
     * call it does not restart itself. Skipped there; the other cases run. */
    if (!t_under_emulator()) at_once(&loop);
    CHECK_EQ(cio_loop_active(&loop), 0);
    timed_close(&loop, "close after the cases");
    on_close();
    expect_nothing_written();
    printf("pool_cancel, %s (%s): ok\n", HAVE_SPLICE ? "splice from an empty pipe" : "read of an empty pipe",
           name);
}

#endif /* HAVE_STUCK */

#if defined(_WIN32)
int main(void) {
    fs_mkdtemp();
    for (int i = 0; i < NSTUCK; i++) CHECK_EQ(t_pipe_sync(stuck[i]), 0);
    static t_thread g; /* never joined: it ends with the process */
    CHECK_EQ(t_thread_start(&g, guard, NULL), 0);
    run_all();
    T_SKIP_CASE_ON_WINDOWS("app_signal", "the pool's interrupt is CancelSynchronousIo there, not a signal a "
                                         "program's handler could see");
    return 0;
}
#else
int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = app_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGRTMAX - 2, &sa, NULL), 0);

    const char *dir = fs_mkdtemp();
    char out_path[160];
    fs_path(out_path, sizeof out_path, dir, "splice_out");
#if HAVE_SPLICE
    CHECK_EQ(pipe2(stuck_pipe, O_CLOEXEC), 0);
    out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(out_fd >= 0);
    static t_thread g; /* never joined: it ends with the process */
    CHECK_EQ(t_thread_start(&g, guard, NULL), 0);
    run_all();
#else
    /* Still a file op on the pool, so that the pool has installed its handler. */
    cio_loop loop;
    t_loop_init(&loop, 8);
    t_op t;
    cio_prep_openat(&t.op, CIO_AT_FDCWD, out_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    CHECK(fs_do(&loop, &t) >= 0);
    CHECK_EQ(close(t.res), 0);
    t_close(&loop);
#endif

    /* The pool's signals never reached the program's handler; its own do. */
    CHECK_EQ(atomic_load(&app_signals), 0);
    CHECK_EQ(kill(getpid(), SIGRTMAX - 2), 0);
    for (int i = 0; i < 200 && atomic_load(&app_signals) == 0; i++) sleep_ms(10);
    CHECK_EQ(atomic_load(&app_signals), 1);
#if !HAVE_SPLICE
    printf("pool_cancel: skipped, no op blocks for good on the pool without splice (the signal handler part ran)\n");
    return 77;
#else
    return 0;
#endif
}
#endif
