/* Every task unwinds when its loop goes away, and scopes never loosen.
 * Written for three task-layer bugs found while building cio/sync.h (they
 * fail until src/task/task.c is fixed):
 *   1. cio_main: a task parked on a wait queue (an event, a join, a sync
 *      wait without deadline) when the main task returns is neither
 *      cancelled nor resumed, although task.h says the tasks left running
 *      are cancelled; its stack is never released.
 *   2. cio_loop_close: a task woken from a callback that runs inside the
 *      close (an op cancelled by it) never runs: its wake op is refused,
 *      while tasks blocked in ops are resumed by the close.
 *   3. cio_deadline_push(0) inside a scope clears the outer deadline (0 is
 *      "none" inside), against "a later, looser deadline never loosens an
 *      earlier one".
 * Each check reports on its own; the program fails if any did. CIO_TEST_PORTABLE */
#include "test.h"

#define MS 1000000ull

static int failures;

static void expect(int ok, const char *what) {
    printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) failures++;
}

/* 1 */
static cio_event never;
static int parked_result = 1, sleeper_result = 1;

static intptr_t parked(void *arg) {
    (void)arg;
    parked_result = cio_event_wait(&never);
    return 0;
}

static intptr_t sleeper(void *arg) {
    (void)arg;
    sleeper_result = cio_sleep(60000 * MS);
    return 0;
}

static intptr_t leaves_children(void *arg) {
    (void)arg;
    cio_task_options o = {.detached = true};
    CHECK_EQ(cio_task_spawn(cio_task_loop(), parked, NULL, &o, NULL), 0);
    CHECK_EQ(cio_task_spawn(cio_task_loop(), sleeper, NULL, &o, NULL), 0);
    CHECK_EQ(cio_sleep(1 * MS), 0);
    return 0;
}

/* 2 */
static cio_event close_ev;
static int woken_in_close = 1;

static intptr_t close_waiter(void *arg) {
    (void)arg;
    woken_in_close = cio_event_wait(&close_ev);
    return 0;
}

static void on_cancelled_timer(cio_loop *loop, cio_op *op) {
    (void)loop;
    CHECK_EQ(op->res, -CIO_ECANCELED);
    cio_event_set(&close_ev);
}

/* 3 */
static int zero_scope_result = 1;

static intptr_t zero_scope(void *arg) {
    (void)arg;
    uint64_t outer = cio_deadline_push(cio_now(cio_task_loop()) + 5 * MS);
    uint64_t inner = cio_deadline_push(0);
    /* Bounded either way: the sleep is only 200 ms. */
    zero_scope_result = cio_sleep(200 * MS);
    cio_deadline_pop(inner);
    cio_deadline_pop(outer);
    return 0;
}

int main(void) {
    t_watchdog();
    cio_event_init(&never, false);
    CHECK_EQ(cio_main(leaves_children, NULL, NULL, NULL), 0);
    expect(sleeper_result == -CIO_ECANCELED, "cio_main: a child blocked in an op is cancelled at the end");
    expect(parked_result == -CIO_ECANCELED, "cio_main: a child parked on an event is cancelled at the end");

    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_event_init(&close_ev, false);
    cio_task_options o = {.detached = true};
    CHECK_EQ(cio_task_spawn(&loop, close_waiter, NULL, &o, NULL), 0);
    cio_op timer;
    cio_prep_timeout(&timer, 60000 * MS, 0);
    timer.cb = on_cancelled_timer;
    CHECK_EQ(cio_submit(&loop, &timer), 0);
    for (int i = 0; i < 3; i++) CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    t_close(&loop);
    expect(woken_in_close == 0, "cio_loop_close: a task woken by a callback of the close runs");

    CHECK_EQ(cio_main(zero_scope, NULL, NULL, NULL), 0);
    expect(zero_scope_result == -CIO_ETIMEDOUT, "cio_deadline_push(0) keeps the outer deadline");

    if (failures) return 1;
    puts("task_unwind: ok");
    return 0;
}
