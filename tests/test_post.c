/* Cross-thread messages: two threads post 100,000 messages each into one
 * loop (none lost, none doubled, each sender's order kept); CIO_OP_POST
 * between two loops on two threads (MSG_RING on io_uring); and wakes.
 * CIO_TEST_PORTABLE */
#include "test.h"

#if !defined(_WIN32)
#include <sched.h>
#endif
#include <stdatomic.h>

enum { PER_THREAD = 100000, SENDERS = 2 };

typedef struct msg {
    cio_op op;
    int sender;
    int seq;
} msg;

static msg *messages[SENDERS];
static int received[SENDERS][PER_THREAD];
static int next_expected[SENDERS];
static int order_errors;
static int total_received;
static cio_loop target;

static void on_message(cio_loop *loop, cio_op *op) {
    (void)loop;
    msg *m = (msg *)op;
    CHECK_EQ(op->res, m->seq);
    received[m->sender][m->seq]++;
    if (m->seq != next_expected[m->sender]) order_errors++;
    next_expected[m->sender] = m->seq + 1;
    total_received++;
}

static void *sender(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        msg *m = &messages[id][i];
        cio_prep_nop(&m->op);
        m->op.cb = on_message;
        m->op.res = i;
        m->sender = id;
        m->seq = i;
        CHECK_EQ(cio_loop_post(&target, &m->op), 0);
    }
    return NULL;
}

