/*
 * src/backend/iocp_net.c - sockets on the completion port: WSARecv and
 * WSASend (read, write, their vectors, recv, send), WSARecvMsg and
 * WSASendMsg, AcceptEx, ConnectEx; and the calls that do not block
 * (socket, bind, listen, shutdown), made on the loop's thread.
 *
 * Winsock has no MSG_WAITALL for overlapped requests that cio can rely on
 * and no per-call MSG_DONTWAIT; both are cio's here. MSG_WAITALL on a
 * stream issues the rest again until all has moved, end of file or an
 * error (op->res counts, BF_COUNT). MSG_DONTWAIT asks first whether the
 * socket is ready (a poll that does not wait) and answers -CIO_EAGAIN
 * without a request if not: on Windows a CancelIoEx of one receive may
 * cancel the socket's other receives too. Only a request that still goes
 * pending (another op took what was there) is cancelled at once.
 *
 * Linux hands a broken connection's error to one call, and later calls
 * find the socket closed; Winsock reports the reset to every request, now
 * and later. So the first report of a reset (or of the end of the stream)
 * is remembered per handle (peer_gone), and after it a reset is end of
 * stream for a receive and -CIO_EPIPE for a send, as on Linux.
 */
#include "iocp.h"
#include "../core/bufpool.h"

/* Microsoft's extensions, loaded once per process through
 * SIO_GET_EXTENSION_FUNCTION_POINTER (no link to mswsock.dll). */
static struct {
    LPFN_ACCEPTEX accept;
    LPFN_CONNECTEX connect;
    LPFN_GETACCEPTEXSOCKADDRS addrs;
    LPFN_WSARECVMSG recvmsg;
    LPFN_WSASENDMSG sendmsg;
} ext;

static void load(SOCKET s, GUID id, void *fn, size_t size) {
    DWORD n = 0;
    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, fn, (DWORD)size, &n, NULL, NULL) != 0)
        memset(fn, 0, size);
}

void iocp_net_setup(void) {
    SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET) s = WSASocketW(AF_INET6, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET) return; /* no TCP at all: the ops that need these fail with -CIO_ENOTSUP */
    load(s, (GUID)WSAID_ACCEPTEX, &ext.accept, sizeof ext.accept);
    load(s, (GUID)WSAID_CONNECTEX, &ext.connect, sizeof ext.connect);
    load(s, (GUID)WSAID_GETACCEPTEXSOCKADDRS, &ext.addrs, sizeof ext.addrs);
    load(s, (GUID)WSAID_WSARECVMSG, &ext.recvmsg, sizeof ext.recvmsg);
    load(s, (GUID)WSAID_WSASENDMSG, &ext.sendmsg, sizeof ext.sendmsg);
    closesocket(s);
}

/* ---- the calls that do not block ---- */

static int32_t sock_result(int r) { return r == 0 ? 0 : cio__sock_error(); }

static void udp_connreset(SOCKET s, BOOL on) {
    DWORD got = 0;
    WSAIoctl(s, SIO_UDP_CONNRESET, &on, sizeof on, NULL, 0, &got, NULL, NULL);
}

/* Windows reports an ICMP port-unreachable as a reset of the next receive
 * of an unconnected UDP socket; Linux only of a connected one (connect
 * turns it back on: connect_issue). Turned off only for sockets cio makes
 * or does IO on: a socket only polled may be another component's. */
void iocp_sock_learnt(iocp_handle *h) {
    struct sockaddr_storage peer;
    int len = sizeof peer;
    if (h->socktype == SOCK_DGRAM && getpeername((SOCKET)h->fd, (struct sockaddr *)&peer, &len) != 0)
        udp_connreset((SOCKET)h->fd, FALSE);
}

/* Made as every socket cio makes (handle_win.h: never inherited); an
 * unconnected datagram socket does not see ICMP as resets. */
static int32_t make_socket(cio_op *op) {
    int type = op->args.socket.type;
    int base_type = type & ~(CIO_SOCK_NONBLOCK | CIO_SOCK_CLOEXEC);
    SOCKET s = cio__win_socket(op->args.socket.domain, base_type, op->args.socket.protocol);
    if (s == INVALID_SOCKET) return cio__sock_error();
    int32_t r = cio__win_sock_setup(s, type, false);
    if (r < 0) {
        closesocket(s);
        return r;
    }
    if (base_type == SOCK_DGRAM) udp_connreset(s, FALSE);
    iocp_forget(iocp_state(op->internal_.loop), (cio_fd)s);
    return cio__fd_result(op, (cio_fd)s);
}

static bool receives(const cio_op *op);

/* shutdown(SHUT_RD or RDWR) of a listener stops it on Linux: its waiting
 * accepts end with -CIO_EINVAL, and so do later ones. Winsock refuses to
 * shut a listener down (WSAENOTCONN); cio ends the accepts itself. The
 * socket still takes connections into its backlog (nothing but a close
 * stops that on Windows); they are not accepted through cio. */
