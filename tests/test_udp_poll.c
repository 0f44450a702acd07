/*
 * Datagrams and readiness: sendmsg/recvmsg over UDP with sendto/recvfrom
 * semantics (the sender's address in msg_name, boundaries, truncation, the
 * error codes), connected UDP with send/recv, and CIO_OP_POLL one-shot and
 * multishot, with the multishot one cancelled both ways.
 */
#include "net.h"

static bool have_v6;

/* A datagram of `len` bytes from `fd` to `to`, through CIO_OP_SENDMSG. */
static int32_t send_to(cio_loop *loop, int fd, const net_addr *to, const void *data, size_t len) {
    struct iovec iov = {(void *)(uintptr_t)data, len};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = (void *)(uintptr_t)&to->ss;
    m.msg_namelen = to->len;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    t_op t;
    cio_prep_sendmsg(&t.op, fd, &m, 0);
    return net_do(loop, &t);
}

/* A receive through CIO_OP_RECVMSG; fills `from` and `*flags_out`. */
static int32_t recv_from(cio_loop *loop, int fd, void *buf, size_t len, int flags, net_addr *from,
                         int *flags_out) {
    struct iovec iov = {buf, len};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    memset(from, 0xa5, sizeof *from);
    m.msg_name = &from->ss;
    m.msg_namelen = sizeof from->ss;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    t_op t;
    cio_prep_recvmsg(&t.op, fd, &m, flags);
    int32_t r = net_do(loop, &t);
    from->len = m.msg_namelen;
    *flags_out = m.msg_flags;
    return r;
}

static void udp(cio_loop *loop, int family) {
    net_addr a_at, b_at, from;
    int a = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &a_at);
    int b = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &b_at);
    const socklen_t name_len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    char buf[128];
    int mflags;

    /* sendto from two pieces; recvfrom names the sender. */
    struct iovec iov[2] = {{(void *)"abc", 3}, {(void *)"defgh", 5}};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &b_at.ss;
    m.msg_namelen = b_at.len;
    m.msg_iov = iov;
    m.msg_iovlen = 2;
    t_op snd;
    cio_prep_sendmsg(&snd.op, a, &m, 0);
    CHECK_EQ(net_do(loop, &snd), 8);
    memset(buf, 0, sizeof buf);
    CHECK_EQ(recv_from(loop, b, buf, sizeof buf, 0, &from, &mflags), 8);
    CHECK(memcmp(buf, "abcdefgh", 8) == 0);
    CHECK_EQ(from.len, name_len);
    CHECK(net_same(&from, &a_at));
    CHECK_EQ(mflags, 0);

    /* A recvmsg waiting first, scattering into two buffers, the other way round. */
    char head[4], tail[32];
    struct iovec riov[2] = {{head, sizeof head}, {tail, sizeof tail}};
    struct sockaddr_storage rname;
    struct msghdr rm;
    memset(&rm, 0, sizeof rm);
    memset(&rname, 0xa5, sizeof rname);
    rm.msg_name = &rname;
    rm.msg_namelen = sizeof rname;
    rm.msg_iov = riov;
    rm.msg_iovlen = 2;
    t_op rcv;
    cio_prep_recvmsg(&rcv.op, a, &rm, 0);
    net_arm(&rcv);
    CHECK_EQ(cio_submit(loop, &rcv.op), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(rcv.finals, 0);
    CHECK_EQ(send_to(loop, b, &a_at, "0123456789", 10), 10);
    CHECK_EQ(net_wait(loop, &rcv, 10), 10);
    CHECK(memcmp(head, "0123", 4) == 0 && memcmp(tail, "456789", 6) == 0);
    memcpy(&from.ss, &rname, sizeof rname);
    from.len = rm.msg_namelen;
    CHECK(net_same(&from, &b_at));

    /* Boundaries are kept, in order; an empty datagram is one too. */
    CHECK_EQ(send_to(loop, a, &b_at, "1", 1), 1);
    CHECK_EQ(send_to(loop, a, &b_at, "22", 2), 2);
    CHECK_EQ(send_to(loop, a, &b_at, "", 0), 0);
    CHECK_EQ(send_to(loop, a, &b_at, "333", 3), 3);
    const int sizes[4] = {1, 2, 0, 3};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(recv_from(loop, b, buf, sizeof buf, 0, &from, &mflags), sizes[i]);
        CHECK(net_same(&from, &a_at));
    }

    /* Truncation: the rest of the datagram is dropped and msg_flags says so;
     * with MSG_TRUNC the result is the datagram's real length. */
    char big[100];
    for (int i = 0; i < 100; i++) big[i] = (char)i;
    CHECK_EQ(send_to(loop, a, &b_at, big, 100), 100);
    CHECK_EQ(recv_from(loop, b, buf, 10, 0, &from, &mflags), 10);
    CHECK(memcmp(buf, big, 10) == 0);
    CHECK_EQ(mflags & MSG_TRUNC, MSG_TRUNC);
    CHECK_EQ(send_to(loop, a, &b_at, big, 100), 100);
    CHECK_EQ(recv_from(loop, b, buf, 10, MSG_TRUNC, &from, &mflags), 100);
    CHECK_EQ(mflags & MSG_TRUNC, MSG_TRUNC);

    /* Nothing queued, and not willing to wait. */
    CHECK_EQ(recv_from(loop, b, buf, sizeof buf, MSG_DONTWAIT, &from, &mflags), -CIO_EAGAIN);

    /* A datagram larger than UDP can carry. */
    static char huge[70000];
    CHECK_EQ(send_to(loop, a, &b_at, huge, sizeof huge), -CIO_EMSGSIZE);

    /* No destination on an unconnected socket. */
    struct iovec one = {(void *)"x", 1};
    memset(&m, 0, sizeof m);
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    cio_prep_sendmsg(&snd.op, a, &m, 0);
    CHECK_EQ(net_do(loop, &snd), -EDESTADDRREQ);
    if (family == AF_INET) {
        net_addr v6;
        net_loopback(&v6, AF_INET6, net_port(&b_at));
        CHECK_EQ(send_to(loop, a, &v6, "x", 1), -CIO_EAFNOSUPPORT);
    }

    /* Connected UDP: plain send and recv, and recvmsg still names the peer. */
    t_op con;
    cio_prep_connect(&con.op, a, net_sa(&b_at), b_at.len);
    CHECK_EQ(net_do(loop, &con), 0);
    cio_prep_send(&snd.op, a, "conn", 4, 0);
    CHECK_EQ(net_do(loop, &snd), 4);
    CHECK_EQ(recv_from(loop, b, buf, sizeof buf, 0, &from, &mflags), 4);
    CHECK(memcmp(buf, "conn", 4) == 0);
    CHECK(net_same(&from, &a_at));
    CHECK_EQ(send_to(loop, b, &a_at, "back", 4), 4);
    memset(buf, 0, sizeof buf);
    cio_prep_recv(&rcv.op, a, buf, sizeof buf, 0);
    CHECK_EQ(net_do(loop, &rcv), 4);
    CHECK(memcmp(buf, "back", 4) == 0);

    CHECK_EQ(close(a), 0);
    CHECK_EQ(close(b), 0);
}

