/*
 * src/task/task_internal.h - what the task layer's files share: the task
 * itself and wait queues, the one way a task blocks on something that is
 * not an op of its own (join, every sync primitive, task groups).
 *
 * L2 sits on L1's public API only: a task blocks either in an op it
 * submitted (cio_await) or in a wait queue; it is resumed by that op's
 * callback or by a waker.
 *
 * One queue type and one waiter type serve every wait: the queue is the
 * public cio_sync_queue_ (embedded in the primitives of cio/sync.h, in a
 * task for its joiners and in a group), the waiter is cio_waiter, on the
 * blocked task's own stack. A waiter blocks in one of two ways:
 *   - plain: the task parks; the waker resumes it straight through the
 *     run queue, no loop turn;
 *   - through an op: cio_await() on a timer at its deadline (or far in the
 *     future, to keep the loop alive while it waits for another thread);
 *     the waker cancels the timer. Cancelling the task cancels the timer
 *     too, and the task resumes only once it has completed, since it lives
 *     on the task's stack.
 * A waker takes the waiter out of the queue and gives it its result (and
 * whatever it hands over) before resuming it, so that a woken waiter has
 * what it waited for, whatever happens before it runs.
 */
#ifndef CIO_TASK_INTERNAL_H
#define CIO_TASK_INTERNAL_H

#include "cio/sync.h"
#include "cio/task.h"
#include "../core/queue.h"
#include "context.h"
#include "stack.h"

/* One blocked task in a wait queue; lives on that task's stack. */
typedef struct cio_sync_waiter_ {
    lnode node;             /* in `queue` */
    cio_sync_queue_ *queue; /* the queue it is in; NULL once taken out */
    cio_task *task;
    void *data;             /* the primitive's: an element to fill or to take, a message */
    cio_op *timer;          /* blocked through an op: that op (on the task's stack); else NULL */
    int result;             /* set by the waker, or -CIO_ECANCELED by the cancel */
    bool woken;             /* a waker took it out and set `result` */
    bool shielded;          /* cancelling the task does not end this wait */
} cio_waiter;

typedef cio_sync_queue_ cio_waitq;

#define CIO_WAITER_OF(n) LIST_ENTRY(n, cio_waiter, node)

/* The first waiter of `q` (still in it), or NULL. */
static inline cio_waiter *cio__waitq_first(const cio_waitq *q) { return q->head ? CIO_WAITER_OF(q->head) : NULL; }

/* cio__sync_wait flags. */
#define CIO_SYNC_SHIELD 0x1u      /* not ended by cancelling the task; no deadline either (a group
                                     waiting for its cancelled children to unwind) */
#define CIO_SYNC_KEEP_ALIVE 0x2u  /* block through an op even without a deadline */
#define CIO_SYNC_NO_DEADLINE 0x4u /* the task's deadline scope does not apply (a join) */

/*
 * Blocks the running task in `q` until a waker takes it out, its deadline
 * (`at`, 0: none, and the task's scope) passes, or the task is cancelled.
 * Returns the result the waker set, -CIO_ETIMEDOUT or -CIO_ECANCELED (then
 * `w` is out of `q` again); -CIO_ECANCELED at once if the task is already
 * cancelled (unless SHIELD). Set `w->data` first. A task must be running.
 */
int cio__sync_wait(cio_sync_queue_ *q, cio_waiter *w, uint64_t at, unsigned flags);

/* Takes `w` out of its queue `q` and resumes it with `result`. */
void cio__sync_wake(cio_sync_queue_ *q, cio_waiter *w, int result);

/* Wakes every waiter of `q` with `result`. */
void cio__sync_wake_all(cio_sync_queue_ *q, int result);

/* The plain forms, the fastest: a wait with no deadline (as
 * cio__sync_wait with CIO_SYNC_NO_DEADLINE); a wake of the first waiter,
 * which it returns (NULL if none). */
int cio__waitq_wait(cio_waitq *q, cio_waiter *w);
cio_waiter *cio__waitq_wake_one(cio_waitq *q, int result);

/* The running task's innermost deadline scope (0: none, or not in a task). */
uint64_t cio__task_deadline(void);

/* Cancels every task of `loop` that has not returned (shields hold, as
 * with cio_task_cancel); returns how many. What cio_main() and a runtime
 * worker do before closing their loop, so that clean-up IO still runs. */
unsigned cio__task_cancel_live(cio_loop *loop);

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
