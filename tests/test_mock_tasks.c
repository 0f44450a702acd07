/*
 * test_mock_tasks - cio's task layer under many seeds of the mock backend
 * (issue 9, point 5, as far as the mock simulates today: the loop, nops and
 * virtual time; sockets, pipes and files are not simulated yet).
 *
 * One run per seed (default seeds 1..1000) of a fixed workload on
 * CIO_BACKEND_MOCK: tasks (spawn, join, cancel, detach, cio_main), sleeps in
 * virtual time, deadline scopes, event, semaphore, mutex, bounded channel,
 * groups (with and without CIO_GROUP_CANCEL_ON_ERROR), cio_await_all and
 * cio_await_first over nops and timeouts, cancels racing completions (in
 * the same virtual instant, and against nops whose latency the seed draws),
 * and plain L1 nops submitted in batches with links. The workload itself
 * never looks at the seed: every difference between two seeds comes from
 * the mock (the latency of each nop), so the count of distinct transcripts
 * printed at the end measures the mock's variation, not the test's.
 *
 * Each run checks its results against what the workload computes on paper
 * (closed-form sums, counts, the group's first error, exact virtual time
 * moved by sleeps), every op it submitted itself completing exactly once,
 * the loop's submitted and completed counts agreeing, and no task left
 * alive after cio_main() (a counter up at each task's start, down at its
 * end). Some seeds run twice: same trace (cio_mock_trace) and same workload
 * transcript, or the run is not deterministic.
 *
 * A failure prints the seed and the command that replays it alone. Seeds:
 * argv[1] (count) and argv[2] (first), else CIO_MOCK_SEEDS and
 * CIO_MOCK_SEED_FIRST. It names its backend itself: ctest runs it once
 * (CIO_TEST_ONCE).
 */
#include "test.h"

#define MS (1000ull * 1000)
#define SEC (1000ull * MS)

/* ---- per-run state and the failure report ---- */

static const char *g_prog = "./tests/test_mock_tasks";
static uint64_t g_seed;
static int g_running;   /* a seed is running: a failure (exit) names it */
static uint64_t g_tx;   /* the workload's transcript: who did what, in which order */
static uint64_t g_tx_mutex; /* the part of it that is the order of taking the mutex */
static int g_alive;     /* tasks that started and have not returned */
static int g_started;   /* tasks that started */
static uint64_t g_ops;  /* ops_submitted of the run */
static uint64_t g_trace;

static void replay_hint(void) {
    if (g_running)
        fprintf(stderr, "test_mock_tasks: FAILED at seed %" PRIu64 "; replay: CIO_MOCK_SEED_FIRST=%" PRIu64
                        " CIO_MOCK_SEEDS=1 %s\n",
                g_seed, g_seed, g_prog);
}

/* A hang (a wait that never returns) names its seed too: each seed gets
 * SEED_WATCHDOG_S seconds of real time, where it needs well under 1 ms. */
#define SEED_WATCHDOG_S 10

static void put_str(const char *str) {
    ssize_t ignored = write(2, str, strlen(str));
    (void)ignored;
}

static void put_u64(uint64_t v) {
    char buf[24], *p = buf + sizeof buf;
    *--p = '\0';
    do *--p = (char)('0' + v % 10); while ((v /= 10) != 0);
    put_str(p);
}

static void seed_hung(int sig) {
    (void)sig;
    put_str("test_mock_tasks: seed ");
    put_u64(g_seed);
    put_str(" hung (a wait that never returned); replay: CIO_MOCK_SEED_FIRST=");
    put_u64(g_seed);
    put_str(" CIO_MOCK_SEEDS=1 ");
    put_str(g_prog);
    put_str("\n");
    _exit(1);
}

static void tx(uint64_t v) {
    for (int i = 0; i < 8; i++) {
        g_tx ^= (v >> (8 * i)) & 0xff;
        g_tx *= 0x100000001b3ull;
    }
}

#define ENTER() (g_alive++, g_started++)
#define RETURN(v)                                                                                          \
    do {                                                                                                   \
        g_alive--;                                                                                         \
        return (intptr_t)(v);                                                                              \
    } while (0)

static uint64_t now(void) { return cio_now(cio_task_loop()); }

static int32_t nop(void) {
    cio_op op;
    cio_prep_nop(&op);
    return cio_await(&op);
}

static cio_task *spawn(cio_task_fn fn, intptr_t arg) {
    cio_task *t = NULL;
    CHECK_EQ(cio_task_spawn(cio_task_loop(), fn, (void *)arg, NULL, &t), 0);
    return t;
}

static intptr_t join(cio_task *t) {
    intptr_t r = -12345;
    CHECK_EQ(cio_task_join(t, &r), 0);
    return r;
}

