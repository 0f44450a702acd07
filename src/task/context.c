/*
 * src/task/context.c - cio__ctx_make: the first frame of a new context, laid
 * out exactly as cio__ctx_switch will pop it (see the .S files), with
 * cio__ctx_start as the address the switch returns to.
 */
#include "context.h"

#include <stdint.h>
#include <string.h>

#if !defined(CIO_TASK_UCONTEXT)

void cio__ctx_start(void);

#if defined(__x86_64__) && !defined(_WIN32)

void cio__ctx_make(cio_ctx *ctx, void *stack, size_t size, cio_ctx_entry entry, void *arg) {
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)top;
    *--sp = (uint64_t)(uintptr_t)cio__ctx_start; /* popped by ret: rsp is then 16-aligned */
    *--sp = 0;                                    /* rbp */
    *--sp = 0;                                    /* rbx */
    *--sp = (uint64_t)(uintptr_t)arg;             /* r12 */
    *--sp = (uint64_t)(uintptr_t)entry;           /* r13 */
    *--sp = 0;                                    /* r14 */
    *--sp = 0;                                    /* r15 */
    *--sp = 0x037f00001f80ull;                    /* MXCSR 0x1f80, x87 control word 0x037f */
    ctx->sp = sp;
}

#elif defined(__aarch64__)

void cio__ctx_make(cio_ctx *ctx, void *stack, size_t size, cio_ctx_entry entry, void *arg) {
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - 0xa0);
    memset(sp, 0, 0xa0);
    sp[0] = (uint64_t)(uintptr_t)arg;            /* x19 */
    sp[1] = (uint64_t)(uintptr_t)entry;          /* x20 */
    sp[11] = (uint64_t)(uintptr_t)cio__ctx_start; /* x30: where the switch returns */
    ctx->sp = sp;
}

#else
#error "no context switch for this architecture: configure with -DCIO_TASK_UCONTEXT=ON"
#endif

#endif /* !CIO_TASK_UCONTEXT */