static int32_t shut_listener(cio_loop *loop, cio_fd fd) {
    int err = 0;
    /* Joined (R13 would rather not): an entry off the port is learnt afresh
     * at the next op, which would forget shut_listen. */
    iocp_handle *h = iocp_learn(loop, fd, &err);
    if (!h) return err;
    h->shut_listen = true;
    for (cio_op *o = h->ops.head; o; o = OPQ_NEXT(o)) {
        if (o->opcode != CIO_OP_ACCEPT || !(o->internal_.bflags & BF_KERNEL)) continue;
        o->internal_.bflags |= BF_SHUT_RD;
        h->cancels++;
        CancelIoEx((HANDLE)fd, iocp_ov(o));
    }
    return 0;
}

/* shutdown(2) (handle_win.h gives Linux's codes). SHUT_RD also ends the
 * receives waiting on the socket with end of stream, as on Linux; Winsock
 * leaves them waiting. */
static int32_t shut(cio_loop *loop, cio_op *op) {
    cio_fd fd = op->args.shutdown.fd;
    int how = op->args.shutdown.how;
    int32_t r = cio__win_shutdown(fd, how);
    if (r > 0) return shut_listener(loop, fd);
    /* Linux shuts the socket down even when it answers ENOTCONN (an
     * unconnected datagram socket): its receives end all the same. */
    if ((r < 0 && r != -CIO_ENOTCONN) || how == CIO_SHUT_WR) return r;
    /* Joined as for IO: an entry off the port is learnt afresh at the next
     * op (revalidate), which would forget rd_shut. */
    int err = 0;
    iocp_handle *h = iocp_learn(loop, fd, &err);
    if (!h) return r;
    /* Winsock reports neither a DONTWAIT receive's readiness nor AFD a
     * poll's for a local SD_RECEIVE: remembered, see dontwait_ready. */
    if (r == 0 || h->socktype == SOCK_DGRAM) h->rd_shut = true; /* not an unconnected stream's refusal */
    iocp *s = iocp_state(loop);
    for (cio_op *o = h->ops.head; o; o = OPQ_NEXT(o)) {
        if (!(o->internal_.bflags & BF_KERNEL)) continue;
        if (o->opcode == CIO_OP_POLL) {
            /* iocp_poll_done answers IN|RDHUP for it. */
            if (!(o->args.poll.events & (CIO_POLLIN | CIO_POLLRDHUP)) || !(o->internal_.bflags & BF_AFD) || !s->afd)
                continue;
            o->internal_.bflags |= BF_SHUT_RD;
            CancelIoEx(s->afd, iocp_ov(o));
            continue;
        }
        if (o->opcode == CIO_OP_ACCEPT || !receives(o)) continue;
        o->internal_.bflags |= BF_SHUT_RD;
        if (o->internal_.bflags & BF_AFD) { /* a recv_pool off the port (pool_issue) */
            if (s->afd) CancelIoEx(s->afd, iocp_ov(o));
            continue;
        }
        h->cancels++;
        CancelIoEx((HANDLE)fd, iocp_ov(o));
    }
    return r;
}

int32_t iocp_sock_inline(cio_loop *loop, cio_op *op) {
    switch (op->opcode) {
    case CIO_OP_SOCKET:
        return make_socket(op);
    case CIO_OP_BIND:
        return cio__win_bind(op->args.addr.fd, op->args.addr.addr, (int)op->args.addr.addrlen);
    case CIO_OP_LISTEN: {
        int32_t r = cio__win_listen(op->args.listen.fd, op->args.listen.backlog);
        /* Listening again after a shutdown takes connections again, as on Linux. */
        iocp_handle *h = r == 0 ? iocp_find(iocp_state(loop), op->args.listen.fd) : NULL;
        if (h) h->shut_listen = false;
        return r;
    }
    default:
        return shut(loop, op);
    }
}

/* ---- transfers: WSARecv, WSASend, WSARecvMsg, WSASendMsg ---- */

static bool receives(const cio_op *op) { return cio__opdef(op)->dir == OPD_DIR_IN; }

static int msg_flags(const cio_op *op) { return cio__op_msg_flags(op); }

/* Whether MSG_WAITALL makes cio go on after a short transfer: on a stream,
 * not with MSG_DONTWAIT (no waiting wanted) nor MSG_PEEK (the same bytes
 * again), as on the other backends. */
static bool waits_for_all(const iocp_handle *h, const cio_op *op) {
    int fl = msg_flags(op);
    return (fl & CIO_MSG_WAITALL) && !(fl & (CIO_MSG_DONTWAIT | CIO_MSG_PEEK)) && h->socktype == SOCK_STREAM;
}

/* The flags Winsock itself gets: cio's own are emulated here. */
static DWORD wsa_flags(const cio_op *op) {
    return (DWORD)(msg_flags(op) & ~(CIO_MSG_DONTWAIT | CIO_MSG_WAITALL));
}

