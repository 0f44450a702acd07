/*
 * src/net/resolve.c - host names to addresses, off the loop's thread.
 *
 * getaddrinfo() blocks, and nothing can interrupt it, so it runs as a
 * CIO_OP_CALL on the blocking pool. A request must still end at once when
 * it is cancelled or its deadline passes, while the pool thread goes on:
 * so everything the pool touches lives in a record of cio's own (a job),
 * not in the caller's request, and the job lives until its last op has
 * completed. The caller's `out` is written only on the loop's thread, from
 * the call's completion, and only while the caller still waits for it.
 *
 * A job's ops: `call` (the lookup), `timer` (the deadline, if any) and
 * `nop` (delivers an answer known at once: a literal, "localhost", a
 * cancel). Each completes exactly once; `pending` counts those in flight.
 */
#include "net_internal.h"

#include <stdlib.h>
#include <errno.h>
#include <string.h>

#if defined(_WIN32)
#include <ws2tcpip.h>
#else
#include <netdb.h>
#endif

enum { R_RUNNING, R_ENDING, R_DONE };

#define HOST_MAX 253 /* the longest DNS name, without its trailing dot */

typedef struct rjob {
    cio_op call, timer, nop;
    cio_loop *loop;
    unsigned pending;
    int state;
    bool call_live, timer_live;
    bool cancelled;
    int32_t end_res; /* R_ENDING: what the nop delivers */
    cio__resolved_fn done;
    void *ctx;
    cio_addr *out;
    unsigned max;
    uint16_t port;
    int family;
    /* Written by the pool thread, read on the loop's once `call` completed. */
    int32_t err;
    void *list;
    char host[HOST_MAX + 2];
} rjob;

/* ---- the lookup, on a pool thread ---- */

#if defined(_WIN32)
static int32_t map_gai(int e) {
    switch (e) {
    case WSAHOST_NOT_FOUND:
    case WSANO_DATA:
        return -CIO_ENOTFOUND;
    case WSATRY_AGAIN:
        return -CIO_EAGAIN;
    case WSA_NOT_ENOUGH_MEMORY:
        return -CIO_ENOMEM;
    case WSAEAFNOSUPPORT:
        return -CIO_EAFNOSUPPORT;
    default:
        return -CIO_EIO;
    }
}

static int32_t lookup(void *arg) {
    rjob *j = arg;
    wchar_t whost[HOST_MAX + 2];
    if (!MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, j->host, -1, whost, (int)(sizeof whost / sizeof *whost)))
        return j->err = -CIO_EINVAL;
    ADDRINFOW hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = j->family;
    hints.ai_socktype = SOCK_STREAM; /* one entry per address, not one per socket type */
    int e = GetAddrInfoW(whost, NULL, &hints, &res);
    if (e) return j->err = map_gai(e);
    j->list = res;
    return j->err = 0;
}

static void list_free(void *list) { FreeAddrInfoW((ADDRINFOW *)list); }
#define AI_TYPE ADDRINFOW
#else
static int32_t map_gai(int e) {
    switch (e) {
    case EAI_NONAME:
#if defined(EAI_NODATA) && EAI_NODATA != EAI_NONAME
    case EAI_NODATA:
#endif
#if defined(EAI_ADDRFAMILY)
    case EAI_ADDRFAMILY:
#endif
        return -CIO_ENOTFOUND;
    case EAI_AGAIN:
        return -CIO_EAGAIN;
    case EAI_MEMORY:
        return -CIO_ENOMEM;
    case EAI_FAMILY:
        return -CIO_EAFNOSUPPORT;
    case EAI_SYSTEM:
        return errno ? -errno : -CIO_EIO;
    default:
        return -CIO_EIO;
    }
}

static int32_t lookup(void *arg) {
    rjob *j = arg;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = j->family;
    hints.ai_socktype = SOCK_STREAM; /* one entry per address, not one per socket type */
    int e = getaddrinfo(j->host, NULL, &hints, &res);
    if (e) return j->err = map_gai(e);
    j->list = res;
    return j->err = 0;
}

static void list_free(void *list) { freeaddrinfo((struct addrinfo *)list); }
#define AI_TYPE struct addrinfo
#endif

/* ---- on the loop's thread ---- */

