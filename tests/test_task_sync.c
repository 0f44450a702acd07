/* Sync primitives between tasks: event, semaphore, mutex, bounded channel
 * (buffered and rendezvous), and the channel between threads. Wake order,
 * FIFO hand-off, close semantics, cancelling a task blocked on each one,
 * deadlines (scopes and cio_event_wait_until), and an xchan fed by two
 * threads with 100,000 messages each. CIO_TEST_PORTABLE */
#include "test.h"

#include <stdatomic.h>

#define MS 1000000ull

static int log_[64], nlog;
static void note(int v) {
    CHECK(nlog < 64);
    log_[nlog++] = v;
}
static void log_reset(void) { nlog = 0; }

static cio_task *spawn(cio_task_fn fn, void *arg) {
    cio_task *t;
    CHECK_EQ(cio_task_spawn(cio_task_loop(), fn, arg, NULL, &t), 0);
    return t;
}

static intptr_t join(cio_task *t) {
    intptr_t r = -999;
    CHECK_EQ(cio_task_join(t, &r), 0);
    return r;
}

/* Lets every ready task run until it blocks (bounded: a few turns). */
static void settle(void) {
    for (int i = 0; i < 4; i++) CHECK_EQ(cio_task_yield(), 0);
}

/* ---- event ---- */

typedef struct waiter_arg {
    void *obj;
    int id;
} waiter_arg;

static intptr_t event_waiter(void *arg) {
    waiter_arg *a = arg;
    int r = cio_event_wait(a->obj);
    if (r == 0) note(a->id);
    return r;
}

static void on_set_timer(cio_loop *loop, cio_op *op) {
    (void)loop;
    cio_event_set(op->data);
}

static void test_event(void) {
    cio_event ev;
    cio_event_init(&ev, false);
    CHECK(!cio_event_is_set(&ev));
    log_reset();
    /* Three waiters, woken together by one set, resume in the order they came. */
    waiter_arg a[3];
    cio_task *t[3];
    for (int i = 0; i < 3; i++) {
        a[i] = (waiter_arg){&ev, i + 1};
        t[i] = spawn(event_waiter, &a[i]);
    }
    settle();
    CHECK_EQ(nlog, 0);
    cio_event_set(&ev);
    /* Reset at once: the waiters were released by the set all the same. */
    cio_event_reset(&ev);
    for (int i = 0; i < 3; i++) CHECK_EQ(join(t[i]), 0);
    CHECK_EQ(nlog, 3);
    for (int i = 0; i < 3; i++) CHECK_EQ(log_[i], i + 1);

    /* A set event does not block; it stays set. */
    cio_event_set(&ev);
    CHECK_EQ(cio_event_wait(&ev), 0);
    CHECK_EQ(cio_event_wait(&ev), 0);
    CHECK(cio_event_is_set(&ev));
    cio_event_reset(&ev);

    /* Set from a plain callback (no task running) wakes the waiter through the loop. */
    cio_op timer;
    cio_prep_timeout(&timer, 2 * MS, 0);
    timer.cb = on_set_timer;
    timer.data = &ev;
    CHECK_EQ(cio_submit(cio_task_loop(), &timer), 0);
    CHECK_EQ(cio_event_wait(&ev), 0);

    /* All-zero is an unset event. */
    cio_event z;
    memset(&z, 0, sizeof z);
    CHECK(!cio_event_is_set(&z));
}

/* ---- deadlines ---- */

static intptr_t timed_event_waiter(void *arg) {
    waiter_arg *a = arg;
    uint64_t prev = cio_deadline_push(cio_now(cio_task_loop()) + 60000 * MS);
    int r = cio_event_wait(a->obj);
    cio_deadline_pop(prev);
    if (r == 0) note(a->id);
    return r;
}

static intptr_t mixed_locker(void *arg) {
    waiter_arg *a = arg;
    uint64_t prev = 0;
    if (a->id < 0) prev = cio_deadline_push(cio_now(cio_task_loop()) + 60000 * MS);
    int r = cio_mutex_lock(a->obj);
    if (a->id < 0) cio_deadline_pop(prev);
    if (r < 0) return r;
    note(a->id < 0 ? -a->id : a->id);
    CHECK_EQ(cio_task_yield(), 0);
    return cio_mutex_unlock(a->obj);
}

