/*
 * cio/loop.h - the proactor: a loop that takes ops and delivers their
 * completions.
 *
 * One loop belongs to one thread. Only cio_loop_wake(), cio_loop_post() and
 * cio_strerror() may be called from other threads; every other function
 * must be called on the thread that runs the loop. A loop may be set up on
 * one thread and handed to another before it first enters the kernel (its
 * first cio_loop_run()); from then on it belongs to that thread, which must
 * also close it.
 *
 *     cio_loop loop;
 *     cio_loop_init(&loop, NULL);          // allocates once, here
 *     cio_prep_timeout(&op, 1000000, 0);    // 1 ms
 *     op.cb = on_timer;
 *     cio_submit(&loop, &op);
 *     cio_loop_run(&loop, CIO_RUN_DEFAULT); // until no op is active
 *     cio_loop_close(&loop);
 *
 * Submitting and completing ops allocates nothing. Submission only queues:
 * the kernel sees queued ops at the next turn of cio_loop_run(), all of
 * them in the same system call that waits for completions.
 *
 * Misuse: every function checks its loop. A NULL loop, one never set up
 * (all zero), one whose cio_loop_init() failed, or one already closed is
 * refused with -CIO_EINVAL (functions that return no error do nothing and
 * return 0). What stays undefined: a loop of uninitialised memory, using
 * a loop from a thread that does not own it, and freeing or moving a loop
 * (or an op in flight) before cio_loop_close() returns.
 *
 * fork(): a loop belongs to the process that set it up. In a child, an
 * inherited loop refuses every call with -CIO_EPERM except
 * cio_loop_close(), which releases the child's copy of its handles and
 * memory without completing any op or touching what the parent still
 * uses (the parent's ops go on undisturbed; only cio_loop_at_close() hooks
 * run, with -CIO_EPERM), and returns 0. Tasks of an
 * inherited loop are not resumed in the child. The child may set up loops
 * of its own.
 */
#ifndef CIO_LOOP_H
#define CIO_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "op.h"
#include "platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which kernel interface a loop runs on. */
typedef enum cio_backend_kind {
    CIO_BACKEND_AUTO = 0, /* the best one the system allows (io_uring first) */
    CIO_BACKEND_URING,    /* Linux io_uring */
    CIO_BACKEND_EPOLL,    /* Linux epoll, with completion emulated in user space */
    CIO_BACKEND_POLL,     /* POSIX poll, with completion emulated in user space */
    CIO_BACKEND_IOCP,     /* Windows I/O completion ports: one port per loop, every op
                             on it or on the blocking pool; the one Windows backend
                             and CIO_BACKEND_AUTO's choice there. Elsewhere
                             cio_loop_init() refuses it with -CIO_ENOTSUP */
    CIO_BACKEND_MOCK      /* simulation for tests: virtual time, a seeded world of
                             sockets, pipes and files, faults and invariants
                             (cio/mock.h). Only when named: CIO_BACKEND_AUTO never
                             picks it */
} cio_backend_kind;

/*
 * Options for cio_loop_init(). Start from all-zero (`= {0}`, or pass NULL):
 * zero is the default of every field. The struct's size never changes:
 * later versions give meaning to the reserved words, which must be zero,
 * so a program built against this header keeps working unchanged.
 */
typedef struct cio_loop_options {
    uint32_t entries;         /* submission queue size; 0 = 256. Rounded up to a
                                 power of two and clamped by the kernel. */
    cio_backend_kind backend; /* CIO_BACKEND_AUTO by default */
    uint32_t flags;           /* reserved, must be 0 */
    uint32_t reserved0_;      /* must be 0 */
    uint64_t seed;            /* the seed of a simulated run (CIO_BACKEND_MOCK, cio/mock.h;
                                 0: CIO_MOCK_SEED, else 1); the other backends ignore it */
    const void *backend_options; /* a backend's own settings, as that backend's header
                                    describes them; NULL for its defaults. The mock takes a
                                    cio_mock_options (cio/mock.h); the others take none and
                                    ignore it */
    uint64_t reserved_[5];    /* must be 0 */
} cio_loop_options;

/* How cio_loop_run() proceeds. */
typedef enum cio_run_mode {
    CIO_RUN_DEFAULT = 0, /* turn until no op is active or cio_loop_stop() */
    CIO_RUN_ONCE,        /* one turn, waiting for at least one completion if any op is active */
    CIO_RUN_NOWAIT       /* one turn that never blocks */
} cio_run_mode;

