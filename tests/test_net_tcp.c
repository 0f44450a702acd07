/*
 * test_net_tcp - TCP of cio/net.h: listen on an address string (outside
 * any task), accept with the peer's address, connect by address and by
 * "host:port" (happy eyeballs over localhost's two families), options,
 * names, shutdown, refused and timed-out connects, and bad input.
 *
 * Oracles: on the real backends the other end is plain socket calls in a
 * thread (connect/accept/send/recv), and the names and options are read
 * with plain getsockname/getsockopt/fcntl; the bytes are checked against
 * the test's own pattern. On the mock (CIO_BACKEND=mock) the simulated
 * handles answer no system call, so the peers are tasks and the oracle is
 * the byte pattern and the addresses the test chose; cases that need a
 * real kernel say so by name.
 * CIO_TEST_PORTABLE
 *
 * CIO_TEST_SEEDS_EXACT: it also runs under 1,000 mock seeds, without faults (tests/CMakeLists.txt).
 */
#include "test.h"

#include <stdbool.h>

#include "cio.h"

#if !defined(_WIN32)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#endif

static cio_loop L;
static bool MOCK;
static int cases_done;

static unsigned char pat(uint32_t i) { return (unsigned char)((i * 2654435761u) >> 11); }

static uint16_t port_of(cio_fd fd) {
    cio_addr a;
    CHECK_EQ(cio_socket_local_addr(&L, fd, &a), 0);
    int p = cio_addr_port(&a);
    CHECK(p > 0);
    return (uint16_t)p;
}

/* From outside a task: a close op, run until it completed. */
static void close_now(cio_fd fd) {
    t_op t;
    cio_prep_close(&t.op, fd);
    t_arm(&t);
    CHECK_EQ(cio_submit(&L, &t.op), 0);
    t_run(&L, 10);
    CHECK_EQ(t.finals, 1);
    CHECK_EQ(t.res, 0);
}

/* ---- plain-socket peers (real backends) ---- */

typedef struct peer_job {
    uint16_t port;
    int family;
    uint32_t len;      /* bytes to send, then SHUT_WR */
    uint32_t got;      /* bytes echoed back, checked against the pattern */
    uint16_t my_port;  /* the client's own port (getsockname) */
    int err;
    cio_fd listener;   /* server mode: a plain listener */
} peer_job;

#if defined(_WIN32)
typedef int sock_len;
typedef SOCKET SOCKET_T;
#define SHUT_WR_T SD_SEND
#else
typedef socklen_t sock_len;
typedef int SOCKET_T;
#define SHUT_WR_T SHUT_WR
#endif

static void loop_addr(struct sockaddr_storage *ss, sock_len *len, int family, uint16_t port) {
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)ss;
        s->sin_family = AF_INET;
        s->sin_port = htons(port);
        s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *s;
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(port);
        s->sin6_addr = in6addr_loopback;
        *len = sizeof *s;
    }
}

/* Client: connect, send len bytes of the pattern, shut down writing, read the echo to EOF. */
static void *echo_client(void *arg) {
    peer_job *j = arg;
    cio_fd s = t_sys_socket(j->family, SOCK_STREAM, 0);
    CHECK(s != T_FD_NONE);
    struct sockaddr_storage ss;
    sock_len len;
    loop_addr(&ss, &len, j->family, j->port);
    CHECK_EQ(connect((SOCKET_T)s, (struct sockaddr *)&ss, len), 0);
    struct sockaddr_storage me;
    sock_len ml = sizeof me;
    CHECK_EQ(getsockname((SOCKET_T)s, (struct sockaddr *)&me, &ml), 0);
    j->my_port = ntohs(((struct sockaddr_in *)&me)->sin_port); /* same offset in sockaddr_in6 */
    unsigned char buf[8192];
    uint32_t sent = 0;
    while (sent < j->len) {
        uint32_t n = j->len - sent < sizeof buf ? j->len - sent : (uint32_t)sizeof buf;
        for (uint32_t i = 0; i < n; i++) buf[i] = pat(sent + i);
        long long w = t_sys_send(s, buf, n, 0);
        CHECK(w > 0);
        sent += (uint32_t)w;
    }
    CHECK_EQ(shutdown((SOCKET_T)s, SHUT_WR_T), 0);
    for (;;) {
        long long r = t_sys_recv(s, buf, sizeof buf, 0);
        CHECK(r >= 0);
        if (r == 0) break;
        for (long long i = 0; i < r; i++) CHECK_EQ(buf[i], pat(j->got + (uint32_t)i));
        j->got += (uint32_t)r;
    }
    t_close_handle(s);
    return NULL;
}

