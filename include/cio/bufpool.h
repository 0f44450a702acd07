/*
 * cio/bufpool.h - provided buffers: a pool of equal buffers that a receive
 * takes its buffer from when data arrives, rather than one the caller
 * reserved for it beforehand.
 *
 * A server with ten thousand idle connections and a receive waiting on
 * each would hold ten thousand buffers that mostly wait. With a pool the
 * receive names the pool instead (cio_prep_recv_pool() in cio/op.h); a
 * buffer is taken only when bytes come, and the completion names it:
 *
 *     cio_bufpool *pool;
 *     cio_bufpool_create(loop, 256, 4096, &pool);   // 256 buffers of 4 KiB
 *     cio_prep_recv_pool(&op, fd, pool, 0);
 *     op.flags |= CIO_F_MULTISHOT;                  // one op, many arrivals
 *     cio_submit(loop, &op);
 *     ...
 *     void on_recv(cio_loop *loop, cio_op *op) {
 *         if (op->res > 0) {
 *             uint32_t id = cio_op_buf_id(op);
 *             consume(cio_bufpool_buf(pool, id), op->res);
 *             cio_bufpool_put(pool, id);            // usable again at once
 *         }
 *         if (!(op->flags & CIO_F_MORE)) ...;       // the final completion
 *     }
 *
 * Ownership: every buffer belongs to the pool (to cio, and on io_uring to
 * the kernel, which writes into it) until a completion names it (res > 0,
 * cio_op_buf_id()); from that callback on it is the caller's, to read and
 * write as it likes, until the caller gives it back with cio_bufpool_put().
 * A completion without data (res <= 0) names no buffer. The pool's memory
 * is one region cio allocates, freed by cio_bufpool_destroy() or the
 * loop's close.
 *
 * The same on every backend: io_uring registers the pool as a buffer ring
 * (IORING_REGISTER_PBUF_RING, Linux 5.19) and the kernel picks a buffer
 * when data arrives; epoll, poll, IOCP and the mock keep a free list and
 * take a buffer on the loop's thread right before the receive that fills
 * it, putting it back at once when that receive finds nothing (IOCP waits
 * for data with a receive of 0 bytes, libuv's way, or with an AFD poll
 * on a socket that cannot join its port, then receives without
 * blocking). A waiting receive holds no buffer on any backend.
 *
 * Running dry: a receive that needs a buffer while the user holds every
 * one ends with -CIO_ENOBUFS (cio/op.h), leaving the data in the socket.
 * To learn when to submit it again, a callback program queues a waiter
 * (cio_bufpool_notify(): its callback runs inside the cio_bufpool_put()
 * that makes the dry pool usable again); a task calls cio_bufpool_wait():
 *
 *     void on_recv(cio_loop *loop, cio_op *op) {
 *         ...
 *         if (op->res == -CIO_ENOBUFS) {          // the final completion
 *             conn *c = op->data;
 *             cio_bufpool_waiter_init(&c->waiter, on_refill, c);
 *             if (cio_bufpool_notify(pool, &c->waiter) == 1) on_refill(pool, &c->waiter);
 *         }
 *     }
 *     void on_refill(cio_bufpool *pool, cio_bufpool_waiter *w) {
 *         conn *c = w->data;
 *         cio_prep_recv_pool(&c->op, c->fd, pool, 0);   // submit it again
 *         c->op.flags |= CIO_F_MULTISHOT;               // (| CIO_F_FIXED_FILE for a
 *         c->op.cb = on_recv;                           //  fixed handle: prep clears flags)
 *         c->op.data = c;
 *         if (cio_submit(c->loop, &c->op) < 0) conn_close(c);  // e.g. closing already
 *     }
 *
 * A connection closed while its waiter is queued takes it out first:
 * cio_bufpool_notify_cancel(pool, &c->waiter).
 *
 * Threads: a pool belongs to the loop it was made for; every function here
 * is for that loop's thread only (its callbacks and tasks included).
 */
#ifndef CIO_BUFPOOL_H
#define CIO_BUFPOOL_H

#include <stdint.h>

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A pool of `count` equal buffers for one loop. Opaque: made by
 * cio_bufpool_create(), freed by cio_bufpool_destroy() or the loop's
 * close; used on that loop's thread only. */
typedef struct cio_bufpool cio_bufpool;

/* The largest pool: the kernel's limit on a buffer ring. */
#define CIO_BUFPOOL_MAX_COUNT 32768u
/* The largest buffer. */
#define CIO_BUFPOOL_MAX_SIZE (1u << 30)

