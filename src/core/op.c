/*
 * src/core/op.c - the op life cycle, the same on every backend.
 *
 * cio_submit() checks an op and sends it to whoever executes it: the core
 * itself (timers, timer updates, cancels of core-held ops), the backend, or
 * for opcodes the backend does not run, a quick system call on this thread
 * or the blocking pool.
 * Link chains are kept here too: only the head of a chain is started, and
 * each completion decides whether the next op starts or is cancelled. That
 * gives every backend the same link semantics.
 *
 * Completions the core produces itself never run inside cio_submit(): they
 * go to the ready queue, which the loop drains in the same turn.
 */
#include "../backend/backend.h"
#include "internal.h"
#include "bufpool.h"
#include "fixed_buf.h"
#include "fixed_file.h"


void cio__ready(cio_loop *loop, cio_op *op, int32_t res) { cio__ready_on(&cio__core(loop)->ready, op, res); }

static void start(cio_loop *loop, cio_op *op);

static void chain_continue(cio_loop *loop, cio_op *next, bool ok) {
    uint8_t st = next->internal_.state;
    if (st == OP_BACKEND || st == OP_LINKED) {
        /* The backend runs this part of the chain in the kernel (submit_chain),
         * whose link rules are cio's: the kernel has started `next` already,
         * or cancels it now. Its completion comes from the backend. */
        if (!ok) next->internal_.iflags |= IF_CANCELLED | IF_CHAIN_BROKEN;
        return;
    }
    if (ok) {
        start(loop, next);
        return;
    }
    next->internal_.iflags |= IF_CANCELLED | IF_CHAIN_BROKEN;
    cio__ready(loop, next, -CIO_ECANCELED);
}

static void timer_arm(cio_core *c, cio_op *op, uint64_t when);
static void start_in_backend(cio_loop *loop, cio_op *op);

/* An accept that fails for lack of descriptors (EMFILE, ENFILE) or of
 * socket memory (ENOBUFS, ENOMEM: how Windows, and Linux under its socket
 * buffer limits, report running out of sockets) would fail again at once:
 * the connection is still queued. A server that retries
 * straight away, or re-arms its multishot accept, would spin at full CPU
 * until a descriptor is freed. So the op waits CIO_ACCEPT_BACKOFF_NS in
 * the timer heap: a single accept then reports the error, a multishot one
 * reports it with CIO_F_MORE now and accepts again afterwards. Returns
 * whether the op was taken. */
static bool accept_backoff(cio_loop *loop, cio_op *op, int32_t res) {
    cio_core *c = cio__core(loop);
    bool exhausted = res == -CIO_EMFILE || res == -CIO_ENFILE || res == -CIO_ENOBUFS || res == -CIO_ENOMEM;
    if (op->opcode != CIO_OP_ACCEPT || !exhausted || c->closing ||
        (op->internal_.iflags & (IF_CANCELLED | IF_BACKOFF | IF_TIMED_OUT)))
        return false;
    if (op->internal_.iflags & IF_IN_HEAP) cio__heap_remove(c, op);
    op->res = res;
    op->internal_.iflags |= IF_BACKOFF;
    timer_arm(c, op, cio__now(c) + CIO_ACCEPT_BACKOFF_NS);
    if (op->flags & CIO_F_MULTISHOT) cio__complete_more(loop, op, res);
    return true;
}

/* The back-off of accept_backoff() is over. */
static void backoff_over(cio_loop *loop, cio_op *op) {
    if (!(op->flags & CIO_F_MULTISHOT)) {
        cio__ready(loop, op, op->res); /* IF_BACKOFF stays: no second back-off */
        return;
    }
    op->internal_.iflags &= (uint8_t)~IF_BACKOFF;
    start(loop, op);
}

/* The final completion of an accelerated opcode (IF_ACCEL): it gets its
 * opcode back if it ran as its base (the bytes were copied then), and no
 * longer counts among the registered buffers' users. */
