/*
 * Datagrams and readiness: sendmsg/recvmsg over UDP with sendto/recvfrom
 * semantics (the sender's address in msg_name, boundaries, truncation, the
 * error codes), connected UDP with send/recv, and CIO_OP_POLL one-shot and
 * multishot, with the multishot one cancelled both ways.
 *
 * CIO_TEST_PORTABLE
 */
#include "net.h"

static bool have_v6;



/* A datagram of `len` bytes from `fd` to `to`, through CIO_OP_SENDMSG. */
static int32_t send_to(cio_loop *loop, cio_fd fd, const net_addr *to, const void *data, size_t len) {
    cio_iovec iov = {.iov_base = (void *)(uintptr_t)data, .iov_len = len};
    cio_msghdr m;
    cio_msg_init(&m, (void *)(uintptr_t)&to->ss, to->len, &iov, 1, NULL, 0);
    t_op t;
    cio_prep_sendmsg(&t.op, fd, &m, 0);
    return net_do(loop, &t);
}

/* A receive through CIO_OP_RECVMSG; fills `from` and `*flags_out`. */
static int32_t recv_from(cio_loop *loop, cio_fd fd, void *buf, size_t len, int flags, net_addr *from,
                         int *flags_out) {
    cio_iovec iov = {.iov_base = buf, .iov_len = len};
    cio_msghdr m;
    memset(from, 0xa5, sizeof *from);
    cio_msg_init(&m, &from->ss, sizeof from->ss, &iov, 1, NULL, 0);
    t_op t;
    cio_prep_recvmsg(&t.op, fd, &m, flags);
    int32_t r = net_do(loop, &t);
    from->len = cio_msg_namelen(&m);
    *flags_out = cio_msg_flags(&m);
    return r;
}

static void udp(cio_loop *loop, int family) {
    net_addr a_at, b_at, from;
    cio_fd a = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &a_at);
    cio_fd b = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &b_at);
    const cio_socklen name_len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    char buf[128];
    int mflags;

    /* sendto from two pieces; recvfrom names the sender. */
    cio_iovec iov[2] = {{.iov_base = (void *)"abc", .iov_len = 3}, {.iov_base = (void *)"defgh", .iov_len = 5}};
    cio_msghdr m;
    cio_msg_init(&m, &b_at.ss, b_at.len, iov, 2, NULL, 0);
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
    cio_iovec riov[2] = {{.iov_base = head, .iov_len = sizeof head}, {.iov_base = tail, .iov_len = sizeof tail}};
    struct sockaddr_storage rname;
    cio_msghdr rm;
    memset(&rname, 0xa5, sizeof rname);
    cio_msg_init(&rm, &rname, sizeof rname, riov, 2, NULL, 0);
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
    from.len = cio_msg_namelen(&rm);
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
    CHECK_EQ(mflags & CIO_MSG_TRUNC, CIO_MSG_TRUNC);
    /* Winsock discards the rest of a datagram cut to the buffer and never
     * says how long it was (op.h: CIO_MSG_TRUNC is only an output flag on
     * Windows). */
    if (!T_SKIP_CASE_ON_WINDOWS("recv_msg_trunc_flag", "Windows: a receive cannot learn the length of a datagram "
                                                       "it cut (CIO_MSG_TRUNC as an input flag is Linux's)")) {
        CHECK_EQ(send_to(loop, a, &b_at, big, 100), 100);
        CHECK_EQ(recv_from(loop, b, buf, 10, CIO_MSG_TRUNC, &from, &mflags), 100);
        CHECK_EQ(mflags & CIO_MSG_TRUNC, CIO_MSG_TRUNC);
    }

    /* Nothing queued, and not willing to wait. */
    CHECK_EQ(recv_from(loop, b, buf, sizeof buf, CIO_MSG_DONTWAIT, &from, &mflags), -CIO_EAGAIN);

    /* A datagram larger than UDP can carry. */
    static char huge[70000];
    CHECK_EQ(send_to(loop, a, &b_at, huge, sizeof huge), -CIO_EMSGSIZE);

    /* No destination on an unconnected socket. */
    cio_iovec one = {.iov_base = (void *)"x", .iov_len = 1};
    cio_msg_init(&m, NULL, 0, &one, 1, NULL, 0);
    {
        cio_prep_sendmsg(&snd.op, a, &m, 0);
        CHECK_EQ(net_do(loop, &snd), -CIO_EDESTADDRREQ);
    }
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

    CHECK_EQ(t_close_handle(a), 0);
    CHECK_EQ(t_close_handle(b), 0);
}

