/*
 * src/backend/uring.c - the io_uring backend (Linux 5.19 and later).
 *
 * Each op becomes one SQE whose user_data is the op's address; its CQE is
 * its completion. One io_uring_enter per loop turn submits everything the
 * turn queued and waits for completions together.
 *
 * user_data carries a tag in its low three bits (ops are 8-aligned):
 *   TAG_OP      a cio_op of this loop
 *   TAG_POST    a message another loop sent with MSG_RING
 *   TAG_WAKE    the read on the wake eventfd
 *   TAG_IGNORE  internal SQEs whose CQE means nothing to us (link timeouts
 *               for deadlines, fire-and-forget cancels)
 *
 * Setup tries SINGLE_ISSUER|DEFER_TASKRUN, then COOP_TASKRUN|TASKRUN_FLAG,
 * then no task-run flags; always SUBMIT_ALL and CLAMP, CQ twice the SQ. The
 * ring starts disabled and is enabled by the first thread that enters it,
 * so a loop can be set up on one thread and run on another.
 *
 * Never lose a completion: a full SQ is submitted early and the op retried;
 * completions that overflowed the CQ are flushed back (IORING_FEAT_NODROP)
 * and reaped. Opcodes the kernel lacks (the probe says) are declined with
 * -CIO_ENOTSUP and the core runs them as plain system calls; the environment
 * variable CIO_URING_DISABLE="bind,listen,..." pretends more are missing,
 * for testing that path.
 */
#include <liburing.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"

enum { TAG_OP = 0, TAG_POST = 1, TAG_WAKE = 2, TAG_IGNORE = 3, TAG_MASK = 7 };

/* Opcodes newer than the packaged liburing's header; filled in by hand. */
enum { URING_OP_BIND = 56, URING_OP_LISTEN = 57 };

typedef struct uring {
    struct io_uring ring;
    unsigned setup_flags;
    uint32_t native;     /* bit (1 << cio opcode): the kernel runs it itself */
    uint32_t plain;      /* of those, the ones that are one plain SQE (not a post) */
    int wake_fd;         /* eventfd that cio_loop_wake() writes */
    int notify_fd;       /* eventfd registered for cio_loop_fd(), or -1 */
    int enter_fd;        /* registered ring index, or the ring fd */
    unsigned enter_flags;
    bool bound;          /* enabled and bound to the running thread */
    bool wake_armed;     /* the wake read is in flight */
    uint64_t wake_buf;
} uring;

_Static_assert(sizeof(uring) <= sizeof(((cio_core *)0)->backend), "uring state must fit");
_Static_assert(sizeof(struct statx) == sizeof(cio_statx), "cio_statx mirrors struct statx");
_Static_assert(offsetof(struct statx, stx_mtime) == offsetof(cio_statx, mtime), "statx layout");
_Static_assert(offsetof(struct statx, stx_dev_minor) == offsetof(cio_statx, dev_minor), "statx layout");

static uring *state(cio_loop *loop) { return CIO_BACKEND_STATE(loop, uring); }

/* The kernel opcode behind each cio opcode that reaches a backend (timers
 * and cancels of core-held ops never do; see reaches_backend()). */
static const uint8_t kernel_opcode[CIO_OP_COUNT_] = {
    [CIO_OP_NOP] = IORING_OP_NOP,
    [CIO_OP_READ] = IORING_OP_READ,
    [CIO_OP_WRITE] = IORING_OP_WRITE,
    [CIO_OP_READV] = IORING_OP_READV,
    [CIO_OP_WRITEV] = IORING_OP_WRITEV,
    [CIO_OP_FSYNC] = IORING_OP_FSYNC,
    [CIO_OP_OPENAT] = IORING_OP_OPENAT,
    [CIO_OP_CLOSE] = IORING_OP_CLOSE,
    [CIO_OP_STATX] = IORING_OP_STATX,
    [CIO_OP_UNLINKAT] = IORING_OP_UNLINKAT,
    [CIO_OP_RENAMEAT] = IORING_OP_RENAMEAT,
    [CIO_OP_MKDIRAT] = IORING_OP_MKDIRAT,
    [CIO_OP_SOCKET] = IORING_OP_SOCKET,
    [CIO_OP_BIND] = URING_OP_BIND,
    [CIO_OP_LISTEN] = URING_OP_LISTEN,
    [CIO_OP_ACCEPT] = IORING_OP_ACCEPT,
    [CIO_OP_CONNECT] = IORING_OP_CONNECT,
    [CIO_OP_RECV] = IORING_OP_RECV,
    [CIO_OP_SEND] = IORING_OP_SEND,
    [CIO_OP_RECVMSG] = IORING_OP_RECVMSG,
    [CIO_OP_SENDMSG] = IORING_OP_SENDMSG,
    [CIO_OP_SHUTDOWN] = IORING_OP_SHUTDOWN,
    [CIO_OP_POLL] = IORING_OP_POLL_ADD,
    [CIO_OP_SPLICE] = IORING_OP_SPLICE,
    [CIO_OP_POST] = IORING_OP_MSG_RING,
};

