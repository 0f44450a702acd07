/*
 * test_mock_tasks - cio's task layer under many seeds of the mock backend,
 * without faults and with them (issue 9, point 5).
 *
 * One run per seed of a fixed workload on CIO_BACKEND_MOCK: tasks (spawn,
 * join, cancel, detach, cio_main), sleeps in virtual time, deadline
 * scopes, event, semaphore, mutex, bounded channel, groups (with and
 * without CIO_GROUP_CANCEL_ON_ERROR), cio_await_all and cio_await_first
 * over nops and timeouts, cancels racing completions (in the same virtual
 * instant, and against nops whose latency the seed draws), cancels with a
 * carrier (CIO_OP_CANCEL, in a task and in an L1 chain), a writer and a
 * reader task on a simulated socket pair (short transfers, MSG_DONTWAIT
 * after a poll), a close racing a write on a simulated pipe, the received
 * bytes through a file of the simulated file system, and plain L1 nops
 * submitted in batches with links. The workload itself never looks at the
 * seed: every difference between two seeds comes from the mock, so the
 * count of distinct transcripts printed at the end measures the mock's
 * variation, not the test's.
 *
 * Two passes over the same seeds (default 1..1000 each):
 * - without faults: the results must be those the workload computes on
 *   paper (closed-form sums, counts, the group's first error, exact virtual
 *   times): WANT() below, which is CHECK() when no fault has struck;
 * - with every fault kind at a seeded rate (FAULT_PPM) and CIO_MOCK_POISON:
 *   about 60% of the runs meet a fault (the summary says how many, per kind).
 *   A WANT() that fails after a fault struck in that run is counted and
 *   listed, not fatal; one that fails before the run's first fault is a
 *   failure (a fault cannot change the past, and the results do not depend
 *   on the seed), so a fault-free run is judged in full, and so is the
 *   prefix of a faulted run up to its first fault.
 * In every run, faults or not (CHECK()): each op the test submits itself
 * completes exactly once, each result is one that op.h allows (a nop 0, a
 * cancelled op -CIO_ECANCELED, its own result when the cancel said
 * -CIO_ENOENT, or -CIO_EINTR when it said -CIO_EALREADY, a link broken
 * exactly when its head failed, a write ended by a close cancelled or
 * done, a stream ended by end of file or -CIO_ECONNRESET, -CIO_EAGAIN
 * after a poll said readable only when the mock injected it), mutual
 * exclusion and the semaphore's bound hold, one producer's values arrive
 * in order, the bytes a stream, pipe or file delivers are a prefix of
 * what was sent (all of it after a clean end of file), the loop's submitted
 * and completed counts agree, no task is alive after cio_main() (a counter
 * up at each task's start, down at its end), and the mock reports no
 * violation (cio_mock_violations(NULL) stays 0: leftovers at close,
 * deadlocks, double completions, poisoned ops taken back). Some seeds run
 * again in each pass: same trace (cio_mock_trace), transcript and faults,
 * or the run is not deterministic.
 *
 * A failure or a hang (SEED_WATCHDOG_S) prints the seed and the one-line
 * command that replays that run alone (the environment part is
 * cio_mock_replay()'s): with CIO_MOCK_SEED set, the test runs that one
 * seed, twice, with the faults and poisoning CIO_MOCK_FAULTS and
 * CIO_MOCK_POISON give, and prints its trace. Otherwise seeds: argv[1]
 * (count) and argv[2] (first), else CIO_MOCK_SEEDS and CIO_MOCK_SEED_FIRST.
 * It names its backend itself: ctest runs it once (CIO_TEST_ONCE). CIO_TEST_PORTABLE.
 */
#include "test.h"

#define MS (1000ull * 1000)
#define SEC (1000ull * MS)

/*
 * The fault pass's rates, in parts per million of each fault's chances
 * (cio/mock.h), set from how many chances a run of this workload gives
 * each, so that each strikes in roughly a tenth of the runs and about 40%
 * of the runs meet no fault at all, and are judged in full: ring_full at
 * every op that reaches the mock (about 210 a run), reset at each try of a
 * send or recv on a socket pair (about 45), cancel_race at each cancel of
 * an op the mock holds (about 9), intr at each cancel with a carrier (4),
 * again at each MSG_DONTWAIT recv (about 4), nomem and mfile at each
 * openat (2), close_race at the close that meets a write (1).
 */
static const uint32_t FAULT_PPM[CIO_MOCK_FAULT_COUNT_] = {
    [CIO_MOCK_FAULT_RESET] = 3000,     [CIO_MOCK_FAULT_AGAIN] = 40000,       [CIO_MOCK_FAULT_NOMEM] = 40000,
    [CIO_MOCK_FAULT_MFILE] = 40000,    [CIO_MOCK_FAULT_RING_FULL] = 600,     [CIO_MOCK_FAULT_CANCEL_RACE] = 20000,
    [CIO_MOCK_FAULT_INTR] = 30000,     [CIO_MOCK_FAULT_CLOSE_RACE] = 80000,
};
static const char *const FAULT_NAMES[CIO_MOCK_FAULT_COUNT_] = CIO_MOCK_FAULT_NAMES;

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
static cio_loop *g_loop; /* the run's loop, from main_task's start to its close */
/* Faults the run met, per kind and ([CIO_MOCK_FAULT_COUNT_]) in all, read
 * when its loop closes (after cio_main() has ended every task). */
static uint64_t g_faults[CIO_MOCK_FAULT_COUNT_ + 1];
static int g_faults_read; /* g_faults holds the count at the close */
/* The command that replays the running seed: ours until the run's loop
 * gives cio_mock_replay()'s. Written before any failure can need it, so
 * that the alarm's handler only writes it out. */
static char g_replay[2048];

static void replay_hint(void) {
    if (g_running)
        fprintf(stderr, "test_mock_tasks: FAILED at seed %" PRIu64 "; replay: %s\n", g_seed, g_replay);
}

/* A hang (a wait that never returns) names its seed too: each seed gets
 * SEED_WATCHDOG_S seconds of real time, where it needs well under 1 ms. */
#define SEED_WATCHDOG_S 10

static void put_str(const char *str) { t_write_stderr(str); }

static void put_u64(uint64_t v) {
    char buf[24], *p = buf + sizeof buf;
    *--p = '\0';
    do *--p = (char)('0' + v % 10); while ((v /= 10) != 0);
    put_str(p);
}

