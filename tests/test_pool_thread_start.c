/*
 * tests/test_pool_thread_start.c - the blocking pool starts its threads
 * without holding up other loops, and copes when it cannot start one.
 *
 * The pool is shared by every loop of the process. Creating one of its
 * threads maps a stack, which can take long on a loaded machine; done with
 * the pool's mutex held, every other loop's submit of a pool op would wait
 * for it. So the pool creates threads without the mutex, and then two
 * loops may be creating one each at the same time.
 *
 * Each case runs in a child process of its own (a fresh pool, no thread
 * yet): loop A (the child's main thread) does a pool op whose submit
 * creates the pool's first thread, and that creation is made slow
 * (pool_hook.h); loop B, on a second thread, does a pool op of its own
 * while A's creation is under way.
 *   slow:  A's creation takes 2 s and succeeds. B's op is over in under 1 s
 *          (CLOCK_MONOTONIC, generous), before A's creation has returned.
 *   fails: A's creation takes 500 ms and fails, B's fails at once. B's op
 *          must not count on A's thread, which never comes: both end with
 *          -CIO_EAGAIN. Then creation works again and an op runs: the pool
 *          recovered.
 * Every op completes exactly once; a statx that succeeds found the size
 * fstat() gives.
 *
 * CIO_TEST_NOT_ON_WINDOWS: it slows and fails the pool's thread creation by interposing pthread_create (pool_hook.h, dlsym) in forked children
 */
#include "pool_hook.h"

#include <errno.h>
#include <sys/wait.h>

#if defined(__linux__) && !defined(CIO_POSIX_ONLY)

enum { SLOW_MS = 2000, FAIL_MS = 500 };

static atomic_int armed;   /* the next creation is the slow one */
static atomic_int entered; /* ... and it has begun */
static atomic_int left;    /* ... and it has returned */

static int slow_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
    if (!atomic_exchange(&armed, 0)) return create_next(t, attr, fn, arg);
    atomic_store(&entered, 1);
    sleep_ms(SLOW_MS);
    int r = create_next(t, attr, fn, arg);
    atomic_store(&left, 1);
    return r;
}

static int failing_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
    (void)t, (void)attr, (void)fn, (void)arg;
    if (atomic_exchange(&armed, 0)) {
        atomic_store(&entered, 1);
        sleep_ms(FAIL_MS);
        atomic_store(&left, 1);
    }
    return EAGAIN;
}

typedef struct when {
    const char *name;
    create_fn hook;
    int32_t res; /* what A's op and B's op end with */
} when;

static const when cases[] = {{"slow", slow_create, 0}, {"fails", failing_create, -CIO_EAGAIN}};

static const when *now;
static double b_seconds;
static atomic_int b_left_first; /* B's op was over before A's creation returned */

static void *loop_b(void *arg) {
    (void)arg;
    cio_loop loop;
    t_loop_init(&loop, 16);
    wait_flag(&entered);
    double t0 = t_seconds();
    CHECK_EQ(hook_statx(&loop), now->res);
    b_seconds = t_seconds() - t0;
    atomic_store(&b_left_first, !atomic_load(&left));
    t_close(&loop);
    return NULL;
}

static void run_case(const when *w) {
    now = w;
    cio_loop loop;
    t_loop_init(&loop, 16);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, loop_b, NULL), 0);
    atomic_store(&armed, 1);
    atomic_store(&create_hook, w->hook);
    double t0 = t_seconds();
    CHECK_EQ(hook_statx(&loop), w->res); /* its submit makes the slow creation */
    double a_seconds = t_seconds() - t0;
    CHECK_EQ(pthread_join(th, NULL), 0);
    atomic_store(&create_hook, NULL);
    printf("pool_thread_start (%s): A's op %.3f s, B's op %.3f s\n", w->name, a_seconds, b_seconds);
    CHECK(atomic_load(&left)); /* the slow creation was A's */
    if (w->res == 0) {
        CHECK(b_seconds < SLOW_MS / 1000.0 / 2);
        CHECK(atomic_load(&b_left_first));
    }
    CHECK_EQ(hook_statx(&loop), 0); /* creation works (again) */
    t_close(&loop);
}

int main(void) {
    hook_setup();
    for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
        fflush(stdout);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            run_case(&cases[i]);
            fflush(stdout);
            _exit(0);
        }
        int status;
        CHECK_EQ(waitpid(pid, &status, 0), pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    puts("pool_thread_start: ok");
    return 0;
}

#else
int main(void) {
    puts("pool_thread_start: skipped (not Linux)");
    return 77;
}
#endif
