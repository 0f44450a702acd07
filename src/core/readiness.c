/*
 * src/core/readiness.c - completion emulated on readiness (see
 * readiness.h). POSIX only: it must build on the BSDs and macOS as is.
 */
#include "readiness.h"

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

/* What poll(2) and io_uring report for a handle with no readiness of its own. */
#define RD_ALWAYS_READY (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

/* ---- which FIFO an op waits in (its handle: cio__op_file) ---- */

/* The FIFO an op parks in, or -1 for ops that have no readiness. */
static int op_queue(const cio_op *op) {
    switch (op->opcode) {
    case CIO_OP_READ:
    case CIO_OP_READV:
    case CIO_OP_RECV:
    case CIO_OP_RECVMSG:
    case CIO_OP_ACCEPT:
        return RD_Q_IN;
    case CIO_OP_WRITE:
    case CIO_OP_WRITEV:
    case CIO_OP_SEND:
    case CIO_OP_SENDMSG:
    case CIO_OP_CONNECT:
        return RD_Q_OUT;
    case CIO_OP_POLL:
        return RD_Q_POLL;
    default:
        return -1;
    }
}

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

/* The events `h` needs reported now, from what is parked in it. */
static uint32_t wanted(const cio_rd_handle *h) {
    uint32_t ev = (h->head[RD_Q_IN] ? POLLIN : 0) | (h->head[RD_Q_OUT] ? POLLOUT : 0);
    bool edge = !ev && h->head[RD_Q_POLL];
    for (const cio_op *p = h->head[RD_Q_POLL]; p; p = p->internal_.next) {
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

/* Ends every op parked on `h` with `res`: the handle cannot be watched, is
 * being closed, or the loop is. */
static void fail_parked(cio_loop *loop, cio_rd_handle *h, int32_t res) {
    for (int q = 0; q < 3; q++) {
        while (h->head[q]) {
            cio_op *op = h->head[q];
            h->head[q] = op->internal_.next;
            if (res == -CIO_ECANCELED) op->internal_.iflags |= IF_CANCELLED;
            cio__ready(loop, op, early_result(op, res));
        }
        h->tail[q] = NULL;
    }
}

/* A handle with no readiness (a regular file, a directory, /dev/null): it
 * is always ready, so its polls complete now with what poll(2) would say,
 * or -CIO_EINVAL when they ask for nothing such a handle has. That is
 * io_uring's answer too, a multishot poll included: no later edge will
 * ever come, so its one completion is final. */
static void polls_always_ready(cio_loop *loop, cio_rd_handle *h) {
    while (h->head[RD_Q_POLL]) {
        cio_op *op = h->head[RD_Q_POLL];
        h->head[RD_Q_POLL] = op->internal_.next;
        uint32_t hit = op->args.poll.events & RD_ALWAYS_READY;
        cio__ready(loop, op, hit ? (int32_t)hit : -CIO_EINVAL);
    }
    h->tail[RD_Q_POLL] = NULL;
}

/* Brings the multiplexer's watch of `h` up to date. `fired`: the handle has
 * just reported (a one-shot watch must be renewed). `joined`: a multishot
 * poll has just joined (an edge-triggered watch must be renewed too, so that
 * it hears the handle's current state, as io_uring's poll does at arming). */
static void rearm(cio_loop *loop, int fd, cio_rd_handle *h, bool fired, bool joined) {
    cio_rd *rd = cio__rd(loop);
    uint32_t ev = wanted(h);
    if (ev == h->want && !((fired || joined) && ev)) return;
    int r = rd->mux->arm(loop, fd, h, ev, fired);
    if (r == 0) return;
    if (r == -CIO_EPERM) polls_always_ready(loop, h);
    /* The handle cannot be watched (closed behind cio's back, say): fail
     * what waits on it rather than leave it waiting forever. */
    fail_parked(loop, h, r);
    h->want = 0;
}

static void park(cio_rd_handle *h, int q, cio_op *op) {
    op->internal_.next = NULL;
    if (h->tail[q])
        h->tail[q]->internal_.next = op;
    else
        h->head[q] = op;
    h->tail[q] = op;
}

static bool unpark(cio_rd_handle *h, int q, cio_op *op) {
    cio_op *prev = NULL;
    for (cio_op *it = h->head[q]; it; prev = it, it = it->internal_.next) {
        if (it != op) continue;
        if (prev)
            prev->internal_.next = op->internal_.next;
        else
            h->head[q] = op->internal_.next;
        if (h->tail[q] == op) h->tail[q] = prev;
        return true;
    }
    return false;
}

/* ---- trying an op without blocking ---- */

static int32_t result(ssize_t r) { return r < 0 ? -errno : (int32_t)r; }

static int set_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    return 0;
}

/* Reads and writes on handles with no readiness (regular files, block
 * devices, directories) belong on the pool: poll says "ready" and the call
 * blocks anyway. The rest is made non-blocking so that a try never blocks
 * the loop; like libuv, cio leaves it that way. */
static int prepare_rw(int fd) {
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode)) return -CIO_ENOTSUP;
    return set_nonblocking(fd);
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
static bool wants_eagain(const cio_op *op) {
    switch (op->opcode) {
    case CIO_OP_RECV:
    case CIO_OP_SEND:
        return op->args.sr.flags & MSG_DONTWAIT;
    case CIO_OP_RECVMSG:
    case CIO_OP_SENDMSG:
        return op->args.msg.flags & MSG_DONTWAIT;
    default:
        return false;
    }
}

