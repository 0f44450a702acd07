/*
 * src/task/task.c - tasks: spawn, run, block, wake, cancel, join.
 *
 * Tasks run on the stack of the thread that runs their loop, one at a time,
 * switched in from callbacks: the callback of the op a task waits for
 * resumes it directly (no queue, no extra loop turn), and a task woken by
 * another task (an event set, a channel send) joins this thread's run
 * queue, which runs right after the task that woke it blocks. A task woken
 * from outside any task (a plain callback, a spawn from main) is resumed by
 * its `wake` op, a zero timeout: the core completes it within the turn
 * with no system call.
 *
 * A task's struct sits at the top of its own stack: spawning maps (or
 * reuses) one region and allocates nothing else.
 */
#include <stdlib.h>
#include <string.h>

#include "cio/mock.h"
#include "task_internal.h"

/* Far enough never to fire, small enough that no clock arithmetic overflows. */
#define FAR_FUTURE_NS ((uint64_t)1 << 62)

enum { T_READY, T_RUNNING, T_BLOCKED, T_DONE };

/* Off the hot path: kept out of line, so that the spawn stays small. */
#if defined(__GNUC__)
#define COLD __attribute__((noinline, cold))
#else
#define COLD
#endif

_Static_assert(CIO_TASK_STACK_GUARD == CIO_STACK_GUARD_BYTES, "task.h and stack.h agree on the guard");

/* The ops a task waits for in cio_await_all and cio_await_first. */
typedef struct multi {
    cio_op *const *ops;
    unsigned n;
    unsigned pending;
    int first;
    bool cancel_rest;
    cio_task *task;
} multi;


/*
 * The tasks of one loop, kept so that the loop's close can end them: L1
 * knows nothing of tasks, so the first spawn on a loop registers `hook`
 * with cio_loop_at_close(), and the hook ends and releases every task of
 * the loop (end_tasks). One record per loop that has had tasks, in a
 * thread-local list: tasks belong to their loop's thread.
 */
typedef struct loop_tasks {
    cio_op hook;
    cio_loop *loop;
    lnode node;               /* in this thread's `records` */
    list tasks;               /* every task of the loop not released yet */
    bool closing;             /* the hook runs: no more spawns */
} loop_tasks;

struct cio_task {
    cio_ctx ctx;
    cio_loop *loop;
    cio_task_fn fn;
    void *arg;
    intptr_t result;
    cio_op wake;          /* resumes the task from the loop */
    cio_op *blocked_op;   /* the op it waits in (cio_await), for cancel */
    multi *blocked_multi; /* or the ops of cio_await_all/first */
    cio_waiter *blocked_waiter; /* or its place in a wait queue (a plain wait) */
    cio_sync_queue_ joiners;
    lnode run_node;       /* in this thread's run queue */
    loop_tasks *rec;      /* its loop's record; NULL once released or let go by the close */
    lnode rec_node;       /* in rec->tasks */
    uint64_t deadline;    /* the innermost deadline scope's, 0: none */
    uint32_t shield;      /* open cio_task_shield_push() scopes */
    cio_stack stack;
    cio_stack_owner owner;
    uint8_t state;
    bool queued, wake_armed, cancelled, detached, joining;
    bool blocked_at_close; /* its op ended because the loop closed (report_alive) */
};

static _Thread_local cio_task *current;
static _Thread_local cio_ctx scheduler; /* the loop thread's own stack */
static _Thread_local list runq;
static _Thread_local bool in_run;
static _Thread_local list records; /* loop_tasks */

#define TASK_OF_RUN(n) LIST_ENTRY(n, cio_task, run_node)
#define TASK_OF_REC(n) LIST_ENTRY(n, cio_task, rec_node)
#define REC_OF(n) LIST_ENTRY(n, loop_tasks, node)

static void rec_unlink(cio_task *t) {
    loop_tasks *r = t->rec;
    if (!r) return;
    list_remove(&r->tasks, &t->rec_node);
    t->rec = NULL;
}

/* Whether a shield keeps the task's cancellation from taking effect now:
 * not once its loop closes, which ends every task. */
static bool shielded(const cio_task *t) { return t->shield && !(t->rec && t->rec->closing); }

/* Whether the task's blocking calls fail for its cancellation now. */
static bool cancel_in_effect(const cio_task *t) { return t->cancelled && !shielded(t); }