static void seed_hung(void) {
    put_str("test_mock_tasks: seed ");
    put_u64(g_seed);
    put_str(" hung (a wait that never returned); replay: ");
    put_str(g_replay);
    put_str("\n");
    _exit(1);
}

#define ANY_FAULT ((1u << CIO_MOCK_FAULT_COUNT_) - 1)
#define FAULT(kind) (1u << CIO_MOCK_FAULT_##kind)

/* Faults of each kind injected in the running seed when its current phase
 * began (phase_mark). */
static uint64_t g_mark[CIO_MOCK_FAULT_COUNT_];

static uint64_t faults_of(int f) {
    return g_loop ? cio_mock_faults(g_loop, (cio_mock_fault)f) : g_faults_read ? g_faults[f] : 0;
}

/* Faults of the kinds in `mask` (bits 1 << cio_mock_fault) injected so
 * far in the running seed (at its close once it has closed): all of them
 * for ANY_FAULT, else those since the phase began (a fault of such a kind
 * touches only the op, handle or stream it strikes, all of the phase's
 * own). */
static uint64_t faults_so_far(unsigned mask) {
    uint64_t n = 0;
    for (int f = 0; f < CIO_MOCK_FAULT_COUNT_; f++)
        if (mask & (1u << f)) n += faults_of(f) - (mask == ANY_FAULT ? 0 : g_mark[f]);
    return n;
}

static void phase_mark(void) {
    for (int f = 0; f < CIO_MOCK_FAULT_COUNT_; f++) g_mark[f] = faults_of(f);
}

/*
 * WANT(cond), WANT_EQ(a, b): a result of the workload that a fault may
 * legitimately change (a sum, a count, which error came first, an exact
 * virtual time, a fixed outcome of a race). Judged where it is reached,
 * knowing the faults so far: with none yet, it is a CHECK (the seed does
 * not matter to it, and a fault cannot change what happened before it);
 * after one, a miss is recorded by site (g_diff) and reported with the
 * pass, and the run goes on. The faults read are the mock's own count,
 * never the result's look, so nothing a fault-free run does can be
 * excused. WANT_UNLESS(mask, cond) and WANT_EQ_UNLESS(mask, a, b) excuse a
 * miss only after a fault of the kinds in `mask`, the only ones that can
 * change that result: a miss after another kind is a failure too.
 */
typedef struct diff_site {
    int line;
    const char *what;
    uint64_t runs;     /* runs that missed it */
    uint64_t last_run; /* the last of them (g_run) */
} diff_site;
static diff_site g_diff[64];
static unsigned g_ndiff;
static uint64_t g_run;       /* runs so far in the process */
static uint64_t g_run_diffs; /* misses excused in this run */

static void want_missed(unsigned mask, int line, const char *what, long long a, long long b, int eq) {
    if (faults_so_far(mask) == 0) {
        fprintf(stderr, "%s:%d: WANT failed with no fault%s so far: %s", __FILE__, line,
                mask == ANY_FAULT ? "" : " of a kind that may change it", what);
        if (eq) fprintf(stderr, " (%lld vs %lld)", a, b);
        fprintf(stderr, "; faults so far:");
        for (int f = 0; f < CIO_MOCK_FAULT_COUNT_; f++) fprintf(stderr, " %s %" PRIu64, FAULT_NAMES[f], faults_of(f));
        fprintf(stderr, "\n");
        exit(1);
    }
    g_run_diffs++;
    unsigned i = 0;
    while (i < g_ndiff && g_diff[i].line != line) i++;
    if (i == g_ndiff) {
        CHECK(g_ndiff < sizeof g_diff / sizeof g_diff[0]);
        g_diff[g_ndiff++] = (diff_site){line, what, 0, 0};
    }
    if (g_diff[i].last_run != g_run) g_diff[i].runs++;
    g_diff[i].last_run = g_run;
}

#define WANT_UNLESS(mask, cond)                                                                            \
    do {                                                                                                   \
        if (!(cond)) want_missed((mask), __LINE__, #cond, 0, 0, 0);                                       \
    } while (0)

#define WANT_EQ_UNLESS(mask, a, b)                                                                         \
    do {                                                                                                   \
        long long wa_ = (long long)(a), wb_ = (long long)(b);                                             \
        if (wa_ != wb_) want_missed((mask), __LINE__, #a " == " #b, wa_, wb_, 1);                         \
    } while (0)

#define WANT(cond) WANT_UNLESS(ANY_FAULT, cond)
#define WANT_EQ(a, b) WANT_EQ_UNLESS(ANY_FAULT, a, b)

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
    for (int i = 0; i < MW; i++) WANT_EQ(join(t[i]), i * 1000 + MK);
    WANT_EQ(g_counter, MW * MK);
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
    for (int i = 0; i < NP; i++) WANT_EQ(join(p[i]), NV);
    cio_chan_close(&g_ch);
    intptr_t sum = 0;
    for (int i = 0; i < NC; i++) sum += join(c[i]);
    /* sum over p < NP, 1 <= i <= NV of p*1000 + i */
    WANT_EQ(sum, 1000 * NV * (NP * (NP - 1) / 2) + NP * NV * (NV + 1) / 2);
    WANT_EQ(g_nrecv, NP * NV);
    CHECK_EQ(cio_chan_len(&g_ch), 0); /* closed, and every consumer read until end */
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
    for (int i = 0; i < SEM_TASKS; i++) WANT_EQ(join(t[i]), 0);
    WANT_EQ(g_max_inside, SEM_PERMITS); /* all start at once: the permits fill */
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
        WANT_EQ(now() - t, total);
    }
    CHECK_EQ(cio_sleep_until(t + total + 12345), 0);
    WANT_EQ(now(), t + total + 12345);
    CHECK_EQ(cio_sleep_until(t), 0); /* the past: at once */
    WANT_EQ(now(), t + total + 12345);

    /* Concurrent sleeps overlap: the longest is what passes. */
    t = now();
    cio_task *s[3];
    for (int i = 0; i < 3; i++) s[i] = spawn(sleeper, (intptr_t)((uint64_t)(3 - i) * 10 * MS));
    for (int i = 0; i < 3; i++) WANT_EQ(join(s[i]), (intptr_t)((uint64_t)(3 - i) * 10 * MS));
    WANT_EQ(now() - t, 30 * MS);

    /* An event set after 5 ms wakes its waiters at that instant; a waiter
     * with its own deadline at 2 ms leaves then. */
    cio_event_init(&g_ev, false);
    g_t0 = now();
    cio_task *w[4], *wu = spawn(ev_waiter_until, 0);
    for (int i = 0; i < 4; i++) w[i] = spawn(ev_waiter, i);
    CHECK_EQ(cio_sleep(5 * MS), 0);
    CHECK(!cio_event_is_set(&g_ev));
    cio_event_set(&g_ev);
    for (int i = 0; i < 4; i++) WANT_EQ(join(w[i]), 5 * MS);
    WANT_EQ(join(wu), 2 * MS);
    CHECK_EQ(cio_event_wait(&g_ev), 0); /* stays set */
}

