/*
 * mt_echo - a multi-core TCP echo server: one worker thread per CPU, each
 * with a loop of its own (cio/runtime.h), connections spread over them by
 * SO_REUSEPORT where the system has it (else one acceptor hands them
 * out), a task per connection, and a graceful stop on SIGINT or SIGTERM
 * (Ctrl-C on Windows): listeners closed, 5 s for the connections to end,
 * then the rest cancelled.
 *
 *   mt_echo [port [workers]]     defaults: 7000, one worker per CPU
 *
 * Try it: `mt_echo 7000 &`, then several `nc 127.0.0.1 7000`, then kill %1.
 */
#include <cio.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* One connection; the runtime closes `fd` when this returns. */
static intptr_t echo(cio_fd fd, const cio_addr *peer, void *arg) {
    (void)peer, (void)arg;
    char buf[16384];
    int32_t n;
    while ((n = cio_recv(fd, buf, sizeof buf, 0)) > 0)
        if (cio_send(fd, buf, (uint32_t)n, CIO_MSG_WAITALL) != n) return -1;
    return n;
}

/* The main thread's one task: wait for SIGINT or SIGTERM. */
static intptr_t wait_for_stop(void *arg) {
    (void)arg;
    cio_signal sig;
    cio_signal_init(&sig, cio_task_loop());
    cio_signal_add(&sig, CIO_SIGINT);
    cio_signal_add(&sig, CIO_SIGTERM);
    int signo = cio_signal_wait(&sig, 0, NULL);
    cio_signal_close(&sig);
    return signo;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 7000;
    cio_runtime_options o = {0};
    o.workers = argc > 2 ? (unsigned)atoi(argv[2]) : 0;
    o.pin = true;
    cio_runtime *rt;
    int r = cio_runtime_start(&o, &rt);
    if (r < 0) {
        fprintf(stderr, "mt_echo: start: %s\n", cio_strerror(r));
        return 1;
    }
    char addr[32], shown[CIO_ADDR_STRLEN];
    snprintf(addr, sizeof addr, "0.0.0.0:%d", port);
    cio_addr bound;
    if ((r = cio_runtime_serve(rt, addr, NULL, echo, NULL, &bound)) < 0) {
        fprintf(stderr, "mt_echo: %s: %s\n", addr, cio_strerror(r));
        cio_runtime_shutdown(rt, 0, NULL, NULL);
        return 1;
    }
    cio_worker_stats total;
    cio_runtime_stats(rt, &total);
    cio_addr_format(&bound, shown, sizeof shown);
    printf("mt_echo: listening on %s with %u workers on %s\n", shown, cio_runtime_workers(rt),
           cio_backend_name(total.backend));
    fflush(stdout);

    intptr_t signo = 0;
    if ((r = cio_main(wait_for_stop, NULL, NULL, &signo)) < 0)
        fprintf(stderr, "mt_echo: waiting for a signal: %s\n", cio_strerror(r));
    printf("mt_echo: signal %d, stopping\n", (int)signo);
    for (unsigned w = 0; w < cio_runtime_workers(rt); w++) {
        cio_worker_stats s;
        cio_runtime_worker_stats(rt, w, &s);
        printf("  worker %u (cpu %d): %" PRIu64 " connections, %" PRIu64 " system calls\n", w, s.cpu,
               s.connections, s.loop.enters);
    }
    cio_runtime_report rep;
    cio_runtime_shutdown(rt, 5ull * CIO_NS_PER_SEC, &rep, NULL);
    printf("mt_echo: %" PRIu64 " connections ended by themselves, %" PRIu64 " cancelled\n", rep.tasks_finished,
           rep.tasks_cancelled);
    return 0;
}
