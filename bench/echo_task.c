/*
 * bench/echo_task.c - the echo server on cio written with tasks, for
 * bench/echo.sh, to set against the callback server (bench/echo_cio.c).
 *
 * Usage: echo_task BACKEND CONNS (see bench/echo.h for the protocol).
 *
 * Written the way tasks are meant to be used: an accept task accepts CONNS
 * connections and spawns one detached task per connection, which loops
 * cio_recv() and cio_send() (until all is sent) on a buffer on its own
 * stack, and closes the socket when the client has closed its side. A
 * task does one thing at a time: on io_uring the send and the next
 * receive reach the kernel in separate submissions, where the callback
 * server posts both together; that difference is part of what is
 * measured.
 *
 * ECHO_TASK_BUF=3072 gives each task a 3 KiB buffer instead of 4 KiB
 * (bench/idle_mem.sh): a parked task's frames and the task struct take
 * the top of its stack, so a 4 KiB buffer below them reaches into a
 * second page, and a 3 KiB one does not.
 *
 * ECHO_TASK_BUF=pool holds no buffer while a task waits: each task
 * receives with cio_recv_pool() from one pool of 4 KiB buffers shared by
 * all (ECHO_BUFS of them, default 256), sends from the buffer it was
 * handed and puts it back; a task that finds the pool dry waits for a
 * buffer with cio_bufpool_wait(). Its stacks are 64 KiB
 * (ECHO_TASK_STACK_KIB): an idle task touches one page of stack, and
 * smaller mappings put more stacks under each page-table page.
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cio.h"
#include "echo.h"

typedef struct server {
    cio_fd lfd;
    unsigned conns;
    unsigned accepted;
    unsigned open;  /* accepted and not yet closed */
    uint64_t recvs; /* receives that brought data */
} server;

static server srv;

/* A benchmark with a failed call measures nothing: stop at once. */
static void fail(const char *what, int err) {
    fprintf(stderr, "echo_task: %s: %s\n", what, cio_strerror(err));
    exit(1);
}

/* Sends all of buf[0..n) back. */
static void echo_back(cio_fd fd, const char *buf, int32_t n) {
    for (int32_t off = 0; off < n;) {
        int32_t s = cio_send(fd, buf + off, (uint32_t)(n - off), ECHO_NOSIGNAL);
        if (s < 0) fail("send", s);
        off += s;
    }
}

/* The receive that ended the loop said `n`: 0 when the client closed its
 * side, which it does only when all is echoed. Closes ours. */
static intptr_t hang_up(cio_fd fd, int32_t n, const char *what) {
    if (n < 0) fail(what, n);
    int32_t r = cio_close(fd);
    if (r < 0) fail("close", r);
    srv.open--;
    return 0;
}

static intptr_t serve_with(cio_fd fd, char *buf, uint32_t size) {
    int32_t n;
    while ((n = cio_recv(fd, buf, size, 0)) > 0) {
        srv.recvs++;
        echo_back(fd, buf, n);
    }
    return hang_up(fd, n, "recv");
}

static intptr_t serve(void *arg) {
    char buf[ECHO_BUF];
    return serve_with((cio_fd)(intptr_t)arg, buf, sizeof buf);
}

static intptr_t serve_3k(void *arg) {
    char buf[3072];
    return serve_with((cio_fd)(intptr_t)arg, buf, sizeof buf);
}

static cio_bufpool *pool;

static intptr_t serve_pool(void *arg) {
    cio_fd fd = (cio_fd)(intptr_t)arg;
    int32_t n;
    uint32_t id;
    for (;;) {
        n = cio_recv_pool(fd, pool, 0, &id);
        if (n == -CIO_ENOBUFS) {
            int r = cio_bufpool_wait(pool, 0);
            if (r < 0) fail("cio_bufpool_wait", r);
            continue;
        }
        if (n <= 0) break;
        srv.recvs++;
        echo_back(fd, cio_bufpool_buf(pool, id), n);
        int r = cio_bufpool_put(pool, id);
        if (r < 0) fail("cio_bufpool_put", r);
    }
    return hang_up(fd, n, "recv_pool");
}

static intptr_t acceptor(void *arg) {
    (void)arg;
    cio_loop *loop = cio_task_loop();
    const char *mode = getenv("ECHO_TASK_BUF");
    cio_task_fn fn = serve;
    cio_task_options opts = {.detached = true};
    if (mode && strcmp(mode, "3072") == 0) fn = serve_3k;
    if (mode && strcmp(mode, "pool") == 0) {
        const char *bufs = getenv("ECHO_BUFS"), *kib = getenv("ECHO_TASK_STACK_KIB");
        int r = cio_bufpool_create(loop, bufs ? (uint32_t)strtoul(bufs, NULL, 10) : 256, ECHO_BUF, &pool);
        if (r < 0) fail("cio_bufpool_create", r);
        fn = serve_pool;
        opts.stack_size = (kib ? strtoul(kib, NULL, 10) : 64) * 1024;
    }
    while (srv.accepted < srv.conns) {
        intptr_t fd = cio_accept(srv.lfd, NULL, NULL, CIO_SOCK_CLOEXEC); /* a handle, or an error */
        if (fd < 0) fail("accept", (int)fd);
        echo_nodelay((cio_fd)fd);
        srv.accepted++;
        srv.open++;
        int r = cio_task_spawn(loop, fn, (void *)(intptr_t)fd, &opts, NULL);
        if (r < 0) fail("cio_task_spawn", r);
    }
    int32_t r = cio_close(srv.lfd);
    if (r < 0) fail("close", r);
    return 0;
}

int main(int argc, char **argv) {
    const char *usage = "BACKEND CONNS";
    if (argc != 3) {
        fprintf(stderr, "usage: %s %s\n", argv[0], usage);
        return 2;
    }
    static cio_loop loop; /* the loop is large; keep it off the stack */
    cio_backend_kind kind = bench_backend(argv[0], argv[1]);
    srv.conns = echo_conns_arg(argv[0], argv[2], usage);
    srv.lfd = echo_listen(srv.conns < 128 ? 128 : (int)srv.conns);
    bench_loop_init(argv[0], &loop, kind, 0);

    int r = cio_task_spawn(&loop, acceptor, NULL, &(cio_task_options){.detached = true}, NULL);
    if (r < 0) fail("cio_task_spawn", r);
    r = cio_loop_run(&loop, CIO_RUN_DEFAULT); /* until the last connection is closed */
    if (r < 0) fail("cio_loop_run", r);
    if (r > 0 || srv.open != 0 || srv.accepted != srv.conns) {
        fprintf(stderr, "echo_task: loop ended with %d ops active, %u of %u connections open\n", r, srv.open,
                srv.conns);
        return 1;
    }

    cio_stats st;
    cio_loop_stats(&loop, &st);
    char impl[32];
    snprintf(impl, sizeof impl, "cio-task%s-%s", pool ? "pool" : "", cio_backend_name(kind));
    echo_server_report_cq(impl, srv.conns, srv.recvs, st.enters, st.cq_overflows);
    return cio_loop_close(&loop) == 0 ? 0 : 1;
}
