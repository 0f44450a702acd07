/*
 * tcp_echo - a TCP echo server and its client in one loop, with callbacks.
 *
 * The cio style: each connection embeds the ops it needs, every op carries
 * its connection in op->data, and a callback reads op->res and submits the
 * connection's next step. Nothing blocks; the loop returns when no op is
 * left, which is when both sides have closed.
 */
#define _GNU_SOURCE /* struct sockaddr_in and friends under -std=c11 */
#include <arpa/inet.h>
#include <cio.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const messages[] = {"hello", "completion-based IO", "bye"};
#define NMESSAGES (sizeof messages / sizeof *messages)

typedef struct conn {
    cio_fd fd;
    cio_op op;       /* the connection's one op in flight: accept, connect, recv, send, close */
    char buf[256];
    uint32_t len;    /* bytes in buf */
    uint32_t done;   /* bytes of buf already sent (server) or received (client) */
    unsigned next;   /* client: index of the message being echoed */
} conn;

static conn server, client;
static int failed;

static int fail(cio_op *op, const char *what) {
    fprintf(stderr, "%s failed: %s\n", what, cio_strerror(op->res));
    failed = 1;
    return 1;
}

/* Both sides end the same way: a close op, whose completion ends the connection. */
static void submit_close(cio_loop *loop, conn *c) {
    cio_prep_close(&c->op, c->fd);
    c->op.data = c;
    cio_submit(loop, &c->op);
}

/* A recv or send of the rest of the buffer, completing in `cb`. */
static void submit_io(cio_loop *loop, conn *c, int send, cio_cb cb) {
    if (send) cio_prep_send(&c->op, c->fd, c->buf + c->done, c->len - c->done, MSG_NOSIGNAL);
    else cio_prep_recv(&c->op, c->fd, c->buf + c->done, (uint32_t)sizeof c->buf - c->done, 0);
    c->op.cb = cb;
    c->op.data = c;
    cio_submit(loop, &c->op);
}

/* ---- server: recv whatever comes, send it back, repeat until the peer closes ---- */

static void server_on_recv(cio_loop *loop, cio_op *op);

static void server_on_send(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    if (op->res < 0 && fail(op, "server send")) return submit_close(loop, c);
    c->done += (uint32_t)op->res;
    if (c->done < c->len) return submit_io(loop, c, 1, server_on_send); /* short send: the rest */
    c->len = c->done = 0;
    submit_io(loop, c, 0, server_on_recv);
}

static void server_on_recv(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    if (op->res <= 0) { /* 0: the client closed its side */
        if (op->res < 0) fail(op, "server recv");
        return submit_close(loop, c);
    }
    c->len = (uint32_t)op->res;
    submit_io(loop, c, 1, server_on_send);
}

static void server_on_accept(cio_loop *loop, cio_op *op) {
    if (op->res < 0) return (void)fail(op, "accept");
    server.fd = op->res;
    submit_io(loop, &server, 0, server_on_recv);
}

/* ---- client: send each message, wait until all of it came back, compare ---- */

static void client_send_next(cio_loop *loop, conn *c);

static void client_on_recv(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    const char *want = messages[c->next];
    if (op->res <= 0) {
        if (op->res == 0) op->res = -CIO_ECONNRESET; /* closed before the echo was complete */
        fail(op, "client recv");
        return submit_close(loop, c);
    }
    c->done += (uint32_t)op->res;
    if (c->done < strlen(want)) return submit_io(loop, c, 0, client_on_recv); /* echo not complete yet */
    if (c->done != strlen(want) || memcmp(c->buf, want, c->done) != 0) {
        fprintf(stderr, "echo mismatch for \"%s\"\n", want);
        failed = 1;
        return submit_close(loop, c);
    }
    printf("echoed: %.*s\n", (int)c->done, c->buf);
    c->next++;
    client_send_next(loop, c);
}

static void client_on_send(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    if (op->res < 0 && fail(op, "client send")) return submit_close(loop, c);
    c->done += (uint32_t)op->res;
    if (c->done < c->len) return submit_io(loop, c, 1, client_on_send);
    c->done = 0; /* now count the bytes coming back */
    submit_io(loop, c, 0, client_on_recv);
}

static void client_send_next(cio_loop *loop, conn *c) {
    if (c->next == NMESSAGES) return submit_close(loop, c); /* the server then reads 0 and closes */
    c->len = (uint32_t)strlen(messages[c->next]);
    c->done = 0;
    memcpy(c->buf, messages[c->next], c->len);
    submit_io(loop, c, 1, client_on_send);
}

static void client_on_connect(cio_loop *loop, cio_op *op) {
    if (op->res < 0 && fail(op, "connect")) return submit_close(loop, op->data);
    client_send_next(loop, op->data);
}

int main(void) {
    /* The listening socket is set up with plain calls; port 0 lets the kernel choose. */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t addrlen = sizeof addr;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 8) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &addrlen) < 0) {
        perror("listen socket");
        return 1;
    }
    client.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (client.fd < 0) {
        perror("client socket");
        return 1;
    }

    cio_loop loop;
    int r = cio_loop_init(&loop, NULL);
    if (r < 0) {
        fprintf(stderr, "cio_loop_init: %s\n", cio_strerror(r));
        return 1;
    }
    printf("echo server on 127.0.0.1:%u, backend %s\n", ntohs(addr.sin_port),
           cio_backend_name(cio_loop_backend(&loop)));

    /* Both first ops go out in the same turn: the accept and the connect meet in the kernel. */
    cio_prep_accept(&server.op, lfd, NULL, NULL, SOCK_CLOEXEC);
    server.op.cb = server_on_accept;
    cio_prep_connect(&client.op, client.fd, (struct sockaddr *)&addr, sizeof addr);
    client.op.cb = client_on_connect;
    client.op.data = &client;
    if ((r = cio_submit(&loop, &server.op)) < 0 || (r = cio_submit(&loop, &client.op)) < 0) {
        fprintf(stderr, "cio_submit: %s\n", cio_strerror(r));
        return 1;
    }

    r = cio_loop_run(&loop, CIO_RUN_DEFAULT); /* returns when both connections are closed */
    if (r < 0) fprintf(stderr, "cio_loop_run: %s\n", cio_strerror(r));
    cio_loop_close(&loop);
    close(lfd);
    if (r < 0 || failed || client.next != NMESSAGES) return 1;
    printf("all %zu messages echoed\n", NMESSAGES);
    return 0;
}
