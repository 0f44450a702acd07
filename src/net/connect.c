/*
 * src/net/connect.c - connecting by name: resolve "host:port", then try
 * the addresses happy-eyeballs style (RFC 8305): families alternating, the
 * next attempt starting beside a pending one every CIO_CONNECT_STAGGER_NS
 * (at once when one fails), the first connection winning.
 *
 * As for DNS (resolve.c), the work lives in a job of cio's own, so that a
 * cancel, a deadline or the caller's task going away ends the request at
 * once while attempts still in flight finish behind it: each attempt's one
 * op goes socket -> connect -> close, and the job is freed when the last
 * op completes. Sockets of attempts that lost (or finished after the end)
 * are closed through close ops, so the backend's handle state goes too.
 */
#include "net_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ADDRS 16
#define HOST_ROOM 256

enum { C_RESOLVING, C_CONNECTING, C_ENDING, C_DONE };
enum { A_IDLE, A_SOCKET, A_CONNECT, A_CLOSE, A_DONE };

struct cjob;

typedef struct attempt {
    cio_op op; /* socket, then connect, then close: one in flight at a time */
    cio_fd fd;
    struct cjob *job;
    int phase;
    unsigned idx;
} attempt;

typedef struct cjob {
    cio_loop *loop;
    cio_connect_req *req; /* NULL once nobody waits */
    void *resolve;        /* while resolving */
    cio_addr addrs[MAX_ADDRS];
    unsigned n, next, active;
    attempt att[MAX_ADDRS];
    cio_op stagger, timer, nop;
    bool stagger_live, timer_live;
    unsigned pending;
    int state;
    int32_t first_err, end_res;
    uint64_t deadline;
    uint16_t port;
    char host[HOST_ROOM];
} cjob;

static void maybe_free(cjob *j) {
    if (j->pending || j->state != C_DONE) return;
    free(j);
}

static int submit(cjob *j, cio_op *op, cio_cb cb, void *data) {
    op->cb = cb;
    op->data = data;
    int r = cio_submit(j->loop, op);
    if (r == 0) j->pending++;
    return r;
}

/* Stops everything still running: the lookup, the timers, the connects
 * (their sockets are closed as they complete). */
static void stop(cjob *j) {
    if (j->resolve) {
        cio__resolve_detach(j->resolve);
        j->resolve = NULL;
    }
    if (j->stagger_live) cio_cancel(j->loop, &j->stagger);
    if (j->timer_live) cio_cancel(j->loop, &j->timer);
    for (unsigned i = 0; i < j->next; i++)
        if (j->att[i].phase == A_CONNECT) cio_cancel(j->loop, &j->att[i].op);
}

static void deliver(cjob *j, int32_t res, attempt *won) {
    cio_connect_req *req = j->req;
    j->req = NULL;
    if (!req) return;
    req->internal_.job = NULL;
    req->res = res;
    req->fd = CIO_FD_INVALID;
    memset(&req->peer, 0, sizeof req->peer);
    if (won) {
        req->fd = won->fd;
        req->peer = j->addrs[won->idx];
    }
    req->cb(req->internal_.loop, req);
}

static void finish(cjob *j, int32_t res, attempt *won) {
    if (j->state == C_DONE || j->state == C_ENDING) return;
    j->state = C_DONE;
    stop(j);
    deliver(j, res, won);
}

static void on_attempt(cio_loop *loop, cio_op *op);
static void start_next(cjob *j);

static void close_attempt(cjob *j, attempt *a) {
    a->phase = A_CLOSE;
    cio_prep_close(&a->op, a->fd);
    if (submit(j, &a->op, on_attempt, a) < 0) {
        cio__net_close_now(j->loop, a->fd); /* the loop takes no op any more */
        a->phase = A_DONE;
    }
    a->fd = CIO_FD_INVALID;
}

/* Attempt `a` is over without a connection. */
static void failed(cjob *j, attempt *a, int32_t err) {
    (void)a;
    j->active--;
    if (!j->first_err) j->first_err = err;
    if (j->state != C_CONNECTING) return;
    if (j->next < j->n) {
        /* At once, and the stagger counts from now (its completion re-arms it). */
        if (j->stagger_live) cio_cancel(j->loop, &j->stagger);
        start_next(j);
    } else if (j->active == 0) {
        finish(j, j->first_err, NULL);
    }
}

