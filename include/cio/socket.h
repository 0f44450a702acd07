/*
 * cio/socket.h - the socket calls that are not ops: names and options.
 *
 * getsockname, getpeername, setsockopt and getsockopt answer at once and
 * never wait, so they are plain calls rather than ops. They go through the
 * loop's backend all the same, so that a program written for cio runs
 * unchanged on the simulated backend (cio/mock.h), whose handles are no
 * system's: on io_uring, epoll and poll they are the system calls
 * themselves, on the mock the simulation answers them. A program that
 * calls getsockname(2) or setsockopt(2) itself on a simulated handle gets
 * EBADF from the system; these calls are the portable way.
 *
 * All four: 0 or a negative error; -CIO_EINVAL for a NULL or closed loop
 * (or a NULL pointer where one is required), -CIO_EBADF for a handle that
 * is not open (on the mock: any handle that is not simulated),
 * -CIO_ENOTSOCK for one that is not a socket, and the system's other
 * errors as negative CIO_E* codes. They run on the loop's thread (on real
 * backends any thread may call them: they touch nothing of the loop).
 * Nothing is kept: the memory passed is the caller's again when they
 * return.
 */
#ifndef CIO_SOCKET_H
#define CIO_SOCKET_H

#include "platform.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cio_loop; /* cio/loop.h; named by its tag so that this header stands alone in C99 too */

/*
 * cio_socket_name - the local address of socket `fd` (getsockname): at
 * most `*addrlen` bytes of it into `*addr`, and its full length into
 * `*addrlen` (larger than the room given: the address was cut). An
 * unbound socket has the family's unspecified address (port 0; an
 * AF_UNIX one: only the family, length 2).
 */
CIO_API int cio_socket_name(struct cio_loop *loop, cio_fd fd, struct sockaddr *addr, cio_socklen *addrlen);

/*
 * cio_socket_peer - the address of the peer of socket `fd`
 * (getpeername), filled as cio_socket_name() fills it. -CIO_ENOTCONN when
 * it has none (not connected, a listener, a datagram socket without a
 * default peer).
 */
CIO_API int cio_socket_peer(struct cio_loop *loop, cio_fd fd, struct sockaddr *addr, cio_socklen *addrlen);

/*
 * cio_socket_set_option - sets option `name` of `level` (SOL_SOCKET,
 * IPPROTO_TCP, IPPROTO_IPV6, ...) from the `len` bytes at `value`
 * (setsockopt). -CIO_ENOPROTOOPT for an option the level does not have
 * (on the mock: one it does not simulate), -CIO_EINVAL for a bad length
 * or value.
 */
CIO_API int cio_socket_set_option(struct cio_loop *loop, cio_fd fd, int level, int name, const void *value,
                                  cio_socklen len);

/*
 * cio_socket_get_option - reads option `name` of `level` (getsockopt):
 * `*len` is the room at `value` on input and the length written on
 * output. -CIO_ENOPROTOOPT for an option the level does not have (on the
 * mock: one it does not simulate).
 */
CIO_API int cio_socket_get_option(struct cio_loop *loop, cio_fd fd, int level, int name, void *value, cio_socklen *len);

#ifdef __cplusplus
}
#endif

#endif /* CIO_SOCKET_H */
