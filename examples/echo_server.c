/*
 * echo_server - a TCP echo server: one task per connection, and a clean
 * shutdown on SIGINT or SIGTERM (Ctrl-C on Windows).
 *
 *   echo_server [ADDR [CLIENTS]]   ADDR defaults to 127.0.0.1:0 (a free port)
 *   echo_server self [N]           the server and N clients of its own (3)
 *
 * Prints "listening on ADDR", then echoes every connection until a signal
 * comes, or until CLIENTS connections (if given) have come and gone. On a
 * signal it stops accepting, closes every connection (their tasks are
 * cancelled) and exits 0. Try it: `echo_server 127.0.0.1:7000`, then
 * `nc 127.0.0.1 7000` in another terminal, then Ctrl-C.
 *
 * With `self` it starts N clients of its own (tasks that connect by name,
 * send messages and check their echo), so that it runs alone, on every
 * backend, the mock's simulated sockets included:
 *     CIO_BACKEND=mock echo_server self 5
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct server {
    cio_fd listener;
    cio_group workers;  /* the acceptor and one task per connection */
    unsigned limit;     /* connections to serve before exiting; 0: until a signal */
    unsigned accepted;
    uint64_t bytes;     /* echoed, over all connections */
    int signo;          /* the signal that stopped us, 0 if none */
} server;

static server srv;

/* One connection: echo until the client closes its side. A client that
 * misbehaves (a reset) ends its own connection, not the server: so this
 * returns 0 and only logs. Cancelled (shutdown): cio_recv fails with
 * -CIO_ECANCELED, and cio_close still closes. */
static intptr_t serve(void *arg) {
    cio_fd fd = (cio_fd)(intptr_t)arg;
    cio_stream s;
    cio_stream_socket(&s, fd);
    char buf[16384]; /* on the task's stack: it stays put while the task waits */
    int32_t n;
    while ((n = cio_recv(fd, buf, sizeof buf, 0)) > 0) {
        if ((n = cio_stream_write_all(&s, buf, (uint32_t)n, NULL)) < 0) break; /* a send may be short */
        srv.bytes += (uint32_t)n;
    }
    if (n < 0 && n != -CIO_ECANCELED) fprintf(stderr, "echo_server: connection: %s\n", cio_strerror(n));
    cio_close(fd);
    return 0;
}

/* Accepts connections and starts a task for each, in the same group. */
static intptr_t acceptor(void *arg) {
    (void)arg;
    while (srv.limit == 0 || srv.accepted < srv.limit) {
        cio_fd fd;
        int r = cio_tcp_accept(srv.listener, &fd, NULL);
        if (r == -CIO_ECANCELED) return 0; /* shutting down */
        if (r < 0) { /* -CIO_EMFILE and friends: the accept op paused before it failed */
            fprintf(stderr, "echo_server: accept: %s\n", cio_strerror(r));
            continue;
        }
        srv.accepted++;
        if ((r = cio_group_spawn(&srv.workers, serve, (void *)(intptr_t)fd, NULL)) < 0) {
            fprintf(stderr, "echo_server: no task for a connection: %s\n", cio_strerror(r));
            cio_close(fd);
        }
    }
    return 0;
}

/* Waits for a signal on the watcher that the main task set up, and cancels
 * every task of the server; cancelled itself when they finish first. */
static intptr_t stop_on_signal(void *arg) {
    cio_signal *sig = arg;
    int signo = cio_signal_wait(sig, 0, NULL); /* > 0, or -CIO_ECANCELED */
    if (signo > 0) {
        printf("signal %d: shutting down\n", signo);
        fflush(stdout);
        cio_group_cancel(&srv.workers);
    }
    return 0;
}

/* Watches SIGINT and SIGTERM from now on (before we say we listen, so that
 * a signal sent right after that finds cio's handler in place). 0, or an
 * error and the server runs without. */
static int watch_signals(cio_signal *sig) {
    int r = cio_signal_init(sig, cio_task_loop());
    if (r < 0) return r;
    if ((r = cio_signal_add(sig, CIO_SIGINT)) < 0 || (r = cio_signal_add(sig, CIO_SIGTERM)) < 0) {
        cio_signal_close(sig);
        return r;
    }
    return 0;
}

/* ---- self: clients of our own ---- */

/* Connects to `where` by name, sends a few messages of growing size and
 * reads each echo back whole, then half-closes and expects the server to
 * close. 0, or an error (which fails the run). */
