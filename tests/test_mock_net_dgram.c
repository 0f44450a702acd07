/*
 * test_mock_net_dgram - simulated datagram sockets on the mock backend
 * (cio/mock.h): UDP over the simulated loopback and AF_UNIX datagrams.
 * The oracles are the test's own: messages from its own generator, each
 * received whole, in its boundaries, with the sender's address that the
 * sender's getsockname gives; Linux's answers for truncation (MSG_TRUNC),
 * a full queue (UDP drops, AF_UNIX waits), ICMP's ECONNREFUSED on a
 * connected UDP socket, EDESTADDRREQ and EMSGSIZE. Runs once (CIO_TEST_ONCE).
 * CIO_TEST_PORTABLE (MSG_MORE, which Windows lacks, is asked for only where it exists).
 */
#include "net_util.h"

#define SEEDS 100
#define MSGS 200

/* Message k of sender i: its length and bytes, from the test's generator. */
static uint32_t msg_len(int i, int k) { return (uint32_t)((k * 7919 + i * 104729) % 1400); }
static unsigned char msg_byte(int i, int k, uint32_t at) { return byte_at((uint64_t)i << 40 | (uint64_t)k << 20 | at); }

/* Two senders on ephemeral ports and a receiver on a fixed one: every
 * message arrives whole, in order per sender (loopback keeps it), from
 * the address the sender's getsockname gives. */