/* Server: accept one connection on a plain listener, echo until EOF. */
static void *echo_server(void *arg) {
    peer_job *j = arg;
    SOCKET_T c = accept((SOCKET_T)j->listener, NULL, NULL);
    CHECK(c != (SOCKET_T)T_FD_NONE);
    unsigned char buf[8192];
    for (;;) {
        long long r = t_sys_recv((cio_fd)c, buf, sizeof buf, 0);
        CHECK(r >= 0);
        if (r == 0) break;
        for (long long i = 0; i < r; i++) CHECK_EQ(buf[i], pat(j->got + (uint32_t)i));
        j->got += (uint32_t)r;
        CHECK_EQ(t_sys_send((cio_fd)c, buf, (size_t)r, 0), r);
    }
    t_close_handle((cio_fd)c);
    return NULL;
}

static cio_fd plain_listener(int family, uint16_t *port) {
    cio_fd l = t_sys_socket(family, SOCK_STREAM, 0);
    CHECK(l != T_FD_NONE);
    struct sockaddr_storage ss;
    sock_len len;
    loop_addr(&ss, &len, family, 0);
    CHECK_EQ(bind((SOCKET_T)l, (struct sockaddr *)&ss, len), 0);
    CHECK_EQ(listen((SOCKET_T)l, 8), 0);
    sock_len ol = sizeof ss;
    CHECK_EQ(getsockname((SOCKET_T)l, (struct sockaddr *)&ss, &ol), 0);
    *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return l;
}

/* ---- cio's side ---- */

/* Echo everything on `fd` until EOF, then close. */
static intptr_t echo_fd(cio_fd fd) {
    char buf[4096];
    int32_t n;
    while ((n = cio_recv(fd, buf, sizeof buf, 0)) > 0) {
        int32_t off = 0;
        while (off < n) {
            int32_t w = cio_send(fd, buf + off, (uint32_t)(n - off), 0);
            CHECK(w > 0);
            off += w;
        }
    }
    CHECK_EQ(n, 0);
    CHECK_EQ(cio_close(fd), 0);
    return 0;
}

/* Sends `len` bytes of the pattern, shuts down writing, reads the echo back. */
static void talk(cio_fd fd, uint32_t len) {
    char buf[4096];
    uint32_t sent = 0, got = 0;
    while (sent < len) {
        uint32_t n = len - sent < sizeof buf ? len - sent : (uint32_t)sizeof buf;
        for (uint32_t i = 0; i < n; i++) buf[i] = (char)pat(sent + i);
        uint32_t off = 0;
        while (off < n) {
            int32_t w = cio_send(fd, buf + off, n - off, 0);
            CHECK(w > 0);
            off += (uint32_t)w;
        }
        sent += n;
        /* Read what came back meanwhile so that neither side's buffers fill. */
        while (got < sent) {
            int32_t r = cio_recv(fd, buf, sizeof buf, 0);
            CHECK(r > 0);
            for (int32_t i = 0; i < r; i++) CHECK_EQ((unsigned char)buf[i], pat(got + (uint32_t)i));
            got += (uint32_t)r;
        }
    }
    CHECK_EQ(cio_shutdown(fd, CIO_SHUT_WR), 0);
    CHECK_EQ(cio_recv(fd, buf, sizeof buf, 0), 0);
    CHECK_EQ(got, len);
}

typedef struct accept_job {
    cio_fd ls;
    cio_addr peer;
    int n; /* connections to serve */
} accept_job;

static intptr_t acceptor(void *arg) {
    accept_job *a = arg;
    for (int i = 0; i < a->n; i++) {
        cio_fd c;
        CHECK_EQ(cio_tcp_accept(a->ls, &c, &a->peer), 0);
        echo_fd(c);
    }
    return 0;
}

static void spawn(cio_task_fn fn, void *arg) { CHECK_EQ(cio_task_spawn(&L, fn, arg, NULL, NULL), 0); }

/* ---- cases ---- */

