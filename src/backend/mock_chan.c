/*
 * src/backend/mock_chan.c - the mock's pipes and connected stream sockets
 * (mock_chan.h): rings of bytes between two handles, and what read, write,
 * readv, writev, recv, send, shutdown, poll and close do on them, as on a
 * pipe or a connected TCP socket on Linux (cio/mock.h). No op is allocated
 * for: only making a channel allocates.
 */
#include <stdlib.h>

#include "mock_chan.h"

int mock_chan_make(mock *m, bool socket, cio_fd fds[2]) {
    /* A pipe needs only the first ring. */
    size_t size = socket ? sizeof(mock_chan) : offsetof(mock_chan, ring) + sizeof(mock_ring);
    mock_chan *c = calloc(1, size);
    if (!c) return -CIO_ENOMEM;
    c->socket = socket;
    const mock_kind *kind = socket ? &mock_stream_kind : &mock_pipe_kind;
    for (int end = 0; end < 2; end++) {
        cio_fd fd = mock_handle_open(&m->world, kind, c, (uint32_t)end);
        if (fd < 0) {
            if (end) mock_handle_free(&m->world, c->fd[0]);
            free(c);
            return (int)fd;
        }
        c->fd[end] = fd;
        c->open[end] = true;
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

/* Copies `n` bytes between the ring at `at` and the iovecs, from the start
 * of both; `out` says which way (out of the ring into the iovecs). */
static void copy(mock_ring *r, uint32_t at, const cio_iovec *iov, unsigned iovcnt, uint32_t n, bool out) {
    for (unsigned i = 0; n > 0 && i < iovcnt; i++) {
        size_t off = 0;
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

uint32_t mock_ring_take(mock_ring *r, const cio_iovec *iov, unsigned iovcnt, uint32_t max, bool consume) {
    uint32_t n = max < r->len ? max : r->len;
    copy(r, r->head, iov, iovcnt, n, true);
    if (consume) {
        r->head = (r->head + n) % MOCK_RING_CAPACITY;
        r->len -= n;
    }
    return n;
}

uint32_t mock_ring_put(mock_ring *r, const cio_iovec *iov, unsigned iovcnt, uint32_t max) {
    uint32_t room = MOCK_RING_CAPACITY - r->len;
    uint32_t n = max < room ? max : room;
    copy(r, r->head + r->len, iov, iovcnt, n, false);
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

/* ---- the kind: what ops do on an end ---- */

static bool is_recv(const cio_op *op) {
    return op->opcode == CIO_OP_READ || op->opcode == CIO_OP_READV || op->opcode == CIO_OP_RECV;
}

static bool is_send(const cio_op *op) {
    return op->opcode == CIO_OP_WRITE || op->opcode == CIO_OP_WRITEV || op->opcode == CIO_OP_SEND;
}

/* The MSG_* flags the mock knows, by direction (cio/mock.h); others are
 * -CIO_EINVAL rather than a silently different result. */
#define MOCK_RECV_FLAGS (CIO_MSG_PEEK | CIO_MSG_WAITALL | CIO_MSG_DONTWAIT)
#ifdef MSG_NOSIGNAL
#define MOCK_SEND_FLAGS (CIO_MSG_WAITALL | CIO_MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE)
#else
#define MOCK_SEND_FLAGS (CIO_MSG_WAITALL | CIO_MSG_DONTWAIT)
#endif

static int chan_check(mock *m, cio_op *op, mock_handle *h) {
    (void)m;
    mock_chan *c = h->obj;
    int end = (int)h->end;
    switch (op->opcode) {
    case CIO_OP_READ:
    case CIO_OP_WRITE:
    case CIO_OP_READV:
    case CIO_OP_WRITEV:
    case CIO_OP_POLL:
        break;
    case CIO_OP_RECV:
    case CIO_OP_SEND:
    case CIO_OP_SHUTDOWN:
        if (!c->socket) return -CIO_ENOTSOCK;
        break;
    default:
        return -CIO_ENOSYS; /* not simulated on a pipe or stream yet */
    }
    if (op->flags & CIO_F_MULTISHOT) return -CIO_ENOSYS; /* not simulated yet */
    if (!c->socket && ((is_recv(op) && end != MOCK_END_READ) || (is_send(op) && end != MOCK_END_WRITE)))
        return -CIO_EBADF; /* as pipe(2)'s ends */
    if (op->opcode == CIO_OP_RECV || op->opcode == CIO_OP_SEND) {
        int fl = op->args.sr.flags;
        if (fl & ~(is_recv(op) ? MOCK_RECV_FLAGS : MOCK_SEND_FLAGS)) return -CIO_EINVAL;
        /* As readiness.c: not with DONTWAIT (no waiting wanted) nor PEEK
         * (the same bytes would count twice), nor for 0 bytes. */
        if ((fl & CIO_MSG_WAITALL) && !(fl & (CIO_MSG_DONTWAIT | CIO_MSG_PEEK)) && op->args.sr.len)
            op->internal_.bflags |= MB_PARTIAL;
    }
    return 0;
}

/* A shutdown(2) of socket end `end`, now. */
static int32_t shut(mock *m, cio_op *op, mock_chan *c, int end) {
    int how = op->args.shutdown.how;
    if (how == CIO_SHUT_RD || how == CIO_SHUT_RDWR) c->shut_rd[end] = true;
    if (how == CIO_SHUT_WR || how == CIO_SHUT_RDWR) c->shut_wr[end] = true;
    mock_chan_wake(m, c);
    return 0;
}

static int32_t chan_try(mock *m, cio_op *op, mock_handle *h) {
    mock_chan *c = h->obj;
    int end = (int)h->end;
    if (op->opcode == CIO_OP_POLL) {
        uint32_t ev = mock_chan_events(c, end) & (op->args.poll.events | CIO_POLLERR | CIO_POLLHUP);
        return ev ? (int32_t)ev : MOCK_PARK;
    }
    if (op->opcode == CIO_OP_SHUTDOWN) return shut(m, op, c, end);
    cio_iovec one;
    const cio_iovec *iov = &one;
    unsigned cnt = 1;
    int flags = 0;
    uint32_t done = (op->internal_.bflags & MB_PARTIAL) ? (uint32_t)op->res : 0;
    if (op->opcode == CIO_OP_RECV || op->opcode == CIO_OP_SEND) {
        one.iov_base = (char *)op->args.sr.buf + done; /* MSG_WAITALL: what is left */
        one.iov_len = op->args.sr.len - done;
        flags = op->args.sr.flags;
    } else if (op->opcode == CIO_OP_READ || op->opcode == CIO_OP_WRITE) {
        one.iov_base = op->args.rw.buf;
        one.iov_len = op->args.rw.len;
    } else {
        iov = op->args.rwv.iov;
        cnt = op->args.rwv.iovcnt;
    }
    uint64_t want = 0;
    for (unsigned i = 0; i < cnt; i++) want += iov[i].iov_len;
    bool reading = is_recv(op);
    mock_ring *r = reading ? mock_rx(c, end) : mock_tx(c, end);
    if (reading && want == 0 && !done) return 0;
    if (!r->len || !reading) {
        /* A reset is reported once, after the bytes that came before it,
         * and then the end is as closed (Linux: ECONNRESET, then 0 or
         * EPIPE). A MSG_WAITALL transfer reports its bytes first. */
        if (c->socket && c->reset[end]) {
            if (done) return (int32_t)done;
            c->reset[end] = false;
            return -CIO_ECONNRESET;
        }
        if (reading && mock_rx_done(c, end)) return (int32_t)done; /* end of file */
        if (!reading && mock_tx_broken(c, end)) return done ? (int32_t)done : -CIO_EPIPE;
    }
    if (want == 0) return (int32_t)done;
    uint32_t possible = reading ? r->len : MOCK_RING_CAPACITY - r->len;
    if (possible == 0) return (flags & CIO_MSG_DONTWAIT) ? -CIO_EAGAIN : MOCK_PARK;
    if (want < possible) possible = (uint32_t)want;
    uint32_t n = mock_transfer_size(m, possible);
    bool peek = reading && (flags & CIO_MSG_PEEK);
    n = reading ? mock_ring_take(r, iov, cnt, n, !peek) : mock_ring_put(r, iov, cnt, n);
    if (!peek) mock_chan_wake(m, c); /* bytes moved: the other side may go on */
    if ((op->internal_.bflags & MB_PARTIAL) && n < want) {
        op->res = (int32_t)(done + n);
        return MOCK_MORE;
    }
    return (int32_t)(done + n);
}

/* The end closes: the other end sees end of file, EPIPE, ECONNRESET,
 * POLLHUP or POLLERR. The channel goes with its last end. */
static void chan_close(mock *m, mock_handle *h) {
    mock_chan *c = h->obj;
    int end = (int)h->end;
    c->open[end] = false;
    /* As TCP answers a close with unread data by a reset (RFC 2525 2.17,
     * and Linux): the peer's next recv or send reports ECONNRESET. */
    if (c->socket && c->ring[!end].len) c->reset[!end] = true;
    if (c->open[!end]) {
        mock_wake(m, c->fd[!end]);
        return;
    }
    free(c->names);
    free(c);
}

const mock_kind mock_pipe_kind = {.name = "pipe", .check = chan_check, .try_op = chan_try, .close = chan_close};
const mock_kind mock_stream_kind = {.name = "stream socket", .check = chan_check, .try_op = chan_try, .close = chan_close};