/*
 * cio_bufpool_create - makes a pool of `count` buffers of `size` bytes
 * each for `loop`, all free, and stores it in `*out`. `count` is a power
 * of two from 1 to CIO_BUFPOOL_MAX_COUNT, `size` from 1 to
 * CIO_BUFPOOL_MAX_SIZE. cio allocates the buffers as one region of
 * count * size bytes (so buffer `id` is at offset id * size), and, on
 * io_uring, registers it with the kernel.
 *
 * Returns 0, -CIO_EINVAL (NULL loop or out, a count or size out of range,
 * a loop not set up or closing), -CIO_ENOMEM, -CIO_EPERM (a loop inherited
 * across fork()), or the kernel's refusal of the registration. Loop thread
 * only.
 */
CIO_API int cio_bufpool_create(cio_loop *loop, uint32_t count, uint32_t size, cio_bufpool **out);

/*
 * cio_bufpool_destroy - frees the pool and its buffers, including those
 * the user still holds (their pointers become invalid). Returns 0, or
 * -CIO_EBUSY while an op that names the pool is in flight (submitted and
 * not yet finally completed; cancel it and destroy the pool from its
 * final callback or later), or -CIO_EINVAL for NULL. The pool must not be
 * used after a 0. The loop's close frees every pool of the loop that is
 * still alive (after every op has completed, so none is busy then, and
 * after the cio_loop_at_close() hooks and the tasks the close ends, whose
 * cleanup may still put buffers back): after cio_loop_close() no pool
 * pointer of that loop may be used, not even to destroy it. Loop thread
 * only.
 */
CIO_API int cio_bufpool_destroy(cio_bufpool *pool);

/*
 * cio_bufpool_buf - the address of buffer `id` (< count), or NULL for an
 * id out of range. Its bytes are the caller's to read only while the
 * caller holds the buffer (see the top of this file). Any thread (a pure
 * computation).
 */
CIO_API void *cio_bufpool_buf(const cio_bufpool *pool, uint32_t id);

/* The pool's buffer size and count, as created. Any thread. */
CIO_API uint32_t cio_bufpool_size(const cio_bufpool *pool);
CIO_API uint32_t cio_bufpool_count(const cio_bufpool *pool);

/*
 * cio_bufpool_put - gives buffer `id`, which a completion handed to the
 * caller, back to the pool. It is usable again at once: a receive waiting
 * on the pool (or one arriving next) may take it, on io_uring straight
 * from the kernel's ring. The caller must not touch its bytes afterwards.
 * Returns 0, or -CIO_EINVAL (NULL pool, an id out of range) or
 * -CIO_EALREADY (the caller does not hold that buffer: never handed out,
 * or put back already). Loop thread only; may be called from callbacks.
 * When the pool had no free buffer before the call, the waiters queued by
 * cio_bufpool_notify() are called from inside it, before it returns (see
 * there).
 */
CIO_API int cio_bufpool_put(cio_bufpool *pool, uint32_t id);

/*
 * cio_bufpool_available - how many buffers are free (not held by the
 * caller): count minus the buffers completions handed out and the caller
 * has not put back. 0 means a receive that needs a buffer now ends with
 * -CIO_ENOBUFS (cio/op.h). Loop thread only.
 */
CIO_API uint32_t cio_bufpool_available(const cio_bufpool *pool);

/*
 * cio_recv_pool - the task-style receive from a pool: waits until data,
 * the end of the stream or an error comes on `fd`, receives into a buffer
 * of `pool` and returns the byte count with the buffer's id in `*id`; the
 * buffer is then the task's until cio_bufpool_put(). 0 at the end of the
 * stream and negative errors name no buffer (`*id` is left alone). `flags`
 * as cio_prep_recv_pool()'s (0). One receive, never multishot. Errors:
 * those of the op, -CIO_ENOBUFS when the pool had no free buffer at the
 * call or as data (or the end of the stream) came: nothing is lost, call
 * again once a buffer is put back (cio_bufpool_wait() waits for that),
 * -CIO_EINVAL (NULL pool or id), -CIO_EPERM outside a task. Deadline scopes apply (cio/task.h).
 * Loop thread (the task's).
 */
CIO_API int32_t cio_recv_pool(cio_fd fd, cio_bufpool *pool, int flags, uint32_t *id);

/* ---- waiting for a free buffer ---- */

typedef struct cio_bufpool_waiter cio_bufpool_waiter;

/* A waiter's callback: `pool` has a free buffer now. */
typedef void (*cio_bufpool_waiter_cb)(cio_bufpool *pool, cio_bufpool_waiter *w);

