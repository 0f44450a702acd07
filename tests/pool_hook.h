/*
 * tests/pool_hook.h - what the tests of the pool's thread creation share:
 * their own pthread_create() in front of the C library's, and a pool op
 * with an oracle.
 *
 * An executable's definition of pthread_create() comes first for the
 * statically linked library, so the pool's creations go through it; it
 * forwards to the next definition (the C library's), or to a sanitizer's
 * interceptor. While a test sets `create_hook`, every creation in the
 * process calls the hook instead, which may delay it, fail it, or forward
 * it through `create_next`.
 *
 * The op is a statx of a file this header makes: statx runs on the pool on
 * every backend (CIO_URING_DISABLE=statx on io_uring, read at each
 * cio_loop_init()), and its size is checked against fstat().
 */
#ifndef CIO_TEST_POOL_HOOK_H
#define CIO_TEST_POOL_HOOK_H

#include "fs_util.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static create_fn create_next;
static _Atomic(create_fn) create_hook;

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
    if (!create_next) {
        /* A sanitizer linked into the program (clang's) has its interceptor
         * in this very executable, where this definition hides it: call it
         * by its own name. Else the next definition (the C library's, or a
         * shared sanitizer runtime's, as gcc's). */
        void *sym = dlsym(RTLD_DEFAULT, "__interceptor_pthread_create");
        if (!sym) sym = dlsym(RTLD_NEXT, "pthread_create");
        memcpy(&create_next, &sym, sizeof create_next);
        if (!create_next) abort();
    }
    create_fn hook = atomic_load(&create_hook);
    return hook ? hook(t, attr, fn, arg) : create_next(t, attr, fn, arg);
}

static inline void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Waits (at most 10 s) until `*flag` is set. */
static inline void wait_flag(atomic_int *flag) {
    double end = t_seconds() + 10;
    while (!atomic_load(flag)) {
        CHECK(t_seconds() < end);
        sleep_ms(1);
    }
}

static char hook_path[128];
static uint64_t hook_size;

/* Makes the file the ops look at and sends statx to the pool. */
static inline void hook_setup(void) {
    CHECK_EQ(setenv("CIO_URING_DISABLE", "statx", 1), 0);
    fs_path(hook_path, sizeof hook_path, fs_mkdtemp(), "f");
    int fd = open(hook_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "0123456789abc", 13), 13);
    struct stat sb;
    CHECK_EQ(fstat(fd, &sb), 0);
    hook_size = (uint64_t)sb.st_size;
    close(fd);
}

/* A statx of the file, on `loop`'s pool, run to its one completion; returns
 * its result, having checked the size it found when it succeeded. */
static inline int32_t hook_statx(cio_loop *loop) {
    cio_statx st;
    t_op t;
    cio_prep_statx(&t.op, CIO_AT_FDCWD, hook_path, 0, CIO_STATX_SIZE, &st);
    t_arm(&t);
    CHECK_EQ(cio_submit(loop, &t.op), 0);
    t_run(loop, 10);
    CHECK_EQ(t.finals, 1);
    if (t.res == 0) CHECK_EQ(st.size, hook_size);
    return t.res;
}

#endif /* CIO_TEST_POOL_HOOK_H */
