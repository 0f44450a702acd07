/*
 * src/backend/mock.c - the simulated backend (CIO_BACKEND_MOCK): no kernel
 * object behind any op, time that is virtual, and a seed that decides
 * everything the simulation chooses, so that a run replays bit for bit.
 *
 * Every op a backend takes completes after a latency drawn from the seed,
 * so ops submitted together come back in a seeded order; deadlines are the
 * mock's, in virtual time; cancel, close of the loop, and wakes and posts
 * from other threads work as on every backend. The core's timers run on the virtual clock, and an idle
 * loop jumps to the next timer instead of sleeping: an hour of cio_sleep()
 * takes microseconds.
 *
 * The simulated world is made of handles of several kinds (mock_sim.h):
 * this file is the engine that schedules, parks, wakes, cancels and
 * completes the ops, and asks a handle's kind what an op does when its
 * latency is over. An op that parks waits for a change of its handle,
 * which wakes it for another try after a fresh latency; one that moved
 * part of its bytes (MSG_WAITALL) tries again after a fresh latency for
 * the rest. Nothing happens in the world before an op's try, so a cancel,
 * a deadline or a close can always end a held op without loss (a
 * MSG_WAITALL one reports the bytes it moved).
 *
 * Faults (mock_fault.c) strike at seeded rates: before an op's try (the
 * fault takes its place), at a submit (a full ring delays it), at a cancel
 * or a close that meets an op (it finishes first, or is interrupted).
 * Invariants are checked where they can break: a final completion of an op
 * the mock does not hold, a handle left at the close, a wait that nothing
 * can end (a deadlock: its parked ops end with -CIO_EDEADLK).
 *
 * One real object is kept: a condition variable, so that a post from
 * another thread wakes a mock loop that has nothing of its own to wait for.
 *
 * The trace hash mixes, in order, the virtual time of every wait and every
 * completion the mock delivers (its opcode, result and order of
 * submission): two runs with the same seed and the same program have the
 * same hash (cio/mock.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mock_chan.h"

/* The virtual clock starts here, not at 0, so that nothing mistakes it for
 * "no time". */
#define MOCK_EPOCH_NS 1000000000ull

/* An op's simulated latency: up to this many nanoseconds. */
#define MOCK_MAX_LATENCY_NS 1000u

/* How much later a full submission queue lets an op reach the kernel. */
#define MOCK_RING_FULL_DELAY_NS 100000u

/* What CIO_MOCK_POISON writes into the fields an op lent the mock. */
#define MOCK_POISON 0xa5a5a5a5a5a5a5a5ull
#define MB_POISONED 0xa5a5u

/* How long a loop that other threads have woken before waits for one of
 * them, in real time, before it reports a deadlock. */
#define MOCK_FOREIGN_WAIT_S 10
/* ... and one that no other thread has woken yet (one may be starting). */
#define MOCK_GRACE_NS 50000000

_Static_assert(sizeof(mock) <= sizeof(((cio_core *)0)->backend), "the mock's state fits in the loop");

static mock *state(cio_loop *loop) { return CIO_BACKEND_STATE(loop, mock); }

