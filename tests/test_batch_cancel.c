/* A cancel may name an op of its own batch (it used to be refused with
 * -CIO_EINVAL): an earlier op is cancelled in flight, a later one before it
 * starts. A batch that fails its checks takes none of its ops, which stay
 * usable. Oracle: completion counts and results; the peer is a plain
 * socketpair with no data.
 * CIO_TEST_PORTABLE.
 */
#include "test.h"


int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 16);
    cio_fd sv[2];
    CHECK_EQ(t_socketpair(sv), 0);
    char buf[8];

    /* Target first, then its cancel. */
    t_op rd, cancel, timer;
    cio_prep_recv(&rd.op, sv[0], buf, sizeof buf, 0);
    t_arm(&rd);
    cio_prep_cancel(&cancel.op, &rd.op);
    t_arm(&cancel);
    cio_op *b1[] = {&rd.op, &cancel.op};
    CHECK_EQ(cio_submit_batch(&loop, b1, 2), 0);
    t_run(&loop, 5);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
    CHECK_EQ(cancel.finals, 1);
    CHECK(cancel.res == 0 || cancel.res == -CIO_EALREADY);

    /* Cancel first, then its target: the target never starts. */
    cio_prep_cancel(&cancel.op, &timer.op);
    t_arm(&cancel);
    cio_prep_timeout(&timer.op, 3600ull * 1000000000, 0);
    t_arm(&timer);
    cio_op *b2[] = {&cancel.op, &timer.op};
    CHECK_EQ(cio_submit_batch(&loop, b2, 2), 0);
    t_run(&loop, 5);
    CHECK_EQ(cancel.finals, 1);
    CHECK_EQ(cancel.res, 0);
    CHECK_EQ(timer.finals, 1);
    CHECK_EQ(timer.res, -CIO_ECANCELED);

    /* The same op twice: refused, nothing taken, both usable after. */
    t_op a, b;
    cio_prep_nop(&a.op);
    t_arm(&a);
    cio_prep_nop(&b.op);
    t_arm(&b);
    cio_op *b3[] = {&a.op, &b.op, &a.op};
    CHECK_EQ(cio_submit_batch(&loop, b3, 3), -CIO_EALREADY);
    CHECK_EQ(cio_loop_active(&loop), 0);
    /* A bad op at the end: refused, nothing taken. */
    t_op bad;
    cio_prep_read(&bad.op, sv[0], NULL, 4, 0);
    t_arm(&bad);
    cio_op *b4[] = {&a.op, &b.op, &bad.op};
    CHECK_EQ(cio_submit_batch(&loop, b4, 3), -CIO_EINVAL);
    CHECK_EQ(bad.op.res, -CIO_EINVAL);
    CHECK_EQ(cio_loop_active(&loop), 0);
    /* A cancel naming an op that is in no batch and not in flight. */
    t_op idle;
    cio_prep_nop(&idle.op);
    cio_prep_cancel(&cancel.op, &idle.op);
    cio_op *b5[] = {&a.op, &cancel.op};
    CHECK_EQ(cio_submit_batch(&loop, b5, 2), -CIO_ENOENT);
    CHECK_EQ(cio_loop_active(&loop), 0);
    cio_op *b6[] = {&a.op, &b.op};
    CHECK_EQ(cio_submit_batch(&loop, b6, 2), 0);
    t_run(&loop, 5);
    CHECK_EQ(a.finals, 1);
    CHECK_EQ(b.finals, 1);
    CHECK_EQ(a.res, 0);

    t_close(&loop);
    t_close_handle(sv[0]);
    t_close_handle(sv[1]);
    printf("batch_cancel: ok\n");
    return 0;
}
