/*
 * src/task/sync_internal.h - what the sync primitives and task groups use
 * to block a task: the wait queues of task_internal.h, under the name the
 * primitives use for their waiters.
 */
#ifndef CIO_SYNC_INTERNAL_H
#define CIO_SYNC_INTERNAL_H

#include "cio/sync.h"
#include "task_internal.h"

typedef cio_waiter cio_sync_waiter;

#endif /* CIO_SYNC_INTERNAL_H */
