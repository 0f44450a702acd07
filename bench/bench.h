/*
 * bench/bench.h - what every benchmark program shares: argument parsing,
 * the clock, and the one result line the scenario scripts parse.
 *
 * Each program prints exactly one line on stdout, of `key=value` pairs
 * separated by spaces, e.g.
 *     bench=nop impl=cio batch=16 ops=10000000 ns=812345678 ops_per_s=12310000 enters=625001
 * so that a script can pick fields by name and a person can read it.
 */
#ifndef CIO_BENCH_H
#define CIO_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(_WIN32)
#include <windows.h>
#endif

static inline uint64_t bench_now_ns(void) {
#if defined(_WIN32)
    /* mingw's clock_gettime comes from winpthreads; the system's own clock
     * is the performance counter. Split so that ticks * 1e9 cannot overflow. */
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (!freq.QuadPart) QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    uint64_t t = (uint64_t)now.QuadPart, f = (uint64_t)freq.QuadPart;
    return t / f * 1000000000u + t % f * 1000000000u / f;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/* CPU time the process has used so far (all its threads), in ns. On a
 * machine where other work competes for the CPU, ops per CPU second of a
 * single-threaded loop that never sleeps are what ops per second would be
 * on a quiet one (bench/nop.sh reports both). */
static inline uint64_t bench_cpu_ns(void) {
#if defined(_WIN32)
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user)) return 0;
    uint64_t k = ((uint64_t)kernel.dwHighDateTime << 32) | kernel.dwLowDateTime;
    uint64_t u = ((uint64_t)user.dwHighDateTime << 32) | user.dwLowDateTime;
    return (k + u) * 100u; /* 100 ns units */
#else
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/* Parses a positive decimal argument; exits with a usage message otherwise,
 * since a benchmark run with a silently defaulted size is a wrong number. */
static inline uint64_t bench_arg(const char *prog, const char *s, const char *what) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v == 0) {
        fprintf(stderr, "%s: bad %s '%s'\n", prog, what, s);
        exit(2);
    }
    return (uint64_t)v;
}

/* BATCH TOTAL_OPS, and one optional argument more when `extra` names it
 * (e.g. "[BACKEND]"); returns that argument, or NULL when it was left out. */
static inline const char *bench_args(int argc, char **argv, const char *extra, uint64_t *batch,
                                     uint64_t *total) {
    if (argc != 3 && !(extra && argc == 4)) {
        fprintf(stderr, "usage: %s BATCH TOTAL_OPS %s\n", argv[0], extra ? extra : "");
        exit(2);
    }
    *batch = bench_arg(argv[0], argv[1], "batch");
    *total = bench_arg(argv[0], argv[2], "total");
    /* Both loops size their ring by the batch; keep it in io_uring's range. */
    if (*batch > 4096) {
        fprintf(stderr, "%s: batch must be at most 4096\n", argv[0]);
        exit(2);
    }
    return argc == 4 ? argv[3] : NULL;
}

/* The spawn programs stop after whole batches once this much time has
 * passed, whatever their TOTAL: their rate differs a hundredfold between
 * batch sizes. */
#define SPAWN_MAX_NS 3000000000u

static inline void bench_report(const char *bench, const char *impl, uint64_t batch, uint64_t ops,
                                uint64_t ns, uint64_t enters) {
    double secs = (double)ns / 1e9;
    printf("bench=%s impl=%s batch=%llu ops=%llu ns=%llu ops_per_s=%.0f enters=%llu\n", bench, impl,
           (unsigned long long)batch, (unsigned long long)ops, (unsigned long long)ns,
           secs > 0 ? (double)ops / secs : 0.0, (unsigned long long)enters);
}

/* bench_report's line with the CPU time of the same span added:
 * `cpu_ns=` and `ops_per_cpu_s=`. */
static inline void bench_report_cpu(const char *bench, const char *impl, uint64_t batch, uint64_t ops, uint64_t ns,
                                    uint64_t enters, uint64_t cpu_ns) {
    double secs = (double)ns / 1e9, cpu_secs = (double)cpu_ns / 1e9;
    printf("bench=%s impl=%s batch=%llu ops=%llu ns=%llu ops_per_s=%.0f enters=%llu cpu_ns=%llu ops_per_cpu_s=%.0f\n",
           bench, impl, (unsigned long long)batch, (unsigned long long)ops, (unsigned long long)ns,
           secs > 0 ? (double)ops / secs : 0.0, (unsigned long long)enters, (unsigned long long)cpu_ns,
           cpu_secs > 0 ? (double)ops / cpu_secs : 0.0);
}

#endif /* CIO_BENCH_H */
