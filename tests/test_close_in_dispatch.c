/* A close through cio submitted from a callback that runs inside a
 * handle's dispatch still completes after the pool ops on its handle
 * (include/cio/op.h, cio_prep_close: the ops on the handle complete
 * first), even when such an op has already finished and its result waits
 * in the loop's queue of posts.
 *
 * A receive on a socket pair completes in its handle's dispatch; its
 * callback submits an fsync of a file (the blocking pool on epoll and
 * poll), waits until the pool has had time to finish it, and submits the
 * file's close. The oracle: each completes exactly once, the fsync's
 * callback first. (If the pool is slower than the wait, the case is not
 * reached and the test passes for the older reason: the close waits for
 * the fsync still running.)
 *
 * Regression: a dispatch that ran the whole ready queue before it ended
 * (a first form of the change that lets a task post its next receive
 * inside the dispatch) ran the close, which op.c holds on the ready queue
 * behind the pool's posts, before the posts were taken: the close's
 * callback came first on epoll and poll.
 * CIO_TEST_NOT_ON_WINDOWS: the readiness layer's dispatch (epoll, poll) with socketpair(2) and mkstemp(3) */
#include "test.h"

#include <sys/socket.h>
#include <time.h>

static int sv[2], file_fd;
static t_op rx, fs, cl;
static char byte;

static void on_rx(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    cio_prep_fsync(&fs.op, file_fd, 0);
    t_arm(&fs);
    CHECK_EQ(cio_submit(loop, &fs.op), 0);
    struct timespec ts = {0, 100 * 1000 * 1000}; /* the pool finishes an fsync of an empty file meanwhile */
    nanosleep(&ts, NULL);
    cio_prep_close(&cl.op, file_fd);
    t_arm(&cl);
    CHECK_EQ(cio_submit(loop, &cl.op), 0);
}

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    char path[] = "/tmp/cio_close_in_dispatch_XXXXXX";
    file_fd = mkstemp(path);
    CHECK(file_fd >= 0);
    CHECK_EQ(unlink(path), 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    cio_prep_recv(&rx.op, sv[0], &byte, 1, 0);
    t_arm(&rx);
    rx.op.cb = on_rx;
    CHECK_EQ(cio_submit(&loop, &rx.op), 0);
    CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0); /* the receive parks */
    CHECK_EQ(write(sv[1], "x", 1), 1);
    t_run(&loop, 10);
    CHECK_EQ(rx.finals, 1);
    CHECK_EQ(rx.res, 1);
    CHECK_EQ(fs.finals, 1);
    CHECK_EQ(fs.res, 0);
    CHECK_EQ(cl.finals, 1);
    CHECK_EQ(cl.res, 0);
    CHECK(fs.order < cl.order);
    CHECK_EQ(close(sv[0]), 0);
    CHECK_EQ(close(sv[1]), 0);
    t_close(&loop);
    printf("ok\n");
    return 0;
}
