/*
 * cio/task.h - tasks: stackful coroutines on a loop, with blocking-style IO.
 *
 * A task is a function running on its own stack. When it calls cio_recv(),
 * cio_sleep() or any other call below, the call prepares an L1 op on the
 * task's stack, submits it and parks the task; the loop runs other tasks
 * and callbacks; the op's completion resumes the task, and the call returns
 * the op's result. Ten thousand connections are ten thousand plain
 * sequential functions on one thread.
 *
 *     static intptr_t echo(void *arg) {
 *         cio_fd fd = (cio_fd)(intptr_t)arg;
 *         char buf[4096];
 *         int32_t n;
 *         while ((n = cio_recv(fd, buf, sizeof buf, 0)) > 0)
 *             if (cio_send(fd, buf, (uint32_t)n, CIO_MSG_WAITALL) != n) break;
 *         cio_close(fd);
 *         return 0;
 *     }
 *     ...
 *     cio_task_spawn(loop, echo, (void *)(intptr_t)fd, NULL, NULL);
 *
 * Tasks run on the thread of their loop, one at a time; a task runs until
 * it blocks in one of these calls, yields or returns. Everything here is
 * for that thread only. The blocking calls return -CIO_EPERM when called
 * outside a task.
 *
 * Cancellation: cio_task_cancel() cancels the op the task is blocked in;
 * the task resumes only after that op completed (its buffer is on the
 * task's stack) and sees -CIO_ECANCELED, and every later blocking call of
 * the task fails the same way at once, so that it unwinds; all but
 * cio_close() (a close op through cio_await()), which still closes, so that
 * the task lets go of its handles on the way out. A clean-up that needs
 * more than a close (flush a buffered writer, send a goodbye, shut a
 * socket down, wait for a child) runs inside a shield
 * (cio_task_shield_push, below): there the cancellation waits until the
 * shield is popped.
 *
 * What keeps cio_loop_run(CIO_RUN_DEFAULT) going (cio/loop.h) is ops, and
 * tasks only through the ops they have submitted: a task that is ready to
 * run (spawned, woken, yielding) has a zero timeout op that resumes it; a
 * task blocked in a call of this file has that call's op (cio_sleep a
 * timer, cio_recv its recv); a task blocked on a sync primitive
 * (cio/sync.h) or in cio_group_wait() has an op only while the wait has a
 * deadline (its own, or a deadline scope's: a timer), one in
 * cio_task_join() never (scopes do not apply to a join), and
 * cio_xchan_recv() keeps a timer far in the future so that messages from
 * other threads find the loop running. A task blocked in a wait
 * without a deadline has no op: if nothing else is active,
 * cio_loop_run(CIO_RUN_DEFAULT) returns 0 while the task still waits; it
 * goes on when a later callback or task wakes it (run the loop again), or
 * ends when the loop closes. cio_main() treats that state of its main task
 * as a deadlock and cancels the task.
 *
 * Closing the loop ends its tasks. cio_loop_close() first completes every
 * op of the loop, so a task blocked in one resumes with -CIO_ECANCELED (or
 * the op's result). Then every task of the loop that has not returned is
 * cancelled, wherever it waits (an op, a sync primitive, a join), and run
 * until it returns, inside cio_loop_close(); its blocking calls then fail
 * at once, and no IO can be submitted any more, cio_close() included
 * (clean up with plain close(2), or better, cancel the tasks and run the
 * loop before closing it, as cio_main() does: then their cio_close()
 * calls work; on the mock backend only they can close a simulated
 * handle). Last, every task of the loop is released, also those
 * that returned and were never joined or detached: after cio_loop_close()
 * every cio_task handle of that loop is invalid. Exceptions, which stay as
 * they are and keep their stacks: a task that a task of another loop is
 * joining (that join releases it), a task still blocked in
 * cio_group_wait() for children that run on another loop, and the task
 * that called cio_loop_close() itself. A task that loops forever without
 * returning (ignoring -CIO_ECANCELED and never blocking) hangs the close,
 * as it would hang cio_loop_run(). In a forked child, closing the child's
 * copy of a loop leaves the tasks it inherited untouched (they are the
 * parent's); loops the child sets up have tasks of their own as usual.
 *
 * Stack overflow: below each stack lies CIO_TASK_STACK_GUARD bytes of
 * inaccessible address space. A task that runs past its stack touches it,
 * and the process dies (SIGABRT) with a report naming the task
 * (cio_task_options.name). What this cannot catch: a single frame or
 * alloca() larger than the guard whose first access lies beyond it (a
 * large buffer written from its low end only) jumps over the guard into
 * whatever memory lies below, often another task's stack; mind that a
 * compiler may inline a recursive function into itself, making one frame
 * of several. Frames smaller than the guard are always caught. Build code with
 * such frames with -fstack-clash-protection (gcc, clang), which probes
 * every page of a large frame in order, so the guard is always hit; on
 * Windows the compilers always probe (__chkstk).
 *
 * What tasks change in the process and the thread, from the first
 * cio_task_spawn() on (nothing before it):
 *
 * - A SIGSEGV handler, installed once for the whole process at the first
 *   spawn on any thread (SA_SIGINFO | SA_ONSTACK). It acts only on a fault
 *   in the guard region of the task running on the faulting thread: the
 *   report, then abort(). Every other SIGSEGV goes on to the disposition
 *   SIGSEGV had when the handler was installed, as the kernel would have
 *   delivered it: a handler (SA_SIGINFO or plain) is called with its own
 *   sa_mask blocked, and, if it had SA_RESETHAND, once only; under SIG_DFL
 *   a fault kills the process as it would have, and a SIGSEGV sent with
 *   kill() is raised again and kills it too; under SIG_IGN a sent one is
 *   ignored and a fault kills (so does the kernel). The one difference: the
 *   previous handler runs on the alternate signal stack even if it did not
 *   ask for SA_ONSTACK. Install your own handler before the first spawn, or,
 *   if after it, keep the handler sigaction() hands back and call it for
 *   the faults yours does not handle: otherwise a task's stack overflow
 *   reaches your handler, and ends without the report. Windows: a
 *   vectored exception handler, added once, which passes on every
 *   exception that is not an overflow of the running task's stack.
 * - An alternate signal stack (sigaltstack) on each thread that spawns
 *   tasks: a handler cannot run on the stack that overflowed. cio looks at
 *   the thread's first spawn. A thread that has one already, of at least
 *   4 KiB more than MINSIGSTKSZ or sysconf(_SC_MINSIGSTKSZ) (the signal
 *   frame, larger on CPUs with wide vector registers), keeps it, and
 *   cio never changes or frees it; mind that it then must stay in place
 *   while the thread runs tasks. Otherwise cio maps its own, 64 KiB with an
 *   inaccessible page below, and installs it in place of the thread's
 *   setting (none, or one too small); when the thread exits, that setting
 *   comes back, if cio's is still the one installed, and cio's is
 *   unmapped. Windows: none.
 * - A pool of freed task stacks per thread, since mapping a stack costs
 *   much more than a spawn: a released task's stack waits there for the
 *   next spawn of the same stack size on that thread. The pool holds at
 *   most 4,096 stacks and 512 MiB of usable stack (32 MiB on 32-bit
 *   systems), and never more than the thread once had live at a time;
 *   beyond either limit the oldest pooled stack is unmapped. A pooled
 *   stack keeps the pages its last task touched only while it is among
 *   the newest few: at least 64 stacks, more when spawns drew more than
 *   that from the pool at once during the last second or two. Each older
 *   one gives its pages back (madvise MADV_DONTNEED, so a task on it
 *   starts on fresh zeroed pages) and costs no memory, only address space
 *   (its stack size plus CIO_TASK_STACK_GUARD), two memory mappings of the
 *   system's per-process limit (vm.max_map_count) and, under strict
 *   overcommit accounting (vm.overcommit_memory=2) only, its stack size of
 *   commit charge. When the thread exits, its pooled stacks are unmapped.
 *   Windows: at most 64 stacks and 64 MiB per thread, each committed in
 *   full and keeping the pages its last task touched, kept when the thread
 *   exits.
 */
