/*
 * src/task/sync.c - the event, the semaphore and the mutex, on the wait
 * queues of task_internal.h.
 */
#include <string.h>

#include "sync_internal.h"

/* The checks every blocking call makes first; 1 when it may go on. */
static int may_block(void) {
    if (!cio_task_current()) return -CIO_EPERM;
    if (cio_task_cancelled()) return -CIO_ECANCELED;
    return 1;
}

/* ---- event ---- */

void cio_event_init(cio_event *ev, bool set) {
    if (!ev) return;
    memset(ev, 0, sizeof *ev);
    ev->internal_.set = set;
}

void cio_event_set(cio_event *ev) {
    if (!ev) return;
    ev->internal_.set = true;
    cio__sync_wake_all(&ev->internal_.waiters, 0);
}

void cio_event_reset(cio_event *ev) {
    if (ev) ev->internal_.set = false;
}

bool cio_event_is_set(const cio_event *ev) { return ev && ev->internal_.set; }

int cio_event_wait_until(cio_event *ev, uint64_t at) {
    if (!ev) return -CIO_EINVAL;
    int r = may_block();
    if (r <= 0) return r;
    if (ev->internal_.set) return 0;
    cio_sync_waiter w;
    w.data = NULL;
    return cio__sync_wait(&ev->internal_.waiters, &w, at, 0);
}

int cio_event_wait(cio_event *ev) { return cio_event_wait_until(ev, 0); }

/* ---- semaphore ---- */

void cio_sem_init(cio_sem *sem, uint32_t count) {
    if (!sem) return;
    memset(sem, 0, sizeof *sem);
    sem->internal_.count = count;
}

int cio_sem_try_acquire(cio_sem *sem) {
    if (!sem) return -CIO_EINVAL;
    if (sem->internal_.count == 0) return -CIO_EAGAIN;
    sem->internal_.count--;
    return 0;
}

int cio_sem_acquire(cio_sem *sem) {
    if (!sem) return -CIO_EINVAL;
    int r = may_block();
    if (r <= 0) return r;
    if (cio_sem_try_acquire(sem) == 0) return 0;
    cio_sync_waiter w;
    w.data = NULL;
    return cio__sync_wait(&sem->internal_.waiters, &w, 0, 0); /* 0: a release handed us its permit */
}

int cio_sem_release(cio_sem *sem) {
    if (!sem) return -CIO_EINVAL;
    cio_sync_waiter *w = cio__waitq_first(&sem->internal_.waiters);
    if (w) {
        cio__sync_wake(&sem->internal_.waiters, w, 0);
        return 0;
    }
    if (sem->internal_.count == UINT32_MAX) return -CIO_EOVERFLOW;
    sem->internal_.count++;
    return 0;
}

uint32_t cio_sem_value(const cio_sem *sem) { return sem ? sem->internal_.count : 0; }

/* ---- mutex ---- */

void cio_mutex_init(cio_mutex *m) {
    if (m) memset(m, 0, sizeof *m);
}

int cio_mutex_try_lock(cio_mutex *m) {
    if (!m) return -CIO_EINVAL;
    cio_task *self = cio_task_current();
    if (!self) return -CIO_EPERM;
    if (m->internal_.owner) return -CIO_EAGAIN;
    m->internal_.owner = self;
    return 0;
}

int cio_mutex_lock(cio_mutex *m) {
    if (!m) return -CIO_EINVAL;
    int r = may_block();
    if (r <= 0) return r;
    cio_task *self = cio_task_current();
    if (m->internal_.owner == self) return -CIO_EBUSY;
    if (!m->internal_.owner) {
        m->internal_.owner = self;
        return 0;
    }
    cio_sync_waiter w;
    w.data = NULL;
    /* 0: the unlocking task made us the owner. */
    return cio__sync_wait(&m->internal_.waiters, &w, 0, 0);
}

int cio_mutex_unlock(cio_mutex *m) {
    if (!m) return -CIO_EINVAL;
    cio_task *self = cio_task_current();
    if (!self || m->internal_.owner != self) return -CIO_EPERM;
    cio_sync_waiter *w = cio__waitq_first(&m->internal_.waiters);
    if (w) {
        m->internal_.owner = w->task;
        cio__sync_wake(&m->internal_.waiters, w, 0);
    } else {
        m->internal_.owner = NULL;
    }
    return 0;
}
