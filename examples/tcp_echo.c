/*
 * tcp_echo - a TCP echo server and its client in one loop, with callbacks.
 *
 * The cio style: each connection embeds its op, the op carries the
 * connection in op->data, and each callback reads op->res and submits the
 * connection's next step. Nothing blocks. The loop returns when no op is
 * left, which is when both sides have closed.
 *
 * Every step goes through cio, the setup too (socket, bind, listen and the
 * port through cio_socket_name), so that the program runs unchanged on
 * every backend, the mock's simulated sockets included:
 *     CIO_BACKEND=mock CIO_MOCK_SEED=7 ./tcp_echo
 *
 * With arguments it is the server alone, for clients from outside:
 *     tcp_echo PORT CLIENTS
 * listens on 127.0.0.1:PORT (0: a free port), prints it, echoes CLIENTS
 * connections (at most MAX_SERVED, at once or one after another) and exits
 * once they have all closed. Try `tcp_echo 7000 2`, then `nc 127.0.0.1 7000`
 * twice.
 */
#define _GNU_SOURCE /* struct sockaddr_in and friends under -std=c11 */
#include <cio.h>
#if !defined(_WIN32) /* on Windows cio.h brings them (ws2tcpip.h) */
#include <arpa/inet.h>
#include <netinet/in.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const messages[] = {"hello", "completion-based IO", "bye"};
#define NMESSAGES (sizeof messages / sizeof *messages)

typedef struct conn {
    cio_fd fd;
    cio_op op;     /* the one op in flight: accept or connect, then recv, send, close */
    char buf[4096]; /* belongs to cio while a recv or send on it is in flight */
    uint32_t len;  /* bytes to send from buf */
    uint32_t done; /* bytes sent so far, or received so far */
    unsigned next; /* client: the message being echoed */
} conn;

static conn server, client;
static int failed;

/* The server alone (tcp_echo PORT CLIENTS): a connection each, accepted in turn by one op. */
#define MAX_SERVED 64
static conn served[MAX_SERVED];
static unsigned to_serve, accepted;
static cio_op accept_op;
static cio_fd listener = CIO_FD_INVALID;

/* Checks a result. On the first error the loop is stopped; main's cio_loop_close()
 * then cancels whatever is still in flight, and those callbacks see failed set. */
static int ok(cio_loop *loop, cio_op *op, const char *what) {
    if (op->res >= 0 && !failed) return 1;
    if (!failed) fprintf(stderr, "%s failed: %s\n", what, cio_strerror(op->res));
    failed = 1;
    cio_loop_stop(loop);
    return 0;
}

/* The next op of connection `c`: recv into or send from buf + done, or close. */
static void next_op(cio_loop *loop, conn *c, int opcode, cio_cb cb) {
    if (opcode == CIO_OP_SEND)
        cio_prep_send(&c->op, c->fd, c->buf + c->done, c->len - c->done, 0); /* sends never raise SIGPIPE */
    else if (opcode == CIO_OP_RECV)
        cio_prep_recv(&c->op, c->fd, c->buf + c->done, (uint32_t)sizeof c->buf - c->done, 0);
    else {
        cio_prep_close(&c->op, c->fd);
        c->fd = CIO_FD_INVALID; /* the close op has it now */
    }
    c->op.cb = cb; /* may be NULL: nobody waits for the close */
    c->op.data = c;
    int r = cio_submit(loop, &c->op);
    if (r < 0) { /* not taken, so no callback will come: report it here */
        c->op.res = r;
        ok(loop, &c->op, "cio_submit");
    }
}

/* ---- server: recv whatever comes, send it back, until the client closes ---- */

static void server_on_recv(cio_loop *loop, cio_op *op);

static void server_on_send(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    if (!ok(loop, op, "server send")) return;
    c->done += (uint32_t)op->res;
    if (c->done < c->len) { /* a short send: send the rest */
        next_op(loop, c, CIO_OP_SEND, server_on_send);
        return;
    }
    c->done = 0;
    next_op(loop, c, CIO_OP_RECV, server_on_recv);
}

static void server_on_recv(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    if (!ok(loop, op, "server recv")) return;
    if (op->res == 0) { /* the client closed its side */
        next_op(loop, c, CIO_OP_CLOSE, NULL);
        return;
    }
    c->len = (uint32_t)op->res;
    next_op(loop, c, CIO_OP_SEND, server_on_send);
}

