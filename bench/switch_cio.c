/*
 * bench/switch_cio.c - the cost of switching between stackful contexts in
 * cio, for bench/switch.sh.
 *
 * Usage:
 *     switch_cio raw SWITCHES
 *     switch_cio yield SWITCHES BACKEND
 *     switch_cio handoff SWITCHES BACKEND
 *
 * raw: two contexts (the main stack and one made with cio__ctx_make)
 * switch back and forth with cio__ctx_switch, the per-ABI routine the task
 * layer is built on (src/task/context.h), SWITCHES times in all. That is
 * what bench/switch_fcontext.c does with Boost.Context's jump_fcontext, so
 * the two numbers compare like with like. The routine is internal (hidden
 * in the shared library); linking the static library reaches it.
 *
 * yield: one task calls cio_task_yield() SWITCHES times. Each yield goes
 * through the loop (the task's wake op completes in the next turn), so it
 * costs two switches plus a loop turn: what a task pays to let IO in.
 *
 * handoff: two tasks pass a baton through wait queues (the way every sync
 * primitive blocks, src/task/task_internal.h), SWITCHES handoffs in all.
 * One handoff is the waker making the other ready and parking: two context
 * switches (task to scheduler, scheduler to task) and the run queue, no
 * loop turn.
 *
 * Prints one line, e.g.
 *     bench=switch impl=cio mode=raw switches=20000000 ns=... ns_per_switch=2.10 enters=0
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_cio.h"
#include "context.h"
#include "task_internal.h"

/* ---- raw ---- */

static cio_ctx main_ctx, co_ctx;

/* Switches straight back every time it is resumed; never returns. */
static void bounce(void *arg) {
    (void)arg;
    for (;;) cio__ctx_switch(&co_ctx, &main_ctx);
}

/* Static rather than aligned_alloc(), which Windows' C runtime lacks. */
static _Alignas(64) char raw_stack[64 * 1024];

static uint64_t run_raw(uint64_t switches) {
    cio__ctx_make(&co_ctx, raw_stack, sizeof raw_stack, bounce, NULL);
    cio__ctx_switch(&main_ctx, &co_ctx); /* first entry: fault the stack in, off the clock */
    uint64_t rounds = switches / 2;
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < rounds; i++) cio__ctx_switch(&main_ctx, &co_ctx);
    uint64_t ns = bench_now_ns() - t0;
    /* The bounce context stays suspended; its stack is never used again. */
    return ns;
}

/* ---- yield and handoff: through the task layer ---- */

typedef struct baton {
    uint64_t rounds; /* handoffs each way */
    uint64_t ns;
    int turn;        /* 0: ping's, 1: pong's */
    cio_waitq q[2];
} baton;

static intptr_t yielder(void *arg) {
    baton *b = arg;
    cio_task_yield(); /* warm: the first yield arms the wake op anew */
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < b->rounds; i++)
        if (cio_task_yield() != 0) exit(1);
    b->ns = bench_now_ns() - t0;
    return 0;
}

/* Gives the baton to `to` and waits until it comes back to `me`. */
static void pass(baton *b, int me, int to) {
    b->turn = to;
    cio__waitq_wake_one(&b->q[to], 0);
    while (b->turn != me) {
        cio_waiter w = {0};
        if (cio__waitq_wait(&b->q[me], &w) != 0) exit(1);
    }
}

static intptr_t ping(void *arg) {
    baton *b = arg;
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < b->rounds; i++) pass(b, 0, 1);
    b->ns = bench_now_ns() - t0;
    b->turn = 1; /* let pong out */
    cio__waitq_wake_one(&b->q[1], 0);
    return 0;
}

static intptr_t pong(void *arg) {
    baton *b = arg;
    for (;;) {
        while (b->turn != 1) {
            cio_waiter w = {0};
            if (cio__waitq_wait(&b->q[1], &w) != 0) exit(1);
        }
        if (b->ns) return 0; /* ping is done */
        b->turn = 0;
        cio__waitq_wake_one(&b->q[0], 0);
    }
}

static uint64_t run_tasks(const char *prog, const char *mode, uint64_t switches, cio_backend_kind kind,
                          uint64_t *enters) {
    static cio_loop loop;
    bench_loop_init(prog, &loop, kind, 0);
    baton b = {.turn = 0};
    if (strcmp(mode, "yield") == 0) {
        b.rounds = switches;
        if (cio_task_spawn(&loop, yielder, &b, &(cio_task_options){.detached = true}, NULL) != 0) exit(1);
    } else {
        b.rounds = switches / 2; /* each round is two handoffs */
        /* pong first: it is waiting when ping hands over the first time. */
        if (cio_task_spawn(&loop, pong, &b, &(cio_task_options){.detached = true}, NULL) != 0 ||
            cio_task_spawn(&loop, ping, &b, &(cio_task_options){.detached = true}, NULL) != 0)
            exit(1);
    }
    int r = cio_loop_run(&loop, CIO_RUN_DEFAULT);
    if (r != 0 || b.ns == 0) {
        fprintf(stderr, "%s: %s: the loop ended with %d before the tasks did\n", prog, mode, r);
        exit(1);
    }
    cio_stats st;
    cio_loop_stats(&loop, &st);
    *enters = st.enters;
    if (cio_loop_close(&loop) != 0) exit(1);
    return b.ns;
}

int main(int argc, char **argv) {
    const char *usage = "raw SWITCHES | yield SWITCHES BACKEND | handoff SWITCHES BACKEND";
    bool raw = argc == 3 && strcmp(argv[1], "raw") == 0;
    bool task = argc == 4 && (strcmp(argv[1], "yield") == 0 || strcmp(argv[1], "handoff") == 0);
    if (!raw && !task) {
        fprintf(stderr, "usage: %s %s\n", argv[0], usage);
        return 2;
    }
    uint64_t switches = bench_arg(argv[0], argv[2], "switch count");
    uint64_t ns, enters = 0;
    char impl[32] = "cio";
    if (raw) {
        switches &= ~(uint64_t)1; /* whole round trips */
        ns = run_raw(switches);
    } else {
        cio_backend_kind kind = bench_backend(argv[0], argv[3]);
        if (strcmp(argv[1], "handoff") == 0) switches &= ~(uint64_t)1;
        ns = run_tasks(argv[0], argv[1], switches, kind, &enters);
        snprintf(impl, sizeof impl, "cio-%s", cio_backend_name(kind));
    }
    printf("bench=switch impl=%s mode=%s switches=%llu ns=%llu ns_per_switch=%.3f enters=%llu\n", impl, argv[1],
           (unsigned long long)switches, (unsigned long long)ns, switches ? (double)ns / (double)switches : 0.0,
           (unsigned long long)enters);
    return 0;
}