#ifndef CIO_TASK_H
#define CIO_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cio_task cio_task;

/* A task's body. Its return value is what cio_task_join() reports; by
 * convention a negative value is an error code. */
typedef intptr_t (*cio_task_fn)(void *arg);

/* Default stack size: 256 KiB of address space. Only the pages a task
 * touches cost memory. */
#define CIO_TASK_STACK_DEFAULT (256u * 1024u)

/* The guard region below every task's stack (rounded up to whole pages):
 * 128 KiB of address space on 64-bit systems, 64 KiB on 32-bit ones. It
 * costs no memory. Frames smaller than it cannot skip it (see above). On
 * Windows three pages, since the compilers probe every page of a frame. */
#if defined(_WIN32)
#define CIO_TASK_STACK_GUARD (3u * 4096u)
#else
#define CIO_TASK_STACK_GUARD (sizeof(void *) >= 8 ? 128u * 1024u : 64u * 1024u)
#endif

/* Options for cio_task_spawn(); all-zero (or NULL) means the defaults. */
typedef struct cio_task_options {
    size_t stack_size; /* 0: CIO_TASK_STACK_DEFAULT; rounded up to whole pages */
    const char *name;  /* for stack overflow reports; must outlive the task */
    bool detached;     /* released as soon as it returns; cannot be joined */
} cio_task_options;

