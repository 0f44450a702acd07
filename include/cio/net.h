/*
 * cio/net.h - addresses, DNS, TCP, UDP, Unix sockets, socket pairs and
 * pipes: the calls a server or a client makes every day, over the ops of
 * cio/op.h and the tasks of cio/task.h.
 *
 *     cio_fd ls, c;
 *     cio_addr peer;
 *     cio_tcp_listen(loop, "127.0.0.1:8080", NULL, &ls);  // any thread of the loop, no task needed
 *     ...                                                  // then, in a task:
 *     while (cio_tcp_accept(ls, &c, &peer) == 0) spawn_handler(c);
 *
 *     cio_fd s;                                            // a client, in a task:
 *     int r = cio_tcp_connect("example.com:80", cio_now(loop) + 5000000000u, &s, NULL);
 *
 * Kinds of call, each marked below:
 * - [pure]: touches no loop and no handle (address parsing and
 *   formatting); any thread.
 * - [setup]: synchronous, never waits, usable outside tasks and from
 *   callbacks (listen, bind, socket pairs, pipes, options). They go through
 *   the loop's backend, so that the simulated backend (cio/mock.h) answers
 *   them with simulated handles; loop thread. They return 0 or a negative
 *   error; -CIO_EINVAL for a NULL or unusable loop or a NULL pointer.
 * - [task]: blocks the calling task (like cio_recv); -CIO_EPERM outside a
 *   task, -CIO_ECANCELED once the task is cancelled. Deadlines: an
 *   explicit `deadline` argument where one is taken (absolute cio_now()
 *   nanoseconds, 0 = none), and always the task's deadline scopes
 *   (cio_deadline_push); the earlier wins, with -CIO_ETIMEDOUT.
 * - [request]: the callback form of a call that may wait long (resolve,
 *   connect by name). The caller owns the request struct, as it owns an
 *   op: from the start call until its callback starts, the struct belongs
 *   to cio (do not move, free or reuse it). The callback runs exactly once,
 *   on the loop's thread, from cio_loop_run() (never inside the start
 *   call), also when the request is cancelled (-CIO_ECANCELED), when its
 *   deadline passes (-CIO_ETIMEDOUT) and when the loop closes
 *   (-CIO_ECANCELED). These requests allocate a small record (freed by
 *   cio when the work behind it is over, which may be after the callback:
 *   see DNS below); nothing else in this header allocates.
 *
 * Every handle made here is close-on-exec (not inherited by children):
 * SOCK_CLOEXEC, pipe2(O_CLOEXEC), MSG_CMSG_CLOEXEC for received handles;
 * on Windows WSA_FLAG_NO_HANDLE_INHERIT and non-inheritable pipe handles.
 * Handles are the caller's to close (cio_close() in a task, or
 * cio_prep_close()).
 */
#ifndef CIO_NET_H
#define CIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "op.h"
#include "platform.h"

#if defined(_WIN32)
#include <afunix.h>
#else
#include <netinet/in.h>
#include <sys/un.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Addresses                                                          */
/* ------------------------------------------------------------------ */

/*
 * cio_addr - one socket address of any family (IPv4, IPv6, AF_UNIX) and
 * its length, ready for the ops: cio_bind(fd, &a.u.sa, a.len),
 * cio_prep_connect(op, fd, &a.u.sa, a.len). A plain value: copy it, keep
 * it on the stack. For an accept or a recvmsg that fills one, set `len` to
 * sizeof a.u first (cio_addr_clear() does) and pass &a.u.sa, &a.len.
 */
typedef struct cio_addr {
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
        struct sockaddr_storage storage;
    } u;
    cio_socklen len; /* bytes of `u` in use; 0: no address */
} cio_addr;

/* Room for any address cio_addr_format() writes, with its NUL. */
#define CIO_ADDR_STRLEN 128