static CIO_NOINLINE void accel_done(cio_core *c, cio_op *op) {
    if (op->opcode < CIO_OP_SEND_ZC) {
        /* Each base belongs to one accelerated opcode: find it back. */
        for (unsigned o = CIO_OP_SEND_ZC; o < CIO_OP_COUNT_; o++)
            if (cio__opdefs[o].base == op->opcode) {
                op->opcode = (uint8_t)o;
                break;
            }
        if (op->opcode == CIO_OP_SEND_ZC) op->args.sr.zc |= CIO_ZC_COPIED;
        if (op->opcode == CIO_OP_SENDMSG_ZC) op->args.msg.zc |= CIO_ZC_COPIED;
    }
    if (cio__fixed_buf_uses(op)) c->fixed_bufs.users--;
}

/* Everything a final completion may involve besides the callback: a
 * deadline still in the heap, a timeout to report, a chain to continue,
 * an accept to hold back. */
CIO_NOINLINE void cio__complete_slow(cio_loop *loop, cio_op *op, int32_t res) {
    cio_core *c = cio__core(loop);
    if (op->internal_.iflags & IF_CLOSE_HELD) { /* its turn now: see close_after_pool */
        op->internal_.iflags &= (uint8_t)~IF_CLOSE_HELD;
        if (atomic_load_explicit(&c->pool_held, memory_order_relaxed)) cio__pool_close_fd(loop, op->args.close.fd);
        start_in_backend(loop, op);
        return;
    }
    /* A new fixed handle is recorded (or refused by a full table) before
     * an accept that failed for lack of room pauses. */
    if (op->flags & CIO_F_FIXED_FILE) res = cio__files_done(loop, op, res);
    if (res < 0 && accept_backoff(loop, op, res)) return;
    uint8_t ifl = op->internal_.iflags;
    if ((ifl & IF_ACCEL) && op->opcode != CIO_OP_ACCEPT) accel_done(c, op); /* IF_ACCEL is IF_BACKOFF's bit */
    if (ifl & IF_BUFPOOL) cio__bufpool_unuse(op); /* the pool may be destroyed from the callback */
    if (ifl & IF_IN_HEAP) cio__heap_remove(c, op); /* a deadline that did not fire */
    /* The core's deadline fired and cancelled it (a backend that keeps
     * deadlines reports -CIO_ETIMEDOUT itself). */
    if (res == -CIO_ECANCELED && (ifl & IF_TIMED_OUT) && !(ifl & IF_CANCELLED) && !c->closing) res = -CIO_ETIMEDOUT;

    cio_op *next = op->internal_.link;
    bool ok = next && !(ifl & IF_CHAIN_BROKEN) &&
              ((op->flags & CIO_F_HARDLINK) || cio__link_continues(op, res));
    op->internal_.link = NULL;
    op->internal_.state = OP_IDLE;
    op->internal_.iflags = 0;
    op->flags &= (uint8_t)~CIO_F_MORE;
    op->res = res;
    c->active--;
    c->stats.ops_completed++;
    if (op->cb) op->cb(loop, op);
    if (next) chain_continue(loop, next, ok);
}

void cio__complete_more(cio_loop *loop, cio_op *op, int32_t res) {
    if (CIO_UNLIKELY(cio__fixed_record_changes(op))) res = cio__files_done(loop, op, res);
    op->res = res;
    op->flags |= CIO_F_MORE;
    if (op->cb) op->cb(loop, op);
}

/* Cancels an op the backend or the pool holds. With a `carrier` (a
 * CIO_OP_CANCEL op) the outcome is reported through it. */
static int cancel_in_flight(cio_loop *loop, cio_op *t, cio_op *carrier) {
    cio_core *c = cio__core(loop);
    if (t->internal_.state == OP_BACKEND || t->internal_.state == OP_LINKED) {
        if (carrier) carrier->internal_.state = OP_BACKEND;
        int r = c->be->cancel(loop, t, carrier);
        if (r < 0 && carrier) cio__ready(loop, carrier, r);
        return r;
    }
    int r = cio__pool_cancel(t);
    if (r == 0) cio__ready(loop, t, -CIO_ECANCELED);
    if (carrier) cio__ready(loop, carrier, r);
    return 0; /* a running pool op is interrupted, or finishes by itself */
}

