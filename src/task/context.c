/*
 * src/task/context.c - cio__ctx_make: the first frame of a new context, laid
 * out exactly as cio__ctx_switch will pop it (see the .S files), with
 * cio__ctx_start as the address the switch returns to.
 */
#include "context.h"

#include <stdint.h>
#include <string.h>

#if defined(_WIN32)
#include <windows.h>
#endif

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

#elif defined(__x86_64__) && defined(_WIN32)

/* The frame of switch_x86_64_win.S, in 8-byte slots from the saved rsp. */
enum {
    W_FPCTL = 0,     /* MXCSR, then the x87 control word */
    W_XMM6 = 2,      /* xmm6..xmm15, 16 bytes each, 16-aligned */
    W_DEALLOC = 22,  /* TIB DeallocationStack */
    W_LIMIT,         /* TIB StackLimit */
    W_BASE,          /* TIB StackBase */
    W_R15,
    W_R14,
    W_R13,           /* the entry */
    W_R12,           /* its argument */
    W_RSI,
    W_RDI,
    W_RBX,
    W_RBP,
    W_RET,           /* cio__ctx_start */
    W_START_RET,     /* cio__ctx_start's own return address: 0 ends a stack walk */
    W_SLOTS = 36     /* keeps the frame a multiple of 16 bytes */
};

void cio__ctx_make(cio_ctx *ctx, void *stack, size_t size, cio_ctx_entry entry, void *arg) {
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - W_SLOTS * 8);
    memset(sp, 0, W_SLOTS * 8);
    /* The new context starts with this thread's floating-point control
     * state: mingw's CRT sets the x87 precision that its 80-bit long double
     * needs, and the Windows default differs. */
    uint32_t mxcsr;
    uint16_t fpucw;
    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fpucw));
    sp[W_FPCTL] = (uint64_t)mxcsr | (uint64_t)fpucw << 32;
    MEMORY_BASIC_INFORMATION mbi;
    void *reservation = stack;
    if (VirtualQuery(stack, &mbi, sizeof mbi) == sizeof mbi && mbi.AllocationBase)
        reservation = mbi.AllocationBase;
    sp[W_DEALLOC] = (uint64_t)(uintptr_t)reservation;
    sp[W_LIMIT] = (uint64_t)(uintptr_t)stack;
    sp[W_BASE] = (uint64_t)((uintptr_t)stack + size);
    sp[W_R13] = (uint64_t)(uintptr_t)entry;
    sp[W_R12] = (uint64_t)(uintptr_t)arg;
    sp[W_RET] = (uint64_t)(uintptr_t)cio__ctx_start;
    ctx->sp = sp;
}

#elif defined(__aarch64__) && !defined(_WIN32)

/* The frame of switch_aarch64.S, in 8-byte slots from the saved sp: x19..x30,
 * d8..d15, FPCR and a pad. */
enum { A_X19 = 0, A_X20 = 1, A_X30 = 11, A_FPCR = 20, A_SLOTS = 22 };

void cio__ctx_make(cio_ctx *ctx, void *stack, size_t size, cio_ctx_entry entry, void *arg) {
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - A_SLOTS * 8);
    memset(sp, 0, A_SLOTS * 8);                       /* x29 = 0 ends the frame chain; FPCR 0: defaults */
    sp[A_X19] = (uint64_t)(uintptr_t)arg;
    sp[A_X20] = (uint64_t)(uintptr_t)entry;
    sp[A_X30] = (uint64_t)(uintptr_t)cio__ctx_start; /* where the switch returns */
    ctx->sp = sp;
}

#else
#error "no context switch for this architecture: configure with -DCIO_TASK_UCONTEXT=ON"
#endif

#endif /* !CIO_TASK_UCONTEXT */
