/*
 * src/backend/iocp_poll.c - CIO_OP_POLL for sockets through AFD, the
 * driver under Winsock: one \Device\Afd handle per loop, on the port, and
 * one IOCTL_AFD_POLL per poll op, cancelled like any request (CancelIoEx).
 * Undocumented, but what libuv, wepoll and mio do; probed under Wine 8
 * (docs/wine-probes, p06).
 *
 * AFD reports levels: a poll asked while the socket is ready completes at
 * once. A multishot poll is therefore asked again after each report and
 * reports on every loop turn while the socket stays ready, as on the poll
 * backend (op.h), until the program drains it or cancels the poll.
 *
 * Other handles have no readiness AFD knows. A disk file is always ready
 * (op.h). An overlapped named pipe waits for reading with a read of 0
 * bytes, which completes when data comes and leaves it there (libuv's
 * way; probed under Wine), or fails when the writer has gone (CIO_POLLHUP);
 * it is taken as always writable, as there is no way to wait for room. A
 * console, an anonymous pipe or another device completes with
 * -CIO_ENOTSUP.
 *
 * Without AFD (\Device\Afd could not be opened) a one-shot poll on a
 * socket goes to the blocking pool, which waits in WSAPoll; a multishot
 * one cannot (the pool runs an op once) and fails with -CIO_ENOTSUP.
 *
 * The same request (iocp_afd_issue) is how a receive from a buffer pool
 * waits for data on a socket that cannot join the port (iocp_net.c).
 */
#include "iocp.h"

#define IOCTL_AFD_POLL 0x00012024
#define AFD_POLL_RECEIVE 0x0001
#define AFD_POLL_RECEIVE_EXPEDITED 0x0002
#define AFD_POLL_SEND 0x0004
#define AFD_POLL_DISCONNECT 0x0008
#define AFD_POLL_ABORT 0x0010
#define AFD_POLL_LOCAL_CLOSE 0x0020
#define AFD_POLL_ACCEPT 0x0080
#define AFD_POLL_CONNECT_FAIL 0x0100

static HANDLE open_afd(void) {
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"\\Device\\Afd\\cio");
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, 0, NULL, NULL);
    IO_STATUS_BLOCK io;
    HANDLE h = NULL;
    LONG st = NtCreateFile(&h, SYNCHRONIZE, &oa, &io, NULL, 0, FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN, 0,
                           NULL, 0);
    return st == 0 ? h : NULL;
}

/* The loop's AFD handle, opened and put on the port at the first poll. */
static HANDLE afd(iocp *s) {
    if (s->afd || s->afd_failed) return s->afd;
    HANDLE h = open_afd();
    if (h && !CreateIoCompletionPort(h, s->port, IOCP_KEY_IO, 0)) {
        CloseHandle(h);
        h = NULL;
    }
    s->afd = h;
    s->afd_failed = !h;
    return h;
}

/* What AFD is asked for: the events, and always what ends a wait (an
 * abort, a failed connect, the socket's close). */
static ULONG afd_events(uint32_t events) {
    ULONG e = AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL | AFD_POLL_LOCAL_CLOSE;
    if (events & CIO_POLLIN) e |= AFD_POLL_RECEIVE | AFD_POLL_ACCEPT | AFD_POLL_DISCONNECT;
    if (events & CIO_POLLRDHUP) e |= AFD_POLL_DISCONNECT;
    if (events & CIO_POLLPRI) e |= AFD_POLL_RECEIVE_EXPEDITED;
    if (events & CIO_POLLOUT) e |= AFD_POLL_SEND;
    return e;
}

/* AFD's answer as poll(2)'s on Linux. The peer's end of stream
 * (DISCONNECT, with no RECEIVE bit of its own) is readable, a read returns
 * 0, and is the peer's shutdown (RDHUP); a reset is all that and an error. */
static uint32_t cio_events(ULONG e) {
    uint32_t r = 0;
    if (e & (AFD_POLL_RECEIVE | AFD_POLL_ACCEPT | AFD_POLL_DISCONNECT)) r |= CIO_POLLIN;
    if (e & AFD_POLL_DISCONNECT) r |= CIO_POLLRDHUP;
    if (e & AFD_POLL_RECEIVE_EXPEDITED) r |= CIO_POLLPRI;
    if (e & AFD_POLL_SEND) r |= CIO_POLLOUT;
    if (e & AFD_POLL_ABORT) r |= CIO_POLLIN | CIO_POLLRDHUP | CIO_POLLERR | CIO_POLLHUP;
    if (e & AFD_POLL_CONNECT_FAIL) r |= CIO_POLLOUT | CIO_POLLERR | CIO_POLLHUP;
    return r;
}

