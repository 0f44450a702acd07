/*
 * src/backend/iocp.h - what the three parts of the IOCP backend share:
 * iocp.c (the port, the handle table, files, close, cancel, the wait),
 * iocp_net.c (sockets: AcceptEx, ConnectEx, WSARecv/WSASend, WSARecvMsg/
 * WSASendMsg) and iocp_poll.c (readiness of sockets through AFD).
 *
 * Every request the backend hands to the kernel carries the op's own
 * OVERLAPPED (op->internal_.win.ov), so a packet leads straight to its op.
 * No handle is in skip-on-success mode: every request that did not fail at
 * once produces exactly one packet, and only the packet finishes the op
 * (docs/wine-probes/FINDINGS.md, points 2 and 7).
 *
 * The rule every issue path follows: a request queues its packet unless it
 * failed with an NT_ERROR status (0xC0000000 and up). Success, pending and
 * the *warning* statuses (0x8...) all queue one: ERROR_MORE_DATA from a
 * message-mode pipe's ReadFile (STATUS_BUFFER_OVERFLOW: the bytes were
 * copied) and WSAEMSGSIZE from a receive of a datagram cut to its buffer
 * are such warnings, so the op waits for its packet, where the status is
 * taken as a success with the byte count. A send's WSAEMSGSIZE is an error
 * (the datagram was refused whole): its packet comes only if the call left
 * a non-error status in the OVERLAPPED (Wine 8 does; see iocp_net.c). Treating a warning as final
 * would finish the op twice (now, and at its packet).
 */
#ifndef CIO_BACKEND_IOCP_H
#define CIO_BACKEND_IOCP_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#include <winternl.h>

#include "../core/oserr.h"
#include "../core/handle_win.h"
#include "backend.h"

/* Completion keys. Handles are associated with KEY_IO; a wake is a packet
 * with KEY_WAKE and no OVERLAPPED. */
#define IOCP_KEY_IO 1
#define IOCP_KEY_WAKE 2

/* NTSTATUS values (ntstatus.h clashes with winnt.h's subset). */
#define IOCP_ST_PENDING ((LONG)0x00000103L)
#define IOCP_ST_BUFFER_OVERFLOW ((LONG)0x80000005UL)
#define IOCP_ST_HANDLES_CLOSED ((LONG)0x8000000AUL)
#define IOCP_ST_UNSUCCESSFUL ((LONG)0xC0000001UL)
#define IOCP_ST_INVALID_HANDLE ((LONG)0xC0000008UL)
#define IOCP_ST_END_OF_FILE ((LONG)0xC0000011UL)
#define IOCP_ST_CANCELLED ((LONG)0xC0000120UL)
#define IOCP_ST_LOCAL_DISCONNECT ((LONG)0xC000013BUL)
#define IOCP_ST_INVALID_CONNECTION ((LONG)0xC0000140UL)
#define IOCP_ST_PIPE_BROKEN ((LONG)0xC000014BUL)
#define IOCP_ST_CONNECTION_ABORTED ((LONG)0xC0000241UL)

/* Whether an NTSTATUS returned by a call that was given an OVERLAPPED
 * means a packet comes (the rule above): everything below NT_ERROR. */
static inline bool iocp_st_queues(LONG st) { return (ULONG)st < 0xC0000000UL; }

/* The most one request moves: results are int32_t, and Linux caps every
 * read and write at 0x7ffff000 bytes; a larger request is cut there and
 * reports a short transfer, so the result is never a negative non-error. */
#define IOCP_XFER_MAX 0x7ffff000u

/* op->internal_.bflags while the backend holds the op. */
enum {
    BF_KERNEL = 1 << 0,   /* its request is in the kernel: one packet will come */
    BF_CANCEL = 1 << 1,   /* cancelled (cio_cancel, a deadline, a close, the loop's close) */
    BF_DONTWAIT = 1 << 2, /* CIO_MSG_DONTWAIT: the request went pending and was cancelled at once */
    BF_COUNT = 1 << 3,    /* op->res counts the bytes moved so far (MSG_WAITALL, vectors of files) */
    BF_SIDE = 1 << 4,     /* op->res is the index of its side buffer (accept, poll) */
    BF_AFD = 1 << 5,      /* issued on the loop's AFD handle, not on its own */
    BF_POS = 1 << 6,      /* at the position cio keeps: reserved its range at its first
                             request (the OVERLAPPED's offset says where it is) */
    BF_LISTED = 1 << 7,   /* in its handle's `ops` */
    BF_POSTED = 1 << 8,   /* its packet is one cio posted (a result known at once): no
                             request to cancel; op->res holds the result */
    BF_SHUT_RD = 1 << 9,  /* a receive cancelled by shutdown(SHUT_RD): end of stream */
    BF_MSGSIZE = 1 << 10  /* a send refused with WSAEMSGSIZE whose packet still comes (Wine) */
};

