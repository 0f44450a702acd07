/*
 * src/rt/runtime.c - the runtime: workers, the jobs that carry work to
 * them, the tasks it starts, exec, counters and the shutdown.
 *
 * A worker thread sets up its loop, keeps one far timer in it (a loop
 * with nothing active would not wait for messages: cio/loop.h), and turns
 * it once at a time, publishing its counters after each turn. Everything
 * else reaches it as a job: a message whose callback (job_arrived) runs on
 * its thread. A job of the public calls is admitted first (rt_admit), so
 * that the shutdown can tell when the last one has arrived.
 */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"
#include "../task/task_internal.h"

#define UNWIND_TICK_NS (10ull * CIO_NS_PER_MS) /* the timer's period while tasks unwind */
#define UNWIND_ROUNDS 1000                      /* turns for tasks to unwind, as cio_main() */
#define WAIT_SLICE_NS (5ull * CIO_NS_PER_MS)    /* the shutdown looks again at least this often */
#define WORKER_STACK (2u * 1024u * 1024u)       /* the worker thread's own stack (callbacks) */
#define SEND_SPINS 4096                         /* exec's wait for the end of the worker's send */


static _Thread_local rt_worker *self_worker;

rt_worker *rt_self(void) { return self_worker; }

cio_runtime *cio_runtime_self(unsigned *worker) {
    rt_worker *w = self_worker;
    if (!w) return NULL;
    if (worker) *worker = w->index;
    return w->rt;
}

static bool stopping(const cio_runtime *rt) { return atomic_load(&rt->stopping); }


void rt_notify(cio_runtime *rt) {
    if (!stopping(rt)) return;
    cio__mutex_lock(&rt->mu);
    cio__cond_broadcast(&rt->cv);
    cio__mutex_unlock(&rt->mu);
}

/* Waits until pred(rt) holds or `timeout_ns` passed (UINT64_MAX: no
 * limit); returns whether it holds. */
static bool wait_until(cio_runtime *rt, bool (*pred)(cio_runtime *rt), uint64_t timeout_ns) {
    uint64_t start = cio__clock_ns();
    cio__mutex_lock(&rt->mu);
    bool ok;
    while (!(ok = pred(rt))) {
        uint64_t spent = cio__clock_ns() - start;
        if (timeout_ns != UINT64_MAX && spent >= timeout_ns) break;
        uint64_t slice = WAIT_SLICE_NS;
        if (timeout_ns != UINT64_MAX && timeout_ns - spent < slice) slice = timeout_ns - spent;
        cio__cond_wait_ns(&rt->cv, &rt->mu, slice);
    }
    cio__mutex_unlock(&rt->mu);
    return ok;
}

/* ---- references ----
 *
 * The runtime holds one reference to itself, which the shutdown drops as
 * its last act, and every public call holds one while it runs: the last
 * to drop frees it. So a call another thread makes while the shutdown
 * runs, or a task's cio_runtime_exec that the shutdown's thread would
 * otherwise wait for, ends on live memory. */
cio_runtime *rt_enter(const cio_runtime *rt) {
    cio_runtime *m = (cio_runtime *)(uintptr_t)rt; /* the count is the one thing a reader writes */
    atomic_fetch_add(&m->refs, 1);
    return m;
}

static void runtime_free(cio_runtime *rt);

int rt_leave(cio_runtime *rt, int r) {
    if (atomic_fetch_sub(&rt->refs, 1) == 1) runtime_free(rt);
    return r;
}

bool cio_runtime_stopping(const cio_runtime *rt) {
    if (!rt) return false;
    cio_runtime *m = rt_enter(rt);
    bool s = stopping(m);
    rt_leave(m, 0);
    return s;
}

/* ---- load and admission ---- */

static void load_done(rt_worker *w) {
    if (atomic_fetch_sub(&w->load, 1) == 1) rt_notify(w->rt);
}

static void rt_unadmit(cio_runtime *rt, rt_worker *to);

/* Takes a place in `to`'s `inflight` and load, unless shutdown has
 * begun: 0 or -CIO_ECANCELED. Every job of the public calls goes through
 * it, so that the shutdown, once `inflight` is 0, knows no more will come. */
static int rt_admit(cio_runtime *rt, rt_worker *to) {
    /* Counted before the look at the flags, which the shutdown sets
     * before it looks at the count: one of the two sees the other. Once
     * the shutdown has begun, work from outside is refused, but the
     * runtime's own tasks and callbacks may still hand work on (a request
     * finishing in the grace time); from its cancel on, nothing is
     * taken. */
    atomic_fetch_add(&to->inflight, 1);
    bool late = stopping(rt);
    if (late && (atomic_load(&rt->closed) || !self_worker || self_worker->rt != rt)) {
        rt_unadmit(rt, to);
        return -CIO_ECANCELED;
    }
    if (late) atomic_fetch_add(&rt->late, 1);
    atomic_fetch_add(&to->load, 1);
    return 0;
}

