/*
 * tests/fs_l3.h - what the tests of cio/fs.h (tests/test_fs_*.c) share: a
 * main task on a loop of the backend under test, a scratch directory, and
 * oracles that read and write files without cio: plain system calls
 * (tests/port.h) on the real backends, the mock's own view of its
 * simulated file system (cio_mock_file_get/put) on the mock.
 */
#ifndef CIO_TEST_FS_L3_H
#define CIO_TEST_FS_L3_H

#include "test.h"

#include <stdbool.h>
#if !defined(_WIN32)
#include <sys/stat.h>
#endif

typedef struct fs_env {
    cio_loop loop;
    bool mock;
    char base[512]; /* the scratch directory: t_tmpdir() or, on the mock, /fsbase */
} fs_env;

static fs_env fs_E;

/* `name` below the scratch directory. */
static inline const char *fs_p(char *out, size_t cap, const char *name) {
    int n = snprintf(out, cap, "%s/%s", fs_E.base, name);
    CHECK(n > 0 && (size_t)n < cap);
    return out;
}

/* FNV-1a, 64 bits: the checksum both sides compute. */
static inline uint64_t fs_sum(const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* Deterministic bytes (xorshift64*), different per seed. */
static inline void fs_fill(void *p, size_t n, uint64_t seed) {
    /* Eight bytes per xorshift step: the tests fill megabytes, under -O0 and under 1,000 seeds. */
    unsigned char *b = (unsigned char *)p;
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i += 8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t v = x * 0x2545f4914f6cdd1dull;
        memcpy(b + i, &v, n - i < 8 ? n - i : 8);
    }
}

/* ---- oracles ---- */

/* Makes `path` hold `len` bytes of `data`. */
static inline void fs_oracle_put(const char *path, const void *data, size_t len) {
    if (fs_E.mock) {
        CHECK_EQ(cio_mock_file_put(&fs_E.loop, path, data, len), 0);
        return;
    }
    cio_fd fd = t_sys_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd != T_FD_NONE);
    if (len) CHECK_EQ(t_sys_pwrite(fd, data, len, 0), (long long)len);
    CHECK_EQ(t_close_handle(fd), 0);
}

/* The contents of `path` into `buf` (at most `cap` bytes): its size, or
 * -CIO_ENOENT, -CIO_EISDIR... */
static inline long long fs_oracle_get(const char *path, void *buf, size_t cap) {
    if (fs_E.mock) return (long long)cio_mock_file_get(&fs_E.loop, path, buf, cap);
    long long size = t_sys_file_size(path);
    if (size < 0) return size;
    cio_fd fd = t_sys_open(path, O_RDONLY, 0);
    if (fd == T_FD_NONE) return -CIO_EACCES;
    long long got = 0;
    while ((size_t)got < cap) {
        long long n = t_sys_pread(fd, (char *)buf + got, cap - (size_t)got, got);
        CHECK(n >= 0);
        if (n == 0) break;
        got += n;
    }
    CHECK_EQ(t_close_handle(fd), 0);
    return size;
}

/* Whether `path` names something (a file or a directory). */
static inline bool fs_oracle_exists(const char *path) {
    if (fs_E.mock) {
        int64_t r = cio_mock_file_get(&fs_E.loop, path, NULL, 0);
        return r >= 0 || r == -CIO_EISDIR;
    }
    return t_exists(path) == 1;
}

/* The file's checksum and size through the oracle (the file must exist). */
static inline uint64_t fs_oracle_sum(const char *path, long long *size) {
    long long n = fs_oracle_get(path, NULL, 0);
    CHECK(n >= 0);
    void *buf = malloc((size_t)n + 1);
    CHECK(buf);
    CHECK_EQ(fs_oracle_get(path, buf, (size_t)n), n);
    uint64_t s = fs_sum(buf, (size_t)n);
    free(buf);
    if (size) *size = n;
    return s;
}

/* ---- the main task ---- */

static intptr_t (*fs_main_fn)(void);
static intptr_t fs_main_res = -1;
static int fs_main_done;

static intptr_t fs_main_trampoline(void *arg) {
    (void)arg;
    if (fs_E.mock) { /* `before` may have made it already */
        int32_t r = cio_fs_mkdir(fs_E.base, 0755);
        CHECK(r == 0 || r == -CIO_EEXIST);
    }
    fs_main_res = fs_main_fn();
    fs_main_done = 1;
    return 0;
}

/* The loop of the backend under test and the scratch directory, for a
 * test that runs its cases without fs_run_main's main task. */
static inline void fs_env_init(void) {
    t_loop_init(&fs_E.loop, 64);
    fs_E.mock = cio_loop_backend(&fs_E.loop) == CIO_BACKEND_MOCK;
    snprintf(fs_E.base, sizeof fs_E.base, "%s", fs_E.mock ? "/fsbase" : t_tmpdir());
}

/* Process-wide settings of the tests that create files and send to peers:
 * a fixed umask, so that the permission bits a case expects do not depend
 * on the shell that ran it; SIGPIPE ignored, so that a peer that went away
 * is the -CIO_EPIPE a case checks, not the end of the test. */
static inline void fs_process_setup(void) {
#if !defined(_WIN32)
    umask(022);
#endif
    t_ignore_sigpipe();
}

/* Runs fn as the main task on a fresh loop of the backend under test
 * (CIO_BACKEND), bounded by `limit_s`; checks it returned 0. Returns with
 * the loop closed. `before` (may be NULL) runs once the loop exists, before
 * the task starts (to set up the mock's files). */
static inline void fs_run_main(intptr_t (*fn)(void), void (*before)(void), double limit_s) {
    fs_env_init();
    fs_main_fn = fn;
    fs_main_done = 0;
    if (before) before();
    cio_task_options o = {0};
    o.detached = true;
    o.name = "fs main";
    CHECK_EQ(cio_task_spawn(&fs_E.loop, fs_main_trampoline, NULL, &o, NULL), 0);
    t_run_until(&fs_E.loop, &fs_main_done, limit_s);
    t_run(&fs_E.loop, limit_s); /* what the task left in flight (background clean-up) */
    if (fs_main_res != 0) {
        fprintf(stderr, "main task returned %lld\n", (long long)fs_main_res);
        exit(1);
    }
    t_close(&fs_E.loop);
}

/* A check inside a task that also names the cio error. */
#define FCHECK_EQ(a, b) CHECK_EQ(a, b)

#endif /* CIO_TEST_FS_L3_H */
