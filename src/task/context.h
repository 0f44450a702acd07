/*
 * src/task/context.h - the machine context of a stackful coroutine: the one
 * piece of cio that is written per ABI.
 *
 * A context is a stack pointer. cio__ctx_switch() pushes the callee-saved
 * registers of the running code on its stack, stores the stack pointer in
 * *from, loads `to` and pops the registers saved there: a few instructions
 * instead of a system call (ucontext's swapcontext also saves the signal
 * mask with one). cio__ctx_make() lays out a new stack so that the first
 * switch to it calls entry(arg); entry must never return.
 *
 * Implementations: switch_x86_64_sysv.S, switch_aarch64.S,
 * switch_x86_64_win.S (Windows x64, which also swaps the thread's stack
 * bounds), and switch_ucontext.c, the portable fallback chosen at build
 * time (CIO_TASK_UCONTEXT) where no assembly exists.
 */
#ifndef CIO_TASK_CONTEXT_H
#define CIO_TASK_CONTEXT_H

#include <stddef.h>

typedef struct cio_ctx {
    void *sp; /* saved stack pointer (ucontext: a ucontext_t *) */
#if defined(_WIN32)
    void *stack_base, *stack_limit; /* the TIB's bounds while this context runs */
#endif
} cio_ctx;

typedef void (*cio_ctx_entry)(void *arg);

/* Prepares `ctx` to run entry(arg) on the stack [stack, stack + size). */
void cio__ctx_make(cio_ctx *ctx, void *stack, size_t size, cio_ctx_entry entry, void *arg);

/* Saves the running context in `from` and resumes `to`. */
void cio__ctx_switch(cio_ctx *from, cio_ctx *to);

#endif /* CIO_TASK_CONTEXT_H */