/* ---- mutex: a counter incremented under the lock, across nops ---- */

#define MW 6
#define MK 8
static cio_mutex g_mu;
static int g_counter, g_holder;

static intptr_t mutex_worker(void *arg) {
    ENTER();
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < MK; i++) {
        CHECK_EQ(nop(), 0);
        CHECK_EQ(cio_mutex_lock(&g_mu), 0);
        CHECK_EQ(g_holder, -1);
        g_holder = id;
        tx(0x100u + (unsigned)id);
        g_tx_mutex = (g_tx_mutex ^ (uint64_t)id) * 0x100000001b3ull;
        int v = g_counter;
        CHECK_EQ(nop(), 0); /* others run meanwhile: they must not get in */
        CHECK_EQ(g_holder, id);
        g_counter = v + 1;
        g_holder = -1;
        CHECK_EQ(cio_mutex_unlock(&g_mu), 0);
    }
    RETURN(id * 1000 + MK);
}

static void phase_mutex(void) {
    cio_mutex_init(&g_mu);
    g_counter = 0;
    g_holder = -1;
    cio_task *t[MW];
    for (int i = 0; i < MW; i++) t[i] = spawn(mutex_worker, i);
    for (int i = 0; i < MW; i++) CHECK_EQ(join(t[i]), i * 1000 + MK);
    CHECK_EQ(g_counter, MW * MK);
    CHECK_EQ(cio_mutex_try_lock(&g_mu), 0); /* free again */
    CHECK_EQ(cio_mutex_unlock(&g_mu), 0);
}

/* ---- bounded channel: producers and consumers, sum in closed form ---- */

#define NP 3
#define NC 2
#define NV 20
static cio_chan g_ch;
static uint32_t g_chbuf[4];
static int g_nrecv;

static intptr_t producer(void *arg) {
    ENTER();
    int p = (int)(intptr_t)arg;
    for (int i = 1; i <= NV; i++) {
        uint32_t v = (uint32_t)(p * 1000 + i);
        if ((i + p) % 3 == 0) CHECK_EQ(nop(), 0);
        CHECK_EQ(cio_chan_send(&g_ch, &v), 0);
    }
    RETURN(NV);
}

static intptr_t consumer(void *arg) {
    ENTER();
    int c = (int)(intptr_t)arg;
    intptr_t sum = 0;
    int last[NP] = {0};
    for (int n = 0; n <= NP * NV; n++) {
        uint32_t v;
        int r = cio_chan_recv(&g_ch, &v);
        if (r == -CIO_EPIPE) RETURN(sum);
        CHECK_EQ(r, 0);
        int p = (int)(v / 1000), i = (int)(v % 1000);
        CHECK(p < NP && i >= 1 && i <= NV);
        CHECK(i > last[p]); /* one producer's values arrive in the order sent */
        last[p] = i;
        sum += v;
        g_nrecv++;
        tx(((uint64_t)c << 32) | v);
        if (v % 4 == (uint32_t)c) CHECK_EQ(nop(), 0);
    }
    CHECK(!"a consumer received more than was sent");
    RETURN(-1);
}

static void phase_chan(void) {
    CHECK_EQ(cio_chan_init(&g_ch, g_chbuf, sizeof g_chbuf[0], 4), 0);
    g_nrecv = 0;
    cio_task *p[NP], *c[NC];
    for (int i = 0; i < NC; i++) c[i] = spawn(consumer, i);
    for (int i = 0; i < NP; i++) p[i] = spawn(producer, i);
    for (int i = 0; i < NP; i++) CHECK_EQ(join(p[i]), NV);
    cio_chan_close(&g_ch);
    intptr_t sum = 0;
    for (int i = 0; i < NC; i++) sum += join(c[i]);
    /* sum over p < NP, 1 <= i <= NV of p*1000 + i */
    CHECK_EQ(sum, 1000 * NV * (NP * (NP - 1) / 2) + NP * NV * (NV + 1) / 2);
    CHECK_EQ(g_nrecv, NP * NV);
    CHECK_EQ(cio_chan_len(&g_ch), 0);
}

/* ---- semaphore: never more than its permits inside ---- */

#define SEM_PERMITS 2
#define SEM_TASKS 5
static cio_sem g_sem;
static int g_inside, g_max_inside;

static intptr_t sem_worker(void *arg) {
    ENTER();
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(cio_sem_acquire(&g_sem), 0);
        g_inside++;
        if (g_inside > g_max_inside) g_max_inside = g_inside;
        CHECK(g_inside <= SEM_PERMITS);
        tx(0x5e00u + (uint64_t)(intptr_t)arg);
        CHECK_EQ(nop(), 0);
        g_inside--;
        CHECK_EQ(cio_sem_release(&g_sem), 0);
    }
    RETURN(0);
}