/* Whether MSG_WAITALL asks this op to go on until its whole length has
 * moved. Not with MSG_DONTWAIT (the caller wants no waiting) nor MSG_PEEK
 * (the same bytes would be counted again). */
static bool waitall(const cio_op *op) {
    int fl;
    switch (op->opcode) {
    case CIO_OP_RECV:
    case CIO_OP_SEND:
        fl = op->args.sr.flags;
        if (!op->args.sr.len) return false;
        break;
    case CIO_OP_RECVMSG:
    case CIO_OP_SENDMSG:
        fl = op->args.msg.flags;
        break;
    default:
        return false;
    }
    return (fl & MSG_WAITALL) && !(fl & (MSG_DONTWAIT | MSG_PEEK));
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
    bool rx = op->opcode == CIO_OP_RECVMSG;
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
    size_t want = (op->opcode == CIO_OP_RECV || op->opcode == CIO_OP_SEND) ? op->args.sr.len
                                                                          : msg_len(op->args.msg.msg);
    if ((size_t)done + (size_t)r >= want || (size_t)done + (size_t)r >= INT32_MAX) return done + r;
    if (!done) {
        int type = 0;
        socklen_t len = sizeof type;
        int fd = op->opcode == CIO_OP_RECV || op->opcode == CIO_OP_SEND ? op->args.sr.fd : op->args.msg.fd;
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

/* One non-blocking attempt; -CIO_EAGAIN means "park and wait". */
static int32_t attempt(cio_op *op) {
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
    default: /* read, write, readv, writev, accept: the handle is non-blocking */
        return cio__sync_exec(op);
    }
    return (op->internal_.bflags & RD_WAITALL) ? waitall_step(op, r) : r;
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
        }
        return -CIO_ENOTSUP; /* the core runs the close itself */
    }
    int q = op_queue(op);
    if (q < 0) return -CIO_ENOTSUP;
    int fd = cio__op_file(op);
    int r = 0;
    if (q != RD_Q_POLL && op->opcode != CIO_OP_RECV && op->opcode != CIO_OP_SEND &&
        op->opcode != CIO_OP_RECVMSG && op->opcode != CIO_OP_SENDMSG)
        r = (op->opcode == CIO_OP_ACCEPT || op->opcode == CIO_OP_CONNECT) ? set_nonblocking(fd) : prepare_rw(fd);
    if (r < 0) return r; /* -CIO_ENOTSUP sends a file op to the pool */
    cio_rd_handle *h = handle(rd, fd);
    if (!h) return -CIO_ENOMEM;
    if (fd > rd->max_fd_used) rd->max_fd_used = fd;
    op->internal_.bflags = 0;
    if (CIO_UNLIKELY(waitall(op))) {
        /* The running count lives in op->res: the op is the runtime's until
         * its completion sets res (op.h's buffer rule), and unlike the
         * private fields, nothing else uses res meanwhile (when, seq and u
         * are the timer heap's while the op has a deadline). */
        op->internal_.bflags = RD_WAITALL;
        op->res = 0;
    }
    /* Try at once, unless ops already wait in this FIFO (they go first) or
     * the op is a poll or a multishot accept, whose results the
     * multiplexer delivers. */
    if (q != RD_Q_POLL && !h->head[q] && !(op->flags & CIO_F_MULTISHOT)) {
        int32_t res = attempt(op);
        if (res != -CIO_EAGAIN || wants_eagain(op)) {
            cio__ready(loop, op, res);
            return 0;
        }
    }
    park(h, q, op);
    rearm(loop, fd, h, false, q == RD_Q_POLL && (op->flags & CIO_F_MULTISHOT));
    return 0;
}

