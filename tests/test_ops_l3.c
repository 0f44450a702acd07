/*
 * tests/test_ops_l3.c - the L1 opcodes of issue 11, as ops on every backend:
 * CIO_OP_CALL (the caller's function on the blocking pool: results, never
 * interrupted, cancel and deadline before and while it runs, loop close),
 * ftruncate, fallocate, symlinkat, linkat, readdir and copy_range, each
 * against an oracle that does not use cio: plain system calls (tests/port.h;
 * opendir/readdir and readlink on POSIX) on the real backends, the mock's
 * own view of its file system (cio_mock_file_get/put) on the mock. Every op
 * completes exactly once (fs_do); bad input is refused at submit with
 * nothing lost.
 *
 * CIO_TEST_PORTABLE
 *
 * CIO_TEST_SEEDS_EXACT: it also runs under 1,000 mock seeds, without faults (tests/CMakeLists.txt).
 */
#include "fs_util.h"

#include <stdatomic.h>

#if !defined(_WIN32)
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#endif

static cio_loop L;
static bool mock;
static char base[600];
static _Thread_local int on_loop_thread; /* set on the test's (the loop's) thread */

static const char *P(char *out, const char *name) { return fs_path(out, 700, base, name); }

/* ---- oracles ---- */

static void o_put(const char *path, const void *data, size_t len) {
    if (mock) {
        CHECK_EQ(cio_mock_file_put(&L, path, data, len), 0);
        return;
    }
    cio_fd fd = t_sys_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd != T_FD_NONE);
    if (len) fs_write_all(fd, data, len, 0);
    CHECK_EQ(t_close_handle(fd), 0);
}

/* The file's size, its first `cap` bytes in `buf`. */
static long long o_get(const char *path, void *buf, size_t cap) {
    if (mock) return (long long)cio_mock_file_get(&L, path, buf, cap);
    long long size = t_sys_file_size(path);
    if (size < 0 || !cap) return size;
    cio_fd fd = t_sys_open(path, O_RDONLY, 0);
    CHECK(fd != T_FD_NONE);
    size_t want = (size_t)size < cap ? (size_t)size : cap, got = 0;
    while (got < want) {
        long long n = t_sys_pread(fd, (char *)buf + got, want - got, (long long)got);
        CHECK(n > 0);
        got += (size_t)n;
    }
    CHECK_EQ(t_close_handle(fd), 0);
    return size;
}

static void o_mkdir(const char *path) {
    if (!mock) {
        CHECK_EQ(t_sys_mkdir(path, 0755), 0);
        return;
    }
    t_op t;
    cio_prep_mkdirat(&t.op, CIO_AT_FDCWD, path, 0755);
    CHECK_EQ(fs_do(&L, &t), 0);
}

static uint64_t sum(const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static void fill(void *p, size_t n, uint64_t seed) {
    unsigned char *b = (unsigned char *)p;
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        b[i] = (unsigned char)((x * 0x2545f4914f6cdd1dull) >> 56);
    }
}

/* ---- CIO_OP_CALL ---- */

static atomic_int ran, started;
static atomic_int gate; /* the blocking functions wait until it opens */

typedef struct call_arg {
    int32_t value;
    int on_loop; /* where fn ran: 1 on the loop's thread */
    unsigned sleep_ms;
} call_arg;

static int32_t add_one(void *p) {
    call_arg *a = p;
    atomic_fetch_add(&ran, 1);
    a->on_loop = on_loop_thread;
    if (a->sleep_ms) t_sleep_ms(a->sleep_ms);
    return a->value + 1;
}

static atomic_int eintrs; /* blocking calls of the user's functions that a signal broke */

/* One blocking call that a signal would break (EINTR) rather than resume. */
static void pause_1ms(void) {
#if defined(_WIN32)
    Sleep(1);
#else
    if (poll(NULL, 0, 1) < 0 && errno == EINTR) atomic_fetch_add(&eintrs, 1);
#endif
}

/* Blocks until the gate opens (at most 20 s), then answers its value. A
 * cancel must not interrupt it (eintrs stays 0). */
static int32_t wait_gate(void *p) {
    call_arg *a = p;
    atomic_fetch_add(&ran, 1);
    atomic_fetch_add(&started, 1);
    uint64_t end = t_now_ns() + 20ull * 1000000000u;
    while (!atomic_load(&gate)) {
        if (t_now_ns() > end) return -CIO_ETIMEDOUT;
        pause_1ms();
    }
    return a->value;
}