/* The op's buffers, as WSABUFs (cio_iovec is laid out as one). */
static const WSABUF *op_bufs(const cio_op *op, WSABUF *one, DWORD *n) {
    switch (op->opcode) {
    case CIO_OP_READ:
    case CIO_OP_WRITE:
        one->buf = op->args.rw.buf;
        one->len = op->args.rw.len;
        *n = 1;
        return one;
    case CIO_OP_RECV:
    case CIO_OP_SEND:
        one->buf = op->args.sr.buf;
        one->len = op->args.sr.len;
        *n = 1;
        return one;
    case CIO_OP_READV:
    case CIO_OP_WRITEV:
        *n = op->args.rwv.iovcnt;
        return (const WSABUF *)(const void *)op->args.rwv.iov;
    default:
        *n = CIO__MSG_IOVLEN(op->args.msg.msg);
        return op->args.msg.msg->lpBuffers;
    }
}

/* What remains of the op's buffers after `done` bytes, at most REST_MAX
 * WSABUFs: Winsock captures the array at the call, so it may live on the
 * stack; a longer rest goes in a later request. */
#define REST_MAX 16
static DWORD rest(const cio_op *op, uint32_t done, WSABUF *out) {
    WSABUF one;
    DWORD n, i = 0, k = 0;
    const WSABUF *b = op_bufs(op, &one, &n);
    /* At most IOCP_XFER_MAX bytes in all (iocp.h): a larger request is cut. */
    ULONG cap = done < IOCP_XFER_MAX ? IOCP_XFER_MAX - done : 0;
    while (i < n && done > 0 && done >= b[i].len) done -= b[i++].len;
    for (; i < n && k < REST_MAX && cap > 0; i++, k++) {
        out[k].buf = b[i].buf + done;
        out[k].len = b[i].len - done;
        if (out[k].len > cap) out[k].len = cap;
        cap -= out[k].len;
        done = 0;
    }
    return k;
}

static size_t total_len(const cio_op *op) {
    WSABUF one;
    DWORD n;
    const WSABUF *b = op_bufs(op, &one, &n);
    size_t t = 0;
    for (DWORD i = 0; i < n; i++) t += b[i].len;
    return t;
}

/* recvmsg and sendmsg keep their own calls on datagram and raw sockets,
 * where names and control data mean something. On a stream (Windows
 * refuses WSARecvMsg there) they are WSARecv and WSASend of the iovecs:
 * the name is ignored (and its length set to 0 on receive, as Linux does
 * for a connected stream); control data is -CIO_ENOTSUP (op.h). */
static bool uses_msg_call(const iocp_handle *h, const cio_op *op) {
    return (op->opcode == CIO_OP_RECVMSG || op->opcode == CIO_OP_SENDMSG) && h->socktype != SOCK_STREAM;
}

/* One request for the rest of the transfer; returns 0 or the WSA error. */
static int transfer(iocp_handle *h, cio_op *op, uint32_t done) {
    SOCKET s = (SOCKET)h->fd;
    /* A socket has no position: Offset keeps h->cancels at issue (collateral). */
    OVERLAPPED *ov = iocp_ov_at(op, h->cancels);
    /* An NT_ERROR left here means the call failed before the request was
     * made (no status written, no packet): see xfer_issue. */
    ov->Internal = (ULONG_PTR)(ULONG)IOCP_ST_UNSUCCESSFUL;
    if (uses_msg_call(h, op)) {
        cio_msghdr *m = op->args.msg.msg;
        if (receives(op)) {
            if (!ext.recvmsg) return WSAEOPNOTSUPP;
            m->dwFlags = wsa_flags(op);
            return ext.recvmsg(s, m, NULL, ov, NULL) == 0 ? 0 : WSAGetLastError();
        }
        if (!ext.sendmsg) return WSAEOPNOTSUPP;
        return ext.sendmsg(s, m, wsa_flags(op), NULL, ov, NULL) == 0 ? 0 : WSAGetLastError();
    }
    WSABUF one, bufs[REST_MAX];
    DWORD n;
    /* The caller's array as it is, the first time (cio_iovec is laid out
     * as WSABUF); only a rest needs a copy. */
    WSABUF *b = (WSABUF *)op_bufs(op, &one, &n);
    if (done || total_len(op) > IOCP_XFER_MAX) {
        n = rest(op, done, bufs);
        b = bufs;
    }
    if (receives(op)) {
        DWORD fl = wsa_flags(op);
        return WSARecv(s, b, n, NULL, &fl, ov, NULL) == 0 ? 0 : WSAGetLastError();
    }
    return WSASend(s, b, n, NULL, wsa_flags(op), ov, NULL) == 0 ? 0 : WSAGetLastError();
}

/* A never-connected stream socket: a send there is -CIO_EPIPE on Linux;
 * Winsock says WSAENOTCONN, Wine WSAECONNRESET. */
