/*
 * src/task/stack.c - task stacks (see stack.h).
 *
 * A stack is one anonymous mapping: a PROT_NONE guard region, then the
 * usable pages. Pages are committed only when touched, so a task parked
 * after a shallow call chain costs one or two pages of memory whatever its
 * size. Freed stacks wait in a per-thread pool, since tasks come and go
 * much faster than mmap and munmap.
 *
 * The guard is not one page but CIO_STACK_GUARD_BYTES: a function whose
 * frame is larger than a page moves the stack pointer past a single guard
 * page in one step, and its first store (a buffer's low end) then lands in
 * whatever lies below, typically another task's stack. Address space is
 * cheap and PROT_NONE costs no memory, so the guard is as large as common
 * frames. A stack overflow touches it; the SIGSEGV handler runs on an
 * alternate signal stack (the faulting stack has no room left), checks the
 * address against the running task's guard region, and reports the task
 * by name before aborting; any other fault goes on to the previous
 * handler.
 */
#include "stack.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cio/error.h"

/* ---- the pool ----
 *
 * Freed stacks wait in a per-thread ring, oldest at the bottom; a spawn
 * takes the newest stack of its size. Two limits bound what the pool
 * keeps mapped: POOL_MAX stacks (each is two mappings, against the
 * system's limit of about 65,000 per process) and POOL_MAX_BYTES of usable
 * stack. Past either, the oldest pooled stack is unmapped. Big enough
 * that a thread which spawns and joins a thousand default stacks at a time
 * maps nothing after the first round; on 64-bit systems address space is
 * cheap and the mappings are MAP_NORESERVE, so an idle pooled stack costs
 * no memory once trimmed (below) and, outside strict overcommit, no commit
 * charge either. The pool never holds more than the thread once had live
 * at the same time.
 *
 * Trimming: a pooled stack keeps the pages its last task touched, up to
 * its whole size. Only the stacks a spawn will soon take again should, so
 * beyond the newest `warm` ones each pooled stack's pages are given back
 * (madvise MADV_DONTNEED: the next task on it starts on fresh zero pages,
 * a page fault each), oldest first. `warm` follows demand: at least
 * WARM_MIN, and as many as spawns drew from the pool in one go during the
 * last one or two DECAY_NS periods (a thread that spawns and joins a
 * thousand tasks at a time keeps a thousand warm, and trims nothing after
 * the first round; one burst of tasks that then all finish is trimmed down
 * to WARM_MIN as they finish). Trimming costs a system call per stack, so
 * a put trims at most TRIM_PER_PUT, enough to keep up, since each put adds
 * one untrimmed stack.
 */
#define POOL_MAX 4096u /* a power of two: ring indices wrap with a mask */
#define POOL_MAX_BYTES (sizeof(void *) >= 8 ? (size_t)512 << 20 : (size_t)32 << 20)
#define WARM_MIN 64u
#define TRIM_PER_PUT 8u
#define DECAY_NS 1000000000ull
#define CLOCK_EVERY 64u /* puts between two looks at the clock */

#if defined(__GNUC__)
#define COLD __attribute__((noinline, cold))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define COLD
#define UNLIKELY(x) (x)
#endif

typedef struct pool_state {
    cio_stack *ring;      /* POOL_MAX slots, mapped on the first put */
    unsigned bottom;      /* ring index of the oldest */
    unsigned count;       /* stacks pooled */
    unsigned trimmed;     /* the oldest `trimmed` have been trimmed; the rest have not */
    unsigned warm;        /* how many untrimmed ones may stay: WARM_MIN, draw, draw_prev */
    size_t bytes;         /* usable bytes pooled */
    unsigned peak;        /* `count`'s high mark this period */
    unsigned draw, draw_prev; /* the largest draw-down (peak - count) this and last period */
    unsigned puts;        /* since the clock was last read */
    uint64_t period_start;
} pool_state;

static _Thread_local pool_state pool;
static _Thread_local const cio_stack_owner *running;

size_t cio__stack_page(void) {
    /* Threads that spawn their first tasks at once (a runtime's workers)
     * may all ask first: atomic, though they all store the same value. */
    static atomic_size_t page;
    size_t p = atomic_load_explicit(&page, memory_order_relaxed);
    if (!p) {
        p = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&page, p, memory_order_relaxed);
    }
    return p;
}