/* A multishot poll whose handle is ready now: the result goes through the
 * port as a packet of cio's own, so that it is delivered in the next wait
 * and the poll goes on from there, like a poll AFD answered at once. */
static bool post_ready(cio_loop *loop, iocp_handle *h, cio_op *op, uint32_t hit, int32_t *res) {
    OVERLAPPED *ov = iocp_ov_at(op, 0);
    if (!PostQueuedCompletionStatus(iocp_state(loop)->port, 0, IOCP_KEY_IO, ov)) {
        *res = cio__win_error(GetLastError());
        return false;
    }
    op->res = (int32_t)hit;
    op->internal_.bflags |= BF_POSTED;
    iocp_issued(h, op);
    return true;
}

/* A named pipe: writable at once, readable when a read of 0 bytes says.
 * A poll for both reports what a read would find now too (poll(2) gives
 * IN|OUT for a pipe with data): a peek, which does not wait and takes
 * nothing (libuv peeks its overlapped pipes on the port the same way). */
static bool pipe_poll_issue(cio_loop *loop, iocp_handle *h, cio_op *op, int32_t *res) {
    uint32_t ev = op->args.poll.events;
    if (ev & CIO_POLLOUT) {
        uint32_t hit = CIO_POLLOUT;
        DWORD avail = 0;
        if (ev & CIO_POLLIN) {
            if (PeekNamedPipe((HANDLE)h->fd, NULL, 0, NULL, &avail, NULL))
                hit |= avail ? CIO_POLLIN : 0;
            else if (GetLastError() == ERROR_BROKEN_PIPE)
                hit |= CIO_POLLHUP;
        }
        if (op->flags & CIO_F_MULTISHOT) return post_ready(loop, h, op, hit, res);
        *res = (int32_t)hit;
        return false;
    }
    if (!(ev & CIO_POLLIN)) {
        *res = -CIO_ENOTSUP;
        return false;
    }
    static char none;
    if (ReadFile((HANDLE)h->fd, &none, 0, NULL, iocp_ov_at(op, 0)) || GetLastError() == ERROR_IO_PENDING) {
        iocp_issued(h, op);
        return true;
    }
    DWORD err = GetLastError();
    *res = err == ERROR_BROKEN_PIPE ? (int32_t)CIO_POLLHUP : cio__win_error(err);
    return false;
}

static int pipe_poll_done(cio_loop *loop, iocp_handle *h, cio_op *op, LONG st, int32_t *res) {
    if (op->internal_.bflags & BF_POSTED) {
        bool ended = (op->internal_.bflags & BF_CANCEL) || h->closing;
        op->internal_.bflags &= (uint16_t)~BF_POSTED;
        *res = ended ? -CIO_ECANCELED : op->res;
        op->res = 0;
        return ended ? STEP_FINAL : STEP_MORE;
    }
    if (st == IOCP_ST_PIPE_BROKEN) {
        *res = CIO_POLLHUP;
        return STEP_FINAL;
    }
    int32_t r = iocp_status(h, op, st);
    (void)loop;
    *res = r < 0 ? r : (int32_t)CIO_POLLIN;
    return r == 0 && (op->flags & CIO_F_MULTISHOT) ? STEP_MORE : STEP_FINAL;
}

/* A handle with no readiness of its own. */
static bool no_readiness(cio_loop *loop, iocp_handle *h, cio_op *op, int32_t *res) {
    if (h->kind == H_STREAM && h->is_pipe) return pipe_poll_issue(loop, h, op, res);
    if (h->is_disk) {
        uint32_t hit = op->args.poll.events & (CIO_POLLIN | CIO_POLLOUT);
        *res = hit ? (int32_t)hit : -CIO_EINVAL;
    } else {
        *res = -CIO_ENOTSUP;
    }
    return false;
}