static void test_deadlines(void) {
    cio_loop *loop = cio_task_loop();
    cio_event ev;
    cio_event_init(&ev, false);
    /* A deadline scope makes an event wait time out; the event is untouched. */
    uint64_t prev = cio_deadline_push(cio_now(loop) + 5 * MS);
    CHECK_EQ(cio_event_wait(&ev), -CIO_ETIMEDOUT);
    /* A call that need not block succeeds past the deadline. */
    cio_event_set(&ev);
    CHECK_EQ(cio_event_wait(&ev), 0);
    cio_event_reset(&ev);
    cio_deadline_pop(prev);

    /* cio_event_wait_until: its own deadline, here in the past. */
    CHECK_EQ(cio_event_wait_until(&ev, 1), -CIO_ETIMEDOUT);
    CHECK_EQ(cio_event_wait_until(&ev, cio_now(loop) + 3 * MS), -CIO_ETIMEDOUT);
    /* The scope's earlier deadline wins over a later `at`. */
    prev = cio_deadline_push(cio_now(loop) + 3 * MS);
    CHECK_EQ(cio_event_wait_until(&ev, cio_now(loop) + 60000 * MS), -CIO_ETIMEDOUT);
    cio_deadline_pop(prev);

    /* Waiters with a deadline (blocked through a timer) and without share one
     * FIFO and are all woken by a set. */
    log_reset();
    waiter_arg a[4];
    cio_task *t[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (waiter_arg){&ev, i + 1};
        t[i] = spawn(i % 2 ? timed_event_waiter : event_waiter, &a[i]);
    }
    settle();
    cio_event_set(&ev);
    for (int i = 0; i < 4; i++) CHECK_EQ(join(t[i]), 0);
    /* All woken; those blocked in a timer resume a loop turn later. */
    CHECK_EQ(nlog, 4);
    int seen = 0;
    for (int i = 0; i < 4; i++) seen |= 1 << log_[i];
    CHECK_EQ(seen, 0x1e);
    cio_event_reset(&ev);

    /* A mutex hands itself over in arrival order, whichever way each waiter blocks. */
    cio_mutex m;
    cio_mutex_init(&m);
    CHECK_EQ(cio_mutex_lock(&m), 0);
    log_reset();
    waiter_arg ma[4];
    for (int i = 0; i < 4; i++) {
        ma[i] = (waiter_arg){&m, (i + 1) * (i % 2 ? -1 : 1)}; /* negative id: with a deadline */
        t[i] = spawn(mixed_locker, &ma[i]);
    }
    settle();
    CHECK_EQ(cio_mutex_unlock(&m), 0);
    for (int i = 0; i < 4; i++) CHECK_EQ(join(t[i]), 0);
    CHECK_EQ(nlog, 4);
    for (int i = 0; i < 4; i++) CHECK_EQ(log_[i], i + 1);

    /* Semaphore, mutex and channel waits time out too, and leave the object as it was. */
    cio_sem sem;
    cio_sem_init(&sem, 0);
    prev = cio_deadline_push(cio_now(loop) + 3 * MS);
    CHECK_EQ(cio_sem_acquire(&sem), -CIO_ETIMEDOUT);
    cio_deadline_pop(prev);
    CHECK_EQ(cio_sem_release(&sem), 0);
    CHECK_EQ(cio_sem_value(&sem), 1); /* not handed to the waiter that gave up */

    int buf[1], v = 7;
    cio_chan ch;
    CHECK_EQ(cio_chan_init(&ch, buf, sizeof buf[0], 1), 0);
    prev = cio_deadline_push(cio_now(loop) + 3 * MS);
    CHECK_EQ(cio_chan_recv(&ch, &v), -CIO_ETIMEDOUT);
    CHECK_EQ(cio_chan_send(&ch, &v), 0);
    CHECK_EQ(cio_chan_send(&ch, &v), -CIO_ETIMEDOUT); /* full */
    cio_deadline_pop(prev);
    CHECK_EQ(cio_chan_len(&ch), 1);
    v = 0;
    CHECK_EQ(cio_chan_recv(&ch, &v), 0);
    CHECK_EQ(v, 7);
}

/* ---- semaphore ---- */

static intptr_t sem_waiter(void *arg) {
    waiter_arg *a = arg;
    int r = cio_sem_acquire(a->obj);
    if (r == 0) note(a->id);
    return r;
}