static void case_listen_names(void) {
    cio_fd ls;
    CHECK_EQ(cio_tcp_listen(&L, "127.0.0.1:0", NULL, &ls), 0);
    cio_addr a;
    CHECK_EQ(cio_socket_local_addr(&L, ls, &a), 0);
    char text[CIO_ADDR_STRLEN];
    CHECK(cio_addr_format(&a, text, sizeof text) > 0);
    CHECK(strncmp(text, "127.0.0.1:", 10) == 0);
    CHECK(cio_addr_port(&a) > 0);
    CHECK_EQ(cio_socket_peer_addr(&L, ls, &a), -CIO_ENOTCONN);
    if (!MOCK) {
        struct sockaddr_in sin;
        sock_len sl = sizeof sin;
        CHECK_EQ(getsockname((SOCKET_T)ls, (struct sockaddr *)&sin, &sl), 0);
        CHECK_EQ(ntohs(sin.sin_port), port_of(ls));
        int v = 0, vl = sizeof v;
        CHECK_EQ(t_getsockopt(ls, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl), 0);
        CHECK(v != 0);
#if defined(_WIN32)
        v = 0;
        vl = sizeof v;
        CHECK_EQ(t_getsockopt(ls, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, &v, &vl), 0);
        CHECK(v != 0);
#else
        v = 0;
        vl = sizeof v;
        CHECK_EQ(t_getsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &v, &vl), 0);
        CHECK(v != 0);
        CHECK(fcntl(ls, F_GETFD) & FD_CLOEXEC);
#endif
    } else {
        int v = 0;
        cio_socklen vl = sizeof v;
        CHECK_EQ(cio_socket_get_option(&L, ls, SOL_SOCKET, SO_REUSEADDR, &v, &vl), 0);
        CHECK_EQ(v, 1);
    }
    /* The same address again, no reuseport: in use. A listener's port
     * stays taken even with SO_REUSEADDR on both, as Linux has it. */
    char again[64];
    snprintf(again, sizeof again, "127.0.0.1:%u", port_of(ls));
    cio_fd l2 = CIO_FD_INVALID;
    CHECK_EQ(cio_tcp_listen(&L, again, NULL, &l2), -CIO_EADDRINUSE);
    CHECK(l2 == CIO_FD_INVALID);
    close_now(ls);
    cases_done++;
}

static void case_bad_input(void) {
    cio_fd fd = CIO_FD_INVALID;
    const char *bads[] = {"", "127.0.0.1", "localhost:80", "nonsense", "[::1]", "127.0.0.1:65536"};
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) CHECK_EQ(cio_tcp_listen(&L, bads[i], NULL, &fd), -CIO_EINVAL);
    CHECK_EQ(cio_tcp_listen(&L, "/tmp/cio-not-tcp.sock", NULL, &fd), -CIO_EINVAL);
    CHECK_EQ(cio_tcp_listen(&L, NULL, NULL, &fd), -CIO_EINVAL);
    CHECK_EQ(cio_tcp_listen(&L, "127.0.0.1:0", NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_tcp_listen(NULL, "127.0.0.1:0", NULL, &fd), -CIO_EINVAL);
    cio_listen_options o = {0};
    o.reserved_[2] = 1;
    CHECK_EQ(cio_tcp_listen(&L, "127.0.0.1:0", &o, &fd), -CIO_EINVAL);
    o.reserved_[2] = 0;
    o.backlog = -1;
    CHECK_EQ(cio_tcp_listen(&L, "127.0.0.1:0", &o, &fd), -CIO_EINVAL);
    CHECK(fd == CIO_FD_INVALID);
    /* Outside a task the blocking calls refuse. */
    cio_addr a;
    CHECK_EQ(cio_addr_parse(&a, "127.0.0.1:1"), 0);
    CHECK_EQ(cio_tcp_accept(CIO_FD_INVALID, &fd, NULL), -CIO_EPERM);
    CHECK_EQ(cio_tcp_connect_addr(&a, 0, &fd), -CIO_EPERM);
    CHECK_EQ(cio_tcp_connect("127.0.0.1:1", 0, &fd, NULL), -CIO_EPERM);
    CHECK_EQ(cio_tcp_connect_addr(NULL, 0, &fd), -CIO_EINVAL);
    cio_addr un;
    CHECK_EQ(cio_addr_parse(&un, "/tmp/x.sock"), 0);
    CHECK_EQ(cio_tcp_connect_addr(&un, 0, &fd), -CIO_EAFNOSUPPORT);
    cases_done++;
}

/* A cio server, a plain client thread: the bytes come back, the peer's
 * address is the client's own name. */