/* The server alone: each connection gets its slot in served[], and the
 * accept op, idle again inside its callback, waits for the next one. */
static void served_on_accept(cio_loop *loop, cio_op *op) {
    conn *c = &served[accepted];
    if (op->res >= 0) { /* ours to close, whatever happens next */
        c->fd = cio_op_fd(op);
        accepted++;
    }
    if (!ok(loop, op, "accept")) return;
    next_op(loop, c, CIO_OP_RECV, server_on_recv);
    if (accepted == to_serve) return;
    cio_prep_accept(op, listener, NULL, NULL, CIO_SOCK_CLOEXEC);
    op->cb = served_on_accept;
    int r = cio_submit(loop, op);
    if (r < 0) {
        op->res = r;
        ok(loop, op, "cio_submit");
    }
}

static void server_on_accept(cio_loop *loop, cio_op *op) {
    /* The handle is ours to close even when the run already failed elsewhere
     * (the mock backend found the leak: an accept completing after a reset). */
    if (op->res >= 0) server.fd = cio_op_fd(op);
    if (!ok(loop, op, "accept")) return;
    next_op(loop, &server, CIO_OP_RECV, server_on_recv);
}

/* ---- client: send a message, recv until all of it is back, compare, next ---- */

static void client_on_send(cio_loop *loop, cio_op *op);

static void client_send_next(cio_loop *loop, conn *c) {
    if (c->next == NMESSAGES) { /* done: closing makes the server's recv return 0 */
        next_op(loop, c, CIO_OP_CLOSE, NULL);
        return;
    }
    c->len = (uint32_t)strlen(messages[c->next]);
    c->done = 0;
    memcpy(c->buf, messages[c->next], c->len);
    next_op(loop, c, CIO_OP_SEND, client_on_send);
}

static void client_on_recv(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    if (op->res == 0) op->res = -CIO_ECONNRESET; /* the server closed before echoing everything */
    if (!ok(loop, op, "client recv")) return;
    c->done += (uint32_t)op->res;
    if (c->done < c->len) { /* TCP may deliver the echo in pieces */
        next_op(loop, c, CIO_OP_RECV, client_on_recv);
        return;
    }
    if (c->done != c->len || memcmp(c->buf, messages[c->next], c->len) != 0) {
        op->res = -CIO_EIO;
        ok(loop, op, "echo comparison");
        return;
    }
    printf("echoed: %.*s\n", (int)c->len, c->buf);
    c->next++;
    client_send_next(loop, c);
}

static void client_on_send(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    if (!ok(loop, op, "client send")) return;
    c->done += (uint32_t)op->res;
    if (c->done < c->len) {
        next_op(loop, c, CIO_OP_SEND, client_on_send);
        return;
    }
    c->done = 0; /* now count the bytes coming back, into the same buffer */
    next_op(loop, c, CIO_OP_RECV, client_on_recv);
}

static void client_on_connect(cio_loop *loop, cio_op *op) {
    if (ok(loop, op, "connect")) client_send_next(loop, op->data);
}

/* Runs one setup op to its completion before the echo starts: its result. */
static void on_setup(cio_loop *loop, cio_op *op) {
    (void)loop;
    *(int *)op->data = 1;
}

static int32_t setup_op(cio_loop *loop, cio_op *op) {
    int done = 0, r;
    op->cb = on_setup;
    op->data = &done;
    if ((r = cio_submit(loop, op)) < 0) return r;
    while (!done)
        if ((r = cio_loop_run(loop, CIO_RUN_ONCE)) < 0) return r;
    return op->res;
}

/* A TCP socket, by a socket op: its handle, or an error. */
static intptr_t tcp_socket(cio_loop *loop) {
    cio_op op;
    cio_prep_socket(&op, AF_INET, SOCK_STREAM | CIO_SOCK_CLOEXEC, 0);
    intptr_t r = setup_op(loop, &op);
    return r < 0 ? r : (intptr_t)cio_op_fd(&op);
}

/* Closes `fd` if it is open, waiting for it. */
static void close_fd(cio_loop *loop, cio_fd *fd) {
    if (*fd == CIO_FD_INVALID) return;
    cio_op op;
    cio_prep_close(&op, *fd);
    setup_op(loop, &op);
    *fd = CIO_FD_INVALID;
}