static void add(rjob *j, unsigned *n, const cio_addr *a) {
    if (*n >= j->max) return;
    for (unsigned i = 0; i < *n; i++)
        if (cio_addr_equal(&j->out[i], a)) return;
    j->out[(*n)++] = *a;
}

static int32_t take_list(rjob *j) {
    unsigned n = 0;
    for (const AI_TYPE *ai = j->list; ai; ai = ai->ai_next) {
        cio_addr a;
        if (!ai->ai_addr || (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)) continue;
        if (cio_addr_from(&a, ai->ai_addr, (cio_socklen)ai->ai_addrlen) < 0) continue;
        cio_addr_set_port(&a, j->port);
        add(j, &n, &a);
    }
    return n ? (int32_t)n : -CIO_ENOTFOUND;
}

static void maybe_free(rjob *j) {
    if (j->pending || j->state != R_DONE) return;
    if (j->list) list_free(j->list);
    free(j);
}

static void deliver(rjob *j, int32_t res) {
    cio__resolved_fn fn = j->done;
    j->state = R_DONE;
    j->done = NULL;
    if (j->call_live) cio_cancel(j->loop, &j->call); /* takes it back if no thread has it yet */
    if (j->timer_live) cio_cancel(j->loop, &j->timer);
    if (fn) fn(j->ctx, res);
}

static void on_call(cio_loop *loop, cio_op *op) {
    (void)loop;
    rjob *j = op->data;
    j->pending--;
    j->call_live = false;
    if (j->state == R_RUNNING) deliver(j, j->list ? take_list(j) : (op->res < 0 ? op->res : -CIO_ENOTFOUND));
    maybe_free(j);
}

static void on_timer(cio_loop *loop, cio_op *op) {
    (void)loop;
    rjob *j = op->data;
    j->pending--;
    j->timer_live = false;
    if (op->res == 0 && j->state == R_RUNNING) deliver(j, -CIO_ETIMEDOUT);
    maybe_free(j);
}

static void on_nop(cio_loop *loop, cio_op *op) {
    (void)loop;
    rjob *j = op->data;
    j->pending--;
    if (j->state == R_ENDING) deliver(j, j->end_res);
    maybe_free(j);
}

static int submit(rjob *j, cio_op *op, cio_cb cb) {
    op->cb = cb;
    op->data = j;
    int r = cio_submit(j->loop, op);
    if (r == 0) j->pending++;
    return r;
}

/* Ends the job with `res`, delivered by the nop at the next turn. */
static int end_with(rjob *j, int32_t res) {
    if (j->state == R_DONE || j->cancelled) return -CIO_EALREADY;
    j->cancelled = true;
    if (j->state == R_ENDING) { /* an answer known at once waits for its turn: the cancel wins */
        j->end_res = res;
        return 0;
    }
    j->state = R_ENDING;
    j->end_res = res;
    if (j->call_live) cio_cancel(j->loop, &j->call);
    if (j->timer_live) cio_cancel(j->loop, &j->timer);
    cio_prep_nop(&j->nop);
    int r = submit(j, &j->nop, on_nop);
    if (r < 0) { /* the loop refuses ops (closing): now rather than never */
        deliver(j, res);
        maybe_free(j);
    }
    return 0;
}

static bool is_localhost(const char *h) {
    static const char lh[] = "localhost";
    for (size_t i = 0; i < sizeof lh - 1; i++)
        if ((h[i] | 0x20) != lh[i]) return false;
    return h[sizeof lh - 1] == 0 || (h[sizeof lh - 1] == '.' && h[sizeof lh] == 0);
}

/* An answer without the pool: a literal address or "localhost". 0 when
 * the host is neither, else the count or -CIO_ENOTFOUND. */
static int32_t answer_now(rjob *j) {
    unsigned n = 0;
    cio_addr a;
    if (is_localhost(j->host)) {
        if (j->family != AF_INET6 && cio_addr_parse(&a, "127.0.0.1:0") == 0) {
            cio_addr_set_port(&a, j->port);
            add(j, &n, &a);
        }
        if (j->family != AF_INET && cio_addr_parse(&a, "[::1]:0") == 0) {
            cio_addr_set_port(&a, j->port);
            add(j, &n, &a);
        }
        return (int32_t)n;
    }
    char text[HOST_MAX + 16];
    bool v6 = strchr(j->host, ':') != NULL;
    if (strlen(j->host) > 64) return 0;
    strcpy(text, v6 ? "[" : "");
    strcat(text, j->host);
    strcat(text, v6 ? "]:0" : ":0");
    if (cio_addr_parse(&a, text) < 0) return 0;
    if (j->family && j->family != cio_addr_family(&a)) return -CIO_ENOTFOUND;
    cio_addr_set_port(&a, j->port);
    add(j, &n, &a);
    return (int32_t)n;
}