static void phase_sem(void) {
    cio_sem_init(&g_sem, SEM_PERMITS);
    g_inside = g_max_inside = 0;
    cio_task *t[SEM_TASKS];
    for (int i = 0; i < SEM_TASKS; i++) t[i] = spawn(sem_worker, i);
    for (int i = 0; i < SEM_TASKS; i++) CHECK_EQ(join(t[i]), 0);
    CHECK_EQ(g_max_inside, SEM_PERMITS); /* all start at once: the permits fill */
    CHECK_EQ(cio_sem_value(&g_sem), SEM_PERMITS);
}

/* ---- event, sleeps and virtual time ---- */

static cio_event g_ev;
static uint64_t g_t0;

static intptr_t ev_waiter(void *arg) {
    ENTER();
    (void)arg;
    CHECK_EQ(cio_event_wait(&g_ev), 0);
    RETURN(now() - g_t0);
}

static intptr_t ev_waiter_until(void *arg) {
    ENTER();
    (void)arg;
    CHECK_EQ(cio_event_wait_until(&g_ev, g_t0 + 2 * MS), -CIO_ETIMEDOUT);
    RETURN(now() - g_t0);
}

static intptr_t sleeper(void *arg) {
    ENTER();
    uint64_t t = now();
    CHECK_EQ(cio_sleep((uint64_t)arg), 0);
    RETURN(now() - t);
}

static void phase_time(void) {
    /* Sleeps add up exactly in virtual time. */
    static const uint64_t d[] = {1, 999, 1000, 1 * MS, 7 * MS + 3, 3600 * SEC};
    uint64_t t = now(), total = 0;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        CHECK_EQ(cio_sleep(d[i]), 0);
        total += d[i];
        CHECK_EQ(now() - t, total);
    }
    CHECK_EQ(cio_sleep_until(t + total + 12345), 0);
    CHECK_EQ(now(), t + total + 12345);
    CHECK_EQ(cio_sleep_until(t), 0); /* the past: at once */
    CHECK_EQ(now(), t + total + 12345);

    /* Concurrent sleeps overlap: the longest is what passes. */
    t = now();
    cio_task *s[3];
    for (int i = 0; i < 3; i++) s[i] = spawn(sleeper, (intptr_t)((uint64_t)(3 - i) * 10 * MS));
    for (int i = 0; i < 3; i++) CHECK_EQ(join(s[i]), (intptr_t)((uint64_t)(3 - i) * 10 * MS));
    CHECK_EQ(now() - t, 30 * MS);

    /* An event set after 5 ms wakes its waiters at that instant; a waiter
     * with its own deadline at 2 ms leaves then. */
    cio_event_init(&g_ev, false);
    g_t0 = now();
    cio_task *w[4], *wu = spawn(ev_waiter_until, 0);
    for (int i = 0; i < 4; i++) w[i] = spawn(ev_waiter, i);
    CHECK_EQ(cio_sleep(5 * MS), 0);
    CHECK(!cio_event_is_set(&g_ev));
    cio_event_set(&g_ev);
    for (int i = 0; i < 4; i++) CHECK_EQ(join(w[i]), 5 * MS);
    CHECK_EQ(join(wu), 2 * MS);
    CHECK_EQ(cio_event_wait(&g_ev), 0); /* stays set */
}

/* ---- deadline scopes ---- */

static int g_nop_in_time, g_nop_late;

static void phase_deadlines(void) {
    uint64_t t = now();
    uint64_t prev = cio_deadline_push(t + 1 * MS);
    CHECK_EQ(cio_sleep(10 * MS), -CIO_ETIMEDOUT);
    CHECK_EQ(now() - t, 1 * MS);
    cio_deadline_pop(prev);

    /* Nested: a later, looser deadline does not loosen the earlier one. */
    t = now();
    uint64_t p1 = cio_deadline_push(t + 5 * MS);
    uint64_t p2 = cio_deadline_push(t + 50 * MS);
    CHECK_EQ(cio_sleep(20 * MS), -CIO_ETIMEDOUT);
    CHECK_EQ(now() - t, 5 * MS);
    cio_deadline_pop(p2);
    cio_deadline_pop(p1);
    CHECK_EQ(cio_sleep(1 * MS), 0); /* popped: no deadline left */

    /* A deadline on a sync primitive: a semaphore with no permit times out
     * at it, unchanged; with a permit it is taken even past the deadline. */
    cio_sem sem;
    cio_sem_init(&sem, 0);
    t = now();
    p1 = cio_deadline_push(t + 3 * MS);
    CHECK_EQ(cio_sem_acquire(&sem), -CIO_ETIMEDOUT);
    CHECK_EQ(now() - t, 3 * MS);
    CHECK_EQ(cio_sem_value(&sem), 0);
    CHECK_EQ(cio_sem_release(&sem), 0);
    CHECK_EQ(cio_sem_acquire(&sem), 0);
    cio_deadline_pop(p1);

    /* A nop against a deadline inside its latency: the seed decides which
     * comes first; either way the result and the clock must agree. */
    t = now();
    p1 = cio_deadline_push(t + 500);
    int32_t r = nop();
    cio_deadline_pop(p1);
    if (r == 0) {
        CHECK(now() <= t + 500);
        CHECK(now() > t);
        g_nop_in_time++;
    } else {
        CHECK_EQ(r, -CIO_ETIMEDOUT);
        CHECK_EQ(now(), t + 500);
        g_nop_late++;
    }
    tx(0xde00u + (r == 0));
}