static void case_accept_plain_client(void) {
    if (MOCK) {
        printf("SKIP net_tcp.mock/accept_plain_client: the peer is a plain socket\n");
        return;
    }
    cio_fd ls;
    CHECK_EQ(cio_tcp_listen(&L, "127.0.0.1:0", NULL, &ls), 0);
    accept_job aj = {.ls = ls, .n = 1};
    spawn(acceptor, &aj);
    peer_job pj = {.port = port_of(ls), .family = AF_INET, .len = 300000};
    t_thread th;
    CHECK_EQ(t_thread_start(&th, echo_client, &pj), 0);
    t_run(&L, 30);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(pj.got, pj.len);
    CHECK_EQ(cio_addr_family(&aj.peer), AF_INET);
    CHECK_EQ(cio_addr_port(&aj.peer), pj.my_port);
    CHECK_EQ(ntohl(aj.peer.u.in4.sin_addr.s_addr), INADDR_LOOPBACK);
    close_now(ls);
    cases_done++;
}

typedef struct client_job {
    const char *name; /* connect by name, else by addr */
    cio_addr addr;
    uint32_t len;
    cio_addr reached;
    int expect;
    uint64_t deadline_ns; /* relative */
    int done;
} client_job;

static intptr_t client(void *arg) {
    client_job *c = arg;
    cio_fd fd = CIO_FD_INVALID;
    uint64_t dl = c->deadline_ns ? cio_now(&L) + c->deadline_ns : 0;
    int r = c->name ? cio_tcp_connect(c->name, dl, &fd, &c->reached) : cio_tcp_connect_addr(&c->addr, dl, &fd);
    if (r != c->expect) fprintf(stderr, "connect %s: %d (%s), want %d\n", c->name ? c->name : "(addr)", r, cio_strerror(r), c->expect);
    CHECK_EQ(r, c->expect);
    if (r < 0) {
        CHECK(fd == CIO_FD_INVALID);
        c->done = 1;
        return 0;
    }
    cio_addr peer;
    CHECK_EQ(cio_socket_peer_addr(&L, fd, &peer), 0);
    if (!c->name) CHECK(cio_addr_equal(&peer, &c->addr));
    if (c->name) CHECK(cio_addr_equal(&peer, &c->reached));
    CHECK_EQ(cio_tcp_set_nodelay(&L, fd, true), 0);
    CHECK_EQ(cio_tcp_set_keepalive(&L, fd, true, 30), 0);
    if (!MOCK) {
        int v = 0, vl = sizeof v;
        CHECK_EQ(t_getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
        CHECK(v != 0);
        v = 0;
        vl = sizeof v;
        CHECK_EQ(t_getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &vl), 0);
        CHECK(v != 0);
#if defined(TCP_KEEPIDLE) && !defined(_WIN32)
        v = 0;
        vl = sizeof v;
        CHECK_EQ(t_getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &vl), 0);
        CHECK_EQ(v, 30);
#endif
        CHECK_EQ(cio_tcp_set_nodelay(&L, fd, false), 0);
        v = 1;
        vl = sizeof v;
        CHECK_EQ(t_getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
        CHECK_EQ(v, 0);
#if !defined(_WIN32)
        CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
#endif
    }
    talk(fd, c->len);
    CHECK_EQ(cio_close(fd), 0);
    c->done = 1;
    return 0;
}

/* cio client by address, a plain echo server thread. */
static void case_connect_addr_plain_server(void) {
    if (MOCK) {
        printf("SKIP net_tcp.mock/connect_addr_plain_server: the peer is a plain socket\n");
        return;
    }
    peer_job pj = {.family = AF_INET};
    uint16_t port;
    pj.listener = plain_listener(AF_INET, &port);
    t_thread th;
    CHECK_EQ(t_thread_start(&th, echo_server, &pj), 0);
    client_job cj = {.len = 200000, .expect = 0};
    char text[64];
    snprintf(text, sizeof text, "127.0.0.1:%u", port);
    CHECK_EQ(cio_addr_parse(&cj.addr, text), 0);
    spawn(client, &cj);
    t_run(&L, 30);
    CHECK(cj.done);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(pj.got, cj.len);
    t_close_handle(pj.listener);
    cases_done++;
}

