/*
 * tests/test_pipe_edges.c - two corners of pipes that read(2) and poll(2)
 * settle, on every backend (found in review of the IOCP backend, R29, R10):
 *
 * - a read of 0 bytes on an empty pipe completes at once with 0, as
 *   read(2) does; it does not wait for data (a 0-byte ReadFile on a
 *   Windows pipe would);
 * - a poll for CIO_POLLIN | CIO_POLLOUT on a pipe's read end with bytes
 *   waiting reports CIO_POLLIN (poll(2) does; whether CIO_POLLOUT comes
 *   too differs: Linux never reports it for a read end, Windows cannot
 *   wait for room and always does), one-shot and multishot.
 *
 * Oracles: completion counts within a bounded number of turns (the empty
 * pipe gets no byte from anyone, so a read that waits never completes by
 * itself), the bytes the test wrote with plain calls, still all there.
 * CIO_TEST_PORTABLE
 */
#include "test.h"

/* Up to `turns` non-waiting turns, with short sleeps between (a system call
 * answered at once is reaped within them). */
static void spin(cio_loop *loop, const volatile int *flag, int turns) {
    for (int i = 0; i < turns && !*flag; i++) {
        CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
        if (!*flag) t_sleep_ms(2);
    }
}

static void zero_read(void) {
    cio_loop loop;
    t_loop_init(&loop, 16);
    cio_fd p[2];
    CHECK_EQ(t_pipe(p), 0);
    static char buf[1];
    t_op r;
    cio_prep_read(&r.op, p[0], buf, 0, CIO_OFFSET_CURRENT);
    t_arm(&r);
    CHECK_EQ(cio_submit(&loop, &r.op), 0);
    spin(&loop, &r.finals, 200);
    if (r.finals == 0) {
        fprintf(stderr, "a read of 0 bytes on an empty pipe waits (read(2) returns 0 at once)\n");
        CHECK_EQ(cio_cancel(&loop, &r.op), 0);
        t_run(&loop, 5);
        CHECK(!"zero-byte pipe read completed");
    }
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(r.res, 0);
    /* The pipe is still usable, and nothing was taken. */
    CHECK_EQ(t_sys_write(p[1], "xy", 2), 2);
    char got[4] = {0};
    cio_prep_read(&r.op, p[0], got, sizeof got, CIO_OFFSET_CURRENT);
    t_arm(&r);
    CHECK_EQ(cio_submit(&loop, &r.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(r.res, 2);
    CHECK(memcmp(got, "xy", 2) == 0);
    CHECK_EQ(t_close_handle(p[0]), 0);
    CHECK_EQ(t_close_handle(p[1]), 0);
    t_close(&loop);
}

static int mores;
static uint32_t first_more;

static void count_more(cio_loop *loop, cio_op *op) {
    if (op->flags & CIO_F_MORE) {
        if (mores++ == 0) first_more = (uint32_t)op->res;
        return;
    }
    t_cb(loop, op);
}

static void poll_in_out(bool multishot) {
    cio_loop loop;
    t_loop_init(&loop, 16);
    cio_fd p[2];
    CHECK_EQ(t_pipe(p), 0);
    CHECK_EQ(t_sys_write(p[1], "abc", 3), 3);
    t_op w;
    cio_prep_poll(&w.op, p[0], CIO_POLLIN | CIO_POLLOUT);
    t_arm(&w);
    mores = 0;
    first_more = 0;
    if (multishot) {
        w.op.flags |= CIO_F_MULTISHOT;
        w.op.cb = count_more;
    }
    CHECK_EQ(cio_submit(&loop, &w.op), 0);
    if (multishot) {
        spin(&loop, &mores, 200);
        CHECK(mores >= 1);
        if (!(first_more & CIO_POLLIN))
            fprintf(stderr, "multishot poll IN|OUT, 3 bytes waiting: reported %#x\n", (unsigned)first_more);
        CHECK(first_more & CIO_POLLIN);
        CHECK_EQ(cio_cancel(&loop, &w.op), 0);
        t_run(&loop, 5);
        CHECK_EQ(w.finals, 1);
        CHECK(w.res == -CIO_ECANCELED || (w.res > 0 && (w.res & CIO_POLLIN)));
    } else {
        t_run(&loop, 5);
        CHECK_EQ(w.finals, 1);
        if (!(w.res > 0 && (w.res & CIO_POLLIN)))
            fprintf(stderr, "poll IN|OUT, 3 bytes waiting: completed with %#x\n", (unsigned)w.res);
        CHECK(w.res > 0 && (w.res & CIO_POLLIN));
    }
    /* The poll took nothing. */
    char got[8] = {0};
    CHECK_EQ(t_sys_read(p[0], got, sizeof got), 3);
    CHECK(memcmp(got, "abc", 3) == 0);
    CHECK_EQ(t_close_handle(p[0]), 0);
    CHECK_EQ(t_close_handle(p[1]), 0);
    t_close(&loop);
}

int main(void) {
    t_alarm(30, "pipe edges");
    zero_read();
    poll_in_out(false);
    poll_in_out(true);
    printf("ok\n");
    return 0;
}
