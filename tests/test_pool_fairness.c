/*
 * tests/test_pool_fairness.c - one loop whose pool ops block for good does
 * not starve another loop's file IO (issue 7, bug 11).
 *
 * Loop A, on its own thread, has ten opens of a FIFO nobody writes to in
 * flight: each holds a pool thread (on io_uring with CIO_URING_DISABLE =
 * openat,statx, so that they take the pool there too). Meanwhile loop B,
 * on another thread, does 100 reads of a regular file and 100 statx, ten
 * at a time; they take the pool on epoll and poll (reads) and on every
 * backend (statx). Oracles: the bytes read equal what plain pwrite() put
 * there, statx's size equals fstat()'s, all within a generous bound
 * (CLOCK_MONOTONIC), while A's ten opens are still blocked. Then A's close
 * ends its ten ops promptly, each once with -CIO_ECANCELED.
 */
#include "fs_util.h"

#include <pthread.h>
#include <stdatomic.h>

enum { STUCK = 10, ROUNDS = 10, PER_ROUND = 10, CHUNK = 256 };

static char fifo_path[128], data_path[128];
static unsigned char pattern[ROUNDS * PER_ROUND * CHUNK];
static atomic_int a_ready, b_done, b_ok;

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void *loop_a(void *arg) {
    (void)arg;
    cio_loop loop;
    t_loop_init(&loop, 64);
    t_op t[STUCK];
    for (int i = 0; i < STUCK; i++) {
        cio_prep_openat(&t[i].op, CIO_AT_FDCWD, fifo_path, O_RDONLY | O_CLOEXEC, 0);
        t_arm(&t[i]);
        CHECK_EQ(cio_submit(&loop, &t[i].op), 0);
    }
    CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    sleep_ms(100); /* every pool thread A may have is now asleep in open() */
    CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    for (int i = 0; i < STUCK; i++) CHECK_EQ(t[i].finals, 0);
    atomic_store(&a_ready, 1);
    /* Keep turning while B works, so that A is a live loop, not a dead one. */
    double end = t_seconds() + 30;
    while (!atomic_load(&b_done) && t_seconds() < end) {
        CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
        sleep_ms(2);
    }
    for (int i = 0; i < STUCK; i++) CHECK_EQ(t[i].finals, 0); /* nobody wrote to the FIFO */
    if (!atomic_load(&b_ok)) return NULL; /* main reports it */
    double t0 = t_seconds();
    CHECK_EQ(cio_loop_close(&loop), 0);
    double took = t_seconds() - t0;
    if (took > 2.0) {
        fprintf(stderr, "closing the loop with %d blocked opens took %.3f s\n", STUCK, took);
        exit(1);
    }
    for (int i = 0; i < STUCK; i++) {
        CHECK_EQ(t[i].finals, 1);
        CHECK_EQ(t[i].res, -CIO_ECANCELED);
    }
    return NULL;
}

static void *loop_b(void *arg) {
    (void)arg;
    while (!atomic_load(&a_ready)) sleep_ms(1);
    cio_loop loop;
    t_loop_init(&loop, 64);
    int fd = open(data_path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    struct stat st;
    CHECK_EQ(fstat(fd, &st), 0);
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
            CHECK_EQ(stx[i].size, st.st_size);
            reads++;
            stats++;
        }
    }
    CHECK_EQ(reads, ROUNDS * PER_ROUND);
    CHECK_EQ(stats, ROUNDS * PER_ROUND);
    t_close(&loop);
    close(fd);
    atomic_store(&b_ok, 1);
    atomic_store(&b_done, 1);
    printf("pool_fairness: 100 reads and 100 statx in %.3f s beside %d blocked opens\n", t_seconds() - t0,
           STUCK);
    return NULL;
}

int main(void) {
    /* Read at each cio_loop_init(): openat and statx take the pool on io_uring too. */
    CHECK_EQ(setenv("CIO_URING_DISABLE", "openat,statx", 1), 0);
    const char *dir = fs_mkdtemp();
    fs_path(fifo_path, sizeof fifo_path, dir, "fifo");
    fs_path(data_path, sizeof data_path, dir, "data");
    CHECK_EQ(mkfifo(fifo_path, 0600), 0);
    int fd = open(data_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (unsigned char)(i * 31 + i / 251);
    fs_write_all(fd, pattern, sizeof pattern, 0);
    close(fd);

    pthread_t a, b;
    CHECK_EQ(pthread_create(&a, NULL, loop_a, NULL), 0);
    CHECK_EQ(pthread_create(&b, NULL, loop_b, NULL), 0);
    CHECK_EQ(pthread_join(b, NULL), 0);
    CHECK_EQ(pthread_join(a, NULL), 0);
    CHECK(atomic_load(&b_ok));
    return 0;
}
