/*
 * src/backend/uring.c - the io_uring backend (Linux 5.19 and later).
 *
 * Each op becomes one SQE whose user_data is the op's address; its CQE is
 * its completion. One io_uring_enter per loop turn submits everything the
 * turn queued and waits for completions together.
 *
 * user_data carries a tag in its low three bits (ops are 8-aligned):
 *   TAG_OP        a cio_op of this loop
 *   TAG_POST      a message another loop sent with MSG_RING
 *   TAG_WAKE      the read on the wake pipe
 *   TAG_IGNORE    internal SQEs whose CQE means nothing to us
 *                 (fire-and-forget cancels)
 *   TAG_LT        the link timeout that carries the op's deadline
 *   TAG_FDCANCEL  the cancel-by-handle that a close sends first
 *
 * A tag is never reused while the kernel can still act on it. The kernel
 * runs a link timeout that fires as task work which cancels by user_data,
 * possibly after the op it guards has completed; had the callback submitted
 * the same op again, the stale timeout would cancel the new one. So an op
 * with a link timeout completes (its callback runs) only once both its own
 * CQE and its timeout's have been reaped; the first to arrive parks the
 * result in op->res. Both usually come in the same batch. Ops the kernel
 * always runs in a worker (splice, fsync, the path ops) get no link
 * timeout: since Linux 6.15 it would be armed only once the blocking call
 * returned. The core times their deadlines and cancels them like any op.
 *
 * Closing a handle through cio first cancels this loop's ops on it
 * (ASYNC_CANCEL by fd, all matches), and the close itself is held until
 * they have all completed: the kernel may post the cancelled ops' CQEs
 * after the cancel's own (through task work, or from an io-wq worker that
 * had to be interrupted). A per-handle count of ops in flight, kept here,
 * says when.
 *
 * Never lose a completion, nor invent one: a full SQ is submitted early;
 * when the kernel cannot take more (or the ring is not bound to its thread
 * yet) ops and cancels wait in a backlog, in order, until the next enter
 * makes room. Completions that overflowed the CQ are flushed back
 * (IORING_FEAT_NODROP) and reaped. Opcodes the kernel lacks (the probe
 * says) are declined with -CIO_ENOTSUP and the core runs them as plain
 * system calls; the environment variable CIO_URING_DISABLE="bind,listen,..."
 * pretends more are missing, for testing that path.
 *
 * Setup tries SINGLE_ISSUER|DEFER_TASKRUN, then COOP_TASKRUN|TASKRUN_FLAG,
 * then no task-run flags; always SUBMIT_ALL and CLAMP, CQ twice the SQ. The
 * ring starts disabled and is enabled by the first thread that enters it,
 * so a loop can be set up on one thread and run on another.
 */
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "backend.h"
#include "../core/bufpool.h"
#include "../core/fixed_buf.h"
#include "../core/fixed_file.h"

enum { TAG_OP = 0, TAG_POST = 1, TAG_WAKE = 2, TAG_IGNORE = 3, TAG_LT = 4, TAG_FDCANCEL = 5, TAG_MASK = 7 };

/* op->internal_.bflags. An op on the fast path has none but BF_FD; any
 * other sends its CQE through finish(). */
enum {
    BF_FD = 1 << 9,       /* counted in fdc[] under op->args.rw.fd (fast path) */
    BF_SLOW = 1 << 10,    /* taken by submit_slow(): multishot, post, full SQ, ... */
    BF_LT = 1 << 0,       /* its link timeout's CQE is still to come */
    BF_DONE = 1 << 1,     /* its own final CQE came; the result waits in op->res */
    BF_LT_FIRED = 1 << 2, /* the link timeout fired: the deadline passed */
    BF_QUEUED = 1 << 3,   /* in the backlog, waiting for its SQEs */
    BF_QCANCEL = 1 << 4,  /* in the backlog, waiting for an SQE that cancels it */
    BF_DROPPED = 1 << 5,  /* cancelled while queued: ends with -CIO_ECANCELED at the next flush */
    BF_HELD = 1 << 6,     /* a close waiting for the ops on its handle to finish */
    BF_FDCANCEL = 1 << 7, /* a close whose cancel-by-handle has not completed yet */
    BF_POS_CUR = 1 << 8,  /* issued again at the current position after -ESPIPE */
    BF_OPEN_WAIT = 1 << 11, /* an open issued again without O_NONBLOCK after -EAGAIN */
    BF_POOL_AGAIN = 1 << 12, /* a recv_pool issued again after -ENOBUFS, no data since */
    BF_REARM = 1 << 13,      /* a multishot recv_pool armed again by multishot_rearm() */
    BF_ZC = 1 << 14,         /* a zero-copy send whose first CQE came (its result in op->res):
                                its notification is still to come (zc_sent) */
    BF_FX = 1 << 15          /* counted in fxc[] under op->args.rw.fd: a fixed handle (fast path) */
};

/* In the per-handle counts: a close of this handle is queued or held, so
 * new ops on it are refused with -CIO_EBADF (as if it were closed already). */
#define FD_CLOSING 0x80000000u

/* Opcodes newer than the packaged liburing's header; filled in by hand. */
enum { URING_OP_FTRUNCATE = 55, URING_OP_BIND = 56, URING_OP_LISTEN = 57 };

/* Zero-copy sends: ask the notification to say whether the kernel copied
 * after all (Linux 6.2; older kernels refuse the flag, and no probe shows
 * it). Liburing 2.3 names neither. */
#define URING_SEND_ZC_REPORT_USAGE (1u << 3)
#define URING_NOTIF_USAGE_ZC_COPIED (1u << 31)

/* A set of cio opcodes, one bit each. */
#define OPBIT(opc) ((uint64_t)1 << (opc))
_Static_assert(CIO_OP_COUNT_ <= 64, "a set of opcodes is a uint64_t");

typedef struct uring {
    struct io_uring ring;
    unsigned setup_flags;
    uint64_t native;     /* bit OPBIT(cio opcode): the kernel runs it itself */
    uint64_t plain;      /* of those, the ones that are one plain SQE with the handle
                            (if any) first in op->args: not a post, close or splice */
    uint64_t fast;       /* `plain`, or 0 while the backlog holds anything */
    uint64_t fd_first;   /* the opcodes whose handle is first in op->args (the table says) */
    int wake_fd[2];      /* pipe: the ring reads [0], cio_loop_wake() writes [1] */
    int notify_fd;       /* eventfd registered for cio_loop_fd(), or -1 */
    int enter_fd;        /* registered ring index, or the ring fd */
    unsigned enter_flags;
    bool bound;          /* enabled and bound to the running thread */
    bool wake_armed;     /* the wake read is in flight */
    bool wake_wanted;    /* the wake read found no SQE: arm it at the next flush */
    bool cancel_all_wanted; /* likewise for a loop close's cancel of everything */
    uint64_t wake_buf;
    opq backlog;         /* ops and cancels waiting for SQEs, oldest first */
    opq held;            /* closes waiting for their handle's ops (BF_HELD) */
    uint32_t *fdc;       /* per handle: ops of this loop in flight on it, | FD_CLOSING */
    uint32_t fdc_cap;
    /* Fixed files (cio/fixed.h): a slot of the registered table is no
     * descriptor (slot 3 and descriptor 3 are two files), so the slots have
     * counts of their own. An op names a slot when its flags have fx_flag:
     * CIO_F_FIXED_FILE while the kernel holds a table, else 0 (the fixed
     * handles are descriptors then, and such ops are plain ones here). */
    uint32_t *fxc;       /* per slot: as fdc */
    uint32_t fx_count;   /* slots in the registered table; 0: none */
    uint8_t fx_flag;
    bool cancel_fixed;   /* the kernel cancels by slot (IORING_ASYNC_CANCEL_FD_FIXED, 6.0) */
    uint64_t probed;     /* `native` before CIO_URING_DISABLE: ops on slots always go to the
                            kernel (a plain system call cannot take a slot) */
    bool recv_mshot;     /* the kernel has IORING_RECV_MULTISHOT (6.0); else re-armed by hand */
    uint64_t chain;      /* the opcodes a link chain may run in the kernel with (chain_ops in
                            `plain`); 0 with CIO_URING_DISABLE=links */
    unsigned kwait;      /* ops of kernel chains in state OP_LINKED (see submit_chain) */
    bool chains_ran;     /* this turn's enter ran the kernel chains' task work (enter_chains) */
} uring;

_Static_assert(sizeof(uring) <= sizeof(((cio_core *)0)->backend), "uring state must fit");
_Static_assert(sizeof(struct statx) == sizeof(cio_statx), "cio_statx mirrors struct statx");
_Static_assert(offsetof(struct statx, stx_mtime) == offsetof(cio_statx, mtime), "statx layout");
_Static_assert(offsetof(struct statx, stx_dev_minor) == offsetof(cio_statx, dev_minor), "statx layout");

static uring *state(cio_loop *loop) { return CIO_BACKEND_STATE(loop, uring); }

/* The count of this loop's ops in flight on the handle `fd` that an op
 * with `flags` names (a counted one: its op was taken): the descriptor's,
 * or the slot's for a fixed handle. Read it afresh after a callback: the
 * descriptors' counts may have grown (fdc_grow). */
static inline uint32_t *fd_count(uring *u, unsigned flags, cio_fd fd) {
    return (flags & u->fx_flag) ? &u->fxc[fd] : &u->fdc[fd];
}

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
    [CIO_OP_FTRUNCATE] = URING_OP_FTRUNCATE, /* Linux 6.9 */
    [CIO_OP_FALLOCATE] = IORING_OP_FALLOCATE,
    [CIO_OP_SYMLINKAT] = IORING_OP_SYMLINKAT,
    [CIO_OP_LINKAT] = IORING_OP_LINKAT,
    [CIO_OP_RECV_POOL] = IORING_OP_RECV, /* with a buffer from the pool's ring */
    [CIO_OP_SEND_ZC] = IORING_OP_SEND_ZC,       /* Linux 6.0 */
    [CIO_OP_SENDMSG_ZC] = IORING_OP_SENDMSG_ZC, /* Linux 6.1 */
    [CIO_OP_READ_FIXED] = IORING_OP_READ_FIXED,
    [CIO_OP_WRITE_FIXED] = IORING_OP_WRITE_FIXED,
};

/* The accelerated opcodes (opdef `base`): what the kernel lacks of them,
 * or CIO_URING_DISABLE names, the core runs as their base (a plain send,
 * read or write), so their absence never makes the ring unusable. */
static const uint64_t accel_ops = OPBIT(CIO_OP_SEND_ZC) | OPBIT(CIO_OP_SENDMSG_ZC) | OPBIT(CIO_OP_READ_FIXED) |
                                  OPBIT(CIO_OP_WRITE_FIXED);

/* Whether zero-copy sends ask for IORING_SEND_ZC_REPORT_USAGE: the same
 * for every ring of the process (the kernel's version decides). */
static atomic_bool zc_report;

/* Opcodes the kernel has no op for: always the pool's (the caller's own
 * function, getdents, copy_file_range). */
static const uint64_t pool_only = OPBIT(CIO_OP_CALL) | OPBIT(CIO_OP_READDIR) | OPBIT(CIO_OP_COPY_RANGE);

