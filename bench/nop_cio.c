/*
 * bench/nop_cio.c - no-op throughput through cio's loop.
 *
 * Keeps BATCH no-ops in flight until TOTAL_OPS have completed. Each op's
 * callback counts its completion and, while ops remain to be issued,
 * prepares and submits the same op again; cio hands the resubmitted ops to
 * the kernel together at the start of the next turn, in the one
 * io_uring_enter that also waits. bench/nop_uring.c does exactly this by
 * hand, so the ratio between the two is what cio's loop costs per op.
 *
 * A no-op is the cheapest thing the kernel can do, so this measures the
 * runtime's own overhead (submit, reap, dispatch, bookkeeping) and not IO.
 *
 * An optional third argument names the backend (io_uring by default). On
 * epoll and poll a no-op never reaches the kernel: the core completes it
 * in user space and the loop makes one non-blocking epoll_wait()/poll()
 * per turn, so those numbers measure the core's ready queue, not a
 * kernel round trip, and are not comparable with liburing's.
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_cio.h"

typedef struct ctx {
    uint64_t issued;
    uint64_t completed;
    uint64_t total;
} ctx;

static void on_nop(cio_loop *loop, cio_op *op) {
    ctx *c = op->data;
    if (op->res != 0) {
        fprintf(stderr, "nop_cio: nop failed: %s\n", cio_strerror(op->res));
        exit(1);
    }
    c->completed++;
    if (c->issued == c->total) return;
    c->issued++;
    cio_prep_nop(op);
    op->cb = on_nop;
    op->data = c;
    int r = cio_submit(loop, op);
    if (r < 0) {
        fprintf(stderr, "nop_cio: cio_submit: %s\n", cio_strerror(r));
        exit(1);
    }
}

int main(int argc, char **argv) {
    uint64_t batch, total;
    const char *name = bench_args(argc, argv, "[BACKEND]", &batch, &total);
    cio_backend_kind kind = bench_backend(argv[0], name ? name : "io_uring");

    /* The ring holds exactly one batch, as in the raw loop. */
    cio_loop loop;
    bench_loop_init(argv[0], &loop, kind, (uint32_t)batch);
    int r;
    cio_op *ops = calloc(batch, sizeof *ops);
    if (!ops) return 1;
    ctx c = {.total = total};

    uint64_t t0 = bench_now_ns(), c0 = bench_cpu_ns();
    for (uint64_t i = 0; i < batch && c.issued < total; i++) {
        cio_prep_nop(&ops[i]);
        ops[i].cb = on_nop;
        ops[i].data = &c;
        c.issued++;
        r = cio_submit(&loop, &ops[i]);
        if (r < 0) {
            fprintf(stderr, "nop_cio: cio_submit: %s\n", cio_strerror(r));
            return 1;
        }
    }
    r = cio_loop_run(&loop, CIO_RUN_DEFAULT);
    uint64_t ns = bench_now_ns() - t0, cpu = bench_cpu_ns() - c0;
    if (r != 0 || c.completed != total) {
        fprintf(stderr, "nop_cio: run returned %d after %llu of %llu ops\n", r,
                (unsigned long long)c.completed, (unsigned long long)total);
        return 1;
    }

    cio_stats st;
    cio_loop_stats(&loop, &st);
    /* If io_uring stopped taking no-ops (a probe gone wrong), the core
     * would complete them itself without the kernel and the number would
     * be meaningless; refuse to report it. */
    if (kind == CIO_BACKEND_URING && st.kernel_completions < total) {
        fprintf(stderr, "nop_cio: only %llu of %llu nops went through the kernel\n",
                (unsigned long long)st.kernel_completions, (unsigned long long)total);
        return 1;
    }
    char impl[32];
    snprintf(impl, sizeof impl, "cio-%s", cio_backend_name(kind));
    bench_report_cpu("nop", impl, batch, c.completed, ns, st.enters, cpu);
    r = cio_loop_close(&loop);
    free(ops);
    return r == 0 ? 0 : 1;
}