/* ---- groups ---- */

static intptr_t g_child_res[8];
static uint64_t g_child_t[8];

/* Child i sleeps (i+1) ms; the one at `arg`'s high half fails with -CIO_EIO. */
static intptr_t group_child(void *arg) {
    ENTER();
    int i = (int)((intptr_t)arg & 0xff), fail = (int)((intptr_t)arg >> 8);
    int r = cio_sleep((uint64_t)(i + 1) * MS);
    intptr_t out = r < 0 ? r : (i == fail ? -CIO_EIO : i);
    g_child_res[i] = out;
    RETURN(out);
}

static intptr_t group_child2(void *arg) {
    ENTER();
    int i = (int)(intptr_t)arg;
    CHECK_EQ(nop(), 0);
    g_child_t[i] = now();
    /* child 1 fails late (2 ms), child 3 early (1 ms): the early one is the first error */
    int r = cio_sleep(i == 1 ? 2 * MS : i == 3 ? 1 * MS : 0);
    CHECK_EQ(r, 0);
    intptr_t out = i == 1 ? -CIO_EAGAIN : i == 3 ? -CIO_EIO : 0;
    g_child_res[i] = out;
    RETURN(out);
}

static intptr_t group_sleeper(void *arg) {
    ENTER();
    int i = (int)(intptr_t)arg;
    int r = cio_sleep(3600 * SEC);
    g_child_res[i] = r;
    RETURN(r);
}

static void phase_groups(void) {
    cio_loop *loop = cio_task_loop();
    cio_group g;

    /* Cancel on error: child 2 fails at 3 ms; 3 and 4 are still asleep. */
    CHECK_EQ(cio_group_init(&g, loop, CIO_GROUP_CANCEL_ON_ERROR), 0);
    uint64_t t = now();
    for (int i = 0; i < 5; i++) CHECK_EQ(cio_group_spawn(&g, group_child, (void *)(intptr_t)(i | (2 << 8)), NULL), 0);
    CHECK_EQ(cio_group_size(&g), 5);
    CHECK_EQ(cio_group_wait(&g), -CIO_EIO);
    CHECK_EQ(now() - t, 3 * MS);
    CHECK_EQ(g_child_res[0], 0);
    CHECK_EQ(g_child_res[1], 1);
    CHECK_EQ(g_child_res[2], -CIO_EIO);
    CHECK_EQ(g_child_res[3], -CIO_ECANCELED);
    CHECK_EQ(g_child_res[4], -CIO_ECANCELED);
    CHECK_EQ(cio_group_size(&g), 0);

    /* No cancel: every child runs to its end; the first error in time counts. */
    CHECK_EQ(cio_group_init(&g, loop, 0), 0);
    t = now();
    for (int i = 0; i < 5; i++) CHECK_EQ(cio_group_spawn(&g, group_child2, (void *)(intptr_t)i, NULL), 0);
    CHECK_EQ(cio_group_wait(&g), -CIO_EIO);
    CHECK(g_child_t[1] > t);
    CHECK_EQ(now(), g_child_t[1] + 2 * MS); /* the last to end: its nop, then 2 ms */
    CHECK_EQ(g_child_res[1], -CIO_EAGAIN);
    CHECK_EQ(g_child_res[3], -CIO_EIO);
    CHECK_EQ(g_child_res[0] + g_child_res[2] + g_child_res[4], 0);

    /* The waiter's deadline passes: the wait cancels the children (spawned
     * outside the scope, so they see the cancel, not the deadline). */
    CHECK_EQ(cio_group_init(&g, loop, 0), 0);
    for (int i = 0; i < 4; i++) CHECK_EQ(cio_group_spawn(&g, group_sleeper, (void *)(intptr_t)i, NULL), 0);
    t = now();
    uint64_t prev = cio_deadline_push(t + 1 * MS);
    CHECK_EQ(cio_group_wait(&g), -CIO_ETIMEDOUT);
    cio_deadline_pop(prev);
    CHECK_EQ(now() - t, 1 * MS);
    for (int i = 0; i < 4; i++) CHECK_EQ(g_child_res[i], -CIO_ECANCELED);
    CHECK_EQ(cio_group_size(&g), 0);
}