/* cio_addr_clear - [pure] empties `a` (family AF_UNSPEC) with `len` set to
 * the room of a.u, as an accept or recvmsg that fills it wants. */
static inline void cio_addr_clear(cio_addr *a) {
    memset(a, 0, sizeof *a);
    a->len = (cio_socklen)sizeof a->u;
}

/*
 * cio_addr_parse - [pure] parses `str` into `*out`. No DNS: only literal
 * addresses. Accepted forms:
 *   "127.0.0.1:8080"        IPv4, dotted quad, and a port
 *   "[::1]:8080"            IPv6 in brackets, and a port
 *   "[fe80::1%eth0]:80"     IPv6 with a scope (zone): an interface name or
 *                           a number ("[fe80::1%2]:80")
 *   "/run/x.sock"           AF_UNIX path: begins with '/' or '.'
 *   "@name"                 AF_UNIX abstract name (Linux only; the bytes
 *                           after '@', without a trailing NUL)
 * The port is decimal, 0 to 65535 (0: an ephemeral port at bind). Returns
 * 0, or -CIO_EINVAL for anything else (NULL, empty, no port, a bare IPv6
 * without brackets, a port out of range or with a sign or spaces, an
 * address inet_pton() refuses, a scope on an IPv4 address, an unknown
 * interface name), -CIO_ENAMETOOLONG for a path or abstract name longer
 * than sun_path holds (107 bytes for a path, 108 for an abstract name on
 * Linux), -CIO_EAFNOSUPPORT for an abstract name off Linux. `*out` is
 * cleared on error.
 */
CIO_API int cio_addr_parse(cio_addr *out, const char *str);

/*
 * cio_addr_format - [pure] writes `a` as text into buf[0..size), the form
 * cio_addr_parse() reads back to the same address (IPv6 in RFC 5952's
 * shortest form; v4-mapped as "[::ffff:1.2.3.4]:80"; a scope as its
 * interface name when the system knows the index, else its number).
 * An unnamed AF_UNIX address (the family alone) formats as "" (which
 * parse refuses: it names nothing). Returns the length written (without
 * the NUL), -CIO_ENOSPC when `size` is too small (CIO_ADDR_STRLEN always
 * suffices; buf then holds ""), -CIO_EAFNOSUPPORT for another family,
 * -CIO_EINVAL for NULL, a length that does not fit the family, or an
 * abstract name with a NUL byte (no text names it).
 */
CIO_API int cio_addr_format(const cio_addr *a, char *buf, size_t size);

/*
 * cio_addr_from - [pure] copies a socket address (what getsockname,
 * accept or recvmsg gave) into `*out`. 0, or -CIO_EINVAL (NULL, a length
 * above sizeof out->u, or one too short for its family).
 */
CIO_API int cio_addr_from(cio_addr *out, const struct sockaddr *sa, cio_socklen len);

/* cio_addr_family - [pure] AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC (0)
 * for an empty address or NULL. */
CIO_API int cio_addr_family(const cio_addr *a);

/* cio_addr_port - [pure] the port (host byte order) of an IPv4 or IPv6
 * address, or -CIO_EAFNOSUPPORT for another family (-CIO_EINVAL: NULL). */
CIO_API int cio_addr_port(const cio_addr *a);

/* cio_addr_set_port - [pure] sets the port of an IPv4 or IPv6 address.
 * 0, -CIO_EAFNOSUPPORT for another family, -CIO_EINVAL for NULL. */
CIO_API int cio_addr_set_port(cio_addr *a, uint16_t port);

/* cio_addr_equal - [pure] whether two addresses are the same (family,
 * address, port, IPv6 scope; AF_UNIX: the name). NULLs are equal only to
 * each other. */
CIO_API bool cio_addr_equal(const cio_addr *a, const cio_addr *b);

/* ------------------------------------------------------------------ */
/* DNS                                                                */
/* ------------------------------------------------------------------ */