static uint64_t exchange(uint64_t seed) {
    cio_loop loop;
    mock_loop(&loop, seed);
    cio_fd r = (cio_fd)op_socket(&loop, AF_INET, SOCK_DGRAM);
    struct sockaddr_in at = sin4("127.0.0.1", 9000);
    CHECK_EQ(op_bind(&loop, r, &at, sizeof at), 0);
    cio_fd s[2];
    uint16_t port[2];
    for (int i = 0; i < 2; i++) s[i] = (cio_fd)op_socket(&loop, AF_INET, SOCK_DGRAM);
    /* Sends from both in one batch each round, so that their order mixes. */
    static unsigned char out[2][1400];
    int next[2] = {0, 0};
    int sent = 0;
    for (int round = 0; round < MSGS; round++) {
        t_op t[2];
        cio_iovec iov[2];
        cio_msghdr msg[2];
        for (int i = 0; i < 2; i++) {
            uint32_t len = msg_len(i, round);
            for (uint32_t b = 0; b < len; b++) out[i][b] = msg_byte(i, round, b);
            iov[i] = (cio_iovec){.iov_base = out[i], .iov_len = len};
            cio_msg_init(&msg[i], &at, sizeof at, &iov[i], 1, NULL, 0);
            cio_prep_sendmsg(&t[i].op, s[i], &msg[i], 0);
            submit(&loop, &t[i]);
        }
        for (int i = 0; i < 2; i++) {
            run_until_done(&loop, &t[i]);
            CHECK_EQ(t[i].res, (int32_t)msg_len(i, round));
        }
        sent += 2;
        if (round == 0)
            for (int i = 0; i < 2; i++) port[i] = port_of(&loop, s[i]); /* the implicit bind */
        /* Receive what came, in order; a queue holds a few rounds only. */
        for (int k = 0; k < 2; k++) {
            static unsigned char in[1500];
            struct sockaddr_in from;
            cio_socklen flen = sizeof from;
            int mflags;
            int32_t n = op_recvfrom(&loop, r, in, sizeof in, 0, &from, &flen, &mflags);
            CHECK(n >= 0);
            CHECK(flen == sizeof from && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
            int i = ntohs(from.sin_port) == port[0] ? 0 : 1;
            CHECK_EQ(ntohs(from.sin_port), port[i]);
            CHECK_EQ(n, (int32_t)msg_len(i, next[i]));
            CHECK_EQ(mflags, 0);
            for (int32_t b = 0; b < n; b++) CHECK_EQ(in[b], msg_byte(i, next[i], (uint32_t)b));
            next[i]++;
        }
    }
    CHECK(port[0] != port[1] && port[0] >= 32768 && port[1] >= 32768);
    CHECK_EQ(next[0] + next[1], sent);
    uint64_t trace = cio_mock_trace(&loop);
    for (int i = 0; i < 2; i++) CHECK_EQ(op_close(&loop, s[i]), 0);
    CHECK_EQ(op_close(&loop, r), 0);
    mock_close(&loop, 0);
    return trace;
}

static void many_seeds(void) {
    double t0 = t_seconds();
    for (uint64_t seed = 1; seed <= SEEDS; seed++) exchange(seed);
    printf("udp: %d seeds x %d messages each way, %.3f s\n", SEEDS, 2 * MSGS, t_seconds() - t0);
    CHECK_EQ(exchange(5), exchange(5));
}

/* Truncation, peeking, sizes, addresses. */
static void boundaries(void) {
    cio_loop loop;
    mock_loop(&loop, 11);
    cio_fd a = (cio_fd)op_socket(&loop, AF_INET, SOCK_DGRAM), b = (cio_fd)op_socket(&loop, AF_INET, SOCK_DGRAM);
    struct sockaddr_in to = sin4("127.0.0.1", 9100);
    CHECK_EQ(op_bind(&loop, b, &to, sizeof to), 0);
    /* Unconnected, no address: EDESTADDRREQ; too long: EMSGSIZE. */
    CHECK_EQ(op_send(&loop, a, "x", 1, 0), -CIO_EDESTADDRREQ);
    static char big[65508];
    CHECK_EQ(op_sendto(&loop, a, big, sizeof big, 0, &to, sizeof to), -CIO_EMSGSIZE);
    CHECK_EQ(op_sendto(&loop, a, big, sizeof big - 1, 0, &to, sizeof to), 65507);
    CHECK_EQ(op_sendto(&loop, a, "", 0, 0, &to, sizeof to), 0);
    CHECK_EQ(op_sendto(&loop, a, "0123456789", 10, 0, &to, sizeof to), 10);
    CHECK_EQ(op_sendto(&loop, a, "abc", 3, 0, &to, sizeof to), 3);
    char buf[16];
    int mflags;
    /* The big one, cut: the rest is lost, MSG_TRUNC says so; with
     * MSG_TRUNC asked, the result is its full length. */
    CHECK_EQ(op_recvfrom(&loop, b, buf, 4, CIO_MSG_PEEK | CIO_MSG_TRUNC, NULL, NULL, &mflags), 65507);
    CHECK_EQ(mflags, CIO_MSG_TRUNC);
    CHECK_EQ(op_recvfrom(&loop, b, buf, 4, 0, NULL, NULL, &mflags), 4);
    CHECK_EQ(mflags, CIO_MSG_TRUNC);
    CHECK_EQ(op_recvfrom(&loop, b, buf, sizeof buf, 0, NULL, NULL, &mflags), 0); /* the empty one */
    CHECK_EQ(mflags, 0);
    memset(buf, 0, sizeof buf);
    CHECK_EQ(op_recv(&loop, b, buf, 4, CIO_MSG_PEEK), 4);
    CHECK(memcmp(buf, "0123", 4) == 0);
    CHECK_EQ(op_recv(&loop, b, buf, sizeof buf, CIO_MSG_WAITALL), 10); /* a message is whole */
    CHECK(memcmp(buf, "0123456789", 10) == 0);
    /* read(2) takes a datagram too; a short address buffer is cut. */
    t_op rd;
    cio_prep_read(&rd.op, b, buf, sizeof buf, CIO_OFFSET_CURRENT);
    CHECK_EQ(do_op(&loop, &rd), 3);
    CHECK_EQ(op_recv(&loop, b, buf, sizeof buf, CIO_MSG_DONTWAIT), -CIO_EAGAIN);
    CHECK_EQ(op_sendto(&loop, a, "z", 1, 0, &to, sizeof to), 1);
    char small[6];
    cio_socklen slen = sizeof small;
    CHECK_EQ(op_recvfrom(&loop, b, buf, sizeof buf, 0, small, &slen, NULL), 1);
    CHECK_EQ(slen, sizeof(struct sockaddr_in));
    /* Flags the mock does not simulate. */
#ifdef MSG_MORE
    CHECK_EQ(op_sendto(&loop, a, "x", 1, MSG_MORE, &to, sizeof to), -CIO_EINVAL);
#endif
    CHECK_EQ(op_recv(&loop, b, buf, 1, MSG_OOB), -CIO_EINVAL);
    /* Nobody at the address: an unconnected sender never knows. */
    struct sockaddr_in nobody = sin4("127.0.0.1", 9101), far_addr = sin4("192.0.2.1", 9);
    CHECK_EQ(op_sendto(&loop, a, "lost", 4, 0, &nobody, sizeof nobody), 4);
    CHECK_EQ(op_sendto(&loop, a, "x", 1, 0, &far_addr, sizeof far_addr), -CIO_ENETUNREACH);
    CHECK_EQ(op_recv(&loop, a, buf, 1, CIO_MSG_DONTWAIT), -CIO_EAGAIN);
    /* A parked recv sees a datagram that comes later. */
    t_op rv;
    cio_prep_recv(&rv.op, b, buf, sizeof buf, 0);
    submit(&loop, &rv);
    settle(&loop);
    CHECK_EQ(rv.finals, 0);
    CHECK_EQ(op_sendto(&loop, a, "late", 4, 0, &to, sizeof to), 4);
    run_until_done(&loop, &rv);
    CHECK_EQ(rv.res, 4);
    /* A multishot poll: a report per datagram that comes, none without. */
    t_op pl;
    cio_prep_poll(&pl.op, b, CIO_POLLIN);
    pl.op.flags |= CIO_F_MULTISHOT;
    submit(&loop, &pl);
    settle(&loop);
    CHECK_EQ(pl.mores, 0);
    for (int i = 1; i <= 3; i++) {
        CHECK_EQ(op_sendto(&loop, a, "p", 1, 0, &to, sizeof to), 1);
        settle(&loop);
        CHECK_EQ(pl.mores, i);
        settle(&loop);
        CHECK_EQ(pl.mores, i);
    }
    t_op cancel;
    cio_prep_cancel(&cancel.op, &pl.op);
    CHECK_EQ(do_op(&loop, &cancel), 0);
    run_until_done(&loop, &pl);
    CHECK(pl.finals == 1 && pl.res == -CIO_ECANCELED && pl.mores == 3);
    for (int i = 0; i < 3; i++) CHECK_EQ(op_recv(&loop, b, buf, sizeof buf, 0), 1);
    CHECK_EQ(op_close(&loop, a), 0);
    CHECK_EQ(op_close(&loop, b), 0);
    mock_close(&loop, 0);
}

/* Connected UDP sockets: the default peer, the filter, ICMP's refusal. */
static void connected(void) {
    cio_loop loop;
    mock_loop(&loop, 12);
    cio_fd a = (cio_fd)op_socket(&loop, AF_INET, SOCK_DGRAM), b = (cio_fd)op_socket(&loop, AF_INET, SOCK_DGRAM);
    cio_fd c = (cio_fd)op_socket(&loop, AF_INET, SOCK_DGRAM);
    struct sockaddr_in ab = sin4("127.0.0.1", 9200), bb = sin4("127.0.0.1", 9201), cb = sin4("127.0.0.1", 9202);
    CHECK_EQ(op_bind(&loop, a, &ab, sizeof ab), 0);
    CHECK_EQ(op_bind(&loop, b, &bb, sizeof bb), 0);
    CHECK_EQ(op_bind(&loop, c, &cb, sizeof cb), 0);
    CHECK_EQ(op_connect(&loop, a, &bb, sizeof bb), 0);
    struct sockaddr_in peer;
    cio_socklen len = sizeof peer;
    CHECK_EQ(cio_socket_peer(&loop, a, (struct sockaddr *)&peer, &len), 0);
    CHECK(memcmp(&peer, &bb, sizeof bb) == 0);
    CHECK_EQ(op_send(&loop, a, "hi", 2, 0), 2);
    char buf[8];
    struct sockaddr_in from;
    cio_socklen flen = sizeof from;
    CHECK_EQ(op_recvfrom(&loop, b, buf, sizeof buf, 0, &from, &flen, NULL), 2);
    CHECK(memcmp(&from, &ab, sizeof ab) == 0);
    /* a takes only its peer's datagrams: c's is dropped. */
    CHECK_EQ(op_sendto(&loop, c, "no", 2, 0, &ab, sizeof ab), 2);
    CHECK_EQ(op_sendto(&loop, b, "yes", 3, 0, &ab, sizeof ab), 3);
    CHECK_EQ(op_recv(&loop, a, buf, sizeof buf, 0), 3);
    CHECK_EQ(op_recv(&loop, a, buf, sizeof buf, CIO_MSG_DONTWAIT), -CIO_EAGAIN);
    /* The peer goes: the next send succeeds, a parked recv then fails with
     * ECONNREFUSED (ICMP port unreachable), once; SO_ERROR reads it too. */
    CHECK_EQ(op_close(&loop, b), 0);
    t_op rv;
    cio_prep_recv(&rv.op, a, buf, sizeof buf, 0);
    submit(&loop, &rv);
    settle(&loop);
    CHECK_EQ(op_send(&loop, a, "gone", 4, 0), 4);
    run_until_done(&loop, &rv);
    CHECK_EQ(rv.res, -CIO_ECONNREFUSED);
    CHECK_EQ(op_send(&loop, a, "gone", 4, 0), 4);
    t_op pl;
    cio_prep_poll(&pl.op, a, CIO_POLLIN);
    CHECK_EQ(do_op(&loop, &pl), (int32_t)CIO_POLLERR);
    CHECK_EQ(get_int(&loop, a, SOL_SOCKET, SO_ERROR), CIO_ECONNREFUSED);
    CHECK_EQ(get_int(&loop, a, SOL_SOCKET, SO_ERROR), 0);
    /* AF_UNSPEC dissolves the association. */
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    CHECK_EQ(op_connect(&loop, a, &unspec, sizeof unspec), 0);
    len = sizeof peer;
    CHECK_EQ(cio_socket_peer(&loop, a, (struct sockaddr *)&peer, &len), -CIO_ENOTCONN);
    CHECK_EQ(op_send(&loop, a, "x", 1, 0), -CIO_EDESTADDRREQ);
    CHECK_EQ(op_close(&loop, a), 0);
    CHECK_EQ(op_close(&loop, c), 0);
    mock_close(&loop, 0);
}

/* Full queues: UDP drops beyond SO_RCVBUF, AF_UNIX makes its sender wait. */
static void full_queues(void) {
    cio_loop loop;
    mock_loop(&loop, 13);
    cio_fd a = (cio_fd)op_socket(&loop, AF_INET6, SOCK_DGRAM), b = (cio_fd)op_socket(&loop, AF_INET6, SOCK_DGRAM);
    struct sockaddr_in6 to = sin6("::1", 9300);
    CHECK_EQ(op_bind(&loop, b, &to, sizeof to), 0);
    CHECK_EQ(set_int(&loop, b, SOL_SOCKET, SO_RCVBUF, 4096), 0); /* 8192 */
    static char kb[1000];
    int sent = 0;
    for (int i = 0; i < 40; i++) {
        kb[0] = (char)i;
        CHECK_EQ(op_sendto(&loop, a, kb, sizeof kb, 0, &to, sizeof to), (int32_t)sizeof kb);
        sent++;
    }
    int got = 0;
    char buf[1000];
    for (int i = 0; i < 40; i++) {
        int32_t n = op_recv(&loop, b, buf, sizeof buf, CIO_MSG_DONTWAIT);
        if (n == -CIO_EAGAIN) break;
        CHECK_EQ(n, (int32_t)sizeof kb);
        CHECK_EQ(buf[0], (char)i); /* the first ones, in order */
        got++;
    }
    CHECK(got >= 6 && got <= 9); /* about 8192 bytes' worth */
    CHECK(got < sent);
    /* IPv4 to an IPv6 socket: from a v4-mapped address. */
    cio_fd v4 = (cio_fd)op_socket(&loop, AF_INET, SOCK_DGRAM);
    struct sockaddr_in6 any = sin6("::", 9301);
    CHECK_EQ(op_bind(&loop, a, &any, sizeof any), -CIO_EINVAL); /* bound by its first send */
    cio_fd a6 = (cio_fd)op_socket(&loop, AF_INET6, SOCK_DGRAM);
    CHECK_EQ(op_bind(&loop, a6, &any, sizeof any), 0);
    struct sockaddr_in to4 = sin4("127.0.0.1", 9301);
    CHECK_EQ(op_sendto(&loop, v4, "m", 1, 0, &to4, sizeof to4), 1);
    struct sockaddr_in6 from;
    cio_socklen flen = sizeof from;
    CHECK_EQ(op_recvfrom(&loop, a6, buf, sizeof buf, 0, &from, &flen, NULL), 1);
    struct sockaddr_in6 mapped = sin6("::ffff:127.0.0.1", port_of(&loop, v4));
    CHECK(flen == sizeof from && memcmp(&from, &mapped, sizeof from) == 0);

    /* AF_UNIX: ten datagrams queue (max_dgram_qlen), then a send waits
     * until a receive makes room, or fails with EAGAIN if it may not. */
    cio_socklen ulen;
    struct sockaddr_un un = sun_path("/tmp/dgram", &ulen);
    cio_fd ur = (cio_fd)op_socket(&loop, AF_UNIX, SOCK_DGRAM), us = (cio_fd)op_socket(&loop, AF_UNIX, SOCK_DGRAM);
    CHECK_EQ(op_bind(&loop, ur, &un, ulen), 0);
    CHECK_EQ(op_connect(&loop, us, &un, ulen), 0);
    int queued = 0;
    for (int i = 0; i < 20; i++) {
        int32_t n = op_send(&loop, us, "d", 1, CIO_MSG_DONTWAIT);
        if (n == -CIO_EAGAIN) break;
        CHECK_EQ(n, 1);
        queued++;
    }
    CHECK_EQ(queued, 11);
    t_op w, pl;
    cio_prep_poll(&pl.op, us, CIO_POLLOUT);
    submit(&loop, &pl);
    cio_prep_send(&w.op, us, "e", 1, 0);
    submit(&loop, &w);
    settle(&loop);
    CHECK(w.finals == 0 && pl.finals == 0);
    /* The sender is unnamed: the receiver gets no address. */
    cio_socklen fl = sizeof from;
    CHECK_EQ(op_recvfrom(&loop, ur, buf, sizeof buf, 0, &from, &fl, NULL), 1);
    CHECK_EQ(fl, 0);
    run_until_done(&loop, &w);
    CHECK_EQ(w.res, 1);
    run_until_done(&loop, &pl);
    /* The receiver goes: a waiting sender fails; the name is free. */
    cio_prep_send(&w.op, us, "f", 1, 0);
    submit(&loop, &w);
    settle(&loop);
    CHECK_EQ(w.finals, 0);
    CHECK_EQ(op_close(&loop, ur), 0);
    run_until_done(&loop, &w);
    CHECK_EQ(w.res, -CIO_ECONNREFUSED);
    cio_socklen nlen;
    struct sockaddr_un none = sun_path("/tmp/none", &nlen);
    CHECK_EQ(op_sendto(&loop, us, "g", 1, 0, &none, nlen), -CIO_ENOENT);
    cio_fd left[] = {a, b, a6, v4, us};
    for (unsigned i = 0; i < sizeof left / sizeof left[0]; i++) CHECK_EQ(op_close(&loop, left[i]), 0);
    mock_close(&loop, 0);
}

int main(void) {
    t_watchdog();
    t_unsetenv("CIO_BACKEND"); /* the options name the backend */
    t_unsetenv("CIO_MOCK_SEED");
    t_unsetenv("CIO_MOCK_FAULTS"); /* the answers checked are those of runs without faults */
    many_seeds();
    boundaries();
    connected();
    full_queues();
    printf("ok\n");
    return 0;
}