cio_task *cio_task_current(void) { return current; }
bool cio_task_cancelled(void) { return current && cancel_in_effect(current); }
cio_loop *cio_task_loop(void) { return current ? current->loop : NULL; }

static void release(cio_task *t) {
    rec_unlink(t);
    cio__stack_put(&t->stack);
}

/* Switches into `t` and back when it blocks or returns. */
static void switch_into(cio_task *t) {
    t->state = T_RUNNING;
    current = t;
    cio__stack_running(&t->owner);
    cio__ctx_switch(&scheduler, &t->ctx);
    current = NULL;
    cio__stack_running(NULL);
    if (t->state == T_DONE) {
        cio__sync_wake_all(&t->joiners, 0);
        if (t->detached) release(t);
    }
}

/* Runs `t`, then every task it (and they) woke. Loop stack only. */
static void run(cio_task *t) {
    if (in_run) { /* a callback run from inside a task's op: queue it */
        if (!t->queued) {
            t->queued = true;
            list_push(&runq, &t->run_node);
        }
        return;
    }
    in_run = true;
    switch_into(t);
    lnode *q;
    while ((q = list_pop(&runq))) {
        cio_task *n = TASK_OF_RUN(q);
        n->queued = false;
        if (n->state == T_READY) switch_into(n);
    }
    in_run = false;
}

static void on_wake(cio_loop *loop, cio_op *op) {
    (void)loop;
    cio_task *t = op->data;
    t->wake_armed = false;
    if (t->state == T_READY && !t->queued) run(t);
}

static void arm_wake(cio_task *t) {
    if (t->wake_armed) return;
    cio_prep_timeout(&t->wake, 0, 0);
    t->wake.cb = on_wake;
    t->wake.data = t;
    if (cio_submit(t->loop, &t->wake) == 0) t->wake_armed = true;
}

/* Makes a blocked task ready again: at once if a task is running now (it
 * runs after the current one blocks), else through the loop. */
static void make_ready(cio_task *t) {
    t->state = T_READY;
    if (in_run) {
        run(t); /* queues it */
    } else {
        arm_wake(t);
        /* A closing loop refuses the wake op: run it now, from the close's
         * callback, as the close does for tasks blocked in ops. */
        if (!t->wake_armed) run(t);
    }
}

/* Blocks the running task until something makes it ready. */
static void park(void) {
    cio_task *t = current;
    t->state = T_BLOCKED;
    cio__ctx_switch(&t->ctx, &scheduler);
}

/* ---- wait queues ---- */

static void waiter_link(cio_sync_queue_ *q, cio_waiter *w) {
    list_push(q, &w->node);
    w->queue = q;
}

static void waiter_unlink(cio_waiter *w) {
    if (!w->queue) return;
    list_remove(w->queue, &w->node);
    w->queue = NULL;
}

/* A plain wait: the task parks until a waker or the cancel (which takes the
 * waiter out and sets -CIO_ECANCELED) makes it ready. The hot path of
 * every hand-off between tasks. */
static int wait_plain(cio_sync_queue_ *q, cio_waiter *w, cio_task *t, bool shielded) {
    w->task = t;
    w->woken = false;
    w->shielded = shielded;
    w->timer = NULL;
    waiter_link(q, w);
    t->blocked_waiter = w;
    park();
    t->blocked_waiter = NULL;
    return w->woken ? w->result : -CIO_ECANCELED;
}

int cio__waitq_wait(cio_waitq *q, cio_waiter *w) {
    cio_task *t = current;
    if (cancel_in_effect(t)) return -CIO_ECANCELED;
    return wait_plain(q, w, t, false);
}