bool iocp_poll_issue(cio_loop *loop, iocp_handle *h, cio_op *op, int32_t *res) {
    if (!h->is_socket) return no_readiness(loop, h, op, res);
    if (h->rd_shut && (op->args.poll.events & (CIO_POLLIN | CIO_POLLRDHUP))) {
        /* AFD says nothing of a local SD_RECEIVE; Linux reports IN|RDHUP. */
        *res = (int32_t)(op->args.poll.events & (CIO_POLLIN | CIO_POLLRDHUP));
        return false;
    }
    return iocp_afd_issue(loop, h, op, op->args.poll.events, res);
}

bool iocp_afd_issue(cio_loop *loop, iocp_handle *h, cio_op *op, uint32_t events, int32_t *res) {
    iocp *s = iocp_state(loop);
    HANDLE dev = afd(s);
    int32_t idx = dev ? iocp_side_take(s) : -CIO_ENOTSUP;
    if (idx < 0) {
        *res = idx;
        return false;
    }
    op->res = idx;
    op->internal_.bflags |= BF_SIDE | BF_AFD;
    iocp_afd_poll_info *info = &iocp_side_get(s, idx)->u.poll;
    memset(info, 0, sizeof *info);
    info->timeout.QuadPart = INT64_MAX;
    info->count = 1;
    info->handles[0].handle = (HANDLE)h->base;
    info->handles[0].events = afd_events(events);
    OVERLAPPED *ov = iocp_ov_at(op, 0);
    ov->Internal = (ULONG_PTR)IOCP_ST_PENDING;
    /* The OVERLAPPED is the IO_STATUS_BLOCK, and the packet's context. */
    LONG st = NtDeviceIoControlFile(dev, NULL, NULL, ov, (PIO_STATUS_BLOCK)(void *)ov, IOCTL_AFD_POLL, info,
                                    sizeof *info, info, sizeof *info);
    if (iocp_st_queues(st)) { /* pending, ready at once, or a warning: a packet comes (iocp.h) */
        iocp_issued(h, op);
        return true;
    }
    iocp_side_put(s, idx);
    op->internal_.bflags &= (uint16_t)~(BF_SIDE | BF_AFD);
    op->res = 0;
    *res = cio__ntstatus_error(st);
    return false;
}

/* The AFD_POLL_* events an AFD poll's packet brought; its side memory
 * goes back. */
static ULONG afd_take(cio_loop *loop, cio_op *op) {
    iocp *s = iocp_state(loop);
    iocp_afd_poll_info *info = &iocp_side_get(s, op->res)->u.poll;
    ULONG events = info->count ? info->handles[0].events : 0;
    iocp_side_put(s, op->res);
    op->res = 0;
    op->internal_.bflags &= (uint16_t)~(BF_SIDE | BF_AFD);
    return events;
}

uint32_t iocp_afd_done(cio_loop *loop, cio_op *op) {
    ULONG e = afd_take(loop, op);
    return cio_events(e) | ((e & AFD_POLL_LOCAL_CLOSE) ? CIO_POLLNVAL : 0u);
}

int iocp_poll_done(cio_loop *loop, iocp_handle *h, cio_op *op, LONG st, int32_t *res) {
    if (!(op->internal_.bflags & BF_AFD)) return pipe_poll_done(loop, h, op, st, res);
    ULONG events = afd_take(loop, op);
    bool cancelled = (op->internal_.bflags & BF_CANCEL) || h->closing;
    if (st == IOCP_ST_CANCELLED && (op->internal_.bflags & BF_SHUT_RD) && !cancelled) {
        *res = (int32_t)(op->args.poll.events & (CIO_POLLIN | CIO_POLLRDHUP)); /* shut(): see iocp_poll_issue */
        return STEP_FINAL;
    }
    int32_t r = iocp_status(h, op, st);
    if (r < 0) {
        *res = r;
        return STEP_FINAL;
    }
    if (events & AFD_POLL_LOCAL_CLOSE) {
        /* Closed behind cio's back (cio's own close cancels first). */
        *res = cancelled ? -CIO_ECANCELED : -CIO_EBADF;
        return STEP_FINAL;
    }
    uint32_t hit = cio_events(events) & (op->args.poll.events | CIO_POLLERR | CIO_POLLHUP);
    if (!hit) {
        /* Something it was not asked about: ask again. */
        if (!cancelled && iocp_poll_issue(loop, h, op, res)) return STEP_AGAIN;
        if (cancelled) *res = -CIO_ECANCELED;
        return STEP_FINAL;
    }
    *res = (int32_t)hit;
    return (op->flags & CIO_F_MULTISHOT) ? STEP_MORE : STEP_FINAL;
}
