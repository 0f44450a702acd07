/*
 * tests/test_fifo_open.c - an open never blocks on a FIFO, the same on
 * every backend (issue 7, points 11 and 12).
 *
 * io_uring's own openat opens a FIFO for reading at once, writer or not,
 * and fails a write-open with no reader with ENXIO; a plain open(2) on the
 * blocking pool (epoll, poll, io_uring without its openat) used to wait for
 * the other end instead, for good. op.h now promises the first everywhere.
 * (io_uring's kernel itself keeps it only for some flags and paths:
 * tests/test_fifo_open_async.c has the others.)
 *
 * Oracles: the kernel's own view of the handle cio returns (fstat: the
 * same FIFO; fcntl: access mode, O_NONBLOCK as asked, close-on-exec), a
 * time bound from CLOCK_MONOTONIC (generous: a blocked open never comes
 * back at all), and bytes that plain write(2) calls put into the FIFO,
 * read back through cio, then EOF once every writer is closed. An O_PATH
 * open (a handle that refuses F_SETFL) still succeeds.
 *
 * Where the non-blocking try says EAGAIN, io_uring's kernel opens again in
 * a worker that may block, and so does the pool: a write-open of a file
 * under another handle's read lease waits for the lease to go (as a plain
 * open(2) does), unless the caller asked for O_NONBLOCK (-CIO_EAGAIN).
 * Oracle: the kernel, which cannot let that open through before the lease
 * holder gives the lease up (lease-break-time is 45 s by default).
 *
 * Everything runs as the backend runs it, then on io_uring once more with
 * CIO_URING_DISABLE=openat (read at each cio_loop_init()), where the open
 * takes the blocking pool.
 * CIO_TEST_NOT_ON_WINDOWS: FIFOs (mkfifo), file leases and fcntl are POSIX's (Windows pipes: test_port, test_mock_pipe)
 */
#include "fs_util.h"

#include <sys/stat.h>

#define BOUND 5.0 /* seconds: "at once" on a loaded machine; a blocked open never returns */

static const char *dir;

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Runs `t` (prepared and armed) to its completion, or fails the test if
 * it does not come back within BOUND: it blocks. */
static int32_t run_bounded(cio_loop *loop, t_op *t, const char *what) {
    CHECK_EQ(cio_submit(loop, &t->op), 0);
    double t0 = t_seconds();
    while (t->finals == 0 && t_seconds() < t0 + BOUND) {
        CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
        if (t->finals == 0) sleep_ms(1);
    }
    if (t->finals == 0) {
        /* Still asleep in open(): exit() ends the pool thread with us. */
        fprintf(stderr, "%s: no completion after %.1f s: the open blocks\n", what, BOUND);
        exit(1);
    }
    CHECK_EQ(t->finals, 1);
    return t->res;
}

static int32_t cio_open(cio_loop *loop, const char *path, int flags, const char *what) {
    t_op t;
    cio_prep_openat(&t.op, CIO_AT_FDCWD, path, flags, 0600);
    t_arm(&t);
    return run_bounded(loop, &t, what);
}

/* `fd` is `path` (the same FIFO), open with `accmode`, close-on-exec, and
 * O_NONBLOCK exactly when `nonblock`. */
static void expect_handle(int fd, const char *path, int accmode, bool nonblock, const char *what) {
    struct stat a, b;
    CHECK_EQ(fstat(fd, &a), 0);
    CHECK_EQ(stat(path, &b), 0);
    CHECK(S_ISFIFO(a.st_mode));
    CHECK(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0);
    CHECK_EQ(fl & O_ACCMODE, accmode);
    if (((fl & O_NONBLOCK) != 0) != nonblock) {
        fprintf(stderr, "%s: O_NONBLOCK is %s on the new handle, the caller %s it\n", what,
                (fl & O_NONBLOCK) ? "set" : "clear", nonblock ? "asked for" : "did not ask for");
        exit(1);
    }
    int fdfl = fcntl(fd, F_GETFD);
    CHECK(fdfl >= 0);
    CHECK(fdfl & FD_CLOEXEC);
}

/* Reads through cio until `len` bytes or EOF; returns the count. */
static size_t cio_read_all(cio_loop *loop, int fd, unsigned char *buf, size_t len) {
    size_t got = 0;
    for (int i = 0; i < 100 && got < len; i++) {
        t_op t;
        cio_prep_read(&t.op, fd, buf + got, (uint32_t)(len - got), CIO_OFFSET_CURRENT);
        t_arm(&t);
        int32_t r = run_bounded(loop, &t, "read from the FIFO");
        CHECK(r >= 0);
        if (r == 0) break;
        got += (size_t)r;
    }
    return got;
}