/* ---- deadline scopes ---- */

static int g_nop_in_time, g_nop_late;

static void phase_deadlines(void) {
    uint64_t t = now();
    uint64_t prev = cio_deadline_push(t + 1 * MS);
    CHECK_EQ(cio_sleep(10 * MS), -CIO_ETIMEDOUT);
    WANT_EQ(now() - t, 1 * MS);
    cio_deadline_pop(prev);

    /* Nested: a later, looser deadline does not loosen the earlier one. */
    t = now();
    uint64_t p1 = cio_deadline_push(t + 5 * MS);
    uint64_t p2 = cio_deadline_push(t + 50 * MS);
    CHECK_EQ(cio_sleep(20 * MS), -CIO_ETIMEDOUT);
    WANT_EQ(now() - t, 5 * MS);
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
    WANT_EQ(now() - t, 3 * MS);
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
        WANT_EQ(now(), t + 500);
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
    WANT_EQ(cio_group_wait(&g), -CIO_EIO);
    WANT_EQ(now() - t, 3 * MS);
    WANT_EQ(g_child_res[0], 0);
    WANT_EQ(g_child_res[1], 1);
    WANT_EQ(g_child_res[2], -CIO_EIO);
    WANT_EQ(g_child_res[3], -CIO_ECANCELED);
    WANT_EQ(g_child_res[4], -CIO_ECANCELED);
    CHECK_EQ(cio_group_size(&g), 0);

    /* No cancel: every child runs to its end; the first error in time counts. */
    CHECK_EQ(cio_group_init(&g, loop, 0), 0);
    t = now();
    for (int i = 0; i < 5; i++) CHECK_EQ(cio_group_spawn(&g, group_child2, (void *)(intptr_t)i, NULL), 0);
    WANT_EQ(cio_group_wait(&g), -CIO_EIO);
    CHECK(g_child_t[1] > t);
    WANT_EQ(now(), g_child_t[1] + 2 * MS); /* the last to end: its nop, then 2 ms */
    WANT_EQ(g_child_res[1], -CIO_EAGAIN);
    WANT_EQ(g_child_res[3], -CIO_EIO);
    WANT_EQ(g_child_res[0] + g_child_res[2] + g_child_res[4], 0);

    /* The waiter's deadline passes: the wait cancels the children (spawned
     * outside the scope, so they see the cancel, not the deadline). */
    CHECK_EQ(cio_group_init(&g, loop, 0), 0);
    for (int i = 0; i < 4; i++) CHECK_EQ(cio_group_spawn(&g, group_sleeper, (void *)(intptr_t)i, NULL), 0);
    t = now();
    uint64_t prev = cio_deadline_push(t + 1 * MS);
    WANT_EQ(cio_group_wait(&g), -CIO_ETIMEDOUT);
    cio_deadline_pop(prev);
    WANT_EQ(now() - t, 1 * MS);
    for (int i = 0; i < 4; i++) WANT_EQ(g_child_res[i], -CIO_ECANCELED);
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
    for (int i = 0; i < 5; i++) CHECK_EQ(o[i].res, 0); /* nothing cancelled them */
    WANT_EQ(now() - t, 2 * MS);

    /* A nop against a timer of a second: the nop, and the timer cancelled. */
    cio_prep_nop(&o[0]);
    cio_prep_timeout(&o[1], 1 * SEC, 0);
    t = now();
    int first = cio_await_first(p, 2);
    CHECK(first == 0 || first == 1);
    CHECK_EQ(o[first].res, 0);
    CHECK(o[!first].res == 0 || o[!first].res == -CIO_ECANCELED);
    WANT_EQ(first, 0);
    WANT_EQ(o[1].res, -CIO_ECANCELED);
    WANT(now() > t && now() - t < 1 * MS);

    /* Two timers: the earlier wins at its exact time. */
    cio_prep_timeout(&o[0], 2 * MS, 0);
    cio_prep_timeout(&o[1], 1 * MS, 0);
    t = now();
    first = cio_await_first(p, 2);
    CHECK(first == 0 || first == 1);
    WANT_EQ(first, 1);
    CHECK_EQ(o[first].res, 0);
    CHECK_EQ(o[!first].res, -CIO_ECANCELED); /* a timer, cancelled in the core: no race */
    WANT_EQ(now() - t, 1 * MS);

    /* Four nops: the seed picks the winner; the others end cancelled, or
     * with 0 when they completed in the same instant. */
    for (int i = 0; i < 4; i++) cio_prep_nop(&o[i]);
    first = cio_await_first(p, 4);
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
        WANT(k != 0);        /* the victim blocks again after the race */
        WANT_EQ(now(), at); /* a cancelled sleep ends at once */
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
        WANT(k == 1 || k == 2);
        WANT_EQ(now(), at);
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

/* ---- L1 ops, their completions counted ---- */

static int g_l1_left; /* final completions still to come */
static cio_event g_l1_ev;

static void on_l1(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    if (--g_l1_left == 0) cio_event_set(&g_l1_ev);
}

static void l1_arm(t_op *t, int *expect) {
    t_arm(t);
    t->op.cb = on_l1;
    ++*expect;
}

/* ---- cancels with a carrier (CIO_OP_CANCEL) ---- */

static int g_carrier[3]; /* cancels that found the nop, came too late, met it executing */

/* The pairs op.h allows a cancel and its target (a nop, whose own result
 * is 0): 0 and -CIO_ECANCELED; -CIO_ENOENT and 0; -CIO_EALREADY and
 * -CIO_ECANCELED, -CIO_EINTR or 0. Counts which it was. */
static void check_cancel_pair(int line, int32_t cancel_res, int32_t target_res) {
    int k = cancel_res == 0 ? 0 : cancel_res == -CIO_ENOENT ? 1 : cancel_res == -CIO_EALREADY ? 2 : -1;
    bool ok = (k == 0 && target_res == -CIO_ECANCELED) || (k == 1 && target_res == 0) ||
              (k == 2 && (target_res == -CIO_ECANCELED || target_res == -CIO_EINTR || target_res == 0));
    if (!ok) {
        fprintf(stderr, "%s:%d: a cancel completed with %d (%s) and its target, a nop, with %d (%s): op.h allows "
                        "no such pair\n",
                __FILE__, line, cancel_res, cio_strerror(cancel_res), target_res, cio_strerror(target_res));
        exit(1);
    }
    g_carrier[k]++;
}

#define NCARRIED 3

static void phase_cancel_ops(void) {
    phase_mark();
    /* In one batch, a nop and a cancel naming it: the cancel meets the nop
     * in flight (cio_submit_batch in cio/loop.h). */
    for (int i = 0; i < NCARRIED; i++) {
        cio_op n, c;
        cio_op *p[2] = {&n, &c};
        cio_prep_nop(&n);
        cio_prep_cancel(&c, &n);
        CHECK_EQ(cio_await_all(p, 2), 0);
        check_cancel_pair(__LINE__, c.res, n.res);
        WANT_EQ_UNLESS(FAULT(CANCEL_RACE) | FAULT(INTR), c.res, 0);
        tx(0xc0000u + (uint32_t)(c.res & 0xff) * 0x100 + (uint32_t)(n.res & 0xff));
    }

    /* L1: the head of a soft-linked pair, cancelled by a carrier submitted
     * after the batch. The link breaks exactly when the head failed. */
    cio_loop *loop = cio_task_loop();
    t_op h, x, c;
    int expect = 0;
    cio_prep_nop(&h.op);
    l1_arm(&h, &expect);
    h.op.flags = CIO_F_LINK;
    cio_prep_nop(&x.op);
    l1_arm(&x, &expect);
    cio_prep_cancel(&c.op, &h.op);
    l1_arm(&c, &expect);
    g_l1_left = expect;
    cio_event_init(&g_l1_ev, false);
    cio_op *b[2] = {&h.op, &x.op};
    CHECK_EQ(cio_submit_batch(loop, b, 2), 0);
    CHECK_EQ(cio_submit(loop, &c.op), 0);
    CHECK_EQ(cio_event_wait(&g_l1_ev), 0);
    CHECK_EQ(h.finals, 1);
    CHECK_EQ(x.finals, 1);
    CHECK_EQ(c.finals, 1);
    check_cancel_pair(__LINE__, c.res, h.res);
    CHECK_EQ(x.res, h.res == 0 ? 0 : -CIO_ECANCELED);
    if (h.res == 0) CHECK(x.order > h.order);
    WANT_EQ_UNLESS(FAULT(CANCEL_RACE) | FAULT(INTR), c.res, 0);
    tx(0xc1000u + (uint32_t)(c.res & 0xff) * 0x100 + (uint32_t)(h.res & 0xff));
}

/* ---- bytes between tasks: a socket pair, a pipe and a file ---- */

#define SN 10000 /* more than a socket's buffer holds: the writer waits for room */
static uint8_t g_sbuf[SN], g_rbuf[SN + 1], g_fbuf[SN + 1];
static cio_fd g_sp[2];
static uint32_t g_w_done, g_r_got;
static int32_t g_w_end, g_r_end;
static int g_r_again, g_resets_seen, g_close_won;

static uint8_t pattern(uint32_t i) { return (uint8_t)(i * 7u + i / 251u); }

/* Sends the pattern in pieces, looping on short sends, then shuts down. */
static intptr_t stream_writer(void *arg) {
    ENTER();
    (void)arg;
    int32_t r = 0;
    g_w_done = 0;
    for (int n = 0; g_w_done < SN && n < 2 * SN; n++) {
        uint32_t len = SN - g_w_done < 3000 ? SN - g_w_done : 3000;
        r = cio_send(g_sp[0], g_sbuf + g_w_done, len, 0);
        if (r < 0) break;
        CHECK(r > 0 && (uint32_t)r <= len);
        g_w_done += (uint32_t)r;
    }
    if (r >= 0) {
        CHECK_EQ(g_w_done, SN);
        r = cio_shutdown(g_sp[0], CIO_SHUT_WR);
        CHECK_EQ(r, 0);
    } else {
        /* A reset (cio/mock.h): reported once, then as after the peer's close. */
        CHECK(r == -CIO_ECONNRESET || r == -CIO_EPIPE);
    }
    g_w_end = r;
    RETURN(0);
}

/* Receives until end of file; every third time it waits for readiness and
 * then takes what is there without waiting. */
static intptr_t stream_reader(void *arg) {
    ENTER();
    (void)arg;
    cio_loop *loop = cio_task_loop();
    int32_t r = -1;
    g_r_got = 0;
    g_r_again = 0;
    for (int n = 0; n < 4 * SN; n++) {
        uint32_t room = SN + 1 - g_r_got < 1500 ? SN + 1 - g_r_got : 1500; /* one more than sent: end of file shows */
        if (n % 3 == 2) {
            int32_t ev = cio_poll(g_sp[1], CIO_POLLIN);
            CHECK(ev > 0 && (ev & CIO_POLLIN));
            uint64_t again = cio_mock_faults(loop, CIO_MOCK_FAULT_AGAIN);
            r = cio_recv(g_sp[1], g_rbuf + g_r_got, room, CIO_MSG_DONTWAIT);
            if (r == -CIO_EAGAIN) {
                /* Readable, and nobody else reads: only the mock's fault
                 * can say "try again" here. */
                CHECK(cio_mock_faults(loop, CIO_MOCK_FAULT_AGAIN) > again);
                g_r_again++;
                continue;
            }
        } else {
            r = cio_recv(g_sp[1], g_rbuf + g_r_got, room, 0);
        }
        if (r <= 0) break;
        CHECK((uint32_t)r <= room);
        g_r_got += (uint32_t)r;
    }
    CHECK(r == 0 || r == -CIO_ECONNRESET);
    /* A stream: what came is a prefix of what was sent, in order. */
    CHECK(g_r_got <= SN);
    CHECK(!memcmp(g_rbuf, g_sbuf, g_r_got));
    g_r_end = r;
    RETURN(0);
}

static cio_fd g_pipe[2];
static int32_t g_pw_res, g_pc_res;

static intptr_t pipe_writer(void *arg) {
    ENTER();
    (void)arg;
    g_pw_res = cio_write(g_pipe[1], "hello", 5, CIO_OFFSET_CURRENT);
    RETURN(0);
}

static intptr_t pipe_closer(void *arg) {
    ENTER();
    (void)arg;
    g_pc_res = cio_close(g_pipe[1]);
    RETURN(0);
}

/* Opens the file, again while openat meets ENOMEM or EMFILE (as a
 * program that copes with them does): the handle; *tries counts. */
static cio_fd open_file(int flags, int *tries) {
    intptr_t fd = -CIO_ENOMEM;
    for (int n = 0; n < 100 && (fd == -CIO_ENOMEM || fd == -CIO_EMFILE); n++) {
        fd = cio_openat(CIO_AT_FDCWD, "/stream.dat", flags, 0644);
        ++*tries;
    }
    CHECK(fd >= 0);
    return (cio_fd)fd;
}

static void phase_stream(void) {
    cio_loop *loop = cio_task_loop();
    phase_mark();
    for (uint32_t i = 0; i < SN; i++) g_sbuf[i] = pattern(i);

    /* A writer and a reader on a connected socket pair. */
    CHECK_EQ(cio_mock_socketpair(loop, g_sp), 0);
    cio_task *rd = spawn(stream_reader, 0), *wr = spawn(stream_writer, 0);
    CHECK_EQ(join(wr), 0);
    CHECK_EQ(join(rd), 0);
    /* A clean end of file: no reset, so every byte sent came. */
    if (g_r_end == 0) CHECK_EQ(g_r_got, g_w_done);
    g_resets_seen += g_r_end < 0;
    WANT_EQ_UNLESS(FAULT(RESET), g_w_end, 0);
    WANT_EQ_UNLESS(FAULT(RESET), g_r_end, 0);
    WANT_EQ_UNLESS(FAULT(RESET), g_r_got, SN);
    WANT_EQ_UNLESS(FAULT(AGAIN), g_r_again, 0);
    CHECK_EQ(cio_close(g_sp[0]), 0);
    CHECK_EQ(cio_close(g_sp[1]), 0);
    tx(0xd0000000u + g_r_got);

    /* A close of a pipe's write end while a write on it is in flight: the
     * write ends cancelled, or (a close that meets it just done) with its
     * bytes, which the reader then gets before end of file. */
    CHECK_EQ(cio_mock_pipe(loop, g_pipe), 0);
    g_pw_res = g_pc_res = 1;
    cio_task *pw = spawn(pipe_writer, 0), *pc = spawn(pipe_closer, 0);
    CHECK_EQ(join(pw), 0);
    CHECK_EQ(join(pc), 0);
    CHECK_EQ(g_pc_res, 0);
    CHECK(g_pw_res == -CIO_ECANCELED || (g_pw_res >= 1 && g_pw_res <= 5));
    WANT_EQ_UNLESS(FAULT(CLOSE_RACE), g_pw_res, -CIO_ECANCELED);
    g_close_won += g_pw_res == -CIO_ECANCELED;
    char buf[8];
    uint32_t got = 0;
    int32_t r = -1;
    for (int n = 0; n < 8 && (r = cio_read(g_pipe[0], buf + got, (uint32_t)sizeof buf - got, CIO_OFFSET_CURRENT)) > 0;
         n++)
        got += (uint32_t)r;
    CHECK_EQ(r, 0);
    CHECK_EQ(got, g_pw_res > 0 ? (uint32_t)g_pw_res : 0);
    CHECK(!memcmp(buf, "hello", got));
    CHECK_EQ(cio_close(g_pipe[0]), 0);
    tx(0xd1000000u + got);

    /* What the reader got, into a file and back. */
    int tries = 0;
    cio_fd f = open_file(CIO_O_CREAT | CIO_O_RDWR | CIO_O_TRUNC, &tries);
    for (uint32_t done = 0, n = 0; done < g_r_got && n < 100; n++) {
        r = cio_write(f, g_rbuf + done, g_r_got - done, done);
        CHECK(r > 0);
        done += (uint32_t)r;
    }
    CHECK_EQ(cio_close(f), 0);
    CHECK_EQ(cio_mock_file_get(loop, "/stream.dat", g_fbuf, sizeof g_fbuf), g_r_got);
    CHECK(!memcmp(g_fbuf, g_sbuf, g_r_got));
    f = open_file(CIO_O_RDONLY, &tries);
    memset(g_fbuf, 0, sizeof g_fbuf);
    CHECK_EQ(cio_read(f, g_fbuf, sizeof g_fbuf, 0), g_r_got); /* a file is never short but at its end */
    CHECK(!memcmp(g_fbuf, g_sbuf, g_r_got));
    CHECK_EQ(cio_close(f), 0);
    CHECK_EQ(cio_unlinkat(CIO_AT_FDCWD, "/stream.dat", 0), 0);
    WANT_EQ_UNLESS(FAULT(NOMEM) | FAULT(MFILE), tries, 2);
}

/* ---- a MSG_WAITALL recv ended by a deadline or a task cancel ---- */

#define QN 100 /* bytes sent; the recv asks for more, so only its end stops it */
static cio_fd g_q[2];
static uint8_t g_qbuf[2 * QN + 1];
static int32_t g_q_res;
static cio_task *g_q_reader;
static int g_waitall_kept; /* runs where it kept every byte it took */

static intptr_t waitall_reader(void *arg) {
    ENTER();
    int by_deadline = (int)(intptr_t)arg;
    uint64_t prev = by_deadline ? cio_deadline_push(now() + 1 * MS) : 0;
    g_q_res = cio_recv(g_q[1], g_qbuf, 2 * QN, CIO_MSG_WAITALL);
    if (by_deadline) cio_deadline_pop(prev);
    RETURN(0);
}

/* Sends QN bytes of the pattern in pieces: what it sent, or its error. */
static intptr_t waitall_writer(void *arg) {
    ENTER();
    (void)arg;
    uint32_t done = 0;
    for (int n = 0; done < QN && n < 2 * QN; n++) {
        uint32_t len = QN - done < 30 ? QN - done : 30;
        int32_t r = cio_send(g_q[0], g_sbuf + done, len, 0);
        if (r < 0) {
            CHECK(r == -CIO_ECONNRESET || r == -CIO_EPIPE);
            RETURN(done ? (intptr_t)done : r);
        }
        done += (uint32_t)r;
    }
    RETURN(done);
}

static intptr_t waitall_canceller(void *arg) {
    ENTER();
    (void)arg;
    CHECK_EQ(cio_sleep(1 * MS), 0);
    RETURN(cio_task_cancel(g_q_reader));
}

/* The recv, asking for more than comes, ends at 1 ms by its deadline or
 * a cancel of its task: it reports the bytes it took (cio/mock.h), which
 * are the first ones sent, and the rest is still there to read: no byte
 * is lost or read twice across its end (but to a reset). */
static void phase_waitall(void) {
    cio_loop *loop = cio_task_loop();
    phase_mark();
    for (uint32_t i = 0; i < SN; i++) g_sbuf[i] = pattern(i);
    for (int by_deadline = 1; by_deadline >= 0; by_deadline--) {
        CHECK_EQ(cio_mock_socketpair(loop, g_q), 0);
        uint64_t t = now();
        g_q_res = 1;
        g_q_reader = spawn(waitall_reader, by_deadline);
        cio_task *w = spawn(waitall_writer, 0), *c = by_deadline ? NULL : spawn(waitall_canceller, 0);
        intptr_t sent = join(w);
        CHECK(sent == -CIO_ECONNRESET || (sent >= 1 && sent <= QN));
        if (c) {
            intptr_t cr = join(c);
            CHECK(cr == 0 || cr == -CIO_EINVAL);
            WANT_EQ_UNLESS(FAULT(RESET), cr, 0); /* the recv was still waiting */
        }
        CHECK_EQ(join(g_q_reader), 0);
        WANT_EQ_UNLESS(FAULT(RESET), now() - t, 1 * MS);
        int32_t r = g_q_res;
        int32_t ended = by_deadline ? -CIO_ETIMEDOUT : -CIO_ECANCELED;
        CHECK(r == ended || r == -CIO_ECONNRESET || (r >= 1 && r <= QN));
        /* Only a reset, or sends held back past 1 ms by a full ring, can
         * leave it fewer. */
        WANT_EQ_UNLESS(FAULT(RESET) | FAULT(RING_FULL), r, QN);
        bool reset = sent < 0 || r == -CIO_ECONNRESET;
        uint32_t got = r > 0 ? (uint32_t)r : 0;
        CHECK_EQ(cio_shutdown(g_q[0], CIO_SHUT_WR), 0);
        for (int n = 0; n < 2 * QN; n++) {
            int32_t d = cio_recv(g_q[1], g_qbuf + got, (uint32_t)sizeof g_qbuf - got, 0);
            if (d == -CIO_ECONNRESET) {
                reset = true;
                continue; /* reported once; then end of file */
            }
            CHECK(d >= 0);
            if (d == 0) break;
            got += (uint32_t)d;
        }
        CHECK(!memcmp(g_qbuf, g_sbuf, got));
        if (!reset) CHECK_EQ(got, (uint32_t)sent);
        WANT_EQ_UNLESS(FAULT(RESET), got, QN);
        g_waitall_kept += !reset;
        CHECK_EQ(cio_close(g_q[0]), 0);
        CHECK_EQ(cio_close(g_q[1]), 0);
        tx(0xd2000000u + (uint32_t)by_deadline * 0x10000 + got);
    }
}

/* ---- L1 nops in batches with links ---- */

#define NB 10
static t_op g_b[NB];

static void phase_batch(void) {
    cio_loop *loop = cio_task_loop();
    cio_op *b[NB];
    int expect = 0;
    for (int i = 0; i < NB; i++) {
        cio_prep_nop(&g_b[i].op);
        l1_arm(&g_b[i], &expect);
        b[i] = &g_b[i].op;
    }
    /* 0..3: a soft-linked chain; 4..5: a chain whose head misses its deadline;
     * 6..7 hard-linked; 8..9 alone. */
    for (int i = 0; i < 3; i++) g_b[i].op.flags = CIO_F_LINK;
    g_b[4].op.flags = CIO_F_LINK;
    g_b[4].op.deadline = now();
    g_b[6].op.flags = CIO_F_HARDLINK;
    g_l1_left = expect;
    cio_event_init(&g_l1_ev, false);
    CHECK_EQ(cio_submit_batch(loop, b, NB), 0);
    CHECK_EQ(cio_event_wait(&g_l1_ev), 0);
    for (int i = 0; i < NB; i++) CHECK_EQ(g_b[i].finals, 1);
    for (int i = 0; i < 4; i++) CHECK_EQ(g_b[i].res, 0);
    for (int i = 1; i < 4; i++) CHECK(g_b[i].order > g_b[i - 1].order);
    /* A deadline of "now": it times out, or (op.h allows it) was done first;
     * its link follows from that. */
    CHECK(g_b[4].res == -CIO_ETIMEDOUT || g_b[4].res == 0);
    CHECK_EQ(g_b[5].res, g_b[4].res == 0 ? 0 : -CIO_ECANCELED);
    WANT_EQ(g_b[4].res, -CIO_ETIMEDOUT);
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

/* The faults a run met are read at its loop's close: the last moment
 * anything can happen in it. */
static cio_op g_close_hook;
static int g_close_hooks;

static void on_close(cio_loop *loop, cio_op *op) {
    g_close_hooks++;
    CHECK_EQ(op->res, 0);
    for (int f = 0; f <= CIO_MOCK_FAULT_COUNT_; f++) g_faults[f] = cio_mock_faults(loop, (cio_mock_fault)f);
    g_faults_read = 1;
    g_trace = cio_mock_trace(loop); /* the whole run, cio_main's ending of tasks included */
    g_loop = NULL;
}

static intptr_t main_task(void *arg) {
    ENTER();
    (void)arg;
    cio_loop *loop = cio_task_loop();
    g_loop = loop;
    int n = cio_mock_replay(loop, g_replay, sizeof g_replay);
    CHECK(n > 0 && (size_t)n < sizeof g_replay);
    CHECK_EQ(cio_loop_backend(loop), CIO_BACKEND_MOCK);
    CHECK_EQ(cio_mock_seed(loop), g_seed);
    cio_prep_nop(&g_close_hook);
    g_close_hook.cb = on_close;
    CHECK_EQ(cio_loop_at_close(loop, &g_close_hook), 0);
    phase_mutex();
    phase_chan();
    phase_sem();
    phase_time();
    phase_deadlines();
    phase_groups();
    phase_await();
    phase_races();
    phase_cancel_ops();
    phase_stream();
    phase_waitall();
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
    RETURN(MAIN_OK);
}

typedef struct run_result {
    uint64_t trace, tx, tx_mutex, ops, diffs;
    uint64_t faults[CIO_MOCK_FAULT_COUNT_ + 1];
} run_result;

/* The replay command before the run's loop can give its own (the same
 * form as cio_mock_replay()'s), for a failure that comes first. */
static void own_replay(uint64_t seed, const cio_mock_options *mo) {
    int n = snprintf(g_replay, sizeof g_replay, "CIO_BACKEND=mock CIO_MOCK_SEED=%" PRIu64, seed);
    const char *sep = " CIO_MOCK_FAULTS=";
    const char *env_faults = getenv("CIO_MOCK_FAULTS"), *env_poison = getenv("CIO_MOCK_POISON");
    for (int f = 0; mo && f < CIO_MOCK_FAULT_COUNT_; f++) {
        if (!mo->fault_ppm[f]) continue;
        n += snprintf(g_replay + n, sizeof g_replay - (size_t)n, "%s%s=%" PRIu32, sep, FAULT_NAMES[f], mo->fault_ppm[f]);
        sep = ",";
    }
    if (!mo && env_faults && *env_faults)
        n += snprintf(g_replay + n, sizeof g_replay - (size_t)n, "%s%s", sep, env_faults);
    if (mo ? (mo->flags & CIO_MOCK_POISON) != 0 : (env_poison && *env_poison && strcmp(env_poison, "0") != 0))
        n += snprintf(g_replay + n, sizeof g_replay - (size_t)n, " CIO_MOCK_POISON=1");
    snprintf(g_replay + n, sizeof g_replay - (size_t)n, " %s", g_prog);
}

/* One run of the workload with `seed`; `mo` the mock's settings (NULL:
 * the environment's, for a replay). */
static run_result run_seed(uint64_t seed, const cio_mock_options *mo) {
    g_seed = seed;
    own_replay(seed, mo);
    g_running = 1;
    t_alarm_fn(SEED_WATCHDOG_S, seed_hung);
    g_tx = g_tx_mutex = 0xcbf29ce484222325ull;
    g_alive = g_started = 0;
    g_ops = g_trace = 0;
    g_run++;
    g_run_diffs = 0;
    g_loop = NULL;
    g_faults_read = 0;
    g_close_hooks = 0;
    memset(g_mark, 0, sizeof g_mark);
    memset(g_faults, 0, sizeof g_faults);
    cio_loop_options o;
    memset(&o, 0, sizeof o);
    o.backend = CIO_BACKEND_MOCK;
    o.seed = seed;
    o.backend_options = mo;
    intptr_t result = -1;
    CHECK_EQ(cio_main(main_task, NULL, &o, &result), 0);
    CHECK_EQ(result, MAIN_OK);
    CHECK_EQ(g_close_hooks, 1);
    CHECK(g_faults_read && !g_loop);
    CHECK_EQ(g_alive, 0); /* nothing left after cio_main */
    CHECK_EQ(g_left_res[0], -CIO_ECANCELED);
    CHECK_EQ(g_left_res[1], -CIO_ECANCELED);
    CHECK(g_trace != 0);
    /* Leftovers at close, a deadlock, a double completion, a poisoned op
     * taken back: the mock reported it (on stderr, with the seed). */
    CHECK_EQ(cio_mock_violations(NULL), 0);
    /* Belt and braces for WANT: a run that met no fault at all excused
     * nothing. */
    CHECK(g_faults[CIO_MOCK_FAULT_COUNT_] > 0 || g_run_diffs == 0);
    g_running = 0;
    t_alarm_fn(0, seed_hung);
    run_result r = {g_trace, g_tx, g_tx_mutex, g_ops, g_run_diffs, {0}};
    memcpy(r.faults, g_faults, sizeof r.faults);
    return r;
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

static bool same_run(const run_result *a, const run_result *b) {
    return a->trace == b->trace && a->tx == b->tx && !memcmp(a->faults, b->faults, sizeof a->faults);
}

/* Runs `seed` again (with `mo`) and fails unless it is the same run. */
static void rerun(uint64_t seed, const cio_mock_options *mo, const run_result *before) {
    run_result r = run_seed(seed, mo);
    if (!same_run(&r, before)) {
        g_running = 1;
        fprintf(stderr, "seed %" PRIu64 " ran twice differently: trace %016" PRIx64 " then %016" PRIx64
                        ", transcript %016" PRIx64 " then %016" PRIx64 ", faults %" PRIu64 " then %" PRIu64 "\n",
                seed, before->trace, r.trace, before->tx, r.tx, before->faults[CIO_MOCK_FAULT_COUNT_],
                r.faults[CIO_MOCK_FAULT_COUNT_]);
        exit(1);
    }
}

static void reset_tallies(void) {
    g_nop_in_time = g_nop_late = 0;
    memset(g_outcome, 0, sizeof g_outcome);
    memset(g_timer_outcome, 0, sizeof g_timer_outcome);
    memset(g_nop_outcome, 0, sizeof g_nop_outcome);
    memset(g_carrier, 0, sizeof g_carrier);
    g_resets_seen = g_close_won = 0;
    g_ndiff = 0;
}

/* One pass over seeds first..first+count-1 with the mock settings `mo`;
 * some seeds run again with `mo_again` (the same settings, or only what
 * must change nothing). */
static void run_pass(const char *name, uint64_t first, uint64_t count, const cio_mock_options *mo,
                     const cio_mock_options *mo_again) {
    reset_tallies();
    run_result *runs = calloc(count, sizeof *runs);
    uint64_t *traces = malloc(count * sizeof *traces), *txs = malloc(count * sizeof *txs);
    uint64_t *mutex_orders = malloc(count * sizeof *mutex_orders);
    CHECK(runs && traces && txs && mutex_orders);
    uint64_t ops = 0, faulted = 0, excused_runs = 0, struck[CIO_MOCK_FAULT_COUNT_] = {0},
             injected[CIO_MOCK_FAULT_COUNT_] = {0};
    double t0 = t_seconds();
    for (uint64_t i = 0; i < count; i++) {
        runs[i] = run_seed(first + i, mo);
        traces[i] = runs[i].trace;
        txs[i] = runs[i].tx;
        mutex_orders[i] = runs[i].tx_mutex;
        ops += runs[i].ops;
        faulted += runs[i].faults[CIO_MOCK_FAULT_COUNT_] > 0;
        excused_runs += runs[i].diffs > 0;
        for (int f = 0; f < CIO_MOCK_FAULT_COUNT_; f++) {
            struck[f] += runs[i].faults[f] > 0;
            injected[f] += runs[i].faults[f];
        }
    }
    double wall = t_seconds() - t0;

    size_t dt = distinct(traces, count), dx = distinct(txs, count);
    printf("== %s: seeds %" PRIu64 "..%" PRIu64 ": ok\n", name, first, first + count - 1);
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
    printf("cancels with a carrier: found the nop %d, too late (-ENOENT) %d, met it executing (-EALREADY) %d\n",
           g_carrier[0], g_carrier[1], g_carrier[2]);
    printf("socket pair: a reset ended the exchange %d; close of a pipe vs its write in flight: write cancelled %d, "
           "done first %" PRIu64 "\n",
           g_resets_seen, g_close_won, count - (uint64_t)g_close_won);
    printf("runs that met a fault: %" PRIu64 " of %" PRIu64 " (%.0f%%); by kind (runs, faults injected):", faulted,
           count, 100.0 * (double)faulted / (double)count);
    for (int f = 0; f < CIO_MOCK_FAULT_COUNT_; f++)
        printf(" %s %" PRIu64 "/%" PRIu64 "%s", FAULT_NAMES[f], struck[f], injected[f],
               f + 1 < CIO_MOCK_FAULT_COUNT_ ? "," : "\n");
    printf("results that differed after a fault had struck: in %" PRIu64 " runs%s\n", excused_runs,
           g_ndiff ? ":" : "");
    for (unsigned i = 0; i < g_ndiff; i++)
        printf("  line %d, %s: %" PRIu64 " runs\n", g_diff[i].line, g_diff[i].what, g_diff[i].runs);
    printf("%.3f s wall: %.0f seeds/s (%.0f per minute), %" PRIu64 " ops submitted, %.0f simulated ops/s\n", wall,
           (double)count / wall, 60.0 * (double)count / wall, ops, (double)ops / wall);

    /* Determinism: the same seed again gives the same run, bit for bit. */
    uint64_t again = count < 100 ? count : 100;
    for (uint64_t i = 0; i < again; i++) {
        uint64_t idx = i * (count / again);
        rerun(first + idx, mo_again, &runs[idx]);
    }
    printf("%" PRIu64 " seeds rerun%s: identical trace, transcript and faults\n", again,
           mo_again != mo ? " with CIO_MOCK_POISON" : "");

    if (count >= 100) {
        /* Only a fixed workload varies by the mock's choices alone: more
         * than one transcript proves the seed reaches the tasks'
         * interleaving. */
        CHECK(dx > 1 && dt > 1);
        if (mo->fault_ppm[CIO_MOCK_FAULT_RING_FULL]) {
            /* The mock injects what it was asked to, and leaves a good
             * share of fault-free runs to be judged in full. */
            CHECK(faulted >= count / 5 && faulted <= count - count / 5);
            for (int f = 0; count >= 1000 && f < CIO_MOCK_FAULT_COUNT_; f++) CHECK(struck[f] > 0);
        }
    }
    free(runs);
    free(traces);
    free(txs);
    free(mutex_orders);
}

/* CIO_MOCK_SEED given (the replay command): that seed alone, twice, with
 * the environment's faults and poisoning. */
static int replay_one(uint64_t seed) {
    run_result r = run_seed(seed, NULL);
    rerun(seed, NULL, &r);
    printf("seed %" PRIu64 ": ok; trace %016" PRIx64 ", transcript %016" PRIx64 ", %" PRIu64 " faults (", seed,
           r.trace, r.tx, r.faults[CIO_MOCK_FAULT_COUNT_]);
    for (int f = 0; f < CIO_MOCK_FAULT_COUNT_; f++)
        printf("%s %" PRIu64 "%s", FAULT_NAMES[f], r.faults[f], f + 1 < CIO_MOCK_FAULT_COUNT_ ? ", " : ")\n");
    for (unsigned i = 0; i < g_ndiff; i++)
        printf("differed after a fault: line %d, %s\n", g_diff[i].line, g_diff[i].what);
    return 0;
}

int main(int argc, char **argv) {
    t_unsetenv("CIO_BACKEND"); /* the options name the backend */
    if (argv[0]) g_prog = argv[0];
    atexit(replay_hint);
    const char *replay_seed = getenv("CIO_MOCK_SEED");
    if (replay_seed && *replay_seed) {
        uint64_t seed = number(replay_seed, "CIO_MOCK_SEED", 0);
        if (seed == 0) {
            fprintf(stderr, "test_mock_tasks: CIO_MOCK_SEED must be 1 or more\n");
            return 2;
        }
        return replay_one(seed);
    }
    uint64_t count = number(argc > 1 ? argv[1] : NULL, "CIO_MOCK_SEEDS", 1000);
    uint64_t first = number(argc > 2 ? argv[2] : NULL, "CIO_MOCK_SEED_FIRST", 1);
    if (first == 0 || count == 0 || count > 10000000 || first + count < first) {
        fprintf(stderr, "test_mock_tasks: seeds must be 1 or more (0 means \"the default\" to the mock)\n");
        return 2;
    }

    /* Explicit settings, so that CIO_MOCK_FAULTS or CIO_MOCK_POISON in the
     * environment change neither pass. Poisoning must change nothing in a
     * correct run: the fault-free pass runs without it, its reruns with. */
    cio_mock_options plain, poisoned, faulty;
    memset(&plain, 0, sizeof plain);
    poisoned = plain;
    poisoned.flags = CIO_MOCK_POISON;
    faulty = poisoned;
    memcpy(faulty.fault_ppm, FAULT_PPM, sizeof faulty.fault_ppm);
    run_pass("without faults", first, count, &plain, &poisoned);
    run_pass("with faults and CIO_MOCK_POISON", first, count, &faulty, &faulty);
    return 0;
}
