/*
 * src/backend/mock.c - the simulated backend (CIO_BACKEND_MOCK): no kernel
 * object behind any op, time that is virtual, and a seed that decides
 * everything the simulation chooses, so that a run replays bit for bit.
 *
 * What it simulates so far is the loop itself: every op a backend takes
 * completes after a latency drawn from the seed, so ops submitted together
 * come back in a seeded order; deadlines are the mock's, in virtual time;
 * cancel, close of the loop, and wakes and posts from other threads work as
 * on every backend. The core's timers run on the virtual clock, and an idle
 * loop jumps to the next timer instead of sleeping: an hour of cio_sleep()
 * takes microseconds. The simulated world (sockets connected inside the
 * process, pipes, an in-memory file system) is still to come (issue 9):
 * until then an op that would need it completes with -CIO_ENOSYS, never
 * with a real system call.
 *
 * One real object is kept: a condition variable, so that a post from
 * another thread wakes a mock loop that has nothing of its own to wait for.
 *
 * The trace hash mixes, in order, the virtual time of every wait and every
 * completion the mock delivers (its opcode, result and order of
 * submission): two runs with the same seed and the same program have the
 * same hash (cio/mock.h).
 */
#include <pthread.h>
#include <stdlib.h>

#include "backend.h"
#include "cio/mock.h"

/* The virtual clock starts here, not at 0, so that nothing mistakes it for
 * "no time". */
#define MOCK_EPOCH_NS 1000000000ull

/* An op's simulated latency: up to this many nanoseconds. */
#define MOCK_MAX_LATENCY_NS 1000u

/* internal_.bflags */
#define MB_TIMED_OUT 1u /* due at its deadline, not at its latency */

typedef struct mock {
    uint64_t now;      /* the virtual clock */
    uint64_t rng;      /* splitmix64 state */
    uint64_t seed;
    uint64_t trace;    /* FNV-1a over what the simulation did */
    uint64_t submitted; /* ops taken, numbering them for the trace */
    cio_heap due;      /* ops in flight, by virtual completion time */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool woken;        /* a wake came (any thread; under mu) */
} mock;

_Static_assert(sizeof(mock) <= sizeof(((cio_core *)0)->backend), "the mock's state fits in the loop");

static mock *state(cio_loop *loop) { return CIO_BACKEND_STATE(loop, mock); }

