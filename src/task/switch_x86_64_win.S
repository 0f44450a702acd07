/*
 * src/task/switch_x86_64_win.S - cio__ctx_switch for x86-64 Windows
 * (Microsoft x64 ABI; mingw-w64 and clang's GNU assembler syntax). See
 * context.h. `from` arrives in rcx, `to` in rdx.
 *
 * Saved on the stack of the context being left, from the top down: the
 * callee-saved rbp, rbx, rdi, rsi, r12-r15; the TIB's StackBase (gs:0x08),
 * StackLimit (gs:0x10) and DeallocationStack (gs:0x1478), which must
 * always describe the stack in use (exception dispatch, longjmp's unwind,
 * stack probes and the kernel's stack growth read them); then the
 * callee-saved xmm6-xmm15 in full and MXCSR with the x87 control word.
 * 272 bytes with the return address; rsp is 16-aligned after the subq.
 */
#if defined(__x86_64__) && defined(_WIN32)

#define FUNC(x) .globl x; .def x; .scl 2; .type 32; .endef; x:

    .text
    .p2align 4
FUNC(cio__ctx_switch)
    pushq   %rbp
    pushq   %rbx
    pushq   %rdi
    pushq   %rsi
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %gs:0x08, %rax
    pushq   %rax
    movq    %gs:0x10, %rax
    pushq   %rax
    movq    %gs:0x1478, %rax
    pushq   %rax
    subq    $176, %rsp
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movaps  %xmm6, 16(%rsp)
    movaps  %xmm7, 32(%rsp)
    movaps  %xmm8, 48(%rsp)
    movaps  %xmm9, 64(%rsp)
    movaps  %xmm10, 80(%rsp)
    movaps  %xmm11, 96(%rsp)
    movaps  %xmm12, 112(%rsp)
    movaps  %xmm13, 128(%rsp)
    movaps  %xmm14, 144(%rsp)
    movaps  %xmm15, 160(%rsp)
    movq    %rsp, (%rcx)        /* from->sp */
    movq    (%rdx), %rsp        /* to->sp */
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    movaps  16(%rsp), %xmm6
    movaps  32(%rsp), %xmm7
    movaps  48(%rsp), %xmm8
    movaps  64(%rsp), %xmm9
    movaps  80(%rsp), %xmm10
    movaps  96(%rsp), %xmm11
    movaps  112(%rsp), %xmm12
    movaps  128(%rsp), %xmm13
    movaps  144(%rsp), %xmm14
    movaps  160(%rsp), %xmm15
    addq    $176, %rsp
    popq    %rax
    movq    %rax, %gs:0x1478
    popq    %rax
    movq    %rax, %gs:0x10
    popq    %rax
    movq    %rax, %gs:0x08
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rsi
    popq    %rdi
    popq    %rbx
    popq    %rbp
    ret

/* The first switch to a new context returns here with rsp 16-aligned, the
 * entry point in r13 and its argument in r12 (see cio__ctx_make). The
 * unwind data lets a stack walk (debugger, exception dispatch) step over
 * this frame to the zero return address above it, where the walk ends. */
    .p2align 4
FUNC(cio__ctx_start)
    .seh_proc cio__ctx_start
    subq    $32, %rsp           /* the callee's home area */
    .seh_stackalloc 32
    .seh_endprologue
    movq    %r12, %rcx
    callq   *%r13
    ud2                         /* entry must not return */
    .seh_endproc
#endif