/* ---- timers ---- */

static uint64_t timer_when(cio_core *c, uint64_t ns, uint32_t flags) {
    if (flags & CIO_TIMEOUT_ABS) return ns;
    uint64_t now = cio__now(c);
    return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}

/* Puts a CIO_OP_TIMEOUT in the heap at `when`, or at its deadline if that
 * comes first (IF_DEADLINE_HEAP then says the firing is a timeout). */
static void timer_arm(cio_core *c, cio_op *op, uint64_t when) {
    op->internal_.iflags &= (uint8_t)~IF_DEADLINE_HEAP;
    if (op->deadline && op->deadline < when) {
        when = op->deadline;
        op->internal_.iflags |= IF_DEADLINE_HEAP;
    }
    op->internal_.when = when;
    op->internal_.state = OP_TIMER;
    cio__heap_insert(c, op);
}

/* Called each turn: fires timers that are due and enforces core deadlines. */
void cio__timers_expire(cio_loop *loop) {
    cio_core *c = cio__core(loop);
    cio_op *op;
    uint64_t now = cio__now(c);
    for (unsigned n = 0; n < CIO_TIMERS_BATCH && (op = cio__timers_due(c, now)); n++) {
        if (op->internal_.state == OP_TIMER) {
            uint8_t ifl = op->internal_.iflags;
            if ((ifl & (IF_BACKOFF | IF_DEADLINE_HEAP)) == IF_BACKOFF)
                backoff_over(loop, op);
            else
                cio__ready(loop, op, (ifl & IF_DEADLINE_HEAP) ? -CIO_ETIMEDOUT : 0);
        } else {
            /* A deadline on an op the backend or the pool holds. */
            op->internal_.iflags |= IF_TIMED_OUT;
            cancel_in_flight(loop, op, NULL);
        }
    }
}

static void timer_ctl(cio_loop *loop, cio_op *op) {
    cio_core *c = cio__core(loop);
    cio_op *t = op->args.timer.target;
    if (t->internal_.state != OP_TIMER) {
        cio__ready(loop, op, -CIO_ENOENT);
        return;
    }
    cio__heap_remove(c, t);
    if (op->opcode == CIO_OP_TIMER_REMOVE) {
        t->internal_.iflags |= IF_CANCELLED;
        cio__ready(loop, t, -CIO_ECANCELED);
    } else {
        t->args.timeout.ns = op->args.timer.ns;
        t->args.timeout.flags = op->args.timer.flags;
        timer_arm(c, t, timer_when(c, op->args.timer.ns, op->args.timer.flags));
    }
    cio__ready(loop, op, 0);
}

/* ---- cancel ---- */

/* Cancels a target the core holds itself. Returns 0 if found, else -ENOENT. */
static int cancel_in_core(cio_loop *loop, cio_op *t) {
    cio_core *c = cio__core(loop);
    switch (t->internal_.state) {
    case OP_TIMER:
        cio__heap_remove(c, t);
        t->internal_.iflags |= IF_CANCELLED;
        cio__ready(loop, t, -CIO_ECANCELED);
        return 0;
    case OP_CHAINED: /* completes with -CIO_ECANCELED when the chain reaches it */
        t->internal_.iflags |= IF_CANCELLED;
        return 0;
    case OP_HOOK: {
        opq_remove(&c->close_hooks, t);
        /* A hook is not active: its completion through the ready queue
         * will count it out of what this counts in. */
        c->active++;
        c->stats.ops_submitted++;
        t->internal_.iflags |= IF_CANCELLED;
        cio__ready(loop, t, -CIO_ECANCELED);
        return 0;
    }
    default: /* its result is already known (OP_READY) */
        return -CIO_ENOENT;
    }
}

static bool in_flight(const cio_op *t) {
    return t->internal_.state == OP_BACKEND || t->internal_.state == OP_POOL || t->internal_.state == OP_LINKED;
}

