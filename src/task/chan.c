/*
 * src/task/chan.c - the bounded channel: a ring of fixed-size elements in
 * the caller's buffer, and two queues of blocked tasks.
 *
 * Invariant: receivers wait only while the ring is empty and no sender
 * waits; senders wait only while the ring is full (always, at capacity 0).
 * So a send with a receiver waiting hands the element straight to it, and
 * a receive that frees a slot refills it from the first waiting sender:
 * elements leave in the order they were sent, and waiters in the order
 * they came.
 */
#include <string.h>

#include "sync_internal.h"

int cio_chan_init(cio_chan *ch, void *buf, size_t elem_size, size_t capacity) {
    if (!ch || elem_size == 0 || (capacity && !buf) || (capacity && elem_size > SIZE_MAX / capacity))
        return -CIO_EINVAL;
    memset(ch, 0, sizeof *ch);
    ch->internal_.buf = buf;
    ch->internal_.elem_size = elem_size;
    ch->internal_.capacity = capacity;
    return 0;
}

static unsigned char *slot(cio_chan *ch, size_t i) {
    return ch->internal_.buf + ((ch->internal_.head + i) % ch->internal_.capacity) * ch->internal_.elem_size;
}

/* A channel's checks: a NULL one, or one never initialised (all-zero). */
static bool usable(const cio_chan *ch, const void *elem) { return ch && elem && ch->internal_.elem_size; }

int cio_chan_try_send(cio_chan *ch, const void *elem) {
    if (!usable(ch, elem)) return -CIO_EINVAL;
    if (ch->internal_.closed) return -CIO_EPIPE;
    size_t es = ch->internal_.elem_size;
    cio_sync_waiter *r = cio__waitq_first(&ch->internal_.receivers);
    if (r) {
        memcpy(r->data, elem, es);
        cio__sync_wake(&ch->internal_.receivers, r, 0);
        return 0;
    }
    if (ch->internal_.count < ch->internal_.capacity) {
        memcpy(slot(ch, ch->internal_.count), elem, es);
        ch->internal_.count++;
        return 0;
    }
    return -CIO_EAGAIN;
}

int cio_chan_try_recv(cio_chan *ch, void *elem) {
    if (!usable(ch, elem)) return -CIO_EINVAL;
    size_t es = ch->internal_.elem_size;
    cio_sync_waiter *s = cio__waitq_first(&ch->internal_.senders);
    if (ch->internal_.count > 0) {
        memcpy(elem, slot(ch, 0), es);
        ch->internal_.head = (ch->internal_.head + 1) % ch->internal_.capacity;
        ch->internal_.count--;
        if (s) { /* the slot just freed goes to the first waiting sender */
            memcpy(slot(ch, ch->internal_.count), s->data, es);
            ch->internal_.count++;
            cio__sync_wake(&ch->internal_.senders, s, 0);
        }
        return 0;
    }
    if (s) { /* capacity 0: take it from the sender's hands */
        memcpy(elem, s->data, es);
        cio__sync_wake(&ch->internal_.senders, s, 0);
        return 0;
    }
    return ch->internal_.closed ? -CIO_EPIPE : -CIO_EAGAIN;
}

/* The blocking calls check their arguments, then that a task runs, then
 * the channel's state (`try_it`, which checks it again), and wait in `q`
 * with `elem` for the task on the other side to take or fill. */
static int blocking(cio_chan *ch, void *elem, int (*try_it)(cio_chan *ch, void *elem), cio_sync_queue_ *q) {
    if (!ch || !elem) return -CIO_EINVAL;
    if (!cio_task_current()) return -CIO_EPERM;
    if (cio_task_cancelled()) return -CIO_ECANCELED;
    int r = try_it(ch, elem);
    if (r != -CIO_EAGAIN) return r;
    cio_sync_waiter w;
    w.data = elem;
    return cio__sync_wait(q, &w, 0, 0);
}

/* A sender's element is only read, by the receiver that takes it. */
static int try_send(cio_chan *ch, void *elem) { return cio_chan_try_send(ch, elem); }

int cio_chan_send(cio_chan *ch, const void *elem) {
    return blocking(ch, (void *)(uintptr_t)elem, try_send, ch ? &ch->internal_.senders : NULL);
}

int cio_chan_recv(cio_chan *ch, void *elem) {
    return blocking(ch, elem, cio_chan_try_recv, ch ? &ch->internal_.receivers : NULL);
}

void cio_chan_close(cio_chan *ch) {
    if (!ch) return;
    ch->internal_.closed = true;
    cio__sync_wake_all(&ch->internal_.receivers, -CIO_EPIPE);
    cio__sync_wake_all(&ch->internal_.senders, -CIO_EPIPE);
}

size_t cio_chan_len(const cio_chan *ch) { return ch ? ch->internal_.count : 0; }