/* Gives back the `inflight` place of rt_admit(), for a job not sent. */
static void rt_unadmit(cio_runtime *rt, rt_worker *to) {
    if (atomic_fetch_sub(&to->inflight, 1) == 1) rt_notify(rt);
}

static void arrived(rt_worker *w) {
    if (atomic_fetch_sub(&w->inflight, 1) == 1) rt_notify(w->rt);
}

/* ---- choosing a worker ---- */

static bool runs(const rt_worker *w) { return atomic_load_explicit(&w->ready, memory_order_acquire); }

rt_worker *rt_choose(cio_runtime *rt, int how, int *err) {
    if (how >= 0) {
        if ((unsigned)how >= rt->n) {
            *err = -CIO_EINVAL;
            return NULL;
        }
        if (!runs(&rt->workers[how])) {
            *err = -CIO_ESRCH;
            return NULL;
        }
        return &rt->workers[how];
    }
    rt_worker *best = NULL;
    if (how == CIO_WORKER_NEXT) {
        unsigned start = atomic_fetch_add_explicit(&rt->next, 1, memory_order_relaxed);
        for (unsigned i = 0; i < rt->n && !best; i++) {
            rt_worker *w = &rt->workers[(start + i) % rt->n];
            if (runs(w)) best = w;
        }
    } else if (how == CIO_WORKER_LEAST) {
        uint64_t least = UINT64_MAX;
        for (unsigned i = 0; i < rt->n; i++) {
            rt_worker *w = &rt->workers[i];
            uint64_t l = atomic_load_explicit(&w->load, memory_order_relaxed);
            if (runs(w) && l < least) {
                least = l;
                best = w;
            }
        }
    } else {
        *err = -CIO_EINVAL;
        return NULL;
    }
    if (!best) *err = -CIO_ESRCH;
    return best;
}

int cio_runtime_pick(cio_runtime *rt, int how) {
    if (!rt) return -CIO_EINVAL;
    int err = 0;
    rt_enter(rt);
    rt_worker *w = rt_choose(rt, how, &err);
    return rt_leave(rt, w ? (int)w->index : err);
}

/* ---- jobs ---- */

static void job_release(rt_job *j) {
    if (atomic_fetch_sub(&j->refs, 1) == 1 && j->heap) free(j);
}

/* The sender's side of a CIO_OP_POST is done (the core fell back to the
 * queue by itself if MSG_RING could not deliver). */
static void post_sent(cio_loop *loop, cio_op *op) {
    (void)loop;
    job_release(op->data);
}

static void job_arrived(cio_loop *loop, cio_op *op);

int rt_send(cio_runtime *rt, rt_worker *to, rt_job *j, bool may_ring) {
    (void)rt;
    j->to = to;
    cio_prep_nop(&j->msg);
    j->msg.cb = job_arrived;
    j->msg.data = j;
    rt_worker *me = self_worker;
    if (may_ring && me && me != to && me->rt == to->rt && !me->quit && me->backend == CIO_BACKEND_URING &&
        to->backend == CIO_BACKEND_URING) {
        atomic_init(&j->refs, 2);
        cio_prep_post(&j->post, &to->loop, &j->msg);
        j->post.cb = post_sent;
        j->post.data = j;
        if (cio_submit(&me->loop, &j->post) == 0) return 0;
    }
    atomic_init(&j->refs, 1);
    return cio_loop_post(&to->loop, &j->msg);
}

/* Closes `fd` from a callback (no task to block): a close op of its own. */
static void close_done(cio_loop *loop, cio_op *op) {
    (void)loop;
    free(op);
}

void rt_close_soon(rt_worker *w, cio_fd fd) {
    cio_op *op = malloc(sizeof *op);
    if (!op) return; /* the descriptor leaks; there is no memory to close it with */
    cio_prep_close(op, fd);
    op->cb = close_done;
    if (cio_submit(&w->loop, op) < 0) free(op);
}

static void exec_arrived(rt_worker *w, rt_exec *e);

static void job_arrived(cio_loop *loop, cio_op *op) {
    rt_job *j = op->data;
    rt_worker *w = j->to;
    /* What the work needs, copied before the job is let go of: an exec's
     * job lives on its waiter's stack, which the work below may end, and
     * the sender may still be completing `post` (not read here). */
    job_kind kind = j->kind;
    bool counted = j->counted;
    rt_job c;
    c.u = j->u;
    job_release(j);
    if (counted) arrived(w);
    switch (kind) {
    case JOB_SPAWN: {
        rt_task t = {.kind = TASK_PLAIN, .fn = c.u.spawn.fn, .arg = c.u.spawn.arg};
        rt_task_start(w, &t, c.u.spawn.stack_size, c.u.spawn.name, NULL);
        break;
    }
    case JOB_CALL:
        c.u.call.fn(loop, c.u.call.arg);
        w->own[PUB_CALLS]++;
        load_done(w);
        break;
    case JOB_EXEC:
        exec_arrived(w, (rt_exec *)(void *)j); /* the job is the exec's first member */
        break;
    case JOB_CONN:
        rt_serve_conn_arrived(w, &c);
        break;
    case JOB_CONTROL:
        c.u.control.fn(w, c.u.control.arg);
        cio__mutex_lock(&w->rt->mu);
        *c.u.control.done = true;
        cio__cond_broadcast(&w->rt->cv);
        cio__mutex_unlock(&w->rt->mu);
        break;
    }
}

