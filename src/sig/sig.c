/*
 * src/sig/sig.c - signal watchers (cio/signal.h): the part that is the
 * same on every platform and backend.
 *
 * Three levels. The process: a fixed array of published slots, one per
 * loop that watches signals on a real backend, which the handler walks
 * (sig_posix.c, sig_win.c); and per signal the number of such loops, so
 * that the handler is installed with the first and the old disposition
 * comes back with the last. The loop: a record (sig_loop) with its slot,
 * its watchers, how many of them watch each signal, how many wait, and
 * its wake channel. The watcher: the caller's cio_signal, with the counts
 * it has not taken.
 *
 * A delivery goes: handler (or signalfd reader, or cio_signal_raise) ->
 * the slot's atomic count -> collect() on the loop's thread, when the
 * channel's read completes, a nop kicked by raise or start completes, or
 * a wait or take looks -> every watcher of the loop that watches it ->
 * a waiting task's event, or the callback (report()).
 *
 * Why a slot is never freed under a running handler: unpublishing clears
 * the pointer, then waits until no handler is inside cio__sig_deliver().
 * With sequentially consistent atomics a handler that entered after the
 * wait's check sees the cleared pointer; one that entered before is
 * waited for. Handlers do nothing that blocks, so the wait is short.
 */
#include <stdlib.h>
#include <string.h>

#include "cio/mock.h"
#include "cio/task.h"

#include "../core/queue.h"
#include "../core/thread.h"
#include "sig_internal.h"

#define SIG_MAGIC 0x5349474eu /* "SIGN" */

/* Loops on real backends that may watch signals at the same time. */
#define SIG_SLOTS 1024

typedef struct sig_loop {
    sig_slot slot;
    cio_loop *loop;
    lnode node;    /* in g_records */
    list watchers; /* cio_signal.internal_.node */
    uint32_t nwatch[CIO_SIGNAL_MAX];
    unsigned nwaiting; /* blocked tasks and started callbacks */
    int slot_index;    /* in g_slots, or -1 */
    bool mock;
    sig_wake *wake;
    cio_op nop; /* kicked: collect and report at the next turn */
    bool nop_inflight;
    cio_op hook; /* cio_loop_at_close */
} sig_loop;

static _Atomic(sig_slot *) g_slots[SIG_SLOTS];
static _Atomic unsigned g_nslots; /* slots [0, g_nslots) may be in use */
static _Atomic int g_in_deliver;  /* handlers inside cio__sig_deliver() */

/* Guards g_records, the publishing of slots and g_proc_refs. */
static cio__mutex g_mu = CIO__MUTEX_INIT;
static list g_records;
static unsigned g_proc_refs[CIO_SIGNAL_MAX]; /* loops on real backends watching it */

static inline uint64_t bit_of(int signo) { return 1ull << (signo & 63); }
static inline bool bit_get(const uint64_t m[2], int signo) { return (m[signo >> 6] & bit_of(signo)) != 0; }
static inline void bit_set(uint64_t m[2], int signo) { m[signo >> 6] |= bit_of(signo); }
static inline void bit_clear(uint64_t m[2], int signo) { m[signo >> 6] &= ~bit_of(signo); }
static inline bool in_range(int signo) { return signo > 0 && signo < CIO_SIGNAL_MAX; }

static inline uint32_t sat_add(uint32_t a, uint32_t b) { return a > UINT32_MAX - b ? UINT32_MAX : a + b; }

#define W(s) ((s)->internal_)
#define WATCHER_OF(n) LIST_ENTRY(n, cio_signal, internal_.node)

/* ---- the handler's side ---- */

unsigned cio__sig_deliver(int signo) {
    if (!in_range(signo)) return 0;
    atomic_fetch_add(&g_in_deliver, 1);
    unsigned n = atomic_load(&g_nslots), hits = 0;
    for (unsigned i = 0; i < n; i++) {
        sig_slot *s = atomic_load(&g_slots[i]);
        if (!s || !(atomic_load(&s->mask[signo >> 6]) & bit_of(signo))) continue;
        atomic_fetch_add(&s->counts[signo], 1);
        cio__sig_os_poke(atomic_load(&s->wake));
        hits++;
    }
    atomic_fetch_sub(&g_in_deliver, 1);
    return hits;
}

