/*
 * test_mock_net_real - one program on a real backend and on the mock: the
 * answers Linux defines must be the same. The program uses only cio (ops
 * and the calls of cio/socket.h); it runs on the backend ctest names
 * (io_uring, epoll, poll: the kernel over loopback is the oracle) and then
 * on the mock, and each answer it records is compared, by name. On the
 * real backend a peer using plain system calls checks cio's socket calls
 * against getsockname(2) and getsockopt(2).
 * CIO_TEST_NOT_ON_WINDOWS: its oracle is Linux (the mock simulates Linux's socket answers: doubled SO_RCVBUF, SO_DOMAIN, MSG_TRUNC), which a Windows kernel does not give
 */
#include "net_util.h"

#define MAX_ANSWERS 256

typedef struct answers {
    int n;
    const char *what[MAX_ANSWERS];
    long long value[MAX_ANSWERS];
} answers;

static void note(answers *a, const char *what, long long v) {
    CHECK(a->n < MAX_ANSWERS);
    a->what[a->n] = what;
    a->value[a->n++] = v;
}

#define NOTE(a, expr) note(a, #expr, (long long)(expr))

static int name4(cio_loop *loop, cio_fd fd, struct sockaddr_in *out, int peer) {
    cio_socklen len = sizeof *out;
    memset(out, 0, sizeof *out);
    int r = peer ? cio_socket_peer(loop, fd, (struct sockaddr *)out, &len) : cio_socket_name(loop, fd, (struct sockaddr *)out, &len);
    if (r == 0) CHECK_EQ(len, sizeof *out);
    return r;
}