/* What a handle is, learnt the first time an op uses it. */
enum {
    H_SOCKET = 1, /* a socket on this loop's port */
    H_DISK,       /* a file opened overlapped, on the port: has a position */
    H_STREAM,     /* an overlapped pipe or device on the port: no position */
    H_POOL        /* cannot join the port (console, anonymous pipe, non-overlapped file,
                     a handle on another loop's port): its IO runs on the pool */
};

/* One handle this loop has used; in an open-addressing table keyed by the
 * handle's value. Dropped when cio closes the handle. */
typedef struct iocp_handle {
    cio_fd fd;       /* CIO_FD_INVALID: a free slot */
    uint8_t kind;    /* H_* */
    bool is_socket;  /* close with closesocket (also an H_POOL socket) */
    bool append;     /* opened for appending only: writes go to the end */
    bool is_pipe;    /* H_STREAM: a named pipe (a poll waits with a read of 0 bytes) */
    bool is_disk;    /* a file on a disk (H_DISK, or H_POOL): always ready for a poll */
    bool is_dir;     /* H_DISK opened on a directory: a read or write is -CIO_EISDIR */
    bool closing;    /* a close waits for `ops`: new ops fail with -CIO_EBADF */
    bool listening;  /* seen listening (SO_ACCEPTCONN): an accept may wait on it */
    bool shut_listen; /* a listener cio shut down (SHUT_RD/RDWR): accepts are -CIO_EINVAL */
    bool peer_gone;  /* a stream whose reset or end was seen: a reset is reported once */
    bool rd_shut;    /* cio shut its read side: receives end at once, a poll for IN or RDHUP too */
    uint32_t cancels; /* sockets: CancelIoEx calls cio made on it (iocp_net.c: collateral) */
    uint64_t rx_turn, rx_run; /* streams: when a receive on it last took bytes (iocp_net.c: eof_probe) */
    bool joined;     /* on this loop's port (a socket joins at its first IO, not at a poll) */
    int family, socktype, protocol; /* sockets */
    cio_fd base;     /* sockets: SIO_BASE_HANDLE, what AFD polls */
    uint64_t pos;    /* H_DISK: the position of CIO_OFFSET_CURRENT */
    uint64_t turn;   /* the loop turn in which an op on it last completed, inside run `run` */
    uint64_t run;
    opq ops;         /* this loop's ops on the handle that the backend holds */
    cio_op *close;   /* the close waiting for `ops` to drain */
} iocp_handle;

/* AFD's poll request (undocumented; as libuv, wepoll and mio use it). */
typedef struct iocp_afd_handle_info {
    HANDLE handle;
    ULONG events;
    LONG status;
} iocp_afd_handle_info;

typedef struct iocp_afd_poll_info {
    LARGE_INTEGER timeout;
    ULONG count;
    ULONG exclusive;
    iocp_afd_handle_info handles[1];
} iocp_afd_poll_info;

/* AcceptEx writes both addresses, each with 16 bytes of its own. */
#define IOCP_ACCEPT_ADDR_LEN (sizeof(SOCKADDR_STORAGE) + 16)

/* Memory a request needs beyond its op, for as long as it is in the
 * kernel: the addresses AcceptEx writes, or an AFD poll's in/out block.
 * Kept in chunks that never move, found by index (op->res, BF_SIDE), and
 * reused: no allocation once a loop has seen its peak of such requests. */
typedef struct iocp_side {
    int32_t next_free;
    SOCKET sock; /* accept: the socket AcceptEx connects */
    union {
        char addrs[2 * IOCP_ACCEPT_ADDR_LEN];
        iocp_afd_poll_info poll;
    } u;
} iocp_side;
#define IOCP_SIDE_CHUNK 64