/*
 * One wait for a free buffer of a pool, for a callback program (tasks
 * call cio_bufpool_wait()). The caller places it (in its connection's
 * struct, say) and keeps it at one address while it is queued; cio
 * allocates nothing. Set it up with cio_bufpool_waiter_init() (or start
 * from all-zero memory and set cb and data).
 */
struct cio_bufpool_waiter {
    cio_bufpool_waiter_cb cb; /* called once per cio_bufpool_notify() that queued it */
    void *data;               /* the caller's; cio never reads it */
    struct {
        cio_bufpool_waiter *next, *prev;
        cio_bufpool *pool; /* while queued; NULL otherwise */
    } internal_; /* the runtime's; never read or write it */
};

/* Sets `w` up, not queued, with its callback and data. Any thread (it
 * touches only `w`); never on a waiter that is queued. */
static inline void cio_bufpool_waiter_init(cio_bufpool_waiter *w, cio_bufpool_waiter_cb cb, void *data) {
    w->cb = cb;
    w->data = data;
    w->internal_.next = w->internal_.prev = NULL;
    w->internal_.pool = NULL;
}

/*
 * cio_bufpool_notify - asks for w->cb(pool, w) once the pool has a free
 * buffer again. Returns 1 when it has one now: nothing is queued, and the
 * caller goes on at once (submits its receive again, say); 0 when `w` is
 * queued: its callback then runs exactly once, from inside the
 * cio_bufpool_put() that gives a buffer back to the dry pool, on the
 * loop's thread, unless cio_bufpool_notify_cancel() takes it back first.
 * Waiters are called in the order they were queued, one at a time, while
 * the pool still has a free buffer: a callback that submits a receive
 * which takes the buffer at once leaves the waiters after it queued, to be
 * called at the next refill (a callback thus never finds the pool dry when
 * it starts). `w` is no longer queued when its callback runs: the callback
 * may queue it again, queue or cancel others, submit ops and put buffers
 * back; it must not destroy the pool (-CIO_EBUSY there).
 *
 * A free buffer is not reserved for the waiter: a receive takes one only
 * when data comes, so the one submitted from the callback may still end
 * with -CIO_ENOBUFS if others took every buffer by then; queue again.
 *
 * Memory: `w` is the caller's; it must stay at its address, untouched,
 * while queued. The pool's close: cio_bufpool_destroy() refuses a pool
 * with queued waiters (-CIO_EBUSY); the loop's close frees the pool and
 * lets its queued waiters go without calling them (their memory may go
 * after cio_loop_close() returns).
 *
 * Errors: -CIO_EINVAL (NULL pool or w, no callback, a destroyed pool),
 * -CIO_EALREADY (`w` is queued already, on this pool or another). Loop
 * thread only; may be called from callbacks and tasks.
 */
CIO_API int cio_bufpool_notify(cio_bufpool *pool, cio_bufpool_waiter *w);

/*
 * cio_bufpool_notify_cancel - takes `w` out of its pool's queue: 0, and
 * its callback will not run; -CIO_ENOENT when it is not queued (never
 * queued, called already, cancelled already, or let go by the loop's
 * close: the pool is then not touched, so this is safe after the pool is
 * gone); -CIO_EINVAL for NULL. Loop thread only.
 */
CIO_API int cio_bufpool_notify_cancel(cio_bufpool_waiter *w);

/*
 * cio_bufpool_wait - the task-style wait for a free buffer: returns 0 at
 * once when the pool has one, else blocks the task until a
 * cio_bufpool_put() makes the dry pool usable again (waiting tasks are
 * woken in the order they came, as cio_bufpool_notify() calls its
 * waiters). As there, the buffer is not reserved: a cio_recv_pool() after
 * it may still meet -CIO_ENOBUFS; wait again. `at`: an absolute cio_now()
 * time to give up at (0: none); the earlier of it and the task's deadline
 * scope (cio/task.h) applies. Returns 0, -CIO_ETIMEDOUT (the deadline
 * passed while waiting), -CIO_ECANCELED (the task was cancelled, also
 * before the call), -CIO_EPERM outside a task, -CIO_EINVAL (NULL or a
 * destroyed pool). Built on cio_bufpool_notify() and a cio_event on the
 * task's stack: nothing is allocated. Loop thread (the task's).
 */
CIO_API int cio_bufpool_wait(cio_bufpool *pool, uint64_t at);

#ifdef __cplusplus
}
#endif

#endif /* CIO_BUFPOOL_H */
