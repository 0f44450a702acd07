/* A loop's close ends its tasks before it lets go of its buffer pools.
 *
 * A task takes a buffer of a pool with cio_recv_pool() and then waits on
 * an event that nobody sets (no op of it is in flight, so the close ends
 * it from the tasks' close hook, not by cancelling an op); the loop is
 * closed under it. Its wait ends with -CIO_ECANCELED and it gives the
 * buffer back (cio_bufpool_put) and reads the pool's count of
 * free buffers on its way out, as cleanup code does. The pool is made
 * after the loop's first task, so that its close hook is the newer one.
 * The oracle: the bytes the task received are those a plain write sent,
 * the put returns 0, the pool has every buffer free again, and the task
 * function is seen returning exactly once.
 *
 * Regression: close hooks run newest first, so the pool's hook freed the
 * pool before the tasks' hook ended the task, and its put touched freed
 * memory (AddressSanitizer: heap-use-after-free in cio_bufpool_put).
 *
 * CIO_TEST_PORTABLE */
#include "test.h"

#include <cio/bufpool.h>
#include <cio/net.h>
#include <cio/sync.h>

enum { POOL_BUFS = 4, POOL_SIZE = 256 };

static cio_bufpool *pool;
static cio_fd fds[2];
static cio_event never;
static int received, put_result = 1, returned;
static uint32_t free_after = 0;

static intptr_t early(void *arg) {
    (void)arg;
    return 0;
}

static intptr_t holder(void *arg) {
    (void)arg;
    uint32_t id;
    int32_t n = cio_recv_pool(fds[0], pool, 0, &id);
    CHECK_EQ(n, 5);
    CHECK(memcmp(cio_bufpool_buf(pool, id), "hello", 5) == 0);
    received = 1;
    CHECK_EQ(cio_event_wait(&never), -CIO_ECANCELED); /* the close ends it */
    put_result = cio_bufpool_put(pool, id);
    free_after = cio_bufpool_available(pool);
    returned++;
    return 0;
}

int main(void) {
    t_watchdog();
    cio_loop loop;
    t_loop_init(&loop, 64);
    /* The loop's first task: the tasks' close hook is registered now. */
    CHECK_EQ(cio_task_spawn(&loop, early, NULL, &(cio_task_options){.detached = true}, NULL), 0);
    CHECK_EQ(cio_bufpool_create(&loop, POOL_BUFS, POOL_SIZE, &pool), 0);
    CHECK_EQ(cio_socket_pair(&loop, SOCK_STREAM, fds), 0);
    CHECK_EQ(cio_task_spawn(&loop, holder, NULL, &(cio_task_options){.detached = true}, NULL), 0);

    cio_event_init(&never, false);
    t_op w;
    cio_prep_send(&w.op, fds[1], "hello", 5, 0);
    t_arm(&w);
    CHECK_EQ(cio_submit(&loop, &w.op), 0);
    t_run_until(&loop, &received, 10);
    t_run(&loop, 10); /* until nothing is in flight: the task waits on the event */
    CHECK_EQ(cio_bufpool_available(pool), POOL_BUFS - 1);
    for (int i = 0; i < 2; i++) { /* the sockets go; the task waits on */
        cio_prep_close(&w.op, fds[i]);
        t_arm(&w);
        CHECK_EQ(cio_submit(&loop, &w.op), 0);
        t_run_until(&loop, &w.finals, 10);
        CHECK_EQ(w.op.res, 0);
    }

    double t0 = t_seconds();
    t_close(&loop);
    CHECK(t_seconds() - t0 < 10);
    CHECK_EQ(returned, 1);
    CHECK_EQ(put_result, 0);
    CHECK_EQ(free_after, POOL_BUFS);
    printf("ok\n");
    return 0;
}
