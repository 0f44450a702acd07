/* Task groups: wait for all children, the first error, cancel on error,
 * cancelling the group, cancelling (or timing out) the task that waits
 * (children first), nested groups, spawning from a callback and into a
 * cancelled group, many children, and cio_main's deadlock exit through a
 * group. CIO_TEST_PORTABLE */
#include "test.h"

#define MS 1000000ull

typedef struct kid {
    uint64_t sleep_ms;
    intptr_t ret;      /* returned when the sleep ends normally */
    int sleep_result;  /* what cio_sleep returned */
    bool started, done;
    cio_event *ev;     /* wait on it instead of sleeping, if set */
} kid;

static intptr_t kid_main(void *arg) {
    kid *k = arg;
    k->started = true;
    k->sleep_result = k->ev ? cio_event_wait(k->ev) : cio_sleep(k->sleep_ms * MS);
    k->done = true;
    return k->sleep_result < 0 ? k->sleep_result : k->ret;
}

static void kids_init(kid *k, int n, uint64_t ms, intptr_t ret) {
    for (int i = 0; i < n; i++) k[i] = (kid){.sleep_ms = ms, .ret = ret};
}

static void test_wait_all(cio_loop *loop) {
    cio_group g;
    CHECK_EQ(cio_group_init(&g, loop, 0), 0);
    CHECK_EQ(cio_group_wait(&g), 0); /* empty: at once */
    kid k[5];
    uint64_t ms[5] = {5, 1, 4, 2, 3};
    for (int i = 0; i < 5; i++) {
        k[i] = (kid){.sleep_ms = ms[i], .ret = i};
        CHECK_EQ(cio_group_spawn(&g, kid_main, &k[i], NULL), 0);
    }
    CHECK_EQ(cio_group_size(&g), 5);
    CHECK_EQ(cio_group_wait(&g), 0);
    CHECK_EQ(cio_group_size(&g), 0);
    for (int i = 0; i < 5; i++) {
        CHECK(k[i].done);
        CHECK_EQ(k[i].sleep_result, 0);
    }
}

static void test_first_error(cio_loop *loop) {
    /* Without CANCEL_ON_ERROR every child runs to its end; the first error counts. */
    cio_group g;
    CHECK_EQ(cio_group_init(&g, loop, 0), 0);
    kid k[3] = {
        {.sleep_ms = 1, .ret = -CIO_EIO}, {.sleep_ms = 20, .ret = -CIO_ENOSPC}, {.sleep_ms = 10, .ret = 5}};
    for (int i = 0; i < 3; i++) CHECK_EQ(cio_group_spawn(&g, kid_main, &k[i], NULL), 0);
    CHECK_EQ(cio_group_wait(&g), -CIO_EIO);
    for (int i = 0; i < 3; i++) CHECK_EQ(k[i].sleep_result, 0);

    /* With it, the first error cancels the rest at once. */
    CHECK_EQ(cio_group_init(&g, loop, CIO_GROUP_CANCEL_ON_ERROR), 0);
    kid slow[4];
    kids_init(slow, 4, 60000, 0);
    kid bad = {.sleep_ms = 2, .ret = -CIO_ECONNRESET};
    for (int i = 0; i < 2; i++) CHECK_EQ(cio_group_spawn(&g, kid_main, &slow[i], NULL), 0);
    CHECK_EQ(cio_group_spawn(&g, kid_main, &bad, NULL), 0);
    for (int i = 2; i < 4; i++) CHECK_EQ(cio_group_spawn(&g, kid_main, &slow[i], NULL), 0);
    CHECK_EQ(cio_group_wait(&g), -CIO_ECONNRESET);
    for (int i = 0; i < 4; i++) {
        CHECK(slow[i].done);
        CHECK_EQ(slow[i].sleep_result, -CIO_ECANCELED);
    }
    /* The group stays cancelled: a later child starts cancelled. */
    kid late = {.sleep_ms = 60000};
    CHECK_EQ(cio_group_spawn(&g, kid_main, &late, NULL), 0);
    CHECK_EQ(cio_group_wait(&g), -CIO_ECONNRESET);
    CHECK(late.started);
    CHECK_EQ(late.sleep_result, -CIO_ECANCELED);

    CHECK_EQ(cio_group_init(&g, loop, 0x100), -CIO_EINVAL);
    CHECK_EQ(cio_group_init(&g, NULL, 0), -CIO_EINVAL);
    CHECK_EQ(cio_group_spawn(&g, NULL, NULL, NULL), -CIO_EINVAL);
}

