/*
 * TCP over loopback: accept (one-shot with the peer address, and
 * multishot), connect, send and recv (exact bytes, a 4 MiB transfer with
 * partial sends, end of stream), their error codes, cancelling each kind of
 * pending op, and per-op deadlines. Every op completes exactly once.
 *
 * CIO_TEST_PORTABLE: on Windows the flags of a new handle cannot be read
 * back (no fcntl; FIONBIO is write-only), and there is no SIGPIPE to check.
 */
#include "net.h"

static bool have_v6;


/* ---- accept and connect ---- */

static void accept_connect(cio_loop *loop, int family) {
    net_addr at;
    cio_fd lfd = net_listener(loop, family, 8, &at);
    cio_fd cfd = net_socket(loop, family, SOCK_STREAM | SOCK_CLOEXEC);

    /* Accept first, so that it waits in the kernel for the connect. */
    struct sockaddr_storage peer;
    memset(&peer, 0xa5, sizeof peer);
    cio_socklen peer_len = sizeof peer;
    t_op acc, con;
    cio_prep_accept(&acc.op, lfd, (struct sockaddr *)&peer, &peer_len, SOCK_CLOEXEC | CIO_SOCK_NONBLOCK);
    net_arm(&acc);
    CHECK_EQ(cio_submit(loop, &acc.op), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(acc.finals, 0);
    cio_prep_connect(&con.op, cfd, net_sa(&at), at.len);
    net_arm(&con);
    CHECK_EQ(cio_submit(loop, &con.op), 0);
    CHECK_EQ(net_wait(loop, &con, 10), 0);
    CHECK(net_wait(loop, &acc, 10) >= 0);
    cio_fd sfd = t_fd(&acc);

    /* The peer address the accept filled is the client's own address. */
    net_addr client, got;
    net_local(cfd, &client);
    memcpy(&got.ss, &peer, sizeof peer);
    got.len = peer_len;
    CHECK_EQ(peer_len, family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    CHECK(net_same(&got, &client));
    net_addr server_peer, client_peer;
    net_peer(sfd, &server_peer);
    CHECK(net_same(&server_peer, &client));
    net_peer(cfd, &client_peer);
    CHECK(net_same(&client_peer, &at));
#if !defined(_WIN32)
    CHECK_EQ(fcntl(sfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    CHECK_EQ(fcntl(sfd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
#endif
    net_exchange(loop, cfd, sfd, "ping");
    net_exchange(loop, sfd, cfd, "pong");

    /* Connecting a connected socket again. */
    cio_prep_connect(&con.op, cfd, net_sa(&at), at.len);
    CHECK_EQ(net_do(loop, &con), -EISCONN);

    /* A connection made before the accept is submitted is picked up too,
     * here without asking for the address. */
    cio_fd c2 = net_socket(loop, family, SOCK_STREAM | SOCK_CLOEXEC);
    cio_prep_connect(&con.op, c2, net_sa(&at), at.len);
    CHECK_EQ(net_do(loop, &con), 0);
    cio_prep_accept(&acc.op, lfd, NULL, NULL, 0);
    CHECK(net_do(loop, &acc) >= 0);
    cio_fd s2 = t_fd(&acc);
#if !defined(_WIN32)
    CHECK_EQ(fcntl(s2, F_GETFL) & O_NONBLOCK, 0);
#endif
    net_exchange(loop, c2, s2, "second");

    cio_fd fds[] = {lfd, cfd, sfd, c2, s2};
    for (unsigned i = 0; i < sizeof fds / sizeof *fds; i++) CHECK_EQ(t_close_handle(fds[i]), 0);
}

static void accept_connect_errors(cio_loop *loop, int family) {
    net_addr at;
    t_op t;

    /* A port that is bound but not listening refuses connections, and no
     * other program can start listening on it while we hold it. */
    cio_fd holder = net_bound(loop, family, SOCK_STREAM | SOCK_CLOEXEC, &at);
    cio_fd cfd = net_socket(loop, family, SOCK_STREAM | SOCK_CLOEXEC);
    cio_prep_connect(&t.op, cfd, net_sa(&at), at.len);
    CHECK_EQ(net_do(loop, &t), -CIO_ECONNREFUSED);

    /* Accepting on a socket that does not listen. */
    cio_prep_accept(&t.op, holder, NULL, NULL, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_EINVAL);
    CHECK_EQ(t_close_handle(holder), 0);
    CHECK_EQ(t_close_handle(cfd), 0);
}

static void accept_connect_refusals(cio_loop *loop) {
    net_addr at;
    net_loopback(&at, AF_INET, 9);
    t_op t;
    cio_prep_accept(&t.op, T_FD_NONE, NULL, NULL, 0);
    net_refused(loop, &t, -CIO_EBADF);
    struct sockaddr_storage ss;
    cio_prep_accept(&t.op, 0, (struct sockaddr *)&ss, NULL, 0);
    net_refused(loop, &t, -CIO_EINVAL);
    cio_prep_connect(&t.op, T_FD_NONE, net_sa(&at), at.len);
    net_refused(loop, &t, -CIO_EBADF);
    cio_prep_connect(&t.op, 0, NULL, at.len);
    net_refused(loop, &t, -CIO_EINVAL);

    /* Handles the kernel rejects. */
    {
        cio_fd p[2];
        CHECK_EQ(t_pipe(p), 0);
        cio_prep_accept(&t.op, p[0], NULL, NULL, 0);
        CHECK_EQ(net_do(loop, &t), -CIO_ENOTSOCK);
        cio_prep_connect(&t.op, p[0], net_sa(&at), at.len);
        CHECK_EQ(net_do(loop, &t), -CIO_ENOTSOCK);
        CHECK_EQ(t_close_handle(p[0]), 0);
        CHECK_EQ(t_close_handle(p[1]), 0);
    }
    cio_prep_accept(&t.op, net_closed_fd(), NULL, NULL, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_EBADF);
}

/* ---- send and recv ---- */

#if !defined(_WIN32)
static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig) {
    (void)sig;
    sigpipes++;
}
#endif

/*
 * A send or sendmsg on a socket whose sending side is shut reports
 * -CIO_EPIPE and raises no SIGPIPE, even without MSG_NOSIGNAL: io_uring
 * never raises it, and a library must not kill its host process, so every
 * backend has to behave the same way.
 */
static void no_sigpipe(cio_loop *loop, cio_fd fd) {
#if !defined(_WIN32)
    sigpipes = 0;
    signal(SIGPIPE, on_sigpipe);
#endif
    t_op t;
    cio_prep_send(&t.op, fd, "x", 1, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_EPIPE);
    cio_iovec iov = {.iov_base = (void *)"y", .iov_len = 1};
    cio_msghdr m;
    cio_msg_init(&m, NULL, 0, &iov, 1, NULL, 0);
    cio_prep_sendmsg(&t.op, fd, &m, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_EPIPE);
#if !defined(_WIN32)
    signal(SIGPIPE, SIG_IGN);
    CHECK_EQ(sigpipes, 0);
#endif
}

static void send_recv(cio_loop *loop, int family) {
    cio_fd c, s;
    net_pair(loop, family, &c, &s);
    char buf[64];
    t_op snd, rcv;

    /* Data already there when the recv starts. */
    static const char hello[] = "hello, cio";
    cio_prep_send(&snd.op, c, hello, 10, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &snd), 10);
    memset(buf, 0, sizeof buf);
    cio_prep_recv(&rcv.op, s, buf, sizeof buf, 0);
    CHECK_EQ(net_do(loop, &rcv), 10);
    CHECK(memcmp(buf, hello, 10) == 0);

    /* A recv that waits, then the data comes. */
    memset(buf, 0, sizeof buf);
    cio_prep_recv(&rcv.op, c, buf, sizeof buf, 0);
    net_arm(&rcv);
    CHECK_EQ(cio_submit(loop, &rcv.op), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(rcv.finals, 0);
    cio_prep_send(&snd.op, s, "reply", 5, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &snd), 5);
    CHECK_EQ(net_wait(loop, &rcv, 10), 5);
    CHECK(memcmp(buf, "reply", 5) == 0);

    /* MSG_PEEK leaves the bytes for the next recv. */
    cio_prep_send(&snd.op, c, "peek", 4, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &snd), 4);
    cio_prep_recv(&rcv.op, s, buf, 4, MSG_PEEK | MSG_WAITALL);
    CHECK_EQ(net_do(loop, &rcv), 4);
    memset(buf, 0, sizeof buf);
    cio_prep_recv(&rcv.op, s, buf, 4, MSG_WAITALL);
    CHECK_EQ(net_do(loop, &rcv), 4);
    CHECK(memcmp(buf, "peek", 4) == 0);

    /* A zero-length send completes with 0. */
    cio_prep_send(&snd.op, c, NULL, 0, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &snd), 0);

    /* Empty socket, non-blocking recv. */
    cio_prep_recv(&rcv.op, s, buf, sizeof buf, CIO_MSG_DONTWAIT);
    CHECK_EQ(net_do(loop, &rcv), -CIO_EAGAIN);

    /* End of stream after the peer's SHUT_WR, as often as asked; a recv
     * already waiting when the shutdown comes sees it too. */
    cio_prep_recv(&rcv.op, s, buf, sizeof buf, 0);
    net_arm(&rcv);
    CHECK_EQ(cio_submit(loop, &rcv.op), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    cio_prep_shutdown(&snd.op, c, SHUT_WR);
    CHECK_EQ(net_do(loop, &snd), 0);
    CHECK_EQ(net_wait(loop, &rcv, 10), 0);
    cio_prep_recv(&rcv.op, s, buf, sizeof buf, 0);
    CHECK_EQ(net_do(loop, &rcv), 0);

    /* Our own SHUT_RD ends a recv that is waiting, with end of stream. */
    {
        cio_prep_recv(&rcv.op, c, buf, sizeof buf, 0);
        net_arm(&rcv);
        CHECK_EQ(cio_submit(loop, &rcv.op), 0);
        CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
        CHECK_EQ(rcv.finals, 0);
    }
    cio_prep_shutdown(&snd.op, c, SHUT_RD);
    CHECK_EQ(net_do(loop, &snd), 0);
    CHECK_EQ(net_wait(loop, &rcv, 10), 0); /* the recv of the case above */

    /* Sending on our shut-down side is a broken pipe. */
    cio_prep_send(&snd.op, c, "x", 1, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &snd), -CIO_EPIPE);
    no_sigpipe(loop, c);

    /* The peer closes: our recv sees end of stream, our send a reset or a broken pipe. */
    CHECK_EQ(t_close_handle(c), 0);
    cio_prep_send(&snd.op, s, "a", 1, MSG_NOSIGNAL);
    int32_t r = net_do(loop, &snd);
    CHECK(r == 1 || r == -CIO_EPIPE || r == -CIO_ECONNRESET);
    CHECK_EQ(t_close_handle(s), 0);
}

static void send_recv_errors(cio_loop *loop) {
    t_op t;
    char buf[8];
    cio_fd fd = net_socket(loop, AF_INET, SOCK_STREAM | SOCK_CLOEXEC);
    cio_prep_recv(&t.op, fd, buf, sizeof buf, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_ENOTCONN);
    {
        cio_prep_send(&t.op, fd, "x", 1, MSG_NOSIGNAL);
        CHECK_EQ(net_do(loop, &t), -CIO_EPIPE);
    }
    cio_prep_send(&t.op, fd, NULL, 4, 0);
    net_refused(loop, &t, -CIO_EINVAL);
    cio_prep_recv(&t.op, fd, NULL, 4, 0);
    net_refused(loop, &t, -CIO_EINVAL);
    cio_prep_recv(&t.op, T_FD_NONE, buf, sizeof buf, 0);
    net_refused(loop, &t, -CIO_EBADF);
    cio_prep_send(&t.op, T_FD_NONE, buf, sizeof buf, 0);
    net_refused(loop, &t, -CIO_EBADF);
    CHECK_EQ(t_close_handle(fd), 0);

    {
        cio_fd p[2];
        CHECK_EQ(t_pipe(p), 0);
        cio_prep_recv(&t.op, p[0], buf, sizeof buf, 0);
        CHECK_EQ(net_do(loop, &t), -CIO_ENOTSOCK);
        cio_prep_send(&t.op, p[1], "x", 1, 0);
        CHECK_EQ(net_do(loop, &t), -CIO_ENOTSOCK);
        CHECK_EQ(t_close_handle(p[0]), 0);
        CHECK_EQ(t_close_handle(p[1]), 0);
    }
    cio_prep_recv(&t.op, net_closed_fd(), buf, sizeof buf, 0);
    CHECK_EQ(net_do(loop, &t), -CIO_EBADF);
}

/* ---- a 4 MiB transfer ---- */

enum { BIG = 4 << 20, RECV_CHUNK = 64 << 10 };

static uint8_t pattern(size_t i) { return (uint8_t)((i * 131u) ^ (i >> 9) ^ (i >> 17)); }

typedef struct stream {
    t_op t; /* first: the callback gets &t.op */
    cio_fd fd;
    uint8_t *buf;
    uint32_t asked; /* bytes the op in flight asked for */
    size_t done;    /* bytes through so far */
    unsigned submits, completions, partial;
    bool eof;
} stream;

static void on_sent(cio_loop *loop, cio_op *op);
static void on_received(cio_loop *loop, cio_op *op);

static void stream_submit(cio_loop *loop, stream *st, bool sending) {
    if (sending) {
        st->asked = (uint32_t)(BIG - st->done);
        cio_prep_send(&st->t.op, st->fd, st->buf + st->done, st->asked, MSG_NOSIGNAL);
    } else {
        st->asked = RECV_CHUNK;
        cio_prep_recv(&st->t.op, st->fd, st->buf, st->asked, 0);
    }
    st->t.op.data = st;
    st->t.op.cb = sending ? on_sent : on_received;
    CHECK_EQ(cio_submit(loop, &st->t.op), 0);
    st->submits++;
}

static void on_sent(cio_loop *loop, cio_op *op) {
    stream *st = op->data;
    CHECK_EQ(op->flags & CIO_F_MORE, 0);
    st->completions++;
    CHECK(op->res > 0 && (uint32_t)op->res <= st->asked);
    if ((uint32_t)op->res < st->asked) st->partial++;
    st->done += (size_t)op->res;
    if (st->done < BIG) stream_submit(loop, st, true);
}

static void on_received(cio_loop *loop, cio_op *op) {
    stream *st = op->data;
    CHECK_EQ(op->flags & CIO_F_MORE, 0);
    st->completions++;
    CHECK(op->res >= 0 && (uint32_t)op->res <= st->asked);
    if (op->res == 0) {
        st->eof = true;
        return;
    }
    if ((uint32_t)op->res < st->asked) st->partial++;
    for (int32_t i = 0; i < op->res; i++)
        if (st->buf[i] != pattern(st->done + (size_t)i)) {
            fprintf(stderr, "byte %zu differs\n", st->done + (size_t)i);
            exit(1);
        }
    st->done += (size_t)op->res;
    CHECK(st->done <= BIG);
    /* Keep reading past the end: the last recv must see the sender's shutdown. */
    stream_submit(loop, st, false);
}

static void big_transfer(cio_loop *loop) {
    cio_fd c, s;
    net_pair(loop, AF_INET, &c, &s);
    /* A small send buffer makes partial sends (and so the resubmitting) near certain. */
    int small = 64 << 10;
    CHECK_EQ(t_setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);

    uint8_t *data = malloc(BIG);
    uint8_t *rbuf = malloc(RECV_CHUNK);
    CHECK(data && rbuf);
    for (size_t i = 0; i < BIG; i++) data[i] = pattern(i);
    stream tx = {.fd = c, .buf = data}, rx = {.fd = s, .buf = rbuf};
    stream_submit(loop, &rx, false);
    stream_submit(loop, &tx, true);

    t_op shut = {0};
    bool shut_sent = false;
    double end = t_seconds() + 60;
    while (!rx.eof) {
        CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
        if (tx.done == BIG && !shut_sent) {
            cio_prep_shutdown(&shut.op, c, SHUT_WR);
            net_arm(&shut);
            CHECK_EQ(cio_submit(loop, &shut.op), 0);
            shut_sent = true;
        }
        if (t_seconds() > end) {
            fprintf(stderr, "transfer stuck: sent %zu, received %zu\n", tx.done, rx.done);
            exit(1);
        }
    }
    t_run(loop, 10);
    CHECK_EQ(shut.finals, 1);
    CHECK_EQ(shut.res, 0);
    CHECK_EQ(tx.done, BIG);
    CHECK_EQ(rx.done, BIG);
    CHECK_EQ(tx.submits, tx.completions);
    CHECK_EQ(rx.submits, rx.completions);
    printf("4 MiB: %u sends (%u partial), %u recvs\n", tx.submits, tx.partial, rx.submits);
    free(data);
    free(rbuf);
    CHECK_EQ(t_close_handle(c), 0);
    CHECK_EQ(t_close_handle(s), 0);
}

/* ---- multishot accept ---- */

enum { CLIENTS = 5 };

typedef struct macc {
    t_op t;
    cio_fd fds[CLIENTS + 1];
    int nfds;
    uint8_t final_flags;
} macc;

static void on_macc(cio_loop *loop, cio_op *op) {
    macc *m = (macc *)op;
    if (op->flags & CIO_F_MORE) {
        CHECK(op->res >= 0);
        CHECK(m->nfds <= CLIENTS);
        m->fds[m->nfds++] = cio_op_fd(op);
    } else {
        m->final_flags = op->flags;
    }
    net_cb(loop, op);
}

static void multishot_accept(cio_loop *loop, int family, int nclients, bool cancel_by_op) {
    net_addr at;
    cio_fd lfd = net_listener(loop, family, 16, &at);
    macc m;
    memset(&m, 0, sizeof m);
    cio_prep_accept(&m.t.op, lfd, NULL, NULL, SOCK_CLOEXEC);
    net_arm(&m.t);
    m.t.op.cb = on_macc;
    m.t.op.flags = CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(loop, &m.t.op), 0);

    cio_fd clients[CLIENTS];
    t_op con[CLIENTS];
    for (int i = 0; i < nclients; i++) {
        clients[i] = net_socket(loop, family, SOCK_STREAM | SOCK_CLOEXEC);
        cio_prep_connect(&con[i].op, clients[i], net_sa(&at), at.len);
        net_arm(&con[i]);
        CHECK_EQ(cio_submit(loop, &con[i].op), 0);
    }
    double end = t_seconds() + 10;
    for (;;) {
        int connected = 0;
        for (int i = 0; i < nclients; i++) connected += con[i].finals;
        if (connected == nclients && m.nfds == nclients) break;
        CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
        CHECK(t_seconds() < end);
    }
    for (int i = 0; i < nclients; i++) CHECK_EQ(con[i].res, 0);
    CHECK_EQ(m.t.mores, nclients);
    CHECK_EQ(m.t.finals, 0);

    /* Each new handle is a distinct socket connected to exactly one client. */
    cio_fd server_of[CLIENTS];
    for (int i = 0; i < nclients; i++) server_of[i] = T_FD_NONE;
    for (int k = 0; k < nclients; k++) {
#if !defined(_WIN32)
        CHECK_EQ(fcntl(m.fds[k], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
#endif
        net_addr peer;
        net_peer(m.fds[k], &peer);
        int hits = 0;
        for (int i = 0; i < nclients; i++) {
            net_addr local;
            net_local(clients[i], &local);
            if (net_same(&peer, &local)) {
                CHECK(server_of[i] == T_FD_NONE);
                server_of[i] = m.fds[k];
                hits++;
            }
        }
        CHECK_EQ(hits, 1);
    }
    for (int i = 0; i < nclients; i++) net_exchange(loop, clients[i], server_of[i], "multishot");

    t_op cancel;
    if (cancel_by_op) {
        cio_prep_cancel(&cancel.op, &m.t.op);
        CHECK_EQ(net_do(loop, &cancel), 0);
    } else {
        CHECK_EQ(cio_cancel(loop, &m.t.op), 0);
    }
    CHECK_EQ(net_wait(loop, &m.t, 10), -CIO_ECANCELED);
    CHECK_EQ(m.final_flags & CIO_F_MORE, 0);
    CHECK_EQ(m.t.mores, nclients);
    CHECK_EQ(m.nfds, nclients);
    net_settle(loop);
    CHECK_EQ(m.t.finals, 1);
    CHECK_EQ(m.t.mores, nclients);
    /* Cancelled and completed: nothing left to cancel. */
    CHECK_EQ(cio_cancel(loop, &m.t.op), -CIO_ENOENT);

    for (int i = 0; i < nclients; i++) {
        CHECK_EQ(t_close_handle(clients[i]), 0);
        CHECK_EQ(t_close_handle(m.fds[i]), 0);
    }
    CHECK_EQ(t_close_handle(lfd), 0);
}

/* The caller stops a multishot accept from its own callback. Connections
 * the kernel had already taken may still be reported before the final
 * completion (in the same batch of completions); none after it. */
static int selfcancel_result = 1;

static void on_macc_selfcancel(cio_loop *loop, cio_op *op) {
    macc *m = (macc *)op;
    bool first = (op->flags & CIO_F_MORE) && m->nfds == 0;
    on_macc(loop, op);
    if (first) selfcancel_result = cio_cancel(loop, op);
}

static void multishot_accept_self_cancel(cio_loop *loop) {
    enum { N = 3 };
    net_addr at;
    cio_fd lfd = net_listener(loop, AF_INET, 16, &at);
    macc m;
    memset(&m, 0, sizeof m);
    cio_prep_accept(&m.t.op, lfd, NULL, NULL, SOCK_CLOEXEC);
    net_arm(&m.t);
    m.t.op.cb = on_macc_selfcancel;
    m.t.op.flags = CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(loop, &m.t.op), 0);
    cio_fd clients[N];
    t_op con[N];
    for (int i = 0; i < N; i++) {
        clients[i] = net_socket(loop, AF_INET, SOCK_STREAM | SOCK_CLOEXEC);
        cio_prep_connect(&con[i].op, clients[i], net_sa(&at), at.len);
        net_arm(&con[i]);
        CHECK_EQ(cio_submit(loop, &con[i].op), 0);
    }
    CHECK_EQ(net_wait(loop, &m.t, 10), -CIO_ECANCELED);
    CHECK_EQ(selfcancel_result, 0);
    CHECK_EQ(m.final_flags & CIO_F_MORE, 0);
    CHECK(m.t.mores >= 1 && m.t.mores <= N);
    CHECK_EQ(m.nfds, m.t.mores);
    t_run(loop, 10);
    for (int i = 0; i < N; i++) CHECK_EQ(con[i].res, 0);
    net_settle(loop);
    CHECK_EQ(m.t.finals, 1);
    for (int k = 0; k < m.nfds; k++) CHECK_EQ(t_close_handle(m.fds[k]), 0);
    for (int i = 0; i < N; i++) CHECK_EQ(t_close_handle(clients[i]), 0);
    CHECK_EQ(t_close_handle(lfd), 0);
}

/* A multishot accept ends on its own when an error stops it: here the
 * listener is shut down, which makes accept fail with EINVAL. */
static void multishot_accept_ended(cio_loop *loop) {
    net_addr at;
    cio_fd lfd = net_listener(loop, AF_INET, 8, &at);
    macc m;
    memset(&m, 0, sizeof m);
    cio_prep_accept(&m.t.op, lfd, NULL, NULL, SOCK_CLOEXEC);
    net_arm(&m.t);
    m.t.op.cb = on_macc;
    m.t.op.flags = CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(loop, &m.t.op), 0);
    cio_fd c = net_socket(loop, AF_INET, SOCK_STREAM | SOCK_CLOEXEC);
    t_op t;
    cio_prep_connect(&t.op, c, net_sa(&at), at.len);
    CHECK_EQ(net_do(loop, &t), 0);
    double end = t_seconds() + 10;
    while (m.nfds < 1) {
        CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
        CHECK(t_seconds() < end);
    }
    cio_prep_shutdown(&t.op, lfd, SHUT_RDWR);
    CHECK_EQ(net_do(loop, &t), 0);
    CHECK_EQ(net_wait(loop, &m.t, 10), -CIO_EINVAL);
    CHECK_EQ(m.final_flags & CIO_F_MORE, 0);
    CHECK_EQ(m.t.mores, 1);
    net_settle(loop);
    CHECK_EQ(m.t.finals, 1);
    CHECK_EQ(t_close_handle(m.fds[0]), 0);
    CHECK_EQ(t_close_handle(c), 0);
    CHECK_EQ(t_close_handle(lfd), 0);
}

/* A never-connected stream socket: a send is -CIO_EPIPE, with
 * MSG_DONTWAIT too (it does not wait for room, it fails). */
static void send_never_connected(cio_loop *loop) {
    cio_fd s = net_socket(loop, AF_INET, SOCK_STREAM | SOCK_CLOEXEC);
    t_op t;
    cio_prep_send(&t.op, s, "x", 1, CIO_MSG_DONTWAIT | MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &t), -CIO_EPIPE);
    cio_prep_send(&t.op, s, "x", 1, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &t), -CIO_EPIPE);
    CHECK_EQ(t_close_handle(s), 0);
}

