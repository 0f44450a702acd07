/*
 * bench/echo_cio.c - the echo server on cio, for bench/echo.sh.
 *
 * Usage: echo_cio [-F] BACKEND CONNS (see bench/echo.h for the protocol).
 * -F: fixed files (cio/fixed.h): the listener and every connection are
 * fixed handles, and every op names them with CIO_F_FIXED_FILE (on
 * io_uring, slots of the ring's registered table). TCP_NODELAY is set on
 * the listener, whose connections inherit it (a fixed handle takes no
 * setsockopt).
 *
 * Written the way cio is meant to be used: every connection is one struct
 * that embeds its ops (a receive and a send), each op carries the
 * connection in op->data, and each callback submits the connection's next
 * step. Nothing here knows which backend runs it.
 *
 * The connection is full duplex with two buffers: when a receive brings
 * data, the server sends that buffer back and at once receives into the
 * other one, so that on io_uring the send and the next receive reach the
 * kernel in the same io_uring_enter, the one that also waits. Should data
 * arrive while a send is still in flight, it is held (and no receive is
 * posted) until the send is done: the client cannot outrun the server.
 */
#include <cio.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cio.h"
#include "echo.h"

typedef struct server {
    cio_loop loop;
    cio_op accept_op; /* accepts CONNS connections, then closes the listener */
    cio_fd lfd;
    unsigned conns;    /* connections to accept */
    unsigned accepted;
    unsigned open;     /* accepted and not yet closed */
    uint64_t recvs;    /* receives that brought data */
    uint8_t fixed;     /* -F: CIO_F_FIXED_FILE, set on every op; else 0 */
} server;

typedef struct conn {
    cio_op recv_op; /* receives into buf[in]; finally closes the socket */
    cio_op send_op; /* sends buf[out] from send_off to send_len */
    server *srv;
    cio_fd fd;
    unsigned in, out;
    uint32_t held; /* bytes in buf[in] that arrived while a send was in flight */
    uint32_t send_off, send_len;
    bool receiving, sending, eof;
    char buf[2][ECHO_BUF];
} conn;

/* A benchmark with a failed op measures nothing: stop at once. */
static void fail(const char *what, int err) {
    fprintf(stderr, "echo_cio: %s: %s\n", what, cio_strerror(err));
    exit(1);
}

static uint8_t fixed_flag; /* server.fixed, for the ops of every connection */

static void submit(cio_loop *loop, cio_op *op, cio_cb cb, void *data, const char *what) {
    op->cb = cb;
    op->data = data;
    op->flags |= fixed_flag;
    int r = cio_submit(loop, op);
    if (r < 0) fail(what, r);
}

static void on_recv(cio_loop *loop, cio_op *op);
static void on_send(cio_loop *loop, cio_op *op);

static void start_recv(cio_loop *loop, conn *c) {
    cio_prep_recv(&c->recv_op, c->fd, c->buf[c->in], ECHO_BUF, 0);
    c->receiving = true;
    submit(loop, &c->recv_op, on_recv, c, "submit recv");
}

static void send_rest(cio_loop *loop, conn *c) {
    cio_prep_send(&c->send_op, c->fd, c->buf[c->out] + c->send_off, c->send_len - c->send_off, ECHO_NOSIGNAL);
    submit(loop, &c->send_op, on_send, c, "submit send");
}

/* Echoes the `len` bytes in buf[in], and receives into the other buffer. */
static void echo(cio_loop *loop, conn *c, uint32_t len) {
    c->out = c->in;
    c->in ^= 1;
    c->send_off = 0;
    c->send_len = len;
    c->sending = true;
    send_rest(loop, c);
    start_recv(loop, c);
}

static void on_close(cio_loop *loop, cio_op *op) {
    (void)loop;
    conn *c = op->data;
    if (op->res < 0) fail("close", op->res);
    c->srv->open--;
    free(c);
}

/* Once the client has closed its side and nothing is in flight, close ours. */
static void close_if_done(cio_loop *loop, conn *c) {
    if (!c->eof || c->sending || c->receiving) return;
    cio_prep_close(&c->recv_op, c->fd);
    submit(loop, &c->recv_op, on_close, c, "submit close");
}

