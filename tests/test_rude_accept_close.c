/*
 * Peers that connect and leave at once: 200 plain-socket clients against a
 * cio server with one multishot accept and a recv per connection. Each
 * client closes right after connect(2) returns, in one of four ways: a
 * plain close (FIN), a reset (SO_LINGER {1,0}), a few bytes then close,
 * shutdown(SHUT_WR) then close. Many are gone before cio accepts them.
 *
 * What must hold, on every backend: every connection is accepted once;
 * its recvs end with exactly one 0 or -CIO_ECONNRESET (only the resetting
 * clients may produce a reset); the bytes the clients sent all arrive;
 * each accepted socket is closed by a cio close op; every op completes
 * once; the process holds the same descriptors afterwards as before
 * (/proc/self/fd); the loop closes with 0.
 *
 * CIO_TEST_PORTABLE (Windows: the process's handle count is the leak oracle)
 */
#include "rude.h"

enum { PEERS = 200, MODES = 4 };

/* Windows (and Wine) drop a pending connection that the client resets
 * before it is accepted, where Linux still hands it to accept: there the
 * resetting clients close plainly instead (a skip by name, in main). */
static bool no_resets;

typedef struct conn {
    t_op rcv; /* first: its callback gets &rcv.op */
    t_op cls;
    cio_fd fd;
    char buf[64];
    unsigned recvs;
} conn;

typedef struct server {
    t_op acc; /* first */
    conn conns[PEERS];
    int accepted;
    int ended_eof, ended_reset, ended_other;
    int closed;
    size_t bytes;
} server;

static server srv;

static void on_closed(cio_loop *loop, cio_op *op) {
    (void)loop;
    conn *c = (conn *)((char *)op - offsetof(conn, cls));
    CHECK_EQ(c->cls.finals, 0);
    c->cls.finals = 1;
    CHECK_EQ(op->res, 0);
    srv.closed++;
}

static void on_recv(cio_loop *loop, cio_op *op);

static void submit_recv(cio_loop *loop, conn *c) {
    cio_prep_recv(&c->rcv.op, c->fd, c->buf, sizeof c->buf, 0);
    c->rcv.op.cb = on_recv;
    CHECK_EQ(cio_submit(loop, &c->rcv.op), 0);
    c->recvs++;
}

static void on_recv(cio_loop *loop, cio_op *op) {
    conn *c = (conn *)op;
    CHECK_EQ(op->flags & CIO_F_MORE, 0);
    CHECK_EQ(c->rcv.finals, 0); /* the recv in flight had not completed yet */
    int32_t r = op->res;
    if (r > 0) {
        srv.bytes += (size_t)r;
        submit_recv(loop, c);
        return;
    }
    c->rcv.finals = 1;
    if (r == 0)
        srv.ended_eof++;
    else if (r == -CIO_ECONNRESET)
        srv.ended_reset++;
    else {
        fprintf(stderr, "recv on an accepted socket ended with %d (%s)\n", r, cio_strerror(r));
        srv.ended_other++;
    }
    cio_prep_close(&c->cls.op, c->fd);
    c->cls.finals = 0;
    c->cls.op.cb = on_closed;
    CHECK_EQ(cio_submit(loop, &c->cls.op), 0);
}

static void on_accept(cio_loop *loop, cio_op *op) {
    if (!(op->flags & CIO_F_MORE)) {
        net_cb(loop, op); /* the final completion: once */
        return;
    }
    srv.acc.mores++;
    CHECK(op->res >= 0);
    CHECK(srv.accepted < PEERS);
    conn *c = &srv.conns[srv.accepted++];
    c->fd = cio_op_fd(op);
    submit_recv(loop, c);
}

/* The client side: plain calls only, one connection after another. */
typedef struct clients {
    cio_loop *loop; /* woken when the clients are done */
    net_addr at;
    size_t bytes;     /* sent by the clients that send before closing */
    int resets;       /* clients that reset */
    int connected;
    int err;
    volatile int done;
} clients;