void rt_control(rt_worker *w, void (*fn)(rt_worker *w, void *arg), void *arg) {
    bool done = false;
    rt_job j = {.kind = JOB_CONTROL, .u.control = {fn, arg, &done}};
    cio_runtime *rt = w->rt;
    if (rt_send(rt, w, &j, false) < 0) return;
    cio__mutex_lock(&rt->mu);
    while (!done && !w->exited) cio__cond_wait_ns(&rt->cv, &rt->mu, WAIT_SLICE_NS);
    cio__mutex_unlock(&rt->mu);
}

/* ---- runtime tasks ---- */

static intptr_t task_main(void *arg) {
    rt_task *t = arg;
    rt_worker *w = t->w;
    intptr_t r = t->kind == TASK_CONN ? rt_serve_conn_run(t) : t->fn(t->arg);
    list_remove(&w->tasks, &t->node);
    if (t->kind == TASK_EXEC) rt_exec_done(t->exec, r, 0);
    load_done(w);
    return r;
}

int rt_task_start(rt_worker *w, const rt_task *tmpl, size_t stack_size, const char *name, rt_task **out) {
    cio_task_options o = {.stack_size = stack_size, .name = name, .detached = true};
    void *rec;
    cio_task *task;
    int r = cio__task_spawn_extra(&w->loop, task_main, &o, sizeof(rt_task), &rec, &task);
    if (r < 0) {
        w->own[PUB_SPAWN_FAILURES]++;
        if (tmpl->kind == TASK_EXEC) rt_exec_done(tmpl->exec, 0, r);
        if (tmpl->kind == TASK_CONN) rt_close_soon(w, tmpl->fd);
        load_done(w);
        return r;
    }
    rt_task *t = rec;
    *t = *tmpl;
    t->w = w;
    t->task = task;
    list_push(&w->tasks, &t->node);
    w->own[PUB_SPAWNED]++;
    if (out) *out = t;
    return 0;
}

static int check_spawn(cio_runtime *rt, int worker, rt_worker **to) {
    if (!rt) return -CIO_EINVAL;
    if (stopping(rt)) return -CIO_ECANCELED;
    int err = 0;
    *to = rt_choose(rt, worker, &err);
    return *to ? 0 : err;
}

int rt_admit_send(cio_runtime *rt, rt_worker *to, rt_job *j, bool may_ring) {
    int r = rt_admit(rt, to);
    if (r < 0) return r;
    if ((r = rt_send(rt, to, j, may_ring)) < 0) {
        atomic_fetch_sub(&to->load, 1);
        rt_unadmit(rt, to);
    }
    return r;
}

/* A heap job of `kind` for the worker `worker` names, or NULL and *err. */
static rt_job *new_job(cio_runtime *rt, int worker, bool have_fn, job_kind kind, int *err) {
    rt_worker *to = NULL;
    *err = have_fn ? check_spawn(rt, worker, &to) : -CIO_EINVAL;
    if (*err < 0) return NULL;
    rt_job *j = calloc(1, sizeof *j);
    if (!j) {
        *err = -CIO_ENOMEM;
        return NULL;
    }
    j->kind = kind;
    j->heap = j->counted = true;
    j->to = to;
    return j;
}

/* Sends a job of new_job(): the worker's index, or an error (freed then). */
static int send_new_job(cio_runtime *rt, rt_job *j) {
    rt_worker *to = j->to;
    int r = rt_admit_send(rt, to, j, true);
    if (r < 0) {
        free(j);
        return r;
    }
    return (int)to->index;
}

static int spawn(cio_runtime *rt, int worker, cio_task_fn fn, void *arg, const cio_task_options *opts) {
    int r;
    rt_job *j = new_job(rt, worker, fn != NULL, JOB_SPAWN, &r);
    if (!j) return r;
    j->u.spawn.fn = fn;
    j->u.spawn.arg = arg;
    if (opts) {
        j->u.spawn.stack_size = opts->stack_size;
        j->u.spawn.name = opts->name;
    }
    return send_new_job(rt, j);
}

static int call(cio_runtime *rt, int worker, cio_runtime_call_fn fn, void *arg) {
    int r;
    rt_job *j = new_job(rt, worker, fn != NULL, JOB_CALL, &r);
    if (!j) return r;
    j->u.call.fn = fn;
    j->u.call.arg = arg;
    return send_new_job(rt, j);
}

