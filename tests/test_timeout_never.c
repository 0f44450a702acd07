/*
 * test_timeout_never - CIO_TIMEOUT_NEVER (cio/op.h): a timer that never
 * fires keeps the loop going but sets no time to wait for. Oracles: the
 * completion counts (it completes exactly once, when cancelled), the
 * loop's own answer to how long it may wait, and CLOCK_MONOTONIC: a loop
 * whose only timer is a NEVER one waits in real time for another thread's
 * post, on every backend, the mock's too (whose virtual time used to run
 * to such a far timer at once, so that cio_xchan_recv() returned
 * -CIO_ETIMEDOUT instead of waiting: the regression this guards).
 *
 * CIO_TEST_PORTABLE
 */
#include "test.h"

static cio_loop loop;
static cio_op msg;
static atomic_int delivered;

static void on_msg(cio_loop *l, cio_op *op) {
    (void)l, (void)op;
    atomic_fetch_add(&delivered, 1);
}

static void *post_later(void *arg) {
    (void)arg;
    t_sleep_ms(30);
    cio_prep_nop(&msg);
    msg.cb = on_msg;
    CHECK_EQ(cio_loop_post(&loop, &msg), 0);
    return NULL;
}

static void run(const char *backend) {
    cio_loop_options o = {0};
    if (backend) o.backend = CIO_BACKEND_MOCK;
    t_watchdog();
    CHECK_EQ(cio_loop_init(&loop, &o), 0);
    t_op never, soon;
    cio_prep_timeout(&never.op, CIO_TIMEOUT_NEVER, CIO_TIMEOUT_ABS);
    t_arm(&never);
    CHECK_EQ(cio_submit(&loop, &never.op), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(cio_loop_timeout(&loop), -1); /* no time to wait for */
    cio_prep_timeout(&soon.op, 5 * CIO_NS_PER_MS, 0);
    t_arm(&soon);
    CHECK_EQ(cio_submit(&loop, &soon.op), 0);
    int64_t left = cio_loop_timeout(&loop);
    CHECK(left > 0 && left <= (int64_t)(5 * CIO_NS_PER_MS));
    t_run_until(&loop, &soon.finals, 10.0);
    CHECK_EQ(cio_loop_timeout(&loop), -1);

    /* Only the NEVER timer: the loop waits for the other thread. */
    atomic_store(&delivered, 0);
    t_thread th;
    uint64_t t0 = t_now_ns();
    CHECK_EQ(t_thread_start(&th, post_later, NULL), 0);
    while (!atomic_load(&delivered)) CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
    CHECK(t_now_ns() - t0 >= 30 * CIO_NS_PER_MS);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(never.finals, 0);

    CHECK_EQ(cio_cancel(&loop, &never.op), 0);
    t_run(&loop, 10.0);
    CHECK_EQ(never.finals, 1);
    CHECK_EQ(never.res, -CIO_ECANCELED);
    t_close(&loop);
}

int main(void) {
    run(NULL);   /* the backend ctest names */
    t_unsetenv("CIO_BACKEND");
    run("mock"); /* and the simulated one */
    printf("timeout_never: ok\n");
    return 0;
}
