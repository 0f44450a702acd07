/*
 * src/core/timer_heap.c - an intrusive pairing heap of ops keyed by
 * (when, seq).
 *
 * Linked through the ops themselves, so it costs no allocation. Insert is
 * O(1); removing the minimum or any node is amortised O(log n). The merge
 * is iterative so that a root with a million children cannot overflow the
 * stack. `seq` breaks ties so that ops due at the same instant come out in
 * the order they went in. The core's timer wheel (timer_wheel.c) orders
 * the timers of its current tick with it; a simulated backend keeps its
 * ops by virtual completion time in one.
 */
#include "internal.h"

#define H(op) ((op)->internal_.u.heap)

static bool earlier(const cio_op *a, const cio_op *b) {
    if (a->internal_.when != b->internal_.when) return a->internal_.when < b->internal_.when;
    return (int32_t)(a->internal_.seq - b->internal_.seq) < 0;
}

/* Joins two heap roots (their sibling links are NULL); returns the new root. */
static cio_op *meld(cio_op *a, cio_op *b) {
    if (earlier(b, a)) {
        cio_op *t = a;
        a = b;
        b = t;
    }
    H(b).sibling = H(a).child;
    if (H(a).child) H(H(a).child).prev = b;
    H(b).prev = a;
    H(a).child = b;
    return a;
}

/* The classic two-pass merge of a sibling list into one heap. */
static cio_op *merge_pairs(cio_op *first) {
    if (!first) return NULL;
    cio_op *pairs = NULL; /* melded pairs, in reverse order, linked by sibling */
    while (first) {
        cio_op *a = first, *b = H(a).sibling;
        if (!b) {
            H(a).sibling = pairs;
            pairs = a;
            break;
        }
        first = H(b).sibling;
        H(a).sibling = H(b).sibling = NULL;
        cio_op *m = meld(a, b);
        H(m).sibling = pairs;
        pairs = m;
    }
    cio_op *root = pairs;
    pairs = H(root).sibling;
    H(root).sibling = NULL;
    while (pairs) {
        cio_op *next = H(pairs).sibling;
        H(pairs).sibling = NULL;
        root = meld(root, pairs);
        pairs = next;
    }
    H(root).prev = NULL;
    return root;
}

void cio__heap_add(cio_heap *h, cio_op *op) {
    H(op).child = H(op).sibling = H(op).prev = NULL;
    h->root = h->root ? meld(h->root, op) : op;
}

void cio__heap_push(cio_heap *h, cio_op *op) {
    op->internal_.seq = h->seq++;
    cio__heap_add(h, op);
}

void cio__heap_take(cio_heap *h, cio_op *op) {
    cio_op *sub = merge_pairs(H(op).child);
    if (op == h->root) {
        h->root = sub;
        return;
    }
    cio_op *prev = H(op).prev;
    if (H(prev).child == op)
        H(prev).child = H(op).sibling;
    else
        H(prev).sibling = H(op).sibling;
    if (H(op).sibling) H(H(op).sibling).prev = prev;
    if (sub) h->root = meld(h->root, sub);
}
