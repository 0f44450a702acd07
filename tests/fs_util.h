/*
 * tests/fs_util.h - what the file-system tests share: a scratch directory
 * that is removed at exit, and a one-op "submit, run, expect one final
 * completion" step.
 */
#ifndef CIO_TEST_FS_UTIL_H
#define CIO_TEST_FS_UTIL_H

#include "test.h" /* first: it asks for the GNU interfaces (pipe2, O_CLOEXEC) */

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

static char fs_dir[64];
static pid_t fs_dir_owner;

static inline int fs_rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* Only the process that made the directory removes it: a forked child that
 * exits must not pull it from under its parent. */
static inline void fs_cleanup(void) {
    if (fs_dir[0] && getpid() == fs_dir_owner) nftw(fs_dir, fs_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates the scratch directory and returns its path. */
static inline const char *fs_mkdtemp(void) {
    strcpy(fs_dir, "/tmp/cio_fs_XXXXXX");
    CHECK(mkdtemp(fs_dir) != NULL);
    fs_dir_owner = getpid();
    CHECK_EQ(atexit(fs_cleanup), 0);
    return fs_dir;
}

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

/* A descriptor number that is certainly closed: one that was just open. */
static inline int fs_closed_fd(void) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_EQ(close(fd), 0);
    return fd;
}

/* Writes all of `len` bytes with plain system calls (test setup). */
static inline void fs_write_all(int fd, const void *buf, size_t len, off_t off) {
    CHECK_EQ(pwrite(fd, buf, len, off), (long long)len);
}

#endif /* CIO_TEST_FS_UTIL_H */