/* Ops whose absence the core can cover with a plain, non-blocking-in-practice
 * system call. If the kernel lacks any other, this backend is not used. */
static bool reaches_backend(int opc) {
    return opc != CIO_OP_TIMEOUT && opc != CIO_OP_TIMER_UPDATE && opc != CIO_OP_TIMER_REMOVE &&
           opc != CIO_OP_CANCEL;
}

static const uint32_t core_can_run = 1u << CIO_OP_SOCKET | 1u << CIO_OP_BIND | 1u << CIO_OP_LISTEN |
                                     1u << CIO_OP_SHUTDOWN | 1u << CIO_OP_CLOSE | 1u << CIO_OP_UNLINKAT |
                                     1u << CIO_OP_RENAMEAT | 1u << CIO_OP_MKDIRAT | 1u << CIO_OP_OPENAT |
                                     1u << CIO_OP_STATX | 1u << CIO_OP_FSYNC | 1u << CIO_OP_POST;

/* ---- entering the kernel ---- */

/* Ties the ring to the thread that first uses it: SINGLE_ISSUER rings
 * accept only one submitter, and a registered ring fd is per thread. */
static int bind_thread(uring *u) {
    if (u->setup_flags & IORING_SETUP_R_DISABLED) {
        int r = io_uring_register(u->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
        if (r < 0) return r;
    }
    struct io_uring_rsrc_update up = {.offset = -1U, .data = (uint64_t)u->ring.ring_fd};
    if (io_uring_register(u->ring.ring_fd, IORING_REGISTER_RING_FDS, &up, 1) == 1) {
        u->enter_fd = (int)up.offset;
        u->enter_flags = IORING_ENTER_REGISTERED_RING;
    }
    u->bound = true;
    return 0;
}

/* Publishes staged SQEs and calls io_uring_enter once. With `getevents`, it
 * also runs deferred completions and, with `wait` and a `timeout_ns` other
 * than 0, sleeps until one completion (or the timeout). */
static int enter(cio_loop *loop, uring *u, bool getevents, bool wait, int64_t timeout_ns) {
    if (!u->bound) {
        int r = bind_thread(u);
        if (r < 0) return r;
    }
    struct io_uring_sq *sq = &u->ring.sq;
    unsigned tail = sq->sqe_tail;
    if (sq->sqe_head != tail) {
        sq->sqe_head = tail;
        io_uring_smp_store_release(sq->ktail, tail);
    }
    unsigned to_submit = tail - IO_URING_READ_ONCE(*sq->khead);
    unsigned flags = u->enter_flags, min_complete = 0;
    struct __kernel_timespec ts;
    struct io_uring_getevents_arg arg = {.sigmask_sz = _NSIG / 8};
    void *argp = NULL;
    size_t argsz = _NSIG / 8;
    if (getevents || (IO_URING_READ_ONCE(*sq->kflags) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)))
        flags |= IORING_ENTER_GETEVENTS;
    if (wait && timeout_ns != 0) {
        min_complete = 1;
        flags |= IORING_ENTER_GETEVENTS;
        if (timeout_ns > 0) {
            ts.tv_sec = timeout_ns / 1000000000;
            ts.tv_nsec = timeout_ns % 1000000000;
            arg.ts = (uint64_t)(uintptr_t)&ts;
            flags |= IORING_ENTER_EXT_ARG;
            argp = &arg;
            argsz = sizeof arg;
        }
    }
    if (!to_submit && !(flags & IORING_ENTER_GETEVENTS)) return 0;
    cio__core(loop)->stats.enters++;
    long r = syscall(__NR_io_uring_enter, u->enter_fd, to_submit, min_complete, flags, argp, argsz);
    if (r >= 0) return (int)r;
    r = -errno;
    /* The wait ran out, a signal came, or completions must be reaped first:
     * none of these is a failure of the loop. */
    if (r == -ETIME || r == -EINTR || r == -EBUSY || r == -EAGAIN) return 0;
    return (int)r;
}

