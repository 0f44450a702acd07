/*
 * tests/cross/test_context.c - the context switch and the task stacks on
 * their own, with no loop: the piece of cio written per ABI, checked on
 * every ABI. The main project's tests run it natively and, in the aarch64
 * cross build, under qemu; tests/cross/CMakeLists.txt also builds it for
 * Windows x64 with mingw-w64 and runs it under Wine.
 *
 *   test_context            every check below; exit 0 on success
 *   test_context overflow   overflows a context's stack on purpose: the
 *                           guard page must stop it, and the report must
 *                           name the context ("deep")
 *   test_context overflow16k, overflow48k
 *                           the same through frames of 16 and 48 KiB that
 *                           are written at their low end only
 *
 * A context switch must hand each context back the registers the ABI
 * makes callee-saved, its floating-point control state and its stack (the
 * TIB's stack bounds too, on Windows). So some contexts keep many integers
 * and doubles live across each switch while the contexts that resume them
 * fill the callee-saved registers with garbage first, one context runs in
 * another rounding mode than the rest, and a deep recursion switches away
 * from the middle of its frames.
 */
#include <fenv.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(_WIN32)
#include <windows.h>
#endif

#include "context.h"
#include "stack.h"

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);        \
            fflush(stderr);                                                                  \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

static cio_ctx main_ctx;

/* Overwrites every callee-saved register the compiler lets us name (not
 * the frame pointer) just before a switch: a switch that failed to restore
 * one would hand this garbage to the context it resumes. */
static inline void scramble(void) {
#if defined(__x86_64__) && defined(_WIN32)
    __asm__ volatile("movq $-1, %%rbx\n\tmovq $-1, %%rdi\n\tmovq $-1, %%rsi\n\t"
                     "movq $-1, %%r12\n\tmovq $-1, %%r13\n\tmovq $-1, %%r14\n\tmovq $-1, %%r15\n\t"
                     "pcmpeqd %%xmm6, %%xmm6\n\tpcmpeqd %%xmm7, %%xmm7\n\tpcmpeqd %%xmm8, %%xmm8\n\t"
                     "pcmpeqd %%xmm9, %%xmm9\n\tpcmpeqd %%xmm10, %%xmm10\n\tpcmpeqd %%xmm11, %%xmm11\n\t"
                     "pcmpeqd %%xmm12, %%xmm12\n\tpcmpeqd %%xmm13, %%xmm13\n\tpcmpeqd %%xmm14, %%xmm14\n\t"
                     "pcmpeqd %%xmm15, %%xmm15" ::
                         : "rbx", "rdi", "rsi", "r12", "r13", "r14", "r15", "xmm6", "xmm7", "xmm8", "xmm9",
                           "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory");
#elif defined(__x86_64__)
    __asm__ volatile("movq $-1, %%rbx\n\tmovq $-1, %%r12\n\tmovq $-1, %%r13\n\t"
                     "movq $-1, %%r14\n\tmovq $-1, %%r15" ::
                         : "rbx", "r12", "r13", "r14", "r15", "memory");
#elif defined(__aarch64__)
    __asm__ volatile("mov x19, #-1\n\tmov x20, #-1\n\tmov x21, #-1\n\tmov x22, #-1\n\tmov x23, #-1\n\t"
                     "mov x24, #-1\n\tmov x25, #-1\n\tmov x26, #-1\n\tmov x27, #-1\n\tmov x28, #-1\n\t"
                     "movi v8.2d, #-1\n\tmovi v9.2d, #-1\n\tmovi v10.2d, #-1\n\tmovi v11.2d, #-1\n\t"
                     "movi v12.2d, #-1\n\tmovi v13.2d, #-1\n\tmovi v14.2d, #-1\n\tmovi v15.2d, #-1" ::
                         : "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "v8", "v9",
                           "v10", "v11", "v12", "v13", "v14", "v15", "memory");
#endif
}

/* Seeds read through volatile, so that every value derived from them is
 * computed before a switch and must survive it in a register or a spill. */
