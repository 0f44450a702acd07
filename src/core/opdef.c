/*
 * src/core/opdef.c - the table of opcodes (see opdef.h), and the checks of
 * their arguments that cio_submit() makes before an op is taken.
 */
#include "opdef.h"

#include <limits.h>

#include "internal.h"
#include "bufpool.h"
#include "fixed_buf.h"

#if !defined(_WIN32)
#if CIO_LINUX
#include <dirent.h>
#endif
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* The portable constants of cio/op.h are the system's own on POSIX, so
 * that a program may pass either and the backends pass them on untouched. */
#define SAME(a, b) _Static_assert((a) == (b), #a " must equal " #b)
SAME(CIO_AT_FDCWD, AT_FDCWD);
SAME(CIO_AT_SYMLINK_NOFOLLOW, AT_SYMLINK_NOFOLLOW);
SAME(CIO_AT_REMOVEDIR, AT_REMOVEDIR);
SAME(CIO_AT_SYMLINK_FOLLOW, AT_SYMLINK_FOLLOW);
#ifdef AT_EMPTY_PATH
SAME(CIO_AT_EMPTY_PATH, AT_EMPTY_PATH);
#endif
SAME(CIO_O_RDONLY, O_RDONLY);
SAME(CIO_O_WRONLY, O_WRONLY);
SAME(CIO_O_RDWR, O_RDWR);
SAME(CIO_O_CREAT, O_CREAT);
SAME(CIO_O_EXCL, O_EXCL);
SAME(CIO_O_NOCTTY, O_NOCTTY);
SAME(CIO_O_TRUNC, O_TRUNC);
SAME(CIO_O_APPEND, O_APPEND);
SAME(CIO_O_NONBLOCK, O_NONBLOCK);
SAME(CIO_O_DSYNC, O_DSYNC);
SAME(CIO_O_SYNC, O_SYNC);
SAME(CIO_O_CLOEXEC, O_CLOEXEC);
SAME(CIO_O_DIRECTORY, O_DIRECTORY);
SAME(CIO_O_NOFOLLOW, O_NOFOLLOW);
SAME(CIO_POLLIN, POLLIN);
SAME(CIO_POLLPRI, POLLPRI);
SAME(CIO_POLLOUT, POLLOUT);
SAME(CIO_POLLERR, POLLERR);
SAME(CIO_POLLHUP, POLLHUP);
SAME(CIO_POLLNVAL, POLLNVAL);
#ifdef POLLRDHUP
SAME(CIO_POLLRDHUP, POLLRDHUP);
#endif
SAME(CIO_SHUT_RD, SHUT_RD);
SAME(CIO_SHUT_WR, SHUT_WR);
SAME(CIO_SHUT_RDWR, SHUT_RDWR);
#ifdef SOCK_NONBLOCK
SAME(CIO_SOCK_NONBLOCK, SOCK_NONBLOCK);
SAME(CIO_SOCK_CLOEXEC, SOCK_CLOEXEC);
#endif
#ifdef STATX_SIZE
SAME(CIO_STATX_TYPE, STATX_TYPE);
SAME(CIO_STATX_MODE, STATX_MODE);
SAME(CIO_STATX_NLINK, STATX_NLINK);
SAME(CIO_STATX_UID, STATX_UID);
SAME(CIO_STATX_GID, STATX_GID);
SAME(CIO_STATX_ATIME, STATX_ATIME);
SAME(CIO_STATX_MTIME, STATX_MTIME);
SAME(CIO_STATX_CTIME, STATX_CTIME);
SAME(CIO_STATX_INO, STATX_INO);
SAME(CIO_STATX_SIZE, STATX_SIZE);
SAME(CIO_STATX_BLOCKS, STATX_BLOCKS);
SAME(CIO_STATX_BASIC_STATS, STATX_BASIC_STATS);
SAME(CIO_STATX_BTIME, STATX_BTIME);
#endif
#ifdef RENAME_NOREPLACE
SAME(CIO_RENAME_NOREPLACE, RENAME_NOREPLACE);
SAME(CIO_RENAME_EXCHANGE, RENAME_EXCHANGE);
#endif
#ifdef SPLICE_F_MOVE
SAME(CIO_SPLICE_F_MOVE, SPLICE_F_MOVE);
SAME(CIO_SPLICE_F_NONBLOCK, SPLICE_F_NONBLOCK);
SAME(CIO_SPLICE_F_MORE, SPLICE_F_MORE);
#endif
#if CIO_LINUX
SAME(CIO_FALLOCATE_KEEP_SIZE, FALLOC_FL_KEEP_SIZE);
SAME(CIO_DT_UNKNOWN, DT_UNKNOWN);
SAME(CIO_DT_FIFO, DT_FIFO);
SAME(CIO_DT_CHR, DT_CHR);
SAME(CIO_DT_DIR, DT_DIR);
SAME(CIO_DT_BLK, DT_BLK);
SAME(CIO_DT_REG, DT_REG);
SAME(CIO_DT_LNK, DT_LNK);
SAME(CIO_DT_SOCK, DT_SOCK);
#endif
SAME(CIO_S_IFMT, S_IFMT);
SAME(CIO_S_IFSOCK, S_IFSOCK);
SAME(CIO_S_IFLNK, S_IFLNK);
SAME(CIO_S_IFREG, S_IFREG);
SAME(CIO_S_IFBLK, S_IFBLK);
SAME(CIO_S_IFDIR, S_IFDIR);
SAME(CIO_S_IFCHR, S_IFCHR);
SAME(CIO_S_IFIFO, S_IFIFO);
#undef SAME
#endif

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