uint64_t mock_random(mock *m) {
    uint64_t z = (m->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void mock_mix(mock *m, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        m->trace ^= (v >> (8 * i)) & 0xff;
        m->trace *= 0x100000001b3ull;
    }
}

static int mock_init(cio_loop *loop, const cio_loop_options *opts) {
    mock *m = state(loop);
    memset(m, 0, sizeof *m);
    m->loop = loop;
    int r = mock_settings(m, opts);
    if (r < 0) return r;
    m->rng = m->seed;
    m->now = MOCK_EPOCH_NS;
    m->trace = 0xcbf29ce484222325ull;
    mock_mix(m, m->seed);
    m->waiter = cio__thread_self();
    if (cio__mutex_init(&m->mu) != 0) return -CIO_ENOMEM;
    if (cio__cond_init(&m->cv) != 0) {
        cio__mutex_destroy(&m->mu);
        return -CIO_ENOMEM;
    }
    return 0;
}

/* A handle open at the loop's close, named with what made it. */
static void report_left_open(mock *m, const mock_handle *h) {
    char maker[64];
    if (!h->made_by)
        snprintf(maker, sizeof maker, "a cio_mock_* call");
    else if (h->made_on == (cio_fd)CIO_FD_INVALID)
        snprintf(maker, sizeof maker, "%s", cio_op_name(h->made_by));
    else
        snprintf(maker, sizeof maker, "%s on %ld", cio_op_name(h->made_by), (long)h->made_on);
    mock_violation(m, "simulated %s handle %ld (made by %s) was left open when the loop closed", h->kind->name,
                   (long)mock_handle_fd(&m->world, h), maker);
}

static void mock_close(cio_loop *loop) {
    mock *m = state(loop);
    for (uint32_t i = 0; i < m->world.cap; i++)
        if (m->world.handles[i].kind) report_left_open(m, &m->world.handles[i]);
    mock_summary(m);
    mock_world_free(m);
    mock_script_free(m);
    cio__cond_destroy(&m->cv);
    cio__mutex_destroy(&m->mu);
}

/* Lets every kind release what its open handles hold, then the table. */
void mock_world_free(mock *m) {
    for (uint32_t i = 0; i < m->world.cap; i++) {
        mock_handle *h = &m->world.handles[i];
        if (!h->kind) continue;
        cio_fd fd = mock_handle_fd(&m->world, h);
        h->kind->close(m, h);
        mock_handle_free(&m->world, fd);
    }
    free(m->world.handles);
    m->world = (mock_world){0};
    mock_net_free(m);
    mock_fs_free(m);
}

const mock_kind *mock_kind_of_op(const cio_op *op) {
    switch (op->opcode) {
    case CIO_OP_SOCKET:
        return &mock_socket_kind;
    case CIO_OP_OPENAT:
    case CIO_OP_STATX:
    case CIO_OP_UNLINKAT:
    case CIO_OP_RENAMEAT:
    case CIO_OP_MKDIRAT:
    case CIO_OP_SPLICE: /* between pipes and files: the file system's */
    case CIO_OP_SYMLINKAT:
    case CIO_OP_LINKAT:
    case CIO_OP_COPY_RANGE:
    case CIO_OP_FTRUNCATE: /* on any handle: the file system says what a pipe or socket answers */
    case CIO_OP_FALLOCATE:
    case CIO_OP_READDIR:
        return &mock_fs_kind;
    case CIO_OP_CALL:
        return &mock_call_kind;
    default:
        return NULL;
    }
}

/* CIO_OP_CALL: the caller's function, run on the loop's thread when its
 * seeded latency is over (cio/op.h). Nothing is held; a cancel or a
 * deadline before then takes it back and fn never runs. Two results are
 * the engine's own (MOCK_PARK, MOCK_MORE): a function returning one of
 * them gets -CIO_ERANGE. */
static int call_check(mock *m, cio_op *op, mock_handle *h) {
    (void)m;
    (void)op;
    (void)h;
    return 0;
}

static int32_t call_try(mock *m, cio_op *op, mock_handle *h) {
    (void)m;
    (void)h;
    int32_t r = op->args.call.fn(op->args.call.arg);
    return (r == MOCK_PARK || r == MOCK_MORE) ? -CIO_ERANGE : r;
}

static void call_close(mock *m, mock_handle *h) {
    (void)m;
    (void)h;
}

const mock_kind mock_call_kind = {.name = "call", .check = call_check, .try_op = call_try, .close = call_close};

static uint64_t mock_clock(cio_loop *loop) { return state(loop)->now; }

/* Puts `op` in the heap at the end of a latency drawn from the seed, or at
 * its deadline if that comes first. */
/* `op` no longer waits for a change (it is tried, or it ends). */
static void unpark(mock *m, cio_op *op) {
    if (op->internal_.bflags & MB_CROSS) m->cross_parked--;
    op->internal_.bflags &= (uint16_t) ~(MB_PARKED | MB_CROSS);
}

static void schedule_after(mock *m, cio_op *op, uint64_t latency) {
    uint64_t when = latency > UINT64_MAX - m->now ? UINT64_MAX : m->now + latency;
    unpark(m, op);
    op->internal_.bflags &= (uint16_t)~MB_TIMED_OUT;
    /* A close took effect at its submit: no deadline can undo it. */
    bool timed = op->deadline && !(op->opcode == CIO_OP_CLOSE && !(op->internal_.bflags & MB_SCRIPTED));
    if (timed && op->deadline < when) {
        when = op->deadline > m->now ? op->deadline : m->now;
        op->internal_.bflags |= MB_TIMED_OUT;
    }
    op->internal_.when = when;
    op->internal_.bflags |= MB_DUE;
    cio__heap_push(&m->due, op);
}

static void schedule(mock *m, cio_op *op) { schedule_after(m, op, 1 + mock_random(m) % MOCK_MAX_LATENCY_NS); }

/* `op` waits for a change of its handle, or of another handle it names
 * (MB_CROSS: a splice held on fd_out waits for fd_in too); its deadline,
 * if it has one, is kept in the heap meanwhile. */
static void park(mock *m, cio_op *op) {
    op->internal_.bflags |= MB_PARKED;
    if (cio__opdef(op)->also[0]) {
        op->internal_.bflags |= MB_CROSS;
        m->cross_parked++;
    }
    if (!op->deadline) return;
    op->internal_.when = op->deadline > m->now ? op->deadline : m->now;
    op->internal_.bflags |= MB_TIMED_OUT | MB_DUE;
    cio__heap_push(&m->due, op);
}

/* A parked op tries again after a fresh latency. */
static void retry(mock *m, cio_op *op) {
    if (op->internal_.bflags & MB_DUE) cio__heap_take(&m->due, op);
    op->internal_.bflags &= (uint16_t)~MB_DUE;
    schedule(m, op);
}

void mock_wake(mock *m, cio_fd fd) {
    mock_handle *h = mock_handle_at(&m->world, fd);
    if (!h) return;
    for (cio_op *op = h->ops.head; op; op = OPQ_NEXT(op)) {
        if (op->internal_.bflags & MB_PARKED)
            retry(m, op);
        else
            op->internal_.bflags |= MB_CHANGED; /* it tries soon: let it see the change */
    }
    /* Parked ops held on other handles that name this one (rare: only
     * while one waits is the whole table looked at). */
    for (uint32_t i = 0; m->cross_parked && i < m->world.cap; i++) {
        if (&m->world.handles[i] == h) continue;
        for (cio_op *op = m->world.handles[i].ops.head; op; op = OPQ_NEXT(op))
            if ((op->internal_.bflags & MB_CROSS) && cio__op_uses(op, fd)) retry(m, op);
    }
}

uint32_t mock_transfer_size(mock *m, uint32_t possible) {
    uint64_t r = mock_random(m);
    return (r & 1) ? possible : 1 + (uint32_t)((r >> 1) % possible);
}

/* What a held op ended early (cancel, deadline, close) reports: one that
 * counts what it moved (MSG_WAITALL) reports that, as op.h asks of every
 * backend. */
static int32_t early_result(const cio_op *op, int32_t res) {
    return ((op->internal_.bflags & MB_PARTIAL) && op->res > 0) ? op->res : res;
}

/* Where `op` runs: on its simulated handle (*h), or, naming none, on the
 * kind its opcode belongs to. NULL: a real handle or a number that is not
 * open (-CIO_EBADF), or an op the world does not run. */
static const mock_kind *kind_for(mock *m, const cio_op *op, mock_handle **h) {
    cio_fd fd = cio__op_file(op);
    *h = fd != (cio_fd)CIO_FD_INVALID ? mock_handle_at(&m->world, fd) : NULL;
    const mock_kind *k = mock_kind_of_op(op);
    if (k) return k;
    return *h ? (*h)->kind : NULL;
}

/* Takes an op that the world runs onto its handle: 0 or the op's error. */
static int hold(mock *m, cio_op *op) {
    mock_handle *h;
    const mock_kind *kind = kind_for(m, op, &h);
    /* A real handle, or a number not open: an op that names one never
     * runs (it could not be held where a change or a close finds it). */
    if (!kind || (!h && cio__op_file(op) != (cio_fd)CIO_FD_INVALID)) return -CIO_EBADF;
    op->res = 0; /* what it moved so far, for an op that counts it */
    int r = kind->check(m, op, h);
    if (r < 0) return r;
    if (h) {
        op->internal_.bflags |= MB_HELD;
        opq_push(&h->ops, op);
    }
    return 0;
}

/* Takes `op` out of wherever the mock holds it (its flags stay, for
 * early_result, until the next submit). */
static void unhold(mock *m, cio_op *op) {
    unpark(m, op);
    uint16_t bf = op->internal_.bflags;
    if (bf & MB_DUE) cio__heap_take(&m->due, op);
    if (bf & MB_SCRIPTED) mock_script_drop(m, op);
    if (bf & MB_HELD) {
        mock_handle *h = mock_handle_at(&m->world, cio__op_file(op));
        if (h) opq_remove(&h->ops, op);
    }
    op->internal_.bflags = bf & MB_PARTIAL;
}

/* What a fault does to `op` instead of its try, or 0 for none. */
static int32_t fault_instead(mock *m, const cio_op *op, const mock_kind *kind, mock_handle *h) {
    int op_code = op->opcode;
    if (op_code == CIO_OP_SOCKET || op_code == CIO_OP_ACCEPT || op_code == CIO_OP_OPENAT) {
        if (mock_fault(m, CIO_MOCK_FAULT_NOMEM)) return -CIO_ENOMEM;
        if (mock_fault(m, CIO_MOCK_FAULT_MFILE)) return -CIO_EMFILE;
    }
    if ((cio__op_msg_flags(op) & CIO_MSG_DONTWAIT) && mock_fault(m, CIO_MOCK_FAULT_AGAIN)) return -CIO_EAGAIN;
    bool transfer = cio__opdef(op)->dir == OPD_DIR_IN || cio__opdef(op)->dir == OPD_DIR_OUT;
    if (kind == &mock_stream_kind && transfer && op_code != CIO_OP_ACCEPT && op_code != CIO_OP_CONNECT &&
        mock_fault(m, CIO_MOCK_FAULT_RESET))
        mock_chan_reset(m, h->obj); /* the try then meets it */
    return 0;
}

/* Tries `op` in the world now (faults first): its result, MOCK_PARK or
 * MOCK_MORE. */
static int32_t try_now(mock *m, cio_op *op, const mock_kind *kind, mock_handle *h) {
    int32_t res = fault_instead(m, op, kind, h);
    if (res) return res;
    m->world.trying = op;
    res = kind->try_op(m, op, h);
    m->world.trying = NULL;
    return res;
}

/* The final completion of an op the mock held: checked to be its only one,
 * traced, what it lent the mock poisoned (CIO_MOCK_POISON), and delivered
 * now (`now`: from the wait) or from the ready queue later in the turn
 * (from submit or cancel, which may not run callbacks; the ready queue
 * links through internal_.next, which then stays). */
static void finish(cio_loop *loop, mock *m, cio_op *op, int32_t res, bool now) {
    if (op->internal_.state != OP_BACKEND) {
        mock_violation(m, "%s op %p completed again after its final completion", cio_op_name(op->opcode), (void *)op);
        return;
    }
    mock_mix(m, ((uint64_t)op->opcode << 32) | (uint32_t)res);
    if (m->flags & CIO_MOCK_POISON) {
        /* What backend.h lends a backend: nobody may read it after this. */
        if (now) op->internal_.next = (cio_op *)(uintptr_t)MOCK_POISON;
        memset(&op->internal_.u, 0xa5, sizeof op->internal_.u);
        op->internal_.when = MOCK_POISON;
        op->internal_.bflags = MB_POISONED;
    } else {
        op->internal_.bflags = 0;
    }
    if (!now) {
        cio__ready(loop, op, res);
        return;
    }
    cio__core(loop)->stats.kernel_completions++;
    cio__complete(loop, op, res);
}

/* Ends a held op early: it has moved nothing, or reports what it moved. */
static void end_early(cio_loop *loop, mock *m, cio_op *op, int32_t res) {
    unhold(m, op);
    finish(loop, m, op, early_result(op, res), false);
}

/* A cancel or close that meets `op` just as it finishes (a fault): tries
 * it now; true when it completed with its own result. */
static bool finish_first(cio_loop *loop, mock *m, cio_op *op) {
    if (op->flags & CIO_F_MULTISHOT) return false;
    bool scripted = op->internal_.bflags & MB_SCRIPTED;
    op->internal_.bflags &= (uint16_t)~MB_SCRIPTED; /* it gets its result below, not a drop in unhold */
    unhold(m, op);
    int32_t res;
    if (scripted) {
        res = mock_script_result(m, op);
    } else if (op->opcode == CIO_OP_NOP || op->opcode == CIO_OP_CLOSE) {
        res = 0;
    } else {
        mock_handle *h;
        const mock_kind *kind = kind_for(m, op, &h);
        res = try_now(m, op, kind, h);
        if (res == MOCK_PARK || res == MOCK_MORE) return false; /* it could not: the cancel wins */
    }
    finish(loop, m, op, res, false);
    return true;
}

/* A close of a simulated handle: the ops held on it end first, with
 * -CIO_ECANCELED (op.h), then its kind lets it go, which the handles that
 * see it go notice (end of file, EPIPE, ECONNRESET, POLLHUP, POLLERR). 0 or
 * the close's error. */
void mock_end(mock *m, cio_op *op, int32_t res) { end_early(m->loop, m, op, res); }

static int close_handle(cio_loop *loop, mock *m, cio_fd fd) {
    mock_handle *h = mock_handle_at(&m->world, fd);
    if (!h) return -CIO_EBADF; /* a real handle, too: the simulation has none */
    cio_op *op;
    /* Looked up again each time: a try may make handles (the table moves). */
    while ((op = (h = mock_handle_at(&m->world, fd))->ops.head))
        if (!mock_fault(m, CIO_MOCK_FAULT_CLOSE_RACE) || !finish_first(loop, m, op))
            end_early(loop, m, op, -CIO_ECANCELED);
    h->kind->close(m, h);
    mock_handle_free(&m->world, fd);
    return 0;
}

static int mock_submit(cio_loop *loop, cio_op *op) {
    mock *m = state(loop);
    int r = 0;
    op->internal_.bflags = 0;
    if (op->opcode == CIO_OP_POST) return -CIO_ENOTSUP; /* the core posts through the target's queue */
    if (m->script) {
        uint64_t latency;
        r = mock_script_claim(m, op, &latency);
        if (r < 0) return r;
        if (r == 1) {
            op->internal_.bflags = MB_SCRIPTED;
            schedule_after(m, op, latency);
            mock_mix(m, ++m->submitted);
            return 0;
        }
    }
    switch (op->opcode) {
    case CIO_OP_NOP:
        break;
    case CIO_OP_CLOSE:
        r = close_handle(loop, m, op->args.close.fd);
        break;
    default:
        r = hold(m, op);
        break;
    }
    if (r < 0) {
        mock_mix(m, ((uint64_t)op->opcode << 32) | (uint32_t)r);
        return r;
    }
    if (mock_fault(m, CIO_MOCK_FAULT_RING_FULL))
        schedule_after(m, op, 1 + mock_random(m) % MOCK_RING_FULL_DELAY_NS);
    else
        schedule(m, op);
    mock_mix(m, ++m->submitted);
    return 0;
}

static int mock_cancel(cio_loop *loop, cio_op *target, cio_op *carrier) {
    mock *m = state(loop);
    int32_t outcome = 0;
    if (target->opcode == CIO_OP_CLOSE && !(target->internal_.bflags & MB_SCRIPTED)) {
        /* The close took effect at its submit: it has finished, as a
         * kernel's close that a cancel meets. */
        finish_first(loop, m, target);
        outcome = -CIO_ENOENT;
    } else if (!cio__core(loop)->closing && mock_fault(m, CIO_MOCK_FAULT_CANCEL_RACE) && finish_first(loop, m, target)) {
        outcome = -CIO_ENOENT;
    } else if (carrier && !cio__core(loop)->closing && target->opcode != CIO_OP_CALL &&
               mock_fault(m, CIO_MOCK_FAULT_INTR)) {
        end_early(loop, m, target, -CIO_EINTR);
        outcome = -CIO_EALREADY;
    } else {
        end_early(loop, m, target, -CIO_ECANCELED);
    }
    if (carrier) cio__ready(loop, carrier, outcome);
    return 0;
}

static void mock_cancel_all(cio_loop *loop) {
    mock *m = state(loop);
    cio_op *op;
    for (uint32_t i = 0; i < m->world.cap; i++)
        while ((op = m->world.handles[i].ops.head)) mock_cancel(loop, op, NULL);
    while ((op = m->due.root)) mock_cancel(loop, op, NULL);
}

/* Whether `op`, which the mock takes from one of its queues, was poisoned:
 * a violation (the mock kept an op past its final completion). */
static bool poisoned(mock *m, const cio_op *op) {
    if (op->internal_.bflags != MB_POISONED) return false;
    mock_violation(m, "%s op %p was touched after its final completion", cio_op_name(op->opcode), (const void *)op);
    return true;
}

/* Completes, in virtual time order, every op due by now: an op in the
 * world is tried then, and parks instead if it cannot go on yet, or is
 * scheduled again if it has more to move. */
static int deliver_due(cio_loop *loop, mock *m) {
    int n = 0;
    cio_op *op;
    while ((op = m->due.root) && op->internal_.when <= m->now) {
        cio__heap_take(&m->due, op);
        if (poisoned(m, op)) continue;
        uint16_t bf = op->internal_.bflags;
        op->internal_.bflags = bf & (uint16_t)~MB_DUE;
        unpark(m, op); /* a parked op here has reached its deadline */
        /* Its deadline came first. */
        int32_t res = (bf & MB_TIMED_OUT) ? early_result(op, -CIO_ETIMEDOUT) : 0;
        if (bf & MB_SCRIPTED) {
            if (bf & MB_TIMED_OUT)
                mock_script_drop(m, op);
            else
                res = mock_script_result(m, op);
        } else if (!(bf & MB_TIMED_OUT) && op->opcode != CIO_OP_NOP && op->opcode != CIO_OP_CLOSE) {
            mock_handle *h;
            const mock_kind *kind = kind_for(m, op, &h);
            res = try_now(m, op, kind, h);
            if (res == MOCK_PARK && !(bf & MB_HELD)) {
                /* Nothing could wake it: the kind's mistake, not the program's. */
                mock_violation(m, "%s op %p would wait on no handle", cio_op_name(op->opcode), (void *)op);
                res = -CIO_EBADF;
            } else if (res == MOCK_PARK) {
                park(m, op);
                continue;
            }
            if (res == MOCK_MORE) {
                schedule(m, op);
                continue;
            }
            if (op->internal_.bflags & MB_MORE) {
                /* Held again before the callback runs, which may cancel it. */
                op->internal_.bflags &= (uint16_t)~MB_MORE;
                schedule(m, op);
                mock_mix(m, ((uint64_t)op->opcode << 32) | (uint32_t)res);
                cio__core(loop)->stats.kernel_completions++;
                cio__complete_more(loop, op, res);
                n++;
                continue;
            }
        }
        if (bf & MB_HELD) {
            mock_handle *h = mock_handle_at(&m->world, cio__op_file(op));
            opq_remove(&h->ops, op);
        }
        finish(loop, m, op, res, true);
        n++;
    }
    return n;
}

/* Ends every parked op with -CIO_EDEADLK after naming them: nothing in
 * the simulation can wake them, and no other thread came. Returns how many
 * there were. */
static unsigned end_deadlock(cio_loop *loop, mock *m) {
    char names[256] = "";
    size_t len = 0;
    unsigned parked = 0;
    for (uint32_t i = 0; i < m->world.cap; i++)
        for (cio_op *op = m->world.handles[i].ops.head; op; op = OPQ_NEXT(op))
            if (parked++ < 4 && len < sizeof names)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s on %ld", parked > 1 ? ", " : "",
                                        cio_op_name(op->opcode), (long)mock_handle_fd(&m->world, &m->world.handles[i]));
    if (!parked) return 0;
    mock_violation(m, "deadlock at virtual time %llu ns: %u op(s) wait for ever (%s%s); they end with -CIO_EDEADLK",
                   (unsigned long long)m->now, parked, names, parked > 4 ? ", ..." : "");
    for (uint32_t i = 0; i < m->world.cap; i++)
        while (m->world.handles[i].ops.head) end_early(loop, m, m->world.handles[i].ops.head, -CIO_EDEADLK);
    return parked;
}

