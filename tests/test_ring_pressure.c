/* A 4-entry ring carrying 100,000 ops: the SQ fills again and again (cio
 * submits early and retries) and the 8-entry CQ overflows (the kernel holds
 * completions back and cio flushes them). No op may be lost or doubled.
 * CIO_TEST_PORTABLE: on the other backends the same 100,000 ops through a
 * 4-entry loop, each completed exactly once. */
#include "test.h"

enum { N = 100000 };

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 4);
    static t_op ops[N];

    /* All submitted before the loop runs: nothing reaps while the SQ is
     * flushed 25,000 times, so the CQ must overflow. */
    for (int i = 0; i < N; i++) {
        cio_prep_nop(&ops[i].op);
        t_arm(&ops[i]);
        CHECK_EQ(cio_submit(&loop, &ops[i].op), 0);
    }
    CHECK_EQ(cio_loop_active(&loop), N);
    t_run(&loop, 60);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(ops[i].finals, 1);
        CHECK_EQ(ops[i].res, 0);
    }
    cio_stats st;
    cio_loop_stats(&loop, &st);
    CHECK_EQ(st.ops_completed, N);
    if (cio_loop_backend(&loop) == CIO_BACKEND_URING) { /* the ring's own limits were hit */
        CHECK(st.sq_full_flushes > 0);
        CHECK(st.cq_overflows > 0);
    }
    printf("sq_full_flushes=%" PRIu64 " cq_overflows=%" PRIu64 " enters=%" PRIu64 "\n", st.sq_full_flushes,
           st.cq_overflows, st.enters);

    /* The same through batches of 1,000 with links, mixed with timers. */
    for (int round = 0; round < N / 1000; round++) {
        cio_op *batch[1000];
        for (int i = 0; i < 1000; i++) {
            t_op *t = &ops[round * 1000 + i];
            if (i % 10 == 0)
                cio_prep_timeout(&t->op, 0, 0);
            else
                cio_prep_nop(&t->op);
            t_arm(t);
            if (i % 3 == 0 && i + 1 < 1000) t->op.flags = CIO_F_LINK;
            batch[i] = &t->op;
        }
        CHECK_EQ(cio_submit_batch(&loop, batch, 1000), 0);
    }
    t_run(&loop, 60);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(ops[i].finals, 1);
        CHECK_EQ(ops[i].res, 0);
    }
    t_close(&loop);
    puts("ring_pressure: ok");
    return 0;
}
