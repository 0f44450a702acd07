/* Bad input to the loop's entry points: a NULL loop, a loop never set up
 * (all zero), a loop whose set-up failed (over garbage), a closed loop.
 * Each call fails with a clear error or does nothing; none crashes, and a
 * working loop next to them loses nothing.
 * CIO_TEST_PORTABLE.
 */
#include "test.h"

#include <limits.h>

static void on_msg(cio_loop *loop, cio_op *op) {
    (void)loop;
    (void)op;
}

/* Every entry point refuses `loop` with `err` (or a neutral answer). */
static void refuses_everything(cio_loop *loop, int err) {
    cio_op op, msg, *ops[1] = {&op};
    cio_prep_nop(&op);
    CHECK_EQ(cio_submit(loop, &op), err);
    CHECK_EQ(cio_submit_batch(loop, ops, 1), err);
    CHECK_EQ(cio_cancel(loop, &op), err);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), err);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), err);
    CHECK_EQ(cio_loop_wake(loop), err);
    cio_prep_nop(&msg);
    msg.cb = on_msg;
    CHECK_EQ(cio_loop_post(loop, &msg), err);
    CHECK_EQ(cio_loop_at_close(loop, &msg), err);
    cio_fd fd;
    CHECK_EQ(cio_loop_fd(loop, &fd), err);
    CHECK_EQ(cio_loop_timeout(loop), err);
    CHECK_EQ(cio_loop_active(loop), 0);
    CHECK_EQ(cio_loop_backend(loop), CIO_BACKEND_AUTO);
    cio_loop_stop(loop);
    (void)cio_now(loop);
    (void)cio_loop_update_now(loop);
    cio_stats st;
    cio_loop_stats(loop, &st);
    CHECK_EQ(cio_loop_close(loop), -CIO_EINVAL);
    CHECK_EQ(op.res, 0); /* nothing ran */
}

int main(void) {
    t_watchdog();
    /* A working loop with an op in flight throughout. */
    cio_loop good;
    t_loop_init(&good, 8);
    t_op keep;
    cio_prep_timeout(&keep.op, 20 * 1000000, 0);
    t_arm(&keep);
    CHECK_EQ(cio_submit(&good, &keep.op), 0);

    refuses_everything(NULL, -CIO_EINVAL);

    cio_loop zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    refuses_everything(&zeroed, -CIO_EINVAL);

    /* A failed set-up over garbage leaves a loop that refuses cleanly. */
    cio_loop failed;
    memset(&failed, 0xab, sizeof failed);
    cio_loop_options bad = {0};
    bad.flags = 1;
    CHECK_EQ(cio_loop_init(&failed, &bad), -CIO_EINVAL);
    refuses_everything(&failed, -CIO_EINVAL);
    memset(&failed, 0xcd, sizeof failed);
    bad.flags = 0;
    bad.backend = (cio_backend_kind)77;
    CHECK_EQ(cio_loop_init(&failed, &bad), -CIO_EINVAL);
    refuses_everything(&failed, -CIO_EINVAL);
    const char *env = getenv("CIO_BACKEND");
    char saved[64] = "";
    if (env) snprintf(saved, sizeof saved, "%s", env);
    t_setenv("CIO_BACKEND", "no-such-backend");
    memset(&failed, 0xef, sizeof failed);
    CHECK_EQ(cio_loop_init(&failed, NULL), -CIO_EINVAL);
    refuses_everything(&failed, -CIO_EINVAL);
    if (env)
        t_setenv("CIO_BACKEND", saved);
    else
        t_unsetenv("CIO_BACKEND");
    CHECK_EQ(cio_loop_init(NULL, NULL), -CIO_EINVAL);

    /* A closed loop. */
    cio_loop closed;
    t_loop_init(&closed, 8);
    t_close(&closed);
    refuses_everything(&closed, -CIO_EINVAL);

    /* Strings for any number. */
    CHECK(cio_strerror(INT_MIN) != NULL);
    CHECK(cio_strerror(INT_MAX) != NULL);
    CHECK(strcmp(cio_strerror(-CIO_EINVAL), cio_strerror(CIO_EINVAL)) == 0);
    CHECK(strcmp(cio_strerror(0), "success") == 0);
    CHECK(strcmp(cio_op_name(-1), "invalid") == 0);
    CHECK(strcmp(cio_op_name(INT_MAX), "invalid") == 0);
    CHECK(cio_backend_name((cio_backend_kind)99) != NULL);

    /* The working loop lost nothing. */
    t_run(&good, 5);
    CHECK_EQ(keep.finals, 1);
    CHECK_EQ(keep.res, 0);
    t_close(&good);
    printf("bad_input_loop: ok\n");
    return 0;
}
