/*
 * tests/test_pool_cancel.c - ops that block for good on a pool thread (or
 * in an io_uring kernel worker) end when cancelled (issue 7, bug 11).
 *
 * An openat of a FIFO nobody writes to blocks until a writer comes; so
 * does a splice from an empty pipe. Each is ended by cio_cancel(), by a
 * CIO_OP_CANCEL op, by its deadline, and by cio_loop_close(), promptly
 * (CLOCK_MONOTONIC, generous bounds) and exactly once with the documented
 * result. Submitting and cancelling at once, many times, covers the
 * signal that reaches the pool thread just before its system call.
 *
 * Everything runs as the backend runs it (io_uring's own openat opens a
 * FIFO for reading without blocking, so there only the splice blocks),
 * then again on io_uring with CIO_URING_DISABLE=openat, where the open
 * takes the blocking pool. A
 * handler the program installed for the pool's signal (SIGRTMAX - 1) still
 * gets the program's own signals, never the pool's.
 */
#include "fs_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#define BOUND 2.0 /* seconds an interrupted op may take to come back */
#define MS 1000000ull

static char fifo_path[128];
static atomic_int app_signals;

static void app_handler(int sig, siginfo_t *info, void *uctx) {
    (void)sig;
    (void)info;
    (void)uctx;
    atomic_fetch_add(&app_signals, 1);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
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

/* Submits an open of the FIFO and lets it reach the system call that blocks. */
static void start_fifo_open(cio_loop *loop, t_op *t, uint64_t deadline) {
    cio_prep_openat(&t->op, CIO_AT_FDCWD, fifo_path, O_RDONLY | O_CLOEXEC, 0);
    t_arm(t);
    t->op.deadline = deadline;
    CHECK_EQ(cio_submit(loop, &t->op), 0);
    CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
}

static void expect_done(t_op *t, int32_t want, double started, const char *what) {
    double took = t_seconds() - started;
    if (t->finals != 1 || t->res != want || took > BOUND) {
        fprintf(stderr, "%s: finals %d, res %d (%s), want %d, after %.3f s\n", what, t->finals, t->res,
                t->res < 0 ? cio_strerror(t->res) : "-", want, took);
        exit(1);
    }
}

static void by_cio_cancel(cio_loop *loop) {
    t_op t;
    start_fifo_open(loop, &t, 0);
    sleep_ms(100); /* the thread (or kernel worker) is now asleep in open() */
    CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
    if (t.finals != 0) {
        fprintf(stderr, "FIFO open with no writer completed with %d\n", t.res);
        exit(1);
    }
    double t0 = t_seconds();
    CHECK_EQ(cio_cancel(loop, &t.op), 0);
    run_until_done(loop, &t, BOUND + 1);
    expect_done(&t, -CIO_ECANCELED, t0, "FIFO open cancelled by cio_cancel");
}

/* The same, with a loop that turns without ever waiting (an outside
 * driver, a busy poller): re-signalling must not bury the thread. */
static void by_cio_cancel_spinning(cio_loop *loop) {
    for (int i = 0; i < 10; i++) {
        t_op t;
        start_fifo_open(loop, &t, 0);
        sleep_ms(20);
        double t0 = t_seconds();
        CHECK_EQ(cio_cancel(loop, &t.op), 0);
        while (t.finals == 0 && t_seconds() < t0 + BOUND + 1) CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
        expect_done(&t, -CIO_ECANCELED, t0, "FIFO open cancelled, loop turning without waiting");
    }
}

static void by_cancel_op(cio_loop *loop) {
    t_op t, c;
    start_fifo_open(loop, &t, 0);
    sleep_ms(50);
    cio_prep_cancel(&c.op, &t.op);
    t_arm(&c);
    double t0 = t_seconds();
    CHECK_EQ(cio_submit(loop, &c.op), 0);
    run_until_done(loop, &t, BOUND + 1);
    expect_done(&t, -CIO_ECANCELED, t0, "FIFO open cancelled by CIO_OP_CANCEL");
    CHECK(run_until_done(loop, &c, 1.0));
    CHECK_EQ(c.finals, 1);
    /* Found it running: 0 or -CIO_EALREADY, as op.h says. */
    CHECK(c.res == 0 || c.res == -CIO_EALREADY);
}

static void by_deadline(cio_loop *loop) {
    t_op t;
    double t0 = t_seconds();
    start_fifo_open(loop, &t, cio_now(loop) + 200 * MS);
    run_until_done(loop, &t, BOUND + 1);
    CHECK(t_seconds() - t0 >= 0.19); /* not before its deadline */
    expect_done(&t, -CIO_ETIMEDOUT, t0 + 0.2, "FIFO open past its deadline");
}

/* Cancelled right after submission, or a few microseconds later: the
 * signal may reach the pool thread before it enters open(). */
static void at_once(cio_loop *loop) {
    double end = t_seconds() + 3.0;
    int n = 0;
    for (; n < 300 && t_seconds() < end; n++) {
        t_op t;
        start_fifo_open(loop, &t, 0);
        for (volatile int spin = 0; spin < (n % 20) * 500; spin++) {
        }
        double t0 = t_seconds();
        CHECK_EQ(cio_cancel(loop, &t.op), 0);
        run_until_done(loop, &t, BOUND + 1);
        expect_done(&t, -CIO_ECANCELED, t0, "FIFO open cancelled at once");
    }
    CHECK(n >= 20);
}

/* Splice from a pipe nobody writes to, with a deadline. */
static void splice_deadline(cio_loop *loop, const char *dir) {
#if defined(__linux__) && !defined(CIO_POSIX_ONLY)
    int p[2];
    CHECK_EQ(pipe(p), 0);
    char out_path[160];
    fs_path(out_path, sizeof out_path, dir, "splice_out");
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(out >= 0);
    t_op t;
    cio_prep_splice(&t.op, p[0], CIO_OFFSET_CURRENT, out, 0, 4096, 0);
    t_arm(&t);
    double t0 = t_seconds();
    t.op.deadline = cio_now(loop) + 200 * MS;
    CHECK_EQ(cio_submit(loop, &t.op), 0);
    run_until_done(loop, &t, BOUND + 1);
    CHECK(t_seconds() - t0 >= 0.19);
    expect_done(&t, -CIO_ETIMEDOUT, t0 + 0.2, "splice from an empty pipe past its deadline");
    /* And cancelled: -CIO_ECANCELED, never a kernel-internal code. */
    cio_prep_splice(&t.op, p[0], CIO_OFFSET_CURRENT, out, 0, 4096, 0);
    t_arm(&t);
    CHECK_EQ(cio_submit(loop, &t.op), 0);
    CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
    sleep_ms(50);
    t0 = t_seconds();
    CHECK_EQ(cio_cancel(loop, &t.op), 0);
    run_until_done(loop, &t, BOUND + 1);
    expect_done(&t, -CIO_ECANCELED, t0, "splice from an empty pipe cancelled");
    struct stat st;
    CHECK_EQ(fstat(out, &st), 0);
    CHECK_EQ(st.st_size, 0);
    close(out);
    close(p[0]);
    close(p[1]);
#else
    (void)loop;
    (void)dir;
#endif
}

/* Close with blocked ops in flight returns promptly; each completes once. */
static void on_close(const char *dir, bool fifo, bool splice) {
    cio_loop loop;
    t_loop_init(&loop, 16);
    enum { N = 4 };
    t_op t[N];
    int n = fifo ? N : 0;
    for (int i = 0; i < n; i++) start_fifo_open(&loop, &t[i], 0);
#if defined(__linux__) && !defined(CIO_POSIX_ONLY)
    int p[2] = {-1, -1}, out = -1;
    t_op sp;
    sp.finals = 0;
    if (splice) {
        CHECK_EQ(pipe(p), 0);
        char out_path[160];
        fs_path(out_path, sizeof out_path, dir, "close_out");
        out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CHECK(out >= 0);
        cio_prep_splice(&sp.op, p[0], CIO_OFFSET_CURRENT, out, 0, 4096, 0);
        t_arm(&sp);
        CHECK_EQ(cio_submit(&loop, &sp.op), 0);
    }
#else
    (void)dir;
    (void)splice;
#endif
    CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    sleep_ms(100);
    double t0 = t_seconds();
    CHECK_EQ(cio_loop_close(&loop), 0);
    double took = t_seconds() - t0;
    if (took > BOUND) {
        fprintf(stderr, "cio_loop_close took %.3f s with blocked ops in flight\n", took);
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        CHECK_EQ(t[i].finals, 1);
        CHECK_EQ(t[i].res, -CIO_ECANCELED);
    }
#if defined(__linux__) && !defined(CIO_POSIX_ONLY)
    if (splice) {
        CHECK_EQ(sp.finals, 1);
        CHECK_EQ(sp.res, -CIO_ECANCELED);
        close(out);
        close(p[0]);
        close(p[1]);
    }
#endif
}

/* The guard: if the fix is missing, a writer releases whatever still
 * blocks in open(), so that the program ends with its report. */
static void *release_later(void *arg) {
    (void)arg;
    sleep_ms(6000);
    for (;;) {
        int fd = open(fifo_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) close(fd);
        sleep_ms(100);
    }
    return NULL;
}

/* io_uring's own openat first tries without blocking, which opens a FIFO
 * for reading at once, writer or not: there nothing blocks. */
static bool fifo_open_blocks(cio_loop *loop) {
    t_op t;
    start_fifo_open(loop, &t, 0);
    sleep_ms(50);
    CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
    if (t.finals == 0) {
        CHECK_EQ(cio_cancel(loop, &t.op), 0);
        CHECK(run_until_done(loop, &t, 30.0));
        return true;
    }
    CHECK(t.res >= 0);
    close(t.res);
    return false;
}

static void run_all(const char *dir, const char *mode, bool kernel_openat) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    bool blocks = !kernel_openat || fifo_open_blocks(&loop);
    if (blocks) {
        by_cio_cancel(&loop);
        by_cio_cancel_spinning(&loop);
        by_cancel_op(&loop);
        by_deadline(&loop);
        at_once(&loop);
    }
    t_close(&loop);
    if (blocks) on_close(dir, true, false);
    printf("pool_cancel, FIFO open (%s): %s\n", mode, blocks ? "ok" : "does not block here");
}