static int publish(sig_loop *ls) {
    cio__mutex_lock(&g_mu);
    int idx = -1;
    for (int i = 0; i < SIG_SLOTS; i++)
        if (!atomic_load(&g_slots[i])) {
            idx = i;
            break;
        }
    if (idx >= 0) {
        atomic_store(&g_slots[idx], &ls->slot);
        if ((unsigned)idx >= atomic_load(&g_nslots)) atomic_store(&g_nslots, (unsigned)idx + 1);
        ls->slot_index = idx;
    }
    cio__mutex_unlock(&g_mu);
    return idx >= 0 ? 0 : -CIO_ENOMEM;
}

static void unpublish(sig_loop *ls) {
    if (ls->slot_index < 0) return;
    cio__mutex_lock(&g_mu);
    sig_slot *expect = &ls->slot;
    /* Not ours any more only in a forked child, which forgot the slots. */
    atomic_compare_exchange_strong(&g_slots[ls->slot_index], &expect, NULL);
    cio__mutex_unlock(&g_mu);
    ls->slot_index = -1;
    while (atomic_load(&g_in_deliver)) cio__sig_os_yield();
}

/* ---- records of loops ---- */

#if !defined(_WIN32)
/* A forked child has copies of the parent's records and slots, whose
 * loops it may not use: forget them, so that the child's signals reach
 * nothing of the parent's (the pipes are shared with it) and a loop the
 * child sets up at the same address gets a record of its own. A handler
 * that was running on another thread at the fork never finishes here. */
static void forget_in_child(void) {
    pthread_mutex_init(&g_mu, NULL);
    g_records = (list){NULL, NULL};
    for (int i = 0; i < SIG_SLOTS; i++) atomic_store(&g_slots[i], NULL);
    atomic_store(&g_nslots, 0);
    atomic_store(&g_in_deliver, 0);
}
static void lock_for_fork(void) { cio__mutex_lock(&g_mu); }
static void unlock_after_fork(void) { cio__mutex_unlock(&g_mu); }
static void register_atfork(void) { pthread_atfork(lock_for_fork, unlock_after_fork, forget_in_child); }
static cio__once g_atfork_once = CIO__ONCE_INIT;
#endif

static sig_loop *find_record(cio_loop *loop) {
    sig_loop *ls = NULL;
    cio__mutex_lock(&g_mu);
    for (lnode *n = g_records.head; n; n = n->next)
        if (LIST_ENTRY(n, sig_loop, node)->loop == loop) {
            ls = LIST_ENTRY(n, sig_loop, node);
            break;
        }
    cio__mutex_unlock(&g_mu);
    return ls;
}

static void forget_record(sig_loop *ls) {
    cio__mutex_lock(&g_mu);
    for (lnode *n = g_records.head; n; n = n->next)
        if (n == &ls->node) {
            list_remove(&g_records, n);
            break;
        }
    cio__mutex_unlock(&g_mu);
}

static void on_loop_close(cio_loop *loop, cio_op *hook);

static int loop_record(cio_loop *loop, sig_loop **out) {
#if !defined(_WIN32)
    cio__once_run(&g_atfork_once, register_atfork);
#endif
    sig_loop *ls = find_record(loop);
    if (ls) {
        *out = ls;
        return 0;
    }
    ls = calloc(1, sizeof *ls);
    if (!ls) return -CIO_ENOMEM;
    ls->loop = loop;
    ls->slot_index = -1;
    cio_prep_nop(&ls->hook);
    ls->hook.cb = on_loop_close;
    ls->hook.data = ls;
    int e = cio_loop_at_close(loop, &ls->hook); /* also checks the loop */
    if (e < 0) {
        free(ls);
        return e;
    }
    ls->mock = cio_loop_backend(loop) == CIO_BACKEND_MOCK;
    cio__mutex_lock(&g_mu);
    list_push(&g_records, &ls->node);
    cio__mutex_unlock(&g_mu);
    *out = ls;
    return 0;
}

/* ---- the wake channel ---- */

