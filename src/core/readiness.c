/*
 * src/core/readiness.c - completion emulated on readiness (see
 * readiness.h). POSIX only: it must build on the BSDs and macOS as is.
 */
#include "readiness.h"
#include "bufpool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MSG_DONTWAIT
#define MSG_DONTWAIT 0 /* the handle is made non-blocking instead */
#endif

/* How many ops of one handle's FIFO run per event, so that a handle that is
 * always ready cannot starve the others. */
#define RD_BUDGET 16

/* internal_.bflags */
#define RD_CONNECTING 1u /* a non-blocking connect is under way */
#define RD_WAITALL 2u    /* MSG_WAITALL on a stream: op->res counts the bytes done so far */
#define RD_DUE 4u        /* a multishot poll the event being dispatched has yet to report to */

/* cio_rd_handle.kind: what cio learnt of a handle the first time it read or
 * wrote on it, so that later reads and writes make no other system call
 * than their own. Forgotten when cio closes the handle. A handle closed
 * behind cio's back and its number reused can make it stale, so each kind
 * is used only in a way that a stale kind cannot turn into a call that
 * blocks the loop or moves bytes of the wrong file (see rw_try). */
enum {
    RD_K_UNKNOWN = 0,
    RD_K_NONE,     /* no readiness (block device, directory; a regular file elsewhere than
                      Linux): the pool's; never kept past the op that learnt it (see
                      cio__rd_submit) */
    RD_K_NOWAIT,   /* Linux: each call asks RWF_NOWAIT; the handle's flags stay the owner's */
    RD_K_NONBLOCK, /* cio made it O_NONBLOCK: elsewhere, or a handle refusing RWF_NOWAIT */
    RD_K_FILE,     /* Linux: a regular file; reads are tried with RWF_NOWAIT on the loop's
                      thread first (file_read), the rest goes to the pool */
    RD_K_POOLFILE, /* a regular file whose reads all go to the pool: opened O_DIRECT (an
                      RWF_NOWAIT read would wait for the disk), or refusing RWF_NOWAIT */
};

/* cio_rd_handle.quiet: what a try in the handle's dispatch found (see
 * skip_try), forgotten when the dispatch ends; and whether it is a stream
 * socket, learnt once, forgotten with the handle. */
#define RD_QUIET_IN (1u << RD_Q_IN)   /* nothing to receive */
#define RD_QUIET_OUT (1u << RD_Q_OUT) /* no room to send */
#define RD_TYPE_KNOWN 4u
#define RD_TYPE_STREAM 8u
#define RD_FULL_IN 0x20u /* a stream's receive of this dispatch filled its buffer */

/* How many receives after full ones park untried once such a try found
 * nothing, before one is tried again to see whether that still holds. */
#define RD_FULL_SKIPS 15u
/* How many rounds of its own finished ops a dispatch runs (run_finished). */
#define RD_FINISHED_ROUNDS 4

/* What poll(2) and io_uring report for a handle with no readiness of its own. */
#define RD_ALWAYS_READY (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

/* ---- which FIFO an op waits in (its handle: cio__op_file) ---- */

/* The FIFO an op parks in, or -1 for ops that have no readiness. */
static inline int op_queue(const cio_op *op) { return (int)cio__opdef(op)->dir - 1; }

/* ---- handle table ---- */

static cio_rd_handle *handle(cio_rd *rd, int fd) {
    if ((unsigned)fd < rd->nhandles) return &rd->handles[fd];
    /* Only when the descriptor limit was raised after the loop started. */
    unsigned n = rd->nhandles;
    while (n <= (unsigned)fd) n *= 2;
    cio_rd_handle *grown = realloc(rd->handles, n * sizeof *grown);
    if (!grown) return NULL;
    memset(grown + rd->nhandles, 0, (n - rd->nhandles) * sizeof *grown);
    rd->handles = grown;
    rd->nhandles = n;
    return &rd->handles[fd];
}

/* io_uring's poll always watches for the peer's shutdown of its side (the
 * kernel's IO_POLL_UNMASK) and reports it, asked or not; so do the
 * readiness backends, on Linux, the one system with POLLRDHUP. */
#if defined(__linux__)
#define RD_ALWAYS_REPORTED CIO_POLLRDHUP
#else
#define RD_ALWAYS_REPORTED 0u
#endif

/* What rearm() keeps watching when nothing waits for it any more: a read
 * watch, since the next receive is usually posted before the next byte
 * comes (a reply's, a task's next cio_recv), and dropping the watch now to
 * add it back then costs two calls (epoll_ctl). Writes are ready nearly
 * always, and a watch for them would report at once. */
#define RD_LAZY (POLLIN | RD_ALWAYS_REPORTED)

/* The events `h` needs reported now, from what is parked in it. A parked
 * read watches for RDHUP too: see receive_shut(). */
static uint32_t wanted(const cio_rd_handle *h) {
    uint32_t ev = (opq_empty(&h->q[RD_Q_IN]) ? 0 : POLLIN | RD_ALWAYS_REPORTED) |
                  (opq_empty(&h->q[RD_Q_OUT]) ? 0 : POLLOUT);
    bool edge = !ev && !opq_empty(&h->q[RD_Q_POLL]);
    for (const cio_op *p = h->q[RD_Q_POLL].head; p; p = OPQ_NEXT(p)) {
        ev |= p->args.poll.events | RD_ALWAYS_REPORTED;
        if (!(p->flags & CIO_F_MULTISHOT)) edge = false;
    }
    ev &= POLLIN | POLLOUT | POLLPRI | CIO_POLLRDHUP;
    return ev && edge ? ev | CIO_RD_EDGE : ev;
}

/* The result of a parked op that is ended early with `res`: a MSG_WAITALL
 * transfer that has moved bytes reports them (they are in the buffer), as
 * io_uring does when such a request is cancelled. */
static int32_t early_result(const cio_op *op, int32_t res) {
    return ((op->internal_.bflags & RD_WAITALL) && op->res > 0) ? op->res : res;
}

/* The result of a parked op ended at once, for the cause `res` that
 * end_parked passes on. */
typedef int32_t end_fn(cio_rd_handle *h, cio_op *op, int32_t res);

/* Takes every op out of `h`'s FIFOs `first` to `last`, each before any
 * callback can run, and queues its completion with what `end` says. */