/* ---- exec: a task on a worker, and its result back to the caller ----
 *
 * The request lives on the caller's stack. A waiting task gets the result
 * through a cross-thread channel on its own loop (cio_xchan, which keeps
 * that loop turning while it waits); a waiting thread through the
 * runtime's condition. A cancelled waiter sends `cancel` to the worker,
 * which cancels the remote task (or, if it has not started, refuses it)
 * and acknowledges; the waiter then waits, shielded, for both the result
 * and the acknowledgement, so that nothing is on its way to the request
 * when the call returns. */
struct rt_exec {
    rt_job job; /* first: job_arrived finds the request from it */
    cio_task_fn fn;
    void *arg;
    bool in_task;
    cio_xchan ch;
    cio_xmsg reply, ack;
    bool done; /* a thread waiter's: under rt->mu */
    cio_op cancel;
    atomic_bool replied; /* the answer is on its way: no cancel needed */
    atomic_int sent;     /* the worker's sends to the waiter's loop that have returned */
    /* The worker's thread only. */
    rt_task *remote;
    bool refused;
    /* Written by the worker before the reply. */
    intptr_t result;
    int err;
};

static void exec_arrived(rt_worker *w, rt_exec *e) {
    if (e->refused) {
        rt_exec_done(e, 0, -CIO_ECANCELED);
        load_done(w);
        return;
    }
    rt_task t = {.kind = TASK_EXEC, .fn = e->fn, .arg = e->arg, .exec = e};
    rt_task_start(w, &t, 0, NULL, &e->remote);
}

/* A send to the waiter's loop, then the count that tells the waiter the
 * send has returned: cio_loop_post() wakes the loop after it queued the
 * message, and the waiter, which may take the message in between, must
 * not let its loop go before that. The count is the last touch. */
static void send_to_waiter(rt_exec *e, cio_xmsg *m) {
    cio_xchan_send(&e->ch, m);
    atomic_fetch_add(&e->sent, 1);
}

void rt_exec_done(rt_exec *e, intptr_t result, int err) {
    e->remote = NULL;
    e->result = result;
    e->err = err;
    atomic_store(&e->replied, true);
    if (e->in_task) {
        send_to_waiter(e, &e->reply);
        return;
    }
    cio_runtime *rt = e->job.to->rt;
    cio__mutex_lock(&rt->mu);
    e->done = true;
    cio__cond_broadcast(&rt->cv);
    cio__mutex_unlock(&rt->mu);
}

static void exec_cancel_arrived(cio_loop *loop, cio_op *op) {
    (void)loop;
    rt_exec *e = op->data;
    rt_worker *w = e->job.to;
    if (e->remote)
        cio_task_cancel(e->remote->task);
    else
        e->refused = true; /* not started yet (or over: then nobody looks) */
    arrived(w);
    send_to_waiter(e, &e->ack);
}

/* The waiting task's side; returns 0 or why the wait was cut short. */
static int exec_wait_task(rt_exec *e) {
    cio_xmsg *m;
    int cut = cio_xchan_recv(&e->ch, &m), expected = 1;
    /* From here on nothing may cut the wait: a shield holds off the
     * cancellation and opens a scope without deadline. */
    cio_shield sh;
    cio_task_shield_push(&sh);
    if (cut != 0) {
        /* Cancelled, or a deadline scope passed: the remote task must go.
         * The cancel is a message to its worker, counted in flight there
         * (as rt_admit does, against `replied` where rt_admit has
         * `stopping`), so that the shutdown, which closes a worker's loop
         * only once its remote tasks are over and nothing is in flight,
         * cannot close it under the post. */
        rt_worker *to = e->job.to;
        bool reply = false, ack = true;
        atomic_fetch_add(&to->inflight, 1);
        if (atomic_load(&e->replied)) {
            arrived(to); /* the answer is on its way: nothing to cancel */
        } else {
            cio_prep_nop(&e->cancel);
            e->cancel.cb = exec_cancel_arrived;
            e->cancel.data = e;
            cio_loop_post(&to->loop, &e->cancel);
            ack = false;
            expected = 2;
        }
        while (!reply || !ack) {
            if (cio_xchan_recv(&e->ch, &m) < 0) break; /* the loop closes under the wait (see the header) */
            if (m == &e->reply) reply = true;
            if (m == &e->ack) ack = true;
        }
    }
    /* The sends are a system call from their end: spin a little on the
     * CPU before giving the loop turns (each a zero timeout) or, in a
     * closing loop that has none to give, sleeping. */
    for (unsigned spins = 0; atomic_load(&e->sent) < expected; spins++) {
        if (spins < SEND_SPINS)
            cio__cpu_relax();
        else if (cio_task_yield() < 0)
            cio__sleep_ns(CIO_NS_PER_MS / 10);
    }
    cio_task_shield_pop(&sh);
    return cut;
}

