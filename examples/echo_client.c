/*
 * echo_client - a TCP client that connects by "host:port".
 *
 *   echo_client HOST:PORT            stdin to the server, the server to stdout
 *   echo_client HOST:PORT LINE...    each LINE sent, its echo read back and printed
 *   echo_client self                 an echo server of its own, and the lines mode against it
 *
 * HOST may be a name ("localhost:7000", resolved off the loop's thread and
 * each address tried in turn), an IPv4 address or an IPv6 one in brackets
 * ("[::1]:7000"). The first form is nc's: two tasks, one copying stdin to
 * the socket (then a half-close, so the server sees the end), one copying
 * what comes back to stdout, until the server closes. Try it against
 * examples/echo_server: `echo_client 127.0.0.1:7000 < some_file`.
 *
 * With `self` it runs alone on every backend, the mock's simulated sockets
 * included: CIO_BACKEND=mock echo_client self
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <windows.h>
#define STDIN_HANDLE ((cio_fd)GetStdHandle(STD_INPUT_HANDLE))
#define STDOUT_HANDLE ((cio_fd)GetStdHandle(STD_OUTPUT_HANDLE))
#else
#define STDIN_HANDLE ((cio_fd)0)
#define STDOUT_HANDLE ((cio_fd)1)
#endif

#define SECONDS(n) ((uint64_t)(n) * 1000000000u)

static int32_t fail(const char *what, int32_t err) {
    fprintf(stderr, "echo_client: %s: %s\n", what, cio_strerror(err));
    return err;
}

/* stdin to the socket, then a half-close: the server sees the end of our data. */
static intptr_t upload(void *arg) {
    cio_fd fd = (cio_fd)(intptr_t)arg;
    cio_stream s;
    cio_stream_socket(&s, fd);
    char buf[16384];
    int32_t n;
    while ((n = cio_read(STDIN_HANDLE, buf, sizeof buf, CIO_OFFSET_CURRENT)) > 0)
        if ((n = cio_stream_write_all(&s, buf, (uint32_t)n, NULL)) < 0) return fail("send", n);
    if (n < 0) return n == -CIO_ECANCELED ? 0 : fail("stdin", n);
    n = cio_shutdown(fd, CIO_SHUT_WR);
    return n < 0 ? fail("shutdown", n) : 0;
}

/* The nc mode: upload in a task of its own, download here. */
static int32_t relay(cio_fd fd) {
    cio_task *up;
    int32_t r = cio_task_spawn(cio_task_loop(), upload, (void *)(intptr_t)fd, NULL, &up);
    if (r < 0) return fail("task", r);
    char buf[16384];
    int32_t n;
    int64_t w = 0;
    while ((n = cio_recv(fd, buf, sizeof buf, 0)) > 0 &&
           (w = cio_file_write_all(STDOUT_HANDLE, buf, (size_t)n, CIO_OFFSET_CURRENT, NULL)) >= 0) {
    }
    if (n < 0) fail("recv", n);
    if (w < 0) n = fail("stdout", (int32_t)w);
    cio_task_cancel(up); /* the server closed: stop reading stdin, if we still are */
    intptr_t u = 0;
    cio_task_join(up, &u);
    return n < 0 ? n : (int32_t)u;
}

/* The lines mode: each line out, its echo back (a line too), printed. */
static int32_t lines(cio_fd fd, const char *const *line, int count, int check) {
    cio_stream s;
    cio_stream_socket(&s, fd);
    char rbuf[4096];
    cio_bufreader rd;
    cio_bufreader_init(&rd, &s, rbuf, sizeof rbuf);
    for (int i = 0; i < count; i++) {
        int32_t r = cio_stream_write_all(&s, line[i], (uint32_t)strlen(line[i]), NULL);
        if (r >= 0) r = cio_stream_write_all(&s, "\n", 1, NULL);
        char *back;
        uint32_t len;
        if (r >= 0) { /* an echo that does not come within 10 s: -CIO_ETIMEDOUT */
            uint64_t outer = cio_deadline_push(cio_now(cio_task_loop()) + SECONDS(10));
            r = cio_bufreader_read_line(&rd, sizeof rbuf - 1, &back, &len);
            cio_deadline_pop(outer);
        }
        if (r == 0) r = -CIO_ECONNRESET; /* closed before the echo */
        if (r < 0) return fail("echo", r);
        printf("%s\n", back);
        if (check && strcmp(back, line[i]) != 0) return fail("echo differs", -CIO_EIO);
    }
    return 0;
}

/* ---- self: an echo server of our own (one connection) ---- */

static intptr_t echo_one(void *arg) {
    cio_fd listener = (cio_fd)(intptr_t)arg, fd;
    int32_t r;
    for (int tries = 0; (r = cio_tcp_accept(listener, &fd, NULL)) < 0; ) /* -CIO_EMFILE and such: again */
        if (r == -CIO_ECANCELED || ++tries == 10) return r;
    cio_stream s;
    cio_stream_socket(&s, fd);
    char buf[4096];
    while ((r = cio_recv(fd, buf, sizeof buf, 0)) > 0)
        if ((r = cio_stream_write_all(&s, buf, (uint32_t)r, NULL)) < 0) break;
    cio_close(fd);
    return r;
}

static intptr_t client(void *arg) {
    char **argv = arg;
    cio_loop *loop = cio_task_loop();
    const char *where = argv[1];
    char self_where[64];
    cio_task *server = NULL;
    cio_fd listener = CIO_FD_INVALID;
    int self = !strcmp(argv[1], "self");
    if (self) {
        cio_addr local;
        int r = cio_tcp_listen(loop, "127.0.0.1:0", NULL, &listener);
        if (r < 0) return fail("listen", r);
        if ((r = cio_socket_local_addr(loop, listener, &local)) < 0) {
            cio_close(listener);
            return fail("listen", r);
        }
        snprintf(self_where, sizeof self_where, "localhost:%d", cio_addr_port(&local));
        where = self_where;
        if ((r = cio_task_spawn(loop, echo_one, (void *)(intptr_t)listener, NULL, &server)) < 0) {
            cio_close(listener);
            return fail("task", r);
        }
    }

    cio_fd fd;
    cio_addr peer;
    int32_t r = cio_tcp_connect(where, cio_now(loop) + SECONDS(10), &fd, &peer); /* resolve, try each address */
    if (r < 0) {
        fprintf(stderr, "echo_client: connect to %s: %s\n", where, cio_strerror(r));
    } else {
        char name[CIO_ADDR_STRLEN];
        cio_addr_format(&peer, name, sizeof name); /* which of the host's addresses answered */
        fprintf(stderr, "echo_client: connected to %s\n", name);
        static const char *const own[] = {"hello", "completion-based IO", "", "bye"};
        int count = 0;
        while (argv[2 + count]) count++;
        if (self)
            r = lines(fd, own, (int)(sizeof own / sizeof *own), 1);
        else if (count)
            r = lines(fd, (const char *const *)argv + 2, count, 0);
        else
            r = relay(fd);
        cio_close(fd);
    }
    if (server) {
        intptr_t s = 0;
        if (r < 0) cio_task_cancel(server); /* it would wait for us for ever */
        cio_task_join(server, &s); /* it ends once we closed */
        cio_close(listener);
        if (r >= 0 && s < 0) r = fail("own server", (int32_t)s);
    }
    return r;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: echo_client HOST:PORT [LINE...] | echo_client self\n");
        return 2;
    }
    intptr_t result = -1;
    int r = cio_main(client, argv, NULL, &result);
    if (r < 0) fail("cio_main", r);
    return r == 0 && result == 0 ? 0 : 1;
}
