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
#include <string.h>

#include "task_internal.h"

enum { T_READY, T_RUNNING, T_BLOCKED, T_DONE };

/* The ops a task waits for in cio_await_all and cio_await_first. */
typedef struct multi {
    cio_op *const *ops;
    unsigned n;
    unsigned pending;
    int first;
    bool cancel_rest;
    cio_task *task;
} multi;


struct cio_task {
    cio_ctx ctx;
    cio_loop *loop;
    cio_task_fn fn;
    void *arg;
    intptr_t result;
    cio_op wake;          /* resumes the task from the loop */
    cio_op *blocked_op;   /* the op it waits in (cio_await), for cancel */
    multi *blocked_multi; /* or the ops of cio_await_all/first */
    cio_waiter *blocked_waiter; /* or its place in a wait queue */
    cio_waitq joiners;
    cio_task *run_next;   /* this thread's run queue */
    cio_task *live_next, *live_prev; /* this thread's tasks that have not returned */
    uint64_t deadline;    /* the innermost deadline scope's, 0: none */
    cio_stack stack;
    cio_stack_owner owner;
    uint8_t state;
    bool queued, wake_armed, cancelled, detached, joining;
};

static _Thread_local cio_task *current;
static _Thread_local cio_ctx scheduler; /* the loop thread's own stack */
static _Thread_local cio_task *runq_head, *runq_tail;
static _Thread_local bool in_run;
static _Thread_local cio_task *live_head;

static void live_unlink(cio_task *t) {
    if (t->live_prev)
        t->live_prev->live_next = t->live_next;
    else
        live_head = t->live_next;
    if (t->live_next) t->live_next->live_prev = t->live_prev;
}

cio_task *cio_task_current(void) { return current; }
bool cio_task_cancelled(void) { return current && current->cancelled; }
cio_loop *cio_task_loop(void) { return current ? current->loop : NULL; }

static void release(cio_task *t) { cio__stack_put(&t->stack); }

/* Switches into `t` and back when it blocks or returns. */
static void switch_into(cio_task *t) {
    t->state = T_RUNNING;
    current = t;
    cio__stack_running(&t->owner);
    cio__ctx_switch(&scheduler, &t->ctx);
    current = NULL;
    cio__stack_running(NULL);
    if (t->state == T_DONE) {
        live_unlink(t);
        cio__waitq_wake_all(&t->joiners, 0);
        if (t->detached) release(t);
    }
}