/* cio on both sides, by name: "127.0.0.1:p" and "localhost:p". */
static void case_connect_name(void) {
    cio_fd ls;
    CHECK_EQ(cio_tcp_listen(&L, "127.0.0.1:0", NULL, &ls), 0);
    accept_job aj = {.ls = ls, .n = 2};
    spawn(acceptor, &aj);
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "127.0.0.1:%u", port_of(ls));
    snprintf(n2, sizeof n2, "localhost:%u", port_of(ls));
    client_job c1 = {.name = n1, .len = 50000, .expect = 0};
    client_job c2 = {.name = n2, .len = 50000, .expect = 0};
    spawn(client, &c1);
    spawn(client, &c2);
    t_run(&L, 30);
    CHECK(c1.done && c2.done);
    char text[CIO_ADDR_STRLEN];
    CHECK(cio_addr_format(&c1.reached, text, sizeof text) > 0);
    CHECK(strcmp(text, n1) == 0);
    /* localhost tries 127.0.0.1 first (net.h), where the listener is. */
    CHECK(cio_addr_format(&c2.reached, text, sizeof text) > 0);
    CHECK(strcmp(text, n1) == 0);
    close_now(ls);
    cases_done++;
}

/* Nobody listens: refused, by address and by name; a bad name string. */
static void case_refused(void) {
    cio_fd ls;
    CHECK_EQ(cio_tcp_listen(&L, "127.0.0.1:0", NULL, &ls), 0);
    uint16_t port = port_of(ls);
    close_now(ls); /* the port is free again (no TIME_WAIT for a listener that never connected) */
    char n[64];
    snprintf(n, sizeof n, "127.0.0.1:%u", port);
    client_job c1 = {.expect = -CIO_ECONNREFUSED};
    CHECK_EQ(cio_addr_parse(&c1.addr, n), 0);
    client_job c2 = {.name = n, .expect = -CIO_ECONNREFUSED};
    client_job c3 = {.name = "127.0.0.1", .expect = -CIO_EINVAL};
    client_job c4 = {.name = "[::1]:99999", .expect = -CIO_EINVAL};
    spawn(client, &c1);
    spawn(client, &c2);
    spawn(client, &c3);
    spawn(client, &c4);
    t_run(&L, 30);
    CHECK(c1.done && c2.done && c3.done && c4.done);
    cases_done++;
}

/* A dual-stack listener on [::]: an IPv4 client comes in v4-mapped. */
static bool have_ipv6(void) {
    cio_fd s;
    if (cio_tcp_listen(&L, "[::1]:0", NULL, &s) < 0) return false;
    close_now(s);
    return true;
}

static void case_dual_stack(void) {
    if (!have_ipv6()) {
        printf("SKIP net_tcp/dual_stack: no IPv6 loopback here\n");
        return;
    }
    cio_fd ls;
    CHECK_EQ(cio_tcp_listen(&L, "[::]:0", NULL, &ls), 0);
    accept_job aj = {.ls = ls, .n = 1};
    spawn(acceptor, &aj);
    char n[64];
    snprintf(n, sizeof n, "127.0.0.1:%u", port_of(ls));
    client_job c = {.name = n, .len = 1000, .expect = 0};
    spawn(client, &c);
    t_run(&L, 30);
    CHECK(c.done);
    CHECK_EQ(cio_addr_family(&aj.peer), AF_INET6);
    char text[CIO_ADDR_STRLEN];
    CHECK(cio_addr_format(&aj.peer, text, sizeof text) > 0);
    CHECK(strncmp(text, "[::ffff:127.0.0.1]:", 19) == 0);
    close_now(ls);
    /* v6only: the IPv4 client is refused. */
    cio_listen_options o = {0};
    o.v6only = true;
    CHECK_EQ(cio_tcp_listen(&L, "[::]:0", &o, &ls), 0);
    snprintf(n, sizeof n, "127.0.0.1:%u", port_of(ls));
    client_job c2 = {.name = n, .expect = -CIO_ECONNREFUSED};
    spawn(client, &c2);
    t_run(&L, 30);
    CHECK(c2.done);
    close_now(ls);
    cases_done++;
}

/* Happy eyeballs: localhost is 127.0.0.1 then ::1. With 127.0.0.1 refusing,
 * the ::1 attempt starts at once and wins. */