/* What the loop has done since cio_loop_init(); see cio_loop_stats(). */
typedef struct cio_stats {
    uint64_t ops_submitted;     /* successful cio_submit() ops, counting each op of a batch */
    uint64_t ops_completed;     /* final completions delivered */
    uint64_t enters;            /* system calls into the kernel to submit or wait
                                   (io_uring_enter, epoll_wait, ...) */
    uint64_t kernel_completions; /* completions the kernel returned (CQEs); divided by
                                   `enters`, the completions per enter */
    uint64_t turns;             /* loop iterations */
    uint64_t sq_full_flushes;   /* submissions pushed early because the queue was full */
    uint64_t cq_overflows;      /* times the kernel held completions back for lack of room */
    uint64_t posts_received;    /* messages delivered by cio_loop_post() or CIO_OP_POST */
} cio_stats;

/* Room for the runtime's private loop state; part of the ABI. */
#define CIO_LOOP_INTERNAL_SIZE 1024

/*
 * The loop. The caller places it (stack, static, heap) and keeps it at the
 * same address from cio_loop_init() to cio_loop_close().
 */
struct cio_loop {
    void *data; /* caller's context; cio never reads it */
    union {
        uint64_t align_;
        void *palign_;
        unsigned char bytes[CIO_LOOP_INTERNAL_SIZE];
    } internal_; /* the runtime's; never read or write it */
};

/*
 * cio_loop_init - set up a loop on the backend `opts` asks for.
 *
 * `opts` may be NULL for defaults. CIO_BACKEND_AUTO takes the first backend
 * that sets up: io_uring, then epoll (io_uring_setup failing with ENOSYS,
 * EPERM or EACCES, as under container seccomp profiles or with
 * kernel.io_uring_disabled, or a kernel older than 5.19), then poll; on
 * Windows, IOCP. cio_loop_backend() says which one runs. The environment
 * variable CIO_BACKEND ("auto", "io_uring", "epoll", "poll", "iocp",
 * "mock") overrides `opts`, so
 * that a deployed program can be moved without a rebuild. A named backend
 * is not replaced by another when it fails.
 *
 * This is the only call that allocates (the kernel ring or the handle
 * table, and a wake handle). Returns 0, or -CIO_EINVAL (bad options or an
 * unknown CIO_BACKEND; the first such call of a process also writes one
 * line naming the variable to stderr), -CIO_ENOTSUP (backend not built in
 * or not usable here), -CIO_ENOMEM, -CIO_EMFILE, or the kernel's error
 * from setting up the backend named. On error the loop is left unusable
 * (every call on it returns -CIO_EINVAL) and needs no close. `loop->data`
 * is kept.
 *
 * SIGPIPE: a write op on a socket or pipe whose reader has gone must fail
 * with -CIO_EPIPE, not kill the process, and on io_uring it may run on a
 * kernel worker where no flag can stop the signal. So if SIGPIPE is at its
 * default disposition, cio_loop_init() sets it to ignored, as most servers
 * do themselves; a handler the program installed is left alone (it then
 * runs, and the op still fails with -CIO_EPIPE).
 *
 * O_NONBLOCK: the epoll and poll backends never let a system call block
 * the loop. Where the system offers a per-call way, they use it and leave
 * the handle's flags alone: MSG_DONTWAIT for sends and receives, and on
 * Linux RWF_NOWAIT for reads and writes on pipes (from Linux 6.4), sockets
 * and most devices. Elsewhere they set O_NONBLOCK on the handle themselves
 * and do not clear it again: on the socket of an accept or a connect, and
 * on the handle of a read, write, readv or writev on systems other than
 * Linux, or on Linux when the file refuses RWF_NOWAIT (a terminal; a pipe
 * before Linux 6.4). O_NONBLOCK belongs to the open file, shared by every
 * process that has it open: a terminal the program inherited as stdin or
 * stdout stays non-blocking for the shell and the programs that use it
 * after this one. io_uring changes no flags.
 */
CIO_API int cio_loop_init(cio_loop *loop, const cio_loop_options *opts);

