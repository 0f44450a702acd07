/*
 * src/core/bufpool.c - buffer pools (cio/bufpool.h): the memory, the free
 * list of user-space mode, the user's held buffers, the waiters of a dry
 * pool (cio_bufpool_notify), and the pool's end at
 * cio_bufpool_destroy or the loop's close. The receives that take from a
 * pool are the backends' (uring.c, readiness.c, mock_net.c).
 */
#include "bufpool.h"

#include <stdlib.h>

#include "../backend/backend.h"

/* Takes `w` out of its pool's queue of waiters. */
static void unqueue(cio_bufpool *p, cio_bufpool_waiter *w) {
    cio_bufpool_waiter *next = w->internal_.next, *prev = w->internal_.prev;
    if (prev)
        prev->internal_.next = next;
    else
        p->wait_head = next;
    if (next)
        next->internal_.prev = prev;
    else
        p->wait_tail = prev;
    w->internal_.next = w->internal_.prev = NULL;
    w->internal_.pool = NULL;
}

/* The pool's memory goes; the struct stays until its hook completes.
 * Waiters still queued (only at the loop's close: a destroy refuses them)
 * are let go uncalled, so that a cancel of one later touches no pool. */
static void release(cio_bufpool *p) {
    while (p->wait_head) unqueue(p, p->wait_head);
#ifdef CIO_HAVE_URING
    if (p->ring) cio__uring_pool_unregister(p->loop, p);
#endif
    free(p->mem);
    free(p->free_ids);
    free(p->out);
    p->mem = NULL;
    p->free_ids = NULL;
    p->out = NULL;
    p->dead = true;
}

/* The loop closes (res 0: no op of it is left; an error: the kernel
 * objects are gone or the parent's, only memory is let go), or
 * cio_bufpool_destroy took the hook back (-CIO_ECANCELED; the memory went
 * then). */
static void hook_done(cio_loop *loop, cio_op *hook) {
    (void)loop;
    cio_bufpool *p = hook->data;
    if (!p->dead) release(p);
    free(p);
}

int cio_bufpool_create(cio_loop *loop, uint32_t count, uint32_t size, cio_bufpool **out) {
    if (!loop || !out || count == 0 || count > CIO_BUFPOOL_MAX_COUNT || (count & (count - 1)) || size == 0 ||
        size > CIO_BUFPOOL_MAX_SIZE)
        return -CIO_EINVAL;
    if (!cio__usable(loop)) return cio__refusal(loop);
    cio_core *c = cio__core(loop);
    if (c->closing) return -CIO_EINVAL;
    if ((uint64_t)count * size > (uint64_t)SIZE_MAX) return -CIO_ENOMEM;
    cio_bufpool *p = calloc(1, sizeof *p);
    if (!p) return -CIO_ENOMEM;
    p->loop = loop;
    p->count = count;
    p->size = size;
    p->mem = malloc((size_t)count * size);
    p->out = calloc(count, 1);
    int r = (p->mem && p->out) ? 0 : -CIO_ENOMEM;
#ifdef CIO_HAVE_URING
    if (r == 0 && c->be->kind == CIO_BACKEND_URING) r = cio__uring_pool_register(loop, p);
#endif
    if (r == 0 && !p->ring) {
        /* Highest id on top: buffers go out in id order, which a reader
         * of a trace finds easier to follow. */
        p->free_ids = malloc((size_t)count * sizeof *p->free_ids);
        if (!p->free_ids) r = -CIO_ENOMEM;
        for (uint32_t i = 0; r == 0 && i < count; i++) p->free_ids[i] = count - 1 - i;
        p->nfree = count;
    }
    if (r == 0) {
        cio_prep_nop(&p->hook);
        p->hook.cb = hook_done;
        p->hook.data = p;
        r = cio__loop_at_close_last(loop, &p->hook);
    }
    if (r < 0) {
        release(p);
        free(p);
        return r;
    }
    *out = p;
    return 0;
}

int cio_bufpool_destroy(cio_bufpool *p) {
    if (!p || p->dead) return -CIO_EINVAL;
    if (p->users || p->wait_head || p->notifying) return -CIO_EBUSY;
    release(p);
    /* The hook holds the struct: it completes with -CIO_ECANCELED from
     * the ready queue and frees it (hook_done). */
    if (cio_cancel(p->loop, &p->hook) < 0) free(p);
    return 0;
}

void *cio_bufpool_buf(const cio_bufpool *p, uint32_t id) {
    return (p && id < p->count && p->mem) ? cio__bufpool_at(p, id) : NULL;
}

uint32_t cio_bufpool_size(const cio_bufpool *p) { return p ? p->size : 0; }
uint32_t cio_bufpool_count(const cio_bufpool *p) { return p ? p->count : 0; }

/* The pool was dry and has a free buffer again: its waiters are called,
 * first come first called, one at a time, while it still has one. A
 * waiter's callback may submit a receive that takes the buffer at once
 * (a readiness backend tries a single receive at submission); the pool is
 * then dry again, and the waiters after it stay queued for the next
 * refill, rather than be called to find nothing. The queue is read again
 * after each callback, which may queue or cancel waiters. */
static void notify_all(cio_bufpool *p) {
    p->notifying = true;
    cio_bufpool_waiter *w;
    while ((w = p->wait_head) && cio_bufpool_available(p) > 0) {
        unqueue(p, w);
        w->cb(p, w);
    }
    p->notifying = false;
}

int cio_bufpool_put(cio_bufpool *p, uint32_t id) {
    if (!p || p->dead || id >= p->count) return -CIO_EINVAL;
    if (!p->out[id]) return -CIO_EALREADY;
    bool was_dry = cio_bufpool_available(p) == 0;
    p->out[id] = 0;
    p->held--;
#ifdef CIO_HAVE_URING
    if (p->ring)
        cio__uring_pool_put(p, id);
    else
#endif
        cio__bufpool_untake(p, id);
    /* A put from a waiter's callback leaves the calling to the loop that
     * runs it (notify_all reads the queue again). */
    if (was_dry && p->wait_head && !p->notifying) notify_all(p);
    return 0;
}

uint32_t cio_bufpool_available(const cio_bufpool *p) {
    if (!p || p->dead) return 0;
    return p->ring ? p->count - p->held : p->nfree;
}

int cio_bufpool_notify(cio_bufpool *p, cio_bufpool_waiter *w) {
    if (!p || p->dead || !w || !w->cb) return -CIO_EINVAL;
    if (w->internal_.pool) return -CIO_EALREADY;
    if (cio_bufpool_available(p) > 0) return 1;
    w->internal_.pool = p;
    w->internal_.next = NULL;
    w->internal_.prev = p->wait_tail;
    if (p->wait_tail)
        p->wait_tail->internal_.next = w;
    else
        p->wait_head = w;
    p->wait_tail = w;
    return 0;
}

int cio_bufpool_notify_cancel(cio_bufpool_waiter *w) {
    if (!w) return -CIO_EINVAL;
    if (!w->internal_.pool) return -CIO_ENOENT;
    unqueue(w->internal_.pool, w);
    return 0;
}
