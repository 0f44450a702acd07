/*
 * src/core/pool.c - the blocking pool: threads that run ops the backend
 * cannot do asynchronously (file IO on the readiness backends, opcodes the
 * running kernel's io_uring lacks) and hand each result back to the op's
 * loop, where its callback runs like any other completion.
 *
 * One pool serves every loop in the process. Threads start lazily, one per
 * queued op that finds no idle thread, up to CIO_POOL_MAX_THREADS (or the
 * environment's CIO_POOL_THREADS); a thread idle for a while exits. Ops
 * queue intrusively (queue.h), so the pool allocates
 * nothing but its threads. A finished op travels back on the loop's post
 * queue (the same lock-free stack cio_loop_post() uses) with a wake.
 *
 * Fairness: one loop runs at most per_loop ops at a time (half the threads,
 * at most CIO_POOL_PER_LOOP), so that a loop whose ops block for good (a
 * splice from an empty pipe, an open on a hung network file system) cannot
 * take every thread from the others. Its further ops wait in the queue;
 * the other loops' ops pass them.
 *
 * Cancel: a queued op is taken back. A running one is interrupted (but
 * never the caller's own function, CIO_OP_CALL, which runs to its end): its
 * thread gets POOL_SIGNAL, whose handler only notes that it came and is
 * installed without SA_RESTART, so a blocking system call returns EINTR and
 * the op completes with -CIO_ECANCELED. The signal may land just before the
 * thread enters the call; the loop therefore signals again each turn
 * (waiting at most CIO_POOL_RESIGNAL_NS), one signal in flight per thread,
 * until the op is back. "In flight" ends when the handler has run, or
 * POOL_RESEND_NS after the sending: a handler may run late (ThreadSanitizer
 * defers an asynchronous signal to the thread's next intercepted call,
 * which for a thread that took it just before splice() never comes), and
 * such a thread must still be interrupted. Pool threads block every
 * other signal, so the process's signals never land on them. What the
 * kernel does not interrupt (a disk read under way) finishes on its own.
 *
 * Close: a close through cio of a handle takes back the loop's queued ops
 * that use it and interrupts its running ones, and waits until none runs
 * (cio__pool_close_fd): the close must not run, nor its number be reused,
 * under an op on a pool thread. Those ops are handed straight back to the
 * closing thread rather than through the post queue.
 *
 * Lifetime: every op the pool holds counts in its loop's pool_held until
 * the pool thread has finished waking the loop; cio_loop_close() waits for
 * zero before it releases the wake handle and the caller frees the loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if !defined(_WIN32)
#include <pthread.h>
#include <signal.h>
#endif

#include "internal.h"
#include "thread.h"

#define CIO_POOL_MAX_THREADS 64
#define CIO_POOL_PER_LOOP 8
#define CIO_POOL_IDLE_SECONDS 5
/* A signal whose handler has not run this long after it was sent is sent
 * again (see the top). Rare enough that a thread in uninterruptible IO is
 * not buried under queued real-time signals. */
#define POOL_RESEND_NS (20 * 1000 * 1000)
/* How often a close waiting for a pool op signals it again. */
#define POOL_CLOSE_RESIGNAL_NS (5 * 1000 * 1000)

/* A close waiting for the running ops that use its handle
 * (cio__pool_close_fd); lives on the closing thread's stack. */
typedef struct closer {
    opq done;         /* ops handed back, finished */
    unsigned running; /* ops claimed and still running */
} closer;

/* One pool thread; lives on its own stack, linked in pool.workers. */
typedef struct worker {
    lnode node;
    cio__intr *intr;            /* how to interrupt its blocking call */
    cio_op *op;                 /* running, or NULL */
    bool cancel;                /* someone asked `op` to stop */
    atomic_bool signal_pending; /* sent, and its handler has not run yet */
    uint64_t sent_ns;           /* when the last signal was sent */
    closer *closer;             /* a close waits for `op`: hand it back there */
} worker;

