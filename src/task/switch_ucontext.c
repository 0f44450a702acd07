/*
 * src/task/switch_ucontext.c - the portable context switch on POSIX
 * ucontext, for architectures without an assembly switch
 * (-DCIO_TASK_UCONTEXT=ON). Slower: swapcontext also saves and restores the
 * signal mask, a system call per switch.
 *
 * The ucontext_t of a context lives at the top of its own stack; the
 * context that first switches away (the loop thread's) gets one from the
 * caller's cio_ctx storage, which is large enough in this configuration.
 */
#if defined(CIO_TASK_UCONTEXT)
#define _XOPEN_SOURCE 700
#include <stdint.h>
#include <stdlib.h>
#include <ucontext.h>

#include "context.h"

/* makecontext passes int arguments only: a pointer travels in two halves. */
static void trampoline(unsigned hi_e, unsigned lo_e, unsigned hi_a, unsigned lo_a) {
    cio_ctx_entry entry = (cio_ctx_entry)(uintptr_t)(((uint64_t)hi_e << 32) | lo_e);
    void *arg = (void *)(uintptr_t)(((uint64_t)hi_a << 32) | lo_a);
    entry(arg);
    abort(); /* entry must not return */
}

void cio__ctx_make(cio_ctx *ctx, void *stack, size_t size, cio_ctx_entry entry, void *arg) {
    uintptr_t top = ((uintptr_t)stack + size - sizeof(ucontext_t)) & ~(uintptr_t)63;
    ucontext_t *uc = (ucontext_t *)top;
    getcontext(uc);
    uc->uc_stack.ss_sp = stack;
    uc->uc_stack.ss_size = top - (uintptr_t)stack;
    uc->uc_link = NULL;
    uint64_t e = (uint64_t)(uintptr_t)entry, a = (uint64_t)(uintptr_t)arg;
    makecontext(uc, (void (*)(void))trampoline, 4, (unsigned)(e >> 32), (unsigned)e, (unsigned)(a >> 32),
                (unsigned)a);
    ctx->sp = uc;
}

void cio__ctx_switch(cio_ctx *from, cio_ctx *to) {
    ucontext_t here;
    /* A context that has never been switched to from here keeps its saved
     * state on the stack of this call, which stays alive until resumed. */
    from->sp = &here;
    swapcontext(&here, (ucontext_t *)to->sp);
}
#endif
