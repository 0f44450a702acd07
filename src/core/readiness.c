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

/* internal_.bflags: a non-blocking connect is under way. */
#define RD_CONNECTING 1u

/* ---- the handle an op works on, and which FIFO it waits in ---- */

static int op_fd(const cio_op *op) {
    switch (op->opcode) {
    case CIO_OP_READ:
    case CIO_OP_WRITE:
        return op->args.rw.fd;
    case CIO_OP_READV:
    case CIO_OP_WRITEV:
        return op->args.rwv.fd;
    case CIO_OP_RECV:
    case CIO_OP_SEND:
        return op->args.sr.fd;
    case CIO_OP_RECVMSG:
    case CIO_OP_SENDMSG:
        return op->args.msg.fd;
    case CIO_OP_ACCEPT:
        return op->args.accept.fd;
    case CIO_OP_CONNECT:
        return op->args.addr.fd;
    case CIO_OP_POLL:
        return op->args.poll.fd;
    default:
        return -1;
    }
}

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

/* The events `h` needs reported now, from what is parked in it. */
static uint32_t wanted(const cio_rd_handle *h) {
    uint32_t ev = (h->head[RD_Q_IN] ? POLLIN : 0) | (h->head[RD_Q_OUT] ? POLLOUT : 0);
    bool edge = !ev && h->head[RD_Q_POLL];
    for (const cio_op *p = h->head[RD_Q_POLL]; p; p = p->internal_.next) {
        ev |= p->args.poll.events;
        if (!(p->flags & CIO_F_MULTISHOT)) edge = false;
    }
    ev &= POLLIN | POLLOUT | POLLPRI | CIO_POLLRDHUP;
    return ev && edge ? ev | CIO_RD_EDGE : ev;
}

/* Ends every op parked on `h` with `res`: the handle cannot be watched, is
 * being closed, or the loop is. */
static void fail_parked(cio_loop *loop, cio_rd_handle *h, int32_t res) {
    for (int q = 0; q < 3; q++) {
        while (h->head[q]) {
            cio_op *op = h->head[q];
            h->head[q] = op->internal_.next;
            if (res == -CIO_ECANCELED) op->internal_.iflags |= IF_CANCELLED;
            cio__ready(loop, op, res);
        }
        h->tail[q] = NULL;
    }
}

static void rearm(cio_loop *loop, int fd, cio_rd_handle *h, bool fired) {
    cio_rd *rd = cio__rd(loop);
    uint32_t ev = wanted(h);
    if (ev == h->want && !(fired && ev)) return;
    int r = rd->mux->arm(loop, fd, h, ev, fired);
    if (r == 0) return;
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

/* One non-blocking attempt; -CIO_EAGAIN means "park and wait". */
static int32_t attempt(cio_op *op) {
    switch (op->opcode) {
    case CIO_OP_RECV:
        return result(recv(op->args.sr.fd, op->args.sr.buf, op->args.sr.len, op->args.sr.flags | MSG_DONTWAIT));
    case CIO_OP_SEND:
        return result(send(op->args.sr.fd, op->args.sr.buf, op->args.sr.len,
                           op->args.sr.flags | MSG_DONTWAIT | CIO_MSG_NOSIGNAL));
    case CIO_OP_RECVMSG:
        return result(recvmsg(op->args.msg.fd, op->args.msg.msg, op->args.msg.flags | MSG_DONTWAIT));
    case CIO_OP_SENDMSG:
        return result(sendmsg(op->args.msg.fd, op->args.msg.msg, op->args.msg.flags | MSG_DONTWAIT | CIO_MSG_NOSIGNAL));
    case CIO_OP_CONNECT:
        if (op->internal_.bflags & RD_CONNECTING) return connect_result(op);
        if (connect(op->args.addr.fd, op->args.addr.addr, op->args.addr.addrlen) == 0) return 0;
        if (errno != EINPROGRESS) return -errno;
        op->internal_.bflags |= RD_CONNECTING;
        return -CIO_EAGAIN;
    default: /* read, write, readv, writev, accept: the handle is non-blocking */
        return cio__sync_exec(op);
    }
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
        }
        return -CIO_ENOTSUP; /* the core runs the close itself */
    }
    int q = op_queue(op);
    if (q < 0) return -CIO_ENOTSUP;
    int fd = op_fd(op);
    int r = 0;
    if (q != RD_Q_POLL && op->opcode != CIO_OP_RECV && op->opcode != CIO_OP_SEND &&
        op->opcode != CIO_OP_RECVMSG && op->opcode != CIO_OP_SENDMSG)
        r = (op->opcode == CIO_OP_ACCEPT || op->opcode == CIO_OP_CONNECT) ? set_nonblocking(fd) : prepare_rw(fd);
    if (r < 0) return r; /* -CIO_ENOTSUP sends a file op to the pool */
    cio_rd_handle *h = handle(rd, fd);
    if (!h) return -CIO_ENOMEM;
    if (fd > rd->max_fd_used) rd->max_fd_used = fd;
    op->internal_.bflags = 0;
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
    rearm(loop, fd, h, false);
    return 0;
}