/* The handle the kernel's cancel by handle matches (the request's file):
 * the core's `file` (a splice's fd_out; its fd_in is looked up when it
 * runs). */
static inline cio_fd op_fd(const cio_op *op) { return cio__op_file(op); }

/* Opcodes that the kernel always hands to an io-wq worker without trying
 * them inline first. Since Linux 6.15 (and its stable backports) a link
 * timeout is armed only when the issue returns, which for these is when
 * the blocking call is over: a splice from an empty pipe would ignore its
 * deadline. Their deadlines are the core's; a deadline cancels them like
 * cio_cancel does (the kernel interrupts the worker). */
static const uint64_t core_timed = OPBIT(CIO_OP_SPLICE) | OPBIT(CIO_OP_FSYNC) | OPBIT(CIO_OP_STATX) |
                                   OPBIT(CIO_OP_UNLINKAT) | OPBIT(CIO_OP_RENAMEAT) | OPBIT(CIO_OP_MKDIRAT) |
                                   OPBIT(CIO_OP_FTRUNCATE) | OPBIT(CIO_OP_FALLOCATE) | OPBIT(CIO_OP_SYMLINKAT) |
                                   OPBIT(CIO_OP_LINKAT);

/* Whether the op's deadline travels with it as a link timeout. */
static inline bool has_lt(const cio_op *op) { return op->deadline && !(core_timed & (OPBIT(op->opcode))); }

/* Whether ops of `opc` reach a backend at all (timers and cancels are the
 * core's alone). */
static bool reaches_backend(int opc) { return cio__opdefs[opc].run != OPD_RUN_CORE; }

/* Ops whose absence the core can cover with a plain, non-blocking-in-practice
 * system call (bind and listen came to io_uring in 6.11; the others, for
 * CIO_URING_DISABLE), or with the pool (ftruncate came in 6.9; the file
 * ops of issue 11, and those the kernel has no op for). If the kernel lacks any other, this backend is not
 * used. */
static const uint64_t core_can_run = OPBIT(CIO_OP_SOCKET) | OPBIT(CIO_OP_BIND) | OPBIT(CIO_OP_LISTEN) |
                                     OPBIT(CIO_OP_SHUTDOWN) | OPBIT(CIO_OP_CLOSE) | OPBIT(CIO_OP_UNLINKAT) |
                                     OPBIT(CIO_OP_RENAMEAT) | OPBIT(CIO_OP_MKDIRAT) | OPBIT(CIO_OP_OPENAT) |
                                     OPBIT(CIO_OP_STATX) | OPBIT(CIO_OP_FSYNC) | OPBIT(CIO_OP_POST) |
                                     OPBIT(CIO_OP_FTRUNCATE) | OPBIT(CIO_OP_FALLOCATE) | OPBIT(CIO_OP_SYMLINKAT) |
                                     OPBIT(CIO_OP_LINKAT) | pool_only;

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

/* Binds the ring to this thread on its first use and makes the staged
 * SQEs visible to the kernel; returns how many it has not taken yet, or a
 * negative error. */
static CIO_ALWAYS_INLINE long publish(uring *u) {
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
    return (long)(tail - IO_URING_READ_ONCE(*sq->khead));
}

/* io_uring_enter(2), returning -errno on failure. On x86-64 and AArch64
 * the system call instruction is issued inline: libc's variadic syscall()
 * costs a call through the PLT, an argument shuffle and the errno store,
 * which the no-op benchmark shows once per loop turn. */
static CIO_ALWAYS_INLINE long sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                                        void *arg, size_t argsz) {
#if defined(__x86_64__) && !defined(__ILP32__) && defined(__GNUC__) /* not x32: 32-bit longs */
    long r;
    register long r10 __asm__("r10") = (long)flags;
    register long r8 __asm__("r8") = (long)(uintptr_t)arg;
    register long r9 __asm__("r9") = (long)argsz;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "0"((long)__NR_io_uring_enter), "D"((long)fd), "S"((long)to_submit), "d"((long)min_complete),
                       "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
#elif defined(__aarch64__) && defined(__GNUC__)
    register long x8 __asm__("x8") = __NR_io_uring_enter;
    register long x0 __asm__("x0") = fd;
    register long x1 __asm__("x1") = (long)to_submit;
    register long x2 __asm__("x2") = (long)min_complete;
    register long x3 __asm__("x3") = (long)flags;
    register long x4 __asm__("x4") = (long)(uintptr_t)arg;
    register long x5 __asm__("x5") = (long)argsz;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
#else
    long r = syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, argsz);
    return r < 0 ? -errno : r;
#endif
}

/* Publishes staged SQEs and calls io_uring_enter once. With `getevents`, it
 * also runs deferred completions and, with `wait` and a `timeout_ns` other
 * than 0, sleeps until one completion (or the timeout). */
static CIO_ALWAYS_INLINE int enter(cio_loop *loop, uring *u, bool getevents, bool wait, int64_t timeout_ns) {
    long staged = publish(u);
    if (staged < 0) return (int)staged;
    struct io_uring_sq *sq = &u->ring.sq;
    unsigned to_submit = (unsigned)staged;
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
    long r = sys_enter(u->enter_fd, to_submit, min_complete, flags, argp, argsz);
    if (r >= 0) return (int)r;
    /* The wait ran out, a signal came, or completions must be reaped first:
     * none of these is a failure of the loop. */
    if (r == -ETIME || r == -EINTR || r == -EBUSY || r == -EAGAIN) return 0;
    return (int)r;
}

/* A DEFER_TASKRUN ring moves a kernel link chain on in task work that
 * runs only in an enter asking for completions, and only about as many
 * items as completions are asked for (probed on 6.18: an inline chain of
 * 35 ops took 11 enters asking for one). So while ops wait in kernel
 * chains, submit and ask for one completion more than there are such ops,
 * with a zero timeout: the kernel runs every hop that completes at once,
 * then returns without waiting. */
static CIO_NOINLINE int enter_chains(cio_loop *loop, uring *u) {
    long staged = publish(u);
    if (staged < 0) return (int)staged;
    struct __kernel_timespec ts = {0, 0};
    struct io_uring_getevents_arg arg = {.sigmask_sz = _NSIG / 8, .ts = (uint64_t)(uintptr_t)&ts};
    cio__core(loop)->stats.enters++;
    long r = sys_enter(u->enter_fd, (unsigned)staged, u->kwait + 1,
                       u->enter_flags | IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
    if (r >= 0) return (int)r;
    return (r == -ETIME || r == -EINTR || r == -EBUSY || r == -EAGAIN) ? 0 : (int)r;
}

static unsigned sq_free(const uring *u) {
    const struct io_uring_sq *sq = &u->ring.sq;
    return sq->ring_entries - (sq->sqe_tail - IO_URING_READ_ONCE(*sq->khead));
}

/* The SQ lacks room for `n` SQEs: submit what is staged to make some. Only
 * a bound ring is entered: the first enter binds it to its thread, which
 * must be the one that runs the loop. With `in_order`, nothing may pass
 * what waits in the backlog. */
static CIO_NOINLINE bool make_room(cio_loop *loop, uring *u, unsigned n, bool in_order) {
    if (!u->bound || (in_order && !opq_empty(&u->backlog))) return false;
    cio__core(loop)->stats.sq_full_flushes++;
    /* The kernel may refuse more while completions wait in its overflow
     * list; entering with GETEVENTS flushes them into the CQ. */
    for (int i = 0; i < 2 && sq_free(u) < n; i++)
        if (enter(loop, u, i > 0, false, 0) < 0) break;
    return sq_free(u) >= n;
}

/* Room for `n` SQEs of an op or cancel that must keep its place in line. */
static inline bool room(cio_loop *loop, uring *u, unsigned n) {
    return CIO_LIKELY(sq_free(u) >= n && opq_empty(&u->backlog)) || make_room(loop, u, n, true);
}

static struct io_uring_sqe *take_sqe(uring *u) {
    struct io_uring_sq *sq = &u->ring.sq;
    struct io_uring_sqe *sqe = &sq->sqes[sq->sqe_tail & sq->ring_mask];
    sq->sqe_tail++;
    return sqe;
}

/* ---- the backlog: ops and cancels waiting for SQEs, in order ---- */

static void enqueue(uring *u, cio_op *op, uint16_t bf) {
    op->internal_.bflags |= bf;
    u->fast = 0; /* everything queues behind it now */
    opq_push(&u->backlog, op);
}

/* Takes `op` out of the backlog wherever it is (rare: a queued cancel whose
 * target completed first). */
static void unqueue(uring *u, cio_op *op) {
    opq_remove(&u->backlog, op);
    if (opq_empty(&u->backlog)) u->fast = u->plain;
    op->internal_.bflags &= (uint16_t)~(BF_QUEUED | BF_QCANCEL);
}

/* ---- completions ---- */

static void arm_wake(cio_loop *loop, uring *u) {
    if (u->wake_armed) return;
    if (sq_free(u) < 1 && !make_room(loop, u, 1, false)) {
        u->wake_wanted = true;
        return;
    }
    struct io_uring_sqe *sqe = take_sqe(u);
    io_uring_prep_read(sqe, u->wake_fd[0], &u->wake_buf, sizeof u->wake_buf, 0);
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
static void stage_op(uring *u, cio_op *op);
static cio_op *chain_next(const cio_op *op);
static void chain_started(cio_loop *loop, uring *u, cio_op *op);
static void chain_unrun(cio_loop *loop, uring *u, cio_op *op, int32_t res);
static int chain_cancel(cio_loop *loop, uring *u, cio_op *target, cio_op *carrier);
static void chain_cut_staged(uring *u);
static void stage_close(uring *u, cio_op *op);

/* The last op on a handle being closed has finished (or the close's cancel
 * has): the held close goes to the kernel now. */
static CIO_NOINLINE void release_close(cio_loop *loop, uring *u, cio_fd fd, bool fx, bool force) {
    for (cio_op *op = u->held.head; op; op = OPQ_NEXT(op)) {
        if (op->args.close.fd != fd || ((op->flags & u->fx_flag) != 0) != fx) continue;
        /* Its cancel's CQE must come first: the tag is the close's. */
        if (op->internal_.bflags & BF_FDCANCEL) return;
        if (!force && *fd_count(u, op->flags, fd) != FD_CLOSING) return;
        opq_remove(&u->held, op);
        op->internal_.bflags &= (uint16_t)~BF_HELD;
        if (room(loop, u, has_lt(op) ? 2 : 1)) {
            *fd_count(u, op->flags, fd) &= ~FD_CLOSING;
            stage_op(u, op);
        } else {
            enqueue(u, op, BF_QUEUED); /* still closing: the flush finds no op left and closes */
        }
        return;
    }
}

/* The kernel ends a multishot op with a successful CQE when it cannot post
 * into a full CQ. cio's multishot goes on until a cancel or an error ends
 * it: deliver the result as one more, and arm the op again. */
/* A handle that is always ready (a regular file, a directory, a block
 * device): the kernel ends a multishot poll on it with one final result,
 * which is final for cio too (no later edge can come). */
static bool no_readiness(cio_fd fd) {
    struct stat st;
    return fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode));
}

