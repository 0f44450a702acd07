/*
 * src/fs/dir.c - listing a directory: an open directory handle and the
 * caller's buffer, refilled by CIO_OP_READDIR when the entries in it are
 * used up.
 */
#include "fs_internal.h"

int32_t cio_dir_open(cio_dir *d, const char *path, void *buf, uint32_t cap) {
    if (!d || !path || !buf) return -CIO_EINVAL;
    memset(d, 0, sizeof *d);
    d->fd = CIO_FD_INVALID;
    /* The records are 8-aligned from the buffer's start: so must it be. */
    if (cap < CIO_DIR_BUF_MIN || ((uintptr_t)buf & 7u)) return -CIO_EINVAL;
    intptr_t fd = cio_openat(CIO_AT_FDCWD, path, FS_OPEN_FLAGS(CIO_O_RDONLY | CIO_O_DIRECTORY), 0);
    if (fd < 0) return (int32_t)fd;
    d->fd = (cio_fd)fd;
    d->buf = (unsigned char *)buf;
    d->cap = cap;
    return 0;
}

int32_t cio_dir_next(cio_dir *d, const cio_dirent **ent) {
    if (!d || !ent || !d->buf) return -CIO_EINVAL;
    *ent = NULL;
    while (d->pos >= d->len) {
        if (d->eof) return 0;
        cio_op op;
        cio_prep_readdir(&op, d->fd, d->buf, d->cap);
        int32_t n = cio_await(&op);
        if (n == -CIO_EINTR) continue;
        if (n < 0) return n;
        d->pos = 0;
        d->len = (uint32_t)n;
        if (n == 0) d->eof = true;
    }
    const cio_dirent *e = (const cio_dirent *)(const void *)(d->buf + d->pos);
    /* A record that does not fit what the op said it filled is the op's
     * bug; refuse it rather than read past the buffer. */
    if (e->reclen < CIO_DIRENT_RECLEN(0) || e->reclen > d->len - d->pos) return -CIO_EIO;
    d->pos += e->reclen;
    *ent = e;
    return 1;
}

int32_t cio_dir_close(cio_dir *d) {
    if (!d) return -CIO_EINVAL;
    if (!d->buf) return 0; /* never opened, or closed already */
    cio_fd fd = d->fd;
    d->buf = NULL;
    d->fd = CIO_FD_INVALID;
    return cio_close(fd);
}