static int exec_on(cio_runtime *rt, int worker, cio_task_fn fn, void *arg, intptr_t *result) {
    rt_worker *to;
    if (!fn) return -CIO_EINVAL;
    int r = check_spawn(rt, worker, &to);
    if (r < 0) return r;
    rt_exec e;
    memset(&e, 0, sizeof e);
    atomic_init(&e.replied, false);
    atomic_init(&e.sent, 0);
    e.in_task = cio_task_current() != NULL;
    if (!e.in_task && self_worker) return -CIO_EDEADLK;
    if (e.in_task) cio_xchan_init(&e.ch, cio_task_loop());
    e.fn = fn;
    e.arg = arg;
    e.job.kind = JOB_EXEC;
    e.job.counted = true;
    /* Through the queue, never MSG_RING: the carrier's completion on this
     * side would come after the caller may have returned. */
    if ((r = rt_admit_send(rt, to, &e.job, false)) < 0) return r;
    int cut = 0;
    if (e.in_task) {
        cut = exec_wait_task(&e);
    } else {
        cio__mutex_lock(&rt->mu);
        while (!e.done) cio__cond_wait(&rt->cv, &rt->mu);
        cio__mutex_unlock(&rt->mu);
    }
    if (e.err == 0 && result) *result = e.result;
    return cut ? cut : e.err;
}

int cio_runtime_spawn(cio_runtime *rt, int worker, cio_task_fn fn, void *arg, const cio_task_options *opts) {
    if (!rt) return -CIO_EINVAL;
    rt_enter(rt);
    return rt_leave(rt, spawn(rt, worker, fn, arg, opts));
}

int cio_runtime_call(cio_runtime *rt, int worker, cio_runtime_call_fn fn, void *arg) {
    if (!rt) return -CIO_EINVAL;
    rt_enter(rt);
    return rt_leave(rt, call(rt, worker, fn, arg));
}

int cio_runtime_exec(cio_runtime *rt, int worker, cio_task_fn fn, void *arg, intptr_t *result) {
    if (!rt) return -CIO_EINVAL;
    rt_enter(rt);
    return rt_leave(rt, exec_on(rt, worker, fn, arg, result));
}

/* ---- the worker ---- */

static void publish(rt_worker *w) {
    cio_stats s;
    cio_loop_stats(&w->loop, &s);
    uint64_t v[PUB_COUNT_];
    memcpy(v, w->own, sizeof v);
    v[PUB_SUBMITTED] = s.ops_submitted;
    v[PUB_COMPLETED] = s.ops_completed;
    v[PUB_ENTERS] = s.enters;
    v[PUB_KCOMPLETIONS] = s.kernel_completions;
    v[PUB_TURNS] = s.turns;
    v[PUB_SQ_FULL] = s.sq_full_flushes;
    v[PUB_CQ_OVERFLOWS] = s.cq_overflows;
    v[PUB_POSTS] = s.posts_received;
    for (int i = 0; i < PUB_COUNT_; i++) atomic_store_explicit(&w->pub[i], v[i], memory_order_relaxed);
}

static void keepalive_fired(cio_loop *loop, cio_op *op) {
    rt_worker *w = op->data;
    if (atomic_load_explicit(&w->closing, memory_order_relaxed)) return;
    if (w->quit)
        cio_prep_timeout(op, UNWIND_TICK_NS, 0);
    else
        cio_prep_timeout(op, CIO_TIMEOUT_NEVER, CIO_TIMEOUT_ABS);
    op->cb = keepalive_fired;
    op->data = w;
    cio_submit(loop, op);
}

static void set_unwound(rt_worker *w) {
    cio__mutex_lock(&w->rt->mu);
    w->unwound = true;
    cio__cond_broadcast(&w->rt->cv);
    cio__mutex_unlock(&w->rt->mu);
}

static void worker_run(rt_worker *w) {
    int r = 0;
    while (!w->quit && r >= 0) {
        r = cio_loop_run(&w->loop, CIO_RUN_ONCE);
        publish(w);
    }
    if (r < 0) { /* the backend failed: no more work can reach this worker */
        atomic_store(&w->ready, false);
        cio__mutex_lock(&w->rt->mu);
        w->status = r;
        cio__mutex_unlock(&w->rt->mu);
        w->quit = true;
    } else {
        /* The shutdown's last step: every task of the loop (those the
         * runtime did not start too) is cancelled and the loop runs while
         * they unwind, on a short timer, so that their clean-up IO still
         * works; then the loop keeps serving messages (another worker's
         * task may still be waiting for an answer from here) until every
         * worker has got that far. */
        cio_cancel(&w->loop, &w->keepalive); /* re-armed with the short period */
        for (int round = 0; round < UNWIND_ROUNDS && r >= 0 && cio__task_cancel_live(&w->loop); round++)
            r = cio_loop_run(&w->loop, CIO_RUN_ONCE);
        set_unwound(w);
        /* Told by a flag, not a message: the poster's wake could still be
         * writing to the loop's wake handle when the close shuts it. */
        while (!atomic_load(&w->closing) && r >= 0) r = cio_loop_run(&w->loop, CIO_RUN_ONCE);
    }
    atomic_store(&w->closing, true);
    publish(w);
    cio_loop_close(&w->loop);
}