static int same4(const struct sockaddr_in *a, const struct sockaddr_in *b) {
    return a->sin_family == b->sin_family && a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

static int get_err(cio_loop *loop, cio_fd fd, int level, int name) {
    int v = 0;
    cio_socklen len = sizeof v;
    return cio_socket_get_option(loop, fd, level, name, &v, &len);
}

/* The program: sockets, options, names, a connection, datagrams. */
static void program(cio_loop *loop, answers *a) {
    t_op t;
    cio_prep_socket(&t.op, AF_INET, SOCK_STREAM, IPPROTO_UDP);
    NOTE(a, do_op(loop, &t));
    cio_prep_socket(&t.op, AF_INET, 99, 0);
    NOTE(a, do_op(loop, &t));
    cio_fd s = (cio_fd)op_socket(loop, AF_INET, SOCK_STREAM);
    cio_fd u = (cio_fd)op_socket(loop, AF_INET, SOCK_DGRAM);
    CHECK(s >= 0 && u >= 0);
    /* Options read back. */
    NOTE(a, get_int(loop, s, SOL_SOCKET, SO_TYPE));
    NOTE(a, get_int(loop, u, SOL_SOCKET, SO_TYPE));
    NOTE(a, get_int(loop, s, SOL_SOCKET, SO_DOMAIN));
    NOTE(a, get_int(loop, s, SOL_SOCKET, SO_PROTOCOL));
    NOTE(a, get_int(loop, u, SOL_SOCKET, SO_PROTOCOL));
    NOTE(a, get_int(loop, s, SOL_SOCKET, SO_ACCEPTCONN));
    NOTE(a, get_int(loop, s, SOL_SOCKET, SO_ERROR));
    NOTE(a, get_int(loop, s, SOL_SOCKET, SO_REUSEADDR));
    NOTE(a, set_int(loop, s, SOL_SOCKET, SO_REUSEADDR, 5));
    NOTE(a, get_int(loop, s, SOL_SOCKET, SO_REUSEADDR));
    NOTE(a, set_int(loop, s, IPPROTO_TCP, TCP_NODELAY, 1));
    NOTE(a, get_int(loop, s, IPPROTO_TCP, TCP_NODELAY));
    NOTE(a, set_int(loop, s, SOL_SOCKET, SO_KEEPALIVE, 1));
    NOTE(a, get_int(loop, s, SOL_SOCKET, SO_KEEPALIVE));
    NOTE(a, set_int(loop, s, SOL_SOCKET, SO_RCVBUF, 4096));
    NOTE(a, get_int(loop, s, SOL_SOCKET, SO_RCVBUF));
    NOTE(a, set_int(loop, s, SOL_SOCKET, SO_SNDBUF, 6000));
    NOTE(a, get_int(loop, s, SOL_SOCKET, SO_SNDBUF));
    struct linger lg = {1, 7}, back = {0, 0};
    cio_socklen len = sizeof back;
    NOTE(a, cio_socket_set_option(loop, s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    NOTE(a, cio_socket_get_option(loop, s, SOL_SOCKET, SO_LINGER, &back, &len));
    NOTE(a, back.l_onoff);
    NOTE(a, back.l_linger);
    lg.l_onoff = 0;
    NOTE(a, cio_socket_set_option(loop, s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    NOTE(a, get_err(loop, s, SOL_SOCKET, 9999));
    NOTE(a, get_err(loop, s, IPPROTO_IPV6, IPV6_V6ONLY));
    NOTE(a, set_int(loop, u, IPPROTO_TCP, TCP_NODELAY, 1));
    NOTE(a, set_int(loop, s, SOL_SOCKET, SO_TYPE, SOCK_DGRAM));
    NOTE(a, set_int(loop, s, IPPROTO_IPV6, IPV6_V6ONLY, 1));
    NOTE(a, get_err(loop, u, IPPROTO_TCP, TCP_NODELAY));
    NOTE(a, get_err(loop, s, IPPROTO_TCP, TCP_MAXSEG + 1000));
    NOTE(a, set_int(loop, s, IPPROTO_TCP, TCP_MAXSEG + 1000, 1));
    cio_fd u6 = (cio_fd)op_socket(loop, AF_INET6, SOCK_DGRAM);
    NOTE(a, get_err(loop, u6, IPPROTO_TCP, TCP_NODELAY));
    NOTE(a, set_int(loop, u6, IPPROTO_TCP, TCP_NODELAY, 1));
    NOTE(a, get_int(loop, u6, IPPROTO_IPV6, IPV6_V6ONLY));
    NOTE(a, get_int(loop, u6, SOL_SOCKET, SO_DOMAIN));
    NOTE(a, op_close(loop, u6));
    cio_fd x = (cio_fd)op_socket(loop, AF_UNIX, SOCK_STREAM);
    NOTE(a, get_err(loop, x, IPPROTO_TCP, TCP_NODELAY));
    NOTE(a, set_int(loop, x, IPPROTO_TCP, TCP_NODELAY, 1));
    NOTE(a, get_int(loop, x, SOL_SOCKET, SO_TYPE));
    NOTE(a, get_int(loop, x, SOL_SOCKET, SO_PROTOCOL));
    NOTE(a, op_close(loop, x));
    /* An unconnected stream socket. */
    struct sockaddr_in n4;
    NOTE(a, name4(loop, s, &n4, 0));
    NOTE(a, n4.sin_port);
    NOTE(a, n4.sin_addr.s_addr);
    NOTE(a, name4(loop, s, &n4, 1));
    char buf[32];
    NOTE(a, op_recv(loop, s, buf, sizeof buf, 0));
    NOTE(a, op_send(loop, s, "x", 1, 0));
    NOTE(a, op_listen(loop, u, 1));
    NOTE(a, op_accept(loop, s, NULL, NULL));
    /* A listener on an ephemeral port of 127.0.0.1. */
    struct sockaddr_in lo = sin4("127.0.0.1", 0);
    NOTE(a, op_bind(loop, s, &lo, sizeof lo));
    NOTE(a, op_bind(loop, s, &lo, sizeof lo));
    struct sockaddr_in at;
    CHECK_EQ(name4(loop, s, &at, 0), 0);
    NOTE(a, at.sin_port != 0);
    NOTE(a, at.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    NOTE(a, op_listen(loop, s, 8));
    NOTE(a, get_int(loop, s, SOL_SOCKET, SO_ACCEPTCONN));
    cio_fd t2 = (cio_fd)op_socket(loop, AF_INET, SOCK_STREAM);
    NOTE(a, op_bind(loop, t2, &at, sizeof at));
    /* A connection: each end's names are the other's peer names. */
    cio_fd c = (cio_fd)op_socket(loop, AF_INET, SOCK_STREAM);
    NOTE(a, op_connect(loop, c, &at, sizeof at));
    struct sockaddr_in from, cn, cp, sn, sp;
    cio_socklen flen = sizeof from;
    cio_fd acc = (cio_fd)op_accept(loop, s, &from, &flen);
    NOTE(a, acc >= 0);
    NOTE(a, flen);
    NOTE(a, name4(loop, c, &cn, 0));
    NOTE(a, name4(loop, c, &cp, 1));
    NOTE(a, name4(loop, acc, &sn, 0));
    NOTE(a, name4(loop, acc, &sp, 1));
    NOTE(a, same4(&cp, &at));
    NOTE(a, same4(&sn, &at));
    NOTE(a, same4(&sp, &cn));
    NOTE(a, same4(&from, &cn));
    NOTE(a, cn.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    NOTE(a, ntohs(cn.sin_port) != 0 && cn.sin_port != at.sin_port);
    NOTE(a, get_int(loop, acc, SOL_SOCKET, SO_ACCEPTCONN));
    NOTE(a, get_int(loop, acc, SOL_SOCKET, SO_REUSEADDR)); /* taken from the listener */
    NOTE(a, op_connect(loop, c, &at, sizeof at));
    NOTE(a, op_send(loop, c, "ping", 4, 0));
    NOTE(a, op_recv(loop, acc, buf, 4, CIO_MSG_WAITALL));
    /* A port bound by a socket that does not listen refuses. */
    cio_fd held = (cio_fd)op_socket(loop, AF_INET, SOCK_STREAM);
    struct sockaddr_in heldat;
    CHECK_EQ(op_bind(loop, held, &lo, sizeof lo), 0);
    CHECK_EQ(name4(loop, held, &heldat, 0), 0);
    cio_fd c2 = (cio_fd)op_socket(loop, AF_INET, SOCK_STREAM);
    NOTE(a, op_connect(loop, c2, &heldat, sizeof heldat));
    /* Datagrams: boundaries, truncation, the sender's address. */
    cio_fd r = (cio_fd)op_socket(loop, AF_INET, SOCK_DGRAM);
    NOTE(a, op_bind(loop, r, &lo, sizeof lo));
    struct sockaddr_in rat;
    CHECK_EQ(name4(loop, r, &rat, 0), 0);
    NOTE(a, op_send(loop, u, "x", 1, 0));
    NOTE(a, op_sendto(loop, u, "hello", 5, 0, &rat, sizeof rat));
    NOTE(a, op_sendto(loop, u, "world!", 6, 0, &rat, sizeof rat));
    struct sockaddr_in un, uf;
    NOTE(a, name4(loop, u, &un, 0));
    NOTE(a, un.sin_addr.s_addr); /* an implicit bind is to the wildcard */
    NOTE(a, un.sin_port != 0);
    int mflags = -1;
    cio_socklen ulen = sizeof uf;
    NOTE(a, op_recvfrom(loop, r, buf, 3, 0, &uf, &ulen, &mflags));
    NOTE(a, mflags);
    NOTE(a, ulen);
    NOTE(a, uf.sin_port == un.sin_port);
    NOTE(a, uf.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    memset(buf, 0, sizeof buf);
    NOTE(a, op_recvfrom(loop, r, buf, sizeof buf, CIO_MSG_PEEK | MSG_TRUNC, NULL, NULL, &mflags));
    NOTE(a, op_recvfrom(loop, r, buf, 2, MSG_TRUNC, NULL, NULL, &mflags));
    NOTE(a, mflags);
    NOTE(a, op_recv(loop, r, buf, sizeof buf, CIO_MSG_DONTWAIT));
    /* A connected UDP socket whose peer's port is closed: ECONNREFUSED. */
    cio_fd gone = (cio_fd)op_socket(loop, AF_INET, SOCK_DGRAM);
    struct sockaddr_in goneat;
    CHECK_EQ(op_bind(loop, gone, &lo, sizeof lo), 0);
    CHECK_EQ(name4(loop, gone, &goneat, 0), 0);
    CHECK_EQ(op_close(loop, gone), 0);
    cio_fd cu = (cio_fd)op_socket(loop, AF_INET, SOCK_DGRAM);
    NOTE(a, op_connect(loop, cu, &goneat, sizeof goneat));
    NOTE(a, op_send(loop, cu, "?", 1, 0));
    NOTE(a, op_recv(loop, cu, buf, sizeof buf, 0));
    NOTE(a, op_recv(loop, cu, buf, sizeof buf, CIO_MSG_DONTWAIT));
    cio_fd all[] = {s, u, t2, c, acc, held, c2, r, cu};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) CHECK_EQ(op_close(loop, all[i]), 0);
}

/* An abstract AF_UNIX name of this process (no file on a real system). */
static struct sockaddr_un abstract(const char *tag, cio_socklen *len) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "cio-test-%ld-%s", (long)getpid(), tag);
    *len = (cio_socklen)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    return a;
}

/* AF_UNIX streams and datagrams, on abstract names. */
static void program_unix(cio_loop *loop, answers *a) {
    cio_socklen llen, nlen, dlen;
    struct sockaddr_un at = abstract("listen", &llen), none = abstract("none", &nlen), dat = abstract("dgram", &dlen);
    cio_fd l = (cio_fd)op_socket(loop, AF_UNIX, SOCK_STREAM);
    cio_fd c = (cio_fd)op_socket(loop, AF_UNIX, SOCK_STREAM);
    char buf[16];
    NOTE(a, op_listen(loop, l, 1));
    NOTE(a, op_recv(loop, c, buf, sizeof buf, 0));
    NOTE(a, op_send(loop, c, "x", 1, 0));
    NOTE(a, op_shutdown(loop, c, CIO_SHUT_WR));
    NOTE(a, op_connect(loop, c, &none, nlen));
    NOTE(a, op_bind(loop, l, &at, llen));
    NOTE(a, op_listen(loop, l, 1));
    cio_fd l2 = (cio_fd)op_socket(loop, AF_UNIX, SOCK_STREAM);
    NOTE(a, op_bind(loop, l2, &at, llen));
    NOTE(a, op_close(loop, l2));
    struct sockaddr_un name;
    cio_socklen len = sizeof name;
    NOTE(a, cio_socket_name(loop, c, (struct sockaddr *)&name, &len));
    NOTE(a, len);
    NOTE(a, op_connect(loop, c, &at, llen));
    len = sizeof name;
    cio_fd s = (cio_fd)op_accept(loop, l, &name, &len);
    NOTE(a, s >= 0);
    NOTE(a, len);
    len = sizeof name;
    NOTE(a, cio_socket_peer(loop, c, (struct sockaddr *)&name, &len));
    NOTE(a, len == llen && memcmp(&name, &at, llen) == 0);
    len = sizeof name;
    NOTE(a, cio_socket_name(loop, s, (struct sockaddr *)&name, &len));
    NOTE(a, len == llen && memcmp(&name, &at, llen) == 0);
    NOTE(a, op_sendto(loop, s, "x", 1, 0, &at, llen));
    NOTE(a, op_send(loop, s, "hey", 3, 0));
    struct sockaddr_un from;
    cio_socklen flen = sizeof from;
    int mflags = -1;
    NOTE(a, op_recvfrom(loop, c, buf, 3, CIO_MSG_WAITALL, &from, &flen, &mflags));
    NOTE(a, flen);
    NOTE(a, mflags);
    /* Datagrams: an unnamed sender, boundaries, a full queue. */
    cio_fd r = (cio_fd)op_socket(loop, AF_UNIX, SOCK_DGRAM), d = (cio_fd)op_socket(loop, AF_UNIX, SOCK_DGRAM);
    NOTE(a, op_bind(loop, r, &dat, dlen));
    cio_fd c2 = (cio_fd)op_socket(loop, AF_UNIX, SOCK_STREAM);
    NOTE(a, op_connect(loop, c2, &dat, dlen)); /* abstract names are per type */
    NOTE(a, op_bind(loop, c2, &dat, dlen));
    NOTE(a, op_close(loop, c2));
    NOTE(a, op_send(loop, d, "x", 1, 0));
    NOTE(a, op_sendto(loop, d, "abc", 3, 0, &none, nlen));
    NOTE(a, op_sendto(loop, d, "abcdef", 6, 0, &dat, dlen));
    flen = sizeof from;
    NOTE(a, op_recvfrom(loop, r, buf, 4, 0, &from, &flen, &mflags));
    NOTE(a, flen);
    NOTE(a, mflags);
    NOTE(a, op_connect(loop, d, &dat, dlen));
    int queued = 0;
    for (int i = 0; i < 30; i++) {
        if (op_send(loop, d, "q", 1, CIO_MSG_DONTWAIT) != 1) break;
        queued++;
    }
    NOTE(a, queued);
    NOTE(a, op_send(loop, d, "q", 1, CIO_MSG_DONTWAIT));
    NOTE(a, op_close(loop, r));
    NOTE(a, op_send(loop, d, "q", 1, 0));
    cio_fd all[] = {l, c, s, d};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) CHECK_EQ(op_close(loop, all[i]), 0);
}

/* IPv6 and IPv4 together: a dual-stack listener, V6ONLY, overlaps. */
static void program_dual(cio_loop *loop, answers *a) {
    cio_fd l = (cio_fd)op_socket(loop, AF_INET6, SOCK_STREAM);
    struct sockaddr_in6 any = sin6("::", 0), got;
    NOTE(a, op_bind(loop, l, &any, sizeof any));
    NOTE(a, op_listen(loop, l, 4));
    cio_socklen len = sizeof got;
    NOTE(a, cio_socket_name(loop, l, (struct sockaddr *)&got, &len));
    NOTE(a, len);
    uint16_t port = ntohs(got.sin6_port);
    cio_fd c = (cio_fd)op_socket(loop, AF_INET, SOCK_STREAM);
    struct sockaddr_in to = sin4("127.0.0.1", port);
    NOTE(a, op_connect(loop, c, &to, sizeof to));
    struct sockaddr_in cn;
    NOTE(a, name4(loop, c, &cn, 0));
    struct sockaddr_in6 from;
    len = sizeof from;
    cio_fd s = (cio_fd)op_accept(loop, l, &from, &len);
    NOTE(a, s >= 0);
    NOTE(a, len);
    struct sockaddr_in6 mapped = sin6("::ffff:127.0.0.1", ntohs(cn.sin_port));
    NOTE(a, memcmp(&from, &mapped, sizeof from) == 0);
    len = sizeof got;
    NOTE(a, cio_socket_name(loop, s, (struct sockaddr *)&got, &len));
    struct sockaddr_in6 mine = sin6("::ffff:127.0.0.1", port);
    NOTE(a, memcmp(&got, &mine, sizeof got) == 0);
    /* 0.0.0.0 on that port overlaps [::] without V6ONLY. */
    cio_fd b4 = (cio_fd)op_socket(loop, AF_INET, SOCK_STREAM);
    struct sockaddr_in any4 = sin4("0.0.0.0", port);
    NOTE(a, op_bind(loop, b4, &any4, sizeof any4));
    /* A V6ONLY socket: no v4-mapped address, no IPv4 peer. */
    cio_fd v6 = (cio_fd)op_socket(loop, AF_INET6, SOCK_STREAM);
    NOTE(a, set_int(loop, v6, IPPROTO_IPV6, IPV6_V6ONLY, 1));
    struct sockaddr_in6 m4 = sin6("::ffff:127.0.0.1", 0);
    NOTE(a, op_bind(loop, v6, &m4, sizeof m4));
    NOTE(a, op_connect(loop, v6, &mapped, sizeof mapped));
    struct sockaddr_in6 one = sin6("::1", port);
    NOTE(a, op_connect(loop, v6, &one, sizeof one));
    len = sizeof got;
    NOTE(a, cio_socket_name(loop, v6, (struct sockaddr *)&got, &len));
    struct sockaddr_in6 loop6 = sin6("::1", 0);
    got.sin6_port = 0;
    NOTE(a, memcmp(&got.sin6_addr, &loop6.sin6_addr, 16) == 0);
    NOTE(a, set_int(loop, v6, IPPROTO_IPV6, IPV6_V6ONLY, 0));
    cio_fd s2 = (cio_fd)op_accept(loop, l, NULL, NULL);
    NOTE(a, s2 >= 0);
    cio_fd all[] = {l, c, s, b4, v6, s2};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) CHECK_EQ(op_close(loop, all[i]), 0);
}

/* The real backend's own check, with a peer of plain system calls. */
static void plain_peer(cio_loop *loop) {
    cio_fd l = (cio_fd)op_socket(loop, AF_INET, SOCK_STREAM);
    struct sockaddr_in lo = sin4("127.0.0.1", 0), at, mine, from;
    CHECK_EQ(op_bind(loop, l, &lo, sizeof lo), 0);
    CHECK_EQ(op_listen(loop, l, 4), 0);
    socklen_t len = sizeof at;
    CHECK_EQ(getsockname(l, (struct sockaddr *)&at, &len), 0);
    struct sockaddr_in via;
    CHECK_EQ(name4(loop, l, &via, 0), 0);
    CHECK(same4(&via, &at));
    int p = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(p >= 0);
    CHECK_EQ(connect(p, SA(at), sizeof at), 0);
    len = sizeof mine;
    CHECK_EQ(getsockname(p, (struct sockaddr *)&mine, &len), 0);
    cio_socklen flen = sizeof from;
    cio_fd acc = (cio_fd)op_accept(loop, l, &from, &flen);
    CHECK(acc >= 0 && same4(&from, &mine));
    CHECK_EQ(name4(loop, acc, &via, 1), 0);
    CHECK(same4(&via, &mine));
    CHECK_EQ(set_int(loop, acc, SOL_SOCKET, SO_RCVBUF, 5000), 0);
    int v = 0;
    len = sizeof v;
    CHECK_EQ(getsockopt(acc, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
    CHECK_EQ(get_int(loop, acc, SOL_SOCKET, SO_RCVBUF), v);
    close(p);
    CHECK_EQ(op_close(loop, acc), 0);
    CHECK_EQ(op_close(loop, l), 0);
}

int main(void) {
    static answers real, sim;
    if (t_under_emulator()) {
        /* qemu-user translates socket calls its own way (a protocol it does
         * not know is EPROTONOSUPPORT, not the kernel's EINVAL): the
         * oracle would be qemu, not Linux. */
        puts("mock_net_real: skipped under the emulator");
        return 77;
    }
    cio_loop loop;
    t_loop_init(&loop, 64);
    CHECK(cio_loop_backend(&loop) != CIO_BACKEND_MOCK);
    program(&loop, &real);
    program_unix(&loop, &real);
    program_dual(&loop, &real);
    plain_peer(&loop);
    cio_backend_kind kind = cio_loop_backend(&loop);
    t_close(&loop);
    t_unsetenv("CIO_BACKEND"); /* it names the real one; the mock's loop names itself */
    t_unsetenv("CIO_MOCK_FAULTS");
    mock_loop(&loop, 3);
    program(&loop, &sim);
    program_unix(&loop, &sim);
    program_dual(&loop, &sim);
    mock_close(&loop, 0);
    CHECK_EQ(real.n, sim.n);
    int bad = 0;
    for (int i = 0; i < real.n; i++) {
        CHECK(strcmp(real.what[i], sim.what[i]) == 0);
        if (real.value[i] != sim.value[i]) {
            fprintf(stderr, "%s: %s %lld, mock %lld\n", real.what[i], cio_backend_name(kind),
                    real.value[i], sim.value[i]);
            bad++;
        }
    }
    CHECK_EQ(bad, 0);
    /* Some answers checked against Linux's documented ones, not only
     * between the two runs. */
    for (int i = 0; i < real.n; i++) {
        if (!strcmp(real.what[i], "get_int(loop, s, SOL_SOCKET, SO_RCVBUF)")) CHECK_EQ(real.value[i], 8192);
        if (!strcmp(real.what[i], "op_connect(loop, c2, &heldat, sizeof heldat)"))
            CHECK_EQ(real.value[i], -CIO_ECONNREFUSED);
        if (!strcmp(real.what[i], "op_bind(loop, t2, &at, sizeof at)")) CHECK_EQ(real.value[i], -CIO_EADDRINUSE);
    }
    printf("%d answers the same\n", real.n);
    return 0;
}