/*
 * Host names are resolved off the loop's thread: getaddrinfo() (POSIX) or
 * GetAddrInfoW() (Windows) runs on the blocking pool as a CIO_OP_CALL. A
 * literal address ("127.0.0.1", "::1", "fe80::1%eth0") and "localhost"
 * (127.0.0.1, then ::1, as RFC 6761 asks) are answered without the pool.
 * Results: at most `max` addresses, in the resolver's order, without
 * duplicates, each with `port` set; IPv4 and IPv6 only.
 *
 * Errors: -CIO_ENOTFOUND (no such host, or it has no address of the asked
 * family), -CIO_EAGAIN (temporary failure: the name server did not
 * answer), -CIO_EAFNOSUPPORT (a family other than 0, AF_INET, AF_INET6),
 * -CIO_EINVAL (NULL or empty host, `out` NULL or `max` 0, a host longer
 * than 253 bytes), -CIO_ENOMEM, -CIO_EIO (another resolver failure),
 * -CIO_ETIMEDOUT (the deadline passed), -CIO_ECANCELED.
 *
 * A deadline or a cancel cannot interrupt getaddrinfo() once a pool
 * thread runs it (no system offers that). The request completes at once
 * all the same, with -CIO_ETIMEDOUT or -CIO_ECANCELED, and `out` is never
 * written after that: the late answer goes into cio's own record, which
 * cio frees when the pool hands it back (or at cio_loop_close(), which
 * waits for the pool). The pool thread stays busy until the resolver
 * gives up (its own timeout, about 5 s per try with glibc's defaults).
 */

/* A resolve request (callback form); fields as the [request] rules say. */
typedef struct cio_resolve_req cio_resolve_req;
typedef void (*cio_resolve_cb)(cio_loop *loop, cio_resolve_req *req);
struct cio_resolve_req {
    void *data;        /* the caller's */
    cio_resolve_cb cb; /* runs once, on the loop's thread */
    int32_t res;       /* in the callback: the number of addresses in out[], or an error */
    struct {
        void *job;
        cio_loop *loop;
    } internal_; /* the runtime's; never read or write it */
};

/*
 * cio_resolve_start - [request] resolves `host` for `port` (family 0 for
 * any, AF_INET or AF_INET6) into out[0..max), and calls req->cb (set it
 * first) with req->res the count or an error. `host` is copied; `out`
 * belongs to cio until the callback starts. `deadline`: absolute cio_now()
 * time, 0 = none. Returns 0 (the callback will run), or an error and the
 * callback will not run: -CIO_EINVAL (NULL loop, req, cb, host, out, max
 * 0), -CIO_ENOMEM, or cio_submit()'s error.
 */
CIO_API int cio_resolve_start(cio_loop *loop, cio_resolve_req *req, const char *host, uint16_t port, int family,
                              cio_addr *out, unsigned max, uint64_t deadline);

/*
 * cio_resolve_cancel - ends a started request: its callback runs at the
 * loop's next turn with -CIO_ECANCELED. A cancel wins until the callback
 * starts, also over an answer that is ready but not yet delivered (out[]
 * may then hold it already; ignore it). 0, or -CIO_ENOENT when the
 * request is not in flight (never started, or its callback already
 * started), -CIO_EALREADY when it was cancelled already. Loop thread.
 */
CIO_API int cio_resolve_cancel(cio_resolve_req *req);

/*
 * cio_resolve - [task] cio_resolve_start() blocking: returns the number of
 * addresses written to out[0..max) (at least 1), or an error as above.
 * `deadline` and the task's deadline scope both apply. Cancelling the task
 * returns -CIO_ECANCELED at once; `out` is not written after the return.
 */
CIO_API int32_t cio_resolve(const char *host, uint16_t port, int family, cio_addr *out, unsigned max,
                            uint64_t deadline);

