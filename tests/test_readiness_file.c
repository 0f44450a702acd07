/*
 * Reads of a regular file through cio return the file's bytes, whatever
 * the page cache holds: the readiness backends read cached pages on the
 * loop's thread (preadv2 with RWF_NOWAIT) and send the rest to the pool,
 * and a read that the cache answers only in part must still return all it
 * asked for (a short read of a regular file means its end, here as with a
 * blocking read(2) and on io_uring).
 *
 * The oracle: a file written with plain system calls from a pattern that is
 * a function of the offset; every read is checked byte by byte against it,
 * and its length against the file's size. What the cache holds is checked
 * with mincore(2) where the test depends on it.
 *
 * Cases: random reads (offsets and lengths, some unaligned) at queue depth
 * 1 and 32, read and readv, at an offset and at the file's position; reads
 * at, across and past the end; the file's pages dropped
 * (posix_fadvise DONTNEED); a read whose head is cached and whose rest is
 * not, at an offset and at the position (where the position must end just
 * after what was read); a file open O_DIRECT.
 */
#include "fs_util.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/uio.h>

#define FILE_LEN (4u * 1024 * 1024 + 123) /* not a whole number of pages */
#define MAX_LEN (64u * 1024)
#define QD 32
#define READS 3000

static unsigned char pattern(uint64_t off) { return (unsigned char)(off * 131u + (off >> 12) + 7u); }

static void check_bytes(const unsigned char *buf, size_t len, uint64_t at) {
    for (size_t i = 0; i < len; i++)
        if (buf[i] != pattern(at + i)) {
            fprintf(stderr, "byte %llu of the file: %u, expected %u\n", (unsigned long long)(at + i), buf[i],
                    pattern(at + i));
            exit(1);
        }
}