/*
 * cio_task_spawn - create a task running fn(arg) on `loop`.
 *
 * The task starts at the loop's next turn (or when the spawning task next
 * blocks), not inside this call. Its stack is mapped here, with a guard
 * region below it, or reused from this thread's pool; the first spawn
 * installs the SIGSEGV handler and, on its thread, perhaps an alternate
 * signal stack (see the top of this file). Unless detached, the
 * task must be joined (cio_task_join) or detached (cio_task_detach) to be
 * released, or its loop closed. `*out` (may be NULL) receives the handle,
 * valid until the task is released. The first spawn on a loop allocates a
 * small record for the loop's tasks and registers it with
 * cio_loop_at_close(). Returns 0, -CIO_EINVAL (no loop or function, or a
 * loop that is not initialised), -CIO_ENOMEM or -CIO_ECANCELED (the loop
 * is closing). Loop thread only: spawn on the thread that will close the
 * loop.
 */
CIO_API int cio_task_spawn(cio_loop *loop, cio_task_fn fn, void *arg, const cio_task_options *opts,
                           cio_task **out);

/*
 * cio_task_join - wait until `t` returns, store its return value in
 * `*result` (may be NULL) and release it. From a task only. Returns 0,
 * -CIO_EINVAL (NULL, detached, joined already, or itself), -CIO_EPERM (not
 * in a task) or -CIO_ECANCELED (the joining task was cancelled; `t` goes on
 * and must still be joined or detached).
 *
 * Handles: every call taking a cio_task returns -CIO_EINVAL for NULL. A
 * handle of a task that was released (joined, detached and returned, or
 * its loop closed) is a dangling pointer: using it is undefined.
 */
CIO_API int cio_task_join(cio_task *t, intptr_t *result);

/*
 * cio_task_detach - let `t` be released as soon as it returns (at once if it
 * has). The handle must not be used afterwards. Returns 0, or -CIO_EINVAL
 * when it is already detached or being joined.
 */
CIO_API int cio_task_detach(cio_task *t);

/*
 * cio_task_cancel - cancel `t`: the op it is blocked in is cancelled (or,
 * if it waits on a sync primitive or a join, the wait ends), and its
 * blocking calls from then on fail with -CIO_ECANCELED. Idempotent. The
 * task decides itself how to unwind; it may be joined as usual. Returns 0,
 * or -CIO_EINVAL when it has already returned.
 */
CIO_API int cio_task_cancel(cio_task *t);

/* cio_task_current - the running task, or NULL outside tasks. */
CIO_API cio_task *cio_task_current(void);

/* cio_task_cancelled - whether the running task has been cancelled and
 * its cancellation is in effect: false outside tasks, and inside a
 * shield (the cancellation takes effect when the shield is popped). */
CIO_API bool cio_task_cancelled(void);

/* cio_task_loop - the loop of the running task, or NULL outside tasks. */
CIO_API cio_loop *cio_task_loop(void);

/*
 * cio_task_yield - let every other task that is ready run first, then go
 * on. Returns 0, -CIO_EPERM outside a task, -CIO_ECANCELED if cancelled.
 */
CIO_API int cio_task_yield(void);

/* cio_sleep - block the task for `ns` nanoseconds. 0 or a negative error. */
CIO_API int cio_sleep(uint64_t ns);

/* cio_sleep_until - block the task until the absolute cio_now() time `at`. */
CIO_API int cio_sleep_until(uint64_t at);

