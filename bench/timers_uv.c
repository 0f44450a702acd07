/*
 * bench/timers_uv.c - a million timers on libuv, the anchor for
 * bench/timers_cio.c. See bench/timers.h for the modes and what is measured.
 *
 * Usage: timers_uv fire|cancel COUNT [SPAN_US]
 * libuv keeps its timers in a binary heap of pointers (O(log n) start and
 * stop) and counts time in milliseconds, so a deadline is rounded to its
 * millisecond. A cancel is uv_timer_stop(), which runs no callback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "timers.h"

static uint64_t fired;

static void on_timer(uv_timer_t *t) {
    (void)t;
    fired++;
}

static void check(int r, const char *what) {
    if (r < 0) {
        fprintf(stderr, "timers_uv: %s: %s\n", what, uv_strerror(r));
        exit(1);
    }
}

int main(int argc, char **argv) {
    timers_args a;
    timers_parse(argc, argv, NULL, &a);
    uv_loop_t loop;
    check(uv_loop_init(&loop), "uv_loop_init");
    uv_timer_t *timers = calloc(a.count, sizeof *timers);
    if (!timers) return 1;

    uint64_t t0 = bench_now_ns(), c0 = timers_cpu_ns();
    uv_update_time(&loop);
    for (uint32_t i = 0; i < a.count; i++) {
        check(uv_timer_init(&loop, &timers[i]), "uv_timer_init");
        check(uv_timer_start(&timers[i], on_timer, a.due_us[i] / 1000u, 0), "uv_timer_start");
    }
    if (a.mode == TIMERS_CANCEL)
        for (uint32_t i = 0; i < a.count; i++) check(uv_timer_stop(&timers[a.order[i]]), "uv_timer_stop");
    check(uv_run(&loop, UV_RUN_DEFAULT), "uv_run");
    uint64_t cpu = timers_cpu_ns() - c0, ns = bench_now_ns() - t0;
    uint64_t want = a.mode == TIMERS_FIRE ? a.count : 0;
    if (fired != want) {
        fprintf(stderr, "timers_uv: %llu timers fired, expected %llu\n", (unsigned long long)fired,
                (unsigned long long)want);
        return 1;
    }
    /* libuv counts no turns; 0 says so. */
    timers_report("libuv", &a, ns, cpu, 0);
    /* The handles are left as they are: closing a million of them is not
     * part of the scenario, and the process ends here. */
    return 0;
}