static CIO_NOINLINE bool multishot_rearm(cio_loop *loop, uring *u, cio_op *op, int32_t res) {
    if (res < 0 || (op->internal_.iflags & (IF_CANCELLED | IF_TIMED_OUT)) || cio__core(loop)->closing)
        return false;
    if (op->opcode == CIO_OP_POLL && no_readiness(op->args.poll.fd)) return false;
    cio_fd fd = op_fd(op);
    if (fd >= 0 && (*fd_count(u, op->flags, fd) & FD_CLOSING)) return false;
    cio__complete_more(loop, op, res);
    op->flags &= (uint8_t)~CIO_F_MORE;
    int r = -CIO_ECANCELED;
    /* Its callback may have cancelled it, or begun to close its handle. */
    if (op->opcode == CIO_OP_RECV_POOL) op->internal_.bflags = BF_REARM; /* finish() cleared the others */
    if (!(op->internal_.iflags & (IF_CANCELLED | IF_TIMED_OUT)) && !(fd >= 0 && (*fd_count(u, op->flags, fd) & FD_CLOSING)) &&
        (r = uring_submit(loop, op)) >= 0)
        return true;
    if (r == -CIO_ECANCELED) op->internal_.iflags |= IF_CANCELLED;
    op->internal_.bflags = 0;
    cio__complete(loop, op, r);
    return true;
}

/* A poll's ready mask as poll(2) would give it. The kernel may report
 * what woke the handle rather than its state (data arriving wakes a socket
 * with POLLPRI among the bits, whether urgent data came or not): ask
 * poll(2) itself, once per result. 0: not ready for anything asked after
 * all. */
static int32_t poll_truth(const cio_op *op, int32_t res) {
    if (res <= 0) return res;
    struct pollfd p = {.fd = op->args.poll.fd, .events = (short)(op->args.poll.events | CIO_POLLRDHUP)};
    if (poll(&p, 1, 0) < 0) return res;
    return (int32_t)((uint16_t)p.revents & (op->args.poll.events | POLLERR | POLLHUP | POLLNVAL | CIO_POLLRDHUP));
}

/* ---- buffer pools (cio/bufpool.h): the kernel's provided-buffer rings ---- */

/* A CQE that names a buffer of the op's pool: res > 0 hands it to the
 * user (the completion names it). A kernel may consume a buffer for a
 * receive that moved nothing (the end of the stream): it goes straight
 * back to the ring, or the pool would shrink. Returns `res`. */
static CIO_NOINLINE int32_t pool_cqe(cio_op *op, int32_t res, uint32_t flags) {
    if (op->opcode != CIO_OP_RECV_POOL) return res;
    cio_bufpool *p = op->args.recv_pool.pool;
    uint32_t id = flags >> IORING_CQE_BUFFER_SHIFT;
    if (res > 0) {
        cio__bufpool_hand_out(p, op, id);
        op->internal_.bflags &= (uint16_t)~BF_POOL_AGAIN;
    } else if (id < p->count)
        cio__uring_pool_put(p, id);
    return res;
}

static void issue_again(cio_loop *loop, uring *u, cio_op *op, uint16_t bf);

/* The kernel ran the pool's ring dry, but the callbacks of the results
 * before have put buffers back meanwhile: the other backends, which take
 * a buffer only after those callbacks ran, would have gone on, and so
 * does this one (once without data in between: the count cannot be
 * wrong for long). A kernel that consumes several buffers per wake-up
 * would otherwise end a multishot receive that the caller keeps fed. */
static CIO_NOINLINE bool pool_retry(cio_loop *loop, uring *u, cio_op *op, uint16_t bf, bool fd_closing) {
    if (cio__bufpool_empty(op->args.recv_pool.pool) || (bf & (BF_POOL_AGAIN | BF_LT_FIRED)) || fd_closing ||
        cio__core(loop)->closing || (op->internal_.iflags & (IF_CANCELLED | IF_TIMED_OUT)))
        return false;
    issue_again(loop, u, op, BF_SLOW | BF_POOL_AGAIN);
    return true;
}

/* The final CQE of a multishot recv_pool came with data: the kernel ended
 * it (a full CQ, a cancel that raced the data, or this op is re-armed by
 * hand on a kernel without IORING_RECV_MULTISHOT). The data is one more
 * result; the op goes on unless it was stopped, in which case it ends
 * with the stop's reason (op.h: a final completion never carries data).
 * Returns false to let multishot_rearm() arm it again. */
static CIO_NOINLINE bool pool_data_last(cio_loop *loop, cio_op *op, int32_t res, uint16_t bf, bool fd_closing) {
    uint8_t ifl = op->internal_.iflags;
    bool closing = cio__core(loop)->closing;
    if (!(ifl & (IF_CANCELLED | IF_TIMED_OUT)) && !(bf & BF_LT_FIRED) && !fd_closing && !closing) return false;
    cio__complete_more(loop, op, res);
    op->flags &= (uint8_t)~CIO_F_MORE;
    bool late = (bf & BF_LT_FIRED) && !(op->internal_.iflags & IF_CANCELLED) && !closing;
    cio__complete(loop, op, late ? -CIO_ETIMEDOUT : -CIO_ECANCELED);
    return true;
}

/* Sends `op` to the kernel again, with `bf` as its flags, behind what
 * waits in the backlog. */
static void issue_again(cio_loop *loop, uring *u, cio_op *op, uint16_t bf) {
    op->internal_.bflags = bf;
    if (room(loop, u, has_lt(op) ? 2 : 1))
        stage_op(u, op);
    else
        enqueue(u, op, BF_QUEUED);
}

/* The end of an op that was to fill the slot it took (prep_fixed): the
 * slot is its result (a fixed handle), or free again. An openat made a
 * plain descriptor, which goes into the slot now. */
static CIO_NOINLINE int32_t slot_filled(cio_loop *loop, cio_op *op, int32_t res) {
    uint32_t slot = op->internal_.seq;
    if (res >= 0 && op->opcode == CIO_OP_OPENAT) {
        int fd = res;
        res = cio__uring_file_install(loop, slot, fd);
        close(fd);
    }
    cio__files_slot_settle(loop, slot, res >= 0);
    return res >= 0 ? (int32_t)slot : res;
}

/* The kernel is done with `op` (and with its link timeout, if it had one):
 * deliver `res` as its final completion, after the few translations a
 * plain CQE result needs. */
static CIO_NOINLINE void finish(cio_loop *loop, uring *u, cio_op *op, int32_t res) {
    cio_core *c = cio__core(loop);
    uint16_t bf = op->internal_.bflags;
    op->internal_.bflags = 0;
    cio_fd fd = op_fd(op);
    bool fx = op->flags & u->fx_flag;
    bool fd_closing = fd >= 0 && (*fd_count(u, op->flags, fd) & FD_CLOSING);
    /* A zero-copy send that queued bytes let go of its handle's count at
     * its first CQE (zc_sent). */
    bool fd_released = (bf & BF_ZC) && res > 0;
    if (res < 0) {
        bool stopped = (bf & BF_LT_FIRED) || (op->internal_.iflags & (IF_CANCELLED | IF_TIMED_OUT)) ||
                       fd_closing || c->closing;
        /* An op of a kernel chain that must go again: chain_cancel stopped
         * it to stop the chain behind it, or the kernel refused its offset.
         * The kernel cancels the ops after it with the chain; they come
         * back (chain_unrun), and then it goes again, alone. */
        if (!stopped && chain_next(op) &&
            (res == -CIO_ECANCELED || (uint32_t)(res + 516) <= 4u ||
             (res == -CIO_ESPIPE && cio__op_offset_given(op) && !(bf & BF_POS_CUR)))) {
            op->internal_.when = res == -CIO_ESPIPE ? BF_POS_CUR : 0;
            return;
        }
        /* A worker interrupted in a blocking call (a cancelled splice)
         * reports the kernel's internal restart codes. */
        if ((uint32_t)(res + 516) <= 4u) res = stopped ? -CIO_ECANCELED : -CIO_EINTR;
        /* A socket the kernel cannot send from user pages (AF_UNIX): a
         * plain send, as every other backend makes (op.h); the core gives
         * the op its opcode back when it completes. */
        if (res == -EOPNOTSUPP && (op->opcode == CIO_OP_SEND_ZC || op->opcode == CIO_OP_SENDMSG_ZC) && !stopped) {
            op->opcode = cio__opdef(op)->base;
            issue_again(loop, u, op, BF_SLOW);
            return;
        }
        /* An offset on a handle with no position (a socket) is ignored, as
         * op.h says; the kernel refuses it before moving any byte. */
        if (res == -CIO_ESPIPE && cio__op_offset_given(op) && !(bf & BF_POS_CUR) && !fd_closing && !c->closing &&
            !(op->internal_.iflags & IF_CANCELLED)) {
            issue_again(loop, u, op, BF_POS_CUR);
            return;
        }
        /* Cancelled by its link timeout: the deadline passed (not a cancel,
         * nor the close of its handle or of the loop). */
        if (res == -CIO_ECANCELED && (bf & BF_LT_FIRED) && !(op->internal_.iflags & IF_CANCELLED) && !c->closing)
            res = -CIO_ETIMEDOUT;
    }
    /* The kernel opens a FIFO without waiting only when it opens inline
     * (not with O_CREAT or O_TRUNC, nor for a path out of its cache): so
     * every open goes with O_NONBLOCK, which the caller gets only if asked
     * for; one that would have had to wait (a lease) goes again without. */
    if (op->opcode == CIO_OP_OPENAT && !(op->args.open.flags & O_NONBLOCK)) {
        if (res >= 0) {
            res = cio__open_done(res);
        } else if (res == -CIO_EAGAIN && !(bf & BF_OPEN_WAIT) && !c->closing && !(op->internal_.iflags & IF_CANCELLED)) {
            issue_again(loop, u, op, BF_SLOW | BF_OPEN_WAIT);
            return;
        }
    }
    if (op->opcode == CIO_OP_POLL && res > 0 && !(op->flags & CIO_F_MULTISHOT) && (res = poll_truth(op, res)) == 0) {
        if (fd_closing || c->closing || (op->internal_.iflags & IF_CANCELLED)) {
            res = -CIO_ECANCELED; /* ended by its close or a cancel, not by its deadline */
            op->internal_.iflags |= IF_CANCELLED;
        } else { /* a wake with nothing asked for behind it: wait for a real one */
            issue_again(loop, u, op, BF_SLOW);
            return;
        }
    }
    if (CIO_UNLIKELY(res == -CIO_ENOBUFS) && op->opcode == CIO_OP_RECV_POOL && pool_retry(loop, u, op, bf, fd_closing))
        return;
    if (fx && (cio__opdef(op)->fixed & OPD_FIX_NEW)) res = slot_filled(loop, op, res);
    uint32_t left = 1;
    if (fd >= 0 && !fd_released) left = --*fd_count(u, op->flags, fd);
    cio_op *next = chain_next(op); /* the kernel starts it now, or cancels it with the chain */
    if (CIO_UNLIKELY(next != NULL)) chain_started(loop, u, next);
    if (op->flags & CIO_F_MULTISHOT) {
        if (op->opcode == CIO_OP_RECV_POOL && res > 0 && pool_data_last(loop, op, res, bf, fd_closing)) {
            /* delivered, and ended */
        } else if ((op->opcode == CIO_OP_RECV_POOL && res == 0) || !multishot_rearm(loop, u, op, res)) {
            cio__complete(loop, op, res);
        }
    } else {
        cio__complete(loop, op, CIO_UNLIKELY(op->opcode == CIO_OP_POST) ? post_sent(op, res) : res);
    }
    if (left == FD_CLOSING) release_close(loop, u, fd, fx, false);
    if (CIO_UNLIKELY(next != NULL) && (next->internal_.bflags & BF_DONE)) finish(loop, u, next, next->res);
}

