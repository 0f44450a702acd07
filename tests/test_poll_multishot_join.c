/*
 * A multishot poll that joins a handle which is ready already, behind
 * another multishot poll that has reported that readiness, hears the
 * handle's current state at once, as io_uring's poll does when it is armed
 * (issue 7, multishot poll semantics: on epoll the edge-triggered watch was
 * not renewed, so the newcomer waited for the next edge, forever if none
 * came).
 *
 * Oracle: a byte written with plain write(2) and never read, so the handle
 * stays readable; completion counts.
 *
 * CIO_TEST_PORTABLE
 */
#include "test.h"


/* Runs turns until `t` has `n` multishot reports, or a bound of turns and
 * time passes. */
static void run_for_reports(cio_loop *loop, const t_op *t, int n) {
    double end = t_seconds() + 5;
    for (int turn = 0; turn < 200 && t->mores < n && t_seconds() < end; turn++)
        CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
}

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_fd sv[2];
    CHECK_EQ(t_socketpair(sv), 0);
    CHECK_EQ(t_sys_write(sv[1], "x", 1), 1);
    t_op first, late;
    cio_prep_poll(&first.op, sv[0], CIO_POLLIN);
    t_arm(&first);
    first.op.flags = CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(&loop, &first.op), 0);
    run_for_reports(&loop, &first, 1);
    CHECK(first.mores >= 1);

    cio_prep_poll(&late.op, sv[0], CIO_POLLIN);
    t_arm(&late);
    late.op.flags = CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(&loop, &late.op), 0);
    run_for_reports(&loop, &late, 1);
    if (late.mores < 1) {
        fprintf(stderr, "a multishot poll that joined a readable handle heard nothing\n");
        return 1;
    }
    CHECK_EQ(late.finals, 0);
    CHECK_EQ(first.finals, 0);
    CHECK_EQ(cio_cancel(&loop, &first.op), 0);
    CHECK_EQ(cio_cancel(&loop, &late.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(first.finals, 1);
    CHECK_EQ(first.res, -CIO_ECANCELED);
    CHECK_EQ(late.finals, 1);
    CHECK_EQ(late.res, -CIO_ECANCELED);
    t_close(&loop);
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);
    printf("poll_multishot_join: ok\n");
    return 0;
}