/*
 * cio_addr_split - [pure] splits "host:port" (or "[v6]:port") into the
 * host (copied into host[0..hostsize), brackets removed) and the port.
 * 0, -CIO_EINVAL (no port, bad port, empty host, unbalanced brackets),
 * -CIO_ENAMETOOLONG (host does not fit).
 */
CIO_API int cio_addr_split(const char *hostport, char *host, size_t hostsize, uint16_t *port);

/* ------------------------------------------------------------------ */
/* TCP                                                                */
/* ------------------------------------------------------------------ */

/* Options for cio_tcp_listen(), cio_udp_bind() and cio_unix_listen(); all
 * zero (or NULL) means the defaults. */
typedef struct cio_listen_options {
    int backlog;    /* 0: 511 (as libuv, nginx); capped by the system (somaxconn) */
    bool reuseport; /* SO_REUSEPORT: several sockets share the port (the kernel spreads
                       connections); -CIO_ENOTSUP where the system has none (Windows) */
    bool v6only;    /* IPv6 sockets: IPV6_V6ONLY on (only IPv6); default off on every system
                       (a "[::]" listener takes IPv4 too, as v4-mapped addresses), though
                       Windows' own default is on */
    uint32_t reserved_[4]; /* must be 0 */
} cio_listen_options;

/*
 * cio_tcp_listen - [setup] a TCP socket bound to `addr` (a literal:
 * "0.0.0.0:8080", "[::]:0", "127.0.0.1:0"; no DNS) and listening, in
 * `*out`. Made close-on-exec, with SO_REUSEADDR on (a restarted server
 * can bind while connections of the old one linger in TIME_WAIT). On
 * Windows SO_REUSEADDR would let another process steal the port, so there
 * cio sets SO_EXCLUSIVEADDRUSE instead, as libuv does (TIME_WAIT does not
 * block a bind on Windows anyway). Read the port chosen for ":0" with
 * cio_socket_local_addr(). Errors: -CIO_EINVAL (bad address string or
 * options, or not an IP address), -CIO_EADDRINUSE, -CIO_EADDRNOTAVAIL,
 * -CIO_EACCES (a privileged port), -CIO_ENOTSUP (reuseport without
 * SO_REUSEPORT), -CIO_EMFILE, and the system's others; nothing is left
 * open on error. Never waits; loop thread.
 */
CIO_API int cio_tcp_listen(cio_loop *loop, const char *addr, const cio_listen_options *opts, cio_fd *out);

/* cio_tcp_listen_addr - [setup] cio_tcp_listen() for a parsed address. */
CIO_API int cio_tcp_listen_addr(cio_loop *loop, const cio_addr *addr, const cio_listen_options *opts,
                                cio_fd *out);

/*
 * cio_tcp_accept - [task] waits for a connection on `listener`: the new
 * socket (close-on-exec) into `*out`, and the peer's address into `*peer`
 * (may be NULL). 0 or the accept op's error (cio_prep_accept: with
 * -CIO_EMFILE and friends after its back-off pause). Callback users:
 * cio_prep_accept(op, listener, &peer.u.sa, &peer.len, CIO_SOCK_CLOEXEC)
 * after cio_addr_clear(&peer), and cio_op_fd(op).
 */
CIO_API int cio_tcp_accept(cio_fd listener, cio_fd *out, cio_addr *peer);

/*
 * cio_tcp_connect_addr - [task] a new TCP socket (close-on-exec)
 * connected to `addr`, in `*out`. `deadline` as in the [task] rules.
 * -CIO_ECONNREFUSED, -CIO_ETIMEDOUT, -CIO_ENETUNREACH, -CIO_EHOSTUNREACH,
 * -CIO_EAFNOSUPPORT (not an IP address), -CIO_EINVAL, and the system's
 * others; nothing is left open on error.
 */
CIO_API int cio_tcp_connect_addr(const cio_addr *addr, uint64_t deadline, cio_fd *out);

