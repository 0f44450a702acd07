/*
 * bench/nop_uring.c - the anchor for bench/nop_cio.c: the same no-op loop
 * written by hand against liburing, the limit cio is measured against.
 *
 * To compare like with like it does what cio's io_uring backend does,
 * minus the runtime: the same ring (size = batch, CQ twice that, the same
 * setup flags, a registered ring fd), the same BATCH ops in flight, one
 * io_uring_submit_and_wait() per turn, and one callback per completion,
 * called through a function pointer found from the CQE's user_data, which
 * prepares and queues its op again. Only the submit/reap machinery is
 * cio's or liburing's; the work per op is the same.
 */
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct ctx {
    struct io_uring ring;
    uint64_t issued;
    uint64_t completed;
    uint64_t total;
} ctx;

/* The hand-written equivalent of a cio_op: a callback and its context. */
typedef struct raw_op raw_op;
struct raw_op {
    void (*cb)(ctx *c, raw_op *op, int res);
    ctx *c;
};

static void queue_nop(ctx *c, raw_op *op) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);
    if (!sqe) { /* cannot happen: at most one batch is ever queued */
        fprintf(stderr, "nop_uring: submission queue full\n");
        exit(1);
    }
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data(sqe, op);
}

static void on_nop(ctx *c, raw_op *op, int res) {
    if (res != 0) {
        fprintf(stderr, "nop_uring: nop failed: %s\n", strerror(-res));
        exit(1);
    }
    c->completed++;
    if (c->issued == c->total) return;
    c->issued++;
    queue_nop(c, op);
}

/* cio's setup (src/backend/uring.c): the best task-run mode the kernel
 * offers, falling back on EINVAL; the ring starts disabled and is enabled
 * by the thread that runs it. */
static int setup(ctx *c, unsigned entries) {
    static const unsigned attempts[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        0,
    };
    int r = -EINVAL;
    unsigned flags = 0;
    for (unsigned i = 0; i < sizeof attempts / sizeof *attempts && r == -EINVAL; i++) {
        struct io_uring_params p = {0};
        p.flags = attempts[i] | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP | IORING_SETUP_CQSIZE;
        p.cq_entries = entries * 2;
        r = io_uring_queue_init_params(entries, &c->ring, &p);
        flags = p.flags;
    }
    if (r < 0) return r;
    /* Debian's liburing 2.3 declares io_uring_enable_rings() but does not
     * export it; cio makes the same register call directly. */
    if ((flags & IORING_SETUP_R_DISABLED) &&
        (r = io_uring_register((unsigned)c->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0)) < 0)
        return r;
    r = io_uring_register_ring_fd(&c->ring);
    return r < 0 ? r : 0;
}

int main(int argc, char **argv) {
    uint64_t batch, total;
    bench_args(argc, argv, NULL, &batch, &total);

    ctx c = {.total = total};
    int r = setup(&c, (unsigned)batch);
    if (r < 0) {
        fprintf(stderr, "nop_uring: ring setup: %s\n", strerror(-r));
        return 1;
    }
    raw_op *ops = calloc(batch, sizeof *ops);
    if (!ops) return 1;
    uint64_t enters = 0;

    uint64_t t0 = bench_now_ns(), c0 = bench_cpu_ns();
    for (uint64_t i = 0; i < batch && c.issued < total; i++) {
        ops[i] = (raw_op){.cb = on_nop, .c = &c};
        c.issued++;
        queue_nop(&c, &ops[i]);
    }
    while (c.completed < total) {
        enters++;
        r = io_uring_submit_and_wait(&c.ring, 1);
        if (r < 0 && r != -EINTR) {
            fprintf(stderr, "nop_uring: io_uring_submit_and_wait: %s\n", strerror(-r));
            return 1;
        }
        /* Callbacks may queue SQEs but never enter the kernel, so the CQ
         * can be walked in place and released in one store afterwards. */
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&c.ring, head, cqe) {
            raw_op *op = io_uring_cqe_get_data(cqe);
            op->cb(op->c, op, cqe->res);
            seen++;
        }
        io_uring_cq_advance(&c.ring, seen);
    }
    uint64_t ns = bench_now_ns() - t0, cpu = bench_cpu_ns() - c0;

    bench_report_cpu("nop", "liburing", batch, c.completed, ns, enters, cpu);
    free(ops);
    io_uring_queue_exit(&c.ring);
    return 0;
}
