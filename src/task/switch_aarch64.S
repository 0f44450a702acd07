/*
 * src/task/switch_aarch64.S - cio__ctx_switch for AArch64 (AAPCS64, Linux,
 * the BSDs, macOS). See context.h.
 *
 * Saved on the stack of the context being left: x19-x28, the frame pointer
 * x29 and the link register x30 (where the switch returns to), the low
 * halves d8-d15 of v8-v15, which the ABI makes callee-saved, and FPCR (the
 * rounding mode, flush-to-zero and default-NaN controls, which the ABI also
 * preserves across calls). 176 bytes, keeping sp 16-byte aligned.
 *
 * FPCR is written back only when it differs: on many cores a write to it
 * is much slower than the read, and it almost never differs.
 */
#if defined(__aarch64__)

#if defined(__APPLE__)
#define FUNC(x) .globl _##x; .private_extern _##x; .p2align 2; _##x:
#define END(x)
#else
#define FUNC(x) .globl x; .hidden x; .type x, %function; .p2align 2; x:
#define END(x) .size x, . - x
#endif

/* With -mbranch-protection, a function reached by an indirect call must
 * start with a landing pad (a no-op hint on older cores). */
#if defined(__ARM_FEATURE_BTI_DEFAULT)
#define LANDING_PAD hint #34 /* bti c */
#else
#define LANDING_PAD
#endif

    .text
FUNC(cio__ctx_switch)
    LANDING_PAD
    sub     sp, sp, #0xb0
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
    mrs     x9, fpcr
    str     x9, [sp, #0xa0]
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
    ldr     x9, [sp, #0xa0]
    mrs     x10, fpcr
    cmp     x9, x10
    b.eq    1f
    msr     fpcr, x9
1:  add     sp, sp, #0xb0
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

/* Tell the linker this object is fit for branch-target identification and
 * pointer authentication when the C code is built for them; without the
 * note, linking it in would turn both off for the whole program. */
#if defined(__ARM_FEATURE_BTI_DEFAULT) || defined(__ARM_FEATURE_PAC_DEFAULT)
    .pushsection .note.gnu.property, "a"
    .p2align 3
    .word   4                   /* name size: "GNU\0" */
    .word   16                  /* descriptor size */
    .word   5                   /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz  "GNU"
    .word   0xc0000000          /* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
    .word   4
#if defined(__ARM_FEATURE_BTI_DEFAULT) && defined(__ARM_FEATURE_PAC_DEFAULT)
    .word   3                   /* BTI | PAC */
#elif defined(__ARM_FEATURE_BTI_DEFAULT)
    .word   1                   /* BTI */
#else
    .word   2                   /* PAC */
#endif
    .word   0
    .popsection
#endif
#endif
#endif
