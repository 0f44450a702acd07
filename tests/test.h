/*
 * tests/test.h - the little the tests share: checks that abort with a clear
 * message, an op wrapper that counts completions (exactly once), and a
 * bounded way to run a loop.
 *
 * Each test is one program; ctest runs it once per backend with
 * CIO_BACKEND set, so a test never names a backend itself.
 */
#ifndef CIO_TEST_H
#define CIO_TEST_H

#include "port.h" /* first: the platform (it sets _GNU_SOURCE on POSIX) */

#include <stdatomic.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if !defined(_WIN32)
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

#define CHECK_EQ(a, b)                                                                  \
    do {                                                                                \
        long long va_ = (long long)(a), vb_ = (long long)(b);                           \
        if (va_ != vb_) {                                                               \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", __FILE__, \
                    __LINE__, #a, va_, #b, vb_);                                        \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

/* An op that records its completions. `op` must stay the first member. */
typedef struct t_op {
    cio_op op;
    int finals;     /* final completions: must end at exactly 1 */
    int mores;      /* multishot completions with CIO_F_MORE */
    int32_t res;    /* result of the final completion */
    uint64_t order; /* global order of its final completion, from 1 */
} t_op;

/* Per thread: each loop (one per thread) orders its own completions. */
static _Thread_local uint64_t t_completion_seq;

static inline void t_cb(cio_loop *loop, cio_op *op) {
    (void)loop;
    t_op *t = (t_op *)op;
    if (op->flags & CIO_F_MORE) {
        t->mores++;
        return;
    }
    t->finals++;
    t->res = op->res;
    t->order = ++t_completion_seq;
}

/* Resets the bookkeeping and installs t_cb; call after the prep helper. */
static inline void t_arm(t_op *t) {
    t->finals = t->mores = 0;
    t->res = 0;
    t->order = 0;
    t->op.cb = t_cb;
}

/* A loop turn that blocks forever never returns to t_run's time check, so
 * the whole program is bounded too: the first loop a test makes starts a
 * watchdog (CIO_TEST_WATCHDOG seconds, 120 by default). */
static inline void t_watchdog(void) {
    static _Atomic int armed; /* loops may be made on several threads */
    if (atomic_exchange(&armed, 1)) return;
    const char *env = getenv("CIO_TEST_WATCHDOG");
    t_alarm(env ? (unsigned)atoi(env) : 120, "the test hung (a wait that never returned)");
}

static inline void t_loop_init(cio_loop *loop, unsigned entries) {
    t_watchdog();
    cio_loop_options o = {0};
    o.entries = entries;
    int r = cio_loop_init(loop, &o);
    if (r < 0) {
        fprintf(stderr, "cio_loop_init: %s\n", cio_strerror(r));
        exit(1);
    }
}

static inline double t_seconds(void) { return (double)t_now_ns() / 1e9; }

/* The handle a successful socket, accept or openat op made (its final completion). */
static inline cio_fd t_fd(const t_op *t) {
    CHECK(t->finals == 1 && t->res >= 0);
    return cio_op_fd(&t->op);
}

/* Runs the loop until no op is active, failing the test after `limit_s`. */
static inline void t_run(cio_loop *loop, double limit_s) {
    double end = t_seconds() + limit_s;
    while (cio_loop_active(loop) > 0) {
        int r = cio_loop_run(loop, CIO_RUN_ONCE);
        CHECK(r >= 0);
        if (t_seconds() > end) {
            fprintf(stderr, "loop still has %u active ops after %.1f s\n", cio_loop_active(loop), limit_s);
            exit(1);
        }
    }
}

/* Runs until `*flag` becomes nonzero, with the same bound. */
static inline void t_run_until(cio_loop *loop, const volatile int *flag, double limit_s) {
    double end = t_seconds() + limit_s;
    while (!*flag) {
        CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
        if (t_seconds() > end) {
            fprintf(stderr, "condition not reached after %.1f s\n", limit_s);
            exit(1);
        }
    }
}

static inline void t_close(cio_loop *loop) { CHECK_EQ(cio_loop_close(loop), 0); }

/* Does the test run under a CPU emulator (ctest sets CIO_TEST_EMULATOR in a
 * cross build: qemu-user)? It forwards system calls to the host kernel but
 * differs in a few corners, which a test may then skip. */
static inline int t_under_emulator(void) {
    const char *e = getenv("CIO_TEST_EMULATOR");
    return e && *e && strcmp(e, "0") != 0;
}

#if !defined(_WIN32)
/* Runs `child(arg)` in a forked child whose descriptor `fd` (2: its
 * stderr) goes into `out` (room for `size` bytes, NUL-terminated) and
 * returns its wait status; the child exits 0 if `child` returns. No core
 * files: such children die on purpose. */
static inline int t_fork_capture(void (*child)(void *arg), void *arg, int fd, char *out, size_t size) {
    int p[2];
    CHECK_EQ(pipe(p), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(p[1], fd);
        close(p[0]);
        if (p[1] != fd) close(p[1]);
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        child(arg);
        _exit(0);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t n;
    while (got < size - 1 && (n = read(p[0], out + got, size - 1 - got)) > 0) got += (size_t)n;
    out[got] = 0;
    close(p[0]);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    return status;
}
#endif /* !_WIN32: fork */

#endif /* CIO_TEST_H */