static void case_fallback_family(void) {
    if (!have_ipv6()) {
        printf("SKIP net_tcp/fallback_family: no IPv6 loopback here\n");
        return;
    }
    cio_listen_options o = {0};
    o.v6only = true;
    cio_fd ls;
    /* A port free on both families: try a few. */
    for (int i = 0;; i++) {
        CHECK(i < 50);
        CHECK_EQ(cio_tcp_listen(&L, "[::1]:0", &o, &ls), 0);
        cio_fd probe;
        char n4[64];
        snprintf(n4, sizeof n4, "127.0.0.1:%u", port_of(ls));
        if (cio_tcp_listen(&L, n4, NULL, &probe) == 0) {
            close_now(probe);
            break;
        }
        close_now(ls);
    }
    accept_job aj = {.ls = ls, .n = 1};
    spawn(acceptor, &aj);
    char n[64];
    snprintf(n, sizeof n, "localhost:%u", port_of(ls));
    client_job c = {.name = n, .len = 1000, .expect = 0};
    uint64_t t0 = t_now_ns();
    spawn(client, &c);
    t_run(&L, 30);
    CHECK(c.done);
    CHECK_EQ(cio_addr_family(&c.reached), AF_INET6);
    /* It did not wait for the stagger: a refused attempt starts the next at once. */
    if (!MOCK) CHECK(t_now_ns() - t0 < 5000000000ull);
    close_now(ls);
    cases_done++;
}


/* Elapsed time by the oracle: CLOCK_MONOTONIC on a real backend, the
 * virtual clock on the mock (where time jumps). */
static uint64_t now_ns(void) { return MOCK ? cio_now(&L) : t_now_ns(); }

typedef struct fill_job {
    cio_fd ls;
    cio_fd held[8];
    int nheld;
    int timed_out;
    uint64_t waited;
} fill_job;

/* Fills the accept queue of `ls` (listen backlog 0: one connection) with
 * connections nobody accepts, until a connect waits: it must then end by
 * its deadline, with -CIO_ETIMEDOUT, no sooner. */
static intptr_t filler(void *arg) {
    fill_job *f = arg;
    CHECK_EQ(cio_listen(f->ls, 0), 0);
    cio_addr a;
    CHECK_EQ(cio_socket_local_addr(&L, f->ls, &a), 0);
    for (int i = 0; i < 8 && !f->timed_out; i++) {
        cio_fd fd;
        uint64_t t0 = now_ns();
        int r = cio_tcp_connect_addr(&a, cio_now(&L) + 300 * 1000000ull, &fd);
        if (r == 0) {
            f->held[f->nheld++] = fd;
            continue;
        }
        CHECK_EQ(r, -CIO_ETIMEDOUT);
        f->waited = now_ns() - t0;
        f->timed_out = 1;
    }
    return 0;
}

static intptr_t release(void *arg) {
    fill_job *f = arg;
    for (int i = 0; i < f->nheld; i++) CHECK_EQ(cio_close(f->held[i]), 0);
    return 0;
}


typedef struct creq {
    cio_connect_req req;
    int calls;
} creq;

static void on_connected(cio_loop *loop, cio_connect_req *req) {
    (void)loop;
    ((creq *)req)->calls++;
}

typedef struct hang_job {
    const char *name;
    int32_t res;
    int finished;
} hang_job;

static intptr_t hanging_client(void *arg) {
    hang_job *h = arg;
    cio_fd fd = CIO_FD_INVALID;
    h->res = cio_tcp_connect(h->name, 0, &fd, NULL);
    CHECK(fd == CIO_FD_INVALID);
    h->finished = 1;
    return 0;
}

/* The request forms end at once while an attempt hangs: a cancel of the
 * callback form, and the cancel of a task blocked in cio_tcp_connect. The
 * attempt's socket is closed by cio behind them (the handle count, the
 * oracle on the real backends, comes back). */
