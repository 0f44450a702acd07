/* cio_now() is fresh after every wait: a relative timer armed in a completion
 * callback, or a cio_sleep() in a task after a blocking read, lasts its full
 * duration in real time. The oracle is CLOCK_MONOTONIC, read directly.
 *
 * Regression: the clock was marked stale only after the backend's wait, but
 * IO callbacks run inside it; with any timer pending, a 200 ms timer armed
 * after a 500 ms wait for data fired at once. */
#include "test.h"

#include <pthread.h>
#include <sys/socket.h>

#define WAIT_NS (300ull * 1000000)  /* how long the peer keeps the reader waiting */
#define TIMER_NS (200ull * 1000000) /* the timer armed after that wait */
#define SLACK_NS (15ull * 1000000)  /* clock granularity of the poll/epoll waits (ms) */

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A peer with plain syscalls: one byte after a pause. */
typedef struct peer {
    int fd;
    uint64_t pause_ns;
} peer;

static void *peer_main(void *arg) {
    peer *p = arg;
    struct timespec ts = {(time_t)(p->pause_ns / 1000000000u), (long)(p->pause_ns % 1000000000u)};
    nanosleep(&ts, NULL);
    CHECK_EQ(write(p->fd, "x", 1), 1);
    return NULL;
}

static pthread_t start_peer(peer *p) {
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, peer_main, p), 0);
    return th;
}

/* ---- callbacks ---- */

static t_op far_timer, recv_op, timer_op;
static char byte;
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
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

    /* A pending timer far away: the loop has a heap to consult every turn. */
    cio_prep_timeout(&far_timer.op, 3600ull * 1000000000, 0);
    t_arm(&far_timer);
    CHECK_EQ(cio_submit(&loop, &far_timer.op), 0);
    /* Read the clock now, so that a stale cache would be 300 ms old later. */
    (void)cio_now(&loop);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 1);

    cio_prep_recv(&recv_op.op, sv[0], &byte, 1, 0);
    t_arm(&recv_op);
    recv_op.op.cb = on_recv;
    CHECK_EQ(cio_submit(&loop, &recv_op.op), 0);

    peer p = {sv[1], WAIT_NS};
    pthread_t th = start_peer(&p);
    t_run(&loop, 10);
    pthread_join(th, NULL);

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
    close(sv[0]);
    close(sv[1]);
}

/* ---- tasks ---- */

static int task_fd;
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
    int p[2];
    CHECK_EQ(pipe(p), 0);
    task_fd = p[0];
    CHECK_EQ(cio_task_spawn(&loop, sleeper, NULL, &(cio_task_options){.detached = true}, NULL), 0);
    /* A timer pending far away, as in the callback case. */
    t_op far;
    cio_prep_timeout(&far.op, 3600ull * 1000000000, 0);
    t_arm(&far);
    CHECK_EQ(cio_submit(&loop, &far.op), 0);
    peer pr = {p[1], WAIT_NS};
    pthread_t th = start_peer(&pr);
    t_run_until(&loop, &task_done, 10);
    pthread_join(th, NULL);
    CHECK_EQ(cio_cancel(&loop, &far.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(far.finals, 1);
    if (task_slept_ns + SLACK_NS < TIMER_NS) {
        fprintf(stderr, "cio_sleep after a blocking read lasted %.1f ms of %.1f\n", task_slept_ns / 1e6,
                TIMER_NS / 1e6);
        exit(1);
    }
    t_close(&loop);
    close(p[0]);
    close(p[1]);
}

int main(void) {
    callback_case();
    task_case();
    printf("clock_fresh: ok\n");
    return 0;
}
