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
#endif /* !_WIN32 */
