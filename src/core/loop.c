/*
 * src/core/loop.c - the loop: backend choice, the turn, posts, wakes, close.
 *
 * One turn of cio_loop_run():
 *   1. the backend pushes staged ops to the kernel and waits, at most until
 *      the earliest timer, for completions (one system call on io_uring),
 *      running the callback of each completion it reaps;
 *   2. the core refreshes its clock, fires due timers, delivers messages
 *      posted by other threads, and runs the ready queue (completions the
 *      core produced itself).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../backend/backend.h"
#include "internal.h"
#include "thread.h"

uint64_t cio__clock(cio_core *c) {
    if (CIO_LIKELY(!c->be || !c->be->clock)) return cio__clock_ns(); /* also a loop never set up */
    cio_loop *loop = (cio_loop *)(void *)((char *)c - offsetof(cio_loop, internal_));
    return c->be->clock(loop);
}

/* The backends built in, in the order CIO_BACKEND_AUTO tries them. */
static const struct cio_backend *const backends[] = {
#ifdef CIO_HAVE_IOCP
    &cio__backend_iocp,
#endif
#ifdef CIO_HAVE_URING
    &cio__backend_uring,
#endif
#ifdef CIO_HAVE_EPOLL
    &cio__backend_epoll,
#endif
#ifdef CIO_HAVE_POLL
    &cio__backend_poll,
#endif
    &cio__backend_mock,
    NULL};

static const char *const backend_names[] = {"auto", "io_uring", "epoll", "poll", "iocp", "mock"};

const char *cio_backend_name(cio_backend_kind kind) {
    if ((unsigned)kind >= sizeof backend_names / sizeof *backend_names) return "unknown";
    return backend_names[kind];
}

/* CIO_BACKEND in the environment overrides the option: operators can move a
 * deployed program off io_uring without rebuilding it. */
static int chosen_kind(const cio_loop_options *opts, cio_backend_kind *kind) {
    *kind = opts ? opts->backend : CIO_BACKEND_AUTO;
    const char *env = getenv("CIO_BACKEND");
    if (!env || !*env) return 0;
    for (unsigned k = 0; k < sizeof backend_names / sizeof *backend_names; k++) {
        if (strcmp(env, backend_names[k]) == 0) {
            *kind = (cio_backend_kind)k;
            return 0;
        }
    }
    if (strcmp(env, "uring") == 0) {
        *kind = CIO_BACKEND_URING;
        return 0;
    }
    /* "invalid argument" alone does not lead an operator to a variable set
     * far away (a unit file, a container spec); once per process is enough. */
    static atomic_bool told;
    if (!atomic_exchange(&told, true))
        fprintf(stderr, "cio: CIO_BACKEND=%s is not one of auto, io_uring, epoll, poll, iocp, mock\n", env);
    return -CIO_EINVAL;
}

/* The loops of this process that take ops, so that a forked child can mark
 * its copies as not its own: cio_submit() then needs no check of its own. */
static cio__mutex live_mu = CIO__MUTEX_INIT;
static cio_core *live_head;

static void live_add(cio_core *c) {
    cio__mutex_lock(&live_mu);
    c->accepting = true;
    c->live_prev = NULL;
    c->live_next = live_head;
    if (live_head) live_head->live_prev = c;
    live_head = c;
    cio__mutex_unlock(&live_mu);
}

/* Stops `c` taking ops (its close begins); idempotent. */
static void live_remove(cio_core *c) {
    cio__mutex_lock(&live_mu);
    if (c->accepting) {
        c->accepting = false;
        if (c->live_prev)
            c->live_prev->live_next = c->live_next;
        else
            live_head = c->live_next;
        if (c->live_next) c->live_next->live_prev = c->live_prev;
    }
    cio__mutex_unlock(&live_mu);
}

static void before_fork(void) { cio__mutex_lock(&live_mu); }
static void after_fork_parent(void) { cio__mutex_unlock(&live_mu); }
static void forked_child(void) {
    for (cio_core *c = live_head; c; c = c->live_next) {
        c->accepting = false; /* cio_submit's one test */
        c->inherited = true;  /* and what it means, for everything else */
    }
    live_head = NULL;
    cio__mutex_unlock(&live_mu);
}
static cio__once setup_once = CIO__ONCE_INIT;
static void process_setup(void) {
    cio__atfork(before_fork, after_fork_parent, forked_child);
    cio__process_setup(); /* SIGPIPE ignored (POSIX), Winsock started (Windows) */
}