/*
 * cio_main - run fn(arg) as a task on a fresh loop until it returns, then
 * close the loop; the task's return value goes to `*result` (may be NULL;
 * left alone if the task never returned). Tasks it spawned and left running
 * are cancelled and the loop runs while they unwind (up to 1,000 turns of
 * it), so that their clean-up IO still works, shielded clean-ups included;
 * the close ends what remains (see above), shields or not. If the main
 * task blocks with nothing in flight that could wake it (a deadlock, see
 * "What keeps cio_loop_run going" above), it is cancelled, even inside a
 * shield. Returns 0, -CIO_EINVAL (no function), or the error of
 * cio_loop_init, cio_task_spawn or cio_loop_run. Any thread; the loop lives
 * on this thread for the duration. The main task runs with the default
 * stack size, named "main": cio_main_ex() sets them.
 */
CIO_API int cio_main(cio_task_fn fn, void *arg, const cio_loop_options *opts, intptr_t *result);

/* Options for cio_main_ex(); all-zero (or NULL) means cio_main()'s. */
typedef struct cio_main_options {
    const cio_loop_options *loop; /* for cio_loop_init(); NULL: the defaults */
    size_t stack_size;            /* the main task's stack; 0: CIO_TASK_STACK_DEFAULT */
    const char *name;             /* the main task's name; NULL: "main"; must outlive the call */
    uint64_t reserved_[4];        /* must be 0 */
} cio_main_options;

/*
 * cio_main_ex - cio_main() with options: the loop's, and the main task's
 * stack size and name (as cio_task_options; the main task is detached as
 * always). Returns what cio_main() returns; -CIO_EINVAL also for a reserved
 * word that is not 0. Any thread.
 */
CIO_API int cio_main_ex(cio_task_fn fn, void *arg, const cio_main_options *opts, intptr_t *result);

/*
 * Deadline scopes. cio_deadline_push() sets an absolute cio_now() deadline
 * for everything the running task blocks in until the matching
 * cio_deadline_pop(): each op it submits carries the earliest deadline of
 * all open scopes (and its own, if any) and fails with -CIO_ETIMEDOUT
 * past it. It returns the previous deadline, which pop restores. Scopes
 * nest; a later, looser deadline never loosens an earlier one. A scope
 * covers the task's sync waits too (cio/sync.h), and the tasks it spawns
 * inherit it. Outside a task, push returns 0 and does nothing, and pop
 * does nothing. `at` 0 opens a scope with no deadline of its own. A close
 * (cio_close) is exempt, as it is from cancellation: it closes however
 * late it comes. An op started past the deadline fails at once without
 * running (cio_call's function then never runs).
 */
CIO_API uint64_t cio_deadline_push(uint64_t at);
CIO_API void cio_deadline_pop(uint64_t previous);

/*
 * cio_deadline_push_after - cio_deadline_push() of a deadline `ns`
 * nanoseconds from now: now read fresh (cio_loop_update_now), not the
 * loop's cached time, which may be a turn old after the task computed for
 * a while. `ns` 0 is a deadline that has passed: the next op fails with
 * -CIO_ETIMEDOUT. Returns the previous deadline, for cio_deadline_pop().
 *
 *     uint64_t prev = cio_deadline_push_after(5 * CIO_NS_PER_SEC);
 *     n = cio_recv(fd, buf, sizeof buf, 0); // -CIO_ETIMEDOUT after 5 s
 *     cio_deadline_pop(prev);
 */
CIO_API uint64_t cio_deadline_push_after(uint64_t ns);

/* Nanoseconds per second and per millisecond, for deadlines and sleeps. */
#define CIO_NS_PER_SEC 1000000000ull
#define CIO_NS_PER_MS 1000000ull

