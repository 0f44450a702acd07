/*
 * Callbacks that touch their siblings while one readiness event is being
 * dispatched (issue 7, bug 3): a poll's callback cancels the next poll
 * parked on the same handle, or closes that handle through cio. Each op must
 * complete exactly once, the active count must come back to zero and the
 * loop must close. Also: a callback that closes a handle through cio and
 * puts another file under the same number must not see an event fetched for
 * the old one reported to the new one.
 *
 * Oracles: completion counts (t_op), and an empty pipe that no one wrote to
 * (a poll on it reporting POLLIN is a lie).
 *
 * CIO_TEST_PORTABLE: the number-reuse case is POSIX only (it puts a pipe
 * under a just-closed descriptor's number with dup2; Windows hands out
 * handle values itself).
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#if !defined(_WIN32)
#include <poll.h>
#include <sys/socket.h>
#endif

#define NPOLL 4

static t_op polls[NPOLL];
static t_op closer;
static int mode; /* 0: cancel the next poll; 1: close the handle through cio */
static cio_fd the_fd;

static void sibling_cb(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    if (op->flags & CIO_F_MORE) return;
    int i = (int)((t_op *)op - polls);
    if (i + 1 >= NPOLL || polls[i + 1].finals) return;
    if (mode == 0) {
        int r = cio_cancel(loop, &polls[i + 1].op);
        CHECK(r == 0 || r == -CIO_ENOENT);
    } else if (!closer.op.opcode) {
        cio_prep_close(&closer.op, the_fd);
        t_arm(&closer);
        CHECK_EQ(cio_submit(loop, &closer.op), 0);
    }
}

/* NPOLL polls wait on one readable handle, so that one event serves them
 * all; the first callback to run acts on the next one. */
static void sibling_case(int m) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_fd sv[2];
    CHECK_EQ(t_socketpair(sv), 0);
    mode = m;
    the_fd = sv[0];
    memset(&closer, 0, sizeof closer);
    for (int i = 0; i < NPOLL; i++) {
        cio_prep_poll(&polls[i].op, sv[0], CIO_POLLIN);
        t_arm(&polls[i]);
        polls[i].op.cb = sibling_cb;
        CHECK_EQ(cio_submit(&loop, &polls[i].op), 0);
    }
    CHECK_EQ(t_sys_write(sv[1], "x", 1), 1);
    t_run(&loop, 10);
    for (int i = 0; i < NPOLL; i++) {
        CHECK_EQ(polls[i].finals, 1);
        CHECK(polls[i].res == (int32_t)CIO_POLLIN || polls[i].res == -CIO_ECANCELED);
    }
    CHECK_EQ(polls[0].res, CIO_POLLIN);
    if (m == 1) {
        CHECK_EQ(closer.finals, 1);
        CHECK_EQ(closer.res, 0);
    } else {
        CHECK_EQ(t_close_handle(sv[0]), 0);
    }
    CHECK_EQ(cio_loop_active(&loop), 0);
    t_close(&loop);
    CHECK_EQ(t_close_handle(sv[1]), 0);
}

/* Multishot polls: the first one's callback cancels the second. Each ends
 * exactly once, with -CIO_ECANCELED. */
static t_op ms[2];

static void ms_cb(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    if (op == &ms[0].op && (op->flags & CIO_F_MORE) && !ms[1].finals) {
        int r = cio_cancel(loop, &ms[1].op);
        CHECK(r == 0 || r == -CIO_ENOENT);
    }
}

static void multishot_case(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_fd sv[2];
    CHECK_EQ(t_socketpair(sv), 0);
    for (int i = 0; i < 2; i++) {
        cio_prep_poll(&ms[i].op, sv[0], CIO_POLLIN);
        t_arm(&ms[i]);
        ms[i].op.cb = ms_cb;
        ms[i].op.flags = CIO_F_MULTISHOT;
        CHECK_EQ(cio_submit(&loop, &ms[i].op), 0);
    }
    CHECK_EQ(t_sys_write(sv[1], "x", 1), 1);
    double end = t_seconds() + 10;
    while (!ms[1].finals || !ms[0].mores) {
        CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
        CHECK(t_seconds() < end);
    }
    CHECK_EQ(ms[1].finals, 1);
    CHECK_EQ(ms[1].res, -CIO_ECANCELED);
    CHECK_EQ(ms[0].finals, 0);
    CHECK_EQ(cio_cancel(&loop, &ms[0].op), 0);
    t_run(&loop, 10);
    CHECK_EQ(ms[0].finals, 1);
    CHECK_EQ(ms[0].res, -CIO_ECANCELED);
    CHECK_EQ(cio_loop_active(&loop), 0);
    t_close(&loop);
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);
}

