/*
 * src/core/oserr_win.c - Windows' three error vocabularies as cio's
 * portable codes (oserr.h): Win32 errors, Winsock errors and NTSTATUS.
 *
 * One condition gets one code whatever vocabulary reports it: a refused
 * connection is -CIO_ECONNREFUSED whether a blocking connect() says
 * WSAECONNREFUSED, GetQueuedCompletionStatus says ERROR_CONNECTION_REFUSED
 * or the packet's OVERLAPPED.Internal holds STATUS_CONNECTION_REFUSED. The
 * choice where Windows and POSIX disagree is POSIX's (what a Linux program
 * would see in the same situation), so that code written against Linux
 * results keeps working.
 *
 * What the callers decide themselves, because the right code depends on
 * the op and not on the error:
 * - ERROR_HANDLE_EOF (38) and STATUS_END_OF_FILE: end of file, a read of 0
 *   bytes. Mapped here to -CIO_EIO only so that a caller that forgets the
 *   case sees an error rather than a silent success.
 * - ERROR_BROKEN_PIPE (109): end of file on a read, -CIO_EPIPE (here) on a
 *   write.
 * - ERROR_OPERATION_ABORTED (995): -CIO_ECANCELED here; the blocking pool
 *   turns it into -CIO_EINTR, since there it means "CancelSynchronousIo
 *   interrupted the call" (thread.h, pool.c).
 * - ERROR_INVALID_FUNCTION (1): -CIO_EINVAL here; a read of a directory
 *   handle reports it, where POSIX says -CIO_EISDIR.
 * - ERROR_MORE_DATA (234) and STATUS_BUFFER_OVERFLOW: -CIO_EMSGSIZE here;
 *   for a datagram or pipe message received into too small a buffer it
 *   is a success (the bytes were delivered).
 *
 * A dropped connection, by who dropped it (Winsock's own translation of
 * the statuses, so that the packet path, the submit path and the pool
 * agree for the same event):
 * - ended on this side (the stack aborted it: a keep-alive or
 *   retransmission timeout, a local closesocket/shutdown under a pending
 *   request): ERROR_CONNECTION_ABORTED (1236), STATUS_CONNECTION_ABORTED,
 *   STATUS_LOCAL_DISCONNECT, WSAECONNABORTED (10053) -> -CIO_ECONNABORTED,
 *   Winsock's name for it (Linux would say ETIMEDOUT or ECONNRESET for
 *   most of these, but one event must get one code whatever reports it);
 * - reset by the peer: ERROR_NETNAME_DELETED (64), WSAECONNRESET (10054),
 *   WSAENETRESET, STATUS_CONNECTION_RESET, STATUS_REMOTE_DISCONNECT ->
 *   -CIO_ECONNRESET.
 * A caller that knows the abort was its own doing (the IOCP backend, for
 * its own close) reports -CIO_ECANCELED instead.
 */
#include "oserr.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <winternl.h>

/* Not every mingw header names these. */
#ifndef ERROR_DIRECTORY_NOT_SUPPORTED
#define ERROR_DIRECTORY_NOT_SUPPORTED 336L
#endif
#ifndef ERROR_ELEVATION_REQUIRED
#define ERROR_ELEVATION_REQUIRED 740L
#endif
#ifndef ERROR_HANDLES_CLOSED
#define ERROR_HANDLES_CLOSED 676L
#endif
#ifndef ERROR_STOPPED_ON_SYMLINK
#define ERROR_STOPPED_ON_SYMLINK 681L
#endif
#ifndef ERROR_CANT_RESOLVE_FILENAME
#define ERROR_CANT_RESOLVE_FILENAME 1921L
#endif
#ifndef ERROR_NOT_CONNECTED
#define ERROR_NOT_CONNECTED 2250L
#endif