int cio__sync_wait(cio_sync_queue_ *q, cio_waiter *w, uint64_t at, unsigned flags) {
    cio_task *t = current;
    bool shielded = (flags & CIO_SYNC_SHIELD) != 0;
    if (cancel_in_effect(t) && !shielded) return -CIO_ECANCELED;
    if (shielded || (flags & CIO_SYNC_NO_DEADLINE))
        at = 0;
    else if (t->deadline && (!at || t->deadline < at))
        at = t->deadline;
    if (!at && !(flags & CIO_SYNC_KEEP_ALIVE)) return wait_plain(q, w, t, shielded);
    w->task = t;
    w->woken = false;
    w->shielded = false;
    waiter_link(q, w);
    cio_op timer;
    if (at)
        cio_prep_timeout(&timer, at, CIO_TIMEOUT_ABS);
    else
        cio_prep_timeout(&timer, CIO_TIMEOUT_NEVER, CIO_TIMEOUT_ABS);
    w->timer = &timer;
    int32_t r = cio_await(&timer);
    /* A waker that found the timer already fired still handed over. */
    if (w->woken) return w->result;
    waiter_unlink(w);
    if (r == 0 || r == -CIO_ETIMEDOUT) return -CIO_ETIMEDOUT;
    return r; /* -CIO_ECANCELED: the task (or the loop's close); or the submission's error */
}

/* Hands `result` to `w`, which is out of its queue, and resumes it. */
static void waiter_resume(cio_waiter *w, int result) {
    w->woken = true;
    w->result = result;
    if (w->timer)
        cio_cancel(w->task->loop, w->timer); /* -CIO_ENOENT if it fired already: it resumes anyway */
    else
        make_ready(w->task);
}

void cio__sync_wake(cio_sync_queue_ *q, cio_waiter *w, int result) {
    (void)q; /* the waiter knows its queue */
    waiter_unlink(w);
    waiter_resume(w, result);
}

cio_waiter *cio__waitq_wake_one(cio_waitq *q, int result) {
    lnode *n = list_pop(q);
    if (!n) return NULL;
    cio_waiter *w = CIO_WAITER_OF(n);
    w->queue = NULL;
    waiter_resume(w, result);
    return w;
}

void cio__sync_wake_all(cio_sync_queue_ *q, int result) {
    while (cio__waitq_wake_one(q, result)) {
    }
}

static void task_main(void *arg) {
    cio_task *t = arg;
    t->result = t->fn(t->arg);
    t->state = T_DONE;
    cio__ctx_switch(&t->ctx, &scheduler); /* never resumed */
}

static void on_loop_close(cio_loop *loop, cio_op *hook);

/* A forked child inherits the records of its parent's loops, whose copies
 * in the child close without running their hooks: it forgets them (they
 * stay allocated, since the inherited tasks still point at them), so that
 * a loop the child sets up at the same address gets a record of its own. */
static void forget_records(void) { records = (list){NULL, NULL}; }

/* The record of `loop` on this thread, registered at the first spawn. */
static COLD int loop_record(cio_loop *loop, loop_tasks **out) {
    cio__task_atfork(forget_records);
    for (lnode *n = records.head; n; n = n->next)
        if (REC_OF(n)->loop == loop) {
            *out = REC_OF(n);
            return 0;
        }
    loop_tasks *r = calloc(1, sizeof *r);
    if (!r) return -CIO_ENOMEM;
    cio_prep_nop(&r->hook);
    r->hook.cb = on_loop_close;
    r->hook.data = r;
    r->loop = loop;
    int e = cio_loop_at_close(loop, &r->hook);
    if (e < 0) { /* not a usable loop, or one that is closing */
        free(r);
        return e;
    }
    list_push_front(&records, &r->node);
    *out = r;
    return 0;
}

