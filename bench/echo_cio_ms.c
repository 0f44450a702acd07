/*
 * bench/echo_cio_ms.c - the echo server on cio with multishot receives from
 * a buffer pool (cio/bufpool.h), for bench/echo.sh: cio's answer to the raw
 * liburing server with multishot receives and a buffer ring
 * (bench/echo_uring_ms.c), written the same way over cio's portable ops.
 *
 * Usage: echo_cio_ms BACKEND CONNS (see bench/echo.h for the protocol).
 *
 * One pool of 4 KiB buffers for the loop, at least two per connection.
 * Each connection is one struct embedding a multishot recv_pool op, armed
 * once, and a send op: each arrival names the buffer it filled, which is
 * sent back as it is and put back into the pool once the send has
 * completed. A connection has at most one send in flight; what arrives
 * meanwhile waits in its queue of buffers. On io_uring the pool is a
 * kernel buffer ring and the receive IORING_RECV_MULTISHOT; on epoll and
 * poll cio takes a buffer from the pool right before each receive.
 */
#include <cio.h>
#include <cio/bufpool.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cio.h"
#include "echo.h"

#define NO_BUF UINT32_MAX

typedef struct server {
    cio_loop loop;
    cio_op accept_op; /* accepts CONNS connections, then closes the listener */
    cio_fd lfd;
    cio_bufpool *pool;
    uint32_t *next_buf, *buf_len; /* per buffer: the connections' send queues */
    struct conn *starved;         /* receives to arm again once buffers are back */
    unsigned conns, accepted, open;
    uint64_t recvs;
} server;

typedef struct conn {
    cio_op recv_op; /* the multishot receive */
    cio_op send_op; /* sends the head buffer; finally closes the socket */
    server *srv;
    cio_fd fd;
    uint32_t head, tail; /* buffers to echo, linked by next_buf[]; NO_BUF when empty */
    uint32_t off;        /* bytes of the head buffer already sent */
    bool sending, receiving, eof;
    struct conn *starved;
} conn;

static void fail(const char *what, int err) {
    fprintf(stderr, "echo_cio_ms: %s: %s\n", what, cio_strerror(err));
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

static void arm_recv(cio_loop *loop, conn *c) {
    cio_prep_recv_pool(&c->recv_op, c->fd, c->srv->pool, 0);
    c->recv_op.flags |= CIO_F_MULTISHOT;
    c->receiving = true;
    submit(loop, &c->recv_op, on_recv, c, "submit recv_pool");
}

static void send_head(cio_loop *loop, conn *c) {
    server *s = c->srv;
    char *buf = cio_bufpool_buf(s->pool, c->head);
    cio_prep_send(&c->send_op, c->fd, buf + c->off, s->buf_len[c->head] - c->off, ECHO_NOSIGNAL);
    c->sending = true;
    submit(loop, &c->send_op, on_send, c, "submit send");
}

static void on_close(cio_loop *loop, cio_op *op) {
    (void)loop;
    conn *c = op->data;
    if (op->res < 0) fail("close", op->res);
    c->srv->open--;
    free(c);
}

static void close_if_done(cio_loop *loop, conn *c) {
    if (!c->eof || c->sending || c->receiving) return;
    cio_prep_close(&c->send_op, c->fd);
    submit(loop, &c->send_op, on_close, c, "submit close");
}

static void on_recv(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    server *s = c->srv;
    if (!(op->flags & CIO_F_MORE)) c->receiving = false;
    if (op->res > 0) {
        s->recvs++;
        uint32_t id = cio_op_buf_id(op);
        s->buf_len[id] = (uint32_t)op->res;
        s->next_buf[id] = NO_BUF;
        if (c->head == NO_BUF)
            c->head = id;
        else
            s->next_buf[c->tail] = id;
        c->tail = id;
        if (!c->sending) {
            c->off = 0;
            send_head(loop, c);
        }
        if (!c->receiving) arm_recv(loop, c); /* ended with data: not expected, but go on */
        return;
    }
    if (op->res == -CIO_ENOBUFS) { /* the pool ran dry: arm again once a buffer is back */
        c->starved = s->starved;
        s->starved = c;
        return;
    }
    if (op->res < 0) fail("recv_pool", op->res); /* the client closes only when all is echoed */
    c->eof = true;
    close_if_done(loop, c);
}

static void on_send(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    server *s = c->srv;
    if (op->res < 0) fail("send", op->res);
    c->off += (uint32_t)op->res;
    uint32_t id = c->head;
    if (c->off < s->buf_len[id]) { /* a short send: the rest */
        send_head(loop, c);
        return;
    }
    c->head = s->next_buf[id];
    c->off = 0;
    int r = cio_bufpool_put(s->pool, id);
    if (r < 0) fail("cio_bufpool_put", r);
    while (s->starved) { /* rare: only after -CIO_ENOBUFS */
        conn *w = s->starved;
        s->starved = w->starved;
        w->starved = NULL;
        arm_recv(loop, w);
    }
    if (c->head != NO_BUF) {
        send_head(loop, c);
        return;
    }
    c->sending = false;
    close_if_done(loop, c);
}

static void on_accept(cio_loop *loop, cio_op *op) {
    server *s = op->data;
    if (op->res < 0) fail("accept", op->res);
    conn *c = calloc(1, sizeof *c);
    if (!c) fail("calloc", -CIO_ENOMEM);
    c->srv = s;
    c->fd = cio_op_fd(op);
    c->head = c->tail = NO_BUF;
    echo_nodelay(c->fd);
    s->accepted++;
    s->open++;
    arm_recv(loop, c);
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

    uint32_t count = 64;
    while (count < 2 * s.conns && count < CIO_BUFPOOL_MAX_COUNT) count *= 2;
    /* ECHO_BUFS=N (a power of two) forces a smaller pool, to check the
     * -CIO_ENOBUFS path; bench/echo.sh does not set it. */
    const char *force = getenv("ECHO_BUFS");
    if (force) count = (uint32_t)strtoul(force, NULL, 10);
    int r = cio_bufpool_create(&s.loop, count, ECHO_BUF, &s.pool);
    if (r < 0) fail("cio_bufpool_create", r);
    s.next_buf = malloc(count * sizeof *s.next_buf);
    s.buf_len = malloc(count * sizeof *s.buf_len);
    if (!s.next_buf || !s.buf_len) fail("malloc", -CIO_ENOMEM);

    cio_prep_accept(&s.accept_op, s.lfd, NULL, NULL, CIO_SOCK_CLOEXEC);
    submit(&s.loop, &s.accept_op, on_accept, &s, "submit accept");
    r = cio_loop_run(&s.loop, CIO_RUN_DEFAULT);
    if (r < 0) fail("cio_loop_run", r);
    if (r > 0 || s.open != 0 || s.accepted != s.conns) {
        fprintf(stderr, "echo_cio_ms: loop ended with %d ops active, %u of %u connections open\n", r, s.open,
                s.conns);
        return 1;
    }

    cio_stats st;
    cio_loop_stats(&s.loop, &st);
    char impl[32];
    snprintf(impl, sizeof impl, "cio-ms-%s", cio_backend_name(kind));
    echo_server_report_cq(impl, s.conns, s.recvs, st.enters, st.cq_overflows);
    if ((r = cio_bufpool_destroy(s.pool)) < 0) fail("cio_bufpool_destroy", r);
    return cio_loop_close(&s.loop) == 0 ? 0 : 1;
}