/* ---- await_all, await_first ---- */

static void phase_await(void) {
    cio_op o[5];
    cio_op *p[5];
    for (int i = 0; i < 5; i++) p[i] = &o[i];

    for (int i = 0; i < 4; i++) cio_prep_nop(&o[i]);
    cio_prep_timeout(&o[4], 2 * MS, 0);
    uint64_t t = now();
    CHECK_EQ(cio_await_all(p, 5), 0);
    for (int i = 0; i < 5; i++) CHECK_EQ(o[i].res, 0);
    CHECK_EQ(now() - t, 2 * MS);

    /* A nop against a timer of a second: the nop, and the timer cancelled. */
    cio_prep_nop(&o[0]);
    cio_prep_timeout(&o[1], 1 * SEC, 0);
    t = now();
    CHECK_EQ(cio_await_first(p, 2), 0);
    CHECK_EQ(o[0].res, 0);
    CHECK_EQ(o[1].res, -CIO_ECANCELED);
    CHECK(now() > t && now() - t < 1 * MS);

    /* Two timers: the earlier wins at its exact time. */
    cio_prep_timeout(&o[0], 2 * MS, 0);
    cio_prep_timeout(&o[1], 1 * MS, 0);
    t = now();
    CHECK_EQ(cio_await_first(p, 2), 1);
    CHECK_EQ(o[1].res, 0);
    CHECK_EQ(o[0].res, -CIO_ECANCELED);
    CHECK_EQ(now() - t, 1 * MS);

    /* Four nops: the seed picks the winner; the others end cancelled, or
     * with 0 when they completed in the same instant. */
    for (int i = 0; i < 4; i++) cio_prep_nop(&o[i]);
    int first = cio_await_first(p, 4);
    CHECK(first >= 0 && first < 4);
    CHECK_EQ(o[first].res, 0);
    for (int i = 0; i < 4; i++) CHECK(o[i].res == 0 || o[i].res == -CIO_ECANCELED);
    tx(0xf000u + (unsigned)first);
}

/* ---- cancels racing completions ---- */

static cio_task *g_victim;
static int g_race_a, g_race_b;
static int g_outcome[8], g_nop_outcome[4];

/* Victim of a same-instant race: sleeps 1 ms, then blocks again. */
static intptr_t race_sleep_victim(void *arg) {
    ENTER();
    (void)arg;
    g_race_a = cio_sleep(1 * MS);
    g_race_b = cio_sleep(1 * MS);
    RETURN(0);
}

static intptr_t race_sleep_canceller(void *arg) {
    ENTER();
    CHECK_EQ(cio_sleep_until((uint64_t)arg), 0);
    RETURN(cio_task_cancel(g_victim));
}

static intptr_t race_nop_victim(void *arg) {
    ENTER();
    (void)arg;
    g_race_a = nop();
    g_race_b = nop();
    RETURN(0);
}

static intptr_t race_nop_canceller(void *arg) {
    ENTER();
    (void)arg;
    CHECK_EQ(nop(), 0);
    RETURN(cio_task_cancel(g_victim));
}

/* What a cancel racing two blocking calls may give: the cancel finds the
 * task returned (both calls succeeded), or cancels one call, and then every
 * later call fails too (cancellation sticks). */
static int race_outcome(intptr_t cancel_res) {
    if (cancel_res == -CIO_EINVAL) {
        CHECK_EQ(g_race_a, 0);
        CHECK_EQ(g_race_b, 0);
        return 0;
    }
    CHECK_EQ(cancel_res, 0);
    if (g_race_a == -CIO_ECANCELED) {
        CHECK_EQ(g_race_b, -CIO_ECANCELED);
        return 1;
    }
    CHECK_EQ(g_race_a, 0);
    if (g_race_b == -CIO_ECANCELED) return 2;
    CHECK_EQ(g_race_b, 0); /* cancelled after its last call, before it returned */
    return 3;
}

static int g_cancel_timer_res, g_timer_outcome[8];

static void on_cancel_timer(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    g_cancel_timer_res = cio_task_cancel(g_victim);
}

static cio_event g_hand_ev;