/* Reserved words must be zero, so that later meanings of them cannot
 * surprise a program. */
static bool options_valid(const cio_loop_options *opts) {
    if (opts->flags || opts->reserved0_ || (unsigned)opts->backend > CIO_BACKEND_MOCK) return false;
    for (size_t i = 0; i < sizeof opts->reserved_ / sizeof opts->reserved_[0]; i++)
        if (opts->reserved_[i]) return false;
    return true;
}

int cio_loop_init(cio_loop *loop, const cio_loop_options *opts) {
    if (!loop) return -CIO_EINVAL;
    /* Whatever happens next, the loop is recognisably unusable until set
     * up: every call on it then fails cleanly. */
    void *user = loop->data;
    memset(loop, 0, sizeof *loop);
    loop->data = user;
    if (opts && !options_valid(opts)) return -CIO_EINVAL;
    cio_backend_kind kind;
    int r = chosen_kind(opts, &kind);
    if (r < 0) return r;
    cio__once_run(&setup_once, process_setup);

    cio_core *c = cio__core(loop);
    c->now = cio__clock_ns();
    atomic_init(&c->posts, NULL);
    atomic_init(&c->wake_pending, 0);
    r = cio__timers_init(c);
    if (r < 0) return r;

    r = -CIO_ENOTSUP;
    for (unsigned i = 0; backends[i]; i++) {
        if (kind == CIO_BACKEND_AUTO ? backends[i]->kind == CIO_BACKEND_MOCK : backends[i]->kind != kind) continue;
        c->be = backends[i];
        r = c->be->init(loop, opts);
        if (r == 0) {
            c->now = cio__clock(c); /* the backend's clock, which may be virtual */
            live_add(c);
            return 0;
        }
        if (kind != CIO_BACKEND_AUTO) break;
    }
    cio__timers_fini(c);
    c->be = NULL;
    return r;
}

static void drain_ready(cio_loop *loop) {
    cio_core *c = cio__core(loop);
    /* Only what is queued now: an op that keeps re-queueing itself from its
     * callback must not keep the loop from waiting for the kernel. */
    cio_op *last = c->ready.tail, *op;
    while ((op = opq_pop(&c->ready))) {
        cio__complete(loop, op, op->res);
        if (op == last) break;
    }
}

void cio__deliver_post(cio_loop *loop, cio_op *msg) {
    cio_core *c = cio__core(loop);
    msg->internal_.state = OP_IDLE;
    msg->flags &= (uint8_t)~CIO_F_MORE;
    c->stats.posts_received++;
    msg->cb(loop, msg);
}

static void drain_posts(cio_loop *loop) {
    cio_core *c = cio__core(loop);
    if (!atomic_load_explicit(&c->posts, memory_order_relaxed)) return;
    /* The stack is newest first; deliver oldest first. */
    opq fifo = opq_from_stack(atomic_exchange_explicit(&c->posts, NULL, memory_order_acquire));
    cio_op *op;
    while ((op = opq_pop(&fifo))) {
        if (op->internal_.state == OP_POOL) /* an op the blocking pool finished */
            cio__complete(loop, op, op->res);
        else
            cio__deliver_post(loop, op);
    }
}

/* Step 2 of a turn. */
static void process(cio_loop *loop) {
    cio_core *c = cio__core(loop);
    if (cio__timers_pending(c)) {
        cio__now(c);
        cio__timers_expire(loop);
    }
    if (atomic_load_explicit(&c->pool_cancels, memory_order_relaxed)) cio__pool_kick(loop);
    drain_posts(loop);
    drain_ready(loop);
}

/* How long the backend may block: 0 when work is already waiting. */
static int64_t wait_budget(cio_core *c) {
    if (!opq_empty(&c->ready) || c->stop || atomic_load_explicit(&c->posts, memory_order_relaxed)) return 0;
    uint64_t when;
    /* Timers that never fire (CIO_TIMEOUT_NEVER) set no time. */
    if (c->timers.count == c->timers.never || !cio__timers_next(c, &when)) return cio__pool_cap_wait(c, -1);
    uint64_t now = cio__now(c), left = when > now ? when - now : 0;
    /* A timer more than 292 years away is still a timer, not "no limit" (-1). */
    return cio__pool_cap_wait(c, left > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)left);
}

