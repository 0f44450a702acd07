/*
 * src/core/sync_ops.c - every op as a plain POSIX system call (sync_ops.h;
 * sync_exec.c says which opcode runs which).
 *
 * The fallback for opcodes a backend does not run itself (on io_uring:
 * opcodes the running kernel lacks, such as bind and listen before Linux
 * 6.11), and the "try it now" step of the readiness backends. It runs on the
 * calling thread and returns the op's result: a count, a handle, or a
 * negative error code.
 */
#include "sync_ops.h"

#if !defined(_WIN32)
#include <dirent.h> /* Linux: getdents64; elsewhere fdopendir */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int32_t result(ssize_t r) { return r < 0 ? -errno : (int32_t)r; }

static off_t pos(uint64_t offset) { return (off_t)offset; }

int32_t cio__sys_statx(cio_op *op) {
    cio_statx *out = op->args.statx.buf;
#if CIO_LINUX && defined(STATX_BASIC_STATS)
    _Static_assert(sizeof(struct statx) == sizeof(cio_statx), "cio_statx mirrors struct statx");
    return result(statx(op->args.statx.dirfd, op->args.statx.path, op->args.statx.flags,
                        op->args.statx.mask, (struct statx *)(void *)out));
#else
    struct stat st;
    int flags = op->args.statx.flags;
#if !defined(AT_EMPTY_PATH) /* CIO_AT_EMPTY_PATH is cio's own here (op.h) */
    if ((flags & CIO_AT_EMPTY_PATH) && op->args.statx.path[0] == '\0') {
        if (fstat(op->args.statx.dirfd, &st) < 0) return -errno;
    } else if (fstatat(op->args.statx.dirfd, op->args.statx.path, &st, flags & ~CIO_AT_EMPTY_PATH) < 0) {
        return -errno;
    }
#else
    if (fstatat(op->args.statx.dirfd, op->args.statx.path, &st, flags) < 0) return -errno;
#endif
    memset(out, 0, sizeof *out);
    out->mask = CIO_STATX_BASIC_STATS;
    out->blksize = (uint32_t)st.st_blksize;
    out->nlink = (uint32_t)st.st_nlink;
    out->uid = st.st_uid;
    out->gid = st.st_gid;
    out->mode = (uint16_t)st.st_mode;
    out->ino = (uint64_t)st.st_ino;
    out->size = (uint64_t)st.st_size;
    out->blocks = (uint64_t)st.st_blocks;
    out->atime.tv_sec = st.st_atime;
    out->mtime.tv_sec = st.st_mtime;
    out->ctime.tv_sec = st.st_ctime;
    return 0;
#endif
}

/* CIO_SOCK_NONBLOCK and CIO_SOCK_CLOEXEC on a new socket, for systems
 * whose socket() and accept() take no such flags (op.h gives them cio's
 * own values there). Returns `fd`, or closes it and returns the error. */
static int32_t sock_flags_done(int fd, int flags) {
    if (fd < 0) return -errno;
    if ((flags & CIO_SOCK_CLOEXEC) && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) goto fail;
    if (flags & CIO_SOCK_NONBLOCK) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) goto fail;
    }
    return fd;
fail:;
    int err = -errno;
    close(fd);
    return err;
}

int32_t cio__sys_accept(cio_op *op) {
    int flags = op->args.accept.flags;
#if CIO_LINUX || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
    (void)sock_flags_done;
    return result(accept4(op->args.accept.fd, op->args.accept.addr, op->args.accept.addrlen, flags));
#else /* no accept4 */
    return sock_flags_done(accept(op->args.accept.fd, op->args.accept.addr, op->args.accept.addrlen), flags);
#endif
}

int32_t cio__sys_socket(cio_op *op) {
    int type = op->args.socket.type;
#if defined(SOCK_NONBLOCK)
    return result(socket(op->args.socket.domain, type, op->args.socket.protocol));
#else
    const int mine = CIO_SOCK_NONBLOCK | CIO_SOCK_CLOEXEC;
    return sock_flags_done(socket(op->args.socket.domain, type & ~mine, op->args.socket.protocol), type & mine);
#endif
}

/* Reads and writes. Like io_uring, an offset on a handle that has no
 * position (a pipe, a socket) is ignored rather than an error, so that the
 * op means the same on every backend. */
int32_t cio__sys_rw(cio_op *op) {
    const bool rd = op->opcode == CIO_OP_READ;
    const cio_fd fd = op->args.rw.fd;
    if (op->args.rw.offset != CIO_OFFSET_CURRENT) {
        off_t at = pos(op->args.rw.offset);
        ssize_t r = rd ? pread(fd, op->args.rw.buf, op->args.rw.len, at)
                       : pwrite(fd, op->args.rw.buf, op->args.rw.len, at);
        if (r >= 0 || errno != ESPIPE) return result(r);
    }
    return result(rd ? read(fd, op->args.rw.buf, op->args.rw.len) : write(fd, op->args.rw.buf, op->args.rw.len));
}