/*
 * cio_loop_close - cancel everything and release the loop.
 *
 * Every op still in flight is cancelled and its callback runs, from inside
 * this call, with -CIO_ECANCELED (or its real result if it finished first),
 * so that every buffer is returned before the loop goes away. Callbacks may
 * not submit new ops then (cio_submit() returns -CIO_ECANCELED). Once every
 * op has completed, the cio_loop_at_close() hooks run; tasks of the loop
 * end there (cio/task.h). Returns 0,
 * or -CIO_EBUSY when called from inside one of this loop's callbacks (then
 * nothing happens; stop the loop and close it after cio_loop_run()
 * returns), -CIO_EINVAL (NULL, never set up, or closed already), or
 * -CIO_EIO when the system stopped answering while ops were still in the
 * kernel (its wait for completions failed): those ops get no callback,
 * the hooks run with -CIO_EIO, the loop is released all the same, and the
 * kernel may still write into those ops and their buffers, so the program
 * must not free or reuse them. Messages
 * posted to a closing loop are lost: stop posting first. In a child
 * process after fork(), see the top of this file.
 *
 * The blocking pool. Ops a backend cannot run asynchronously (file IO,
 * openat, statx, fsync, splice on epoll and poll; opcodes the kernel's
 * io_uring lacks) run on threads shared by every loop of the process: at
 * most 64 (CIO_POOL_THREADS in the environment sets another cap), started
 * as needed, gone after 5 s idle. One loop runs at most 8 (half the cap, if
 * smaller) at a time; its further ops wait, so a loop whose ops block for
 * good cannot stall the others. Cancelling a running pool op (cio_cancel,
 * CIO_OP_CANCEL, its deadline, this close) interrupts its thread with
 * signal SIGRTMAX - 2 (handler without SA_RESTART; a handler the program
 * had installed for it still gets the program's own signals): a system
 * call that can be interrupted (a splice from an empty pipe, most waits) ends
 * and the op completes with -CIO_ECANCELED or -CIO_ETIMEDOUT. What cannot
 * be interrupted (disk IO under way) finishes on its own, and this call
 * waits for it. Pool threads block every other signal.
 */
CIO_API int cio_loop_close(cio_loop *loop);

/*
 * cio_loop_is_closing - whether cio_loop_close() is under way on `loop`:
 * a callback that runs with -CIO_ECANCELED can tell the loop's shutdown
 * from a cancel of its own. false for NULL or a loop not set up. Loop
 * thread.
 */
CIO_API bool cio_loop_is_closing(const cio_loop *loop);

/*
 * cio_loop_run - turn the loop: submit queued ops, wait, run callbacks.
 *
 * Returns the number of ops still active (0 when none), or a negative error
 * when the backend fails (then the loop should be closed). Returns early
 * after cio_loop_stop(). Not reentrant: calling it from a callback returns
 * -CIO_EBUSY.
 *
 * What keeps CIO_RUN_DEFAULT going: active ops, and nothing else. An op is
 * active from the cio_submit() that takes it (each op of a batch or link
 * chain counts) until its final completion's callback starts: timers and
 * deadlines included, ops on the blocking pool, a multishot op until its
 * last result, a CIO_OP_POST until the message is in the target's queue.
 * Not active, so not keeping the loop: messages posted to this loop with
 * cio_loop_post() (delivered during turns that run for other reasons),
 * cio_loop_wake(), cio_loop_at_close() hooks, and tasks as such: a task
 * counts through the ops it waits for (cio/task.h: a task blocked on a
 * sync primitive without a deadline has none). With no op active, no mode
 * waits: CIO_RUN_ONCE too runs what is ready and returns 0 at once. So a
 * loop that only serves posts keeps an op submitted (a long timer, as
 * cio_xchan_recv() does) or waits on cio_loop_fd() itself. The count is
 * cio_loop_active(); the return value is the same.
 */
CIO_API int cio_loop_run(cio_loop *loop, cio_run_mode mode);

/*
 * cio_loop_stop - make the current (or next) cio_loop_run() return after
 * the turn it is in. Loop thread only; from another thread, post a message
 * whose callback calls it.
 */
CIO_API void cio_loop_stop(cio_loop *loop);

