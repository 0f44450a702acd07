/*
 * test_task_closes_after_cancel - a cancelled task can still close its
 * handles with cio_close() while it unwinds, on every backend; its other
 * calls fail at once with -CIO_ECANCELED. The oracle is the kernel: after
 * the task's cio_close() the descriptor is gone (fcntl(F_GETFD) fails with
 * EBADF), and the peer sees end of file.
 *
 * Regression (issue 9): every call of a cancelled task failed at once,
 * cio_close() included, so a task cancelled by its group (a server whose
 * accept failed) leaked its sockets; the mock backend reported them at
 * the loop's close.
 *
 * CIO_TEST_PORTABLE: on Windows the oracle is Winsock: the handle no longer
 * names a socket (getsockopt fails), and the peer sees end of file.
 */
#include "test.h"

#include <errno.h>
#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/socket.h>
#endif

static cio_fd sv[2];
static int32_t recv_res, send_res, close_res;

static intptr_t victim(void *arg) {
    (void)arg;
    char c;
    recv_res = cio_recv(sv[0], &c, 1, 0);  /* blocks: nobody sends */
    send_res = cio_send(sv[0], "x", 1, 0); /* after the cancel: at once */
    close_res = cio_close(sv[0]);          /* still closes */
    return 0;
}

int main(void) {
    t_watchdog();
    CHECK_EQ(t_socketpair(sv), 0);
    cio_loop loop;
    t_loop_init(&loop, 16);
    cio_task *t;
    cio_task_options o = {.detached = true};
    CHECK_EQ(cio_task_spawn(&loop, victim, NULL, &o, &t), 0);
    CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0); /* it blocks in the recv */
    cio_task_cancel(t);
    t_run(&loop, 10.0);
    CHECK_EQ(recv_res, -CIO_ECANCELED);
    CHECK_EQ(send_res, -CIO_ECANCELED);
    CHECK_EQ(close_res, 0);
#if defined(_WIN32)
    CHECK(!t_is_socket(sv[0]));
#else
    errno = 0;
    CHECK_EQ(fcntl(sv[0], F_GETFD), -1);
    CHECK_EQ(errno, EBADF);
#endif
    char c;
    CHECK_EQ(t_sys_read(sv[1], &c, 1), 0); /* the peer sees end of file */
    CHECK_EQ(t_close_handle(sv[1]), 0);
    t_close(&loop);
    puts("task_closes_after_cancel: ok");
    return 0;
}