int cio__win_error(unsigned long err) {
    /* After a Winsock call GetLastError() is WSAGetLastError(). */
    if (err >= 10000 && err < 12000) return cio__wsa_error((int)err);
    switch (err) {
    case ERROR_SUCCESS:
        return 0;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_NO_MORE_FILES:
    case ERROR_BAD_NETPATH:
    case ERROR_DEV_NOT_EXIST:
    case ERROR_BAD_NET_NAME:
    case ERROR_INVALID_NAME: /* "syntax incorrect": a name that cannot exist */
    case ERROR_BAD_PATHNAME:
    case ERROR_MOD_NOT_FOUND:
    case ERROR_DELETE_PENDING: /* on POSIX the name would be gone already */
    case ERROR_NOT_FOUND:
        return -CIO_ENOENT;
    case ERROR_TOO_MANY_OPEN_FILES:
        return -CIO_EMFILE;
    case ERROR_ACCESS_DENIED:
    case ERROR_NETWORK_ACCESS_DENIED:
    case ERROR_WRITE_PROTECT:
    case ERROR_CANNOT_MAKE:
    case ERROR_CANT_ACCESS_FILE:
    case ERROR_ELEVATION_REQUIRED:
        return -CIO_EACCES;
    case ERROR_PRIVILEGE_NOT_HELD:
        return -CIO_EPERM;
    case ERROR_INVALID_HANDLE:
        return -CIO_EBADF;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_NOT_ENOUGH_SERVER_MEMORY:
    case ERROR_NO_SYSTEM_RESOURCES:
    case ERROR_NONPAGED_SYSTEM_RESOURCES:
    case ERROR_PAGED_SYSTEM_RESOURCES:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_WORKING_SET_QUOTA:
    case ERROR_NOT_ENOUGH_QUOTA:
        return -CIO_ENOMEM;
    case ERROR_CURRENT_DIRECTORY:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_BUSY_DRIVE:
    case ERROR_PATH_BUSY:
    case ERROR_BUSY:
    case ERROR_LOCKED:
    case ERROR_PIPE_BUSY:
    case ERROR_USER_MAPPED_FILE:
    case ERROR_DEVICE_IN_USE:
        return -CIO_EBUSY;
    case ERROR_NOT_SAME_DEVICE:
        return -CIO_EXDEV;
    case ERROR_NOT_READY:
    case ERROR_CRC:
    case ERROR_SEEK:
    case ERROR_WRITE_FAULT:
    case ERROR_READ_FAULT:
    case ERROR_GEN_FAILURE:
    case ERROR_UNEXP_NET_ERR:
    case ERROR_OPEN_FAILED:
    case ERROR_IO_DEVICE:
    case ERROR_FILE_CORRUPT:
    case ERROR_DISK_CORRUPT:
    case ERROR_HANDLE_EOF: /* the callers' case: see the top */
        return -CIO_EIO;
    case ERROR_HANDLE_DISK_FULL:
    case ERROR_DISK_FULL:
        return -CIO_ENOSPC;
    case ERROR_NOT_SUPPORTED:
        return -CIO_ENOTSUP;
    case ERROR_CALL_NOT_IMPLEMENTED:
    case ERROR_PROC_NOT_FOUND:
        return -CIO_ENOSYS;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
        return -CIO_EEXIST;
    case ERROR_INVALID_FUNCTION:
    case ERROR_INVALID_DATA:
    case ERROR_BAD_LENGTH:
    case ERROR_INVALID_PARAMETER:
    case ERROR_NEGATIVE_SEEK:
    case ERROR_INVALID_LEVEL:
    case ERROR_INVALID_FLAGS:
    case ERROR_NO_UNICODE_TRANSLATION:
    case ERROR_NOT_A_REPARSE_POINT:
    case ERROR_INVALID_REPARSE_DATA:
        return -CIO_EINVAL;
    case ERROR_SEEK_ON_DEVICE:
        return -CIO_ESPIPE;
    case ERROR_BROKEN_PIPE:
    case ERROR_BAD_PIPE:
    case ERROR_NO_DATA: /* the pipe is being closed */
    case ERROR_PIPE_NOT_CONNECTED:
    case ERROR_GRACEFUL_DISCONNECT:
        return -CIO_EPIPE;
    case ERROR_BUFFER_OVERFLOW: /* of a file name */
    case ERROR_FILENAME_EXCED_RANGE:
        return -CIO_ENAMETOOLONG;
    case ERROR_INSUFFICIENT_BUFFER:
        return -CIO_ENOBUFS;
    case ERROR_DIR_NOT_EMPTY:
        return -CIO_ENOTEMPTY;
    case ERROR_DIRECTORY: /* "the directory name is invalid": a file where a directory must be */
        return -CIO_ENOTDIR;
    case ERROR_DIRECTORY_NOT_SUPPORTED:
        return -CIO_EISDIR;
    case ERROR_MORE_DATA: /* a datagram or pipe message cut to the buffer */
        return -CIO_EMSGSIZE;
    case ERROR_FILE_TOO_LARGE:
    case ERROR_ARITHMETIC_OVERFLOW:
        return -CIO_EOVERFLOW;
    case ERROR_NETNAME_DELETED: /* the peer reset it (see the top) */
    case ERROR_VC_DISCONNECTED:
        return -CIO_ECONNRESET;
    case ERROR_CONNECTION_ABORTED: /* this side's stack ended it (see the top) */
        return -CIO_ECONNABORTED;
    case WAIT_TIMEOUT:
    case ERROR_SEM_TIMEOUT:
    case ERROR_TIMEOUT:
        return -CIO_ETIMEDOUT;
    case ERROR_OPERATION_ABORTED:
    case ERROR_REQUEST_ABORTED:
    case ERROR_HANDLES_CLOSED: /* Wine's status for IO under a closesocket: cancelled */
        return -CIO_ECANCELED;
    case ERROR_IO_INCOMPLETE:
    case ERROR_IO_PENDING:
        return -CIO_EINPROGRESS;
    case ERROR_NOACCESS:
    case ERROR_INVALID_ADDRESS:
    case ERROR_INVALID_USER_BUFFER:
        return -CIO_EFAULT;
    case ERROR_STOPPED_ON_SYMLINK:
    case ERROR_CANT_RESOLVE_FILENAME:
        return -CIO_ELOOP;
    case ERROR_MAX_THRDS_REACHED:
    case ERROR_NO_PROC_SLOTS:
        return -CIO_EAGAIN;
    case ERROR_CONNECTION_REFUSED:
    case ERROR_PORT_UNREACHABLE: /* ICMP port unreachable: Linux reports ECONNREFUSED */
        return -CIO_ECONNREFUSED;
    case ERROR_NETWORK_UNREACHABLE:
    case ERROR_PROTOCOL_UNREACHABLE:
    case ERROR_NO_NETWORK:
        return -CIO_ENETUNREACH;
    case ERROR_HOST_UNREACHABLE:
        return -CIO_EHOSTUNREACH;
    case ERROR_ADDRESS_ALREADY_ASSOCIATED:
    case ERROR_DUP_NAME: /* STATUS_ADDRESS_ALREADY_EXISTS */
        return -CIO_EADDRINUSE;
    case ERROR_ADDRESS_NOT_ASSOCIATED:
    case ERROR_INVALID_NETNAME: /* STATUS_INVALID_ADDRESS_COMPONENT */
        return -CIO_EADDRNOTAVAIL;
    case ERROR_CONNECTION_INVALID:
    case ERROR_NOT_CONNECTED:
        return -CIO_ENOTCONN;
    case ERROR_CONNECTION_ACTIVE:
        return -CIO_EISCONN;
    default:
        return -CIO_EIO;
    }
}