static bool never_connected(const iocp_handle *h) {
    DWORD secs = 0;
    int len = sizeof secs;
    return getsockopt((SOCKET)h->fd, SOL_SOCKET, SO_CONNECT_TIME, (char *)&secs, &len) == 0 && secs == 0xFFFFFFFFu;
}

/* A transfer's failure on a stream as Linux reports it (see the top): the
 * connection's end is reported once, then the socket is closed for good. */
static int32_t stream_error(iocp_handle *h, const cio_op *op, int32_t r) {
    if (h->socktype != SOCK_STREAM) return r;
    bool rd = receives(op);
    if (r == -CIO_ECONNRESET || r == -CIO_ECONNABORTED) {
        if (h->peer_gone) return rd ? 0 : -CIO_EPIPE;
        if (!rd && never_connected(h)) return -CIO_EPIPE;
        h->peer_gone = true;
        return r;
    }
    if (r == -CIO_ENOTCONN && !rd) return -CIO_EPIPE; /* as send(2) */
    return r;
}

/* Whether a MSG_DONTWAIT transfer can go ahead: data, end of stream, an
 * error or room to send. A poll that fails says yes: the request then
 * goes pending and is cancelled, as before the check. */
static bool dontwait_ready(const iocp_handle *h, const cio_op *op) {
    /* States WSAPoll calls "not ready" where the call fails at once (as
     * Linux's does): a receive after cio's own SHUT_RD (WSAESHUTDOWN: 0), a
     * send on a stream never connected or whose peer is gone (-CIO_EPIPE). */
    if (receives(op) ? h->rd_shut : h->socktype == SOCK_STREAM && (h->peer_gone || never_connected(h))) return true;
    WSAPOLLFD p = {.fd = (SOCKET)h->fd, .events = receives(op) ? POLLRDNORM : POLLWRNORM};
    return WSAPoll(&p, 1, 0) != 0;
}

static bool has_name(const cio_op *op) {
    return op->opcode == CIO_OP_SENDMSG && op->args.msg.msg->name && op->args.msg.msg->namelen;
}

static bool xfer_issue(iocp_handle *h, cio_op *op, int32_t *res) {
    uint32_t done = (uint32_t)op->res;
    if (has_name(op) && h->socktype != SOCK_STREAM) {
        /* Linux's answers for a destination of the wrong length or family. */
        int32_t r = cio__name_error(h->family, op->args.msg.msg->name, op->args.msg.msg->namelen, 0);
        if (r) {
            *res = r;
            return false;
        }
    }
    if (op->opcode == CIO_OP_RECVMSG || op->opcode == CIO_OP_SENDMSG) {
        cio_msghdr *m = op->args.msg.msg;
        if (h->socktype == SOCK_STREAM && m->Control.len) {
            *res = -CIO_ENOTSUP;
            return false;
        }
        if (h->socktype == SOCK_STREAM && receives(op)) {
            m->namelen = 0;
            m->dwFlags = 0;
        }
    }
    size_t len = total_len(op);
    bool is_read = op->opcode == CIO_OP_READ || op->opcode == CIO_OP_READV;
    if (!len && is_read && h->socktype == SOCK_STREAM) {
        /* read(2) of nothing on a socket returns at once; recv(2) of
         * nothing waits for the stream as a 0-byte WSARecv does. */
        *res = 0;
        return false;
    }
    if (!done && (msg_flags(op) & CIO_MSG_DONTWAIT) && !dontwait_ready(h, op)) {
        *res = -CIO_EAGAIN;
        return false;
    }
    if (waits_for_all(h, op) && len > 0) op->internal_.bflags |= BF_COUNT;
    int err = transfer(h, op, done);
    /* A truncated datagram fails at once with WSAEMSGSIZE yet still
     * queues its packet (FINDINGS 5: no skip mode on any socket; a warning,
     * iocp.h). A send's WSAEMSGSIZE refused the datagram: no packet. */
    bool truncated = err == WSAEMSGSIZE && receives(op) && h->socktype != SOCK_STREAM;
    /* Windows documents a send's WSAEMSGSIZE as immediate (no packet);
     * Wine 8 queues one all the same (success, 0 bytes). The status the
     * call left in the OVERLAPPED tells which: a packet comes unless it
     * is an NT_ERROR (iocp.h). */
    if (err == WSAEMSGSIZE && !receives(op) && iocp_st_queues((LONG)(ULONG)iocp_ov(op)->Internal)) {
        op->internal_.bflags |= BF_MSGSIZE;
        truncated = true;
    }
    if (err == 0 || err == WSA_IO_PENDING || truncated) {
        iocp_issued(h, op);
        /* A send of nothing on a stream never waits (POSIX: 0 at once, or
         * the socket's error). Wine queues a 0-byte WSASend behind a full
         * send buffer until the peer reads: end it now, as a DONTWAIT one. */
        bool empty_send = !len && !receives(op) && h->socktype == SOCK_STREAM;
        if (err == WSA_IO_PENDING && ((msg_flags(op) & CIO_MSG_DONTWAIT) || empty_send)) {
            op->internal_.bflags |= BF_DONTWAIT;
            h->cancels++;
            CancelIoEx((HANDLE)h->fd, iocp_ov(op));
        }
        return true;
    }
    /* A send on a stream after its own shutdown(SD_SEND): Windows'
     * WSAESHUTDOWN is POSIX's EPIPE. */
    int32_t r = stream_error(h, op, cio__wsa_error(err));
    /* A datagram with nowhere to go: Winsock's WSAENOTCONN or WSAEINVAL. */
    if (h->socktype != SOCK_STREAM && !receives(op) && !has_name(op) && !cio__win_sock_connected(h->fd))
        r = -CIO_EDESTADDRREQ;
    if (err == WSAESHUTDOWN) r = receives(op) ? 0 : -CIO_EPIPE; /* after SHUT_RD, recv(2) says end of file */
    *res = done ? (int32_t)done : r;
    return false;
}

