/* A splice from an empty pipe into another pipe blocks in the kernel (on
 * io_uring in a kernel worker, elsewhere on the blocking pool). Its
 * deadline must end it (-CIO_ETIMEDOUT, CLOCK_MONOTONIC oracle), and so
 * must a cancel (-CIO_ECANCELED, never a kernel-internal restart code such
 * as -512), from cio_cancel or from a CIO_OP_CANCEL op, also when the
 * cancel comes right after the submission. The pipes then still carry
 * bytes through splice unchanged. CIO_TEST_PORTABLE (skipped where there is no splice) */
#include "test.h"

#include <fcntl.h>

#if defined(__linux__) && !defined(CIO_POSIX_ONLY)
static const uint64_t ms = 1000000;

/* Bounded by `limit` when something wakes the loop, else by the alarm. */
static const char *phase = "";
static int round_no;

static void run_until(cio_loop *loop, t_op *t, double limit) {
    double end = t_seconds() + limit;
    while (t->finals == 0) {
        CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
        if (t_seconds() > end) {
            fprintf(stderr, "%s, round %d: splice still pending after %.1f s\n", phase, round_no, limit);
            exit(1);
        }
    }
}

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 16);
    alarm(60); /* a splice nobody can end blocks for good */
    int in[2], out[2];
    CHECK_EQ(pipe(in), 0);
    CHECK_EQ(pipe(out), 0);
    t_op sp, cancel;

    /* The deadline ends it, no earlier than the deadline, well within 5 s. */
    phase = "deadline";
    for (int i = 0; i < 3; i++) {
        round_no = i;
        cio_prep_splice(&sp.op, in[0], CIO_OFFSET_CURRENT, out[1], CIO_OFFSET_CURRENT, 4096, 0);
        t_arm(&sp);
        uint64_t t0 = mono_ns(); /* cio_now()'s clock, read afresh */
        sp.op.deadline = t0 + 100 * ms;
        CHECK_EQ(cio_submit(&loop, &sp.op), 0);
        run_until(&loop, &sp, 5);
        uint64_t t1 = mono_ns();
        CHECK_EQ(sp.finals, 1);
        CHECK_EQ(sp.res, -CIO_ETIMEDOUT);
        CHECK(t1 >= sp.op.deadline);
        CHECK(t1 - t0 >= 99 * ms);
    }

    /* cio_cancel, once the splice blocks. */
    phase = "cio_cancel";
    cio_prep_splice(&sp.op, in[0], CIO_OFFSET_CURRENT, out[1], CIO_OFFSET_CURRENT, 4096, 0);
    t_arm(&sp);
    CHECK_EQ(cio_submit(&loop, &sp.op), 0);
    CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    usleep(30000);
    CHECK_EQ(cio_cancel(&loop, &sp.op), 0);
    run_until(&loop, &sp, 5);
    CHECK_EQ(sp.res, -CIO_ECANCELED);

    /* A CIO_OP_CANCEL op, with and without a deadline on the splice. */
    phase = "CIO_OP_CANCEL";
    for (int i = 0; i < 2; i++) {
        round_no = i;
        cio_prep_splice(&sp.op, in[0], CIO_OFFSET_CURRENT, out[1], CIO_OFFSET_CURRENT, 4096, 0);
        t_arm(&sp);
        if (i) sp.op.deadline = cio_now(&loop) + 60000 * ms;
        CHECK_EQ(cio_submit(&loop, &sp.op), 0);
        CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
        usleep(30000);
        cio_prep_cancel(&cancel.op, &sp.op);
        t_arm(&cancel);
        CHECK_EQ(cio_submit(&loop, &cancel.op), 0);
        run_until(&loop, &sp, 5);
        run_until(&loop, &cancel, 5);
        CHECK_EQ(sp.res, -CIO_ECANCELED);
        CHECK(cancel.res == 0 || cancel.res == -CIO_EALREADY);
    }

    /* Cancelled at once, again and again: whether the worker (or pool
     * thread) is interrupted before, in or after the system call, the
     * result is -CIO_ECANCELED. */
    phase = "cancelled at once";
    for (int i = 0; i < 200; i++) {
        round_no = i;
        cio_prep_splice(&sp.op, in[0], CIO_OFFSET_CURRENT, out[1], CIO_OFFSET_CURRENT, 4096, 0);
        t_arm(&sp);
        CHECK_EQ(cio_submit(&loop, &sp.op), 0);
        if (i % 2) CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
        for (volatile int spin = 0; spin < (i % 10) * 2000; spin++) {
        }
        CHECK_EQ(cio_cancel(&loop, &sp.op), 0);
        run_until(&loop, &sp, 5);
        if (sp.res != -CIO_ECANCELED) fprintf(stderr, "round %d: splice ended with %d\n", i, sp.res);
        CHECK_EQ(sp.finals, 1);
        CHECK_EQ(sp.res, -CIO_ECANCELED);
    }

    /* The pipes still work, and nothing was lost or made up. */
    CHECK_EQ(write(in[1], "splice!", 7), 7);
    cio_prep_splice(&sp.op, in[0], CIO_OFFSET_CURRENT, out[1], CIO_OFFSET_CURRENT, 4096, 0);
    t_arm(&sp);
    sp.op.deadline = cio_now(&loop) + 5000 * ms;
    CHECK_EQ(cio_submit(&loop, &sp.op), 0);
    run_until(&loop, &sp, 5);
    CHECK_EQ(sp.res, 7);
    char buf[16];
    CHECK_EQ(fcntl(out[0], F_SETFL, O_NONBLOCK), 0);
    CHECK_EQ(read(out[0], buf, sizeof buf), 7);
    CHECK(memcmp(buf, "splice!", 7) == 0);

    t_close(&loop);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    puts("splice_deadline: ok");
    return 0;
}
#else
int main(void) {
    T_SKIP_ON_WINDOWS("no splice on Windows: cio_prep_splice fails with -CIO_ENOTSUP at submit (documented)");
    puts("splice_deadline: no splice here, skipped");
    return 77;
}
#endif