static uint64_t next_random(mock *m) {
    uint64_t z = (m->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void mix(mock *m, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        m->trace ^= (v >> (8 * i)) & 0xff;
        m->trace *= 0x100000001b3ull;
    }
}

/* The seed: the option's, else CIO_MOCK_SEED, else 1 (a fixed default, so
 * that a program is deterministic even when nobody chose a seed). */
static uint64_t chosen_seed(const cio_loop_options *opts) {
    if (opts && opts->seed) return opts->seed;
    const char *env = getenv("CIO_MOCK_SEED");
    if (env && *env) {
        char *end;
        unsigned long long v = strtoull(env, &end, 0);
        if (*end == '\0' && v) return v;
    }
    return 1;
}

static int mock_init(cio_loop *loop, const cio_loop_options *opts) {
    mock *m = state(loop);
    memset(m, 0, sizeof *m);
    m->seed = chosen_seed(opts);
    m->rng = m->seed;
    m->now = MOCK_EPOCH_NS;
    m->trace = 0xcbf29ce484222325ull;
    mix(m, m->seed);
    if (pthread_mutex_init(&m->mu, NULL) != 0) return -CIO_ENOMEM;
    if (pthread_cond_init(&m->cv, NULL) != 0) {
        pthread_mutex_destroy(&m->mu);
        return -CIO_ENOMEM;
    }
    return 0;
}

static void mock_close(cio_loop *loop) {
    mock *m = state(loop);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
}

static uint64_t mock_clock(cio_loop *loop) { return state(loop)->now; }

/* The ops the mock completes by itself: those that need no world. */
static bool simulated(const cio_op *op) { return op->opcode == CIO_OP_NOP; }

static int mock_submit(cio_loop *loop, cio_op *op) {
    mock *m = state(loop);
    if (op->opcode == CIO_OP_POST) return -CIO_ENOTSUP; /* the core posts through the target's queue */
    if (!simulated(op)) return -CIO_ENOSYS;            /* the simulated world is not built yet */
    uint64_t when = m->now + 1 + next_random(m) % MOCK_MAX_LATENCY_NS;
    op->internal_.bflags = 0;
    if (op->deadline && op->deadline < when) {
        when = op->deadline > m->now ? op->deadline : m->now;
        op->internal_.bflags = MB_TIMED_OUT;
    }
    op->internal_.when = when;
    cio__heap_push(&m->due, op);
    mix(m, ++m->submitted);
    return 0;
}

static int mock_cancel(cio_loop *loop, cio_op *target, cio_op *carrier) {
    mock *m = state(loop);
    cio__heap_take(&m->due, target);
    target->internal_.bflags = 0;
    cio__ready(loop, target, -CIO_ECANCELED);
    if (carrier) cio__ready(loop, carrier, 0);
    return 0;
}

static void mock_cancel_all(cio_loop *loop) {
    mock *m = state(loop);
    while (m->due.root) mock_cancel(loop, m->due.root, NULL);
}

/* Completes, in virtual time order, every op due by now. */
static int deliver_due(cio_loop *loop, mock *m) {
    int n = 0;
    cio_op *op;
    while ((op = m->due.root) && op->internal_.when <= m->now) {
        cio__heap_take(&m->due, op);
        /* Its deadline came first: -CIO_ECANCELED, which the core reports
         * as -CIO_ETIMEDOUT for a backend that keeps deadlines. */
        int32_t res = (op->internal_.bflags & MB_TIMED_OUT) ? -CIO_ECANCELED : 0;
        op->internal_.bflags = 0;
        mix(m, ((uint64_t)op->opcode << 32) | (uint32_t)res);
        cio__core(loop)->stats.kernel_completions++;
        cio__complete(loop, op, res);
        n++;
    }
    return n;
}

/* Blocks (in real time) until another thread wakes the loop. */
static void wait_for_wake(cio_loop *loop, mock *m) {
    pthread_mutex_lock(&m->mu);
    while (!m->woken) pthread_cond_wait(&m->cv, &m->mu);
    pthread_mutex_unlock(&m->mu);
    (void)loop;
}

static bool take_wake(cio_loop *loop, mock *m) {
    pthread_mutex_lock(&m->mu);
    bool w = m->woken;
    m->woken = false;
    pthread_mutex_unlock(&m->mu);
    if (w) cio__wake_consumed(loop);
    return w;
}

/* Time moves only here: to the next op's completion or the end of the
 * budget, whichever comes first (the core's budget ends at its next timer),
 * at once. With neither, only another thread can bring work: wait for it. */
static int mock_wait(cio_loop *loop, int64_t timeout_ns) {
    mock *m = state(loop);
    cio__core(loop)->stats.enters++;
    if (take_wake(loop, m)) timeout_ns = 0;
    cio_op *next = m->due.root;
    uint64_t until = timeout_ns < 0 ? UINT64_MAX : m->now + (uint64_t)timeout_ns;
    if (next && next->internal_.when < until) until = next->internal_.when;
    if (until == UINT64_MAX) {
        wait_for_wake(loop, m);
        take_wake(loop, m);
    } else if (until > m->now) {
        m->now = until;
    }
    mix(m, m->now);
    return deliver_due(loop, m);
}

static int mock_wake(cio_loop *loop) {
    mock *m = state(loop);
    pthread_mutex_lock(&m->mu);
    m->woken = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static int mock_pollable_fd(cio_loop *loop, cio_fd *out) {
    (void)loop;
    (void)out;
    return -CIO_ENOTSUP; /* a simulated loop has no kernel object to wait on */
}

const struct cio_backend cio__backend_mock = {
    .name = "mock",
    .kind = CIO_BACKEND_MOCK,
    .features = CIO_BE_KERNEL_DEADLINES,
    .init = mock_init,
    .close = mock_close,
    .submit = mock_submit,
    .cancel = mock_cancel,
    .cancel_all = mock_cancel_all,
    .wait = mock_wait,
    .wake = mock_wake,
    .pollable_fd = mock_pollable_fd,
    .clock = mock_clock,
};

uint64_t cio_mock_trace(const cio_loop *loop) {
    if (!loop) return 0;
    const cio_core *c = cio__ccore(loop);
    if (c->be != &cio__backend_mock) return 0;
    return ((const mock *)(const void *)c->backend)->trace;
}

uint64_t cio_mock_seed(const cio_loop *loop) {
    if (!loop) return 0;
    const cio_core *c = cio__ccore(loop);
    if (c->be != &cio__backend_mock) return 0;
    return ((const mock *)(const void *)c->backend)->seed;
}