/* Runs `t`, then every task it (and they) woke. Loop stack only. */
static void run(cio_task *t) {
    if (in_run) { /* a callback run from inside a task's op: queue it */
        if (!t->queued) {
            t->queued = true;
            t->run_next = NULL;
            if (runq_tail)
                runq_tail->run_next = t;
            else
                runq_head = t;
            runq_tail = t;
        }
        return;
    }
    in_run = true;
    switch_into(t);
    while (runq_head) {
        cio_task *n = runq_head;
        runq_head = n->run_next;
        if (!runq_head) runq_tail = NULL;
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

static void task_main(void *arg) {
    cio_task *t = arg;
    t->result = t->fn(t->arg);
    t->state = T_DONE;
    cio__ctx_switch(&t->ctx, &scheduler); /* never resumed */
}

static int spawn(cio_loop *loop, cio_task_fn fn, void *arg, const cio_task_options *opts, size_t extra,
                 void **extra_out, cio_task **out) {
    if (!loop || !fn) return -CIO_EINVAL;
    size_t want = opts && opts->stack_size ? opts->stack_size : CIO_TASK_STACK_DEFAULT;
    int r = cio__stack_guard_install();
    if (r < 0) return r;
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
    t->owner.guard_lo = st.base - cio__stack_page();
    t->owner.guard_len = cio__stack_page();
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
    t->live_next = live_head;
    if (live_head) live_head->live_prev = t;
    live_head = t;
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
    if (t->cancelled) return -CIO_ECANCELED;
    /* Through the loop, so that IO completions get their turn too. */
    t->state = T_READY;
    arm_wake(t);
    if (!t->wake_armed) return -CIO_ECANCELED;
    cio__ctx_switch(&t->ctx, &scheduler);
    return t->cancelled ? -CIO_ECANCELED : 0;
}

int cio_task_cancel(cio_task *t) {
    if (!t || t->state == T_DONE) return -CIO_EINVAL;
    if (t->cancelled) return 0;
    t->cancelled = true;
    if (t->state != T_BLOCKED) return 0; /* it sees the flag at its next blocking call */
    if (t->blocked_op) {
        cio_cancel(t->loop, t->blocked_op);
    } else if (t->blocked_multi) {
        for (unsigned i = 0; i < t->blocked_multi->n; i++) cio_cancel(t->loop, t->blocked_multi->ops[i]);
    } else if (t->blocked_waiter && !t->blocked_waiter->shielded) {
        cio_waiter *w = t->blocked_waiter;
        cio_waitq *q = w->queue;
        if (q) {
            if (w->prev)
                w->prev->next = w->next;
            else
                q->head = w->next;
            if (w->next)
                w->next->prev = w->prev;
            else
                q->tail = w->prev;
            w->queue = NULL;
        }
        w->result = -CIO_ECANCELED;
        make_ready(t);
    }
    return 0;
}

int cio_task_detach(cio_task *t) {
    if (!t || t->detached || t->joining) return -CIO_EINVAL;
    t->detached = true;
    if (t->state == T_DONE) release(t);
    return 0;
}

int cio_task_join(cio_task *t, intptr_t *result) {
    if (!current) return -CIO_EPERM;
    if (!t || t == current || t->detached || t->joining) return -CIO_EINVAL;
    t->joining = true;
    if (t->state != T_DONE) {
        cio_waiter w = {0};
        int r = cio__waitq_wait(&t->joiners, &w);
        if (r < 0) {
            t->joining = false;
            return r;
        }
    }
    if (result) *result = t->result;
    release(t);
    return 0;
}

/* ---- wait queues ---- */

int cio__waitq_wait(cio_waitq *q, cio_waiter *w) {
    cio_task *t = current;
    if (t->cancelled && !w->shielded) return -CIO_ECANCELED;
    w->task = t;
    w->queue = q;
    w->result = 0;
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
    t->blocked_waiter = w;
    park();
    t->blocked_waiter = NULL;
    return w->result;
}

cio_waiter *cio__waitq_wake_one(cio_waitq *q, int result) {
    cio_waiter *w = q->head;
    if (!w) return NULL;
    q->head = w->next;
    if (q->head)
        q->head->prev = NULL;
    else
        q->tail = NULL;
    w->queue = NULL;
    w->result = result;
    make_ready(w->task);
    return w;
}

void cio__waitq_wake_all(cio_waitq *q, int result) {
    while (cio__waitq_wake_one(q, result)) {
    }
}

/* ---- blocking on ops ---- */

static void apply_deadline(const cio_task *t, cio_op *op) {
    if (t->deadline && (!op->deadline || t->deadline < op->deadline)) op->deadline = t->deadline;
}

static void on_op_done(cio_loop *loop, cio_op *op) {
    (void)loop;
    if (op->flags & CIO_F_MORE) return; /* a multishot op's earlier results: cio_await returns the final one */
    cio_task *t = op->data;
    t->state = T_READY;
    run(t);
}

int32_t cio_await(cio_op *op) {
    cio_task *t = current;
    if (!t) return -CIO_EPERM;
    if (t->cancelled) return -CIO_ECANCELED;
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
        m->task->state = T_READY;
        run(m->task);
    }
}

static int await_many(cio_op *const *ops, unsigned n, bool first) {
    cio_task *t = current;
    if (!t) return -CIO_EPERM;
    if (t->cancelled) return -CIO_ECANCELED;
    if (n == 0) return first ? -CIO_EINVAL : 0;
    multi m = {.ops = ops, .n = n, .pending = n, .first = -1, .cancel_rest = first, .task = t};
    for (unsigned i = 0; i < n; i++) {
        if (!ops[i]) return -CIO_EINVAL;
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

/* ---- cio_main ---- */

/* Cancels every live task of `loop`; returns how many there were. */
static unsigned cancel_live(cio_loop *loop) {
    unsigned n = 0;
    for (cio_task *x = live_head; x; x = x->live_next)
        if (x->loop == loop) {
            cio_task_cancel(x);
            n++;
        }
    return n;
}

int cio_main(cio_task_fn fn, void *arg, const cio_loop_options *opts, intptr_t *result) {
    cio_loop loop;
    int r = cio_loop_init(&loop, opts);
    if (r < 0) return r;
    cio_task *t;
    if ((r = cio_task_spawn(&loop, fn, arg, NULL, &t)) < 0) {
        cio_loop_close(&loop);
        return r;
    }
    while (t->state != T_DONE) {
        r = cio_loop_run(&loop, CIO_RUN_ONCE);
        if (r < 0) break;
        if (r == 0 && t->state == T_BLOCKED && !t->blocked_op && !t->blocked_multi) {
            /* Nothing in flight can ever wake it: a deadlock. End it. */
            cio_task_cancel(t);
        }
    }
    /* The close reaches tasks blocked in ops only: cancel every task of this
     * loop still alive, wherever it waits, and let them unwind first. The
     * bound is for a task that ignores its cancellation. */
    for (int round = 0; r >= 0 && round < 1000 && cancel_live(&loop); round++) r = cio_loop_run(&loop, CIO_RUN_ONCE);
    cio_loop_close(&loop);
    if (t->state == T_DONE) {
        if (result) *result = t->result;
        release(t);
    }
    return r < 0 ? r : 0;
}