static void *opener(void *arg) {
    (void)arg;
    t_sleep_ms(150);
    atomic_store(&gate, 1);
    return NULL;
}

static void wait_started(int n) {
    uint64_t end = t_now_ns() + 10ull * 1000000000u;
    while (atomic_load(&started) < n) {
        CHECK(t_now_ns() < end);
        t_sleep_ms(1);
    }
}

static void call_basic(void) {
    enum { N = 24 };
    t_op t[N];
    call_arg a[N];
    atomic_store(&ran, 0);
    for (int i = 0; i < N; i++) {
        a[i] = (call_arg){.value = i * 1000, .on_loop = -1};
        cio_prep_call(&t[i].op, add_one, &a[i]);
        t_arm(&t[i]);
        CHECK_EQ(cio_submit(&L, &t[i].op), 0);
    }
    t_run(&L, 20.0);
    CHECK_EQ(atomic_load(&ran), N);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(t[i].finals, 1);
        CHECK_EQ(t[i].res, i * 1000 + 1);
        /* The pool's thread, except on the mock (the loop's, by design). */
        CHECK_EQ(a[i].on_loop, mock ? 1 : 0);
    }
    /* A negative result is the op's error, passed on as it is (-CIO_EINTR too). */
    call_arg neg = {.value = -CIO_EINTR - 1};
    t_op e;
    cio_prep_call(&e.op, add_one, &neg);
    CHECK_EQ(fs_do(&L, &e), -CIO_EINTR);

    /* No function: refused at submit, nothing completes, nothing runs. */
    t_op bad;
    cio_prep_call(&bad.op, NULL, &neg);
    t_arm(&bad);
    CHECK_EQ(cio_submit(&L, &bad.op), -CIO_EINVAL);
    t_run(&L, 1.0);
    CHECK_EQ(bad.finals, 0);
    CHECK(strcmp(cio_op_name(CIO_OP_CALL), "call") == 0);
}

/* The pool allows one op of this loop at a time (CIO_POOL_THREADS=2, set
 * before the first pool op), so a second call waits in the queue. */
static void call_cancel_pool(void) {
    atomic_store(&ran, 0);
    atomic_store(&started, 0);
    atomic_store(&gate, 0);
    call_arg a1 = {.value = 41}, a2 = {.value = 42};
    t_op run1, queued, carrier;
    cio_prep_call(&run1.op, wait_gate, &a1);
    t_arm(&run1);
    CHECK_EQ(cio_submit(&L, &run1.op), 0);
    wait_started(1);
    cio_prep_call(&queued.op, wait_gate, &a2);
    t_arm(&queued);
    CHECK_EQ(cio_submit(&L, &queued.op), 0);
    /* Queued: taken back, fn never runs. */
    CHECK_EQ(cio_cancel(&L, &queued.op), 0);
    /* Running: the cancel is refused with -CIO_EALREADY and fn goes on. */
    cio_prep_cancel(&carrier.op, &run1.op);
    t_arm(&carrier);
    CHECK_EQ(cio_submit(&L, &carrier.op), 0);
    for (int i = 0; i < 50 && (queued.finals == 0 || carrier.finals == 0); i++)
        CHECK(cio_loop_run(&L, CIO_RUN_ONCE) >= 0);
    CHECK_EQ(queued.finals, 1);
    CHECK_EQ(queued.res, -CIO_ECANCELED);
    CHECK_EQ(carrier.finals, 1);
    CHECK_EQ(carrier.res, -CIO_EALREADY);
    CHECK_EQ(run1.finals, 0);
    /* Still running, and never interrupted: the loop turns a while (it
     * would signal a cancelled pool op again each turn). */
    for (int i = 0; i < 10; i++) {
        t_sleep_ms(5);
        CHECK(cio_loop_run(&L, CIO_RUN_NOWAIT) >= 0);
    }
    CHECK_EQ(run1.finals, 0);
    atomic_store(&gate, 1);
    t_run(&L, 10.0);
    CHECK_EQ(run1.finals, 1);
    CHECK_EQ(run1.res, 41);
    CHECK_EQ(atomic_load(&ran), 1);
    CHECK_EQ(atomic_load(&eintrs), 0);

    /* Deadlines: one that passes while the call waits in the queue ends it
     * with -CIO_ETIMEDOUT (fn never runs); one that passes while fn runs
     * does not stop it. */
    atomic_store(&ran, 0);
    atomic_store(&started, 0);
    atomic_store(&gate, 0);
    t_op slow, late;
    call_arg as = {.value = 7, .sleep_ms = 200}, al = {.value = 8};
    uint64_t t0 = t_now_ns();
    cio_prep_call(&slow.op, add_one, &as);
    slow.op.deadline = cio_now(&L) + 50ull * 1000000u;
    t_arm(&slow);
    CHECK_EQ(cio_submit(&L, &slow.op), 0);
    cio_prep_call(&late.op, wait_gate, &al);
    late.op.deadline = cio_now(&L) + 30ull * 1000000u;
    t_arm(&late);
    CHECK_EQ(cio_submit(&L, &late.op), 0);
    t_run(&L, 10.0);
    CHECK_EQ(slow.finals, 1);
    CHECK_EQ(slow.res, 8);
    CHECK(t_now_ns() - t0 >= 190ull * 1000000u); /* fn slept its 200 ms to the end */
    CHECK_EQ(late.finals, 1);
    CHECK_EQ(late.res, -CIO_ETIMEDOUT);
    CHECK_EQ(atomic_load(&ran), 1); /* only `slow` ran */
    CHECK_EQ(atomic_load(&started), 0);
}