int cio__wsa_error(int err) {
    /* The WSA_* overlapped codes are Win32 errors (WSA_IO_PENDING is 997). */
    if (err < 10000) return err <= 0 ? 0 : cio__win_error((unsigned long)err);
    switch (err) {
    case WSAEINTR:
        return -CIO_EINTR;
    case WSAEBADF:
        return -CIO_EBADF;
    case WSAEACCES:
        return -CIO_EACCES;
    case WSAEFAULT: /* mostly an address or buffer length too short for the call, where
                       POSIX says EINVAL (a bad pointer is the caller's bug either way) */
    case WSAEINVAL:
        return -CIO_EINVAL;
    case WSAEMFILE:
        return -CIO_EMFILE;
    case WSAEWOULDBLOCK:
        return -CIO_EAGAIN;
    case WSAEINPROGRESS:
        return -CIO_EINPROGRESS;
    case WSAEALREADY:
        return -CIO_EALREADY;
    case WSAENOTSOCK:
        return -CIO_ENOTSOCK;
    case WSAEDESTADDRREQ:
        return -CIO_EDESTADDRREQ;
    case WSAEMSGSIZE:
        return -CIO_EMSGSIZE;
    case WSAEPROTOTYPE:
        return -CIO_EPROTOTYPE;
    case WSAENOPROTOOPT:
        return -CIO_ENOPROTOOPT;
    case WSAEPROTONOSUPPORT:
    case WSAESOCKTNOSUPPORT:
        return -CIO_EPROTONOSUPPORT;
    case WSAEOPNOTSUPP:
        return -CIO_ENOTSUP;
    case WSAEPFNOSUPPORT:
    case WSAEAFNOSUPPORT:
        return -CIO_EAFNOSUPPORT;
    case WSAEADDRINUSE:
        return -CIO_EADDRINUSE;
    case WSAEADDRNOTAVAIL:
        return -CIO_EADDRNOTAVAIL;
    case WSAENETDOWN:
    case WSAENETUNREACH:
        return -CIO_ENETUNREACH;
    case WSAENETRESET: /* a keep-alive found the connection dead */
    case WSAECONNRESET:
        return -CIO_ECONNRESET;
    case WSAECONNABORTED:
        return -CIO_ECONNABORTED;
    case WSAENOBUFS:
    case WSAETOOMANYREFS:
        return -CIO_ENOBUFS;
    case WSAEISCONN:
        return -CIO_EISCONN;
    case WSAENOTCONN:
        return -CIO_ENOTCONN;
    case WSAESHUTDOWN: /* a send after shutdown(SD_SEND): EPIPE on Linux */
    case WSAEDISCON:
        return -CIO_EPIPE;
    case WSAETIMEDOUT:
        return -CIO_ETIMEDOUT;
    case WSAECONNREFUSED:
        return -CIO_ECONNREFUSED;
    case WSAELOOP:
        return -CIO_ELOOP;
    case WSAENAMETOOLONG:
        return -CIO_ENAMETOOLONG;
    case WSAEHOSTDOWN:
    case WSAEHOSTUNREACH:
        return -CIO_EHOSTUNREACH;
    case WSAENOTEMPTY:
        return -CIO_ENOTEMPTY;
    case WSAEPROCLIM:
        return -CIO_EAGAIN;
    case WSAECANCELLED:
    case WSA_E_CANCELLED:
        return -CIO_ECANCELED;
    default:
        return -CIO_EIO;
    }
}

