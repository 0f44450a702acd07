/* The core's timers on a real clock (src/core/timer_wheel.c): timers on
 * every level of the wheel, from due at once to "never"; tens of thousands
 * with random deadlines and many equal ones, some removed (the earliest
 * too), some moved, firing in (deadline, arming) order, each exactly once
 * and never before its deadline by CLOCK_MONOTONIC, the oracle; updates
 * that move a timer between levels; and a loop that neither oversleeps past
 * its earliest timer nor spins while it waits. Upper bounds on lateness are
 * generous (a shared 2-core machine); the "no spin" bound counts loop turns.
 * CIO_TEST_PORTABLE */
#include "test.h"

#define MS 1000000ull
#define SEC (1000 * MS)
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)

typedef struct tmr {
    cio_op op;      /* first: the callback gets the op */
    uint64_t due;   /* the absolute cio_now() time it was (last) armed for */
    uint64_t armed; /* arming order; an update arms anew */
    int finals;
    int32_t res;
    uint64_t fired_mono; /* CLOCK_MONOTONIC in its callback */
    uint64_t fire_order;
} tmr;

static uint64_t arm_count, fire_count;
static uint64_t last_due, last_armed;
static int order_errors, early;

static void reset_order(void) {
    last_due = 0;
    last_armed = 0;
}

static void on_fire(cio_loop *loop, cio_op *op) {
    tmr *t = (tmr *)op;
    t->finals++;
    t->res = op->res;
    t->fire_order = ++fire_count;
    if (op->res != 0) return;
    t->fired_mono = t_now_ns();
    /* Never early: by the system's clock, read here independently, and by
     * the loop's. */
    if (t->fired_mono < t->due || cio_now(loop) < t->due) {
        fprintf(stderr, "timer due at %" PRIu64 " fired at %" PRIu64 " (loop: %" PRIu64 ")\n", t->due,
                t->fired_mono, cio_now(loop));
        early++;
    }
    if (t->due < last_due || (t->due == last_due && t->armed < last_armed)) order_errors++;
    last_due = t->due;
    last_armed = t->armed;
}

/* Arms `t` for the absolute time `due` (not yet submitted). */
static void prep_at(tmr *t, uint64_t due) {
    cio_prep_timeout(&t->op, due, CIO_TIMEOUT_ABS);
    t->op.cb = on_fire;
    t->due = due;
    t->finals = 0;
    t->res = 0;
}

static void arm_at(cio_loop *loop, tmr *t, uint64_t due) {
    prep_at(t, due);
    t->armed = ++arm_count;
    CHECK_EQ(cio_submit(loop, &t->op), 0);
}

/* Moves the pending `t` to the absolute time `due` through `upd`. */
static void move_to(cio_loop *loop, t_op *upd, tmr *t, uint64_t due) {
    cio_prep_timer_update(&upd->op, &t->op, due, CIO_TIMEOUT_ABS);
    t_arm(upd);
    t->due = due;
    t->armed = ++arm_count;
    CHECK_EQ(cio_submit(loop, &upd->op), 0);
}

static uint32_t rng = 0x2545f491u;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Runs until `*t` has completed, failing after `limit_s`; returns the
 * loop turns it took. */
static uint64_t run_until_done(cio_loop *loop, const tmr *t, double limit_s) {
    cio_stats before, after;
    cio_loop_stats(loop, &before);
    t_run_until(loop, &t->finals, limit_s);
    cio_loop_stats(loop, &after);
    return after.turns - before.turns;
}

/* Tens of thousands of timers within 300 ms, on a 250 µs grid so that many
 * share a deadline; a tenth removed (half by cio_cancel, half by
 * CIO_OP_TIMER_REMOVE), the earliest among them, and a tenth moved. */
