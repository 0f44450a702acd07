/*
 * tests/net.h - loopback helpers shared by the socket tests: addresses,
 * running one op to its final completion, and building listeners and
 * connected pairs out of cio ops (so that those ops are exercised too).
 *
 * Plain system calls appear only where a test needs ground truth the op
 * under test cannot give: getsockname/getpeername, getsockopt. Handles are
 * cio_fd (port.h): a SOCKET on Windows.
 */
#ifndef CIO_TEST_NET_H
#define CIO_TEST_NET_H

#include "test.h"

#include <stdbool.h>
#if !defined(_WIN32)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <unistd.h>
#endif

typedef struct net_addr {
    struct sockaddr_storage ss;
    cio_socklen len;
} net_addr;

static inline const struct sockaddr *net_sa(const net_addr *a) { return (const struct sockaddr *)&a->ss; }

/* 127.0.0.1 or ::1 at `port` (host order). */
static inline void net_loopback(net_addr *a, int family, uint16_t port) {
    memset(a, 0, sizeof *a);
    if (family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)&a->ss;
        s->sin_family = AF_INET;
        s->sin_port = htons(port);
        s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a->len = sizeof *s;
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a->ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(port);
        s->sin6_addr = in6addr_loopback;
        a->len = sizeof *s;
    }
}

static inline uint16_t net_port(const net_addr *a) {
    if (a->ss.ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/* Family, address and port equal (flow info and scope are not compared). */
static inline bool net_same(const net_addr *a, const net_addr *b) {
    if (a->ss.ss_family != b->ss.ss_family || a->len != b->len || net_port(a) != net_port(b)) return false;
    if (a->ss.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)&b->ss)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
                  &((const struct sockaddr_in6 *)&b->ss)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

static inline void net_local(cio_fd fd, net_addr *out) {
    memset(out, 0, sizeof *out);
    out->len = sizeof out->ss;
    CHECK_EQ(getsockname(fd, (struct sockaddr *)&out->ss, &out->len), 0);
}

static inline void net_peer(cio_fd fd, net_addr *out) {
    memset(out, 0, sizeof *out);
    out->len = sizeof out->ss;
    CHECK_EQ(getpeername(fd, (struct sockaddr *)&out->ss, &out->len), 0);
}

static inline int net_sockopt(cio_fd fd, int level, int name) {
    int v = -1;
    int l = sizeof v;
    CHECK_EQ(t_getsockopt(fd, level, name, &v, &l), 0);
    return v;
}

/* A handle that is certainly not open right now (one just closed). */
static inline cio_fd net_closed_fd(void) {
#if defined(_WIN32)
    cio_fd fd = t_sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd != T_FD_NONE);
    CHECK_EQ(t_close_handle(fd), 0);
    return fd;
#else
    int fd = dup(0);
    CHECK(fd >= 0);
    CHECK_EQ(close(fd), 0);
    return fd;
#endif
}

/*
 * Like t_cb, but fails at once when an armed op gets a second final
 * completion or a CIO_F_MORE one after its final: exactly once, enforced
 * at the moment it would be broken rather than only at the end.
 */
static inline void net_cb(cio_loop *loop, cio_op *op) {
    t_op *t = (t_op *)op;
    CHECK_EQ(t->finals, 0);
    t_cb(loop, op);
}

static inline void net_arm(t_op *t) {
    t_arm(t);
    t->op.cb = net_cb;
}

/* Turns the loop until `t` has had its final completion, within `limit_s`. */
static inline int32_t net_wait(cio_loop *loop, t_op *t, double limit_s) {
    double end = t_seconds() + limit_s;
    while (t->finals == 0) {
        CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
        if (t_seconds() > end) {
            fprintf(stderr, "%s op did not complete within %.1f s\n", cio_op_name(t->op.opcode), limit_s);
            exit(1);
        }
    }
    CHECK_EQ(t->finals, 1);
    return t->res;
}

/* Submits the prepared `t` and returns its final result. */
static inline int32_t net_do(cio_loop *loop, t_op *t) {
    net_arm(t);
    CHECK_EQ(cio_submit(loop, &t->op), 0);
    return net_wait(loop, t, 10);
}

/* Submission is refused with `err`: no callback ever runs, nothing is active. */
static inline void net_refused(cio_loop *loop, t_op *t, int err) {
    unsigned active = cio_loop_active(loop);
    net_arm(t);
    CHECK_EQ(cio_submit(loop, &t->op), err);
    CHECK_EQ(cio_loop_active(loop), active);
    if (active == 0) CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 0);
    CHECK_EQ(t->finals, 0);
    CHECK_EQ(t->mores, 0);
}