static void worker_main(void *arg) {
    rt_worker *w = arg;
    cio_runtime *rt = w->rt;
    self_worker = w;
    w->cpu = -1;
    if (rt->pin) {
        int cpu = rt->cpus[w->index % rt->ncpus];
        if (cio__thread_pin(cpu) == 0) w->cpu = cpu;
    }
    const cio_loop_options *o = rt->loop_opts;
    if (rt->worker_loops && rt->worker_loops[w->index]) o = rt->worker_loops[w->index];
    int r = cio_loop_init(&w->loop, o);
    if (r == 0) {
        w->backend = cio_loop_backend(&w->loop);
        cio_prep_timeout(&w->keepalive, CIO_TIMEOUT_NEVER, CIO_TIMEOUT_ABS);
        w->keepalive.cb = keepalive_fired;
        w->keepalive.data = w;
        if ((r = cio_submit(&w->loop, &w->keepalive)) < 0) cio_loop_close(&w->loop);
    }
    if (r == 0) {
        atomic_store_explicit(&w->ready, true, memory_order_release);
        if (rt->on_start) rt->on_start(rt, w->index, &w->loop, rt->on_start_arg);
        publish(w);
    }
    cio__mutex_lock(&rt->mu);
    w->status = r;
    w->started = true;
    cio__cond_broadcast(&rt->cv);
    cio__mutex_unlock(&rt->mu);
    if (r == 0) worker_run(w);
    self_worker = NULL;
    cio__mutex_lock(&rt->mu);
    w->exited = true; /* the last touch: the runtime may be freed from here on */
    cio__cond_broadcast(&rt->cv);
    cio__mutex_unlock(&rt->mu);
}

/* ---- start ---- */

static bool all_started(cio_runtime *rt) {
    for (unsigned i = 0; i < rt->n; i++)
        if (!rt->workers[i].started) return false;
    return true;
}

static bool all_exited(cio_runtime *rt) {
    for (unsigned i = 0; i < rt->n; i++)
        if (!rt->workers[i].exited) return false;
    return true;
}

static void runtime_free(cio_runtime *rt) {
    while (rt->serves.head) {
        lnode *n = list_pop(&rt->serves);
        free(LIST_ENTRY(n, rt_serve, node));
    }
    cio__cond_destroy(&rt->cv);
    cio__mutex_destroy(&rt->mu);
    free(rt->cpus);
    free(rt->workers_mem);
    free(rt);
}

int cio_runtime_start(const cio_runtime_options *opts, cio_runtime **out) {
    if (!out) return -CIO_EINVAL;
    *out = NULL;
    cio_runtime_options o = {0};
    if (opts) o = *opts;
    for (size_t i = 0; i < sizeof o.reserved_ / sizeof o.reserved_[0]; i++)
        if (o.reserved_[i]) return -CIO_EINVAL;
    if (o.workers > CIO_RUNTIME_MAX_WORKERS) return -CIO_EINVAL;
    cio_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) return -CIO_ENOMEM;
    rt->cpus = calloc(CIO_RUNTIME_MAX_WORKERS, sizeof *rt->cpus);
    if (!rt->cpus || cio__mutex_init(&rt->mu) < 0) {
        free(rt->cpus);
        free(rt);
        return -CIO_ENOMEM;
    }
    if (cio__cond_init(&rt->cv) < 0) {
        cio__mutex_destroy(&rt->mu);
        free(rt->cpus);
        free(rt);
        return -CIO_ENOMEM;
    }
    atomic_init(&rt->refs, 1); /* its own */
    rt->ncpus = cio__cpu_list(rt->cpus, CIO_RUNTIME_MAX_WORKERS);
    rt->n = o.workers ? o.workers : rt->ncpus;
    rt->pin = o.pin;
    rt->loop_opts = o.loop;
    rt->worker_loops = o.worker_loops;
    rt->on_start = o.on_start;
    rt->on_start_arg = o.arg;
    /* Each worker on cache lines of its own: `load` and the published
     * counters are written by one thread and read by others. */
    /* Aligned by hand: not every C library has aligned_alloc (mingw). */
    rt->workers_mem = calloc(1, rt->n * sizeof(rt_worker) + 63);
    if (!rt->workers_mem) {
        runtime_free(rt);
        return -CIO_ENOMEM;
    }
    rt->workers = (rt_worker *)(((uintptr_t)rt->workers_mem + 63) & ~(uintptr_t)63);
    int err = 0;
    for (unsigned i = 0; i < rt->n; i++) {
        rt_worker *w = &rt->workers[i];
        w->rt = rt;
        w->index = i;
        w->cpu = -1;
        w->entry.fn = worker_main;
        w->entry.arg = w;
        atomic_init(&w->ready, false);
    }
    for (unsigned i = 0; i < rt->n; i++) {
        rt_worker *w = &rt->workers[i];
        int r = cio__thread_start(&w->entry, WORKER_STACK, false);
        if (r < 0) {
            /* Not started: it counts as started, failed and gone. */
            w->status = r;
            w->started = w->exited = true;
            if (!err) err = r;
        }
    }
    wait_until(rt, all_started, UINT64_MAX);
    bool any = false;
    for (unsigned i = 0; i < rt->n; i++) {
        if (rt->workers[i].status == 0) any = true;
        else if (!err) err = rt->workers[i].status;
    }
    if (!any) {
        wait_until(rt, all_exited, UINT64_MAX);
        runtime_free(rt);
        return err ? err : -CIO_ENOMEM;
    }
    *out = rt;
    return 0;
}

