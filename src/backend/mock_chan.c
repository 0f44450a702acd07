/*
 * src/backend/mock_chan.c - the mock's pipes and connected stream sockets
 * (mock_chan.h): rings of bytes between two handles, and what read, write,
 * readv, writev, recv, send, recvmsg, sendmsg, shutdown, poll and close do
 * on them, as on a pipe or a connected TCP socket on Linux (cio/mock.h).
 * No op is allocated for: only making a channel allocates.
 */
#include <stdlib.h>

#include "mock_chan.h"

#define MOCK_PIPE_BUF 4096u     /* Linux's PIPE_BUF: pipe writes up to it are atomic */
#define MOCK_MAX_RW 0x7ffff000u /* Linux's MAX_RW_COUNT: no call moves more */

/* Linux's UIO_MAXIOV: a message with more buffers is -EMSGSIZE. */
#define MOCK_IOV_MAX 1024

int mock_chan_make(mock *m, bool socket, cio_fd fds[2]) {
    /* A pipe needs only the first ring. */
    size_t size = socket ? sizeof(mock_chan) : offsetof(mock_chan, ring) + sizeof(mock_ring);
    mock_chan *c = calloc(1, size);
    if (!c) return -CIO_ENOMEM;
    c->socket = socket;
    if (socket && mock_sock_pair(m, c->sock) < 0) {
        free(c);
        return -CIO_ENOMEM;
    }
    const mock_kind *kind = socket ? &mock_stream_kind : &mock_pipe_kind;
    for (int end = 0; end < 2; end++) {
        int32_t fd = mock_handle_open(&m->world, kind, c, (uint32_t)end);
        if (fd < 0) {
            if (end) mock_handle_free(&m->world, c->fd[0]);
            if (socket) {
                mock_sock_free(m, c->sock[0]);
                mock_sock_free(m, c->sock[1]);
            }
            free(c);
            return (int)fd;
        }
        c->fd[end] = (cio_fd)fd;
        c->open[end] = true;
        if (socket) c->sock[end]->fd = fd;
    }
    fds[0] = c->fd[0];
    fds[1] = c->fd[1];
    return 0;
}

void mock_chan_wake(mock *m, mock_chan *c) {
    for (int end = 0; end < 2; end++)
        if (c->open[end]) mock_wake(m, c->fd[end]);
}

mock_ring *mock_rx(mock_chan *c, int end) {
    if (c->socket) return &c->ring[!end];
    return end == MOCK_END_READ ? &c->ring[0] : NULL;
}

mock_ring *mock_tx(mock_chan *c, int end) {
    if (c->socket) return &c->ring[end];
    return end == MOCK_END_WRITE ? &c->ring[0] : NULL;
}

bool mock_rx_done(const mock_chan *c, int end) {
    if (!c->socket) return !c->open[MOCK_END_WRITE];
    return !c->open[!end] || c->shut_wr[!end] || c->shut_rd[end];
}

bool mock_tx_broken(const mock_chan *c, int end) {
    if (!c->socket) return !c->open[MOCK_END_READ];
    return !c->open[!end] || c->shut_wr[end];
}

/* Copies `n` bytes between the ring at `at` and the iovecs, past their
 * first `skip` bytes; `out` says which way (out of the ring into the
 * iovecs). */
static void copy(mock_ring *r, uint32_t at, const cio_iovec *iov, unsigned iovcnt, size_t skip, uint32_t n, bool out) {
    for (unsigned i = 0; n > 0 && i < iovcnt; i++) {
        size_t off = 0;
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        off = skip;
        skip = 0;
        while (n > 0 && off < iov[i].iov_len) {
            uint32_t pos = at % MOCK_RING_CAPACITY;
            size_t run = iov[i].iov_len - off;
            if (run > n) run = n;
            if (run > MOCK_RING_CAPACITY - pos) run = MOCK_RING_CAPACITY - pos;
            unsigned char *user = (unsigned char *)iov[i].iov_base + off;
            if (out)
                memcpy(user, r->buf + pos, run);
            else
                memcpy(r->buf + pos, user, run);
            at += (uint32_t)run;
            off += run;
            n -= (uint32_t)run;
        }
    }
}