static void release_wake(sig_wake *w) {
    if (!w->mock) {
        cio__sig_os_close_now(w->rfd);
        cio__sig_os_close_now(w->wfd);
        cio__sig_os_release(w);
    }
    /* On the mock a handle not closed by an op is the mock's leak report. */
    free(w);
}

bool cio__sig_wake_op_done(sig_wake *w) {
    w->ops--;
    if (w->ls) return true;
    if (!w->ops) release_wake(w);
    return false;
}

static void on_read(cio_loop *loop, cio_op *op);
static void on_mock_close(cio_loop *loop, cio_op *op);

static int ensure_wake(sig_loop *ls) {
    if (ls->wake) return 0;
    sig_wake *w = calloc(1, sizeof *w);
    if (!w) return -CIO_ENOMEM;
    w->ls = ls;
    w->mock = ls->mock;
    w->rfd = w->wfd = CIO_FD_INVALID;
    cio__sig_os_init(w);
    int e;
    if (w->mock) {
        cio_fd p[2];
        e = cio_mock_pipe(ls->loop, p);
        if (e == 0) w->rfd = p[0], w->wfd = p[1];
    } else {
        e = cio__sig_os_wake_open(w);
        if (e == 0) {
            atomic_store(&ls->slot.wake, (uintptr_t)w->wfd);
            if ((e = publish(ls)) < 0) {
                cio__sig_os_close_now(w->rfd);
                cio__sig_os_close_now(w->wfd);
            }
        }
    }
    if (e < 0) {
        free(w);
        return e;
    }
    ls->wake = w;
    return 0;
}

static void mock_close(cio_loop *loop, sig_wake *w, cio_op *op, cio_fd fd) {
    if (fd == CIO_FD_INVALID) return;
    cio_prep_close(op, fd);
    op->cb = on_mock_close;
    op->data = w;
    if (cio_submit(loop, op) == 0) w->ops++;
}

/* The last watcher of the loop is gone: no slot, no channel. A new
 * watcher makes a new one. */
static void teardown_wake(sig_loop *ls) {
    sig_wake *w = ls->wake;
    if (!w) return;
    unpublish(ls);
    atomic_store(&ls->slot.wake, (uintptr_t)CIO_FD_INVALID);
    if (w->mock) {
        /* A close ends the read waiting on its handle first. */
        mock_close(ls->loop, w, &w->close_r, w->rfd);
        mock_close(ls->loop, w, &w->close_w, w->wfd);
    } else {
        cio__sig_os_close_now(w->wfd); /* no op uses it; no handler any more */
        w->wfd = CIO_FD_INVALID;
        if (w->rd_inflight) cio_cancel(ls->loop, &w->rd);
        cio__sig_os_teardown(w, ls->loop);
    }
    ls->wake = NULL;
    w->ls = NULL;
    if (!w->ops) release_wake(w);
}

/* Keeps the channel's ops in flight while someone waits. */
static int arm(sig_loop *ls) {
    sig_wake *w = ls->wake;
    if (!w || !ls->nwaiting || cio_loop_is_closing(ls->loop)) return 0;
    if (!w->rd_inflight) {
        if (w->mock)
            cio_prep_read(&w->rd, w->rfd, w->rbuf, sizeof w->rbuf, CIO_OFFSET_CURRENT);
        else
            cio__sig_os_prep_read(w);
        w->rd.cb = on_read;
        w->rd.data = w;
        int e = cio_submit(ls->loop, &w->rd);
        if (e < 0) return e;
        w->rd_inflight = true;
        w->ops++;
    }
    return w->mock ? 0 : cio__sig_os_arm(w, ls->loop);
}

static void disarm(sig_loop *ls) {
    sig_wake *w = ls->wake;
    if (!w || ls->nwaiting) return;
    if (w->rd_inflight) cio_cancel(ls->loop, &w->rd);
    if (!w->mock) cio__sig_os_disarm(w, ls->loop);
}

/* ---- collecting and reporting ---- */

static void deliver_local(sig_loop *ls, int signo, uint32_t n) {
    for (lnode *nd = ls->watchers.head; nd; nd = nd->next) {
        cio_signal *s = WATCHER_OF(nd);
        if (!bit_get(W(s).watched, signo)) continue;
        W(s).counts[signo] = sat_add(W(s).counts[signo], n);
        bit_set(W(s).pending, signo);
        if (W(s).task_waiting) cio_event_set(&W(s).ev);
    }
}

