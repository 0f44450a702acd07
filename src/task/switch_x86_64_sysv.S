/*
 * src/task/switch_x86_64_sysv.S - cio__ctx_switch for x86-64, System V ABI
 * (Linux, the BSDs, macOS). See context.h.
 *
 * Saved on the stack of the context being left, in this order: rbp, rbx,
 * r12-r15 (the callee-saved registers), then MXCSR and the x87 control word,
 * whose control bits are callee-saved too. cio_ctx.sp is the first field of
 * the struct, so (%rdi) and (%rsi) address it directly.
 */
#if defined(__x86_64__) && !defined(_WIN32)

#if defined(__APPLE__)
#define SYM(x) _##x
#define FUNC(x) .globl SYM(x); .private_extern SYM(x); SYM(x):
#define END(x)
#else
#define SYM(x) x
#define FUNC(x) .globl x; .hidden x; .type x, @function; x:
#define END(x) .size x, . - x
#endif

    .text
    .p2align 4
FUNC(cio__ctx_switch)
    .cfi_startproc
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    subq    $8, %rsp
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    %rsp, (%rdi)        /* from->sp */
    movq    (%rsi), %rsp        /* to->sp */
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    /* Not `ret`: the return address was pushed on another stack, so the
     * CPU's return predictor would miss on every switch. An indirect jump
     * costs about half. */
    popq    %rcx
    jmpq    *%rcx
    .cfi_endproc
END(cio__ctx_switch)

/* The first switch to a new context "returns" here, with the entry point
 * in r13 and its argument in r12 (see cio__ctx_make). The stack is 16-byte
 * aligned at the call, as the ABI wants. */
    .p2align 4
FUNC(cio__ctx_start)
    movq    %r12, %rdi
    callq   *%r13
    ud2                         /* entry must not return */
END(cio__ctx_start)

#if defined(__linux__) && defined(__ELF__)
    .section .note.GNU-stack, "", @progbits
#endif
#endif
