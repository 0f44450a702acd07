/* Closing a loop ends every task of it: tasks parked on an event, a
 * semaphore, a mutex, a channel (send and receive), a cross-thread channel,
 * a join, a group wait, a deadline-scoped wait, an op, tasks that returned
 * and were never joined, and tasks spawned but never started. Each task
 * function is observed returning (a counter), cio_loop_close() returns 0
 * promptly (CLOCK_MONOTONIC), and 500 init/spawn/close cycles leave the
 * process's mappings as they were (/proc/self/maps: each leaked task would
 * leave its stack and guard mapped). Also from inside a task of another
 * loop, and through cio_main().
 *
 * Regression (issue 7, bug 7): the close resumed only tasks blocked in
 * ops; the others were never resumed, and no task's stack was ever freed
 * unless someone joined it (500 cycles left 1,000 extra mappings).
 *
 * CIO_TEST_PORTABLE: on Windows the mappings are VirtualQuery's allocations,
 * and the inaccessible ones its PAGE_GUARD regions (stack_win.c gives each
 * stack one); the fork case is POSIX only. */
#include "test.h"

#include <cio/group.h>
#if !defined(_WIN32)
#include <sys/wait.h>
#endif

static int started, returned;

typedef struct world {
    cio_event ev;
    cio_sem sem;
    cio_mutex mu;
    cio_chan full, empty;
    int full_buf[1], empty_buf[1];
    cio_xchan xc;
    cio_group group;
    cio_task *parked_on_event; /* joined by another task */
} world;

enum {
    P_EVENT,
    P_SEM,
    P_MUTEX_OWNER, /* holds the mutex, parked on the event */
    P_MUTEX,
    P_SEND,
    P_RECV,
    P_XCHAN,
    P_JOIN,
    P_GROUP_WAIT,
    P_DEADLINE, /* a wait with a deadline blocks in a timer op */
    P_SLEEP,
    P_FINISHED, /* returns at once; nobody joins it */
    P_COUNT
};

typedef struct parked {
    world *w;
    int kind;
    int result; /* what the parking call returned */
} parked;

static intptr_t child(void *arg) {
    world *w = arg;
    started++;
    int r = cio_event_wait(&w->ev);
    returned++;
    return r;
}

static intptr_t park(void *arg) {
    parked *p = arg;
    world *w = p->w;
    started++;
    int v = 7;
    cio_xmsg *m;
    switch (p->kind) {
    case P_EVENT: p->result = cio_event_wait(&w->ev); break;
    case P_SEM: p->result = cio_sem_acquire(&w->sem); break;
    case P_MUTEX_OWNER:
        CHECK_EQ(cio_mutex_lock(&w->mu), 0);
        p->result = cio_event_wait(&w->ev);
        CHECK_EQ(cio_mutex_unlock(&w->mu), 0); /* hands it to the waiter, which is gone or cancelled */
        break;
    case P_MUTEX: p->result = cio_mutex_lock(&w->mu); break;
    case P_SEND: p->result = cio_chan_send(&w->full, &v); break;
    case P_RECV: p->result = cio_chan_recv(&w->empty, &v); break;
    case P_XCHAN: p->result = cio_xchan_recv(&w->xc, &m); break;
    case P_JOIN: p->result = cio_task_join(w->parked_on_event, NULL); break;
    case P_GROUP_WAIT:
        for (int i = 0; i < 3; i++) CHECK_EQ(cio_group_spawn(&w->group, child, w, NULL), 0);
        p->result = cio_group_wait(&w->group);
        break;
    case P_DEADLINE: {
        uint64_t prev = cio_deadline_push(cio_now(cio_task_loop()) + 3600ull * 1000000000);
        p->result = cio_sem_acquire(&w->sem);
        cio_deadline_pop(prev);
        break;
    }
    case P_SLEEP: p->result = cio_sleep(3600ull * 1000000000); break;
    case P_FINISHED: p->result = 0; break;
    }
    /* Every later blocking call fails at once: the task unwinds. */
    if (p->kind != P_FINISHED) CHECK(cio_event_wait(&w->ev) < 0);
    returned++;
    return p->result;
}

/* The process's mappings (/proc/self/maps lines), and among them the
 * inaccessible ones: every task stack comes with exactly one, its guard. */
typedef struct maps {
    int all, prot_none;
} maps;

