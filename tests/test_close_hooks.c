/* cio_loop_at_close(): each hook completes exactly once, inside the close
 * after every op has completed (newest hook first, with res 0), or with
 * -CIO_ECANCELED when cancelled first. Hooks never keep a loop running.
 * CIO_TEST_PORTABLE.
 */
#include "test.h"

static int order[8], norder;
static int submit_in_hook = 1;
static int ops_done_when_hook_ran = -1;
static t_op slow_timer;

static void on_hook(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    order[norder++] = op->tag;
    if (op->tag == 2) {
        /* Every op is over, and the loop takes no more. */
        ops_done_when_hook_ran = slow_timer.finals;
        cio_op nop;
        cio_prep_nop(&nop);
        submit_in_hook = cio_submit(loop, &nop);
        CHECK_EQ(cio_loop_active(loop), 0);
    }
}

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 16);

    t_op hooks[4];
    for (int i = 0; i < 4; i++) {
        cio_prep_nop(&hooks[i].op);
        t_arm(&hooks[i]);
        hooks[i].op.cb = on_hook;
        hooks[i].op.tag = (uint16_t)i;
        CHECK_EQ(cio_loop_at_close(&loop, &hooks[i].op), 0);
    }
    CHECK_EQ(cio_loop_at_close(&loop, &hooks[0].op), -CIO_EALREADY);
    CHECK_EQ(cio_loop_active(&loop), 0);

    /* Bad input. */
    t_op bad;
    cio_prep_timeout(&bad.op, 1, 0);
    t_arm(&bad);
    CHECK_EQ(cio_loop_at_close(&loop, &bad.op), -CIO_EINVAL); /* not a nop */
    cio_prep_nop(&bad.op);
    CHECK_EQ(cio_loop_at_close(&loop, &bad.op), -CIO_EINVAL); /* no callback */
    CHECK_EQ(cio_loop_at_close(NULL, &hooks[0].op), -CIO_EINVAL);
    CHECK_EQ(cio_loop_at_close(&loop, NULL), -CIO_EINVAL);

    /* A registered hook is not an op of cio_submit(): not active, not counted. */
    cio_stats st;
    cio_loop_stats(&loop, &st);
    CHECK_EQ(st.ops_submitted, 0);
    /* A registered hook does not keep the loop running. */
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(hooks[0].finals + hooks[1].finals + hooks[2].finals + hooks[3].finals, 0);

    /* Cancelling one completes it with -CIO_ECANCELED at the next turn. */
    CHECK_EQ(cio_cancel(&loop, &hooks[1].op), 0);
    CHECK_EQ(hooks[1].finals, 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 0);
    CHECK_EQ(hooks[1].finals, 1);
    CHECK_EQ(hooks[1].res, -CIO_ECANCELED);
    CHECK_EQ(cio_cancel(&loop, &hooks[1].op), -CIO_ENOENT);
    cio_loop_stats(&loop, &st);
    CHECK_EQ(st.ops_submitted, st.ops_completed);
    norder = 0;

    /* An op still in flight at close completes before any hook runs. */
    cio_prep_timeout(&slow_timer.op, 3600ull * 1000000000, 0);
    t_arm(&slow_timer);
    CHECK_EQ(cio_submit(&loop, &slow_timer.op), 0);

    t_close(&loop);
    CHECK_EQ(slow_timer.finals, 1);
    CHECK_EQ(slow_timer.res, -CIO_ECANCELED);
    CHECK_EQ(ops_done_when_hook_ran, 1);
    CHECK_EQ(submit_in_hook, -CIO_ECANCELED);
    for (int i = 0; i < 4; i++) CHECK_EQ(hooks[i].finals, 1);
    CHECK_EQ(hooks[0].res, 0);
    CHECK_EQ(hooks[3].res, 0);
    /* Newest first: 3, 2, 0 (1 was cancelled). */
    CHECK_EQ(norder, 3);
    CHECK_EQ(order[0], 3);
    CHECK_EQ(order[1], 2);
    CHECK_EQ(order[2], 0);
    printf("close_hooks: ok\n");
    return 0;
}