/* Mock: a call that a cancel or a deadline meets before its simulated
 * latency is over never runs; one that runs does so on the loop's thread. */
static void call_cancel_mock(void) {
    atomic_store(&ran, 0);
    call_arg a = {.value = 1};
    t_op t;
    cio_prep_call(&t.op, add_one, &a);
    t_arm(&t);
    CHECK_EQ(cio_submit(&L, &t.op), 0);
    CHECK_EQ(cio_cancel(&L, &t.op), 0);
    t_run(&L, 5.0);
    CHECK_EQ(t.finals, 1);
    CHECK_EQ(t.res, -CIO_ECANCELED);
    CHECK_EQ(atomic_load(&ran), 0);
}

/* A loop closed while a call runs waits for fn to return and completes
 * it with fn's result; a queued one completes with -CIO_ECANCELED. */
static void call_loop_close(void) {
    if (mock) return;
    cio_loop l2;
    t_loop_init(&l2, 64);
    atomic_store(&ran, 0);
    atomic_store(&started, 0);
    atomic_store(&gate, 0);
    call_arg a1 = {.value = 5}, a2 = {.value = 6};
    t_op r, q;
    cio_prep_call(&r.op, wait_gate, &a1);
    t_arm(&r);
    CHECK_EQ(cio_submit(&l2, &r.op), 0);
    wait_started(1);
    cio_prep_call(&q.op, wait_gate, &a2);
    t_arm(&q);
    CHECK_EQ(cio_submit(&l2, &q.op), 0);
    /* Opens the gate 150 ms from now, from another thread. */
    t_thread th;
    CHECK_EQ(t_thread_start(&th, opener, NULL), 0);
    uint64_t t0 = t_now_ns();
    t_close(&l2);
    CHECK(t_now_ns() - t0 >= 100ull * 1000000u);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(r.res, 5);
    CHECK_EQ(q.finals, 1);
    CHECK_EQ(q.res, -CIO_ECANCELED);
    CHECK_EQ(atomic_load(&ran), 1);
}

/* The task wrapper: fn's result, with its argument on the task's stack. */
static intptr_t task_result = 1;

static intptr_t call_task(void *arg) {
    (void)arg;
    call_arg a = {.value = 99};
    int32_t r = cio_call(add_one, &a);
    if (r != 100 || a.on_loop != (mock ? 1 : 0)) return -1;
    if (cio_call(NULL, &a) != -CIO_EINVAL) return -2;
    /* Outside a task it refuses (checked in main); a cancelled task's
     * call never starts. */
    cio_task_cancel(cio_task_current());
    atomic_store(&ran, 0);
    if (cio_call(add_one, &a) != -CIO_ECANCELED || atomic_load(&ran) != 0) return -3;
    task_result = 0;
    return 0;
}

static void call_in_task(void) {
    cio_task_options o = {.detached = true};
    CHECK_EQ(cio_task_spawn(&L, call_task, NULL, &o, NULL), 0);
    for (int i = 0; i < 1000 && task_result == 1; i++) CHECK(cio_loop_run(&L, CIO_RUN_ONCE) >= 0);
    CHECK_EQ(task_result, 0);
    CHECK_EQ(cio_call(add_one, NULL), -CIO_EPERM); /* not in a task */
}

/* ---- ftruncate and fallocate ---- */

