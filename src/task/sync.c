/*
 * src/task/sync.c - blocking with deadlines (sync_internal.h), and the
 * event, the semaphore and the mutex on top of it.
 */
#include <string.h>

#include "sync_internal.h"

/* ---- waiting ---- */

/* Far enough never to fire, small enough that no clock arithmetic overflows. */
#define FAR_FUTURE_NS ((uint64_t)1 << 62)

static void link_tail(cio_sync_queue_ *q, cio_sync_waiter *w) {
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
    w->linked = true;
}

static void unlink_from(cio_sync_queue_ *q, cio_sync_waiter *w) {
    if (!w->linked) return;
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->next = w->prev = NULL;
    w->linked = false;
}

int cio__sync_wait(cio_sync_queue_ *q, cio_sync_waiter *w, uint64_t at, unsigned flags) {
    w->task = cio_task_current();
    w->loop = cio_task_loop();
    w->result = 0;
    w->woken = false;
    if (flags & CIO_SYNC_SHIELD) {
        at = 0;
    } else {
        uint64_t scope = cio__task_deadline();
        if (scope && (!at || scope < at)) at = scope;
    }
    w->by_op = at || (flags & CIO_SYNC_KEEP_ALIVE);
    link_tail(q, w);
    if (!w->by_op) {
        memset(&w->own, 0, sizeof w->own);
        memset(&w->w, 0, sizeof w->w);
        w->w.shielded = (flags & CIO_SYNC_SHIELD) != 0;
        int r = cio__waitq_wait(&w->own, &w->w);
        if (w->woken) return w->result;
        unlink_from(q, w);
        return r < 0 ? r : -CIO_ECANCELED;
    }
    if (at)
        cio_prep_timeout(&w->timer, at, CIO_TIMEOUT_ABS);
    else
        cio_prep_timeout(&w->timer, FAR_FUTURE_NS, 0);
    int32_t r = cio_await(&w->timer);
    /* A waker that found the timer already fired still handed over. */
    if (w->woken) return w->result;
    unlink_from(q, w);
    if (r == 0 || r == -CIO_ETIMEDOUT) return -CIO_ETIMEDOUT;
    return r; /* -CIO_ECANCELED: the task (or the loop's close); or the submission's error */
}

void cio__sync_wake(cio_sync_queue_ *q, cio_sync_waiter *w, int result) {
    unlink_from(q, w);
    w->woken = true;
    w->result = result;
    if (w->by_op)
        cio_cancel(w->loop, &w->timer); /* -CIO_ENOENT if it fired already: it resumes anyway */
    else
        cio__waitq_wake_one(&w->own, 0);
}

void cio__sync_wake_all(cio_sync_queue_ *q, int result) {
    while (q->head) cio__sync_wake(q, q->head, result);
}

/* The checks every blocking call makes first; 1 when it may go on. */
static int may_block(void) {
    if (!cio_task_current()) return -CIO_EPERM;
    if (cio_task_cancelled()) return -CIO_ECANCELED;
    return 1;
}

/* ---- event ---- */

void cio_event_init(cio_event *ev, bool set) {
    memset(ev, 0, sizeof *ev);
    ev->internal_.set = set;
}

void cio_event_set(cio_event *ev) {
    ev->internal_.set = true;
    cio__sync_wake_all(&ev->internal_.waiters, 0);
}

void cio_event_reset(cio_event *ev) { ev->internal_.set = false; }

bool cio_event_is_set(const cio_event *ev) { return ev->internal_.set; }

int cio_event_wait_until(cio_event *ev, uint64_t at) {
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
    memset(sem, 0, sizeof *sem);
    sem->internal_.count = count;
}

int cio_sem_try_acquire(cio_sem *sem) {
    if (sem->internal_.count == 0) return -CIO_EAGAIN;
    sem->internal_.count--;
    return 0;
}

int cio_sem_acquire(cio_sem *sem) {
    int r = may_block();
    if (r <= 0) return r;
    if (cio_sem_try_acquire(sem) == 0) return 0;
    cio_sync_waiter w;
    w.data = NULL;
    return cio__sync_wait(&sem->internal_.waiters, &w, 0, 0); /* 0: a release handed us its permit */
}

int cio_sem_release(cio_sem *sem) {
    cio_sync_waiter *w = sem->internal_.waiters.head;
    if (w) {
        cio__sync_wake(&sem->internal_.waiters, w, 0);
        return 0;
    }
    if (sem->internal_.count == UINT32_MAX) return -CIO_EOVERFLOW;
    sem->internal_.count++;
    return 0;
}

uint32_t cio_sem_value(const cio_sem *sem) { return sem->internal_.count; }

/* ---- mutex ---- */

void cio_mutex_init(cio_mutex *m) { memset(m, 0, sizeof *m); }

int cio_mutex_try_lock(cio_mutex *m) {
    cio_task *self = cio_task_current();
    if (!self) return -CIO_EPERM;
    if (m->internal_.owner) return -CIO_EAGAIN;
    m->internal_.owner = self;
    return 0;
}

int cio_mutex_lock(cio_mutex *m) {
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
    cio_task *self = cio_task_current();
    if (!self || m->internal_.owner != self) return -CIO_EPERM;
    cio_sync_waiter *w = m->internal_.waiters.head;
    if (w) {
        m->internal_.owner = w->task;
        cio__sync_wake(&m->internal_.waiters, w, 0);
    } else {
        m->internal_.owner = NULL;
    }
    return 0;
}
