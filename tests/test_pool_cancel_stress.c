/*
 * tests/test_pool_cancel_stress.c - a splice blocked on an empty pipe and
 * cancelled right after its submission ends, every time, also while both
 * cores are busy (issue 7, bug 11).
 *
 * On epoll and poll the splice runs on a pool thread, which cancel
 * interrupts with a signal; the signal may reach the thread just before it
 * enters splice(), and must then be sent again. Under ThreadSanitizer the
 * handler of a signal that lands there runs only at the thread's next
 * intercepted call, after splice() returns: the pool used to wait for that
 * handler before it sent another signal, so the op never ended (1 run in 3
 * of tests/test_pool_cancel.c under load). Two busy threads make the
 * scheduler preempt the pool thread inside that window often; the rounds
 * vary how long the cancel waits after the submission. On io_uring the
 * splice runs in a kernel worker, so there the same rounds test the
 * kernel's cancel.
 *
 * Oracle: completion counts (exactly once, -CIO_ECANCELED) within a
 * generous bound on CLOCK_MONOTONIC, and the pipes carry bytes unchanged
 * afterwards. Skipped without splice. CIO_TEST_PORTABLE
 */
#include "test.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>

#if defined(__linux__) && !defined(CIO_POSIX_ONLY)

#define ROUNDS 1500
#define SECONDS 4.0 /* at most, for the rounds together */
#define BOUND 3.0   /* seconds one cancelled splice may take to come back */

static atomic_int stop_busy;

static void *busy(void *arg) {
    (void)arg;
    double end = t_seconds() + SECONDS + 2 * BOUND;
    while (!atomic_load_explicit(&stop_busy, memory_order_relaxed) && t_seconds() < end) {
        for (volatile int spin = 0; spin < 10000; spin++) {
        }
    }
    return NULL;
}

int main(void) {
    if (t_under_emulator()) { /* see test_pool_cancel.c's at_once */
        puts("pool_cancel_stress: skipped under qemu-user, which can keep a cancel from a blocked splice");
        return 77;
    }
    cio_loop loop;
    t_loop_init(&loop, 16);
    int in[2], out[2];
    CHECK_EQ(pipe2(in, O_CLOEXEC), 0);
    CHECK_EQ(pipe2(out, O_CLOEXEC), 0);

    pthread_t th[2];
    for (int i = 0; i < 2; i++) CHECK_EQ(pthread_create(&th[i], NULL, busy, NULL), 0);

    double end = t_seconds() + SECONDS;
    int n = 0;
    for (; n < ROUNDS && t_seconds() < end; n++) {
        t_op sp;
        cio_prep_splice(&sp.op, in[0], CIO_OFFSET_CURRENT, out[1], CIO_OFFSET_CURRENT, 4096, 0);
        t_arm(&sp);
        CHECK_EQ(cio_submit(&loop, &sp.op), 0);
        if (n % 3 == 1) CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
        for (volatile int spin = 0; spin < (n % 16) * 300; spin++) {
        }
        double t0 = t_seconds();
        CHECK_EQ(cio_cancel(&loop, &sp.op), 0);
        while (sp.finals == 0 && t_seconds() < t0 + BOUND) CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
        if (sp.finals != 1 || sp.res != -CIO_ECANCELED) {
            fprintf(stderr, "round %d: splice cancelled at once: finals %d, res %d, after %.3f s\n", n, sp.finals,
                    sp.res, t_seconds() - t0);
            return 1;
        }
    }
    atomic_store(&stop_busy, 1);
    for (int i = 0; i < 2; i++) CHECK_EQ(pthread_join(th[i], NULL), 0);
    CHECK(n >= 50);

    /* Nothing was lost or made up: the pipes still carry bytes through. */
    CHECK_EQ(write(in[1], "stress!", 7), 7);
    t_op sp;
    cio_prep_splice(&sp.op, in[0], CIO_OFFSET_CURRENT, out[1], CIO_OFFSET_CURRENT, 4096, 0);
    t_arm(&sp);
    CHECK_EQ(cio_submit(&loop, &sp.op), 0);
    t_run(&loop, 5.0);
    CHECK_EQ(sp.finals, 1);
    CHECK_EQ(sp.res, 7);
    char buf[16];
    CHECK_EQ(read(out[0], buf, sizeof buf), 7);
    CHECK(memcmp(buf, "stress!", 7) == 0);

    const char *name = cio_backend_name(cio_loop_backend(&loop));
    t_close(&loop);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    printf("pool_cancel_stress (%s): %d rounds ok\n", name, n);
    return 0;
}
#else
int main(void) {
    T_SKIP_ON_WINDOWS("no splice on Windows: cio_prep_splice fails with -CIO_ENOTSUP at submit (documented)");
    puts("pool_cancel_stress: no splice here, skipped");
    return 77;
}
#endif