/* The last op on a handle whose close waits: its callback, then the close. */
static CIO_NOINLINE void complete_last(cio_loop *loop, uring *u, cio_op *op, int32_t res, bool fx) {
    cio_fd fd = op->args.rw.fd;
    cio__complete(loop, op, res);
    release_close(loop, u, fd, fx, false);
}

/* ---- zero-copy sends ---- */

/* The first CQE of a zero-copy send, with IORING_CQE_F_MORE: its count or
 * its error. The kernel still reads the buffer; a notification CQE
 * (IORING_CQE_F_NOTIF) follows once it no longer does, and the op
 * completes then, with this result, parked in op->res meanwhile (a first
 * CQE without F_MORE is the only one, and goes the usual way). Once bytes
 * are queued the op no longer uses its handle, and the notification may
 * wait for the peer to read: a close of the handle must not wait for it
 * (op.h), so the handle's count lets go of the op now. */
static CIO_NOINLINE void zc_sent(cio_loop *loop, uring *u, cio_op *op, int32_t res) {
    op->res = res;
    op->internal_.bflags |= BF_ZC;
    if (res > 0) {
        cio_fd fd = op_fd(op);
        if (--*fd_count(u, op->flags, fd) == FD_CLOSING) release_close(loop, u, fd, (op->flags & u->fx_flag) != 0, false);
    }
}

/* The notification of a zero-copy send: the buffer is the caller's again.
 * Returns the result its first CQE parked. */
static CIO_NOINLINE int32_t zc_notified(cio_op *op, int32_t res) {
    if ((uint32_t)res & URING_NOTIF_USAGE_ZC_COPIED) {
        if (op->opcode == CIO_OP_SEND_ZC) op->args.sr.zc |= CIO_ZC_COPIED;
        if (op->opcode == CIO_OP_SENDMSG_ZC) op->args.msg.zc |= CIO_ZC_COPIED;
    }
    return op->res;
}

/* An op's own final CQE, when anything about it is unusual. */
static CIO_NOINLINE void op_cqe_slow(cio_loop *loop, uring *u, cio_op *op, int32_t res) {
    if (op->internal_.bflags & BF_QCANCEL) unqueue(u, op); /* nothing left to cancel */
    if (CIO_UNLIKELY(op->internal_.state == OP_LINKED)) {
        chain_unrun(loop, u, op, res);
        return;
    }
    if (op->internal_.bflags & BF_LT) {
        op->res = res;
        op->internal_.bflags |= BF_DONE;
        return;
    }
    finish(loop, u, op, res);
}

/* The link timeout's CQE: -ECANCELED when the op finished first, else the
 * deadline passed and the kernel tried to cancel the op. */
static void lt_cqe(cio_loop *loop, uring *u, cio_op *op, int32_t res) {
    /* Its own CQE, if still to come, goes to finish() too. */
    uint16_t bf = (uint16_t)((op->internal_.bflags & ~BF_LT) | BF_SLOW);
    if (res != -ECANCELED) bf |= BF_LT_FIRED;
    op->internal_.bflags = bf;
    if (bf & BF_DONE) finish(loop, u, op, op->res);
}