static void cancel_op(cio_loop *loop, cio_op *op) {
    cio_op *t = op->args.cancel.target;
    if (in_flight(t)) {
        t->internal_.iflags |= IF_CANCELLED;
        cancel_in_flight(loop, t, op);
    } else
        cio__ready(loop, op, cancel_in_core(loop, t));
}

int cio_cancel(cio_loop *loop, cio_op *t) {
    if (!t || !loop || !cio__usable(loop)) return t ? cio__refusal(loop) : -CIO_EINVAL;
    if (t->internal_.state == OP_IDLE || t->internal_.state == OP_POSTED || t->internal_.loop != loop)
        return -CIO_ENOENT;
    if (!in_flight(t)) return cancel_in_core(loop, t);
    t->internal_.iflags |= IF_CANCELLED;
    return cancel_in_flight(loop, t, NULL); /* the backend's refusal is the caller's to know */
}

/* ---- submission ---- */

/* What follows a backend's answer other than "taken, nothing more to do".
 * An op the backend declined (-CIO_ENOTSUP) runs on the loop's thread if
 * its system call is quick, else on the blocking pool; a post goes through
 * the target's queue. Deadlines of ops the kernel does not time go into the
 * core's heap. */
static CIO_NOINLINE void start_slow(cio_loop *loop, cio_op *op, int r) {
    if (r == -CIO_ENOTSUP) {
        unsigned run = cio__opdef(op)->run;
        if (run == OPD_RUN_POST) {
            cio__ready(loop, op, cio_loop_post(op->args.post.target, op->args.post.msg));
            return;
        }
        if (run == OPD_RUN_INLINE) {
            cio__ready(loop, op, cio__sync_exec(op));
            return;
        }
        r = cio__pool_submit(op);
    }
    if (r < 0) {
        cio__ready(loop, op, r);
        return;
    }
    if (op->deadline) {
        op->internal_.when = op->deadline;
        op->internal_.iflags |= IF_DEADLINE_HEAP;
        cio__heap_insert(cio__core(loop), op);
    }
}

/* Timers and cancels run in the core, and a close passes through it (see
 * close_after_pool); every other op goes straight to the backend. (The five
 * are adjacent in enum cio_opcode, so that this is one comparison.) */
static inline bool core_opcode(unsigned opcode) { return opcode - CIO_OP_TIMEOUT <= CIO_OP_CLOSE - CIO_OP_TIMEOUT; }

/* A close must not run under an op of this loop on a pool thread (the
 * number could be reused under it), and op.h promises that the ops on the
 * handle complete first. The pool ends them and queues them as ready; the
 * close then waits behind them on the ready queue, since a backend may
 * complete it (io_uring) before the core drains that queue. */
static CIO_NOINLINE bool close_after_pool(cio_loop *loop, cio_op *op) {
    cio_core *c = cio__core(loop);
    if (!atomic_load_explicit(&c->pool_held, memory_order_relaxed) &&
        !atomic_load_explicit(&c->posts, memory_order_relaxed))
        return false;
    if (!cio__pool_close_fd(loop, op->args.close.fd)) return false;
    op->internal_.iflags |= IF_CLOSE_HELD;
    cio__ready(loop, op, 0);
    return true;
}

static inline void start_in_backend(cio_loop *loop, cio_op *op) {
    cio_core *c = cio__core(loop);
    op->internal_.state = OP_BACKEND;
    int r = c->be->submit(loop, op);
    if (CIO_LIKELY(r == 0 && !op->deadline)) return;
    if (r == 0 && (c->be->features & CIO_BE_KERNEL_DEADLINES)) return;
    start_slow(loop, op, r);
}

/* The head of a chain (or of its rest): a backend whose kernel links
 * chains itself takes the head and the ops after it that it can run so
 * (backend.h: submit_chain), in one submission instead of a loop turn per
 * op. Returns false when it took none: the head then starts alone. */
static CIO_NOINLINE bool start_chain(cio_loop *loop, cio_op *op) {
    op->internal_.state = OP_BACKEND;
    return cio__core(loop)->be->submit_chain(loop, op) > 0;
}

