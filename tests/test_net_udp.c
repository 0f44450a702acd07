/*
 * test_net_udp - UDP of cio/net.h: bind by string, send_to / recv_from
 * with cio_addr, the truncation flag, connected send and recv, options
 * and bad input. Oracle on the real backends: a plain UDP socket
 * (sendto/recvfrom, getsockname) on the other side; on the mock the other
 * side is a second simulated socket and the oracle is the test's bytes
 * and the addresses it chose.
 * CIO_TEST_PORTABLE CIO_TEST_SEEDS
 */
#include "test.h"

#include <stdbool.h>

#include "cio.h"

#if !defined(_WIN32)
#include <arpa/inet.h>
#include <netinet/in.h>
typedef socklen_t sock_len;
typedef int SOCKET_T;
#else
typedef int sock_len;
typedef SOCKET SOCKET_T;
#endif

static cio_loop L;
static bool MOCK;

typedef struct udp_job {
    cio_fd a;          /* cio's socket under test */
    cio_fd peer;       /* the other side: plain (real) or cio (mock) */
    cio_addr a_addr, peer_addr;
    int done;
} udp_job;

static intptr_t udp_task(void *arg) {
    udp_job *u = arg;
    char buf[2048];
    cio_addr from;
    bool cut = true;
    /* Peer -> a. */
    if (MOCK) {
        CHECK_EQ(cio_udp_send_to(u->peer, "ping", 4, &u->a_addr), 4);
    } else {
        CHECK_EQ(sendto((SOCKET_T)u->peer, "ping", 4, 0, &u->a_addr.u.sa, u->a_addr.len), 4);
    }
    CHECK_EQ(cio_udp_recv_from(u->a, buf, sizeof buf, &from, &cut), 4);
    CHECK(!cut);
    CHECK(memcmp(buf, "ping", 4) == 0);
    CHECK(cio_addr_equal(&from, &u->peer_addr));
    /* a -> peer: 1000 bytes, read whole by the oracle. */
    unsigned char big[1000];
    for (int i = 0; i < 1000; i++) big[i] = (unsigned char)(i * 7 + 3);
    CHECK_EQ(cio_udp_send_to(u->a, big, sizeof big, &from), 1000);
    if (MOCK) {
        CHECK_EQ(cio_udp_recv_from(u->peer, buf, sizeof buf, &from, &cut), 1000);
        CHECK(cio_addr_equal(&from, &u->a_addr));
    } else {
        struct sockaddr_storage ss;
        sock_len sl = sizeof ss;
        CHECK_EQ(recvfrom((SOCKET_T)u->peer, buf, sizeof buf, 0, (struct sockaddr *)&ss, &sl), 1000);
        cio_addr f;
        CHECK_EQ(cio_addr_from(&f, (struct sockaddr *)&ss, (cio_socklen)sl), 0);
        CHECK(cio_addr_equal(&f, &u->a_addr));
    }
    CHECK(memcmp(buf, big, 1000) == 0);
    /* A datagram longer than the buffer: cut, and said so. */
    if (MOCK)
        CHECK_EQ(cio_udp_send_to(u->peer, big, 1000, &u->a_addr), 1000);
    else
        CHECK_EQ(sendto((SOCKET_T)u->peer, (const char *)big, 1000, 0, &u->a_addr.u.sa, u->a_addr.len), 1000);
    CHECK_EQ(cio_udp_recv_from(u->a, buf, 10, NULL, &cut), 10);
    CHECK(cut);
    CHECK(memcmp(buf, big, 10) == 0);
    /* Connected: send and recv with the default peer. */
    CHECK_EQ(cio_udp_connect(u->a, &u->peer_addr), 0);
    cio_addr got;
    CHECK_EQ(cio_socket_peer_addr(&L, u->a, &got), 0);
    CHECK(cio_addr_equal(&got, &u->peer_addr));
    CHECK_EQ(cio_send(u->a, "conn", 4, 0), 4);
    if (MOCK)
        CHECK_EQ(cio_recv(u->peer, buf, sizeof buf, 0), 4);
    else
        CHECK_EQ(t_sys_recv(u->peer, buf, sizeof buf, 0), 4);
    CHECK(memcmp(buf, "conn", 4) == 0);
    if (MOCK)
        CHECK_EQ(cio_udp_send_to(u->peer, "back", 4, &u->a_addr), 4);
    else
        CHECK_EQ(sendto((SOCKET_T)u->peer, "back", 4, 0, &u->a_addr.u.sa, u->a_addr.len), 4);
    CHECK_EQ(cio_recv(u->a, buf, sizeof buf, 0), 4);
    CHECK(memcmp(buf, "back", 4) == 0);
    CHECK_EQ(cio_close(u->a), 0);
    if (MOCK) CHECK_EQ(cio_close(u->peer), 0);
    u->done = 1;
    return 0;
}