/* A request cancelled though nobody asked: on Windows a CancelIoEx of one
 * socket request may take the socket's other receives with it. */
static bool collateral(cio_loop *loop, const iocp_handle *h, const cio_op *op, LONG st) {
    return st == IOCP_ST_CANCELLED && !(op->internal_.bflags & (BF_CANCEL | BF_DONTWAIT | BF_SHUT_RD)) &&
           !h->closing && !cio__core(loop)->closing &&
           /* Only when cio cancelled another request on the socket since
            * this one was issued (closesocket behind cio's back, or another
            * component's CancelIoEx, also give STATUS_CANCELLED), and the
            * value still names a socket of its kind. */
           op->internal_.win.ov.Offset != (DWORD)h->cancels && cio__win_sock_type(h->fd) == h->socktype;
}

/* Whether a 0-byte stream receive that ended with 0 saw the end of the
 * stream: nothing left to read (FIONREAD), and no other receive that could
 * have taken the bytes that ended it: none waiting, none that took bytes in
 * this turn (its packet came in the same batch, before this one; the
 * probe's packet comes first when both are in the kernel). Else a live
 * stream would be taken for ended, and its reset for an end of stream. */
static bool eof_probe(cio_loop *loop, const iocp_handle *h, const cio_op *op) {
    if (h->rx_turn == cio__core(loop)->stats.turns && h->rx_run == iocp_state(loop)->runs) return false;
    for (const cio_op *o = h->ops.head; o; o = OPQ_NEXT(o))
        if (o != op && o->opcode != CIO_OP_POLL && o->opcode != CIO_OP_ACCEPT && receives(o)) return false;
    u_long n = 0;
    return ioctlsocket((SOCKET)h->fd, FIONREAD, &n) == 0 && n == 0;
}

static int xfer_done(cio_loop *loop, iocp_handle *h, cio_op *op, LONG st, DWORD bytes, int32_t *res) {
    uint32_t done = (uint32_t)op->res;
    uint16_t bf = op->internal_.bflags;
    if (bf & BF_MSGSIZE) {
        *res = -CIO_EMSGSIZE; /* refused at submit, whatever its packet says */
        return STEP_FINAL;
    }
    bool truncated = st == IOCP_ST_BUFFER_OVERFLOW && h->socktype != SOCK_STREAM;
    if (truncated) {
        /* The datagram was longer than the buffers: POSIX reports the
         * bytes kept, and MSG_TRUNC for recvmsg (Wine does not set it). */
        if (uses_msg_call(h, op)) op->args.msg.msg->dwFlags |= CIO_MSG_TRUNC;
        st = 0;
    }
    if (st == IOCP_ST_CANCELLED && (bf & BF_DONTWAIT) && !(bf & BF_CANCEL)) {
        bool empty_send = !receives(op) && !total_len(op); /* 0, not EAGAIN: see xfer_issue */
        *res = bytes || empty_send ? (int32_t)bytes : -CIO_EAGAIN;
        return STEP_FINAL;
    }
    if (st == IOCP_ST_CANCELLED && (bf & BF_SHUT_RD) && !(bf & BF_CANCEL)) {
        *res = (int32_t)(done + bytes); /* what came before, then end of stream */
        return STEP_FINAL;
    }
    if (!bytes && collateral(loop, h, op, st)) {
        if (xfer_issue(h, op, res)) return STEP_AGAIN;
        return STEP_FINAL;
    }
    if (bytes && receives(op) && h->socktype == SOCK_STREAM) {
        h->rx_turn = cio__core(loop)->stats.turns;
        h->rx_run = iocp_state(loop)->runs;
    }
    int32_t r = iocp_status(h, op, st);
    if (r < 0) {
        /* Bytes that moved before the failure are reported (op.h). The
         * error is then the next call's, as Linux's send that moved a part
         * leaves it pending; but MSG_WAITALL has seen it, as Linux's
         * retries do, and takes it with its count. */
        if (done + bytes && !(bf & BF_COUNT)) {
            *res = (int32_t)(done + bytes);
            return STEP_FINAL;
        }
        r = stream_error(h, op, r);
        *res = done + bytes ? (int32_t)(done + bytes) : r;
        return STEP_FINAL;
    }
    if (receives(op) && h->socktype == SOCK_STREAM && done + bytes == 0 && !(bf & BF_SHUT_RD)) {
        /* End of stream. A 0-byte receive also ends when bytes come, which
         * it leaves in place: see eof_probe. */
        if (total_len(op) > 0 || eof_probe(loop, h, op)) h->peer_gone = true;
    }
    done += bytes;
    if ((bf & BF_COUNT) && bytes > 0 && !(bf & BF_CANCEL) && done < total_len(op) && done < IOCP_XFER_MAX) {
        op->res = (int32_t)done;
        if (xfer_issue(h, op, res)) return STEP_AGAIN;
        return STEP_FINAL;
    }
    *res = (int32_t)done;
    return STEP_FINAL;
}

