/*
 * src/net/sock.c - the socket setup of cio/net.h (listen, bind, options,
 * names) and the blocking-style calls that are one or two ops (accept,
 * connect to an address, datagrams, Unix sockets, passing handles).
 *
 * The setup calls never wait, so they run at once through the loop's
 * backend (cio__setup_op): a server sets up its listener before any task
 * runs, and on the mock the simulation answers them.
 */
#include "net_internal.h"

#include <string.h>

#if defined(_WIN32)
#if !defined(TCP_KEEPIDLE)
#define TCP_KEEPIDLE 3 /* the SDK's TCP_KEEPALIVE (ws2ipdef.h), Windows 10 1709 on; mingw lacks it */
#endif
#else
#include <netinet/tcp.h>
#endif

/* As libuv and nginx: more than Linux's old default of 128, and the system
 * caps it at its somaxconn anyway. */
#define DEFAULT_BACKLOG 511

int cio__net_socket(cio_loop *loop, int family, int type, cio_fd *out) {
    cio_op op;
    cio_prep_socket(&op, family, type | CIO_SOCK_CLOEXEC, 0);
    int32_t r = cio__setup_op(loop, &op);
    if (r < 0) return r;
    *out = cio_op_fd(&op);
    return 0;
}

void cio__net_close_now(cio_loop *loop, cio_fd fd) {
    cio_op op;
    cio_prep_close(&op, fd);
    (void)cio__setup_op(loop, &op); /* a handle we made and used for nothing: it closes */
}

static int set_int(cio_loop *loop, cio_fd fd, int level, int name, int v) {
#if defined(_WIN32)
    DWORD dv = (DWORD)v; /* BOOL and DWORD options alike take 4 bytes */
    return cio_socket_set_option(loop, fd, level, name, &dv, (cio_socklen)sizeof dv);
#else
    return cio_socket_set_option(loop, fd, level, name, &v, (cio_socklen)sizeof v);
#endif
}

#if defined(_WIN32)
static bool on_mock(cio_loop *loop) { return cio_loop_backend(loop) == CIO_BACKEND_MOCK; }
#endif

static bool options_ok(const cio_listen_options *o) {
    if (!o) return true;
    for (size_t i = 0; i < sizeof o->reserved_ / sizeof o->reserved_[0]; i++)
        if (o->reserved_[i]) return false;
    return o->backlog >= 0;
}

int cio__net_bound(cio_loop *loop, const cio_addr *addr, int type, const cio_listen_options *opts, bool reuseaddr,
                   bool listen, cio_fd *out) {
    int family = cio_addr_family(addr);
    if (family != AF_INET && family != AF_INET6 && family != AF_UNIX) return -CIO_EINVAL;
    if (!options_ok(opts)) return -CIO_EINVAL;
    cio_listen_options none = {0};
    if (!opts) opts = &none;
#if !defined(SO_REUSEPORT)
    if (opts->reuseport) return -CIO_ENOTSUP;
#endif
    cio_fd fd;
    int r = cio__net_socket(loop, family, type, &fd);
    if (r < 0) return r;
    if (family != AF_UNIX) {
        if (reuseaddr) {
#if defined(_WIN32)
            /* Windows' SO_REUSEADDR lets any socket take the port over, even
             * another user's; exclusive use is what a server wants (libuv). */
            if (!on_mock(loop)) r = set_int(loop, fd, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1);
#else
            r = set_int(loop, fd, SOL_SOCKET, SO_REUSEADDR, 1);
#endif
        }
#if defined(SO_REUSEPORT)
        if (r == 0 && opts->reuseport) r = set_int(loop, fd, SOL_SOCKET, SO_REUSEPORT, 1);
#endif
        /* The same on every system: Windows' default is v6-only, Linux's not. */
        if (r == 0 && family == AF_INET6) r = set_int(loop, fd, IPPROTO_IPV6, IPV6_V6ONLY, opts->v6only ? 1 : 0);
    }
    if (r == 0) {
        cio_op op;
        cio_prep_bind(&op, fd, &addr->u.sa, addr->len);
        r = cio__setup_op(loop, &op);
    }
    if (r == 0 && listen) {
        cio_op op;
        cio_prep_listen(&op, fd, opts->backlog ? opts->backlog : DEFAULT_BACKLOG);
        r = cio__setup_op(loop, &op);
    }
    if (r < 0) {
        cio__net_close_now(loop, fd);
        return r;
    }
    *out = fd;
    return 0;
}

