/*
 * bench/fileread_cio.c - random 4 KiB reads from a file whose pages are in
 * the page cache: cio on a backend at queue depth 1 and 32, against plain
 * pread(2) in a loop on the same file (the "psync" anchor), side by side in
 * one process so that both see the same cache and the same machine.
 *
 * Usage: fileread_cio BACKEND FILE [MIB [READS [ROUNDS]]]
 *   FILE is made (MIB MiB, default 256) if it is shorter, then read once
 *   whole so that it is cached. Each round runs psync, cio at depth 1 and
 *   cio at depth 32 in turn, READS reads each (default 200000), at offsets
 *   drawn from one seeded sequence (the same for every implementation), and
 *   checks one byte of each block against the pattern the file was written
 *   with. Prints one line per implementation and round:
 *     bench=fileread impl=cio-epoll qd=32 round=0 reads=200000 ns=... reads_per_s=...
 *   and a summary with the medians and the median of the paired ratios
 *   (cio / psync of the same round).
 *
 * Warm cache only: the cold case (pages dropped between rounds) belongs to
 * the bench suite's file scenario with fio beside it.
 */
#include <cio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "bench_cio.h"

#define BLOCK 4096u
#define MAX_QD 32u
#define MAX_ROUNDS 64

/* The byte at `off` of the file: a function of the offset, so that a read
 * from the wrong place is seen. */
static unsigned char pattern(uint64_t off) { return (unsigned char)(off * 131u + (off >> 12)); }

static void die(const char *what, int err) {
    fprintf(stderr, "fileread_cio: %s: %s\n", what, strerror(err));
    exit(1);
}

static uint64_t rng_state;
static uint64_t next_block(uint64_t nblocks) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state % nblocks;
}

static void make_file(const char *path, uint64_t size) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die(path, errno);
    struct stat st;
    if (fstat(fd, &st) < 0) die("fstat", errno);
    static unsigned char buf[1 << 20];
    if ((uint64_t)st.st_size < size) {
        for (uint64_t at = 0; at < size; at += sizeof buf) {
            for (size_t i = 0; i < sizeof buf; i++) buf[i] = pattern(at + i);
            if (pwrite(fd, buf, sizeof buf, (off_t)at) != (ssize_t)sizeof buf) die("pwrite", errno);
        }
    }
    /* Warm the cache. */
    for (uint64_t at = 0; at < size; at += sizeof buf)
        if (pread(fd, buf, sizeof buf, (off_t)at) < 0) die("pread", errno);
    close(fd);
}

static void check(const unsigned char *buf, uint64_t off) {
    if (buf[0] != pattern(off) || buf[BLOCK - 1] != pattern(off + BLOCK - 1)) {
        fprintf(stderr, "fileread_cio: wrong bytes at %llu\n", (unsigned long long)off);
        exit(1);
    }
}

static uint64_t run_psync(int fd, uint64_t nblocks, uint64_t reads) {
    static unsigned char buf[BLOCK];
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < reads; i++) {
        uint64_t off = next_block(nblocks) * BLOCK;
        if (pread(fd, buf, BLOCK, (off_t)off) != BLOCK) die("pread", errno);
        check(buf, off);
    }
    return bench_now_ns() - t0;
}

typedef struct slot {
    cio_op op;
    uint64_t off;
    unsigned char buf[BLOCK];
} slot;

typedef struct reader {
    int fd;
    uint64_t nblocks, left, done;
    slot slots[MAX_QD];
} reader;

static void on_read(cio_loop *loop, cio_op *op);

static void start(cio_loop *loop, reader *r, slot *s) {
    s->off = next_block(r->nblocks) * BLOCK;
    cio_prep_read(&s->op, r->fd, s->buf, BLOCK, s->off);
    s->op.cb = on_read;
    s->op.data = r;
    r->left--;
    int e = cio_submit(loop, &s->op);
    if (e < 0) {
        fprintf(stderr, "fileread_cio: submit: %s\n", cio_strerror(e));
        exit(1);
    }
}

static void on_read(cio_loop *loop, cio_op *op) {
    reader *r = op->data;
    slot *s = (slot *)op; /* op is the first member */
    if (op->res != (int32_t)BLOCK) {
        fprintf(stderr, "fileread_cio: read: %s\n", op->res < 0 ? cio_strerror(op->res) : "short");
        exit(1);
    }
    check(s->buf, s->off);
    r->done++;
    if (r->left) start(loop, r, s);
}

static uint64_t run_cio(cio_loop *loop, reader *r, unsigned qd, uint64_t reads) {
    r->left = reads;
    r->done = 0;
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < qd && r->left; i++) start(loop, r, &r->slots[i]);
    int e = cio_loop_run(loop, CIO_RUN_DEFAULT);
    uint64_t ns = bench_now_ns() - t0;
    if (e < 0 || r->done != reads) {
        fprintf(stderr, "fileread_cio: run: %d, %llu of %llu reads\n", e, (unsigned long long)r->done,
                (unsigned long long)reads);
        exit(1);
    }
    return ns;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 6) {
        fprintf(stderr, "usage: %s BACKEND FILE [MIB [READS [ROUNDS]]]\n", argv[0]);
        return 2;
    }
    cio_backend_kind kind = bench_backend(argv[0], argv[1]);
    const char *path = argv[2];
    uint64_t mib = argc > 3 ? bench_arg(argv[0], argv[3], "MIB") : 256;
    uint64_t reads = argc > 4 ? bench_arg(argv[0], argv[4], "READS") : 200000;
    int rounds = argc > 5 ? (int)bench_arg(argv[0], argv[5], "ROUNDS") : 5;
    if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
    make_file(path, mib << 20);

    static cio_loop loop;
    bench_loop_init(argv[0], &loop, kind, 0);
    static reader r;
    r.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r.fd < 0) die(path, errno);
    r.nblocks = (mib << 20) / BLOCK;

    static const unsigned qds[] = {1, MAX_QD};
    double psync[MAX_ROUNDS], rate[2][MAX_ROUNDS], ratio[2][MAX_ROUNDS];
    char impl[32];
    snprintf(impl, sizeof impl, "cio-%s", cio_backend_name(kind));
    for (int round = 0; round < rounds; round++) {
        rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)round;
        uint64_t ns = run_psync(r.fd, r.nblocks, reads);
        psync[round] = (double)reads * 1e9 / (double)ns;
        printf("bench=fileread impl=psync qd=1 round=%d reads=%llu ns=%llu reads_per_s=%.0f\n", round,
               (unsigned long long)reads, (unsigned long long)ns, psync[round]);
        for (int q = 0; q < 2; q++) {
            rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)round;
            ns = run_cio(&loop, &r, qds[q], reads);
            rate[q][round] = (double)reads * 1e9 / (double)ns;
            ratio[q][round] = rate[q][round] / psync[round];
            printf("bench=fileread impl=%s qd=%u round=%d reads=%llu ns=%llu reads_per_s=%.0f\n", impl, qds[q],
                   round, (unsigned long long)reads, (unsigned long long)ns, rate[q][round]);
        }
        fflush(stdout);
    }
    double mp = median(psync, rounds);
    for (int q = 0; q < 2; q++) {
        double mr = median(rate[q], rounds);
        printf("summary impl=%s qd=%u reads_per_s=%.0f psync=%.0f ratio=%.3f paired=%.3f\n", impl, qds[q], mr, mp,
               mr / mp, median(ratio[q], rounds));
    }
    close(r.fd);
    return cio_loop_close(&loop) == 0 ? 0 : 1;
}