static void random_deadlines(void) {
    enum { N = 40000, GRID = 1200 };
    cio_loop loop;
    t_loop_init(&loop, 64);
    tmr *ts = calloc(N, sizeof *ts);
    t_op *ctl = calloc(N, sizeof *ctl);
    char *removed = calloc(N, 1);
    CHECK(ts && ctl && removed);
    uint64_t base = cio_now(&loop) + 5 * MS;
    for (int i = 0; i < N; i++) arm_at(&loop, &ts[i], base + (uint64_t)(rnd() % GRID) * 250000u);
    /* The earliest (first armed among the earliest deadlines) goes first. */
    int first = 0;
    for (int i = 1; i < N; i++)
        if (ts[i].due < ts[first].due) first = i;
    CHECK_EQ(cio_cancel(&loop, &ts[first].op), 0);
    removed[first] = 1;
    for (int k = 0; k < N / 10; k++) {
        int i = (int)(rnd() % N);
        if (removed[i]) continue;
        removed[i] = 1;
        if (k % 2) {
            CHECK_EQ(cio_cancel(&loop, &ts[i].op), 0);
        } else {
            cio_prep_timer_remove(&ctl[i].op, &ts[i].op);
            t_arm(&ctl[i]);
            CHECK_EQ(cio_submit(&loop, &ctl[i].op), 0);
        }
    }
    for (int k = 0; k < N / 10; k++) {
        int i = (int)(rnd() % N);
        if (removed[i] || ctl[i].op.cb) continue; /* one control op each */
        move_to(&loop, &ctl[i], &ts[i], base + (uint64_t)(rnd() % GRID) * 250000u);
    }
    reset_order();
    t_run(&loop, 60);
    CHECK_EQ(early, 0);
    CHECK_EQ(order_errors, 0);
    uint64_t latest = 0;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(ts[i].finals, 1);
        CHECK_EQ(ts[i].res, removed[i] ? -CIO_ECANCELED : 0);
        if (ctl[i].op.cb) {
            CHECK_EQ(ctl[i].finals, 1);
            CHECK_EQ(ctl[i].res, 0);
        }
        if (!removed[i] && ts[i].fired_mono > latest) latest = ts[i].fired_mono;
    }
    /* All within 300 ms: generously, they were done within 30 s of it. */
    CHECK(latest < base + 300 * MS + 30 * SEC);
    t_close(&loop);
    free(ts);
    free(ctl);
    free(removed);
}

/* One timer on each level, from due at once to never: the near ones fire
 * in order and on time, the far ones wait (and are then cancelled); the
 * waits in between neither spin nor oversleep. */
static void levels(void) {
    static const uint64_t fire_in[] = {0, 1 * MS, 3 * MS, 20 * MS, 70 * MS, 150 * MS, 300 * MS};
    static const uint64_t wait_in[] = {5 * SEC, 90 * SEC, 20 * 60 * SEC, 3 * HOUR, 2 * DAY, 400 * DAY};
    enum { NF = sizeof fire_in / sizeof *fire_in, NW = sizeof wait_in / sizeof *wait_in };
    cio_loop loop;
    t_loop_init(&loop, 64);
    tmr f[NF], w[NW + 1];
    t_op rm[NW + 1];
    uint64_t now = cio_now(&loop);
    /* The far ones first, so that the near ones are armed behind them. */
    for (int i = 0; i < NW; i++) arm_at(&loop, &w[i], now + wait_in[i]);
    arm_at(&loop, &w[NW], UINT64_MAX); /* never */
    for (int i = NF - 1; i >= 0; i--) arm_at(&loop, &f[i], now + fire_in[i]);
    reset_order();
    uint64_t turns = run_until_done(&loop, &f[NF - 1], 30);
    for (int i = 0; i < NF; i++) {
        CHECK_EQ(f[i].finals, 1);
        CHECK_EQ(f[i].res, 0);
        if (i) CHECK(f[i - 1].fire_order < f[i].fire_order);
    }
    CHECK_EQ(early, 0);
    CHECK_EQ(order_errors, 0);
    /* 300 ms of waiting for 7 timers: a handful of turns each, not a spin
     * (which makes hundreds of thousands). */
    CHECK(turns < 2000);
    for (int i = 0; i <= NW; i++) CHECK_EQ(w[i].finals, 0);
    /* Half by cio_cancel, half by CIO_OP_TIMER_REMOVE. */
    for (int i = 0; i <= NW; i++) {
        if (i % 2) {
            CHECK_EQ(cio_cancel(&loop, &w[i].op), 0);
        } else {
            cio_prep_timer_remove(&rm[i].op, &w[i].op);
            t_arm(&rm[i]);
            CHECK_EQ(cio_submit(&loop, &rm[i].op), 0);
        }
    }
    t_run(&loop, 10);
    for (int i = 0; i <= NW; i++) {
        CHECK_EQ(w[i].finals, 1);
        CHECK_EQ(w[i].res, -CIO_ECANCELED);
        if (i % 2 == 0) CHECK_EQ(rm[i].res, 0);
    }
    t_close(&loop);
}

/* Updates that move a timer from hours ahead to milliseconds and back,
 * many times over before it may fire. */
