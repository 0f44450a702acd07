/*
 * src/core/readiness.h - completion on top of readiness, for the epoll and
 * poll backends.
 *
 * The core's readiness layer gives every op completion semantics on a
 * kernel that only says "this handle is ready": it tries the system call
 * non-blocking first; on EAGAIN it parks the op in the handle's FIFO (one
 * for reading, one for writing, one for poll ops) and asks the multiplexer
 * to report the handle; on readiness it runs the FIFO's head again. Ops
 * with no readiness (files, metadata) go to the blocking pool, except the
 * reads of regular files on Linux, tried first on the loop's thread with
 * RWF_NOWAIT (pages in the page cache cost no thread hop); cancel is done
 * here, in user space.
 *
 * A watch stays armed across ops (levels, not one-shot): the layer keeps a
 * handle's read watch when its FIFO empties (the next receive usually
 * comes before the next byte) and drops it when it reports with nothing
 * waiting. An op completed in its handle's dispatch and posted again from
 * its callback (an echo's next receive) parks with no call at all when
 * that dispatch's try found the socket drained: no first try, no renewal
 * (the watch then reports the handle as soon as it is ready: no wake-up is
 * lost). A multishot receive from a buffer pool stays parked, and its
 * handle's dispatch stops after an arrival that drained the socket, with
 * no try to hear EAGAIN: it too costs one recv per arrival. Any other op
 * that parks renews an unchanged watch, so that a
 * number closed behind cio's back and reused is watched anew (epoll.c).
 * An echo round trip costs a receive, a send and a share of one wait.
 *
 * A try must not block, yet O_NONBLOCK belongs to the open file, which
 * every process that has it shares (an inherited stdin). So a try asks
 * "do not block" of its one call where the system allows: MSG_DONTWAIT on
 * sends and receives; RWF_NOWAIT on reads and writes, on Linux. cio sets
 * O_NONBLOCK itself, and leaves it set, only where there is no such way:
 * on the socket of an accept or a connect, and on the handle of a read or
 * write on systems other than Linux, or on Linux for a file that refuses
 * RWF_NOWAIT (a terminal; a pipe before Linux 6.4). What the layer learns
 * of a handle (its kind, readiness.c) is kept until cio closes the handle,
 * and used so that a handle closed behind cio's back, its number reused,
 * cannot make a try block the loop or move the wrong file's bytes.
 *
 * A multiplexer (src/backend/epoll.c, poll.c) only watches handles and
 * waits, behind the calls of struct cio_mux, like Redis' ae_*.c. As in ae.c
 * the multiplexer only fills an array of (fd, events); the core then
 * dispatches each entry by fd, looking the handle up again after every user
 * callback: a callback may grow the handle table (moving it), close a handle
 * through cio, or cancel and submit ops anywhere.
 */
#ifndef CIO_CORE_READINESS_H
#define CIO_CORE_READINESS_H

#include "internal.h"

/* A handle's parked ops and what the multiplexer knows of it. Indexed by fd. */
typedef struct cio_rd_handle {
    opq q[3];                  /* FIFOs: RD_Q_IN, RD_Q_OUT, RD_Q_POLL */
    uint32_t want;             /* POLLIN/POLLOUT/... the multiplexer watches for */
    uint32_t slot;             /* the multiplexer's own: poll's array index + 1; epoll's
                                  tag of the registration */
    uint8_t registered;        /* the multiplexer's own: epoll knows the fd */
    uint8_t active;            /* the multiplexer's own: epoll's watch is armed */
    uint16_t gen;              /* bumped when cio forgets the handle (a close through
                                  cio): events fetched before then are the old handle's */
    uint8_t kind;              /* RD_K_*: how reads and writes on it are tried (readiness.c),
                                  learnt once; forgotten with the handle */
    uint8_t quiet;             /* RD_QUIET_*, RD_TYPE_*, RD_FULL_IN (readiness.c: the first
                                  try), and CIO_RD_TRUSTED */
    uint8_t full_skips;        /* readiness.c (skip_try): receives after full ones that may
                                  still park untried; forgotten with the handle */
} cio_rd_handle;

/* In cio_rd_handle.quiet, while cio_mux.arm runs: the handle still names
 * the file the multiplexer's registration is for, as far as the readiness
 * layer can tell (an op that has just completed in the handle's dispatch,
 * posted again on it from its callback: readiness.c, trusted_park), so an
 * unchanged watch needs no renewal (epoll.c: what is trusted). */
#define CIO_RD_TRUSTED 0x10u

/* One ready handle, as a multiplexer reports it. `gen` is the core's. */
typedef struct cio_rd_ready {
    int fd;
    uint32_t revents; /* poll bits */
    uint16_t gen;
} cio_rd_ready;

/* At most this many ready handles per wait; more are reported next time. */
#define CIO_RD_MAX_READY 256

/* The FIFO an op parks in: its row's readiness direction (opdef.h). */
enum { RD_Q_IN = OPD_DIR_IN - 1, RD_Q_OUT = OPD_DIR_OUT - 1, RD_Q_POLL = OPD_DIR_POLL - 1 };
_Static_assert(RD_Q_IN == 0 && RD_Q_OUT == 1 && RD_Q_POLL == 2 && OPD_DIR_NONE == 0, "one FIFO per direction");

