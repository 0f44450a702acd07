/*
 * src/task/stack_win.c - task stacks on Windows (see stack.h; stack.c is
 * the POSIX version).
 *
 * A stack is one VirtualAlloc reservation laid out like a Windows thread
 * stack, so that the kernel (and Wine) treat a task's stack the way they
 * treat a thread's once the switch has put its bounds in the TIB:
 *
 *   reservation base = DeallocationStack: one page never committed
 *   two committed PAGE_GUARD pages
 *   the usable stack, committed read-write = StackLimit .. StackBase
 *
 * Three pages of guard are enough here, unlike on POSIX (stack.c): code
 * built for Windows probes every page of a frame larger than one
 * (__chkstk, by MSVC, mingw-w64 gcc and clang alike), so no frame steps
 * over the guard pages. (A larger never-committed region below them was
 * tried: the system grows a task's stack into it as it does a thread's,
 * and under Wine the overflow then ended the process without the report.)
 *
 * The usable pages are committed up front: StackLimit must be the true
 * bottom of the committed stack (stack probes skip what lies above it), and
 * growing it on demand would need the limit tracked per task. Committing
 * charges the system commit limit but takes no physical memory until a
 * page is touched.
 *
 * A stack overflow first touches a guard page. The system lifts the guard
 * and, as for a thread stack, either lets the stack grow into it or raises
 * EXCEPTION_STACK_OVERFLOW with the guard page left to run handlers on. A
 * vectored exception handler (it runs before any frame-based handler and
 * needs no unwinding) recognises a fault of the running task's stack,
 * writes the report naming the task and ends the process with
 * STATUS_STACK_OVERFLOW. A task that once grew into its guard pages and
 * survived leaves its pooled stack with fewer guard pages; an overflow of
 * a later task on it then hits the never-committed page, which ends the
 * process at once, without the report, but never touches other memory.
 */
#include "stack.h"

/* First: it brings winsock2.h, which must come before windows.h. */
#include "cio/error.h"

#include <stdint.h>
#include <string.h>
#include <windows.h>

/* Freed stacks wait in a per-thread pool: up to POOL_MAX of them and
 * POOL_MAX_BYTES of usable stack (they stay committed, which the system's
 * commit limit counts); past either limit a freed stack is released. A
 * pooled stack keeps the pages its last task touched. (The pool is not
 * released when a thread exits.) */
#define POOL_MAX 64
#define POOL_MAX_BYTES ((size_t)64 << 20)
#define GUARD_PAGES 3 /* one reserved-only page, then two PAGE_GUARD pages */

static _Thread_local cio_stack pool[POOL_MAX];
static _Thread_local unsigned pooled;
static _Thread_local size_t pooled_bytes;
static _Thread_local const cio_stack_owner *running;

size_t cio__stack_page(void) {
    static size_t page;
    if (!page) {
        SYSTEM_INFO si;
        GetSystemInfo(&si);
        page = si.dwPageSize;
    }
    return page;
}

size_t cio__stack_guard_size(void) { return GUARD_PAGES * cio__stack_page(); }

int cio__stack_get(cio_stack *s, size_t size) {
    size_t page = cio__stack_page();
    size = (size + page - 1) & ~(page - 1);
    for (unsigned i = pooled; i-- > 0;) {
        if (pool[i].size != size) continue;
        *s = pool[i];
        pool[i] = pool[--pooled];
        pooled_bytes -= size;
        return 0;
    }
    char *m = VirtualAlloc(NULL, size + GUARD_PAGES * page, MEM_RESERVE, PAGE_NOACCESS);
    if (!m) return -CIO_ENOMEM;
    char *base = m + GUARD_PAGES * page;
    if (!VirtualAlloc(m + page, (GUARD_PAGES - 1) * page, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD) ||
        !VirtualAlloc(base, size, MEM_COMMIT, PAGE_READWRITE)) {
        VirtualFree(m, 0, MEM_RELEASE);
        return -CIO_ENOMEM;
    }
    s->base = base;
    s->size = size;
    return 0;
}

void cio__stack_put(cio_stack *s) {
    if (pooled < POOL_MAX && s->size <= POOL_MAX_BYTES - pooled_bytes) {
        pooled_bytes += s->size;
        pool[pooled++] = *s;
        return;
    }
    VirtualFree(s->base - GUARD_PAGES * cio__stack_page(), 0, MEM_RELEASE);
}

/* ---- overflow reports ---- */

static void write_str(const char *s) {
    DWORD ignored;
    WriteFile(GetStdHandle(STD_ERROR_HANDLE), s, (DWORD)strlen(s), &ignored, NULL);
}

static LONG CALLBACK on_fault(EXCEPTION_POINTERS *ep) {
    const cio_stack_owner *o = running;
    if (!o) return EXCEPTION_CONTINUE_SEARCH;
    const EXCEPTION_RECORD *r = ep->ExceptionRecord;
    const char *lo = o->guard_lo, *hi = o->guard_lo + o->guard_len;
    int ours = r->ExceptionCode == EXCEPTION_STACK_OVERFLOW;
    if ((r->ExceptionCode == EXCEPTION_ACCESS_VIOLATION || r->ExceptionCode == EXCEPTION_GUARD_PAGE) &&
        r->NumberParameters >= 2) {
        const char *addr = (const char *)r->ExceptionInformation[1];
        ours = addr >= lo && addr < hi;
    }
    if (!ours) return EXCEPTION_CONTINUE_SEARCH;
    write_str("cio: stack overflow in task '");
    write_str(o->name ? o->name : "(unnamed)");
    write_str("': it used more stack than it was given (cio_task_options.stack_size)\n");
    TerminateProcess(GetCurrentProcess(), (UINT)EXCEPTION_STACK_OVERFLOW);
    return EXCEPTION_CONTINUE_SEARCH; /* not reached */
}

/* One handler for the process (`running` is per thread), added once: a
 * second thread's first spawn waits until the first thread's is in. */
static BOOL CALLBACK add_handler(PINIT_ONCE once, PVOID param, PVOID *ctx) {
    (void)once;
    (void)param;
    (void)ctx;
    return AddVectoredExceptionHandler(1, on_fault) != NULL;
}

int cio__stack_guard_install(void) {
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    return InitOnceExecuteOnce(&once, add_handler, NULL, NULL) ? 0 : -CIO_ENOMEM;
}

void cio__stack_running(const cio_stack_owner *owner) { running = owner; }

/* No fork on Windows: nothing to forget in a child. */
void cio__task_atfork(void (*child)(void)) { (void)child; }
