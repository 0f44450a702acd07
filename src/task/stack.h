/*
 * src/task/stack.h - task stacks: mapped with a guard page below them,
 * pooled per thread, and a SIGSEGV handler that turns a hit on the guard
 * page into a clear report naming the task.
 */
#ifndef CIO_TASK_STACK_H
#define CIO_TASK_STACK_H

#include <stddef.h>

typedef struct cio_stack {
    char *base;   /* lowest usable byte; the guard page lies just below */
    size_t size;  /* usable bytes */
} cio_stack;

/* What the overflow handler needs to know about the running task. */
typedef struct cio_stack_owner {
    const char *guard_lo; /* the guard page */
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

/* Sets the task whose stack overflow the handler should report (NULL:
 * none is running) and makes sure the handler is installed. */
void cio__stack_running(const cio_stack_owner *owner);
int cio__stack_guard_install(void);

#endif /* CIO_TASK_STACK_H */
