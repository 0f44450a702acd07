/* cio_loop_fd: another event loop (here poll(2), and a second cio loop
 * through CIO_OP_POLL) can wait on a cio loop and drive it.
 * CIO_TEST_PORTABLE: on Windows the handle is the loop's completion port,
 * waited on with WaitForSingleObject; a poll op cannot watch a port (IOCP
 * polls sockets and pipes only), so the loop-in-a-loop case is skipped there. */
#include "test.h"

static int wait_readable(cio_fd fd, int ms) { return t_wait_readable(fd, ms); }

static void *post_later(void *arg) {
    t_sleep_ms(10);
    static t_op msg;
    cio_prep_nop(&msg.op);
    t_arm(&msg);
    CHECK_EQ(cio_loop_post(arg, &msg.op), 0);
    return NULL;
}

int main(void) {
    cio_loop inner, outer;
    t_loop_init(&inner, 16);
    t_loop_init(&outer, 16);
    cio_fd fd;
    if (cio_loop_backend(&inner) == CIO_BACKEND_POLL) {
        /* A poll(2) set cannot be waited on from outside: documented. */
        CHECK_EQ(cio_loop_fd(&inner, &fd), -CIO_ENOTSUP);
        t_close(&inner);
        t_close(&outer);
        puts("loop_fd: ok (no pollable handle on the poll backend)");
        return 0;
    }
    CHECK_EQ(cio_loop_fd(&inner, &fd), 0);
    cio_fd again;
    CHECK_EQ(cio_loop_fd(&inner, &again), 0);
    CHECK_EQ(again, fd);
    CHECK_EQ(cio_loop_fd(&inner, NULL), -CIO_EINVAL);

    /* Nothing pending: not readable, and no timer to wait for. */
    CHECK_EQ(cio_loop_timeout(&inner), -1);
    CHECK_EQ(wait_readable(fd, 0), 0);

    /* A pipe read becomes a completion: the fd turns readable. */
    cio_fd fds[2];
    CHECK_EQ(t_pipe(fds), 0);
    char buf[4];
    t_op rd;
    cio_prep_read(&rd.op, fds[0], buf, 4, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(&inner, &rd.op), 0);
    CHECK_EQ(cio_loop_run(&inner, CIO_RUN_NOWAIT), 1); /* submitted, nothing yet */
    CHECK_EQ(t_sys_write(fds[1], "ping", 4), 4);
    CHECK_EQ(wait_readable(fd, 5000), 1);
    CHECK_EQ(cio_loop_run(&inner, CIO_RUN_NOWAIT), 0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, 4);

    /* A timer: the fd stays quiet, cio_loop_timeout() says how long to wait. */
    t_op tm;
    cio_prep_timeout(&tm.op, 20 * 1000000, 0);
    t_arm(&tm);
    CHECK_EQ(cio_submit(&inner, &tm.op), 0);
    int64_t wait_ns = cio_loop_timeout(&inner);
    CHECK(wait_ns > 0 && wait_ns <= 20 * 1000000);
    double end = t_seconds() + 5;
    while (tm.finals == 0) {
        int64_t ns = cio_loop_timeout(&inner);
        wait_readable(fd, ns < 0 ? 1000 : (int)(ns / 1000000) + 1);
        CHECK(cio_loop_run(&inner, CIO_RUN_NOWAIT) >= 0);
        CHECK(t_seconds() < end);
    }
    CHECK_EQ(tm.res, 0);

    /* A post from another thread makes it readable too. */
    t_thread th;
    CHECK_EQ(t_thread_start(&th, post_later, &inner), 0);
    CHECK_EQ(wait_readable(fd, 5000), 1);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(cio_loop_run(&inner, CIO_RUN_NOWAIT), 0);
    cio_stats st;
    cio_loop_stats(&inner, &st);
    CHECK_EQ(st.posts_received, 1);

    /* One cio loop waiting on another: a poll op on the inner loop's fd. */
    if (T_SKIP_CASE_ON_WINDOWS("loop in a loop", "a poll op cannot watch a completion port")) {
        t_close_handle(fds[0]);
        t_close_handle(fds[1]);
        t_close(&inner);
        t_close(&outer);
        return 0;
    }
    t_op watch;
    cio_prep_read(&rd.op, fds[0], buf, 4, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(&inner, &rd.op), 0);
    CHECK_EQ(cio_loop_run(&inner, CIO_RUN_NOWAIT), 1);
    /* The fd is level-triggered on the eventfd count; clear it first. */
    CHECK_EQ(cio_loop_run(&inner, CIO_RUN_NOWAIT), 1);
    cio_prep_poll(&watch.op, fd, CIO_POLLIN);
    t_arm(&watch);
    CHECK_EQ(cio_submit(&outer, &watch.op), 0);
    CHECK_EQ(t_sys_write(fds[1], "pong", 4), 4);
    t_run(&outer, 5);
    CHECK_EQ(watch.finals, 1);
    CHECK(watch.res & CIO_POLLIN);
    CHECK_EQ(cio_loop_run(&inner, CIO_RUN_NOWAIT), 0);
    CHECK_EQ(rd.res, 4);
    CHECK(memcmp(buf, "pong", 4) == 0);

    t_close_handle(fds[0]);
    t_close_handle(fds[1]);
    t_close(&inner);
    t_close(&outer);
    puts("loop_fd: ok");
    return 0;
}