/* Starts an op: at submission, or when the op before it in a chain is done. */
static void start(cio_loop *loop, cio_op *op) {
    cio_core *c = cio__core(loop);
    if (c->closing || (op->internal_.iflags & IF_CANCELLED)) {
        op->internal_.iflags |= IF_CANCELLED;
        cio__ready(loop, op, -CIO_ECANCELED);
        return;
    }
    /* An op whose deadline passed before it started does not run: else
     * whether it ran would depend on who is first, the op or the timer
     * (an op on the pool could finish before the next turn sees the
     * deadline). A close still closes, or the handle would leak. */
    if (CIO_UNLIKELY(op->deadline) && op->opcode != CIO_OP_CLOSE && op->deadline <= cio__now(c)) {
        op->internal_.iflags |= IF_TIMED_OUT;
        cio__ready(loop, op, -CIO_ETIMEDOUT);
        return;
    }
    switch (op->opcode) {
    case CIO_OP_TIMEOUT:
        timer_arm(c, op, timer_when(c, op->args.timeout.ns, op->args.timeout.flags));
        return;
    case CIO_OP_TIMER_UPDATE:
    case CIO_OP_TIMER_REMOVE:
        timer_ctl(loop, op);
        return;
    case CIO_OP_CANCEL:
        cancel_op(loop, op);
        return;
    case CIO_OP_CLOSE:
        if (CIO_UNLIKELY(op->flags & CIO_F_FIXED_FILE)) {
            /* From now on the handle is not fixed for new ops. A slot of
             * the kernel's table is no descriptor: no pool op can name it. */
            int r = cio__files_closing(loop, op);
            if (r != 0) {
                if (r < 0)
                    cio__ready(loop, op, r);
                else
                    start_in_backend(loop, op);
                return;
            }
        }
        if (!close_after_pool(loop, op)) start_in_backend(loop, op);
        return;
    default:
        if (op->internal_.link && c->be->submit_chain && start_chain(loop, op)) return;
        start_in_backend(loop, op);
        return;
    }
}

/* `in_batch`: cio_submit_batch() has checked and marked the op's state
 * already (see there). */
static int validate(cio_loop *loop, const cio_op *op, bool in_batch, bool last) {
    cio_core *c = cio__core(loop);
    unsigned f = op->flags;
    if (CIO_UNLIKELY((op->internal_.state != OP_IDLE && !in_batch) || !c->accepting || f != 0)) {
        /* Closing now; or never set up, closed, inherited across fork(). */
        if (!c->accepting) return (c->closing && c->be) ? -CIO_ECANCELED : cio__refusal(loop);
        if (op->internal_.state != OP_IDLE && !in_batch) return -CIO_EALREADY;
        if (f & ~(CIO_F_LINK | CIO_F_HARDLINK | CIO_F_MULTISHOT | CIO_F_FIXED_FILE)) return -CIO_EINVAL;
        if ((f & CIO_F_LINK) && (f & CIO_F_HARDLINK)) return -CIO_EINVAL;
        if ((f & (CIO_F_LINK | CIO_F_HARDLINK)) && (!in_batch || last)) return -CIO_EINVAL;
    }
    if (op->opcode == CIO_OP_NOP && !f) return 0;
    if (CIO_UNLIKELY(op->opcode == 0 || op->opcode >= CIO_OP_COUNT_)) return -CIO_EINVAL;
    if ((f & CIO_F_MULTISHOT) && !cio__opdef(op)->multishot) return -CIO_EINVAL;
    if (f & CIO_F_FIXED_FILE) {
        int r = cio__files_check(loop, op);
        if (r < 0) return r;
    }
    return cio__op_check(loop, op);
}

/* An accelerated opcode (zero copy, registered buffers) is counted among
 * the users of the registered buffers when it names one, and runs as its
 * base (opdef.h) where the backend does not accelerate it: the backends
 * then need no code of their own for it. Its final completion undoes both
 * (accel_done). */