/* In the events given to cio_mux.arm: only multishot polls wait on the
 * handle, so report each new readiness edge (io_uring's multishot poll
 * semantics) rather than the level, where the multiplexer can. */
#define CIO_RD_EDGE 0x80000000u

struct cio_mux {
    const char *name;
    /* Set up; `max_fds` bounds the handles it will be asked to watch. */
    int (*init)(cio_loop *loop, unsigned max_fds);
    void (*close)(cio_loop *loop);
    /* Watch `fd` for exactly `events` (poll bits; 0: stop watching), and
     * set h->want to them. A watch for levels stays armed until changed
     * (the readiness layer drops what nobody waits for: see rearm). `renew`:
     * a multishot poll has just joined, so an edge-triggered watch must hear
     * the handle's current state again even if `events` did not change.
     * Returns 0, or -CIO_EPERM for a handle that has no readiness to wait
     * for (a regular file: always ready, as poll(2) says), or another
     * error. */
    int (*arm)(cio_loop *loop, int fd, cio_rd_handle *h, uint32_t events, bool renew);
    /* Forget `fd` before it is closed. */
    void (*forget)(cio_loop *loop, int fd, cio_rd_handle *h);
    /* Wait up to `timeout_ns` (-1: no limit); consume a wake itself (with
     * cio__wake_consumed()) and fill `out` (room for `max`) with the fd and
     * poll bits of each ready handle. Runs no callback and keeps no pointer
     * into the handle table. Returns the number of entries filled or a
     * negative error. */
    int (*wait)(cio_loop *loop, int64_t timeout_ns, cio_rd_ready *out, unsigned max);
    int (*wake)(cio_loop *loop);
    int (*pollable_fd)(cio_loop *loop, cio_fd *out);
    /* Whether any handle is watched: with none, a wait that must not block
     * could only report a wake, and is skipped while none is pending. */
    bool (*watching)(cio_loop *loop);
};

/* The readiness backends' state in cio_core.backend; the multiplexer's own
 * state follows at cio__rd_mux_state(). */
typedef struct cio_rd {
    const struct cio_mux *mux;
    cio_rd_handle *handles;
    unsigned nhandles;
    int max_fd_used;
    int disp_fd;          /* the handle being dispatched, or -1 */
    cio_op *disp_done[2]; /* the last op its dispatch completed, per FIFO (RD_Q_IN, RD_Q_OUT) */
    opq disp_finished;    /* ops on that handle that completed at submission during its
                             dispatch, whose callbacks it runs before it ends (readiness.c) */
    _Alignas(8) unsigned char mux_state[512];
} cio_rd;

static inline cio_rd *cio__rd(cio_loop *loop) { return CIO_BACKEND_STATE(loop, cio_rd); }
#define CIO_MUX_STATE(loop, type) ((type *)(void *)cio__rd(loop)->mux_state)

/* The cio_backend functions every readiness backend shares. */
int cio__rd_init(cio_loop *loop, const cio_loop_options *opts, const struct cio_mux *mux);
void cio__rd_close(cio_loop *loop);
int cio__rd_submit(cio_loop *loop, cio_op *op);
int cio__rd_cancel(cio_loop *loop, cio_op *target, cio_op *carrier);
void cio__rd_cancel_all(cio_loop *loop);
int cio__rd_wait(cio_loop *loop, int64_t timeout_ns);
int cio__rd_wake(cio_loop *loop);
int cio__rd_pollable_fd(cio_loop *loop, cio_fd *out);

/* Defines the cio_backend `var` of a readiness backend: the shared
 * functions above over the multiplexer whose calls are the file's static
 * mux_init, mux_close, mux_arm, mux_forget, mux_wait, mux_wake,
 * mux_pollable_fd and mux_watching. */
#define CIO_READINESS_BACKEND(var, label, kind_)                                                \
    static const struct cio_mux var##_mux = {                                                  \
        .name = (label), .init = mux_init, .close = mux_close, .arm = mux_arm,                 \
        .forget = mux_forget, .wait = mux_wait, .wake = mux_wake,                              \
        .pollable_fd = mux_pollable_fd, .watching = mux_watching,                              \
    };                                                                                         \
    static int var##_init(cio_loop *loop, const cio_loop_options *opts) {                     \
        return cio__rd_init(loop, opts, &var##_mux);                                           \
    }                                                                                          \
    const struct cio_backend var = {                                                           \
        .name = (label), .kind = (kind_), .features = 0, .init = var##_init,                   \
        .close = cio__rd_close, .submit = cio__rd_submit, .cancel = cio__rd_cancel,            \
        .cancel_all = cio__rd_cancel_all, .wait = cio__rd_wait, .wake = cio__rd_wake,          \
        .pollable_fd = cio__rd_pollable_fd,                                                    \
    }

/* Rounds a wait budget up to whole milliseconds (-1 stays -1), so that a
 * wait never ends before the timer it waits for. */
static inline int cio__rd_timeout_ms(int64_t ns) {
    if (ns < 0) return -1;
    int64_t ms = (ns + 999999) / 1000000;
    return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

#endif /* CIO_CORE_READINESS_H */