static void two_senders(void) {
    t_loop_init(&target, 64);
    for (int s = 0; s < SENDERS; s++) CHECK(messages[s] = calloc(PER_THREAD, sizeof(msg)));
    /* A long timer keeps the loop waiting in the kernel, so that posts must
     * wake it. */
    t_op keepalive;
    cio_prep_timeout(&keepalive.op, 60ull * 1000000000, 0);
    t_arm(&keepalive);
    CHECK_EQ(cio_submit(&target, &keepalive.op), 0);

    t_thread th[SENDERS];
    for (int s = 0; s < SENDERS; s++) CHECK_EQ(t_thread_start(&th[s], sender, (void *)(intptr_t)s), 0);
    double end = t_seconds() + 60;
    while (total_received < SENDERS * PER_THREAD) {
        CHECK(cio_loop_run(&target, CIO_RUN_ONCE) >= 0);
        CHECK(t_seconds() < end);
    }
    for (int s = 0; s < SENDERS; s++) CHECK_EQ(t_thread_join(&th[s], NULL), 0);
    for (int s = 0; s < SENDERS; s++)
        for (int i = 0; i < PER_THREAD; i++) CHECK_EQ(received[s][i], 1);
    CHECK_EQ(order_errors, 0);
    cio_stats st;
    cio_loop_stats(&target, &st);
    CHECK_EQ(st.posts_received, SENDERS * PER_THREAD);
    /* A message that is queued cannot be posted again. */
    cio_prep_nop(&messages[0][0].op);
    messages[0][0].op.cb = on_message;
    CHECK_EQ(cio_loop_post(&target, &messages[0][0].op), 0);
    CHECK_EQ(cio_loop_post(&target, &messages[0][0].op), -CIO_EALREADY);
    t_op unprepared;
    memset(&unprepared, 0, sizeof unprepared);
    CHECK_EQ(cio_loop_post(&target, &unprepared.op), -CIO_EINVAL);
    CHECK_EQ(cio_loop_run(&target, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(received[0][0], 2);
    t_close(&target); /* cancels the keepalive */
    CHECK_EQ(keepalive.finals, 1);
    CHECK_EQ(keepalive.res, -CIO_ECANCELED);
    for (int s = 0; s < SENDERS; s++) free(messages[s]);
}

/* ---- CIO_OP_POST between loops: a ping-pong of N round trips ---- */

enum { ROUNDS = 20000 };

typedef struct side {
    cio_loop loop;
    struct side *peer;
    /* Carriers on this side. The reply to a post can arrive before the
     * carrier's own completion has run, so one carrier is not enough: an op
     * may not be prepared again while it is in flight. */
    cio_op post[4];
    int post_busy[4];
    cio_op msg;    /* message this side receives */
    int received;
    int posts_done;
    atomic_int ready;
} side;

static side ping, pong;

static void on_post_done(cio_loop *loop, cio_op *op) {
    (void)loop;
    side *s = op->data;
    CHECK_EQ(op->res, 0);
    s->post_busy[op->tag] = 0;
    s->posts_done++;
}

static void on_ball(cio_loop *loop, cio_op *op);

static void send_to_peer(side *s, int value) {
    /* The peer's message op is reused for each round: the peer only posts
     * back after its callback has run, so it is idle by then. */
    cio_op *m = &s->peer->msg;
    cio_prep_nop(m);
    m->cb = on_ball;
    m->data = s->peer;
    m->res = value;
    int k = 0;
    while (s->post_busy[k]) CHECK(++k < 4);
    cio_prep_post(&s->post[k], &s->peer->loop, m);
    s->post[k].cb = on_post_done;
    s->post[k].data = s;
    s->post[k].tag = (uint16_t)k;
    s->post_busy[k] = 1;
    CHECK_EQ(cio_submit(&s->loop, &s->post[k]), 0);
}

static void on_ball(cio_loop *loop, cio_op *op) {
    (void)loop;
    side *s = op->data;
    CHECK_EQ(op->res, s->received * 2 + (s == &pong ? 0 : 1));
    s->received++;
    if (op->res + 1 < 2 * ROUNDS) send_to_peer(s, op->res + 1);
}

static void *run_side(void *arg) {
    side *s = arg;
    /* Each loop is set up and run on its own thread. */
    t_loop_init(&s->loop, 64);
    atomic_store(&s->ready, 1);
    while (!atomic_load(&s->peer->ready)) {
#if defined(_WIN32)
        SwitchToThread();
#else
        sched_yield();
#endif
    }
    t_op keepalive;
    cio_prep_timeout(&keepalive.op, 60ull * 1000000000, 0);
    t_arm(&keepalive);
    CHECK_EQ(cio_submit(&s->loop, &keepalive.op), 0);
    if (s == &ping) send_to_peer(s, 0);
    double end = t_seconds() + 60;
    /* Ping sends the even values, pong the odd ones: ROUNDS posts and
     * ROUNDS receptions on each side. */
    while (s->received < ROUNDS || s->posts_done < ROUNDS) {
        CHECK(cio_loop_run(&s->loop, CIO_RUN_ONCE) >= 0);
        CHECK(t_seconds() < end);
    }
    atomic_store(&s->ready, 2);
    /* Keep turning until the peer is done too, so its last post lands. */
    while (atomic_load(&s->peer->ready) != 2) {
        CHECK(cio_loop_run(&s->loop, CIO_RUN_NOWAIT) >= 0);
        CHECK(t_seconds() < end);
    }
    cio_stats st;
    cio_loop_stats(&s->loop, &st);
    CHECK_EQ(st.posts_received, ROUNDS);
    t_close(&s->loop);
    CHECK_EQ(keepalive.finals, 1);
    return NULL;
}

static void loop_to_loop(void) {
    ping.peer = &pong;
    pong.peer = &ping;
    t_thread a, b;
    CHECK_EQ(t_thread_start(&a, run_side, &ping), 0);
    CHECK_EQ(t_thread_start(&b, run_side, &pong), 0);
    CHECK_EQ(t_thread_join(&a, NULL), 0);
    CHECK_EQ(t_thread_join(&b, NULL), 0);
    CHECK_EQ(ping.received, ROUNDS);
    CHECK_EQ(pong.received, ROUNDS);
    CHECK_EQ(ping.posts_done, ROUNDS);
    CHECK_EQ(pong.posts_done, ROUNDS);
}

/* ---- wake ---- */

static void *waker(void *arg) {
    t_sleep_ms(20);
    CHECK_EQ(cio_loop_wake(arg), 0);
    return NULL;
}

static void wake(void) {
    cio_loop loop;
    t_loop_init(&loop, 8);
    t_op keepalive;
    cio_prep_timeout(&keepalive.op, 60ull * 1000000000, 0);
    t_arm(&keepalive);
    CHECK_EQ(cio_submit(&loop, &keepalive.op), 0);
    t_thread th;
    CHECK_EQ(t_thread_start(&th, waker, &loop), 0);
    double t0 = t_seconds();
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_ONCE), 1); /* returns on the wake, not after 60 s */
    CHECK(t_seconds() - t0 < 30);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    /* Wakes coalesce and are harmless when nobody waits. */
    for (int i = 0; i < 1000; i++) CHECK_EQ(cio_loop_wake(&loop), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_ONCE), 1);
    t_close(&loop);
    CHECK_EQ(keepalive.res, -CIO_ECANCELED);
}

int main(void) {
    two_senders();
    loop_to_loop();
    wake();
    puts("post: ok");
    return 0;
}
