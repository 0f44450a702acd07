/* Closing a loop with ops in flight: each one completes exactly once, from
 * inside cio_loop_close(), before the loop is gone.
 * CIO_TEST_PORTABLE.
 */
#include "test.h"

#include <unistd.h>

static int resubmit_result = 1;
static int nested_close = 1, nested_run = 1;

static void try_resubmit(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    if (op->flags & CIO_F_MORE) return;
    resubmit_result = cio_submit(loop, op); /* the loop is closing: refused */
}

static void try_nested(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    nested_close = cio_loop_close(loop);
    nested_run = cio_loop_run(loop, CIO_RUN_NOWAIT);
}

static int message_seen;
static void on_message(cio_loop *loop, cio_op *op) {
    (void)loop;
    (void)op;
    message_seen++;
}

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 16);
    cio_fd fds[2];
    CHECK_EQ(t_pipe(fds), 0);

    /* Nested close and run from a callback are refused. */
    t_op n;
    cio_prep_nop(&n.op);
    t_arm(&n);
    n.op.cb = try_nested;
    CHECK_EQ(cio_submit(&loop, &n.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(n.finals, 1);
    CHECK_EQ(nested_close, -CIO_EBUSY);
    CHECK_EQ(nested_run, -CIO_EBUSY);

    enum { READS = 10, TIMERS = 10 };
    t_op reads[READS], timers[TIMERS], poll, chain[3], hard[2], ready_timer, nop;
    char bufs[READS][8];
    for (int i = 0; i < READS; i++) {
        cio_prep_read(&reads[i].op, fds[0], bufs[i], 8, CIO_OFFSET_CURRENT);
        t_arm(&reads[i]);
        reads[i].op.cb = try_resubmit;
        CHECK_EQ(cio_submit(&loop, &reads[i].op), 0);
    }
    for (int i = 0; i < TIMERS; i++) {
        cio_prep_timeout(&timers[i].op, 3600ull * 1000000000, 0);
        t_arm(&timers[i]);
        CHECK_EQ(cio_submit(&loop, &timers[i].op), 0);
    }
    cio_prep_poll(&poll.op, fds[0], CIO_POLLIN);
    t_arm(&poll);
    poll.op.flags = CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(&loop, &poll.op), 0);
    /* Some of it truly in the kernel before the close. */
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), READS + TIMERS + 1);

    /* A soft chain behind a long timer, and a hard one behind a pending read. */
    cio_prep_timeout(&chain[0].op, 3600ull * 1000000000, 0);
    cio_prep_nop(&chain[1].op);
    cio_prep_nop(&chain[2].op);
    for (int i = 0; i < 3; i++) t_arm(&chain[i]);
    chain[0].op.flags = chain[1].op.flags = CIO_F_LINK;
    cio_op *cp[3] = {&chain[0].op, &chain[1].op, &chain[2].op};
    CHECK_EQ(cio_submit_batch(&loop, cp, 3), 0);
    char hb[4];
    cio_prep_read(&hard[0].op, fds[0], hb, 4, CIO_OFFSET_CURRENT);
    cio_prep_nop(&hard[1].op);
    t_arm(&hard[0]);
    t_arm(&hard[1]);
    hard[0].op.flags = CIO_F_HARDLINK;
    cio_op *hp[2] = {&hard[0].op, &hard[1].op};
    CHECK_EQ(cio_submit_batch(&loop, hp, 2), 0);
    /* Submitted but never run through the kernel, and a result already known. */
    cio_prep_nop(&nop.op);
    t_arm(&nop);
    CHECK_EQ(cio_submit(&loop, &nop.op), 0);
    cio_prep_timer_remove(&ready_timer.op, &timers[0].op);
    t_arm(&ready_timer);
    CHECK_EQ(cio_submit(&loop, &ready_timer.op), 0);
    /* A message queued for the loop. */
    cio_op msg;
    cio_prep_nop(&msg);
    msg.cb = on_message;
    CHECK_EQ(cio_loop_post(&loop, &msg), 0);

    CHECK_EQ(cio_loop_close(&loop), 0);

    for (int i = 0; i < READS; i++) {
        CHECK_EQ(reads[i].finals, 1);
        CHECK_EQ(reads[i].res, -CIO_ECANCELED);
    }
    CHECK_EQ(resubmit_result, -CIO_ECANCELED);
    for (int i = 0; i < TIMERS; i++) {
        CHECK_EQ(timers[i].finals, 1);
        CHECK_EQ(timers[i].res, -CIO_ECANCELED);
    }
    CHECK_EQ(poll.finals, 1);
    CHECK_EQ(poll.res, -CIO_ECANCELED);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(chain[i].finals, 1);
        CHECK_EQ(chain[i].res, -CIO_ECANCELED);
    }
    CHECK_EQ(hard[0].finals, 1);
    CHECK_EQ(hard[0].res, -CIO_ECANCELED);
    CHECK_EQ(hard[1].finals, 1);
    CHECK_EQ(hard[1].res, -CIO_ECANCELED); /* the hard link may not start once closing */
    CHECK_EQ(nop.finals, 1);
    CHECK(nop.res == 0 || nop.res == -CIO_ECANCELED);
    CHECK_EQ(ready_timer.finals, 1);
    CHECK_EQ(ready_timer.res, 0);
    CHECK_EQ(message_seen, 1);

    /* A closed loop refuses everything cleanly. */
    CHECK_EQ(cio_loop_close(&loop), -CIO_EINVAL);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), -CIO_EINVAL);
    cio_prep_nop(&nop.op);
    CHECK_EQ(cio_submit(&loop, &nop.op), -CIO_EINVAL);
    CHECK_EQ(cio_loop_wake(&loop), -CIO_EINVAL);
    CHECK_EQ(cio_loop_post(&loop, &msg), -CIO_EINVAL);
    cio_fd lfd;
    CHECK_EQ(cio_loop_fd(&loop, &lfd), -CIO_EINVAL);

    /* Init and close many times: nothing leaks (file descriptors included). */
    int handles_before = t_handle_count();
    for (int i = 0; i < 200; i++) {
        cio_loop l;
        t_loop_init(&l, 8);
        t_op t;
        cio_prep_timeout(&t.op, 3600ull * 1000000000, 0);
        t_arm(&t);
        CHECK_EQ(cio_submit(&l, &t.op), 0);
        t_close(&l);
        CHECK_EQ(t.finals, 1);
    }
    /* Handles were returned: a leak of one per loop would be 200. */
    CHECK(t_handle_count() <= handles_before + 8);
#if !defined(_WIN32)
    int probe = dup(0);
    CHECK(probe >= 0 && probe < 64); /* descriptors were returned, the lowest free number says so too */
    close(probe);
#endif
    t_close_handle(fds[0]);
    t_close_handle(fds[1]);
    puts("close: ok");
    return 0;
}
