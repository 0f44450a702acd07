/*
 * cio/error.h - error codes.
 *
 * Every cio function and every completion reports failure as a negative
 * error code: `-CIO_EAGAIN`, `-CIO_ECANCELED`, ... Success is zero or a
 * non-negative count. The codes are the C library's errno values on every
 * platform (POSIX and mingw alike), so a Linux result needs no translation;
 * backends for other kernels (IOCP) map their native errors onto them.
 * Compare against the names, never against numbers.
 */
#ifndef CIO_ERROR_H
#define CIO_ERROR_H

#include <errno.h>

#include "platform.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CIO_EPERM EPERM               /* operation not permitted */
#define CIO_ENOENT ENOENT             /* no such file, or: cancel target not found */
#define CIO_EINTR EINTR               /* interrupted */
#define CIO_EIO EIO                   /* input/output error */
#define CIO_ENXIO ENXIO               /* no such device: e.g. a FIFO opened for writing has no reader */
#define CIO_EBADF EBADF               /* bad handle */
#define CIO_EAGAIN EAGAIN             /* try again */
#define CIO_ENOMEM ENOMEM             /* out of memory */
#define CIO_EACCES EACCES             /* permission denied */
#define CIO_EFAULT EFAULT             /* bad address */
#define CIO_EBUSY EBUSY               /* busy: e.g. closing a loop from its own callback */
#define CIO_EEXIST EEXIST             /* file exists */
#define CIO_EXDEV EXDEV               /* cross-device link */
#define CIO_ENOTDIR ENOTDIR           /* not a directory */
#define CIO_EISDIR EISDIR             /* is a directory */
#define CIO_EINVAL EINVAL             /* invalid argument */
#define CIO_ENFILE ENFILE             /* too many open files in the system */
#define CIO_EMFILE EMFILE             /* too many open files in this process */
#define CIO_ENOSPC ENOSPC             /* no space left on device */
#define CIO_EFBIG EFBIG               /* file too large (beyond the largest size or offset) */
#define CIO_ESRCH ESRCH               /* no such process: a kill after the child was reaped */
#define CIO_ECHILD ECHILD             /* no child to wait for: reaped by someone else */
#define CIO_ESPIPE ESPIPE             /* illegal seek */
#define CIO_EPIPE EPIPE               /* broken pipe */
#define CIO_ERANGE ERANGE             /* result out of range */
#define CIO_ENAMETOOLONG ENAMETOOLONG /* file name too long */
#define CIO_ENOSYS ENOSYS             /* function not implemented by the OS */
#define CIO_ENOTEMPTY ENOTEMPTY       /* directory not empty */
#define CIO_ELOOP ELOOP               /* too many symbolic links */
#define CIO_EOVERFLOW EOVERFLOW       /* value too large */
#define CIO_ENOTSUP EOPNOTSUPP        /* operation not supported on this platform */
#define CIO_ECANCELED ECANCELED       /* the op was cancelled */
#define CIO_ETIMEDOUT ETIMEDOUT       /* the op's deadline passed */
#define CIO_EALREADY EALREADY         /* already in progress (op in flight, cancel too late) */
#define CIO_EINPROGRESS EINPROGRESS   /* operation now in progress */
#define CIO_EDEADLK EDEADLK           /* would wait for ever (the mock backend's deadlock report) */
#define CIO_ENOTSOCK ENOTSOCK         /* not a socket */
#define CIO_EMSGSIZE EMSGSIZE         /* message too long */
#define CIO_EAFNOSUPPORT EAFNOSUPPORT /* address family not supported */
#define CIO_EADDRINUSE EADDRINUSE     /* address in use */
#define CIO_EADDRNOTAVAIL EADDRNOTAVAIL
#define CIO_ENETUNREACH ENETUNREACH
#define CIO_EHOSTUNREACH EHOSTUNREACH
#define CIO_ECONNABORTED ECONNABORTED
#define CIO_ECONNRESET ECONNRESET
#define CIO_ECONNREFUSED ECONNREFUSED
#define CIO_ENOTCONN ENOTCONN
#define CIO_ENOBUFS ENOBUFS
#define CIO_EISCONN EISCONN           /* the socket is already connected */
#define CIO_EDESTADDRREQ EDESTADDRREQ /* a datagram with no destination (socket not connected) */
#define CIO_EPROTOTYPE EPROTOTYPE     /* the socket at that address is of another type */
#define CIO_EPROTONOSUPPORT EPROTONOSUPPORT /* protocol or socket type not supported */
#define CIO_ENOPROTOOPT ENOPROTOOPT   /* socket option not known (or not simulated) */
/* cio's own: no errno says it. A value no C library uses for an errno. */
#define CIO_ENOTFOUND 4001            /* DNS: no such host, or no address of the asked family */

/*
 * cio_strerror - a short English description of an error code.
 *
 * Accepts the code with either sign (`-CIO_EINVAL` or `CIO_EINVAL`).
 * Returns a pointer to a static string that is never freed; unknown codes
 * yield "unknown error". Safe to call from any thread.
 */
CIO_API const char *cio_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* CIO_ERROR_H */