static unsigned sq_free(const uring *u) {
    const struct io_uring_sq *sq = &u->ring.sq;
    return sq->ring_entries - (sq->sqe_tail - IO_URING_READ_ONCE(*sq->khead));
}

/* The SQ is full: submit what is staged to make room for `n` SQEs. */
static CIO_NOINLINE bool reserve_slow(cio_loop *loop, uring *u, unsigned n) {
    cio__core(loop)->stats.sq_full_flushes++;
    /* The kernel may refuse more while completions wait in its overflow
     * list; entering with GETEVENTS flushes them into the CQ. A few tries
     * are enough: the SQ empties as soon as the kernel accepts it. */
    for (int i = 0; i < 4 && sq_free(u) < n; i++)
        if (enter(loop, u, i > 0, false, 0) < 0) return false;
    return sq_free(u) >= n;
}

/* Makes room for `n` SQEs. */
static inline bool reserve(cio_loop *loop, uring *u, unsigned n) {
    return CIO_LIKELY(sq_free(u) >= n) || reserve_slow(loop, u, n);
}

static struct io_uring_sqe *take_sqe(uring *u) {
    struct io_uring_sq *sq = &u->ring.sq;
    struct io_uring_sqe *sqe = &sq->sqes[sq->sqe_tail & sq->ring_mask];
    sq->sqe_tail++;
    return sqe;
}

/* ---- completions ---- */

static void arm_wake(cio_loop *loop, uring *u) {
    if (u->wake_armed || !reserve(loop, u, 1)) return;
    struct io_uring_sqe *sqe = take_sqe(u);
    io_uring_prep_read(sqe, u->wake_fd, &u->wake_buf, sizeof u->wake_buf, 0);
    sqe->user_data = TAG_WAKE;
    u->wake_armed = true;
}

/* A CIO_OP_POST finished on the sending side. If MSG_RING could not deliver
 * (the target ring is not enabled yet, or full), fall back to the queue. */
static int32_t post_sent(cio_op *op, int32_t res) {
    if (res >= 0) return 0;
    cio_op *msg = op->args.post.msg;
    msg->internal_.state = OP_IDLE;
    return cio_loop_post(op->args.post.target, msg);
}

static int uring_submit(cio_loop *loop, cio_op *op);

/* The kernel ends a multishot op with a successful CQE when it cannot post
 * into a full CQ. cio's multishot goes on until a cancel or an error ends
 * it: deliver the result as one more, and arm the op again. */
static CIO_NOINLINE bool multishot_rearm(cio_loop *loop, cio_op *op, int32_t res) {
    if (res < 0 || (op->internal_.iflags & (IF_CANCELLED | IF_TIMED_OUT)) || cio__core(loop)->closing)
        return false;
    cio__complete_more(loop, op, res);
    op->flags &= (uint8_t)~CIO_F_MORE;
    int r = -CIO_ECANCELED;
    if (!(op->internal_.iflags & (IF_CANCELLED | IF_TIMED_OUT)) && (r = uring_submit(loop, op)) == 0) return true;
    cio__complete(loop, op, r); /* cancelled from that callback, or no room to re-arm */
    return true;
}

