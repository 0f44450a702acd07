/*
 * src/core/handle_win.h - what the IOCP backend (src/backend/iocp*.c) and
 * the blocking pool's Windows calls (sync_ops_win.c) both need to know and
 * do about a handle: what kind it is, how cio makes a socket, binds one
 * before ConnectEx, shuts one down and closes a handle, and what a failed
 * read or write means. One copy, so that an op gets the same answer on
 * either path (review R16: the two copies had drifted apart).
 *
 * Windows only. Every function may be called from any thread; none keeps
 * state.
 */
#ifndef CIO_CORE_HANDLE_WIN_H
#define CIO_CORE_HANDLE_WIN_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <stdbool.h>
#include <stdint.h>

#include "cio/platform.h"

/* ---- what a handle is ---- */

/* The socket type (SOCK_STREAM, ...) of `fd`, or -1 if it is no socket.
 * Winsock answers from its own table, without the file object, so this
 * never waits behind a pool thread's read of a synchronous handle. */
int cio__win_sock_type(cio_fd fd);

static inline bool cio__win_is_socket(cio_fd fd) { return cio__win_sock_type(fd) >= 0; }

/* Whether IO on `h` completes inside the call: 1 for a synchronous handle
 * (FileModeInformation's synchronous bits, FINDINGS 5, 8, 9) or one whose
 * mode cannot be read (a console); 0 for an overlapped one, which can join
 * a completion port; -CIO_EBADF if `h` is no handle at all. */
int cio__win_sync_io(HANDLE h);

/* Whether `h` may append but not overwrite: cio's O_APPEND (openat opens
 * with FILE_APPEND_DATA without FILE_WRITE_DATA), whose writes go to the
 * end, at the all-ones offset. */
bool cio__win_append_only(HANDLE h);

/* Whether `h` is open on a directory. */
bool cio__win_is_dir(HANDLE h);

/* ---- sockets ---- */

/* A new socket as cio makes every one (socket, accept): overlapped, so it
 * can join a completion port, and never inherited by child processes,
 * whatever CIO_SOCK_CLOEXEC says, as openat's handles (op.h). Before
 * Windows 7 SP1 WSASocketW refuses WSA_FLAG_NO_HANDLE_INHERIT; it is made
 * without it then (cio__win_sock_setup clears the flag after). On failure
 * INVALID_SOCKET, with WSAGetLastError() set. */
SOCKET cio__win_socket(int family, int type, int protocol);

/* Applies the flags of socket/accept (CIO_SOCK_NONBLOCK, CIO_SOCK_CLOEXEC)
 * to `s`: not inheritable, in any case (a socket from the pre-SP1 retry or
 * from accept() may be; this may fail under a layered provider, which is
 * ignored); Winsock's non-blocking mode as asked. `accepted`: set it either
 * way, as accept4(2) gives exactly what was asked, while an accepted socket
 * may carry the listener's mode; a new socket is blocking already. 0 or a
 * negative CIO_E* code; `s` stays open either way. */
int32_t cio__win_sock_setup(SOCKET s, int flags, bool accepted);

/* bind(2) and listen(2) with Linux's codes: the name checked first as
 * Linux checks it (cio__sock_name_error), a handle that is no socket
 * -CIO_ENOTSOCK or -CIO_EBADF (cio__sock_failed). */
int32_t cio__win_bind(cio_fd fd, const struct sockaddr *addr, int len);
int32_t cio__win_listen(cio_fd fd, int backlog);

/* Binds an unbound socket to the wildcard address of `family` (AF_INET or
 * AF_INET6), as connect() would do implicitly: ConnectEx wants a bound
 * socket. A socket bound already is left alone. 0 or the WSA error. */
int cio__win_bind_wildcard(SOCKET s, int family);

/* Whether the socket `fd` has a peer (connected). */
bool cio__win_sock_connected(cio_fd fd);

/* shutdown(2) with Linux's answers: a socket that is no socket, or no
 * handle, as cio__sock_fd_error says; an unconnected datagram socket
 * -CIO_ENOTCONN (Winsock shuts it down and says nothing). A listener,
 * which Winsock refuses to shut down (WSAENOTCONN), returns 1: Linux stops
 * it (its accepts end with -CIO_EINVAL) unless `how` is CIO_SHUT_WR, and
 * that part is the caller's. Otherwise 0 or a negative CIO_E* code. */
int32_t cio__win_shutdown(cio_fd fd, int how);

/* ---- close, IO errors ---- */

/* Closes `fd`: a socket through closesocket (Winsock's own state), any
 * other handle through CloseHandle. `sock`: 1 or 0 when the caller knows
 * what `fd` is, -1 to ask (cio__win_is_socket). 0 or a negative CIO_E*. */
int32_t cio__win_close(cio_fd fd, int sock);

/* A failed ReadFile/WriteFile's Win32 error as POSIX's read(2)/write(2)
 * report it: on a read, the end of a file or of a pipe whose writer went
 * away is 0 (end of file); a write to a pipe whose reader went away is
 * -CIO_EPIPE; against the handle's access mode -CIO_EBADF (read(2) on an
 * O_WRONLY descriptor); on a directory -CIO_EISDIR. `dir`: 1 or 0 when the
 * caller knows whether `h` is a directory, -1 to ask when it matters. */
int32_t cio__win_rw_error(HANDLE h, bool rd, unsigned long err, int dir);

#endif /* CIO_CORE_HANDLE_WIN_H */