static void test_sem(void) {
    cio_sem sem;
    cio_sem_init(&sem, 2);
    CHECK_EQ(cio_sem_acquire(&sem), 0);
    CHECK_EQ(cio_sem_try_acquire(&sem), 0);
    CHECK_EQ(cio_sem_try_acquire(&sem), -CIO_EAGAIN);
    CHECK_EQ(cio_sem_value(&sem), 0);

    /* Five waiters get permits in the order they came, one per release. */
    log_reset();
    waiter_arg a[5];
    cio_task *t[5];
    for (int i = 0; i < 5; i++) {
        a[i] = (waiter_arg){&sem, i + 1};
        t[i] = spawn(sem_waiter, &a[i]);
    }
    settle();
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(cio_sem_release(&sem), 0);
        /* Handed to the waiter: nobody else can take it before it runs. */
        CHECK_EQ(cio_sem_try_acquire(&sem), -CIO_EAGAIN);
        settle();
        CHECK_EQ(nlog, i + 1);
        CHECK_EQ(log_[i], i + 1);
    }
    for (int i = 0; i < 5; i++) CHECK_EQ(join(t[i]), 0);
    CHECK_EQ(cio_sem_release(&sem), 0);
    CHECK_EQ(cio_sem_value(&sem), 1);

    cio_sem big;
    cio_sem_init(&big, UINT32_MAX);
    CHECK_EQ(cio_sem_release(&big), -CIO_EOVERFLOW);
    CHECK_EQ(cio_sem_value(&big), UINT32_MAX);
}

/* ---- mutex ---- */

typedef struct mutex_arg {
    cio_mutex *m;
    int id;
    int rounds;
    int *inside;
    int *total;
} mutex_arg;

static intptr_t mutex_worker(void *arg) {
    mutex_arg *a = arg;
    for (int i = 0; i < a->rounds; i++) {
        int r = cio_mutex_lock(a->m);
        if (r < 0) return r;
        CHECK_EQ(*a->inside, 0);
        *a->inside = 1;
        if (a->rounds == 1) note(a->id);
        /* Hold it across a yield and a sleep: the others must queue. */
        CHECK_EQ(cio_task_yield(), 0);
        if (i % 8 == 0) CHECK_EQ(cio_sleep(0), 0);
        (*a->total)++;
        *a->inside = 0;
        CHECK_EQ(cio_mutex_unlock(a->m), 0);
    }
    return 0;
}

static intptr_t mutex_intruder(void *arg) {
    /* Not the owner: may not unlock. */
    return cio_mutex_unlock(arg);
}

static void test_mutex(void) {
    cio_mutex m;
    cio_mutex_init(&m);
    CHECK_EQ(cio_mutex_unlock(&m), -CIO_EPERM); /* not held */
    CHECK_EQ(cio_mutex_lock(&m), 0);
    CHECK_EQ(cio_mutex_lock(&m), -CIO_EBUSY);
    CHECK_EQ(cio_mutex_try_lock(&m), -CIO_EAGAIN);
    CHECK_EQ(join(spawn(mutex_intruder, &m)), -CIO_EPERM);
    CHECK_EQ(cio_mutex_unlock(&m), 0);
    CHECK_EQ(cio_mutex_unlock(&m), -CIO_EPERM);
    CHECK_EQ(cio_mutex_try_lock(&m), 0);
    CHECK_EQ(cio_mutex_unlock(&m), 0);

    /* FIFO hand-off: five tasks queue behind us and get it in order; we
     * cannot take it back in between. */
    int inside = 0, total = 0;
    log_reset();
    CHECK_EQ(cio_mutex_lock(&m), 0);
    mutex_arg a[5];
    cio_task *t[5];
    for (int i = 0; i < 5; i++) {
        a[i] = (mutex_arg){&m, i + 1, 1, &inside, &total};
        t[i] = spawn(mutex_worker, &a[i]);
    }
    settle();
    CHECK_EQ(cio_mutex_unlock(&m), 0);
    CHECK_EQ(cio_mutex_try_lock(&m), -CIO_EAGAIN); /* handed to the first waiter */
    for (int i = 0; i < 5; i++) CHECK_EQ(join(t[i]), 0);
    CHECK_EQ(nlog, 5);
    for (int i = 0; i < 5; i++) CHECK_EQ(log_[i], i + 1);

    /* Contention: 8 tasks x 200 rounds, never two inside. */
    inside = total = 0;
    mutex_arg b[8];
    cio_task *u[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (mutex_arg){&m, i, 200, &inside, &total};
        u[i] = spawn(mutex_worker, &b[i]);
    }
    for (int i = 0; i < 8; i++) CHECK_EQ(join(u[i]), 0);
    CHECK_EQ(total, 8 * 200);
    CHECK_EQ(cio_mutex_try_lock(&m), 0);
    CHECK_EQ(cio_mutex_unlock(&m), 0);
}

/* ---- bounded channel ---- */

typedef struct chan_arg {
    cio_chan *ch;
    int from, n;
    int id;
} chan_arg;