/* ---- TCP ---- */

static bool is_ip(const cio_addr *a) {
    int f = cio_addr_family(a);
    return f == AF_INET || f == AF_INET6;
}

int cio_tcp_listen_addr(cio_loop *loop, const cio_addr *addr, const cio_listen_options *opts, cio_fd *out) {
    if (!loop || !addr || !out || !is_ip(addr)) return -CIO_EINVAL;
    return cio__net_bound(loop, addr, SOCK_STREAM, opts, true, true, out);
}

int cio_tcp_listen(cio_loop *loop, const char *addr, const cio_listen_options *opts, cio_fd *out) {
    cio_addr a;
    if (!loop || !out) return -CIO_EINVAL;
    int r = cio_addr_parse(&a, addr);
    if (r < 0) return r;
    return cio_tcp_listen_addr(loop, &a, opts, out);
}

int cio_tcp_accept(cio_fd listener, cio_fd *out, cio_addr *peer) {
    if (!out) return -CIO_EINVAL;
    cio_addr tmp;
    cio_addr *p = peer ? peer : &tmp;
    cio_addr_clear(p);
    cio_op op;
    cio_prep_accept(&op, listener, &p->u.sa, &p->len, CIO_SOCK_CLOEXEC);
    int32_t r = cio_await(&op);
    if (r < 0) {
        p->len = 0;
        return r;
    }
    *out = cio_op_fd(&op);
    return 0;
}

/* A new socket of `type` connected to `addr`, `deadline` on the connect
 * op (and the task's scope through cio_await). */
static int connect_to(const cio_addr *addr, int type, uint64_t deadline, cio_fd *out) {
    cio_fd fd;
    intptr_t s = cio_socket(cio_addr_family(addr), type | CIO_SOCK_CLOEXEC, 0);
    if (s < 0) return (int)s;
    fd = (cio_fd)s;
    cio_op op;
    cio_prep_connect(&op, fd, &addr->u.sa, addr->len);
    op.deadline = deadline;
    int32_t r = cio_await(&op);
    if (r < 0) {
        cio_close(fd); /* works in a cancelled task too */
        return r;
    }
    *out = fd;
    return 0;
}

int cio_tcp_connect_addr(const cio_addr *addr, uint64_t deadline, cio_fd *out) {
    if (!addr || !out) return -CIO_EINVAL;
    if (!is_ip(addr)) return cio_addr_family(addr) == AF_UNSPEC ? -CIO_EINVAL : -CIO_EAFNOSUPPORT;
    if (!cio_task_current()) return -CIO_EPERM;
    return connect_to(addr, SOCK_STREAM, deadline, out);
}

