/*
 * test_loop_is_closing - cio_loop_is_closing() on every backend: false for
 * NULL, before and while the loop runs, and inside the callback of an op
 * its own cancel ends; true inside the callback of an op that
 * cio_loop_close() ends. The oracle is the op's result (-CIO_ECANCELED in
 * both cases: only the call tells them apart).
 * CIO_TEST_PORTABLE.
 */
#include "test.h"

typedef struct seen {
    t_op t;
    int closing; /* cio_loop_is_closing() in the callback */
} seen;

static void on_done(cio_loop *loop, cio_op *op) {
    seen *s = (seen *)op;
    s->closing = cio_loop_is_closing(loop);
    t_cb(loop, op);
}

static void arm(seen *s, cio_loop *loop) {
    cio_prep_timeout(&s->t.op, 3600ull * 1000 * 1000 * 1000, 0); /* an hour: it never fires here */
    t_arm(&s->t);
    s->t.op.cb = on_done;
    s->closing = -1;
    CHECK_EQ(cio_submit(loop, &s->t.op), 0);
}

int main(void) {
    t_watchdog();
    CHECK(!cio_loop_is_closing(NULL));
    cio_loop loop;
    t_loop_init(&loop, 8);
    CHECK(!cio_loop_is_closing(&loop));

    seen own;
    arm(&own, &loop);
    CHECK_EQ(cio_cancel(&loop, &own.t.op), 0);
    t_run(&loop, 10.0);
    CHECK_EQ(own.t.finals, 1);
    CHECK_EQ(own.t.res, -CIO_ECANCELED);
    CHECK_EQ(own.closing, 0);

    seen left;
    arm(&left, &loop);
    CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    CHECK_EQ(left.t.finals, 0);
    t_close(&loop);
    CHECK_EQ(left.t.finals, 1);
    CHECK_EQ(left.t.res, -CIO_ECANCELED);
    CHECK_EQ(left.closing, 1);
    CHECK(!cio_loop_is_closing(&loop)); /* closed: no longer */
    puts("loop_is_closing: ok");
    return 0;
}
