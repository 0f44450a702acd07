/*
 * src/core/internal.h - the core's private loop state and the functions the
 * core offers to backends. Nothing here is public.
 *
 * The core owns what is the same on every backend: the op life cycle
 * (states below), link chains, the timers, the ready queue of
 * completions the core produced itself, cross-thread posts and wakes, and
 * the counters. A backend only turns ops into system calls.
 */
#ifndef CIO_CORE_INTERNAL_H
#define CIO_CORE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "cio.h"
#include "opdef.h"
#include "queue.h"
#include "msg.h"

/* Linux interfaces beyond POSIX (statx, accept4, splice, renameat2) are
 * used only here; CIO_POSIX_ONLY builds what macOS and the BSDs would. */
#if defined(__linux__) && !defined(CIO_POSIX_ONLY)
#define CIO_LINUX 1
#else
#define CIO_LINUX 0
#endif

/* Sends never raise SIGPIPE (io_uring's don't either): a peer that went away
 * is an error result, not the death of the process. */
#ifdef MSG_NOSIGNAL
#define CIO_MSG_NOSIGNAL MSG_NOSIGNAL
#else
#define CIO_MSG_NOSIGNAL 0
#endif

/* A pairing heap of ops keyed by (internal_.when, internal_.seq): equal
 * times come out in the order they went in (timer_heap.c). */
typedef struct cio_heap {
    cio_op *root;
    uint32_t seq;
} cio_heap;

/* The core's timers and deadlines (timer_wheel.c). The wheel's slots do
 * not fit in cio_loop, so cio_loop_init() allocates them; `count` makes
 * "any timer?", asked every turn, one load. */
typedef struct cio_timers {
    struct cio_wheel *wheel;
    size_t count;
    size_t never; /* of them, those due at CIO_TIMEOUT_NEVER: no time to wait for */
} cio_timers;

/* Where an op is in its life (op->internal_.state). */
enum {
    OP_IDLE = 0, /* not submitted, or its final completion has started */
    OP_BACKEND,  /* handed to the backend (in the kernel, or staged for it) */
    OP_TIMER,    /* a CIO_OP_TIMEOUT waiting in the core's timers */
    OP_READY,    /* result known, callback queued on the ready queue */
    OP_CHAINED,  /* waiting for the op before it in a link chain */
    OP_POSTED,   /* a message queued for another loop */
    OP_POOL,     /* queued on or running in the blocking pool */
    OP_HOOK,     /* registered with cio_loop_at_close(); not counted as active */
    OP_LINKED    /* held by the backend in a link chain it runs in the kernel, behind an op
                    of the chain whose completion the core has not seen yet (backend.h:
                    submit_chain); in flight for cancels, like OP_BACKEND */
};

/* op->internal_.iflags */
enum {
    IF_CANCELLED = 1 << 0,     /* someone asked to cancel it */
    IF_DEADLINE_HEAP = 1 << 1, /* its deadline sits in the core's heap */
    IF_TIMED_OUT = 1 << 2,     /* the core's deadline fired first */
    IF_IN_HEAP = 1 << 3,       /* it is linked into the heap right now */
    IF_CHAIN_BROKEN = 1 << 4,  /* cancelled because an op before it in its chain
                                  failed; its own hard link must not revive the chain */
    IF_BACKOFF = 1 << 5,       /* an accept that ran out of descriptors waits in the
                                  heap before it goes on (see accept_backoff) */
    IF_CLOSE_HELD = 1 << 6,    /* a close waiting on the ready queue behind the pool
                                  ops it ended (see close_after_pool) */
    IF_BUFPOOL = 1 << 7        /* a recv_pool counted in its pool's users (bufpool.h) */
};
/* An accelerated opcode (opdef `base`): its final completion undoes what
 * its submission did (the opcode it ran as, the registered buffers' count
 * of users: op.c, fixed_buf.c). It shares IF_BACKOFF's bit, as no op is
 * both: that one is only ever set on an accept. */
#define IF_ACCEL IF_BACKOFF

struct cio_backend;

