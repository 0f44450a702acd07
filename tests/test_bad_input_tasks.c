/* Bad input to the task layer (task.h, sync.h, group.h): NULL for every
 * pointer a public call takes, objects never initialised (all-zero), and
 * a loop that was never initialised or whose init failed. Each call
 * returns -CIO_EINVAL (or the documented error), or does nothing where it
 * returns nothing; none crashes. Every case runs in a child process, so
 * that a crash names its case, both outside any task and inside one.
 *
 * Regression (issue 7, bug 10, the L2 part): cio_event_set(NULL),
 * cio_chan_try_send(NULL, ...), cio_xchan_try_recv(NULL, ...) and most
 * other calls dereferenced the NULL.
 * CIO_TEST_PORTABLE: Windows has no fork, so there each case runs in the
 * test's own process, its name printed first (a crash still names it). */
#include "test.h"

#include <cio/group.h>
#if !defined(_WIN32)
#include <sys/wait.h>
#endif

static intptr_t nothing(void *arg) {
    (void)arg;
    return 0;
}

static int in_task; /* the case runs inside a task: blocking calls get past their EPERM check */

/* The cases. Each CHECKs what it expects; a crash kills its child. */

static void c_task_calls(void) {
    cio_loop zero;
    memset(&zero, 0, sizeof zero);
    CHECK_EQ(cio_task_spawn(NULL, nothing, NULL, NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_task_spawn(&zero, nothing, NULL, NULL, NULL), -CIO_EINVAL); /* never initialised */
    cio_loop failed;
    cio_loop_options bad = {.flags = 0xdead};
    CHECK(cio_loop_init(&failed, &bad) < 0);
    CHECK_EQ(cio_task_spawn(&failed, nothing, NULL, NULL, NULL), -CIO_EINVAL); /* init failed */
    CHECK_EQ(cio_task_join(NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_task_detach(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_task_cancel(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_await(NULL), -CIO_EINVAL);
    int want = in_task ? -CIO_EINVAL : -CIO_EPERM;
    CHECK_EQ(cio_await_all(NULL, 2), -CIO_EINVAL);
    CHECK_EQ(cio_await_first(NULL, 2), -CIO_EINVAL);
    cio_op *nulls[2] = {NULL, NULL};
    CHECK_EQ(cio_await_all(nulls, 2), want);
    CHECK_EQ(cio_main(NULL, NULL, NULL, NULL), -CIO_EINVAL);
    if (in_task) {
        cio_loop *loop = cio_task_loop();
        CHECK_EQ(cio_task_spawn(loop, NULL, NULL, NULL, NULL), -CIO_EINVAL);
        cio_op unprepared;
        memset(&unprepared, 0, sizeof unprepared);
        CHECK_EQ(cio_await(&unprepared), -CIO_EINVAL);
        CHECK_EQ(cio_read(0, NULL, 4, 0), -CIO_EINVAL);
        CHECK_EQ(cio_recvmsg(0, NULL, 0), -CIO_EINVAL);
        CHECK_EQ(cio_stat(CIO_AT_FDCWD, "/", 0, CIO_STATX_BASIC_STATS, NULL), -CIO_EINVAL);
        cio_op msg;
        cio_prep_nop(&msg);
        CHECK(cio_post(NULL, &msg) < 0);
        CHECK(cio_post(loop, NULL) < 0);
    }
}

static void c_event(void) {
    cio_event_init(NULL, true);
    cio_event_set(NULL);
    cio_event_reset(NULL);
    CHECK(!cio_event_is_set(NULL));
    CHECK_EQ(cio_event_wait(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_event_wait_until(NULL, 1), -CIO_EINVAL);
}

static void c_sem(void) {
    cio_sem_init(NULL, 3);
    CHECK_EQ(cio_sem_acquire(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_sem_try_acquire(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_sem_release(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_sem_value(NULL), 0);
}

static void c_mutex(void) {
    cio_mutex_init(NULL);
    CHECK_EQ(cio_mutex_lock(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_mutex_try_lock(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_mutex_unlock(NULL), -CIO_EINVAL);
}

static void c_chan(void) {
    int v = 1, buf[2];
    cio_chan ch, zero;
    memset(&zero, 0, sizeof zero);
    CHECK_EQ(cio_chan_init(NULL, buf, sizeof v, 2), -CIO_EINVAL);
    CHECK_EQ(cio_chan_init(&ch, NULL, sizeof v, 2), -CIO_EINVAL);
    CHECK_EQ(cio_chan_init(&ch, buf, 0, 2), -CIO_EINVAL);
    CHECK_EQ(cio_chan_init(&ch, buf, sizeof v, 2), 0);
    CHECK_EQ(cio_chan_try_send(NULL, &v), -CIO_EINVAL);
    CHECK_EQ(cio_chan_try_send(&ch, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_chan_try_recv(NULL, &v), -CIO_EINVAL);
    CHECK_EQ(cio_chan_try_recv(&ch, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_chan_send(NULL, &v), -CIO_EINVAL);
    CHECK_EQ(cio_chan_send(&ch, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_chan_recv(NULL, &v), -CIO_EINVAL);
    CHECK_EQ(cio_chan_recv(&ch, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_chan_try_send(&zero, &v), -CIO_EINVAL);
    CHECK_EQ(cio_chan_try_recv(&zero, &v), -CIO_EINVAL);
    /* Blocking calls check the pointers, then that a task runs, then the object. */
    int want = in_task ? -CIO_EINVAL : -CIO_EPERM;
    CHECK_EQ(cio_chan_send(&zero, &v), want);
    CHECK_EQ(cio_chan_recv(&zero, &v), want);
    cio_chan_close(NULL);
    CHECK_EQ(cio_chan_len(NULL), 0);
    /* The good channel still works after all that. */
    CHECK_EQ(cio_chan_try_send(&ch, &v), 0);
    CHECK_EQ(cio_chan_len(&ch), 1);
}

static void c_xchan(void) {
    cio_loop lp;
    CHECK_EQ(cio_loop_init(&lp, NULL), 0);
    cio_xchan xc, zero;
    memset(&zero, 0, sizeof zero);
    cio_xmsg m = {0}, *out = NULL;
    CHECK_EQ(cio_xchan_init(NULL, &lp), -CIO_EINVAL);
    CHECK_EQ(cio_xchan_init(&xc, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_xchan_init(&xc, &lp), 0);
    CHECK_EQ(cio_xchan_send(NULL, &m), -CIO_EINVAL);
    CHECK_EQ(cio_xchan_send(&xc, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_xchan_send(&zero, &m), -CIO_EINVAL);
    CHECK_EQ(cio_xchan_try_recv(NULL, &out), -CIO_EINVAL);
    CHECK_EQ(cio_xchan_try_recv(&xc, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_xchan_try_recv(&zero, &out), -CIO_EINVAL);
    CHECK_EQ(cio_xchan_recv(NULL, &out), -CIO_EINVAL);
    CHECK_EQ(cio_xchan_recv(&xc, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_xchan_recv(&zero, &out), in_task ? -CIO_EINVAL : -CIO_EPERM);
    CHECK_EQ(cio_xchan_close(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_xchan_close(&zero), -CIO_EINVAL);
    /* The good channel still works after all that. */
    CHECK_EQ(cio_xchan_send(&xc, &m), 0);
    for (int i = 0; i < 4 && cio_xchan_try_recv(&xc, &out) != 0; i++) CHECK(cio_loop_run(&lp, CIO_RUN_NOWAIT) >= 0);
    CHECK(out == &m);
    CHECK_EQ(cio_loop_close(&lp), 0);
}

static void c_group(void) {
    cio_loop lp;
    CHECK_EQ(cio_loop_init(&lp, NULL), 0);
    cio_group g, zero;
    memset(&zero, 0, sizeof zero);
    CHECK_EQ(cio_group_init(NULL, &lp, 0), -CIO_EINVAL);
    CHECK_EQ(cio_group_init(&g, NULL, 0), -CIO_EINVAL);
    CHECK_EQ(cio_group_init(&g, &lp, 0x80), -CIO_EINVAL);
    CHECK_EQ(cio_group_init(&g, &lp, 0), 0);
    CHECK_EQ(cio_group_spawn(NULL, nothing, NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_group_spawn(&g, NULL, NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_group_spawn(&zero, nothing, NULL, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_group_wait(NULL), -CIO_EINVAL);
    cio_group_cancel(NULL);
    CHECK_EQ(cio_group_size(NULL), 0);
    CHECK_EQ(cio_loop_close(&lp), 0);
}

typedef struct bad_case {
    const char *name;
    void (*fn)(void);
} bad_case;

static const bad_case cases[] = {
    {"task calls", c_task_calls}, {"event", c_event}, {"semaphore", c_sem}, {"mutex", c_mutex},
    {"channel", c_chan},          {"xchan", c_xchan}, {"group", c_group},
};

static intptr_t as_task(void *arg) {
    in_task = 1;
    ((const bad_case *)arg)->fn();
    return 7;
}

#if defined(_WIN32)
/* Runs case `c` here, outside or inside a task; true if it passed (a
 * failed CHECK exits the test, after the case's name). */
static bool run_case(const bad_case *c, bool task) {
    printf("case %-12s %s\n", c->name, task ? "in a task" : "outside");
    fflush(stdout);
    in_task = 0;
    if (task) {
        intptr_t r = 0;
        CHECK_EQ(cio_main(as_task, (void *)(uintptr_t)c, NULL, &r), 0);
        CHECK_EQ(r, 7);
    } else {
        c->fn();
    }
    in_task = 0;
    return true;
}
#else
/* Runs case `c` in a child, outside or inside a task; true if it passed. */
static bool run_case(const bad_case *c, bool task) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(20);
        if (task) {
            intptr_t r = 0;
            CHECK_EQ(cio_main(as_task, (void *)(uintptr_t)c, NULL, &r), 0);
            CHECK_EQ(r, 7);
        } else {
            c->fn();
        }
        _exit(0);
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) {
        if (WIFSIGNALED(status))
            printf("%-12s %-12s crashed (signal %d)\n", c->name, task ? "in a task" : "outside", WTERMSIG(status));
        else
            printf("%-12s %-12s failed (exit %d)\n", c->name, task ? "in a task" : "outside", WEXITSTATUS(status));
    }
    return ok;
}
#endif

int main(void) {
    t_watchdog();
    int bad = 0, n = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int task = 0; task < 2; task++, n++) bad += !run_case(&cases[i], task);
    printf("bad input to the task layer: %d of %d groups of cases failed\n", bad, n);
    CHECK_EQ(bad, 0);
    puts("bad_input_tasks: ok");
    return 0;
}
