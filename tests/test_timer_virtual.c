/* The core's timer wheel (src/core/timer_wheel.c) on the mock backend's
 * virtual time, where hours and years pass at once: thousands of timers
 * spread from nanoseconds to a year ahead (every level of the wheel, and
 * every cascade between them), many with equal deadlines, while the test
 * keeps cancelling, moving and arming timers between turns. The oracle is
 * the test's own list of what is pending: at every turn the loop's wait
 * (cio_loop_timeout) must end no later than the earliest pending deadline;
 * every timer fires exactly once, at exactly its deadline (virtual time
 * jumps to the wait's end, so firing late would show), in (deadline,
 * arming) order; waits that end before a deadline stay few (no spinning).
 * It names its backend itself: ctest runs it once (CIO_TEST_ONCE).
 * CIO_TEST_PORTABLE */
#include "mock_util.h"

#define N 3000
#define MAX_STEPS 400000

typedef struct vt {
    cio_op op; /* first */
    uint64_t due;
    uint64_t armed;
    int finals;
    int32_t res;
    int live; /* the oracle: armed, not yet completed */
} vt;

static vt ts[N];
static t_op ctl[N * 4];
static int nctl;
static uint64_t arm_count, last_due, last_armed, fired_turn;
static int early, late, out_of_order;

static uint32_t rng = 0x9e3779b9u;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* A span from 1 ns to about a year, spread evenly over the powers of two
 * (so over the wheel's levels); sometimes 0 (due now). */
static uint64_t any_span(void) {
    if (rnd() % 16 == 0) return 0;
    unsigned bits = rnd() % 55;
    uint64_t r = ((uint64_t)rnd() << 32) | rnd();
    return ((uint64_t)1 << bits) + r % ((uint64_t)1 << bits);
}

static void on_fire(cio_loop *loop, cio_op *op) {
    vt *t = (vt *)op;
    CHECK_EQ(++t->finals, 1); /* once per arming */
    t->res = op->res;
    t->live = 0;
    if (op->res != 0) return;
    fired_turn = 1;
    uint64_t now = cio_now(loop);
    if (now < t->due) early++;
    if (now > t->due) {
        fprintf(stderr, "timer due at %" PRIu64 " fired at %" PRIu64 "\n", t->due, now);
        late++;
    }
    if (t->due < last_due || (t->due == last_due && t->armed < last_armed)) out_of_order++;
    last_due = t->due;
    last_armed = t->armed;
}

static void arm(cio_loop *loop, vt *t, uint64_t due) {
    cio_prep_timeout(&t->op, due, CIO_TIMEOUT_ABS);
    t->op.cb = on_fire;
    t->due = due;
    t->armed = ++arm_count;
    t->finals = 0;
    t->live = 1;
    CHECK_EQ(cio_submit(loop, &t->op), 0);
}

static t_op *next_ctl(void) {
    CHECK(nctl < N * 4);
    return &ctl[nctl++];
}

/* One random change between turns: cancel, remove, move or re-arm. */
static void mutate(cio_loop *loop) {
    vt *t = &ts[rnd() % N];
    uint64_t now = cio_now(loop);
    if (!t->live) {
        if (t->finals == 1) arm(loop, t, now + any_span()); /* a completed timer, armed again */
        return;
    }
    switch (rnd() % 3) {
    case 0:
        CHECK_EQ(cio_cancel(loop, &t->op), 0);
        t->live = 0; /* its callback comes from the ready queue */
        break;
    case 1: {
        t_op *rm = next_ctl();
        cio_prep_timer_remove(&rm->op, &t->op);
        t_arm(rm);
        CHECK_EQ(cio_submit(loop, &rm->op), 0);
        t->live = 0;
        break;
    }
    default: {
        t_op *up = next_ctl();
        uint64_t due = now + any_span();
        cio_prep_timer_update(&up->op, &t->op, due, CIO_TIMEOUT_ABS);
        t_arm(up);
        CHECK_EQ(cio_submit(loop, &up->op), 0);
        t->due = due;
        t->armed = ++arm_count;
        break;
    }
    }
}

int main(void) {
    t_unsetenv("CIO_BACKEND"); /* the options name the backend */
    cio_loop loop;
    mock_loop(&loop, 1);
    uint64_t now = cio_now(&loop);
    for (int i = 0; i < N; i++) {
        /* A quarter share a deadline with an earlier one. */
        uint64_t due = (i > 0 && rnd() % 4 == 0) ? ts[rnd() % (unsigned)i].due : now + any_span();
        arm(&loop, &ts[i], due);
    }
    int steps = 0, idle_turns = 0, mutations = 0;
    uint64_t fire_times = 0, prev_fire_time = UINT64_MAX;
    for (;;) {
        CHECK(++steps < MAX_STEPS);
        /* The oracle's earliest pending deadline. */
        uint64_t earliest = UINT64_MAX;
        int pending = 0;
        for (int i = 0; i < N; i++)
            if (ts[i].live) {
                pending++;
                if (ts[i].due < earliest) earliest = ts[i].due;
            }
        if (!pending && cio_loop_active(&loop) == 0) break;
        now = cio_now(&loop);
        int64_t wait = cio_loop_timeout(&loop);
        if (pending) {
            /* Never past the earliest deadline. */
            CHECK(wait >= 0);
            CHECK(earliest <= now || now + (uint64_t)wait <= earliest);
        }
        fired_turn = 0;
        CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
        if (fired_turn) {
            if (cio_now(&loop) != prev_fire_time) fire_times++;
            prev_fire_time = cio_now(&loop);
        } else if (pending) {
            idle_turns++;
        }
        /* Keep changing things for a while, then let everything run out. */
        if (mutations < N * 3 && rnd() % 2) {
            mutate(&loop);
            mutations++;
        }
    }
    CHECK_EQ(early, 0);
    CHECK_EQ(late, 0);
    CHECK_EQ(out_of_order, 0);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(ts[i].finals, 1);
        CHECK(ts[i].res == 0 || ts[i].res == -CIO_ECANCELED);
    }
    for (int i = 0; i < nctl; i++) {
        CHECK_EQ(ctl[i].finals, 1);
        CHECK_EQ(ctl[i].res, 0);
    }
    /* A wait that ends before the earliest deadline (the start of a wheel
     * slot whose timers are not sorted yet) happens at most once per level
     * on the way down to it: a few per time at which timers fired. */
    printf("timer_virtual: %d steps, %" PRIu64 " fire times, %d idle turns, virtual %" PRIu64 " s\n", steps,
           fire_times, idle_turns, cio_now(&loop) / 1000000000u);
    CHECK((uint64_t)idle_turns <= 10 * fire_times + 10);
    t_close(&loop);
    puts("timer_virtual: ok");
    return 0;
}