/* The loop's private state, placed in cio_loop.internal_.bytes. */
typedef struct cio_core {
    const struct cio_backend *be;
    uint64_t now;        /* cached clock; see cio__now() */
    bool now_stale;      /* a new turn began since `now` was read */
    unsigned active;     /* ops submitted and not finally completed */
    cio_timers timers;   /* timers and core deadlines */
    opq ready;           /* ops whose result the core set, callbacks to run */
    opq close_hooks;     /* cio_loop_at_close() ops, newest first; then the core's own (last) */
    _Atomic(cio_op *) posts; /* LIFO stack of posted messages, pushed by any thread */
    atomic_int wake_pending; /* a wake is on its way; coalesces cio_loop_wake() */
    bool running;            /* inside cio_loop_run() */
    bool stop;               /* cio_loop_stop() was called */
    bool closing;            /* inside cio_loop_close() */
    bool accepting;          /* set up, not closing, not inherited across fork(): the one
                                test cio_submit() makes on its fast path (all zero: false) */
    bool inherited;          /* a forked child's copy: its kernel objects are the parent's */
    struct cio_core *live_next, *live_prev; /* the process's accepting loops (fork) */
    atomic_uint pool_held;    /* ops the blocking pool holds or is still handing back */
    atomic_uint pool_cancels; /* of those, running ones asked to stop (re-signalled each turn) */
    unsigned pool_running;    /* running on pool threads; the pool's mutex guards it */
    cio_stats stats;
    uint64_t accel;           /* the accelerated opcodes (opdef `base`), bit 1 << opcode, that the
                                 backend runs itself; the core runs the others as their base */
    struct {
        struct cio_fixed_table *t; /* cio_buffers_register()'s table (a copy), or NULL */
        uint32_t users;       /* submitted ops that name it, not yet completed */
    } fixed_bufs;             /* fixed_buf.c */
    struct cio_files *files;  /* cio_files_reserve()'s record of fixed handles, or NULL
                                 (fixed_file.c) */
    /* The backend's own state; each backend asserts that it fits. */
    _Alignas(8) unsigned char backend[768];
} cio_core;

_Static_assert(sizeof(cio_core) <= CIO_LOOP_INTERNAL_SIZE, "cio_core must fit in cio_loop");
_Static_assert(_Alignof(cio_core) <= _Alignof(void *), "cio_loop.internal_ is only pointer-aligned");

static inline cio_core *cio__core(cio_loop *loop) { return (cio_core *)(void *)loop->internal_.bytes; }
static inline const cio_core *cio__ccore(const cio_loop *loop) {
    return (const cio_core *)(const void *)loop->internal_.bytes;
}
#define CIO_BACKEND_STATE(loop, type) ((type *)(void *)cio__core(loop)->backend)

/* ---- what the core offers backends ---- */

/* The final completion of `op` with `res`: callback, then its link chain.
 * The common case (no chain, no deadline, no pool, no fixed-handle record
 * to change, res >= 0) is inline, since the backends call it once per
 * completion from their reap loops; the rest is cio__complete_slow(). */
void cio__complete_slow(cio_loop *loop, cio_op *op, int32_t res);
static inline void cio__complete(cio_loop *loop, cio_op *op, int32_t res); /* below the macros */

/* cio_loop_at_close() for the core's own resources (buffer pools,
 * registered buffers, the fixed-file table): the hook runs after every
 * hook of cio_loop_at_close(), whenever it was registered, so that what
 * those hooks end (tasks, whose cleanup may give a pool's buffer back)
 * still finds the resource there. */
int cio__loop_at_close_last(cio_loop *loop, cio_op *hook);

/* A non-final completion of a multishot op (CIO_F_MORE set for the callback). */
void cio__complete_more(cio_loop *loop, cio_op *op, int32_t res);

/* Set `op`'s result now and run its callback from the ready queue later in
 * this turn: for results known inside a call that must not run callbacks. */
void cio__ready(cio_loop *loop, cio_op *op, int32_t res);

/* cio__ready onto another queue `q`, whose owner runs the callbacks (the
 * readiness layer's, at the end of a handle's dispatch) or appends what is
 * left to the ready queue. */
static inline void cio__ready_on(opq *q, cio_op *op, int32_t res) {
    op->res = res;
    op->internal_.state = OP_READY;
    opq_push(q, op);
}

/* Deliver a message another loop posted here (MSG_RING or the queue). */
void cio__deliver_post(cio_loop *loop, cio_op *msg);

/* Pushes `op` on the loop's stack of posts and pool results; any thread.
 * Returns whether the stack was empty (the loop then needs a wake). */