static void test_cancel_group(cio_loop *loop) {
    cio_group g;
    CHECK_EQ(cio_group_init(&g, loop, 0), 0);
    cio_event never;
    cio_event_init(&never, false);
    kid k[6];
    kids_init(k, 6, 60000, 0);
    for (int i = 0; i < 6; i++) {
        if (i % 2) k[i].ev = &never; /* half blocked on an event, half in an op */
        CHECK_EQ(cio_group_spawn(&g, kid_main, &k[i], NULL), 0);
    }
    CHECK_EQ(cio_sleep(2 * MS), 0); /* all of them blocked by now */
    cio_group_cancel(&g);
    cio_group_cancel(&g); /* idempotent */
    CHECK_EQ(cio_group_wait(&g), -CIO_ECANCELED); /* the children's own results */
    for (int i = 0; i < 6; i++) {
        CHECK(k[i].done);
        CHECK_EQ(k[i].sleep_result, -CIO_ECANCELED);
    }
}

/* A task that waits for its own group, and is cancelled (or times out). */
typedef struct parent_arg {
    kid k[4];
    int wait_result;
    bool all_done_at_return;
    bool scoped;
} parent_arg;

static intptr_t parent_main(void *arg) {
    parent_arg *p = arg;
    cio_group g;
    CHECK_EQ(cio_group_init(&g, cio_task_loop(), 0), 0);
    cio_event never;
    cio_event_init(&never, false);
    uint64_t prev = 0;
    /* Children 0, 1 are spawned before the scope (no deadline of their
     * own); 2, 3 inside it (they inherit it). */
    for (int i = 0; i < 4; i++) {
        if (p->scoped && i == 2) prev = cio_deadline_push(cio_now(cio_task_loop()) + 5 * MS);
        p->k[i] = (kid){.sleep_ms = 60000, .ev = i == 1 ? &never : NULL};
        CHECK_EQ(cio_group_spawn(&g, kid_main, &p->k[i], NULL), 0);
    }
    p->wait_result = cio_group_wait(&g);
    if (p->scoped) cio_deadline_pop(prev);
    p->all_done_at_return = true;
    for (int i = 0; i < 4; i++) p->all_done_at_return &= p->k[i].done;
    CHECK_EQ(cio_group_size(&g), 0);
    return p->wait_result;
}

static void test_cancel_waiter(cio_loop *loop) {
    parent_arg p = {0};
    cio_task *t;
    CHECK_EQ(cio_task_spawn(loop, parent_main, &p, NULL, &t), 0);
    CHECK_EQ(cio_sleep(2 * MS), 0);
    CHECK_EQ(cio_task_cancel(t), 0);
    intptr_t r = 0;
    CHECK_EQ(cio_task_join(t, &r), 0);
    CHECK_EQ(r, -CIO_ECANCELED);
    CHECK(p.all_done_at_return); /* no child outlived the wait */
    for (int i = 0; i < 4; i++) CHECK_EQ(p.k[i].sleep_result, -CIO_ECANCELED);

    /* A deadline scope around the wait: the children spawned inside it time
     * out on their own; the others are cancelled by the wait. */
    parent_arg q = {.scoped = true};
    CHECK_EQ(cio_task_spawn(loop, parent_main, &q, NULL, &t), 0);
    CHECK_EQ(cio_task_join(t, &r), 0);
    CHECK_EQ(r, -CIO_ETIMEDOUT);
    CHECK(q.all_done_at_return);
    CHECK_EQ(q.k[0].sleep_result, -CIO_ECANCELED);
    CHECK_EQ(q.k[1].sleep_result, -CIO_ECANCELED);
    CHECK_EQ(q.k[2].sleep_result, -CIO_ETIMEDOUT);
    CHECK_EQ(q.k[3].sleep_result, -CIO_ETIMEDOUT);

    /* Cancelled before it waits: the wait still waits for the children. */
    parent_arg c = {0};
    CHECK_EQ(cio_task_spawn(loop, parent_main, &c, NULL, &t), 0);
    CHECK_EQ(cio_task_cancel(t), 0);
    CHECK_EQ(cio_task_join(t, &r), 0);
    CHECK_EQ(r, -CIO_ECANCELED);
    CHECK(c.all_done_at_return);
}

/* Nested: cancelling the outer group reaches the grandchildren through the
 * middle task's wait. */
static intptr_t grandchild(void *arg) {
    int *done = arg;
    int r = cio_sleep(60000 * MS);
    (*done)++;
    return r;
}

static intptr_t middle(void *arg) {
    int *done = arg;
    cio_group g;
    CHECK_EQ(cio_group_init(&g, cio_task_loop(), 0), 0);
    for (int i = 0; i < 3; i++) CHECK_EQ(cio_group_spawn(&g, grandchild, done, NULL), 0);
    int r = cio_group_wait(&g);
    CHECK_EQ(*done, 3); /* its own children are gone before its wait returns */
    return r;
}