static void end_parked(cio_loop *loop, cio_rd_handle *h, int first, int last, end_fn *end, int32_t res) {
    for (int q = first; q <= last; q++) {
        cio_op *op;
        while ((op = opq_pop(&h->q[q]))) cio__ready(loop, op, end(h, op, res));
    }
}

/* The handle cannot be watched, is being closed, or the loop is. */
static int32_t end_failed(cio_rd_handle *h, cio_op *op, int32_t res) {
    (void)h;
    if (res == -CIO_ECANCELED) op->internal_.iflags |= IF_CANCELLED;
    return early_result(op, res);
}

/* Ends every op parked on `h` with `res`. */
static void fail_parked(cio_loop *loop, cio_rd_handle *h, int32_t res) {
    end_parked(loop, h, RD_Q_IN, RD_Q_POLL, end_failed, res);
}

/* A poll on a handle with no readiness (a regular file, a directory,
 * /dev/null): it is always ready, so the poll completes now with what
 * poll(2) would say, or -CIO_EINVAL when it asks for nothing such a handle
 * has. That is io_uring's answer too, a multishot poll included: no later
 * edge will ever come, so its one completion is final. */
static int32_t end_always_ready(cio_rd_handle *h, cio_op *op, int32_t res) {
    (void)h, (void)res;
    uint32_t hit = op->args.poll.events & RD_ALWAYS_READY;
    return hit ? (int32_t)hit : -CIO_EINVAL;
}

static int32_t attempt(cio_rd_handle *h, cio_op *op);

/* A read or write parked on a handle the multiplexer then refused as having
 * no readiness: it was tried while the number named a pipe or socket,
 * closed behind cio's back since and reused for a file. A file with no
 * readiness never blocks for long: try it again now (h->kind was reset, so
 * that the handle is looked at again). */
static int32_t end_retried(cio_rd_handle *h, cio_op *op, int32_t res) {
    int32_t r = attempt(h, op);
    return early_result(op, r == -CIO_EAGAIN ? res : r);
}

/* Brings the multiplexer's watch of `h` up to date. A watch for levels
 * stays armed across ops; one nobody needs now is kept if it only reads
 * (RD_LAZY), unless `stray`: the handle has just reported what nothing
 * waited for, and would report it again on every wait. `joined`: a
 * multishot poll has just joined (an edge-triggered watch must be renewed,
 * so that it hears the handle's current state, as io_uring's poll does at
 * arming). `verify`: while something waits, ask the multiplexer even if
 * the watch stays as it is (see below); rearm() does. */
static void settle(cio_loop *loop, int fd, cio_rd_handle *h, bool stray, bool joined, bool verify) {
    cio_rd *rd = cio__rd(loop);
    uint32_t need = wanted(h), ev = need;
    if (!stray && !((ev | h->want) & CIO_RD_EDGE) && !(ev & ~h->want) && !(h->want & ~ev & ~RD_LAZY))
        ev = h->want;
    /* An unchanged watch needs no call; but while something waits, the
     * multiplexer is asked anyway: epoll checks that its registration is
     * still the handle's (a number closed behind cio's back and reused). */
    if (ev == h->want && !(joined && ev) && !(need && verify)) return;
    int r = rd->mux->arm(loop, fd, h, ev, joined);
    if (r == 0) return;
    if (r == -CIO_EPERM) {
        end_parked(loop, h, RD_Q_POLL, RD_Q_POLL, end_always_ready, 0);
        h->kind = RD_K_UNKNOWN;
        end_parked(loop, h, RD_Q_IN, RD_Q_OUT, end_retried, r);
    }
    /* The handle cannot be watched (closed behind cio's back, say): fail
     * what waits on it rather than leave it waiting forever. */
    fail_parked(loop, h, r);
    h->want = 0;
}

static void rearm(cio_loop *loop, int fd, cio_rd_handle *h, bool stray, bool joined) {
    settle(loop, fd, h, stray, joined, true);
}

/* ---- trying an op without blocking ---- */

static int32_t result(ssize_t r) { return r < 0 ? -errno : (int32_t)r; }

static int set_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    return 0;
}

#if CIO_LINUX && defined(RWF_NOWAIT)
#define RD_HAVE_NOWAIT 1
/* The kernel refused RWF_NOWAIT reads of regular files (ENOSYS: no
 * preadv2, before Linux 4.6): a property of the kernel, so of the process. */
static atomic_bool nowait_files_refused;
/* One try with RWF_NOWAIT: "do not block" for this call alone, so that the
 * handle's O_NONBLOCK, which it shares with every process that has it open
 * (an inherited stdin), stays as its owner set it. An offset on a handle
 * that has none is ignored, as in sync_ops.c. Sets errno to EOPNOTSUPP
 * where the file cannot honour the flag (a tty; a pipe before Linux 6.4). */
static ssize_t nowait_rw(int fd, bool rd, const struct iovec *iov, int cnt, uint64_t offset) {
    off_t at = offset == CIO_OFFSET_CURRENT ? -1 : (off_t)offset;
    ssize_t r = rd ? preadv2(fd, iov, cnt, at, RWF_NOWAIT) : pwritev2(fd, iov, cnt, at, RWF_NOWAIT);
    if (r >= 0 || errno != ESPIPE || at == -1) return r;
    return rd ? preadv2(fd, iov, cnt, -1, RWF_NOWAIT) : pwritev2(fd, iov, cnt, -1, RWF_NOWAIT);
}
#else
#define RD_HAVE_NOWAIT 0
#endif

/* The kind of a regular file `fd`: on Linux its reads are tried on the
 * loop's thread with RWF_NOWAIT, unless it is open O_DIRECT, whose reads
 * with RWF_NOWAIT still wait for the disk (the flag only keeps them from
 * waiting for locks), or the kernel refused the flag for every file. */
static uint8_t file_kind(int fd) {
#if RD_HAVE_NOWAIT
    if (atomic_load_explicit(&nowait_files_refused, memory_order_relaxed)) return RD_K_POOLFILE;
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && !(fl & O_DIRECT) ? RD_K_FILE : RD_K_POOLFILE;
#else
    (void)fd;
    return RD_K_NONE;
#endif
}

