/*
 * tests/test_pool_fairness.c - one loop whose pool ops block for good does
 * not starve another loop's file IO (issue 7, bug 11).
 *
 * Loop A, on its own thread, has ten splices from a pipe nobody writes to
 * in flight: on epoll and poll each holds a pool thread, or waits its turn
 * behind the eight A may run at once. (On io_uring the kernel runs splice
 * in its own workers, so there A takes no pool thread and the case only
 * shows that nothing else starves. An open of a FIFO, the other op that
 * used to block for good, no longer blocks: op.h.) Meanwhile loop B, on
 * another thread, does 100 reads of a regular file and 100 statx, ten at a
 * time; they take the pool on epoll and poll (reads) and on every backend
 * (statx, with CIO_URING_DISABLE=statx on io_uring). Oracles: the bytes
 * read equal what plain pwrite() put there, statx's size equals fstat()'s,
 * all within a generous bound (CLOCK_MONOTONIC), while A's ten splices
 * are still blocked. Then A's close ends its ten ops promptly, each once
 * with -CIO_ECANCELED, and no byte reached the splices' output (fstat).
 *
 * Without splice (CIO_POSIX_ONLY, not Linux) no op blocks for good on the
 * pool: the test reports a skip.
 *
 * CIO_TEST_PORTABLE: on Windows A's ten ops are reads of ten anonymous
 * pipes (t_pipe_sync: handles that cannot do overlapped IO, which IOCP
 * sends to the pool) that nobody writes to, and the oracle for "no byte
 * reached them" is the read buffers themselves. B's reads of the regular
 * file go through the port there; its statx take the pool.
 */
#include "fs_util.h"

#include <stdatomic.h>

enum { STUCK = 10, ROUNDS = 10, PER_ROUND = 10, CHUNK = 256 };

#if (defined(__linux__) && !defined(CIO_POSIX_ONLY)) || defined(_WIN32)

static char data_path[320];
#if defined(_WIN32)
static cio_fd stuck[STUCK][2]; /* open until the process ends */
static unsigned char stuck_buf[STUCK][16];
#else
static int stuck_pipe[2] = {-1, -1}, out_fd = -1; /* open until the process ends */
#endif
static unsigned char pattern[ROUNDS * PER_ROUND * CHUNK];
static atomic_int a_ready, b_done, b_ok;
static atomic_int a_closing;

static void sleep_ms(long ms) { t_sleep_ms((unsigned)ms); }

/* The guard: if A's close does not return in time (the fix is missing),
 * bytes in the pipe release the splices it waits for, so that the program
 * ends with its report rather than at the watchdog. */
static void *guard(void *arg) {
    (void)arg;
    int waited = 0;
    for (;;) {
        waited = atomic_load(&a_closing) ? waited + 1 : 0;
        if (waited > 100) { /* 5 s */
#if defined(_WIN32)
            for (int i = 0; i < STUCK; i++) (void)t_sys_write(stuck[i][1], "x", 1);
#else
            ssize_t w = write(stuck_pipe[1], "x", 1);
            (void)w;
#endif
        }
        sleep_ms(50);
    }
    return NULL;
}

static void *loop_a(void *arg) {
    (void)arg;
    cio_loop loop;
    t_loop_init(&loop, 64);
    t_op t[STUCK];
    for (int i = 0; i < STUCK; i++) {
#if defined(_WIN32)
        cio_prep_read(&t[i].op, stuck[i][0], stuck_buf[i], sizeof stuck_buf[i], CIO_OFFSET_CURRENT);
#else
        cio_prep_splice(&t[i].op, stuck_pipe[0], CIO_OFFSET_CURRENT, out_fd, 0, 4096, 0);
#endif
        t_arm(&t[i]);
        CHECK_EQ(cio_submit(&loop, &t[i].op), 0);
    }
    CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    sleep_ms(100); /* every pool thread A may have is now asleep in splice() */
    CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    for (int i = 0; i < STUCK; i++) CHECK_EQ(t[i].finals, 0);
    atomic_store(&a_ready, 1);
    /* Keep turning while B works, so that A is a live loop, not a dead one. */
    double end = t_seconds() + 30;
    while (!atomic_load(&b_done) && t_seconds() < end) {
        CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
        sleep_ms(2);
    }
    for (int i = 0; i < STUCK; i++) CHECK_EQ(t[i].finals, 0); /* nobody wrote to the pipe */
    if (!atomic_load(&b_ok)) return NULL; /* main reports it */
    atomic_store(&a_closing, 1);
    double t0 = t_seconds();
    CHECK_EQ(cio_loop_close(&loop), 0);
    double took = t_seconds() - t0;
    atomic_store(&a_closing, 0);
    if (took > 2.0) {
        fprintf(stderr, "closing the loop with %d blocked splices took %.3f s\n", STUCK, took);
        exit(1);
    }
    for (int i = 0; i < STUCK; i++) {
        CHECK_EQ(t[i].finals, 1);
        CHECK_EQ(t[i].res, -CIO_ECANCELED);
    }
#if defined(_WIN32)
    for (int i = 0; i < STUCK; i++)
        for (size_t k = 0; k < sizeof stuck_buf[i]; k++) CHECK_EQ(stuck_buf[i][k], 0);
#else
    struct stat st;
    CHECK_EQ(fstat(out_fd, &st), 0);
    CHECK_EQ(st.st_size, 0);
#endif
    return NULL;
}