static int spawn(cio_loop *loop, cio_task_fn fn, void *arg, const cio_task_options *opts, size_t extra,
                 void **extra_out, cio_task **out) {
    if (!loop || !fn) return -CIO_EINVAL;
    loop_tasks *rec = current && current->loop == loop ? current->rec : NULL; /* a task spawning beside itself */
    int r;
    if (!rec && (r = loop_record(loop, &rec)) < 0) return r;
    if (rec->closing) return -CIO_ECANCELED;
    size_t want = opts && opts->stack_size ? opts->stack_size : CIO_TASK_STACK_DEFAULT;
    if ((r = cio__stack_guard_install()) < 0) return r;
    cio_stack st;
    /* The task struct takes the top of the mapping. */
    if ((r = cio__stack_get(&st, want + sizeof(cio_task) + (extra ? extra + 64 : 0))) < 0) return r;
    uintptr_t top = ((uintptr_t)st.base + st.size - sizeof(cio_task)) & ~(uintptr_t)63;
    cio_task *t = (cio_task *)top;
    memset(t, 0, sizeof *t);
    uintptr_t stack_top = (top - extra) & ~(uintptr_t)63; /* the spawner's extra bytes sit in between */
    if (extra) arg = (void *)stack_top;
    t->stack = st;
    t->loop = loop;
    t->fn = fn;
    t->arg = arg;
    t->detached = opts && opts->detached;
    t->owner.guard_len = cio__stack_guard_size();
    t->owner.guard_lo = st.base - t->owner.guard_len;
    t->owner.name = opts && opts->name ? opts->name : "task";
    /* A spawned task inherits its parent's deadline scope. */
    if (current) t->deadline = current->deadline;
    cio__ctx_make(&t->ctx, st.base, stack_top - (uintptr_t)st.base, task_main, t);
    t->state = T_READY;
    if (in_run)
        run(t);
    else
        arm_wake(t);
    if (!t->wake_armed && !t->queued) { /* the loop refused the wake op (closing) */
        release(t);
        return -CIO_ECANCELED;
    }
    t->rec = rec;
    list_push_front(&rec->tasks, &t->rec_node);
    if (extra_out) *extra_out = (void *)stack_top;
    if (out) *out = t;
    return 0;
}

int cio_task_spawn(cio_loop *loop, cio_task_fn fn, void *arg, const cio_task_options *opts, cio_task **out) {
    return spawn(loop, fn, arg, opts, 0, NULL, out);
}

int cio__task_spawn_extra(cio_loop *loop, cio_task_fn fn, const cio_task_options *opts, size_t extra,
                          void **extra_out, cio_task **out) {
    return spawn(loop, fn, NULL, opts, extra, extra_out, out);
}

int cio_task_yield(void) {
    cio_task *t = current;
    if (!t) return -CIO_EPERM;
    if (cancel_in_effect(t)) return -CIO_ECANCELED;
    /* Through the loop, so that IO completions get their turn too. */
    t->state = T_READY;
    arm_wake(t);
    if (!t->wake_armed) return -CIO_ECANCELED;
    cio__ctx_switch(&t->ctx, &scheduler);
    return cancel_in_effect(t) ? -CIO_ECANCELED : 0;
}

/* Ends what the cancelled task `t` is blocked in, unless a shield keeps
 * it (`force`: even then). */
static void cancel_blocked(cio_task *t, bool force) {
    if (t->state != T_BLOCKED) return; /* it sees the flag at its next blocking call */
    if (shielded(t) && !force) return;  /* it sees the flag once the shield is gone */
    if (t->blocked_op) {
        cio_cancel(t->loop, t->blocked_op);
    } else if (t->blocked_multi) {
        for (unsigned i = 0; i < t->blocked_multi->n; i++) cio_cancel(t->loop, t->blocked_multi->ops[i]);
    } else if (t->blocked_waiter && !t->blocked_waiter->shielded) {
        cio_waiter *w = t->blocked_waiter;
        waiter_unlink(w);
        w->result = -CIO_ECANCELED;
        make_ready(t);
    }
}

int cio_task_cancel(cio_task *t) {
    if (!t || t->state == T_DONE) return -CIO_EINVAL;
    if (t->cancelled) return 0;
    t->cancelled = true;
    cancel_blocked(t, false);
    return 0;
}

int cio_task_detach(cio_task *t) {
    if (!t || t->detached || t->joining) return -CIO_EINVAL;
    t->detached = true;
    if (t->state == T_DONE) release(t);
    return 0;
}

int cio_task_join(cio_task *t, intptr_t *result) {
    if (!t) return -CIO_EINVAL;
    if (!current) return -CIO_EPERM;
    if (t == current || t->detached || t->joining) return -CIO_EINVAL;
    t->joining = true;
    if (t->state != T_DONE) {
        cio_waiter w;
        w.data = NULL;
        int r = cio__sync_wait(&t->joiners, &w, 0, CIO_SYNC_NO_DEADLINE);
        if (r < 0) {
            t->joining = false;
            return r;
        }
    }
    if (result) *result = t->result;
    release(t);
    return 0;
}

/* ---- blocking on ops ---- */

/* A close is exempt from the scopes, as from cancellation: the task must
 * be able to let go of its handles however late it is. */