static void sizes(void) {
    char path[700];
    P(path, "sized");
    static unsigned char data[10000], back[10000];
    fill(data, sizeof data, 3);
    o_put(path, data, sizeof data);
    cio_fd fd = fs_open_ok(&L, path, CIO_O_RDWR);
    t_op t;
    cio_prep_ftruncate(&t.op, fd, 3000);
    CHECK_EQ(fs_do(&L, &t), 0);
    CHECK_EQ(o_get(path, back, sizeof back), 3000);
    CHECK(memcmp(back, data, 3000) == 0);
    cio_prep_ftruncate(&t.op, fd, 9000); /* grows with zeros: the cut bytes do not come back */
    CHECK_EQ(fs_do(&L, &t), 0);
    CHECK_EQ(o_get(path, back, sizeof back), 9000);
    CHECK(memcmp(back, data, 3000) == 0);
    for (int i = 3000; i < 9000; i++) CHECK_EQ(back[i], 0);
    cio_prep_ftruncate(&t.op, fd, (uint64_t)INT64_MAX + 1);
    CHECK_EQ(fs_do(&L, &t), -CIO_EINVAL);

    /* fallocate: mode 0 grows the file; KEEP_SIZE does not. */
    cio_prep_fallocate(&t.op, fd, 0, 8000, 12000);
    int32_t r = fs_do(&L, &t);
    bool falloc = r != -CIO_ENOTSUP;
    if (!falloc) {
        printf("SKIP fallocate: the file system of %s has none\n", base);
    } else {
        CHECK_EQ(r, 0);
        CHECK_EQ(o_get(path, back, sizeof back), 20000);
        CHECK(memcmp(back, data, 3000) == 0);
        for (int i = 3000; i < 10000; i++) CHECK_EQ(back[i], 0);
        cio_prep_fallocate(&t.op, fd, CIO_FALLOCATE_KEEP_SIZE, 0, 65536);
        r = fs_do(&L, &t);
        if (r == -CIO_ENOTSUP && t_on_windows() && t_under_wine())
            printf("SKIP test_ops_l3/fallocate_keep_size: Wine 8 has no FileAllocationInformation\n");
#if defined(CIO_POSIX_ONLY)
        else if (r == -CIO_ENOTSUP) /* op.h: no POSIX call reserves space without growing the file */
            printf("SKIP test_ops_l3/fallocate_keep_size: not in POSIX (the POSIX-only build)\n");
#endif
        else
            CHECK_EQ(r, 0);
        CHECK_EQ(o_get(path, NULL, 0), 20000);
        cio_prep_fallocate(&t.op, fd, 0, 0, 0); /* an empty range */
        CHECK_EQ(fs_do(&L, &t), -CIO_EINVAL);
    }
    fs_close_ok(&L, fd);

    /* A read-only handle cannot change the size. */
    fd = fs_open_ok(&L, path, CIO_O_RDONLY);
    cio_prep_ftruncate(&t.op, fd, 10);
    r = fs_do(&L, &t);
    CHECK(r == -CIO_EINVAL || (t_on_windows() && r == -CIO_EACCES));
    cio_prep_fallocate(&t.op, fd, 0, 0, 10);
    r = fs_do(&L, &t);
    CHECK(r == -CIO_EBADF || (t_on_windows() && r == -CIO_EACCES) || (!falloc && r == -CIO_ENOTSUP));
    fs_close_ok(&L, fd);
    CHECK_EQ(o_get(path, NULL, 0), falloc ? 20000 : 9000);

    /* Bad handles: refused at submit, nothing completes. */
    cio_prep_ftruncate(&t.op, (cio_fd)(intptr_t)-1, 0);
    t_arm(&t);
    CHECK_EQ(cio_submit(&L, &t.op), -CIO_EBADF);
    cio_prep_fallocate(&t.op, (cio_fd)(intptr_t)-1, 0, 0, 1);
    t_arm(&t);
    CHECK_EQ(cio_submit(&L, &t.op), -CIO_EBADF);
    t_run(&L, 1.0);
    CHECK_EQ(t.finals, 0);
}

/* ---- symlinkat and linkat ---- */

