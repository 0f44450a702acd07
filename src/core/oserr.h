/*
 * src/core/oserr.h - the system's error numbers as cio's portable codes.
 *
 * POSIX reports through errno, which already is a CIO_E* value (error.h
 * uses the C library's numbers). Windows has three vocabularies: Win32
 * errors (GetLastError), Winsock errors (WSAGetLastError, 10000 up) and
 * NTSTATUS (an IOCP packet's OVERLAPPED.Internal). Every path that turns
 * a system failure into an op's result goes through one of these, so a
 * code means the same thing on every backend.
 */
#ifndef CIO_CORE_OSERR_H
#define CIO_CORE_OSERR_H

#include <stdint.h>

#include "cio/error.h"

#if defined(_WIN32)
/* A Win32 error (GetLastError) as a negative CIO_E* code; unknown ones
 * are -CIO_EIO. 0 gives 0. */
int cio__win_error(unsigned long err);

/* A Winsock error (WSAGetLastError, WSAE* and the WSA_* overlapped
 * codes) as a negative CIO_E* code; unknown ones are -CIO_EIO. */
int cio__wsa_error(int err);

/* An NTSTATUS (OVERLAPPED.Internal of a completed op) as a negative
 * CIO_E* code, 0 for success and for warning statuses that still
 * delivered (STATUS_BUFFER_OVERFLOW is -CIO_EMSGSIZE). */
int cio__ntstatus_error(long status);

/* The calling thread's last socket error (WSAGetLastError). */
int cio__sock_error(void);

/* For a socket call on `fd` that failed or is about to be made: 0 if `fd`
 * is a socket, -CIO_ENOTSOCK if it is an open handle of another kind,
 * -CIO_EBADF if it names no open handle. Winsock says WSAENOTSOCK (or,
 * under Wine, WSAEOPNOTSUPP) for both; POSIX tells them apart. */
int cio__sock_fd_error(uintptr_t fd);

/* The code of a socket call on `fd` that just failed: cio__sock_fd_error's
 * when `fd` is no socket, else the thread's socket error. */
int cio__sock_failed(uintptr_t fd);

/* Linux's checks of an IPv4/IPv6 name given to bind (bind true) or as a
 * datagram's destination, made before Winsock sees it, whose own answers
 * differ (WSAEFAULT for a short name, WSAEOPNOTSUPP or WSAEINVAL for one
 * of the wrong family): a name shorter than the socket family's is
 * -CIO_EINVAL, one of another family -CIO_EAFNOSUPPORT (a v4 name on a v6
 * socket is a mapped address when sending). 0 when nothing is wrong or the
 * socket is not IPv4/IPv6; cio__sock_fd_error's code if `fd` is no
 * socket. Any thread. */
int cio__sock_name_error(uintptr_t fd, const void *name, int len, int bind);

/* The same checks for a socket whose family (AF_*) is known. */
int cio__name_error(int family, const void *name, int len, int bind);
#else
#include <errno.h>

static inline int cio__sock_error(void) { return -errno; }
#endif

#endif /* CIO_CORE_OSERR_H */
