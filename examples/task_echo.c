/*
 * task_echo - a TCP echo server written with tasks: each client is a plain
 * sequential function that blocks in cio_recv() and cio_send() while the
 * loop runs the others.
 *
 *   task_echo [port [clients [self]]]    defaults: 0 (a free port), 1 client
 *
 * Listens on 127.0.0.1, prints the port, serves `clients` connections, and
 * exits once they have all closed (0), or when nobody connects for 30 s (1).
 * Try it: `task_echo 7000 3 &` then `nc 127.0.0.1 7000` three times.
 * With `self` it is its own clients too (a task each, that sends lines and
 * checks their echo), so that it runs alone, on every backend, the mock's
 * simulated sockets included: `CIO_BACKEND=mock task_echo 0 3 self`.
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

static int32_t fail(const char *what, int32_t err) {
    fprintf(stderr, "task_echo: %s: %s\n", what, cio_strerror(err));
    return err;
}

static int32_t send_all(cio_fd fd, const char *p, int32_t len) {
    for (int32_t sent = 0, r; sent < len; sent += r) /* a send may be short */
        if ((r = cio_send(fd, p + sent, (uint32_t)(len - sent), 0)) < 0) return r; /* never SIGPIPE */
    return 0;
}

/* One client: echo until it closes its side. Returns 0 or an error code. */
static intptr_t serve(void *arg) {
    cio_fd fd = (cio_fd)(intptr_t)arg;
    char buf[4096]; /* on the task's stack: it stays put while the task is parked */
    int32_t n;
    while ((n = cio_recv(fd, buf, sizeof buf, 0)) > 0)
        if ((n = send_all(fd, buf, n)) < 0) break;
    int32_t c = cio_close(fd);
    return n < 0 ? fail("client", n) : c < 0 ? fail("close", c) : 0;
}

/* A client of our own (`self`): sends a few lines to `port`, checks that
 * each comes back whole, closes. 0 or an error code. */
static intptr_t client(void *arg) {
    uint16_t port = (uint16_t)(uintptr_t)arg;
    static const char *const lines[] = {"tasks are plain functions\n", "that block in cio calls\n"};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    intptr_t sock = cio_socket(AF_INET, SOCK_STREAM | CIO_SOCK_CLOEXEC, 0);
    if (sock < 0) return fail("client socket", (int32_t)sock);
    cio_fd fd = (cio_fd)sock;
    int32_t r = cio_connect(fd, (struct sockaddr *)&addr, sizeof addr);
    for (size_t i = 0; r >= 0 && i < sizeof lines / sizeof *lines; i++) {
        int32_t len = (int32_t)strlen(lines[i]);
        char back[64];
        if ((r = send_all(fd, lines[i], len)) < 0) break;
        r = cio_recv(fd, back, (uint32_t)len, CIO_MSG_WAITALL); /* all of it, or end of file */
        if (r >= 0 && (r != len || memcmp(back, lines[i], (size_t)len) != 0)) r = -CIO_EIO;
    }
    int32_t c = cio_close(fd);
    return r < 0 ? fail("own client", r) : c < 0 ? fail("own client close", c) : 0;
}

/* The main task: listen, accept `clients` connections, one task each, wait for them. */
static intptr_t server(void *arg) {
    const unsigned *cfg = arg; /* port, clients, self */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg[0]),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cio_socklen len = sizeof addr;
    intptr_t sock = cio_socket(AF_INET, SOCK_STREAM | CIO_SOCK_CLOEXEC, 0); /* a handle, or an error */
    if (sock < 0) return fail("socket", (int32_t)sock);
    cio_fd lfd = (cio_fd)sock;
    int32_t r;
    if ((r = cio_bind(lfd, (struct sockaddr *)&addr, sizeof addr)) < 0 || (r = cio_listen(lfd, 64)) < 0 ||
        (r = cio_socket_name(cio_task_loop(), lfd, (struct sockaddr *)&addr, &len)) < 0) {
        cio_close(lfd);
        return fail("listen", r);
    }
    printf("listening on 127.0.0.1:%u (backend %s)\n", ntohs(addr.sin_port),
           cio_backend_name(cio_loop_backend(cio_task_loop())));
    fflush(stdout); /* a script may be waiting for the port */

    cio_group clients; /* cio_group_wait() below returns once every client task has */
    if ((r = cio_group_init(&clients, cio_task_loop(), 0)) < 0) {
        cio_close(lfd);
        return fail("group", r);
    }
    for (unsigned i = 0; cfg[2] && i < cfg[1] && r >= 0; i++) /* our own clients, in the same group */
        r = cio_group_spawn(&clients, client, (void *)(uintptr_t)ntohs(addr.sin_port), NULL);
    for (unsigned i = 0; i < cfg[1] && r >= 0; i++) {
        /* A deadline scope: the accept fails with -CIO_ETIMEDOUT after 30 s. */
        uint64_t outer = cio_deadline_push(cio_now(cio_task_loop()) + 30 * 1000000000ull);
        intptr_t fd = cio_accept(lfd, NULL, NULL, CIO_SOCK_CLOEXEC);
        cio_deadline_pop(outer);
        r = fd < 0 ? (int32_t)fd : cio_group_spawn(&clients, serve, (void *)fd, NULL);
        if (fd >= 0 && r < 0) cio_close((cio_fd)fd);
    }
    if (r < 0) {
        fail("accept", r); /* or starting its task */
        cio_group_cancel(&clients); /* nobody is left to serve the ones still connected */
    }
    int w = cio_group_wait(&clients); /* the first client error, if any */
    cio_close(lfd);
    return r < 0 ? r : w;
}

int main(int argc, char **argv) {
    unsigned cfg[3] = {argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 0,
                       argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1, argc > 3 && !strcmp(argv[3], "self")};
    if (argc > 4 || (argc > 3 && !cfg[2]) || cfg[0] > 65535) {
        fprintf(stderr, "usage: task_echo [port [clients [self]]]\n");
        return 2;
    }
    intptr_t result = -1;
    int r = cio_main(server, cfg, NULL, &result); /* runs server() as a task on a fresh loop */
    if (r < 0) fail("cio_main", r);
    return r == 0 && result == 0 ? 0 : 1;
}