int cio_loop_run(cio_loop *loop, cio_run_mode mode) {
    if (!loop || (unsigned)mode > CIO_RUN_NOWAIT) return -CIO_EINVAL;
    cio_core *c = cio__core(loop);
    if (!cio__usable(loop)) return cio__refusal(loop);
    if (c->running || c->closing) return -CIO_EBUSY;
    c->running = true;
    c->now_stale = true; /* time passed since the last call */
    int err = 0;
    uint64_t delivered = c->stats.ops_completed + c->stats.posts_received;
    process(loop);
    /* CIO_RUN_ONCE has done its job if that already delivered something. */
    bool waited = delivered != c->stats.ops_completed + c->stats.posts_received;
    for (;;) {
        if (c->stop || (c->active == 0 && mode == CIO_RUN_DEFAULT)) break;
        c->stats.turns++;
        /* With no op active, a NOWAIT turn (an outside driver's) still
         * consumes what woke it, or cio_loop_fd() would stay readable. */
        if (c->active > 0 || mode == CIO_RUN_NOWAIT) {
            int64_t budget = (mode == CIO_RUN_NOWAIT || (waited && mode == CIO_RUN_ONCE)) ? 0 : wait_budget(c);
            /* Completions run their callbacks inside the wait, after it may
             * have blocked: the first of them to ask for the time reads it. */
            c->now_stale = true;
            int r = c->be->wait(loop, budget);
            if (r < 0) {
                err = r;
                break;
            }
        }
        process(loop);
        if (mode != CIO_RUN_DEFAULT) break;
    }
    if (c->be->run_end) c->be->run_end(loop);
    c->running = false;
    c->stop = false;
    return err ? err : (int)c->active;
}

void cio_loop_stop(cio_loop *loop) {
    if (loop) cio__core(loop)->stop = true;
}

/* The hooks tidy up what lives beside the loop: with `res` 0 once every
 * op is done, or with an error when the close cannot end them (the hook
 * then lets go of its memory and touches no op or task). A hook cancelled
 * by another one completes from the ready queue. */
static void run_close_hooks(cio_loop *loop, int32_t res) {
    cio_core *c = cio__core(loop);
    cio_op *hook;
    while ((hook = opq_pop(&c->close_hooks))) {
        hook->internal_.state = OP_IDLE;
        hook->res = res;
        hook->cb(loop, hook);
    }
    if (res == 0) process(loop);
}

static int at_close(cio_loop *loop, cio_op *hook, bool last) {
    if (!loop || !hook || !hook->cb || hook->opcode != CIO_OP_NOP) return -CIO_EINVAL;
    cio_core *c = cio__core(loop);
    if (!cio__usable(loop)) return cio__refusal(loop);
    if (hook->internal_.state != OP_IDLE) return -CIO_EALREADY;
    if (c->closing) return -CIO_ECANCELED;
    hook->internal_.state = OP_HOOK;
    hook->internal_.loop = loop;
    if (last)
        opq_push(&c->close_hooks, hook);
    else
        opq_push_front(&c->close_hooks, hook); /* the newest runs first */
    return 0; /* not an op of cio_submit(): the counters leave it out */
}

int cio_loop_at_close(cio_loop *loop, cio_op *hook) { return at_close(loop, hook, false); }

int cio__loop_at_close_last(cio_loop *loop, cio_op *hook) { return at_close(loop, hook, true); }

