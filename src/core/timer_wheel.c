/*
 * src/core/timer_wheel.c - the core's timers and deadlines: a hierarchical
 * timing wheel in front of a small exact heap.
 *
 * Why not one heap: with a million timers pending, each removal from a
 * pairing heap walks nodes scattered over the whole million (issue 12
 * measured 84% of a million-timer run there). A wheel files a timer in
 * O(1) by the bits of its deadline and takes it out in O(1) through its
 * links; only the timers of the current tick are sorted, in a heap that
 * stays small and warm in the cache.
 *
 * Time is cut into ticks of 2^TICK_SHIFT ns (about a millisecond). `cur`
 * is the tick up to which every timer has been moved into `soon`, the
 * pairing heap (timer_heap.c) that orders them exactly by (when, seq): so
 * nothing fires before its deadline, and equal deadlines fire in the order
 * they were armed (a re-armed timer counts as armed anew), as they did
 * when one heap held them all.
 *
 * A timer due at a later tick t sits in the wheel at the level of the
 * highest group of bits in which t differs from cur, in the slot that its
 * own bits of that group name (the scheme of William Ahern's timeout.c).
 * Level 0 is the low L0_BITS bits of the tick (a second's worth of ticks,
 * so that the common timeouts, under a second, are filed once and never
 * cascade), each level above the next LEVEL_BITS. Hence a level's occupied
 * slots all lie after cur's own slot at that level, every timer of a level
 * is due before every timer of the levels above it, and the earliest timer
 * is in the lowest occupied slot of the lowest occupied level: a few bit
 * scans. When cur moves to a tick no timer is due before, only the one
 * slot per level whose bits cur now shares can hold timers that belong
 * lower: they are filed again (the cascade), so a timer moves down at most
 * once per level on its way to `soon`. In a slot, timers are a doubly
 * linked list through internal_.u.heap (sibling: next, prev: prev), which
 * is what makes the removal of any timer O(1): a cancel, a timer update,
 * or an op that finished before its deadline, the common case of
 * deadlines.
 */
#include <stdlib.h>

#include "internal.h"

/* A tick of about 1 ms: `soon` then holds the timers of one millisecond,
 * few enough to sort while they are in the cache; level 0 spans 2^30 ns,
 * just over a second. bench/timers.sh measures them (docs/BENCHMARKS.md). */
#ifndef CIO_WHEEL_TICK_SHIFT
#define CIO_WHEEL_TICK_SHIFT 20
#endif
#define TICK_SHIFT CIO_WHEEL_TICK_SHIFT
#define L0_BITS 10 /* at most 12: one summary word covers level 0's bitmap */
#define L0_SLOTS (1u << L0_BITS)
#define L0_WORDS (L0_SLOTS / 64)
#define LEVEL_BITS 6
/* Levels above 0, enough for any 64-bit deadline (UINT64_MAX is "never"). */
#define UPPER ((64 - TICK_SHIFT - L0_BITS + LEVEL_BITS - 1) / LEVEL_BITS)
#define LEVELS (1 + UPPER)
#define SLOTS (L0_SLOTS + UPPER * (1u << LEVEL_BITS))

/* How far ahead of the present a wait may move cur, filing the earliest
 * slot lower until its timers are in `soon`, to learn their exact earliest
 * time (see cio__timers_next). */
#define PULL_TICKS 64

/* A slot is LANES lists, a timer in the one its address picks (a
 * Fibonacci hash, so that ops placed at any stride spread). Moving a slot
 * walks its timers, which lie anywhere in memory, and a walk of one list
 * waits for each node before it knows the next: walking the lanes side by
 * side keeps that many loads in flight (a fifth less time for a million
 * timers than one list; 8 lanes did no better). The wheel is then 45 KB. */
#define LANE_BITS 2
#define LANES (1u << LANE_BITS)
static inline unsigned lane_of(const cio_op *op) {
    return (unsigned)((((uint64_t)(uintptr_t)op >> 6) * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - LANE_BITS));
}

struct cio_wheel {
    uint64_t cur;            /* every timer due at a tick <= cur is in `soon` */
    cio_heap soon;           /* those timers, exactly ordered; its seq numbers arming */
    uint64_t l0_summary;     /* bit i: l0_occupied[i] is not 0 */
    uint64_t l0_occupied[L0_WORDS];
    uint64_t occupied[UPPER]; /* bit s of occupied[l - 1]: slot s of level l is not empty */
    cio_op *slot[SLOTS][LANES]; /* level 0's, then 64 for each level above */
};

#define W(op) ((op)->internal_.u.heap)

static inline uint64_t tick_of(uint64_t when) { return when >> TICK_SHIFT; }