uint32_t mock_ring_take(mock_ring *r, const cio_iovec *iov, unsigned iovcnt, size_t skip, uint32_t max,
                        bool consume) {
    uint32_t n = max < r->len ? max : r->len;
    copy(r, r->head, iov, iovcnt, skip, n, true);
    if (consume) {
        r->head = (r->head + n) % MOCK_RING_CAPACITY;
        r->len -= n;
    }
    return n;
}

uint32_t mock_ring_put(mock_ring *r, const cio_iovec *iov, unsigned iovcnt, size_t skip, uint32_t max) {
    uint32_t room = MOCK_RING_CAPACITY - r->len;
    uint32_t n = max < room ? max : room;
    copy(r, r->head + r->len, iov, iovcnt, skip, n, false);
    r->len += n;
    return n;
}

uint32_t mock_chan_events(const mock_chan *c, int end) {
    if (!c->socket) {
        if (end == MOCK_END_READ)
            return (c->ring[0].len ? CIO_POLLIN : 0) | (c->open[MOCK_END_WRITE] ? 0 : CIO_POLLHUP);
        return (c->ring[0].len < MOCK_RING_CAPACITY ? CIO_POLLOUT : 0) | (c->open[MOCK_END_READ] ? 0 : CIO_POLLERR);
    }
    /* As tcp_poll(): a receiving half that is over (a FIN came, or our own
     * SHUT_RD) is IN and RDHUP, a recv no longer waits; a sending half that
     * is over is OUT, a send no longer waits; both over is HUP. A reset to
     * report is ERR, and ends both halves. A peer's close is its FIN: our
     * sending half lives on (a send fails at once, so OUT, but no HUP). */
    bool rd_over = mock_rx_done(c, end) || c->reset[end];
    bool wr_over = c->shut_wr[end] || c->reset[end];
    uint32_t ev = 0;
    if (c->ring[!end].len || rd_over) ev |= CIO_POLLIN;
    if (rd_over) ev |= CIO_POLLRDHUP;
    if (c->ring[end].len < MOCK_RING_CAPACITY || wr_over || !c->open[!end]) ev |= CIO_POLLOUT;
    if (rd_over && wr_over) ev |= CIO_POLLHUP;
    if (c->reset[end]) ev |= CIO_POLLERR;
    return ev;
}

/* End `end` goes; `reset`: the other end reports -CIO_ECONNRESET. The
 * other end sees it (a wake); the channel goes with its last end. */
static void end_gone(mock *m, mock_chan *c, int end, bool reset) {
    c->open[end] = false;
    if (c->socket) {
        if (reset) c->reset[!end] = true;
        mock_sock_free(m, c->sock[end]);
        c->sock[end] = NULL;
    }
    if (c->open[!end]) {
        mock_wake(m, c->fd[!end]);
        return;
    }
    free(c);
}

void mock_chan_abort(mock *m, mock_chan *c, int end) { end_gone(m, c, end, true); }

void mock_chan_reset(mock *m, mock_chan *c) {
    for (int end = 0; end < 2; end++) {
        c->ring[end].len = 0;
        c->reset[end] = c->open[end];
        c->shut_wr[end] = true; /* once reported, as after the peer's close: end of file, EPIPE */
    }
    mock_chan_wake(m, c);
}

int32_t mock_poll_answer(cio_op *op, uint32_t ready) {
    uint32_t ev = ready & (op->args.poll.events | CIO_POLLERR | CIO_POLLHUP);
    if (!(op->flags & CIO_F_MULTISHOT)) return ev ? (int32_t)ev : MOCK_PARK;
    /* The engine tries a multishot op again right after each report: that
     * try waits for a change instead of reporting the same state again,
     * unless one came meanwhile (MB_CHANGED). */
    bool changed = op->internal_.bflags & MB_CHANGED;
    op->internal_.bflags &= (uint16_t)~MB_CHANGED;
    if (!ev || (op->res && !changed)) {
        op->res = 0;
        return MOCK_PARK;
    }
    op->internal_.bflags |= MB_MORE;
    return (int32_t)ev;
}

