/* nop: single and batch submission, completion order, counters.
 * CIO_TEST_PORTABLE */
#include "test.h"

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    CHECK_EQ(cio_loop_backend(&loop) != CIO_BACKEND_AUTO, 1);

    t_op single;
    cio_prep_nop(&single.op);
    t_arm(&single);
    single.op.tag = 7;
    CHECK_EQ(cio_submit(&loop, &single.op), 0);
    CHECK_EQ(cio_loop_active(&loop), 1);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(single.finals, 1);
    CHECK_EQ(single.res, 0);
    CHECK_EQ(single.op.tag, 7);
    CHECK_EQ(cio_loop_active(&loop), 0);

    /* A batch of 200 (more than the 64-entry ring) all complete once. */
    enum { N = 200 };
    static t_op ops[N];
    cio_op *ptrs[N];
    for (int i = 0; i < N; i++) {
        cio_prep_nop(&ops[i].op);
        t_arm(&ops[i]);
        ptrs[i] = &ops[i].op;
    }
    CHECK_EQ(cio_submit_batch(&loop, ptrs, N), 0);
    CHECK_EQ(cio_loop_active(&loop), N);
    t_run(&loop, 10);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(ops[i].finals, 1);
        CHECK_EQ(ops[i].res, 0);
    }

    /* A completed op may be submitted again. */
    CHECK_EQ(cio_submit(&loop, &single.op), 0);
    t_run(&loop, 10);
    CHECK_EQ(single.finals, 2);

    cio_stats st;
    cio_loop_stats(&loop, &st);
    CHECK_EQ(st.ops_submitted, N + 2);
    CHECK_EQ(st.ops_completed, N + 2);
    if (cio_loop_backend(&loop) == CIO_BACKEND_URING) {
        /* Each nop went through the kernel. (The readiness backends
         * complete a nop on the loop's thread without a system call.) */
        CHECK(st.enters >= 1);
        CHECK(st.kernel_completions >= N + 2);
    }
    CHECK(st.turns >= 1);

    /* NOWAIT with nothing to do returns at once. */
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_ONCE), 0);
    t_close(&loop);
    puts("nop: ok");
    return 0;
}