#if defined(_WIN32)
/* Allocations (distinct AllocationBase) and committed PAGE_GUARD regions. */
static maps maps_now(void) {
    maps m = {0, 0};
    MEMORY_BASIC_INFORMATION mbi;
    char *p = NULL;
    void *last = NULL;
    while (VirtualQuery(p, &mbi, sizeof mbi) == sizeof mbi) {
        if (mbi.State != MEM_FREE) {
            if (mbi.AllocationBase != last) m.all++;
            last = mbi.AllocationBase;
            if (mbi.State == MEM_COMMIT && (mbi.Protect & PAGE_GUARD)) m.prot_none++;
        }
        char *next = (char *)mbi.BaseAddress + mbi.RegionSize;
        if (next <= p) break;
        p = next;
    }
    return m;
}
#else
static maps maps_now(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL);
    maps m = {0, 0};
    char line[512];
    while (fgets(line, sizeof line, f)) {
        m.all++;
        if (strstr(line, " ---p ")) m.prot_none++;
    }
    fclose(f);
    return m;
}
#endif

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

/* Spawns one task per kind (and the group's three children) on `loop`,
 * runs the loop until all have parked, plus `never_started` tasks that are
 * spawned but never run before the close. Returns the tasks spawned. */
static int populate(cio_loop *loop, world *w, parked *ps, int never_started) {
    cio_event_init(&w->ev, false);
    cio_sem_init(&w->sem, 0);
    cio_mutex_init(&w->mu);
    CHECK_EQ(cio_chan_init(&w->full, w->full_buf, sizeof(int), 1), 0);
    CHECK_EQ(cio_chan_init(&w->empty, w->empty_buf, sizeof(int), 1), 0);
    w->full_buf[0] = 0;
    CHECK_EQ(cio_chan_try_send(&w->full, &w->full_buf[0]), 0);
    CHECK_EQ(cio_xchan_init(&w->xc, loop), 0);
    CHECK_EQ(cio_group_init(&w->group, loop, 0), 0);
    int expect = started;
    for (int k = 0; k < P_COUNT; k++) {
        ps[k] = (parked){.w = w, .kind = k, .result = 1};
        cio_task *t;
        CHECK_EQ(cio_task_spawn(loop, park, &ps[k], NULL, &t), 0);
        if (k == P_EVENT) w->parked_on_event = t;
        expect += 1 + (k == P_GROUP_WAIT ? 3 : 0);
        /* Let it park (the mutex owner takes the mutex first). From inside
         * a task (of another loop), the tasks this loop's callbacks wake
         * run once that task blocks. */
        for (int i = 0; i < 8 && started < expect; i++) {
            CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
            if (cio_task_current()) CHECK_EQ(cio_task_yield(), 0);
        }
        CHECK_EQ(started, expect);
    }
    for (int i = 0; i < never_started; i++) {
        ps[P_COUNT + i] = (parked){.w = w, .kind = P_EVENT, .result = 1};
        CHECK_EQ(cio_task_spawn(loop, park, &ps[P_COUNT + i], NULL, NULL), 0);
    }
    return P_COUNT + 3 + never_started;
}

static void check_results(const parked *ps, int never_started) {
    for (int k = 0; k < P_COUNT; k++) {
        if (k == P_FINISHED) {
            CHECK_EQ(ps[k].result, 0);
            continue;
        }
        /* Ended by the close: cancelled (the group wait too: its waiter was
         * cancelled). The mutex may instead have been handed over by its
         * owner as it unwound: a woken waiter keeps what it was given. */
        if (ps[k].result != -CIO_ECANCELED && !(k == P_MUTEX && ps[k].result == 0)) {
            fprintf(stderr, "kind %d returned %d\n", k, ps[k].result);
            CHECK(0);
        }
    }
    /* Started inside the close: each ran, and its first wait failed. */
    for (int i = 0; i < never_started; i++) CHECK(ps[P_COUNT + i].result < 0);
}

static void one_cycle(int never_started) {
    cio_loop loop;
    t_loop_init(&loop, 0);
    world w;
    parked ps[P_COUNT + 4];
    int before = returned, n_started = started;
    int n = populate(&loop, &w, ps, never_started);
    CHECK_EQ(returned - before, 1); /* P_FINISHED only */
    double t0 = t_seconds();
    CHECK_EQ(cio_loop_close(&loop), 0);
    CHECK(t_seconds() - t0 < 5.0); /* promptly: nothing waits for the hour-long sleep */
    CHECK_EQ(started - n_started, n);
    CHECK_EQ(returned - before, n);
    check_results(ps, never_started);
}

/* ---- closing a loop from a task of another loop ---- */

static cio_loop inner;
static int inner_done;

static intptr_t closer(void *arg) {
    (void)arg;
    world w;
    parked ps[P_COUNT + 4];
    t_loop_init(&inner, 0);
    int before = returned;
    int n = populate(&inner, &w, ps, 2);
    /* Our own loop's task keeps running here, and comes back. */
    CHECK_EQ(cio_loop_close(&inner), 0);
    CHECK_EQ(returned - before, n);
    check_results(ps, 2);
    CHECK_EQ(cio_sleep(1000000), 0); /* this task and its loop are fine */
    inner_done = 1;
    return 0;
}