static intptr_t handoff_victim(void *arg) {
    ENTER();
    int kind = (int)(intptr_t)arg;
    int r = kind == 0 ? cio_event_wait(&g_hand_ev) : cio_mutex_lock(&g_mu);
    /* Woken and cancelled in one turn: it owns what it was given. */
    CHECK_EQ(r, 0);
    CHECK(cio_task_cancelled());
    CHECK_EQ(cio_sleep(1), -CIO_ECANCELED);
    if (kind == 1) CHECK_EQ(cio_mutex_unlock(&g_mu), 0);
    RETURN(1);
}

static void phase_races(void) {
    /* The canceller wakes at the instant the victim's sleep is due. Both
     * orders of submission, since timers due together fire in one of them. */
    for (int order = 0; order < 2; order++) {
        g_race_a = g_race_b = 1;
        uint64_t at = now() + 1 * MS;
        cio_task *c = NULL;
        if (order) c = spawn(race_sleep_canceller, (intptr_t)at);
        g_victim = spawn(race_sleep_victim, 0);
        if (!order) c = spawn(race_sleep_canceller, (intptr_t)at);
        intptr_t cr = join(c);
        CHECK_EQ(join(g_victim), 0);
        int k = race_outcome(cr);
        CHECK(k != 0); /* the victim blocks again after the race */
        CHECK_EQ(now(), at);      /* a cancelled sleep ends at once */
        g_outcome[order * 4 + k]++;
        tx(0xca00u + (unsigned)(order * 4 + k));
    }

    /* The cancel from a plain timer's callback due at that same instant:
     * it may run while the victim's sleep is still pending in the heap. */
    for (int order = 0; order < 2; order++) {
        g_race_a = g_race_b = 1;
        uint64_t at = now() + 1 * MS;
        t_op tm;
        cio_prep_timeout(&tm.op, at, CIO_TIMEOUT_ABS);
        t_arm(&tm);
        tm.op.cb = on_cancel_timer;
        g_cancel_timer_res = 1;
        if (order) CHECK_EQ(cio_submit(cio_task_loop(), &tm.op), 0);
        g_victim = spawn(race_sleep_victim, 0);
        CHECK_EQ(cio_task_yield(), 0); /* the victim's sleep is in the heap */
        if (!order) CHECK_EQ(cio_submit(cio_task_loop(), &tm.op), 0);
        CHECK_EQ(join(g_victim), 0);
        CHECK_EQ(tm.finals, 1);
        CHECK_EQ(tm.res, 0);
        int k = race_outcome(g_cancel_timer_res);
        CHECK(k == 1 || k == 2);
        CHECK_EQ(now(), at);
        g_timer_outcome[order * 4 + k]++;
        tx(0xcc00u + (unsigned)(order * 4 + k));
    }

    /* Against nops: the seed's latencies decide who is first. */
    g_race_a = g_race_b = 1;
    g_victim = spawn(race_nop_victim, 0);
    cio_task *c = spawn(race_nop_canceller, 0);
    intptr_t cr = join(c);
    CHECK_EQ(join(g_victim), 0);
    int k = race_outcome(cr);
    g_nop_outcome[k]++;
    tx(0xcb00u + (unsigned)k);

    /* Handed the event or the mutex, and cancelled, in the same turn. */
    cio_event_init(&g_hand_ev, false);
    cio_task *v = spawn(handoff_victim, 0);
    CHECK_EQ(cio_task_yield(), 0); /* let it block */
    cio_event_set(&g_hand_ev);
    CHECK_EQ(cio_task_cancel(v), 0);
    CHECK_EQ(join(v), 1);

    cio_mutex_init(&g_mu);
    CHECK_EQ(cio_mutex_lock(&g_mu), 0);
    v = spawn(handoff_victim, 1);
    CHECK_EQ(cio_task_yield(), 0);
    CHECK_EQ(cio_mutex_unlock(&g_mu), 0);
    CHECK_EQ(cio_task_cancel(v), 0);
    CHECK_EQ(join(v), 1);
    CHECK_EQ(cio_mutex_try_lock(&g_mu), 0); /* the victim gave it back */
    CHECK_EQ(cio_mutex_unlock(&g_mu), 0);
}

/* ---- L1 nops in batches with links, completions counted ---- */

#define NB 10
static t_op g_b[NB];
static int g_b_done;
static cio_event g_b_ev;

static void on_batch(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    if (++g_b_done == NB) cio_event_set(&g_b_ev);
}

