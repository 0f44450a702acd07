/*
 * tests/test_fifo_open_async.c - an open never blocks on a FIFO, also when
 * io_uring's kernel would open it in a worker (issue 7, points 11 and 12;
 * op.h at cio_prep_openat).
 *
 * tests/test_fifo_open.c checks the promise with plain flags and paths.
 * io_uring's own openat tries with O_NONBLOCK only inline, and only where
 * the path resolves from the dentry cache: it skips that try for O_CREAT
 * and O_TRUNC (they "always -EAGAIN"), and a path that leaves the cache's
 * RCU walk (a /proc/self/fd magic link; any name not cached) makes it
 * -EAGAIN. The open then runs in a kernel worker as a plain open(2), and
 * on a FIFO waits for the other end. Oracles as there: a time bound from
 * CLOCK_MONOTONIC (a blocked open never comes back), fstat and fcntl's
 * view of the handle, ENXIO from the kernel for a write-open with no
 * reader, and bytes through the FIFO with plain read and write.
 * CIO_TEST_NOT_ON_WINDOWS: FIFOs (mkfifo), /proc and io_uring's kernel workers are POSIX's and Linux's
 */
#include "fs_util.h"

#include <sys/stat.h>

#define BOUND 5.0

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int32_t cio_open(cio_loop *loop, const char *path, int flags, const char *what) {
    t_op t;
    cio_prep_openat(&t.op, CIO_AT_FDCWD, path, flags, 0600);
    t_arm(&t);
    CHECK_EQ(cio_submit(loop, &t.op), 0);
    double t0 = t_seconds();
    while (t.finals == 0 && t_seconds() < t0 + BOUND) {
        CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
        if (t.finals == 0) sleep_ms(1);
    }
    if (t.finals == 0) {
        /* Still asleep in open(): exit() ends the thread with us. */
        fprintf(stderr, "%s: no completion after %.1f s: the open blocks\n", what, BOUND);
        exit(1);
    }
    CHECK_EQ(t.finals, 1);
    return t.res;
}

static void expect_blocking_mode(int fd, int accmode, const char *what) {
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0);
    CHECK_EQ(fl & O_ACCMODE, accmode);
    if (fl & O_NONBLOCK) {
        fprintf(stderr, "%s: O_NONBLOCK is set on the new handle, the caller did not ask for it\n", what);
        exit(1);
    }
    struct stat st;
    CHECK_EQ(fstat(fd, &st), 0);
    CHECK(S_ISFIFO(st.st_mode));
}

static void run_cases(const char *dir, const char *mode, int round) {
    char path[160], name[32];
    snprintf(name, sizeof name, "fifo%d", round);
    fs_path(path, sizeof path, dir, name);
    CHECK_EQ(mkfifo(path, 0600), 0);
    cio_loop loop;
    t_loop_init(&loop, 64);

    static const struct {
        int flags;
        const char *what;
    } writes[] = {
        {O_WRONLY | O_CREAT | O_CLOEXEC, "write-open with O_CREAT, no reader"},
        {O_WRONLY | O_TRUNC | O_CLOEXEC, "write-open with O_TRUNC, no reader"},
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        int32_t r = cio_open(&loop, path, writes[i].flags, writes[i].what);
        if (r != -CIO_ENXIO) {
            fprintf(stderr, "%s: %d (%s), want -CIO_ENXIO\n", writes[i].what, r, r < 0 ? cio_strerror(r) : "a handle");
            exit(1);
        }
    }
    int rd = cio_open(&loop, path, O_RDONLY | O_CREAT | O_CLOEXEC, "read-open with O_CREAT, no writer");
    CHECK(rd >= 0);
    expect_blocking_mode(rd, O_RDONLY, "read-open with O_CREAT");
    int rd2 = cio_open(&loop, path, O_RDONLY | O_TRUNC | O_CLOEXEC, "read-open with O_TRUNC, no writer");
    CHECK(rd2 >= 0);
    expect_blocking_mode(rd2, O_RDONLY, "read-open with O_TRUNC");
    CHECK_EQ(close(rd2), 0);
    /* A reader present: the write-open with O_CREAT finds it. */
#if defined(__linux__)
    /* The same FIFO through a /proc magic link. */
    int opath = open(path, O_PATH | O_CLOEXEC);
    CHECK(opath >= 0);
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", opath);
    if (access(link, F_OK) == 0) {
        int rd3 = cio_open(&loop, link, O_RDONLY | O_CLOEXEC, "read-open through /proc/self/fd, no writer");
        CHECK(rd3 >= 0);
        expect_blocking_mode(rd3, O_RDONLY, "read-open through /proc/self/fd");
        CHECK_EQ(close(rd3), 0);
    } else {
        printf("no /proc: the magic link case is skipped\n");
    }
    CHECK_EQ(close(opath), 0);
#endif
    int wr = cio_open(&loop, path, O_WRONLY | O_CREAT | O_CLOEXEC, "write-open with O_CREAT, a reader");
    CHECK(wr >= 0);
    expect_blocking_mode(wr, O_WRONLY, "write-open with O_CREAT, a reader");
    static const char msg[] = "through the FIFO";
    CHECK_EQ(write(wr, msg, sizeof msg), (long long)sizeof msg);
    char in[64];
    CHECK_EQ(read(rd, in, sizeof in), (long long)sizeof msg);
    CHECK_EQ(memcmp(in, msg, sizeof msg), 0);
    CHECK_EQ(close(wr), 0);
    CHECK_EQ(close(rd), 0);

    CHECK_EQ(cio_loop_active(&loop), 0);
    t_close(&loop);
    CHECK_EQ(unlink(path), 0);
    printf("fifo_open_async (%s): ok\n", mode);
}

int main(void) {
    const char *dir = fs_mkdtemp();
    cio_loop probe;
    t_loop_init(&probe, 8);
    cio_backend_kind kind = cio_loop_backend(&probe);
    t_close(&probe);
    if (kind == CIO_BACKEND_URING) {
        /* The pool's openat first, so that its result is known either way. */
        CHECK_EQ(t_setenv("CIO_URING_DISABLE", "openat"), 0);
        run_cases(dir, "io_uring, openat on the pool", 1);
        CHECK_EQ(t_unsetenv("CIO_URING_DISABLE"), 0);
    }
    run_cases(dir, cio_backend_name(kind), 0);
    return 0;
}
