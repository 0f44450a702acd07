/* Cancel: any op in flight, by op or by cio_cancel(); the cancel reports
 * whether it found the target, and the target completes exactly once.
 * CIO_TEST_PORTABLE.
 */
#include "test.h"

#include <unistd.h>

int main(void) {
    cio_loop loop, other;
    t_loop_init(&loop, 16);
    t_loop_init(&other, 16);
    cio_fd fds[2];
    CHECK_EQ(t_pipe(fds), 0);
    char in[8];

    /* A read pending on an empty pipe, cancelled by an op. */
    t_op rd, cancel;
    cio_prep_read(&rd.op, fds[0], in, sizeof in, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(&loop, &rd.op), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 1); /* now truly in the kernel */
    cio_prep_cancel(&cancel.op, &rd.op);
    t_arm(&cancel);
    CHECK_EQ(cio_submit(&loop, &cancel.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(cancel.finals, 1);
    CHECK_EQ(cancel.res, 0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);

    /* The same, cancelled in the same turn it was submitted. */
    t_arm(&rd);
    cio_prep_read(&rd.op, fds[0], in, sizeof in, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(&loop, &rd.op), 0);
    CHECK_EQ(cio_cancel(&loop, &rd.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);

    /* A read that already finished in the kernel, not yet reaped: the cancel
     * finds nothing and the read keeps its result. */
    CHECK_EQ(t_sys_write(fds[1], "data", 4), 4);
    cio_prep_read(&rd.op, fds[0], in, sizeof in, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(&loop, &rd.op), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 0); /* completes here */
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, 4);
    cio_prep_cancel(&cancel.op, &rd.op);
    t_arm(&cancel);
    CHECK_EQ(cio_submit(&loop, &cancel.op), -CIO_ENOENT); /* not in flight: refused */
    CHECK_EQ(cio_cancel(&loop, &rd.op), -CIO_ENOENT);

    /* Target completed by the kernel but not yet delivered: a timer that
     * fired is queued for its callback when the cancel arrives. */
    t_op tm;
    cio_prep_timeout(&tm.op, 0, 0);
    t_arm(&tm);
    CHECK_EQ(cio_submit(&loop, &tm.op), 0);
    cio_prep_cancel(&cancel.op, &tm.op);
    t_arm(&cancel);
    CHECK_EQ(cio_submit(&loop, &cancel.op), 0); /* timer still pending: found */
    t_run(&loop, 5);
    CHECK_EQ(cancel.res, 0);
    CHECK_EQ(tm.res, -CIO_ECANCELED);
    CHECK_EQ(tm.finals, 1);

    /* A long timer cancelled with cio_cancel(). */
    cio_prep_timeout(&tm.op, 60ull * 1000000000, 0);
    t_arm(&tm);
    CHECK_EQ(cio_submit(&loop, &tm.op), 0);
    CHECK_EQ(cio_cancel(&loop, &tm.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(tm.finals, 1);
    CHECK_EQ(tm.res, -CIO_ECANCELED);

    /* A multishot poll: cancelled, its final completion has no CIO_F_MORE. */
    t_op poll;
    cio_prep_poll(&poll.op, fds[1], CIO_POLLOUT);
    t_arm(&poll);
    poll.op.flags = CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(&loop, &poll.op), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 1);
    CHECK(poll.mores >= 1); /* writable right away */
    CHECK_EQ(poll.finals, 0);
    CHECK_EQ(cio_cancel(&loop, &poll.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(poll.finals, 1);
    CHECK_EQ(poll.res, -CIO_ECANCELED);
    CHECK_EQ(poll.op.flags & CIO_F_MORE, 0);

    /* Bad cancels: of an op of another loop, of itself, of nothing. */
    cio_prep_read(&rd.op, fds[0], in, sizeof in, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(&other, &rd.op), 0);
    cio_prep_cancel(&cancel.op, &rd.op);
    t_arm(&cancel);
    CHECK_EQ(cio_submit(&loop, &cancel.op), -CIO_EINVAL);
    CHECK_EQ(cio_cancel(&loop, &rd.op), -CIO_ENOENT);
    cio_prep_cancel(&cancel.op, &cancel.op);
    CHECK_EQ(cio_submit(&loop, &cancel.op), -CIO_EINVAL);
    cio_prep_cancel(&cancel.op, NULL);
    CHECK_EQ(cio_submit(&loop, &cancel.op), -CIO_EINVAL);
    CHECK_EQ(cio_cancel(&loop, NULL), -CIO_EINVAL);
    CHECK_EQ(cancel.finals, 0);
    /* The read on the other loop is untouched by all that. */
    CHECK_EQ(cio_loop_active(&other), 1);
    CHECK_EQ(cio_cancel(&other, &rd.op), 0);
    t_run(&other, 5);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);

    /* 1,000 pending reads cancelled by 1,000 cancel ops in one batch. */
    enum { M = 1000 };
    static t_op reads[M], cancels[M];
    static char bufs[M][4];
    cio_op *batch[2 * M];
    for (int i = 0; i < M; i++) {
        cio_prep_read(&reads[i].op, fds[0], bufs[i], 4, CIO_OFFSET_CURRENT);
        t_arm(&reads[i]);
        CHECK_EQ(cio_submit(&loop, &reads[i].op), 0);
    }
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), M);
    for (int i = 0; i < M; i++) {
        cio_prep_cancel(&cancels[i].op, &reads[i].op);
        t_arm(&cancels[i]);
        batch[i] = &cancels[i].op;
    }
    CHECK_EQ(cio_submit_batch(&loop, batch, M), 0);
    t_run(&loop, 10);
    for (int i = 0; i < M; i++) {
        CHECK_EQ(reads[i].finals, 1);
        CHECK_EQ(reads[i].res, -CIO_ECANCELED);
        CHECK_EQ(cancels[i].finals, 1);
        CHECK_EQ(cancels[i].res, 0);
    }
    t_close_handle(fds[0]);
    t_close_handle(fds[1]);
    t_close(&loop);
    t_close(&other);
    puts("cancel: ok");
    return 0;
}