static void collect(sig_loop *ls) {
    for (int i = 0; i < 2; i++) {
        uint64_t m = atomic_load(&ls->slot.mask[i]);
        while (m) {
            int signo = i * 64 + __builtin_ctzll(m);
            m &= m - 1;
            if (!in_range(signo)) continue;
            uint32_t n = atomic_exchange(&ls->slot.counts[signo], 0);
            if (n) deliver_local(ls, signo, n);
        }
    }
}

static int take(cio_signal *s, uint32_t *count) {
    for (int i = 0; i < 2; i++) {
        if (!W(s).pending[i]) continue;
        int signo = i * 64 + __builtin_ctzll(W(s).pending[i]);
        uint32_t n = W(s).counts[signo];
        W(s).counts[signo] = 0;
        bit_clear(W(s).pending, signo);
        if (count) *count = n;
        return signo;
    }
    return -CIO_EAGAIN;
}

static bool has_pending(const cio_signal *s) { return (W(s).pending[0] | W(s).pending[1]) != 0; }

/* Runs the callbacks of started watchers with something to report. A
 * callback may change any watcher of the loop, so the search starts over
 * after each one; each call takes what it reports, so this ends. */
static void report(sig_loop *ls) {
    for (;;) {
        cio_signal *hit = NULL;
        for (lnode *nd = ls->watchers.head; nd && !hit; nd = nd->next)
            if (W(WATCHER_OF(nd)).cb && has_pending(WATCHER_OF(nd))) hit = WATCHER_OF(nd);
        if (!hit) return;
        uint32_t n = 0;
        int signo = take(hit, &n);
        W(hit).cb(hit, signo, n);
    }
}

/* The channel failed: waiting tasks get the error, callbacks get it once
 * and are stopped. */
static void fail_waiters(sig_loop *ls, int err) {
    for (lnode *nd = ls->watchers.head; nd; nd = nd->next)
        if (W(WATCHER_OF(nd)).task_waiting) {
            W(WATCHER_OF(nd)).err = err;
            cio_event_set(&W(WATCHER_OF(nd)).ev);
        }
    for (;;) {
        cio_signal *hit = NULL;
        for (lnode *nd = ls->watchers.head; nd && !hit; nd = nd->next)
            if (W(WATCHER_OF(nd)).cb) hit = WATCHER_OF(nd);
        if (!hit) return;
        cio_signal_cb cb = W(hit).cb;
        W(hit).cb = NULL;
        ls->nwaiting--;
        cb(hit, err, 0);
    }
}

void cio__sig_wake_collect(sig_wake *w) {
    sig_loop *ls = w->ls;
    if (!ls || cio_loop_is_closing(ls->loop)) return;
    collect(ls);
    report(ls);
    int e = arm(ls);
    if (e < 0) fail_waiters(ls, e);
}

static void on_read(cio_loop *loop, cio_op *op) {
    (void)loop;
    sig_wake *w = op->data;
    w->rd_inflight = false;
    if (!cio__sig_wake_op_done(w)) return;
    sig_loop *ls = w->ls;
    if (cio_loop_is_closing(ls->loop)) return;
    int32_t res = op->res;
    if (res == 0) res = -CIO_EIO; /* the write end is ours: it cannot have gone */
    if (res == -CIO_EINTR || res == -CIO_EAGAIN) res = -CIO_ECANCELED; /* passing: read again */
    if (res < 0 && res != -CIO_ECANCELED) {
        collect(ls); /* what came before the failure is still reported */
        report(ls);
        fail_waiters(ls, res);
        return;
    }
    cio__sig_wake_collect(w);
}

static void on_mock_close(cio_loop *loop, cio_op *op) {
    (void)loop;
    sig_wake *w = op->data;
    if (op->res != -CIO_ECANCELED) {
        if (op == &w->close_r) w->rfd = CIO_FD_INVALID;
        if (op == &w->close_w) w->wfd = CIO_FD_INVALID;
    }
    cio__sig_wake_op_done(w);
}