typedef struct iocp {
    HANDLE port;
    HANDLE afd;            /* \Device\Afd, opened at the first poll; NULL before */
    bool afd_failed;       /* it could not be opened: polls fail with -CIO_ENOTSUP */
    bool notify;           /* cio_loop_fd() was asked: keep the port signalled while work waits */
    iocp_handle *tab;
    uint32_t cap, used;    /* cap: a power of two; used <= cap / 2 */
    iocp_side **chunks;
    uint32_t nchunks;
    int32_t free_side;     /* -1: none */
    uint64_t runs;         /* cio_loop_run calls ended: tells one run's first turn from the last run's */
} iocp;

_Static_assert(sizeof(iocp) <= sizeof(((cio_core *)0)->backend), "iocp state must fit");

static inline iocp *iocp_state(cio_loop *loop) { return CIO_BACKEND_STATE(loop, iocp); }

static inline OVERLAPPED *iocp_ov(cio_op *op) { return &op->internal_.win.ov; }

static inline cio_op *iocp_op_of(OVERLAPPED *ov) {
    return (cio_op *)(void *)((char *)ov - offsetof(cio_op, internal_.win.ov));
}

/* A fresh OVERLAPPED for a request at `offset` (ignored by sockets and pipes). */
static inline OVERLAPPED *iocp_ov_at(cio_op *op, uint64_t offset) {
    OVERLAPPED *ov = iocp_ov(op);
    memset(ov, 0, sizeof *ov);
    ov->Offset = (DWORD)offset;
    ov->OffsetHigh = (DWORD)(offset >> 32);
    return ov;
}

/* What the completion of one request says about its op. */
enum {
    STEP_FINAL, /* the op ends with the result */
    STEP_MORE,  /* a multishot op delivers the result and goes on */
    STEP_AGAIN  /* the next request of the op is in the kernel already */
};

/* iocp.c */
iocp_handle *iocp_find(iocp *s, cio_fd fd);
iocp_handle *iocp_learn(cio_loop *loop, cio_fd fd, int *err); /* find, or learn (NULL: *err) */
void iocp_forget(iocp *s, cio_fd fd);
iocp_side *iocp_side_get(iocp *s, int32_t idx);
int32_t iocp_side_take(iocp *s); /* -CIO_ENOMEM or an index */
void iocp_side_put(iocp *s, int32_t idx);
int32_t iocp_status(const iocp_handle *h, const cio_op *op, LONG st);
void iocp_issued(iocp_handle *h, cio_op *op);
bool iocp_join(iocp *s, iocp_handle *h);

/* iocp_net.c: `issue` functions return true when a packet will come, or
 * false with the op's final result in *res; `done` functions take a packet
 * (its status, byte count) and say what follows. */
void iocp_net_setup(void);
void iocp_sock_learnt(iocp_handle *h); /* a socket cio starts IO on (not one only polled) */
bool iocp_sock_issue(cio_loop *loop, iocp_handle *h, cio_op *op, int32_t *res);
int iocp_sock_done(cio_loop *loop, iocp_handle *h, cio_op *op, LONG st, DWORD bytes, int32_t *res);
int32_t iocp_sock_inline(cio_loop *loop, cio_op *op);

/* iocp_poll.c */
bool iocp_poll_issue(cio_loop *loop, iocp_handle *h, cio_op *op, int32_t *res);
int iocp_poll_done(cio_loop *loop, iocp_handle *h, cio_op *op, LONG st, int32_t *res);
/* One AFD poll of the socket `h` on behalf of `op` (any opcode: a
 * recv_pool on a socket that cannot join the port waits for data so),
 * for the CIO_POLL* `events`: an `issue` function as above (no AFD:
 * -CIO_ENOTSUP). At its packet, iocp_afd_done() gives back its side
 * memory and returns what came as CIO_POLL* bits, with CIO_POLLNVAL for
 * the socket's close behind cio's back. */
bool iocp_afd_issue(cio_loop *loop, iocp_handle *h, cio_op *op, uint32_t events, int32_t *res);
uint32_t iocp_afd_done(cio_loop *loop, cio_op *op);

#endif /* CIO_BACKEND_IOCP_H */