unsigned cio_runtime_workers(const cio_runtime *rt) { return rt ? rt->n : 0; /* set once, before any thread sees rt */ }

static int worker_status(cio_runtime *rt, unsigned w) {
    if (w >= rt->n) return -CIO_EINVAL;
    cio__mutex_lock(&rt->mu); /* a worker whose loop fails later writes it */
    int st = rt->workers[w].status;
    cio__mutex_unlock(&rt->mu);
    return st;
}

int cio_runtime_worker_status(const cio_runtime *rt, unsigned w) {
    if (!rt) return -CIO_EINVAL;
    cio_runtime *m = rt_enter(rt);
    return rt_leave(m, worker_status(m, w));
}

cio_loop *cio_runtime_loop(cio_runtime *rt, unsigned w) {
    if (!rt) return NULL;
    rt_enter(rt);
    cio_loop *l = w < rt->n && runs(&rt->workers[w]) ? &rt->workers[w].loop : NULL;
    rt_leave(rt, 0);
    return l;
}

/* ---- counters ---- */

static void read_worker(cio_runtime *rt, const rt_worker *w, cio_worker_stats *out) {
    uint64_t v[PUB_COUNT_];
    for (int i = 0; i < PUB_COUNT_; i++) v[i] = atomic_load_explicit(&w->pub[i], memory_order_relaxed);
    memset(out, 0, sizeof *out);
    out->loop.ops_submitted = v[PUB_SUBMITTED];
    out->loop.ops_completed = v[PUB_COMPLETED];
    out->loop.enters = v[PUB_ENTERS];
    out->loop.kernel_completions = v[PUB_KCOMPLETIONS];
    out->loop.turns = v[PUB_TURNS];
    out->loop.sq_full_flushes = v[PUB_SQ_FULL];
    out->loop.cq_overflows = v[PUB_CQ_OVERFLOWS];
    out->loop.posts_received = v[PUB_POSTS];
    out->tasks_spawned = v[PUB_SPAWNED];
    out->tasks_cancelled = v[PUB_CANCELLED];
    out->spawn_failures = v[PUB_SPAWN_FAILURES];
    out->calls = v[PUB_CALLS];
    out->connections = v[PUB_CONNECTIONS];
    out->conn_errors = v[PUB_CONN_ERRORS];
    out->accept_errors = v[PUB_ACCEPT_ERRORS];
    out->load = atomic_load_explicit(&w->load, memory_order_relaxed);
    out->status = worker_status(rt, w->index);
    out->cpu = w->cpu;
    out->backend = w->status == 0 ? w->backend : CIO_BACKEND_AUTO;
}

int cio_runtime_worker_stats(const cio_runtime *rt, unsigned w, cio_worker_stats *out) {
    if (!rt || !out) return -CIO_EINVAL;
    cio_runtime *m = rt_enter(rt);
    if (w >= m->n) return rt_leave(m, -CIO_EINVAL);
    read_worker(m, &m->workers[w], out);
    return rt_leave(m, 0);
}

static int sum_stats(cio_runtime *rt, cio_worker_stats *out) {
    cio_worker_stats sum = {0}, one;
    sum.status = -CIO_ESRCH;
    for (unsigned i = 0; i < rt->n; i++) {
        read_worker(rt, &rt->workers[i], &one);
        sum.loop.ops_submitted += one.loop.ops_submitted;
        sum.loop.ops_completed += one.loop.ops_completed;
        sum.loop.enters += one.loop.enters;
        sum.loop.kernel_completions += one.loop.kernel_completions;
        sum.loop.turns += one.loop.turns;
        sum.loop.sq_full_flushes += one.loop.sq_full_flushes;
        sum.loop.cq_overflows += one.loop.cq_overflows;
        sum.loop.posts_received += one.loop.posts_received;
        sum.tasks_spawned += one.tasks_spawned;
        sum.load += one.load;
        sum.tasks_cancelled += one.tasks_cancelled;
        sum.spawn_failures += one.spawn_failures;
        sum.calls += one.calls;
        sum.connections += one.connections;
        sum.conn_errors += one.conn_errors;
        sum.accept_errors += one.accept_errors;
        if (one.status == 0) sum.status = 0;
        if (i == 0) sum.backend = one.backend;
    }
    sum.cpu = -1;
    *out = sum;
    return 0;
}