static void updates_across_levels(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    tmr a, b, c, probe;
    t_op ua, ub[2], uc[100];

    /* From 3 hours to 40 ms. */
    arm_at(&loop, &a, cio_now(&loop) + 3 * HOUR);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 1);
    uint64_t moved = cio_loop_update_now(&loop);
    move_to(&loop, &ua, &a, moved + 40 * MS);
    reset_order();
    run_until_done(&loop, &a, 30);
    CHECK_EQ(a.res, 0);
    CHECK(a.fired_mono >= moved + 40 * MS);
    CHECK_EQ(ua.finals, 1);
    CHECK_EQ(ua.res, 0);

    /* From 5 ms to 3 hours: it waits past its first time; then to 10 ms. */
    arm_at(&loop, &b, cio_now(&loop) + 5 * MS);
    move_to(&loop, &ub[0], &b, cio_now(&loop) + 3 * HOUR);
    arm_at(&loop, &probe, cio_now(&loop) + 50 * MS);
    reset_order();
    run_until_done(&loop, &probe, 30);
    CHECK_EQ(b.finals, 0);
    moved = cio_loop_update_now(&loop);
    move_to(&loop, &ub[1], &b, moved + 10 * MS);
    reset_order();
    run_until_done(&loop, &b, 30);
    CHECK_EQ(b.res, 0);
    CHECK(b.fired_mono >= moved + 10 * MS);

    /* A hundred moves between 1 ms and 400 days, all before the loop
     * runs; the last one, to 15 ms, is the one that counts. */
    uint64_t now = cio_now(&loop);
    arm_at(&loop, &c, now + 2 * HOUR);
    static const uint64_t spans[] = {1 * MS, 80 * MS, 6 * SEC, 7 * 60 * SEC, 5 * HOUR, 30 * DAY, 400 * DAY};
    for (int i = 0; i < 99; i++) move_to(&loop, &uc[i], &c, now + spans[rnd() % 7] + rnd() % (1u << 20));
    move_to(&loop, &uc[99], &c, now + 15 * MS);
    reset_order();
    run_until_done(&loop, &c, 30);
    CHECK_EQ(c.finals, 1);
    CHECK_EQ(c.res, 0);
    CHECK(c.fired_mono >= now + 15 * MS);
    t_run(&loop, 10);
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(uc[i].finals, 1);
        CHECK_EQ(uc[i].res, 0);
    }
    CHECK_EQ(c.finals, 1);
    CHECK_EQ(early, 0);
    t_close(&loop);
}

static cio_loop *late_loop;
static tmr late_armed;

/* Arms a 50 ms timer from a callback, while a 3-hour one is pending. */
static void arm_late(cio_loop *loop, cio_op *op) {
    on_fire(loop, op);
    arm_at(loop, &late_armed, cio_now(loop) + 50 * MS);
}

/* The earliest timer removed while the loop may already have planned its
 * wait for it; a timer armed from a callback ahead of a far one. A loop
 * that kept waiting for a removed timer's time, or for the far one, would
 * fire late (or hang until the watchdog); one that spun would count
 * hundreds of thousands of turns. */
static void earliest_removed(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    late_loop = &loop;
    tmr e, f, g, trigger;
    t_op rm;
    uint64_t now = cio_now(&loop);
    arm_at(&loop, &g, now + 3 * HOUR);
    arm_at(&loop, &f, now + 120 * MS);
    arm_at(&loop, &e, now + 30 * MS);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 3);
    int64_t budget = cio_loop_timeout(&loop);
    CHECK(budget >= 0 && (uint64_t)budget <= 30 * MS);
    cio_prep_timer_remove(&rm.op, &e.op);
    t_arm(&rm);
    CHECK_EQ(cio_submit(&loop, &rm.op), 0);
    reset_order();
    uint64_t turns = run_until_done(&loop, &f, 30);
    CHECK_EQ(e.finals, 1);
    CHECK_EQ(e.res, -CIO_ECANCELED);
    CHECK_EQ(rm.res, 0);
    CHECK_EQ(f.res, 0);
    CHECK(turns < 2000);
    CHECK_EQ(g.finals, 0);

    /* Only the far one pending, then a near one armed from a callback. */
    prep_at(&trigger, cio_now(&loop) + 1 * MS);
    trigger.op.cb = arm_late;
    trigger.armed = ++arm_count;
    CHECK_EQ(cio_submit(&loop, &trigger.op), 0);
    reset_order();
    turns = run_until_done(&loop, &late_armed, 30);
    CHECK_EQ(late_armed.res, 0);
    CHECK(turns < 2000);
    CHECK_EQ(g.finals, 0);
    CHECK_EQ(cio_cancel(&loop, &g.op), 0);
    t_run(&loop, 10);
    CHECK_EQ(g.res, -CIO_ECANCELED);
    CHECK_EQ(early, 0);
    CHECK_EQ(order_errors, 0);
    t_close(&loop);
}

/* Timers still pending at cio_loop_close, on every level, complete with
 * -CIO_ECANCELED exactly once. */
static void close_pending(void) {
    enum { N = 3000 };
    cio_loop loop;
    t_loop_init(&loop, 64);
    tmr *ts = calloc(N, sizeof *ts);
    CHECK(ts);
    uint64_t now = cio_now(&loop);
    for (int i = 0; i < N; i++) arm_at(&loop, &ts[i], now + 10 * SEC + ((uint64_t)rnd() << (rnd() % 24)));
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), N);
    t_close(&loop);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(ts[i].finals, 1);
        CHECK_EQ(ts[i].res, -CIO_ECANCELED);
    }
    free(ts);
}

int main(void) {
    levels();
    updates_across_levels();
    earliest_removed();
    random_deadlines();
    close_pending();
    puts("timer_wheel: ok");
    return 0;
}
