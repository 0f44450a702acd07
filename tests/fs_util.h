/*
 * tests/fs_util.h - what the file-system tests share: a scratch directory
 * that is removed at exit, and a one-op "submit, run, expect one final
 * completion" step.
 */
#ifndef CIO_TEST_FS_UTIL_H
#define CIO_TEST_FS_UTIL_H

#include "test.h" /* first: the platform layer (port.h) and the GNU interfaces */

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

/* Creates the scratch directory (port.h's t_tmpdir: removed at exit by the
 * process that made it, never by a forked child) and returns its path. */
static inline const char *fs_mkdtemp(void) { return t_tmpdir(); }

/* `dir`/`name` into `out` (at least PATH_MAX bytes is not needed: names are short). */
static inline char *fs_path(char *out, size_t cap, const char *dir, const char *name) {
    int n = snprintf(out, cap, "%s/%s", dir, name);
    CHECK(n > 0 && (size_t)n < cap);
    return out;
}

/* Arms `t` (after its prep call), submits it alone, runs the loop until
 * nothing is active, and checks that it completed exactly once. Returns
 * its result. */
static inline int32_t fs_do(cio_loop *loop, t_op *t) {
    t_arm(t);
    CHECK_EQ(cio_submit(loop, &t->op), 0);
    t_run(loop, 10.0);
    CHECK_EQ(t->finals, 1);
    CHECK_EQ(t->mores, 0);
    CHECK_EQ(t->op.res, t->res);
    return t->res;
}

/* Opens `path` (close-on-exec, mode 0644 if created) through an op on
 * `loop`; the test fails if it cannot. */
static inline cio_fd fs_open_ok(cio_loop *loop, const char *path, int flags) {
    t_op t;
    cio_prep_openat(&t.op, CIO_AT_FDCWD, path, flags | CIO_O_CLOEXEC, 0644);
    int32_t r = fs_do(loop, &t);
    if (r < 0) fprintf(stderr, "open %s: %s\n", path, cio_strerror(r));
    CHECK(r >= 0);
    return cio_op_fd(&t.op);
}

/* Closes `fd` through an op on `loop`; the test fails if that fails. */
static inline void fs_close_ok(cio_loop *loop, cio_fd fd) {
    t_op t;
    cio_prep_close(&t.op, fd);
    CHECK_EQ(fs_do(loop, &t), 0);
}

#if !defined(_WIN32)
/* A descriptor number that is certainly closed: one that was just open.
 * (POSIX: descriptor numbers are reused lowest-first; Windows has no such
 * number to name.) */
static inline int fs_closed_fd(void) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_EQ(close(fd), 0);
    return fd;
}
#endif

/* Writes all of `len` bytes at `off` with plain system calls (test setup). */
static inline void fs_write_all(cio_fd fd, const void *buf, size_t len, long long off) {
    CHECK_EQ(t_sys_pwrite(fd, buf, len, off), (long long)len);
}

#endif /* CIO_TEST_FS_UTIL_H */
