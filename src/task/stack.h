/*
 * src/task/stack.h - task stacks: mapped with a guard region below them,
 * pooled per thread, and a SIGSEGV handler that turns a hit on the guard
 * region into a clear report naming the task.
 */
#ifndef CIO_TASK_STACK_H
#define CIO_TASK_STACK_H

#include <stddef.h>

typedef struct cio_stack {
    char *base;   /* lowest usable byte; the guard region lies just below */
    size_t size;  /* usable bytes */
} cio_stack;

/* What the overflow handler needs to know about the running task. */
typedef struct cio_stack_owner {
    const char *guard_lo; /* the guard region: cio__stack_guard_size() bytes below the stack */
    size_t guard_len;
    const char *name;     /* the task's name, for the report */
} cio_stack_owner;

/* Maps (or takes from this thread's pool) a stack of at least `size`
 * usable bytes. Returns 0 or -CIO_ENOMEM. */
int cio__stack_get(cio_stack *s, size_t size);

/* Gives a stack back to this thread's pool, or unmaps it. */
void cio__stack_put(cio_stack *s);

/* The page size rounding every stack size. */
size_t cio__stack_page(void);

/* The inaccessible address space below each stack: CIO_TASK_STACK_GUARD
 * of cio/task.h (task.c checks that they agree; this file stays free of
 * the public headers for tests/cross). Windows: three pages (stack_win.c). */
#if defined(_WIN32)
#define CIO_STACK_GUARD_BYTES (3u * 4096u)
#else
#define CIO_STACK_GUARD_BYTES (sizeof(void *) >= 8 ? 128u * 1024u : 64u * 1024u)
#endif

/* The guard region's size: CIO_STACK_GUARD_BYTES rounded up to whole pages
 * (on Windows, three pages of whatever size the system's are). */
size_t cio__stack_guard_size(void);

/* Sets the task whose stack overflow the handler should report (NULL:
 * none is running) and makes sure the handler is installed. */
void cio__stack_running(const cio_stack_owner *owner);
int cio__stack_guard_install(void);

/* The rest of the task layer's platform interface (the task layer stays
 * off the core's thread.h, which is internal to L0/L1).
 *
 * cio__task_atfork: has `child` run in the child process after each
 * fork(), from any thread, any number of times (the hook is registered
 * once per process; the last `child` given is the one that runs). Does
 * nothing where there is no fork (Windows). */
void cio__task_atfork(void (*child)(void));

#endif /* CIO_TASK_STACK_H */