int cio_tcp_set_nodelay(cio_loop *loop, cio_fd fd, bool on) {
    return set_int(loop, fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

int cio_tcp_set_keepalive(cio_loop *loop, cio_fd fd, bool on, unsigned idle_s) {
    int r = set_int(loop, fd, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0);
    if (r < 0 || !on || idle_s == 0) return r;
    int idle = idle_s > 0x7fffffffu ? 0x7fffffff : (int)idle_s;
#if defined(TCP_KEEPIDLE)
    r = set_int(loop, fd, IPPROTO_TCP, TCP_KEEPIDLE, idle);
#elif defined(TCP_KEEPALIVE)
    r = set_int(loop, fd, IPPROTO_TCP, TCP_KEEPALIVE, idle);
#else
    (void)idle;
    r = 0;
#endif
    /* No such option here (an old Windows, the mock): the system's idle time stays. */
    return r == -CIO_ENOPROTOOPT || r == -CIO_ENOTSUP ? 0 : r;
}

static int name_of(cio_loop *loop, cio_fd fd, cio_addr *out, bool peer) {
    if (!out) return -CIO_EINVAL;
    cio_addr_clear(out);
    int r = peer ? cio_socket_peer(loop, fd, &out->u.sa, &out->len) : cio_socket_name(loop, fd, &out->u.sa, &out->len);
    if (r < 0) out->len = 0;
    return r;
}

int cio_socket_local_addr(cio_loop *loop, cio_fd fd, cio_addr *out) { return name_of(loop, fd, out, false); }
int cio_socket_peer_addr(cio_loop *loop, cio_fd fd, cio_addr *out) { return name_of(loop, fd, out, true); }

/* ---- UDP ---- */

int cio_udp_bind(cio_loop *loop, const char *addr, const cio_listen_options *opts, cio_fd *out) {
    cio_addr a;
    if (!loop || !out) return -CIO_EINVAL;
    int r = cio_addr_parse(&a, addr);
    if (r < 0) return r;
    if (!is_ip(&a)) return -CIO_EINVAL;
    return cio__net_bound(loop, &a, SOCK_DGRAM, opts, false, false, out);
}

int cio_udp_connect(cio_fd fd, const cio_addr *peer) {
    if (!peer) return -CIO_EINVAL;
    return cio_connect(fd, &peer->u.sa, peer->len);
}

int32_t cio_udp_send_to(cio_fd fd, const void *buf, uint32_t len, const cio_addr *to) {
    if (!to || (!buf && len)) return -CIO_EINVAL;
    cio_iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
    cio_msghdr msg;
    cio_msg_init(&msg, (void *)(uintptr_t)&to->u, to->len, &iov, 1, NULL, 0);
    return cio_sendmsg(fd, &msg, 0);
}

int32_t cio_udp_recv_from(cio_fd fd, void *buf, uint32_t len, cio_addr *from, bool *truncated) {
    if (!buf && len) return -CIO_EINVAL;
    cio_addr tmp;
    cio_addr *f = from ? from : &tmp;
    cio_addr_clear(f);
    cio_iovec iov = {.iov_base = buf, .iov_len = len};
    cio_msghdr msg;
    cio_msg_init(&msg, &f->u, f->len, &iov, 1, NULL, 0);
    int32_t r = cio_recvmsg(fd, &msg, 0);
    f->len = r < 0 ? 0 : cio_msg_namelen(&msg);
    if (truncated) *truncated = r >= 0 && (cio_msg_flags(&msg) & CIO_MSG_TRUNC);
    return r;
}

/* ---- Unix sockets ---- */

int cio_unix_listen(cio_loop *loop, const char *path, const cio_listen_options *opts, cio_fd *out) {
    cio_addr a;
    if (!loop || !out) return -CIO_EINVAL;
    int r = cio__unix_addr(&a, path, true);
    if (r < 0) return r;
    if (opts && (opts->reuseport || opts->v6only)) return -CIO_EINVAL;
    return cio__net_bound(loop, &a, SOCK_STREAM, opts, false, true, out);
}

int cio_unix_connect(const char *path, uint64_t deadline, cio_fd *out) {
    cio_addr a;
    if (!out) return -CIO_EINVAL;
    int r = cio__unix_addr(&a, path, true);
    if (r < 0) return r;
    if (!cio_task_current()) return -CIO_EPERM;
    return connect_to(&a, SOCK_STREAM, deadline, out);
}

int cio_unix_dgram_bind(cio_loop *loop, const char *path, cio_fd *out) {
    if (!loop || !out) return -CIO_EINVAL;
#if defined(_WIN32)
    (void)path;
    if (!on_mock(loop)) return -CIO_EAFNOSUPPORT; /* Windows has AF_UNIX streams only */
#endif
    if (!path) return cio__net_socket(loop, AF_UNIX, SOCK_DGRAM, out);
    cio_addr a;
    int r = cio__unix_addr(&a, path, true);
    if (r < 0) return r;
    return cio__net_bound(loop, &a, SOCK_DGRAM, NULL, false, false, out);
}