int main(int argc, char **argv) {
    unsigned long port = 0;
    if (argc == 3) {
        char *end1, *end2;
        port = strtoul(argv[1], &end1, 10);
        unsigned long n = strtoul(argv[2], &end2, 10);
        if (*end1 || *end2 || port > 65535 || n < 1 || n > MAX_SERVED) argc = 0;
        to_serve = (unsigned)n;
    }
    if (argc != 1 && argc != 3) {
        fprintf(stderr, "usage: tcp_echo [PORT CLIENTS]   (CLIENTS: 1 to %d)\n", MAX_SERVED);
        return 2;
    }
    for (unsigned i = 0; i < MAX_SERVED; i++) served[i].fd = CIO_FD_INVALID;

    cio_loop loop;
    int r = cio_loop_init(&loop, NULL);
    if (r < 0) {
        fprintf(stderr, "cio_loop_init: %s\n", cio_strerror(r));
        return 1;
    }

    /* The listener on 127.0.0.1; on port 0 the system (or the simulation) picks a free one. */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cio_socklen addrlen = sizeof addr;
    cio_fd lfd = CIO_FD_INVALID;
    server.fd = client.fd = CIO_FD_INVALID;
    intptr_t h = tcp_socket(&loop);
    cio_op op;
    if (h >= 0) {
        lfd = (cio_fd)h;
        cio_prep_bind(&op, lfd, (struct sockaddr *)&addr, sizeof addr);
        h = setup_op(&loop, &op);
    }
    if (h >= 0) {
        cio_prep_listen(&op, lfd, to_serve ? (int)to_serve : 8);
        h = setup_op(&loop, &op);
    }
    if (h >= 0) h = cio_socket_name(&loop, lfd, (struct sockaddr *)&addr, &addrlen);
    if (h >= 0 && !to_serve) h = tcp_socket(&loop); /* the client's */
    if (h < 0) {
        fprintf(stderr, "socket setup: %s\n", cio_strerror((int)h));
        close_fd(&loop, &lfd);
        cio_loop_close(&loop);
        return 1;
    }
    printf("echo server on 127.0.0.1:%u, backend %s\n", ntohs(addr.sin_port),
           cio_backend_name(cio_loop_backend(&loop)));
    fflush(stdout); /* a script may be waiting for the port */

    if (to_serve) {
        listener = lfd;
        cio_prep_accept(&accept_op, lfd, NULL, NULL, CIO_SOCK_CLOEXEC);
        accept_op.cb = served_on_accept;
        r = cio_submit(&loop, &accept_op);
    } else {
        /* Both first ops reach the kernel in the same turn, where accept and connect meet. */
        client.fd = (cio_fd)h;
        cio_prep_accept(&server.op, lfd, NULL, NULL, CIO_SOCK_CLOEXEC);
        server.op.cb = server_on_accept;
        cio_prep_connect(&client.op, client.fd, (struct sockaddr *)&addr, sizeof addr);
        client.op.cb = client_on_connect;
        client.op.data = &client;
        if ((r = cio_submit(&loop, &server.op)) >= 0) r = cio_submit(&loop, &client.op);
    }
    if (r < 0) {
        fprintf(stderr, "cio_submit: %s\n", cio_strerror(r));
        return 1;
    }

    r = cio_loop_run(&loop, CIO_RUN_DEFAULT); /* until no op is left, or ok() stopped it */
    if (r < 0) fprintf(stderr, "cio_loop_run: %s\n", cio_strerror(r));
    /* After a failure ops may still be in flight: cancel them, then close
     * what is still open (the connections close themselves when all goes
     * well). The close of the loop would end the ops too, but the handles
     * are the program's to close. */
    if (failed) {
        cio_cancel(&loop, &server.op);
        cio_cancel(&loop, &client.op);
        cio_cancel(&loop, &accept_op);
        for (unsigned i = 0; i < accepted; i++) cio_cancel(&loop, &served[i].op);
        cio_loop_run(&loop, CIO_RUN_DEFAULT);
        close_fd(&loop, &server.fd);
        close_fd(&loop, &client.fd);
        for (unsigned i = 0; i < accepted; i++) close_fd(&loop, &served[i].fd);
    }
    close_fd(&loop, &lfd);
    cio_loop_close(&loop);
    if (r != 0 || failed) return 1;
    if (to_serve) {
        printf("served %u clients\n", accepted);
        return 0;
    }
    if (client.next != NMESSAGES) return 1;
    printf("all %zu messages echoed\n", NMESSAGES);
    return 0;
}