/* ---- argument checks (handles are checked from the table) ---- */

#define bad_fd cio__bad_fd

static bool bad_dirfd(cio_fd fd) { return fd != CIO_AT_FDCWD && bad_fd(fd); }

/* A close names its handle in none of the table's fields (see there). */
static int check_close(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return bad_fd(op->args.close.fd) ? -CIO_EBADF : 0;
}

static int check_timeout(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return (op->args.timeout.flags & ~CIO_TIMEOUT_ABS) ? -CIO_EINVAL : 0;
}

/* A target must be an op of this loop, in flight. */
static int check_target(cio_loop *loop, const cio_op *t) {
    if (t->internal_.state == OP_IDLE || t->internal_.state == OP_POSTED) return -CIO_ENOENT;
    return t->internal_.loop == loop ? 0 : -CIO_EINVAL;
}

static int check_timer(cio_loop *loop, const cio_op *op) {
    const cio_op *t = op->args.timer.target;
    if (!t || t->opcode != CIO_OP_TIMEOUT || (op->args.timer.flags & ~CIO_TIMEOUT_ABS)) return -CIO_EINVAL;
    return check_target(loop, t);
}

static int check_cancel(cio_loop *loop, const cio_op *op) {
    const cio_op *t = op->args.cancel.target;
    if (!t || t == op) return -CIO_EINVAL;
    return check_target(loop, t);
}

static int check_iov(cio_loop *loop, const cio_op *op) {
    (void)loop;
    if (op->args.rwv.iovcnt > IOV_MAX || (!op->args.rwv.iov && op->args.rwv.iovcnt)) return -CIO_EINVAL;
    for (uint32_t i = 0; i < op->args.rwv.iovcnt; i++)
        if (!op->args.rwv.iov[i].iov_base && op->args.rwv.iov[i].iov_len) return -CIO_EINVAL;
    return 0;
}

static int check_fsync(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return (op->args.fsync.flags & ~CIO_FSYNC_DATASYNC) ? -CIO_EINVAL : 0;
}

static int check_open(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return op->args.open.path ? 0 : -CIO_EINVAL;
}

static int check_statx(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return (op->args.statx.path && op->args.statx.buf) ? 0 : -CIO_EINVAL;
}

static int check_unlink(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return op->args.unlink.path ? 0 : -CIO_EINVAL;
}

static int check_rename(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return (op->args.rename.oldpath && op->args.rename.newpath) ? 0 : -CIO_EINVAL;
}

static int check_mkdir(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return op->args.mkdir.path ? 0 : -CIO_EINVAL;
}

static int check_addr(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return op->args.addr.addr ? 0 : -CIO_EINVAL;
}

static int check_accept(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return (op->args.accept.addr && !op->args.accept.addrlen) ? -CIO_EINVAL : 0;
}

static int check_msg(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return op->args.msg.msg ? 0 : -CIO_EINVAL;
}

static int check_shutdown(cio_loop *loop, const cio_op *op) {
    (void)loop;
    int how = op->args.shutdown.how;
    return (how == CIO_SHUT_RD || how == CIO_SHUT_WR || how == CIO_SHUT_RDWR) ? 0 : -CIO_EINVAL;
}

static int check_poll(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return op->args.poll.events ? 0 : -CIO_EINVAL;
}

static int check_splice(cio_loop *loop, const cio_op *op) {
    (void)loop;
    (void)op;
    return CIO_LINUX ? 0 : -CIO_ENOTSUP; /* splice(2) is Linux's alone */
}