static void close_from_task(void) {
    cio_loop outer;
    t_loop_init(&outer, 0);
    cio_task *t;
    CHECK_EQ(cio_task_spawn(&outer, closer, NULL, NULL, &t), 0);
    t_run_until(&outer, &inner_done, 10);
    t_run(&outer, 10);
    CHECK_EQ(cio_task_join(t, NULL), -CIO_EPERM); /* not in a task: still ours to release */
    t_close(&outer); /* releases it */
}

/* ---- cio_main leaves parked tasks behind ---- */

static world main_world;
static parked main_ps[P_COUNT + 4];
static int main_n;

static intptr_t main_fn(void *arg) {
    (void)arg;
    cio_loop *loop = cio_task_loop();
    /* Spawned from a task: they start when it blocks. */
    cio_event_init(&main_world.ev, false);
    cio_sem_init(&main_world.sem, 0);
    cio_mutex_init(&main_world.mu);
    CHECK_EQ(cio_chan_init(&main_world.full, main_world.full_buf, sizeof(int), 1), 0);
    CHECK_EQ(cio_chan_init(&main_world.empty, main_world.empty_buf, sizeof(int), 1), 0);
    CHECK_EQ(cio_chan_try_send(&main_world.full, &main_world.full_buf[0]), 0);
    CHECK_EQ(cio_xchan_init(&main_world.xc, loop), 0);
    CHECK_EQ(cio_group_init(&main_world.group, loop, 0), 0);
    for (int k = 0; k < P_COUNT; k++) {
        main_ps[k] = (parked){.w = &main_world, .kind = k, .result = 1};
        cio_task *t;
        CHECK_EQ(cio_task_spawn(loop, park, &main_ps[k], NULL, &t), 0);
        if (k == P_EVENT) main_world.parked_on_event = t;
        CHECK_EQ(cio_task_yield(), 0);
    }
    main_n = P_COUNT + 3;
    return 42;
}

static void through_cio_main(void) {
    int before = returned;
    intptr_t r = 0;
    CHECK_EQ(cio_main(main_fn, NULL, NULL, &r), 0);
    CHECK_EQ(r, 42);
    CHECK_EQ(returned - before, main_n);
    check_results(main_ps, 0);
}

/* ---- a forked child sets up a loop where its parent's was ---- */

#if !defined(_WIN32)
static cio_loop shared_loop; /* one address, in the parent and in the child */

static void fork_child_reuses_address(void) {
    t_loop_init(&shared_loop, 0);
    world w;
    parked ps[P_COUNT + 4];
    int before = returned;
    int n = populate(&shared_loop, &w, ps, 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* The child's copy of the parent's loop closes without touching
         * the parent's tasks; a new loop at the same address then has
         * tasks of its own, which its close ends. */
        alarm(20);
        CHECK_EQ(cio_loop_close(&shared_loop), 0);
        t_loop_init(&shared_loop, 0);
        world cw;
        parked cps[P_COUNT + 4];
        int cbefore = returned;
        int cn = populate(&shared_loop, &cw, cps, 1);
        CHECK_EQ(cio_loop_close(&shared_loop), 0);
        CHECK_EQ(returned - cbefore, cn);
        check_results(cps, 1);
        _exit(0);
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ(cio_loop_close(&shared_loop), 0);
    CHECK_EQ(returned - before, n);
    check_results(ps, 0);
}
#endif

int main(void) {
    t_watchdog();
#if defined(_WIN32)
    T_SKIP_CASE_ON_WINDOWS("fork_child_reuses_address", "forks (no fork on Windows)");
#else
    fork_child_reuses_address();
#endif
    /* Warm up: the stack pool and the allocator settle. */
    for (int i = 0; i < 5; i++) one_cycle(i % 3);
    close_from_task();
    through_cio_main();
    maps maps0 = maps_now();
    double t0 = t_seconds();
    int cycles = 0;
    for (; cycles < 500 && t_seconds() - t0 < 20; cycles++) one_cycle(cycles % 3);
    close_from_task();
    through_cio_main();
    maps maps1 = maps_now();
    printf("%d cycles, %d tasks returned; mappings %d -> %d, inaccessible ones %d -> %d\n", cycles, returned,
           maps0.all, maps1.all, maps0.prot_none, maps1.prot_none);
    CHECK(cycles >= 100);
    /* One leaked task per cycle would add two mappings per cycle (its
     * stack and its guard), 1,000 in all, half of them inaccessible. */
    CHECK(maps1.prot_none - maps0.prot_none <= 2);
#ifndef UNDER_TSAN /* whose shadow memory adds mappings as it goes */
    CHECK(maps1.all - maps0.all <= 16); /* a few for the allocator */
#endif
    puts("task_loop_close: ok");
    return 0;
}