#if !defined(_WIN32)
/* Two handles are ready in the same wait. Whichever poll's callback runs
 * first closes the other handle through cio and puts an empty pipe under
 * its number, with a new poll on it. */
static t_op pa[2], pclose_op, pnew;
static int pair[2][2];
static int pipe_fds[2] = {-1, -1};
static int reused_fd = -1;

static void reuse_number(cio_loop *loop) {
    int p[2];
    CHECK_EQ(pipe(p), 0);
    if (p[0] != reused_fd) { /* pipe() may have taken the lowest free number, ours */
        CHECK_EQ(dup2(p[0], reused_fd), reused_fd);
        CHECK_EQ(close(p[0]), 0);
    }
    pipe_fds[0] = reused_fd;
    pipe_fds[1] = p[1];
    cio_prep_poll(&pnew.op, reused_fd, CIO_POLLIN);
    t_arm(&pnew);
    CHECK_EQ(cio_submit(loop, &pnew.op), 0);
}

static void close_cb(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    if (pipe_fds[0] < 0) reuse_number(loop); /* the close was not done at submission */
}

static void pa_cb(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    int i = op == &pa[0].op ? 0 : 1, other = 1 - i;
    if (pa[other].finals || reused_fd >= 0) return;
    reused_fd = pair[other][0];
    cio_prep_close(&pclose_op.op, reused_fd);
    t_arm(&pclose_op);
    pclose_op.op.cb = close_cb;
    CHECK_EQ(cio_submit(loop, &pclose_op.op), 0);
    /* Where the close ran at once, the number is free now: reuse it inside
     * this dispatch, while the other handle's event may still be pending. */
    if (fcntl(reused_fd, F_GETFD) < 0 && errno == EBADF) reuse_number(loop);
}

static void reuse_case(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair[i]), 0);
        cio_prep_poll(&pa[i].op, pair[i][0], CIO_POLLIN);
        t_arm(&pa[i]);
        pa[i].op.cb = pa_cb;
        CHECK_EQ(cio_submit(&loop, &pa[i].op), 0);
    }
    for (int i = 0; i < 2; i++) CHECK_EQ(write(pair[i][1], "x", 1), 1);
    t_run_until(&loop, &pa[0].finals, 10);
    t_run_until(&loop, &pa[1].finals, 10);
    t_run_until(&loop, &pclose_op.finals, 10);
    CHECK(pipe_fds[0] >= 0);
    /* Let the loop look at the new pipe a few times: nothing was written. */
    for (int i = 0; i < 5; i++) CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    if (pnew.finals) fprintf(stderr, "new poll: %d\n", pnew.res);
    CHECK_EQ(pnew.finals, 0);
    struct pollfd pfd = {.fd = pipe_fds[0], .events = POLLIN};
    CHECK_EQ(poll(&pfd, 1, 0), 0); /* the oracle: really not readable */
    CHECK_EQ(write(pipe_fds[1], "y", 1), 1);
    t_run(&loop, 10);
    CHECK_EQ(pnew.finals, 1);
    CHECK(pnew.res & CIO_POLLIN);
    CHECK_EQ(pclose_op.finals, 1);
    CHECK_EQ(pclose_op.res, 0);
    CHECK_EQ(pa[0].finals + pa[1].finals, 2);
    t_close(&loop);
    for (int i = 0; i < 2; i++) {
        if (pair[i][0] != reused_fd) close(pair[i][0]);
        close(pair[i][1]);
    }
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}
#endif

int main(void) {
    for (int round = 0; round < 20; round++) {
        sibling_case(0);
        sibling_case(1);
    }
    multishot_case();
#if defined(_WIN32)
    T_SKIP_CASE_ON_WINDOWS("reuse", "puts a pipe under a just-closed descriptor's number (dup2): Windows picks "
                                    "handle values itself");
#else
    reuse_case();
#endif
    printf("sibling_dispatch: ok\n");
    return 0;
}
