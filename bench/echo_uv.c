/*
 * bench/echo_uv.c - the echo server on libuv, the anchor for
 * bench/echo_cio.c among event-loop libraries. Built only when libuv is
 * found (bench/CMakeLists.txt).
 *
 * Usage: echo_uv CONNS (see bench/echo.h for the protocol).
 *
 * libuv's usual shape: uv_read_start() keeps reading into the connection's
 * buffer, and each chunk read is copied into a write request and sent with
 * uv_write(), which writes at once when nothing is queued before it and
 * reports completion on the next loop iteration. A prepare handle counts
 * the iterations, each of which polls (epoll_wait) once, as `enters`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "echo.h"

typedef struct conn {
    uv_tcp_t tcp; /* first: libuv hands back the handle, which is the conn */
    char buf[ECHO_BUF];
} conn;

/* A write request owns a copy of what it sends: the read buffer is reused
 * by the next read before the write has completed. */
typedef struct write_req {
    uv_write_t req;
    char data[];
} write_req;

static uv_tcp_t listener;
static unsigned conns, accepted;
static uint64_t recvs, enters;

static void check(int r, const char *what) {
    if (r < 0) {
        fprintf(stderr, "echo_uv: %s: %s\n", what, uv_strerror(r));
        exit(1);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    conn *c = (conn *)h;
    *buf = uv_buf_init(c->buf, sizeof c->buf);
}

static void on_closed(uv_handle_t *h) { free(h); }

static void on_written(uv_write_t *req, int status) {
    check(status, "write");
    free(req);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    if (n == UV_EOF) {
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    check((int)n, "read"); /* the client closes only when all is echoed */
    if (n == 0) return;    /* EAGAIN: nothing this time */
    recvs++;
    write_req *w = malloc(sizeof *w + (size_t)n);
    if (!w) check(UV_ENOMEM, "malloc");
    memcpy(w->data, buf->base, (size_t)n);
    uv_buf_t out = uv_buf_init(w->data, (unsigned)n);
    check(uv_write(&w->req, s, &out, 1, on_written), "uv_write");
}

static void on_connection(uv_stream_t *server, int status) {
    check(status, "listen");
    conn *c = malloc(sizeof *c);
    if (!c) check(UV_ENOMEM, "malloc");
    check(uv_tcp_init(server->loop, &c->tcp), "uv_tcp_init");
    check(uv_accept(server, (uv_stream_t *)&c->tcp), "uv_accept");
    check(uv_tcp_nodelay(&c->tcp, 1), "uv_tcp_nodelay");
    check(uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read), "uv_read_start");
    if (++accepted == conns) uv_close((uv_handle_t *)&listener, NULL);
}

static void on_prepare(uv_prepare_t *p) {
    (void)p;
    enters++;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONNS\n", argv[0]);
        return 2;
    }
    conns = echo_conns_arg(argv[0], argv[1], "CONNS");
    int backlog = conns < 128 ? 128 : (int)conns;
    int lfd = echo_listen(backlog); /* the same listening socket as the other servers */
    uv_loop_t *loop = uv_default_loop();
    check(uv_tcp_init(loop, &listener), "uv_tcp_init");
    check(uv_tcp_open(&listener, lfd), "uv_tcp_open");
    check(uv_listen((uv_stream_t *)&listener, backlog, on_connection), "uv_listen");

    /* Runs before every poll; unreferenced, so it does not keep the loop alive. */
    uv_prepare_t prepare;
    check(uv_prepare_init(loop, &prepare), "uv_prepare_init");
    check(uv_prepare_start(&prepare, on_prepare), "uv_prepare_start");
    uv_unref((uv_handle_t *)&prepare);

    uv_run(loop, UV_RUN_DEFAULT); /* until the listener and every connection are closed */
    echo_server_report("libuv", conns, recvs, enters);
    uv_close((uv_handle_t *)&prepare, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 1;
}
