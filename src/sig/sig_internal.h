/*
 * src/sig/sig_internal.h - what the files of src/sig share (not public).
 *
 * sig.c is the part that is the same everywhere: watchers, the record of
 * each loop that has some, the counting and the reports. sig_posix.c and
 * sig_win.c bring what the system does: the process-wide handler (or the
 * console routine), the loop's wake channel (a pipe; a loopback socket
 * pair on Windows) and, on Linux, a signalfd for blocked signals.
 *
 * Two worlds meet here. The handler runs in signal context (or on a
 * thread of the system's, on Windows) and touches only the slots: atomic
 * counters and a wake handle, published in a fixed array. Everything else
 * belongs to the loop's thread.
 */
#ifndef CIO_SIG_INTERNAL_H
#define CIO_SIG_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cio/loop.h"
#include "cio/op.h"
#include "cio/signal.h"

/* What the handler of a loop sees. `mask` holds the signals some watcher
 * of the loop watches; `counts` the deliveries the loop has not collected
 * yet; `wake` the handle a byte goes to (written, never read, by the
 * handler). */
typedef struct sig_slot {
    _Atomic uint64_t mask[2];
    _Atomic uint32_t counts[CIO_SIGNAL_MAX];
    _Atomic uintptr_t wake;
} sig_slot;

/* The system's part of a wake channel: a signalfd on Linux, nothing else
 * elsewhere. */
#if defined(__linux__)
#include <signal.h>
typedef struct sig_os {
    int sfd;       /* -1 until a blocked signal is watched */
    sigset_t set;  /* what it reads */
    unsigned nset; /* how many signals are in `set` */
    cio_op poll;   /* CIO_POLLIN on it while someone waits */
    bool poll_inflight;
    bool failed; /* its poll failed: not armed again */
} sig_os;
#else
typedef struct sig_os {
    int unused_;
} sig_os;
#endif

struct sig_loop;

/* A loop's wake channel: made at the first watch, closed with the last
 * watcher. It lives on the heap so that a teardown can wait for the close
 * ops of one channel while a new watcher already has the next. */
typedef struct sig_wake {
    struct sig_loop *ls; /* NULL once torn down */
    bool mock;           /* simulated handles: closed only through ops */
    cio_fd rfd, wfd;     /* CIO_FD_INVALID once closed */
    cio_op rd;           /* the read that keeps the loop going while someone waits */
    bool rd_inflight;
    unsigned char rbuf[64];
    unsigned ops; /* ops of this channel in flight (read, poll, closes) */
    cio_op close_r, close_w;
    sig_os os;
} sig_wake;

/* ---- sig.c, for the system files ---- */

/* Counts a delivery of `signo` for every published slot that watches it
 * and pokes each one's wake handle. Async-signal-safe; any thread.
 * Returns how many slots counted it. */
unsigned cio__sig_deliver(int signo);

/* An op of the channel completed: counts it, and frees a channel that was
 * torn down once its last op is back. Returns whether the channel is still
 * its loop's (the caller may go on with it). */
bool cio__sig_wake_op_done(sig_wake *w);

/* Collects the loop's counts, reports them and arms the channel again
 * (the signalfd reader calls it after it delivered what it read). */
void cio__sig_wake_collect(sig_wake *w);

/* ---- the system's files ---- */

/* Whether `signo` may be watched here (not the range check). */
bool cio__sig_os_valid(int signo);

/* The process-wide handler: the first watch of `signo` installs it, the
 * last gives the earlier disposition back. Called under sig.c's lock. */
int cio__sig_os_watch(int signo);
void cio__sig_os_unwatch(int signo);

/* Makes the real wake channel (w->rfd, w->wfd), both close-on-exec, the
 * write end non-blocking. */
int cio__sig_os_wake_open(sig_wake *w);

/* Writes a byte to a wake handle; async-signal-safe; errors ignored (a
 * full pipe has a byte in it already). */
void cio__sig_os_poke(uintptr_t wake);

/* Closes a real handle of the channel at once (no op in flight on it). */
void cio__sig_os_close_now(cio_fd fd);

/* Gives the processor to another thread (while a handler finishes). */
void cio__sig_os_yield(void);

/* The read op on the channel (a read on a pipe, a receive on a socket). */
void cio__sig_os_prep_read(sig_wake *w);

/* The signalfd part (Linux, sig_posix.c; no-ops elsewhere), for real
 * backends only. Loop thread. init: nothing open. add: the loop starts
 * watching `signo`: reads it from a signalfd when the calling thread
 * blocks it. remove: stops. arm: ops in flight while someone waits
 * (counted in w->ops); disarm: cancels them. teardown: the channel is
 * going, cancel what is in flight. release: close what is open. */
#if defined(__linux__)
void cio__sig_os_init(sig_wake *w);
int cio__sig_os_add(sig_wake *w, int signo);
void cio__sig_os_remove(sig_wake *w, int signo);
int cio__sig_os_arm(sig_wake *w, cio_loop *loop);
void cio__sig_os_disarm(sig_wake *w, cio_loop *loop);
void cio__sig_os_teardown(sig_wake *w, cio_loop *loop);
void cio__sig_os_release(sig_wake *w);
#else
/* No signalfd: a signal blocked in every thread waits until unblocked. */
static inline void cio__sig_os_init(sig_wake *w) { (void)w; }
static inline int cio__sig_os_add(sig_wake *w, int signo) {
    (void)w, (void)signo;
    return 0;
}
static inline void cio__sig_os_remove(sig_wake *w, int signo) { (void)w, (void)signo; }
static inline int cio__sig_os_arm(sig_wake *w, cio_loop *loop) {
    (void)w, (void)loop;
    return 0;
}
static inline void cio__sig_os_disarm(sig_wake *w, cio_loop *loop) { (void)w, (void)loop; }
static inline void cio__sig_os_teardown(sig_wake *w, cio_loop *loop) { (void)w, (void)loop; }
static inline void cio__sig_os_release(sig_wake *w) { (void)w; }
#endif

#endif /* CIO_SIG_INTERNAL_H */
