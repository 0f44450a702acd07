/*
 * src/backend/iocp.c - the Windows backend: one I/O completion port per
 * loop (see iocp.h for how the three files divide the work).
 *
 * An op goes to the kernel with its own OVERLAPPED; its packet, reaped in
 * batches by GetQueuedCompletionStatusEx, finishes it. The status comes
 * from OVERLAPPED.Internal (an NTSTATUS), never from GetLastError: the
 * port reports failed requests as entries too.
 *
 * Handles are learnt once, at their first op, and kept in a table: sockets
 * (at their first IO, not at a poll, which AFD answers without the port)
 * and overlapped files join the port; what cannot (console, anonymous
 * pipes, files opened without FILE_FLAG_OVERLAPPED, a handle another
 * loop's port holds already) is marked for the blocking pool, where its
 * reads and writes run as plain calls. Files get a position that cio keeps
 * (overlapped handles have none the system moves): CIO_OFFSET_CURRENT
 * reads and writes there and moves it on completion.
 *
 * Close, the same as on the other backends: the ops this loop holds on the
 * handle are cancelled (CancelIoEx per request, so that other loops' and
 * other code's requests on it are left alone), the close waits until each
 * has completed through its own packet (-CIO_ECANCELED, or its result if
 * it had finished), and only then is the handle closed; ops submitted on
 * it meanwhile fail with -CIO_EBADF. Cancelling before closing also gives
 * the same status on Windows (995) and Wine (which reports 676 for a
 * request still pending at closesocket).
 *
 * The close itself (closesocket or CloseHandle) runs on the loop's thread,
 * as socket, bind, listen and shutdown do; openat, statx, unlinkat,
 * renameat, mkdirat and fsync go to the blocking pool (sync_ops_win.c).
 *
 * Cancel is CancelIoEx on the op's own request; the op still ends by its
 * one packet (995: -CIO_ECANCELED; or its result, if it had finished). A
 * multishot op (accept, poll) is asked again from its packet's handling,
 * after its callback, unless it was cancelled meanwhile.
 *
 * Deadlines, timers, links and posts are the core's; a wake is a packet
 * with its own key. cio_loop_fd() is the port itself, which is signalled
 * while packets wait (cio/loop.h).
 */
#include "iocp.h"
#include "../core/bufpool.h"

#include <stdlib.h>

#include "../core/thread.h"

#define IOCP_BATCH 256

/* ---- the handle table: open addressing, linear probing ---- */

static uint32_t slot_of(const iocp *s, cio_fd fd) {
    /* Handle values are multiples of 4. */
    return (uint32_t)(((uint64_t)(fd >> 2) * 0x9E3779B97F4A7C15ull) >> 32) & (s->cap - 1);
}

iocp_handle *iocp_find(iocp *s, cio_fd fd) {
    for (uint32_t i = slot_of(s, fd);; i = (i + 1) & (s->cap - 1)) {
        if (s->tab[i].fd == fd) return &s->tab[i];
        if (s->tab[i].fd == CIO_FD_INVALID) return NULL;
    }
}

static iocp_handle *tab_slot(iocp *s, cio_fd fd) {
    uint32_t i = slot_of(s, fd);
    while (s->tab[i].fd != CIO_FD_INVALID) i = (i + 1) & (s->cap - 1);
    return &s->tab[i];
}

static bool tab_grow(iocp *s) {
    uint32_t old_cap = s->cap;
    iocp_handle *old = s->tab, *t = malloc((size_t)old_cap * 2 * sizeof *t);
    if (!t) return false;
    for (uint32_t i = 0; i < old_cap * 2; i++) t[i].fd = CIO_FD_INVALID;
    s->tab = t;
    s->cap = old_cap * 2;
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i].fd != CIO_FD_INVALID) *tab_slot(s, old[i].fd) = old[i];
    free(old);
    return true;
}

/* Removes `h`, shifting back the entries of its probe run that would
 * otherwise no longer be found. */
static void tab_remove(iocp *s, iocp_handle *h) {
    uint32_t mask = s->cap - 1, i = (uint32_t)(h - s->tab), j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (s->tab[j].fd == CIO_FD_INVALID) break;
        uint32_t k = slot_of(s, s->tab[j].fd);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        s->tab[i] = s->tab[j];
        i = j;
    }
    s->tab[i].fd = CIO_FD_INVALID;
    s->used--;
}

/* ---- side buffers (iocp.h) ---- */

iocp_side *iocp_side_get(iocp *s, int32_t idx) {
    return &s->chunks[(uint32_t)idx / IOCP_SIDE_CHUNK][(uint32_t)idx % IOCP_SIDE_CHUNK];
}