static void *loop_b(void *arg) {
    (void)arg;
    while (!atomic_load(&a_ready)) sleep_ms(1);
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_fd fd = t_sys_open(data_path, O_RDONLY, 0);
    CHECK(fd != T_FD_NONE);
    long long size = t_sys_file_size(data_path);
    CHECK(size > 0);
    double t0 = t_seconds(), end = t0 + 8.0;
    int reads = 0, stats = 0;
    for (int r = 0; r < ROUNDS; r++) {
        t_op rd[PER_ROUND], sx[PER_ROUND];
        unsigned char buf[PER_ROUND][CHUNK];
        cio_statx stx[PER_ROUND];
        for (int i = 0; i < PER_ROUND; i++) {
            uint64_t off = (uint64_t)(r * PER_ROUND + i) * CHUNK;
            cio_prep_read(&rd[i].op, fd, buf[i], CHUNK, off);
            t_arm(&rd[i]);
            CHECK_EQ(cio_submit(&loop, &rd[i].op), 0);
            cio_prep_statx(&sx[i].op, CIO_AT_FDCWD, data_path, 0, CIO_STATX_BASIC_STATS, &stx[i]);
            t_arm(&sx[i]);
            CHECK_EQ(cio_submit(&loop, &sx[i].op), 0);
        }
        while (cio_loop_active(&loop) > 0 && t_seconds() < end) {
            CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
            if (cio_loop_active(&loop) > 0) sleep_ms(1);
        }
        if (cio_loop_active(&loop) > 0) {
            fprintf(stderr, "loop B: %u of its file ops still waiting after %.1f s (round %d): starved\n",
                    cio_loop_active(&loop), t_seconds() - t0, r);
            exit(1);
        }
        for (int i = 0; i < PER_ROUND; i++) {
            uint64_t off = (uint64_t)(r * PER_ROUND + i) * CHUNK;
            CHECK_EQ(rd[i].finals, 1);
            CHECK_EQ(rd[i].res, CHUNK);
            CHECK_EQ(memcmp(buf[i], pattern + off, CHUNK), 0);
            CHECK_EQ(sx[i].finals, 1);
            CHECK_EQ(sx[i].res, 0);
            CHECK_EQ(stx[i].size, size);
            reads++;
            stats++;
        }
    }
    CHECK_EQ(reads, ROUNDS * PER_ROUND);
    CHECK_EQ(stats, ROUNDS * PER_ROUND);
    const char *name = cio_backend_name(cio_loop_backend(&loop));
    t_close(&loop);
    CHECK_EQ(t_close_handle(fd), 0);
    atomic_store(&b_ok, 1);
    atomic_store(&b_done, 1);
    printf("pool_fairness (%s): 100 reads and 100 statx in %.3f s beside %d blocked pool ops\n",
           name, t_seconds() - t0, STUCK);
    return NULL;
}

int main(void) {
    const char *dir = fs_mkdtemp();
    fs_path(data_path, sizeof data_path, dir, "data");
#if defined(_WIN32)
    for (int i = 0; i < STUCK; i++) CHECK_EQ(t_pipe_sync(stuck[i]), 0);
#else
    /* Read at each cio_loop_init(): statx takes the pool on io_uring too. */
    CHECK_EQ(setenv("CIO_URING_DISABLE", "statx", 1), 0);
    char out_path[320];
    fs_path(out_path, sizeof out_path, dir, "splice_out");
    CHECK_EQ(pipe2(stuck_pipe, O_CLOEXEC), 0);
    out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(out_fd >= 0);
#endif
    cio_fd fd = t_sys_open(data_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd != T_FD_NONE);
    for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (unsigned char)(i * 31 + i / 251);
    fs_write_all(fd, pattern, sizeof pattern, 0);
    CHECK_EQ(t_close_handle(fd), 0);

    /* The guard is never joined: it ends with the process. */
    static t_thread a, b, g;
    CHECK_EQ(t_thread_start(&g, guard, NULL), 0);
    CHECK_EQ(t_thread_start(&a, loop_a, NULL), 0);
    CHECK_EQ(t_thread_start(&b, loop_b, NULL), 0);
    CHECK_EQ(t_thread_join(&b, NULL), 0);
    CHECK_EQ(t_thread_join(&a, NULL), 0);
    CHECK(atomic_load(&b_ok));
    return 0;
}

#else

int main(void) {
    printf("pool_fairness: skipped, no op blocks for good on the pool without splice\n");
    return 77;
}

#endif