static void start_next(cjob *j) {
    attempt *a = &j->att[j->next];
    a->job = j;
    a->idx = j->next++;
    a->fd = CIO_FD_INVALID;
    a->phase = A_SOCKET;
    j->active++;
    cio_prep_socket(&a->op, cio_addr_family(&j->addrs[a->idx]), SOCK_STREAM | CIO_SOCK_CLOEXEC, 0);
    int r = submit(j, &a->op, on_attempt, a);
    if (r < 0) {
        a->phase = A_DONE;
        failed(j, a, r);
    }
}

static void on_attempt(cio_loop *loop, cio_op *op) {
    (void)loop;
    attempt *a = op->data;
    cjob *j = a->job;
    j->pending--;
    switch (a->phase) {
    case A_SOCKET:
        if (op->res < 0) {
            a->phase = A_DONE;
            failed(j, a, op->res);
            break;
        }
        a->fd = cio_op_fd(op);
        if (j->state != C_CONNECTING) {
            j->active--;
            close_attempt(j, a);
            break;
        }
        a->phase = A_CONNECT;
        cio_prep_connect(&a->op, a->fd, &j->addrs[a->idx].u.sa, j->addrs[a->idx].len);
        {
            int r = submit(j, &a->op, on_attempt, a);
            if (r < 0) {
                close_attempt(j, a);
                failed(j, a, r);
            }
        }
        break;
    case A_CONNECT: {
        int32_t res = op->res; /* the op is re-prepared for the close below */
        if (res == 0 && j->state == C_CONNECTING) {
            j->active--;
            a->phase = A_DONE; /* its socket is the caller's now */
            finish(j, 0, a);
            a->fd = CIO_FD_INVALID;
            break;
        }
        close_attempt(j, a);
        if (res == 0)
            j->active--; /* connected after the end: closed */
        else
            failed(j, a, res);
        break;
    }
    default:
        a->phase = A_DONE; /* a close completed */
        break;
    }
    maybe_free(j);
}

static void arm_stagger(cjob *j);

static void on_stagger(cio_loop *loop, cio_op *op) {
    (void)loop;
    cjob *j = op->data;
    j->pending--;
    j->stagger_live = false;
    if (j->state == C_CONNECTING && j->next < j->n) {
        if (op->res == 0) start_next(j);
        arm_stagger(j);
    }
    maybe_free(j);
}

static void arm_stagger(cjob *j) {
    if (j->stagger_live || j->state != C_CONNECTING || j->next >= j->n) return;
    cio_prep_timeout(&j->stagger, CIO_CONNECT_STAGGER_NS, 0);
    j->stagger_live = submit(j, &j->stagger, on_stagger, j) == 0;
}

static void on_timer(cio_loop *loop, cio_op *op) {
    (void)loop;
    cjob *j = op->data;
    j->pending--;
    j->timer_live = false;
    if (op->res == 0) finish(j, -CIO_ETIMEDOUT, NULL);
    maybe_free(j);
}

static void on_nop(cio_loop *loop, cio_op *op) {
    (void)loop;
    cjob *j = op->data;
    j->pending--;
    if (j->state == C_ENDING) {
        j->state = C_DONE;
        deliver(j, j->end_res, NULL);
    }
    maybe_free(j);
}

/* The resolver's order, families alternating from the first one's. */
static void interleave(cjob *j) {
    cio_addr sorted[MAX_ADDRS];
    unsigned ia = 0, ib = 0, k = 0;
    int first = cio_addr_family(&j->addrs[0]);
    unsigned na = 0, nb = 0;
    unsigned a_idx[MAX_ADDRS], b_idx[MAX_ADDRS];
    for (unsigned i = 0; i < j->n; i++) {
        if (cio_addr_family(&j->addrs[i]) == first)
            a_idx[na++] = i;
        else
            b_idx[nb++] = i;
    }
    while (ia < na || ib < nb) {
        if (ia < na) sorted[k++] = j->addrs[a_idx[ia++]];
        if (ib < nb) sorted[k++] = j->addrs[b_idx[ib++]];
    }
    memcpy(j->addrs, sorted, k * sizeof sorted[0]);
}

