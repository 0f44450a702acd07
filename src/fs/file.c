/*
 * src/fs/file.c - the task-style file calls: open, one-op reads and
 * writes, the read-all and write-all loops, sync, status and the
 * name-space calls. Each is one or a few L1 ops awaited from the task.
 */
#include "fs_internal.h"

intptr_t cio_file_openat(cio_fd dirfd, const char *path, int flags, uint32_t mode) {
    if (!path) return -CIO_EINVAL;
    return cio_openat(dirfd, path, FS_OPEN_FLAGS(flags), mode);
}

intptr_t cio_file_open(const char *path, int flags, uint32_t mode) {
    return cio_file_openat(CIO_AT_FDCWD, path, flags, mode);
}

int32_t cio_file_close(cio_fd fd) { return cio_close(fd); }

int32_t cio_file_read_at(cio_fd fd, void *buf, uint32_t len, uint64_t offset) {
    return cio_read(fd, buf, len, offset);
}
int32_t cio_file_write_at(cio_fd fd, const void *buf, uint32_t len, uint64_t offset) {
    return cio_write(fd, buf, len, offset);
}
int32_t cio_file_read(cio_fd fd, void *buf, uint32_t len) { return cio_read(fd, buf, len, CIO_OFFSET_CURRENT); }
int32_t cio_file_write(cio_fd fd, const void *buf, uint32_t len) {
    return cio_write(fd, buf, len, CIO_OFFSET_CURRENT);
}

int64_t cio_file_read_all(cio_fd fd, void *buf, size_t len, uint64_t offset, size_t *done) {
    size_t got = 0;
    int64_t ret = 0;
    if (done) *done = 0;
    if (!cio_task_current()) return -CIO_EPERM;
    if (!buf && len) return -CIO_EINVAL;
    while (got < len) {
        int32_t n = cio_read(fd, (unsigned char *)buf + got, fs_chunk(len - got), fs_next_offset(offset, got));
        if (n == -CIO_EINTR) continue; /* nothing moved: ask again */
        if (n < 0) {
            ret = n;
            break;
        }
        if (n == 0) break; /* the end: a short count, not an error */
        got += (size_t)n;
    }
    if (done) *done = got;
    return ret < 0 ? ret : (int64_t)got;
}

int64_t cio_file_write_all(cio_fd fd, const void *buf, size_t len, uint64_t offset, size_t *done) {
    size_t put = 0;
    int64_t ret = 0;
    if (done) *done = 0;
    if (!cio_task_current()) return -CIO_EPERM;
    if (!buf && len) return -CIO_EINVAL;
    while (put < len) {
        int32_t n = cio_write(fd, (const unsigned char *)buf + put, fs_chunk(len - put), fs_next_offset(offset, put));
        if (n == -CIO_EINTR) continue;
        if (n < 0) {
            ret = n;
            break;
        }
        if (n == 0) { /* no progress: looping would spin for ever */
            ret = -CIO_EIO;
            break;
        }
        put += (size_t)n;
    }
    if (done) *done = put;
    return ret < 0 ? ret : (int64_t)put;
}

int32_t cio_file_sync(cio_fd fd) { return cio_fsync(fd, 0); }
int32_t cio_file_datasync(cio_fd fd) { return cio_fsync(fd, CIO_FSYNC_DATASYNC); }

int32_t cio_file_stat(cio_fd fd, cio_statx *st) {
    if (!st) return -CIO_EINVAL;
    return cio_stat(fd, "", CIO_AT_EMPTY_PATH, CIO_STATX_BASIC_STATS, st);
}

int32_t cio_fs_stat(const char *path, cio_statx *st) {
    if (!path || !st) return -CIO_EINVAL;
    return cio_stat(CIO_AT_FDCWD, path, 0, CIO_STATX_BASIC_STATS, st);
}

int32_t cio_fs_lstat(const char *path, cio_statx *st) {
    if (!path || !st) return -CIO_EINVAL;
    return cio_stat(CIO_AT_FDCWD, path, CIO_AT_SYMLINK_NOFOLLOW, CIO_STATX_BASIC_STATS, st);
}

int64_t cio_file_size(cio_fd fd) {
    cio_statx st;
    int32_t r = cio_stat(fd, "", CIO_AT_EMPTY_PATH, CIO_STATX_SIZE, &st);
    if (r < 0) return r;
    if (!(st.mask & CIO_STATX_SIZE)) return -CIO_ENOTSUP;
    if (st.size > (uint64_t)INT64_MAX) return -CIO_EOVERFLOW;
    return (int64_t)st.size;
}

int32_t cio_fs_rename(const char *oldpath, const char *newpath) {
    if (!oldpath || !newpath) return -CIO_EINVAL;
    return cio_renameat(CIO_AT_FDCWD, oldpath, CIO_AT_FDCWD, newpath, 0);
}

int32_t cio_fs_unlink(const char *path) {
    if (!path) return -CIO_EINVAL;
    return cio_unlinkat(CIO_AT_FDCWD, path, 0);
}

int32_t cio_fs_mkdir(const char *path, uint32_t mode) {
    if (!path) return -CIO_EINVAL;
    return cio_mkdirat(CIO_AT_FDCWD, path, mode);
}

int32_t cio_fs_rmdir(const char *path) {
    if (!path) return -CIO_EINVAL;
    return cio_unlinkat(CIO_AT_FDCWD, path, CIO_AT_REMOVEDIR);
}

/* The calls over truncate, allocate and the link ops, awaited through their prep
 * helpers (the task wrappers of cio/task.h are the same one op). */
int32_t cio_fs_symlink(const char *target, const char *linkpath) {
    if (!target || !linkpath) return -CIO_EINVAL;
    cio_op op;
    cio_prep_symlinkat(&op, target, CIO_AT_FDCWD, linkpath);
    return cio_await(&op);
}

int32_t cio_fs_link(const char *oldpath, const char *newpath) {
    if (!oldpath || !newpath) return -CIO_EINVAL;
    cio_op op;
    cio_prep_linkat(&op, CIO_AT_FDCWD, oldpath, CIO_AT_FDCWD, newpath, 0);
    return cio_await(&op);
}

int32_t cio_file_truncate(cio_fd fd, uint64_t len) {
    cio_op op;
    cio_prep_ftruncate(&op, fd, len);
    return cio_await(&op);
}

int32_t cio_file_allocate(cio_fd fd, int mode, uint64_t offset, uint64_t len) {
    cio_op op;
    cio_prep_fallocate(&op, fd, mode, offset, len);
    return cio_await(&op);
}

cio_fd cio_stdio_handle(int n) {
    if (n < 0 || n > 2) return CIO_FD_INVALID;
#if defined(_WIN32)
    static const DWORD which[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    HANDLE h = GetStdHandle(which[n]);
    return h == NULL || h == INVALID_HANDLE_VALUE ? CIO_FD_INVALID : (cio_fd)h;
#else
    return (cio_fd)n;
#endif
}