static struct {
    cio__mutex mu;
    cio__cond work;
    cio__cond done;    /* a claimed op was handed back to its closer */
    cio__cond started; /* `starting` dropped to 0 */
    opq queue;              /* queued ops */
    list workers;           /* every running thread */
    unsigned threads;       /* running workers, and those being started */
    unsigned starting;      /* of those, threads being created (not yet in `workers`) */
    unsigned idle;       /* workers waiting for work */
    unsigned wakeups;    /* signals sent to idle workers, not yet taken */
    unsigned max;        /* thread cap */
    unsigned per_loop;   /* ops of one loop running at once */
} pool = {CIO__MUTEX_INIT, CIO__COND_INIT, CIO__COND_INIT, CIO__COND_INIT,
        {NULL, NULL}, {NULL, NULL}, 0, 0, 0, 0, 0, 0};

/* Every worker `w`, pool.mu held. */
#define FOR_EACH_WORKER(w) \
    for (worker *w = worker_of(pool.workers.head); w; w = worker_of(w->node.next))

static worker *worker_of(lnode *n) { return n ? LIST_ENTRY(n, worker, node) : NULL; }

/* fork() copies the pool's bookkeeping but not its threads: the child
 * starts with an empty pool (and a mutex nobody holds). Ops the parent's
 * pool held are lost to the child's copies of their loops. */
static void before_fork(void) { cio__mutex_lock(&pool.mu); }
static void after_fork_parent(void) { cio__mutex_unlock(&pool.mu); }
static void after_fork_child(void) {
    cio__mutex_init(&pool.mu);
    cio__cond_init(&pool.work);
    cio__cond_init(&pool.done);
    cio__cond_init(&pool.started);
    pool.queue = (opq){NULL, NULL};
    pool.workers = (list){NULL, NULL};
    pool.threads = pool.starting = pool.idle = pool.wakeups = 0;
}

/* ---- interrupting a pool thread (thread.h: a signal, or CancelSynchronousIo) ---- */

/* Called with pool.mu held, so `w` is alive and still runs the op it ran
 * when the caller looked. A signal that arrives after that op is done
 * makes a later call return EINTR early: run() restarts those. One signal
 * at a time: real-time signals queue, and a loop that turns without
 * waiting would otherwise bury a thread (say, one in uninterruptible disk
 * IO) under a backlog of them. But not forever: a handler that has not
 * run after POOL_RESEND_NS may have been deferred (see the top). */
static void interrupt(worker *w) {
    uint64_t now = cio__clock_ns();
    if (atomic_exchange_explicit(&w->signal_pending, true, memory_order_relaxed) &&
        now - w->sent_ns < POOL_RESEND_NS)
        return;
    w->sent_ns = now;
    int r = cio__intr_send(w->intr);
    if (r != 0) atomic_store_explicit(&w->signal_pending, false, memory_order_relaxed);
}

/* Marks the op `w` runs as cancelled and interrupts it; pool.mu held. */
static void cancel_running(worker *w) {
    /* The caller's own function is never interrupted (op.h: cio_prep_call):
     * it completes when it returns, cancelled or not. Not marked either, so
     * that nothing signals it later (the kick, a close's resends: a CALL
     * names no handle), nor counts it as a cancel to repeat each turn. */
    if (w->op->opcode == CIO_OP_CALL) return;
    if (!w->cancel) {
        w->cancel = true;
        atomic_fetch_add_explicit(&cio__core(w->op->internal_.loop)->pool_cancels, 1, memory_order_relaxed);
    }
    interrupt(w);
}

/* ---- the threads ---- */

static unsigned env_threads(void) {
    const char *env = getenv("CIO_POOL_THREADS");
    long n = env ? strtol(env, NULL, 10) : 0;
    return n > 0 && n <= 1024 ? (unsigned)n : CIO_POOL_MAX_THREADS;
}

