/*
 * src/core/strerror.c - cio_strerror(): our own short texts, so that the
 * message for a code is the same on every platform and thread-safe.
 */
#include <limits.h>

#include "cio.h"

#define E(code, text) \
    case code:        \
        return text;

const char *cio_strerror(int err) {
    if (err < 0) err = err == INT_MIN ? INT_MAX : -err; /* -INT_MIN does not exist */
    switch (err) {
    case 0:
        return "success";
        E(CIO_EPERM, "operation not permitted")
        E(CIO_ENOENT, "no such file, directory or op")
        E(CIO_EINTR, "interrupted")
        E(CIO_EIO, "input/output error")
        E(CIO_ENXIO, "no such device or address")
        E(CIO_EBADF, "bad handle")
        E(CIO_EAGAIN, "resource temporarily unavailable")
        E(CIO_ENOMEM, "out of memory")
        E(CIO_EACCES, "permission denied")
        E(CIO_EFAULT, "bad address")
        E(CIO_EBUSY, "busy")
        E(CIO_EEXIST, "already exists")
        E(CIO_EXDEV, "cross-device link")
        E(CIO_ENOTDIR, "not a directory")
        E(CIO_EISDIR, "is a directory")
        E(CIO_EINVAL, "invalid argument")
        E(CIO_ENFILE, "too many open files in system")
        E(CIO_EMFILE, "too many open files")
        E(CIO_ENOSPC, "no space left on device")
        E(CIO_ESPIPE, "illegal seek")
        E(CIO_EPIPE, "broken pipe")
        E(CIO_ERANGE, "result out of range")
        E(CIO_ENAMETOOLONG, "name too long")
        E(CIO_ENOSYS, "function not implemented")
        E(CIO_ENOTEMPTY, "directory not empty")
        E(CIO_ELOOP, "too many levels of symbolic links")
        E(CIO_EOVERFLOW, "value too large")
        E(CIO_ENOTSUP, "operation not supported")
        E(CIO_ECANCELED, "operation canceled")
        E(CIO_ETIMEDOUT, "timed out")
        E(CIO_EALREADY, "operation already in progress")
        E(CIO_EINPROGRESS, "operation in progress")
        E(CIO_ENOTSOCK, "not a socket")
        E(CIO_EMSGSIZE, "message too long")
        E(CIO_EAFNOSUPPORT, "address family not supported")
        E(CIO_EADDRINUSE, "address already in use")
        E(CIO_EADDRNOTAVAIL, "address not available")
        E(CIO_ENETUNREACH, "network unreachable")
        E(CIO_EHOSTUNREACH, "host unreachable")
        E(CIO_ECONNABORTED, "connection aborted")
        E(CIO_ECONNRESET, "connection reset by peer")
        E(CIO_ECONNREFUSED, "connection refused")
        E(CIO_ENOTCONN, "socket not connected")
        E(CIO_ENOBUFS, "no buffer space available")
    default:
        return "unknown error";
    }
}

static const char *const op_names[CIO_OP_COUNT_] = {
    [CIO_OP_NOP] = "nop",         [CIO_OP_TIMEOUT] = "timeout",   [CIO_OP_TIMER_UPDATE] = "timer_update",
    [CIO_OP_TIMER_REMOVE] = "timer_remove", [CIO_OP_CANCEL] = "cancel", [CIO_OP_READ] = "read",
    [CIO_OP_WRITE] = "write",     [CIO_OP_READV] = "readv",       [CIO_OP_WRITEV] = "writev",
    [CIO_OP_FSYNC] = "fsync",     [CIO_OP_OPENAT] = "openat",     [CIO_OP_CLOSE] = "close",
    [CIO_OP_STATX] = "statx",     [CIO_OP_UNLINKAT] = "unlinkat", [CIO_OP_RENAMEAT] = "renameat",
    [CIO_OP_MKDIRAT] = "mkdirat", [CIO_OP_SOCKET] = "socket",     [CIO_OP_BIND] = "bind",
    [CIO_OP_LISTEN] = "listen",   [CIO_OP_ACCEPT] = "accept",     [CIO_OP_CONNECT] = "connect",
    [CIO_OP_RECV] = "recv",       [CIO_OP_SEND] = "send",         [CIO_OP_RECVMSG] = "recvmsg",
    [CIO_OP_SENDMSG] = "sendmsg", [CIO_OP_SHUTDOWN] = "shutdown", [CIO_OP_POLL] = "poll",
    [CIO_OP_SPLICE] = "splice",   [CIO_OP_POST] = "post",
};

const char *cio_op_name(int opcode) {
    if (opcode <= 0 || opcode >= CIO_OP_COUNT_) return "invalid";
    return op_names[opcode];
}