static intptr_t producer(void *arg) {
    chan_arg *a = arg;
    for (int i = 0; i < a->n; i++) {
        int v = a->from + i;
        int r = cio_chan_send(a->ch, &v);
        if (r < 0) return r;
    }
    return a->n;
}

static intptr_t consumer(void *arg) {
    chan_arg *a = arg;
    int expect = a->from, got = 0, v, r;
    while ((r = cio_chan_recv(a->ch, &v)) == 0) {
        CHECK_EQ(v, expect);
        expect++;
        got++;
    }
    CHECK_EQ(r, -CIO_EPIPE);
    return got;
}

static intptr_t one_send(void *arg) {
    chan_arg *a = arg;
    int v = a->id;
    int r = cio_chan_send(a->ch, &v);
    if (r == 0) note(a->id);
    return r;
}

static intptr_t one_recv(void *arg) {
    chan_arg *a = arg;
    int v = -1;
    int r = cio_chan_recv(a->ch, &v);
    if (r == 0) note(v * 100 + a->id);
    return r;
}

static void test_chan(size_t cap) {
    int buf[4];
    cio_chan ch;
    CHECK_EQ(cio_chan_init(&ch, cap ? buf : NULL, sizeof(int), cap), 0);

    /* One producer, one consumer, 1000 elements in order, then close. */
    chan_arg pa = {&ch, 1000, 1000, 0}, ca = {&ch, 1000, 0, 0};
    cio_task *c = spawn(consumer, &ca), *p = spawn(producer, &pa);
    CHECK_EQ(join(p), 1000);
    cio_chan_close(&ch);
    CHECK_EQ(join(c), 1000);

    /* Close: buffered elements are still received, then -CIO_EPIPE. */
    CHECK_EQ(cio_chan_init(&ch, cap ? buf : NULL, sizeof(int), cap), 0);
    int v = 5;
    if (cap) {
        CHECK_EQ(cio_chan_send(&ch, &v), 0);
        CHECK_EQ(cio_chan_len(&ch), 1);
    } else {
        CHECK_EQ(cio_chan_try_send(&ch, &v), -CIO_EAGAIN); /* nobody to take it */
    }
    cio_chan_close(&ch);
    cio_chan_close(&ch); /* idempotent */
    CHECK_EQ(cio_chan_send(&ch, &v), -CIO_EPIPE);
    CHECK_EQ(cio_chan_try_send(&ch, &v), -CIO_EPIPE);
    if (cap) {
        v = 0;
        CHECK_EQ(cio_chan_recv(&ch, &v), 0);
        CHECK_EQ(v, 5);
    }
    CHECK_EQ(cio_chan_recv(&ch, &v), -CIO_EPIPE);
    CHECK_EQ(cio_chan_try_recv(&ch, &v), -CIO_EPIPE);

    /* Blocked senders (channel full) and blocked receivers (empty) are
     * served FIFO, and close fails whoever still blocks. */
    CHECK_EQ(cio_chan_init(&ch, cap ? buf : NULL, sizeof(int), cap), 0);
    for (size_t i = 0; i < cap; i++) {
        v = 90 + (int)i;
        CHECK_EQ(cio_chan_try_send(&ch, &v), 0);
    }
    CHECK_EQ(cio_chan_try_send(&ch, &v), -CIO_EAGAIN);
    log_reset();
    chan_arg s[3];
    cio_task *st[3];
    for (int i = 0; i < 3; i++) {
        s[i] = (chan_arg){&ch, 0, 0, i + 1};
        st[i] = spawn(one_send, &s[i]);
    }
    settle();
    CHECK_EQ(nlog, 0);
    /* Drain the buffer, then the senders' elements arrive in their order. */
    for (size_t i = 0; i < cap; i++) {
        CHECK_EQ(cio_chan_recv(&ch, &v), 0);
        CHECK_EQ(v, 90 + (int)i);
    }
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(cio_chan_recv(&ch, &v), 0);
        CHECK_EQ(v, i + 1);
    }
    settle();
    cio_chan_close(&ch); /* the third sender, if still blocked, fails */
    intptr_t r3 = join(st[2]);
    CHECK_EQ(join(st[0]), 0);
    CHECK_EQ(join(st[1]), 0);
    if (cap == 0) {
        CHECK_EQ(r3, -CIO_EPIPE);
    } else {
        /* With a buffer, the third sender's element went into the slot freed. */
        CHECK_EQ(r3, 0);
        CHECK_EQ(cio_chan_recv(&ch, &v), 0);
        CHECK_EQ(v, 3);
    }
    CHECK_EQ(cio_chan_recv(&ch, &v), -CIO_EPIPE);

    CHECK_EQ(cio_chan_init(&ch, cap ? buf : NULL, sizeof(int), cap), 0);
    log_reset();
    chan_arg rr[3];
    cio_task *rt[3];
    for (int i = 0; i < 3; i++) {
        rr[i] = (chan_arg){&ch, 0, 0, i + 1};
        rt[i] = spawn(one_recv, &rr[i]);
    }
    settle();
    for (int i = 0; i < 2; i++) {
        v = 7 + i;
        CHECK_EQ(cio_chan_send(&ch, &v), 0);
    }
    settle();
    CHECK_EQ(nlog, 2);
    CHECK_EQ(log_[0], 7 * 100 + 1);
    CHECK_EQ(log_[1], 8 * 100 + 2);
    cio_chan_close(&ch);
    CHECK_EQ(join(rt[0]), 0);
    CHECK_EQ(join(rt[1]), 0);
    CHECK_EQ(join(rt[2]), -CIO_EPIPE);
}

