/*
 * src/core/pair.h - the system's pipes and socket pairs, for the backends
 * that have no pair of their own (cio_socket_pair and cio_pipe in
 * socket.c) and for the signal layer's wake channel on Windows.
 */
#ifndef CIO_CORE_PAIR_H
#define CIO_CORE_PAIR_H

#include "cio/op.h"

/* A socket pair (type SOCK_STREAM or SOCK_DGRAM) or, with type 0, a pipe
 * (fds[0] reads, fds[1] writes), every handle close-on-exec (on Windows
 * non-inheritable and usable with IOCP). Returns 0 or -CIO_E*; on failure
 * nothing is open. Any thread. pair_posix.c, pair_win.c. */
int cio__sys_pair(int type, cio_fd fds[2]);

#endif /* CIO_CORE_PAIR_H */
