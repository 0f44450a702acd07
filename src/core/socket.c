/*
 * src/core/socket.c - the socket calls of cio/socket.h: the backend's
 * own answer when it has one (a simulated world's handles are no
 * system's), else the system's calls.
 */
#include "../backend/backend.h"
#include "oserr.h"
#include "pair.h"
#include "cio/net.h"

#if !defined(_WIN32)
#include <errno.h>
#include <sys/socket.h>
#endif

/* The loop's backend, or NULL for a loop that cannot be used. */
static const struct cio_backend *backend_of(cio_loop *loop) {
    if (!loop || !cio__usable(loop)) return NULL;
    return cio__core(loop)->be;
}

/* Winsock reports through WSAGetLastError(), not errno: oserr.h reads the
 * right one on each platform. */
static int sys_result(int r) { return r == 0 ? 0 : cio__sock_error(); }

static int sys_call(int call, cio_fd fd, int level, int name, void *value, cio_socklen *len) {
    switch (call) {
    case CIO__SOCK_NAME:
        return sys_result(getsockname(fd, (struct sockaddr *)value, len));
    case CIO__SOCK_PEER:
        return sys_result(getpeername(fd, (struct sockaddr *)value, len));
    case CIO__SOCK_SET:
        return sys_result(setsockopt(fd, level, name, value, *len));
    default:
        return sys_result(getsockopt(fd, level, name, value, len));
    }
}

/* One path for the four calls: the arguments checked, then the backend's
 * answer or the system's. */
static int socket_call(cio_loop *loop, int call, cio_fd fd, int level, int name, void *value, cio_socklen *len) {
    const struct cio_backend *be = backend_of(loop);
    if (!be || !len || (!value && (call != CIO__SOCK_SET || *len))) return -CIO_EINVAL;
    if (be->socket_call) return be->socket_call(loop, call, fd, level, name, value, len);
    return sys_call(call, fd, level, name, value, len);
}

int cio_socket_name(cio_loop *loop, cio_fd fd, struct sockaddr *addr, cio_socklen *addrlen) {
    return socket_call(loop, CIO__SOCK_NAME, fd, 0, 0, addr, addrlen);
}

int cio_socket_peer(cio_loop *loop, cio_fd fd, struct sockaddr *addr, cio_socklen *addrlen) {
    return socket_call(loop, CIO__SOCK_PEER, fd, 0, 0, addr, addrlen);
}

int cio_socket_set_option(cio_loop *loop, cio_fd fd, int level, int name, const void *value, cio_socklen len) {
    return socket_call(loop, CIO__SOCK_SET, fd, level, name, (void *)(uintptr_t)value, &len);
}

int cio_socket_get_option(cio_loop *loop, cio_fd fd, int level, int name, void *value, cio_socklen *len) {
    return socket_call(loop, CIO__SOCK_GET, fd, level, name, value, len);
}

/* ---- the quick setup calls of cio/net.h (src/net), through the backend ---- */

int32_t cio__setup_op(cio_loop *loop, cio_op *op);

int32_t cio__setup_op(cio_loop *loop, cio_op *op) {
    const struct cio_backend *be = backend_of(loop);
    if (!be || !op) return -CIO_EINVAL;
    switch (op->opcode) {
    case CIO_OP_SOCKET:
    case CIO_OP_BIND:
    case CIO_OP_LISTEN:
    case CIO_OP_CLOSE:
        break;
    default:
        return -CIO_EINVAL;
    }
    if (op->opcode == CIO_OP_BIND && (!op->args.addr.addr || op->args.addr.addrlen <= 0)) return -CIO_EINVAL;
    /* As a completion leaves it, so that cio_op_fd() reads the new handle. */
    op->res = be->setup_op ? be->setup_op(loop, op) : cio__sync_exec(op);
    return op->res;
}

/* On failure both handles read CIO_FD_INVALID, so that a caller's
 * cleanup closes nothing it does not own. */
static int make_pair(cio_loop *loop, int type, cio_fd fds[2]) {
    const struct cio_backend *be = backend_of(loop);
    if (!be || !fds) return -CIO_EINVAL;
    fds[0] = fds[1] = CIO_FD_INVALID;
    int r = be->pair ? be->pair(loop, type, fds) : cio__sys_pair(type, fds);
    if (r < 0) fds[0] = fds[1] = CIO_FD_INVALID;
    return r;
}

int cio_socket_pair(cio_loop *loop, int type, cio_fd fds[2]) {
    if (type != SOCK_STREAM && type != SOCK_DGRAM) return -CIO_EINVAL;
    return make_pair(loop, type, fds);
}

int cio_pipe(cio_loop *loop, cio_fd fds[2]) { return make_pair(loop, 0, fds); }