int32_t cio__sys_rwv(cio_op *op) {
    const bool rd = op->opcode == CIO_OP_READV;
    const cio_fd fd = op->args.rwv.fd;
    const int cnt = (int)op->args.rwv.iovcnt;
    if (op->args.rwv.offset != CIO_OFFSET_CURRENT) {
        off_t at = pos(op->args.rwv.offset);
        ssize_t r = rd ? preadv(fd, op->args.rwv.iov, cnt, at) : pwritev(fd, op->args.rwv.iov, cnt, at);
        if (r >= 0 || errno != ESPIPE) return result(r);
    }
    return result(rd ? readv(fd, op->args.rwv.iov, cnt) : writev(fd, op->args.rwv.iov, cnt));
}

/* Opens as io_uring's own openat does, so that an open means the same on
 * every backend (op.h): with O_NONBLOCK added, which opens a FIFO for
 * reading at once and fails a write-open with no reader with ENXIO instead
 * of waiting for good for the other end; O_NONBLOCK is then cleared unless
 * the caller asked for it. Where the non-blocking try says EAGAIN (a lease
 * to break, a device that is busy) io_uring retries in a worker that may
 * block, and so does this. */
int32_t cio__sys_openat(cio_op *op) {
    const int flags = op->args.open.flags;
    const mode_t mode = (mode_t)op->args.open.mode;
    int fd = openat(op->args.open.dirfd, op->args.open.path, flags | O_NONBLOCK, mode);
    if (flags & O_NONBLOCK) return result(fd);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        return result(openat(op->args.open.dirfd, op->args.open.path, flags, mode));
    }
    return cio__open_done(fd);
}

int32_t cio__open_done(int fd) {
    /* O_PATH drops O_NONBLOCK, and its handle refuses F_SETFL. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || ((fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int32_t cio__sys_fsync(cio_op *op) {
#if defined(_POSIX_SYNCHRONIZED_IO) && _POSIX_SYNCHRONIZED_IO > 0
    if (op->args.fsync.flags & CIO_FSYNC_DATASYNC) return result(fdatasync(op->args.fsync.fd));
#endif
    return result(fsync(op->args.fsync.fd));
}

int32_t cio__sys_close(cio_op *op) { return result(close(op->args.close.fd)); }

int32_t cio__sys_unlinkat(cio_op *op) {
    return result(unlinkat(op->args.unlink.dirfd, op->args.unlink.path, op->args.unlink.flags));
}

int32_t cio__sys_renameat(cio_op *op) {
#if CIO_LINUX
    if (op->args.rename.flags)
        return result(renameat2(op->args.rename.olddirfd, op->args.rename.oldpath, op->args.rename.newdirfd,
                                op->args.rename.newpath, op->args.rename.flags));
#else
    if (op->args.rename.flags) return -CIO_ENOTSUP; /* renameat2 is Linux's alone */
#endif
    return result(renameat(op->args.rename.olddirfd, op->args.rename.oldpath, op->args.rename.newdirfd,
                           op->args.rename.newpath));
}

int32_t cio__sys_mkdirat(cio_op *op) {
    return result(mkdirat(op->args.mkdir.dirfd, op->args.mkdir.path, (mode_t)op->args.mkdir.mode));
}

int32_t cio__sys_bind(cio_op *op) { return result(bind(op->args.addr.fd, op->args.addr.addr, op->args.addr.addrlen)); }

int32_t cio__sys_connect(cio_op *op) {
    return result(connect(op->args.addr.fd, op->args.addr.addr, op->args.addr.addrlen));
}

int32_t cio__sys_listen(cio_op *op) { return result(listen(op->args.listen.fd, op->args.listen.backlog)); }

int32_t cio__sys_sendrecv(cio_op *op) {
    if (op->opcode == CIO_OP_RECV)
        return result(recv(op->args.sr.fd, op->args.sr.buf, op->args.sr.len, op->args.sr.flags));
    return result(send(op->args.sr.fd, op->args.sr.buf, op->args.sr.len, op->args.sr.flags | CIO_MSG_NOSIGNAL));
}

int32_t cio__sys_msg(cio_op *op) {
    if (op->opcode == CIO_OP_RECVMSG) return result(recvmsg(op->args.msg.fd, op->args.msg.msg, op->args.msg.flags));
    return result(sendmsg(op->args.msg.fd, op->args.msg.msg, op->args.msg.flags | CIO_MSG_NOSIGNAL));
}

