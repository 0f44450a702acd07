/*
 * bench/echo_cio1.c - the echo server on cio with callbacks and ONE 4 KiB
 * buffer per connection, for bench/idle_mem.sh: the plainest callback
 * server, set against libuv's and the raw epoll server's one buffer per
 * connection. (bench/echo_cio.c, the echo scenario's callback server, has
 * two, so that the next receive is posted with the send.)
 *
 * Usage: echo_cio1 BACKEND CONNS (see bench/echo.h for the protocol).
 *
 * Each connection is one struct embedding one op and its buffer: receive,
 * send back all of it, receive again; the same op does all three, one at
 * a time, and finally closes the socket.
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_cio.h"
#include "echo.h"

typedef struct server {
    cio_loop loop;
    cio_op accept_op; /* accepts CONNS connections, then closes the listener */
    cio_fd lfd;
    unsigned conns, accepted, open;
    uint64_t recvs;
} server;

typedef struct conn {
    cio_op op; /* the receive, the send, and last the close */
    server *srv;
    cio_fd fd;
    uint32_t off, len; /* of the reply being sent */
    char buf[ECHO_BUF];
} conn;

static void fail(const char *what, int err) {
    fprintf(stderr, "echo_cio1: %s: %s\n", what, cio_strerror(err));
    exit(1);
}

static void submit(cio_loop *loop, cio_op *op, cio_cb cb, void *data, const char *what) {
    op->cb = cb;
    op->data = data;
    int r = cio_submit(loop, op);
    if (r < 0) fail(what, r);
}

static void on_recv(cio_loop *loop, cio_op *op);
static void on_send(cio_loop *loop, cio_op *op);

static void start_recv(cio_loop *loop, conn *c) {
    cio_prep_recv(&c->op, c->fd, c->buf, ECHO_BUF, 0);
    submit(loop, &c->op, on_recv, c, "submit recv");
}

static void send_rest(cio_loop *loop, conn *c) {
    cio_prep_send(&c->op, c->fd, c->buf + c->off, c->len - c->off, ECHO_NOSIGNAL);
    submit(loop, &c->op, on_send, c, "submit send");
}

static void on_close(cio_loop *loop, cio_op *op) {
    (void)loop;
    conn *c = op->data;
    if (op->res < 0) fail("close", op->res);
    c->srv->open--;
    free(c);
}

static void on_recv(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    if (op->res < 0) fail("recv", op->res);
    if (op->res == 0) { /* the client closed: all was echoed */
        cio_prep_close(&c->op, c->fd);
        submit(loop, &c->op, on_close, c, "submit close");
        return;
    }
    c->srv->recvs++;
    c->off = 0;
    c->len = (uint32_t)op->res;
    send_rest(loop, c);
}

static void on_send(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    if (op->res < 0) fail("send", op->res);
    c->off += (uint32_t)op->res;
    if (c->off < c->len)
        send_rest(loop, c);
    else
        start_recv(loop, c);
}

static void on_accept(cio_loop *loop, cio_op *op) {
    server *s = op->data;
    if (op->res < 0) fail("accept", op->res);
    /* malloc, not calloc: only what the connection writes becomes resident. */
    conn *c = malloc(sizeof *c);
    if (!c) fail("malloc", -CIO_ENOMEM);
    c->srv = s;
    c->fd = cio_op_fd(op);
    echo_nodelay(c->fd);
    s->accepted++;
    s->open++;
    start_recv(loop, c);
    if (s->accepted < s->conns) {
        cio_prep_accept(&s->accept_op, s->lfd, NULL, NULL, CIO_SOCK_CLOEXEC);
        submit(loop, &s->accept_op, on_accept, s, "submit accept");
    } else {
        cio_prep_close(&s->accept_op, s->lfd);
        submit(loop, &s->accept_op, NULL, s, "submit close");
    }
}

int main(int argc, char **argv) {
    const char *usage = "BACKEND CONNS";
    if (argc != 3) {
        fprintf(stderr, "usage: %s %s\n", argv[0], usage);
        return 2;
    }
    static server s;
    cio_backend_kind kind = bench_backend(argv[0], argv[1]);
    s.conns = echo_conns_arg(argv[0], argv[2], usage);
    s.lfd = echo_listen(s.conns < 128 ? 128 : (int)s.conns);
    bench_loop_init(argv[0], &s.loop, kind, 0);

    cio_prep_accept(&s.accept_op, s.lfd, NULL, NULL, CIO_SOCK_CLOEXEC);
    submit(&s.loop, &s.accept_op, on_accept, &s, "submit accept");
    int r = cio_loop_run(&s.loop, CIO_RUN_DEFAULT);
    if (r < 0) fail("cio_loop_run", r);
    if (r > 0 || s.open != 0 || s.accepted != s.conns) {
        fprintf(stderr, "echo_cio1: loop ended with %d ops active, %u of %u connections open\n", r, s.open,
                s.conns);
        return 1;
    }
    cio_stats st;
    cio_loop_stats(&s.loop, &st);
    char impl[32];
    snprintf(impl, sizeof impl, "cio-1buf-%s", cio_backend_name(kind));
    echo_server_report_cq(impl, s.conns, s.recvs, st.enters, st.cq_overflows);
    return cio_loop_close(&s.loop) == 0 ? 0 : 1;
}
