/*
 * bench/spawn_pthread.c - a reference point for bench/spawn.sh: the same
 * batches of trivial functions, each run on a thread of its own
 * (pthread_create, pthread_join). Not a goal to meet, only the scale of
 * what a task saves over a thread per connection.
 *
 * Usage: spawn_pthread BATCH TOTAL (stopping after SPAWN_MAX_NS, as spawn_cio)
 *
 * Prints one line, e.g.
 *     bench=spawn impl=pthread batch=64 ops=100000 ns=... ops_per_s=... enters=0
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void *trivial(void *arg) { return arg; }

int main(int argc, char **argv) {
    uint64_t batch, total;
    bench_args(argc, argv, NULL, &batch, &total);
    pthread_t *threads = calloc(batch, sizeof *threads);
    if (!threads) return 1;
    uint64_t done = 0;
    uint64_t t0 = bench_now_ns();
    while (done < total && bench_now_ns() - t0 < SPAWN_MAX_NS) {
        uint64_t n = total - done < batch ? total - done : batch;
        for (uint64_t i = 0; i < n; i++) {
            int r = pthread_create(&threads[i], NULL, trivial, (void *)(uintptr_t)i);
            if (r != 0) {
                fprintf(stderr, "spawn_pthread: pthread_create: %s\n", strerror(r));
                return 1;
            }
        }
        for (uint64_t i = 0; i < n; i++) {
            void *res = NULL;
            if (pthread_join(threads[i], &res) != 0 || res != (void *)(uintptr_t)i) {
                fprintf(stderr, "spawn_pthread: pthread_join failed\n");
                return 1;
            }
        }
        done += n;
    }
    uint64_t ns = bench_now_ns() - t0;
    bench_report("spawn", "pthread", batch, done, ns, 0);
    free(threads);
    return 0;
}
