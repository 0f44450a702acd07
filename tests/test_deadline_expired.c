/*
 * test_deadline_expired - an op that starts past its deadline fails with -CIO_ETIMEDOUT without
 * running, on every backend; a close is exempt and still closes.
 *
 * Regressions found by a program written from the headers alone: inside a deadline scope that
 * had already run out, cio_call() ran the user's function and returned its result about half
 * the time (whichever came first, a pool thread or the loop's next turn, won), and an awaited
 * close took the scope's deadline like any op, so a late clean-up could leave a handle open.
 * The oracles: a counter the function bumps (it must stay 0), and fcntl(2) on the closed
 * descriptor (EBADF) on POSIX.
 *
 * CIO_TEST_PORTABLE
 *
 * CIO_TEST_SEEDS: it also runs under 1,000 mock seeds, and 200 with faults (tests/CMakeLists.txt).
 */
#include "test.h"

#include <cio.h>

#if !defined(_WIN32)
#include <fcntl.h>
#endif

#define ROUNDS 200

static int ran; /* bumped by the pool function: the oracle */

static int32_t bump(void *arg) {
    (void)arg;
    __atomic_fetch_add(&ran, 1, __ATOMIC_RELAXED);
    return 7;
}

static intptr_t body(void *arg) {
    (void)arg;
    cio_loop *loop = cio_task_loop();
    int timed_out = 0, faulted = 0;

    /* A passed deadline, through both ways of giving one. */
    for (int i = 0; i < ROUNDS; i++) {
        uint64_t prev = (i & 1) ? cio_deadline_push_after(0) : cio_deadline_push(cio_now(loop));
        int32_t r = cio_call(bump, NULL);
        cio_deadline_pop(prev);
        if (r == -CIO_ETIMEDOUT)
            timed_out++;
        else if (r == 7)
            fprintf(stderr, "round %d: the call ran past its deadline\n", i);
        else
            faulted++; /* an injected fault on the mock */
    }
    CHECK_EQ(__atomic_load_n(&ran, __ATOMIC_RELAXED), 0);
    CHECK_EQ(timed_out + faulted, ROUNDS);

    /* The same for a plain op with its own deadline, submitted outside any scope. */
    cio_op op;
    cio_prep_call(&op, bump, NULL);
    op.deadline = cio_now(loop);
    CHECK_EQ(cio_await(&op), -CIO_ETIMEDOUT);
    CHECK_EQ(__atomic_load_n(&ran, __ATOMIC_RELAXED), 0);

    /* A close inside a scope that ran out still closes. */
    cio_fd p[2];
    int32_t r = cio_pipe(loop, p);
    if (r < 0) return r; /* a fault on the mock */
    uint64_t prev = cio_deadline_push_after(0);
    CHECK_EQ(cio_close(p[0]), 0);
    CHECK_EQ(cio_close(p[1]), 0);
    cio_deadline_pop(prev);
#if !defined(_WIN32)
    const char *be = getenv("CIO_BACKEND");
    if (!be || strcmp(be, "mock") != 0) {
        CHECK_EQ(fcntl((int)p[0], F_GETFD), -1);
        CHECK_EQ(fcntl((int)p[1], F_GETFD), -1);
    }
#endif
    printf("%d calls past their deadline: none ran (%d faults); the closes closed\n", ROUNDS, faulted);
    return 0;
}

int main(void) {
    t_watchdog();
    intptr_t rc = -1;
    CHECK_EQ(cio_main(body, NULL, NULL, &rc), 0);
    CHECK_EQ(rc, 0);
    return 0;
}