static volatile uint64_t vseed[10] = {3, 5, 7, 11, 13, 17, 19, 23, 29, 31};
static volatile double dseed[10] = {0.5, 1.25, 2.75, 3.5, 4.125, 5.0625, 6.5, 7.75, 8.25, 9.875};
static const uint64_t iexp[10] = {3, 5, 7, 11, 13, 17, 19, 23, 29, 31};
static const double dexp[10] = {0.5, 1.25, 2.75, 3.5, 4.125, 5.0625, 6.5, 7.75, 8.25, 9.875};
static volatile double one = 1.0, three = 3.0;
static double third_nearest, third_up;

/* Switches from `self` to `to` with 10 integers and 10 doubles live across
 * the switch (the compiler keeps them in callee-saved registers, spilling
 * what does not fit), then checks them and the rounding mode. The context
 * that resumes this one must have come through switch_scrambled. */
static void switch_keeping(cio_ctx *self, cio_ctx *to, uint64_t salt, int upward) {
    uint64_t a0 = vseed[0] * salt, a1 = vseed[1] * salt, a2 = vseed[2] * salt, a3 = vseed[3] * salt;
    uint64_t a4 = vseed[4] * salt, a5 = vseed[5] * salt, a6 = vseed[6] * salt, a7 = vseed[7] * salt;
    uint64_t a8 = vseed[8] * salt, a9 = vseed[9] * salt;
    double s = (double)(salt & 0xffff);
    double d0 = dseed[0] + s, d1 = dseed[1] + s, d2 = dseed[2] + s, d3 = dseed[3] + s, d4 = dseed[4] + s;
    double d5 = dseed[5] + s, d6 = dseed[6] + s, d7 = dseed[7] + s, d8 = dseed[8] + s, d9 = dseed[9] + s;
    cio__ctx_switch(self, to);
    CHECK(a0 == iexp[0] * salt && a1 == iexp[1] * salt && a2 == iexp[2] * salt && a3 == iexp[3] * salt);
    CHECK(a4 == iexp[4] * salt && a5 == iexp[5] * salt && a6 == iexp[6] * salt && a7 == iexp[7] * salt);
    CHECK(a8 == iexp[8] * salt && a9 == iexp[9] * salt);
    /* Small integers plus exact binary fractions: exact in any rounding mode. */
    CHECK(d0 == dexp[0] + s && d1 == dexp[1] + s && d2 == dexp[2] + s && d3 == dexp[3] + s);
    CHECK(d4 == dexp[4] + s && d5 == dexp[5] + s && d6 == dexp[6] + s && d7 == dexp[7] + s);
    CHECK(d8 == dexp[8] + s && d9 == dexp[9] + s);
    CHECK(fegetround() == (upward ? FE_UPWARD : FE_TONEAREST));
    CHECK(one / three == (upward ? third_up : third_nearest));
}

/* Switches with garbage in every callee-saved register: the context it
 * resumes gets its own values back only if the switch restores them all. */
static void switch_scrambled(cio_ctx *self, cio_ctx *to, int upward) {
    scramble();
    cio__ctx_switch(self, to);
    CHECK(fegetround() == (upward ? FE_UPWARD : FE_TONEAREST));
    CHECK(one / three == (upward ? third_up : third_nearest));
}

/* ---- a ring of contexts: main -> w0 -> w1 -> ... -> main ---- */

/* Main and the odd workers keep values across their switches, the even
 * workers (each resuming a keeper) scramble: an even-sized ring. */
enum { RING = 5, ROUNDS = 20000 };

typedef struct worker {
    cio_ctx ctx;
    cio_ctx *next;
    cio_stack stack;
    int id, upward, rounds;
} worker;

static void worker_main(void *arg) {
    worker *w = arg;
    if (w->upward) CHECK(fesetround(FE_UPWARD) == 0);
    for (int r = 0; r < ROUNDS; r++) {
        if (w->id % 2)
            switch_keeping(&w->ctx, w->next, (uint64_t)r * 1000003u + (uint64_t)w->id + 1, w->upward);
        else
            switch_scrambled(&w->ctx, w->next, w->upward);
        w->rounds++;
    }
    for (;;) cio__ctx_switch(&w->ctx, w->next);
}