static int check_call(cio_loop *loop, const cio_op *op) {
    (void)loop;
    return op->args.call.fn ? 0 : -CIO_EINVAL;
}

static int check_link(cio_loop *loop, const cio_op *op) {
    (void)loop;
    if (!op->args.link.oldpath || !op->args.link.newpath) return -CIO_EINVAL;
    return (op->args.link.flags & ~CIO_AT_SYMLINK_FOLLOW) ? -CIO_EINVAL : 0;
}

/* Records are 8-aligned from the buffer's start (cio_dirent). */
static int check_readdir(cio_loop *loop, const cio_op *op) {
    (void)loop;
    const void *buf = op->args.readdir.buf;
    return (!buf || ((uintptr_t)buf & 7u)) ? -CIO_EINVAL : 0;
}

/* A recv_pool needs a live pool of its own loop; no MSG_* flag is taken
 * yet (io_uring's multishot receive refuses MSG_WAITALL, and a peek would
 * hand out a buffer whose bytes come again). */
static int check_recv_pool(cio_loop *loop, const cio_op *op) {
    const cio_bufpool *p = op->args.recv_pool.pool;
    return (!p || p->loop != loop || p->dead || op->args.recv_pool.flags) ? -CIO_EINVAL : 0;
}

/* Registered buffers (fixed_buf.c): the range must lie inside the one named. */
static int check_rw_fixed(cio_loop *loop, const cio_op *op) {
    return cio__fixed_buf_check(loop, op->args.rw.buf, op->args.rw.len, op->args.rw.buf_index);
}

/* CIO_ZC_COPIED may be left from the op's last run: it is output. */
static int check_send_zc(cio_loop *loop, const cio_op *op) {
    unsigned zc = op->args.sr.zc;
    if (zc & ~(CIO_ZC_FIXED | CIO_ZC_COPIED)) return -CIO_EINVAL;
    return (zc & CIO_ZC_FIXED) ? cio__fixed_buf_check(loop, op->args.sr.buf, op->args.sr.len, op->args.sr.buf_index)
                               : 0;
}

static int check_post(cio_loop *loop, const cio_op *op) {
    (void)loop;
    const cio_op *m = op->args.post.msg;
    if (!op->args.post.target || !m || !m->cb || m->opcode == 0) return -CIO_EINVAL;
    return m->internal_.state == OP_IDLE ? 0 : -CIO_EALREADY;
}

/* ---- the table ---- */

#define AT(member) (uint8_t)(1 + offsetof(cio_op, args.member) - offsetof(cio_op, args))

/* Shorthands for the rows' common shapes. */
#define CORE(n, chk) {.name = n, .run = OPD_RUN_CORE, .check = chk}
#define ON_FD(n, fdm, d, r, chk) {.name = n, .file = AT(fdm), .dir = d, .run = r, .check = chk}
#define AT_DIR(n, dirm, chk) {.name = n, .also = {AT(dirm), 0}, .also_dirs = true, .check = chk}