static void links(void) {
    char target[700], lnk[700], hard[700], dir[700];
    P(target, "ltarget");
    P(lnk, "lsym");
    P(hard, "lhard");
    P(dir, "ldir");
    unsigned char data[777], back[777];
    fill(data, sizeof data, 5);
    o_put(target, data, sizeof data);
    o_mkdir(dir);

    t_op t;
    /* A relative target is taken from the link's directory. */
    cio_prep_symlinkat(&t.op, "ltarget", CIO_AT_FDCWD, lnk);
    int32_t r = fs_do(&L, &t);
    bool have_symlinks = true;
    if (t_on_windows() && !mock && (r == -CIO_EPERM || r == -CIO_ENOTSUP)) {
        printf("SKIP test_ops_l3/symlink: Windows cannot make one here (%s)\n", cio_strerror(r));
        have_symlinks = false;
    } else {
        CHECK_EQ(r, 0);
    }
    if (have_symlinks) {
        /* Oracles: the link itself (lstat, readlink) and what it leads to. */
        if (!mock) {
            t_stat st;
            CHECK_EQ(t_sys_stat(lnk, 0, &st), 0);
            CHECK_EQ(st.type, CIO_S_IFLNK);
            CHECK_EQ(t_sys_stat(lnk, 1, &st), 0);
            CHECK_EQ(st.size, (long long)sizeof data);
#if !defined(_WIN32)
            char rl[64];
            ssize_t n = readlink(lnk, rl, sizeof rl);
            CHECK(n == 7 && memcmp(rl, "ltarget", 7) == 0);
#endif
        } else {
            cio_statx sx;
            t_op s2;
            cio_prep_statx(&s2.op, CIO_AT_FDCWD, lnk, CIO_AT_SYMLINK_NOFOLLOW, CIO_STATX_BASIC_STATS, &sx);
            CHECK_EQ(fs_do(&L, &s2), 0);
            CHECK_EQ(sx.mode & CIO_S_IFMT, CIO_S_IFLNK);
            CHECK_EQ(sx.size, 7);
        }
        CHECK_EQ(o_get(lnk, back, sizeof back), (long long)sizeof data); /* followed */
        CHECK(memcmp(back, data, sizeof data) == 0);
        /* Opened through the link, cio reads the target's bytes. */
        cio_fd fd = fs_open_ok(&L, lnk, CIO_O_RDONLY);
        t_op rd;
        memset(back, 0, sizeof back);
        cio_prep_read(&rd.op, fd, back, sizeof back, 0);
        CHECK_EQ(fs_do(&L, &rd), (int32_t)sizeof data);
        CHECK(memcmp(back, data, sizeof data) == 0);
        fs_close_ok(&L, fd);
        /* The name is taken now; a link relative to a directory handle. */
        cio_prep_symlinkat(&t.op, "anything", CIO_AT_FDCWD, lnk);
        CHECK_EQ(fs_do(&L, &t), -CIO_EEXIST);
        cio_fd dfd = fs_open_ok(&L, dir, CIO_O_RDONLY | CIO_O_DIRECTORY);
        cio_prep_symlinkat(&t.op, "../ltarget", dfd, "up");
        CHECK_EQ(fs_do(&L, &t), 0);
        char up[760];
        snprintf(up, sizeof up, "%s/up", dir);
        CHECK_EQ(o_get(up, back, sizeof back), (long long)sizeof data);
        fs_close_ok(&L, dfd);
    }

    /* A hard link: one file under two names. */
    cio_prep_linkat(&t.op, CIO_AT_FDCWD, target, CIO_AT_FDCWD, hard, 0);
    r = fs_do(&L, &t);
    if (t_on_windows() && r == -CIO_ENOTSUP) {
        printf("SKIP test_ops_l3/link: no hard links here\n");
        return;
    }
    CHECK_EQ(r, 0);
    if (!mock) {
        t_stat a, b;
        CHECK_EQ(t_sys_stat(target, 1, &a), 0);
        CHECK_EQ(t_sys_stat(hard, 1, &b), 0);
        CHECK_EQ(a.ino, b.ino);
        CHECK_EQ(b.nlink, 2);
    }
    /* A change through one name shows through the other; removing the
     * first name leaves the file. */
    unsigned char more[100];
    fill(more, sizeof more, 6);
    cio_fd fd = fs_open_ok(&L, target, CIO_O_WRONLY);
    t_op wr;
    cio_prep_write(&wr.op, fd, more, sizeof more, 0);
    CHECK_EQ(fs_do(&L, &wr), (int32_t)sizeof more);
    fs_close_ok(&L, fd);
    t_op ul;
    if (have_symlinks) {
        cio_prep_unlinkat(&ul.op, CIO_AT_FDCWD, lnk, 0);
        CHECK_EQ(fs_do(&L, &ul), 0);
    }
    cio_prep_unlinkat(&ul.op, CIO_AT_FDCWD, target, 0);
    CHECK_EQ(fs_do(&L, &ul), 0);
    CHECK_EQ(o_get(hard, back, sizeof back), (long long)sizeof data);
    CHECK(memcmp(back, more, sizeof more) == 0);
    CHECK(memcmp(back + sizeof more, data + sizeof more, sizeof data - sizeof more) == 0);

    cio_prep_linkat(&t.op, CIO_AT_FDCWD, hard, CIO_AT_FDCWD, hard, 0);
    CHECK_EQ(fs_do(&L, &t), -CIO_EEXIST);
    cio_prep_linkat(&t.op, CIO_AT_FDCWD, target, CIO_AT_FDCWD, lnk, 0); /* gone */
    CHECK_EQ(fs_do(&L, &t), -CIO_ENOENT);
    cio_prep_linkat(&t.op, CIO_AT_FDCWD, dir, CIO_AT_FDCWD, lnk, 0);
    r = fs_do(&L, &t);
    CHECK(r == -CIO_EPERM || (t_on_windows() && r == -CIO_EACCES));

    /* Bad input at submit. */
    cio_prep_linkat(&t.op, CIO_AT_FDCWD, NULL, CIO_AT_FDCWD, lnk, 0);
    t_arm(&t);
    CHECK_EQ(cio_submit(&L, &t.op), -CIO_EINVAL);
    cio_prep_linkat(&t.op, CIO_AT_FDCWD, hard, CIO_AT_FDCWD, lnk, 0x1);
    CHECK_EQ(cio_submit(&L, &t.op), -CIO_EINVAL);
    cio_prep_symlinkat(&t.op, NULL, CIO_AT_FDCWD, lnk);
    CHECK_EQ(cio_submit(&L, &t.op), -CIO_EINVAL);
    cio_prep_symlinkat(&t.op, "x", CIO_AT_FDCWD, NULL);
    CHECK_EQ(cio_submit(&L, &t.op), -CIO_EINVAL);
    cio_prep_symlinkat(&t.op, "x", (cio_fd)(intptr_t)-5, "rel");
    CHECK_EQ(cio_submit(&L, &t.op), -CIO_EBADF);
    t_run(&L, 1.0);
    CHECK_EQ(t.finals, 0);
}

