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
 * The simulated world (mock_world.c) has pipes and connected socket pairs
 * so far; listeners and an in-memory file system are still to come
 * (issue 9): until then an op that would need them completes with
 * -CIO_ENOSYS, never with a real system call. An op on a simulated handle
 * is tried when its latency is over: it then moves its bytes (a seeded
 * number of them, as a real pipe or socket may move fewer than asked) and
 * completes at once, or, when it cannot go on yet (nothing to read, no
 * room), parks on its end until a change of the channel wakes it for
 * another try after a fresh latency. A MSG_WAITALL transfer that moved
 * some bytes tries again after a fresh latency for the rest. Nothing
 * happens to the channel before an op's try, so a cancel, a deadline or a
 * close can always end a held op without loss (a MSG_WAITALL one reports
 * the bytes it moved).
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
#define MB_WORLD 4u     /* held on a simulated end's queue (mock_chan.ops) */
#define MB_PARKED 8u    /* tried, and waits for a change of its channel */
#define MB_WAITALL 16u  /* a MSG_WAITALL transfer: op->res counts its bytes so far */

/* Tries that do not complete (see try_op). */
#define MOCK_PARK INT32_MIN
#define MOCK_MORE (INT32_MIN + 1)

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

/* `op` waits for a change of its channel; its deadline, if it has one, is
 * kept in the heap meanwhile. */
static void park(mock *m, cio_op *op) {
    op->internal_.bflags |= MB_PARKED;
    if (!op->deadline) return;
    op->internal_.when = op->deadline > m->now ? op->deadline : m->now;
    op->internal_.bflags |= MB_TIMED_OUT | MB_DUE;
    cio__heap_push(&m->due, op);
}