const cio_opdef cio__opdefs[CIO_OP_COUNT_] = {
    [0] = {.name = "invalid"},
    [CIO_OP_NOP] = {.name = "nop", .run = OPD_RUN_INLINE},
    [CIO_OP_TIMEOUT] = CORE("timeout", check_timeout),
    [CIO_OP_TIMER_UPDATE] = CORE("timer_update", check_timer),
    [CIO_OP_TIMER_REMOVE] = CORE("timer_remove", check_timer),
    [CIO_OP_CANCEL] = CORE("cancel", check_cancel),
    /* A close names its handle in none of the fields: every part of cio
     * treats a close apart (it ends the others' ops on the handle). */
    [CIO_OP_CLOSE] = {.name = "close", .run = OPD_RUN_INLINE, .fixed = OPD_FIX_CLOSE, .check = check_close},
    [CIO_OP_READ] = {.name = "read", .file = AT(rw.fd), .dir = OPD_DIR_IN, .link = OPD_LINK_LEN,
                     .len = AT(rw.len), .buf = AT(rw.buf), .offset = AT(rw.offset), .fixed = OPD_FIX_USE},
    [CIO_OP_WRITE] = {.name = "write", .file = AT(rw.fd), .dir = OPD_DIR_OUT, .link = OPD_LINK_LEN,
                      .len = AT(rw.len), .buf = AT(rw.buf), .offset = AT(rw.offset), .fixed = OPD_FIX_USE},
    [CIO_OP_READV] = {.name = "readv", .file = AT(rwv.fd), .dir = OPD_DIR_IN, .link = OPD_LINK_IOV,
                      .offset = AT(rwv.offset), .fixed = OPD_FIX_USE, .check = check_iov},
    [CIO_OP_WRITEV] = {.name = "writev", .file = AT(rwv.fd), .dir = OPD_DIR_OUT, .link = OPD_LINK_IOV,
                       .offset = AT(rwv.offset), .fixed = OPD_FIX_USE, .check = check_iov},
    [CIO_OP_FSYNC] = {.name = "fsync", .file = AT(fsync.fd), .run = OPD_RUN_POOL, .fixed = OPD_FIX_USE,
                      .check = check_fsync},
    /* With CIO_F_FIXED_FILE its directory stays a plain handle (io_uring
     * takes none from the table); the new handle is fixed. */
    [CIO_OP_OPENAT] = {.name = "openat", .also = {AT(open.dirfd), 0}, .also_dirs = true, .fixed = OPD_FIX_NEW,
                       .check = check_open},
    [CIO_OP_STATX] = AT_DIR("statx", statx.dirfd, check_statx),
    [CIO_OP_UNLINKAT] = AT_DIR("unlinkat", unlink.dirfd, check_unlink),
    [CIO_OP_RENAMEAT] = {.name = "renameat", .also = {AT(rename.olddirfd), AT(rename.newdirfd)},
                         .also_dirs = true, .check = check_rename},
    [CIO_OP_MKDIRAT] = AT_DIR("mkdirat", mkdir.dirfd, check_mkdir),
    [CIO_OP_SOCKET] = {.name = "socket", .run = OPD_RUN_INLINE, .fixed = OPD_FIX_NEW},
    [CIO_OP_BIND] = ON_FD("bind", addr.fd, OPD_DIR_NONE, OPD_RUN_INLINE, check_addr),
    [CIO_OP_LISTEN] = ON_FD("listen", listen.fd, OPD_DIR_NONE, OPD_RUN_INLINE, NULL),
    [CIO_OP_ACCEPT] = {.name = "accept", .file = AT(accept.fd), .dir = OPD_DIR_IN, .multishot = true,
                       .fixed = OPD_FIX_USE | OPD_FIX_NEW, .check = check_accept},
    [CIO_OP_CONNECT] = {.name = "connect", .file = AT(addr.fd), .dir = OPD_DIR_OUT, .fixed = OPD_FIX_USE,
                        .check = check_addr},
    [CIO_OP_RECV] = {.name = "recv", .file = AT(sr.fd), .dir = OPD_DIR_IN, .link = OPD_LINK_WAITALL,
                     .len = AT(sr.len), .buf = AT(sr.buf), .msg_flags = AT(sr.flags), .fixed = OPD_FIX_USE},
    [CIO_OP_SEND] = {.name = "send", .file = AT(sr.fd), .dir = OPD_DIR_OUT, .link = OPD_LINK_WAITALL,
                     .len = AT(sr.len), .buf = AT(sr.buf), .msg_flags = AT(sr.flags), .fixed = OPD_FIX_USE},
    [CIO_OP_RECVMSG] = {.name = "recvmsg", .file = AT(msg.fd), .dir = OPD_DIR_IN, .msg_flags = AT(msg.flags),
                        .fixed = OPD_FIX_USE, .check = check_msg},
    [CIO_OP_SENDMSG] = {.name = "sendmsg", .file = AT(msg.fd), .dir = OPD_DIR_OUT, .msg_flags = AT(msg.flags),
                        .fixed = OPD_FIX_USE, .check = check_msg},
    [CIO_OP_SHUTDOWN] = {.name = "shutdown", .file = AT(shutdown.fd), .run = OPD_RUN_INLINE, .fixed = OPD_FIX_USE,
                         .check = check_shutdown},
    [CIO_OP_POLL] = {.name = "poll", .file = AT(poll.fd), .dir = OPD_DIR_POLL, .multishot = true,
                     .check = check_poll},
    [CIO_OP_SPLICE] = {.name = "splice", .file = AT(splice.fd_out), .also = {AT(splice.fd_in), 0},
                       .check = check_splice},
    [CIO_OP_POST] = {.name = "post", .run = OPD_RUN_POST, .check = check_post},
    [CIO_OP_CALL] = {.name = "call", .run = OPD_RUN_POOL, .check = check_call},
    [CIO_OP_FTRUNCATE] = ON_FD("ftruncate", size.fd, OPD_DIR_NONE, OPD_RUN_POOL, NULL),
    [CIO_OP_FALLOCATE] = ON_FD("fallocate", size.fd, OPD_DIR_NONE, OPD_RUN_POOL, NULL),
    /* A symlinkat's target is its contents, not a path it looks up: only
     * the new name's directory is a handle it uses. */
    [CIO_OP_SYMLINKAT] = {.name = "symlinkat", .also = {AT(link.newdirfd), 0}, .also_dirs = true,
                          .check = check_link},
    [CIO_OP_LINKAT] = {.name = "linkat", .also = {AT(link.olddirfd), AT(link.newdirfd)}, .also_dirs = true,
                       .check = check_link},
    [CIO_OP_READDIR] = ON_FD("readdir", readdir.fd, OPD_DIR_NONE, OPD_RUN_POOL, check_readdir),
    [CIO_OP_COPY_RANGE] = {.name = "copy_range", .file = AT(copy.fd_out), .also = {AT(copy.fd_in), 0}},
    /* No link rule of its own: a result > 0 goes on (a pool receive has
     * no length to fall short of). */
    [CIO_OP_RECV_POOL] = {.name = "recv_pool", .file = AT(recv_pool.fd), .dir = OPD_DIR_IN, .multishot = true,
                          .msg_flags = AT(recv_pool.flags), .fixed = OPD_FIX_USE, .check = check_recv_pool},
    /* The accelerated opcodes: each has the arguments, result and link
     * rule of its `base`, which the core runs in its place on a backend
     * that does not accelerate it (op.c: adopt). */
    [CIO_OP_SEND_ZC] = {.name = "send_zc", .file = AT(sr.fd), .dir = OPD_DIR_OUT, .link = OPD_LINK_WAITALL,
                        .len = AT(sr.len), .buf = AT(sr.buf), .msg_flags = AT(sr.flags), .base = CIO_OP_SEND,
                        .fixed = OPD_FIX_USE, .check = check_send_zc},
    [CIO_OP_SENDMSG_ZC] = {.name = "sendmsg_zc", .file = AT(msg.fd), .dir = OPD_DIR_OUT, .msg_flags = AT(msg.flags),
                           .base = CIO_OP_SENDMSG, .fixed = OPD_FIX_USE, .check = check_msg},
    [CIO_OP_READ_FIXED] = {.name = "read_fixed", .file = AT(rw.fd), .dir = OPD_DIR_IN, .link = OPD_LINK_LEN,
                           .len = AT(rw.len), .buf = AT(rw.buf), .offset = AT(rw.offset), .base = CIO_OP_READ,
                           .fixed = OPD_FIX_USE, .check = check_rw_fixed},
    [CIO_OP_WRITE_FIXED] = {.name = "write_fixed", .file = AT(rw.fd), .dir = OPD_DIR_OUT, .link = OPD_LINK_LEN,
                            .len = AT(rw.len), .buf = AT(rw.buf), .offset = AT(rw.offset), .base = CIO_OP_WRITE,
                            .fixed = OPD_FIX_USE, .check = check_rw_fixed},
};