/* ---- what the transfer ops share ---- */

static bool is_recv(const cio_op *op) {
    return op->opcode == CIO_OP_READ || op->opcode == CIO_OP_READV || op->opcode == CIO_OP_RECV ||
           op->opcode == CIO_OP_RECVMSG;
}

static bool is_send(const cio_op *op) {
    return op->opcode == CIO_OP_WRITE || op->opcode == CIO_OP_WRITEV || op->opcode == CIO_OP_SEND ||
           op->opcode == CIO_OP_SENDMSG;
}

bool mock_io_of(cio_op *op, mock_io *io) {
    memset(io, 0, sizeof *io);
    io->iov = &io->one;
    io->cnt = 1;
    io->reading = is_recv(op);
    switch (op->opcode) {
    case CIO_OP_RECV:
    case CIO_OP_SEND:
        io->one.iov_base = op->args.sr.buf;
        io->one.iov_len = op->args.sr.len;
        io->flags = op->args.sr.flags;
        break;
    case CIO_OP_READ:
    case CIO_OP_WRITE:
        io->one.iov_base = op->args.rw.buf;
        io->one.iov_len = op->args.rw.len;
        break;
    case CIO_OP_READV:
    case CIO_OP_WRITEV:
        io->iov = op->args.rwv.iov;
        io->cnt = op->args.rwv.iovcnt;
        break;
    case CIO_OP_RECVMSG:
    case CIO_OP_SENDMSG:
        io->msg = op->args.msg.msg;
        io->iov = CIO__MSG_IOV(io->msg);
        io->cnt = (unsigned)CIO__MSG_IOVLEN(io->msg);
        io->flags = op->args.msg.flags;
        break;
    default:
        return false;
    }
    for (unsigned i = 0; i < io->cnt; i++) io->want += io->iov[i].iov_len;
    /* As Linux's MAX_RW_COUNT: no call moves more (and a count stays an int32_t). */
    if (io->want > MOCK_MAX_RW) io->want = MOCK_MAX_RW;
    return true;
}

/* The MSG_* flags the mock knows, by direction (cio/mock.h); others are
 * -CIO_EINVAL rather than a silently different result. A datagram socket
 * takes MSG_TRUNC on receives; MSG_MORE (UDP's corking) it does not. */
#define MOCK_RECV_FLAGS (CIO_MSG_PEEK | CIO_MSG_WAITALL | CIO_MSG_DONTWAIT)
#ifdef MSG_NOSIGNAL
#define MOCK_SEND_FLAGS (CIO_MSG_WAITALL | CIO_MSG_DONTWAIT | MSG_NOSIGNAL)
#define MOCK_STREAM_SEND_FLAGS (MOCK_SEND_FLAGS | MSG_MORE)
#else
#define MOCK_SEND_FLAGS (CIO_MSG_WAITALL | CIO_MSG_DONTWAIT)
#define MOCK_STREAM_SEND_FLAGS MOCK_SEND_FLAGS
#endif

/* A message's buffers, as sendmsg(2) and recvmsg(2) check them. */
static int check_msg(const cio_msghdr *msg) {
    const cio_iovec *iov = CIO__MSG_IOV(msg);
    size_t n = (size_t)CIO__MSG_IOVLEN(msg);
    if (n > MOCK_IOV_MAX) return -CIO_EMSGSIZE;
    if (n && !iov) return -CIO_EFAULT;
    for (size_t i = 0; i < n; i++)
        if (!iov[i].iov_base && iov[i].iov_len) return -CIO_EFAULT;
    return 0;
}

