/*
 * test_mock - the simulated backend (cio/mock.h), as far as it is built:
 * virtual time (an hour of sleeps in well under a second of
 * CLOCK_MONOTONIC), seeded runs (one seed gives one completion order and
 * one trace hash, another seed another order), every op completing exactly
 * once (nops, deadlines, cancels, links), ops that need the simulated world
 * never reaching the real system (a pipe keeps its byte), and posts from
 * another thread. It names its backend itself: ctest runs it once
 * (CIO_TEST_ONCE). CIO_TEST_PORTABLE.
 */
#include "mock_util.h"

#include <stdatomic.h>

#define NOPS 64

/* ---- virtual time ---- */

static intptr_t sleeper(void *arg) {
    uint64_t *slept = arg;
    uint64_t t0 = cio_now(cio_task_loop());
    for (int i = 0; i < 60; i++) CHECK_EQ(cio_sleep(60ull * 1000 * 1000 * 1000), 0); /* a minute each */
    *slept = cio_now(cio_task_loop()) - t0;
    return 0;
}

static void virtual_time(void) {
    cio_loop_options o = mock_options(7);
    uint64_t slept = 0;
    double t0 = t_seconds();
    intptr_t result = -1;
    CHECK_EQ(cio_main(sleeper, &slept, &o, &result), 0);
    double real = t_seconds() - t0;
    CHECK_EQ(result, 0);
    CHECK(slept >= 3600ull * 1000 * 1000 * 1000);
    CHECK(slept < 3601ull * 1000 * 1000 * 1000);
    printf("an hour of sleeps: %.6f s of CLOCK_MONOTONIC\n", real);
    CHECK(real < 1.0);
}

/* ---- seeded order, exactly once ---- */

static int order[NOPS], done;

static void on_nop(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    order[done++] = op->tag;
}

/* One run: NOPS nops in one batch, then the trace. */
static uint64_t seeded_run(uint64_t seed, int *out) {
    cio_loop loop;
    mock_loop(&loop, seed);
    static t_op ops[NOPS];
    cio_op *batch[NOPS];
    done = 0;
    for (int i = 0; i < NOPS; i++) {
        cio_prep_nop(&ops[i].op);
        t_arm(&ops[i]);
        ops[i].op.cb = on_nop;
        ops[i].op.tag = (uint16_t)i;
        batch[i] = &ops[i].op;
    }
    CHECK_EQ(cio_submit_batch(&loop, batch, NOPS), 0);
    t_run(&loop, 10.0);
    CHECK_EQ(done, NOPS);
    for (int i = 0; i < NOPS; i++) {
        CHECK_EQ(ops[i].finals, 1);
        CHECK_EQ(ops[i].res, 0);
    }
    memcpy(out, order, sizeof order);
    uint64_t trace = cio_mock_trace(&loop);
    CHECK(trace != 0);
    t_close(&loop);
    return trace;
}

static void seeds(void) {
    int a[NOPS], b[NOPS], c[NOPS];
    uint64_t ta = seeded_run(12345, a), tb = seeded_run(12345, b), tc = seeded_run(777, c);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK_EQ(ta, tb);
    CHECK(memcmp(a, c, sizeof a) != 0); /* 64! orders: the same one is no coincidence */
    CHECK(ta != tc);
    int sorted = 1;
    for (int i = 1; i < NOPS; i++) sorted &= a[i] > a[i - 1];
    CHECK(!sorted); /* the latencies reorder what was submitted together */
    printf("seed 12345: trace %016" PRIx64 ", seed 777: trace %016" PRIx64 "\n", ta, tc);
}

/* ---- deadlines, cancels, links ---- */

static void ends(void) {
    cio_loop loop;
    mock_loop(&loop, 3);
    t_op late, cancelled, cancel, l1, l2;
    /* A deadline already due: the nop cannot make it. */
    cio_prep_nop(&late.op);
    t_arm(&late);
    late.op.deadline = cio_now(&loop);
    CHECK_EQ(cio_submit(&loop, &late.op), 0);
    /* Cancelled before the loop turns. */
    cio_prep_nop(&cancelled.op);
    t_arm(&cancelled);
    CHECK_EQ(cio_submit(&loop, &cancelled.op), 0);
    cio_prep_cancel(&cancel.op, &cancelled.op);
    t_arm(&cancel);
    CHECK_EQ(cio_submit(&loop, &cancel.op), 0);
    /* A soft link: the second starts after the first succeeded. */
    cio_prep_nop(&l1.op);
    t_arm(&l1);
    l1.op.flags = CIO_F_LINK;
    cio_prep_nop(&l2.op);
    t_arm(&l2);
    cio_op *chain[2] = {&l1.op, &l2.op};
    CHECK_EQ(cio_submit_batch(&loop, chain, 2), 0);
    t_run(&loop, 10.0);
    CHECK_EQ(late.finals, 1);
    CHECK_EQ(late.res, -CIO_ETIMEDOUT);
    CHECK_EQ(cancelled.finals, 1);
    CHECK_EQ(cancelled.res, -CIO_ECANCELED);
    CHECK_EQ(cancel.finals, 1);
    CHECK_EQ(cancel.res, 0);
    CHECK_EQ(l1.finals, 1);
    CHECK_EQ(l2.finals, 1);
    CHECK_EQ(l2.res, 0);
    CHECK(l2.order > l1.order);
    t_close(&loop);
}

/* ---- nothing reaches the real system ---- */

static void no_real_io(void) {
    cio_fd p[2];
    CHECK_EQ(t_pipe(p), 0);
    CHECK_EQ(t_sys_write(p[1], "x", 1), 1);
    cio_loop loop;
    mock_loop(&loop, 5);
    char c = 0;
    t_op rd;
    cio_prep_read(&rd.op, p[0], &c, 1, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(&loop, &rd.op), 0);
    t_run(&loop, 10.0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_EBADF);
    CHECK_EQ(c, 0);
    cio_fd fd;
    CHECK_EQ(cio_loop_fd(&loop, &fd), -CIO_ENOTSUP);
    t_close(&loop);
    CHECK_EQ(t_sys_read(p[0], &c, 1), 1); /* the byte is still there */
    CHECK_EQ(c, 'x');
    t_close_handle(p[0]);
    t_close_handle(p[1]);
}

/* ---- posts from another thread ---- */

#define POSTS 100
static cio_op msgs[POSTS];
static atomic_int received;

static void on_msg(cio_loop *loop, cio_op *op) {
    (void)loop;
    CHECK_EQ(op->tag, atomic_fetch_add(&received, 1)); /* in the order posted */
}

static void *poster(void *arg) {
    cio_loop *loop = arg;
    for (int i = 0; i < POSTS; i++) {
        cio_prep_nop(&msgs[i]);
        msgs[i].cb = on_msg;
        msgs[i].tag = (uint16_t)i;
        CHECK_EQ(cio_loop_post(loop, &msgs[i]), 0);
    }
    return NULL;
}

static void posts(void) {
    cio_loop loop;
    mock_loop(&loop, 9);
    atomic_store(&received, 0);
    t_thread th;
    CHECK_EQ(t_thread_start(&th, poster, &loop), 0);
    double end = t_seconds() + 10;
    while (atomic_load(&received) < POSTS && t_seconds() < end) CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(atomic_load(&received), POSTS);
    t_close(&loop);
}

int main(void) {
    t_watchdog();
    t_unsetenv("CIO_BACKEND"); /* the options name the backend */
    t_unsetenv("CIO_MOCK_SEED");
    virtual_time();
    seeds();
    ends();
    no_real_io();
    posts();
    printf("mock: ok\n");
    return 0;
}