static void apply_deadline(const cio_task *t, cio_op *op) {
    if (t->deadline && op->opcode != CIO_OP_CLOSE && (!op->deadline || t->deadline < op->deadline))
        op->deadline = t->deadline;
}

static void on_op_done(cio_loop *loop, cio_op *op) {
    if (op->flags & CIO_F_MORE) return; /* a multishot op's earlier results: cio_await returns the final one */
    cio_task *t = op->data;
    if (cio_loop_is_closing(loop)) t->blocked_at_close = true;
    t->state = T_READY;
    run(t);
}

int32_t cio_await(cio_op *op) {
    cio_task *t = current;
    if (!op) return -CIO_EINVAL;
    if (!t) return -CIO_EPERM;
    /* A cancelled task unwinds: its calls fail at once, but a close still
     * runs, so that the task can let go of its handles on the way out. */
    if (cancel_in_effect(t) && op->opcode != CIO_OP_CLOSE) return -CIO_ECANCELED;
    apply_deadline(t, op);
    op->cb = on_op_done;
    op->data = t;
    int r = cio_submit(t->loop, op);
    if (r < 0) return r;
    t->blocked_op = op;
    park();
    t->blocked_op = NULL;
    return op->res;
}

static void on_multi_done(cio_loop *loop, cio_op *op) {
    if (op->flags & CIO_F_MORE) return;
    multi *m = op->data;
    m->pending--;
    if (m->first < 0) {
        for (unsigned i = 0; i < m->n; i++)
            if (m->ops[i] == op) m->first = (int)i;
        if (m->cancel_rest)
            for (unsigned i = 0; i < m->n; i++)
                if (m->ops[i] != op) cio_cancel(loop, m->ops[i]);
    }
    if (m->pending == 0) {
        if (cio_loop_is_closing(loop)) m->task->blocked_at_close = true;
        m->task->state = T_READY;
        run(m->task);
    }
}

static int await_many(cio_op *const *ops, unsigned n, bool first) {
    cio_task *t = current;
    if (!ops && n) return -CIO_EINVAL;
    if (!t) return -CIO_EPERM;
    if (cancel_in_effect(t)) return -CIO_ECANCELED;
    if (n == 0) return first ? -CIO_EINVAL : 0;
    multi m = {.ops = ops, .n = n, .pending = n, .first = -1, .cancel_rest = first, .task = t};
    for (unsigned i = 0; i < n; i++)
        if (!ops[i]) return -CIO_EINVAL; /* before any op is touched */
    for (unsigned i = 0; i < n; i++) {
        apply_deadline(t, ops[i]);
        ops[i]->cb = on_multi_done;
        ops[i]->data = &m;
    }
    int r = cio_submit_batch(t->loop, ops, n);
    if (r < 0) return r;
    t->blocked_multi = &m;
    park();
    t->blocked_multi = NULL;
    return first ? m.first : 0;
}

int cio_await_all(cio_op *const *ops, unsigned n) { return await_many(ops, n, false); }
int cio_await_first(cio_op *const *ops, unsigned n) { return await_many(ops, n, true); }

/* ---- time and scopes ---- */

int cio_sleep(uint64_t ns) {
    cio_op op;
    cio_prep_timeout(&op, ns, 0);
    int32_t r = cio_await(&op);
    return r == -CIO_ETIMEDOUT ? r : (r < 0 ? r : 0);
}

int cio_sleep_until(uint64_t at) {
    cio_op op;
    cio_prep_timeout(&op, at, CIO_TIMEOUT_ABS);
    return cio_await(&op);
}

uint64_t cio_deadline_push(uint64_t at) {
    cio_task *t = current;
    if (!t) return 0;
    uint64_t prev = t->deadline;
    if (at && (!prev || at < prev)) t->deadline = at; /* 0: no deadline of its own */
    return prev;
}

uint64_t cio__task_deadline(void) { return current ? current->deadline : 0; }

void cio_deadline_pop(uint64_t previous) {
    if (current) current->deadline = previous;
}

uint64_t cio_deadline_push_after(uint64_t ns) {
    cio_task *t = current;
    if (!t) return 0;
    /* The cached time may be a whole turn old (a task that computed for a
     * while): the deadline counts from now, as the caller means. */
    uint64_t now = cio_loop_update_now(t->loop);
    return cio_deadline_push(ns < FAR_FUTURE_NS - now ? now + ns : FAR_FUTURE_NS);
}