static void test_ring(void) {
    worker w[RING];
    memset(w, 0, sizeof w);
    for (int i = 0; i < RING; i++) {
        CHECK(cio__stack_get(&w[i].stack, 64 * 1024) == 0);
        w[i].id = i;
        w[i].upward = i == 1; /* one context rounds upward; the others must not notice */
        w[i].next = i + 1 < RING ? &w[i + 1].ctx : &main_ctx;
        cio__ctx_make(&w[i].ctx, w[i].stack.base, w[i].stack.size, worker_main, &w[i]);
    }
    for (int r = 0; r <= ROUNDS; r++) switch_keeping(&main_ctx, &w[0].ctx, (uint64_t)r + 77, 0);
    for (int i = 0; i < RING; i++) {
        CHECK(w[i].rounds == ROUNDS);
        cio__stack_put(&w[i].stack);
    }
    CHECK(fegetround() == FE_TONEAREST);
}

/* ---- a deep recursion that switches away from the middle of it ---- */

static cio_ctx deep_ctx;
static int deep_switches;

static unsigned long deep(int depth, int max) {
    volatile unsigned char buf[1000];
    for (int i = 0; i < (int)sizeof buf; i++) buf[i] = (unsigned char)(depth * 31 + i);
    if (depth % 8 == 0) {
        scramble();
        cio__ctx_switch(&deep_ctx, &main_ctx);
        deep_switches++;
    }
    unsigned long sum = depth < max ? deep(depth + 1, max) : 0;
    for (int i = 0; i < (int)sizeof buf; i++) {
        CHECK(buf[i] == (unsigned char)(depth * 31 + i));
        sum += buf[i];
    }
    return sum;
}

/* One frame larger than a page: compilers probe such frames page by page
 * (___chkstk_ms on Windows), which must find the stack where the TIB says. */
static unsigned long big_frame(void) {
    volatile unsigned char big[48 * 1024];
    for (size_t i = 0; i < sizeof big; i += 512) big[i] = (unsigned char)i;
    unsigned long sum = 0;
    for (size_t i = 0; i < sizeof big; i += 512) sum += big[i];
    return sum;
}

static unsigned long deep_result;

static void deep_main(void *arg) {
    (void)arg;
    deep_result = deep(0, 160) + big_frame();
    cio__ctx_switch(&deep_ctx, &main_ctx);
    CHECK(!"a finished context was resumed");
}

static void test_deep(void) {
    cio_stack st;
    /* 160 frames of ~1 KiB; sanitizers make frames larger, hence the room. */
    CHECK(cio__stack_get(&st, 512 * 1024) == 0);
    cio__ctx_make(&deep_ctx, st.base, st.size, deep_main, NULL);
    int expected = 160 / 8 + 1;
    for (int i = 0; i <= expected; i++) switch_keeping(&main_ctx, &deep_ctx, (uint64_t)i + 5, 0);
    CHECK(deep_switches == expected);
    unsigned long want = 0;
    for (int d = 0; d <= 160; d++)
        for (int i = 0; i < 1000; i++) want += (unsigned char)(d * 31 + i);
    for (size_t i = 0; i < 48 * 1024; i += 512) want += (unsigned char)i;
    CHECK(deep_result == want);
    cio__stack_put(&st);
}

/* ---- longjmp inside a context (on Windows it unwinds, checking the TIB's bounds) ---- */

static cio_ctx jump_ctx;
static jmp_buf jump_env;
static volatile int jump_landed;

static void jump_down(int n) {
    volatile char pad[256];
    pad[0] = (char)n;
    if (n < 0) return;
    if (n == 0) {
        cio__ctx_switch(&jump_ctx, &main_ctx); /* leave from the bottom, come back, then jump */
        longjmp(jump_env, 42);
    }
    jump_down(n - 1);
    pad[1] = pad[0];
}

static void jump_main(void *arg) {
    (void)arg;
    int r = setjmp(jump_env);
    if (r == 0) {
        jump_down(12);
        CHECK(!"longjmp returned");
    }
    CHECK(r == 42);
    jump_landed = 1;
    cio__ctx_switch(&jump_ctx, &main_ctx);
    CHECK(!"a finished context was resumed");
}