static void cancel_hanging(const char *n4) {
    int handles = MOCK ? 0 : t_handle_count();
    creq c;
    memset(&c, 0, sizeof c);
    c.req.cb = on_connected;
    CHECK_EQ(cio_tcp_connect_start(&L, &c.req, n4, 0), 0);
    /* Let the attempt start and hang. */
    for (int i = 0; i < 20; i++) CHECK(cio_loop_run(&L, CIO_RUN_NOWAIT) >= 0);
    CHECK_EQ(c.calls, 0);
    CHECK_EQ(cio_tcp_connect_cancel(&c.req), 0);
    CHECK_EQ(cio_tcp_connect_cancel(&c.req), -CIO_EALREADY);
    while (!c.calls) CHECK(cio_loop_run(&L, CIO_RUN_ONCE) >= 0);
    CHECK_EQ(c.calls, 1);
    CHECK_EQ(c.req.res, -CIO_ECANCELED);
    CHECK(c.req.fd == CIO_FD_INVALID);
    CHECK_EQ(cio_tcp_connect_cancel(&c.req), -CIO_ENOENT);
    t_run(&L, 30);
    CHECK_EQ(c.calls, 1);

    hang_job h = {.name = n4};
    cio_task *task;
    cio_task_options o = {.detached = true};
    CHECK_EQ(cio_task_spawn(&L, hanging_client, &h, &o, &task), 0);
    for (int i = 0; i < 20; i++) CHECK(cio_loop_run(&L, CIO_RUN_NOWAIT) >= 0);
    CHECK(!h.finished);
    CHECK_EQ(cio_task_cancel(task), 0);
    while (!h.finished) CHECK(cio_loop_run(&L, CIO_RUN_ONCE) >= 0);
    CHECK_EQ(h.res, -CIO_ECANCELED);
    t_run(&L, 30);
    if (!MOCK) CHECK_EQ(t_handle_count(), handles);
}

/* Happy eyeballs' stagger and the connect deadline: 127.0.0.1:p does not
 * answer (a full accept queue drops the SYN), [::1]:p does. "localhost:p"
 * tries 127.0.0.1 first, starts ::1 after CIO_CONNECT_STAGGER_NS, and
 * that one wins. */
static void case_stagger_deadline(void) {
    if (!have_ipv6()) {
        printf("SKIP net_tcp/stagger_deadline: no IPv6 loopback here\n");
        return;
    }
    cio_fd l4 = CIO_FD_INVALID, l6 = CIO_FD_INVALID;
    cio_listen_options o = {0};
    o.v6only = true;
    for (int i = 0; i < 50 && l6 == CIO_FD_INVALID; i++) {
        CHECK_EQ(cio_tcp_listen(&L, "127.0.0.1:0", NULL, &l4), 0);
        char n6[64];
        snprintf(n6, sizeof n6, "[::1]:%u", port_of(l4));
        if (cio_tcp_listen(&L, n6, &o, &l6) < 0) {
            l6 = CIO_FD_INVALID;
            close_now(l4);
        }
    }
    CHECK(l6 != CIO_FD_INVALID);
    fill_job f = {.ls = l4};
    spawn(filler, &f);
    t_run(&L, 30);
    if (!f.timed_out) {
        /* Windows refuses (RST) at a full backlog instead of dropping the SYN. */
        printf("SKIP net_tcp/stagger_deadline: a full accept queue does not hold a connect here\n");
    } else {
        CHECK(f.waited >= 290 * 1000000ull);
        accept_job aj = {.ls = l6, .n = 1};
        spawn(acceptor, &aj);
        char n[64];
        snprintf(n, sizeof n, "localhost:%u", port_of(l4));
        client_job c = {.name = n, .len = 1000, .expect = 0};
        uint64_t t0 = now_ns();
        spawn(client, &c);
        t_run(&L, 30);
        CHECK(c.done);
        CHECK_EQ(cio_addr_family(&c.reached), AF_INET6);
        CHECK(now_ns() - t0 >= CIO_CONNECT_STAGGER_NS - 10 * 1000000ull);
        /* By name, with the only address hanging: the deadline ends it. */
        char n4[64];
        snprintf(n4, sizeof n4, "127.0.0.1:%u", port_of(l4));
        client_job c2 = {.name = n4, .expect = -CIO_ETIMEDOUT, .deadline_ns = 400 * 1000000ull};
        t0 = now_ns();
        spawn(client, &c2);
        t_run(&L, 30);
        CHECK(c2.done);
        CHECK(now_ns() - t0 >= 390 * 1000000ull);
        cancel_hanging(n4);
    }
    spawn(release, &f);
    t_run(&L, 30);
    close_now(l4);
    close_now(l6);
    cases_done++;
}

int main(void) {
    t_ignore_sigpipe();
    t_loop_init(&L, 64);
    MOCK = cio_loop_backend(&L) == CIO_BACKEND_MOCK;
    case_bad_input();
    case_listen_names();
    case_accept_plain_client();
    case_connect_addr_plain_server();
    case_connect_name();
    case_refused();
    case_dual_stack();
    case_fallback_family();
    case_stagger_deadline();
    t_close(&L);
    printf("ok (%d cases)\n", cases_done);
    return 0;
}