/*
 * Shields: clean-up that works in a cancelled task.
 *
 *     cio_shield sh;
 *     cio_task_shield_push(&sh);
 *     uint64_t prev = cio_deadline_push_after(2 * CIO_NS_PER_SEC);
 *     cio_bufwriter_flush(&w);      // runs even if the task was cancelled
 *     cio_shutdown(fd, CIO_SHUT_WR);
 *     cio_deadline_pop(prev);
 *     cio_close(fd);
 *     cio_task_shield_pop(&sh);      // a cancellation takes effect from here
 *
 * Between cio_task_shield_push() and the matching cio_task_shield_pop(),
 * the task's cancellation does not take effect: its blocking calls (ops,
 * sleeps, sync waits, joins, yields) neither fail at once nor end when
 * cio_task_cancel() comes while they wait, and cio_task_cancelled() is
 * false. A cancel that comes meanwhile is remembered: after the pop that
 * closes the outermost shield, the next blocking call fails with
 * -CIO_ECANCELED (a call blocked when the cancel came goes on to its own
 * end, inside the shield). A shield also opens a fresh deadline scope: the
 * deadlines pushed outside it do not apply inside (a request that timed
 * out can still say so to its client); push one inside to bound the
 * clean-up, since a shielded task can wait for ever. Shields nest; pop
 * them in reverse order, on the task that pushed them. `*s` (the caller's,
 * on the task's stack) holds what pop restores.
 *
 * What no shield holds off: cio_loop_close() (every op ends, and every
 * task is cancelled and run to its end, shielded or not); cio_main()'s
 * deadlock rule (above); and a group's cancel (cio/group.h) still cancels
 * the children, each of which may shield itself.
 *
 * cio_task_shield_push returns 0, -CIO_EINVAL (`s` NULL) or -CIO_EPERM
 * outside a task; cio_task_shield_pop does nothing outside a task.
 */
typedef struct cio_shield {
    uint64_t deadline_; /* the runtime's: the deadline scope outside */
    uint32_t depth_;    /* the runtime's: the shields open outside */
} cio_shield;
CIO_API int cio_task_shield_push(cio_shield *s);
CIO_API void cio_task_shield_pop(cio_shield *s);

/* ---- blocking-style IO: one L1 op each, submitted from the task's stack ---- */

/*
 * cio_await - submit `op` (prepared by a cio_prep_* helper; its `cb` and
 * `data` are the task's while in flight) and block until its final
 * completion; returns op->res, or -CIO_EINVAL (NULL), -CIO_EPERM, or the
 * error of cio_submit() (then nothing was submitted). The building block
 * of every call below.
 */
CIO_API int32_t cio_await(cio_op *op);

/*
 * cio_await_all - submit `n` prepared ops at once (one cio_submit_batch, so
 * links between them work) and block until every one has completed; each
 * result is in its op's `res`. Returns 0, or the submission error (then no
 * op was submitted), -CIO_EINVAL (`ops` or one of them NULL), -CIO_EPERM,
 * -CIO_ECANCELED (already cancelled).
 */
CIO_API int cio_await_all(cio_op *const *ops, unsigned n);

/*
 * cio_await_first - submit `n` prepared ops and block until the first
 * completes; the others are then cancelled, and the call returns only once
 * they have completed too (their buffers are free again). Returns the index
 * of the first op to complete (its result is in its `res`), or an error as
 * cio_await_all.
 */
CIO_API int cio_await_first(cio_op *const *ops, unsigned n);

/* The L1 ops, blocking: arguments and results as the cio_prep_* helper of
 * the same name (cio/op.h) documents them (cio_stat is cio_prep_statx).
 * Each returns the op's result, -CIO_EPERM outside a task, or
 * -CIO_ECANCELED once the task is cancelled. As with send(2), cio_send
 * and cio_write may move fewer bytes than asked: pass CIO_MSG_WAITALL to
 * cio_send (the op then goes on until all are sent, the count reporting
 * what went even on an error), or loop. The three that make a handle
 * (cio_openat, cio_socket, cio_accept) return it as an intptr_t, so that
 * it fits where a handle is pointer-sized (Windows): the new handle
 * (cast it to cio_fd) when >= 0, else the error. */
CIO_API int32_t cio_read(cio_fd fd, void *buf, uint32_t len, uint64_t offset);
CIO_API int32_t cio_write(cio_fd fd, const void *buf, uint32_t len, uint64_t offset);
CIO_API int32_t cio_readv(cio_fd fd, const cio_iovec *iov, uint32_t iovcnt, uint64_t offset);
CIO_API int32_t cio_writev(cio_fd fd, const cio_iovec *iov, uint32_t iovcnt, uint64_t offset);
CIO_API int32_t cio_fsync(cio_fd fd, uint32_t flags);
CIO_API intptr_t cio_openat(cio_fd dirfd, const char *path, int flags, uint32_t mode);
CIO_API int32_t cio_close(cio_fd fd);
CIO_API int32_t cio_stat(cio_fd dirfd, const char *path, int flags, uint32_t mask, cio_statx *buf);
CIO_API int32_t cio_unlinkat(cio_fd dirfd, const char *path, int flags);
CIO_API int32_t cio_renameat(cio_fd olddirfd, const char *oldpath, cio_fd newdirfd, const char *newpath,
                             uint32_t flags);
