/* After cio_loop_init, submitting and completing ops allocates nothing.
 * malloc and friends are interposed here and counted over 100,000 ops of
 * many kinds: nops, timers, pipe reads and writes, cancels, deadlines,
 * links, posts.
 * CIO_TEST_NOT_ON_WINDOWS: it counts allocations by interposing malloc over glibc's __libc_malloc, which the Windows CRT does not offer */
#include "test.h"

#include <stdatomic.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#endif

static atomic_long allocations;

#ifndef SANITIZED /* the sanitizer owns malloc: nothing to count there */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);
int posix_memalign(void **p, size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);

void *malloc(size_t n) {
    atomic_fetch_add(&allocations, 1);
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
    atomic_fetch_add(&allocations, 1);
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    atomic_fetch_add(&allocations, 1);
    return __libc_realloc(p, n);
}
int posix_memalign(void **p, size_t align, size_t n) {
    atomic_fetch_add(&allocations, 1);
    *p = __libc_memalign(align, n);
    return *p ? 0 : ENOMEM;
}
void *aligned_alloc(size_t align, size_t n) {
    atomic_fetch_add(&allocations, 1);
    return __libc_memalign(align, n);
}
#endif

enum { N = 100000, BATCH = 100 };

static t_op ops[BATCH * 4];
static char buf[BATCH][16];
static cio_op posted;
static int posts_seen;

static void on_post(cio_loop *loop, cio_op *op) {
    (void)loop;
    (void)op;
    posts_seen++;
}

int main(void) {
#ifdef SANITIZED
    puts("no_alloc: skipped: the sanitizer owns malloc, so it cannot be counted here");
    return 77;
#endif
    cio_loop loop;
    t_loop_init(&loop, 64);
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    /* Warm up the process once (first use of stdio, the kernel's own state)
     * so that only the steady state is measured. */
    t_op warm;
    cio_prep_nop(&warm.op);
    t_arm(&warm);
    CHECK_EQ(cio_submit(&loop, &warm.op), 0);
    t_run(&loop, 5);

    long before = atomic_load(&allocations);
    uint64_t done = 0;
    while (done < N) {
        cio_op *batch[BATCH * 4];
        unsigned n = 0;
        for (int i = 0; i < BATCH; i++) {
            t_op *w = &ops[4 * i], *r = &ops[4 * i + 1], *t = &ops[4 * i + 2], *c = &ops[4 * i + 3];
            /* write -> read linked; a timer with a deadline; a nop. */
            cio_prep_write(&w->op, fds[1], "0123456789abcdef", 16, CIO_OFFSET_CURRENT);
            t_arm(w);
            w->op.flags = CIO_F_LINK;
            cio_prep_read(&r->op, fds[0], buf[i], 16, CIO_OFFSET_CURRENT);
            t_arm(r);
            r->op.deadline = cio_now(&loop) + 10ull * 1000000000;
            cio_prep_timeout(&t->op, 1000, 0);
            t_arm(t);
            cio_prep_nop(&c->op);
            t_arm(c);
            batch[n++] = &w->op;
            batch[n++] = &r->op;
            batch[n++] = &t->op;
            batch[n++] = &c->op;
        }
        CHECK_EQ(cio_submit_batch(&loop, batch, n), 0);
        /* Cancel the timer of every tenth group, and post a message. */
        for (int i = 0; i < BATCH; i += 10) CHECK_EQ(cio_cancel(&loop, &ops[4 * i + 2].op), 0);
        cio_prep_nop(&posted);
        posted.cb = on_post;
        CHECK_EQ(cio_loop_post(&loop, &posted), 0);
        t_run(&loop, 10);
        for (unsigned i = 0; i < n; i++) CHECK_EQ(ops[i].finals, 1);
        done += n + 1;
    }
    long during = atomic_load(&allocations) - before;
    printf("ops=%" PRIu64 " allocations=%ld\n", done, during);
    CHECK_EQ(during, 0);
    CHECK_EQ(posts_seen, (int)(N / (BATCH * 4 + 1)) + 1);
    t_close(&loop);
    puts("no_alloc: ok");
    return 0;
}