/* ---- accept: AcceptEx into a socket made here ---- */

static void side_drop(iocp *s, cio_op *op) {
    iocp_side_put(s, op->res);
    op->res = 0;
    op->internal_.bflags &= (uint16_t)~BF_SIDE;
}

/* Whether the socket listens: accept(2) on one that does not is
 * -CIO_EINVAL, where Wine's AcceptEx would wait for ever. Asked until the
 * answer is yes (a socket does not stop listening). */
static bool listens(iocp_handle *h) {
    if (!h->listening) {
        BOOL on = FALSE;
        int len = sizeof on;
        h->listening = getsockopt((SOCKET)h->fd, SOL_SOCKET, SO_ACCEPTCONN, (char *)&on, &len) == 0 && on;
    }
    return h->listening;
}

static bool accept_issue(cio_loop *loop, iocp_handle *h, cio_op *op, int32_t *res) {
    iocp *s = iocp_state(loop);
    if (!ext.accept || !ext.addrs) {
        *res = -CIO_ENOTSUP;
        return false;
    }
    if (h->shut_listen || !listens(h)) {
        *res = -CIO_EINVAL;
        return false;
    }
    int32_t idx = iocp_side_take(s);
    if (idx < 0) {
        *res = idx;
        return false;
    }
    op->res = idx;
    op->internal_.bflags |= BF_SIDE;
    iocp_side *sd = iocp_side_get(s, idx);
    sd->sock = cio__win_socket(h->family, h->socktype, h->protocol);
    if (sd->sock == INVALID_SOCKET) {
        *res = cio__sock_error();
        side_drop(s, op);
        return false;
    }
    DWORD got = 0;
    /* No receive data: a client that connects and sends nothing must not
     * hold the accept (FINDINGS 2). */
    if (ext.accept((SOCKET)h->fd, sd->sock, sd->u.addrs, 0, IOCP_ACCEPT_ADDR_LEN, IOCP_ACCEPT_ADDR_LEN, &got,
                   iocp_ov_at(op, h->cancels)) || /* Offset: see transfer */
        WSAGetLastError() == ERROR_IO_PENDING) {
        iocp_issued(h, op);
        return true;
    }
    *res = cio__sock_error();
    closesocket(sd->sock);
    side_drop(s, op);
    return false;
}

/* The accepted socket made ready for use as accept(2) returns it: its
 * context from the listener (getpeername, shutdown, ... need it), the
 * peer's address for the caller, non-blocking if asked. */
static int32_t accepted(iocp_handle *h, cio_op *op, iocp_side *sd) {
    SOCKET ls = (SOCKET)h->fd, ns = sd->sock;
    if (setsockopt(ns, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&ls, sizeof ls) != 0) return cio__sock_error();
    int32_t r = cio__win_sock_setup(ns, op->args.accept.flags, true);
    if (r < 0) return r;
    if (op->args.accept.addr) {
        struct sockaddr *local = NULL, *remote = NULL;
        int llen = 0, rlen = 0;
        ext.addrs(sd->u.addrs, 0, IOCP_ACCEPT_ADDR_LEN, IOCP_ACCEPT_ADDR_LEN, &local, &llen, &remote, &rlen);
        cio_socklen cap = *op->args.accept.addrlen;
        if (remote && cap > 0) memcpy(op->args.accept.addr, remote, (size_t)(rlen < cap ? rlen : cap));
        *op->args.accept.addrlen = remote ? rlen : 0;
    }
    return 0;
}