static void udp_refusals(cio_loop *loop) {
    t_op t;
    cio_msghdr m;
    cio_msg_init(&m, NULL, 0, NULL, 0, NULL, 0);
    cio_prep_sendmsg(&t.op, T_FD_NONE, &m, 0);
    net_refused(loop, &t, -CIO_EBADF);
    cio_prep_recvmsg(&t.op, T_FD_NONE, &m, 0);
    net_refused(loop, &t, -CIO_EBADF);
    cio_prep_sendmsg(&t.op, 0, NULL, 0);
    net_refused(loop, &t, -CIO_EINVAL);
    cio_prep_recvmsg(&t.op, 0, NULL, 0);
    net_refused(loop, &t, -CIO_EINVAL);

    char buf[4];
    cio_iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    cio_msg_init(&m, NULL, 0, &iov, 1, NULL, 0);
    cio_fd p[2];
    CHECK_EQ(t_pipe(p), 0);
    cio_prep_recvmsg(&t.op, p[0], &m, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_ENOTSOCK);
    cio_prep_sendmsg(&t.op, p[1], &m, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_ENOTSOCK);
    CHECK_EQ(t_close_handle(p[0]), 0);
    CHECK_EQ(t_close_handle(p[1]), 0);
    cio_prep_recvmsg(&t.op, net_closed_fd(), &m, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_EBADF);
}

/* ---- poll ---- */

static void poll_once(cio_loop *loop, int family) {
    net_addr a_at, b_at;
    cio_fd a = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &a_at);
    cio_fd b = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &b_at);
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
    CHECK_EQ(t_close_handle(a), 0);
    CHECK_EQ(t_close_handle(b), 0);

    /* TCP: the peer's SHUT_WR reads as POLLIN with POLLRDHUP (asked here, so
     * on Windows too: op.h). */
    cio_fd c, s;
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
    CHECK_EQ(t_close_handle(c), 0);
    CHECK_EQ(t_close_handle(s), 0);
}

static void poll_refusals(cio_loop *loop) {
    t_op t;
    cio_prep_poll(&t.op, T_FD_NONE, CIO_POLLIN);
    net_refused(loop, &t, -CIO_EBADF);
    cio_prep_poll(&t.op, 0, 0);
    net_refused(loop, &t, -CIO_EINVAL);
    cio_prep_poll(&t.op, net_closed_fd(), CIO_POLLIN);
    CHECK_EQ(net_do(loop, &t), -CIO_EBADF);
}

typedef struct mpoll {
    t_op t;
    cio_fd fd;
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
        CHECK_EQ(t_sys_recv(m->fd, b, sizeof b, 0), 1); /* nonblocking: poll_multishot */
    } else {
        m->final_flags = op->flags;
    }
    net_cb(loop, op);
}

static void poll_multishot(cio_loop *loop, int family, bool cancel_by_op) {
    enum { EVENTS = 4 };
    net_addr a_at, b_at;
    cio_fd a = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &a_at);
    cio_fd b = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &b_at);
    mpoll m;
    memset(&m, 0, sizeof m);
    m.fd = b;
    CHECK_EQ(t_set_nonblock(b, 1), 0);
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
    CHECK_EQ(t_close_handle(a), 0);
    CHECK_EQ(t_close_handle(b), 0);
}

/* SHUT_RD of an unconnected UDP socket: Linux says -CIO_ENOTCONN and still
 * shuts the receive side: a waiting recv ends with 0. */
static void udp_shut_rd_unconnected(cio_loop *loop) {
    net_addr at;
    cio_fd u = net_bound(loop, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, &at);
    char buf[16];
    t_op r, t;
    cio_prep_recv(&r.op, u, buf, sizeof buf, 0);
    net_arm(&r);
    CHECK_EQ(cio_submit(loop, &r.op), 0);
    CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
    CHECK_EQ(r.finals, 0);
    cio_prep_shutdown(&t.op, u, CIO_SHUT_RD);
    CHECK_EQ(net_do(loop, &t), -CIO_ENOTCONN);
    /* The recv ends as Linux's blocking recv(2) does, on every backend
     * (bounded: it used to wait for ever on IOCP, epoll and poll). */
    for (int i = 0; i < 50 && !r.finals; i++) {
        t_op tm;
        cio_prep_timeout(&tm.op, 100 * 1000 * 1000, 0);
        CHECK_EQ(net_do(loop, &tm), 0);
    }
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(r.res, 0);
    /* A recv after the shutdown: 0 at once, too. */
    cio_prep_recv(&r.op, u, buf, sizeof buf, 0);
    CHECK_EQ(net_do(loop, &r), 0);
    CHECK_EQ(t_close_handle(u), 0);
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
    udp_shut_rd_unconnected(&loop);
    udp_refusals(&loop);
    poll_refusals(&loop);
    net_close_loop(&loop);
    puts("udp_poll: ok");
    return 0;
}
