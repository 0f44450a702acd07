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
#else
#include <errno.h>

static inline int cio__sock_error(void) { return -errno; }
#endif

#endif /* CIO_CORE_OSERR_H */