static intptr_t own_client(void *arg) {
    const char *where = arg;
    /* 30 s for all of it: an echo that never comes ends it with -CIO_ETIMEDOUT. */
    uint64_t outer = cio_deadline_push(cio_now(cio_task_loop()) + 30 * 1000000000ull);
    cio_fd fd;
    int r = cio_tcp_connect(where, 0, &fd, NULL);
    if (r < 0) {
        cio_deadline_pop(outer);
        return r;
    }
    cio_stream s;
    cio_stream_socket(&s, fd);
    char rbuf[1024], msg[3000], back[3000];
    cio_bufreader rd;
    cio_bufreader_init(&rd, &s, rbuf, sizeof rbuf);
    for (uint32_t len = 1; len <= sizeof msg && r >= 0; len = len * 7 + 3) {
        for (uint32_t i = 0; i < len; i++) msg[i] = (char)('a' + (len + i) % 26);
        if ((r = cio_stream_write_all(&s, msg, len, NULL)) < 0) break;
        r = cio_bufreader_read_exact(&rd, back, len); /* all of it, however it comes */
        if (r >= 0 && (r != (int32_t)len || memcmp(back, msg, len) != 0)) r = -CIO_EIO;
    }
    if (r >= 0 && (r = cio_shutdown(fd, CIO_SHUT_WR)) >= 0)
        r = cio_bufreader_read(&rd, back, 1) == 0 ? 0 : -CIO_EIO; /* the server closes: end of file */
    cio_close(fd);
    cio_deadline_pop(outer);
    return r;
}

static intptr_t run_server(void *arg) {
    const char **cfg = arg; /* address, clients, self */
    cio_loop *loop = cio_task_loop();
    srv.limit = (unsigned)strtoul(cfg[1], NULL, 10);
    int r = cio_tcp_listen(loop, cfg[0], NULL, &srv.listener);
    if (r < 0) {
        fprintf(stderr, "echo_server: listen on %s: %s\n", cfg[0], cio_strerror(r));
        return r;
    }
    cio_addr local;
    char name[CIO_ADDR_STRLEN];
    cio_socket_local_addr(loop, srv.listener, &local); /* the port chosen for ":0" */
    cio_addr_format(&local, name, sizeof name);
    cio_signal sig;
    int sr = watch_signals(&sig);
    if (sr < 0) fprintf(stderr, "echo_server: no signal handling: %s\n", cio_strerror(sr));
    printf("listening on %s (backend %s)\n", name, cio_backend_name(cio_loop_backend(loop)));
    fflush(stdout); /* a script may be waiting for the port */

    cio_group_init(&srv.workers, loop, 0);
    cio_task *stopper = NULL;
    if (sr == 0) cio_task_spawn(loop, stop_on_signal, &sig, NULL, &stopper);
    cio_group_spawn(&srv.workers, acceptor, NULL, NULL);

    cio_group own; /* self: our own clients, whose errors fail the run */
    cio_group_init(&own, loop, 0);
    char where[CIO_ADDR_STRLEN + 16];
    snprintf(where, sizeof where, "localhost:%d", cio_addr_port(&local));
    for (unsigned i = 0; cfg[2] && i < srv.limit; i++) cio_group_spawn(&own, own_client, where, NULL);
    int own_err = cio_group_wait(&own);
    if (own_err < 0) cio_group_cancel(&srv.workers); /* the connections they did not make never come */

    int err = cio_group_wait(&srv.workers); /* by themselves (the limit) or by the signal */
    if (stopper) {
        cio_task_cancel(stopper);
        cio_task_join(stopper, NULL);
    }
    if (sr == 0) cio_signal_close(&sig); /* the signals get their old disposition back */
    cio_close(srv.listener);
    printf("served %u connections, %llu bytes echoed\n", srv.accepted, (unsigned long long)srv.bytes);
    if (own_err < 0) fprintf(stderr, "echo_server: own client: %s\n", cio_strerror(own_err));
    return own_err < 0 ? own_err : err;
}

int main(int argc, char **argv) {
    int self = argc > 1 && !strcmp(argv[1], "self");
    const char *cfg[3] = {self ? "127.0.0.1:0" : argc > 1 ? argv[1] : "127.0.0.1:0",
                          self ? (argc > 2 ? argv[2] : "3") : argc > 2 ? argv[2] : "0", self ? "self" : NULL};
    if (argc > 3 || (self && strtoul(cfg[1], NULL, 10) == 0)) {
        fprintf(stderr, "usage: echo_server [ADDR [CLIENTS]] | echo_server self [N]\n");
        return 2;
    }
    intptr_t result = -1;
    int r = cio_main(run_server, cfg, NULL, &result); /* runs run_server() as a task on a fresh loop */
    if (r < 0) fprintf(stderr, "echo_server: %s\n", cio_strerror(r));
    return r == 0 && result == 0 ? 0 : 1;
}