int32_t iocp_side_take(iocp *s) {
    if (s->free_side < 0) {
        if (s->nchunks >= (uint32_t)INT32_MAX / IOCP_SIDE_CHUNK) return -CIO_ENOMEM;
        iocp_side **cs = realloc(s->chunks, (s->nchunks + 1) * sizeof *cs);
        if (!cs) return -CIO_ENOMEM;
        s->chunks = cs;
        iocp_side *chunk = calloc(IOCP_SIDE_CHUNK, sizeof *chunk);
        if (!chunk) return -CIO_ENOMEM;
        cs[s->nchunks] = chunk;
        int32_t first = (int32_t)(s->nchunks * IOCP_SIDE_CHUNK);
        for (int32_t i = 0; i < IOCP_SIDE_CHUNK; i++)
            chunk[i].next_free = i + 1 < IOCP_SIDE_CHUNK ? first + i + 1 : -1;
        s->free_side = first;
        s->nchunks++;
    }
    int32_t idx = s->free_side;
    s->free_side = iocp_side_get(s, idx)->next_free;
    return idx;
}

void iocp_side_put(iocp *s, int32_t idx) {
    iocp_side_get(s, idx)->next_free = s->free_side;
    s->free_side = idx;
}

/* ---- learning a handle ---- */

/* Puts `fd` on the port, unless `done` says it is there already. */
static bool associate(iocp *s, cio_fd fd, bool done) {
    return done || CreateIoCompletionPort((HANDLE)fd, s->port, IOCP_KEY_IO, 0) != NULL;
}

/* A socket joins the port only at its first op that issues IO on the
 * socket itself (`join`): a poll goes through the loop's AFD handle and
 * needs no association, and an association is for good, so a loop that
 * only polls a socket must not take it from the loop that does its IO. */
static void learn_socket(iocp *s, iocp_handle *h, const WSAPROTOCOL_INFOW *pi, bool on_port, bool join) {
    h->is_socket = true;
    h->family = pi->iAddressFamily;
    h->socktype = pi->iSocketType;
    h->protocol = pi->iProtocol;
    SOCKET base = INVALID_SOCKET;
    DWORD n = 0;
    if (WSAIoctl((SOCKET)h->fd, SIO_BASE_HANDLE, NULL, 0, &base, sizeof base, &n, NULL, NULL) != 0)
        base = (SOCKET)h->fd; /* no layered provider in the way */
    h->base = (cio_fd)base;
    h->kind = H_SOCKET;
    h->joined = on_port;
    if (join && on_port)
        iocp_sock_learnt(h);
    else if (join)
        iocp_join(s, h);
}

/* Puts a socket learnt by a poll on the port, at its first op that needs
 * it there; one that cannot join (another loop's port holds it) is for
 * the pool. Returns false for the pool. */
bool iocp_join(iocp *s, iocp_handle *h) {
    if (h->kind != H_SOCKET || h->joined) return h->kind != H_POOL;
    iocp_sock_learnt(h); /* cio does IO on it from now on (not for a poll) */
    h->joined = associate(s, h->fd, false);
    if (!h->joined) h->kind = H_POOL;
    return h->joined;
}

/* What kind of file `h` is, and whether it can be on the port: a
 * synchronous handle completes its IO inside the call and cannot
 * (handle_win.h). */
static int learn_file(iocp *s, iocp_handle *h, bool on_port) {
    HANDLE fh = (HANDLE)h->fd;
    DWORD cmode;
    if (GetConsoleMode(fh, &cmode)) {
        h->kind = H_POOL;
        return 0;
    }
    int sync = cio__win_sync_io(fh);
    if (sync < 0) return sync;
    DWORD type = GetFileType(fh);
    h->is_disk = type == FILE_TYPE_DISK;
    if (sync || !associate(s, h->fd, on_port)) {
        h->kind = H_POOL;
        return 0;
    }
    h->joined = true;
    if (type != FILE_TYPE_DISK) {
        h->kind = H_STREAM;
        h->is_pipe = type == FILE_TYPE_PIPE;
        return 0;
    }
    h->kind = H_DISK;
    h->is_dir = cio__win_is_dir(fh);
    h->append = cio__win_append_only(fh);
    /* Where the handle's own pointer stood when cio first saw it. */
    LARGE_INTEGER zero = {.QuadPart = 0}, cur = {.QuadPart = 0};
    if (SetFilePointerEx(fh, zero, &cur, FILE_CURRENT)) h->pos = (uint64_t)cur.QuadPart;
    return 0;
}

/* Whether an object that refused to join the port (it is on a port, or
 * cannot be on one) is still the one `h` describes, as far as a cheap look
 * can tell: a socket answers SO_TYPE as it did; a file or pipe is still
 * overlapped and of the same type. The case that matters: a value reused
 * by a synchronous object (an anonymous pipe, a non-overlapped file) also
 * refuses with 87, and a stale H_DISK/H_STREAM entry would then issue an
 * overlapped ReadFile that completes inside the call with no packet. Not
 * caught: a new overlapped object of the same kind that is on another
 * loop's port (its packets would go to that loop). */
static bool still_same(const iocp_handle *h) {
    if (h->is_socket) return cio__win_sock_type(h->fd) == h->socktype;
    if (cio__win_sync_io((HANDLE)h->fd) != 0) return false;
    DWORD type = GetFileType((HANDLE)h->fd);
    if (h->kind == H_DISK) return type == FILE_TYPE_DISK;
    return type != FILE_TYPE_DISK && type != FILE_TYPE_UNKNOWN && (type == FILE_TYPE_PIPE) == h->is_pipe;
}

