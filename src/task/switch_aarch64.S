/*
 * src/task/switch_aarch64.S - cio__ctx_switch for AArch64 (AAPCS64, Linux,
 * the BSDs, macOS). See context.h.
 *
 * Saved on the stack of the context being left: x19-x28, the frame pointer
 * x29 and the link register x30 (where the switch returns to), then the
 * low halves d8-d15 of v8-v15, which the ABI makes callee-saved. 160 bytes,
 * keeping sp 16-byte aligned.
 */
#if defined(__aarch64__)

#if defined(__APPLE__)
#define FUNC(x) .globl _##x; .private_extern _##x; .p2align 2; _##x:
#define END(x)
#else
#define FUNC(x) .globl x; .hidden x; .type x, %function; .p2align 2; x:
#define END(x) .size x, . - x
#endif

    .text
FUNC(cio__ctx_switch)
    sub     sp, sp, #0xa0
    stp     x19, x20, [sp, #0x00]
    stp     x21, x22, [sp, #0x10]
    stp     x23, x24, [sp, #0x20]
    stp     x25, x26, [sp, #0x30]
    stp     x27, x28, [sp, #0x40]
    stp     x29, x30, [sp, #0x50]
    stp     d8,  d9,  [sp, #0x60]
    stp     d10, d11, [sp, #0x70]
    stp     d12, d13, [sp, #0x80]
    stp     d14, d15, [sp, #0x90]
    mov     x2, sp
    str     x2, [x0]            /* from->sp */
    ldr     x2, [x1]            /* to->sp */
    mov     sp, x2
    ldp     x19, x20, [sp, #0x00]
    ldp     x21, x22, [sp, #0x10]
    ldp     x23, x24, [sp, #0x20]
    ldp     x25, x26, [sp, #0x30]
    ldp     x27, x28, [sp, #0x40]
    ldp     x29, x30, [sp, #0x50]
    ldp     d8,  d9,  [sp, #0x60]
    ldp     d10, d11, [sp, #0x70]
    ldp     d12, d13, [sp, #0x80]
    ldp     d14, d15, [sp, #0x90]
    add     sp, sp, #0xa0
    ret
END(cio__ctx_switch)

/* The first switch to a new context returns here (x30), with the entry in
 * x20 and its argument in x19 (see cio__ctx_make). */
FUNC(cio__ctx_start)
    mov     x0, x19
    blr     x20
    brk     #0                  /* entry must not return */
END(cio__ctx_start)

#if defined(__linux__) && defined(__ELF__)
    .section .note.GNU-stack, "", %progbits
#endif
#endif