/* NTSTATUS values that need more than RtlNtStatusToDosError's answer. */
#define ST_BUFFER_OVERFLOW 0x80000005UL
#define ST_HANDLES_CLOSED 0x8000000AUL
#define ST_END_OF_FILE 0xC0000011UL
#define ST_CANCELLED 0xC0000120UL
#define ST_LOCAL_DISCONNECT 0xC000013BUL
#define ST_REMOTE_DISCONNECT 0xC000013CUL
#define ST_ADDRESS_ALREADY_EXISTS 0xC000020AUL
#define ST_INVALID_ADDRESS_COMPONENT 0xC0000207UL
#define ST_CONNECTION_RESET 0xC000020DUL
#define ST_CONNECTION_REFUSED 0xC0000236UL
#define ST_CONNECTION_ABORTED 0xC0000241UL

int cio__ntstatus_error(long status) {
    unsigned long st = (unsigned long)(uint32_t)status;
    /* Success and informational statuses (below 0x80000000) delivered. */
    if (st < 0x80000000UL) return 0;
    switch (st) {
    case ST_BUFFER_OVERFLOW: /* data delivered, but cut to the buffer */
        return -CIO_EMSGSIZE;
    case ST_HANDLES_CLOSED: /* a warning, yet the op was aborted (Wine, at closesocket) */
    case ST_CANCELLED:
        return -CIO_ECANCELED;
    case ST_END_OF_FILE: /* the callers' case: see the top */
        return -CIO_EIO;
    case ST_LOCAL_DISCONNECT: /* Winsock: WSAECONNABORTED (see the top) */
    case ST_CONNECTION_ABORTED:
        return -CIO_ECONNABORTED;
    case ST_REMOTE_DISCONNECT: /* Winsock: WSAECONNRESET */
    case ST_CONNECTION_RESET:
        return -CIO_ECONNRESET;
    case ST_CONNECTION_REFUSED:
        return -CIO_ECONNREFUSED;
    case ST_ADDRESS_ALREADY_EXISTS:
        return -CIO_EADDRINUSE;
    case ST_INVALID_ADDRESS_COMPONENT:
        return -CIO_EADDRNOTAVAIL;
    default:
        return cio__win_error(RtlNtStatusToDosError((NTSTATUS)status));
    }
}

int cio__sock_error(void) { return cio__wsa_error(WSAGetLastError()); }

int cio__sock_fd_error(uintptr_t fd) {
    int type = 0, len = sizeof type;
    if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0) return 0;
    DWORD flags;
    return GetHandleInformation((HANDLE)fd, &flags) ? -CIO_ENOTSOCK : -CIO_EBADF;
}

int cio__sock_failed(uintptr_t fd) {
    int r = cio__sock_error(); /* first: the probe below sets its own error */
    int k = cio__sock_fd_error(fd);
    return k ? k : r;
}

int cio__sock_name_error(uintptr_t fd, const void *name, int len, int bind) {
    WSAPROTOCOL_INFOW pi;
    int plen = sizeof pi;
    if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&pi, &plen) != 0) {
        int r = cio__sock_fd_error(fd);
        return r ? r : cio__sock_error();
    }
    return cio__name_error(pi.iAddressFamily, name, len, bind);
}

int cio__name_error(int fam, const void *name, int len, int bind) {
    if (!name || (fam != AF_INET && fam != AF_INET6)) return 0;
    int want = fam == AF_INET ? (int)sizeof(struct sockaddr_in) : 24; /* Linux's SIN6_LEN_RFC2133 */
    if (len < (int)sizeof(ADDRESS_FAMILY)) return -CIO_EINVAL;
    int given = ((const struct sockaddr *)name)->sa_family;
    /* Linux looks at the family first only for a v6 send of a v4 name. */
    if (fam == AF_INET6 && !bind && given == AF_INET) return len < (int)sizeof(struct sockaddr_in) ? -CIO_EINVAL : 0;
    if (len < want) return -CIO_EINVAL;
    if (given != fam && !(fam == AF_INET && given == AF_UNSPEC)) return -CIO_EAFNOSUPPORT;
    return 0;
}
