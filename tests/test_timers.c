/* Timers: relative and absolute, ordering, update and remove, and a
 * million pending at once. CIO_TEST_PORTABLE */
#include "test.h"

static uint64_t last_fire_when;
static int out_of_order;
static uint64_t fired;

typedef struct timer {
    cio_op op;
    uint64_t due; /* absolute time it was armed for */
    int finals;
} timer;

static void on_timer(cio_loop *loop, cio_op *op) {
    timer *t = (timer *)op;
    t->finals++;
    fired++;
    if (op->res == 0) {
        CHECK(cio_now(loop) >= t->due);
        if (t->due < last_fire_when) out_of_order++;
        last_fire_when = t->due;
    }
}

static void basic(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    uint64_t start = cio_now(&loop);

    t_op rel, abs_, zero, past;
    cio_prep_timeout(&rel.op, 5 * 1000000, 0);
    t_arm(&rel);
    cio_prep_timeout(&abs_.op, start + 2 * 1000000, CIO_TIMEOUT_ABS);
    t_arm(&abs_);
    cio_prep_timeout(&zero.op, 0, 0);
    t_arm(&zero);
    cio_prep_timeout(&past.op, 1, CIO_TIMEOUT_ABS); /* long ago: fires at once */
    t_arm(&past);
    CHECK_EQ(cio_submit(&loop, &rel.op), 0);
    CHECK_EQ(cio_submit(&loop, &abs_.op), 0);
    CHECK_EQ(cio_submit(&loop, &zero.op), 0);
    CHECK_EQ(cio_submit(&loop, &past.op), 0);
    t_run(&loop, 10);
    CHECK_EQ(rel.finals, 1);
    CHECK_EQ(abs_.finals, 1);
    CHECK_EQ(zero.finals, 1);
    CHECK_EQ(past.finals, 1);
    CHECK_EQ(rel.res, 0);
    CHECK_EQ(abs_.res, 0);
    CHECK(cio_now(&loop) >= start + 5 * 1000000);
    /* Due order: past and zero (armed in that order... zero armed first) before abs before rel. */
    CHECK(zero.order < abs_.order);
    CHECK(past.order < abs_.order);
    CHECK(abs_.order < rel.order);

    /* Equal deadlines fire in the order they were armed. */
    t_op same[8];
    for (int i = 0; i < 8; i++) {
        cio_prep_timeout(&same[i].op, cio_now(&loop) + 1000000, CIO_TIMEOUT_ABS);
        same[i].op.args.timeout.ns = start + 7 * 1000000;
        t_arm(&same[i]);
        CHECK_EQ(cio_submit(&loop, &same[i].op), 0);
    }
    t_run(&loop, 10);
    for (int i = 1; i < 8; i++) CHECK(same[i - 1].order < same[i].order);

    /* Update moves a timer; remove cancels one. */
    t_op late, early, upd, rm, upd_gone;
    cio_prep_timeout(&late.op, 10ull * 1000 * 1000 * 1000, 0); /* 10 s, to be pulled in */
    t_arm(&late);
    cio_prep_timeout(&early.op, 10ull * 1000 * 1000 * 1000, 0); /* 10 s, to be removed */
    t_arm(&early);
    CHECK_EQ(cio_submit(&loop, &late.op), 0);
    CHECK_EQ(cio_submit(&loop, &early.op), 0);
    cio_prep_timer_update(&upd.op, &late.op, 1000000, 0);
    t_arm(&upd);
    cio_prep_timer_remove(&rm.op, &early.op);
    t_arm(&rm);
    CHECK_EQ(cio_submit(&loop, &upd.op), 0);
    CHECK_EQ(cio_submit(&loop, &rm.op), 0);
    t_run(&loop, 5); /* would take 10 s if either had not worked */
    CHECK_EQ(upd.finals, 1);
    CHECK_EQ(upd.res, 0);
    CHECK_EQ(rm.finals, 1);
    CHECK_EQ(rm.res, 0);
    CHECK_EQ(late.finals, 1);
    CHECK_EQ(late.res, 0);
    CHECK_EQ(early.finals, 1);
    CHECK_EQ(early.res, -CIO_ECANCELED);
    CHECK(early.order < rm.order); /* the target's completion comes first */

    /* Update or remove of a timer that is no longer pending: -CIO_ENOENT at submit. */
    cio_prep_timer_update(&upd_gone.op, &late.op, 1000, 0);
    t_arm(&upd_gone);
    CHECK_EQ(cio_submit(&loop, &upd_gone.op), -CIO_ENOENT);
    /* Target fired but its callback has not run yet: the update completes with -CIO_ENOENT. */
    cio_prep_timeout(&late.op, 0, 0);
    t_arm(&late);
    CHECK_EQ(cio_submit(&loop, &late.op), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 0); /* fires and completes */
    CHECK_EQ(late.finals, 1);
    /* Update target must be a timeout: */
    t_op nop;
    cio_prep_nop(&nop.op);
    t_arm(&nop);
    CHECK_EQ(cio_submit(&loop, &nop.op), 0);
    cio_prep_timer_remove(&rm.op, &nop.op);
    t_arm(&rm);
    CHECK_EQ(cio_submit(&loop, &rm.op), -CIO_EINVAL);
    t_run(&loop, 5);
    CHECK_EQ(nop.finals, 1);
    CHECK_EQ(rm.finals, 0);
    t_close(&loop);
}

/* A million timers: insert all, remove every fourth, and let the rest fire
 * in deadline order. The heap makes each step O(log n); an O(n) step per op
 * would take hours here and trip the time bound. */
static void million(void) {
    enum { N = 1000000 };
    cio_loop loop;
    t_loop_init(&loop, 256);
    timer *timers = calloc(N, sizeof *timers);
    t_op *removers = calloc(N / 4, sizeof *removers);
    CHECK(timers && removers);
    uint64_t base = cio_now(&loop);
    uint32_t rng = 12345;
    for (int i = 0; i < N; i++) {
        rng = rng * 1103515245u + 12345u;
        uint64_t due = base + 50 * 1000000ull + (rng >> 8) % (200 * 1000000ull);
        cio_prep_timeout(&timers[i].op, due, CIO_TIMEOUT_ABS);
        timers[i].op.cb = on_timer;
        timers[i].due = due;
        CHECK_EQ(cio_submit(&loop, &timers[i].op), 0);
    }
    CHECK_EQ(cio_loop_active(&loop), N);
    for (int i = 0; i < N / 4; i++) {
        cio_prep_timer_remove(&removers[i].op, &timers[i * 4].op);
        t_arm(&removers[i]);
        CHECK_EQ(cio_submit(&loop, &removers[i].op), 0);
    }
    t_run(&loop, 120);
    CHECK_EQ(fired, N);
    CHECK_EQ(out_of_order, 0);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(timers[i].finals, 1);
        CHECK_EQ(timers[i].op.res, i % 4 == 0 ? -CIO_ECANCELED : 0);
    }
    for (int i = 0; i < N / 4; i++) {
        CHECK_EQ(removers[i].finals, 1);
        CHECK_EQ(removers[i].res, 0);
    }
    t_close(&loop);
    free(timers);
    free(removers);
}

int main(void) {
    basic();
    million();
    puts("timers: ok");
    return 0;
}