/* ---- readdir ---- */

typedef struct seen_t {
    char name[300];
    unsigned type;
    int count;
} seen_t;

enum { NFILES = 150 };
static seen_t made[NFILES + 2];
static int nmade;

static void name_of(int i, char *out) {
    /* Lengths from 1 to 200, so that records of every size come. */
    int len = 1 + (i * 37) % 200;
    for (int k = 0; k < len; k++) out[k] = (char)('a' + (i + k) % 26);
    snprintf(out + len, 16, "%d", i); /* unique */
}

static int lookup_made(const char *name) {
    for (int i = 0; i < nmade; i++)
        if (strcmp(made[i].name, name) == 0) return i;
    return -1;
}

/* Reads the whole directory through cio, `len` bytes of buffer at a time. */
static void list_dir(const char *dir, uint32_t len) {
    static uint64_t buf[8192 / 8];
    CHECK(len <= sizeof buf);
    for (int i = 0; i < nmade; i++) made[i].count = 0;
    cio_fd dfd = fs_open_ok(&L, dir, CIO_O_RDONLY | CIO_O_DIRECTORY);
    int batches = 0;
    for (;;) {
        CHECK(++batches < 10000);
        t_op t;
        cio_prep_readdir(&t.op, dfd, buf, len);
        int32_t r = fs_do(&L, &t);
        if (r < 0) fprintf(stderr, "readdir of %u bytes: %s\n", len, cio_strerror(r));
        CHECK(r >= 0);
        if (r == 0) break;
        CHECK((uint32_t)r <= len);
        int recs = 0;
        for (const cio_dirent *d = cio_dirent_next(buf, (uint32_t)r, NULL); d; d = cio_dirent_next(buf, (uint32_t)r, d)) {
            CHECK(d->reclen % 8 == 0 && d->reclen >= CIO_DIRENT_RECLEN(strlen(d->name)));
            CHECK((const char *)d + d->reclen <= (const char *)buf + r);
            CHECK(strcmp(d->name, ".") != 0 && strcmp(d->name, "..") != 0);
            int k = lookup_made(d->name);
            if (k < 0) fprintf(stderr, "readdir: unexpected entry %s\n", d->name);
            CHECK(k >= 0);
            made[k].count++;
            CHECK(d->type == made[k].type || d->type == CIO_DT_UNKNOWN);
#if !defined(_WIN32)
            if (!mock) { /* the oracle's inode number */
                char p[1000];
                snprintf(p, sizeof p, "%s/%s", dir, d->name);
                t_stat st;
                CHECK_EQ(t_sys_stat(p, 0, &st), 0);
                CHECK_EQ(d->ino, st.ino);
            }
#endif
            recs++;
        }
        CHECK(recs > 0);
    }
    /* At the end it stays at the end. */
    t_op t;
    cio_prep_readdir(&t.op, dfd, buf, len);
    CHECK_EQ(fs_do(&L, &t), 0);
    fs_close_ok(&L, dfd);
    for (int i = 0; i < nmade; i++) {
        if (made[i].count != 1) fprintf(stderr, "readdir: %s seen %d times\n", made[i].name, made[i].count);
        CHECK_EQ(made[i].count, 1);
    }
}