/* Lets late completions arrive: anything that would complete an op a
 * second time does so during this wait, and net_cb then fails the test. */
static inline void net_settle(cio_loop *loop) {
    t_op t;
    cio_prep_timeout(&t.op, 20 * 1000 * 1000, 0);
    CHECK_EQ(net_do(loop, &t), 0);
}

/* Sends `msg` from one end of a stream and reads exactly it at the other. */
static inline void net_exchange(cio_loop *loop, cio_fd from, cio_fd to, const char *msg) {
    uint32_t len = (uint32_t)strlen(msg);
    char buf[256];
    CHECK(len <= sizeof buf);
    t_op t;
    cio_prep_send(&t.op, from, msg, len, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &t), len);
    cio_prep_recv(&t.op, to, buf, len, MSG_WAITALL);
    CHECK_EQ(net_do(loop, &t), len);
    CHECK(memcmp(buf, msg, len) == 0);
}

static inline cio_fd net_socket(cio_loop *loop, int family, int type) {
    t_op t;
    cio_prep_socket(&t.op, family, type, 0);
    CHECK(net_do(loop, &t) >= 0);
    return t_fd(&t);
}

/* A socket bound to the loopback address at an ephemeral port, read back into `bound`. */
static inline cio_fd net_bound(cio_loop *loop, int family, int type, net_addr *bound) {
    cio_fd fd = net_socket(loop, family, type);
    net_addr any;
    net_loopback(&any, family, 0);
    t_op t;
    cio_prep_bind(&t.op, fd, net_sa(&any), any.len);
    CHECK_EQ(net_do(loop, &t), 0);
    net_local(fd, bound);
    CHECK(net_port(bound) != 0);
    return fd;
}

static inline cio_fd net_listener(cio_loop *loop, int family, int backlog, net_addr *bound) {
    cio_fd fd = net_bound(loop, family, SOCK_STREAM | SOCK_CLOEXEC, bound);
    t_op t;
    cio_prep_listen(&t.op, fd, backlog);
    CHECK_EQ(net_do(loop, &t), 0);
    return fd;
}

/* A connected TCP pair over loopback, made with accept and connect ops in flight together. */
static inline void net_pair(cio_loop *loop, int family, cio_fd *client, cio_fd *server) {
    net_addr at;
    cio_fd lfd = net_listener(loop, family, 4, &at);
    cio_fd cfd = net_socket(loop, family, SOCK_STREAM | SOCK_CLOEXEC);
    t_op acc, con;
    cio_prep_accept(&acc.op, lfd, NULL, NULL, SOCK_CLOEXEC);
    net_arm(&acc);
    cio_prep_connect(&con.op, cfd, net_sa(&at), at.len);
    net_arm(&con);
    CHECK_EQ(cio_submit(loop, &acc.op), 0);
    CHECK_EQ(cio_submit(loop, &con.op), 0);
    CHECK_EQ(net_wait(loop, &con, 10), 0);
    CHECK(net_wait(loop, &acc, 10) >= 0);
    cio_fd sfd = t_fd(&acc);
    CHECK_EQ(t_close_handle(lfd), 0);
    *client = cfd;
    *server = sfd;
}

/*
 * Bounds the whole program: a loop turn that blocks forever never gets
 * back to the time checks of net_wait. Also ignores SIGPIPE, which a send
 * to a closed peer would otherwise raise. Inherited across fork (alarms
 * are not, so a child calls it again).
 */
static inline void net_watchdog(unsigned seconds) {
    t_ignore_sigpipe();
    t_alarm(seconds, "test hung (a wait that never returned)");
}

/* Whether ::1 is usable here; the IPv6 cases are skipped (and say so) when not. */
static inline bool net_have_ipv6(void) {
    cio_fd fd = t_sys_socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd == T_FD_NONE) return false;
    net_addr a;
    net_loopback(&a, AF_INET6, 0);
    bool ok = bind(fd, net_sa(&a), a.len) == 0;
    t_close_handle(fd);
    if (!ok) fprintf(stderr, "note: ::1 not usable here, IPv6 cases skipped\n");
    return ok;
}

/* The loop's final bookkeeping: nothing active, every submitted op completed once. */
static inline void net_close_loop(cio_loop *loop) {
    CHECK_EQ(cio_loop_active(loop), 0);
    cio_stats st;
    cio_loop_stats(loop, &st);
    CHECK_EQ(st.ops_completed, st.ops_submitted);
    t_close(loop);
}

#endif /* CIO_TEST_NET_H */