static void dispatch(cio_loop *loop, uring *u, uint64_t ud, int32_t res, uint32_t flags) {
    if (CIO_LIKELY((ud & TAG_MASK) == TAG_OP && !(flags & IORING_CQE_F_MORE))) {
        cio_op *op = (cio_op *)(uintptr_t)ud;
        uint16_t bf = op->internal_.bflags;
        /* (-EOPNOTSUPP: a zero-copy send on a socket that cannot, see finish().) */
        if (CIO_UNLIKELY((bf & ~(BF_FD | BF_FX)) ||
                         (res < 0 && (res == -CIO_ESPIPE || res == -EOPNOTSUPP || (uint32_t)(res + 516) <= 4u)))) {
            if (flags & IORING_CQE_F_BUFFER) res = pool_cqe(op, res, flags);
            if (flags & IORING_CQE_F_NOTIF) res = zc_notified(op, res);
            op_cqe_slow(loop, u, op, res);
            return;
        }
        if (bf && CIO_UNLIKELY(--((bf & BF_FX) ? u->fxc : u->fdc)[op->args.rw.fd] == FD_CLOSING)) {
            complete_last(loop, u, op, res, bf & BF_FX);
            return;
        }
        cio__complete(loop, op, res);
        return;
    }
    cio_op *op = (cio_op *)(uintptr_t)(ud & ~(uint64_t)TAG_MASK);
    switch (ud & TAG_MASK) {
    case TAG_OP: /* a multishot op goes on, or a zero-copy send has sent */
        if (op->opcode == CIO_OP_SEND_ZC || op->opcode == CIO_OP_SENDMSG_ZC) {
            zc_sent(loop, u, op, res);
            break;
        }
        if (op->opcode == CIO_OP_POLL && (res = poll_truth(op, res)) == 0) break; /* nothing asked for */
        if (flags & IORING_CQE_F_BUFFER) res = pool_cqe(op, res, flags);
        if (op->opcode == CIO_OP_RECV_POOL && res <= 0) break; /* nothing for the user: cannot happen */
        cio__complete_more(loop, op, res);
        break;
    case TAG_LT:
        lt_cqe(loop, u, op, res);
        break;
    case TAG_FDCANCEL:
        op->internal_.bflags &= (uint16_t)~BF_FDCANCEL;
        /* An error (-EBADF: the number is not open, closed behind cio's
         * back) cancelled nothing: the close goes ahead at once rather than
         * wait for ops that may never end. */
        release_close(loop, u, op->args.close.fd, (op->flags & u->fx_flag) != 0, res < 0);
        break;
    case TAG_POST:
        cio__tsan_acquire(op); /* written by the sender's thread before its MSG_RING */
        op->res = res;
        cio__deliver_post(loop, op);
        break;
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
            /* enter_chains ran the task work just now; the kernel leaves the
             * flag set when running it queued more, which it ran too. What
             * came since waits for the next turn's enter. */
            if (!(kflags & IORING_SQ_CQ_OVERFLOW) && u->chains_ran) break;
            if (kflags & IORING_SQ_CQ_OVERFLOW) c->stats.cq_overflows++;
            if ((u->kwait ? enter_chains(loop, u) : enter(loop, u, true, false, 0)) < 0) break;
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

/* ---- submission ---- */

/* Each pair (read and write, readv and writev, ...) differs only in the
 * kernel's opcode. */
static inline void prep(struct io_uring_sqe *sqe, cio_op *op) {
    const uint64_t cur = CIO_OFFSET_CURRENT;
#define KOP kernel_opcode[op->opcode] /* loaded only where a case needs it */
    switch (op->opcode) {
    case CIO_OP_NOP:
        io_uring_prep_nop(sqe);
        break;
    case CIO_OP_READ:
    case CIO_OP_WRITE:
        io_uring_prep_rw(KOP, sqe, op->args.rw.fd, op->args.rw.buf, op->args.rw.len, op->args.rw.offset);
        break;
    case CIO_OP_READV:
    case CIO_OP_WRITEV:
        io_uring_prep_rw(KOP, sqe, op->args.rwv.fd, op->args.rwv.iov, op->args.rwv.iovcnt, op->args.rwv.offset);
        break;
    case CIO_OP_FSYNC:
        io_uring_prep_fsync(sqe, op->args.fsync.fd,
                            (op->args.fsync.flags & CIO_FSYNC_DATASYNC) ? IORING_FSYNC_DATASYNC : 0);
        break;
    case CIO_OP_OPENAT: /* never blocking on a FIFO: see open_finished() */
        io_uring_prep_openat(sqe, op->args.open.dirfd, op->args.open.path,
                             op->args.open.flags | ((op->internal_.bflags & BF_OPEN_WAIT) ? 0 : O_NONBLOCK),
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
        io_uring_prep_rw(KOP, sqe, op->args.addr.fd, op->args.addr.addr, 0,
                         (uint64_t)op->args.addr.addrlen);
        break;
    case CIO_OP_LISTEN:
        io_uring_prep_rw(KOP, sqe, op->args.listen.fd, NULL, (unsigned)op->args.listen.backlog, 0);
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
    case CIO_OP_SEND:
        io_uring_prep_rw(KOP, sqe, op->args.sr.fd, op->args.sr.buf, op->args.sr.len, 0);
        sqe->msg_flags = (uint32_t)op->args.sr.flags;
        break;
    case CIO_OP_RECVMSG:
    case CIO_OP_SENDMSG:
        io_uring_prep_rw(KOP, sqe, op->args.msg.fd, op->args.msg.msg, 1, 0);
        sqe->msg_flags = (uint32_t)op->args.msg.flags;
        break;
    case CIO_OP_READ_FIXED:
    case CIO_OP_WRITE_FIXED: /* the core checked that the range lies inside the buffer */
        io_uring_prep_rw(KOP, sqe, op->args.rw.fd, op->args.rw.buf, op->args.rw.len, op->args.rw.offset);
        sqe->buf_index = op->args.rw.buf_index;
        break;
    case CIO_OP_SEND_ZC:
        io_uring_prep_rw(KOP, sqe, op->args.sr.fd, op->args.sr.buf, op->args.sr.len, 0);
        sqe->msg_flags = (uint32_t)op->args.sr.flags;
        if (atomic_load_explicit(&zc_report, memory_order_relaxed)) sqe->ioprio = URING_SEND_ZC_REPORT_USAGE;
        if (op->args.sr.zc & CIO_ZC_FIXED) {
            sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
            sqe->buf_index = op->args.sr.buf_index;
        }
        break;
    case CIO_OP_SENDMSG_ZC:
        io_uring_prep_rw(KOP, sqe, op->args.msg.fd, op->args.msg.msg, 1, 0);
        sqe->msg_flags = (uint32_t)op->args.msg.flags;
        if (atomic_load_explicit(&zc_report, memory_order_relaxed)) sqe->ioprio = URING_SEND_ZC_REPORT_USAGE;
        break;
    case CIO_OP_SHUTDOWN:
        io_uring_prep_shutdown(sqe, op->args.shutdown.fd, op->args.shutdown.how);
        break;
    case CIO_OP_RECV_POOL: {
        /* No buffer of its own: the kernel picks one from the pool's ring
         * when data arrives (length 0: the buffer's). */
        const cio_bufpool *p = op->args.recv_pool.pool;
        io_uring_prep_rw(IORING_OP_RECV, sqe, op->args.recv_pool.fd, NULL, 0, 0);
        sqe->msg_flags = (uint32_t)op->args.recv_pool.flags;
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = p->bgid;
        if ((op->flags & CIO_F_MULTISHOT) && p->kernel_mshot)
            sqe->ioprio |= IORING_RECV_MULTISHOT;
        else if (op->internal_.bflags & BF_REARM)
            /* Armed again by hand (no IORING_RECV_MULTISHOT): wait for
             * data before taking a buffer, as a multishot receive does,
             * rather than fail at once on a pool that is dry now. */
            sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
        break;
    }
    case CIO_OP_POLL:
        if (op->flags & CIO_F_MULTISHOT)
            io_uring_prep_poll_multishot(sqe, op->args.poll.fd, op->args.poll.events);
        else
            io_uring_prep_poll_add(sqe, op->args.poll.fd, op->args.poll.events);
        break;
    case CIO_OP_FTRUNCATE: /* the new size in `off`; liburing 2.3 has no helper */
        io_uring_prep_rw(KOP, sqe, op->args.size.fd, NULL, 0, op->args.size.len);
        break;
    case CIO_OP_FALLOCATE:
        io_uring_prep_fallocate(sqe, op->args.size.fd, op->args.size.mode, (off_t)op->args.size.offset,
                                (off_t)op->args.size.len);
        break;
    case CIO_OP_SYMLINKAT:
        io_uring_prep_symlinkat(sqe, op->args.link.oldpath, op->args.link.newdirfd, op->args.link.newpath);
        break;
    case CIO_OP_LINKAT:
        io_uring_prep_linkat(sqe, op->args.link.olddirfd, op->args.link.oldpath, op->args.link.newdirfd,
                             op->args.link.newpath, op->args.link.flags);
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
#undef KOP

/* An op on a fixed handle, or one that makes one, in the registered
 * table's terms (prep() wrote it as a plain one): IOSQE_FIXED_FILE for the
 * slot it names; the slot an accept or socket fills (file_index, 1-based;
 * taken at its submission, kept in internal_.seq, which nothing else uses
 * while this backend holds an op whose deadline the core does not time);
 * a close by slot. An accept is single-shot here even for a multishot op:
 * the kernel's multishot accept picks slots itself, which cio_file_fix()
 * could pick at the same time; finish() arms it again per connection, as
 * for a kernel without multishot. SOCK_CLOEXEC means nothing for a slot
 * (the kernel refuses it there). An openat stays a plain open, and
 * finish() installs its descriptor: so it keeps every rule of cio's open
 * (a FIFO opened without blocking, O_NONBLOCK then cleared, which cannot
 * be done on a slot). */
static CIO_NOINLINE void prep_fixed(struct io_uring_sqe *sqe, cio_op *op) {
    switch (op->opcode) {
    case CIO_OP_ACCEPT:
        io_uring_prep_accept_direct(sqe, op->args.accept.fd, op->args.accept.addr, op->args.accept.addrlen,
                                    op->args.accept.flags & ~SOCK_CLOEXEC, op->internal_.seq);
        sqe->flags |= IOSQE_FIXED_FILE;
        break;
    case CIO_OP_SOCKET:
        io_uring_prep_socket(sqe, op->args.socket.domain, op->args.socket.type & ~SOCK_CLOEXEC,
                             op->args.socket.protocol, 0);
        sqe->file_index = op->internal_.seq + 1;
        break;
    case CIO_OP_OPENAT:
        break;
    case CIO_OP_CLOSE:
        io_uring_prep_close_direct(sqe, (unsigned)op->args.close.fd);
        break;
    default:
        sqe->flags |= IOSQE_FIXED_FILE;
        break;
    }
}

/* Writes the op's SQE, and its link timeout's when it has a deadline; the
 * caller made room for both. */
static void stage_op(uring *u, cio_op *op) {
    struct io_uring_sqe *sqe = take_sqe(u);
    if (op->opcode == CIO_OP_POST) {
        cio_op *msg = op->args.post.msg;
        io_uring_prep_msg_ring(sqe, state(op->args.post.target)->ring.ring_fd, (unsigned)msg->res,
                               (uint64_t)(uintptr_t)msg | TAG_POST, 0);
        cio__tsan_release(msg); /* the target's thread takes it over when MSG_RING lands */
    } else {
        prep(sqe, op);
        if (op->flags & u->fx_flag) prep_fixed(sqe, op);
        if (op->internal_.bflags & BF_POS_CUR) sqe->off = (uint64_t)-1;
    }
    sqe->user_data = (uint64_t)(uintptr_t)op;
    if (has_lt(op)) {
        /* The kernel cancels the op at the deadline; finish() maps that
         * -ECANCELED to -CIO_ETIMEDOUT. The timespec lives in the op. */
        sqe->flags |= IOSQE_IO_LINK;
        op->internal_.u.ts.sec = (int64_t)(op->deadline / 1000000000u);
        op->internal_.u.ts.nsec = (int64_t)(op->deadline % 1000000000u);
        struct io_uring_sqe *lt = take_sqe(u);
        io_uring_prep_link_timeout(lt, (struct __kernel_timespec *)(void *)&op->internal_.u.ts,
                                   IORING_TIMEOUT_ABS);
        lt->user_data = (uint64_t)(uintptr_t)op | TAG_LT;
        op->internal_.bflags |= BF_LT;
    }
}

/* A close. While ops of this loop are still on the handle, cancel them
 * all first and hold the close until the last one has completed, so that
 * their callbacks run before the close's. Needs room for one SQE, or two
 * with a deadline. */
static void stage_close(uring *u, cio_op *op) {
    cio_fd fd = op->args.close.fd;
    bool fx = op->flags & u->fx_flag;
    /* An op of a kernel chain counts on its handle only once the op before
     * it has completed here (chain_started); the kernel may have started
     * it already: the cancel by handle reaches it too. */
    if ((fx || (uint32_t)fd < u->fdc_cap) && ((*fd_count(u, op->flags, fd) & ~FD_CLOSING) || (u->kwait && !fx))) {
        *fd_count(u, op->flags, fd) |= FD_CLOSING;
        struct io_uring_sqe *sqe = take_sqe(u);
        io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL | (fx ? IORING_ASYNC_CANCEL_FD_FIXED : 0));
        sqe->user_data = (uint64_t)(uintptr_t)op | TAG_FDCANCEL;
        op->internal_.bflags |= BF_HELD | BF_FDCANCEL;
        opq_push(&u->held, op);
        return;
    }
    if (fx || (uint32_t)fd < u->fdc_cap) *fd_count(u, op->flags, fd) &= ~FD_CLOSING;
    stage_op(u, op);
}

/* Asks the kernel to cancel `target`; a `carrier` (CIO_OP_CANCEL) reports
 * the outcome. */
static void stage_cancel(uring *u, cio_op *target, cio_op *carrier) {
    struct io_uring_sqe *sqe = take_sqe(u);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)target, 0);
    sqe->user_data = carrier ? (uint64_t)(uintptr_t)carrier : TAG_IGNORE;
}

static void stage_cancel_all(uring *u) {
    struct io_uring_sqe *sqe = take_sqe(u);
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
    sqe->user_data = TAG_IGNORE;
}

/* Ends an op that never reached the kernel: cancelled while it waited in
 * the backlog, or the loop is closing. */
static void drop(cio_loop *loop, uring *u, cio_op *op) {
    if (op->opcode == CIO_OP_CLOSE) {
        cio_fd fd = op->args.close.fd;
        if ((op->flags & u->fx_flag) || (uint32_t)fd < u->fdc_cap) *fd_count(u, op->flags, fd) &= ~FD_CLOSING;
    }
    if (op->opcode == CIO_OP_POST) op->args.post.msg->internal_.state = OP_IDLE; /* never sent */
    op->internal_.iflags |= IF_CANCELLED;
    finish(loop, u, op, -CIO_ECANCELED);
}

/* Moves the backlog into the SQ, oldest first, entering the kernel to make
 * room, and ends what was cancelled while it waited. Runs callbacks; returns
 * how many ops it ended. Only what is queued now: callbacks that queue more
 * wait for the next flush. */
static int flush(cio_loop *loop, uring *u) {
    cio_core *c = cio__core(loop);
    int ended = 0;
    if (u->wake_wanted) {
        u->wake_wanted = false;
        arm_wake(loop, u);
    }
    if (u->cancel_all_wanted) {
        if (sq_free(u) >= 1 || make_room(loop, u, 1, false)) {
            u->cancel_all_wanted = false;
            stage_cancel_all(u);
        }
    }
    cio_op *last = u->backlog.tail;
    while (!opq_empty(&u->backlog)) {
        cio_op *op = u->backlog.head;
        uint16_t bf = op->internal_.bflags;
        /* A loop that closes ends what never reached the kernel; a close
         * still closes its handle. */
        bool dropped = (bf & BF_DROPPED) || (c->closing && (bf & BF_QUEUED) && op->opcode != CIO_OP_CLOSE);
        if (!dropped) {
            unsigned n = ((bf & BF_QCANCEL) || op->opcode == CIO_OP_CANCEL || !has_lt(op)) ? 1 : 2;
            if (sq_free(u) < n) {
                c->stats.sq_full_flushes++;
                if (enter(loop, u, true, false, 0) < 0 || sq_free(u) < n) break;
            }
        }
        opq_pop(&u->backlog);
        op->internal_.bflags &= (uint16_t)~(BF_QUEUED | BF_QCANCEL | BF_DROPPED);
        if (dropped) {
            drop(loop, u, op);
            ended++;
        } else if (bf & BF_QCANCEL) {
            stage_cancel(u, op, NULL);
        } else if (op->opcode == CIO_OP_CANCEL) {
            stage_cancel(u, op->args.cancel.target, op);
        } else if (op->opcode == CIO_OP_CLOSE) {
            stage_close(u, op);
        } else {
            stage_op(u, op);
        }
        if (op == last) break;
    }
    if (opq_empty(&u->backlog)) u->fast = u->plain;
    return ended;
}

/* Grows the per-handle counts to cover `fd` (the process raised its limit
 * on open files after the loop was set up). */
static CIO_NOINLINE bool fdc_grow(uring *u, cio_fd fd) {
    uint32_t cap = u->fdc_cap;
    while (cap <= (uint32_t)fd) cap = cap < 0x40000000u ? cap * 2 : (uint32_t)fd + 1;
    uint32_t *p = realloc(u->fdc, (size_t)cap * sizeof *p);
    if (!p) return false;
    memset(p + u->fdc_cap, 0, (size_t)(cap - u->fdc_cap) * sizeof *p);
    u->fdc = p;
    u->fdc_cap = cap;
    return true;
}

/* Everything but a plain op with an SQE free: a post (MSG_RING to another
 * ring), a close, an op with a deadline, a full SQ or a backlog, a handle
 * beyond the counts or being closed, an opcode the kernel lacks. Returns
 * 1 when the core must time the op's deadline. */
static CIO_NOINLINE int submit_slow(cio_loop *loop, uring *u, cio_op *op) {
    unsigned opc = op->opcode;
    bool fx = op->flags & u->fx_flag;
    if (!((fx ? u->probed : u->native) & (OPBIT(opc)))) return -CIO_ENOTSUP;
    uint16_t rearm = op->internal_.bflags & BF_REARM;
    /* Submitted on a dry pool: at once, as every backend (a kernel with
     * IORING_RECV_MULTISHOT would say so too; an op armed again by hand
     * waits for data instead). */
    if (opc == CIO_OP_RECV_POOL && !rearm && cio__bufpool_empty(op->args.recv_pool.pool)) return -CIO_ENOBUFS;
    if (opc == CIO_OP_POST) {
        /* MSG_RING reaches only another io_uring loop. */
        const cio_core *tc = cio__core(op->args.post.target);
        if (!tc->be || tc->be->kind != CIO_BACKEND_URING) return -CIO_ENOTSUP;
    }
    cio_fd fd = opc == CIO_OP_CLOSE ? op->args.close.fd : op_fd(op);
    if (fd >= 0) {
        /* (A slot is below fx_count: the core checked it was live.) */
        if (!fx && (uint32_t)fd >= u->fdc_cap && !fdc_grow(u, fd)) return -CIO_ENOMEM;
        /* A close of this handle is under way: to this op it is closed. */
        if (*fd_count(u, op->flags, fd) & FD_CLOSING) return -CIO_EBADF;
    }
    if (fx && (cio__opdef(op)->fixed & OPD_FIX_NEW)) {
        /* The slot its new handle goes to (see prep_fixed). */
        int slot = cio__files_slot_take(loop);
        if (slot < 0) return slot;
        op->internal_.seq = (uint32_t)slot;
    }
    if (fd >= 0 && opc != CIO_OP_CLOSE) (*fd_count(u, op->flags, fd))++;
    if (opc == CIO_OP_POST) op->args.post.msg->internal_.state = OP_POSTED;
    op->internal_.bflags = BF_SLOW | rearm;
    if (!room(loop, u, has_lt(op) ? 2 : 1)) {
        if (opc == CIO_OP_CLOSE) *fd_count(u, op->flags, fd) |= FD_CLOSING;
        enqueue(u, op, BF_QUEUED);
    } else if (opc == CIO_OP_CLOSE) {
        stage_close(u, op);
    } else {
        stage_op(u, op);
    }
    return op->deadline && (core_timed & (OPBIT(opc))) ? 1 : 0;
}

static int uring_submit(cio_loop *loop, cio_op *op) {
    uring *u = state(loop);
    uint64_t bit = OPBIT(op->opcode);
    if (CIO_UNLIKELY(!(u->fast & bit) || op->deadline || sq_free(u) == 0)) return submit_slow(loop, u, op);
    /* An op with no handle keeps the bflags of 0 that its prep, or its last
     * completion here, left. */
    unsigned fixed = op->flags & u->fx_flag; /* the handle is a slot */
    if (bit & u->fd_first) {
        cio_fd fd = op->args.rw.fd;
        uint32_t *count = fixed ? u->fxc : u->fdc;
        if (CIO_UNLIKELY((op->flags & CIO_F_MULTISHOT) || (uint32_t)fd >= (fixed ? u->fx_count : u->fdc_cap) ||
                         (count[fd] & FD_CLOSING) || (fixed && op->opcode == CIO_OP_ACCEPT)))
            return submit_slow(loop, u, op);
        count[fd]++;
        op->internal_.bflags = fixed ? BF_FX : BF_FD;
    } else if (CIO_UNLIKELY(fixed)) {
        return submit_slow(loop, u, op); /* a socket: it takes a slot */
    }
    struct io_uring_sqe *sqe = take_sqe(u);
    prep(sqe, op);
    if (fixed) sqe->flags |= IOSQE_FIXED_FILE;
    sqe->user_data = (uint64_t)(uintptr_t)op;
    return 0;
}

/* ---- link chains in the kernel (backend.h: submit_chain) ----
 *
 * A run of a soft-linked chain goes to the kernel as linked SQEs in one
 * submission: the kernel starts each op when the one before it completes,
 * without a loop turn in between, and cancels the rest (-ECANCELED, in
 * order) when one breaks the link. The run takes only ops whose link
 * rules in the kernel are cio's (probed on Linux 6.18: an error of a read,
 * write, readv, writev, send, recv, sendmsg or recvmsg breaks the link, a
 * short read, write, readv, writev too, as a short recv or send does with
 * MSG_WAITALL and only then, as cio__link_continues says; a recvmsg or
 * sendmsg with MSG_WAITALL breaks it where cio's does not, and an error
 * of fsync, statx, the path ops, fallocate, ftruncate or shutdown does not
 * break it at all: those end a run). Hard links stay the core's: the kernel starts
 * the op after a hard link also when the loop's close cancels the op
 * before it. Deadlines stay the core's too: a link timeout is armed only
 * once its op has started, too late for "an op that starts past its
 * deadline does not run".
 *
 * The kernel cannot cancel an op that waits in a chain behind another
 * (probed: ASYNC_CANCEL finds nothing, and the op runs later). Yet a
 * cancel of such an op must end it without running it, as the core does
 * for a chained op. So each op after the head waits in state OP_LINKED,
 * with the op before it in KPREV, and a cancel of it (chain_cancel)
 * either edits the SQEs before the kernel has seen them (chain_cut) or
 * stops the op the chain waits behind, which then goes again, alone, once
 * the kernel has handed back the ops after it (chain_unrun, chain_again):
 * every op a run holds before its last can be stopped before it moved
 * anything (reads, writes, sends and receives waiting for their handle). What cannot be kept: an op the kernel already executes
 * in a worker (file IO, fsync) does not stop, and the op after it then
 * runs when its turn comes.
 *
 * An op of a run counts on its handle (fdc) once the op before it has
 * completed here (chain_started), when the kernel has started it; a close
 * meanwhile cancels by handle (stage_close), which reaches it if it runs.
 * While it waits, internal_.when holds the position of its SQE in the SQ. */

#define KPREV(op) ((op)->internal_.u.heap.prev)

/* The opcodes a run may hold: one plain SQE each, whose cancel before it
 * moved anything leaves nothing done, so that chain_again can issue it
 * again. */
static const uint64_t chain_ops = OPBIT(CIO_OP_NOP) | OPBIT(CIO_OP_READ) | OPBIT(CIO_OP_WRITE) | OPBIT(CIO_OP_READV) |
                                  OPBIT(CIO_OP_WRITEV) | OPBIT(CIO_OP_FSYNC) | OPBIT(CIO_OP_RECV) | OPBIT(CIO_OP_SEND) |
                                  OPBIT(CIO_OP_RECVMSG) | OPBIT(CIO_OP_SENDMSG) | OPBIT(CIO_OP_SHUTDOWN) |
                                  OPBIT(CIO_OP_ACCEPT) | OPBIT(CIO_OP_CONNECT) | OPBIT(CIO_OP_STATX) |
                                  OPBIT(CIO_OP_UNLINKAT) | OPBIT(CIO_OP_RENAMEAT) | OPBIT(CIO_OP_MKDIRAT) |
                                  OPBIT(CIO_OP_FTRUNCATE) | OPBIT(CIO_OP_FALLOCATE) | OPBIT(CIO_OP_SYMLINKAT) |
                                  OPBIT(CIO_OP_LINKAT);

/* Of those, the ones an op of the run may follow in the kernel: each
 * fails its link on any error. The others end a run: fsync, fallocate,
 * ftruncate, statx, shutdown and the path ops report their errors without
 * failing the link (probed on 6.18: only a bad handle found before they
 * run does); a connect stopped half-way cannot go again; an accept that
 * ran out of descriptors completes only after a pause (op.c:
 * accept_backoff), after the op behind it would. */
static const uint64_t chain_inner = OPBIT(CIO_OP_NOP) | OPBIT(CIO_OP_READ) | OPBIT(CIO_OP_WRITE) |
                                    OPBIT(CIO_OP_READV) | OPBIT(CIO_OP_WRITEV) | OPBIT(CIO_OP_RECV) |
                                    OPBIT(CIO_OP_SEND) | OPBIT(CIO_OP_RECVMSG) | OPBIT(CIO_OP_SENDMSG);

/* Whether `op` may be in a run; `inner`: with an op of the run after it
 * (its soft link then is the kernel's). Not inside a run: a recv, send,
 * recvmsg or sendmsg with CIO_MSG_WAITALL, which the kernel fails on a
 * truncated datagram even when all `len` bytes came, while cio's rule
 * (cio__link_continues) goes on. */
static bool chain_fits(uring *u, const cio_op *op, bool inner) {
    if (op->deadline || op->internal_.iflags || !(u->chain & OPBIT(op->opcode)) ||
        (op->flags & ~(CIO_F_LINK | CIO_F_HARDLINK)))
        return false;
    if (inner && (op->flags != CIO_F_LINK || !(chain_inner & OPBIT(op->opcode)) ||
                  ((op->opcode == CIO_OP_RECVMSG || op->opcode == CIO_OP_SENDMSG) &&
                   (op->args.msg.flags & CIO_MSG_WAITALL)) ||
                  ((op->opcode == CIO_OP_RECV || op->opcode == CIO_OP_SEND) && (op->args.sr.flags & CIO_MSG_WAITALL))))
        return false;
    cio_fd fd = op_fd(op);
    return fd < 0 || ((((uint32_t)fd < u->fdc_cap) || fdc_grow(u, fd)) && !(u->fdc[fd] & FD_CLOSING));
}

static int uring_submit_chain(cio_loop *loop, cio_op *head) {
    uring *u = state(loop);
    if (!u->chain || !head->internal_.link || !chain_fits(u, head, true)) return 0;
    /* One submission holds the run (the kernel ends a chain with the enter
     * that brings it); half the SQ at most, so that a long chain does not
     * take room from everything else. */
    unsigned n = 1, cap = u->ring.sq.ring_entries / 2;
    for (cio_op *op = head->internal_.link; op && n < cap && chain_fits(u, op, false); op = op->internal_.link) {
        n++;
        if (!op->internal_.link || !chain_fits(u, op, true)) break;
    }
    if (n < 2 || !room(loop, u, n)) return 0;
    struct io_uring_sq *sq = &u->ring.sq;
    cio_op *prev = NULL, *op = head;
    for (unsigned i = 0; i < n; i++, prev = op, op = op->internal_.link) {
        op->internal_.when = sq->sqe_tail;
        struct io_uring_sqe *sqe = take_sqe(u);
        prep(sqe, op);
        sqe->user_data = (uint64_t)(uintptr_t)op;
        if (i + 1 < n) sqe->flags |= IOSQE_IO_LINK;
        op->internal_.bflags = BF_SLOW; /* its CQE goes through finish() */
        if (prev) {
            KPREV(op) = prev;
            op->internal_.state = OP_LINKED;
            u->kwait++;
        } else if (op_fd(op) >= 0) {
            u->fdc[op_fd(op)]++;
        }
    }
    return (int)n;
}

/* The op after `op` in its run, if the kernel holds it. */
static cio_op *chain_next(const cio_op *op) {
    cio_op *next = op->internal_.link;
    return next && next->internal_.state == OP_LINKED && KPREV(next) == op ? next : NULL;
}

/* The op before `op` in its run has completed here: the kernel has started
 * `op`, or cancels it with the chain (the core marks it so). */
static void chain_started(cio_loop *loop, uring *u, cio_op *op) {
    op->internal_.state = OP_BACKEND;
    u->kwait--;
    bool stop = (op->internal_.iflags & IF_CANCELLED) != 0; /* chain_cancel came too late */
    cio_fd fd = op_fd(op);
    if (fd >= 0) {
        if (u->fdc[fd] & FD_CLOSING) stop = true; /* the close's cancel by handle may have missed it */
        u->fdc[fd]++;
    }
    if (stop) {
        if (room(loop, u, 1))
            stage_cancel(u, op, NULL);
        else
            enqueue(u, op, BF_QCANCEL);
    }
}

/* Issues the held op `op` (see finish) again, alone, now that the ops after
 * it are back in the core's hands. */
static void chain_again(cio_loop *loop, uring *u, cio_op *op) {
    cio_fd fd = op_fd(op);
    bool stopped = cio__core(loop)->closing || (op->internal_.iflags & (IF_CANCELLED | IF_TIMED_OUT)) ||
                   (fd >= 0 && (u->fdc[fd] & FD_CLOSING));
    if (stopped) {
        op->internal_.iflags |= IF_CANCELLED;
        finish(loop, u, op, -CIO_ECANCELED);
    } else {
        issue_again(loop, u, op, (uint16_t)(BF_SLOW | (uint16_t)op->internal_.when));
    }
}

/* The CQE of an op still waiting behind the op before it: the kernel broke
 * the chain there, but the core has not seen that op complete (it is held
 * to go again). The op goes back to the core, which starts it when its
 * turn comes; once the last of the run is back, the held op goes again. */
static void chain_unrun(cio_loop *loop, uring *u, cio_op *op, int32_t res) {
    if (res != -CIO_ECANCELED) {
        /* It ran: the kernel posted it before the op before it (never seen,
         * but then its result waits for its turn, see finish). */
        op->res = res;
        op->internal_.bflags |= BF_DONE;
        return;
    }
    op->internal_.state = OP_CHAINED;
    op->internal_.bflags = 0;
    u->kwait--;
    cio_op *next = op->internal_.link;
    if (next && next->internal_.state == OP_LINKED && KPREV(next) == op) return; /* more to come back */
    cio_op *held = KPREV(op);
    while (held->internal_.state == OP_CHAINED) held = KPREV(held);
    chain_again(loop, u, held);
}

/* Takes `target` and the ops after it in its run out of the SQ before the
 * kernel has seen them: the op before it ends the chain, they become nops
 * without a completion, and the core has them back. */
static void chain_cut(uring *u, cio_op *target) {
    struct io_uring_sq *sq = &u->ring.sq;
    cio_op *prev = KPREV(target);
    sq->sqes[(uint32_t)prev->internal_.when & sq->ring_mask].flags &= (uint8_t)~IOSQE_IO_LINK;
    for (cio_op *op = target; op && op->internal_.state == OP_LINKED && KPREV(op) == prev;
         prev = op, op = op->internal_.link) {
        struct io_uring_sqe *sqe = &sq->sqes[(uint32_t)op->internal_.when & sq->ring_mask];
        io_uring_prep_nop(sqe);
        sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
        sqe->user_data = TAG_IGNORE;
        op->internal_.state = OP_CHAINED;
        op->internal_.bflags = 0;
        u->kwait--;
    }
}

/* Whether `op`'s SQE is still ours: staged, not yet seen by the kernel. */
static bool chain_staged(const uring *u, const cio_op *op) {
    const struct io_uring_sq *sq = &u->ring.sq;
    return (uint32_t)op->internal_.when - sq->sqe_head < sq->sqe_tail - sq->sqe_head;
}

/* A cancel of an op waiting in a run (the core marked it IF_CANCELLED): it
 * must end with -CIO_ECANCELED without running, when its turn comes. */
static int chain_cancel(cio_loop *loop, uring *u, cio_op *target, cio_op *carrier) {
    if (chain_staged(u, target)) {
        chain_cut(u, target);
    } else {
        /* Stop the op the chain waits behind; it goes again once the
         * kernel has handed back the rest (finish, chain_unrun). */
        cio_op *p = KPREV(target);
        while (p->internal_.state == OP_LINKED) p = KPREV(p);
        if (p->internal_.state == OP_BACKEND && !(p->internal_.bflags & BF_QCANCEL)) {
            if (room(loop, u, 1))
                stage_cancel(u, p, NULL);
            else
                enqueue(u, p, BF_QCANCEL);
        }
    }
    if (carrier) cio__ready(loop, carrier, 0);
    return 0;
}

/* The loop closes: the ops of runs the kernel has not seen yet go back to
 * the core, which ends them without running them. */
static void chain_cut_staged(uring *u) {
    if (!u->kwait) return;
    struct io_uring_sq *sq = &u->ring.sq;
    for (unsigned pos = sq->sqe_head; pos != sq->sqe_tail; pos++) {
        uint64_t ud = sq->sqes[pos & sq->ring_mask].user_data;
        if ((ud & TAG_MASK) != TAG_OP || !ud) continue;
        cio_op *op = (cio_op *)(uintptr_t)ud;
        if (op->internal_.state == OP_LINKED && (uint32_t)op->internal_.when == pos) chain_cut(u, op);
    }
}

static int uring_cancel(cio_loop *loop, cio_op *target, cio_op *carrier) {
    uring *u = state(loop);
    if (CIO_UNLIKELY(target->internal_.state == OP_LINKED)) return chain_cancel(loop, u, target, carrier);
    uint16_t bf = target->internal_.bflags;
    if (bf & BF_QUEUED) {
        /* It never reached the kernel: it ends at the next flush, in its
         * place in line (before a close of its handle queued after it). */
        target->internal_.bflags |= BF_DROPPED;
        if (carrier) cio__ready(loop, carrier, (bf & BF_DROPPED) ? -CIO_EALREADY : 0);
        return 0;
    }
    if (bf & (BF_DONE | BF_HELD | BF_ZC)) {
        /* The kernel has finished it (only its timeout's CQE, or a zero-copy
         * send's notification, is missing), or it is a close already
         * cancelling its handle's ops. */
        if (carrier) cio__ready(loop, carrier, (bf & (BF_DONE | BF_ZC)) ? -CIO_ENOENT : -CIO_EALREADY);
        return 0;
    }
    if (carrier) {
        carrier->internal_.bflags = 0;
        if (room(loop, u, 1))
            stage_cancel(u, target, carrier);
        else
            enqueue(u, carrier, BF_QUEUED);
    } else if (!(bf & BF_QCANCEL)) {
        if (room(loop, u, 1))
            stage_cancel(u, target, NULL);
        else
            enqueue(u, target, BF_QCANCEL);
    }
    return 0;
}

static void uring_cancel_all(cio_loop *loop) {
    uring *u = state(loop);
    chain_cut_staged(u);
    /* What waits in the backlog never reached the kernel: the next flush
     * ends it, seeing the loop closing. */
    if (sq_free(u) >= 1 || make_room(loop, u, 1, false))
        stage_cancel_all(u);
    else
        u->cancel_all_wanted = true;
}

static int uring_wait(cio_loop *loop, int64_t timeout_ns) {
    uring *u = state(loop);
    int ended = 0;
    if (CIO_UNLIKELY(!opq_empty(&u->backlog) || u->wake_wanted || u->cancel_all_wanted)) {
        ended = flush(loop, u);
        if (ended)
            timeout_ns = 0; /* callbacks ran: the core takes its turn first */
        else if (!opq_empty(&u->backlog) && (timeout_ns < 0 || timeout_ns > 1000000))
            timeout_ns = 1000000; /* the kernel takes no more now: try again soon */
    }
    bool have = io_uring_cq_ready(&u->ring) > 0;
    /* A turn that does not wait needs the kernel only to submit, or when it
     * says it holds completions (TASKRUN flag), not for a bare GETEVENTS:
     * a task yield then costs no system call. */
    bool getevents = timeout_ns != 0 || !(u->setup_flags & IORING_SETUP_TASKRUN_FLAG);
    int r = 0;
    if (CIO_UNLIKELY(u->kwait) && !have && (u->setup_flags & IORING_SETUP_DEFER_TASKRUN)) {
        /* Ops wait in kernel chains: let the kernel run all their hops that
         * complete at once in this one enter (enter_chains); wait in a second
         * one only if nothing came. */
        r = enter_chains(loop, u);
        u->chains_ran = true;
        have = r < 0 || io_uring_cq_ready(&u->ring) > 0;
        if (r >= 0 && !have && timeout_ns != 0) r = enter(loop, u, getevents, true, timeout_ns);
    } else {
        r = enter(loop, u, getevents, !have, timeout_ns);
    }
    if (r < 0) return r;
    int n = reap(loop, u);
    u->chains_ran = false;
    if (CIO_UNLIKELY(!opq_empty(&u->backlog))) ended += flush(loop, u);
    return n + ended;
}

/* The kernel signals the eventfd of cio_loop_fd() with every batch of
 * completions (and, with DEFER_TASKRUN, when completion work is queued for
 * the loop's thread), also while the loop runs its own turns. Its count is
 * reset here, once per cio_loop_run(), not every turn: only an outside
 * poller, between runs, looks at it. Reset, then look again: completions
 * whose signal the read took but that no turn reaped yet (the reap's bound,
 * one that came after it), queued completion work, and a backlog each
 * need another run, so the handle is made readable again for them. Last,
 * the SQEs callbacks staged during the run go to the kernel now: no outside
 * poller would see their completions (nor a wake, whose read is one of
 * them) before the next run submitted them. */
static void uring_run_end(cio_loop *loop) {
    uring *u = state(loop);
    if (u->notify_fd < 0) return;
    uint64_t v;
    ssize_t ignored = read(u->notify_fd, &v, sizeof v);
    (void)ignored;
    const struct io_uring_cq *cq = &u->ring.cq;
    bool more = *cq->khead != io_uring_smp_load_acquire(cq->ktail) ||
                (IO_URING_READ_ONCE(*u->ring.sq.kflags) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)) ||
                !opq_empty(&u->backlog) || u->wake_wanted || u->cancel_all_wanted;
    if (more) {
        v = 1;
        ignored = write(u->notify_fd, &v, sizeof v);
    }
    if (u->ring.sq.sqe_tail != IO_URING_READ_ONCE(*u->ring.sq.khead)) enter(loop, u, false, false, 0);
}

static int uring_wake(cio_loop *loop) {
    char one = 1;
    ssize_t r = write(state(loop)->wake_fd[1], &one, 1);
    return r == 1 || errno == EAGAIN ? 0 : -errno;
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

/* ---- buffer pools: registration (cio/bufpool.h, src/core/bufpool.h) ---- */

/* Buffer group ids of the process's pools; a ring refuses one it has
 * (-EEXIST), and the next is tried, a bounded number of times: -EEXIST
 * also says that another thread than the ring's own made the call. */
static _Atomic uint16_t next_bgid;

int cio__uring_pool_register(cio_loop *loop, cio_bufpool *p) {
    uring *u = state(loop);
    size_t bytes = (size_t)p->count * sizeof(struct io_uring_buf);
    /* The kernel maps the ring: page-aligned memory of its own. */
    void *ring = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ring == MAP_FAILED) return -CIO_ENOMEM;
    struct io_uring_buf_ring *br = ring;
    io_uring_buf_ring_init(br);
    int mask = io_uring_buf_ring_mask(p->count);
    for (uint32_t i = 0; i < p->count; i++)
        io_uring_buf_ring_add(br, cio__bufpool_at(p, i), p->size, (unsigned short)i, mask, (int)i);
    io_uring_buf_ring_advance(br, (int)p->count);
    int r = -EEXIST;
    for (int tries = 0; tries < 1024 && r == -EEXIST; tries++) {
        struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)ring, .ring_entries = p->count,
                                       .bgid = atomic_fetch_add(&next_bgid, 1)};
        r = io_uring_register_buf_ring(&u->ring, &reg, 0);
        p->bgid = reg.bgid;
    }
    if (r < 0) {
        munmap(ring, bytes);
        return r;
    }
    p->ring = ring;
    p->ring_bytes = bytes;
    p->kernel_mshot = u->recv_mshot;
    return 0;
}