/*
 * cio_submit - hand an op to the loop.
 *
 * The op must have been prepared with a cio_prep_* helper; it and its
 * buffers belong to the runtime until its final callback starts. Returns 0,
 * or an error, in which case the op was not taken (no callback will run):
 * -CIO_EINVAL (unprepared op, bad flag, NULL buffer with a length, CIO_F_LINK
 * outside a batch, an op of another loop as cancel target), -CIO_EBADF
 * (negative handle), -CIO_EALREADY (the op is already in flight),
 * -CIO_ENOENT (the cancel or timer target is not in flight), -CIO_ENOTSUP
 * (the op does not exist on this platform), -CIO_ECANCELED (the loop is
 * closing), -CIO_EINVAL for a loop that is not set up or closed, -CIO_EPERM
 * for a loop inherited across fork(). With the registered resources of
 * cio/fixed.h also: -CIO_EBADF (CIO_F_FIXED_FILE on a handle that is not
 * a live fixed handle of this loop), -CIO_EINVAL (CIO_F_FIXED_FILE on an
 * opcode that does not take it, or a new fixed handle without a table),
 * -CIO_EFAULT (a fixed-buffer range outside its registered buffer, or
 * none registered).
 */
CIO_API int cio_submit(cio_loop *loop, cio_op *op);

/*
 * cio_submit_batch - hand `n` ops to the loop at once, in order.
 *
 * CIO_F_LINK and CIO_F_HARDLINK chain an op to the next one in the array;
 * an op without either ends its chain, so one batch may hold several
 * independent chains (and single ops). Either flag on the last op of the
 * batch, or outside a batch, is -CIO_EINVAL.
 * Every op is checked first: on an error none of them is taken, the error
 * is returned as in cio_submit(), and the offending op's `res` holds it
 * (except an op already in flight, -CIO_EALREADY: that one is untouched).
 * A CIO_OP_CANCEL may name another op of the same batch: an earlier one is
 * cancelled in flight, a later one before it starts. Returns 0 when all
 * were taken.
 */
CIO_API int cio_submit_batch(cio_loop *loop, cio_op *const *ops, unsigned n);

/*
 * cio_cancel - ask for `target` to be cancelled, with no completion of its
 * own. The target still completes exactly once (with -CIO_ECANCELED, or its
 * result if it finished first). Returns 0 when the request was made,
 * -CIO_ENOENT when `target` is not in flight on this loop or its result is
 * already known (its callback is queued), or the backend's error when it
 * could not make the request (the target then completes by itself). Use a
 * CIO_OP_CANCEL op instead to learn whether the cancel found the target.
 */
CIO_API int cio_cancel(cio_loop *loop, cio_op *target);

/*
 * cio_now - the loop's monotonic time in nanoseconds. It is read from the
 * clock once per loop turn, after the wait, at the first moment the turn
 * needs it (a due timer, a relative timeout, a call to cio_now()), and stays
 * the same for the rest of the turn. Relative timeouts count from it. The
 * clock is CLOCK_MONOTONIC on POSIX, the one io_uring's timeouts use.
 */
CIO_API uint64_t cio_now(const cio_loop *loop);

/* cio_loop_update_now - refresh the cached time; returns the new value. */
CIO_API uint64_t cio_loop_update_now(cio_loop *loop);

/* cio_loop_backend - the backend this loop runs on (never CIO_BACKEND_AUTO). */
CIO_API cio_backend_kind cio_loop_backend(const cio_loop *loop);

/* cio_backend_name - "io_uring", "epoll", ...; a static string. Any thread. */
CIO_API const char *cio_backend_name(cio_backend_kind kind);

/* cio_loop_active - how many ops are in flight (submitted, not finally completed). */
CIO_API unsigned cio_loop_active(const cio_loop *loop);

/*
 * cio_loop_fd - a handle that becomes readable when the loop has work: a
 * completion, a wake or a post. Another event loop (a GUI toolkit, or
 * another cio loop through CIO_OP_POLL) waits on it, then calls
 * cio_loop_run(loop, CIO_RUN_NOWAIT). Timers do not make it readable: wait
 * at most cio_loop_timeout() as well. Run the loop once
 * (cio_loop_run(loop, CIO_RUN_NOWAIT)) before the first wait on the handle:
 * io_uring starts its ring on the thread of the first run, and until then
 * a post or wake does not make the handle readable. The handle belongs to
 * the loop; do not close it. Returns 0 and sets `*fd`, or a negative error:
 * -CIO_ENOTSUP on the poll backend, whose poll(2) set has no single handle
 * to wait on (io_uring and epoll have one). On Windows (IOCP) it is the
 * loop's completion port, a HANDLE that is signalled while completions
 * wait in it: WaitForSingleObject or MsgWaitForMultipleObjects (a GUI's
 * message loop) wait on it, and a wait on it takes nothing out of the
 * port. That is what Wine 8 does; Microsoft does not document waiting on
 * a port, so it is unverified on Windows itself. Another cio loop cannot
 * CIO_OP_POLL it (a port is no socket). Only wait on it: do not associate
 * handles with it, post packets to it or dequeue from it
 * (GetQueuedCompletionStatus): the loop takes every packet in its port
 * for one of its own ops, so a foreign packet is a wild pointer.
 */