static void readdir_ops(void) {
    char dir[700], p[1000];
    P(dir, "listed");
    o_mkdir(dir);
    nmade = 0;
    for (int i = 0; i < NFILES; i++) {
        name_of(i, made[nmade].name);
        made[nmade].type = CIO_DT_REG;
        snprintf(p, sizeof p, "%s/%s", dir, made[nmade].name);
        o_put(p, "x", (size_t)(i % 2));
        nmade++;
    }
    snprintf(made[nmade].name, sizeof made[nmade].name, "subdir");
    made[nmade].type = CIO_DT_DIR;
    snprintf(p, sizeof p, "%s/subdir", dir);
    o_mkdir(p);
    nmade++;

#if !defined(_WIN32)
    if (!mock) {
        /* The oracle's own listing: opendir/readdir, "." and ".." aside. */
        DIR *d = opendir(dir);
        CHECK(d != NULL);
        int n = 0;
        for (struct dirent *e; (e = readdir(d));) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            CHECK(lookup_made(e->d_name) >= 0);
            n++;
        }
        closedir(d);
        CHECK_EQ(n, nmade);
    }
#endif
    list_dir(dir, 8192);
    list_dir(dir, 1024); /* many batches, each ending where the next begins */

    /* An empty directory: 0 at once. */
    nmade = 0;
    snprintf(p, sizeof p, "%s/subdir", dir);
    list_dir(p, 4096);

    /* Too small for any record (16 bytes at least): -CIO_EINVAL, as getdents64. */
    static uint64_t small[1];
    cio_fd dfd = fs_open_ok(&L, dir, CIO_O_RDONLY | CIO_O_DIRECTORY);
    t_op t;
    cio_prep_readdir(&t.op, dfd, small, sizeof small);
    CHECK_EQ(fs_do(&L, &t), -CIO_EINVAL);
    /* Misaligned or NULL: refused at submit. */
    static uint64_t odd[4];
    cio_prep_readdir(&t.op, dfd, (char *)odd + 1, 16);
    t_arm(&t);
    CHECK_EQ(cio_submit(&L, &t.op), -CIO_EINVAL);
    cio_prep_readdir(&t.op, dfd, NULL, 16);
    CHECK_EQ(cio_submit(&L, &t.op), -CIO_EINVAL);
    cio_prep_readdir(&t.op, (cio_fd)(intptr_t)-1, small, sizeof small);
    CHECK_EQ(cio_submit(&L, &t.op), -CIO_EBADF);
    t_run(&L, 1.0);
    CHECK_EQ(t.finals, 0);
    fs_close_ok(&L, dfd);
    /* A file is not a directory. */
    snprintf(p, sizeof p, "%s/%s", dir, "plainfile");
    o_put(p, "abc", 3);
    cio_fd fd = fs_open_ok(&L, p, CIO_O_RDONLY);
    static uint64_t buf[512];
    cio_prep_readdir(&t.op, fd, buf, sizeof buf);
    CHECK_EQ(fs_do(&L, &t), -CIO_ENOTDIR);
    fs_close_ok(&L, fd);
}

/* ---- copy_range ---- */

/* At the positions, which move: the second half of the source, appended
 * to a copy of its first 1000 bytes. */