/*
 * cio_tcp_connect - [task] connects to "host:port" ("example.com:80",
 * "127.0.0.1:8080", "[::1]:8080", "localhost:5432"): resolves the host
 * (see DNS) and tries its addresses in turn, happy-eyeballs style (RFC
 * 8305): the resolver's order, alternating the families, and when an
 * attempt has not finished after CIO_CONNECT_STAGGER_NS the next one
 * starts beside it; the first to connect wins and the others are
 * cancelled and closed. The connected socket in `*out` (close-on-exec);
 * `peer` (may be NULL) gets the address it reached. `deadline` bounds the
 * whole (resolve and attempts). Errors: those of DNS, and when every
 * attempt failed, the error of the first one to fail
 * (-CIO_ECONNREFUSED, ...). Cancelling the task ends it at once (the
 * attempts are cancelled and their sockets closed by cio afterwards).
 */
CIO_API int cio_tcp_connect(const char *hostport, uint64_t deadline, cio_fd *out, cio_addr *peer);

/* The delay before the next connect attempt starts beside a pending one. */
#define CIO_CONNECT_STAGGER_NS (250u * 1000u * 1000u)

/* A connect-by-name request (callback form of cio_tcp_connect). */
typedef struct cio_connect_req cio_connect_req;
typedef void (*cio_connect_cb)(cio_loop *loop, cio_connect_req *req);
struct cio_connect_req {
    void *data;        /* the caller's */
    cio_connect_cb cb; /* runs once, on the loop's thread */
    int32_t res;       /* in the callback: 0 or an error */
    cio_fd fd;         /* in the callback, when res == 0: the connected socket (the caller's) */
    cio_addr peer;     /* in the callback, when res == 0: the address reached */
    struct {
        void *job;
        cio_loop *loop;
    } internal_; /* the runtime's; never read or write it */
};

/*
 * cio_tcp_connect_start - [request] cio_tcp_connect() as a request:
 * req->cb runs once with req->res 0 and req->fd, req->peer set, or an
 * error. `hostport` is copied. Returns 0 (the callback will run) or an
 * error (it will not): -CIO_EINVAL (NULL, a string without a port),
 * -CIO_ENOMEM, cio_submit()'s error.
 */
CIO_API int cio_tcp_connect_start(cio_loop *loop, cio_connect_req *req, const char *hostport, uint64_t deadline);

/* cio_tcp_connect_cancel - as cio_resolve_cancel(), for a connect request:
 * the callback runs at the next turn with -CIO_ECANCELED and no socket
 * (req->fd is CIO_FD_INVALID); a socket that connected meanwhile is closed
 * by cio. 0, -CIO_ENOENT (not in flight), -CIO_EALREADY (cancelled or
 * finished already, its callback not yet run). */
CIO_API int cio_tcp_connect_cancel(cio_connect_req *req);

/*
 * Socket options, [setup]:
 * cio_tcp_set_nodelay - TCP_NODELAY on or off (send small writes at once).
 * cio_tcp_set_keepalive - SO_KEEPALIVE on or off; with `idle_s` > 0 also
 *   the idle time before the first probe (TCP_KEEPIDLE on Linux,
 *   TCP_KEEPALIVE on macOS, TCP_KEEPIDLE on Windows 10 1709 and later);
 *   where the system has no such
 *   option the idle time is ignored and the call still succeeds (the
 *   system's default applies, often 2 hours). On the mock: the option is
 *   kept, the idle time ignored.
 * Both: 0 or the system's error (-CIO_EBADF, -CIO_ENOTSOCK, -CIO_EINVAL).
 */
CIO_API int cio_tcp_set_nodelay(cio_loop *loop, cio_fd fd, bool on);
CIO_API int cio_tcp_set_keepalive(cio_loop *loop, cio_fd fd, bool on, unsigned idle_s);

