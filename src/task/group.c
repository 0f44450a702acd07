/*
 * src/task/group.c - task groups.
 *
 * Each child runs child_main(), which calls the user's function and then
 * reports to the group. Its record sits on its own stack, above the stack
 * proper (cio__task_spawn_extra), and is unlinked before the child returns;
 * children are detached, so the task layer releases them as they return,
 * and the group's list only ever holds live ones.
 */
#include <limits.h>
#include <string.h>

#include "cio/group.h"
#include "sync_internal.h"

typedef struct cio_group_child_ {
    lnode node; /* in the group's `children` */
    cio_group *group;
    cio_task_fn fn;
    void *arg;
    cio_task *task;
} child;

static void cancel_children(cio_group *g) {
    /* cio_task_cancel never runs a task, so the list stays as it is. */
    for (lnode *n = g->internal_.children.head; n; n = n->next) cio_task_cancel(LIST_ENTRY(n, child, node)->task);
}

static intptr_t child_main(void *arg) {
    child *c = arg;
    intptr_t r = c->fn(c->arg);
    cio_group *g = c->group;
    list_remove(&g->internal_.children, &c->node);
    if (r < 0 && !g->internal_.first_error) {
        g->internal_.first_error = r < INT_MIN ? INT_MIN : (int)r;
        if (g->internal_.flags & CIO_GROUP_CANCEL_ON_ERROR) {
            g->internal_.cancelled = true;
            cancel_children(g);
        }
    }
    if (--g->internal_.live == 0) cio__sync_wake_all(&g->internal_.waiters, 0);
    return r;
}

int cio_group_init(cio_group *g, cio_loop *loop, uint32_t flags) {
    if (!g || !loop || (flags & ~CIO_GROUP_CANCEL_ON_ERROR)) return -CIO_EINVAL;
    memset(g, 0, sizeof *g);
    g->internal_.loop = loop;
    g->internal_.flags = flags;
    return 0;
}

int cio_group_spawn(cio_group *g, cio_task_fn fn, void *arg, const cio_task_options *opts) {
    if (!g || !fn || !g->internal_.loop) return -CIO_EINVAL;
    cio_task_options o = {0};
    if (opts) o = *opts;
    o.detached = true;
    void *rec;
    cio_task *t;
    int r = cio__task_spawn_extra(g->internal_.loop, child_main, &o, sizeof(child), &rec, &t);
    if (r < 0) return r;
    /* The child has not started yet: fill in its record first. */
    child *c = rec;
    c->group = g;
    c->fn = fn;
    c->arg = arg;
    c->task = t;
    list_push_front(&g->internal_.children, &c->node);
    g->internal_.live++;
    if (g->internal_.cancelled) cio_task_cancel(t);
    return 0;
}

int cio_group_wait(cio_group *g) {
    if (!g) return -CIO_EINVAL;
    if (!cio_task_current()) return -CIO_EPERM;
    int ended = 0; /* -CIO_ECANCELED or -CIO_ETIMEDOUT once the wait itself was cut short */
    if (cio_task_cancelled()) ended = -CIO_ECANCELED;
    if (ended) cio_group_cancel(g);
    while (g->internal_.live > 0) {
        cio_sync_waiter w;
        w.data = NULL;
        /* Once cut short, the children still go first: shielded, no deadline. */
        int r = cio__sync_wait(&g->internal_.waiters, &w, 0, ended ? CIO_SYNC_SHIELD : 0);
        if (!ended && (r == -CIO_ECANCELED || r == -CIO_ETIMEDOUT)) {
            ended = r;
            cio_group_cancel(g);
        }
    }
    return ended ? ended : g->internal_.first_error;
}

void cio_group_cancel(cio_group *g) {
    if (!g) return;
    g->internal_.cancelled = true;
    cancel_children(g);
}

unsigned cio_group_size(const cio_group *g) { return g ? g->internal_.live : 0; }