size_t cio__stack_guard_size(void) {
    size_t page = cio__stack_page();
    return (CIO_STACK_GUARD_BYTES + page - 1) & ~(page - 1);
}

static cio_stack *slot(pool_state *p, unsigned i) { return &p->ring[(p->bottom + i) & (POOL_MAX - 1)]; }

static void unmap(const cio_stack *s) {
    size_t guard = cio__stack_guard_size();
    munmap(s->base - guard, s->size + guard);
}

static uint64_t coarse_now(void) {
    struct timespec ts;
#if defined(CLOCK_MONOTONIC_COARSE)
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_warm(pool_state *p) {
    unsigned w = WARM_MIN;
    if (p->draw > w) w = p->draw;
    if (p->draw_prev > w) w = p->draw_prev;
    p->warm = w;
}

/* Gives back the pages of the oldest untrimmed stacks beyond `warm`. */
static COLD void trim_some(pool_state *p) {
    for (unsigned n = 0; n < TRIM_PER_PUT && p->count - p->trimmed > p->warm; n++) {
        const cio_stack *s = slot(p, p->trimmed++);
#if defined(__linux__) || !defined(MADV_FREE)
        /* Linux drops the pages at once (MADV_FREE would leave them counted
         * as resident until the system runs short of memory). */
        (void)madvise(s->base, s->size, MADV_DONTNEED);
#else
        (void)madvise(s->base, s->size, MADV_FREE); /* BSDs, macOS: DONTNEED frees nothing */
#endif
    }
}

/* Now and then: a new demand period begins. */
static COLD void period_check(pool_state *p) {
    p->puts = 0;
    uint64_t now = coarse_now();
    if (now - p->period_start < DECAY_NS) return;
    p->period_start = now;
    p->draw_prev = p->draw;
    p->draw = 0;
    p->peak = p->count;
    set_warm(p);
}

static void pool_register_exit(void);

static COLD int get_slow(pool_state *p, cio_stack *s, size_t size) {
    for (unsigned i = p->count; i-- > 0;) { /* the newest of that size (mixed sizes: rare) */
        if (slot(p, i)->size != size) continue;
        *s = *slot(p, i);
        for (unsigned j = i; j + 1 < p->count; j++) *slot(p, j) = *slot(p, j + 1); /* keep the order */
        p->count--;
        p->bytes -= size;
        if (p->trimmed > i) p->trimmed--;
        if (p->peak - p->count > p->draw) {
            p->draw = p->peak - p->count;
            set_warm(p);
        }
        return 0;
    }
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#ifdef MAP_NORESERVE
    flags |= MAP_NORESERVE;
#endif
#ifdef MAP_STACK
    flags |= MAP_STACK;
#endif
    size_t guard = cio__stack_guard_size();
    char *m = mmap(NULL, size + guard, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (m == MAP_FAILED) return -CIO_ENOMEM;
    if (mprotect(m, guard, PROT_NONE) < 0) {
        munmap(m, size + guard);
        return -CIO_ENOMEM;
    }
    s->base = m + guard;
    s->size = size;
    return 0;
}

int cio__stack_get(cio_stack *s, size_t size) {
    size_t page = cio__stack_page();
    size = (size + page - 1) & ~(page - 1);
    pool_state *p = &pool;
    cio_stack *top;
    if (UNLIKELY(!p->count || (top = slot(p, p->count - 1))->size != size)) return get_slow(p, s, size);
    *s = *top;
    p->count--;
    p->bytes -= size;
    if (p->trimmed > p->count) p->trimmed = p->count;
    if (UNLIKELY(p->peak - p->count > p->draw)) {
        p->draw = p->peak - p->count;
        set_warm(p);
    }
    return 0;
}

/* The first put on a thread, or the pool at a limit. */
static COLD void put_slow(pool_state *p, cio_stack s) {
    if (s.size > POOL_MAX_BYTES) {
        unmap(&s);
        return;
    }
    if (!p->ring) {
        void *m = mmap(NULL, POOL_MAX * sizeof(cio_stack), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                       0);
        if (m == MAP_FAILED) {
            unmap(&s);
            return;
        }
        p->ring = m;
        p->warm = WARM_MIN;
        p->period_start = coarse_now();
        pool_register_exit();
    }
    /* Make room: the oldest go first (they are trimmed, or the coldest). */
    while (p->count == POOL_MAX || (p->count && p->bytes + s.size > POOL_MAX_BYTES)) {
        cio_stack *old = slot(p, 0);
        unmap(old);
        p->bytes -= old->size;
        p->bottom = (p->bottom + 1) & (POOL_MAX - 1);
        p->count--;
        if (p->trimmed) p->trimmed--;
    }
    *slot(p, p->count++) = s;
    p->bytes += s.size;
}

void cio__stack_put(cio_stack *s) {
    cio_stack copy = *s; /* `s` may lie in the stack itself, which trimming may zero */
    pool_state *p = &pool;
    if (UNLIKELY(!p->ring || p->count == POOL_MAX || p->bytes + copy.size > POOL_MAX_BYTES)) {
        put_slow(p, copy);
    } else {
        *slot(p, p->count++) = copy;
        p->bytes += copy.size;
    }
    if (p->count > p->peak) p->peak = p->count;
    if (UNLIKELY(p->count - p->trimmed > p->warm)) trim_some(p);
    if (UNLIKELY(++p->puts == CLOCK_EVERY)) period_check(p);
}

/* ---- overflow reports ---- */

static struct sigaction previous;

static void write_str(const char *s) {
    ssize_t ignored = write(2, s, strlen(s));
    (void)ignored;
}

static void on_segv(int sig, siginfo_t *info, void *uctx) {
    const cio_stack_owner *o = running;
    const char *addr = info ? (const char *)info->si_addr : NULL;
    /* si_code > 0: a fault the kernel raised, not one sent by kill() */
    if (o && info && info->si_code > 0 && addr >= o->guard_lo && addr < o->guard_lo + o->guard_len) {
        write_str("cio: stack overflow in task '");
        write_str(o->name ? o->name : "(unnamed)");
        write_str("': it used more stack than it was given (cio_task_options.stack_size)\n");
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    /* Not ours: hand it to whoever handled SIGSEGV before, as the kernel
     * would have: with its mask, and reset first if it asked for that. */
    struct sigaction prev = previous;
    bool sent = info && info->si_code <= 0;
    void (*plain)(int) = prev.sa_handler;
    if ((prev.sa_flags & SA_SIGINFO) ? prev.sa_sigaction != NULL : plain != SIG_DFL && plain != SIG_IGN) {
        int saved_errno = errno;
        if (prev.sa_flags & SA_RESETHAND) {
            previous.sa_flags &= ~SA_SIGINFO;
            previous.sa_handler = SIG_DFL;
        }
        sigset_t mask, segv;
        pthread_sigmask(SIG_BLOCK, &prev.sa_mask, &mask);
        if (prev.sa_flags & SA_NODEFER) { /* it expects SIGSEGV not blocked while it runs */
            sigemptyset(&segv);
            sigaddset(&segv, SIGSEGV);
            pthread_sigmask(SIG_UNBLOCK, &segv, NULL);
        }
        if (prev.sa_flags & SA_SIGINFO)
            prev.sa_sigaction(sig, info, uctx);
        else
            plain(sig);
        pthread_sigmask(SIG_SETMASK, &mask, NULL);
        errno = saved_errno;
        return;
    }
    if (!(prev.sa_flags & SA_SIGINFO) && plain == SIG_IGN && sent) return; /* ignored, as it was */
    /* The default action: a fault runs its instruction again and now kills
     * the process; a sent signal is sent again, and is delivered when this
     * handler returns. (A fault is never ignored: the kernel kills too.) */
    signal(SIGSEGV, SIG_DFL);
    if (sent) raise(SIGSEGV);
}

/* ---- the alternate signal stack, per thread ----
 *
 * A thread that has one already (its own, or its runtime's) keeps it, and
 * the handler runs on it, if it has room for the handler (alt_min: the
 * signal frame plus ALT_HANDLER). Otherwise cio maps
 * its own, ALT_SIZE bytes with a guard page below, and gives it up when the
 * thread exits: the previous setting (a smaller stack, or none) comes back
 * if cio's is still the one in place, and cio's is unmapped. */
#define ALT_SIZE (64u * 1024u)
#define ALT_HANDLER (4u * 1024u) /* what on_segv needs beyond the signal frame */

enum { ALT_UNSET, ALT_THEIRS, ALT_MINE };

static _Thread_local int alt_state;
static _Thread_local char *alt_mine; /* the mapping: guard page, then ALT_SIZE */
static _Thread_local stack_t alt_before;

static size_t alt_min(void) {
    long frame = MINSIGSTKSZ;
#if defined(_SC_MINSIGSTKSZ)
    long dyn = sysconf(_SC_MINSIGSTKSZ); /* the signal frame on this CPU (AVX-512, AMX: larger) */
    if (dyn > frame) frame = dyn;
#endif
    return (size_t)frame + ALT_HANDLER;
}

static int alt_install(void) {
    stack_t cur;
    if (sigaltstack(NULL, &cur) < 0) return -errno;
    /* On it (inside a handler) it cannot be changed; any size will do then. */
    if ((cur.ss_flags & SS_ONSTACK) || (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= alt_min())) {
        alt_state = ALT_THEIRS;
        return 0;
    }
    size_t page = cio__stack_page();
    char *m = mmap(NULL, ALT_SIZE + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return -CIO_ENOMEM;
    (void)mprotect(m, page, PROT_NONE); /* a handler overflowing it faults instead of writing below */
    stack_t ss = {.ss_sp = m + page, .ss_size = ALT_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) < 0) {
        int e = errno;
        munmap(m, ALT_SIZE + page);
        return -e;
    }
    alt_before = cur;
    alt_mine = m;
    alt_state = ALT_MINE;
    return 0;
}

static void alt_release(void) {
    if (alt_state != ALT_MINE) {
        alt_state = ALT_UNSET;
        return;
    }
    size_t page = cio__stack_page();
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == alt_mine + page) {
        if (cur.ss_flags & SS_ONSTACK) return; /* cannot happen at thread exit; keep it mapped */
        stack_t back = alt_before;
        if (back.ss_flags & SS_DISABLE) back = (stack_t){.ss_flags = SS_DISABLE};
        if (sigaltstack(&back, NULL) < 0) {
            stack_t off = {.ss_flags = SS_DISABLE};
            if (sigaltstack(&off, NULL) < 0) return; /* still in place: leave it mapped */
        }
    }
    munmap(alt_mine, ALT_SIZE + page);
    alt_mine = NULL;
    alt_state = ALT_UNSET;
}

/* ---- thread exit: the pool and the alternate stack go ---- */

static pthread_key_t exit_key;
static int exit_key_err;
static _Thread_local bool exit_registered;

static void on_thread_exit(void *unused) {
    (void)unused;
    running = NULL;
    alt_release();
    if (pool.ring) {
        for (unsigned i = 0; i < pool.count; i++) unmap(slot(&pool, i));
        munmap(pool.ring, POOL_MAX * sizeof(cio_stack));
    }
    memset(&pool, 0, sizeof pool);
    exit_registered = false;
}

static void exit_key_once(void) { exit_key_err = pthread_key_create(&exit_key, on_thread_exit); }

static void pool_register_exit(void) {
    if (exit_registered) return;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, exit_key_once);
    /* Any non-NULL value: the destructor runs only for those. Without the
     * key (no room for one), the pool stays mapped when the thread exits. */
    if (!exit_key_err && pthread_setspecific(exit_key, &pool) == 0) exit_registered = true;
}

/* ---- the handler, once per process ---- */

static int handler_err;

static void handler_once(void) {
    struct sigaction sa, swapped;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    /* `previous` is complete before on_segv can run; should another
     * handler have come in between, the swap's answer is the truth. */
    if (sigaction(SIGSEGV, NULL, &previous) < 0 || sigaction(SIGSEGV, &sa, &swapped) < 0) {
        handler_err = -errno;
        return;
    }
    if (swapped.sa_handler != previous.sa_handler || swapped.sa_flags != previous.sa_flags) previous = swapped;
}

int cio__stack_guard_install(void) {
    if (alt_state != ALT_UNSET) return 0; /* this thread is set up: every spawn asks */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, handler_once);
    if (handler_err) return handler_err;
    int r = alt_install();
    if (r < 0) return r;
    pool_register_exit();
    return 0;
}

void cio__stack_running(const cio_stack_owner *owner) { running = owner; }

/* ---- fork ---- */

static void (*_Atomic fork_child)(void);

static void on_fork_child(void) {
    void (*child)(void) = atomic_load_explicit(&fork_child, memory_order_relaxed);
    if (child) child();
}

static void fork_hook_once(void) { pthread_atfork(NULL, NULL, on_fork_child); }

void cio__task_atfork(void (*child)(void)) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    atomic_store_explicit(&fork_child, child, memory_order_relaxed);
    pthread_once(&once, fork_hook_once);
}
