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
 * bounds in the TIB), and switch_ucontext.c, the portable fallback chosen
 * at build time (CIO_TASK_UCONTEXT) where no assembly exists.
 *
 * Besides the registers the ABI makes callee-saved, every switch keeps the
 * floating-point control state per context (rounding mode and the like:
 * MXCSR and the x87 control word, FPCR on AArch64). On Windows the TIB's
 * StackBase, StackLimit and DeallocationStack travel in the saved frame
 * too, since exception dispatch, longjmp's unwind and stack probes check
 * them against the stack pointer.
 */
#ifndef CIO_TASK_CONTEXT_H
#define CIO_TASK_CONTEXT_H

#include <stddef.h>

typedef struct cio_ctx {
    void *sp; /* saved stack pointer (ucontext: a ucontext_t *); the rest is on that stack */
} cio_ctx;

typedef void (*cio_ctx_entry)(void *arg);

/* Prepares `ctx` to run entry(arg) on the stack [stack, stack + size). On
 * Windows the whole range must be committed (it becomes StackLimit ..
 * StackBase) and the start of its VirtualAlloc reservation, where the
 * guard pages lie, becomes DeallocationStack. */
void cio__ctx_make(cio_ctx *ctx, void *stack, size_t size, cio_ctx_entry entry, void *arg);

/* Saves the running context in `from` and resumes `to`. */
void cio__ctx_switch(cio_ctx *from, cio_ctx *to);

#endif /* CIO_TASK_CONTEXT_H */