static inline bool cio__posts_push(cio_core *c, cio_op *op) {
    cio_op *head = atomic_load_explicit(&c->posts, memory_order_relaxed);
    do {
        op->internal_.next = head;
    } while (!atomic_compare_exchange_weak_explicit(&c->posts, &head, op, memory_order_release,
                                                    memory_order_relaxed));
    return head == NULL;
}

/* The backend saw its wake event: later wakes must signal it again. */
void cio__wake_consumed(cio_loop *loop);

/* Execute `op` with plain system calls on this thread; returns the result.
 * The fallback for opcodes a backend does not run itself. */
int32_t cio__sync_exec(cio_op *op);

/* An open never blocks on a FIFO (op.h): it is made with O_NONBLOCK added,
 * as io_uring's own openat does. For the caller who did not ask for it,
 * this clears O_NONBLOCK on the new handle `fd`; returns `fd`, or closes it
 * and returns the error. */
int32_t cio__open_done(int fd);

/* The result of an op that made the handle `fd` (openat, socket, accept),
 * as cio_op_fd() reads it: on POSIX the descriptor itself; on Windows 0,
 * with the handle kept in op->internal_.win.handle, which shares memory
 * with the OVERLAPPED: call it only once the op has left the kernel. */
static inline int32_t cio__fd_result(cio_op *op, cio_fd fd) {
#if defined(_WIN32)
    op->internal_.win.handle = fd;
    return 0;
#else
    (void)op;
    return (int32_t)fd;
#endif
}

/* ---- the blocking pool (pool.c) ---- */

/* Queues `op` (state becomes OP_POOL) to run cio__sync_exec() on a pool
 * thread; its result comes back on the loop's post queue. Returns 0 or
 * -CIO_EAGAIN when no thread can be started. */
int cio__pool_submit(cio_op *op);

/* Takes `op` back if no thread has started it: 0, else -CIO_EALREADY. */
int cio__pool_cancel(cio_op *op);

/* Takes back every queued op of `loop` (loop close); returns them linked
 * through internal_.next. */
cio_op *cio__pool_take_all(cio_loop *loop);

/* Signals again the threads of `loop`'s cancelled running ops: the first
 * signal may have come just before the thread entered its system call. */
void cio__pool_kick(cio_loop *loop);

/* Waits until no pool thread can touch `loop` (cio_loop_close). */
void cio__pool_quiesce(cio_loop *loop);

/* Before a close of `fd` through `loop`: takes back the loop's queued pool
 * ops that use `fd` and interrupts its running ones, waits until none of
 * them runs, and puts them all on the ready queue (-CIO_ECANCELED, or the
 * result an op reached first). Returns whether the close must wait behind
 * anything: such ops, or finished pool ops still in the post queue. */
bool cio__pool_close_fd(cio_loop *loop, cio_fd fd);

/* How often a loop with pool cancels pending signals again, at least. */
#define CIO_POOL_RESIGNAL_NS (10 * 1000 * 1000)
static inline int64_t cio__pool_cap_wait(cio_core *c, int64_t budget) {
    if (atomic_load_explicit(&c->pool_cancels, memory_order_relaxed) &&
        (budget < 0 || budget > CIO_POOL_RESIGNAL_NS))
        return CIO_POOL_RESIGNAL_NS;
    return budget;
}

/* Whether `loop` can be used here: set up, not closed, not inherited
 * across fork(). The check every public entry point makes; it reads only
 * what does not change while other threads may call (wake, post): `be`
 * goes only once the close no longer lets them, and `inherited` is set in
 * a forked child, where no other thread runs. */
static inline bool cio__usable(const cio_loop *loop) {
    const cio_core *c = cio__ccore(loop);
    return c->be && !c->inherited;
}

/* The error for a loop that cio__usable() refuses (or NULL): -CIO_EINVAL
 * when never set up or closed, -CIO_EPERM when inherited across fork(). */
static inline int cio__refusal(const cio_loop *loop) {
    if (!loop || !cio__ccore(loop)->be) return -CIO_EINVAL;
    return -CIO_EPERM;
}

/* The loop's clock: the backend's (a simulated one is virtual), else the
 * system's. Read it through cio__now(). */
uint64_t cio__clock(cio_core *c);

/* The loop's time: read from the clock at most once per turn, and only when
 * someone needs it (a turn with no timers and no relative timeouts never
 * reads the clock). */
static inline uint64_t cio__now(cio_core *c) {
    if (c->now_stale) {
        c->now = cio__clock(c);
        c->now_stale = false;
    }
    return c->now;
}

