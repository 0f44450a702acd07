/* cio_xchan_send of a message that is still in flight (sent, not yet
 * received) fails with -CIO_EALREADY and changes nothing: the receiver gets
 * the message exactly once. Once received, the same message may be sent
 * again. Sends from the loop's thread and from another thread.
 *
 * Regression (issue 7, bug 8): the send prepared the carrier op before the
 * post checked it, which cleared the op's state: the second send returned 0
 * and linked the op into the post queue a second time, a cycle the loop
 * then delivered forever. CIO_TEST_PORTABLE */
#include "test.h"

static cio_xchan xc, other;
static cio_xmsg msg; /* static: all-zero before its first send */
static int received;

/* Receives until `want` messages arrived or nothing more comes for a few
 * turns; every message must be `msg`. */
static intptr_t receiver(void *arg) {
    int want = (int)(intptr_t)arg;
    for (int got = 0; got < want; got++) {
        cio_xmsg *m = NULL;
        CHECK_EQ(cio_xchan_recv(&xc, &m), 0);
        CHECK(m == &msg);
        received++;
    }
    /* Nothing else arrives: the refused send queued nothing. */
    for (int i = 0; i < 20; i++) {
        cio_xmsg *m = NULL;
        CHECK_EQ(cio_xchan_try_recv(&xc, &m), -CIO_EAGAIN);
        CHECK_EQ(cio_task_yield(), 0);
    }
    return 0;
}

static void *sender_thread(void *arg) {
    int *results = arg;
    results[0] = cio_xchan_send(&xc, &msg);
    results[1] = cio_xchan_send(&xc, &msg);
    results[2] = cio_xchan_send(&other, &msg); /* in flight on another channel: refused too */
    return NULL;
}

static void run_receiver(cio_loop *loop, int want) {
    cio_task *t;
    CHECK_EQ(cio_task_spawn(loop, receiver, (void *)(intptr_t)want, NULL, &t), 0);
    CHECK_EQ(cio_task_detach(t), 0);
    int before = received;
    t_run(loop, 10);
    CHECK_EQ(received, before + want);
}

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 0);
    t_alarm(30, "xchan_resend: a message delivered forever?"); /* the old code looped forever delivering it */
    CHECK_EQ(cio_xchan_init(&xc, &loop), 0);
    CHECK_EQ(cio_xchan_init(&other, &loop), 0);

    /* From the loop's thread, before the receiver runs. */
    CHECK_EQ(cio_xchan_send(&xc, &msg), 0);
    CHECK_EQ(cio_xchan_send(&xc, &msg), -CIO_EALREADY);
    CHECK_EQ(cio_xchan_send(&other, &msg), -CIO_EALREADY);
    run_receiver(&loop, 1);

    /* Received: it may go again, and again only once. */
    CHECK_EQ(cio_xchan_send(&xc, &msg), 0);
    CHECK_EQ(cio_xchan_send(&xc, &msg), -CIO_EALREADY);
    run_receiver(&loop, 1);

    /* Arrived but not yet received (it waits in the channel's queue, its
     * carrier op idle again): still the channel's. */
    CHECK_EQ(cio_xchan_send(&xc, &msg), 0);
    for (int i = 0; i < 3; i++) CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    CHECK_EQ(cio_xchan_send(&xc, &msg), -CIO_EALREADY);
    cio_xmsg *m = NULL;
    CHECK_EQ(cio_xchan_try_recv(&xc, &m), 0);
    CHECK(m == &msg);
    CHECK_EQ(cio_xchan_try_recv(&xc, &m), -CIO_EAGAIN);

    /* From another thread. */
    int results[3] = {1, 1, 1};
    static t_thread th;
    CHECK_EQ(t_thread_start(&th, sender_thread, results), 0);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(results[0], 0);
    CHECK_EQ(results[1], -CIO_EALREADY);
    CHECK_EQ(results[2], -CIO_EALREADY);
    run_receiver(&loop, 1);
    CHECK_EQ(received, 3);

    /* Nothing left on the other channel either. */
    CHECK_EQ(cio_xchan_try_recv(&other, &m), -CIO_EAGAIN);
    t_close(&loop);
    printf("xchan resend: ok\n");
    return 0;
}
