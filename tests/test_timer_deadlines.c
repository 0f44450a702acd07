/* Deadlines share the core's timers with timers (src/core/timer_wheel.c)
 * on the backends that do not keep them in the kernel: a read whose data
 * comes first leaves the timers (an O(1) removal from anywhere in them),
 * one whose data never comes fails with -CIO_ETIMEDOUT, never before its
 * deadline by CLOCK_MONOTONIC (the oracle), in deadline order, exactly
 * once. The peer writes with plain system calls. CIO_TEST_PORTABLE */
#include "test.h"

#define MS 1000000ull
enum { N = 64 };

typedef struct rd {
    cio_op op; /* first */
    int finals;
    int32_t res;
    uint64_t done_mono;
    uint64_t order;
} rd;

static uint64_t completions;

static void on_read(cio_loop *loop, cio_op *op) {
    (void)loop;
    rd *r = (rd *)op;
    r->finals++;
    r->res = op->res;
    r->done_mono = t_now_ns();
    r->order = ++completions;
}

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 2 * N);
    static cio_fd fds[N][2];
    static rd rds[N];
    static char bufs[N][8];
    int slot[N];
    /* Deadlines 3 ms apart, given to the pipes in a shuffled order. */
    for (int i = 0; i < N; i++) slot[i] = i;
    uint32_t s = 12345;
    for (int i = N; i > 1; i--) {
        s = s * 1103515245u + 12345u;
        int j = (int)((s >> 8) % (unsigned)i), t = slot[i - 1];
        slot[i - 1] = slot[j];
        slot[j] = t;
    }
    uint64_t base = cio_now(&loop) + 20 * MS;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(t_pipe(fds[i]), 0);
        cio_prep_read(&rds[i].op, fds[i][0], bufs[i], sizeof bufs[i], CIO_OFFSET_CURRENT);
        rds[i].op.cb = on_read;
        rds[i].op.deadline = base + (uint64_t)slot[i] * 3 * MS;
        CHECK_EQ(cio_submit(&loop, &rds[i].op), 0);
    }
    /* Data for the even ones: they complete long before their deadlines. */
    for (int i = 0; i < N; i += 2) CHECK_EQ(t_sys_write(fds[i][1], "data", 4), 4);
    t_run(&loop, 30);
    uint64_t prev_deadline = 0, prev_order = 0;
    for (int k = 0; k < N; k++) {
        /* In deadline order: k-th deadline belongs to the pipe whose slot is k. */
        int i = 0;
        while (slot[i] != k) i++;
        CHECK_EQ(rds[i].finals, 1);
        if (i % 2 == 0) {
            CHECK_EQ(rds[i].res, 4);
            continue;
        }
        CHECK_EQ(rds[i].res, -CIO_ETIMEDOUT);
        CHECK(rds[i].done_mono >= rds[i].op.deadline);
        CHECK(rds[i].op.deadline > prev_deadline);
        CHECK(rds[i].order > prev_order);
        prev_deadline = rds[i].op.deadline;
        prev_order = rds[i].order;
    }
    for (int i = 0; i < N; i++) {
        CHECK_EQ(t_close_handle(fds[i][0]), 0);
        CHECK_EQ(t_close_handle(fds[i][1]), 0);
    }
    t_close(&loop);
    puts("timer_deadlines: ok");
    return 0;
}