/* Nothing is due and no timer is set: only another thread can bring work.
 * Waits for one in real time, briefly, or up to MOCK_FOREIGN_WAIT_S once
 * another thread has woken this loop, then ends the parked ops as a
 * deadlock. With no op parked, it waits for a wake as long as it takes
 * (the program waits for another thread with nothing in flight). */
static void wait_for_wake(cio_loop *loop, mock *m) {
    cio__mutex_lock(&m->mu);
    m->waiter = cio__thread_self();
    /* A deadline, not a time per wait: a spurious wake must not extend it. */
    uint64_t start = cio__clock_ns();
    uint64_t limit = m->foreign_wakes ? (uint64_t)MOCK_FOREIGN_WAIT_S * 1000000000u : (uint64_t)MOCK_GRACE_NS;
    for (uint64_t spent; !m->woken && (spent = cio__clock_ns() - start) < limit;)
        cio__cond_wait_ns(&m->cv, &m->mu, limit - spent);
    bool woken = m->woken;
    cio__mutex_unlock(&m->mu);
    if (woken || end_deadlock(loop, m)) return;
    cio__mutex_lock(&m->mu);
    while (!m->woken) cio__cond_wait(&m->cv, &m->mu);
    cio__mutex_unlock(&m->mu);
}

static bool take_wake(cio_loop *loop, mock *m) {
    cio__mutex_lock(&m->mu);
    bool w = m->woken;
    m->woken = false;
    cio__mutex_unlock(&m->mu);
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
    if (timeout_ns < 0 && !next) {
        wait_for_wake(loop, m);
        take_wake(loop, m);
    } else {
        /* The end of the budget (saturated: a timer 584 years away is
         * still a time), or the next op's, whichever comes first. */
        uint64_t until = timeout_ns < 0 || (uint64_t)timeout_ns > UINT64_MAX - m->now ? UINT64_MAX
                                                                                       : m->now + (uint64_t)timeout_ns;
        if (next && next->internal_.when < until) until = next->internal_.when;
        if (until > m->now) m->now = until;
    }
    mock_mix(m, m->now);
    return deliver_due(loop, m);
}

static int mock_loop_wake(cio_loop *loop) {
    mock *m = state(loop);
    cio__mutex_lock(&m->mu);
    if (!cio__thread_equal(m->waiter, cio__thread_self())) m->foreign_wakes = true;
    m->woken = true;
    cio__cond_signal(&m->cv);
    cio__mutex_unlock(&m->mu);
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
    .wake = mock_loop_wake,
    .pollable_fd = mock_pollable_fd,
    .clock = mock_clock,
    .socket_call = mock_net_socket_call,
    .setup_op = mock_net_setup_op,
    .pair = mock_net_pair,
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
    return mock_chan_make(state(loop), false, fds);
}

int cio_mock_socketpair(cio_loop *loop, cio_fd fds[2]) {
    if (!loop || !fds || !cio__usable(loop) || cio__core(loop)->be != &cio__backend_mock) return -CIO_EINVAL;
    return mock_chan_make(state(loop), true, fds);
}