/* What a read of `len` at `off` must return. */
static int32_t expected(uint64_t off, uint32_t len) {
    if (off >= FILE_LEN) return 0;
    return (int32_t)(FILE_LEN - off < len ? FILE_LEN - off : len);
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint32_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

typedef struct rd {
    t_op t;
    uint64_t off;
    uint32_t len;
    bool vec;
    struct iovec iov[3];
    unsigned char buf[MAX_LEN];
} rd;

static rd slots[QD];
static int fd;
static unsigned started, checked;

static void rd_cb(cio_loop *loop, cio_op *op);

static void start(cio_loop *loop, rd *r) {
    /* Offsets anywhere, a few past the end; lengths from 1 byte to 64 KiB,
     * mostly 4 KiB-aligned 4 KiB blocks as a database would read. */
    uint32_t kind = rng() % 8;
    if (kind < 5) {
        r->off = (uint64_t)(rng() % (FILE_LEN / 4096 + 1)) * 4096;
        r->len = 4096;
    } else {
        r->off = rng() % (FILE_LEN + 8192);
        r->len = 1 + rng() % MAX_LEN;
    }
    memset(r->buf, 0xee, r->len);
    r->vec = rng() % 4 == 0;
    if (r->vec) {
        uint32_t a = r->len / 3, b = r->len / 2;
        r->iov[0] = (struct iovec){r->buf, a};
        r->iov[1] = (struct iovec){r->buf + a, b - a};
        r->iov[2] = (struct iovec){r->buf + b, r->len - b};
        cio_prep_readv(&r->t.op, fd, (cio_iovec *)r->iov, 3, r->off);
    } else {
        cio_prep_read(&r->t.op, fd, r->buf, r->len, r->off);
    }
    t_arm(&r->t);
    r->t.op.cb = rd_cb;
    started++;
    CHECK_EQ(cio_submit(loop, &r->t.op), 0);
}

static void rd_cb(cio_loop *loop, cio_op *op) {
    rd *r = (rd *)op;
    t_cb(loop, op);
    CHECK_EQ(r->t.finals, 1);
    int32_t want = expected(r->off, r->len);
    if (op->res != want)
        fprintf(stderr, "read of %u at %llu: %d, expected %d\n", r->len, (unsigned long long)r->off, op->res, want);
    CHECK_EQ(op->res, want);
    check_bytes(r->buf, (size_t)want, r->off);
    checked++;
    if (started < READS) start(loop, r);
}

static void random_reads(cio_loop *loop, unsigned depth) {
    started = checked = 0;
    for (unsigned i = 0; i < depth; i++) start(loop, &slots[i]);
    t_run(loop, 60.0);
    CHECK_EQ(checked, READS);
}

/* One read through cio of `len` at `off` (or at the position) into buf. */
static int32_t read_once(cio_loop *loop, unsigned char *buf, uint32_t len, uint64_t off) {
    t_op t;
    cio_prep_read(&t.op, fd, buf, len, off);
    return fs_do(loop, &t);
}

/* How many of the pages in [off, off + len) the page cache holds. */
static size_t cached_pages(uint64_t off, size_t len) {
    long page = sysconf(_SC_PAGESIZE);
    void *map = mmap(NULL, FILE_LEN, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(map != MAP_FAILED);
    size_t first = off / (size_t)page, last = (off + len + (size_t)page - 1) / (size_t)page, n = 0;
    unsigned char vec[(MAX_LEN * 2) / 4096 + 2];
    CHECK(last - first <= sizeof vec);
    CHECK_EQ(mincore((char *)map + first * (size_t)page, (last - first) * (size_t)page, vec), 0);
    for (size_t i = 0; i < last - first; i++) n += vec[i] & 1;
    munmap(map, FILE_LEN);
    return n;
}

static bool drop_cache(void) {
    CHECK_EQ(fdatasync(fd), 0);
    CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    return cached_pages(0, MAX_LEN) == 0;
}

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    char path[512];
    fs_path(path, sizeof path, fs_mkdtemp(), "data");

    /* The file, with plain calls. */
    int wfd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(wfd >= 0);
    static unsigned char chunk[1 << 16];
    for (uint64_t at = 0; at < FILE_LEN; at += sizeof chunk) {
        size_t n = FILE_LEN - at < sizeof chunk ? FILE_LEN - at : sizeof chunk;
        for (size_t i = 0; i < n; i++) chunk[i] = pattern(at + i);
        fs_write_all(wfd, chunk, n, (long long)at);
    }
    CHECK_EQ(close(wfd), 0);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);

    /* Warm: every page cached. */
    for (uint64_t at = 0; at < FILE_LEN; at += sizeof chunk) CHECK(pread(fd, chunk, sizeof chunk, (off_t)at) > 0);
    random_reads(&loop, 1);
    random_reads(&loop, QD);

    /* The end of the file: across it, at it, past it. */
    static unsigned char buf[MAX_LEN * 2];
    CHECK_EQ(read_once(&loop, buf, 4096, FILE_LEN - 100), 100);
    check_bytes(buf, 100, FILE_LEN - 100);
    CHECK_EQ(read_once(&loop, buf, 4096, FILE_LEN), 0);
    CHECK_EQ(read_once(&loop, buf, 4096, FILE_LEN + 5000), 0);
    CHECK_EQ(read_once(&loop, buf, 0, 10), 0);

    /* At the position: the whole file in uneven steps, then the end. */
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    uint64_t pos = 0;
    for (;;) {
        int32_t n = read_once(&loop, buf, 5000, CIO_OFFSET_CURRENT);
        CHECK(n >= 0);
        CHECK_EQ(n, expected(pos, 5000));
        check_bytes(buf, (size_t)n, pos);
        pos += (uint64_t)n;
        if (n == 0) break;
    }
    CHECK_EQ(pos, FILE_LEN);

    /* Pages dropped: the reads wait for the disk (on the pool) and still
     * return the file's bytes. */
    if (!drop_cache()) {
        printf("SKIP the uncached cases: posix_fadvise(DONTNEED) left the pages cached (file system?)\n");
    } else {
        random_reads(&loop, QD);

        /* A cached head and an uncached rest. Readahead off, so that one
         * read caches exactly its own pages. */
        CHECK(drop_cache());
        CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM), 0);
        uint64_t at = 1024 * 1024;
        CHECK_EQ(pread(fd, buf, 8192, (off_t)at), 8192);
        size_t cached = cached_pages(at, MAX_LEN);
        if (cached >= MAX_LEN / 4096) {
            printf("SKIP the partly cached case: the kernel read ahead anyway\n");
        } else {
            CHECK(cached >= 2);
            memset(buf, 0xee, MAX_LEN);
            CHECK_EQ(read_once(&loop, buf, MAX_LEN, at), (int32_t)MAX_LEN);
            check_bytes(buf, MAX_LEN, at);

            /* The same at the position, which must end after the whole read. */
            CHECK(drop_cache());
            uint64_t at2 = 2 * 1024 * 1024 + 512;
            CHECK_EQ(pread(fd, buf, 4096, (off_t)at2), 4096);
            CHECK_EQ(lseek(fd, (off_t)at2, SEEK_SET), (off_t)at2);
            memset(buf, 0xee, MAX_LEN);
            CHECK_EQ(read_once(&loop, buf, MAX_LEN, CIO_OFFSET_CURRENT), (int32_t)MAX_LEN);
            check_bytes(buf, MAX_LEN, at2);
            CHECK_EQ(lseek(fd, 0, SEEK_CUR), (off_t)(at2 + MAX_LEN));

            /* A cached head that ends at the end of the file is the end. */
            CHECK(drop_cache());
            uint64_t tail = FILE_LEN - 3000;
            CHECK_EQ(pread(fd, buf, 3000, (off_t)tail), 3000);
            CHECK_EQ(read_once(&loop, buf, MAX_LEN, tail), 3000);
            check_bytes(buf, 3000, tail);
        }
    }
    CHECK_EQ(close(fd), 0);

    /* O_DIRECT: aligned reads, from the disk each time. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
    if (fd < 0) {
        printf("SKIP O_DIRECT: %s\n", strerror(errno));
    } else {
        void *al = NULL;
        CHECK_EQ(posix_memalign(&al, 4096, 16384), 0);
        for (int i = 0; i < 8; i++) {
            uint64_t at = (uint64_t)(rng() % (FILE_LEN / 4096 - 4)) * 4096;
            CHECK_EQ(read_once(&loop, al, 16384, at), 16384);
            check_bytes(al, 16384, at);
        }
        free(al);
        CHECK_EQ(close(fd), 0);
    }
    t_close(&loop);
    printf("ok\n");
    return 0;
}