static void test_chan_init(void) {
    int buf[2];
    cio_chan ch;
    CHECK_EQ(cio_chan_init(NULL, buf, 4, 2), -CIO_EINVAL);
    CHECK_EQ(cio_chan_init(&ch, buf, 0, 2), -CIO_EINVAL);
    CHECK_EQ(cio_chan_init(&ch, NULL, 4, 2), -CIO_EINVAL);
    CHECK_EQ(cio_chan_init(&ch, buf, SIZE_MAX / 2, 4), -CIO_EINVAL);
    CHECK_EQ(cio_chan_init(&ch, NULL, 4, 0), 0);
    /* A wrapping ring: more elements than slots, interleaved. */
    CHECK_EQ(cio_chan_init(&ch, buf, sizeof buf[0], 2), 0);
    int v, next_in = 0, next_out = 0;
    for (int i = 0; i < 50; i++) {
        while (cio_chan_try_send(&ch, &next_in) == 0) next_in++;
        CHECK_EQ(cio_chan_len(&ch), 2);
        CHECK_EQ(cio_chan_try_recv(&ch, &v), 0);
        CHECK_EQ(v, next_out++);
    }
    while (cio_chan_try_recv(&ch, &v) == 0) CHECK_EQ(v, next_out++);
    CHECK_EQ(next_out, next_in);
}

/* ---- cancelling a task blocked on each primitive ---- */

enum { ON_EVENT, ON_SEM, ON_MUTEX, ON_SEND, ON_RECV, ON_XCHAN, ON_COUNT };

typedef struct block_arg {
    int what;
    bool timed; /* inside a (far) deadline scope: blocked through a timer op */
    cio_event *ev;
    cio_sem *sem;
    cio_mutex *m;
    cio_chan *ch;
    cio_xchan *xc;
    bool started;
} block_arg;

static intptr_t blocker(void *arg) {
    block_arg *a = arg;
    uint64_t prev = 0;
    if (a->timed) prev = cio_deadline_push(cio_now(cio_task_loop()) + 60000 * MS);
    a->started = true;
    int v = 1, r = -1;
    cio_xmsg *msg;
    switch (a->what) {
    case ON_EVENT: r = cio_event_wait(a->ev); break;
    case ON_SEM: r = cio_sem_acquire(a->sem); break;
    case ON_MUTEX: r = cio_mutex_lock(a->m); break;
    case ON_SEND: r = cio_chan_send(a->ch, &v); break;
    case ON_RECV: r = cio_chan_recv(a->ch, &v); break;
    case ON_XCHAN: r = cio_xchan_recv(a->xc, &msg); break;
    }
    if (a->timed) cio_deadline_pop(prev);
    /* Cancelled: every later blocking call fails at once. */
    CHECK_EQ(cio_event_wait(a->ev), -CIO_ECANCELED);
    CHECK_EQ(cio_sem_acquire(a->sem), -CIO_ECANCELED);
    CHECK_EQ(cio_mutex_lock(a->m), -CIO_ECANCELED);
    CHECK_EQ(cio_chan_recv(a->ch, &v), -CIO_ECANCELED);
    CHECK_EQ(cio_xchan_recv(a->xc, &msg), -CIO_ECANCELED);
    return r;
}