#if defined(__GNUC__)
static inline unsigned msb64(uint64_t x) { return 63u - (unsigned)__builtin_clzll(x); }
static inline unsigned lsb64(uint64_t x) { return (unsigned)__builtin_ctzll(x); }
#else
static inline unsigned msb64(uint64_t x) {
    unsigned n = 0;
    while (x >>= 1) n++;
    return n;
}
static inline unsigned lsb64(uint64_t x) {
    unsigned n = 0;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
}
#endif

/* Where level `lv`'s bits of a tick begin, and how many there are. */
static inline unsigned shift_of(unsigned lv) { return lv ? L0_BITS + (lv - 1) * LEVEL_BITS : 0; }
static inline unsigned bits_of(unsigned lv) { return lv ? LEVEL_BITS : L0_BITS; }

/* The level of a timer due at tick t > cur, its slot there, and that
 * slot's place in w->slot. */
static inline unsigned level_of(uint64_t t, uint64_t cur) {
    unsigned m = msb64(t ^ cur);
    return m < L0_BITS ? 0 : 1 + (m - L0_BITS) / LEVEL_BITS;
}
static inline unsigned slot_of(uint64_t t, unsigned lv) {
    return (unsigned)(t >> shift_of(lv)) & ((1u << bits_of(lv)) - 1);
}
static inline unsigned index_of(unsigned lv, unsigned s) {
    return lv ? L0_SLOTS + (lv - 1) * (1u << LEVEL_BITS) + s : s;
}

static inline bool occupied(const struct cio_wheel *w, unsigned lv, unsigned s) {
    if (lv) return (w->occupied[lv - 1] >> s) & 1;
    return (w->l0_occupied[s / 64] >> (s % 64)) & 1;
}
static inline void mark(struct cio_wheel *w, unsigned lv, unsigned s) {
    if (lv) {
        w->occupied[lv - 1] |= (uint64_t)1 << s;
        return;
    }
    w->l0_occupied[s / 64] |= (uint64_t)1 << (s % 64);
    w->l0_summary |= (uint64_t)1 << (s / 64);
}
static inline void unmark(struct cio_wheel *w, unsigned lv, unsigned s) {
    if (lv) {
        w->occupied[lv - 1] &= ~((uint64_t)1 << s);
        return;
    }
    if (!(w->l0_occupied[s / 64] &= ~((uint64_t)1 << (s % 64)))) w->l0_summary &= ~((uint64_t)1 << (s / 64));
}

static void file(struct cio_wheel *w, cio_op *op) {
    uint64_t t = tick_of(op->internal_.when);
    if (t <= w->cur) {
        cio__heap_add(&w->soon, op);
        return;
    }
    unsigned lv = level_of(t, w->cur), s = slot_of(t, lv);
    cio_op **head = &w->slot[index_of(lv, s)][lane_of(op)];
    W(op).prev = NULL;
    W(op).sibling = *head;
    if (*head) W(*head).prev = op;
    *head = op;
    mark(w, lv, s);
}

static void unfile(struct cio_wheel *w, cio_op *op) {
    uint64_t t = tick_of(op->internal_.when);
    if (t <= w->cur) {
        cio__heap_take(&w->soon, op);
        return;
    }
    cio_op *prev = W(op).prev, *next = W(op).sibling;
    if (next) W(next).prev = prev;
    if (prev) {
        W(prev).sibling = next;
        return;
    }
    /* The head of its slot. cur moved since it was filed, but every move
     * re-files what would now belong elsewhere, so its place is still
     * the one its tick and cur name. */
    unsigned lv = level_of(t, w->cur), s = slot_of(t, lv);
    cio_op **lanes = w->slot[index_of(lv, s)];
    lanes[lane_of(op)] = next;
    if (next) return;
    for (unsigned i = 0; i < LANES; i++)
        if (lanes[i]) return;
    unmark(w, lv, s);
}

/* Moves cur forward to `to`, where no timer in the wheel is due before,
 * and files again the timers that now belong lower (or in `soon`): those
 * in the one slot per level whose bits `to` shares. Filed again, they go
 * into other slots (their level is where they differ from `to`), so one
 * pass in any order is enough. */
static void advance(struct cio_wheel *w, uint64_t to) {
    w->cur = to;
    for (unsigned lv = 0; lv < LEVELS; lv++) {
        unsigned s = slot_of(to, lv);
        if (!occupied(w, lv, s)) continue;
        cio_op *walk[LANES];
        memcpy(walk, w->slot[index_of(lv, s)], sizeof walk);
        memset(w->slot[index_of(lv, s)], 0, sizeof walk);
        unmark(w, lv, s);
        for (bool more = true; more;) {
            more = false;
            for (unsigned i = 0; i < LANES; i++) {
                cio_op *op = walk[i];
                if (!op) continue;
                walk[i] = W(op).sibling;
#if defined(__GNUC__)
                if (walk[i]) __builtin_prefetch(walk[i]);
#endif
                more |= walk[i] != NULL;
                file(w, op);
            }
        }
    }
}