/* A write-open of a file another handle holds a read lease on (Linux). */
static void lease_cases(cio_loop *loop, int round) {
#if defined(__linux__) && defined(F_SETLEASE)
    char path[160], name[32];
    snprintf(name, sizeof name, "leased%d", round);
    fs_path(path, sizeof path, dir, name);
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    if (fcntl(fd, F_SETLEASE, F_RDLCK) != 0) {
        printf("no leases here (%s): the lease case is skipped\n", strerror(errno));
        close(fd);
        return;
    }
    /* The caller's own O_NONBLOCK: the kernel's EAGAIN is the answer. */
    CHECK_EQ(cio_open(loop, path, O_WRONLY | O_NONBLOCK | O_CLOEXEC, "write-open of a leased file, O_NONBLOCK"),
             -CIO_EAGAIN);
    /* Without: it waits for the lease, then opens in blocking mode. */
    t_op t;
    cio_prep_openat(&t.op, CIO_AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
    t_arm(&t);
    CHECK_EQ(cio_submit(loop, &t.op), 0);
    double t0 = t_seconds();
    while (t_seconds() < t0 + 0.2) {
        CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
        sleep_ms(1);
    }
    if (t.finals != 0) {
        fprintf(stderr, "write-open of a leased file completed with %d (%s) before the lease was given up\n", t.res,
                t.res < 0 ? cio_strerror(t.res) : "a handle");
        exit(1);
    }
    CHECK_EQ(fcntl(fd, F_SETLEASE, F_UNLCK), 0);
    t0 = t_seconds();
    while (t.finals == 0 && t_seconds() < t0 + BOUND) {
        CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
        if (t.finals == 0) sleep_ms(1);
    }
    CHECK_EQ(t.finals, 1);
    if (t.res < 0) {
        fprintf(stderr, "write-open of a leased file, lease given up: %d (%s)\n", t.res, cio_strerror(t.res));
        exit(1);
    }
    int fl = fcntl(t.res, F_GETFL);
    CHECK(fl >= 0);
    CHECK_EQ(fl & O_ACCMODE, O_WRONLY);
    CHECK_EQ(fl & O_NONBLOCK, 0);
    CHECK_EQ(close(t.res), 0);
    CHECK_EQ(close(fd), 0);
#else
    (void)loop;
    (void)round;
#endif
}

static void run_cases(const char *mode, int round) {
    char path[160], name[32];
    snprintf(name, sizeof name, "fifo%d", round);
    fs_path(path, sizeof path, dir, name);
    CHECK_EQ(mkfifo(path, 0600), 0);
    cio_loop loop;
    t_loop_init(&loop, 64);

    /* No reader: a write-open fails at once, as open(O_NONBLOCK) does. */
    int32_t r = cio_open(&loop, path, O_WRONLY | O_CLOEXEC, "write-open with no reader");
    if (r != -CIO_ENXIO) {
        fprintf(stderr, "write-open with no reader: %d (%s), want -CIO_ENXIO\n", r, r < 0 ? cio_strerror(r) : "a handle");
        exit(1);
    }

    /* No writer: a read-open completes at once, in blocking mode as asked. */
    int rd = cio_open(&loop, path, O_RDONLY | O_CLOEXEC, "read-open with no writer");
    CHECK(rd >= 0);
    expect_handle(rd, path, O_RDONLY, false, "read-open with no writer");

    /* The caller's own O_NONBLOCK stays. */
    int rd2 = cio_open(&loop, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, "read-open asking O_NONBLOCK");
    CHECK(rd2 >= 0);
    expect_handle(rd2, path, O_RDONLY, true, "read-open asking O_NONBLOCK");
    CHECK_EQ(close(rd2), 0);

#if defined(O_PATH)
    /* O_PATH: a handle that refuses F_SETFL, and never had O_NONBLOCK. */
    int op = cio_open(&loop, path, O_PATH | O_CLOEXEC, "O_PATH open");
    if (op < 0) {
        fprintf(stderr, "O_PATH open of the FIFO: %d (%s)\n", op, cio_strerror(op));
        exit(1);
    }
    struct stat a, b;
    CHECK_EQ(fstat(op, &a), 0);
    CHECK_EQ(stat(path, &b), 0);
    CHECK(S_ISFIFO(a.st_mode) && a.st_ino == b.st_ino);
    CHECK_EQ(close(op), 0);
#endif

    /* A reader present: the write-open succeeds, blocking mode as asked. */
    int wr = cio_open(&loop, path, O_WRONLY | O_CLOEXEC, "write-open with a reader");
    CHECK(wr >= 0);
    expect_handle(wr, path, O_WRONLY, false, "write-open with a reader");

    /* Bytes from plain write(2) calls, on cio's write handle and on one
     * opened with open(2), come back through a cio read of cio's read
     * handle. Both writes are below PIPE_BUF, so each lands whole. */
    int pw = open(path, O_WRONLY | O_CLOEXEC);
    CHECK(pw >= 0);
    unsigned char out[2000], in[sizeof out + 16];
    for (size_t i = 0; i < sizeof out; i++) out[i] = (unsigned char)(i * 7 + round * 13 + i / 253);
    CHECK_EQ(write(wr, out, 1000), 1000);
    CHECK_EQ(write(pw, out + 1000, 1000), 1000);
    CHECK_EQ(cio_read_all(&loop, rd, in, sizeof out), sizeof out);
    CHECK_EQ(memcmp(in, out, sizeof out), 0);
    /* Every writer gone: the reader sees EOF, nothing more. */
    CHECK_EQ(close(wr), 0);
    CHECK_EQ(close(pw), 0);
    CHECK_EQ(cio_read_all(&loop, rd, in, sizeof in), 0);
    CHECK_EQ(close(rd), 0);

    /* Nobody has the FIFO open any more: a write-open fails again. */
    r = cio_open(&loop, path, O_WRONLY | O_CLOEXEC, "write-open after the reader closed");
    CHECK_EQ(r, -CIO_ENXIO);

    lease_cases(&loop, round);
    CHECK_EQ(cio_loop_active(&loop), 0);
    t_close(&loop);
    CHECK_EQ(unlink(path), 0);
    printf("fifo_open (%s): ok\n", mode);
}

int main(void) {
    /* A lease break signals the holder (us) with SIGIO, whose default ends the process. */
    signal(SIGIO, SIG_IGN);
    dir = fs_mkdtemp();
    cio_loop probe;
    t_loop_init(&probe, 8);
    cio_backend_kind kind = cio_loop_backend(&probe);
    t_close(&probe);
    run_cases(cio_backend_name(kind), 0);
    if (kind == CIO_BACKEND_URING) {
        CHECK_EQ(t_setenv("CIO_URING_DISABLE", "openat"), 0);
        run_cases("io_uring, openat on the pool", 1);
    }
    return 0;
}