void cio__uring_pool_unregister(cio_loop *loop, cio_bufpool *p) {
    if (!p->ring) return;
    /* In a child after fork() the ring is the parent's: only let go. */
    if (!cio__core(loop)->inherited) io_uring_unregister_buf_ring(&state(loop)->ring, p->bgid);
    munmap(p->ring, p->ring_bytes);
    p->ring = NULL;
}

void cio__uring_pool_put(cio_bufpool *p, uint32_t id) {
    struct io_uring_buf_ring *br = p->ring;
    io_uring_buf_ring_add(br, cio__bufpool_at(p, id), p->size, (unsigned short)id, io_uring_buf_ring_mask(p->count), 0);
    io_uring_buf_ring_advance(br, 1);
}

/* ---- registered buffers (cio/fixed.h, src/core/fixed_buf.c) ---- */

int cio__uring_buffers_register(cio_loop *loop, const cio_iovec *bufs, unsigned n) {
    return io_uring_register_buffers(&state(loop)->ring, bufs, n);
}

void cio__uring_buffers_unregister(cio_loop *loop) {
    if (!cio__core(loop)->inherited) io_uring_unregister_buffers(&state(loop)->ring);
}

/* ---- registered files (cio/fixed.h, src/core/fixed_file.c) ---- */

/* A table of `count` empty slots. Only where every op on a slot can keep
 * cio's promises: the close of a fixed handle first cancels the ops on it
 * by slot (IORING_ASYNC_CANCEL_FD_FIXED, Linux 6.0), as they hold the file
 * and would wait on; and every opcode that takes the flag is the kernel's
 * own (an accelerated one runs as its base otherwise, also the kernel's). The
 * raw call, not liburing's, which raises the process's RLIMIT_NOFILE on
 * -EMFILE behind the program's back. */
