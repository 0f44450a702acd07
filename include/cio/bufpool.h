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
 * for data with a receive of 0 bytes, libuv's way, then receives without
 * blocking). A waiting receive holds no buffer on any backend.
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
 * still alive (after every op has completed, so none is busy then): after
 * cio_loop_close() no pool pointer of that loop may be used, not even to
 * destroy it. Loop thread only.
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
 * again once a buffer is put back (cio offers no wait for that: a task
 * that shares a pool with others waits on its own event or sleeps),
 * -CIO_EINVAL (NULL pool or id), -CIO_EPERM outside a task. Deadline scopes apply (cio/task.h).
 * Loop thread (the task's).
 */
CIO_API int32_t cio_recv_pool(cio_fd fd, cio_bufpool *pool, int flags, uint32_t *id);

#ifdef __cplusplus
}
#endif

#endif /* CIO_BUFPOOL_H */