static void phase_batch(void) {
    cio_loop *loop = cio_task_loop();
    cio_op *b[NB];
    for (int i = 0; i < NB; i++) {
        cio_prep_nop(&g_b[i].op);
        t_arm(&g_b[i]);
        g_b[i].op.cb = on_batch;
        b[i] = &g_b[i].op;
    }
    /* 0..3: a soft-linked chain; 4..5: a chain whose head misses its deadline;
     * 6..7 hard-linked; 8..9 alone. */
    for (int i = 0; i < 3; i++) g_b[i].op.flags = CIO_F_LINK;
    g_b[4].op.flags = CIO_F_LINK;
    g_b[4].op.deadline = now();
    g_b[6].op.flags = CIO_F_HARDLINK;
    g_b_done = 0;
    cio_event_init(&g_b_ev, false);
    CHECK_EQ(cio_submit_batch(loop, b, NB), 0);
    CHECK_EQ(cio_event_wait(&g_b_ev), 0);
    for (int i = 0; i < NB; i++) CHECK_EQ(g_b[i].finals, 1);
    for (int i = 0; i < 4; i++) CHECK_EQ(g_b[i].res, 0);
    for (int i = 1; i < 4; i++) CHECK(g_b[i].order > g_b[i - 1].order);
    CHECK_EQ(g_b[4].res, -CIO_ETIMEDOUT);
    CHECK_EQ(g_b[5].res, -CIO_ECANCELED);
    for (int i = 6; i < NB; i++) CHECK_EQ(g_b[i].res, 0);
    CHECK(g_b[7].order > g_b[6].order);
    uint64_t lo = g_b[0].order; /* t_op's order counts across runs: its rank in the batch */
    for (int i = 1; i < NB; i++) lo = g_b[i].order < lo ? g_b[i].order : lo;
    for (int i = 0; i < NB; i++) tx(0xb000u + (unsigned)i * 0x100 + (unsigned)(g_b[i].order - lo));
}

/* ---- left running: cio_main must end them ---- */

static int g_left_res[2];
static cio_event g_never;

static intptr_t left_sleeper(void *arg) {
    ENTER();
    (void)arg;
    g_left_res[0] = cio_sleep(3600 * SEC);
    RETURN(0);
}

static intptr_t left_waiter(void *arg) {
    ENTER();
    (void)arg;
    g_left_res[1] = cio_event_wait(&g_never);
    RETURN(0);
}

/* ---- the run ---- */

#define MAIN_OK 0x5eed

static intptr_t main_task(void *arg) {
    ENTER();
    (void)arg;
    cio_loop *loop = cio_task_loop();
    CHECK_EQ(cio_loop_backend(loop), CIO_BACKEND_MOCK);
    CHECK_EQ(cio_mock_seed(loop), g_seed);
    phase_mutex();
    phase_chan();
    phase_sem();
    phase_time();
    phase_deadlines();
    phase_groups();
    phase_await();
    phase_races();
    phase_batch();
    CHECK_EQ(g_alive, 1); /* only this task */

    /* Nothing in flight: every op submitted has had its final completion. */
    cio_stats st;
    cio_loop_stats(loop, &st);
    CHECK_EQ(cio_loop_active(loop), 0);
    CHECK_EQ(st.ops_submitted, st.ops_completed);
    g_ops = st.ops_submitted;

    /* Two tasks left behind, one detached: cio_main ends them. */
    cio_event_init(&g_never, false);
    cio_task *d = spawn(left_sleeper, 0);
    CHECK_EQ(cio_task_detach(d), 0);
    spawn(left_waiter, 0);
    CHECK_EQ(cio_task_yield(), 0);
    g_left_res[0] = g_left_res[1] = 1;
    CHECK_EQ(g_alive, 3);
    g_trace = cio_mock_trace(loop);
    RETURN(MAIN_OK);
}

typedef struct run_result {
    uint64_t trace, tx, tx_mutex, ops;
} run_result;

static run_result run_seed(uint64_t seed) {
    g_seed = seed;
    g_running = 1;
    alarm(SEED_WATCHDOG_S);
    g_tx = g_tx_mutex = 0xcbf29ce484222325ull;
    g_alive = g_started = 0;
    g_ops = g_trace = 0;
    cio_loop_options o;
    memset(&o, 0, sizeof o);
    o.backend = CIO_BACKEND_MOCK;
    o.seed = seed;
    intptr_t result = -1;
    CHECK_EQ(cio_main(main_task, NULL, &o, &result), 0);
    CHECK_EQ(result, MAIN_OK);
    CHECK_EQ(g_alive, 0); /* nothing left after cio_main */
    CHECK_EQ(g_left_res[0], -CIO_ECANCELED);
    CHECK_EQ(g_left_res[1], -CIO_ECANCELED);
    CHECK(g_trace != 0);
    g_running = 0;
    alarm(0);
    return (run_result){g_trace, g_tx, g_tx_mutex, g_ops};
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The number of distinct values among v[0..n) (v is left as it was). */
static size_t distinct(const uint64_t *in, size_t n) {
    uint64_t *v = malloc(n * sizeof *v);
    CHECK(v);
    memcpy(v, in, n * sizeof *v);
    qsort(v, n, sizeof v[0], cmp_u64);
    size_t d = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) d += v[i] != v[i - 1];
    free(v);
    return d;
}

