/*
 * bench/fileread_cio.c - random 4 KiB reads from one file through cio, at a
 * given queue depth, for bench/fileread.sh, which runs it beside fio's
 * io_uring, libaio and psync engines on the same file, warm and cold.
 *
 * Usage:
 *   fileread_cio make FILE MIB
 *       makes FILE MIB MiB long (if it is shorter) with a pattern that is a
 *       function of the offset, so that a read from the wrong place is seen.
 *   fileread_cio IMPL FILE QD READS [SEED]
 *       IMPL is a cio backend (io_uring, epoll, poll) or "psync" (pread(2)
 *       in a loop, QD must be 1: the same program's anchor). Reads READS
 *       distinct 4 KiB blocks of FILE, QD in flight at a time, and checks
 *       two bytes of each against the pattern. Prints one line:
 *         bench=fileread impl=cio-epoll qd=32 reads=200000 ns=... reads_per_s=...
 *
 * The blocks are a permutation of the file's first 2^k blocks (the largest
 * power of two that fits), drawn from SEED: no block is read twice in a
 * run, as fio's random map does, so that a cold run misses the page cache
 * on every read and the cold and warm cases are what they say. The file is
 * opened without hints (no posix_fadvise), as an application would; the
 * script tells fio to give none either. What the page cache holds is the
 * script's business (it drops the file's pages, or reads it whole, and
 * checks which with fincore).
 */
#include <cio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "bench_cio.h"

#define BLOCK 4096u
#define MAX_QD 256u

/* The byte at `off` of the file. */
static unsigned char pattern(uint64_t off) { return (unsigned char)(off * 131u + (off >> 12)); }

static void die(const char *what, int err) {
    fprintf(stderr, "fileread_cio: %s: %s\n", what, strerror(err));
    exit(1);
}

/* The i-th block of the run: a bijection on k-bit numbers (xor-shifts and
 * odd multiplications are each one), applied to i + seed * 2^k / 64, so
 * that runs with other seeds start elsewhere in the sequence. */
static unsigned kbits;
static uint64_t seed_base;
static uint64_t block_of(uint64_t i) {
    uint64_t mask = (kbits == 64) ? ~0ull : (1ull << kbits) - 1, x = (i + seed_base) & mask;
    unsigned s = kbits / 2 + 1;
    for (int r = 0; r < 3; r++) {
        x ^= x >> s;
        x = (x * 0x9e3779b97f4a7c15ull) & mask;
    }
    return x;
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
        if (fsync(fd) < 0) die("fsync", errno);
    }
    close(fd);
}

static void check(const unsigned char *buf, uint64_t off) {
    if (buf[0] != pattern(off) || buf[BLOCK - 1] != pattern(off + BLOCK - 1)) {
        fprintf(stderr, "fileread_cio: wrong bytes at %llu\n", (unsigned long long)off);
        exit(1);
    }
}

static uint64_t run_psync(int fd, uint64_t reads) {
    static unsigned char buf[BLOCK];
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < reads; i++) {
        uint64_t off = block_of(i) * BLOCK;
        if (pread(fd, buf, BLOCK, (off_t)off) != BLOCK) die("pread", errno);
        check(buf, off);
    }
    return bench_now_ns() - t0;
}

typedef struct slot {
    cio_op op; /* first: the callback's op is its slot */
    uint64_t off;
    unsigned char buf[BLOCK];
} slot;

typedef struct reader {
    int fd;
    uint64_t next, reads, done;
    slot slots[MAX_QD];
} reader;

static void on_read(cio_loop *loop, cio_op *op);

static void start(cio_loop *loop, reader *r, slot *s) {
    s->off = block_of(r->next++) * BLOCK;
    cio_prep_read(&s->op, r->fd, s->buf, BLOCK, s->off);
    s->op.cb = on_read;
    s->op.data = r;
    int e = cio_submit(loop, &s->op);
    if (e < 0) {
        fprintf(stderr, "fileread_cio: submit: %s\n", cio_strerror(e));
        exit(1);
    }
}

static void on_read(cio_loop *loop, cio_op *op) {
    reader *r = op->data;
    slot *s = (slot *)op;
    if (op->res != (int32_t)BLOCK) {
        fprintf(stderr, "fileread_cio: read: %s\n", op->res < 0 ? cio_strerror(op->res) : "short");
        exit(1);
    }
    check(s->buf, s->off);
    r->done++;
    if (r->next < r->reads) start(loop, r, s);
}

static uint64_t run_cio(cio_loop *loop, reader *r, unsigned qd) {
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < qd && r->next < r->reads; i++) start(loop, r, &r->slots[i]);
    int e = cio_loop_run(loop, CIO_RUN_DEFAULT);
    uint64_t ns = bench_now_ns() - t0;
    if (e < 0 || r->done != r->reads) {
        fprintf(stderr, "fileread_cio: run: %d, %llu of %llu reads\n", e, (unsigned long long)r->done,
                (unsigned long long)r->reads);
        exit(1);
    }
    return ns;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "make") == 0) {
        make_file(argv[2], bench_arg(argv[0], argv[3], "MIB") << 20);
        return 0;
    }
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s make FILE MIB\n       %s IMPL FILE QD READS [SEED]\n", argv[0], argv[0]);
        return 2;
    }
    const char *path = argv[2];
    uint64_t qd = bench_arg(argv[0], argv[3], "QD");
    static reader r;
    r.reads = bench_arg(argv[0], argv[4], "READS");
    uint64_t seed = argc == 6 ? strtoull(argv[5], NULL, 10) : 0;
    bool psync = strcmp(argv[1], "psync") == 0;
    if (qd > MAX_QD || (psync && qd != 1)) {
        fprintf(stderr, "%s: QD from 1 to %u (psync: 1)\n", argv[0], MAX_QD);
        return 2;
    }

    r.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r.fd < 0) die(path, errno);
    struct stat st;
    if (fstat(r.fd, &st) < 0) die("fstat", errno);
    uint64_t nblocks = (uint64_t)st.st_size / BLOCK;
    for (kbits = 0; kbits < 63 && (2ull << kbits) <= nblocks; kbits++) {
    }
    if (nblocks == 0 || r.reads > (1ull << kbits)) {
        fprintf(stderr, "%s: %llu reads need as many distinct blocks; %s has %llu usable\n", argv[0],
                (unsigned long long)r.reads, path, nblocks ? (unsigned long long)(1ull << kbits) : 0ull);
        return 2;
    }
    seed_base = seed * ((1ull << kbits) / 64 + 1);

    uint64_t ns;
    char impl[32];
    if (psync) {
        ns = run_psync(r.fd, r.reads);
        snprintf(impl, sizeof impl, "psync");
    } else {
        cio_backend_kind kind = bench_backend(argv[0], argv[1]);
        static cio_loop loop;
        bench_loop_init(argv[0], &loop, kind, 0);
        ns = run_cio(&loop, &r, (unsigned)qd);
        snprintf(impl, sizeof impl, "cio-%s", cio_backend_name(kind));
        if (cio_loop_close(&loop) != 0) return 1;
    }
    printf("bench=fileread impl=%s qd=%llu reads=%llu ns=%llu reads_per_s=%.0f\n", impl, (unsigned long long)qd,
           (unsigned long long)r.reads, (unsigned long long)ns, ns ? (double)r.reads * 1e9 / (double)ns : 0.0);
    close(r.fd);
    return 0;
}