static CIO_NOINLINE void accel_adopt(cio_core *c, cio_op *op) {
    if (cio__fixed_buf_uses(op)) c->fixed_bufs.users++;
    if (op->opcode == CIO_OP_SEND_ZC) op->args.sr.zc &= (uint8_t)~CIO_ZC_COPIED;
    if (op->opcode == CIO_OP_SENDMSG_ZC) op->args.msg.zc = 0;
    if (!(c->accel & ((uint64_t)1 << op->opcode))) op->opcode = cio__opdef(op)->base;
    op->internal_.iflags |= IF_ACCEL;
}

/* Takes a validated op into the loop's accounting. */
static void adopt(cio_loop *loop, cio_op *op) {
    cio_core *c = cio__core(loop);
    /* iflags and link are already clear: prep clears them, and so does the
     * final completion of an op that is submitted again. */
    op->internal_.loop = loop;
    c->active++;
    c->stats.ops_submitted++;
    if (CIO_UNLIKELY(op->opcode == CIO_OP_RECV_POOL)) {
        cio__bufpool_use(op);
        op->internal_.iflags |= IF_BUFPOOL; /* its final completion takes the slow path */
    }
    if (CIO_UNLIKELY(op->opcode >= CIO_OP_SEND_ZC)) accel_adopt(c, op);
}

int cio_submit(cio_loop *loop, cio_op *op) {
    if (CIO_UNLIKELY(!loop || !op)) return -CIO_EINVAL;
    int r = validate(loop, op, false, true);
    if (r < 0) return r;
    adopt(loop, op);
    /* A fresh op is neither cancelled nor late for a closing loop (validate
     * saw to that), so the common case goes straight to the backend; one
     * with a deadline goes through start(), which checks it. */
    if (CIO_LIKELY(!core_opcode(op->opcode) && !op->deadline))
        start_in_backend(loop, op);
    else
        start(loop, op);
    return 0;
}

int cio_submit_batch(cio_loop *loop, cio_op *const *ops, unsigned n) {
    if (!loop || (!ops && n)) return -CIO_EINVAL;
    if (!cio__usable(loop)) return cio__refusal(loop);
    /* Check all before taking any. First every op is marked OP_CHAINED as
     * this loop's, so that the same op listed twice is caught, and so that a
     * cancel (or timer update) may name an op of the same batch: it then
     * finds its target in flight, or, if the target comes later, marks it
     * cancelled before it starts. */
    int r = 0;
    unsigned marked = 0;
    for (; marked < n && r == 0; marked++) {
        cio_op *op = ops[marked];
        r = !op ? -CIO_EINVAL : op->internal_.state != OP_IDLE ? -CIO_EALREADY : 0;
        if (r < 0) break;
        op->internal_.state = OP_CHAINED;
        op->internal_.loop = loop;
    }
    for (unsigned i = 0; i < n && r == 0; i++)
        if ((r = validate(loop, ops[i], true, i + 1 == n)) < 0) ops[i]->res = r;
    if (r < 0) {
        for (unsigned j = 0; j < marked; j++) ops[j]->internal_.state = OP_IDLE;
        /* The refused op learns why, unless it is in flight (submitted
         * before this batch): its res is then its backend's until it
         * completes (IOCP counts bytes in it). */
        cio_op *bad = marked < n ? ops[marked] : NULL;
        if (bad && bad->internal_.state == OP_IDLE) bad->res = r;
        return r;
    }
    for (unsigned i = 0; i < n; i++) {
        adopt(loop, ops[i]);
        if (i > 0 && (ops[i - 1]->flags & (CIO_F_LINK | CIO_F_HARDLINK)))
            ops[i - 1]->internal_.link = ops[i];
    }
    /* Start the ops that head a chain; the rest wait in OP_CHAINED. */
    for (unsigned i = 0; i < n; i++)
        if (i == 0 || !(ops[i - 1]->flags & (CIO_F_LINK | CIO_F_HARDLINK))) start(loop, ops[i]);
    return 0;
}