/* Whether the entry `h` still describes the object its value names. A
 * handle closed behind cio's back leaves its entry, and Windows reuses
 * handle values at once: a new socket under an old value is not on the
 * port, and its requests' packets would go nowhere. So an entry with no op
 * in flight (an op in flight keeps its handle open, as far as cio can
 * know) is checked by putting the value on the port again: that fails for
 * a handle there already, and succeeds for a new object, which is then
 * learnt afresh. One system call, as the readiness backends' fcntl; not
 * made for a handle an op completed on in this very turn (a callback that
 * goes on with the next op on it: receive, then send), which would have
 * had to be closed and reused inside that callback. */
static int revalidate(cio_loop *loop, iocp *s, iocp_handle *h, bool *on_port) {
    *on_port = false;
    /* The same-turn shortcut holds only inside the cio_loop_run that
     * finished the op (a callback going on with its handle): after that run
     * returned, the caller may have closed the handle and got its value
     * again for a new object. The next run's first callbacks (ready ops,
     * posts, timers) still see the same turn count, hence the run count. */
    if (!opq_empty(&h->ops) || h->closing ||
        (h->turn == cio__core(loop)->stats.turns && h->run == s->runs && cio__core(loop)->running))
        return 1;
    if (h->kind == H_POOL) {
        /* Not learnt again: on Windows every call on a synchronous file
         * object (NtQueryInformationFile, GetFileType) waits behind a pool
         * thread's read on it (libuv saw the loop stall so on a pipe), and
         * the pool may be reading it now. Winsock answers getsockopt from
         * its own table without the file object: only a socket that came
         * or went under the value is noticed; any other new object under
         * it is still right on the pool, which classifies each op itself. */
        int type = cio__win_sock_type(h->fd);
        if ((type >= 0) == h->is_socket && (type < 0 || type == h->socktype)) return 1;
    } else if (h->kind == H_SOCKET && !h->joined) {
        /* Not on the port yet (only polled): a probe would put it there.
         * Learnt afresh, as cheaply as the probe. */
    } else {
        if (!CreateIoCompletionPort((HANDLE)h->fd, s->port, IOCP_KEY_IO, 0)) {
            if (GetLastError() == ERROR_INVALID_HANDLE) return -CIO_EBADF;
            if (still_same(h)) return 1;
            /* Another object under the value: learnt afresh (it may be on
             * no port, or on another, so on_port stays false). */
        } else {
            *on_port = true;
        }
    }
    tab_remove(s, h);
    return 0;
}

/* The table's entry for `fd`, made and classified on first use. */
static iocp_handle *learn(cio_loop *loop, iocp *s, cio_fd fd, bool join, int *err) {
    iocp_handle *h = iocp_find(s, fd);
    bool on_port = false;
    if (h) {
        int r = revalidate(loop, s, h, &on_port);
        if (r > 0) return h;
        if (r < 0) {
            *err = r;
            return NULL;
        }
    }
    if ((s->used + 1) * 2 > s->cap && !tab_grow(s)) {
        *err = -CIO_ENOMEM;
        return NULL;
    }
    iocp_handle fresh = {.fd = fd, .base = fd, .turn = UINT64_MAX};
    WSAPROTOCOL_INFOW pi;
    int len = sizeof pi;
    if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&pi, &len) == 0) {
        learn_socket(s, &fresh, &pi, on_port, join);
    } else {
        int r = learn_file(s, &fresh, on_port);
        if (r < 0) {
            *err = r;
            return NULL;
        }
    }
    h = tab_slot(s, fd);
    *h = fresh;
    s->used++;
    return h;
}

iocp_handle *iocp_learn(cio_loop *loop, cio_fd fd, int *err) { return learn(loop, iocp_state(loop), fd, true, err); }

/* A handle cio has just made (socket, accept): an entry left under its
 * value belongs to a handle closed behind cio's back. */
void iocp_forget(iocp *s, cio_fd fd) {
    iocp_handle *h = iocp_find(s, fd);
    if (h && opq_empty(&h->ops) && !h->closing) tab_remove(s, h);
}

/* ---- results ---- */

/* The op's result from its packet's status: a request cancelled, or cut
 * off by cio closing its handle (Wine: 676; the connection's end, 1236),
 * is -CIO_ECANCELED. Warning statuses are failures too (FINDINGS 10),
 * except the callers' own cases (end of file, truncated datagram). */
int32_t iocp_status(const iocp_handle *h, const cio_op *op, LONG st) {
    if (st >= 0) return 0;
    if (st == IOCP_ST_CANCELLED) return -CIO_ECANCELED;
    bool ours = (op->internal_.bflags & BF_CANCEL) || (h && h->closing);
    if (st == IOCP_ST_HANDLES_CLOSED) return ours ? -CIO_ECANCELED : -CIO_EBADF;
    if (ours && (st == IOCP_ST_LOCAL_DISCONNECT || st == IOCP_ST_CONNECTION_ABORTED)) return -CIO_ECANCELED;
    int r = cio__ntstatus_error(st);
    return r < 0 ? r : -CIO_EIO;
}

