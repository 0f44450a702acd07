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
 * takes microseconds.
 *
 * The simulated world (mock_world.c) has pipes so far; sockets connected
 * inside the process and an in-memory file system are still to come
 * (issue 9): until then an op that would need them completes with
 * -CIO_ENOSYS, never with a real system call. An op on a pipe is tried
 * when its latency is over: it then moves its bytes (a seeded number of
 * them, as a real pipe may move fewer than asked) and completes at once,
 * or, when it cannot go on yet (nothing to read, no room), parks on its
 * pipe end until a change of the pipe wakes it for another try after a
 * fresh latency. Nothing happens to the pipe before an op's completion, so
 * a cancel, a deadline or a close can always end a held op without loss.
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
#include "mock_world.h"

/* The virtual clock starts here, not at 0, so that nothing mistakes it for
 * "no time". */
#define MOCK_EPOCH_NS 1000000000ull

/* An op's simulated latency: up to this many nanoseconds. */
#define MOCK_MAX_LATENCY_NS 1000u

/* internal_.bflags */
#define MB_TIMED_OUT 1u /* due at its deadline, not at its latency */
#define MB_DUE 2u       /* in the heap `due` */
#define MB_WORLD 4u     /* held on a pipe end's queue (mock_pipe.ops) */
#define MB_PARKED 8u    /* tried, and waits for a change of its pipe */

/* A try that cannot go on yet (see try_op). */
#define MOCK_PARK INT32_MIN

typedef struct mock {
    uint64_t now;      /* the virtual clock */
    uint64_t rng;      /* splitmix64 state */
    uint64_t seed;
    uint64_t trace;    /* FNV-1a over what the simulation did */
    uint64_t submitted; /* ops taken, numbering them for the trace */
    cio_heap due;      /* ops in flight, by virtual completion time */
    mock_world world;  /* the simulated handles */
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
    mock_world_free(&m->world);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
}

static uint64_t mock_clock(cio_loop *loop) { return state(loop)->now; }

/* Puts `op` in the heap at the end of a latency drawn from the seed, or at
 * its deadline if that comes first. */
static void schedule(mock *m, cio_op *op) {
    uint64_t when = m->now + 1 + next_random(m) % MOCK_MAX_LATENCY_NS;
    op->internal_.bflags &= (uint16_t) ~(MB_TIMED_OUT | MB_PARKED);
    if (op->deadline && op->deadline < when) {
        when = op->deadline > m->now ? op->deadline : m->now;
        op->internal_.bflags |= MB_TIMED_OUT;
    }
    op->internal_.when = when;
    op->internal_.bflags |= MB_DUE;
    cio__heap_push(&m->due, op);
}

/* `op` waits for a change of its pipe; its deadline, if it has one, is
 * kept in the heap meanwhile. */
static void park(mock *m, cio_op *op) {
    op->internal_.bflags |= MB_PARKED;
    if (!op->deadline) return;
    op->internal_.when = op->deadline > m->now ? op->deadline : m->now;
    op->internal_.bflags |= MB_TIMED_OUT | MB_DUE;
    cio__heap_push(&m->due, op);
}

/* The pipe changed: every op parked on it tries again after a latency. */
static void wake(mock *m, mock_pipe *p) {
    for (int end = 0; end < 2; end++)
        for (cio_op *op = p->ops[end].head; op; op = OPQ_NEXT(op)) {
            if (!(op->internal_.bflags & MB_PARKED)) continue;
            if (op->internal_.bflags & MB_DUE) cio__heap_take(&m->due, op);
            op->internal_.bflags &= (uint16_t)~MB_DUE;
            schedule(m, op);
        }
}

/* How many of `possible` bytes (> 0) a transfer moves: all of them half
 * of the time, else a seeded number from 1 up, as a real pipe may. */
static uint32_t transfer_size(mock *m, uint32_t possible) {
    uint64_t r = next_random(m);
    return (r & 1) ? possible : 1 + (uint32_t)((r >> 1) % possible);
}

/* Tries `op`, held on end `end` of `p`: its result, or MOCK_PARK when it
 * must wait for a change of the pipe. Moves its bytes when it succeeds. */
static int32_t try_op(mock *m, cio_op *op, mock_pipe *p, int end) {
    if (op->opcode == CIO_OP_POLL) {
        uint32_t ev = mock_pipe_events(p, end) & (op->args.poll.events | CIO_POLLERR | CIO_POLLHUP);
        return ev ? (int32_t)ev : MOCK_PARK;
    }
    cio_iovec one;
    const cio_iovec *iov = &one;
    unsigned cnt = 1;
    if (op->opcode == CIO_OP_READ || op->opcode == CIO_OP_WRITE) {
        one.iov_base = op->args.rw.buf;
        one.iov_len = op->args.rw.len;
    } else {
        iov = op->args.rwv.iov;
        cnt = op->args.rwv.iovcnt;
    }
    uint64_t want = 0;
    for (unsigned i = 0; i < cnt; i++) want += iov[i].iov_len;
    bool reading = end == MOCK_END_READ;
    if (!reading && !p->open[MOCK_END_READ]) return -CIO_EPIPE;
    if (want == 0) return 0;
    uint32_t possible = reading ? p->len : MOCK_PIPE_CAPACITY - p->len;
    if (possible == 0) return (reading && !p->open[MOCK_END_WRITE]) ? 0 : MOCK_PARK; /* 0: end of file */
    if (want < possible) possible = (uint32_t)want;
    uint32_t n = transfer_size(m, possible);
    return (int32_t)(reading ? mock_pipe_take(p, iov, cnt, n) : mock_pipe_put(p, iov, cnt, n));
}

