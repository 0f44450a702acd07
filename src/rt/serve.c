/*
 * src/rt/serve.c - cio_runtime_serve(): listeners on the workers, an
 * acceptor task per listener, and a task per connection.
 *
 * With SO_REUSEPORT every worker has a listener and keeps what it
 * accepts: no connection crosses threads. With one acceptor, each
 * accepted socket travels to its worker as a job (one MSG_RING between
 * io_uring workers); the acceptor does no IO on it, so that on Windows
 * it joins the completion port of the worker that does.
 */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"
#include "../task/task_internal.h"

/* On its acceptor task's stack, in its worker's `acceptors`. */
typedef struct rt_acceptor {
    lnode node;
    rt_worker *w;
    rt_serve *serve;
    cio_fd fd;
    cio_task *task;
} rt_acceptor;

#define ACCEPT_ERROR_PAUSE_NS CIO_NS_PER_MS /* after a failed accept, so that a lasting error cannot spin */

/* Starts a connection task on `w`, whose load the caller took. */
static void start_conn(rt_worker *w, rt_serve *s, cio_fd fd, const cio_addr *peer) {
    rt_task t = {.kind = TASK_CONN, .fd = fd, .peer = *peer, .serve = s};
    rt_task_start(w, &t, s->stack_size, "cio_runtime_serve connection", NULL);
}

/* Gives an accepted connection to its worker; closes it when none can
 * take it (the runtime stops, no memory). */
static void hand_off(rt_worker *w, rt_serve *s, cio_fd fd, const cio_addr *peer) {
    cio_runtime *rt = w->rt;
    rt_worker *to = w;
    int err = 0;
    if (s->spread == CIO_SPREAD_ACCEPTOR) to = rt_choose(rt, s->least ? CIO_WORKER_LEAST : CIO_WORKER_NEXT, &err);
    /* No new connection once the shutdown began (the admission of a job
     * would take one from a worker's task in the grace time). The load
     * is counted first, as rt_admit counts `inflight`: a connection kept
     * is in the shutdown's count of what runs. */
    if (to) atomic_fetch_add(&to->load, 1);
    if (atomic_load(&rt->stopping)) {
        if (to) atomic_fetch_sub(&to->load, 1);
        cio_close(fd);
        return;
    }
    if (to && to == w) { /* kept here: no job */
        start_conn(w, s, fd, peer);
        return;
    }
    if (to) {
        atomic_fetch_sub(&to->load, 1); /* rt_admit_send counts it again */
        rt_job *j = calloc(1, sizeof *j);
        if (j) {
            j->kind = JOB_CONN;
            j->heap = j->counted = true;
            j->u.conn.fd = fd;
            j->u.conn.peer = *peer;
            j->u.conn.serve = s;
            if (rt_admit_send(rt, to, j, true) == 0) return;
            free(j);
        }
    }
    cio_close(fd);
}

void rt_serve_conn_arrived(rt_worker *w, rt_job *j) {
    start_conn(w, j->u.conn.serve, j->u.conn.fd, &j->u.conn.peer);
}

intptr_t rt_serve_conn_run(rt_task *t) {
    rt_worker *w = t->w;
    w->own[PUB_CONNECTIONS]++;
    intptr_t r = t->serve->fn(t->fd, &t->peer, t->serve->arg);
    if (r < 0 && r != -CIO_ECANCELED) w->own[PUB_CONN_ERRORS]++; /* a cancel is the shutdown's, not an error */
    cio_close(t->fd); /* a close works in a cancelled task too */
    return r;
}

