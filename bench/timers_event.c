/*
 * bench/timers_event.c - a million timers on libevent, the second anchor for
 * bench/timers_cio.c. See bench/timers.h for the modes and what is measured.
 *
 * Usage: timers_event fire|cancel COUNT [SPAN_US]
 * libevent keeps its timers in a binary min-heap (an array with each
 * event's index in it: O(log n) add and delete) and counts time in
 * microseconds. A cancel is event_del(), which runs no callback. The
 * events live in one array (event_assign), as cio's ops and libuv's
 * handles do, so no implementation pays an allocation per timer.
 */
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdio.h>
#include <stdlib.h>

#include "timers.h"

static uint64_t fired;

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    fired++;
}

int main(int argc, char **argv) {
    timers_args a;
    timers_parse(argc, argv, NULL, &a);
    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "timers_event: event_base_new failed\n");
        return 1;
    }
    struct event *evs = calloc(a.count, sizeof *evs);
    if (!evs) return 1;

    uint64_t t0 = bench_now_ns(), c0 = timers_cpu_ns();
    for (uint32_t i = 0; i < a.count; i++) {
        struct timeval tv = {.tv_sec = a.due_us[i] / 1000000u, .tv_usec = a.due_us[i] % 1000000u};
        if (evtimer_assign(&evs[i], base, on_timer, &evs[i]) < 0 || evtimer_add(&evs[i], &tv) < 0) {
            fprintf(stderr, "timers_event: evtimer_add failed\n");
            return 1;
        }
    }
    if (a.mode == TIMERS_CANCEL)
        for (uint32_t i = 0; i < a.count; i++)
            if (evtimer_del(&evs[a.order[i]]) < 0) {
                fprintf(stderr, "timers_event: evtimer_del failed\n");
                return 1;
            }
    if (event_base_dispatch(base) < 0) {
        fprintf(stderr, "timers_event: event_base_dispatch failed\n");
        return 1;
    }
    uint64_t cpu = timers_cpu_ns() - c0, ns = bench_now_ns() - t0;
    uint64_t want = a.mode == TIMERS_FIRE ? a.count : 0;
    if (fired != want) {
        fprintf(stderr, "timers_event: %llu timers fired, expected %llu\n", (unsigned long long)fired,
                (unsigned long long)want);
        return 1;
    }
    timers_report("libevent", &a, ns, cpu, 0);
    event_base_free(base);
    free(evs);
    return 0;
}