/* The pipe ops: the kernel's on io_uring, the pool's elsewhere. */
static void run_splice(const char *dir) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    splice_deadline(&loop, dir);
    t_close(&loop);
    on_close(dir, false, true);
    printf("pool_cancel, splice: ok\n");
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = app_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGRTMAX - 1, &sa, NULL), 0);

    const char *dir = fs_mkdtemp();
    fs_path(fifo_path, sizeof fifo_path, dir, "fifo");
    CHECK_EQ(mkfifo(fifo_path, 0600), 0);
    pthread_t guard;
    CHECK_EQ(pthread_create(&guard, NULL, release_later, NULL), 0);
    CHECK_EQ(pthread_detach(guard), 0);

    cio_loop probe;
    t_loop_init(&probe, 8);
    cio_backend_kind kind = cio_loop_backend(&probe);
    bool uring = kind == CIO_BACKEND_URING;
    t_close(&probe);
    run_all(dir, cio_backend_name(kind), uring);
    if (uring) {
        CHECK_EQ(setenv("CIO_URING_DISABLE", "openat", 1), 0);
        run_all(dir, "io_uring, openat on the pool", false);
    }
    run_splice(dir);

    /* The pool's signals never reached the program's handler; its own do. */
    CHECK_EQ(atomic_load(&app_signals), 0);
    CHECK_EQ(kill(getpid(), SIGRTMAX - 1), 0);
    for (int i = 0; i < 200 && atomic_load(&app_signals) == 0; i++) sleep_ms(10);
    CHECK_EQ(atomic_load(&app_signals), 1);
    return 0;
}