int32_t cio__sys_shutdown(cio_op *op) { return result(shutdown(op->args.shutdown.fd, op->args.shutdown.how)); }

int32_t cio__sys_poll(cio_op *op) {
    struct pollfd p = {.fd = op->args.poll.fd, .events = (short)op->args.poll.events};
    int n = poll(&p, 1, 0);
    if (n < 0) return -errno;
    return n == 0 ? -CIO_EAGAIN : (int32_t)(uint16_t)p.revents;
}

int32_t cio__sys_splice(cio_op *op) {
#if CIO_LINUX
    loff_t in = (loff_t)op->args.splice.off_in, out = (loff_t)op->args.splice.off_out;
    const uint64_t cur = CIO_OFFSET_CURRENT;
    return result(splice(op->args.splice.fd_in, op->args.splice.off_in == cur ? NULL : &in, op->args.splice.fd_out,
                         op->args.splice.off_out == cur ? NULL : &out, op->args.splice.len,
                         op->args.splice.flags));
#else
    (void)op;
    return -CIO_ENOTSUP;
#endif
}

/* ---- the L3 file ops (issue 11) ---- */

int32_t cio__sys_ftruncate(cio_op *op) {
    if (op->args.size.len > (uint64_t)INT64_MAX) return -CIO_EINVAL;
    return result(ftruncate(op->args.size.fd, (off_t)op->args.size.len));
}

int32_t cio__sys_fallocate(cio_op *op) {
    uint64_t off = op->args.size.offset, len = op->args.size.len;
    if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX) return -CIO_EINVAL;
#if CIO_LINUX
    return result(fallocate(op->args.size.fd, op->args.size.mode, (off_t)off, (off_t)len));
#else
    if (op->args.size.mode != 0) return -CIO_ENOTSUP; /* KEEP_SIZE and the rest are Linux's */
    if (len == 0) return -CIO_EINVAL;                   /* as Linux's fallocate */
    int r = posix_fallocate(op->args.size.fd, (off_t)off, (off_t)len);
    return r ? -r : 0; /* it returns the error rather than setting errno */
#endif
}

int32_t cio__sys_symlinkat(cio_op *op) {
    return result(symlinkat(op->args.link.oldpath, op->args.link.newdirfd, op->args.link.newpath));
}

int32_t cio__sys_linkat(cio_op *op) {
    return result(linkat(op->args.link.olddirfd, op->args.link.oldpath, op->args.link.newdirfd,
                         op->args.link.newpath, op->args.link.flags));
}

#if CIO_LINUX
/* What getdents64 writes (linux_dirent64). */
struct kdirent64 {
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;
    char d_name[];
};
#endif

/* Linux: getdents64 into the caller's buffer, then each record rewritten
 * in place as a cio_dirent. A cio_dirent is never longer than the kernel's
 * record of the same name (an 11-byte head against 19), so the records
 * written never pass the ones still to be read. A batch of "." and ".."
 * alone is not the end: read on. */
int32_t cio__sys_readdir(cio_op *op) {
#if CIO_LINUX
    char *buf = op->args.readdir.buf;
    const uint32_t len = op->args.readdir.len;
    for (;;) {
        ssize_t n = getdents64(op->args.readdir.fd, buf, len);
        if (n <= 0) return result(n);
        size_t out = 0;
        for (size_t at = 0; at < (size_t)n;) {
            const struct kdirent64 *k = (const struct kdirent64 *)(const void *)(buf + at);
            uint64_t ino = k->d_ino;
            uint8_t type = k->d_type;
            const char *name = k->d_name;
            at += k->d_reclen;
            if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
            size_t nl = strlen(name);
            cio_dirent *d = (cio_dirent *)(void *)(buf + out);
            memmove(d->name, name, nl + 1);
            d->ino = ino;
            d->type = type;
            d->reclen = CIO_DIRENT_RECLEN(nl);
            out += d->reclen;
        }
        if (out) return (int32_t)out;
    }
#else
    /* POSIX: a DIR over a duplicate, which shares the handle's position
     * (fdopendir reads from it on), and the position of the first entry
     * not returned handed back with lseek(telldir()) before the DIR goes:
     * that takes telldir() to give the file offset, as glibc and musl do
     * (checked by CI's POSIX-only build on Linux); unverified on macOS and
     * the BSDs, whose telldir() values are cookies of the DIR. */
    /* A DIR's telldir() knows only the entries it read itself (before the
     * first it says 0): where it has read none, the start is put back. */
    off_t start = lseek(op->args.readdir.fd, 0, SEEK_CUR);
    if (start < 0) return -errno;
    int dfd = dup(op->args.readdir.fd);
    if (dfd < 0) return -errno;
    DIR *d = fdopendir(dfd);
    if (!d) {
        int e = errno;
        close(dfd);
        return -e;
    }
    char *buf = op->args.readdir.buf;
    const uint32_t len = op->args.readdir.len;
    size_t out = 0;
    int32_t err = 0;
    long at = -1; /* telldir() after the last entry taken (or skipped); -1: none yet */
    bool full = false;
    for (;;) {
        errno = 0;
        const struct dirent *e = readdir(d);
        if (!e) {
            if (errno) err = -errno;
            break;
        }
        const char *name = e->d_name;
        size_t nl = strlen(name);
        bool dots = name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0));
        if (!dots && out + CIO_DIRENT_RECLEN(nl) > len) { /* no room: it is the next call's first */
            if (!out) err = -CIO_EINVAL;
            full = true;
            break;
        }
        at = telldir(d);
        if (dots) continue;
        cio_dirent *r = (cio_dirent *)(void *)(buf + out);
        memcpy(r->name, name, nl + 1);
        r->ino = (uint64_t)e->d_ino;
