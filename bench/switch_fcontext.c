/*
 * bench/switch_fcontext.c - the anchor for bench/switch.sh: the same
 * ping-pong as `switch_cio raw`, with Boost.Context's fcontext.
 *
 * Usage: switch_fcontext SWITCHES
 *
 * Boost.Context's low-level switch is three assembly functions with C
 * linkage (make_fcontext, jump_fcontext, ontop_fcontext) in
 * libboost_context; its header is C++, so the two used here are declared
 * below as the library defines them (Boost 1.61 and later: a context is a
 * pointer, a switch returns the context it left and a data word in two
 * registers). Linked statically, so that a switch is a direct call as
 * cio's is.
 *
 * Prints one line, e.g.
 *     bench=switch impl=fcontext mode=raw switches=20000000 ns=... ns_per_switch=2.20 enters=0
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

typedef void *fcontext_t;
typedef struct transfer_t {
    fcontext_t fctx;
    void *data;
} transfer_t;

transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

/* Switches straight back every time it is resumed; never returns. */
static void bounce(transfer_t t) {
    for (;;) t = jump_fcontext(t.fctx, NULL);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SWITCHES\n", argv[0]);
        return 2;
    }
    uint64_t switches = bench_arg(argv[0], argv[1], "switch count") & ~(uint64_t)1;
    size_t size = 64 * 1024;
    char *stack = aligned_alloc(64, size);
    if (!stack) return 1;
    /* make_fcontext takes the top of the stack; it grows down from there. */
    fcontext_t co = make_fcontext(stack + size, size, bounce);
    co = jump_fcontext(co, NULL).fctx; /* first entry: fault the stack in, off the clock */
    uint64_t rounds = switches / 2;
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < rounds; i++) co = jump_fcontext(co, NULL).fctx;
    uint64_t ns = bench_now_ns() - t0;
    printf("bench=switch impl=fcontext mode=raw switches=%llu ns=%llu ns_per_switch=%.3f enters=0\n",
           (unsigned long long)switches, (unsigned long long)ns, switches ? (double)ns / (double)switches : 0.0);
    return 0;
}
