/*
 * bench/spawn_cio.c - tasks spawned and joined per second, for
 * bench/spawn.sh.
 *
 * Usage: spawn_cio BATCH TOTAL [BACKEND]
 *
 * A driver task spawns BATCH tasks that return at once, then joins them
 * all, and again until TOTAL tasks have come and gone. Each task costs a
 * stack (mapped, or taken from the per-thread pool of freed stacks), the
 * first switch into it, its return, and the wake-up of its joiner. The
 * spawned tasks start when the driver blocks in its first join, so a
 * batch runs in one go without a loop turn; the backend hardly matters
 * (no op is submitted), but it is named as the other programs name it.
 *
 * A run stops early, after whole batches, once SPAWN_MAX_NS have passed
 * (bench.h): where each spawn maps a fresh stack the rate drops a hundred
 * times, and a count sized for the fast case would take minutes.
 *
 * Prints one line, e.g.
 *     bench=spawn impl=cio-io_uring batch=64 ops=1000000 ns=... ops_per_s=... enters=...
 * where an op is one spawn plus its join.
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_cio.h"

typedef struct driver {
    uint64_t batch, total, done, ns;
    cio_task **tasks;
} driver;

static intptr_t trivial(void *arg) { return (intptr_t)arg; }

static void fail(const char *what, int err) {
    fprintf(stderr, "spawn_cio: %s: %s\n", what, cio_strerror(err));
    exit(1);
}

static intptr_t drive(void *arg) {
    driver *d = arg;
    cio_loop *loop = cio_task_loop();
    uint64_t t0 = bench_now_ns();
    while (d->done < d->total && bench_now_ns() - t0 < SPAWN_MAX_NS) {
        uint64_t n = d->total - d->done < d->batch ? d->total - d->done : d->batch;
        for (uint64_t i = 0; i < n; i++) {
            int r = cio_task_spawn(loop, trivial, (void *)(uintptr_t)i, NULL, &d->tasks[i]);
            if (r < 0) fail("cio_task_spawn", r);
        }
        for (uint64_t i = 0; i < n; i++) {
            intptr_t res = -1;
            int r = cio_task_join(d->tasks[i], &res);
            if (r < 0) fail("cio_task_join", r);
            if (res != (intptr_t)i) fail("a task returned the wrong value", -CIO_EINVAL);
        }
        d->done += n;
    }
    d->ns = bench_now_ns() - t0;
    return 0;
}

int main(int argc, char **argv) {
    uint64_t batch, total;
    const char *name = bench_args(argc, argv, "[BACKEND]", &batch, &total);
    cio_backend_kind kind = bench_backend(argv[0], name ? name : "io_uring");
    static cio_loop loop;
    bench_loop_init(argv[0], &loop, kind, 0);
    driver d = {.batch = batch, .total = total, .tasks = calloc(batch, sizeof(cio_task *))};
    if (!d.tasks) return 1;
    int r = cio_task_spawn(&loop, drive, &d, &(cio_task_options){.detached = true}, NULL);
    if (r < 0) fail("cio_task_spawn", r);
    r = cio_loop_run(&loop, CIO_RUN_DEFAULT);
    if (r != 0 || d.done == 0) {
        fprintf(stderr, "spawn_cio: the loop ended with %d after %llu of %llu tasks\n", r,
                (unsigned long long)d.done, (unsigned long long)total);
        return 1;
    }
    cio_stats st;
    cio_loop_stats(&loop, &st);
    char impl[32];
    snprintf(impl, sizeof impl, "cio-%s", cio_backend_name(kind));
    bench_report("spawn", impl, batch, d.done, d.ns, st.enters);
    free(d.tasks);
    return cio_loop_close(&loop) == 0 ? 0 : 1;
}