/* Looks at `fd` and sets h->kind: files with no readiness (regular files,
 * block devices, directories) belong on the pool, since poll says "ready"
 * and the call blocks anyway, except the reads of a regular file that the
 * page cache can answer (file_kind); the rest are tried with RWF_NOWAIT
 * where the system has it and the file has not refused it
 * (`nowait_refused`), else made non-blocking, which cio, like libuv, leaves
 * them. */
static int learn(cio_rd_handle *h, int fd, bool nowait_refused) {
    struct stat st;
    h->kind = RD_K_UNKNOWN;
    if (fstat(fd, &st) < 0) return -errno;
    if (S_ISREG(st.st_mode)) {
        h->kind = file_kind(fd);
        return 0;
    }
    if (S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode)) {
        h->kind = RD_K_NONE;
        return 0;
    }
    if (RD_HAVE_NOWAIT && !nowait_refused) {
        h->kind = RD_K_NOWAIT;
        return 0;
    }
    int r = set_nonblocking(fd);
    if (r == 0) h->kind = RD_K_NONBLOCK;
    return r;
}

/* One non-blocking try of a read or write of `iov` on `h`'s handle.
 *
 * The kind may be stale: the handle closed behind cio's back and its number
 * reused. So each way of trying checks what a stale kind would get wrong,
 * and on an unexpected answer the handle is looked at again:
 * - RWF_NOWAIT never blocks, whatever the file, and passes the offset, so
 *   a file now under the number still reads at the op's offset; a file
 *   that refuses the flag says EOPNOTSUPP and is looked at again. (A file
 *   with no readiness that says EAGAIN is found out when the multiplexer
 *   refuses it or reports it ready while it says EAGAIN: see
 *   end_retried and run_queue.)
 * - O_NONBLOCK is checked on every call (one fcntl): a handle that lacks it
 *   now, whoever cleared it, is looked at again rather than block the loop.
 * - A kind learnt here as "no readiness" can only be a file that replaced
 *   a pipe or socket under the number: its call cannot block for long, so
 *   it runs now rather than go back to the pool. */
static int32_t rw_try(cio_rd_handle *h, cio_op *op, bool rd, const struct iovec *iov, int cnt, uint64_t offset) {
    int fd = cio__op_file(op);
    bool refused = false;
#if !RD_HAVE_NOWAIT
    (void)rd, (void)iov, (void)cnt, (void)offset;
#endif
    for (int tries = 0; tries < 4; tries++) {
        switch (h->kind) {
#if RD_HAVE_NOWAIT
        case RD_K_NOWAIT: {
            ssize_t r = nowait_rw(fd, rd, iov, cnt, offset);
            if (r >= 0 || errno != EOPNOTSUPP) return result(r);
            refused = true;
            break;
        }
#endif
        case RD_K_NONBLOCK: {
            int fl = fcntl(fd, F_GETFL);
            if (fl < 0) return -errno;
            if (fl & O_NONBLOCK) return cio__sync_exec(op);
            break;
        }
        case RD_K_NONE:
        case RD_K_FILE:
        case RD_K_POOLFILE:
            return cio__sync_exec(op);
        default:
            break;
        }
        int r = learn(h, fd, refused);
        if (r < 0) return r;
    }
    return -CIO_EAGAIN; /* the flags keep changing under cio: wait for readiness, then try again */
}

/* The outcome of a non-blocking connect once the socket is writable. The
 * pending error says whether it failed; a second connect() then moves the
 * socket to "connected" as io_uring's connect does (0, or EISCONN where the
 * kernel already did), so that a later connect sees EISCONN on both. */
static int32_t connect_result(const cio_op *op) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(op->args.addr.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
    if (err) return -err;
    if (connect(op->args.addr.fd, op->args.addr.addr, op->args.addr.addrlen) == 0 || errno == EISCONN) return 0;
    return (errno == EALREADY || errno == EINPROGRESS) ? -CIO_EAGAIN : -errno;
}

/* The caller itself asked for a non-blocking send or receive: -EAGAIN is
 * then its answer, as on io_uring, not a reason to wait. */
static inline bool wants_eagain(const cio_op *op) { return cio__op_msg_flags(op) & MSG_DONTWAIT; }

/* Whether MSG_WAITALL asks this op to go on until its whole length has
 * moved. Not with MSG_DONTWAIT (the caller wants no waiting) nor MSG_PEEK
 * (the same bytes would be counted again), nor for a zero length. */
static bool waitall(const cio_op *op) {
    int fl = cio__op_msg_flags(op);
    if (!(fl & MSG_WAITALL) || (fl & (MSG_DONTWAIT | MSG_PEEK))) return false;
    unsigned len = cio__opdef(op)->len;
    return !len || CIO_ARG(uint32_t, op, len) != 0;
}

static size_t msg_len(const cio_msghdr *m) {
    size_t n = 0;
    for (size_t i = 0; i < (size_t)m->msg_iovlen; i++) n += m->msg_iov[i].iov_len;
    return n;
}

/* recvmsg/sendmsg of what is left after `done` bytes. The caller's msghdr
 * and iovecs are the runtime's until the op completes (op.h's buffer rule),
 * so they are narrowed in place for this call and restored at once. The
 * peer address and control data belong to the first part: a later part
 * neither sends them again nor overwrites what the first one received. */
static ssize_t msg_rest(cio_op *op, uint32_t done) {
    cio_msghdr *m = op->args.msg.msg;
    bool rx = cio__opdef(op)->dir == OPD_DIR_IN;
    int fl = op->args.msg.flags | MSG_DONTWAIT | (rx ? 0 : CIO_MSG_NOSIGNAL);
    if (!done) return rx ? recvmsg(op->args.msg.fd, m, fl) : sendmsg(op->args.msg.fd, m, fl);
    cio_msghdr whole = *m;
    size_t i = 0, skip = done;
    while (i < (size_t)m->msg_iovlen && skip >= m->msg_iov[i].iov_len) skip -= m->msg_iov[i++].iov_len;
    if (i == (size_t)m->msg_iovlen) return 0; /* nothing left: cannot happen, done < length */
    struct iovec first = m->msg_iov[i];
    m->msg_iov[i].iov_base = (char *)first.iov_base + skip;
    m->msg_iov[i].iov_len = first.iov_len - skip;
    m->msg_iov += i;
    m->msg_iovlen -= i;
    m->msg_name = NULL;
    m->msg_namelen = 0;
    m->msg_control = NULL;
    m->msg_controllen = 0;
    ssize_t r = rx ? recvmsg(op->args.msg.fd, m, fl) : sendmsg(op->args.msg.fd, m, fl);
    int more_flags = rx && r >= 0 ? m->msg_flags : 0;
    whole.msg_iov[i] = first;
    *m = whole;
    m->msg_flags |= more_flags;
    return r;
}

