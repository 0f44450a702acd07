/*
 * src/task/sync_internal.h - how the sync primitives and task groups block
 * a task, with deadlines.
 *
 * Each primitive keeps its own FIFO of waiters (cio_sync_queue_), so that
 * untimed and timed waiters share one order. A waiter blocks in one of two
 * ways:
 *   - plain: on a private, one-entry cio_waitq (task.c's wait queues); the
 *     waker resumes it straight through the run queue, no loop turn;
 *   - through an op: cio_await() on a timer at its deadline (or far in the
 *     future, to keep the loop alive while it waits for another thread);
 *     the waker cancels the timer. Cancelling the task cancels the timer
 *     too, and the task resumes only once it has completed, since it lives
 *     on the task's stack.
 * A waker takes the waiter out of the primitive's queue and gives it its
 * result (and whatever it hands over) before resuming it, so that a woken
 * waiter has what it waited for, whatever happens before it runs.
 */
#ifndef CIO_SYNC_INTERNAL_H
#define CIO_SYNC_INTERNAL_H

#include "cio/sync.h"
#include "task_internal.h"

typedef struct cio_sync_waiter_ {
    struct cio_sync_waiter_ *next, *prev;
    cio_task *task;
    cio_loop *loop;  /* the task's: where its timer runs */
    void *data;      /* the primitive's: an element to fill or to take, a message */
    int result;      /* set by the waker */
    bool linked;     /* in the primitive's queue */
    bool woken;      /* a waker took it out and set `result` */
    bool by_op;      /* blocked in `timer`, not in `own` */
    cio_waitq own;
    cio_waiter w;
    cio_op timer;
} cio_sync_waiter;

/* cio__sync_wait flags. */
#define CIO_SYNC_SHIELD 0x1u     /* not ended by cancelling the task; no deadline either */
#define CIO_SYNC_KEEP_ALIVE 0x2u /* block through an op even without a deadline */

/*
 * Blocks the running task in `q` until a waker takes it out, its deadline
 * (`at`, 0: none, and the task's scope) passes, or the task is cancelled.
 * Returns the result the waker set, -CIO_ETIMEDOUT or -CIO_ECANCELED (then
 * `w` is out of `q` again). Set `w->data` first. The caller has checked
 * that a task runs and is not cancelled (unless SHIELD).
 */
int cio__sync_wait(cio_sync_queue_ *q, cio_sync_waiter *w, uint64_t at, unsigned flags);

/* Takes `w` out of `q` and resumes it with `result`. */
void cio__sync_wake(cio_sync_queue_ *q, cio_sync_waiter *w, int result);

/* Wakes every waiter of `q` with `result`. */
void cio__sync_wake_all(cio_sync_queue_ *q, int result);

#endif /* CIO_SYNC_INTERNAL_H */
