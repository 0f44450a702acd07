/* Tasks: spawn, join, sleep, blocking IO between two tasks, yield order,
 * detach, cio_main, await_all and await_first, deadline scopes.
 * CIO_TEST_PORTABLE */
#include "test.h"

static int order[16], norder;

static intptr_t sleeper(void *arg) {
    uint64_t ms = (uint64_t)(uintptr_t)arg;
    CHECK_EQ(cio_sleep(ms * 1000000), 0);
    order[norder++] = (int)ms;
    return (intptr_t)ms * 10;
}

typedef struct pipe_pair {
    cio_fd fds[2];
} pipe_pair;

static intptr_t writer(void *arg) {
    pipe_pair *p = arg;
    for (int i = 0; i < 100; i++) {
        char c = (char)i;
        CHECK_EQ(cio_write(p->fds[1], &c, 1, CIO_OFFSET_CURRENT), 1);
        if (i % 10 == 0) CHECK_EQ(cio_task_yield(), 0);
    }
    return 100;
}

static intptr_t reader(void *arg) {
    pipe_pair *p = arg;
    int sum = 0;
    for (int i = 0; i < 100; i++) {
        char c;
        CHECK_EQ(cio_read(p->fds[0], &c, 1, CIO_OFFSET_CURRENT), 1);
        CHECK_EQ(c, (char)i);
        sum += c;
    }
    return sum;
}

static intptr_t parent(void *arg) {
    (void)arg;
    cio_loop *loop = cio_task_loop();
    CHECK(loop != NULL);
    CHECK(cio_task_current() != NULL);
    /* Children finish in sleep order, whatever the spawn order. */
    cio_task *kids[3];
    uint64_t ms[3] = {30, 10, 20};
    for (int i = 0; i < 3; i++) CHECK_EQ(cio_task_spawn(loop, sleeper, (void *)(uintptr_t)ms[i], NULL, &kids[i]), 0);
    for (int i = 0; i < 3; i++) {
        intptr_t r = 0;
        CHECK_EQ(cio_task_join(kids[i], &r), 0);
        CHECK_EQ(r, (intptr_t)ms[i] * 10);
    }
    CHECK_EQ(norder, 3);
    CHECK_EQ(order[0], 10);
    CHECK_EQ(order[1], 20);
    CHECK_EQ(order[2], 30);

    /* Two tasks talking through a pipe, blocking on each other. */
    pipe_pair p;
    CHECK_EQ(t_pipe(p.fds), 0);
    cio_task *w, *r;
    CHECK_EQ(cio_task_spawn(loop, reader, &p, NULL, &r), 0);
    CHECK_EQ(cio_task_spawn(loop, writer, &p, NULL, &w), 0);
    intptr_t wr, rr;
    CHECK_EQ(cio_task_join(w, &wr), 0);
    CHECK_EQ(cio_task_join(r, &rr), 0);
    CHECK_EQ(wr, 100);
    CHECK_EQ(rr, 99 * 100 / 2);

    /* await_all: a write and a read of the same bytes, linked. */
    char out[4] = "abcd", in[4] = {0};
    cio_op ops[2];
    cio_prep_write(&ops[0], p.fds[1], out, 4, CIO_OFFSET_CURRENT);
    ops[0].flags = CIO_F_LINK;
    cio_prep_read(&ops[1], p.fds[0], in, 4, CIO_OFFSET_CURRENT);
    cio_op *pp[2] = {&ops[0], &ops[1]};
    CHECK_EQ(cio_await_all(pp, 2), 0);
    CHECK_EQ(ops[0].res, 4);
    CHECK_EQ(ops[1].res, 4);
    CHECK(memcmp(in, "abcd", 4) == 0);

    /* await_first: a 5 ms timer beats a read that never gets data; the read
     * is cancelled and completed before the call returns. */
    cio_prep_timeout(&ops[0], 5 * 1000000, 0);
    cio_prep_read(&ops[1], p.fds[0], in, 4, CIO_OFFSET_CURRENT);
    CHECK_EQ(cio_await_first(pp, 2), 0);
    CHECK_EQ(ops[0].res, 0);
    CHECK_EQ(ops[1].res, -CIO_ECANCELED);

    /* A deadline scope: the read fails with a timeout, the scope ends. */
    uint64_t prev = cio_deadline_push(cio_now(loop) + 5 * 1000000);
    CHECK_EQ(prev, 0);
    CHECK_EQ(cio_read(p.fds[0], in, 4, CIO_OFFSET_CURRENT), -CIO_ETIMEDOUT);
    /* A looser inner scope does not loosen it. */
    uint64_t inner = cio_deadline_push(cio_now(loop) + 60ull * 1000000000);
    CHECK_EQ(cio_sleep(1000ull * 1000000), -CIO_ETIMEDOUT);
    cio_deadline_pop(inner);
    cio_deadline_pop(prev);
    CHECK_EQ(cio_sleep(1000000), 0);

    /* A blocking post to the task's own loop: delivered in a later turn. */
    t_op msg;
    cio_prep_nop(&msg.op);
    t_arm(&msg);
    CHECK_EQ(cio_post(loop, &msg.op), 0);
    CHECK_EQ(cio_sleep(1000000), 0);
    CHECK_EQ(msg.finals, 1);

    /* Detached children are released on their own. */
    for (int i = 0; i < 10; i++) {
        cio_task_options o = {.detached = true, .name = "detached"};
        CHECK_EQ(cio_task_spawn(loop, sleeper, (void *)(uintptr_t)1, &o, NULL), 0);
    }
    CHECK_EQ(cio_sleep(20 * 1000000), 0);
    CHECK_EQ(t_close_handle(p.fds[0]), 0);
    CHECK_EQ(t_close_handle(p.fds[1]), 0);
    return 42;
}

int main(void) {
    t_watchdog();
    /* Outside a task, the blocking calls refuse. */
    CHECK_EQ(cio_sleep(1), -CIO_EPERM);
    CHECK_EQ(cio_task_yield(), -CIO_EPERM);
    CHECK(cio_task_current() == NULL);
    intptr_t result = 0;
    CHECK_EQ(cio_main(parent, NULL, NULL, &result), 0);
    CHECK_EQ(result, 42);
    CHECK_EQ(norder, 13);
    puts("task_basic: ok");
    return 0;
}