static void test_cancel_blocked(bool timed) {
    cio_loop *loop = cio_task_loop();
    for (int what = 0; what < ON_COUNT; what++) {
        cio_event ev;
        cio_sem sem;
        cio_mutex m;
        cio_chan ch;
        cio_xchan xc;
        int buf[1] = {0}, v = 3;
        cio_event_init(&ev, false);
        cio_sem_init(&sem, 0);
        cio_mutex_init(&m);
        CHECK_EQ(cio_chan_init(&ch, buf, sizeof buf[0], 1), 0);
        CHECK_EQ(cio_xchan_init(&xc, loop), 0);
        if (what == ON_MUTEX) CHECK_EQ(cio_mutex_lock(&m), 0);
        if (what == ON_SEND) CHECK_EQ(cio_chan_send(&ch, &v), 0); /* full */
        block_arg a = {what, timed, &ev, &sem, &m, &ch, &xc, false};
        cio_task *t = spawn(blocker, &a);
        settle();
        CHECK(a.started);
        CHECK_EQ(cio_task_cancel(t), 0);
        CHECK_EQ(join(t), -CIO_ECANCELED);
        /* Nothing still points at the cancelled waiter: what it waited for
         * goes to the next comer. */
        switch (what) {
        case ON_EVENT: cio_event_set(&ev); CHECK_EQ(cio_event_wait(&ev), 0); break;
        case ON_SEM:
            CHECK_EQ(cio_sem_release(&sem), 0);
            CHECK_EQ(cio_sem_value(&sem), 1);
            break;
        case ON_MUTEX:
            CHECK_EQ(cio_mutex_unlock(&m), 0);
            CHECK_EQ(cio_mutex_try_lock(&m), 0);
            CHECK_EQ(cio_mutex_unlock(&m), 0);
            break;
        case ON_SEND:
            CHECK_EQ(cio_chan_recv(&ch, &v), 0);
            CHECK_EQ(v, 3);
            CHECK_EQ(cio_chan_len(&ch), 0); /* the cancelled sender's element was not sent */
            break;
        case ON_RECV:
            v = 4;
            CHECK_EQ(cio_chan_send(&ch, &v), 0);
            CHECK_EQ(cio_chan_len(&ch), 1); /* buffered, not handed to the cancelled receiver */
            break;
        case ON_XCHAN: {
            cio_xmsg msg = {0}, *got = NULL;
            CHECK_EQ(cio_xchan_send(&xc, &msg), 0);
            CHECK_EQ(cio_xchan_recv(&xc, &got), 0);
            CHECK(got == &msg);
            break;
        }
        }
        /* Cancelled before it even started: it still runs, and its first
         * blocking call fails without touching the object. */
        if (what == ON_MUTEX) CHECK_EQ(cio_mutex_lock(&m), 0);
        a.started = false;
        t = spawn(blocker, &a);
        CHECK_EQ(cio_task_cancel(t), 0);
        CHECK_EQ(cio_task_cancel(t), 0); /* idempotent */
        CHECK_EQ(join(t), -CIO_ECANCELED);
        CHECK(a.started);
        if (what == ON_MUTEX) CHECK_EQ(cio_mutex_unlock(&m), 0);
        CHECK(ev.internal_.waiters.head == NULL && sem.internal_.waiters.head == NULL);
        CHECK(m.internal_.waiters.head == NULL && xc.internal_.receivers.head == NULL);
        CHECK(ch.internal_.senders.head == NULL && ch.internal_.receivers.head == NULL);
    }
}

/* A waiter that was handed the object and then cancelled before it ran
 * again keeps what it was given: no permit or lock is lost. */
static intptr_t handed_locker(void *arg) {
    waiter_arg *a = arg;
    uint64_t prev = 0;
    if (a->id < 0) prev = cio_deadline_push(cio_now(cio_task_loop()) + 60000 * MS);
    int r = cio_mutex_lock(a->obj);
    if (a->id < 0) cio_deadline_pop(prev);
    if (r < 0) return r;
    CHECK(cio_task_cancelled());
    CHECK_EQ(cio_mutex_lock(a->obj), -CIO_ECANCELED);
    return cio_mutex_unlock(a->obj); /* not blocking: works when cancelled */
}

static intptr_t handed_acquirer(void *arg) {
    waiter_arg *a = arg;
    uint64_t prev = 0;
    if (a->id < 0) prev = cio_deadline_push(cio_now(cio_task_loop()) + 60000 * MS);
    int r = cio_sem_acquire(a->obj);
    if (a->id < 0) cio_deadline_pop(prev);
    return r;
}