int cio_loop_close(cio_loop *loop) {
    if (!loop) return -CIO_EINVAL;
    cio_core *c = cio__core(loop);
    if (!c->be) return -CIO_EINVAL;
    if (c->inherited) {
        /* A child's copy: its ops and kernel objects are the parent's. Let
         * go of this process's handles and memory; touch nothing else
         * (the hooks cannot submit: the loop refuses it as inherited). */
        run_close_hooks(loop, -CIO_EPERM);
        c->be->close(loop);
        cio__timers_fini(c);
        c->be = NULL;
        return 0;
    }
    if (c->running || c->closing) return -CIO_EBUSY;
    c->closing = true;
    live_remove(c);
    c->be->cancel_all(loop);
    for (cio_op *op = cio__pool_take_all(loop), *next; op; op = next) {
        next = op->internal_.next;
        op->internal_.iflags |= IF_CANCELLED;
        cio__ready(loop, op, -CIO_ECANCELED);
    }
    /* Timers are the core's: cancel them here. A deadline entry belongs to
     * an op the backend holds, which cancel_all already reaches. */
    for (cio_op *op; (op = cio__timers_first(c));) {
        cio__heap_remove(c, op);
        if (op->internal_.state == OP_TIMER) {
            op->internal_.iflags |= IF_CANCELLED;
            cio__ready(loop, op, -CIO_ECANCELED);
        }
    }
    process(loop);
    /* Ops in the kernel finish or acknowledge the cancel shortly; a few
     * (a disk read already under way) finish on their own. Re-ask now and
     * then in case one started after the first request. */
    for (;;) {
        while (c->active > 0) {
            c->now_stale = true;
            int r = c->be->wait(loop, !opq_empty(&c->ready) ? 0 : 50 * 1000 * 1000);
            if (r < 0) break;
            process(loop);
            if (c->active > 0 && r == 0) c->be->cancel_all(loop);
        }
        if (c->active > 0 || opq_empty(&c->close_hooks)) break;
        run_close_hooks(loop, 0);
    }
    run_close_hooks(loop, -CIO_EIO); /* ops the backend could not end: see the return */
    drain_posts(loop);
    cio__pool_quiesce(loop); /* a pool thread may still be waking the loop */
    c->be->close(loop);
    cio__timers_fini(c);
    c->be = NULL;
    return c->active ? -CIO_EIO : 0;
}

bool cio_loop_is_closing(const cio_loop *loop) { return loop && cio__ccore(loop)->be && cio__ccore(loop)->closing; }

uint64_t cio_now(const cio_loop *loop) {
    if (!loop) return 0;
    /* Reading the cache may fill it: the loop is the caller's, not const memory. */
    return cio__now((cio_core *)(uintptr_t)cio__ccore(loop));
}

uint64_t cio_loop_update_now(cio_loop *loop) {
    if (!loop) return 0;
    cio_core *c = cio__core(loop);
    c->now_stale = false;
    return c->now = cio__clock(c);
}

cio_backend_kind cio_loop_backend(const cio_loop *loop) {
    if (!loop) return CIO_BACKEND_AUTO;
    const cio_core *c = cio__ccore(loop);
    return c->be ? c->be->kind : CIO_BACKEND_AUTO;
}

unsigned cio_loop_active(const cio_loop *loop) { return loop ? cio__ccore(loop)->active : 0; }

int cio_loop_fd(cio_loop *loop, cio_fd *fd) {
    if (!loop || !fd) return -CIO_EINVAL;
    if (!cio__usable(loop)) return cio__refusal(loop);
    return cio__core(loop)->be->pollable_fd(loop, fd);
}

int64_t cio_loop_timeout(cio_loop *loop) {
    if (!loop) return -CIO_EINVAL;
    if (!cio__usable(loop)) return cio__refusal(loop);
    cio_core *c = cio__core(loop);
    c->now_stale = true;
    return wait_budget(c);
}

int cio_loop_wake(cio_loop *loop) {
    if (!loop) return -CIO_EINVAL;
    cio_core *c = cio__core(loop);
    if (!cio__usable(loop)) return cio__refusal(loop);
    if (atomic_exchange_explicit(&c->wake_pending, 1, memory_order_acq_rel)) return 0;
    return c->be->wake(loop);
}

void cio__wake_consumed(cio_loop *loop) {
    atomic_store_explicit(&cio__core(loop)->wake_pending, 0, memory_order_release);
}

int cio_loop_post(cio_loop *target, cio_op *msg) {
    if (!target || !msg || !msg->cb || msg->opcode == 0) return -CIO_EINVAL;
    if (msg->internal_.state != OP_IDLE) return -CIO_EALREADY;
    cio_core *c = cio__core(target);
    if (!cio__usable(target)) return cio__refusal(target);
    msg->internal_.state = OP_POSTED;
    /* Only the post that finds the queue empty wakes the loop; later ones
     * ride on that wake, since the loop drains the whole queue at once.
     * Queued, the message is delivered: a wake that failed (the handle
     * gone bad) is no error of the post, which the caller would take for
     * a message not sent, and free. */
    if (cio__posts_push(c, msg)) (void)cio_loop_wake(target);
    return 0;
}

void cio_loop_stats(const cio_loop *loop, cio_stats *out) {
    if (loop && out) *out = cio__ccore(loop)->stats;
}