static cio__once setup_once = CIO__ONCE_INIT;
static void setup(void) {
    cio__atfork(before_fork, after_fork_parent, after_fork_child);
    cio__intr_setup();
    pool.max = env_threads();
    pool.per_loop = pool.max / 2 < CIO_POOL_PER_LOOP ? pool.max / 2 : CIO_POOL_PER_LOOP;
    if (pool.per_loop == 0) pool.per_loop = 1;
}

/* Puts a finished op on its loop's post queue; pool.mu held, so that a
 * close (cio__pool_close_fd) sees each op either still running or posted.
 * Returns whether the queue was empty (the loop then needs a wake). */
static bool post_back(cio_op *op) {
    return cio__posts_push(cio__core(op->internal_.loop), op);
}

/* The caller's function (CIO_OP_CALL), with the pool's interrupt signal
 * blocked too: a late one, sent for the op this thread ran before, must
 * not break a blocking call of the user's with EINTR. It stays pending and
 * lands once the function has returned. Windows interrupts with
 * CancelSynchronousIo, which leaves nothing behind. */
static int32_t call_user(cio_op *op) {
#if defined(_WIN32)
    return cio__sync_exec(op);
#else
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int32_t res = cio__sync_exec(op);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return res;
#endif
}

/* Runs the op. EINTR means "cancelled" only if someone asked; otherwise it
 * is a stray signal (ours, late) and the call starts again. */
static int32_t run(worker *w, cio_op *op) {
    if (op->opcode == CIO_OP_CALL) return call_user(op);
    for (;;) {
        int32_t res = cio__sync_exec(op);
        if (res != -CIO_EINTR) return res;
        cio__mutex_lock(&pool.mu);
        bool cancel = w->cancel;
        cio__mutex_unlock(&pool.mu);
        if (cancel) return -CIO_ECANCELED;
        if (op->opcode == CIO_OP_CONNECT) return res; /* it goes on in the kernel: EALREADY next */
    }
}

/* The first queued op whose loop may run another; pool.mu held. */
static cio_op *take_eligible(void) {
    /* Usually the first: only a loop at its share leaves ops in front. */
    for (cio_op *op = pool.queue.head; op; op = OPQ_NEXT(op)) {
        if (cio__core(op->internal_.loop)->pool_running >= pool.per_loop) continue;
        opq_remove(&pool.queue, op);
        return op;
    }
    return NULL;
}

static void worker_main(void *arg) {
    (void)arg;
    worker self = {{NULL, NULL}, NULL, NULL, false, false, 0, NULL};
    /* Created with every signal blocked; only the pool's own gets through. */
    self.intr = cio__intr_thread_begin(&self.signal_pending);

    cio__mutex_lock(&pool.mu);
    list_push(&pool.workers, &self.node);
    if (--pool.starting == 0) cio__cond_broadcast(&pool.started);
    bool timed_out = false;
    for (;;) {
        cio_op *op = take_eligible();
        if (!op) {
            if (timed_out) break;
            pool.idle++;
            int r = cio__cond_wait_ns(&pool.work, &pool.mu, (uint64_t)CIO_POOL_IDLE_SECONDS * 1000000000u);
            pool.idle--;
            if (pool.wakeups) pool.wakeups--;
            timed_out = r == -CIO_ETIMEDOUT;
            continue;
        }
        timed_out = false;
        cio_core *c = cio__core(op->internal_.loop);
        c->pool_running++;
        self.op = op;
        self.cancel = false;
        cio__mutex_unlock(&pool.mu);

        int32_t res = run(&self, op);

        cio_loop *loop = op->internal_.loop;
        cio__mutex_lock(&pool.mu);
        self.op = NULL;
        c->pool_running--;
        if (self.cancel) atomic_fetch_sub_explicit(&c->pool_cancels, 1, memory_order_relaxed);
        op->res = res;
        closer *cl = self.closer;
        self.closer = NULL;
        if (cl) { /* its loop's thread waits in cio__pool_close_fd, alive */
            opq_push(&cl->done, op);
            cl->running--;
            atomic_fetch_sub_explicit(&c->pool_held, 1, memory_order_relaxed);
            cio__cond_broadcast(&pool.done);
            continue;
        }
        bool wake = post_back(op);
        cio__mutex_unlock(&pool.mu);
        /* The loop may have completed the op and be closing already; it waits
         * for the count below, so the loop and its wake handle live until then. */
        if (wake) cio_loop_wake(loop);
        atomic_fetch_sub_explicit(&c->pool_held, 1, memory_order_release);
        cio__mutex_lock(&pool.mu);
    }
    cio__intr_thread_end(self.intr);
    list_remove(&pool.workers, &self.node);
    pool.threads--;
    cio__mutex_unlock(&pool.mu);
}