static void on_recv(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    c->receiving = false;
    if (op->res < 0) fail("recv", op->res); /* the client closes only when all is echoed */
    if (op->res == 0) {
        c->eof = true;
        close_if_done(loop, c);
        return;
    }
    c->srv->recvs++;
    if (c->sending)
        c->held = (uint32_t)op->res; /* wait for the send; no receive meanwhile */
    else
        echo(loop, c, (uint32_t)op->res);
}

static void on_send(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    if (op->res < 0) fail("send", op->res);
    c->send_off += (uint32_t)op->res;
    if (c->send_off < c->send_len) { /* a short send: the rest goes next */
        send_rest(loop, c);
        return;
    }
    c->sending = false;
    if (c->held) {
        uint32_t len = c->held;
        c->held = 0;
        echo(loop, c, len);
    }
    close_if_done(loop, c);
}

static void on_accept(cio_loop *loop, cio_op *op) {
    server *s = op->data;
    if (op->res < 0) fail("accept", op->res);
    conn *c = calloc(1, sizeof *c);
    if (!c) fail("calloc", -CIO_ENOMEM);
    c->srv = s;
    c->fd = cio_op_fd(op);
    if (!s->fixed) echo_nodelay(c->fd);
    s->accepted++;
    s->open++;
    start_recv(loop, c);
    /* The accept op is idle again inside its callback: reuse it for the
     * next connection, or to close the listener once all have come. */
    if (s->accepted < s->conns) {
        cio_prep_accept(&s->accept_op, s->lfd, NULL, NULL, CIO_SOCK_CLOEXEC);
        submit(loop, &s->accept_op, on_accept, s, "submit accept");
    } else {
        cio_prep_close(&s->accept_op, s->lfd);
        submit(loop, &s->accept_op, NULL, s, "submit close");
    }
}

int main(int argc, char **argv) {
    const char *usage = "[-F] BACKEND CONNS";
    static server s; /* the loop is large; keep it off the stack */
    if (argc == 4 && strcmp(argv[1], "-F") == 0) {
        s.fixed = CIO_F_FIXED_FILE;
        argv++;
        argc--;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s %s\n", argv[0], usage);
        return 2;
    }
    cio_backend_kind kind = bench_backend(argv[0], argv[1]);
    s.conns = echo_conns_arg(argv[0], argv[2], usage);
    s.lfd = echo_listen(s.conns < 128 ? 128 : (int)s.conns);
    /* Two ops per connection, and the accept: the default ring has room. */
    bench_loop_init(argv[0], &s.loop, kind, 0);
    if (s.fixed) {
        echo_nodelay(s.lfd);
        int r = cio_files_reserve(&s.loop, s.conns + 1);
        if (r < 0) fail("cio_files_reserve", r);
        if ((r = cio_file_fix(&s.loop, s.lfd, &s.lfd)) < 0) fail("cio_file_fix", r);
        fixed_flag = s.fixed;
        fprintf(stderr, "echo_cio: fixed files, %s\n",
                cio_files_registered(&s.loop) ? "registered with the kernel" : "plain handles");
    }

    cio_prep_accept(&s.accept_op, s.lfd, NULL, NULL, CIO_SOCK_CLOEXEC);
    submit(&s.loop, &s.accept_op, on_accept, &s, "submit accept");
    int r = cio_loop_run(&s.loop, CIO_RUN_DEFAULT); /* until the last connection is closed */
    if (r < 0) fail("cio_loop_run", r);
    if (r > 0 || s.open != 0 || s.accepted != s.conns) {
        fprintf(stderr, "echo_cio: loop ended with %d ops active, %u of %u connections open\n", r, s.open,
                s.conns);
        return 1;
    }

    cio_stats st;
    cio_loop_stats(&s.loop, &st);
    char impl[32];
    snprintf(impl, sizeof impl, "cio-%s%s", cio_backend_name(kind), s.fixed ? "-F" : "");
    echo_server_report_cq(impl, s.conns, s.recvs, st.enters, st.cq_overflows);
    return cio_loop_close(&s.loop) == 0 ? 0 : 1;
}