static void dispatch(cio_loop *loop, uring *u, uint64_t ud, int32_t res, uint32_t flags) {
    if (CIO_LIKELY((ud & TAG_MASK) == TAG_OP && !(flags & IORING_CQE_F_MORE))) {
        cio_op *op = (cio_op *)(uintptr_t)ud;
        if (CIO_UNLIKELY(op->flags & CIO_F_MULTISHOT) && multishot_rearm(loop, op, res)) return;
        cio__complete(loop, op, CIO_UNLIKELY(op->opcode == CIO_OP_POST) ? post_sent(op, res) : res);
        return;
    }
    switch (ud & TAG_MASK) {
    case TAG_OP: {
        cio_op *op = (cio_op *)(uintptr_t)ud;
        if (flags & IORING_CQE_F_MORE)
            cio__complete_more(loop, op, res);
        else
            cio__complete(loop, op, CIO_UNLIKELY(op->opcode == CIO_OP_POST) ? post_sent(op, res) : res);
        break;
    }
    case TAG_POST: {
        cio_op *msg = (cio_op *)(uintptr_t)(ud & ~(uint64_t)TAG_MASK);
        msg->res = res;
        cio__deliver_post(loop, msg);
        break;
    }
    case TAG_WAKE:
        u->wake_armed = false;
        cio__wake_consumed(loop);
        if (!cio__core(loop)->closing) arm_wake(loop, u);
        break;
    default:
        break;
    }
}

/* Frees each CQE's slot before running its callback, so that a callback
 * which submits (and so may enter the kernel) never sees a half-consumed
 * ring. */
static int reap(cio_loop *loop, uring *u) {
    struct io_uring_cq *cq = &u->ring.cq;
    cio_core *c = cio__core(loop);
    int total = 0;
    /* Bounded, so that a flood of completions cannot starve timers. */
    const int limit = (int)cq->ring_entries * 4;
    while (total < limit) {
        unsigned head = *cq->khead;
        unsigned tail = io_uring_smp_load_acquire(cq->ktail);
        if (head == tail) {
            /* The kernel holds more: completions that overflowed the CQ, or
             * deferred ones it runs only a few dozen of per enter. */
            unsigned kflags = IO_URING_READ_ONCE(*u->ring.sq.kflags);
            if (!(kflags & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN))) break;
            if (kflags & IORING_SQ_CQ_OVERFLOW) c->stats.cq_overflows++;
            if (enter(loop, u, true, false, 0) < 0) break;
            if (io_uring_smp_load_acquire(cq->ktail) == head) break;
            continue;
        }
        unsigned first = head;
        do {
            const struct io_uring_cqe *cqe = &cq->cqes[head & cq->ring_mask];
            uint64_t ud = cqe->user_data;
            int32_t res = cqe->res;
            uint32_t flags = cqe->flags;
            io_uring_smp_store_release(cq->khead, ++head);
            dispatch(loop, u, ud, res, flags);
            total++;
        } while (head != tail && total < limit);
        c->stats.kernel_completions += head - first;
    }
    return total;
}

static int uring_wait(cio_loop *loop, int64_t timeout_ns) {
    uring *u = state(loop);
    bool have = io_uring_cq_ready(&u->ring) > 0;
    /* A turn that does not wait needs the kernel only to submit, or when it
     * says it holds completions (TASKRUN flag), not for a bare GETEVENTS:
     * a task yield then costs no system call. */
    bool getevents = timeout_ns != 0 || !(u->setup_flags & IORING_SETUP_TASKRUN_FLAG);
    int r = enter(loop, u, getevents, !have, timeout_ns);
    if (r < 0) return r;
    if (u->notify_fd >= 0) {
        uint64_t v;
        ssize_t ignored = read(u->notify_fd, &v, sizeof v); /* re-arm edge for outside pollers */
        (void)ignored;
    }
    return reap(loop, u);
}

/* ---- submission ---- */

