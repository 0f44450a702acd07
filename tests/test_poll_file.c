/*
 * CIO_OP_POLL on a handle with no readiness of its own (issue 7, bug 12a):
 * a regular file or a directory is always ready. What op.h promises, on
 * every backend: the poll completes at once with the asked events among
 * POLLIN/POLLOUT (what poll(2) says of such a handle), -CIO_EINVAL when it
 * asks for neither, and a multishot poll completes once, finally (no new
 * edge can ever come) -- io_uring's own answer. epoll used to fail it with
 * EPERM from epoll_ctl.
 *
 * Oracle: poll(2) on the same handle, and completion counts.
 *
 * CIO_TEST_PORTABLE: Windows has no poll(2) for files; there the oracle is
 * the rule POSIX gives for regular files and directories (always readable
 * and writable: POLLIN and POLLOUT, nothing else).
 */
#include "test.h"

#include <fcntl.h>
#if !defined(_WIN32)
#include <poll.h>
#include <sys/stat.h>
#endif

static const uint32_t asks[] = {
    CIO_POLLIN, CIO_POLLOUT, CIO_POLLIN | CIO_POLLOUT, CIO_POLLIN | CIO_POLLPRI, CIO_POLLPRI, CIO_POLLRDHUP,
};

/* What poll(2) reports for `fd` asked `events`; -CIO_EINVAL where it would
 * never report anything (it would wait forever; io_uring refuses). */
#if defined(_WIN32)
static int32_t oracle(cio_fd fd, uint32_t events) {
    (void)fd;
    uint32_t revents = events & (CIO_POLLIN | CIO_POLLOUT);
    return revents ? (int32_t)revents : -CIO_EINVAL;
}
#else
static int32_t oracle(cio_fd fd, uint32_t events) {
    struct pollfd p = {.fd = fd, .events = (short)events};
    CHECK_EQ(poll(&p, 1, 0), p.revents ? 1 : 0);
    return p.revents ? (int32_t)(p.revents & (short)events) : -CIO_EINVAL;
}
#endif

static void poll_handle(cio_fd fd, const char *what) {
    for (int multishot = 0; multishot < 2; multishot++) {
        for (unsigned i = 0; i < sizeof asks / sizeof *asks; i++) {
            cio_loop loop;
            t_loop_init(&loop, 64);
            t_op p;
            cio_prep_poll(&p.op, fd, asks[i]);
            t_arm(&p);
            if (multishot) p.op.flags = CIO_F_MULTISHOT;
            CHECK_EQ(cio_submit(&loop, &p.op), 0);
            /* Bounded by turns as well as time: a multishot poll that keeps
             * firing must not keep this loop busy forever. */
            double end = t_seconds() + 5;
            for (int turn = 0; turn < 100 && !p.finals && t_seconds() < end; turn++)
                CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
            int32_t want = oracle(fd, asks[i]);
            if (p.finals != 1 || p.mores != 0 || p.res != want) {
                fprintf(stderr, "%s, events %#x%s: %d final(s), %d more(s), res %d; expected one final, %d\n", what,
                        asks[i], multishot ? ", multishot" : "", p.finals, p.mores, p.res, want);
                exit(1);
            }
            CHECK_EQ(cio_loop_active(&loop), 0);
            t_close(&loop);
        }
    }
}

int main(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/poll_file", t_tmpdir());
    cio_fd fd = t_sys_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd != T_FD_NONE);
    CHECK_EQ(t_sys_pwrite(fd, "data", 4, 0), 4);
    poll_handle(fd, "regular file");
    cio_fd dir = t_sys_open_dir(t_tmpdir());
    CHECK(dir != T_FD_NONE);
    poll_handle(dir, "directory");
    CHECK_EQ(t_close_handle(dir), 0);

    /* A directory as cio's own openat opens it (on Windows an overlapped
     * handle, which joins the port, where port.h's is synchronous). */
    cio_loop loop;
    t_loop_init(&loop, 8);
    t_op op;
    cio_prep_openat(&op.op, CIO_AT_FDCWD, t_tmpdir(), CIO_O_RDONLY | CIO_O_DIRECTORY | CIO_O_CLOEXEC, 0);
    t_arm(&op);
    CHECK_EQ(cio_submit(&loop, &op.op), 0);
    t_run(&loop, 10.0);
    dir = t_fd(&op);
    t_close(&loop);
    poll_handle(dir, "directory (cio openat)");
    CHECK_EQ(t_close_handle(dir), 0);
    CHECK_EQ(t_close_handle(fd), 0);
    printf("poll_file: ok\n");
    return 0;
}