static void on_resolved(void *ctx, int32_t res) {
    cjob *j = ctx;
    j->resolve = NULL;
    if (j->state != C_RESOLVING) return;
    if (res < 0) {
        finish(j, res, NULL);
    } else {
        j->n = (unsigned)res;
        interleave(j);
        j->state = C_CONNECTING;
        start_next(j);
        arm_stagger(j);
    }
    /* A closing loop refuses the attempts' ops: then the job ended here,
     * with nothing in flight, and no completion of its own will free it. */
    maybe_free(j);
}

int cio_tcp_connect_start(cio_loop *loop, cio_connect_req *req, const char *hostport, uint64_t deadline) {
    if (!loop || !req || !req->cb || !hostport) return -CIO_EINVAL;
    cjob *j = calloc(1, sizeof *j);
    if (!j) return -CIO_ENOMEM;
    int r = cio_addr_split(hostport, j->host, sizeof j->host, &j->port);
    if (r < 0) {
        free(j);
        return r == -CIO_ENAMETOOLONG ? -CIO_EINVAL : r;
    }
    j->loop = loop;
    j->req = req;
    j->deadline = deadline;
    j->state = C_RESOLVING;
    req->internal_.loop = loop;
    req->internal_.job = j;
    req->res = 0;
    req->fd = CIO_FD_INVALID;
    r = cio__resolve_begin(loop, j->host, j->port, 0, j->addrs, MAX_ADDRS, deadline, on_resolved, j, &j->resolve);
    if (r < 0) {
        req->internal_.job = NULL;
        free(j);
        return r;
    }
    if (deadline) {
        cio_prep_timeout(&j->timer, deadline, CIO_TIMEOUT_ABS);
        j->timer_live = submit(j, &j->timer, on_timer, j) == 0;
    }
    return 0;
}

int cio_tcp_connect_cancel(cio_connect_req *req) {
    if (!req || !req->internal_.job) return -CIO_ENOENT;
    cjob *j = req->internal_.job;
    if (j->state == C_ENDING || j->state == C_DONE) return -CIO_EALREADY;
    j->state = C_ENDING;
    j->end_res = -CIO_ECANCELED;
    stop(j);
    cio_prep_nop(&j->nop);
    if (submit(j, &j->nop, on_nop, j) < 0) {
        j->state = C_DONE;
        deliver(j, -CIO_ECANCELED, NULL);
        maybe_free(j);
    }
    return 0;
}

/* Nobody waits any more (the task went): end quietly. */
static void detach(cjob *j) {
    j->req = NULL;
    if (j->state != C_DONE) {
        j->state = C_DONE;
        stop(j);
    }
    maybe_free(j);
}

typedef struct task_wait {
    cio_event ev;
    bool done;
} task_wait;

static void task_done(cio_loop *loop, cio_connect_req *req) {
    (void)loop;
    task_wait *w = req->data;
    w->done = true;
    cio_event_set(&w->ev);
}

int cio_tcp_connect(const char *hostport, uint64_t deadline, cio_fd *out, cio_addr *peer) {
    cio_loop *loop = cio_task_loop();
    if (!out || !hostport) return -CIO_EINVAL;
    if (!loop) return -CIO_EPERM;
    if (cio_task_cancelled()) return -CIO_ECANCELED;
    task_wait w = {.done = false};
    cio_event_init(&w.ev, false);
    cio_connect_req req;
    memset(&req, 0, sizeof req);
    req.cb = task_done;
    req.data = &w;
    int r = cio_tcp_connect_start(loop, &req, hostport, deadline);
    if (r < 0) return r;
    r = cio_event_wait(&w.ev);
    if (!w.done) {
        detach(req.internal_.job);
        return r < 0 ? r : -CIO_ECANCELED;
    }
    if (req.res < 0) return req.res;
    *out = req.fd;
    if (peer) *peer = req.peer;
    return 0;
}