static inline void prep(struct io_uring_sqe *sqe, cio_op *op) {
    const uint64_t cur = CIO_OFFSET_CURRENT;
    switch (op->opcode) {
    case CIO_OP_NOP:
        io_uring_prep_nop(sqe);
        break;
    case CIO_OP_READ:
        io_uring_prep_read(sqe, op->args.rw.fd, op->args.rw.buf, op->args.rw.len, op->args.rw.offset);
        break;
    case CIO_OP_WRITE:
        io_uring_prep_write(sqe, op->args.rw.fd, op->args.rw.buf, op->args.rw.len, op->args.rw.offset);
        break;
    case CIO_OP_READV:
        io_uring_prep_readv(sqe, op->args.rwv.fd, op->args.rwv.iov, op->args.rwv.iovcnt, op->args.rwv.offset);
        break;
    case CIO_OP_WRITEV:
        io_uring_prep_writev(sqe, op->args.rwv.fd, op->args.rwv.iov, op->args.rwv.iovcnt, op->args.rwv.offset);
        break;
    case CIO_OP_FSYNC:
        io_uring_prep_fsync(sqe, op->args.fsync.fd,
                            (op->args.fsync.flags & CIO_FSYNC_DATASYNC) ? IORING_FSYNC_DATASYNC : 0);
        break;
    case CIO_OP_OPENAT:
        io_uring_prep_openat(sqe, op->args.open.dirfd, op->args.open.path, op->args.open.flags,
                             op->args.open.mode);
        break;
    case CIO_OP_CLOSE:
        io_uring_prep_close(sqe, op->args.close.fd);
        break;
    case CIO_OP_STATX:
        io_uring_prep_statx(sqe, op->args.statx.dirfd, op->args.statx.path, op->args.statx.flags,
                            op->args.statx.mask, (struct statx *)(void *)op->args.statx.buf);
        break;
    case CIO_OP_UNLINKAT:
        io_uring_prep_unlinkat(sqe, op->args.unlink.dirfd, op->args.unlink.path, op->args.unlink.flags);
        break;
    case CIO_OP_RENAMEAT:
        io_uring_prep_renameat(sqe, op->args.rename.olddirfd, op->args.rename.oldpath,
                               op->args.rename.newdirfd, op->args.rename.newpath, op->args.rename.flags);
        break;
    case CIO_OP_MKDIRAT:
        io_uring_prep_mkdirat(sqe, op->args.mkdir.dirfd, op->args.mkdir.path, op->args.mkdir.mode);
        break;
    case CIO_OP_SOCKET:
        io_uring_prep_socket(sqe, op->args.socket.domain, op->args.socket.type, op->args.socket.protocol, 0);
        break;
    case CIO_OP_BIND:
        io_uring_prep_rw(URING_OP_BIND, sqe, op->args.addr.fd, op->args.addr.addr, 0,
                         (uint64_t)op->args.addr.addrlen);
        break;
    case CIO_OP_LISTEN:
        io_uring_prep_rw(URING_OP_LISTEN, sqe, op->args.listen.fd, NULL, (unsigned)op->args.listen.backlog, 0);
        break;
    case CIO_OP_ACCEPT:
        if (op->flags & CIO_F_MULTISHOT)
            io_uring_prep_multishot_accept(sqe, op->args.accept.fd, op->args.accept.addr,
                                           op->args.accept.addrlen, op->args.accept.flags);
        else
            io_uring_prep_accept(sqe, op->args.accept.fd, op->args.accept.addr, op->args.accept.addrlen,
                                 op->args.accept.flags);
        break;
    case CIO_OP_CONNECT:
        io_uring_prep_connect(sqe, op->args.addr.fd, op->args.addr.addr, op->args.addr.addrlen);
        break;
    case CIO_OP_RECV:
        io_uring_prep_recv(sqe, op->args.sr.fd, op->args.sr.buf, op->args.sr.len, op->args.sr.flags);
        break;
    case CIO_OP_SEND:
        io_uring_prep_send(sqe, op->args.sr.fd, op->args.sr.buf, op->args.sr.len, op->args.sr.flags);
        break;
    case CIO_OP_RECVMSG:
        io_uring_prep_recvmsg(sqe, op->args.msg.fd, op->args.msg.msg, (unsigned)op->args.msg.flags);
        break;
    case CIO_OP_SENDMSG:
        io_uring_prep_sendmsg(sqe, op->args.msg.fd, op->args.msg.msg, (unsigned)op->args.msg.flags);
        break;
    case CIO_OP_SHUTDOWN:
        io_uring_prep_shutdown(sqe, op->args.shutdown.fd, op->args.shutdown.how);
        break;
    case CIO_OP_POLL:
        if (op->flags & CIO_F_MULTISHOT)
            io_uring_prep_poll_multishot(sqe, op->args.poll.fd, op->args.poll.events);
        else
            io_uring_prep_poll_add(sqe, op->args.poll.fd, op->args.poll.events);
        break;
    case CIO_OP_SPLICE:
        io_uring_prep_splice(sqe, op->args.splice.fd_in,
                             op->args.splice.off_in == cur ? -1 : (int64_t)op->args.splice.off_in,
                             op->args.splice.fd_out,
                             op->args.splice.off_out == cur ? -1 : (int64_t)op->args.splice.off_out,
                             op->args.splice.len, op->args.splice.flags);
        break;
    default:
        break;
    }
}