static uint64_t number(const char *arg, const char *env, uint64_t dflt) {
    const char *s = arg ? arg : getenv(env);
    if (!s || !*s) return dflt;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end != '\0') {
        fprintf(stderr, "test_mock_tasks: bad number '%s' (%s)\n", s, env);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    signal(SIGALRM, seed_hung); /* instead of t_watchdog: armed per seed */
    unsetenv("CIO_BACKEND"); /* the options name the backend */
    unsetenv("CIO_MOCK_SEED");
    if (argv[0]) g_prog = argv[0];
    atexit(replay_hint);
    uint64_t count = number(argc > 1 ? argv[1] : NULL, "CIO_MOCK_SEEDS", 1000);
    uint64_t first = number(argc > 2 ? argv[2] : NULL, "CIO_MOCK_SEED_FIRST", 1);
    if (first == 0 || count == 0 || count > 10000000 || first + count < first) {
        fprintf(stderr, "test_mock_tasks: seeds must be 1 or more (0 means \"the default\" to the mock)\n");
        return 2;
    }

    uint64_t *traces = malloc(count * sizeof *traces), *txs = malloc(count * sizeof *txs);
    uint64_t *mutex_orders = malloc(count * sizeof *mutex_orders);
    CHECK(traces && txs && mutex_orders);
    uint64_t ops = 0;
    double t0 = t_seconds();
    for (uint64_t i = 0; i < count; i++) {
        run_result r = run_seed(first + i);
        traces[i] = r.trace;
        txs[i] = r.tx;
        mutex_orders[i] = r.tx_mutex;
        ops += r.ops;
    }
    double wall = t_seconds() - t0;

    size_t dt = distinct(traces, count), dx = distinct(txs, count);
    printf("seeds %" PRIu64 "..%" PRIu64 ": ok\n", first, first + count - 1);
    printf("distinct among %" PRIu64 " seeds: %zu mock traces, %zu workload transcripts, %zu orders of taking "
           "the mutex\n",
           count, dt, dx, distinct(mutex_orders, count));
    printf("nop deadline race: nop first %d, deadline first %d\n", g_nop_in_time, g_nop_late);
    printf("cancel vs sleep due at the same instant: victim spawned first: cancelled the sleep %d, "
           "the next call %d; canceller spawned first: %d, %d\n",
           g_outcome[1], g_outcome[2], g_outcome[5], g_outcome[6]);
    printf("cancel from a timer callback due at the same instant: timer submitted after the sleep: cancelled "
           "the sleep %d, the next call %d; before: %d, %d\n",
           g_timer_outcome[1], g_timer_outcome[2], g_timer_outcome[5], g_timer_outcome[6]);
    printf("cancel vs nops: after victim returned %d, cancelled 1st nop %d, 2nd nop %d, after last nop %d\n",
           g_nop_outcome[0], g_nop_outcome[1], g_nop_outcome[2], g_nop_outcome[3]);
    printf("%.3f s wall: %.0f seeds/s (%.0f per minute), %" PRIu64 " ops submitted, %.0f simulated ops/s\n", wall,
           (double)count / wall, 60.0 * (double)count / wall, ops, (double)ops / wall);
    /* Determinism: the same seed again gives the same run, bit for bit. */
    uint64_t again = count < 8 ? count : 8;
    for (uint64_t i = 0; i < again; i++) {
        uint64_t idx = i * (count / again);
        run_result r = run_seed(first + idx);
        g_running = 1;
        if (r.trace != traces[idx] || r.tx != txs[idx]) {
            fprintf(stderr, "seed %" PRIu64 " ran twice differently: trace %016" PRIx64 " then %016" PRIx64
                            ", transcript %016" PRIx64 " then %016" PRIx64 "\n",
                    first + idx, traces[idx], r.trace, txs[idx], r.tx);
            exit(1);
        }
        g_running = 0;
    }
    printf("%" PRIu64 " seeds rerun: identical trace and transcript\n", again);

    /* Only a fixed workload varies by the mock's nop latencies alone: more
     * than one transcript proves the seed reaches the tasks' interleaving. */
    if (count >= 100) CHECK(dx > 1 && dt > 1);
    free(traces);
    free(txs);
    free(mutex_orders);
    return 0;
}
