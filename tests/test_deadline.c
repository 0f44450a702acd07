/* Deadlines: any op may carry an absolute deadline; past it the op fails
 * with -CIO_ETIMEDOUT, before it the op completes normally.
 * CIO_TEST_PORTABLE.
 */
#include "test.h"

#include <unistd.h>

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 16);
    cio_fd fds[2];
    CHECK_EQ(t_pipe(fds), 0);
    char in[8];
    const uint64_t ms = 1000000;

    /* A read that never gets data times out. */
    t_op rd;
    cio_prep_read(&rd.op, fds[0], in, sizeof in, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    rd.op.deadline = cio_now(&loop) + 10 * ms;
    CHECK_EQ(cio_submit(&loop, &rd.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ETIMEDOUT);
    CHECK(cio_loop_update_now(&loop) >= rd.op.deadline);

    /* A read whose data is there completes normally; the deadline is dropped. */
    CHECK_EQ(t_sys_write(fds[1], "ok", 2), 2);
    cio_prep_read(&rd.op, fds[0], in, sizeof in, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    rd.op.deadline = cio_now(&loop) + 1000 * ms;
    CHECK_EQ(cio_submit(&loop, &rd.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(rd.res, 2);

    /* A deadline already past: the op fails at once (it cannot complete). */
    cio_prep_poll(&rd.op, fds[0], CIO_POLLIN);
    t_arm(&rd);
    rd.op.deadline = 1;
    CHECK_EQ(cio_submit(&loop, &rd.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(rd.res, -CIO_ETIMEDOUT);

    /* A timer whose deadline comes first fails with -CIO_ETIMEDOUT; one whose
     * deadline comes later fires normally. */
    t_op t1, t2;
    cio_prep_timeout(&t1.op, 1000 * ms, 0);
    t_arm(&t1);
    t1.op.deadline = cio_now(&loop) + 5 * ms;
    cio_prep_timeout(&t2.op, 5 * ms, 0);
    t_arm(&t2);
    t2.op.deadline = cio_now(&loop) + 1000 * ms;
    CHECK_EQ(cio_submit(&loop, &t1.op), 0);
    CHECK_EQ(cio_submit(&loop, &t2.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(t1.res, -CIO_ETIMEDOUT);
    CHECK_EQ(t2.res, 0);

    /* A cancelled op with a deadline reports the cancel, not a timeout. */
    cio_prep_read(&rd.op, fds[0], in, sizeof in, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    rd.op.deadline = cio_now(&loop) + 1000 * ms;
    CHECK_EQ(cio_submit(&loop, &rd.op), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(cio_cancel(&loop, &rd.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);

    /* Deadlines inside a chain: the second op times out, the third is
     * cancelled by the broken soft link. */
    t_op c[3];
    cio_prep_nop(&c[0].op);
    cio_prep_read(&c[1].op, fds[0], in, sizeof in, CIO_OFFSET_CURRENT);
    cio_prep_nop(&c[2].op);
    for (int i = 0; i < 3; i++) t_arm(&c[i]);
    c[0].op.flags = c[1].op.flags = CIO_F_LINK;
    c[1].op.deadline = cio_now(&loop) + 5 * ms;
    cio_op *cp[3] = {&c[0].op, &c[1].op, &c[2].op};
    CHECK_EQ(cio_submit_batch(&loop, cp, 3), 0);
    t_run(&loop, 5);
    CHECK_EQ(c[0].res, 0);
    CHECK_EQ(c[1].res, -CIO_ETIMEDOUT);
    CHECK_EQ(c[2].res, -CIO_ECANCELED);

    /* 1,000 reads with staggered deadlines all time out, each once. */
    enum { M = 1000 };
    static t_op reads[M];
    static char bufs[M][4];
    for (int i = 0; i < M; i++) {
        cio_prep_read(&reads[i].op, fds[0], bufs[i], 4, CIO_OFFSET_CURRENT);
        t_arm(&reads[i]);
        reads[i].op.deadline = cio_now(&loop) + (uint64_t)(i % 20 + 1) * ms;
        CHECK_EQ(cio_submit(&loop, &reads[i].op), 0);
    }
    t_run(&loop, 10);
    for (int i = 0; i < M; i++) {
        CHECK_EQ(reads[i].finals, 1);
        CHECK_EQ(reads[i].res, -CIO_ETIMEDOUT);
    }
    t_close_handle(fds[0]);
    t_close_handle(fds[1]);
    t_close(&loop);
    puts("deadline: ok");
    return 0;
}