/* Takes a read, write, readv, writev or poll on a simulated handle onto
 * its pipe end; 0 or the op's error. */
static int hold(mock *m, cio_op *op) {
    cio_fd fd = cio__op_file(op);
    if (!mock_is_simulated(fd)) return -CIO_ENOSYS; /* a real handle: never touched */
    int end;
    mock_pipe *p = mock_pipe_find(&m->world, fd, &end);
    if (!p) return -CIO_EBADF;
    if (op->flags & CIO_F_MULTISHOT) return -CIO_ENOSYS; /* not simulated yet */
    bool reads = op->opcode == CIO_OP_READ || op->opcode == CIO_OP_READV;
    bool writes = op->opcode == CIO_OP_WRITE || op->opcode == CIO_OP_WRITEV;
    if ((reads && end != MOCK_END_READ) || (writes && end != MOCK_END_WRITE)) return -CIO_EBADF; /* as pipe(2)'s ends */
    op->internal_.bflags = MB_WORLD;
    opq_push(&p->ops[end], op);
    return 0;
}

/* Takes `op` out of wherever the mock holds it. */
static void unhold(mock *m, cio_op *op) {
    uint16_t bf = op->internal_.bflags;
    if (bf & MB_DUE) cio__heap_take(&m->due, op);
    if (bf & MB_WORLD) {
        int end;
        mock_pipe *p = mock_pipe_find(&m->world, cio__op_file(op), &end);
        if (p) opq_remove(&p->ops[end], op);
    }
    op->internal_.bflags = 0;
}

/* A close of a simulated handle: the ops held on it end first, with
 * -CIO_ECANCELED (op.h), then the end closes, which the other end's ops
 * see (end of file, EPIPE, POLLHUP, POLLERR). 0 or the close's error. */
static int close_end(cio_loop *loop, mock *m, cio_fd fd) {
    if (!mock_is_simulated(fd)) return -CIO_ENOSYS;
    int end;
    mock_pipe *p = mock_pipe_find(&m->world, fd, &end);
    if (!p) return -CIO_EBADF;
    cio_op *op;
    while ((op = p->ops[end].head)) {
        unhold(m, op);
        op->internal_.iflags |= IF_CANCELLED; /* ended by the close, not by its deadline */
        cio__ready(loop, op, -CIO_ECANCELED);
    }
    mock_pipe *left = mock_pipe_close_end(&m->world, fd);
    if (left) wake(m, left);
    return 0;
}

static int mock_submit(cio_loop *loop, cio_op *op) {
    mock *m = state(loop);
    int r = 0;
    op->internal_.bflags = 0;
    switch (op->opcode) {
    case CIO_OP_POST:
        return -CIO_ENOTSUP; /* the core posts through the target's queue */
    case CIO_OP_NOP:
        break;
    case CIO_OP_CLOSE:
        r = close_end(loop, m, op->args.close.fd);
        break;
    case CIO_OP_READ:
    case CIO_OP_WRITE:
    case CIO_OP_READV:
    case CIO_OP_WRITEV:
    case CIO_OP_POLL:
        r = hold(m, op);
        break;
    default:
        return -CIO_ENOSYS; /* the rest of the simulated world is not built yet */
    }
    if (r < 0) return r;
    schedule(m, op);
    mix(m, ++m->submitted);
    return 0;
}

static int mock_cancel(cio_loop *loop, cio_op *target, cio_op *carrier) {
    unhold(state(loop), target);
    cio__ready(loop, target, -CIO_ECANCELED);
    if (carrier) cio__ready(loop, carrier, 0);
    return 0;
}

static void mock_cancel_all(cio_loop *loop) {
    mock *m = state(loop);
    for (uint32_t i = 0; i < m->world.cap; i++)
        for (int end = 0; m->world.pipes[i] && end < 2; end++)
            while (m->world.pipes[i]->ops[end].head) mock_cancel(loop, m->world.pipes[i]->ops[end].head, NULL);
    while (m->due.root) mock_cancel(loop, m->due.root, NULL);
}

/* Completes, in virtual time order, every op due by now: an op on a pipe
 * is tried then, and parks instead if it cannot go on yet. */
static int deliver_due(cio_loop *loop, mock *m) {
    int n = 0;
    cio_op *op;
    while ((op = m->due.root) && op->internal_.when <= m->now) {
        cio__heap_take(&m->due, op);
        uint16_t bf = op->internal_.bflags;
        op->internal_.bflags = bf & (uint16_t)~MB_DUE;
        /* Its deadline came first: -CIO_ECANCELED, which the core reports
         * as -CIO_ETIMEDOUT for a backend that keeps deadlines. */
        int32_t res = (bf & MB_TIMED_OUT) ? -CIO_ECANCELED : 0;
        if (bf & MB_WORLD) {
            int end;
            mock_pipe *p = mock_pipe_find(&m->world, cio__op_file(op), &end);
            if (!(bf & MB_TIMED_OUT)) {
                res = try_op(m, op, p, end);
                if (res == MOCK_PARK) {
                    park(m, op);
                    continue;
                }
            }
            opq_remove(&p->ops[end], op);
            if (res > 0 && op->opcode != CIO_OP_POLL) wake(m, p); /* bytes moved */
        }
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

int cio_mock_pipe(cio_loop *loop, cio_fd fds[2]) {
    if (!loop || !fds || !cio__usable(loop) || cio__core(loop)->be != &cio__backend_mock) return -CIO_EINVAL;
    return mock_pipe_make(&state(loop)->world, fds);
}