static int accept_done(cio_loop *loop, iocp_handle *h, cio_op *op, LONG st, int32_t *res) {
    iocp *s = iocp_state(loop);
    iocp_side *sd = iocp_side_get(s, op->res);
    SOCKET ns = sd->sock;
    uint16_t bf = op->internal_.bflags;
    bool again = collateral(loop, h, op, st);
    int32_t r = iocp_status(h, op, st);
    if (st == IOCP_ST_CANCELLED && (bf & BF_SHUT_RD) && !(bf & BF_CANCEL)) r = -CIO_EINVAL; /* shut_listener */
    if (r == 0) r = accepted(h, op, sd);
    side_drop(s, op);
    if (r < 0) {
        closesocket(ns);
        /* A client that reset before it was accepted is no error of the
         * listener's: wait for the next. (Linux accepts such a connection
         * and its first recv fails; Windows drops it from the backlog, and
         * Wine fails the AcceptEx with STATUS_INVALID_CONNECTION.) */
        bool gone = r == -CIO_ECONNRESET || r == -CIO_ECONNABORTED || st == IOCP_ST_INVALID_CONNECTION || again;
        if (gone && !(op->internal_.bflags & BF_CANCEL) && !h->closing && accept_issue(loop, h, op, res))
            return STEP_AGAIN;
        *res = r;
        return STEP_FINAL;
    }
    /* The OVERLAPPED is done with: the handle takes its place (cio_op_fd). */
    iocp_forget(iocp_state(loop), (cio_fd)ns);
    *res = cio__fd_result(op, (cio_fd)ns);
    return (op->flags & CIO_F_MULTISHOT) ? STEP_MORE : STEP_FINAL;
}

/* ---- connect: ConnectEx, after an implicit bind ---- */

static bool connect_issue(iocp_handle *h, cio_op *op, int32_t *res) {
    SOCKET s = (SOCKET)h->fd;
    const struct sockaddr *to = op->args.addr.addr;
    bool tcp = h->socktype == SOCK_STREAM && (to->sa_family == AF_INET || to->sa_family == AF_INET6);
    if (!tcp && h->socktype != SOCK_STREAM) {
        /* A datagram socket's connect only sets its peer: it never waits. */
        *res = sock_result(connect(s, to, op->args.addr.addrlen));
        if (*res == 0 && h->socktype == SOCK_DGRAM) udp_connreset(s, TRUE);
        return false;
    }
    if (!tcp || !ext.connect) {
        *res = -CIO_ENOTSUP; /* ConnectEx is TCP's: the pool connects others */
        return false;
    }
    int err = cio__win_bind_wildcard(s, to->sa_family);
    if (err == 0 && !ext.connect(s, to, op->args.addr.addrlen, NULL, 0, NULL, iocp_ov_at(op, 0)))
        err = WSAGetLastError();
    if (err == 0 || err == ERROR_IO_PENDING) {
        iocp_issued(h, op);
        return true;
    }
    *res = cio__wsa_error(err);
    return false;
}

static int connect_done(iocp_handle *h, cio_op *op, LONG st, int32_t *res) {
    int32_t r = iocp_status(h, op, st);
    /* Until this, getpeername, shutdown and friends may not know the
     * socket is connected. */
    if (r == 0 && setsockopt((SOCKET)h->fd, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0) != 0)
        r = cio__sock_error();
    *res = r;
    return STEP_FINAL;
}

/* ---- what iocp.c calls ---- */

/* ---- receives into a buffer pool (cio/bufpool.h) ---- */

/* libuv's way: a request of 0 bytes waits for the socket to be readable
 * holding no buffer (on a datagram socket with MSG_PEEK, which leaves the
 * datagram a plain 0-byte receive would eat); at its packet a receive
 * that cannot block fills a free buffer on the loop's thread.
 *
 * A socket that cannot join the port (made without WSA_FLAG_OVERLAPPED,
 * or on another loop's port) would send that request's packet nowhere:
 * it waits through the loop's AFD handle instead, as a poll does
 * (iocp_poll.c), which needs no association, and the receive that fills
 * the buffer is the same plain recv(). No pool thread is needed, and the
 * op holds no buffer while it waits, as on every backend. */
static bool pool_issue(cio_loop *loop, iocp_handle *h, cio_op *op, int32_t *res) {
    if (h->rd_shut) { /* after cio's own SHUT_RD: the end, as recv(2) says */
        *res = 0;
        return false;
    }
    if (h->kind != H_SOCKET) return iocp_afd_issue(loop, h, op, CIO_POLLIN, res);
    WSABUF none = {.len = 0, .buf = NULL};
    DWORD fl = h->socktype == SOCK_STREAM ? 0 : MSG_PEEK;
    OVERLAPPED *ov = iocp_ov_at(op, h->cancels); /* Offset: see transfer */
    ov->Internal = (ULONG_PTR)(ULONG)IOCP_ST_UNSUCCESSFUL;
    int err = WSARecv((SOCKET)h->fd, &none, 1, NULL, &fl, ov, NULL) == 0 ? 0 : WSAGetLastError();
    /* A datagram peeked into nothing is cut: a warning, its packet comes (iocp.h). */
    if (err == 0 || err == WSA_IO_PENDING || (err == WSAEMSGSIZE && h->socktype != SOCK_STREAM)) {
        iocp_issued(h, op);
        return true;
    }
    *res = err == WSAESHUTDOWN ? 0 : stream_error(h, op, cio__wsa_error(err));
    return false;
}

