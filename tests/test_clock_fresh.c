/* cio_now() is fresh after every wait: a relative timer armed in a completion
 * callback, or a cio_sleep() in a task after a blocking read, lasts its full
 * duration in real time. The oracle is CLOCK_MONOTONIC, read directly.
 *
 * Regression: the clock was marked stale only after the backend's wait, but
 * IO callbacks run inside it; with any timer pending, a 200 ms timer armed
 * after a 500 ms wait for data fired at once.
 * CIO_TEST_PORTABLE.
 */
#include "test.h"


#define WAIT_NS (300ull * 1000000)  /* how long the peer keeps the reader waiting */
#define TIMER_NS (200ull * 1000000) /* the timer armed after that wait */
#define SLACK_NS (15ull * 1000000)  /* clock granularity of the poll/epoll waits (ms) */

/* CLOCK_MONOTONIC (QueryPerformanceCounter on Windows), not cio's clock. */
static uint64_t mono_ns(void) { return t_now_ns(); }

/* A peer with plain syscalls: one rx_byte after a pause. */
typedef struct peer {
    cio_fd fd;
    uint64_t pause_ns;
    t_thread th;
} peer;

static void *peer_main(void *arg) {
    peer *p = arg;
    t_sleep_ms((unsigned)(p->pause_ns / 1000000u));
    CHECK_EQ(t_sys_write(p->fd, "x", 1), 1);
    return NULL;
}

static void start_peer(peer *p) { CHECK_EQ(t_thread_start(&p->th, peer_main, p), 0); }

/* ---- callbacks ---- */

static t_op far_timer, recv_op, timer_op;
static char rx_byte;
static uint64_t armed_at, fired_at, now_in_cb, mono_in_cb;

static void on_timer(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    fired_at = mono_ns();
    /* The one op that kept the loop busy besides ours. */
    CHECK_EQ(cio_cancel(loop, &far_timer.op), 0);
}

static void on_recv(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    CHECK_EQ(op->res, 1);
    now_in_cb = cio_now(loop);
    mono_in_cb = mono_ns();
    armed_at = mono_in_cb;
    cio_prep_timeout(&timer_op.op, TIMER_NS, 0);
    t_arm(&timer_op);
    timer_op.op.cb = on_timer;
    CHECK_EQ(cio_submit(loop, &timer_op.op), 0);
}

static void callback_case(void) {
    cio_loop loop;
    t_loop_init(&loop, 16);
    cio_fd sv[2];
    CHECK_EQ(t_socketpair(sv), 0);

    /* A pending timer far away: the loop has a heap to consult every turn. */
    cio_prep_timeout(&far_timer.op, 3600ull * 1000000000, 0);
    t_arm(&far_timer);
    CHECK_EQ(cio_submit(&loop, &far_timer.op), 0);
    /* Read the clock now, so that a stale cache would be 300 ms old later. */
    (void)cio_now(&loop);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 1);

    cio_prep_recv(&recv_op.op, sv[0], &rx_byte, 1, 0);
    t_arm(&recv_op);
    recv_op.op.cb = on_recv;
    CHECK_EQ(cio_submit(&loop, &recv_op.op), 0);

    peer p = {sv[1], WAIT_NS, {0}};
    start_peer(&p);
    t_run(&loop, 10);
    CHECK_EQ(t_thread_join(&p.th, NULL), 0);

    CHECK_EQ(recv_op.finals, 1);
    CHECK_EQ(timer_op.finals, 1);
    CHECK_EQ(timer_op.res, 0);
    CHECK_EQ(far_timer.res, -CIO_ECANCELED);
    /* cio_now() in the callback is the time after the wait, not before it. */
    CHECK(now_in_cb + 100ull * 1000000 > mono_in_cb);
    uint64_t lasted = fired_at - armed_at;
    if (lasted + SLACK_NS < TIMER_NS) {
        fprintf(stderr, "timer armed in a callback lasted %.1f ms of %.1f\n", lasted / 1e6, TIMER_NS / 1e6);
        exit(1);
    }
    t_close(&loop);
    t_close_handle(sv[0]);
    t_close_handle(sv[1]);
}

/* ---- tasks ---- */

static cio_fd task_fd;
static uint64_t task_slept_ns;
static int task_done;

static intptr_t sleeper(void *arg) {
    (void)arg;
    char b;
    CHECK_EQ(cio_read(task_fd, &b, 1, CIO_OFFSET_CURRENT), 1);
    uint64_t t0 = mono_ns();
    CHECK_EQ(cio_sleep(TIMER_NS), 0);
    task_slept_ns = mono_ns() - t0;
    task_done = 1;
    return 0;
}

static void task_case(void) {
    cio_loop loop;
    t_loop_init(&loop, 16);
    cio_fd p[2];
    CHECK_EQ(t_pipe(p), 0);
    task_fd = p[0];
    CHECK_EQ(cio_task_spawn(&loop, sleeper, NULL, &(cio_task_options){.detached = true}, NULL), 0);
    /* A timer pending far away, as in the callback case. */
    t_op far_op;
    cio_prep_timeout(&far_op.op, 3600ull * 1000000000, 0);
    t_arm(&far_op);
    CHECK_EQ(cio_submit(&loop, &far_op.op), 0);
    peer pr = {p[1], WAIT_NS, {0}};
    start_peer(&pr);
    t_run_until(&loop, &task_done, 10);
    CHECK_EQ(t_thread_join(&pr.th, NULL), 0);
    CHECK_EQ(cio_cancel(&loop, &far_op.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(far_op.finals, 1);
    if (task_slept_ns + SLACK_NS < TIMER_NS) {
        fprintf(stderr, "cio_sleep after a blocking read lasted %.1f ms of %.1f\n", task_slept_ns / 1e6,
                TIMER_NS / 1e6);
        exit(1);
    }
    t_close(&loop);
    t_close_handle(p[0]);
    t_close_handle(p[1]);
}

int main(void) {
    callback_case();
    task_case();
    printf("clock_fresh: ok\n");
    return 0;
}