static void on_nop(cio_loop *loop, cio_op *op) {
    sig_loop *ls = op->data;
    ls->nop_inflight = false;
    if (cio_loop_is_closing(loop)) return;
    collect(ls);
    report(ls);
}

/* Collect and report at the next turn. */
static int kick(sig_loop *ls) {
    if (ls->nop_inflight) return 0;
    cio_prep_nop(&ls->nop);
    ls->nop.cb = on_nop;
    ls->nop.data = ls;
    int e = cio_submit(ls->loop, &ls->nop);
    if (e == 0) ls->nop_inflight = true;
    return e;
}

/* ---- the loop's close ---- */

static void on_loop_close(cio_loop *loop, cio_op *hook) {
    (void)loop;
    sig_loop *ls = hook->data;
    int res = hook->res;
    /* The watchers are closed; a task still blocked in a wait finds its
     * record gone when it resumes, and touches nothing of it. */
    lnode *nd;
    while ((nd = list_pop(&ls->watchers))) {
        cio_signal *s = WATCHER_OF(nd);
        W(s).ls = NULL;
        W(s).magic = 0;
        W(s).cb = NULL;
    }
    if (res == 0 && !ls->mock) {
        cio__mutex_lock(&g_mu);
        for (int signo = 1; signo < CIO_SIGNAL_MAX; signo++)
            if (ls->nwatch[signo] && --g_proc_refs[signo] == 0) cio__sig_os_unwatch(signo);
        cio__mutex_unlock(&g_mu);
    }
    unpublish(ls);
    forget_record(ls);
    sig_wake *w = ls->wake;
    if (w) {
        w->ls = NULL;
        /* -CIO_EIO: ops stuck in the kernel may still write into it. In a
         * forked child (-CIO_EPERM) the ops in flight are the parent's:
         * the child's copies of the handles and memory are its own. */
        if (res == -CIO_EPERM || (res != -CIO_EIO && !w->ops)) release_wake(w);
    }
    free(ls);
}

/* ---- the API ---- */

static sig_loop *live(const cio_signal *s) {
    return s && W(s).magic == SIG_MAGIC ? (sig_loop *)W(s).ls : NULL;
}

int cio_signal_init(cio_signal *s, cio_loop *loop) {
    if (!s || !loop) return -CIO_EINVAL;
    sig_loop *ls;
    int e = loop_record(loop, &ls);
    if (e < 0) return e;
    memset(&s->internal_, 0, sizeof s->internal_);
    W(s).loop = loop;
    W(s).ls = ls;
    cio_event_init(&W(s).ev, false);
    W(s).magic = SIG_MAGIC;
    list_push(&ls->watchers, &W(s).node);
    return 0;
}

static void proc_unwatch(int signo) {
    cio__mutex_lock(&g_mu);
    if (--g_proc_refs[signo] == 0) cio__sig_os_unwatch(signo);
    cio__mutex_unlock(&g_mu);
}

int cio_signal_add(cio_signal *s, int signo) {
    sig_loop *ls = live(s);
    if (!ls || !in_range(signo) || !cio__sig_os_valid(signo)) return -CIO_EINVAL;
    if (bit_get(W(s).watched, signo)) return 0;
    int e = ensure_wake(ls);
    if (e < 0) return e;
    if (ls->nwatch[signo] == 0) {
        /* Counted from the moment the handler may run. */
        atomic_fetch_or(&ls->slot.mask[signo >> 6], bit_of(signo));
        if (!ls->mock) {
            cio__mutex_lock(&g_mu);
            if (g_proc_refs[signo]++ == 0 && (e = cio__sig_os_watch(signo)) < 0) g_proc_refs[signo]--;
            cio__mutex_unlock(&g_mu);
            if (e == 0 && (e = cio__sig_os_add(ls->wake, signo)) < 0) proc_unwatch(signo);
            if (e < 0) {
                atomic_fetch_and(&ls->slot.mask[signo >> 6], ~bit_of(signo));
                return e;
            }
        }
    }
    ls->nwatch[signo]++;
    bit_set(W(s).watched, signo);
    e = arm(ls); /* another watcher may wait: the signalfd joins in */
    return e < 0 ? e : 0;
}

