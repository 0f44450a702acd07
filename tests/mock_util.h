/*
 * tests/mock_util.h - what the tests of the mock backend share: a loop on
 * the mock with a given seed, a byte stream of the test's own, and ways to
 * run a loop whose parked ops outlive the one a step waits for.
 */
#ifndef CIO_TEST_MOCK_UTIL_H
#define CIO_TEST_MOCK_UTIL_H

#include "test.h"

static inline cio_loop_options mock_options(uint64_t seed) {
    cio_loop_options o;
    memset(&o, 0, sizeof o);
    o.backend = CIO_BACKEND_MOCK;
    o.seed = seed;
    return o;
}

/* A loop on the mock backend with `seed`, checked to be one. */
static inline void mock_loop(cio_loop *loop, uint64_t seed) {
    t_watchdog();
    cio_loop_options o = mock_options(seed);
    CHECK_EQ(cio_loop_init(loop, &o), 0);
    CHECK_EQ(cio_loop_backend(loop), CIO_BACKEND_MOCK);
    CHECK_EQ(cio_mock_seed(loop), seed);
}

/* The test's own byte stream: byte i of a run. */
static inline unsigned char byte_at(uint64_t i) { return (unsigned char)((i * 2654435761u) >> 13); }

static inline void submit(cio_loop *loop, t_op *t) {
    t_arm(t);
    CHECK_EQ(cio_submit(loop, &t->op), 0);
}

/* Runs the loop until `t` completed (bounded), for an op that other parked
 * ops outlive: t_run would wait for those forever. */
static inline void run_until_done(cio_loop *loop, t_op *t) {
    double end = t_seconds() + 10;
    while (!t->finals) {
        CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
        CHECK(t_seconds() < end);
    }
}

/* Submits `t`, runs until its final completion (exactly one): its result. */
static inline int32_t do_op(cio_loop *loop, t_op *t) {
    submit(loop, t);
    run_until_done(loop, t);
    CHECK_EQ(t->finals, 1);
    return t->res;
}

/* Submits `t` (a socket, accept or openat op), which must succeed: the handle it made. */
static inline cio_fd do_fd_op(cio_loop *loop, t_op *t) {
    CHECK(do_op(loop, t) >= 0);
    return cio_op_fd(&t->op);
}

/* Closes `fd` through a close op, which must succeed. */
static inline void close_fd(cio_loop *loop, cio_fd fd) {
    t_op c;
    cio_prep_close(&c.op, fd);
    CHECK_EQ(do_op(loop, &c), 0);
}

/* Lets the virtual clock move 1 ms: every op submitted before has been
 * tried (a latency is at most a microsecond) and parked if it must. */
static inline void settle(cio_loop *loop) {
    t_op tick;
    cio_prep_timeout(&tick.op, 1000 * 1000, 0);
    submit(loop, &tick);
    run_until_done(loop, &tick);
    CHECK_EQ(tick.res, 0);
}

/* Closes a mock loop that still has `left` simulated handles open: the
 * close frees them and reports each as left over (cio/mock.h), and
 * nothing else. */
static inline void mock_close(cio_loop *loop, unsigned left) {
    uint64_t before = cio_mock_violations(NULL);
    CHECK_EQ(cio_mock_violations(loop), 0);
    t_close(loop);
    CHECK_EQ(cio_mock_violations(NULL) - before, left);
}

#endif /* CIO_TEST_MOCK_UTIL_H */