static void test_longjmp(void) {
    cio_stack st;
    CHECK(cio__stack_get(&st, 64 * 1024) == 0);
    cio__ctx_make(&jump_ctx, st.base, st.size, jump_main, NULL);
    cio__ctx_switch(&main_ctx, &jump_ctx);
    CHECK(!jump_landed);
    cio__ctx_switch(&main_ctx, &jump_ctx);
    CHECK(jump_landed);
    cio__stack_put(&st);
}

/* ---- many contexts at once, and stacks coming back from the pool ---- */

enum { MANY = 200 };
static cio_ctx many_ctx[MANY];
static int many_token, many_seen[MANY];

static void many_main(void *arg) {
    int i = (int)(intptr_t)arg;
    for (;;) {
        many_seen[i] = ++many_token;
        cio__ctx_switch(&many_ctx[i], i + 1 < MANY ? &many_ctx[i + 1] : &main_ctx);
    }
}

static void test_many(void) {
    static cio_stack st[MANY];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < MANY; i++) {
            CHECK(cio__stack_get(&st[i], 32 * 1024) == 0);
            CHECK(st[i].size >= 32 * 1024);
            cio__ctx_make(&many_ctx[i], st[i].base, st[i].size, many_main, (void *)(intptr_t)i);
        }
        many_token = 0;
        for (int round = 1; round <= 3; round++) {
            cio__ctx_switch(&main_ctx, &many_ctx[0]);
            for (int i = 0; i < MANY; i++) CHECK(many_seen[i] == (round - 1) * MANY + i + 1);
        }
        for (int i = 0; i < MANY; i++) cio__stack_put(&st[i]);
    }
}

/* ---- Windows: the TIB follows the stack, and the guard pages exist ---- */

#if defined(_WIN32)
/* gs:[off] of the running thread's TEB (the intrinsics trip gcc 12's -Warray-bounds). */
static void *teb_read(uintptr_t off) {
    void *v;
    __asm__ volatile("movq %%gs:(%1), %0" : "=r"(v) : "r"(off));
    return v;
}
#define TIB() ((NT_TIB *)teb_read(0x30)) /* NT_TIB.Self */

static cio_ctx tib_ctx;
static cio_stack tib_stack;
static void *tib_seen[3];

static void tib_main(void *arg) {
    (void)arg;
    NT_TIB *tib = TIB();
    volatile char here = 0;
    tib_seen[0] = tib->StackBase;
    tib_seen[1] = tib->StackLimit;
    tib_seen[2] = teb_read(0x1478);
    CHECK((char *)tib->StackLimit <= (char *)&here && (char *)&here < (char *)tib->StackBase);
    cio__ctx_switch(&tib_ctx, &main_ctx);
    CHECK(!"a finished context was resumed");
}

static void test_tib(void) {
    NT_TIB *tib = TIB();
    void *base = tib->StackBase, *limit = tib->StackLimit, *dealloc = teb_read(0x1478);
    CHECK(cio__stack_get(&tib_stack, 64 * 1024) == 0);
    MEMORY_BASIC_INFORMATION mbi;
    CHECK(VirtualQuery(tib_stack.base - 1, &mbi, sizeof mbi) == sizeof mbi);
    CHECK((mbi.State == MEM_COMMIT && (mbi.Protect & (PAGE_GUARD | PAGE_NOACCESS))) ||
          mbi.State == MEM_RESERVE);
    void *reservation = mbi.AllocationBase;
    CHECK(VirtualQuery(reservation, &mbi, sizeof mbi) == sizeof mbi);
    CHECK(mbi.State == MEM_RESERVE); /* the bottom page is never committed */
    cio__ctx_make(&tib_ctx, tib_stack.base, tib_stack.size, tib_main, NULL);
    cio__ctx_switch(&main_ctx, &tib_ctx);
    CHECK(tib_seen[0] == tib_stack.base + tib_stack.size);
    CHECK(tib_seen[1] == tib_stack.base);
    CHECK(tib_seen[2] == reservation);
    CHECK(tib->StackBase == base && tib->StackLimit == limit);
    CHECK(teb_read(0x1478) == dealloc);
    cio__stack_put(&tib_stack);
}
#endif

/* ---- the cost of a switch (printed, never checked) ---- */

static cio_ctx bench_ctx;