int cio_runtime_stats(const cio_runtime *rt, cio_worker_stats *out) {
    if (!rt || !out) return -CIO_EINVAL;
    cio_runtime *m = rt_enter(rt);
    return rt_leave(m, sum_stats(m, out));
}

/* ---- shutdown ---- */

static bool nothing_inflight(cio_runtime *rt) {
    for (unsigned i = 0; i < rt->n; i++)
        if (atomic_load(&rt->workers[i].inflight) && !rt->workers[i].exited) return false;
    return true;
}

static bool no_serve(cio_runtime *rt) { return rt->serving == 0; }

static bool no_acceptors(cio_runtime *rt) {
    for (unsigned i = 0; i < rt->n; i++)
        if (atomic_load(&rt->workers[i].acceptors_live) && !rt->workers[i].exited) return false;
    return true;
}

static bool no_load(cio_runtime *rt) {
    for (unsigned i = 0; i < rt->n; i++)
        if (atomic_load(&rt->workers[i].load) && !rt->workers[i].exited) return false;
    return true;
}

static bool all_unwound(cio_runtime *rt) {
    for (unsigned i = 0; i < rt->n; i++)
        if (!rt->workers[i].unwound && !rt->workers[i].exited) return false;
    return true;
}

static uint64_t total_load(cio_runtime *rt) {
    uint64_t n = 0;
    for (unsigned i = 0; i < rt->n; i++) n += atomic_load(&rt->workers[i].load);
    return n;
}

static void stop_accepting(rt_worker *w, void *arg) { *(uint64_t *)arg += rt_serve_stop(w); }

static void cancel_tasks(rt_worker *w, void *arg) {
    uint64_t n = 0;
    /* cio_task_cancel never runs a task, so the list stays as it is. */
    for (lnode *x = w->tasks.head; x; x = x->next, n++) cio_task_cancel(LIST_ENTRY(x, rt_task, node)->task);
    w->own[PUB_CANCELLED] += n;
    *(uint64_t *)arg += n;
}

static void begin_quit(rt_worker *w, void *arg) {
    (void)arg;
    w->quit = true;
    cio_loop_stop(&w->loop);
}

/* Runs `fn` on every worker that still runs. */
static void control_all(cio_runtime *rt, void (*fn)(rt_worker *w, void *arg), void *arg) {
    for (unsigned i = 0; i < rt->n; i++) {
        rt_worker *w = &rt->workers[i];
        bool gone;
        cio__mutex_lock(&rt->mu);
        gone = w->exited || w->status != 0;
        cio__mutex_unlock(&rt->mu);
        if (!gone) rt_control(w, fn, arg);
    }
}

int cio_runtime_shutdown(cio_runtime *rt, uint64_t grace_ns, cio_runtime_report *report,
                         cio_worker_stats *per_worker) {
    if (!rt) return -CIO_EINVAL;
    if (self_worker && self_worker->rt == rt) return -CIO_EDEADLK;
    cio_runtime_report rep = {0};
    cio__mutex_lock(&rt->mu); /* under the mutex: cio_runtime_serve looks at it so */
    atomic_store(&rt->stopping, true);
    cio__mutex_unlock(&rt->mu);
    wait_until(rt, no_serve, UINT64_MAX);
    wait_until(rt, nothing_inflight, UINT64_MAX);
    /* What runs now, and (counted in `late`) what the runtime's own
     * tasks hand on from here; acceptors refuse what they accept now. */
    uint64_t live = total_load(rt);
    control_all(rt, stop_accepting, &rep.listeners);
    wait_until(rt, no_acceptors, UINT64_MAX);
    wait_until(rt, no_load, grace_ns);
    /* Nothing is taken from here on; what was taken arrives, then every
     * runtime task still running is cancelled. */
    atomic_store(&rt->closed, true);
    wait_until(rt, nothing_inflight, UINT64_MAX);
    control_all(rt, cancel_tasks, &rep.tasks_cancelled);
    live += atomic_load(&rt->late);
    rep.tasks_finished = live >= rep.tasks_cancelled ? live - rep.tasks_cancelled : 0;
    wait_until(rt, no_load, UINT64_MAX);
    control_all(rt, begin_quit, NULL);
    wait_until(rt, all_unwound, UINT64_MAX);
    for (unsigned i = 0; i < rt->n; i++) atomic_store(&rt->workers[i].closing, true); /* seen within a tick */
    wait_until(rt, all_exited, UINT64_MAX);
    sum_stats(rt, &rep.total);
    if (report) *report = rep;
    for (unsigned i = 0; per_worker && i < rt->n; i++) read_worker(rt, &rt->workers[i], &per_worker[i]);
    rt_leave(rt, 0); /* the runtime's own reference: freed here, or by the last call under way */
    return 0;
}
