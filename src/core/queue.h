/*
 * src/core/queue.h - the intrusive queues every layer uses; none allocates.
 *
 * opq: the one queue of ops, a FIFO linked through op->internal_.next.
 * Every place that holds ops in order uses it: the core's ready queue and
 * close hooks, the blocking pool's queue, the readiness layer's per-handle
 * FIFOs, the io_uring backlog. An op is in at most one such queue at a time
 * (its state says which), so one link field serves them all. Singly
 * linked, on purpose: a back link would push cio_op past two cache lines.
 * Taking an op out of the middle walks the queue; that happens only for a
 * cancel or a close, and the queues it walks (one handle's parked ops, one
 * loop's pool ops) are short.
 *
 * list: the one list of everything else (tasks, waiters, group children,
 * loop records, cross-thread messages): doubly linked through an embedded
 * cio_lnode_ (cio/platform.h), since a waiter or a task leaves from the
 * middle whenever it is cancelled or times out.
 */
#ifndef CIO_CORE_QUEUE_H
#define CIO_CORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "cio/op.h"

typedef struct opq {
    cio_op *head, *tail;
} opq;

#define OPQ_NEXT(op) ((op)->internal_.next)

static inline bool opq_empty(const opq *q) { return !q->head; }

static inline void opq_push(opq *q, cio_op *op) {
    OPQ_NEXT(op) = NULL;
    if (q->tail)
        OPQ_NEXT(q->tail) = op;
    else
        q->head = op;
    q->tail = op;
}

static inline void opq_push_front(opq *q, cio_op *op) {
    OPQ_NEXT(op) = q->head;
    q->head = op;
    if (!q->tail) q->tail = op;
}

/* The oldest op, taken out; NULL when empty. */
static inline cio_op *opq_pop(opq *q) {
    cio_op *op = q->head;
    if (op) {
        q->head = OPQ_NEXT(op);
        if (!q->head) q->tail = NULL;
        OPQ_NEXT(op) = NULL;
    }
    return op;
}

/* Takes `op` out wherever it is; returns whether it was in `q`. */
static inline bool opq_remove(opq *q, cio_op *op) {
    cio_op *prev = NULL;
    for (cio_op *it = q->head; it; prev = it, it = OPQ_NEXT(it)) {
        if (it != op) continue;
        if (prev)
            OPQ_NEXT(prev) = OPQ_NEXT(op);
        else
            q->head = OPQ_NEXT(op);
        if (q->tail == op) q->tail = prev;
        OPQ_NEXT(op) = NULL;
        return true;
    }
    return false;
}

/* Moves every op of `q` that `pick(op, arg)` chooses to the end of `out`,
 * both keeping their order; returns how many moved. */
static inline unsigned opq_take_if(opq *q, opq *out, bool (*pick)(const cio_op *op, const void *arg),
                                   const void *arg) {
    unsigned moved = 0;
    opq keep = {NULL, NULL};
    cio_op *op;
    while ((op = opq_pop(q))) {
        if (pick(op, arg)) {
            opq_push(out, op);
            moved++;
        } else {
            opq_push(&keep, op);
        }
    }
    *q = keep;
    return moved;
}

/* Appends all of `from` to `to`, leaving `from` empty. */
static inline void opq_append(opq *to, opq *from) {
    if (!from->head) return;
    if (to->tail)
        OPQ_NEXT(to->tail) = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    from->head = from->tail = NULL;
}

/* Turns a LIFO stack linked through internal_.next (newest first, as
 * lock-free pushes leave it) into a FIFO, oldest first. */
static inline opq opq_from_stack(cio_op *stack) {
    opq q = {NULL, NULL};
    while (stack) {
        cio_op *next = OPQ_NEXT(stack);
        opq_push_front(&q, stack);
        stack = next;
    }
    return q;
}

/* ---- list ---- */

typedef cio_lnode_ lnode;
typedef cio_list_ list;

/* The struct of `type` whose `member` is the node `n`. */
#define LIST_ENTRY(n, type, member) ((type *)(void *)((char *)(n) - offsetof(type, member)))

static inline bool list_empty(const list *l) { return !l->head; }

static inline void list_push(list *l, lnode *n) {
    n->next = NULL;
    n->prev = l->tail;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
}

static inline void list_push_front(list *l, lnode *n) {
    n->prev = NULL;
    n->next = l->head;
    if (l->head)
        l->head->prev = n;
    else
        l->tail = n;
    l->head = n;
}

/* Takes `n`, which must be in `l`, out. */
static inline void list_remove(list *l, lnode *n) {
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->next = n->prev = NULL;
}

/* The first node, taken out; NULL when empty. */
static inline lnode *list_pop(list *l) {
    lnode *n = l->head;
    if (n) list_remove(l, n);
    return n;
}

#endif /* CIO_CORE_QUEUE_H */
