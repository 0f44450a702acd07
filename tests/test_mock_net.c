/*
 * test_mock_net - simulated stream sockets on the mock backend: listeners
 * on simulated addresses, connect and accept, names and options
 * (cio/mock.h, cio/socket.h). The oracles are the test's own: a byte
 * stream from its own generator, checked byte for byte after an echo over
 * simulated connections under many seeds; the names each end reports,
 * compared with what the other end reports; completion counts (each op
 * exactly once, a multishot accept once per connection); and the answers
 * Linux gives (ECONNREFUSED, EADDRINUSE and SO_REUSEADDR's rules, Linux's
 * ephemeral port range, doubled SO_RCVBUF). It names its backend itself:
 * ctest runs it once (CIO_TEST_ONCE). CIO_TEST_PORTABLE: on Windows the
 * options Windows does not have (SO_DOMAIN, SO_PROTOCOL, SO_REUSEPORT,
 * TCP_MAXSEG) are not asked for.
 */
#include "net_util.h"

#define SEEDS 200
#define CLIENTS 3
#define TOTAL 20000 /* bytes per client and run, each way */

/* ---- an echo over simulated connections, under many seeds ---- */

typedef struct conn_run {
    struct echo_run *run;
    int i;           /* the client's number: its byte stream */
    cio_fd fd;       /* the client's socket */
    uint32_t sent, got;
    int writer_done;
} conn_run;

typedef struct echo_run {
    uint16_t port;                  /* the listener's */
    uint16_t client_port[CLIENTS];  /* as each client's getsockname says */
    uint16_t accepted_port[CLIENTS]; /* as accept's address says */
    uint16_t peer_port[CLIENTS];    /* as the accepted end's getpeername says */
    conn_run conns[CLIENTS];
    int accepted, clients_done, echoes_done;
    uint64_t echoed;
} echo_run;

static unsigned char stream_byte(int i, uint32_t k) { return byte_at((uint64_t)i * 1000003u + k); }

static intptr_t writer(void *arg) {
    conn_run *c = arg;
    static unsigned char chunk[CLIENTS][1500];
    unsigned char *buf = chunk[c->i];
    for (int n = 0; c->sent < TOTAL; n++) {
        CHECK(n < 100000);
        uint32_t len = 1 + (uint32_t)((n * 613 + c->i * 97) % 1500);
        if (len > TOTAL - c->sent) len = TOTAL - c->sent;
        for (uint32_t k = 0; k < len; k++) buf[k] = stream_byte(c->i, c->sent + k);
        int32_t r = cio_send(c->fd, buf, len, 0);
        CHECK(r > 0 && (uint32_t)r <= len);
        c->sent += (uint32_t)r;
    }
    CHECK_EQ(cio_shutdown(c->fd, CIO_SHUT_WR), 0);
    c->writer_done = 1;
    return 0;
}

/* A client: connects, checks its names, sends its stream (a writer task)
 * and reads the echo back byte for byte until end of file. */
static intptr_t client(void *arg) {
    conn_run *c = arg;
    cio_loop *loop = cio_task_loop();
    intptr_t fd = cio_socket(AF_INET, SOCK_STREAM | CIO_SOCK_CLOEXEC, 0);
    CHECK(fd >= CIO_MOCK_FD_BASE);
    c->fd = (cio_fd)fd;
    struct sockaddr_in to = sin4("127.0.0.1", c->run->port);
    CHECK_EQ(cio_connect(c->fd, SA(to), sizeof to), 0);
    struct sockaddr_in me, peer;
    cio_socklen len = sizeof me;
    CHECK_EQ(cio_socket_name(loop, c->fd, (struct sockaddr *)&me, &len), 0);
    CHECK_EQ(len, sizeof me);
    CHECK_EQ(me.sin_addr.s_addr, htonl(INADDR_LOOPBACK)); /* the source of a packet to 127.0.0.1 */
    c->run->client_port[c->i] = ntohs(me.sin_port);
    len = sizeof peer;
    CHECK_EQ(cio_socket_peer(loop, c->fd, (struct sockaddr *)&peer, &len), 0);
    CHECK(len == sizeof peer && memcmp(&peer, &to, sizeof to) == 0);
    CHECK_EQ(cio_task_spawn(loop, writer, c, NULL, NULL), 0);
    static unsigned char buf[CLIENTS][2000];
    for (int n = 0;; n++) {
        CHECK(n < 100000);
        uint32_t want = 1 + (uint32_t)((n * 331) % 2000);
        int32_t r = cio_recv(c->fd, buf[c->i], want, (n & 1) ? CIO_MSG_WAITALL : 0);
        CHECK(r >= 0 && (uint32_t)r <= want);
        if (r == 0) break;
        for (int32_t k = 0; k < r; k++) CHECK_EQ(buf[c->i][k], stream_byte(c->i, c->got + (uint32_t)k));
        c->got += (uint32_t)r;
    }
    CHECK(c->writer_done);
    CHECK_EQ(c->got, TOTAL);
    CHECK_EQ(cio_close(c->fd), 0);
    c->run->clients_done++;
    return 0;
}

typedef struct echo_arg {
    echo_run *run;
    cio_fd fd;
    unsigned char buf[1800];
} echo_arg;

static echo_arg echo_args[CLIENTS];

/* The server's side of one connection: what comes back goes out, until
 * end of file. */
static intptr_t echo(void *arg) {
    echo_arg *e = arg;
    for (int n = 0;; n++) {
        CHECK(n < 100000);
        int32_t r = (n % 3) ? cio_recv(e->fd, e->buf, sizeof e->buf, 0) : cio_read(e->fd, e->buf, sizeof e->buf, 0);
        CHECK(r >= 0);
        if (r == 0) break;
        for (int32_t done = 0, tries = 0; done < r; tries++) {
            CHECK(tries < 10000);
            int32_t w = cio_send(e->fd, e->buf + done, (uint32_t)(r - done), 0);
            CHECK(w > 0);
            done += w;
        }
        e->run->echoed += (uint32_t)r;
    }
    CHECK_EQ(cio_close(e->fd), 0);
    e->run->echoes_done++;
    return 0;
}

/* The server: a listener on 127.0.0.1 and an ephemeral port, the clients,
 * and an echo for each connection it accepts. */
