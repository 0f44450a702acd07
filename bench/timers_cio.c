/*
 * bench/timers_cio.c - a million timers through cio's core (the timer wheel
 * of src/core/timer_wheel.c): started, then fired or cancelled. See
 * bench/timers.h for the modes and what is measured.
 *
 * Usage: timers_cio fire|cancel COUNT [SPAN_US [BACKEND]] (io_uring by default).
 * A timer is a CIO_OP_TIMEOUT with a relative time; a cancel is cio_cancel(),
 * after which the timer completes with -CIO_ECANCELED: unlike libuv's and
 * libevent's stop, that runs its callback (every op completes exactly once),
 * and the time includes those callbacks.
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_cio.h"
#include "timers.h"

static uint64_t completed;
static int32_t expected;

static void on_timer(cio_loop *loop, cio_op *op) {
    (void)loop;
    if (op->res != expected) {
        fprintf(stderr, "timers_cio: a timer completed with %d (%s)\n", op->res, cio_strerror(op->res));
        exit(1);
    }
    completed++;
}

int main(int argc, char **argv) {
    timers_args a;
    timers_parse(argc, argv, "[BACKEND]", &a);
    cio_backend_kind kind = bench_backend(argv[0], a.extra ? a.extra : "io_uring");
    cio_loop loop;
    bench_loop_init(argv[0], &loop, kind, 256);
    cio_op *ops = calloc(a.count, sizeof *ops);
    if (!ops) return 1;
    expected = a.mode == TIMERS_FIRE ? 0 : -CIO_ECANCELED;

    uint64_t t0 = bench_now_ns(), c0 = timers_cpu_ns();
    for (uint32_t i = 0; i < a.count; i++) {
        cio_prep_timeout(&ops[i], (uint64_t)a.due_us[i] * 1000u, 0);
        ops[i].cb = on_timer;
        int r = cio_submit(&loop, &ops[i]);
        if (r < 0) {
            fprintf(stderr, "timers_cio: cio_submit: %s\n", cio_strerror(r));
            return 1;
        }
    }
    if (a.mode == TIMERS_CANCEL) {
        for (uint32_t i = 0; i < a.count; i++) {
            int r = cio_cancel(&loop, &ops[a.order[i]]);
            if (r != 0) {
                fprintf(stderr, "timers_cio: cio_cancel: %s\n", cio_strerror(r));
                return 1;
            }
        }
    }
    int r = cio_loop_run(&loop, CIO_RUN_DEFAULT);
    uint64_t cpu = timers_cpu_ns() - c0, ns = bench_now_ns() - t0;
    if (r != 0 || completed != a.count) {
        fprintf(stderr, "timers_cio: run returned %d after %llu of %u timers\n", r, (unsigned long long)completed,
                a.count);
        return 1;
    }
    cio_stats st;
    cio_loop_stats(&loop, &st);
    char impl[32];
    snprintf(impl, sizeof impl, "cio-%s", cio_backend_name(kind));
    timers_report(impl, &a, ns, cpu, st.turns);
    r = cio_loop_close(&loop);
    free(ops);
    return r == 0 ? 0 : 1;
}