static void bench_main(void *arg) {
    (void)arg;
    for (;;) cio__ctx_switch(&bench_ctx, &main_ctx);
}

static void bench(void) {
    cio_stack st;
    CHECK(cio__stack_get(&st, 64 * 1024) == 0);
    cio__ctx_make(&bench_ctx, st.base, st.size, bench_main, NULL);
    enum { N = 200000 };
    clock_t t0 = clock();
    for (int i = 0; i < N; i++) cio__ctx_switch(&main_ctx, &bench_ctx);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("context: %.1f ns per switch (%d round trips, %.3f s)\n", secs * 1e9 / (2.0 * N), N, secs);
    cio__stack_put(&st);
}

/* ---- overflow: run by its own ctest, which expects the report ---- */

static volatile unsigned long bottom = (unsigned long)-1;
static cio_ctx overflow_ctx;

static unsigned long bottomless(unsigned long n) {
    volatile char pad[512];
    pad[n % sizeof pad] = (char)n;
    if (n == bottom) return 0;
    return bottomless(n + 1) + (unsigned long)pad[(n * 7) % sizeof pad];
}

static void overflow_main(void *arg) {
    (void)arg;
    printf("overflowing: %lu\n", bottomless(0)); /* never printed */
    exit(1);
}

/* Frames larger than a page, written at their low end only: without a
 * guard larger than the frame (POSIX) or the compiler's probes of every
 * page (Windows), each step jumps over a one-page guard. Not inlined into
 * itself: that would make one frame of several times the size, larger
 * than any guard. */
#define BIG_FRAME(N)                                                     \
    __attribute__((noinline)) static unsigned long big_##N(unsigned long n) { \
        volatile char pad[N];                                            \
        for (int i = 0; i < 64; i++) pad[i] = (char)(n + (unsigned)i);   \
        if (n == bottom) return 0;                                       \
        return big_##N(n + 1) + (unsigned long)pad[1];                   \
    }
BIG_FRAME(16384)
BIG_FRAME(49152)

static int big_frames;

static void overflow_big_main(void *arg) {
    (void)arg;
    printf("overflowing: %lu\n", big_frames == 16 ? big_16384(0) : big_49152(0)); /* never printed */
    exit(1);
}

static int overflow(int frames_kib) {
    CHECK(cio__stack_guard_install() == 0);
    cio_stack st;
    CHECK(cio__stack_get(&st, 64 * 1024) == 0);
    cio_stack_owner owner = {st.base - cio__stack_guard_size(), cio__stack_guard_size(), "deep"};
    big_frames = frames_kib;
    cio__ctx_make(&overflow_ctx, st.base, st.size, frames_kib ? overflow_big_main : overflow_main, NULL);
    fflush(stdout);
    cio__stack_running(&owner);
    cio__ctx_switch(&main_ctx, &overflow_ctx);
    fprintf(stderr, "the overflowing context came back\n");
    return 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
#if defined(_WIN32)
    /* A crash must end the run, not wait on an error dialog or a debugger. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
#endif
    if (argc > 1 && strcmp(argv[1], "overflow") == 0) return overflow(0);
    if (argc > 1 && strcmp(argv[1], "overflow16k") == 0) return overflow(16);
    if (argc > 1 && strcmp(argv[1], "overflow48k") == 0) return overflow(48);
    third_nearest = one / three;
    CHECK(fesetround(FE_UPWARD) == 0);
    third_up = one / three;
    CHECK(fesetround(FE_TONEAREST) == 0);
    CHECK(third_up > third_nearest); /* the rounding mode reaches the arithmetic we check with */
    CHECK(cio__stack_page() >= 4096);

    test_ring();
    printf("ring: %d contexts x %d rounds ok\n", RING, ROUNDS);
    test_deep();
    printf("deep recursion ok (%d switches from inside it)\n", deep_switches);
    test_longjmp();
    printf("longjmp inside a context ok\n");
    test_many();
    printf("%d contexts at once ok\n", MANY);
#if defined(_WIN32)
    test_tib();
    printf("TIB stack bounds follow the switch ok\n");
#endif
    bench();
    printf("context: all checks passed\n");
    return 0;
}