/* Ops that need more than one plain SQE: a post (MSG_RING to another
 * ring), an op with a deadline (plus its LINK_TIMEOUT), or any op when the
 * SQ is full or the kernel lacks the opcode. */
static CIO_NOINLINE int submit_slow(cio_loop *loop, uring *u, cio_op *op) {
    if (!(u->native & (1u << op->opcode))) return -CIO_ENOTSUP;
    cio_loop *target = NULL;
    if (op->opcode == CIO_OP_POST) {
        /* MSG_RING reaches only another io_uring loop. */
        target = op->args.post.target;
        const cio_core *tc = cio__core(target);
        if (!tc->be || tc->be->kind != CIO_BACKEND_URING) return -CIO_ENOTSUP;
    }
    if (!reserve(loop, u, op->deadline ? 2 : 1)) return -CIO_EAGAIN;
    struct io_uring_sqe *sqe = take_sqe(u);
    if (target) {
        cio_op *msg = op->args.post.msg;
        msg->internal_.state = OP_POSTED;
        io_uring_prep_msg_ring(sqe, state(target)->ring.ring_fd, (unsigned)msg->res,
                               (uint64_t)(uintptr_t)msg | TAG_POST, 0);
    } else {
        prep(sqe, op);
    }
    sqe->user_data = (uint64_t)(uintptr_t)op;
    if (op->deadline) {
        /* The kernel cancels the op at the deadline; the core maps that
         * -ECANCELED to -CIO_ETIMEDOUT. The timespec lives in the op. */
        sqe->flags |= IOSQE_IO_LINK;
        op->internal_.u.ts.sec = (int64_t)(op->deadline / 1000000000u);
        op->internal_.u.ts.nsec = (int64_t)(op->deadline % 1000000000u);
        struct io_uring_sqe *lt = take_sqe(u);
        io_uring_prep_link_timeout(lt, (struct __kernel_timespec *)(void *)&op->internal_.u.ts,
                                   IORING_TIMEOUT_ABS);
        lt->user_data = TAG_IGNORE;
    }
    return 0;
}

static int uring_submit(cio_loop *loop, cio_op *op) {
    uring *u = state(loop);
    if (CIO_UNLIKELY(!(u->plain & (1u << op->opcode)) || op->deadline || sq_free(u) == 0))
        return submit_slow(loop, u, op);
    struct io_uring_sqe *sqe = take_sqe(u);
    prep(sqe, op);
    sqe->user_data = (uint64_t)(uintptr_t)op;
    return 0;
}

static int uring_cancel(cio_loop *loop, cio_op *target, cio_op *carrier) {
    uring *u = state(loop);
    if (!reserve(loop, u, 1)) return -CIO_EAGAIN;
    struct io_uring_sqe *sqe = take_sqe(u);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)target, 0);
    sqe->user_data = carrier ? (uint64_t)(uintptr_t)carrier : TAG_IGNORE;
    return 0;
}

static void uring_cancel_all(cio_loop *loop) {
    uring *u = state(loop);
    if (!reserve(loop, u, 1)) return;
    struct io_uring_sqe *sqe = take_sqe(u);
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
    sqe->user_data = TAG_IGNORE;
}

static int uring_wake(cio_loop *loop) {
    uint64_t one = 1;
    ssize_t r = write(state(loop)->wake_fd, &one, sizeof one);
    return r == (ssize_t)sizeof one || errno == EAGAIN ? 0 : -errno;
}

static int uring_pollable_fd(cio_loop *loop, cio_fd *out) {
    uring *u = state(loop);
    if (u->notify_fd < 0) {
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0) return -errno;
        int r = io_uring_register_eventfd(&u->ring, fd);
        if (r < 0) {
            close(fd);
            return r;
        }
        u->notify_fd = fd;
    }
    *out = u->notify_fd;
    return 0;
}

/* ---- setup and teardown ---- */