/* `op` is in the kernel now, its packet to come. */
void iocp_issued(iocp_handle *h, cio_op *op) {
    if (!(op->internal_.bflags & BF_LISTED)) opq_push(&h->ops, op);
    op->internal_.bflags |= BF_KERNEL | BF_LISTED;
}

/* ---- files: ReadFile/WriteFile at an offset ---- */

static bool file_reads(const cio_op *op) { return op->opcode == CIO_OP_READ || op->opcode == CIO_OP_READV; }

/* The part of the op's buffers that starts `done` bytes in: one buffer,
 * since ReadFile and WriteFile take one (a vector is moved buffer by
 * buffer). Returns false when nothing is left. */
static bool file_part(const cio_op *op, uint32_t done, char **p, DWORD *n) {
    DWORD cap = done < IOCP_XFER_MAX ? IOCP_XFER_MAX - done : 0;
    if (op->opcode == CIO_OP_READ || op->opcode == CIO_OP_WRITE) {
        *p = done ? (char *)op->args.rw.buf + done : op->args.rw.buf; /* NULL when len is 0 */
        *n = op->args.rw.len - done;
        if (*n > cap) *n = cap;
        return done == 0 || *n > 0;
    }
    if (!cap) return false;
    for (uint32_t i = 0; i < op->args.rwv.iovcnt; i++) {
        const cio_iovec *v = &op->args.rwv.iov[i];
        if (done >= v->iov_len) {
            done -= v->iov_len;
            continue;
        }
        *p = (char *)v->iov_base + done;
        *n = v->iov_len - done;
        if (*n > cap) *n = cap;
        return true;
    }
    return false;
}

/* The bytes the op moves in all, as cut by file_part. */
static uint64_t file_total(const cio_op *op) {
    uint64_t t = 0;
    if (op->opcode == CIO_OP_READ || op->opcode == CIO_OP_WRITE)
        t = op->args.rw.len;
    else
        for (uint32_t i = 0; i < op->args.rwv.iovcnt; i++) t += op->args.rwv.iov[i].iov_len;
    return t < IOCP_XFER_MAX ? t : IOCP_XFER_MAX;
}

/* Whether the op works at the position cio keeps for the handle. An
 * append-only handle's write goes to the end, not there, and leaves it. */
static bool at_pos(const iocp_handle *h, const cio_op *op) {
    return h->kind == H_DISK && cio__opdef(op)->offset &&
           CIO_ARG(uint64_t, op, cio__opdef(op)->offset) == CIO_OFFSET_CURRENT && !(h->append && !file_reads(op));
}

/* Where the op's next request goes. At the position (BF_POS), the op's
 * whole length is reserved at its first request, as write(2) moves the
 * position before the next call: ops in flight together at
 * CIO_OFFSET_CURRENT get ranges one after another. A later part of the
 * op goes on from where its last request went (the OVERLAPPED keeps its
 * offset: the kernel writes only Internal and InternalHigh). */
static uint64_t file_offset(iocp_handle *h, cio_op *op, uint32_t done, uint32_t last) {
    uint64_t off = cio__opdef(op)->offset ? CIO_ARG(uint64_t, op, cio__opdef(op)->offset) : 0;
    if (h->kind != H_DISK) return 0;
    if (h->append && !file_reads(op)) return UINT64_MAX; /* all ones: the end of the file */
    if (!at_pos(h, op)) return off + done;
    if (!(op->internal_.bflags & BF_POS)) {
        op->internal_.bflags |= BF_POS;
        off = h->pos;
        h->pos += file_total(op);
        return off;
    }
    const OVERLAPPED *ov = iocp_ov(op);
    return ((uint64_t)ov->OffsetHigh << 32 | ov->Offset) + last;
}

/* An op at the position has ended having moved `done` bytes from `start`:
 * the part of its range it did not use goes back, unless another op
 * reserved after it (a short read at the end of the file, then a read in
 * flight behind it, as two read(2)s racing on one descriptor). */
static void file_pos_end(iocp_handle *h, const cio_op *op, uint64_t start, uint32_t done) {
    uint64_t want = file_total(op);
    if (done < want && h->pos == start + want) h->pos = start + done;
}

#define IOCP_ST_INVALID_PARAMETER ((LONG)0xC000000DUL)
#define IOCP_ST_INVALID_DEVICE_REQUEST ((LONG)0xC0000010UL)
#define IOCP_ST_ACCESS_DENIED ((LONG)0xC0000022UL)
#define IOCP_ST_FILE_IS_A_DIRECTORY ((LONG)0xC00000BAUL)

