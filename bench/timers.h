/*
 * bench/timers.h - what the million-timers programs share (bench/timers_cio.c,
 * timers_uv.c, timers_event.c): the arguments, the same pseudo-random
 * deadlines and cancel order for every implementation, the clocks, and the
 * result line bench/timers.sh parses.
 *
 * Usage: PROG MODE COUNT [SPAN_US] [extra]
 *   fire    start COUNT timers due at random times in [0, SPAN_US) µs (1 s by
 *           default) and run the loop until every one has fired;
 *   cancel  start COUNT timers due at random times in [60 s, 60 s + SPAN_US)
 *           and cancel every one of them, in a random order, before any fires
 *           (the remove path), then run the loop until it is idle.
 * Each program checks that every timer fired (or was cancelled) exactly once.
 *
 * Time is what the process spent on the CPU (CLOCK_PROCESS_CPUTIME_ID) from
 * the first start to the last callback: in `fire` a loop that keeps up
 * sleeps between deadlines, and wall time would be the span, not the cost.
 * ops_per_s is COUNT divided by that CPU time; wall time is printed too.
 */
#ifndef CIO_BENCH_TIMERS_H
#define CIO_BENCH_TIMERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

enum { TIMERS_FIRE, TIMERS_CANCEL };

/* The cancel mode's timers are due this far ahead: none fires even on a
 * slow run. */
#define TIMERS_CANCEL_BASE_US 60000000u

typedef struct timers_args {
    int mode;
    uint32_t count;
    uint32_t span_us;
    uint32_t *due_us; /* per timer, µs from the start */
    uint32_t *order;  /* cancel mode: the order in which they are cancelled */
    const char *extra;
} timers_args;

/* xorshift32: the same sequence everywhere, no libc rand() differences. */
static inline uint32_t timers_rand(uint32_t *s) {
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static inline void timers_parse(int argc, char **argv, const char *extra, timers_args *a) {
    if (argc < 3 || argc > 5 || (argc == 5 && !extra)) {
        fprintf(stderr, "usage: %s fire|cancel COUNT [SPAN_US] %s\n", argv[0], extra ? extra : "");
        exit(2);
    }
    if (strcmp(argv[1], "fire") == 0)
        a->mode = TIMERS_FIRE;
    else if (strcmp(argv[1], "cancel") == 0)
        a->mode = TIMERS_CANCEL;
    else {
        fprintf(stderr, "%s: mode must be fire or cancel\n", argv[0]);
        exit(2);
    }
    uint64_t n = bench_arg(argv[0], argv[2], "count");
    uint64_t span = argc >= 4 ? bench_arg(argv[0], argv[3], "span") : 1000000u;
    if (n > 100000000u || span > 1000000000u) {
        fprintf(stderr, "%s: count at most 1e8, span at most 1e9 us\n", argv[0]);
        exit(2);
    }
    a->count = (uint32_t)n;
    a->span_us = (uint32_t)span;
    a->extra = argc == 5 ? argv[4] : NULL;
    a->due_us = malloc(sizeof *a->due_us * n);
    a->order = malloc(sizeof *a->order * n);
    if (!a->due_us || !a->order) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        exit(1);
    }
    uint32_t s = 0x9e3779b9u;
    uint32_t base = a->mode == TIMERS_CANCEL ? TIMERS_CANCEL_BASE_US : 0;
    for (uint32_t i = 0; i < a->count; i++) a->due_us[i] = base + timers_rand(&s) % a->span_us;
    /* A random permutation (Fisher-Yates), so that a cancel finds its timer
     * anywhere in the structure, not in the order they went in. */
    for (uint32_t i = 0; i < a->count; i++) a->order[i] = i;
    for (uint32_t i = a->count; i > 1; i--) {
        uint32_t j = timers_rand(&s) % i, t = a->order[i - 1];
        a->order[i - 1] = a->order[j];
        a->order[j] = t;
    }
}

static inline uint64_t timers_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void timers_report(const char *impl, const timers_args *a, uint64_t wall_ns, uint64_t cpu_ns,
                                 uint64_t turns) {
    printf("bench=timers impl=%s mode=%s ops=%u span_us=%u ns=%llu cpu_ns=%llu ops_per_s=%.0f turns=%llu\n", impl,
           a->mode == TIMERS_FIRE ? "fire" : "cancel", a->count, a->span_us, (unsigned long long)wall_ns,
           (unsigned long long)cpu_ns, cpu_ns ? (double)a->count * 1e9 / (double)cpu_ns : 0.0,
           (unsigned long long)turns);
}

#endif /* CIO_BENCH_TIMERS_H */