/* Starts a thread with every signal blocked; pool.mu not held: creating a
 * thread maps its stack, which may take a while, and every loop's pool
 * traffic waits for the mutex. The caller counted the thread in
 * pool.threads beforehand (so that the cap holds while it starts). */
static bool start_thread(void) {
    static const cio__thread_entry entry = {worker_main, NULL};
    return cio__thread_start(&entry, 256 * 1024, true) == 0;
}

/* Whether `op` belongs to the loop `arg`; for opq_take_if(). */
static bool of_loop(const cio_op *op, const void *arg) { return op->internal_.loop == arg; }

/* Moves the queued ops that `pick` chooses to `out` and uncounts them;
 * pool.mu held. */
static void take_queued(opq *out, cio_core *c, bool (*pick)(const cio_op *op, const void *arg), const void *arg) {
    unsigned n = opq_take_if(&pool.queue, out, pick, arg);
    atomic_fetch_sub_explicit(&c->pool_held, n, memory_order_relaxed);
}

/* ---- what the core calls ---- */

int cio__pool_submit(cio_op *op) {
    cio__once_run(&setup_once, setup);
    cio_core *c = cio__core(op->internal_.loop);
    cio__mutex_lock(&pool.mu);
    op->internal_.state = OP_POOL;
    opq_push(&pool.queue, op);
    unsigned held = atomic_fetch_add_explicit(&c->pool_held, 1, memory_order_relaxed) + 1;
    bool start = false;
    /* Beyond its share, the op waits for one of its loop's own to finish:
     * the thread that ran it takes the next. */
    if (held <= pool.per_loop) {
        if (pool.idle > pool.wakeups) {
            pool.wakeups++;
            cio__cond_signal(&pool.work);
        } else if (pool.threads < pool.max) {
            pool.threads++; /* counted now, created below without the mutex */
            pool.starting++;
            start = true;
        }
    }
    cio__mutex_unlock(&pool.mu);
    if (!start || start_thread()) return 0;

    cio__mutex_lock(&pool.mu);
    pool.threads--;
    if (--pool.starting == 0) cio__cond_broadcast(&pool.started);
    /* Another thread being created may yet run the op: wait for how every
     * creation under way ends (rare: pthread_create() failed). Then, with
     * no thread at all, nothing will run the op if it is still queued: take
     * it back out, and the caller completes it with the error. */
    while (pool.starting > 0) cio__cond_wait(&pool.started, &pool.mu);
    int r = 0;
    if (pool.threads == 0 && opq_remove(&pool.queue, op)) {
        atomic_fetch_sub_explicit(&c->pool_held, 1, memory_order_relaxed);
        r = -CIO_EAGAIN;
    }
    cio__mutex_unlock(&pool.mu);
    return r;
}