static int32_t file_status(const iocp_handle *h, const cio_op *op, LONG st) {
    if (st == IOCP_ST_ACCESS_DENIED) return -CIO_EBADF;
    if (h->is_dir && (st == IOCP_ST_INVALID_PARAMETER || st == IOCP_ST_INVALID_DEVICE_REQUEST ||
                      st == IOCP_ST_FILE_IS_A_DIRECTORY))
        return -CIO_EISDIR;
    return iocp_status(h, op, st);
}

/* The op's first request, or (`last` > 0: the bytes its previous
 * request moved) the next one of a vector. */
static bool file_issue(iocp_handle *h, cio_op *op, uint32_t last, int32_t *res) {
    uint32_t done = (uint32_t)op->res;
    char *p;
    DWORD n;
    uint64_t start = 0;
    if (op->internal_.bflags & BF_POS) {
        const OVERLAPPED *prev = iocp_ov(op);
        start = ((uint64_t)prev->OffsetHigh << 32 | prev->Offset) + last - done;
    }
    if (!file_part(op, done, &p, &n)) {
        if (op->internal_.bflags & BF_POS) file_pos_end(h, op, start, done);
        *res = (int32_t)done;
        return false;
    }
    if (n == 0 && h->kind == H_STREAM && file_reads(op)) {
        /* read(2) of nothing returns 0 at once; a pipe's ReadFile of 0
         * bytes waits for data instead (iocp_poll.c waits with it). */
        *res = 0;
        return false;
    }
    uint64_t off = file_offset(h, op, done, last);
    if (op->internal_.bflags & BF_POS) start = off - done;
    OVERLAPPED *ov = iocp_ov_at(op, off);
    BOOL ok = file_reads(op) ? ReadFile((HANDLE)h->fd, p, n, NULL, ov) : WriteFile((HANDLE)h->fd, p, n, NULL, ov);
    DWORD err = ok ? 0 : GetLastError();
    /* ERROR_MORE_DATA: a message pipe's message longer than the buffer,
     * a warning, so its packet comes (iocp.h). */
    if (ok || err == ERROR_IO_PENDING || (err == ERROR_MORE_DATA && file_reads(op))) {
        iocp_issued(h, op);
        return true;
    }
    if (op->internal_.bflags & BF_POS) file_pos_end(h, op, start, done);
    /* The end of a file or pipe is a read of 0: what came before, then. */
    *res = done ? (int32_t)done : cio__win_rw_error((HANDLE)h->fd, file_reads(op), err, h->is_dir);
    return false;
}

static int file_done(iocp_handle *h, cio_op *op, LONG st, DWORD bytes, int32_t *res) {
    uint32_t done = (uint32_t)op->res;
    char *p;
    DWORD want = 0;
    file_part(op, done, &p, &want);
    bool pos = op->internal_.bflags & BF_POS;
    const OVERLAPPED *ov = iocp_ov(op);
    uint64_t start = ((uint64_t)ov->OffsetHigh << 32 | ov->Offset) - done; /* BF_POS: its range */
    if (st == IOCP_ST_END_OF_FILE || (st == IOCP_ST_PIPE_BROKEN && file_reads(op))) {
        st = 0;
        bytes = 0;
    } else if (st == IOCP_ST_BUFFER_OVERFLOW && file_reads(op)) {
        st = 0; /* a message cut to the buffer: the rest is read next, as a short read */
    } else if (st == IOCP_ST_PIPE_BROKEN) {
        *res = done ? (int32_t)done : -CIO_EPIPE;
        return STEP_FINAL;
    }
    int32_t r = file_status(h, op, st);
    if (r < 0) {
        if (pos) file_pos_end(h, op, start, done);
        *res = done ? (int32_t)done : r;
        return STEP_FINAL;
    }
    if (bytes > want) bytes = want; /* cannot happen; keeps done within its cap */
    done += bytes;
    op->res = (int32_t)done;
    /* A vector goes on with its next buffer while each is filled whole,
     * as readv(2) does on a file; a pipe's read returns what came. */
    bool vector = op->opcode == CIO_OP_READV || op->opcode == CIO_OP_WRITEV;
    bool more = vector && bytes == want && bytes > 0 && !(h->kind == H_STREAM && file_reads(op)) &&
                !(op->internal_.bflags & BF_CANCEL) && done < IOCP_XFER_MAX;
    if (more) {
        if (file_issue(h, op, bytes, res)) return STEP_AGAIN;
        return STEP_FINAL;
    }
    if (pos) file_pos_end(h, op, start, done);
    *res = (int32_t)done;
    return STEP_FINAL;
}

/* ---- close ---- */

/* Closes `fd` (and forgets `h`, its entry, or NULL). */
static int32_t close_now(iocp *s, cio_fd fd, iocp_handle *h) {
    int sock = h ? h->is_socket : -1;
    if (h) tab_remove(s, h);
    return cio__win_close(fd, sock);
}

/* The issued-on handle of a request (an AFD poll goes to the AFD handle). */
static HANDLE issued_on(iocp *s, cio_op *op) {
    return (op->internal_.bflags & BF_AFD) ? s->afd : (HANDLE)cio__op_file(op);
}