/* The next step of a MSG_WAITALL transfer that has done op->res bytes, now
 * that one call returned `r`: io_uring's rule, go on until the whole length,
 * end of file or an error, and report the total (an error or end of file
 * after some bytes reports the bytes). Only streams go on; a datagram is
 * one message however short. */
static int32_t waitall_step(cio_op *op, int32_t r) {
    int32_t done = op->res;
    if (r == -CIO_EAGAIN) return r;
    if (r <= 0) return done > 0 ? done : r;
    unsigned at = cio__opdef(op)->len; /* send and recv have one; sendmsg and recvmsg, their iovecs */
    size_t want = at ? CIO_ARG(uint32_t, op, at) : msg_len(op->args.msg.msg);
    if ((size_t)done + (size_t)r >= want || (size_t)done + (size_t)r >= INT32_MAX) return done + r;
    if (!done) {
        int type = 0;
        socklen_t len = sizeof type;
        int fd = cio__op_file(op);
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
            (type != SOCK_STREAM && type != SOCK_SEQPACKET)) {
            op->internal_.bflags &= (uint16_t)~RD_WAITALL;
            return r;
        }
    }
    op->res = done + r;
    return -CIO_EAGAIN;
}

/* Where a send or recv that has moved `done` bytes goes on. Only a
 * transfer under way moves the pointer: a zero-length one may have none. */
static char *sr_rest(const cio_op *op, uint32_t done) {
    return done ? (char *)op->args.sr.buf + done : op->args.sr.buf;
}

/* A handle an accept has just made: its number was free, so what the layer
 * knew under it was of a file closed behind cio's back (allowed while no
 * op waits on it). Forgotten as a close through cio would, so that the new
 * handle's watch is made anew (epoll.c: what is trusted). */
static void forget_past(cio_loop *loop, int fd) {
    cio_rd *rd = cio__rd(loop);
    if (fd > rd->max_fd_used || (unsigned)fd >= rd->nhandles) return;
    cio_rd_handle *h = &rd->handles[fd];
    if (!(h->want | h->registered | h->slot | h->kind | h->quiet | h->full_skips)) return;
    rd->mux->forget(loop, fd, h);
    h->want = 0;
    h->kind = RD_K_UNKNOWN;
    h->quiet = 0;
    h->full_skips = 0;
}

/* Notes what a try that returned `r` of the `asked` bytes says of the next
 * one (see skip_try): nothing to receive after EAGAIN, or after a stream's
 * receive that got less than it asked (it emptied the socket's queue); no
 * room to send after EAGAIN or a short send. A short receive says "empty"
 * wrongly only where a stream stops early with more queued (TCP's urgent
 * mark; a Unix socket's bytes from another writer or with handles): then
 * the next receive waits for the watch's report, which comes at once. */
static void note_quiet(cio_rd_handle *h, const cio_op *op, int32_t r, size_t asked) {
    bool rx = cio__opdef(op)->dir == OPD_DIR_IN;
    if (r == -CIO_EAGAIN) {
        h->quiet |= rx ? RD_QUIET_IN : RD_QUIET_OUT;
        return;
    }
    if (r <= 0) return;
    if (!rx) {
        if ((size_t)r < asked) h->quiet |= RD_QUIET_OUT;
        return;
    }
    if (cio__op_msg_flags(op) & (MSG_PEEK | MSG_OOB)) return; /* what was seen is still queued */
    if (!(h->quiet & RD_TYPE_KNOWN)) {
        /* A datagram socket's receive is one message, however short. */
        int type = 0;
        socklen_t len = sizeof type;
        if (getsockopt(cio__op_file(op), SOL_SOCKET, SO_TYPE, &type, &len) < 0) return;
        h->quiet |= RD_TYPE_KNOWN | (type == SOCK_STREAM ? RD_TYPE_STREAM : 0);
    }
    if (h->quiet & RD_TYPE_STREAM) h->quiet |= (size_t)r < asked ? RD_QUIET_IN : RD_FULL_IN;
}

/* Whether `op`, submitted on `fd` to go to the FIFO `q`, is the op that the
 * handle's dispatch under way has just completed there, posted again from
 * its callback (an echo's next receive): the handle then still names the
 * file whose registration has just reported, unless that callback closed
 * it behind cio's back and got the number again for another file (see
 * epoll.c: what is trusted), so its watch needs no renewal. */
static bool trusted_park(const cio_rd *rd, int fd, const cio_op *op, int q) {
    return fd == rd->disp_fd && q < RD_Q_POLL && op == rd->disp_done[q];
}

/* Whether the first try of `op` (trusted_park) is known, or likely, to
 * fail. Known: a try of the dispatch under way found nothing to receive
 * (or no room to send). Likely: a stream's receive of this dispatch
 * filled its buffer, and on this handle the last receive tried right
 * after a full one found nothing (learn_full): a peer whose messages are
 * the size of the buffer (a 4 KiB echo), where a try costs a recv that
 * says EAGAIN per message. A bulk stream, whose next receive finds more,
 * is tried again after RD_FULL_SKIPS skips and then keeps trying. The op
 * parks untried: the watch is armed for levels, so it reports the handle
 * as soon as it is ready; a wrong guess costs a wait, never a wake-up.
 * Only for a trusted park: a try on another file could have failed at
 * once (a receive on a pipe). Not for an op whose caller wants its
 * EAGAIN. */
static bool skip_try(cio_rd_handle *h, const cio_op *op, int q) {
    if (wants_eagain(op)) return false;
    if (h->quiet & (1u << q)) return true;
    if (q != RD_Q_IN || !(h->quiet & RD_FULL_IN) || !h->full_skips) return false;
    h->full_skips--;
    return true;
}

/* What a receive tried right after a full one found (see skip_try). */
static void learn_full(cio_rd_handle *h, int32_t res) {
    h->full_skips = res == -CIO_EAGAIN ? RD_FULL_SKIPS : 0;
}

/* ---- receives into a buffer pool (cio/bufpool.h) ---- */