/* Whether a receive on the socket returns at once (bytes, the end of the
 * stream, an error): the 0-byte request says the socket was readable, but
 * another receive may have taken the bytes since. */
static bool pool_readable(const iocp_handle *h) {
    WSAPOLLFD p = {.fd = (SOCKET)h->fd, .events = POLLRDNORM};
    return WSAPoll(&p, 1, 0) > 0 && p.revents;
}

static int pool_done(cio_loop *loop, iocp_handle *h, cio_op *op, LONG st, int32_t *res) {
    uint16_t bf = op->internal_.bflags;
    uint32_t ev = (bf & BF_AFD) ? iocp_afd_done(loop, op) : 0;
    if (st == IOCP_ST_CANCELLED && (bf & BF_SHUT_RD) && !(bf & BF_CANCEL)) {
        *res = 0; /* cio's own SHUT_RD: the end of the stream, as recv(2) says (see shut) */
        return STEP_FINAL;
    }
    if (bf & BF_AFD) {
        if (st >= 0 && (ev & CIO_POLLNVAL)) { /* closed behind cio's back (cio's close cancels first) */
            *res = (bf & BF_CANCEL) || h->closing ? -CIO_ECANCELED : -CIO_EBADF;
            return STEP_FINAL;
        }
    } else {
        if (st == IOCP_ST_BUFFER_OVERFLOW && h->socktype != SOCK_STREAM) st = 0; /* the peek, cut */
        if (collateral(loop, h, op, st)) return pool_issue(loop, h, op, res) ? STEP_AGAIN : STEP_FINAL;
    }
    int32_t r = iocp_status(h, op, st);
    if (r < 0) {
        *res = r == -CIO_ECANCELED ? r : stream_error(h, op, r);
        return STEP_FINAL;
    }
    if (op->internal_.bflags & BF_CANCEL) { /* finished as the cancel came: nothing taken */
        *res = -CIO_ECANCELED;
        return STEP_FINAL;
    }
    if (!pool_readable(h)) return pool_issue(loop, h, op, res) ? STEP_AGAIN : STEP_FINAL;
    cio_bufpool *p = op->args.recv_pool.pool;
    uint32_t id;
    if (!cio__bufpool_take(p, &id)) { /* dry as something came: it stays in the socket */
        *res = -CIO_ENOBUFS;
        return STEP_FINAL;
    }
    int n = recv((SOCKET)h->fd, (char *)cio__bufpool_at(p, id), (int)p->size, 0);
    int err = n < 0 ? WSAGetLastError() : 0;
    if (err == WSAEMSGSIZE && h->socktype != SOCK_STREAM) n = (int)p->size; /* a datagram cut, as recv(2) */
    if (n > 0) {
        cio__bufpool_hand_out(p, op, id);
        if (h->socktype == SOCK_STREAM) {
            h->rx_turn = cio__core(loop)->stats.turns;
            h->rx_run = iocp_state(loop)->runs;
        }
        *res = n;
        return (op->flags & CIO_F_MULTISHOT) ? STEP_MORE : STEP_FINAL;
    }
    cio__bufpool_untake(p, id);
    if (err == WSAEWOULDBLOCK) return pool_issue(loop, h, op, res) ? STEP_AGAIN : STEP_FINAL;
    if (n == 0) {
        if (h->socktype == SOCK_STREAM) h->peer_gone = true;
        *res = 0;
        return STEP_FINAL;
    }
    *res = err == WSAESHUTDOWN ? 0 : stream_error(h, op, cio__wsa_error(err));
    return STEP_FINAL;
}

bool iocp_sock_issue(cio_loop *loop, iocp_handle *h, cio_op *op, int32_t *res) {
    switch (op->opcode) {
    case CIO_OP_RECV_POOL:
        return pool_issue(loop, h, op, res);
    case CIO_OP_ACCEPT:
        return accept_issue(loop, h, op, res);
    case CIO_OP_CONNECT:
        return connect_issue(h, op, res);
    default:
        return xfer_issue(h, op, res);
    }
}

int iocp_sock_done(cio_loop *loop, iocp_handle *h, cio_op *op, LONG st, DWORD bytes, int32_t *res) {
    switch (op->opcode) {
    case CIO_OP_RECV_POOL:
        return pool_done(loop, h, op, st, res);
    case CIO_OP_ACCEPT:
        return accept_done(loop, h, op, st, res);
    case CIO_OP_CONNECT:
        return connect_done(h, op, st, res);
    default:
        return xfer_done(loop, h, op, st, bytes, res);
    }
}