int cio__uring_files_register(cio_loop *loop, uint32_t count) {
    uring *u = state(loop);
    if (!u->cancel_fixed) return 0;
    for (int opc = 1; opc < CIO_OP_COUNT_; opc++)
        if (cio__opdefs[opc].fixed && !cio__opdefs[opc].base && !(u->probed & OPBIT(opc))) return 0;
    u->fxc = calloc(count, sizeof *u->fxc);
    if (!u->fxc) return -CIO_ENOMEM;
    struct io_uring_rsrc_register reg = {.nr = count, .flags = IORING_RSRC_REGISTER_SPARSE};
    int r = io_uring_register(u->ring.ring_fd, IORING_REGISTER_FILES2, &reg, sizeof reg);
    if (r < 0) {
        free(u->fxc);
        u->fxc = NULL;
        /* Refused (over RLIMIT_NOFILE: -EMFILE; the memory it charges):
         * the fixed handles are descriptors then, as elsewhere. */
        return r == -ENOMEM ? -CIO_ENOMEM : 0;
    }
    u->fx_count = count;
    u->fx_flag = CIO_F_FIXED_FILE;
    return 1;
}

int cio__uring_file_install(cio_loop *loop, uint32_t slot, int fd) {
    int r = io_uring_register_files_update(&state(loop)->ring, slot, &fd, 1);
    return r == 1 ? 0 : r < 0 ? r : -CIO_EIO;
}