int cio_task_shield_push(cio_shield *s) {
    cio_task *t = current;
    if (!s) return -CIO_EINVAL;
    if (!t) return -CIO_EPERM;
    s->depth_ = t->shield;
    s->deadline_ = t->deadline;
    t->shield++;
    t->deadline = 0; /* the cleanup gets deadlines of its own only */
    return 0;
}

void cio_task_shield_pop(cio_shield *s) {
    cio_task *t = current;
    if (!t || !s) return;
    t->shield = s->depth_;
    t->deadline = s->deadline_;
}

/* ---- the loop's close ---- */

/* Rounds of cancel-and-run the close gives its tasks. A cancelled task can
 * block again only in a shielded wait (cio_group_wait for its children),
 * which its children, cancelled in the same round, end; a round in which
 * no task runs ends the close's attempts at once. */
#define CLOSE_ROUNDS 1000

/* Moves the tasks of `loop` from `from` to the end of `to`, keeping the
 * others where they are, both in order. */
static void take_queued(list *from, list *to, const cio_loop *loop) {
    list keep = {NULL, NULL};
    lnode *q;
    while ((q = list_pop(from))) list_push(TASK_OF_RUN(q)->loop == loop ? to : &keep, q);
    *from = keep;
}

/*
 * Ends every task of `rec`'s loop, from its close hook: every op of the
 * loop has completed and the loop refuses new ones, so a task is either
 * ready, blocked on a wait queue (a sync primitive, a join) or done. Each
 * live one is cancelled and run until it returns; then every task of the
 * loop is released, joined or not.
 *
 * The close may be called from a task (of another loop): the thread's
 * scheduling state is saved and put back, so that this runs the tasks of
 * the closing loop from here as the loop stack would, and wakes of other
 * loops' tasks are handed back to them.
 */
/* A task alive when its loop closed (still blocked now, or woken by the
 * close's cancel of its op) is a leak the mock backend reports
 * (cio/mock.h); elsewhere the close just ends it. */
static void report_alive(loop_tasks *rec) {
    if (cio_loop_backend(rec->loop) != CIO_BACKEND_MOCK) return;
    for (lnode *xn = rec->tasks.head; xn; xn = xn->next) {
        cio_task *x = TASK_OF_REC(xn);
        if (x->state != T_DONE || x->blocked_at_close)
            cio_mock_fail(rec->loop, "task '%s' (%p) was still alive when the loop closed", x->owner.name, (void *)x);
    }
}

static void end_tasks(loop_tasks *rec) {
    report_alive(rec);
    cio_task *saved_current = current;
    list saved_runq = runq;
    cio_ctx saved_scheduler = scheduler;
    bool saved_in_run = in_run;
    current = NULL;
    runq = (list){NULL, NULL};
    rec->closing = true;
    take_queued(&saved_runq, &runq, rec->loop);
    list others = {NULL, NULL}; /* other loops' tasks woken meanwhile */
    for (unsigned round = 0; round < CLOSE_ROUNDS; round++) {
        /* Cancel first and run afterwards, so that the list stays as it is
         * while it is walked: with in_run set, waking only queues. */
        in_run = true;
        for (lnode *xn = rec->tasks.head; xn; xn = xn->next) {
            cio_task *x = TASK_OF_REC(xn);
            if (x->state == T_DONE) continue;
            if (x->cancelled)
                cancel_blocked(x, false); /* one cancelled in a shield, which the close lifts */
            else
                cio_task_cancel(x);
            if (x->state == T_READY) run(x); /* queues it, unless it is already */
        }
        if (list_empty(&runq)) break;
        lnode *q;
        while ((q = list_pop(&runq))) {
            cio_task *n = TASK_OF_RUN(q);
            if (n->loop != rec->loop) {
                list_push(&others, q);
                continue;
            }
            n->queued = false;
            if (n->state == T_READY) switch_into(n);
        }
    }
    /* Release what is done. Left alone: a task still blocked (a shielded
     * wait for children on another loop) or running (the close was called
     * from a task of this very loop), whose stack is in use; and a finished
     * task that a task of another loop is joining, which that join
     * releases. */
    for (lnode *xn = rec->tasks.head, *next; xn; xn = next) {
        next = xn->next;
        cio_task *x = TASK_OF_REC(xn);
        if (x->state == T_DONE && !x->joining && !x->detached)
            release(x);
        else
            rec_unlink(x);
    }
    current = saved_current;
    scheduler = saved_scheduler;
    in_run = saved_in_run;
    runq = saved_runq;
    cio__stack_running(current ? &current->owner : NULL);
    /* Other loops' tasks woken by the ones that ended: back to their own
     * loop, or behind the task that closed this one. */
    lnode *q;
    while ((q = list_pop(&others))) {
        cio_task *n = TASK_OF_RUN(q);
        n->queued = false;
        if (n->state != T_READY) continue;
        if (in_run) {
            run(n);
        } else {
            arm_wake(n);
            if (!n->wake_armed) run(n);
        }
    }
}