#undef AT
#undef CORE
#undef ON_FD
#undef AT_DIR

bool cio__link_continues(const cio_op *op, int32_t res) {
    const cio_opdef *d = cio__opdef(op);
    if (res < 0) return false;
    switch (d->link) {
    case OPD_LINK_LEN:
        return (uint32_t)res == CIO_ARG(uint32_t, op, d->len);
    case OPD_LINK_WAITALL:
        return !(cio__op_msg_flags(op) & CIO_MSG_WAITALL) || (uint32_t)res == CIO_ARG(uint32_t, op, d->len);
    case OPD_LINK_IOV: {
        size_t total = 0;
        for (uint32_t i = 0; i < op->args.rwv.iovcnt; i++) total += op->args.rwv.iov[i].iov_len;
        return (size_t)res == total;
    }
    default:
        return true;
    }
}

int cio__op_check_rest(cio_loop *loop, const cio_op *op) {
    const cio_opdef *d = cio__opdef(op);
    for (unsigned i = 0; i < 2 && d->also[i]; i++) {
        cio_fd fd = cio__handle_at(op, d->also[i]);
        if (d->also_dirs ? bad_dirfd(fd) : bad_fd(fd)) return -CIO_EBADF;
    }
    return d->check ? d->check(loop, op) : 0;
}

const char *cio_op_name(int opcode) {
    if (opcode <= 0 || opcode >= CIO_OP_COUNT_) return "invalid";
    return cio__opdefs[opcode].name;
}
