/*
 * src/core/bufpool.h - what the core and the backends share about buffer
 * pools (cio/bufpool.h). Loop thread only, as the pool itself.
 *
 * A pool is in one of two modes, chosen at its creation by the loop's
 * backend:
 *   - a kernel ring (io_uring's provided-buffer ring, always there: the
 *     backend needs Linux 5.19, which has rings): the kernel takes a
 *     buffer as data arrives and its CQE names it; cio learns of the
 *     buffer only then (cio__bufpool_hand_out) and gives it back to the
 *     ring's tail at cio_bufpool_put (uring.c's cio__uring_pool_put);
 *   - user space (every other backend): a stack of free ids, from which
 *     the backend takes a buffer right before the receive that fills it
 *     and to which it returns it at once when that receive moved nothing.
 * Either way `held` counts the buffers the user holds, so that the
 * available count is the same question everywhere.
 */
#ifndef CIO_CORE_BUFPOOL_H
#define CIO_CORE_BUFPOOL_H

#include "internal.h"

struct cio_bufpool {
    cio_loop *loop;
    unsigned char *mem;  /* count * size bytes; buffer id at id * size */
    uint32_t count, size;
    uint32_t held;       /* handed to the user by completions, not put back */
    uint32_t users;      /* ops in flight that name the pool (op.c counts them) */
    uint32_t nfree;      /* user-space mode: ids on the free stack */
    uint32_t *free_ids;  /* user-space mode: the free stack */
    uint8_t *out;        /* per id: 1 while the user holds it */
    void *ring;          /* kernel mode: the registered ring; NULL in user-space mode */
    size_t ring_bytes;
    uint16_t bgid;       /* kernel mode: the ring's buffer group id */
    bool kernel_mshot;   /* kernel mode: the kernel re-arms a multishot receive itself */
    bool dead;           /* destroyed; the struct waits for its hook's completion */
    bool notifying;      /* cio_bufpool_put() is calling waiters (bufpool.c: notify_all) */
    cio_bufpool_waiter *wait_head, *wait_tail; /* cio_bufpool_notify(), first come first called */
    cio_op hook;         /* cio_loop_at_close(): the loop's close frees the pool */
};

/* The address of buffer `id`. */
static inline unsigned char *cio__bufpool_at(const cio_bufpool *p, uint32_t id) {
    return p->mem + (size_t)id * p->size;
}

/* User-space mode: takes a free buffer for a receive about to run; false
 * when none is free. The buffer is the backend's until it hands it out or
 * gives it back (cio__bufpool_untake), both before any callback runs. */
static inline bool cio__bufpool_take(cio_bufpool *p, uint32_t *id) {
    if (!p->nfree) return false;
    *id = p->free_ids[--p->nfree];
    return true;
}

/* User-space mode: the receive moved nothing into buffer `id`. */
static inline void cio__bufpool_untake(cio_bufpool *p, uint32_t id) { p->free_ids[p->nfree++] = id; }

/* A completion names buffer `id` (res > 0): from its callback on it is the
 * user's. Records it in `op` for cio_op_buf_id(). */
static inline void cio__bufpool_hand_out(cio_bufpool *p, cio_op *op, uint32_t id) {
    if (id < p->count && !p->out[id]) {
        p->out[id] = 1;
        p->held++;
    }
    op->args.recv_pool.buf_id = id;
}

/* Whether a receive could take a buffer now. */
static inline bool cio__bufpool_empty(const cio_bufpool *p) { return p->held >= p->count || (!p->ring && !p->nfree); }

/* The op-level bookkeeping (op.c): an op naming the pool is in flight. */
static inline void cio__bufpool_use(cio_op *op) { op->args.recv_pool.pool->users++; }
static inline void cio__bufpool_unuse(cio_op *op) { op->args.recv_pool.pool->users--; }

#ifdef CIO_HAVE_URING
/* uring.c: registers the pool's buffers as a ring of `loop` (0 or an
 * error, which cio_bufpool_create returns), unregisters it (the kernel
 * never touches the buffers again), and gives buffer `id` back to it. */
int cio__uring_pool_register(cio_loop *loop, cio_bufpool *p);
void cio__uring_pool_unregister(cio_loop *loop, cio_bufpool *p);
void cio__uring_pool_put(cio_bufpool *p, uint32_t id);
#endif

#endif /* CIO_CORE_BUFPOOL_H */