/* Asks the kernel to stop `op` (it still completes through its packet). */
static bool cancel_request(iocp *s, cio_op *op) {
    op->internal_.bflags |= BF_CANCEL;
    if (!(op->internal_.bflags & BF_KERNEL)) return true; /* between two multishot results */
    if (op->internal_.bflags & BF_POSTED) return false; /* its result is on its way */
    iocp_handle *h = (op->internal_.bflags & BF_AFD) ? NULL : iocp_find(s, cio__op_file(op));
    if (h) h->cancels++; /* may take the socket's other requests with it */
    return CancelIoEx(issued_on(s, op), iocp_ov(op)) != 0;
}

static int submit_close(cio_loop *loop, iocp *s, cio_op *op) {
    cio_fd fd = op->args.close.fd;
    iocp_handle *h = iocp_find(s, fd);
    if (h && h->closing) return -CIO_EBADF; /* closed already, as far as ops can tell */
    if (!h || opq_empty(&h->ops)) {
        cio__ready(loop, op, close_now(s, fd, h));
        return 0;
    }
    h->closing = true;
    h->close = op;
    for (cio_op *o = h->ops.head; o; o = OPQ_NEXT(o)) cancel_request(s, o);
    return 0;
}

/* The last op on a closing handle has completed: its close goes ahead. */
static void release_close(cio_loop *loop, iocp *s, cio_fd fd) {
    iocp_handle *h = iocp_find(s, fd);
    if (!h || !h->close || !opq_empty(&h->ops)) return;
    cio_op *close = h->close;
    h->close = NULL;
    cio__complete(loop, close, close_now(s, fd, h));
}

/* ---- finishing ops ---- */

static void finish(cio_loop *loop, cio_op *op, int32_t res) {
    iocp *s = iocp_state(loop);
    cio_fd fd = cio__op_file(op);
    iocp_handle *h = iocp_find(s, fd);
    if (h && (op->internal_.bflags & BF_LISTED)) {
        opq_remove(&h->ops, op);
        /* Outside a run (cio_loop_close) no shortcut may follow. */
        h->turn = cio__core(loop)->running ? cio__core(loop)->stats.turns : UINT64_MAX;
        h->run = s->runs;
    }
    op->internal_.bflags = 0;
    cio__complete(loop, op, res);
    if (h) release_close(loop, s, fd);
}

static bool issue(cio_loop *loop, iocp_handle *h, cio_op *op, int32_t *res) {
    if (op->opcode == CIO_OP_POLL) return iocp_poll_issue(loop, h, op, res);
    if (h->kind == H_SOCKET || op->opcode == CIO_OP_RECV_POOL) return iocp_sock_issue(loop, h, op, res);
    return file_issue(h, op, 0, res);
}

/* A multishot op has delivered a result: it goes on, unless it was
 * cancelled meanwhile (its callback may have closed its handle, or the
 * loop). */
static void go_on(cio_loop *loop, cio_op *op) {
    iocp *s = iocp_state(loop);
    iocp_handle *h = iocp_find(s, cio__op_file(op));
    int32_t res = -CIO_ECANCELED;
    bool ended = (op->internal_.bflags & BF_CANCEL) || !h || h->closing || cio__core(loop)->closing;
    if (!ended && issue(loop, h, op, &res)) return;
    finish(loop, op, res);
}

static void packet(cio_loop *loop, cio_op *op, DWORD bytes) {
    iocp *s = iocp_state(loop);
    LONG st = (LONG)(ULONG)iocp_ov(op)->Internal;
    op->internal_.bflags &= (uint16_t)~BF_KERNEL;
    iocp_handle *h = iocp_find(s, cio__op_file(op));
    int32_t res = 0;
    int step;
    if (CIO_UNLIKELY(!h)) { /* cannot happen: an entry outlives its ops */
        finish(loop, op, iocp_status(NULL, op, st));
        return;
    }
    if (op->opcode == CIO_OP_POLL)
        step = iocp_poll_done(loop, h, op, st, &res);
    else if (h->kind == H_SOCKET || op->opcode == CIO_OP_RECV_POOL)
        step = iocp_sock_done(loop, h, op, st, bytes, &res);
    else
        step = file_done(h, op, st, bytes, &res);
    if (step == STEP_AGAIN) return;
    if (step == STEP_MORE) {
        cio__complete_more(loop, op, res);
        go_on(loop, op);
        return;
    }
    finish(loop, op, res);
}

/* ---- the cio_backend interface ---- */

/* recv, send, recvmsg, sendmsg, accept, connect: a socket's alone. */
static bool socket_only(const cio_op *op) {
    return cio__opdef(op)->msg_flags || op->opcode == CIO_OP_ACCEPT || op->opcode == CIO_OP_CONNECT;
}