static void test_woken_then_cancelled(void) {
    for (int timed = 0; timed < 2; timed++) {
        cio_mutex m;
        cio_mutex_init(&m);
        CHECK_EQ(cio_mutex_lock(&m), 0);
        waiter_arg a = {&m, timed ? -1 : 1};
        cio_task *t = spawn(handed_locker, &a);
        settle();
        CHECK_EQ(cio_mutex_unlock(&m), 0); /* handed to t */
        CHECK_EQ(cio_task_cancel(t), 0);
        CHECK_EQ(join(t), 0);
        CHECK_EQ(cio_mutex_try_lock(&m), 0);
        CHECK_EQ(cio_mutex_unlock(&m), 0);

        cio_sem sem;
        cio_sem_init(&sem, 0);
        waiter_arg b = {&sem, timed ? -1 : 1};
        t = spawn(handed_acquirer, &b);
        settle();
        CHECK_EQ(cio_sem_release(&sem), 0); /* handed to t */
        CHECK_EQ(cio_task_cancel(t), 0);
        CHECK_EQ(join(t), 0);
        CHECK_EQ(cio_sem_value(&sem), 0);

        /* A channel element handed to a receiver is not lost either. */
        cio_chan ch;
        CHECK_EQ(cio_chan_init(&ch, NULL, sizeof(int), 0), 0);
        chan_arg c = {&ch, 0, 0, 1};
        log_reset();
        t = spawn(one_recv, &c);
        settle();
        int v = 6;
        CHECK_EQ(cio_chan_send(&ch, &v), 0);
        CHECK_EQ(cio_task_cancel(t), 0);
        CHECK_EQ(join(t), 0);
        CHECK_EQ(nlog, 1);
        CHECK_EQ(log_[0], 601);
    }
}

/* ---- channel between threads ---- */

enum { PER_SENDER = 100000, SENDERS = 2 };

typedef struct xm {
    cio_xmsg m;
    int sender, seq;
} xm;

static cio_xchan xc_main;
static xm *xms[SENDERS];
static atomic_int senders_left;

static void send_all(int id) {
    for (int i = 0; i < PER_SENDER; i++) {
        xm *m = &xms[id][i];
        m->sender = id;
        m->seq = i;
        m->m.data = m;
        CHECK_EQ(cio_xchan_send(&xc_main, &m->m), 0);
    }
    /* The last sender closes: everything sent before arrives first. */
    if (atomic_fetch_sub(&senders_left, 1) == 1) CHECK_EQ(cio_xchan_close(&xc_main), 0);
}

static intptr_t sending_task(void *arg) {
    send_all((int)(intptr_t)arg);
    return 0;
}

static void *sender_thread(void *arg) {
    int id = (int)(intptr_t)arg;
    if (id == 0) {
        send_all(id); /* a plain thread */
    } else {
        intptr_t r = -1; /* a task on another thread's loop */
        CHECK_EQ(cio_main(sending_task, arg, NULL, &r), 0);
        CHECK_EQ(r, 0);
    }
    return NULL;
}

static intptr_t xchan_receiver(void *arg) {
    (void)arg;
    static unsigned char seen[SENDERS][PER_SENDER];
    int next[SENDERS] = {0}, total = 0, r;
    cio_xmsg *m;
    while ((r = cio_xchan_recv(&xc_main, &m)) == 0) {
        xm *x = m->data;
        CHECK(x == (xm *)(void *)m);
        CHECK(x->sender >= 0 && x->sender < SENDERS);
        CHECK(x->seq >= 0 && x->seq < PER_SENDER);
        CHECK_EQ(seen[x->sender][x->seq], 0); /* not duplicated */
        seen[x->sender][x->seq] = 1;
        CHECK_EQ(x->seq, next[x->sender]); /* each sender's order kept */
        next[x->sender]++;
        total++;
    }
    CHECK_EQ(r, -CIO_EPIPE);
    CHECK_EQ(total, SENDERS * PER_SENDER); /* none lost */
    cio_xmsg *late;
    CHECK_EQ(cio_xchan_try_recv(&xc_main, &late), -CIO_EPIPE);
    CHECK_EQ(cio_xchan_send(&xc_main, &xms[0][0].m), -CIO_EPIPE);
    return total;
}

static intptr_t xchan_main(void *arg) {
    (void)arg;
    CHECK_EQ(cio_xchan_init(&xc_main, cio_task_loop()), 0);
    atomic_store(&senders_left, SENDERS);
    for (int s = 0; s < SENDERS; s++) CHECK(xms[s] = calloc(PER_SENDER, sizeof(xm)));
    cio_task *rt = spawn(xchan_receiver, NULL);
    /* Let the receiver block first, so that the loop has only its timer. */
    settle();
    static t_thread th[SENDERS];
    for (int s = 0; s < SENDERS; s++) CHECK_EQ(t_thread_start(&th[s], sender_thread, (void *)(intptr_t)s), 0);
    intptr_t got = join(rt);
    for (int s = 0; s < SENDERS; s++) CHECK_EQ(t_thread_join(&th[s], NULL), 0);
    for (int s = 0; s < SENDERS; s++) free(xms[s]);
    return got;
}