static void test_nested(cio_loop *loop) {
    cio_group g;
    CHECK_EQ(cio_group_init(&g, loop, 0), 0);
    int done[4] = {0};
    for (int i = 0; i < 4; i++) CHECK_EQ(cio_group_spawn(&g, middle, &done[i], NULL), 0);
    CHECK_EQ(cio_sleep(2 * MS), 0);
    cio_group_cancel(&g);
    CHECK_EQ(cio_group_wait(&g), -CIO_ECANCELED);
    for (int i = 0; i < 4; i++) CHECK_EQ(done[i], 3);
}

/* Spawning from a plain callback, with no task running. */
static kid cb_kid;

static void on_timer_spawn(cio_loop *loop, cio_op *op) {
    (void)loop;
    cb_kid = (kid){.sleep_ms = 1, .ret = -CIO_EAGAIN};
    CHECK_EQ(cio_group_spawn(op->data, kid_main, &cb_kid, NULL), 0);
}

static void test_spawn_from_callback(cio_loop *loop) {
    cio_group g;
    CHECK_EQ(cio_group_init(&g, loop, 0), 0);
    kid k = {.sleep_ms = 10};
    CHECK_EQ(cio_group_spawn(&g, kid_main, &k, NULL), 0);
    cio_op timer;
    cio_prep_timeout(&timer, 1 * MS, 0);
    timer.cb = on_timer_spawn;
    timer.data = &g;
    CHECK_EQ(cio_submit(loop, &timer), 0);
    /* The wait may start before the second child exists; it waits for it too. */
    CHECK_EQ(cio_group_wait(&g), -CIO_EAGAIN);
    CHECK(cb_kid.done);
    CHECK(k.done);
}

/* Many small children, each yielding a few times. */
static int many_done;

static intptr_t yielder(void *arg) {
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++) CHECK_EQ(cio_task_yield(), 0);
    many_done++;
    return 0;
}

static void test_many(cio_loop *loop) {
    cio_group g;
    CHECK_EQ(cio_group_init(&g, loop, CIO_GROUP_CANCEL_ON_ERROR), 0);
    cio_task_options o = {.stack_size = 16 * 1024, .name = "yielder"};
    many_done = 0;
    for (int i = 0; i < 2000; i++) CHECK_EQ(cio_group_spawn(&g, yielder, (void *)(intptr_t)(i % 5), &o), 0);
    CHECK_EQ(cio_group_size(&g), 2000);
    CHECK_EQ(cio_group_wait(&g), 0);
    CHECK_EQ(many_done, 2000);
    /* Reused after init: a fresh start. */
    CHECK_EQ(cio_group_init(&g, loop, 0), 0);
    CHECK_EQ(cio_group_spawn(&g, yielder, (void *)(intptr_t)1, &o), 0);
    CHECK_EQ(cio_group_wait(&g), 0);
}

static intptr_t group_main(void *arg) {
    (void)arg;
    cio_loop *loop = cio_task_loop();
    test_wait_all(loop);
    test_first_error(loop);
    test_cancel_group(loop);
    test_cancel_waiter(loop);
    test_nested(loop);
    test_spawn_from_callback(loop);
    test_many(loop);
    return 3;
}

/* cio_main with a main task waiting for children that wait for each other
 * forever: nothing is in flight, so cio_main cancels the main task, whose
 * wait cancels the children and returns once they are gone. */
static kid stuck[3];

static intptr_t deadlock_main(void *arg) {
    (void)arg;
    static cio_event never;
    cio_event_init(&never, false);
    cio_group g;
    CHECK_EQ(cio_group_init(&g, cio_task_loop(), 0), 0);
    for (int i = 0; i < 3; i++) {
        stuck[i] = (kid){.ev = &never};
        CHECK_EQ(cio_group_spawn(&g, kid_main, &stuck[i], NULL), 0);
    }
    return cio_group_wait(&g);
}

int main(void) {
    t_watchdog();
    cio_group g;
    cio_loop loop;
    t_loop_init(&loop, 64);
    CHECK_EQ(cio_group_init(&g, &loop, 0), 0);
    CHECK_EQ(cio_group_wait(&g), -CIO_EPERM); /* not in a task */
    t_close(&loop);

    intptr_t r = 0;
    CHECK_EQ(cio_main(group_main, NULL, NULL, &r), 0);
    CHECK_EQ(r, 3);
    CHECK_EQ(cio_main(deadlock_main, NULL, NULL, &r), 0);
    CHECK_EQ(r, -CIO_ECANCELED);
    for (int i = 0; i < 3; i++) CHECK_EQ(stuck[i].sleep_result, -CIO_ECANCELED);
    puts("task_group: ok");
    return 0;
}