/* One try of a recv_pool: a free buffer is taken for the receive and goes
 * back at once if the receive moves nothing, so a waiting op holds none.
 * A dry pool ends the op (-CIO_ENOBUFS) only once something came, as
 * io_uring's buffer rings do; what came stays in the socket. What the try
 * found is noted as a plain recv's (note_quiet): a receive that drained
 * the socket lets the next one skip its try (a multishot op in run_queue,
 * a single one posted again from its callback: skip_try). */
static int32_t recv_pool_try(cio_rd_handle *h, cio_op *op) {
    cio_bufpool *p = op->args.recv_pool.pool;
    int fd = op->args.recv_pool.fd;
    uint32_t id;
    if (!cio__bufpool_take(p, &id)) {
        char c;
        ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        return (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ? -CIO_EAGAIN : -CIO_ENOBUFS;
    }
    int32_t r = result(recv(fd, cio__bufpool_at(p, id), p->size, op->args.recv_pool.flags | MSG_DONTWAIT));
    if (r == -CIO_EAGAIN || r > 0) note_quiet(h, op, r, p->size);
    if (r <= 0) {
        cio__bufpool_untake(p, id);
        return r;
    }
    cio__bufpool_hand_out(p, op, id);
    return r;
}

/* One non-blocking attempt on the handle `h`; -CIO_EAGAIN means "park and
 * wait". */
static int32_t attempt(cio_rd_handle *h, cio_op *op) {
    /* Bytes a MSG_WAITALL transfer has done already (op->res: see cio__rd_submit). */
    uint32_t done = (op->internal_.bflags & RD_WAITALL) ? (uint32_t)op->res : 0;
    int32_t r;
    switch (op->opcode) {
    case CIO_OP_RECV:
        r = result(recv(op->args.sr.fd, sr_rest(op, done), op->args.sr.len - done, op->args.sr.flags | MSG_DONTWAIT));
        break;
    case CIO_OP_SEND:
        r = result(send(op->args.sr.fd, sr_rest(op, done), op->args.sr.len - done,
                        op->args.sr.flags | MSG_DONTWAIT | CIO_MSG_NOSIGNAL));
        break;
    case CIO_OP_RECVMSG:
    case CIO_OP_SENDMSG:
        r = result(msg_rest(op, done));
        break;
    case CIO_OP_CONNECT:
        if (op->internal_.bflags & RD_CONNECTING) return connect_result(op);
        if (connect(op->args.addr.fd, op->args.addr.addr, op->args.addr.addrlen) == 0) return 0;
        if (errno != EINPROGRESS) return -errno;
        op->internal_.bflags |= RD_CONNECTING;
        return -CIO_EAGAIN;
    case CIO_OP_READ:
    case CIO_OP_WRITE: {
        struct iovec one = {.iov_base = op->args.rw.buf, .iov_len = op->args.rw.len};
        r = rw_try(h, op, op->opcode == CIO_OP_READ, &one, 1, op->args.rw.offset);
        if (r == -CIO_EAGAIN) note_quiet(h, op, r, 0);
        return r;
    }
    case CIO_OP_READV:
    case CIO_OP_WRITEV:
        r = rw_try(h, op, op->opcode == CIO_OP_READV, op->args.rwv.iov, (int)op->args.rwv.iovcnt,
                   op->args.rwv.offset);
        if (r == -CIO_EAGAIN) note_quiet(h, op, r, 0);
        return r;
    case CIO_OP_RECV_POOL:
        return recv_pool_try(h, op);
    default: /* accept: the handle is non-blocking */
        r = cio__sync_exec(op);
        if (op->opcode == CIO_OP_ACCEPT && r >= 0) forget_past(op->internal_.loop, r);
        return r;
    }
    if (r < 0 ? r == -CIO_EAGAIN : r > 0) {
        size_t asked = op->opcode == CIO_OP_RECV || op->opcode == CIO_OP_SEND ? op->args.sr.len
                                                                               : msg_len(op->args.msg.msg);
        note_quiet(h, op, r, asked - done);
    }
    return (op->internal_.bflags & RD_WAITALL) ? waitall_step(op, r) : r;
}

/* ---- regular files ---- */

/* file_read's answer for "the pool's": not a result any op can have. */
#define RD_TO_POOL INT32_MIN

#if RD_HAVE_NOWAIT
/* A read of a regular file from the page cache, on the loop's thread:
 * preadv2(RWF_NOWAIT) answers at once with what the cache holds, or EAGAIN
 * where the disk would be needed. Returns the op's result, or RD_TO_POOL.
 *
 * A short answer is either the end of the file or a cached head and an
 * uncached rest: the call alone cannot tell (libuv's "psync" reads never
 * meet this; io_uring's NOWAIT attempt that comes back short is finished by
 * its worker, and the op reports the whole). cio reports a short read of a
 * regular file only at the end of the file, as a blocking read(2) does and
 * as readers expect (a short read meaning "end of file"): so a short
 * answer is checked against the size (fstat), and if the file goes on, the
 * whole read goes to the pool, which reads the cached head again (a copy,
 * far cheaper than the hop). A read at the file's position has moved it:
 * it is moved back first (another user of the same position meanwhile
 * sees it moved; concurrent reads at one position have no order anyway).
 * Every error goes to the pool too, whose answer is the blocking call's. */
static int32_t file_read(cio_rd_handle *h, int fd, cio_op *op) {
    struct iovec one;
    const struct iovec *iov = &one;
    int cnt = 1;
    uint64_t offset;
    size_t want = 0;
    if (op->opcode == CIO_OP_READ) {
        one.iov_base = op->args.rw.buf;
        one.iov_len = op->args.rw.len;
        offset = op->args.rw.offset;
        want = one.iov_len;
    } else {
        iov = op->args.rwv.iov;
        cnt = (int)op->args.rwv.iovcnt;
        offset = op->args.rwv.offset;
        for (int i = 0; i < cnt; i++) want += iov[i].iov_len;
    }
    bool at_pos = offset == CIO_OFFSET_CURRENT;
    ssize_t r = preadv2(fd, iov, cnt, at_pos ? -1 : (off_t)offset, RWF_NOWAIT);
    if (r < 0) {
        if (errno == EOPNOTSUPP) h->kind = RD_K_POOLFILE; /* its file system's answer */
        if (errno == ENOSYS) {
            atomic_store_explicit(&nowait_files_refused, true, memory_order_relaxed);
            h->kind = RD_K_POOLFILE;
        }
        return RD_TO_POOL;
    }
    if (r == 0 || (size_t)r >= want) return (int32_t)r; /* 0: at or past the end (else EAGAIN) */
    struct stat st;
    off_t end = (off_t)offset + r;
    if (at_pos && (end = lseek(fd, 0, SEEK_CUR)) < 0) return (int32_t)r;
    if (fstat(fd, &st) == 0 && end >= st.st_size) return (int32_t)r; /* the end of the file */
    if (at_pos && lseek(fd, end - r, SEEK_SET) < 0) return (int32_t)r;
    return RD_TO_POOL;
}
#endif

/* A read or write on a handle of a regular file (or one with no readiness,
 * RD_K_NONE). Returns 0 when the op is done (queued as ready), -CIO_ENOTSUP
 * for the pool, 1 when the number names something else now and the op
 * goes the way of pipes and sockets, or an error. */
static int file_op(cio_loop *loop, cio_rd_handle *h, int fd, cio_op *op) {
    if (h->kind == RD_K_NONE) {
        /* To the pool; and not kept: a pool trip costs far more than the
         * fstat, and a pipe or socket that took the number behind cio's
         * back must not go there, where its read would hold a thread until
         * bytes come. */
        h->kind = RD_K_UNKNOWN;
        return -CIO_ENOTSUP;
    }
#if RD_HAVE_NOWAIT
    if (h->kind == RD_K_FILE && cio__opdef(op)->dir == OPD_DIR_IN) {
        int32_t res = file_read(h, fd, op);
        if (res != RD_TO_POOL) {
            cio__ready(loop, op, res);
            return 0;
        }
    }
#else
    (void)loop, (void)op;
#endif
    /* The kind is kept, so it may be stale (see rw_try): to the pool only
     * what is still a regular file, for the reason above. */
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    if (S_ISREG(st.st_mode)) return -CIO_ENOTSUP;
    int r = learn(h, fd, false);
    if (r < 0) return r;
    return h->kind == RD_K_NONE ? file_op(loop, h, fd, op) : 1;
}

/* ---- the cio_backend interface ---- */

int cio__rd_submit(cio_loop *loop, cio_op *op) {
    cio_rd *rd = cio__rd(loop);
    if (op->opcode == CIO_OP_CLOSE) {
        /* Nothing can wait on a handle that is going away: cancel what is
         * parked and unregister it before the close runs. */
        int fd = op->args.close.fd;
        if (fd <= rd->max_fd_used && (unsigned)fd < rd->nhandles) {
            cio_rd_handle *h = &rd->handles[fd];
            fail_parked(loop, h, -CIO_ECANCELED);
            rd->mux->forget(loop, fd, h);
            h->want = 0;
            h->gen++;
            h->kind = RD_K_UNKNOWN;
            h->quiet = 0;
            h->full_skips = 0;
        }
        return -CIO_ENOTSUP; /* the core runs the close itself */
    }
    const cio_opdef *d = cio__opdef(op);
    int q = op_queue(op);
    if (q < 0) return -CIO_ENOTSUP;
    int fd = cio__op_file(op);
    /* A number past the table grows it: only for an open handle. */
    if ((unsigned)fd >= rd->nhandles && fcntl(fd, F_GETFD) < 0) return -errno;
    cio_rd_handle *h = handle(rd, fd);
    if (!h) return -CIO_ENOMEM;
    if (fd > rd->max_fd_used) rd->max_fd_used = fd;
    op->internal_.bflags = 0;
    /* A recv_pool submitted on a dry pool ends at once, as on io_uring;
     * else it goes the way of a recv (it has no MSG_* flags: opdef.c). */
    if (CIO_UNLIKELY(op->opcode == CIO_OP_RECV_POOL) && cio__bufpool_empty(op->args.recv_pool.pool))
        return -CIO_ENOBUFS;
    if (d->offset) {
        /* A read or write (the ops with a file offset): tried as the
         * handle's kind says. */
        if (CIO_UNLIKELY(h->kind == RD_K_UNKNOWN)) {
            int r = learn(h, fd, false);
            if (r < 0) return r;
        }
        if (h->kind == RD_K_NONE || h->kind >= RD_K_FILE) {
            int r = file_op(loop, h, fd, op);
            if (r <= 0) return r;
        }
    } else if (!d->msg_flags && q != RD_Q_POLL) {
        /* An accept or a connect: no call of theirs takes a "do not block"
         * of its own, unlike sends and receives (MSG_DONTWAIT). */
        int r = set_nonblocking(fd);
        if (r < 0) return r;
    }
    if (CIO_UNLIKELY(waitall(op))) {
        /* The running count lives in op->res: the op is the runtime's until
         * its completion sets res (op.h's buffer rule), and unlike the
         * private fields, nothing else uses res meanwhile (when, seq and u
         * are the timer heap's while the op has a deadline). */
        op->internal_.bflags |= RD_WAITALL;
        op->res = 0;
    }
    /* Try at once, unless ops already wait in this FIFO (they go first),
     * the op is a poll or a multishot accept, whose results the
     * multiplexer delivers, or the try is known to fail (skip_try). */
    bool trusted = CIO_UNLIKELY(fd == rd->disp_fd) && trusted_park(rd, fd, op, q);
    if (q != RD_Q_POLL && opq_empty(&h->q[q]) && !(op->flags & CIO_F_MULTISHOT) && !(trusted && skip_try(h, op, q))) {
        /* (A MSG_WAITALL receive says EAGAIN after taking bytes: no lesson.) */
        bool after_full = trusted && q == RD_Q_IN && (h->quiet & RD_FULL_IN) && !waitall(op);
        int32_t res = attempt(h, op);
        if (after_full) learn_full(h, res);
        if (res != -CIO_EAGAIN || wants_eagain(op)) {
            if (CIO_UNLIKELY(fd == rd->disp_fd))
                cio__ready_on(&rd->disp_finished, op, res); /* run_finished */
            else
                cio__ready(loop, op, res);
            return 0;
        }
    }
    opq_push(&h->q[q], op);
    if (trusted) h->quiet |= CIO_RD_TRUSTED;
    rearm(loop, fd, h, false, q == RD_Q_POLL && (op->flags & CIO_F_MULTISHOT));
    rd->handles[fd].quiet &= (uint8_t)~CIO_RD_TRUSTED;
    return 0;
}

/* Dispatch runs user callbacks, which may grow the handle table (a submit
 * on a higher fd moves it), close a handle through cio (its gen changes and
 * its ops end) or cancel any op. So nothing below holds a cio_rd_handle
 * pointer or a saved neighbour op across a callback: each step looks the
 * handle up again by fd and re-reads its FIFO. */

/* Whether a receive that said EAGAIN though `revents` carries RDHUP meets
 * a read side shut down with nothing queued: a blocking recv(2) returns 0
 * there, and so does io_uring's, but Linux's non-blocking receive on a
 * datagram socket says EAGAIN (a stream's says 0 itself). Without this a
 * recv parked on a UDP socket that cio shut down with SHUT_RD waits for
 * ever (and poll(2)'s level report retries it every turn). */
static bool receive_shut(const cio_op *op, uint32_t revents) {
    bool receive = op->opcode == CIO_OP_RECV || op->opcode == CIO_OP_RECVMSG || op->opcode == CIO_OP_READ ||
                   op->opcode == CIO_OP_READV || op->opcode == CIO_OP_RECV_POOL;
    return RD_ALWAYS_REPORTED && (revents & RD_ALWAYS_REPORTED) && receive && !wants_eagain(op);
}

/* Runs the FIFO's head again while it completes. Only the ops that were
 * parked when the event came: one a callback parks now was just tried at
 * submission, and trying it again before the next event is a wasted call. */
static void run_queue(cio_loop *loop, int fd, int q, uint16_t gen, uint32_t revents) {
    cio_rd *rd = cio__rd(loop);
    const cio_op *last = rd->handles[fd].q[q].tail; /* compared, never followed */
    for (int budget = RD_BUDGET; budget > 0; budget--) {
        cio_rd_handle *h = &rd->handles[fd];
        cio_op *op = h->q[q].head;
        if (!op || h->gen != gen) return;
        int32_t res = attempt(h, op);
        if (CIO_UNLIKELY(res == -CIO_EAGAIN && budget == RD_BUDGET && cio__opdef(op)->offset)) {
            /* Reported ready, yet the first try says EAGAIN: another reader
             * took the bytes, or the number now names a file with no
             * readiness (always reported ready by poll(2)) whose RWF_NOWAIT
             * read waits for the disk. Look at the handle again, once. */
            h->kind = RD_K_UNKNOWN;
            res = attempt(h, op);
        }
        if (res == -CIO_EAGAIN && receive_shut(op, revents)) res = early_result(op, 0);
        if (res == -CIO_EAGAIN && !wants_eagain(op)) return;
        /* A recv_pool's 0 is the end of its stream: final. */
        if ((op->flags & CIO_F_MULTISHOT) && (res > 0 || (res == 0 && op->opcode != CIO_OP_RECV_POOL))) {
            cio__complete_more(loop, op, res); /* stays at the head for the next one */
            /* Its try drained the socket (note_quiet): the next would say
             * EAGAIN. The watch is for levels and stays armed, so it
             * reports what comes next: a multishot receive then costs one
             * recv per arrival, as a recv posted again from its callback. */
            if (rd->handles[fd].quiet & (1u << q)) return;
            continue;
        }
        opq_pop(&h->q[q]);
        if (q < RD_Q_POLL) rd->disp_done[q] = op; /* see trusted_park */
        cio__complete(loop, op, res);
        if (op == last) return;
    }
}

/* What a poll op says about `revents`: 0 when it is not concerned. */
static int32_t poll_hit(const cio_op *op, uint32_t revents) {
    if (revents & POLLNVAL) return -CIO_EBADF; /* not an open handle: what io_uring and epoll say */
    return (int32_t)(revents & (op->args.poll.events | POLLERR | POLLHUP | RD_ALWAYS_REPORTED));
}

/* Whether a poll ends with what `revents` (a uint32_t) says: it is
 * concerned, and it is not a multishot poll that goes on after a hit. */
static bool poll_ends(const cio_op *op, const void *revents) {
    int32_t hit = poll_hit(op, *(const uint32_t *)revents);
    return hit && !((op->flags & CIO_F_MULTISHOT) && hit > 0);
}

/* Reports `revents` to the polls parked on `fd`. The ones that end here are
 * taken out of the FIFO first, before any callback: once out, no cancel or
 * close can reach them, so each completes exactly once, with its result.
 * Multishot polls stay parked (a cancel must find them) and are marked; each
 * is then looked for in the FIFO as it is after the previous callback, so
 * one that a callback cancelled, or whose handle it closed, hears nothing. */
static void run_polls(cio_loop *loop, int fd, uint32_t revents, uint16_t gen) {
    cio_rd *rd = cio__rd(loop);
    cio_rd_handle *h = &rd->handles[fd];
    opq done = {NULL, NULL};
    opq_take_if(&h->q[RD_Q_POLL], &done, poll_ends, &revents);
    bool more = false;
    for (cio_op *it = h->q[RD_Q_POLL].head; it; it = OPQ_NEXT(it)) {
        int32_t hit = poll_hit(it, revents);
        if (!hit) continue;
        it->res = hit;
        it->internal_.bflags |= RD_DUE;
        more = true;
    }
    cio_op *op;
    while ((op = opq_pop(&done))) cio__complete(loop, op, poll_hit(op, revents));
    while (more) {
        h = &rd->handles[fd];
        if (h->gen != gen) return;
        cio_op *it = h->q[RD_Q_POLL].head;
        while (it && !(it->internal_.bflags & RD_DUE)) it = OPQ_NEXT(it);
        if (!it) return;
        it->internal_.bflags &= (uint16_t)~RD_DUE;
        cio__complete_more(loop, it, it->res);
    }
}

/* Runs the callbacks of the ops that the dispatch's callbacks posted on
 * its own handle and that completed at submission (a task's send, tried at
 * once): here, still inside the dispatch, rather than from the loop's
 * ready queue after the wait. A task resumed by its send then posts its
 * next receive where trusted_park sees it, as a callback's receive posted
 * again from its callback is seen (no try, no renewal of the watch). Only
 * this handle's: the ready queue keeps its own order (a close held behind
 * the pool's posts, op.c) and its place after the turn's timers and posts.
 * A few rounds, for a task that sends twice before it receives; what is
 * left then goes to the ready queue. */
static void run_finished(cio_loop *loop, cio_rd *rd) {
    for (int round = 0; round < RD_FINISHED_ROUNDS && !opq_empty(&rd->disp_finished); round++) {
        opq batch = rd->disp_finished; /* what its callbacks finish goes to the next round */
        rd->disp_finished = (opq){NULL, NULL};
        cio_op *op;
        while ((op = opq_pop(&batch))) cio__complete(loop, op, op->res);
    }
    opq_append(&cio__core(loop)->ready, &rd->disp_finished);
}

/* One entry of a wait's array, by fd. `gen` is the handle's when the wait
 * returned: if a callback closed the handle through cio since, the rest of
 * the event was the old handle's, not its successor's under the same fd. */
static void dispatch(cio_loop *loop, int fd, uint32_t revents, uint16_t gen) {
    cio_rd *rd = cio__rd(loop);
    const uint32_t broken = POLLERR | POLLHUP | POLLNVAL;
    cio_rd_handle *h = &rd->handles[fd];
    if (h->gen != gen) return;
    h->quiet &= (uint8_t)~(RD_QUIET_IN | RD_QUIET_OUT | RD_FULL_IN); /* only this dispatch's tries count (skip_try) */
    /* Reported what nothing waited for (a watch kept by rearm, a broken
     * handle): the watch goes, or it would report it on every wait. */
    bool stray = (revents & broken) || (revents & (POLLIN | POLLOUT | POLLPRI | RD_ALWAYS_REPORTED) & ~wanted(h));
    rd->disp_fd = fd;
    rd->disp_done[RD_Q_IN] = rd->disp_done[RD_Q_OUT] = NULL;
    if (revents & (POLLIN | POLLPRI | broken)) run_queue(loop, fd, RD_Q_IN, gen, revents);
    if (revents & (POLLOUT | broken)) run_queue(loop, fd, RD_Q_OUT, gen, revents);
    if (rd->handles[fd].gen == gen && !opq_empty(&rd->handles[fd].q[RD_Q_POLL])) run_polls(loop, fd, revents, gen);
    run_finished(loop, rd);
    rd->disp_fd = -1;
    /* An unchanged watch needs no renewal here: what parked since the
     * report was trusted or renewed it then. The table may have moved. */
    if (rd->handles[fd].gen == gen) settle(loop, fd, &rd->handles[fd], stray, false, false);
    rd->handles[fd].quiet &= (uint8_t)~(RD_QUIET_IN | RD_QUIET_OUT | RD_FULL_IN); /* of no use after */
}

int cio__rd_cancel(cio_loop *loop, cio_op *target, cio_op *carrier) {
    cio_rd *rd = cio__rd(loop);
    int fd = cio__op_file(target), q = op_queue(target);
    int r = -CIO_ENOENT;
    if (q >= 0 && (unsigned)fd < rd->nhandles && opq_remove(&rd->handles[fd].q[q], target)) {
        cio__ready(loop, target, early_result(target, -CIO_ECANCELED));
        rearm(loop, fd, &rd->handles[fd], false, false);
        r = 0;
    }
    if (carrier) cio__ready(loop, carrier, r);
    return 0;
}

void cio__rd_cancel_all(cio_loop *loop) {
    cio_rd *rd = cio__rd(loop);
    for (int fd = 0; fd <= rd->max_fd_used; fd++) {
        cio_rd_handle *h = &rd->handles[fd];
        fail_parked(loop, h, -CIO_ECANCELED);
        if (h->want) rearm(loop, fd, h, false, false);
    }
}

int cio__rd_init(cio_loop *loop, const cio_loop_options *opts, const struct cio_mux *mux) {
    (void)opts;
    cio_rd *rd = cio__rd(loop);
    _Static_assert(sizeof(cio_rd) <= sizeof(((cio_core *)0)->backend), "readiness state must fit");
    memset(rd, 0, sizeof *rd);
    rd->mux = mux;
    rd->max_fd_used = -1;
    rd->disp_fd = -1;
    struct rlimit rl;
    rlim_t n = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    if (n == RLIM_INFINITY || n > (1u << 20)) n = 1u << 20;
    if (n < 64) n = 64;
    /* Pages of the table are touched only as descriptors are used. */
    rd->handles = calloc(n, sizeof *rd->handles);
    if (!rd->handles) return -CIO_ENOMEM;
    rd->nhandles = (unsigned)n;
    int r = mux->init(loop, rd->nhandles);
    if (r < 0) {
        free(rd->handles);
        rd->handles = NULL;
    }
    return r;
}

void cio__rd_close(cio_loop *loop) {
    cio_rd *rd = cio__rd(loop);
    rd->mux->close(loop);
    free(rd->handles);
    rd->handles = NULL;
}

/* Redis ae.c's shape: the multiplexer fills the array, then each entry is
 * dispatched by fd. */
int cio__rd_wait(cio_loop *loop, int64_t timeout_ns) {
    cio_rd *rd = cio__rd(loop);
    cio_rd_ready ready[CIO_RD_MAX_READY];
    /* Nothing watched and no wake on its way: a wait that must not block
     * has nothing to report (a loop whose ops all completed at submission,
     * as cached file reads do, would pay a system call per turn). */
    if (timeout_ns == 0 && !rd->mux->watching(loop) &&
        !atomic_load_explicit(&cio__core(loop)->wake_pending, memory_order_acquire))
        return 0;
    int n = rd->mux->wait(loop, timeout_ns, ready, CIO_RD_MAX_READY);
    if (n <= 0) return n;
    for (int i = 0; i < n; i++)
        if ((unsigned)ready[i].fd < rd->nhandles) ready[i].gen = rd->handles[ready[i].fd].gen;
    for (int i = 0; i < n; i++)
        if ((unsigned)ready[i].fd < rd->nhandles) dispatch(loop, ready[i].fd, ready[i].revents, ready[i].gen);
    return n;
}

int cio__rd_wake(cio_loop *loop) { return cio__rd(loop)->mux->wake(loop); }

int cio__rd_pollable_fd(cio_loop *loop, cio_fd *out) { return cio__rd(loop)->mux->pollable_fd(loop, out); }