CIO_API int cio_loop_fd(cio_loop *loop, cio_fd *fd);

/*
 * cio_loop_timeout - how long an outside driver may wait before the next
 * cio_loop_run(CIO_RUN_NOWAIT): 0 if work is ready now, -1 if no timer is
 * pending but those that never fire (CIO_TIMEOUT_NEVER), else nanoseconds
 * until the earliest timer or deadline, or until a moment before it: a timer far ahead is first known to the tick of its
 * timer wheel slot, so a wait for it may end early a few times (once per
 * wheel level), never late. A loop that cannot be used gives -CIO_EINVAL
 * or -CIO_EPERM (see the top).
 */
CIO_API int64_t cio_loop_timeout(cio_loop *loop);

/*
 * cio_loop_wake - make the loop's current or next wait return at once.
 * Safe from any thread and from signal-free contexts; wakes are coalesced.
 * Returns 0 or a negative error.
 */
CIO_API int cio_loop_wake(cio_loop *loop);

/*
 * cio_loop_post - hand a message to `target` from any thread.
 *
 * `msg` is an op prepared with cio_prep_nop() whose `cb`, `data`, `tag` and
 * `res` the sender sets; `msg->cb(target, msg)` runs on the target's thread
 * during one of its turns, in the order each sender posted. `msg` belongs
 * to the runtime until that callback starts. A post does not keep a loop's
 * cio_loop_run(CIO_RUN_DEFAULT) from returning. Lock-free, allocates
 * nothing. Returns 0, -CIO_EINVAL (no callback, unprepared) or
 * -CIO_EALREADY (`msg` is already posted or in flight). The message is
 * queued before the target is woken, so its callback may run before this
 * call returns: the target must stay set up until then (a loop closed in
 * reaction to a message from a thread still inside this call has that
 * thread write to its closed wake handle).
 */
CIO_API int cio_loop_post(cio_loop *target, cio_op *msg);

/*
 * cio_loop_at_close - have `hook->cb` run when the loop closes.
 *
 * For code that keeps its own state per loop (the task layer ends its
 * tasks this way) and must tidy up before the loop goes. `hook` is an op
 * prepared with cio_prep_nop() whose `cb` is set. It completes exactly once:
 * inside cio_loop_close(), with `res` 0, after every op of the loop has
 * completed and while the loop refuses new ops (cio_submit() returns
 * -CIO_ECANCELED), newest hook first, and before the loop lets go of its
 * buffer pools, registered buffers and fixed handles (cio/bufpool.h,
 * cio/fixed.h), which a hook, and a task that the close ends, may still
 * use; or with -CIO_ECANCELED at the next
 * turn when cio_cancel(loop, hook) takes it back first. When the close
 * cannot end the loop's ops, hooks complete with an error instead and must
 * only let go of their own memory, touching no op or task of the loop:
 * -CIO_EPERM in a child closing a loop inherited across fork(), -CIO_EIO
 * when ops stuck in the kernel outlive the close. A registered hook
 * does not count as active: it never keeps cio_loop_run() going. `hook`
 * belongs to the runtime until its callback starts. Returns 0, -CIO_EINVAL
 * (no loop, no callback, not a nop), -CIO_EALREADY (`hook` is in use) or
 * -CIO_ECANCELED (the loop is closing). Loop thread only.
 */
CIO_API int cio_loop_at_close(cio_loop *loop, cio_op *hook);

/* cio_loop_stats - copy the loop's counters into `*out`. */
CIO_API void cio_loop_stats(const cio_loop *loop, cio_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* CIO_LOOP_H */