static intptr_t acceptor_main(void *arg) {
    rt_acceptor *a = arg;
    rt_worker *w = a->w;
    for (;;) {
        cio_fd fd;
        cio_addr peer;
        int r = cio_tcp_accept(a->fd, &fd, &peer);
        if (r == 0) {
            hand_off(w, a->serve, fd, &peer);
            continue;
        }
        if (r == -CIO_ECANCELED || cio_task_cancelled()) break;
        w->own[PUB_ACCEPT_ERRORS]++;
        /* A listener that is no listener any more ends; anything else
         * (a connection reset before it was accepted, a lack of memory)
         * passes. */
        if (r == -CIO_EBADF || r == -CIO_EINVAL || r == -CIO_ENOTSOCK) break;
        if (cio_sleep(ACCEPT_ERROR_PAUSE_NS) < 0) break;
    }
    cio_close(a->fd);
    list_remove(&w->acceptors, &a->node);
    atomic_fetch_sub(&w->acceptors_live, 1);
    atomic_fetch_sub(&a->serve->acceptors_live, 1);
    /* Rare (the shutdown, a failed serve's rollback, a listener gone
     * bad): always told, as a rollback waits for it too. */
    cio__mutex_lock(&w->rt->mu);
    cio__cond_broadcast(&w->rt->cv);
    cio__mutex_unlock(&w->rt->mu);
    return 0;
}

unsigned rt_serve_stop(rt_worker *w) {
    unsigned n = 0;
    for (lnode *x = w->acceptors.head; x; x = x->next, n++) cio_task_cancel(LIST_ENTRY(x, rt_acceptor, node)->task);
    return n;
}

/* ---- setting up ---- */

typedef struct setup {
    rt_serve *serve;
    cio_addr addr; /* to bind; after the first listener, with its port */
    cio_listen_options listen;
    int err;
} setup;

/* On the worker: a listener and its acceptor task. */
static void listen_here(rt_worker *w, void *arg) {
    setup *su = arg;
    if (cio_runtime_stopping(w->rt)) { /* the shutdown's step 1 may have passed here already */
        su->err = -CIO_ECANCELED;
        return;
    }
    cio_fd fd;
    int r = cio_tcp_listen_addr(&w->loop, &su->addr, &su->listen, &fd);
    bool have_fd = r == 0;
    if (r == 0) r = cio_socket_local_addr(&w->loop, fd, &su->addr);
    void *rec = NULL;
    cio_task *task;
    cio_task_options o = {.name = "cio_runtime_serve acceptor", .detached = true};
    if (r == 0) r = cio__task_spawn_extra(&w->loop, acceptor_main, &o, sizeof(rt_acceptor), &rec, &task);
    if (r < 0) {
        if (have_fd) rt_close_soon(w, fd);
        su->err = r;
        return;
    }
    rt_acceptor *a = rec;
    a->w = w;
    a->serve = su->serve;
    a->fd = fd;
    a->task = task;
    list_push(&w->acceptors, &a->node);
    atomic_fetch_add(&w->acceptors_live, 1);
    atomic_fetch_add(&su->serve->acceptors_live, 1);
    su->err = 0;
}

/* On the worker: ends the acceptors of one serve (a failed setup's). */
static void unlisten_here(rt_worker *w, void *arg) {
    for (lnode *x = w->acceptors.head; x; x = x->next) {
        rt_acceptor *a = LIST_ENTRY(x, rt_acceptor, node);
        if (a->serve == arg) cio_task_cancel(a->task);
    }
}

static bool has_mock(cio_runtime *rt) {
    for (unsigned i = 0; i < rt->n; i++) {
        cio_loop *l = cio_runtime_loop(rt, i);
        if (l && rt->workers[i].backend == CIO_BACKEND_MOCK) return true;
    }
    return false;
}