int cio__pool_cancel(cio_op *op) {
    cio__mutex_lock(&pool.mu);
    int r = -CIO_EALREADY; /* running or finished: it completes with its own result */
    if (opq_remove(&pool.queue, op)) {
        atomic_fetch_sub_explicit(&cio__core(op->internal_.loop)->pool_held, 1, memory_order_relaxed);
        r = 0;
    } else {
        FOR_EACH_WORKER(w) if (w->op == op) cancel_running(w);
    }
    cio__mutex_unlock(&pool.mu);
    return r;
}

cio_op *cio__pool_take_all(cio_loop *loop) {
    opq taken = {NULL, NULL};
    cio__mutex_lock(&pool.mu);
    take_queued(&taken, cio__core(loop), of_loop, loop);
    /* What runs is interrupted; it comes back through the post queue. */
    FOR_EACH_WORKER(w) if (w->op && w->op->internal_.loop == loop) cancel_running(w);
    cio__mutex_unlock(&pool.mu);
    return taken.head;
}

void cio__pool_kick(cio_loop *loop) {
    cio__mutex_lock(&pool.mu);
    FOR_EACH_WORKER(w) if (w->op && w->cancel && w->op->internal_.loop == loop) interrupt(w);
    cio__mutex_unlock(&pool.mu);
}

void cio__pool_quiesce(cio_loop *loop) {
    cio_core *c = cio__core(loop);
    for (unsigned spins = 0; atomic_load_explicit(&c->pool_held, memory_order_acquire) != 0; spins++) {
        cio__mutex_lock(&pool.mu);
        /* No thread at all (a child after fork()): nobody can touch the loop. */
        bool none = list_empty(&pool.workers);
        cio__mutex_unlock(&pool.mu);
        if (none) return;
        if (spins % 256 == 255) cio__pool_kick(loop); /* an op close could not stop at once */
        cio__sleep_ns(spins < 64 ? 1000 : 100000);
    }
}

/* A handle of a loop, and whether an op of that loop names it; for
 * opq_take_if(). */
typedef struct loop_fd {
    cio_loop *loop;
    cio_fd fd;
} loop_fd;

static bool uses_fd(const cio_op *op, const void *arg) {
    const loop_fd *lf = arg;
    return op->internal_.loop == lf->loop && cio__op_uses(op, lf->fd);
}

bool cio__pool_close_fd(cio_loop *loop, cio_fd fd) {
    cio_core *c = cio__core(loop);
    closer cl = {{NULL, NULL}, 0};
    opq taken = {NULL, NULL};
    loop_fd lf = {loop, fd};
    cio__mutex_lock(&pool.mu);
    take_queued(&taken, c, uses_fd, &lf);
    FOR_EACH_WORKER(w) {
        if (!w->op || w->closer || !uses_fd(w->op, &lf)) continue;
        w->closer = &cl;
        cl.running++;
        cancel_running(w);
    }
    /* Bounded by what the kernel does not interrupt (a disk read under
     * way), which ends by itself. The signal may have come just before the
     * thread entered its call: send it again now and then. */
    while (cl.running) {
        cio__cond_wait_ns(&pool.done, &pool.mu, POOL_CLOSE_RESIGNAL_NS);
        FOR_EACH_WORKER(w) if (w->closer == &cl) interrupt(w);
    }
    /* An op of this loop that finished by itself may wait in the post
     * queue: the close must come after its callback too. */
    bool posted = atomic_load_explicit(&c->posts, memory_order_relaxed) != NULL;
    cio__mutex_unlock(&pool.mu);

    bool any = !opq_empty(&taken) || !opq_empty(&cl.done) || posted;
    for (cio_op *op; (op = opq_pop(&taken));) { /* never ran */
        op->internal_.iflags |= IF_CANCELLED;
        cio__ready(loop, op, -CIO_ECANCELED);
    }
    for (cio_op *op; (op = opq_pop(&cl.done));) {
        if (op->res == -CIO_ECANCELED) op->internal_.iflags |= IF_CANCELLED;
        cio__ready(loop, op, op->res);
    }
    return any;
}