static void apply_disable_env(uring *u) {
    const char *env = getenv("CIO_URING_DISABLE");
    if (!env) return;
    char buf[256];
    strncpy(buf, env, sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
        for (int opc = 1; opc < CIO_OP_COUNT_; opc++)
            if ((core_can_run & (1u << opc)) && strcmp(tok, cio_op_name(opc)) == 0) u->native &= ~(1u << opc);
}

static int probe(uring *u) {
    struct io_uring_probe *p = io_uring_get_probe_ring(&u->ring);
    if (!p) return -CIO_ENOTSUP;
    u->native = 0;
    for (int opc = 1; opc < CIO_OP_COUNT_; opc++)
        if (reaches_backend(opc) && io_uring_opcode_supported(p, kernel_opcode[opc])) u->native |= 1u << opc;
    /* What the core itself needs: cancel, link timeouts for deadlines, and
     * IORING_OP_SOCKET as the mark of a 5.19 kernel (multishot accept,
     * CANCEL_ANY). */
    bool usable = io_uring_opcode_supported(p, IORING_OP_ASYNC_CANCEL) &&
                  io_uring_opcode_supported(p, IORING_OP_LINK_TIMEOUT) &&
                  io_uring_opcode_supported(p, IORING_OP_SOCKET);
    io_uring_free_probe(p);
    for (int opc = 1; opc < CIO_OP_COUNT_; opc++)
        if (reaches_backend(opc) && !(u->native & (1u << opc)) && !(core_can_run & (1u << opc))) usable = false;
    return usable ? 0 : -CIO_ENOTSUP;
}

static int uring_init(cio_loop *loop, const cio_loop_options *opts) {
    uring *u = state(loop);
    memset(u, 0, sizeof *u);
    u->wake_fd = u->notify_fd = -1;
    unsigned entries = opts && opts->entries ? opts->entries : 256;
    static const unsigned attempts[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
            IORING_SETUP_R_DISABLED,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        0,
    };
    int r = -CIO_ENOTSUP;
    for (unsigned i = 0; i < sizeof attempts / sizeof *attempts; i++) {
        struct io_uring_params p = {0};
        p.flags = attempts[i] | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP | IORING_SETUP_CQSIZE;
        p.cq_entries = entries * 2;
        r = io_uring_queue_init_params(entries, &u->ring, &p);
        if (r == 0) {
            u->setup_flags = p.flags;
            break;
        }
        /* EINVAL means "this kernel lacks a flag": try the next set. Any
         * other error (ENOSYS, EPERM, ENOMEM, EMFILE) ends the attempt. */
        if (r != -EINVAL) return r;
    }
    if (r < 0) return r;
    if (!(u->ring.features & IORING_FEAT_NODROP) || !(u->ring.features & IORING_FEAT_EXT_ARG)) {
        r = -CIO_ENOTSUP;
        goto fail;
    }
    if ((r = probe(u)) < 0) goto fail;
    apply_disable_env(u);
    u->plain = u->native & ~(1u << CIO_OP_POST);
    u->enter_fd = u->ring.ring_fd;
    u->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (u->wake_fd < 0) {
        r = -errno;
        goto fail;
    }
    arm_wake(loop, u);
    return 0;
fail:
    io_uring_queue_exit(&u->ring);
    return r;
}

static void uring_close(cio_loop *loop) {
    uring *u = state(loop);
    /* The wake read points into this loop's memory: see it completed
     * before the ring goes (cancel_all reached it). A child's copy of the
     * loop (fork) must not enter the parent's ring: it only lets go. */
    bool inherited = cio__core(loop)->fork_gen != cio__fork_gen;
    for (int i = 0; i < 100 && u->wake_armed && !inherited; i++) {
        if (i % 10 == 9) uring_cancel_all(loop);
        if (uring_wait(loop, 10 * 1000 * 1000) < 0) break;
    }
    io_uring_queue_exit(&u->ring);
    close(u->wake_fd);
    if (u->notify_fd >= 0) close(u->notify_fd);
}

const struct cio_backend cio__backend_uring = {
    .name = "io_uring",
    .kind = CIO_BACKEND_URING,
    .features = CIO_BE_KERNEL_DEADLINES,
    .init = uring_init,
    .close = uring_close,
    .submit = uring_submit,
    .cancel = uring_cancel,
    .cancel_all = uring_cancel_all,
    .wait = uring_wait,
    .wake = uring_wake,
    .pollable_fd = uring_pollable_fd,
};