int mock_io_check(cio_op *op, bool stream) {
    mock_io io;
    if (!mock_io_of(op, &io)) return 0;
    if (io.msg) {
        int r = check_msg(io.msg);
        if (r < 0) return r;
    }
    int known = io.reading ? MOCK_RECV_FLAGS | (stream ? 0 : CIO_MSG_TRUNC) : stream ? MOCK_STREAM_SEND_FLAGS : MOCK_SEND_FLAGS;
    if (io.flags & ~known) return -CIO_EINVAL;
    /* As readiness.c: not with DONTWAIT (no waiting wanted) nor PEEK (the
     * same bytes would count twice), nor for 0 bytes; a datagram is one
     * message all the same. */
    if (stream && (io.flags & CIO_MSG_WAITALL) && !(io.flags & (CIO_MSG_DONTWAIT | CIO_MSG_PEEK)) && io.want)
        op->internal_.bflags |= MB_PARTIAL;
    return 0;
}

/* ---- the kind: what ops do on an end ---- */

/* The error of an op a connected stream end (or a pipe end) does not run,
 * or 0: at submit, and again at its try, since a socket's handle changes
 * kind when it connects. */
static int chan_refuse(const mock_chan *c, const cio_op *op) {
    switch (op->opcode) {
    case CIO_OP_READ:
    case CIO_OP_WRITE:
    case CIO_OP_READV:
    case CIO_OP_WRITEV:
    case CIO_OP_POLL:
        return 0;
    case CIO_OP_RECV:
    case CIO_OP_SEND:
    case CIO_OP_RECVMSG:
    case CIO_OP_SENDMSG:
    case CIO_OP_SHUTDOWN:
    case CIO_OP_RECV_POOL:
        return c->socket ? 0 : -CIO_ENOTSOCK;
    case CIO_OP_BIND:
    case CIO_OP_LISTEN:
    case CIO_OP_ACCEPT:
        /* As Linux: a connected socket cannot be bound again, listen or accept. */
        return c->socket ? -CIO_EINVAL : -CIO_ENOTSOCK;
    case CIO_OP_CONNECT:
        return c->socket ? -CIO_EISCONN : -CIO_ENOTSOCK;
    default:
        return -CIO_EINVAL; /* fsync: a pipe or socket has nothing to flush (Linux: EINVAL) */
    }
}

static int chan_check(mock *m, cio_op *op, mock_handle *h) {
    (void)m;
    mock_chan *c = h->obj;
    int end = (int)h->end;
    int r = chan_refuse(c, op);
    if (r < 0) return r;
    if (op->opcode == CIO_OP_RECV_POOL) return mock_recv_pool_check(op);
    if ((op->flags & CIO_F_MULTISHOT) && op->opcode != CIO_OP_POLL) return -CIO_EINVAL;
    if (!c->socket && ((is_recv(op) && end != MOCK_END_READ) || (is_send(op) && end != MOCK_END_WRITE)))
        return -CIO_EBADF; /* as pipe(2)'s ends */
    return c->socket ? mock_io_check(op, true) : 0;
}

/* A shutdown(2) of socket end `end`, now. */
static int32_t shut(mock *m, cio_op *op, mock_chan *c, int end) {
    int how = op->args.shutdown.how;
    if (how == CIO_SHUT_RD || how == CIO_SHUT_RDWR) c->shut_rd[end] = true;
    if (how == CIO_SHUT_WR || how == CIO_SHUT_RDWR) c->shut_wr[end] = true;
    mock_chan_wake(m, c);
    return 0;
}

/* A message on a connected stream names no address: TCP ignores one, an
 * AF_UNIX stream refuses it (unix_stream_sendmsg); ancillary data (file
 * descriptors, credentials) is not simulated. */
static int check_msg_send(const mock_chan *c, int end, const cio_msghdr *msg) {
    if (CIO__MSG_CONTROLLEN(msg)) return -CIO_ENOTSUP;
    if (CIO__MSG_NAME(msg) && CIO__MSG_NAMELEN(msg) && c->sock[end] && c->sock[end]->domain == AF_UNIX) return -CIO_EISCONN;
    return 0;
}

/* Moves bytes for a transfer op on end `end`: its result, MOCK_PARK or
 * MOCK_MORE. */