static int submit_io(cio_loop *loop, iocp *s, cio_op *op) {
    int err = 0;
    iocp_handle *h = learn(loop, s, cio__op_file(op), op->opcode != CIO_OP_POLL, &err);
    if (!h) return err;
    if (h->closing) return -CIO_EBADF;
    if (op->opcode != CIO_OP_POLL) iocp_join(s, h);
    op->internal_.bflags = 0;
    op->res = 0; /* the count of bytes moved, for the ops that count */
    if (!h->is_socket && socket_only(op)) {
        cio__ready(loop, op, -CIO_ENOTSOCK);
        return 0;
    }
    /* Off the port: the pool's, but a poll (AFD) and a recv_pool, which
     * waits through AFD too (iocp_net.c: pool_issue). */
    if (op->opcode != CIO_OP_POLL && op->opcode != CIO_OP_RECV_POOL && h->kind == H_POOL) return -CIO_ENOTSUP;
    int32_t res;
    if (issue(loop, h, op, &res)) return 0;
    op->internal_.bflags = 0;
    /* The pool's, after all; a socket's one-shot poll too when AFD is
     * missing (the pool waits in WSAPoll: iocp_poll.c). */
    if (res == -CIO_ENOTSUP &&
        (op->opcode != CIO_OP_POLL || (h->is_socket && s->afd_failed && !(op->flags & CIO_F_MULTISHOT))))
        return res;
    cio__ready(loop, op, res);
    return 0;
}

static int iocp_submit(cio_loop *loop, cio_op *op) {
    iocp *s = iocp_state(loop);
    switch (op->opcode) {
    case CIO_OP_NOP:
        cio__ready(loop, op, 0);
        return 0;
    case CIO_OP_CLOSE:
        return submit_close(loop, s, op);
    case CIO_OP_SOCKET:
    case CIO_OP_BIND:
    case CIO_OP_LISTEN:
    case CIO_OP_SHUTDOWN:
        /* Calls that do not block: on the loop's thread. */
        cio__ready(loop, op, iocp_sock_inline(loop, op));
        return 0;
    case CIO_OP_READ:
    case CIO_OP_WRITE:
    case CIO_OP_READV:
    case CIO_OP_WRITEV:
    case CIO_OP_RECV:
    case CIO_OP_SEND:
    case CIO_OP_RECVMSG:
    case CIO_OP_SENDMSG:
    case CIO_OP_ACCEPT:
    case CIO_OP_CONNECT:
    case CIO_OP_POLL:
        return submit_io(loop, s, op);
    case CIO_OP_RECV_POOL:
        /* Submitted on a dry pool: at once, as on every backend (cio/op.h). */
        if (cio__bufpool_empty(op->args.recv_pool.pool)) return -CIO_ENOBUFS;
        /* -CIO_ENOTSUP only where a socket off the port finds no AFD (never
         * seen): the pool could not run it (it takes a buffer on the loop's
         * thread), so it ends here. */
        if (submit_io(loop, s, op) == -CIO_ENOTSUP) cio__ready(loop, op, -CIO_ENOTSUP);
        return 0;
    default:
        /* openat, statx, unlinkat, renameat, mkdirat, fsync: the pool;
         * post: the target's queue; splice never gets here (opdef.c). */
        return -CIO_ENOTSUP;
    }
}

static int iocp_cancel(cio_loop *loop, cio_op *target, cio_op *carrier) {
    iocp *s = iocp_state(loop);
    int32_t r;
    if (target->opcode == CIO_OP_CLOSE) {
        r = -CIO_EALREADY; /* a close already cancelling its handle's ops */
    } else if (cancel_request(s, target)) {
        r = 0;
    } else {
        /* Its request has finished and its packet waits: a single op
         * completes with its result; a multishot one, or one that moves
         * its bytes in several requests, ends at that packet. */
        bool goes_on = (target->flags & CIO_F_MULTISHOT) || (target->internal_.bflags & BF_COUNT);
        r = goes_on ? -CIO_EALREADY : -CIO_ENOENT;
    }
    if (carrier) cio__ready(loop, carrier, r);
    return 0;
}

/* One CancelIoEx per request, as cancel does. Under Wine 8 each call
 * costs a walk of every request the process has pending (wineserver's
 * cancel_async scans the process's whole async list, and again after a
 * match), so closing a loop with N ops parked takes time in N squared
 * there, all of it in those calls: a raw Win32 program without cio
 * cancels 1,000 pending recvs at 68 us a call and 8,000 at 223 us (1.8 s),
 * where cio's loop close of 8,000 took 1.4 s; on a loaded host 10,000
 * took 17 s. Windows cancels a request in its driver. Cancelling per
 * handle (CancelIoEx(h, NULL)) is the same walk under Wine and would end
 * other code's requests too. */
static void iocp_cancel_all(cio_loop *loop) {
    iocp *s = iocp_state(loop);
    for (uint32_t i = 0; i < s->cap; i++) {
        if (s->tab[i].fd == CIO_FD_INVALID) continue;
        for (cio_op *o = s->tab[i].ops.head; o; o = OPQ_NEXT(o)) cancel_request(s, o);
    }
}

static DWORD wait_ms(int64_t timeout_ns) {
    if (timeout_ns < 0) return INFINITE;
    /* Rounded up: a wait that ends before the timer is due is a wasted turn. */
    uint64_t ms = ((uint64_t)timeout_ns + 999999u) / 1000000u;
    return ms >= INFINITE ? INFINITE - 1 : (DWORD)ms;
}