static void run_family(const char *bind_at) {
    udp_job u = {.done = 0};
    int r = cio_udp_bind(&L, bind_at, NULL, &u.a);
    if (r < 0 && bind_at[0] == '[') {
        printf("SKIP net_udp/%s: no IPv6 loopback here (%s)\n", bind_at, cio_strerror(r));
        return;
    }
    CHECK_EQ(r, 0);
    CHECK_EQ(cio_socket_local_addr(&L, u.a, &u.a_addr), 0);
    CHECK(cio_addr_port(&u.a_addr) > 0);
    int family = cio_addr_family(&u.a_addr);
    if (MOCK) {
        CHECK_EQ(cio_udp_bind(&L, family == AF_INET ? "127.0.0.1:0" : "[::1]:0", NULL, &u.peer), 0);
        CHECK_EQ(cio_socket_local_addr(&L, u.peer, &u.peer_addr), 0);
    } else {
        u.peer = t_sys_socket(family, SOCK_DGRAM, 0);
        CHECK(u.peer != T_FD_NONE);
        cio_addr any;
        CHECK_EQ(cio_addr_parse(&any, family == AF_INET ? "127.0.0.1:0" : "[::1]:0"), 0);
        CHECK_EQ(bind((SOCKET_T)u.peer, &any.u.sa, any.len), 0);
        struct sockaddr_storage ss;
        sock_len sl = sizeof ss;
        CHECK_EQ(getsockname((SOCKET_T)u.peer, (struct sockaddr *)&ss, &sl), 0);
        CHECK_EQ(cio_addr_from(&u.peer_addr, (struct sockaddr *)&ss, (cio_socklen)sl), 0);
        /* The oracle's view of cio's socket: the same name. */
        sl = sizeof ss;
        CHECK_EQ(getsockname((SOCKET_T)u.a, (struct sockaddr *)&ss, &sl), 0);
        cio_addr o;
        CHECK_EQ(cio_addr_from(&o, (struct sockaddr *)&ss, (cio_socklen)sl), 0);
        CHECK(cio_addr_equal(&o, &u.a_addr));
#if !defined(_WIN32)
        CHECK(fcntl(u.a, F_GETFD) & FD_CLOEXEC);
        int v = 1, vl = sizeof v;
        CHECK_EQ(t_getsockopt(u.a, SOL_SOCKET, SO_REUSEADDR, &v, &vl), 0);
        CHECK_EQ(v, 0); /* no SO_REUSEADDR on UDP (net.h) */
#endif
    }
    CHECK_EQ(cio_task_spawn(&L, udp_task, &u, NULL, NULL), 0);
    t_run(&L, 20);
    CHECK(u.done);
    if (!MOCK) t_close_handle(u.peer);
}

int main(void) {
    t_loop_init(&L, 64);
    MOCK = cio_loop_backend(&L) == CIO_BACKEND_MOCK;
    run_family("127.0.0.1:0");
    run_family("[::1]:0");
    cio_fd fd;
    CHECK_EQ(cio_udp_bind(&L, "127.0.0.1", NULL, &fd), -CIO_EINVAL);
    CHECK_EQ(cio_udp_bind(&L, "/tmp/x.sock", NULL, &fd), -CIO_EINVAL);
    CHECK_EQ(cio_udp_bind(&L, "127.0.0.1:0", NULL, NULL), -CIO_EINVAL);
    cio_addr a;
    CHECK_EQ(cio_addr_parse(&a, "127.0.0.1:9"), 0);
    CHECK_EQ(cio_udp_send_to(0, "x", 1, &a), -CIO_EPERM);
    CHECK_EQ(cio_udp_send_to(0, "x", 1, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_udp_recv_from(0, NULL, 5, NULL, NULL), -CIO_EINVAL);
    /* Two binds of one port without reuseport: in use; with reuseport on both: shared (where it exists). */
    cio_fd b1, b2;
    CHECK_EQ(cio_udp_bind(&L, "127.0.0.1:0", NULL, &b1), 0);
    char at[64];
    CHECK_EQ(cio_socket_local_addr(&L, b1, &a), 0);
    CHECK(cio_addr_format(&a, at, sizeof at) > 0);
    CHECK_EQ(cio_udp_bind(&L, at, NULL, &b2), -CIO_EADDRINUSE);
    t_op t;
    cio_prep_close(&t.op, b1);
    t_arm(&t);
    CHECK_EQ(cio_submit(&L, &t.op), 0);
    t_run(&L, 10);
    cio_listen_options o = {0};
    o.reuseport = true;
    int r = cio_udp_bind(&L, "127.0.0.1:0", &o, &b1);
#if !defined(SO_REUSEPORT)
    if (1) {
        CHECK_EQ(r, -CIO_ENOTSUP); /* Windows: no SO_REUSEPORT (net.h) */
#else
    if (0) {
#endif
    } else {
        CHECK_EQ(r, 0);
        CHECK_EQ(cio_socket_local_addr(&L, b1, &a), 0);
        CHECK(cio_addr_format(&a, at, sizeof at) > 0);
        CHECK_EQ(cio_udp_bind(&L, at, &o, &b2), 0);
        cio_prep_close(&t.op, b1);
        t_arm(&t);
        CHECK_EQ(cio_submit(&L, &t.op), 0);
        t_run(&L, 10);
        cio_prep_close(&t.op, b2);
        t_arm(&t);
        CHECK_EQ(cio_submit(&L, &t.op), 0);
        t_run(&L, 10);
    }
    t_close(&L);
    printf("ok\n");
    return 0;
}
