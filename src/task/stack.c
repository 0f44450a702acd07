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
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cio/error.h"

/* Freed stacks wait here for reuse, linked through a header written at the
 * top of each, so the pool needs no storage of its own. Up to POOL_MAX per
 * thread: enough for a server's churn of connections; each pooled stack
 * keeps only the pages its last task touched. */
#define POOL_MAX 4096

typedef struct pooled_stack {
    struct pooled_stack *next;
    cio_stack s;
} pooled_stack;

static _Thread_local pooled_stack *pool;
static _Thread_local unsigned pooled;
static _Thread_local const cio_stack_owner *running;

size_t cio__stack_page(void) {
    static size_t page;
    if (!page) page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

static pooled_stack *header(const cio_stack *s) {
    return (pooled_stack *)(void *)(s->base + s->size - sizeof(pooled_stack));
}

size_t cio__stack_guard_size(void) {
    static size_t guard;
    if (!guard) {
        size_t page = cio__stack_page();
        guard = (CIO_STACK_GUARD_BYTES + page - 1) & ~(page - 1);
    }
    return guard;
}

int cio__stack_get(cio_stack *s, size_t size) {
    size_t page = cio__stack_page();
    size = (size + page - 1) & ~(page - 1);
    for (pooled_stack **pp = &pool; *pp; pp = &(*pp)->next) {
        if ((*pp)->s.size != size) continue;
        *s = (*pp)->s;
        *pp = (*pp)->next;
        pooled--;
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

void cio__stack_put(cio_stack *s) {
    cio_stack copy = *s; /* `s` may lie in the very bytes the header takes */
    s = &copy;
    if (pooled < POOL_MAX) {
        pooled_stack *h = header(s);
        h->s = copy;
        h->next = pool;
        pool = h;
        pooled++;
        return;
    }
    size_t guard = cio__stack_guard_size();
    munmap(s->base - guard, s->size + guard);
}

/* ---- overflow reports ---- */

static struct sigaction previous;
static _Thread_local void *alt_stack;

static void write_str(const char *s) {
    ssize_t ignored = write(2, s, strlen(s));
    (void)ignored;
}

static void on_segv(int sig, siginfo_t *info, void *uctx) {
    const cio_stack_owner *o = running;
    const char *addr = info ? (const char *)info->si_addr : NULL;
    if (o && addr >= o->guard_lo && addr < o->guard_lo + o->guard_len) {
        write_str("cio: stack overflow in task '");
        write_str(o->name ? o->name : "(unnamed)");
        write_str("': it used more stack than it was given (cio_task_options.stack_size)\n");
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    /* Not ours: hand it to whoever handled SIGSEGV before. */
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction) {
            previous.sa_sigaction(sig, info, uctx);
            return;
        }
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
        return;
    }
    signal(SIGSEGV, SIG_DFL); /* the faulting instruction runs again and kills the process */
}

int cio__stack_guard_install(void) {
    static atomic_int installed; /* process-wide handler; the alternate stack is per thread */
    if (!alt_stack) {
        size_t len = 64 * 1024;
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return -CIO_ENOMEM;
        stack_t ss = {.ss_sp = m, .ss_size = len, .ss_flags = 0};
        if (sigaltstack(&ss, NULL) < 0) {
            munmap(m, len);
            return -errno;
        }
        alt_stack = m;
    }
    if (!atomic_exchange(&installed, 1)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGSEGV, &sa, &previous) < 0) return -errno;
    }
    return 0;
}

void cio__stack_running(const cio_stack_owner *owner) { running = owner; }