static int serve(cio_runtime *rt, const char *addr, const cio_serve_options *opts, cio_runtime_conn_fn fn, void *arg,
                 cio_addr *bound) {
    if (!addr || !fn) return -CIO_EINVAL;
    cio_serve_options o = {0};
    if (opts) o = *opts;
    for (size_t i = 0; i < sizeof o.reserved_ / sizeof o.reserved_[0]; i++)
        if (o.reserved_[i]) return -CIO_EINVAL;
    if ((unsigned)o.spread > CIO_SPREAD_ACCEPTOR) return -CIO_EINVAL;
    if (rt_self() && rt_self()->rt == rt) return -CIO_EDEADLK;
    /* Simulated workers each have a world of their own: a listener in
     * each, on the same address, needs no SO_REUSEPORT; a connection
     * cannot move from one world to another. */
    bool simulated = has_mock(rt);
    if (simulated) {
        if (o.spread == CIO_SPREAD_ACCEPTOR) return -CIO_ENOTSUP;
        o.spread = CIO_SPREAD_REUSEPORT;
    }
#if defined(_WIN32)
    if (o.spread == CIO_SPREAD_REUSEPORT && !simulated) return -CIO_ENOTSUP;
    if (o.spread == CIO_SPREAD_AUTO) o.spread = CIO_SPREAD_ACCEPTOR;
#else
    if (o.spread == CIO_SPREAD_AUTO) o.spread = CIO_SPREAD_REUSEPORT;
#endif
    setup su = {.listen = o.listen};
    int r = cio_addr_parse(&su.addr, addr);
    if (r < 0) return r;
    su.listen.reuseport = o.spread == CIO_SPREAD_REUSEPORT && !simulated;
    rt_worker *only = NULL;
    if (o.spread == CIO_SPREAD_ACCEPTOR) {
        int err = 0;
        if (o.acceptor > INT32_MAX || !(only = rt_choose(rt, (int)o.acceptor, &err))) return err ? err : -CIO_EINVAL;
    }
    rt_serve *s = calloc(1, sizeof *s);
    if (!s) return -CIO_ENOMEM;
    atomic_init(&s->acceptors_live, 0);
    s->rt = rt;
    s->fn = fn;
    s->arg = arg;
    s->spread = o.spread;
    s->least = o.least;
    s->stack_size = o.stack_size;
    su.serve = s;
    cio_addr first = {0};
    unsigned done = 0;
    r = 0;
    for (unsigned i = 0; i < rt->n && r == 0; i++) {
        rt_worker *w = &rt->workers[i];
        if (only ? w != only : !cio_runtime_loop(rt, i)) continue;
        su.err = -CIO_ESRCH; /* stays so if the worker is gone before it ran the setup */
        rt_control(w, listen_here, &su);
        r = su.err;
        if (r == 0 && done++ == 0) first = su.addr;
    }
    if (r < 0) {
        for (unsigned i = 0; i < rt->n; i++)
            if (cio_runtime_loop(rt, i)) rt_control(&rt->workers[i], unlisten_here, s);
        /* The acceptors close their listeners as they end: no listener
         * is left when the call returns. (The record stays with the
         * runtime all the same: it is freed with it.) */
        cio__mutex_lock(&rt->mu);
        while (atomic_load(&s->acceptors_live)) cio__cond_wait_ns(&rt->cv, &rt->mu, 5 * CIO_NS_PER_MS);
        cio__mutex_unlock(&rt->mu);
    }
    cio__mutex_lock(&rt->mu);
    list_push(&rt->serves, &s->node);
    cio__mutex_unlock(&rt->mu);
    if (r == 0 && bound) *bound = first;
    return r;
}

int cio_runtime_serve(cio_runtime *rt, const char *addr, const cio_serve_options *opts, cio_runtime_conn_fn fn,
                      void *arg, cio_addr *bound) {
    if (!rt) return -CIO_EINVAL;
    rt_enter(rt);
    /* Counted in `serving` under the mutex that the shutdown sets
     * `stopping` under: it waits for a serve under way, and none starts
     * after it began, so no setup posts to a worker that is closing. */
    cio__mutex_lock(&rt->mu);
    bool refused = atomic_load(&rt->stopping);
    if (!refused) rt->serving++;
    cio__mutex_unlock(&rt->mu);
    if (refused) return rt_leave(rt, -CIO_ECANCELED);
    int r = serve(rt, addr, opts, fn, arg, bound);
    cio__mutex_lock(&rt->mu);
    rt->serving--;
    cio__cond_broadcast(&rt->cv);
    cio__mutex_unlock(&rt->mu);
    return rt_leave(rt, r);
}