/*
 * cio_socket_local_addr, cio_socket_peer_addr - [setup] the socket's own
 * address and its peer's, as cio_addr (over cio_socket_name() and
 * cio_socket_peer() of cio/socket.h). -CIO_ENOTCONN for the peer of an
 * unconnected socket, and their other errors.
 *
 * Shutdown: cio_shutdown(fd, CIO_SHUT_WR) in a task, or cio_prep_shutdown()
 * (cio/op.h).
 */
CIO_API int cio_socket_local_addr(cio_loop *loop, cio_fd fd, cio_addr *out);
CIO_API int cio_socket_peer_addr(cio_loop *loop, cio_fd fd, cio_addr *out);

/* ------------------------------------------------------------------ */
/* UDP                                                                */
/* ------------------------------------------------------------------ */

/*
 * cio_udp_bind - [setup] a UDP socket (close-on-exec) bound to `addr` (a
 * literal, as cio_tcp_listen's; port 0 for an ephemeral one), in `*out`.
 * `opts`: reuseport and v6only as for TCP; backlog is ignored; no
 * SO_REUSEADDR (on UDP it lets another socket take the same port's
 * datagrams). Errors as cio_tcp_listen().
 *
 * Connected send and recv: cio_connect(fd, &peer.u.sa, peer.len) (or
 * cio_udp_connect), then cio_send / cio_recv, each one datagram.
 */
CIO_API int cio_udp_bind(cio_loop *loop, const char *addr, const cio_listen_options *opts, cio_fd *out);

/* cio_udp_connect - [task] sets the default peer of a datagram socket
 * (and filters what it receives); 0 or the connect op's error. */
CIO_API int cio_udp_connect(cio_fd fd, const cio_addr *peer);

/*
 * cio_udp_send_to - [task] sends one datagram of `len` bytes to `*to`;
 * returns `len` or an error (-CIO_EMSGSIZE, -CIO_EAFNOSUPPORT for a
 * destination of another family, ...). Callback users: cio_prep_sendmsg
 * with cio_msg_init(&msg, &to.u.sa, to.len, &iov, 1, NULL, 0).
 */
CIO_API int32_t cio_udp_send_to(cio_fd fd, const void *buf, uint32_t len, const cio_addr *to);

/*
 * cio_udp_recv_from - [task] receives one datagram into buf[0..len): its
 * length (cut to `len` if longer: the rest is lost; *truncated, may be
 * NULL, says so) and the sender into `*from` (may be NULL).
 */
CIO_API int32_t cio_udp_recv_from(cio_fd fd, void *buf, uint32_t len, cio_addr *from, bool *truncated);

/* ------------------------------------------------------------------ */
/* Unix sockets, socket pairs, pipes                                  */
/* ------------------------------------------------------------------ */

/*
 * cio_unix_listen - [setup] an AF_UNIX stream socket bound to `path` (a
 * file path, or "@name" for Linux's abstract namespace) and listening,
 * close-on-exec, in `*out`. An existing file at `path` is not removed:
 * -CIO_EADDRINUSE (unlink a stale one first). `opts`: backlog only.
 * Errors: -CIO_ENAMETOOLONG, -CIO_EADDRINUSE, -CIO_EACCES, -CIO_ENOENT
 * (no such directory), and the system's others.
 * Windows: AF_UNIX streams exist from Windows 10 1803 on (path names
 * only; -CIO_EAFNOSUPPORT where the system lacks them, as Wine 8 does:
 * its socket(AF_UNIX) fails, so this path is untested on Windows).
 */
CIO_API int cio_unix_listen(cio_loop *loop, const char *path, const cio_listen_options *opts, cio_fd *out);

/*
 * cio_unix_connect - [task] a new AF_UNIX stream socket (close-on-exec)
 * connected to `path` ("@name": abstract), in `*out`. -CIO_ENOENT (no
 * such name), -CIO_ECONNREFUSED (nobody listens), -CIO_ETIMEDOUT, ...
 */