/* The channel changed: every op parked on it tries again after a latency. */
static void wake(mock *m, mock_chan *c) {
    for (int end = 0; end < 2; end++)
        for (cio_op *op = c->ops[end].head; op; op = OPQ_NEXT(op)) {
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

static bool is_recv(const cio_op *op) {
    return op->opcode == CIO_OP_READ || op->opcode == CIO_OP_READV || op->opcode == CIO_OP_RECV;
}

/* What a held op ended early (cancel, deadline, close) reports: a
 * MSG_WAITALL transfer the bytes it has moved (op->res counts them while
 * the mock holds it: see hold), as op.h asks of every backend. */
static int32_t early_result(const cio_op *op, int32_t res) {
    return ((op->internal_.bflags & MB_WAITALL) && op->res > 0) ? op->res : res;
}

/* A shutdown(2) of socket end `end`, now. */
static int32_t shut(mock *m, cio_op *op, mock_chan *c, int end) {
    int how = op->args.shutdown.how;
    if (how == CIO_SHUT_RD || how == CIO_SHUT_RDWR) c->shut_rd[end] = true;
    if (how == CIO_SHUT_WR || how == CIO_SHUT_RDWR) c->shut_wr[end] = true;
    wake(m, c);
    return 0;
}

/* Tries `op`, held on end `end` of `c`: its result, MOCK_PARK when it must
 * wait for a change of the channel, or MOCK_MORE when it moved bytes and
 * has more to move (MSG_WAITALL). Moves its bytes when it can. */
static int32_t try_op(mock *m, cio_op *op, mock_chan *c, int end) {
    if (op->opcode == CIO_OP_POLL) {
        uint32_t ev = mock_chan_events(c, end) & (op->args.poll.events | CIO_POLLERR | CIO_POLLHUP);
        return ev ? (int32_t)ev : MOCK_PARK;
    }
    if (op->opcode == CIO_OP_SHUTDOWN) return shut(m, op, c, end);
    cio_iovec one;
    const cio_iovec *iov = &one;
    unsigned cnt = 1;
    int flags = 0;
    uint32_t done = (op->internal_.bflags & MB_WAITALL) ? (uint32_t)op->res : 0;
    if (op->opcode == CIO_OP_RECV || op->opcode == CIO_OP_SEND) {
        one.iov_base = (char *)op->args.sr.buf + done; /* MSG_WAITALL: what is left */
        one.iov_len = op->args.sr.len - done;
        flags = op->args.sr.flags;
    } else if (op->opcode == CIO_OP_READ || op->opcode == CIO_OP_WRITE) {
        one.iov_base = op->args.rw.buf;
        one.iov_len = op->args.rw.len;
    } else {
        iov = op->args.rwv.iov;
        cnt = op->args.rwv.iovcnt;
    }
    uint64_t want = 0;
    for (unsigned i = 0; i < cnt; i++) want += iov[i].iov_len;
    bool reading = is_recv(op);
    mock_ring *r = reading ? mock_rx(c, end) : mock_tx(c, end);
    if (reading && want == 0 && !done) return 0;
    if (!r->len || !reading) {
        /* A reset is reported once, after the bytes that came before it,
         * and then the end is as closed (Linux: ECONNRESET, then 0 or
         * EPIPE). A MSG_WAITALL transfer reports its bytes first. */
        if (c->socket && c->reset[end]) {
            if (done) return (int32_t)done;
            c->reset[end] = false;
            return -CIO_ECONNRESET;
        }
        if (reading && mock_rx_done(c, end)) return (int32_t)done; /* end of file */
        if (!reading && mock_tx_broken(c, end)) return done ? (int32_t)done : -CIO_EPIPE;
    }
    if (want == 0) return (int32_t)done;
    uint32_t possible = reading ? r->len : MOCK_RING_CAPACITY - r->len;
    if (possible == 0) return (flags & CIO_MSG_DONTWAIT) ? -CIO_EAGAIN : MOCK_PARK;
    if (want < possible) possible = (uint32_t)want;
    uint32_t n = transfer_size(m, possible);
    bool peek = reading && (flags & CIO_MSG_PEEK);
    n = reading ? mock_ring_take(r, iov, cnt, n, !peek) : mock_ring_put(r, iov, cnt, n);
    if (!peek) wake(m, c); /* bytes moved: the other side may go on */
    if ((op->internal_.bflags & MB_WAITALL) && n < want) {
        op->res = (int32_t)(done + n);
        return MOCK_MORE;
    }
    return (int32_t)(done + n);
}

/* The MSG_* flags the mock knows, by direction (cio/mock.h); others are
 * -CIO_EINVAL rather than a silently different result. */
#define MOCK_RECV_FLAGS (CIO_MSG_PEEK | CIO_MSG_WAITALL | CIO_MSG_DONTWAIT)
#ifdef MSG_NOSIGNAL
#define MOCK_SEND_FLAGS (CIO_MSG_WAITALL | CIO_MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE)
#else
#define MOCK_SEND_FLAGS (CIO_MSG_WAITALL | CIO_MSG_DONTWAIT)
#endif

/* Takes a read, write, readv, writev, recv, send, shutdown or poll on a
 * simulated handle onto its end; 0 or the op's error. */
static int hold(mock *m, cio_op *op) {
    cio_fd fd = cio__op_file(op);
    if (!mock_is_simulated(fd)) return -CIO_ENOSYS; /* a real handle: never touched */
    int end;
    mock_chan *c = mock_chan_find(&m->world, fd, &end);
    if (!c) return -CIO_EBADF;
    if (op->flags & CIO_F_MULTISHOT) return -CIO_ENOSYS; /* not simulated yet */
    bool sock_op = op->opcode == CIO_OP_RECV || op->opcode == CIO_OP_SEND || op->opcode == CIO_OP_SHUTDOWN;
    if (sock_op && !c->socket) return -CIO_ENOTSOCK;
    bool reads = is_recv(op);
    bool writes = op->opcode == CIO_OP_WRITE || op->opcode == CIO_OP_WRITEV || op->opcode == CIO_OP_SEND;
    if (!c->socket && ((reads && end != MOCK_END_READ) || (writes && end != MOCK_END_WRITE)))
        return -CIO_EBADF; /* as pipe(2)'s ends */
    uint16_t bf = MB_WORLD;
    if (op->opcode == CIO_OP_SHUTDOWN) {
        int how = op->args.shutdown.how;
        if (how != CIO_SHUT_RD && how != CIO_SHUT_WR && how != CIO_SHUT_RDWR) return -CIO_EINVAL;
    } else if (op->opcode == CIO_OP_RECV || op->opcode == CIO_OP_SEND) {
        int fl = op->args.sr.flags;
        if (fl & ~(reads ? MOCK_RECV_FLAGS : MOCK_SEND_FLAGS)) return -CIO_EINVAL;
        /* As readiness.c: not with DONTWAIT (no waiting wanted) nor PEEK
         * (the same bytes would count twice), nor for 0 bytes. */
        if ((fl & CIO_MSG_WAITALL) && !(fl & (CIO_MSG_DONTWAIT | CIO_MSG_PEEK)) && op->args.sr.len) bf |= MB_WAITALL;
    }
    op->res = 0; /* MSG_WAITALL: the bytes moved so far */
    op->internal_.bflags = bf;
    opq_push(&c->ops[end], op);
    return 0;
}

/* Takes `op` out of wherever the mock holds it (its flags stay, for
 * early_result, until the next submit). */
static void unhold(mock *m, cio_op *op) {
    uint16_t bf = op->internal_.bflags;
    if (bf & MB_DUE) cio__heap_take(&m->due, op);
    if (bf & MB_WORLD) {
        int end;
        mock_chan *c = mock_chan_find(&m->world, cio__op_file(op), &end);
        if (c) opq_remove(&c->ops[end], op);
    }
    op->internal_.bflags = bf & MB_WAITALL;
}

/* A close of a simulated handle: the ops held on it end first, with
 * -CIO_ECANCELED (op.h), then the end closes, which the other end's ops
 * see (end of file, EPIPE, ECONNRESET, POLLHUP, POLLERR). 0 or the
 * close's error. */
static int close_end(cio_loop *loop, mock *m, cio_fd fd) {
    if (!mock_is_simulated(fd)) return -CIO_ENOSYS;
    int end;
    mock_chan *c = mock_chan_find(&m->world, fd, &end);
    if (!c) return -CIO_EBADF;
    cio_op *op;
    while ((op = c->ops[end].head)) {
        unhold(m, op);
        cio__ready(loop, op, early_result(op, -CIO_ECANCELED));
    }
    mock_chan *left = mock_chan_close_end(&m->world, fd);
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
    case CIO_OP_RECV:
    case CIO_OP_SEND:
    case CIO_OP_SHUTDOWN:
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
    cio__ready(loop, target, early_result(target, -CIO_ECANCELED));
    if (carrier) cio__ready(loop, carrier, 0);
    return 0;
}

static void mock_cancel_all(cio_loop *loop) {
    mock *m = state(loop);
    for (uint32_t i = 0; i < m->world.cap; i++)
        for (int end = 0; m->world.chans[i] && end < 2; end++)
            while (m->world.chans[i]->ops[end].head) mock_cancel(loop, m->world.chans[i]->ops[end].head, NULL);
    while (m->due.root) mock_cancel(loop, m->due.root, NULL);
}

/* Completes, in virtual time order, every op due by now: an op on a
 * simulated handle is tried then, and parks instead if it cannot go on
 * yet, or is scheduled again if it has more to move. */
static int deliver_due(cio_loop *loop, mock *m) {
    int n = 0;
    cio_op *op;
    while ((op = m->due.root) && op->internal_.when <= m->now) {
        cio__heap_take(&m->due, op);
        uint16_t bf = op->internal_.bflags;
        op->internal_.bflags = bf & (uint16_t)~MB_DUE;
        /* Its deadline came first. */
        int32_t res = (bf & MB_TIMED_OUT) ? early_result(op, -CIO_ETIMEDOUT) : 0;
        if (bf & MB_WORLD) {
            int end;
            mock_chan *c = mock_chan_find(&m->world, cio__op_file(op), &end);
            if (!(bf & MB_TIMED_OUT)) {
                res = try_op(m, op, c, end);
                if (res == MOCK_PARK) {
                    park(m, op);
                    continue;
                }
                if (res == MOCK_MORE) {
                    schedule(m, op);
                    continue;
                }
            }
            opq_remove(&c->ops[end], op);
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
    return mock_chan_make(&state(loop)->world, false, fds);
}

int cio_mock_socketpair(cio_loop *loop, cio_fd fds[2]) {
    if (!loop || !fds || !cio__usable(loop) || cio__core(loop)->be != &cio__backend_mock) return -CIO_EINVAL;
    return mock_chan_make(&state(loop)->world, true, fds);
}