int cio_signal_remove(cio_signal *s, int signo) {
    sig_loop *ls = live(s);
    if (!ls || !in_range(signo)) return -CIO_EINVAL;
    if (!bit_get(W(s).watched, signo)) return -CIO_ENOENT;
    bit_clear(W(s).watched, signo);
    bit_clear(W(s).pending, signo);
    W(s).counts[signo] = 0;
    if (--ls->nwatch[signo] == 0) {
        if (!ls->mock) cio__sig_os_remove(ls->wake, signo);
        atomic_fetch_and(&ls->slot.mask[signo >> 6], ~bit_of(signo));
        atomic_store(&ls->slot.counts[signo], 0);
        if (!ls->mock) proc_unwatch(signo);
    }
    return 0;
}

int cio_signal_take(cio_signal *s, uint32_t *count) {
    sig_loop *ls = live(s);
    if (!ls) return -CIO_EINVAL;
    collect(ls);
    return take(s, count);
}

int cio_signal_wait(cio_signal *s, uint64_t deadline, uint32_t *count) {
    if (!cio_task_current()) return -CIO_EPERM;
    sig_loop *ls = live(s);
    if (!ls || W(s).loop != cio_task_loop() || !(W(s).watched[0] | W(s).watched[1])) return -CIO_EINVAL;
    if (W(s).task_waiting || W(s).cb) return -CIO_EBUSY;
    if (cio_task_cancelled()) return -CIO_ECANCELED;
    collect(ls);
    int r = take(s, count);
    if (r > 0) return r;
    cio_event_reset(&W(s).ev);
    W(s).err = 0;
    W(s).task_waiting = true;
    ls->nwaiting++;
    if ((r = arm(ls)) < 0) {
        W(s).task_waiting = false;
        ls->nwaiting--;
        disarm(ls);
        return r;
    }
    for (;;) {
        r = cio_event_wait_until(&W(s).ev, deadline);
        if (!W(s).ls) return -CIO_ECANCELED; /* the loop closed under the wait */
        if (r < 0) break;
        cio_event_reset(&W(s).ev);
        if ((r = take(s, count)) > 0) break;
        if (W(s).err) {
            r = W(s).err;
            break;
        }
    }
    W(s).task_waiting = false;
    W(s).err = 0;
    ls->nwaiting--;
    disarm(ls);
    return r;
}

int cio_signal_start(cio_signal *s, cio_signal_cb cb) {
    sig_loop *ls = live(s);
    if (!ls || !cb) return -CIO_EINVAL;
    if (W(s).cb || W(s).task_waiting) return -CIO_EBUSY;
    W(s).cb = cb;
    ls->nwaiting++;
    int e = arm(ls);
    if (e == 0) e = kick(ls); /* what was counted before: at the next turn */
    if (e < 0) {
        W(s).cb = NULL;
        ls->nwaiting--;
        disarm(ls);
    }
    return e;
}

int cio_signal_stop(cio_signal *s) {
    sig_loop *ls = live(s);
    if (!ls || !W(s).cb) return -CIO_EINVAL;
    W(s).cb = NULL;
    ls->nwaiting--;
    disarm(ls);
    return 0;
}

int cio_signal_close(cio_signal *s) {
    sig_loop *ls = live(s);
    if (!ls) return -CIO_EINVAL;
    if (W(s).task_waiting) return -CIO_EBUSY;
    if (W(s).cb) cio_signal_stop(s);
    for (int signo = 1; signo < CIO_SIGNAL_MAX; signo++)
        if (bit_get(W(s).watched, signo)) cio_signal_remove(s, signo);
    list_remove(&ls->watchers, &W(s).node);
    W(s).magic = 0;
    W(s).ls = NULL;
    if (list_empty(&ls->watchers)) teardown_wake(ls);
    return 0;
}

int cio_signal_raise(cio_loop *loop, int signo) {
    if (!loop || !in_range(signo)) return -CIO_EINVAL;
    sig_loop *ls = find_record(loop);
    if (!ls || !ls->nwatch[signo]) return -CIO_ENOENT;
    atomic_fetch_add(&ls->slot.counts[signo], 1);
    return kick(ls);
}
