/*
 * src/task/task_internal.h - what the task layer's files share: the task
 * itself and wait queues, the one way a task blocks on something that is
 * not an op (join, and every sync primitive).
 *
 * L2 sits on L1's public API only: a task blocks either in an op it
 * submitted (cio_await) or on a wait queue; it is resumed by that op's
 * callback or by cio__task_wake().
 */
#ifndef CIO_TASK_INTERNAL_H
#define CIO_TASK_INTERNAL_H

#include "cio/task.h"
#include "context.h"
#include "stack.h"

/* One blocked task in a wait queue; lives on that task's stack. */
typedef struct cio_waiter {
    struct cio_waiter *next, *prev;
    struct cio_waitq *queue; /* NULL once woken or removed */
    cio_task *task;
    int result;              /* what the wait returns: 0, or -CIO_ECANCELED, ... */
    void *data;              /* the primitive's own: a channel's element, say */
    bool shielded;           /* cancelling the task does not end this wait (a group waiting for its
                                cancelled children to unwind) */
} cio_waiter;

/* A FIFO of blocked tasks. All-zero is an empty queue. */
typedef struct cio_waitq {
    cio_waiter *head, *tail;
} cio_waitq;

/*
 * Blocks the running task on `q` until cio__waitq_wake_one/all takes it
 * out, or the task is cancelled (then it is taken out and the wait returns
 * -CIO_ECANCELED). `w->data` is passed through for the waker. Returns the
 * waiter's result. The task must be running (cio_task_current() != NULL).
 */
int cio__waitq_wait(cio_waitq *q, cio_waiter *w);

/* Wakes the first waiter with `result`; returns it (NULL if none). */
cio_waiter *cio__waitq_wake_one(cio_waitq *q, int result);

/* Wakes every waiter with `result`. */
void cio__waitq_wake_all(cio_waitq *q, int result);

/* The running task's innermost deadline scope (0: none, or not in a task). */
uint64_t cio__task_deadline(void);

/*
 * cio_task_spawn, with `extra` bytes (64-byte aligned) carved from the top of
 * the task's own stack mapping, above its stack; `fn` gets them as its
 * argument and `*extra_out` points at them. The task starts later, so the
 * spawner fills them in first: a task group keeps its child record there
 * instead of allocating one.
 */
int cio__task_spawn_extra(cio_loop *loop, cio_task_fn fn, const cio_task_options *opts, size_t extra,
                          void **extra_out, cio_task **out);

#endif /* CIO_TASK_INTERNAL_H */