static int32_t transfer(mock *m, cio_op *op, mock_chan *c, int end, const mock_io *io) {
    uint32_t done = (op->internal_.bflags & MB_PARTIAL) ? (uint32_t)op->res : 0;
    uint64_t want = io->want - done;
    mock_ring *r = io->reading ? mock_rx(c, end) : mock_tx(c, end);
    if (io->reading && want == 0 && !done) return 0;
    if (!r->len || !io->reading) {
        /* A reset is reported once, after the bytes that came before it,
         * and then the end is as closed (Linux: ECONNRESET, then 0 or
         * EPIPE). A MSG_WAITALL transfer reports its bytes first. */
        if (c->socket && c->reset[end]) {
            if (done) return (int32_t)done;
            c->reset[end] = false;
            return -CIO_ECONNRESET;
        }
        if (io->reading && mock_rx_done(c, end)) return (int32_t)done; /* end of file */
        if (!io->reading && mock_tx_broken(c, end)) return done ? (int32_t)done : -CIO_EPIPE;
    }
    if (want == 0) return (int32_t)done;
    uint32_t possible = io->reading ? r->len : MOCK_RING_CAPACITY - r->len;
    /* A pipe write of at most PIPE_BUF bytes is atomic (POSIX): all of it
     * at once, or it waits for the room. */
    bool atomic = !c->socket && !io->reading && want <= MOCK_PIPE_BUF;
    if (possible == 0 || (atomic && possible < want))
        return (io->flags & CIO_MSG_DONTWAIT) ? -CIO_EAGAIN : MOCK_PARK;
    if (want < possible) possible = (uint32_t)want;
    uint32_t n = atomic ? possible : mock_transfer_size(m, possible);
    bool peek = io->reading && (io->flags & CIO_MSG_PEEK);
    n = io->reading ? mock_ring_take(r, io->iov, io->cnt, done, n, !peek) : mock_ring_put(r, io->iov, io->cnt, done, n);
    if (!peek) mock_chan_wake(m, c); /* bytes moved: the other side may go on */
    if ((op->internal_.bflags & MB_PARTIAL) && n < want) {
        op->res = (int32_t)(done + n);
        return MOCK_MORE;
    }
    return (int32_t)(done + n);
}

static int32_t chan_try(mock *m, cio_op *op, mock_handle *h) {
    mock_chan *c = h->obj;
    int end = (int)h->end;
    int32_t res = chan_refuse(c, op);
    if (res < 0) return res;
    if (op->opcode == CIO_OP_POLL) return mock_poll_answer(op, mock_chan_events(c, end));
    if (op->opcode == CIO_OP_SHUTDOWN) return shut(m, op, c, end);
    if (op->opcode == CIO_OP_RECV_POOL) return mock_recv_pool_chan(m, op, c, end);
    mock_io io;
    mock_io_of(op, &io);
    if (io.msg && !io.reading && (res = check_msg_send(c, end, io.msg)) < 0) return res;
    res = transfer(m, op, c, end, &io);
    if (io.msg && io.reading && res >= 0) {
        /* No ancillary data here; the sender's address as Linux gives it. */
        mock_sock_sender(c->sock[end], io.msg);
        CIO__MSG_CONTROLLEN(io.msg) = 0;
        CIO__MSG_FLAGS(io.msg) = 0;
    }
    return res;
}

/* The end closes: the other end sees end of file, EPIPE, ECONNRESET,
 * POLLHUP or POLLERR. The channel goes with its last end. */
static void chan_close(mock *m, mock_handle *h) {
    mock_chan *c = h->obj;
    int end = (int)h->end;
    /* As TCP answers a close with unread data by a reset (RFC 2525 2.17,
     * and Linux), and a close with SO_LINGER at 0 seconds: the peer's next
     * recv or send reports ECONNRESET. */
    end_gone(m, c, end, c->socket && (c->ring[!end].len || mock_sock_aborts(c->sock[end])));
}

const mock_kind mock_pipe_kind = {.name = "pipe", .check = chan_check, .try_op = chan_try, .close = chan_close};
const mock_kind mock_stream_kind = {.name = "stream socket", .check = chan_check, .try_op = chan_try, .close = chan_close};