/* ---- setup and teardown ---- */

/* Whether the running kernel is at least `major`.`minor`: for what no
 * probe shows (a flag of an op the kernel has). */
static bool kernel_at_least(int major, int minor) {
    struct utsname un;
    int a = 0, b = 0;
    if (uname(&un) < 0 || sscanf(un.release, "%d.%d", &a, &b) != 2) return false;
    return a > major || (a == major && b >= minor);
}

static void apply_disable_env(uring *u) {
    const char *env = getenv("CIO_URING_DISABLE");
    if (!env) return;
    char buf[256];
    strncpy(buf, env, sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (strcmp(tok, "recv_multishot") == 0) u->recv_mshot = false; /* as before Linux 6.0 */
        if (strcmp(tok, "links") == 0) u->chain = UINT64_MAX; /* chains by the core (see uring_init) */
        /* "send_zc": no zero copy at all, as before Linux 6.0 */
        if (strcmp(tok, "send_zc") == 0) u->native &= ~(OPBIT(CIO_OP_SEND_ZC) | OPBIT(CIO_OP_SENDMSG_ZC));
        for (int opc = 1; opc < CIO_OP_COUNT_; opc++)
            if (((core_can_run | accel_ops) & (OPBIT(opc))) && strcmp(tok, cio_op_name(opc)) == 0)
                u->native &= ~(OPBIT(opc));
    }
}

static int probe(uring *u) {
    struct io_uring_probe *p = io_uring_get_probe_ring(&u->ring);
    if (!p) return -CIO_ENOTSUP;
    u->native = 0;
    for (int opc = 1; opc < CIO_OP_COUNT_; opc++)
        if (reaches_backend(opc) && !(pool_only & OPBIT(opc)) && io_uring_opcode_supported(p, kernel_opcode[opc]))
            u->native |= OPBIT(opc);
    /* What the core itself needs: cancel, link timeouts for deadlines, and
     * IORING_OP_SOCKET as the mark of a 5.19 kernel (multishot accept,
     * CANCEL_ANY). */
    /* IORING_RECV_MULTISHOT came with Linux 6.0, as SEND_ZC did. */
    u->recv_mshot = io_uring_opcode_supported(p, IORING_OP_SEND_ZC);
    u->cancel_fixed = u->recv_mshot; /* IORING_ASYNC_CANCEL_FD_FIXED came with it */
    bool usable = io_uring_opcode_supported(p, IORING_OP_ASYNC_CANCEL) &&
                  io_uring_opcode_supported(p, IORING_OP_LINK_TIMEOUT) &&
                  io_uring_opcode_supported(p, IORING_OP_SOCKET);
    io_uring_free_probe(p);
    for (int opc = 1; opc < CIO_OP_COUNT_; opc++)
        if (reaches_backend(opc) && !(u->native & (OPBIT(opc))) && !((core_can_run | accel_ops) & (OPBIT(opc))))
            usable = false;
    return usable ? 0 : -CIO_ENOTSUP;
}

static int uring_init(cio_loop *loop, const cio_loop_options *opts) {
    uring *u = state(loop);
    memset(u, 0, sizeof *u);
    u->wake_fd[0] = u->wake_fd[1] = u->notify_fd = -1;
    unsigned entries = opts && opts->entries ? opts->entries : 256;
    if (entries < 2) entries = 2; /* an op with a deadline takes two SQEs at once */
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
    u->probed = u->native;
    apply_disable_env(u);
    cio__core(loop)->accel = u->native & accel_ops;
    atomic_store_explicit(&zc_report, kernel_at_least(6, 2), memory_order_relaxed);
    u->plain = u->native & ~(OPBIT(CIO_OP_POST) | OPBIT(CIO_OP_CLOSE) | OPBIT(CIO_OP_SPLICE) | OPBIT(CIO_OP_POLL) |
                             OPBIT(CIO_OP_OPENAT) | OPBIT(CIO_OP_RECV_POOL));
    u->fast = u->plain;
    u->chain = u->chain == UINT64_MAX ? 0 : (u->plain & chain_ops); /* UINT64_MAX: "links" disabled */
    /* The fast path finds these handles at op->args.rw.fd. */
    for (int opc = 1; opc < CIO_OP_COUNT_; opc++)
        if (cio__opdefs[opc].file == 1) u->fd_first |= OPBIT(opc); /* stored 1 + offset: offset 0 */
    u->enter_fd = u->ring.ring_fd;
    /* A pipe, not an eventfd: the kernel defers the signal of the
     * cio_loop_fd() eventfd when a completion is set off from inside an
     * eventfd write, and Linux 6.18 delivers only the first such deferred
     * signal of a ring (the bit that gates them is never cleared): an
     * outside poller would miss every wake after the first. */
    if (pipe2(u->wake_fd, O_CLOEXEC | O_NONBLOCK) < 0) {
        r = -errno;
        goto fail;
    }
    /* Counts for every handle the process may open now; a handle beyond
     * (the limit was raised later) grows the table when it first appears. */
    struct rlimit rl;
    rlim_t n = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    u->fdc_cap = n < 64 ? 64 : n > (1u << 20) ? (1u << 20) : (uint32_t)n;
    u->fdc = calloc(u->fdc_cap, sizeof *u->fdc);
    if (!u->fdc) {
        r = -CIO_ENOMEM;
        goto fail;
    }
    arm_wake(loop, u);
    return 0;
fail:
    if (u->wake_fd[0] >= 0) {
        close(u->wake_fd[0]);
        close(u->wake_fd[1]);
    }
    io_uring_queue_exit(&u->ring);
    return r;
}

static void uring_close(cio_loop *loop) {
    uring *u = state(loop);
    /* The wake read points into this loop's memory: see it completed
     * before the ring goes (cancel_all reached it). A child's copy of the
     * loop (fork) must not enter the parent's ring: it only lets go. */
    bool inherited = cio__core(loop)->inherited;
    for (int i = 0; i < 100 && u->wake_armed && !inherited; i++) {
        if (i % 10 == 9) uring_cancel_all(loop);
        if (uring_wait(loop, 10 * 1000 * 1000) < 0) break;
    }
    if (!inherited) {
        /* The registered files go now, not whenever the kernel frees the
         * ring: a peer sees the end of its stream as cio_loop_close()
         * returns. And the registered ring fd is this thread's reference
         * to the ring: without letting it go the ring (and its files)
         * would live until the thread exits. */
        if (u->fx_count) io_uring_unregister_files(&u->ring);
        if (u->enter_flags & IORING_ENTER_REGISTERED_RING) {
            struct io_uring_rsrc_update up = {.offset = (unsigned)u->enter_fd};
            io_uring_register(u->ring.ring_fd, IORING_UNREGISTER_RING_FDS, &up, 1);
        }
    }
    io_uring_queue_exit(&u->ring);
    close(u->wake_fd[0]);
    close(u->wake_fd[1]);
    if (u->notify_fd >= 0) close(u->notify_fd);
    free(u->fdc);
    u->fdc = NULL;
    free(u->fxc); /* the registered files went with the ring */
    u->fxc = NULL;
}

const struct cio_backend cio__backend_uring = {
    .name = "io_uring",
    .kind = CIO_BACKEND_URING,
    .features = CIO_BE_KERNEL_DEADLINES,
    .init = uring_init,
    .close = uring_close,
    .submit = uring_submit,
    .submit_chain = uring_submit_chain,
    .cancel = uring_cancel,
    .cancel_all = uring_cancel_all,
    .wait = uring_wait,
    .wake = uring_wake,
    .pollable_fd = uring_pollable_fd,
    .run_end = uring_run_end,
};