CIO_API int cio_unix_connect(const char *path, uint64_t deadline, cio_fd *out);

/*
 * cio_unix_dgram_bind - [setup] an AF_UNIX datagram socket
 * (close-on-exec) bound to `path` (NULL: unbound; it can send, and Linux
 * autobinds it an abstract name at its first send), in `*out`. Send and
 * receive with cio_udp_send_to / cio_udp_recv_from, whose cio_addr is
 * then an AF_UNIX one (cio_addr_parse("/path")). Not on Windows
 * (-CIO_EAFNOSUPPORT: it has AF_UNIX streams only).
 */
CIO_API int cio_unix_dgram_bind(cio_loop *loop, const char *path, cio_fd *out);

/*
 * cio_socket_pair - [setup] two connected sockets of `type` (SOCK_STREAM
 * or SOCK_DGRAM), close-on-exec, in fds[0] and fds[1]: socketpair(AF_UNIX)
 * on POSIX. Windows has no socketpair: a stream pair is two TCP sockets
 * connected over loopback, made with a listener on 127.0.0.1:0 that is
 * closed before the call returns (a local program could connect in
 * between; cio checks that the accepted peer is its own socket); a
 * datagram pair is two UDP sockets on 127.0.0.1 connected to each other
 * (bounds kept as with AF_UNIX, but a datagram sent to a peer whose
 * buffer is full is dropped, not waited for). On the mock: simulated
 * ones (a datagram pair's sockets carry autobound names, where Linux's
 * are unnamed). -CIO_EINVAL for another type, -CIO_EMFILE, and the
 * system's others.
 */
CIO_API int cio_socket_pair(cio_loop *loop, int type, cio_fd fds[2]);

/*
 * cio_pipe - [setup] a pipe, close-on-exec: fds[0] reads, fds[1] writes
 * (pipe2(O_CLOEXEC)). On Windows an anonymous pipe cannot do overlapped
 * IO, so cio makes a pair of overlapped named pipe handles, as libuv does
 * (a unique \\.\pipe\cio-<pid>-<n> name, one instance, the client end
 * opened at once, byte mode): both ends work with IOCP. On the mock: a
 * simulated pipe (cio_mock_pipe). -CIO_EMFILE and the system's others.
 */
CIO_API int cio_pipe(cio_loop *loop, cio_fd fds[2]);

/*
 * Passing a handle over a connected AF_UNIX socket (SCM_RIGHTS).
 *
 * cio_unix_send_fd - [task] sends buf[0..len) (len >= 1: a stream needs a
 *   byte to carry the handle) together with `fd`; returns the bytes sent
 *   (the handle went with the first of them) or an error. The sender's
 *   `fd` stays open (close it when done: the receiver has its own).
 * cio_unix_recv_fd - [task] receives up to `len` bytes and at most one
 *   handle: the bytes count is returned, the handle (close-on-exec) into
 *   `*out_fd`, CIO_FD_INVALID when none came with these bytes. Handles
 *   beyond the first that one message carries are closed. If the message
 *   was cut (MSG_CTRUNC), -CIO_EMSGSIZE.
 * Windows: -CIO_ENOTSUP. Its AF_UNIX has no SCM_RIGHTS, and a SOCKET
 * duplicated with WSADuplicateSocket for another process needs that
 * process's id and is not a general handle; use DuplicateHandle with the
 * child's process handle instead. On the mock: cio_unix_send_fd fails
 * with -CIO_ENOTSUP (ancillary data is not simulated) and
 * cio_unix_recv_fd never brings a handle.
 */
CIO_API int32_t cio_unix_send_fd(cio_fd sock, const void *buf, uint32_t len, cio_fd fd);
CIO_API int32_t cio_unix_recv_fd(cio_fd sock, void *buf, uint32_t len, cio_fd *out_fd);

#ifdef __cplusplus
}
#endif

#endif /* CIO_NET_H */