#if defined(DT_UNKNOWN)
        r->type = (uint8_t)e->d_type;
#else
        r->type = CIO_DT_UNKNOWN;
#endif
        r->reclen = CIO_DIRENT_RECLEN(nl);
        out += r->reclen;
    }
    /* At the end (or an error) the DIR leaves the shared position at the
     * end; when the buffer filled up, it goes back to the first entry not
     * taken. */
    if (full && lseek(op->args.readdir.fd, at < 0 ? start : (off_t)at, SEEK_SET) < 0 && !err) err = -errno;
    closedir(d);
    return out ? (int32_t)out : err;
#endif
}

/* copy_range through a buffer: up to `len` bytes, as many as read(2) and
 * write(2) move before the end of fd_in or an error (which is the result
 * only when nothing moved). */
static int32_t copy_through(cio_op *op) {
    const uint64_t cur = CIO_OFFSET_CURRENT;
    const int fdi = op->args.copy.fd_in, fdo = op->args.copy.fd_out;
    const uint64_t oi = op->args.copy.off_in, oo = op->args.copy.off_out;
    /* Linux's MAX_RW_COUNT: the count fits op->res. */
    const uint32_t len = op->args.copy.len < 0x7ffff000u ? op->args.copy.len : 0x7ffff000u;
    if ((oi != cur && oi > (uint64_t)INT64_MAX) || (oo != cur && oo > (uint64_t)INT64_MAX)) return -CIO_EINVAL;
    int fl = fcntl(fdo, F_GETFL);
    if (fl < 0) return -errno;
    if (fl & O_APPEND) return -CIO_EBADF; /* as copy_file_range(2) */
    if (oi != cur && oo != cur) { /* overlapping ranges of one file: as copy_file_range(2) */
        struct stat a, b;
        if (fstat(fdi, &a) == 0 && fstat(fdo, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
            oi < oo + len && oo < oi + len)
            return -CIO_EINVAL;
    }
    char tmp[32 * 1024];
    uint64_t done = 0;
    int32_t err = 0;
    while (done < len && !err) {
        size_t want = len - done < sizeof tmp ? (size_t)(len - done) : sizeof tmp;
        ssize_t r = oi == cur ? read(fdi, tmp, want) : pread(fdi, tmp, want, pos(oi + done));
        if (r <= 0) {
            if (r < 0) err = -errno;
            break;
        }
        size_t w = 0;
        while (w < (size_t)r) {
            ssize_t k = oo == cur ? write(fdo, tmp + w, (size_t)r - w) : pwrite(fdo, tmp + w, (size_t)r - w, pos(oo + done + w));
            if (k < 0) {
                err = -errno;
                break;
            }
            w += (size_t)k;
        }
        /* Bytes read and not written go back to fd_in's position. */
        if (w < (size_t)r && oi == cur) (void)lseek(fdi, -(off_t)((size_t)r - w), SEEK_CUR);
        done += w;
    }
    return done ? (int32_t)done : err;
}

int32_t cio__sys_copy_range(cio_op *op) {
#if CIO_LINUX
    const uint64_t cur = CIO_OFFSET_CURRENT;
    loff_t in = (loff_t)op->args.copy.off_in, out = (loff_t)op->args.copy.off_out;
    if ((op->args.copy.off_in == cur || in >= 0) && (op->args.copy.off_out == cur || out >= 0)) {
        ssize_t r = copy_file_range(op->args.copy.fd_in, op->args.copy.off_in == cur ? NULL : &in,
                                    op->args.copy.fd_out, op->args.copy.off_out == cur ? NULL : &out,
                                    op->args.copy.len, 0);
        if (r >= 0) return (int32_t)r;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) return -errno;
    }
#endif
    return copy_through(op);
}
#endif /* !_WIN32 */
