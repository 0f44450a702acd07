/* cio_loop_fd driven from outside, as loop.h tells: poll(2) the handle (at
 * most cio_loop_timeout()), then cio_loop_run(CIO_RUN_NOWAIT). The handle
 * must turn readable for every op a callback submits during such a run and
 * for every post (also with no op active), and must not stay readable when
 * no work waits. Its reset costs a read() per run, not one per turn: the
 * kernel's count of this thread's read calls (/proc/thread-self/io) is the
 * oracle (where there is one: not on Windows).
 * CIO_TEST_PORTABLE: on Windows the handle is the completion port,
 * "readable" is WaitForSingleObject on it. */
#include "test.h"

static int readable(cio_fd fd, int ms) { return t_wait_readable(fd, ms); }

/* Read calls this thread made so far, or -1 where the kernel does not say. */
static long thread_reads(void) {
#if defined(_WIN32)
    return -1; /* (under Wine /proc is Linux's, counting Wine's own server calls) */
#endif
    FILE *f = fopen("/proc/thread-self/io", "r");
    if (!f) return -1;
    char line[128];
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "syscr: %ld", &v) == 1) break;
    fclose(f);
    return v;
}

static int chain_left;
static void chain_cb(cio_loop *loop, cio_op *op) {
    if (--chain_left <= 0) return;
    cio_prep_nop(op);
    op->cb = chain_cb;
    CHECK_EQ(cio_submit(loop, op), 0);
}

static int posts_seen;
static void post_cb(cio_loop *loop, cio_op *op) {
    (void)loop;
    (void)op;
    posts_seen++;
}

typedef struct poster {
    cio_loop *target;
    cio_op msg[3];
    volatile int go; /* posts allowed so far; the main thread raises it */
} poster;

static void *post_thread(void *arg) {
    poster *p = arg;
    for (int i = 0; i < 3; i++) {
        double end = t_seconds() + 10;
        while (__atomic_load_n(&p->go, __ATOMIC_ACQUIRE) <= i) {
            CHECK(t_seconds() < end);
            t_sleep_ms(1);
        }
        cio_prep_nop(&p->msg[i]);
        p->msg[i].cb = post_cb;
        CHECK_EQ(cio_loop_post(p->target, &p->msg[i]), 0);
    }
    return NULL;
}

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 16);
    cio_fd fd;
    if (cio_loop_fd(&loop, &fd) == -CIO_ENOTSUP) {
        t_close(&loop);
        puts("loop_fd_outside: ok (no pollable handle on this backend)");
        return 0;
    }
    CHECK_EQ(cio_loop_fd(&loop, &fd), 0);

    /* A chain of nops, each submitted by the previous one's callback inside
     * a NOWAIT run: each must wake the poller (a poll that times out means
     * the op sat unsubmitted). */
    cio_op op;
    chain_left = 20;
    cio_prep_nop(&op);
    op.cb = chain_cb;
    CHECK_EQ(cio_submit(&loop, &op), 0);
    for (int i = 0;; i++) {
        CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
        if (cio_loop_active(&loop) == 0) break;
        CHECK(i < 1000);
        if (cio_loop_timeout(&loop) == 0) continue; /* the core has it ready */
        CHECK_EQ(readable(fd, 2000), 1);
    }
    CHECK_EQ(chain_left, 0);
    CHECK_EQ(readable(fd, 0), 0); /* nothing waits: quiet */

    /* Posts from another thread, one after the other, each while the loop
     * is idle between NOWAIT runs: each must make the handle readable. A
     * far timer keeps an op active, so that each run turns the backend. */
    t_op far_timer;
    cio_prep_timeout(&far_timer.op, 60 * 1000000000LL, 0);
    t_arm(&far_timer);
    CHECK_EQ(cio_submit(&loop, &far_timer.op), 0);
    poster p = {&loop, {{0}}, 0};
    t_thread th;
    CHECK_EQ(t_thread_start(&th, post_thread, &p), 0);
    for (int i = 0; i < 3; i++) {
        __atomic_store_n(&p.go, i + 1, __ATOMIC_RELEASE);
        double end = t_seconds() + 5;
        while (posts_seen <= i) {
            CHECK(t_seconds() < end);
            CHECK_EQ(readable(fd, 2000), 1);
            CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
        }
        CHECK_EQ(posts_seen, i + 1);
    }
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(readable(fd, 0), 0);
    CHECK_EQ(cio_cancel(&loop, &far_timer.op), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 0);
    CHECK_EQ(far_timer.finals, 1);
    CHECK_EQ(far_timer.res, -CIO_ECANCELED);
    CHECK_EQ(readable(fd, 0), 0);

    /* A post while no op is active: one wake-up, then quiet again (not a
     * handle that stays readable for a wake nobody consumes). */
    cio_op msg;
    cio_prep_nop(&msg);
    msg.cb = post_cb;
    CHECK_EQ(cio_loop_post(&loop, &msg), 0);
    CHECK_EQ(readable(fd, 2000), 1);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 0);
    CHECK_EQ(posts_seen, 4);
    CHECK_EQ(readable(fd, 0), 0);

    /* A loop that runs by itself (CIO_RUN_DEFAULT) does not read the
     * handle every turn, and leaves it quiet when it returns. */
    long before = thread_reads();
    chain_left = 2000;
    cio_prep_nop(&op);
    op.cb = chain_cb;
    CHECK_EQ(cio_submit(&loop, &op), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_DEFAULT), 0);
    long after = thread_reads();
    CHECK_EQ(chain_left, 0);
    if (before >= 0 && after >= 0) {
        printf("loop_fd_outside: %ld read calls for 2000 nops\n", after - before);
        CHECK(after - before < 100);
    }
    CHECK_EQ(readable(fd, 0), 0);

    t_close(&loop);
    puts("loop_fd_outside: ok");
    return 0;
}