/* ThreadSanitizer sees atomics and locks, not a hand-off through the
 * kernel (a message that MSG_RING carries into another thread's ring):
 * the sender releases the message, the receiver acquires it. */
#if defined(__SANITIZE_THREAD__)
#define CIO_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CIO_UNDER_TSAN 1
#endif
#endif
#ifdef CIO_UNDER_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define cio__tsan_release(p) __tsan_release(p)
#define cio__tsan_acquire(p) __tsan_acquire(p)
#else
#define cio__tsan_release(p) ((void)(p))
#define cio__tsan_acquire(p) ((void)(p))
#endif

#if defined(__GNUC__)
#define CIO_LIKELY(x) __builtin_expect(!!(x), 1)
#define CIO_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CIO_NOINLINE __attribute__((noinline))
#define CIO_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define CIO_LIKELY(x) (x)
#define CIO_UNLIKELY(x) (x)
#define CIO_NOINLINE
#define CIO_ALWAYS_INLINE inline
#endif

/* Whether a completion changes the record of fixed handles: an op that
 * makes one or closes one. An op that only uses one stays on the fast
 * path. */
static inline bool cio__fixed_record_changes(const cio_op *op) {
    return (op->flags & CIO_F_FIXED_FILE) && (cio__opdef(op)->fixed & (OPD_FIX_NEW | OPD_FIX_CLOSE));
}

static inline void cio__complete(cio_loop *loop, cio_op *op, int32_t res) {
    if (CIO_UNLIKELY(op->internal_.iflags || op->internal_.link || res < 0 || cio__fixed_record_changes(op))) {
        cio__complete_slow(loop, op, res);
        return;
    }
    cio_core *c = cio__core(loop);
    op->internal_.state = OP_IDLE;
    op->flags &= (uint8_t)~CIO_F_MORE;
    op->res = res;
    c->active--;
    c->stats.ops_completed++;
    if (op->cb) op->cb(loop, op);
}

/* Fires the timers that are due at core->now and enforces core deadlines. */
void cio__timers_expire(cio_loop *loop);

/* ---- the core's timers (timer_wheel.c) ---- */
/* The core's timers and deadlines, keyed by internal_.when and ordered
 * among equal times by arming (internal_.seq). IF_IN_HEAP says an op is in
 * them; the names keep the word "heap" from before the wheel. Insert and
 * remove are O(1); an op lends internal_.u, .when and .seq meanwhile. */
void cio__heap_insert(cio_core *core, cio_op *op);
void cio__heap_remove(cio_core *core, cio_op *op);

/* Allocates the wheel (cio_loop_init, before any timer): 0 or -CIO_ENOMEM.
 * cio__timers_fini frees it (idempotent), once no op is in it or the loop
 * is a forked child's copy. */
int cio__timers_init(cio_core *core);
void cio__timers_fini(cio_core *core);

static inline bool cio__timers_pending(const cio_core *core) { return core->timers.count != 0; }

/* Takes out and returns the earliest op due at `now` (when <= now), or
 * NULL: called until NULL, it yields every due op in (when, seq) order. */
cio_op *cio__timers_due(cio_core *core, uint64_t now);

/* At most this many timers fire in one turn; the rest are still due, so
 * the next turn's wait is 0. Their completions then go through the ready
 * queue while the ops are still in the cache: a million timers due at
 * once (a loop far behind, a burst of equal deadlines) would otherwise
 * make a queue too long for it, each op read from memory twice. */
#define CIO_TIMERS_BATCH 1024

/* When the backend must wake at the latest for the timers: false if there
 * are none. Never later than the earliest `when`; earlier (the start of a
 * wheel slot, where the timers' exact times are not sorted yet) at most
 * once per wheel level on the way to it, so a wait never oversleeps and
 * never spins. */
bool cio__timers_next(cio_core *core, uint64_t *when);

/* The earliest op, or NULL; it stays in (cio_loop_close empties them). */
cio_op *cio__timers_first(cio_core *core);

/* Any heap of ops keyed by internal_.when, through internal_.u.heap (a
 * backend's own, for an op whose deadline it keeps: backend.h). Push
 * numbers the op for the order among equal times; add keeps its number. */
void cio__heap_push(cio_heap *h, cio_op *op);
void cio__heap_add(cio_heap *h, cio_op *op);
void cio__heap_take(cio_heap *h, cio_op *op);

#endif /* CIO_CORE_INTERNAL_H */