static void on_loop_close(cio_loop *loop, cio_op *hook) {
    (void)loop;
    loop_tasks *rec = hook->data;
    list_remove(&records, &rec->node);
    if (hook->res == 0) {
        end_tasks(rec);
    } else {
        /* Taken back without a close: let the tasks go as they are. */
        while (rec->tasks.head) rec_unlink(TASK_OF_REC(rec->tasks.head));
    }
    free(rec);
}

/* ---- cio_main ---- */

/* Cancels every live task of `loop`; returns how many there were. */
unsigned cio__task_cancel_live(cio_loop *loop) {
    unsigned n = 0;
    for (lnode *rn = records.head; rn; rn = rn->next) {
        loop_tasks *r = REC_OF(rn);
        if (r->loop != loop) continue;
        for (lnode *xn = r->tasks.head; xn; xn = xn->next) {
            cio_task *x = TASK_OF_REC(xn);
            if (x->state != T_DONE) {
                cio_task_cancel(x);
                n++;
            }
        }
    }
    return n;
}

/* The main task runs detached (the close may release it) and leaves its
 * result here, on cio_main's stack. */
typedef struct main_task {
    cio_task_fn fn;
    void *arg;
    intptr_t result;
    bool done;
} main_task;

static intptr_t run_main(void *arg) {
    main_task *m = arg;
    m->result = m->fn(m->arg);
    m->done = true;
    return 0;
}

int cio_main(cio_task_fn fn, void *arg, const cio_loop_options *opts, intptr_t *result) {
    cio_main_options mo = {.loop = opts};
    return cio_main_ex(fn, arg, &mo, result);
}

int cio_main_ex(cio_task_fn fn, void *arg, const cio_main_options *opts, intptr_t *result) {
    if (!fn) return -CIO_EINVAL;
    cio_main_options none = {0};
    if (!opts) opts = &none;
    for (size_t i = 0; i < sizeof opts->reserved_ / sizeof opts->reserved_[0]; i++)
        if (opts->reserved_[i]) return -CIO_EINVAL;
    cio_loop loop;
    int r = cio_loop_init(&loop, opts->loop);
    if (r < 0) return r;
    main_task m = {.fn = fn, .arg = arg};
    cio_task_options o = {.detached = true, .name = opts->name ? opts->name : "main", .stack_size = opts->stack_size};
    cio_task *t;
    if ((r = cio_task_spawn(&loop, run_main, &m, &o, &t)) < 0) {
        cio_loop_close(&loop);
        return r;
    }
    while (!m.done) { /* `t` is valid until then */
        r = cio_loop_run(&loop, CIO_RUN_ONCE);
        if (r < 0) break;
        if (r == 0 && !m.done && t->state == T_BLOCKED && !t->blocked_op && !t->blocked_multi) {
            /* Nothing in flight can ever wake it: a deadlock. End it, in
             * a shield too, which would otherwise hold it for ever. */
            cio_task_cancel(t);
            cancel_blocked(t, true);
        }
    }
    /* Tasks still alive are cancelled and unwind while the loop still
     * runs, so that the IO of their clean-up (a cio_close) still works;
     * the close ends whatever remains. The bound is for a task that
     * ignores its cancellation. */
    for (int round = 0; r >= 0 && round < 1000 && cio__task_cancel_live(&loop); round++)
        r = cio_loop_run(&loop, CIO_RUN_ONCE);
    cio_loop_close(&loop);
    if (m.done && result) *result = m.result;
    return r < 0 ? r : 0;
}
