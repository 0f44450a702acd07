/*
 * src/backend/backend.h - the one interface every backend implements.
 *
 * A backend translates ops into its kernel's calls and reports completions
 * back through cio__complete() and friends (src/core/internal.h). It keeps
 * its state in cio_core.backend. Everything else (timers, links, the ready
 * queue, posts from other threads, counters, validation) is the core's.
 *
 * All functions run on the loop's thread except `wake`.
 *
 * What an op the backend holds (state OP_BACKEND) lends it: the one queue
 * link internal_.next (src/core/queue.h: opq), internal_.bflags, and, for a
 * backend with CIO_BE_KERNEL_DEADLINES (the core then keeps none of its
 * ops' deadlines in its heap), internal_.u and internal_.when: kernel
 * timespecs, or a simulated backend's own heap of virtual completion
 * times. On Windows, internal_.win (the OVERLAPPED, then the handle a
 * completed op made, which cio_op_fd() returns). What is common about each
 * opcode (its handles, its direction for readiness, who runs it when the
 * backend declines it) is in src/core/opdef.h: a backend adds the calls
 * that run an opcode, not a description of it.
 */
#ifndef CIO_BACKEND_H
#define CIO_BACKEND_H

#include "../core/internal.h"

/* What a backend does itself, so that the core need not. */
enum {
    CIO_BE_KERNEL_DEADLINES = 1 << 0 /* honours op->deadline for the ops it takes, and completes
                                        one whose deadline passed with -CIO_ETIMEDOUT itself */
};

struct cio_backend {
    const char *name;
    cio_backend_kind kind;
    unsigned features;

    /* Set up the backend's state. Returns 0 or a negative error; on error
     * nothing is left to release. */
    int (*init)(cio_loop *loop, const cio_loop_options *opts);

    /* Release everything. Called only once no op is in flight. */
    void (*close)(cio_loop *loop);

    /* Take `op` (already validated, state OP_BACKEND). Returns 0, or 1 when
     * taken but the core must time op->deadline itself (a backend with
     * CIO_BE_KERNEL_DEADLINES that cannot for this op), or -CIO_ENOTSUP
     * when this backend does not run the opcode (the core then runs it
     * itself), or another error that the core reports as the op's result.
     * Must not run callbacks. */
    int (*submit)(cio_loop *loop, cio_op *op);

    /* Optional (NULL: every op of a chain starts through `submit` when the
     * core has seen the one before it complete). Take `head` (validated,
     * state OP_BACKEND, no deadline, its soft or hard link in
     * internal_.link) together with the ops after it that the kernel can
     * run with links of its own, all in one submission. The core starts
     * `head` only this way; the backend walks internal_.link itself and
     * takes the longest run of ops whose link rules in the kernel are
     * cio's (cio__link_continues), whose cancel and close it can honour,
     * and that fit one submission. Returns how many ops it took (2 or
     * more), each after the head set by the backend to OP_LINKED, or 0
     * when it takes none (the core then calls `submit`).
     * What the backend must keep, since the core sees only completions:
     * - each op of the run completes exactly once, through cio__complete,
     *   in chain order, the one before it first;
     * - the core decides the rest as always when an op of the run
     *   completes (chain_continue): if the kernel holds the next op
     *   (OP_BACKEND or OP_LINKED), the core only marks it IF_CANCELLED |
     *   IF_CHAIN_BROKEN when the chain breaks there, and the backend ends
     *   it with -CIO_ECANCELED (the kernel does the same);
     * - an op it hands back before it ran (the kernel cancelled it with the
     *   chain while the core has not seen the op before it complete) goes
     *   back to OP_CHAINED and is started by the core as any chained op;
     * - `cancel` on an OP_LINKED op must end it with -CIO_ECANCELED without
     *   running it, as the core does for a chained op. Must not run
     *   callbacks. */
    int (*submit_chain)(cio_loop *loop, cio_op *head);

    /* Ask the kernel to cancel `target`, which this backend took. When
     * `carrier` is not NULL its completion reports the outcome (0,
     * -CIO_ENOENT, -CIO_EALREADY). Must not run callbacks. */
    int (*cancel)(cio_loop *loop, cio_op *target, cio_op *carrier);

    /* Cancel every op this backend holds (loop close). */
    void (*cancel_all)(cio_loop *loop);

    /* Push staged work to the kernel, wait up to `timeout_ns` (-1: no limit,
     * 0: do not block) for completions, and deliver what arrived. Returns
     * the number of completions seen or a negative error. */
    int (*wait)(cio_loop *loop, int64_t timeout_ns);

    /* Make a concurrent or future `wait` return. Any thread. */
    int (*wake)(cio_loop *loop);

    /* A handle that is readable while the loop has work (cio_loop_fd). */
    int (*pollable_fd)(cio_loop *loop, cio_fd *out);

    /* cio_loop_run() is about to return (to an outside poller, perhaps):
     * leave the pollable handle readable exactly while work waits, and let
     * the kernel see what callbacks staged. Must not run callbacks. NULL:
     * nothing to do. */
    void (*run_end)(cio_loop *loop);

    /* The loop's clock, in nanoseconds, never going back; NULL: the
     * system's monotonic clock. A simulated backend makes time virtual
     * here (its `wait` then advances it instead of sleeping). Everything
     * the core times (cio_now, timers, deadlines, wait budgets) reads it. */
    uint64_t (*clock)(cio_loop *loop);

    /* The socket calls of cio/socket.h (CIO__SOCK_NAME, _PEER, _SET, _GET:
     * getsockname, getpeername, setsockopt, getsockopt; `value`, `len` as
     * theirs) for a backend whose handles are its own (a simulated one);
     * NULL: the system's calls. 0 or a negative error. */
    int (*socket_call)(cio_loop *loop, int call, cio_fd fd, int level, int name, void *value, cio_socklen *len);

    /* The quick setup calls that cio/net.h makes outside tasks, for a
     * backend whose handles are its own (a simulated one); NULL: the
     * system's (cio__sync_exec, src/core/socket.c's pairs).
     * setup_op runs `op` now, on the calling (loop's) thread: CIO_OP_SOCKET,
     * CIO_OP_BIND, CIO_OP_LISTEN, and CIO_OP_CLOSE of a handle no op is
     * held on (-CIO_EBUSY otherwise); returns its result as its completion
     * would have (a socket's handle through cio__fd_result), never waits.
     * pair makes two connected handles: a pipe with `type` 0 (fds[0] reads),
     * else a socket pair of `type` (SOCK_STREAM, SOCK_DGRAM); 0 or an error. */
    int32_t (*setup_op)(cio_loop *loop, cio_op *op);
    int (*pair)(cio_loop *loop, int type, cio_fd fds[2]);
};
enum { CIO__SOCK_NAME = 1, CIO__SOCK_PEER, CIO__SOCK_SET, CIO__SOCK_GET };

#ifdef CIO_HAVE_IOCP
extern const struct cio_backend cio__backend_iocp;
#endif
#ifdef CIO_HAVE_URING
extern const struct cio_backend cio__backend_uring;
#endif
#ifdef CIO_HAVE_EPOLL
extern const struct cio_backend cio__backend_epoll;
#endif
#ifdef CIO_HAVE_POLL
extern const struct cio_backend cio__backend_poll;
#endif
extern const struct cio_backend cio__backend_mock; /* only when named: never by AUTO */

#endif /* CIO_BACKEND_H */