/* Dispatch runs user callbacks, which may grow the handle table (a submit
 * on a higher fd moves it), close a handle through cio (its gen changes and
 * its ops end) or cancel any op. So nothing below holds a cio_rd_handle
 * pointer or a saved neighbour op across a callback: each step looks the
 * handle up again by fd and re-reads its FIFO. */

/* Runs the FIFO's head again while it completes. Only the ops that were
 * parked when the event came: one a callback parks now was just tried at
 * submission, and trying it again before the next event is a wasted call. */
static void run_queue(cio_loop *loop, int fd, int q, uint16_t gen) {
    cio_rd *rd = cio__rd(loop);
    const cio_op *last = rd->handles[fd].tail[q]; /* compared, never followed */
    for (int budget = RD_BUDGET; budget > 0; budget--) {
        cio_rd_handle *h = &rd->handles[fd];
        cio_op *op = h->head[q];
        if (!op || h->gen != gen) return;
        int32_t res = attempt(op);
        if (res == -CIO_EAGAIN && !wants_eagain(op)) return;
        if ((op->flags & CIO_F_MULTISHOT) && res >= 0) {
            cio__complete_more(loop, op, res); /* stays at the head for the next one */
            continue;
        }
        h->head[q] = op->internal_.next;
        if (!h->head[q]) h->tail[q] = NULL;
        cio__complete(loop, op, res);
        if (op == last) return;
    }
}

/* What a poll op says about `revents`: 0 when it is not concerned. */
static int32_t poll_hit(const cio_op *op, uint32_t revents) {
    if (revents & POLLNVAL) return -CIO_EBADF; /* not an open handle: what io_uring and epoll say */
    return (int32_t)(revents & (op->args.poll.events | POLLERR | POLLHUP | RD_ALWAYS_REPORTED));
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
    cio_op *done = NULL, **done_tail = &done, *prev = NULL;
    bool more = false;
    for (cio_op *it = h->head[RD_Q_POLL], *next; it; it = next) {
        next = it->internal_.next;
        int32_t hit = poll_hit(it, revents);
        if (!hit || ((it->flags & CIO_F_MULTISHOT) && hit > 0)) {
            if (hit) {
                it->res = hit;
                it->internal_.bflags |= RD_DUE;
                more = true;
            }
            prev = it;
            continue;
        }
        if (prev)
            prev->internal_.next = next;
        else
            h->head[RD_Q_POLL] = next;
        if (h->tail[RD_Q_POLL] == it) h->tail[RD_Q_POLL] = prev;
        it->res = hit;
        it->internal_.next = NULL;
        *done_tail = it;
        done_tail = &it->internal_.next;
    }
    while (done) {
        cio_op *op = done;
        done = op->internal_.next;
        cio__complete(loop, op, op->res);
    }
    while (more) {
        h = &rd->handles[fd];
        if (h->gen != gen) return;
        cio_op *it = h->head[RD_Q_POLL];
        while (it && !(it->internal_.bflags & RD_DUE)) it = it->internal_.next;
        if (!it) return;
        it->internal_.bflags &= (uint16_t)~RD_DUE;
        cio__complete_more(loop, it, it->res);
    }
}

/* One entry of a wait's array, by fd. `gen` is the handle's when the wait
 * returned: if a callback closed the handle through cio since, the rest of
 * the event was the old handle's, not its successor's under the same fd. */
static void dispatch(cio_loop *loop, int fd, uint32_t revents, uint16_t gen) {
    cio_rd *rd = cio__rd(loop);
    const uint32_t broken = POLLERR | POLLHUP | POLLNVAL;
    if (revents & (POLLIN | POLLPRI | broken)) run_queue(loop, fd, RD_Q_IN, gen);
    if (revents & (POLLOUT | broken)) run_queue(loop, fd, RD_Q_OUT, gen);
    if (rd->handles[fd].gen == gen && rd->handles[fd].head[RD_Q_POLL]) run_polls(loop, fd, revents, gen);
    if (rd->handles[fd].gen == gen) rearm(loop, fd, &rd->handles[fd], true, false);
}

int cio__rd_cancel(cio_loop *loop, cio_op *target, cio_op *carrier) {
    cio_rd *rd = cio__rd(loop);
    int fd = cio__op_file(target), q = op_queue(target);
    int r = -CIO_ENOENT;
    if (q >= 0 && (unsigned)fd < rd->nhandles && unpark(&rd->handles[fd], q, target)) {
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
