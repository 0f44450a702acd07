/*
 * cio/group.h - task groups: children that are waited for, and cancelled,
 * together.
 *
 *     cio_group g;
 *     cio_group_init(&g, loop, CIO_GROUP_CANCEL_ON_ERROR);
 *     for (int i = 0; i < n; i++) cio_group_spawn(&g, fetch, &urls[i], NULL);
 *     int err = cio_group_wait(&g);  // all children have returned
 *
 * A child is a task (cio_task_spawn) that the group owns: nobody joins or
 * detaches it; it is released as soon as it returns. Its return value
 * counts as an error when negative: the group remembers the first one, and
 * with CIO_GROUP_CANCEL_ON_ERROR that first error cancels every other
 * child. Children inherit the deadline scope of the task that spawns them
 * (task.h), so that a deadline around a group's spawns and wait bounds the
 * children too.
 *
 * Memory: the group is the caller's struct; a child's record lives on the
 * child's own stack, so spawning allocates nothing beyond the task itself.
 * The group must stay at one address until every child has returned, which
 * cio_group_wait() guarantees: call it before the group goes away, also on
 * error paths.
 *
 * Threads: the thread of the group's loop only. cio_group_spawn() and
 * cio_group_cancel() may be called from tasks and plain callbacks;
 * cio_group_wait() from a task.
 */
#ifndef CIO_GROUP_H
#define CIO_GROUP_H

#include <stdint.h>

#include "loop.h"
#include "sync.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The first child to return a negative value cancels the others. */
#define CIO_GROUP_CANCEL_ON_ERROR 0x1u

typedef struct cio_group {
    struct {
        cio_loop *loop;
        cio_list_ children; /* those still running */
        unsigned live;
        uint32_t flags;
        int first_error;
        bool cancelled;
        cio_sync_queue_ waiters;
    } internal_; /* the runtime's; never read or write it */
} cio_group;

/* cio_group_init - an empty group whose children run on `loop`. Returns 0,
 * or -CIO_EINVAL (no group or loop, unknown flags). */
CIO_API int cio_group_init(cio_group *g, cio_loop *loop, uint32_t flags);

/*
 * cio_group_spawn - start fn(arg) as a child of `g`; `opts` as in
 * cio_task_spawn (its `detached` is ignored: the group owns the child).
 * A child spawned into a cancelled group starts cancelled. Returns 0,
 * -CIO_EINVAL (NULL group or function, or a group never initialised),
 * -CIO_ENOMEM, or -CIO_ECANCELED (the loop is closing).
 */
CIO_API int cio_group_spawn(cio_group *g, cio_task_fn fn, void *arg, const cio_task_options *opts);

/*
 * cio_group_wait - block until every child has returned; they are then
 * released. Returns 0, or the first negative value a child returned (as an
 * int), or -CIO_EINVAL (NULL), or -CIO_EPERM outside a task. If the waiting
 * task is cancelled, or its deadline scope passes, the wait cancels the
 * group and still waits for every child to return (children unwind
 * promptly, since their blocking calls fail), then returns -CIO_ECANCELED
 * or -CIO_ETIMEDOUT: no child outlives the wait. Wait on the children's
 * loop: a wait from a task of another loop that closes first cannot end
 * there (task.h, on closing a loop).
 *
 * Afterwards the group is empty; it keeps its first error and whether it
 * was cancelled until cio_group_init() starts it afresh.
 */
CIO_API int cio_group_wait(cio_group *g);

/*
 * cio_group_cancel - cancel every child (cio_task_cancel), and every child
 * spawned into the group later. Children that then return -CIO_ECANCELED
 * count as errors like any other. Idempotent; NULL: nothing.
 */
CIO_API void cio_group_cancel(cio_group *g);

/* cio_group_size - children that have not returned yet (0 for NULL). */
CIO_API unsigned cio_group_size(const cio_group *g);

#ifdef __cplusplus
}
#endif

#endif /* CIO_GROUP_H */