/* listen() again after a listener's shutdown: Linux takes connections
 * again, and an accept gets one (relisten.c in the review of 23f9c32). */
static void relisten_after_shutdown(cio_loop *loop) {
    net_addr at;
    cio_fd lfd = net_listener(loop, AF_INET, 4, &at);
    t_op t;
    cio_prep_shutdown(&t.op, lfd, CIO_SHUT_RDWR);
    CHECK_EQ(net_do(loop, &t), 0);
    cio_prep_listen(&t.op, lfd, 4);
    CHECK_EQ(net_do(loop, &t), 0);
    net_local(lfd, &at); /* Linux gives an ephemeral port back at the shutdown: listen took a new one */
    cio_fd c = t_sys_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(c != T_FD_NONE);
    CHECK_EQ(connect(c, net_sa(&at), at.len), 0);
    cio_prep_accept(&t.op, lfd, NULL, NULL, SOCK_CLOEXEC);
    int32_t r = net_do(loop, &t);
    CHECK(r >= 0);
    cio_fd a = t_fd(&t);
    CHECK_EQ(t_sys_send(c, "hi", 2, MSG_NOSIGNAL), 2);
    char buf[2];
    cio_prep_recv(&t.op, a, buf, 2, MSG_WAITALL);
    CHECK_EQ(net_do(loop, &t), 2);
    CHECK(memcmp(buf, "hi", 2) == 0);
    CHECK_EQ(t_close_handle(a), 0);
    CHECK_EQ(t_close_handle(c), 0);
    CHECK_EQ(t_close_handle(lfd), 0);
}

int main(void) {
    net_watchdog(240);
    have_v6 = net_have_ipv6();
    cio_loop loop;
    t_loop_init(&loop, 64);

    accept_connect(&loop, AF_INET);
    accept_connect_errors(&loop, AF_INET);
    send_recv(&loop, AF_INET);
    if (have_v6) {
        accept_connect(&loop, AF_INET6);
        accept_connect_errors(&loop, AF_INET6);
        send_recv(&loop, AF_INET6);
    }
    accept_connect_refusals(&loop);
    send_recv_errors(&loop);
    big_transfer(&loop);
    multishot_accept(&loop, AF_INET, CLIENTS, true);
    multishot_accept(&loop, have_v6 ? AF_INET6 : AF_INET, 2, false);
        multishot_accept_ended(&loop);
    multishot_accept_self_cancel(&loop);
    send_never_connected(&loop);
    relisten_after_shutdown(&loop);

    net_close_loop(&loop);
    puts("tcp: ok");
    return 0;
}