int cio__resolve_begin(cio_loop *loop, const char *host, uint16_t port, int family, cio_addr *out, unsigned max,
                       uint64_t deadline, cio__resolved_fn done, void *ctx, void **handle) {
    if (!loop || !host || !*host || !out || !max || !done || !handle) return -CIO_EINVAL;
    if (family != 0 && family != AF_INET && family != AF_INET6) return -CIO_EAFNOSUPPORT;
    size_t hl = strlen(host);
    if (hl > HOST_MAX + (host[hl - 1] == '.')) return -CIO_EINVAL;
    rjob *j = calloc(1, sizeof *j);
    if (!j) return -CIO_ENOMEM;
    j->loop = loop;
    j->done = done;
    j->ctx = ctx;
    j->out = out;
    j->max = max;
    j->port = port;
    j->family = family;
    memcpy(j->host, host, hl + 1);
    int32_t now = answer_now(j);
    int r;
    if (now != 0) {
        j->state = R_ENDING;
        j->end_res = now;
        cio_prep_nop(&j->nop);
        r = submit(j, &j->nop, on_nop);
    } else {
        cio_prep_call(&j->call, lookup, j);
        r = submit(j, &j->call, on_call);
        j->call_live = r == 0;
        if (r == 0 && deadline) {
            cio_prep_timeout(&j->timer, deadline, CIO_TIMEOUT_ABS);
            j->timer_live = submit(j, &j->timer, on_timer) == 0;
        }
    }
    if (r < 0) {
        free(j);
        return r;
    }
    *handle = j;
    return 0;
}

void cio__resolve_detach(void *handle) {
    rjob *j = handle;
    if (!j || j->state == R_DONE) return;
    j->done = NULL;
    deliver(j, 0); /* to no one: cancels its ops, and the last completion frees it */
    maybe_free(j);
}

int cio__resolve_end(void *handle, int32_t res) { return end_with(handle, res); }

/* ---- the public request and the task call ---- */

static void req_done(void *ctx, int32_t res) {
    cio_resolve_req *req = ctx;
    req->internal_.job = NULL;
    req->res = res;
    req->cb(req->internal_.loop, req);
}

int cio_resolve_start(cio_loop *loop, cio_resolve_req *req, const char *host, uint16_t port, int family,
                      cio_addr *out, unsigned max, uint64_t deadline) {
    if (!req || !req->cb) return -CIO_EINVAL;
    req->internal_.loop = loop;
    req->internal_.job = NULL;
    req->res = 0;
    return cio__resolve_begin(loop, host, port, family, out, max, deadline, req_done, req, &req->internal_.job);
}

int cio_resolve_cancel(cio_resolve_req *req) {
    if (!req || !req->internal_.job) return -CIO_ENOENT;
    return end_with(req->internal_.job, -CIO_ECANCELED);
}

typedef struct task_wait {
    cio_event ev;
    int32_t res;
    bool done;
} task_wait;

static void task_done(cio_loop *loop, cio_resolve_req *req) {
    (void)loop;
    task_wait *w = req->data;
    w->res = req->res;
    w->done = true;
    cio_event_set(&w->ev);
}

int32_t cio_resolve(const char *host, uint16_t port, int family, cio_addr *out, unsigned max, uint64_t deadline) {
    cio_loop *loop = cio_task_loop();
    if (!loop) return -CIO_EPERM;
    if (cio_task_cancelled()) return -CIO_ECANCELED;
    task_wait w = {.res = 0, .done = false};
    cio_event_init(&w.ev, false);
    cio_resolve_req req;
    memset(&req, 0, sizeof req);
    req.cb = task_done;
    req.data = &w;
    int r = cio_resolve_start(loop, &req, host, port, family, out, max, deadline);
    if (r < 0) return r;
    r = cio_event_wait(&w.ev);
    if (w.done) return w.res;
    /* Cancelled, or the task's deadline scope passed: the job goes on alone. */
    cio__resolve_detach(req.internal_.job);
    return r < 0 ? r : -CIO_ECANCELED;
}