static void udp_refusals(cio_loop *loop) {
    t_op t;
    struct msghdr m;
    memset(&m, 0, sizeof m);
    cio_prep_sendmsg(&t.op, -1, &m, 0);
    net_refused(loop, &t, -CIO_EBADF);
    cio_prep_recvmsg(&t.op, -1, &m, 0);
    net_refused(loop, &t, -CIO_EBADF);
    cio_prep_sendmsg(&t.op, 0, NULL, 0);
    net_refused(loop, &t, -CIO_EINVAL);
    cio_prep_recvmsg(&t.op, 0, NULL, 0);
    net_refused(loop, &t, -CIO_EINVAL);

    char buf[4];
    struct iovec iov = {buf, sizeof buf};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    int p[2];
    CHECK_EQ(pipe(p), 0);
    cio_prep_recvmsg(&t.op, p[0], &m, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_ENOTSOCK);
    cio_prep_sendmsg(&t.op, p[1], &m, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_ENOTSOCK);
    CHECK_EQ(close(p[0]), 0);
    CHECK_EQ(close(p[1]), 0);
    cio_prep_recvmsg(&t.op, net_closed_fd(), &m, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_EBADF);
}

/* ---- poll ---- */

static void poll_once(cio_loop *loop, int family) {
    net_addr a_at, b_at;
    int a = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &a_at);
    int b = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &b_at);
    t_op p;

    /* Not readable yet: the poll waits, then a datagram makes it ready. */
    cio_prep_poll(&p.op, b, CIO_POLLIN);
    net_arm(&p);
    CHECK_EQ(cio_submit(loop, &p.op), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(p.finals, 0);
    CHECK_EQ(send_to(loop, a, &b_at, "ready", 5), 5);
    CHECK_EQ(net_wait(loop, &p, 10), CIO_POLLIN);

    /* Ready already: at once, and only the bits asked for (plus none of ERR/HUP). */
    cio_prep_poll(&p.op, b, CIO_POLLIN | CIO_POLLPRI);
    CHECK_EQ(net_do(loop, &p), CIO_POLLIN);
    cio_prep_poll(&p.op, b, CIO_POLLOUT);
    CHECK_EQ(net_do(loop, &p), CIO_POLLOUT);
    cio_prep_poll(&p.op, b, CIO_POLLIN | CIO_POLLOUT);
    CHECK_EQ(net_do(loop, &p), CIO_POLLIN | CIO_POLLOUT);
    net_settle(loop);
    CHECK_EQ(p.finals, 1);
    CHECK_EQ(close(a), 0);
    CHECK_EQ(close(b), 0);

    /* TCP: the peer's SHUT_WR reads as POLLIN with POLLRDHUP. */
    int c, s;
    net_pair(loop, family, &c, &s);
    cio_prep_poll(&p.op, s, CIO_POLLIN | CIO_POLLRDHUP);
    net_arm(&p);
    CHECK_EQ(cio_submit(loop, &p.op), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(p.finals, 0);
    t_op sh;
    cio_prep_shutdown(&sh.op, c, SHUT_WR);
    CHECK_EQ(net_do(loop, &sh), 0);
    CHECK_EQ(net_wait(loop, &p, 10), CIO_POLLIN | CIO_POLLRDHUP);
    CHECK_EQ(close(c), 0);
    CHECK_EQ(close(s), 0);
}

static void poll_refusals(cio_loop *loop) {
    t_op t;
    cio_prep_poll(&t.op, -1, CIO_POLLIN);
    net_refused(loop, &t, -CIO_EBADF);
    cio_prep_poll(&t.op, 0, 0);
    net_refused(loop, &t, -CIO_EINVAL);
    cio_prep_poll(&t.op, net_closed_fd(), CIO_POLLIN);
    CHECK_EQ(net_do(loop, &t), -CIO_EBADF);
}

typedef struct mpoll {
    t_op t;
    int fd;
    int32_t results[8];
    int n;
    uint8_t final_flags;
} mpoll;

/* Each readiness report consumes the datagram behind it, so that the next
 * report is a new event whatever the backend's triggering. */
static void on_mpoll(cio_loop *loop, cio_op *op) {
    mpoll *m = (mpoll *)op;
    if (op->flags & CIO_F_MORE) {
        CHECK(m->n < 8);
        m->results[m->n++] = op->res;
        char b[16];
        CHECK_EQ(recv(m->fd, b, sizeof b, MSG_DONTWAIT), 1);
    } else {
        m->final_flags = op->flags;
    }
    net_cb(loop, op);
}

static void poll_multishot(cio_loop *loop, int family, bool cancel_by_op) {
    enum { EVENTS = 4 };
    net_addr a_at, b_at;
    int a = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &a_at);
    int b = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &b_at);
    mpoll m;
    memset(&m, 0, sizeof m);
    m.fd = b;
    cio_prep_poll(&m.t.op, b, CIO_POLLIN);
    net_arm(&m.t);
    m.t.op.cb = on_mpoll;
    m.t.op.flags = CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(loop, &m.t.op), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(m.t.mores, 0);

    for (int i = 1; i <= EVENTS; i++) {
        CHECK_EQ(send_to(loop, a, &b_at, "e", 1), 1);
        double end = t_seconds() + 10;
        while (m.t.mores < i) {
            CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
            CHECK(t_seconds() < end);
        }
        CHECK_EQ(m.t.mores, i);
        CHECK_EQ(m.results[i - 1], CIO_POLLIN);
        CHECK_EQ(m.t.finals, 0);
    }

    t_op cancel;
    if (cancel_by_op) {
        cio_prep_cancel(&cancel.op, &m.t.op);
        CHECK_EQ(net_do(loop, &cancel), 0);
    } else {
        CHECK_EQ(cio_cancel(loop, &m.t.op), 0);
    }
    CHECK_EQ(net_wait(loop, &m.t, 10), -CIO_ECANCELED);
    CHECK_EQ(m.final_flags & CIO_F_MORE, 0);
    /* After the final completion nothing more comes, even with new data. */
    CHECK_EQ(send_to(loop, a, &b_at, "late", 4), 4);
    net_settle(loop);
    CHECK_EQ(m.t.finals, 1);
    CHECK_EQ(m.t.mores, EVENTS);
    CHECK_EQ(cio_cancel(loop, &m.t.op), -CIO_ENOENT);
    CHECK_EQ(close(a), 0);
    CHECK_EQ(close(b), 0);
}

int main(void) {
    net_watchdog(120);
    have_v6 = net_have_ipv6();
    cio_loop loop;
    t_loop_init(&loop, 64);
    const int families[2] = {AF_INET, AF_INET6};
    for (int f = 0; f < 2; f++) {
        if (families[f] == AF_INET6 && !have_v6) continue;
        udp(&loop, families[f]);
        poll_once(&loop, families[f]);
        poll_multishot(&loop, families[f], true);
        poll_multishot(&loop, families[f], false);
    }
    udp_refusals(&loop);
    poll_refusals(&loop);
    net_close_loop(&loop);
    puts("udp_poll: ok");
    return 0;
}