static int iocp_wait(cio_loop *loop, int64_t timeout_ns) {
    iocp *s = iocp_state(loop);
    cio_core *c = cio__core(loop);
    OVERLAPPED_ENTRY ev[IOCP_BATCH];
    ULONG n = 0;
    c->stats.enters++;
    if (!GetQueuedCompletionStatusEx(s->port, ev, IOCP_BATCH, &n, wait_ms(timeout_ns), FALSE)) {
        /* n is not to be trusted here: Wine writes 1 on a timeout. */
        DWORD err = GetLastError();
        return err == WAIT_TIMEOUT ? 0 : cio__win_error(err);
    }
    c->stats.kernel_completions += n;
    for (ULONG i = 0; i < n; i++) {
        if (ev[i].lpCompletionKey == IOCP_KEY_WAKE || !ev[i].lpOverlapped) {
            cio__wake_consumed(loop);
            continue;
        }
        packet(loop, iocp_op_of(ev[i].lpOverlapped), ev[i].dwNumberOfBytesTransferred);
    }
    return (int)n;
}

static int iocp_wake(cio_loop *loop) {
    if (PostQueuedCompletionStatus(iocp_state(loop)->port, 0, IOCP_KEY_WAKE, NULL)) return 0;
    int r = cio__win_error(GetLastError());
    /* No wake is on its way: the next cio_loop_wake must try again, not
     * take this one for pending (a loop would sleep through posts). */
    cio__wake_consumed(loop);
    return r;
}

/* The completion port itself: a waitable handle that is signalled while
 * packets wait in it (see cio_loop_fd in cio/loop.h). */
static int iocp_pollable_fd(cio_loop *loop, cio_fd *out) {
    iocp *s = iocp_state(loop);
    s->notify = true;
    *out = (cio_fd)s->port;
    return 0;
}

/* Completions the core queued itself (a callback's cio_submit of a nop, a
 * close that finished at once) wait in its ready queue, which no packet
 * signals: a wake makes the port signalled for an outside waiter. */
static void iocp_run_end(cio_loop *loop) {
    cio_core *c = cio__core(loop);
    iocp_state(loop)->runs++;
    if (iocp_state(loop)->notify && !opq_empty(&c->ready)) cio_loop_wake(loop);
}

static cio__once net_once = CIO__ONCE_INIT;

static int iocp_init(cio_loop *loop, const cio_loop_options *opts) {
    (void)opts;
    iocp *s = iocp_state(loop);
    memset(s, 0, sizeof *s);
    s->free_side = -1;
    cio__once_run(&net_once, iocp_net_setup);
    s->cap = 64;
    s->tab = malloc(s->cap * sizeof *s->tab);
    if (!s->tab) return -CIO_ENOMEM;
    for (uint32_t i = 0; i < s->cap; i++) s->tab[i].fd = CIO_FD_INVALID;
    s->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!s->port) {
        int r = cio__win_error(GetLastError());
        free(s->tab);
        return r;
    }
    return 0;
}

/* Whether requests of this loop may still be in the kernel: the loop's
 * close gave up waiting (its wait failed). Each is cancelled once more;
 * their packets will never be reaped. */
static bool requests_left(iocp *s) {
    bool left = false;
    for (uint32_t i = 0; i < s->cap; i++) {
        if (s->tab[i].fd == CIO_FD_INVALID) continue;
        for (cio_op *o = s->tab[i].ops.head; o; o = OPQ_NEXT(o)) {
            left = true;
            if ((o->internal_.bflags & BF_KERNEL) && !(o->internal_.bflags & BF_POSTED))
                CancelIoEx(issued_on(s, o), iocp_ov(o));
        }
    }
    return left;
}

static void iocp_close(cio_loop *loop) {
    iocp *s = iocp_state(loop);
    /* A cancelled request may still write its side buffer (an AFD poll's
     * events, AcceptEx's addresses) after CancelIoEx returns: with any
     * left, the chunks (and the AFD handle they are issued on) are leaked,
     * since a leak beats the kernel writing into reused heap. */
    bool left = requests_left(s);
    if (s->afd && !left) CloseHandle(s->afd);
    CloseHandle(s->port);
    free(s->tab);
    if (!left) {
        for (uint32_t i = 0; i < s->nchunks; i++) free(s->chunks[i]);
        free(s->chunks);
    }
    memset(s, 0, sizeof *s);
}

const struct cio_backend cio__backend_iocp = {
    .name = "iocp",
    .kind = CIO_BACKEND_IOCP,
    .features = 0,
    .init = iocp_init,
    .close = iocp_close,
    .submit = iocp_submit,
    .cancel = iocp_cancel,
    .cancel_all = iocp_cancel_all,
    .wait = iocp_wait,
    .wake = iocp_wake,
    .pollable_fd = iocp_pollable_fd,
    .run_end = iocp_run_end,
};