static intptr_t server(void *arg) {
    echo_run *run = arg;
    cio_loop *loop = cio_task_loop();
    intptr_t l = cio_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(l >= CIO_MOCK_FD_BASE);
    CHECK_EQ(set_int(loop, (cio_fd)l, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    struct sockaddr_in any = sin4("127.0.0.1", 0);
    CHECK_EQ(cio_bind((cio_fd)l, SA(any), sizeof any), 0);
    CHECK_EQ(cio_listen((cio_fd)l, 2), 0);
    run->port = port_of(loop, (cio_fd)l);
    CHECK(run->port >= 32768 && run->port <= 60999); /* Linux's ephemeral range */
    for (int i = 0; i < CLIENTS; i++) {
        run->conns[i].run = run;
        run->conns[i].i = i;
        CHECK_EQ(cio_task_spawn(loop, client, &run->conns[i], NULL, NULL), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        struct sockaddr_in from, me, peer;
        cio_socklen len = sizeof from;
        intptr_t fd = cio_accept((cio_fd)l, (struct sockaddr *)&from, &len, CIO_SOCK_NONBLOCK);
        CHECK(fd >= CIO_MOCK_FD_BASE);
        CHECK_EQ(len, sizeof from);
        CHECK_EQ(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
        run->accepted_port[i] = ntohs(from.sin_port);
        len = sizeof me;
        CHECK_EQ(cio_socket_name(loop, (cio_fd)fd, (struct sockaddr *)&me, &len), 0);
        CHECK(me.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(me.sin_port) == run->port);
        len = sizeof peer;
        CHECK_EQ(cio_socket_peer(loop, (cio_fd)fd, (struct sockaddr *)&peer, &len), 0);
        CHECK(len == sizeof from && memcmp(&peer, &from, sizeof from) == 0);
        run->peer_port[i] = ntohs(peer.sin_port);
        CHECK_EQ(get_int(loop, (cio_fd)fd, SOL_SOCKET, SO_REUSEADDR), 1); /* taken from the listener */
        CHECK_EQ(get_int(loop, (cio_fd)fd, SOL_SOCKET, SO_ACCEPTCONN), 0);
        echo_args[i].run = run;
        echo_args[i].fd = (cio_fd)fd;
        CHECK_EQ(cio_task_spawn(loop, echo, &echo_args[i], NULL, NULL), 0);
        run->accepted++;
    }
    CHECK_EQ(cio_close((cio_fd)l), 0);
    return 0;
}

/* Whether the two lists of ports hold the same ports (each once). */
static int same_ports(const uint16_t *a, const uint16_t *b) {
    for (int i = 0; i < CLIENTS; i++) {
        int found = 0;
        for (int j = 0; j < CLIENTS; j++) found += a[i] == b[j];
        if (found != 1) return 0;
        for (int j = 0; j < i; j++)
            if (a[j] == a[i]) return 0;
    }
    return 1;
}

static echo_run runs[2];

static uint64_t echo_once(uint64_t seed, echo_run *run) {
    memset(run, 0, sizeof *run);
    cio_loop loop;
    mock_loop(&loop, seed);
    CHECK_EQ(cio_task_spawn(&loop, server, run, NULL, NULL), 0);
    t_run(&loop, 10.0);
    CHECK_EQ(run->accepted, CLIENTS);
    CHECK_EQ(run->clients_done, CLIENTS);
    CHECK_EQ(run->echoes_done, CLIENTS);
    CHECK_EQ(run->echoed, (uint64_t)CLIENTS * TOTAL);
    for (int i = 0; i < CLIENTS; i++) {
        CHECK_EQ(run->conns[i].sent, TOTAL);
        CHECK_EQ(run->conns[i].got, TOTAL);
    }
    /* What each client says its port is, the server saw, both ways. */
    CHECK(same_ports(run->client_port, run->accepted_port));
    CHECK(same_ports(run->client_port, run->peer_port));
    uint64_t trace = cio_mock_trace(&loop);
    mock_close(&loop, 0);
    return trace;
}

static void echo_many_seeds(void) {
    double t0 = t_seconds();
    for (uint64_t seed = 1; seed <= SEEDS; seed++) echo_once(seed, &runs[0]);
    printf("echo: %d seeds x %d clients x %d bytes, %.3f s\n", SEEDS, CLIENTS, TOTAL, t_seconds() - t0);
    uint64_t a = echo_once(77, &runs[0]), b = echo_once(77, &runs[1]);
    CHECK_EQ(a, b);
    CHECK(memcmp(runs[0].client_port, runs[1].client_port, sizeof runs[0].client_port) == 0);
    CHECK(echo_once(78, &runs[1]) != a);
}

/* ---- addresses: refused, in use, ephemeral ---- */

static void addresses(void) {
    cio_loop loop;
    mock_loop(&loop, 31);
    /* Nobody listens: refused; a bound socket that does not listen too. */
    cio_fd c = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    struct sockaddr_in to = sin4("127.0.0.1", 4000);
    CHECK_EQ(op_connect(&loop, c, &to, sizeof to), -CIO_ECONNREFUSED);
    cio_fd b = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    CHECK_EQ(op_bind(&loop, b, &to, sizeof to), 0);
    CHECK_EQ(op_connect(&loop, c, &to, sizeof to), -CIO_ECONNREFUSED);
    CHECK_EQ(op_bind(&loop, b, &to, sizeof to), -CIO_EINVAL); /* bound already */
    /* The same address again: in use; the wildcard overlaps it; another
     * loopback address does not; a UDP socket has its own ports. */
    cio_fd d = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    CHECK_EQ(op_bind(&loop, d, &to, sizeof to), -CIO_EADDRINUSE);
    struct sockaddr_in any = sin4("0.0.0.0", 4000), other = sin4("127.0.0.2", 4000);
    CHECK_EQ(op_bind(&loop, d, &any, sizeof any), -CIO_EADDRINUSE);
    CHECK_EQ(op_bind(&loop, d, &other, sizeof other), 0);
    cio_fd u = (cio_fd)op_socket(&loop, AF_INET, SOCK_DGRAM);
    CHECK_EQ(op_bind(&loop, u, &to, sizeof to), 0);
    /* IPv6: [::]:4000 takes IPv4 too (no V6ONLY): in use; with V6ONLY it
     * does not overlap 127.0.0.1. */
    cio_fd s6 = (cio_fd)op_socket(&loop, AF_INET6, SOCK_STREAM);
    struct sockaddr_in6 any6 = sin6("::", 4000);
    CHECK_EQ(op_bind(&loop, s6, &any6, sizeof any6), -CIO_EADDRINUSE);
    CHECK_EQ(set_int(&loop, s6, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
    CHECK_EQ(op_bind(&loop, s6, &any6, sizeof any6), 0);
    CHECK_EQ(set_int(&loop, s6, IPPROTO_IPV6, IPV6_V6ONLY, 0), -CIO_EINVAL); /* bound: too late */
    /* SO_REUSEADDR on both and no listener: shared; a listen of the
     * second while the first listens: in use. */
    struct sockaddr_in r = sin4("127.0.0.1", 5000);
    cio_fd r1 = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM), r2 = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    CHECK_EQ(set_int(&loop, r1, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    CHECK_EQ(op_bind(&loop, r1, &r, sizeof r), 0);
    CHECK_EQ(op_bind(&loop, r2, &r, sizeof r), -CIO_EADDRINUSE); /* only one has it */
    CHECK_EQ(set_int(&loop, r2, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    CHECK_EQ(op_bind(&loop, r2, &r, sizeof r), 0);
    CHECK_EQ(op_listen(&loop, r1, 1), 0);
    CHECK_EQ(op_listen(&loop, r2, 1), -CIO_EADDRINUSE);
    cio_fd r3 = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    CHECK_EQ(set_int(&loop, r3, SOL_SOCKET, SO_REUSEADDR, 1), 0);
    CHECK_EQ(op_bind(&loop, r3, &r, sizeof r), -CIO_EADDRINUSE); /* r1 listens */
    /* A connection holds its port after its listener closed: a bind
     * without SO_REUSEADDR fails, one with it works. */
    CHECK_EQ(op_connect(&loop, c, &r, sizeof r), 0);
    cio_fd acc = (cio_fd)op_accept(&loop, r1, NULL, NULL);
    CHECK(acc >= CIO_MOCK_FD_BASE);
    CHECK_EQ(op_close(&loop, r1), 0);
    CHECK_EQ(op_close(&loop, r2), 0);
    cio_fd r4 = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    CHECK_EQ(op_bind(&loop, r4, &r, sizeof r), -CIO_EADDRINUSE);
    CHECK_EQ(op_bind(&loop, r3, &r, sizeof r), 0);
    CHECK_EQ(op_listen(&loop, r3, 1), 0);
    CHECK_EQ(op_connect(&loop, c, &r, sizeof r), -CIO_EISCONN);
    CHECK_EQ(op_listen(&loop, r3, 1000), 0); /* room for what follows */
    /* Ephemeral ports: distinct, in Linux's range, for bind to port 0 and
     * for the implicit bind of a connect. */
    enum { N = 300 };
    static uint16_t ports[N];
    static cio_fd fds[N];
    struct sockaddr_in zero = sin4("127.0.0.1", 0);
    for (int i = 0; i < N; i++) {
        fds[i] = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
        CHECK(fds[i] >= CIO_MOCK_FD_BASE);
        if (i % 2)
            CHECK_EQ(op_bind(&loop, fds[i], &zero, sizeof zero), 0);
        else
            CHECK_EQ(op_connect(&loop, fds[i], &r, sizeof r), 0);
        ports[i] = port_of(&loop, fds[i]);
        CHECK(ports[i] >= 32768 && ports[i] <= 60999);
        CHECK(ports[i] != 4000 && ports[i] != 5000);
        for (int j = 0; j < i; j++) CHECK(ports[j] != ports[i]);
    }
    for (int i = 0; i < N; i++) CHECK_EQ(op_close(&loop, fds[i]), 0);
    /* Addresses the host does not have, and wrong families. */
    struct sockaddr_in far_addr = sin4("10.1.2.3", 80);
    CHECK_EQ(op_bind(&loop, r4, &far_addr, sizeof far_addr), -CIO_EADDRNOTAVAIL);
    CHECK_EQ(op_connect(&loop, r4, &far_addr, sizeof far_addr), -CIO_ENETUNREACH);
    CHECK_EQ(op_bind(&loop, r4, &any6, sizeof any6), -CIO_EAFNOSUPPORT);
    CHECK_EQ(op_bind(&loop, r4, &any, sizeof any - 1), -CIO_EINVAL);
    /* 0.0.0.0 as a destination is this host. */
    cio_fd z = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    CHECK_EQ(op_connect(&loop, z, &any, sizeof any), -CIO_ECONNREFUSED);
    struct sockaddr_in wild = sin4("0.0.0.0", 5000);
    CHECK_EQ(op_connect(&loop, z, &wild, sizeof wild), 0);
    cio_fd left[] = {c, b, d, u, s6, acc, r3, r4, z};
    for (unsigned i = 0; i < sizeof left / sizeof left[0]; i++) CHECK_EQ(op_close(&loop, left[i]), 0);
    mock_close(&loop, 0);
}

/* IPv6 and v4-mapped addresses: a dual-stack listener takes IPv4
 * connections and names them ::ffff:127.0.0.1. */
static void dual_stack(void) {
    cio_loop loop;
    mock_loop(&loop, 32);
    cio_fd l = (cio_fd)op_socket(&loop, AF_INET6, SOCK_STREAM);
    struct sockaddr_in6 any6 = sin6("::", 0);
    CHECK_EQ(op_bind(&loop, l, &any6, sizeof any6), 0);
    CHECK_EQ(op_listen(&loop, l, 4), 0);
    uint16_t port = port_of(&loop, l);
    cio_fd c4 = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM), c6 = (cio_fd)op_socket(&loop, AF_INET6, SOCK_STREAM);
    struct sockaddr_in to4 = sin4("127.0.0.1", port);
    struct sockaddr_in6 to6 = sin6("::1", port);
    CHECK_EQ(op_connect(&loop, c4, &to4, sizeof to4), 0);
    CHECK_EQ(op_connect(&loop, c6, &to6, sizeof to6), 0);
    struct sockaddr_in6 from;
    cio_socklen len = sizeof from;
    cio_fd a4 = (cio_fd)op_accept(&loop, l, &from, &len);
    CHECK(a4 >= CIO_MOCK_FD_BASE && len == sizeof from && from.sin6_family == AF_INET6);
    struct sockaddr_in6 mapped = sin6("::ffff:127.0.0.1", port_of(&loop, c4));
    CHECK(memcmp(&from, &mapped, sizeof from) == 0);
    len = sizeof from;
    cio_fd a6 = (cio_fd)op_accept(&loop, l, &from, &len);
    struct sockaddr_in6 one = sin6("::1", port_of(&loop, c6));
    CHECK(a6 >= CIO_MOCK_FD_BASE && memcmp(&from, &one, sizeof from) == 0);
    /* A short buffer: cut, and the full length reported. */
    cio_fd c3 = (cio_fd)op_socket(&loop, AF_INET6, SOCK_STREAM);
    CHECK_EQ(op_connect(&loop, c3, &to6, sizeof to6), 0);
    char small[8];
    len = sizeof small;
    cio_fd a3 = (cio_fd)op_accept(&loop, l, small, &len);
    CHECK_EQ(len, sizeof(struct sockaddr_in6));
    /* A V6ONLY listener does not take IPv4. */
    cio_fd l6 = (cio_fd)op_socket(&loop, AF_INET6, SOCK_STREAM);
    CHECK_EQ(set_int(&loop, l6, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
    CHECK_EQ(get_int(&loop, l6, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    struct sockaddr_in6 p6 = sin6("::", 6000);
    CHECK_EQ(op_bind(&loop, l6, &p6, sizeof p6), 0);
    CHECK_EQ(op_listen(&loop, l6, 1), 0);
    cio_fd c = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    struct sockaddr_in p4 = sin4("127.0.0.1", 6000);
    CHECK_EQ(op_connect(&loop, c, &p4, sizeof p4), -CIO_ECONNREFUSED);
    cio_fd left[] = {l, c4, c6, a4, a6, c3, a3, l6, c};
    for (unsigned i = 0; i < sizeof left / sizeof left[0]; i++) CHECK_EQ(op_close(&loop, left[i]), 0);
    mock_close(&loop, 0);
}

/* ---- accept: multishot, parked, closed ---- */

typedef struct multi {
    t_op op;
    cio_fd fds[64];
    int n;
    int dup;
    int errors;       /* completions with CIO_F_MORE that carry an error */
    int32_t last_err; /* the last of them */
} multi;

static void on_multi(cio_loop *loop, cio_op *op) {
    multi *m = (multi *)op;
    if ((op->flags & CIO_F_MORE) && op->res < 0) {
        m->errors++;
        m->last_err = op->res;
    } else if (op->flags & CIO_F_MORE) {
        cio_fd fd = cio_op_fd(op);
        CHECK(fd >= CIO_MOCK_FD_BASE && fd != CIO_FD_INVALID);
        for (int i = 0; i < m->n; i++) m->dup += m->fds[i] == fd;
        CHECK(m->n < 64);
        m->fds[m->n++] = fd;
    }
    t_cb(loop, op);
}

/* A listener on 127.0.0.1:port with a multishot accept `m` on it. */
static cio_fd listen_multi(cio_loop *loop, uint16_t port, multi *m, struct sockaddr_in *a) {
    cio_fd l = (cio_fd)op_socket(loop, AF_INET, SOCK_STREAM);
    *a = sin4("127.0.0.1", port);
    CHECK_EQ(op_bind(loop, l, a, sizeof *a), 0);
    CHECK_EQ(op_listen(loop, l, 64), 0);
    memset(m, 0, sizeof *m);
    cio_prep_accept(&m->op.op, l, NULL, NULL, 0);
    m->op.op.flags |= CIO_F_MULTISHOT;
    t_arm(&m->op);
    m->op.op.cb = on_multi;
    CHECK_EQ(cio_submit(loop, &m->op.op), 0);
    return l;
}

static void multishot_accept(void) {
    for (uint64_t seed = 1; seed <= 20; seed++) {
        cio_loop loop;
        mock_loop(&loop, 40 + seed);
        static multi m;
        struct sockaddr_in a;
        cio_fd l = listen_multi(&loop, 7000, &m, &a);
        enum { K = 40 };
        static cio_fd clients[K];
        static t_op conn[K];
        /* Connects in batches, so that several wait at once. */
        for (int i = 0; i < K; i++) {
            clients[i] = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
            cio_prep_connect(&conn[i].op, clients[i], SA(a), sizeof a);
            submit(&loop, &conn[i]);
            if (i % 8 == 7) settle(&loop);
        }
        settle(&loop);
        for (int i = 0; i < K; i++) CHECK(conn[i].finals == 1 && conn[i].res == 0);
        CHECK_EQ(m.n, K);
        CHECK_EQ(m.op.mores, K);
        CHECK_EQ(m.dup, 0);
        CHECK_EQ(m.op.finals, 0);
        /* Each accepted end is a client's peer: its peer's name is a
         * client's own, each once. */
        for (int i = 0; i < K; i++) {
            struct sockaddr_in peer;
            cio_socklen len = sizeof peer;
            CHECK_EQ(cio_socket_peer(&loop, m.fds[i], (struct sockaddr *)&peer, &len), 0);
            int found = 0;
            for (int j = 0; j < K; j++) found += port_of(&loop, clients[j]) == ntohs(peer.sin_port);
            CHECK_EQ(found, 1);
        }
        t_op cancel;
        cio_prep_cancel(&cancel.op, &m.op.op);
        CHECK_EQ(do_op(&loop, &cancel), 0);
        run_until_done(&loop, &m.op);
        CHECK_EQ(m.op.finals, 1);
        CHECK_EQ(m.op.res, -CIO_ECANCELED);
        CHECK_EQ(m.op.mores, K);
        for (int i = 0; i < K; i++) {
            CHECK_EQ(op_close(&loop, clients[i]), 0);
            CHECK_EQ(op_close(&loop, m.fds[i]), 0);
        }
        CHECK_EQ(op_close(&loop, l), 0);
        mock_close(&loop, 0);
    }
}

/* An accept out of memory (-CIO_ENOMEM; Windows says -CIO_ENOBUFS for
 * exhausted sockets) leaves the connection queued, like one out of
 * descriptors: a multishot accept reports the error with CIO_F_MORE, holds
 * back and then accepts the connection, and a single accept completes with
 * the error once. Before the back-off knew these codes the multishot
 * accept ended at the first one, and a server stopped accepting. */
static void accept_out_of_memory(void) {
    cio_loop loop;
    mock_loop(&loop, 77);
    cio_fd client = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    static multi m;
    struct sockaddr_in a;
    cio_fd l = listen_multi(&loop, 7100, &m, &a);
    CHECK_EQ(cio_mock_set_fault(&loop, CIO_MOCK_FAULT_NOMEM, 1000000), 0);
    t_op conn;
    cio_prep_connect(&conn.op, client, SA(a), sizeof a);
    CHECK_EQ(do_op(&loop, &conn), 0);
    settle(&loop);
    CHECK_EQ(m.op.finals, 0);
    CHECK(m.op.mores >= 1);
    CHECK_EQ(m.errors, m.op.mores);
    CHECK_EQ(m.n, 0);
    CHECK_EQ(m.last_err, -CIO_ENOMEM);
    CHECK(cio_mock_faults(&loop, CIO_MOCK_FAULT_NOMEM) >= 1);
    CHECK_EQ(cio_mock_set_fault(&loop, CIO_MOCK_FAULT_NOMEM, 0), 0);
    for (int i = 0; i < 100 && m.n == 0; i++) settle(&loop);
    CHECK_EQ(m.n, 1);
    CHECK_EQ(m.op.finals, 0);
    /* A single accept: the error once, final, after its pause. */
    cio_fd client2 = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    t_op cancel;
    cio_prep_cancel(&cancel.op, &m.op.op);
    CHECK_EQ(do_op(&loop, &cancel), 0);
    run_until_done(&loop, &m.op);
    CHECK_EQ(m.op.res, -CIO_ECANCELED);
    CHECK_EQ(cio_mock_set_fault(&loop, CIO_MOCK_FAULT_NOMEM, 1000000), 0);
    t_op acc;
    cio_prep_accept(&acc.op, l, NULL, NULL, 0);
    submit(&loop, &acc);
    cio_prep_connect(&conn.op, client2, SA(a), sizeof a);
    CHECK_EQ(do_op(&loop, &conn), 0);
    run_until_done(&loop, &acc);
    CHECK_EQ(acc.finals, 1);
    CHECK_EQ(acc.res, -CIO_ENOMEM);
    CHECK_EQ(cio_mock_set_fault(&loop, CIO_MOCK_FAULT_NOMEM, 0), 0);
    CHECK(do_fd_op(&loop, &acc) != CIO_FD_INVALID); /* the connection stayed queued */
    CHECK_EQ(op_close(&loop, cio_op_fd(&acc.op)), 0);
    CHECK_EQ(op_close(&loop, m.fds[0]), 0);
    CHECK_EQ(op_close(&loop, client), 0);
    CHECK_EQ(op_close(&loop, client2), 0);
    CHECK_EQ(op_close(&loop, l), 0);
    mock_close(&loop, 0);
}

static void listener_close(void) {
    cio_loop loop;
    mock_loop(&loop, 50);
    cio_fd l = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    struct sockaddr_in a = sin4("127.0.0.1", 7100);
    CHECK_EQ(op_bind(&loop, l, &a, sizeof a), 0);
    /* Accept on a socket that does not listen. */
    CHECK_EQ(op_accept(&loop, l, NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(op_listen(&loop, l, 0), 0);
    /* Two parked accepts end with -CIO_ECANCELED, once each, at the close. */
    t_op acc[2];
    for (int i = 0; i < 2; i++) {
        cio_prep_accept(&acc[i].op, l, NULL, NULL, 0);
        submit(&loop, &acc[i]);
    }
    settle(&loop);
    CHECK(acc[0].finals == 0 && acc[1].finals == 0);
    CHECK_EQ(op_close(&loop, l), 0);
    for (int i = 0; i < 2; i++) CHECK(acc[i].finals == 1 && acc[i].res == -CIO_ECANCELED);
    settle(&loop);
    for (int i = 0; i < 2; i++) CHECK_EQ(acc[i].finals, 1);
    /* A connection never accepted when its listener closes is reset;
     * backlog 0 queues one, the next connect waits for room, then finds no
     * listener. */
    l = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    CHECK_EQ(op_bind(&loop, l, &a, sizeof a), 0);
    CHECK_EQ(op_listen(&loop, l, 0), 0);
    cio_fd c1 = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM), c2 = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    CHECK_EQ(op_connect(&loop, c1, &a, sizeof a), 0);
    CHECK_EQ(op_send(&loop, c1, "x", 1, 0), 1); /* established before the accept */
    t_op conn2, rd;
    cio_prep_connect(&conn2.op, c2, SA(a), sizeof a);
    submit(&loop, &conn2);
    char buf[8];
    cio_prep_recv(&rd.op, c1, buf, sizeof buf, 0);
    submit(&loop, &rd);
    settle(&loop);
    CHECK_EQ(conn2.finals, 0); /* the queue is full */
    CHECK_EQ(rd.finals, 0);
    CHECK_EQ(op_close(&loop, l), 0);
    run_until_done(&loop, &rd);
    CHECK_EQ(rd.res, -CIO_ECONNRESET);
    run_until_done(&loop, &conn2);
    CHECK_EQ(conn2.res, -CIO_ECONNREFUSED);
    /* An accept makes room: the waiting connect goes on. */
    l = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    CHECK_EQ(op_bind(&loop, l, &a, sizeof a), 0);
    CHECK_EQ(op_listen(&loop, l, 0), 0);
    cio_fd w1 = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM), w2 = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    CHECK_EQ(op_connect(&loop, w1, &a, sizeof a), 0);
    cio_prep_connect(&conn2.op, w2, SA(a), sizeof a);
    submit(&loop, &conn2);
    settle(&loop);
    CHECK_EQ(conn2.finals, 0);
    cio_fd wa = (cio_fd)op_accept(&loop, l, NULL, NULL);
    CHECK(wa >= CIO_MOCK_FD_BASE);
    run_until_done(&loop, &conn2);
    CHECK_EQ(conn2.res, 0);
    cio_fd wb = (cio_fd)op_accept(&loop, l, NULL, NULL);
    struct sockaddr_in wp;
    cio_socklen wlen = sizeof wp;
    CHECK_EQ(cio_socket_peer(&loop, wb, (struct sockaddr *)&wp, &wlen), 0);
    CHECK_EQ(ntohs(wp.sin_port), port_of(&loop, w2));
    cio_fd wl[] = {w1, w2, wa, wb, l};
    for (unsigned i = 0; i < sizeof wl / sizeof wl[0]; i++) CHECK_EQ(op_close(&loop, wl[i]), 0);
    /* A listener's poll: IN once a connection waits. */
    l = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    CHECK_EQ(op_bind(&loop, l, &a, sizeof a), 0);
    CHECK_EQ(op_listen(&loop, l, 5), 0);
    t_op pl;
    cio_prep_poll(&pl.op, l, CIO_POLLIN);
    submit(&loop, &pl);
    settle(&loop);
    CHECK_EQ(pl.finals, 0);
    cio_fd c3 = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    CHECK_EQ(op_connect(&loop, c3, &a, sizeof a), 0);
    run_until_done(&loop, &pl);
    CHECK_EQ(pl.res, (int32_t)CIO_POLLIN);
    /* shutdown(SHUT_RD) stops a listener: a parked accept then fails. */
    cio_prep_accept(&acc[0].op, l, NULL, NULL, 0);
    cio_fd got = do_fd_op(&loop, &acc[0]);
    CHECK(got >= CIO_MOCK_FD_BASE);
    submit(&loop, &acc[1]);
    settle(&loop);
    CHECK_EQ(op_shutdown(&loop, l, CIO_SHUT_RD), 0);
    run_until_done(&loop, &acc[1]);
    CHECK_EQ(acc[1].res, -CIO_EINVAL);
    cio_fd left[] = {c1, c2, c3, got, l};
    for (unsigned i = 0; i < sizeof left / sizeof left[0]; i++) CHECK_EQ(op_close(&loop, left[i]), 0);
    mock_close(&loop, 0);
}

/* ---- socket(2) and what an unconnected socket does ---- */

static void socket_errors(void) {
    cio_loop loop;
    mock_loop(&loop, 60);
    t_op t;
    cio_prep_socket(&t.op, AF_APPLETALK, SOCK_STREAM, 0);
    CHECK_EQ(do_op(&loop, &t), -CIO_EAFNOSUPPORT);
    cio_prep_socket(&t.op, AF_INET, 99, 0);
    CHECK_EQ(do_op(&loop, &t), -CIO_EINVAL);
    cio_prep_socket(&t.op, AF_INET, SOCK_STREAM, IPPROTO_UDP);
    CHECK_EQ(do_op(&loop, &t), -CIO_EPROTONOSUPPORT);
    cio_prep_socket(&t.op, AF_INET, SOCK_SEQPACKET, 0);
    CHECK_EQ(do_op(&loop, &t), -CIO_EPROTONOSUPPORT);
    cio_prep_socket(&t.op, AF_UNIX, SOCK_DGRAM, 7);
    CHECK_EQ(do_op(&loop, &t), -CIO_EPROTONOSUPPORT);
    cio_prep_socket(&t.op, AF_INET, SOCK_STREAM | CIO_SOCK_NONBLOCK | CIO_SOCK_CLOEXEC, IPPROTO_TCP);
    cio_fd s = do_fd_op(&loop, &t);
    CHECK(s >= CIO_MOCK_FD_BASE);
    char buf[4];
    CHECK_EQ(op_recv(&loop, s, buf, sizeof buf, 0), -CIO_ENOTCONN); /* as tcp_recvmsg */
    CHECK_EQ(op_send(&loop, s, "x", 1, 0), -CIO_EPIPE);            /* as tcp_sendmsg */
    CHECK_EQ(op_shutdown(&loop, s, CIO_SHUT_WR), -CIO_ENOTCONN);
    t_op pl;
    cio_prep_poll(&pl.op, s, CIO_POLLIN | CIO_POLLOUT);
    CHECK_EQ(do_op(&loop, &pl), (int32_t)(CIO_POLLOUT | CIO_POLLHUP)); /* tcp_poll, never connected */
    struct sockaddr_in name;
    cio_socklen len = sizeof name;
    CHECK_EQ(cio_socket_peer(&loop, s, (struct sockaddr *)&name, &len), -CIO_ENOTCONN);
    CHECK_EQ(cio_socket_name(&loop, s, (struct sockaddr *)&name, &len), 0);
    CHECK(len == sizeof name && name.sin_family == AF_INET && name.sin_port == 0 && name.sin_addr.s_addr == 0);
    /* listen on an unbound TCP socket gives it a port. */
    CHECK_EQ(op_listen(&loop, s, -1), 0);
    CHECK(port_of(&loop, s) >= 32768);
    CHECK_EQ(get_int(&loop, s, SOL_SOCKET, SO_ACCEPTCONN), 1);
    cio_fd u = (cio_fd)op_socket(&loop, AF_INET, SOCK_DGRAM);
    CHECK_EQ(op_listen(&loop, u, 1), -CIO_ENOTSUP);
    CHECK_EQ(op_accept(&loop, u, NULL, NULL), -CIO_ENOTSUP);
    /* A pipe is no socket; a real descriptor is not in the world. */
    cio_fd p[2];
    CHECK_EQ(cio_mock_pipe(&loop, p), 0);
    CHECK_EQ(cio_socket_name(&loop, p[0], (struct sockaddr *)&name, &len), -CIO_ENOTSOCK);
    CHECK_EQ(op_listen(&loop, p[0], 1), -CIO_ENOTSOCK);
    CHECK_EQ(cio_socket_name(&loop, 0, (struct sockaddr *)&name, &len), -CIO_EBADF);
    CHECK_EQ(set_int(&loop, 1, SOL_SOCKET, SO_REUSEADDR, 1), -CIO_EBADF);
    /* The plain calls on a simulated number: the system has no such
     * descriptor. */
    int one = 1;
    CHECK_EQ(t_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), -EBADF);
    cio_fd left[] = {s, u, p[0], p[1]};
    for (unsigned i = 0; i < sizeof left / sizeof left[0]; i++) CHECK_EQ(op_close(&loop, left[i]), 0);
    CHECK_EQ(cio_socket_name(&loop, s, (struct sockaddr *)&name, &len), -CIO_EBADF);
    mock_close(&loop, 0);
}

/* ---- options ---- */

static void options(void) {
    cio_loop loop;
    mock_loop(&loop, 70);
    cio_fd s = (cio_fd)op_socket(&loop, AF_INET, SOCK_STREAM);
    cio_fd u = (cio_fd)op_socket(&loop, AF_INET6, SOCK_DGRAM);
    cio_fd x = (cio_fd)op_socket(&loop, AF_UNIX, SOCK_STREAM);
    CHECK_EQ(get_int(&loop, s, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
    CHECK_EQ(get_int(&loop, u, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
#if defined(SO_DOMAIN) && defined(SO_PROTOCOL)
    CHECK_EQ(get_int(&loop, s, SOL_SOCKET, SO_DOMAIN), AF_INET);
    CHECK_EQ(get_int(&loop, u, SOL_SOCKET, SO_DOMAIN), AF_INET6);
    CHECK_EQ(get_int(&loop, x, SOL_SOCKET, SO_DOMAIN), AF_UNIX);
    CHECK_EQ(get_int(&loop, s, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
    CHECK_EQ(get_int(&loop, u, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
#endif
    CHECK_EQ(get_int(&loop, s, SOL_SOCKET, SO_ACCEPTCONN), 0);
    CHECK_EQ(get_int(&loop, s, SOL_SOCKET, SO_ERROR), 0);
    /* Flags read back as 0 or 1, whatever was set. */
    int flags[][2] = {{SOL_SOCKET, SO_REUSEADDR},
#ifdef SO_REUSEPORT
                      {SOL_SOCKET, SO_REUSEPORT},
#endif
                      {SOL_SOCKET, SO_KEEPALIVE}, {IPPROTO_TCP, TCP_NODELAY}};
    for (unsigned i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        CHECK_EQ(get_int(&loop, s, flags[i][0], flags[i][1]), 0);
        CHECK_EQ(set_int(&loop, s, flags[i][0], flags[i][1], 7), 0);
        CHECK_EQ(get_int(&loop, s, flags[i][0], flags[i][1]), 1);
        CHECK_EQ(set_int(&loop, s, flags[i][0], flags[i][1], 0), 0);
        CHECK_EQ(get_int(&loop, s, flags[i][0], flags[i][1]), 0);
    }
    /* Buffer sizes: doubled, as Linux keeps them. */
    CHECK_EQ(set_int(&loop, s, SOL_SOCKET, SO_RCVBUF, 4096), 0);
    CHECK_EQ(get_int(&loop, s, SOL_SOCKET, SO_RCVBUF), 8192);
    CHECK_EQ(set_int(&loop, s, SOL_SOCKET, SO_SNDBUF, 10000), 0);
    CHECK_EQ(get_int(&loop, s, SOL_SOCKET, SO_SNDBUF), 20000);
    CHECK_EQ(set_int(&loop, s, SOL_SOCKET, SO_RCVBUF, 1), 0);
    CHECK_EQ(get_int(&loop, s, SOL_SOCKET, SO_RCVBUF), 2304); /* SOCK_MIN_RCVBUF */
    /* SO_LINGER: the time stays when it is turned off. */
    struct linger lg = {1, 5}, back;
    cio_socklen len = sizeof back;
    CHECK_EQ(cio_socket_set_option(&loop, s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    CHECK_EQ(cio_socket_get_option(&loop, s, SOL_SOCKET, SO_LINGER, &back, &len), 0);
    CHECK(len == sizeof back && back.l_onoff == 1 && back.l_linger == 5);
    lg.l_onoff = 0;
    lg.l_linger = 9;
    CHECK_EQ(cio_socket_set_option(&loop, s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    CHECK_EQ(cio_socket_get_option(&loop, s, SOL_SOCKET, SO_LINGER, &back, &len), 0);
    CHECK(back.l_onoff == 0 && back.l_linger == 5);
    CHECK_EQ(cio_socket_set_option(&loop, s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg - 1), -CIO_EINVAL);
    /* IPV6_V6ONLY on an IPv6 socket only. */
    CHECK_EQ(get_int(&loop, u, IPPROTO_IPV6, IPV6_V6ONLY), 0);
    CHECK_EQ(set_int(&loop, u, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
    CHECK_EQ(get_int(&loop, u, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    CHECK_EQ(set_int(&loop, s, IPPROTO_IPV6, IPV6_V6ONLY, 1), -CIO_ENOPROTOOPT);
    /* What is not there, or not simulated: an error, never a value. */
    int v = 42;
    len = sizeof v;
    CHECK_EQ(cio_socket_get_option(&loop, s, SOL_SOCKET, 9999, &v, &len), -CIO_ENOPROTOOPT);
    CHECK_EQ(cio_socket_get_option(&loop, s, SOL_SOCKET, SO_RCVTIMEO, &v, &len), -CIO_ENOPROTOOPT);
    CHECK_EQ(v, 42);
    CHECK_EQ(set_int(&loop, s, SOL_SOCKET, SO_TYPE, SOCK_DGRAM), -CIO_ENOPROTOOPT); /* read only */
    CHECK_EQ(set_int(&loop, u, IPPROTO_TCP, TCP_NODELAY, 1), -CIO_ENOPROTOOPT);    /* not TCP */
#ifdef TCP_MAXSEG
    CHECK_EQ(set_int(&loop, s, IPPROTO_TCP, TCP_MAXSEG, 1000), -CIO_ENOPROTOOPT);
#endif
    CHECK_EQ(set_int(&loop, x, IPPROTO_TCP, TCP_NODELAY, 1), -CIO_ENOTSUP); /* AF_UNIX: EOPNOTSUPP */
    CHECK_EQ(set_int(&loop, x, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
    CHECK_EQ(get_int(&loop, x, SOL_SOCKET, SO_KEEPALIVE), 1);
    short tiny = 1;
    CHECK_EQ(cio_socket_set_option(&loop, s, SOL_SOCKET, SO_REUSEADDR, &tiny, sizeof tiny), -CIO_EINVAL);
    len = sizeof tiny;
    CHECK_EQ(cio_socket_get_option(&loop, s, SOL_SOCKET, SO_TYPE, &tiny, &len), -CIO_EINVAL);
    CHECK_EQ(cio_socket_get_option(&loop, s, SOL_SOCKET, SO_TYPE, NULL, &len), -CIO_EINVAL);
    CHECK_EQ(cio_socket_get_option(NULL, s, SOL_SOCKET, SO_TYPE, &v, &len), -CIO_EINVAL);
    /* Options on socket pairs; SO_LINGER at 0 s makes a close a reset. */
    cio_fd sp[2];
    CHECK_EQ(cio_mock_socketpair(&loop, sp), 0);
    CHECK_EQ(get_int(&loop, sp[0], SOL_SOCKET, SO_TYPE), SOCK_STREAM);
#ifdef SO_DOMAIN
    CHECK_EQ(get_int(&loop, sp[0], SOL_SOCKET, SO_DOMAIN), AF_UNIX);
#endif
    lg.l_onoff = 1;
    lg.l_linger = 0;
    CHECK_EQ(cio_socket_set_option(&loop, sp[0], SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    CHECK_EQ(op_close(&loop, sp[0]), 0);
    CHECK_EQ(get_int(&loop, sp[1], SOL_SOCKET, SO_ERROR), CIO_ECONNRESET);
    CHECK_EQ(get_int(&loop, sp[1], SOL_SOCKET, SO_ERROR), 0); /* read once */
    cio_fd left[] = {s, u, x, sp[1]};
    for (unsigned i = 0; i < sizeof left / sizeof left[0]; i++) CHECK_EQ(op_close(&loop, left[i]), 0);
    mock_close(&loop, 0);
}

/* ---- AF_UNIX streams, socket pairs, messages, multishot poll ---- */

static void unix_streams(void) {
    cio_loop loop;
    mock_loop(&loop, 80);
    cio_socklen alen;
    struct sockaddr_un a = sun_path("/run/sim.sock", &alen);
    cio_fd l = (cio_fd)op_socket(&loop, AF_UNIX, SOCK_STREAM);
    CHECK_EQ(op_listen(&loop, l, 1), -CIO_EINVAL); /* not bound */
    /* sun_path past its NUL is not part of the name. */
    struct sockaddr_un junk = a;
    strcpy(junk.sun_path + strlen(a.sun_path) + 1, "junk");
    CHECK_EQ(op_bind(&loop, l, &junk, sizeof junk), 0);
    struct sockaddr_un name;
    cio_socklen len = sizeof name;
    CHECK_EQ(cio_socket_name(&loop, l, (struct sockaddr *)&name, &len), 0);
    CHECK(len == alen && memcmp(&name, &a, alen) == 0);
    CHECK_EQ(op_listen(&loop, l, 4), 0);
    cio_fd other = (cio_fd)op_socket(&loop, AF_UNIX, SOCK_DGRAM);
    CHECK_EQ(op_bind(&loop, other, &a, alen), -CIO_EADDRINUSE);
    cio_fd c = (cio_fd)op_socket(&loop, AF_UNIX, SOCK_STREAM);
    cio_socklen nlen;
    struct sockaddr_un none = sun_path("/run/none.sock", &nlen);
    CHECK_EQ(op_connect(&loop, c, &none, nlen), -CIO_ENOENT);
    char buf[16];
    CHECK_EQ(op_recv(&loop, c, buf, sizeof buf, 0), -CIO_EINVAL); /* as unix_stream_recvmsg */
    CHECK_EQ(op_send(&loop, c, "x", 1, 0), -CIO_ENOTCONN);
    CHECK_EQ(op_connect(&loop, c, &a, alen), 0);
    len = sizeof name;
    cio_fd s = (cio_fd)op_accept(&loop, l, &name, &len);
    CHECK(s >= CIO_MOCK_FD_BASE);
    CHECK(len == sizeof name.sun_family && name.sun_family == AF_UNIX); /* the client has no name */
    len = sizeof name;
    CHECK_EQ(cio_socket_peer(&loop, c, (struct sockaddr *)&name, &len), 0);
    CHECK(len == alen && strcmp(name.sun_path, "/run/sim.sock") == 0);
    len = sizeof name;
    CHECK_EQ(cio_socket_name(&loop, s, (struct sockaddr *)&name, &len), 0);
    CHECK(len == alen && strcmp(name.sun_path, "/run/sim.sock") == 0);
    /* sendmsg and recvmsg on the connection: gathered, scattered, no
     * sender's name; a name to send to is refused on AF_UNIX. */
    const char *parts[] = {"he", "llo", " wor", "ld"};
    cio_iovec out[4];
    for (int i = 0; i < 4; i++)
        out[i] = (cio_iovec){.iov_base = (void *)(uintptr_t)parts[i], .iov_len = (uint32_t)strlen(parts[i])};
    cio_msghdr msg;
    cio_msg_init(&msg, NULL, 0, out, 4, NULL, 0);
    t_op t;
    cio_prep_sendmsg(&t.op, c, &msg, CIO_MSG_WAITALL);
    CHECK_EQ(do_op(&loop, &t), 11);
    char p1[3] = {0}, p2[20] = {0};
    cio_iovec in[2] = {{.iov_base = p1, .iov_len = 3}, {.iov_base = p2, .iov_len = 8}};
    struct sockaddr_un from;
    cio_msg_init(&msg, &from, sizeof from, in, 2, NULL, 0);
    T_MSG_FLAGS(&msg) = -1;
    cio_prep_recvmsg(&t.op, s, &msg, CIO_MSG_WAITALL);
    CHECK_EQ(do_op(&loop, &t), 11);
    CHECK(memcmp(p1, "hel", 3) == 0 && memcmp(p2, "lo world", 8) == 0);
    CHECK(cio_msg_namelen(&msg) == 0 && cio_msg_flags(&msg) == 0);
    CHECK_EQ(op_sendto(&loop, s, "x", 1, 0, &a, alen), -CIO_EISCONN);
    /* A multishot poll on the connection: one report per change while the
     * asked event holds, none while nothing changes. */
    t_op pl;
    cio_prep_poll(&pl.op, s, CIO_POLLIN);
    pl.op.flags |= CIO_F_MULTISHOT;
    submit(&loop, &pl);
    settle(&loop);
    CHECK_EQ(pl.mores, 0);
    CHECK_EQ(op_send(&loop, c, "a", 1, 0), 1);
    settle(&loop);
    CHECK_EQ(pl.mores, 1);
    settle(&loop);
    CHECK_EQ(pl.mores, 1); /* no change, no report */
    CHECK_EQ(op_recv(&loop, s, buf, sizeof buf, 0), 1);
    settle(&loop);
    CHECK_EQ(op_send(&loop, c, "b", 1, 0), 1);
    settle(&loop);
    CHECK_EQ(pl.mores, 2);
    CHECK_EQ(pl.finals, 0);
    CHECK_EQ(op_close(&loop, s), 0); /* ends the poll */
    CHECK(pl.finals == 1 && pl.res == -CIO_ECANCELED);
    /* The name goes with its socket: bound again once closed. */
    CHECK_EQ(op_close(&loop, l), 0);
    CHECK_EQ(op_connect(&loop, other, &a, alen), -CIO_ENOENT);
    CHECK_EQ(op_bind(&loop, other, &a, alen), 0);
    /* A stream connect to a datagram socket's name. */
    cio_fd c2 = (cio_fd)op_socket(&loop, AF_UNIX, SOCK_STREAM);
    CHECK_EQ(op_connect(&loop, c2, &a, alen), -CIO_EPROTOTYPE);
    /* Autobind: an abstract name of 5 hex digits. */
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    CHECK_EQ(op_bind(&loop, c2, &fam, sizeof fam.sun_family), 0);
    len = sizeof name;
    CHECK_EQ(cio_socket_name(&loop, c2, (struct sockaddr *)&name, &len), 0);
    CHECK(len == sizeof fam.sun_family + 6 && name.sun_path[0] == 0);
    /* Socket pairs: unnamed ends, each the other's peer. */
    cio_fd sp[2];
    CHECK_EQ(cio_mock_socketpair(&loop, sp), 0);
    len = sizeof name;
    CHECK_EQ(cio_socket_name(&loop, sp[0], (struct sockaddr *)&name, &len), 0);
    CHECK(len == sizeof fam.sun_family && name.sun_family == AF_UNIX);
    len = sizeof name;
    CHECK_EQ(cio_socket_peer(&loop, sp[1], (struct sockaddr *)&name, &len), 0);
    CHECK_EQ(len, sizeof fam.sun_family);
    cio_fd left[] = {c, other, c2, sp[0], sp[1]};
    for (unsigned i = 0; i < sizeof left / sizeof left[0]; i++) CHECK_EQ(op_close(&loop, left[i]), 0);
    mock_close(&loop, 0);
}

int main(void) {
    t_watchdog();
    t_unsetenv("CIO_BACKEND"); /* the options name the backend */
    t_unsetenv("CIO_MOCK_SEED");
    t_unsetenv("CIO_MOCK_FAULTS"); /* the answers checked are those of runs without faults */
    echo_many_seeds();
    addresses();
    dual_stack();
    multishot_accept();
    accept_out_of_memory();
    listener_close();
    socket_errors();
    options();
    unix_streams();
    printf("ok\n");
    return 0;
}