CIO_API int32_t cio_mkdirat(cio_fd dirfd, const char *path, uint32_t mode);
CIO_API intptr_t cio_socket(int domain, int type, int protocol);
CIO_API int32_t cio_bind(cio_fd fd, const struct sockaddr *addr, cio_socklen addrlen);
CIO_API int32_t cio_listen(cio_fd fd, int backlog);
CIO_API intptr_t cio_accept(cio_fd fd, struct sockaddr *addr, cio_socklen *addrlen, int flags);
CIO_API int32_t cio_connect(cio_fd fd, const struct sockaddr *addr, cio_socklen addrlen);
CIO_API int32_t cio_recv(cio_fd fd, void *buf, uint32_t len, int flags);
CIO_API int32_t cio_send(cio_fd fd, const void *buf, uint32_t len, int flags);
/* cio_send without the copy where the kernel can (cio/op.h:
 * cio_prep_send_zc): returns the count once the kernel no longer reads
 * `buf`, which may take until the peer has acknowledged the bytes; on
 * return the buffer is the caller's again. Worth it for large sends. */
CIO_API int32_t cio_send_zc(cio_fd fd, const void *buf, uint32_t len, int flags);
CIO_API int32_t cio_recvmsg(cio_fd fd, cio_msghdr *msg, int flags);
CIO_API int32_t cio_sendmsg(cio_fd fd, const cio_msghdr *msg, int flags);
CIO_API int32_t cio_shutdown(cio_fd fd, int how);
CIO_API int32_t cio_poll(cio_fd fd, uint32_t events);
CIO_API int32_t cio_splice(cio_fd fd_in, uint64_t off_in, cio_fd fd_out, uint64_t off_out, uint32_t len,
                           uint32_t flags);
/* CIO_OP_POST: hands `msg` to the loop `target`, returning once it is in
 * the target's queue (0) or with the error that kept it out. */
CIO_API int32_t cio_post(cio_loop *target, cio_op *msg);
/* Truncate, allocate, links, listing, copy (cio/op.h: cio_prep_ftruncate, ...). cio_readdir
 * fills `buf` with cio_dirent records and returns the bytes filled, 0 at
 * the end of the directory. */
CIO_API int32_t cio_ftruncate(cio_fd fd, uint64_t len);
CIO_API int32_t cio_fallocate(cio_fd fd, int mode, uint64_t off, uint64_t len);
CIO_API int32_t cio_symlinkat(const char *target, cio_fd newdirfd, const char *linkpath);
CIO_API int32_t cio_linkat(cio_fd olddirfd, const char *oldpath, cio_fd newdirfd, const char *newpath, int flags);
CIO_API int32_t cio_readdir(cio_fd dirfd, void *buf, uint32_t len);
CIO_API int32_t cio_copy_range(cio_fd fd_in, uint64_t off_in, cio_fd fd_out, uint64_t off_out, uint32_t len);

/*
 * cio_call - run fn(arg) on the blocking pool and block the task until it
 * returns; returns fn's result (CIO_OP_CALL: cio/op.h says all). The way
 * to call a blocking library (a DNS lookup, a compression routine, a
 * database driver) from a task without stalling the loop: tokio's
 * spawn_blocking, libuv's uv_queue_work. `arg` may live on the task's
 * stack: the call returns only after fn has. Returns -CIO_EINVAL (`fn`
 * NULL), -CIO_EPERM outside a task, -CIO_ECANCELED when the task was
 * cancelled before fn started (fn then never runs), -CIO_ETIMEDOUT when a
 * deadline scope (cio_deadline_push) ran out before it started. A cancel
 * or deadline that comes while fn runs does not stop it: cio_call returns
 * fn's result once fn returns, and the task sees its cancellation at its
 * next blocking call (cio_task_cancelled() says so at once). Mock backend:
 * fn runs on the loop's thread at a simulated time.
 */
CIO_API int32_t cio_call(cio_call_fn fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* CIO_TASK_H */