static void copy_at_positions(cio_fd in, const char *b, const unsigned char *src, unsigned char *back) {
    enum { SIZE = 300000 };
    t_op t;
    uint64_t done;
    cio_fd out;
    memset(back, 0, SIZE);
    o_put(b, src, 1000);
    out = fs_open_ok(&L, b, CIO_O_WRONLY);
    t_op w;
    static unsigned char skip[1000];
    cio_prep_read(&w.op, in, skip, sizeof skip, CIO_OFFSET_CURRENT); /* in's position: 1000 */
    CHECK_EQ(fs_do(&L, &w), 1000);
    cio_prep_write(&w.op, out, src, 1000, CIO_OFFSET_CURRENT); /* out's position: 1000 */
    CHECK_EQ(fs_do(&L, &w), 1000);
    done = 1000;
    for (int i = 0; done < SIZE; i++) {
        CHECK(i < 100000);
        cio_prep_copy_range(&t.op, in, CIO_OFFSET_CURRENT, out, CIO_OFFSET_CURRENT, (uint32_t)(SIZE - done));
        int32_t r = fs_do(&L, &t);
        CHECK(r > 0);
        done += (uint64_t)r;
    }
    CHECK_EQ(o_get(b, back, SIZE), SIZE);
    CHECK_EQ(sum(back, SIZE), sum(src, SIZE));
    /* Both positions moved to the end: nothing more to copy. */
    cio_prep_copy_range(&t.op, in, CIO_OFFSET_CURRENT, out, CIO_OFFSET_CURRENT, 100);
    CHECK_EQ(fs_do(&L, &t), 0);
    fs_close_ok(&L, out);
}

static void copies(void) {
    enum { SIZE = 300000 };
    static unsigned char src[SIZE], back[SIZE + 10];
    char a[700], b[700];
    P(a, "csrc");
    P(b, "cdst");
    fill(src, sizeof src, 9);
    o_put(a, src, sizeof src);
    o_put(b, "", 0);
    cio_fd in = fs_open_ok(&L, a, CIO_O_RDONLY), out = fs_open_ok(&L, b, CIO_O_WRONLY);
    /* At offsets: the caller loops over short counts. */
    uint64_t done = 0;
    for (int i = 0; done < SIZE; i++) {
        CHECK(i < 100000);
        t_op t;
        cio_prep_copy_range(&t.op, in, done, out, done, (uint32_t)(SIZE - done));
        int32_t r = fs_do(&L, &t);
        CHECK(r > 0);
        done += (uint64_t)r;
    }
    CHECK_EQ(done, SIZE);
    CHECK_EQ(o_get(b, back, sizeof back), SIZE);
    CHECK_EQ(sum(back, SIZE), sum(src, SIZE));
    /* Past the end of the input: 0. */
    t_op t;
    cio_prep_copy_range(&t.op, in, SIZE + 5, out, 0, 100);
    CHECK_EQ(fs_do(&L, &t), 0);
    fs_close_ok(&L, out);

    if (mock || !T_SKIP_CASE_ON_WINDOWS("copy_range_current",
                                        "IOCP keeps each handle's position apart from the file "
                                        "pointer that copy_range on the pool uses (op.h)"))
        copy_at_positions(in, b, src, back);
    /* A handle not open for writing: -CIO_EBADF; bad handles at submit. */
    out = fs_open_ok(&L, b, CIO_O_RDONLY);
    cio_prep_copy_range(&t.op, in, 0, out, 0, 100);
    int32_t r = fs_do(&L, &t);
    CHECK(r == -CIO_EBADF || (t_on_windows() && r == -CIO_EACCES));
    CHECK_EQ(o_get(b, NULL, 0), SIZE);
    cio_prep_copy_range(&t.op, (cio_fd)(intptr_t)-1, 0, out, 0, 100);
    t_arm(&t);
    CHECK_EQ(cio_submit(&L, &t.op), -CIO_EBADF);
    cio_prep_copy_range(&t.op, in, 0, (cio_fd)(intptr_t)-1, 0, 100);
    CHECK_EQ(cio_submit(&L, &t.op), -CIO_EBADF);
    t_run(&L, 1.0);
    CHECK_EQ(t.finals, 0);
    fs_close_ok(&L, out);
    fs_close_ok(&L, in);
}

int main(void) {
    on_loop_thread = 1;
    /* One pool op of this loop at a time, so that a second call queues
     * (read at the pool's first use: before any op). */
#if defined(_WIN32)
    _putenv("CIO_POOL_THREADS=2");
#else
    setenv("CIO_POOL_THREADS", "2", 1);
#endif
    t_loop_init(&L, 64);
    mock = cio_loop_backend(&L) == CIO_BACKEND_MOCK;
    if (mock) {
        snprintf(base, sizeof base, "/t");
        o_mkdir(base);
    } else {
        snprintf(base, sizeof base, "%s", fs_mkdtemp());
    }
    if (mock)
        call_cancel_mock();
    else
        call_cancel_pool();
    call_basic();
    call_in_task();
    call_loop_close();
    CHECK_EQ(atomic_load(&eintrs), 0);
    sizes();
    links();
    readdir_ops();
    copies();
    t_close(&L);
    printf("test_ops_l3: ok (%s)\n", mock ? "mock" : "real");
    return 0;
}