/* The first tick at which a timer in the wheel can be due: the start of
 * the lowest occupied slot of the lowest occupied level (exact at level
 * 0, whose slots are single ticks), and that level. False: none. */
static bool earliest(const struct cio_wheel *w, uint64_t *tick, unsigned *level) {
    if (w->l0_summary) {
        unsigned i = lsb64(w->l0_summary);
        *tick = (w->cur >> L0_BITS << L0_BITS) | (i * 64 + lsb64(w->l0_occupied[i]));
        *level = 0;
        return true;
    }
    for (unsigned lv = 1; lv < LEVELS; lv++) {
        uint64_t occ = w->occupied[lv - 1];
        if (!occ) continue;
        unsigned shift = shift_of(lv), above = shift + LEVEL_BITS;
        uint64_t high = above >= 64 ? 0 : w->cur >> above << above;
        *tick = high | (uint64_t)lsb64(occ) << shift;
        *level = lv;
        return true;
    }
    return false;
}

int cio__timers_init(cio_core *c) {
    struct cio_wheel *w = calloc(1, sizeof *w);
    if (!w) return -CIO_ENOMEM;
    c->timers.wheel = w;
    c->timers.count = c->timers.never = 0;
    return 0;
}

void cio__timers_fini(cio_core *c) {
    free(c->timers.wheel);
    c->timers.wheel = NULL;
    c->timers.count = c->timers.never = 0;
}

void cio__heap_insert(cio_core *c, cio_op *op) {
    struct cio_wheel *w = c->timers.wheel;
    op->internal_.iflags |= IF_IN_HEAP;
    op->internal_.seq = w->soon.seq++;
    /* An empty wheel starts again from the present: cur may have stayed
     * far behind (no timers, no catching up) or gone ahead (see
     * cio__timers_next), and filing relative to a cur far from the
     * deadlines files them high, to cascade more often. */
    if (c->timers.count++ == 0) w->cur = tick_of(c->now);
    if (op->internal_.when == CIO_TIMEOUT_NEVER) c->timers.never++;
    file(w, op);
}

void cio__heap_remove(cio_core *c, cio_op *op) {
    op->internal_.iflags &= (uint8_t)~IF_IN_HEAP;
    c->timers.count--;
    if (op->internal_.when == CIO_TIMEOUT_NEVER) c->timers.never--;
    unfile(c->timers.wheel, op);
}

cio_op *cio__timers_due(cio_core *c, uint64_t now) {
    if (!c->timers.count) return NULL;
    struct cio_wheel *w = c->timers.wheel;
    uint64_t target = tick_of(now);
    /* One tick at a time: `soon` is emptied before the next tick comes
     * in, so that a loop far behind its timers (a long callback, a busy
     * machine) still sorts one tick's timers at a time, not a big heap
     * of all that are due. Every timer of `soon` is due before every one
     * in the wheel, so the order holds across ticks. */
    while (!w->soon.root) {
        uint64_t t;
        unsigned lv;
        if (w->cur >= target) return NULL; /* the wheel's timers are due after cur */
        if (!earliest(w, &t, &lv) || t > target) {
            advance(w, target);
            return NULL;
        }
        advance(w, t);
    }
    cio_op *op = w->soon.root;
    /* Not due: nor is any in the wheel, which are due after cur >= its tick. */
    if (op->internal_.when > now) return NULL;
    cio__heap_take(&w->soon, op);
    op->internal_.iflags &= (uint8_t)~IF_IN_HEAP;
    c->timers.count--;
    if (op->internal_.when == CIO_TIMEOUT_NEVER) c->timers.never--;
    return op;
}

bool cio__timers_next(cio_core *c, uint64_t *when) {
    if (!c->timers.count) return false;
    struct cio_wheel *w = c->timers.wheel;
    while (!w->soon.root) {
        uint64_t t = 0;
        unsigned lv = 0;
        earliest(w, &t, &lv); /* timers, none in `soon`: the wheel has one */
        if (t - w->cur > PULL_TICKS) {
            /* Its exact time would take a walk of the slot, or filing the
             * slot lower (or into `soon`), which moves cur that far ahead
             * of the present: every timer armed meanwhile up to there
             * would then go into `soon`, one big heap again. The slot's
             * start is early but never late; once there, the turn's
             * expiry files it lower, and the next answer is sharper. */
            *when = t << TICK_SHIFT;
            return true;
        }
        /* The slot starts close: filing it lower (or into `soon`) moves
         * cur at most PULL_TICKS ahead. */
        advance(w, t);
    }
    *when = w->soon.root->internal_.when;
    return true;
}

cio_op *cio__timers_first(cio_core *c) {
    if (!c->timers.count) return NULL;
    struct cio_wheel *w = c->timers.wheel;
    uint64_t t;
    unsigned lv;
    while (!w->soon.root && earliest(w, &t, &lv)) advance(w, t);
    return w->soon.root;
}