static void *client_main(void *arg) {
    clients *cl = arg;
    for (int i = 0; i < PEERS; i++) {
        cio_fd fd = t_sys_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd == T_FD_NONE || connect(fd, net_sa(&cl->at), cl->at.len) != 0) {
            cl->err = t_sock_error();
            if (fd != T_FD_NONE) t_close_handle(fd);
            break;
        }
        cl->connected++;
        switch (i % MODES) {
        case 0:
            t_close_handle(fd);
            break;
        case 1:
            if (no_resets) {
                t_close_handle(fd);
                break;
            }
            rude_reset_close(fd);
            cl->resets++;
            break;
        case 2: {
            char msg[8] = "rude!!!";
            size_t k = 1 + (size_t)(i % 7);
            long long sent = t_sys_send(fd, msg, k, MSG_NOSIGNAL);
            if (sent != (long long)k) cl->err = sent < 0 ? (int)-sent : EIO;
            cl->bytes += k;
            t_close_handle(fd);
            break;
        }
        default:
            shutdown(fd, SHUT_WR);
            t_close_handle(fd);
            break;
        }
    }
    /* The server may have handled every connection before this store: the
     * wake keeps its loop from waiting on with only the accept in flight. */
    __atomic_store_n(&cl->done, 1, __ATOMIC_RELEASE);
    CHECK_EQ(cio_loop_wake(cl->loop), 0);
    return NULL;
}

int main(void) {
    no_resets = T_SKIP_CASE_ON_WINDOWS("reset_before_accept", "the system drops a connection reset before it "
                                                              "is accepted (Windows and Wine; win-test-findings 13): "
                                                              "those clients close plainly there");
    rude_warm_up();
    int fds_before = rude_fd_count();
    cio_loop loop;
    t_loop_init(&loop, 256);
    net_watchdog(30);
    int fds_loop = rude_fd_count();

    clients cl;
    memset(&cl, 0, sizeof cl);
    memset(&srv, 0, sizeof srv);
    cl.loop = &loop;
    cio_fd lfd = net_listener(&loop, AF_INET, PEERS + 16, &cl.at);
    cio_prep_accept(&srv.acc.op, lfd, NULL, NULL, SOCK_CLOEXEC);
    t_arm(&srv.acc);
    srv.acc.op.cb = on_accept;
    srv.acc.op.flags = CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(&loop, &srv.acc.op), 0);

    t_thread th;
    CHECK_EQ(t_thread_start(&th, client_main, &cl), 0);
    double end = t_seconds() + 15;
    while (!__atomic_load_n(&cl.done, __ATOMIC_ACQUIRE) || srv.closed < cl.connected) {
        CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
        if (t_seconds() > end) {
            fprintf(stderr, "after 15 s: %d connected, %d accepted, %d closed (eof %d, reset %d)\n",
                    cl.connected, srv.accepted, srv.closed, srv.ended_eof, srv.ended_reset);
            exit(1);
        }
    }
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(cl.err, 0);
    CHECK_EQ(cl.connected, PEERS);
    printf("%d accepted: %d end of stream, %d reset, %zu bytes\n", srv.accepted, srv.ended_eof,
           srv.ended_reset, srv.bytes);
    CHECK_EQ(srv.accepted, PEERS);
    CHECK_EQ(srv.acc.mores, PEERS);
    CHECK_EQ(srv.acc.finals, 0);
    CHECK_EQ(srv.ended_other, 0);
    CHECK_EQ(srv.ended_eof + srv.ended_reset, PEERS);
    CHECK(srv.ended_reset <= cl.resets);
    CHECK_EQ(srv.bytes, cl.bytes);
    CHECK_EQ(srv.closed, PEERS);
    for (int i = 0; i < PEERS; i++) {
        CHECK_EQ(srv.conns[i].rcv.finals, 1);
        CHECK_EQ(srv.conns[i].cls.finals, 1);
    }

    /* Stop accepting; the multishot accept ends once, cancelled. */
    CHECK_EQ(cio_cancel(&loop, &srv.acc.op), 0);
    CHECK_EQ(net_wait(&loop, &srv.acc, 10), -CIO_ECANCELED);
    t_op t;
    cio_prep_close(&t.op, lfd);
    CHECK_EQ(net_do(&loop, &t), 0);
    net_settle(&loop);
    CHECK_EQ(srv.acc.finals, 1);
    CHECK_EQ(srv.acc.mores, PEERS);

    /* Nothing leaked: every accepted socket is closed, the listener too. */
    CHECK_EQ(rude_fd_count(), fds_loop);
    net_close_loop(&loop);
    CHECK_EQ(rude_fd_count(), fds_before);
    printf("rude accept and close: ok\n");
    return 0;
}