/* Runs the FIFO's head again while it completes. Only the ops that were
 * parked when the event came: one a callback parks now was just tried at
 * submission, and trying it again before the next event is a wasted call. */
static void run_queue(cio_loop *loop, cio_rd_handle *h, int q) {
    cio_op *last = h->tail[q];
    for (int budget = RD_BUDGET; budget > 0 && h->head[q]; budget--) {
        cio_op *op = h->head[q];
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

static void run_polls(cio_loop *loop, cio_rd_handle *h, uint32_t revents) {
    cio_op *it = h->head[RD_Q_POLL];
    while (it) {
        cio_op *next = it->internal_.next;
        uint32_t hit = revents & (it->args.poll.events | POLLERR | POLLHUP);
        if (revents & POLLNVAL) { /* not an open handle: what io_uring and epoll say */
            unpark(h, RD_Q_POLL, it);
            cio__complete(loop, it, -CIO_EBADF);
        } else if (hit) {
            if (it->flags & CIO_F_MULTISHOT) {
                cio__complete_more(loop, it, (int32_t)hit);
            } else {
                unpark(h, RD_Q_POLL, it);
                cio__complete(loop, it, (int32_t)hit);
            }
        }
        it = next;
    }
}

void cio__rd_event(cio_loop *loop, int fd, uint32_t revents) {
    cio_rd *rd = cio__rd(loop);
    if ((unsigned)fd >= rd->nhandles) return;
    cio_rd_handle *h = &rd->handles[fd];
    const uint32_t broken = POLLERR | POLLHUP | POLLNVAL;
    if (revents & (POLLIN | POLLPRI | broken)) run_queue(loop, h, RD_Q_IN);
    if (revents & (POLLOUT | broken)) run_queue(loop, h, RD_Q_OUT);
    if (h->head[RD_Q_POLL]) run_polls(loop, h, revents);
    rearm(loop, fd, h, true);
}

int cio__rd_cancel(cio_loop *loop, cio_op *target, cio_op *carrier) {
    cio_rd *rd = cio__rd(loop);
    int fd = op_fd(target), q = op_queue(target);
    int r = -CIO_ENOENT;
    if (q >= 0 && (unsigned)fd < rd->nhandles && unpark(&rd->handles[fd], q, target)) {
        cio__ready(loop, target, -CIO_ECANCELED);
        rearm(loop, fd, &rd->handles[fd], false);
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
        if (h->want) rearm(loop, fd, h, false);
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

int cio__rd_wait(cio_loop *loop, int64_t timeout_ns) { return cio__rd(loop)->mux->wait(loop, timeout_ns); }

int cio__rd_wake(cio_loop *loop) { return cio__rd(loop)->mux->wake(loop); }

int cio__rd_pollable_fd(cio_loop *loop, cio_fd *out) { return cio__rd(loop)->mux->pollable_fd(loop, out); }