/* A receiver blocked in a loop that has nothing else to do: the loop must
 * keep running (CIO_RUN_DEFAULT) until a message from another thread comes. */
static cio_xchan xc_idle;
static cio_xmsg idle_msg;
static cio_loop idle_loop;

static void *late_sender(void *arg) {
    (void)arg;
    t_sleep_ms(20);
    CHECK_EQ(cio_xchan_send(&xc_idle, &idle_msg), 0);
    return NULL;
}

static intptr_t idle_receiver(void *arg) {
    (void)arg;
    cio_xmsg *m = NULL;
    CHECK_EQ(cio_xchan_recv(&xc_idle, &m), 0);
    CHECK(m == &idle_msg);
    /* A deadline on the wait: nothing comes, it times out. */
    uint64_t prev = cio_deadline_push(cio_now(cio_task_loop()) + 3 * MS);
    CHECK_EQ(cio_xchan_recv(&xc_idle, &m), -CIO_ETIMEDOUT);
    cio_deadline_pop(prev);
    /* Close from the loop's own thread, then drained: -CIO_EPIPE. */
    CHECK_EQ(cio_xchan_close(&xc_idle), 0);
    CHECK_EQ(cio_xchan_close(&xc_idle), 0);
    CHECK_EQ(cio_xchan_recv(&xc_idle, &m), -CIO_EPIPE);
    return 1;
}

static void test_xchan_keeps_loop(void) {
    t_loop_init(&idle_loop, 64);
    CHECK_EQ(cio_xchan_init(&xc_idle, &idle_loop), 0);
    cio_task *t;
    CHECK_EQ(cio_task_spawn(&idle_loop, idle_receiver, NULL, NULL, &t), 0);
    static t_thread th;
    CHECK_EQ(t_thread_start(&th, late_sender, NULL), 0);
    /* RUN_DEFAULT returns once nothing is active: only after the receiver is done. */
    CHECK_EQ(cio_loop_run(&idle_loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(cio_task_detach(t), 0); /* it has returned: released now */
    t_close(&idle_loop);
}

/* ---- main ---- */

static intptr_t sync_main(void *arg) {
    (void)arg;
    test_event();
    test_deadlines();
    test_sem();
    test_mutex();
    test_chan_init();
    test_chan(4);
    test_chan(1);
    test_chan(0);
    test_cancel_blocked(false);
    test_cancel_blocked(true);
    test_woken_then_cancelled();
    return 7;
}

int main(void) {
    t_watchdog();
    /* Outside a task the blocking calls refuse; the others work. */
    cio_event ev;
    cio_sem sem;
    cio_mutex m;
    cio_chan ch;
    cio_xmsg *xm_out;
    int v = 0, buf[1];
    cio_event_init(&ev, false);
    cio_sem_init(&sem, 1);
    cio_mutex_init(&m);
    CHECK_EQ(cio_chan_init(&ch, buf, sizeof v, 1), 0);
    CHECK_EQ(cio_event_wait(&ev), -CIO_EPERM);
    CHECK_EQ(cio_sem_acquire(&sem), -CIO_EPERM);
    CHECK_EQ(cio_sem_try_acquire(&sem), 0);
    CHECK_EQ(cio_sem_release(&sem), 0);
    CHECK_EQ(cio_mutex_lock(&m), -CIO_EPERM);
    CHECK_EQ(cio_mutex_try_lock(&m), -CIO_EPERM);
    CHECK_EQ(cio_mutex_unlock(&m), -CIO_EPERM);
    CHECK_EQ(cio_chan_send(&ch, &v), -CIO_EPERM);
    CHECK_EQ(cio_chan_try_send(&ch, &v), 0);
    CHECK_EQ(cio_chan_recv(&ch, &v), -CIO_EPERM);
    CHECK_EQ(cio_chan_try_recv(&ch, &v), 0);
    CHECK_EQ(cio_xchan_recv(&xc_main, &xm_out), -CIO_EPERM);
    CHECK_EQ(cio_xchan_init(NULL, NULL), -CIO_EINVAL);

    intptr_t r = 0;
    CHECK_EQ(cio_main(sync_main, NULL, NULL, &r), 0);
    CHECK_EQ(r, 7);
    r = 0;
    CHECK_EQ(cio_main(xchan_main, NULL, NULL, &r), 0);
    CHECK_EQ(r, SENDERS * PER_SENDER);
    test_xchan_keeps_loop();
    puts("task_sync: ok");
    return 0;
}
