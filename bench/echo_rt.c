/*
 * bench/echo_rt.c - the echo server on cio's thread-per-core runtime
 * (cio/runtime.h), for bench/echo_mt.sh: WORKERS workers, each pinned to
 * a CPU of the process's mask, connections spread by SO_REUSEPORT, a task
 * per connection looping cio_recv and cio_send on a 4 KiB buffer (as
 * bench/echo_task.c does on one loop).
 *
 * Usage: echo_rt WORKERS CONNS (see bench/echo.h for the protocol). The
 * backend is the runtime's default (CIO_BACKEND to choose another);
 * ECHO_PIN=0 leaves the workers unpinned.
 * `enters` sums the workers' waits in the kernel.
 */
#include <cio.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "echo.h"

static unsigned conns_wanted;
static atomic_uint closed;
static atomic_uint_fast64_t recvs;
static int done_pipe[2];

static intptr_t echo(cio_fd fd, const cio_addr *peer, void *arg) {
    (void)peer, (void)arg;
    cio_tcp_set_nodelay(cio_task_loop(), fd, true);
    char buf[ECHO_BUF];
    uint64_t n_recvs = 0;
    int32_t n;
    while ((n = cio_recv(fd, buf, sizeof buf, 0)) > 0) {
        n_recvs++;
        if (cio_send(fd, buf, (uint32_t)n, CIO_MSG_WAITALL) != n) break;
    }
    atomic_fetch_add(&recvs, n_recvs);
    if (atomic_fetch_add(&closed, 1) + 1 == conns_wanted && write(done_pipe[1], "x", 1) != 1) abort();
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s WORKERS CONNS\n", argv[0]);
        return 2;
    }
    unsigned workers = echo_conns_arg(argv[0], argv[1], "WORKERS CONNS");
    conns_wanted = echo_conns_arg(argv[0], argv[2], "WORKERS CONNS");
    if (pipe(done_pipe) < 0) return 1;
    const char *pin = getenv("ECHO_PIN");
    cio_runtime_options o = {.workers = workers, .pin = !pin || atoi(pin) != 0};
    cio_runtime *rt;
    int r = cio_runtime_start(&o, &rt);
    if (r < 0) {
        fprintf(stderr, "echo_rt: start: %s\n", cio_strerror(r));
        return 1;
    }
    cio_serve_options so = {.spread = CIO_SPREAD_REUSEPORT};
    so.listen.backlog = conns_wanted < 128 ? 128 : (int)conns_wanted;
    cio_addr bound;
    if ((r = cio_runtime_serve(rt, "127.0.0.1:0", &so, echo, NULL, &bound)) < 0) {
        fprintf(stderr, "echo_rt: serve: %s\n", cio_strerror(r));
        return 1;
    }
    printf("port=%d\n", cio_addr_port(&bound));
    fflush(stdout);
    char c;
    if (read(done_pipe[0], &c, 1) != 1) return 1;
    cio_runtime_report rep;
    cio_runtime_shutdown(rt, 0, &rep, NULL);
    printf("bench=echo-server impl=cio-rt%u conns=%u recvs=%" PRIu64 " enters=%" PRIu64 "\n", workers, conns_wanted,
           (uint64_t)atomic_load(&recvs), rep.total.loop.enters);
    return 0;
}
