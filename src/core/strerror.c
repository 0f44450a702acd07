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
        E(CIO_ENOENT, "no such file or directory")
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
        E(CIO_EFBIG, "file too large")
        E(CIO_ESRCH, "no such process")
        E(CIO_ECHILD, "no child process")
        E(CIO_ESPIPE, "illegal seek")
        E(CIO_EPIPE, "broken pipe")
        E(CIO_ERANGE, "result out of range")
        E(CIO_ENAMETOOLONG, "name too long")
        E(CIO_ENOTFOUND, "host not found")
        E(CIO_ENOSYS, "function not implemented")
        E(CIO_ENOTEMPTY, "directory not empty")
        E(CIO_ELOOP, "too many levels of symbolic links")
        E(CIO_EOVERFLOW, "value too large")
        E(CIO_ENOTSUP, "operation not supported")
        E(CIO_ECANCELED, "operation canceled")
        E(CIO_ETIMEDOUT, "timed out")
        E(CIO_EALREADY, "operation already in progress")
        E(CIO_EINPROGRESS, "operation in progress")
        E(CIO_EDEADLK, "deadlock: would wait for ever")
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
        E(CIO_EISCONN, "socket already connected")
        E(CIO_EDESTADDRREQ, "destination address required")
        E(CIO_EPROTOTYPE, "wrong socket type")
        E(CIO_EPROTONOSUPPORT, "protocol not supported")
        E(CIO_ENOPROTOOPT, "socket option not available")
    default:
        return "unknown error";
    }
}
