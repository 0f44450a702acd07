/*
 * test_mock_fs - the mock's in-memory file system (cio/mock.h).
 *
 * The oracles: Linux itself, for what the ops answer (one script of
 * openat, read, write, statx, unlinkat, renameat and mkdirat runs through
 * cio on the poll backend in a real tmpfs directory, then on the mock, and
 * every result, error and statx field must be the same); the test's own
 * model of a file's bytes (a plain array, with checksums) for reads and
 * writes at offsets, at the position, with holes and appends; a writer and
 * a reader of the test's own byte stream around splice; the capacity
 * (bytes of data accepted before -CIO_ENOSPC, and given back by an unlink
 * once the last handle closes); and two runs of one seed for the trace.
 * It names its backends itself: ctest runs it once (CIO_TEST_ONCE).
 * CIO_TEST_PORTABLE: on Windows all but the comparison with Linux.
 */
#include "mock_util.h"
#include "fs_util.h"

#include <errno.h>
#if !defined(_WIN32)
#include <fcntl.h>
#include <ftw.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#endif

#define ANY_FD INT32_MAX /* "a new handle" in a record: numbers differ */

#if !defined(_WIN32) /* for the script against Linux */
static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#endif

/* The test's own generator (never the mock's seed). */
static uint64_t rnd_state;
static uint32_t rnd(void) {
    rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rnd_state >> 33);
}

/* Runs `fn(arg)` as a task on `loop` to its end (bounded). */
static void run_task(cio_loop *loop, cio_task_fn fn, void *arg) {
    CHECK_EQ(cio_task_spawn(loop, fn, arg, NULL, NULL), 0);
    t_run(loop, 20.0);
}

#if !defined(_WIN32) /* the oracle is Linux itself */
/* ---- one script, on Linux and on the mock ---- */

typedef struct record {
    int32_t v[600];
    int line[600];
    int n;
} record;

typedef struct script_ctx {
    record rec;
    cio_fd base;        /* the run's directory */
    bool tmpfs;         /* the real run is on tmpfs: directory sizes and blocks compare too */
    bool mock;
    cio_fd pipe_rd, pipe_wr; /* a pipe of the run's backend */
} script_ctx;

static void put_rec(script_ctx *c, int line, int32_t v) {
    CHECK(c->rec.n < 600);
    c->rec.line[c->rec.n] = line;
    c->rec.v[c->rec.n++] = v;
}
#define R(v) put_rec(c, __LINE__, (v))
#define RFD(v) put_rec(c, __LINE__, (v) >= 0 ? ANY_FD : (int32_t)(v))

/* statx of `path` (relative to the base unless absolute), recorded. */
static void rec_stat(script_ctx *c, int line, cio_fd dirfd, const char *path, int flags) {
    cio_statx st;
    memset(&st, 0xab, sizeof st);
    int32_t r = cio_stat(dirfd, path, flags, CIO_STATX_BASIC_STATS, &st);
    put_rec(c, line, r);
    if (r < 0) return;
    CHECK((st.mask & (CIO_STATX_TYPE | CIO_STATX_MODE | CIO_STATX_NLINK | CIO_STATX_SIZE)) ==
          (CIO_STATX_TYPE | CIO_STATX_MODE | CIO_STATX_NLINK | CIO_STATX_SIZE));
    uint32_t type = st.mode & CIO_S_IFMT;
    put_rec(c, line, (int32_t)type);
    put_rec(c, line, st.mode & 07777);
    put_rec(c, line, (int32_t)st.nlink);
    /* A directory's size and a file's blocks are tmpfs' own (ext4's
     * differ): compared only when the real run is on tmpfs. */
    if (type == CIO_S_IFREG || c->tmpfs) put_rec(c, line, (int32_t)st.size);
    if (c->tmpfs) put_rec(c, line, (int32_t)st.blocks);
}
#define RSTAT(dirfd, path, flags) rec_stat(c, __LINE__, (dirfd), (path), (flags))

/* Reads all of `fd` from offset 0 (at most 64 KiB): its checksum, with the
 * count mixed in, or the error. */
static int32_t sum_file(cio_fd fd) {
    static unsigned char buf[65536];
    uint32_t got = 0;
    for (;;) {
        int32_t n = cio_read(fd, buf + got, (uint32_t)(sizeof buf - got), got);
        if (n < 0) return n;
        if (n == 0) break;
        got += (uint32_t)n;
        CHECK(got < sizeof buf);
    }
    return (int32_t)(fnv(0xcbf29ce484222325ull, buf, got) & 0x7fffffff) ^ (int32_t)got;
}

static intptr_t script(void *arg) {
    script_ctx *c = arg;
    cio_fd b = c->base;
    char name[300];
    int32_t r;

    /* mkdirat */
    R(cio_mkdirat(b, "d", 0750));
    R(cio_mkdirat(b, "d", 0750));
    R(cio_mkdirat(b, "d/e", 0777));
    R(cio_mkdirat(b, "d/e/", 0777));
    R(cio_mkdirat(b, "nope/x", 0777));
    R(cio_mkdirat(b, ".", 0777));
    R(cio_mkdirat(b, "..", 0777));
    R(cio_mkdirat(b, "d//f2/", 0700));
    RSTAT(b, "d", 0);
    RSTAT(b, "d/e", 0);
    RSTAT(b, "./d//e/../f2/", 0);

    /* A file: writes at the position and at offsets, a hole. */
    intptr_t f = cio_openat(b, "f", CIO_O_CREAT | CIO_O_RDWR, 0666);
    RFD(f);
    R(cio_write((cio_fd)f, "hello", 5, CIO_OFFSET_CURRENT));
    R(cio_write((cio_fd)f, "world", 5, CIO_OFFSET_CURRENT));
    R(cio_write((cio_fd)f, "X", 1, 10000));
    R(cio_write((cio_fd)f, "!", 1, CIO_OFFSET_CURRENT)); /* the position is 10, not 10001 */
    RSTAT(b, "f", 0);
    R(sum_file((cio_fd)f));
    char buf[64];
    memset(buf, 'z', sizeof buf);
    R(cio_read((cio_fd)f, buf, 20, 5));
    R(buf[0]);
    R(buf[5]);
    R(buf[6]); /* a hole: 0 */
    R(cio_read((cio_fd)f, buf, 20, 9995)); /* up to the end: 6 */
    R(buf[5]);
    R(cio_read((cio_fd)f, buf, 20, 10001)); /* at the end */
    R(cio_read((cio_fd)f, buf, 20, 50000));
    R(cio_read((cio_fd)f, buf, 4, CIO_OFFSET_CURRENT)); /* from 11 */
    R(cio_read((cio_fd)f, buf, 0, CIO_OFFSET_CURRENT));
    cio_iovec wv[3] = {{.iov_base = "ab", .iov_len = 2}, {.iov_base = "", .iov_len = 0},
                       {.iov_base = "cde", .iov_len = 3}};
    R(cio_writev((cio_fd)f, wv, 3, 20000));
    char r1[2], r2[10];
    cio_iovec rv[2] = {{.iov_base = r1, .iov_len = 2}, {.iov_base = r2, .iov_len = 10}};
    R(cio_readv((cio_fd)f, rv, 2, 19999));
    R(r1[0]);
    R(r1[1]);
    R(r2[3]);
    RSTAT(b, "f", 0);
    R(cio_fsync((cio_fd)f, 0));
    R(cio_fsync((cio_fd)f, CIO_FSYNC_DATASYNC));
    R(cio_poll((cio_fd)f, CIO_POLLIN | CIO_POLLOUT));
    R(cio_poll((cio_fd)f, CIO_POLLIN));

    /* openat's flags and errors. */
    RFD(r = (int32_t)cio_openat(b, "f", CIO_O_CREAT | CIO_O_EXCL | CIO_O_RDWR, 0600));
    RFD(r = (int32_t)cio_openat(b, "f/", CIO_O_RDONLY, 0));
    RFD(r = (int32_t)cio_openat(b, "f", CIO_O_RDONLY | CIO_O_DIRECTORY, 0));
    RFD(r = (int32_t)cio_openat(b, "d", CIO_O_WRONLY, 0));
    RFD(r = (int32_t)cio_openat(b, "d", CIO_O_RDWR, 0));
    RFD(r = (int32_t)cio_openat(b, "d", CIO_O_RDONLY | CIO_O_TRUNC, 0));
    RFD(r = (int32_t)cio_openat(b, "d", CIO_O_CREAT | CIO_O_RDONLY, 0600));
    RFD(r = (int32_t)cio_openat(b, "d", CIO_O_CREAT | CIO_O_EXCL | CIO_O_RDONLY, 0600));
    RFD(r = (int32_t)cio_openat(b, "new/", CIO_O_CREAT | CIO_O_RDWR, 0600));
    RFD(r = (int32_t)cio_openat(b, "f/", CIO_O_CREAT | CIO_O_RDWR, 0600));
    RFD(r = (int32_t)cio_openat(b, "missing", CIO_O_RDONLY, 0));
    RFD(r = (int32_t)cio_openat(b, "missing/x", CIO_O_CREAT | CIO_O_RDWR, 0600));
    RFD(r = (int32_t)cio_openat(b, "f/x", CIO_O_CREAT | CIO_O_RDWR, 0600));
    RFD(r = (int32_t)cio_openat(b, "", CIO_O_RDONLY, 0));
    RFD(r = (int32_t)cio_openat(b, ".", CIO_O_CREAT | CIO_O_RDWR, 0600));
    RFD(r = (int32_t)cio_openat(b, "nd", CIO_O_CREAT | CIO_O_DIRECTORY | CIO_O_RDWR, 0600));
    memset(name, 'n', 256);
    name[256] = 0;
    RFD(r = (int32_t)cio_openat(b, name, CIO_O_CREAT | CIO_O_RDWR, 0600));
    name[255] = 0;
    intptr_t lng = cio_openat(b, name, CIO_O_CREAT | CIO_O_RDWR | CIO_O_EXCL, 0600);
    RFD(lng);
    if (lng >= 0) R(cio_close((cio_fd)lng));
    R(cio_unlinkat(b, name, 0));

    /* Access modes. */
    intptr_t ro = cio_openat(b, "f", CIO_O_RDONLY | CIO_O_NOFOLLOW | CIO_O_CLOEXEC | CIO_O_NONBLOCK, 0);
    RFD(ro);
    R(cio_write((cio_fd)ro, "q", 1, 0));
    R(cio_read((cio_fd)ro, buf, 3, CIO_OFFSET_CURRENT));
    R(buf[0]);
    intptr_t wo = cio_openat(b, "f", CIO_O_WRONLY, 0);
    RFD(wo);
    R(cio_read((cio_fd)wo, buf, 3, 0));
    R(cio_write((cio_fd)wo, "HE", 2, CIO_OFFSET_CURRENT)); /* its own position: 0 */
    R(cio_read((cio_fd)ro, buf, 3, CIO_OFFSET_CURRENT)); /* ro's: 3 */
    R(buf[0]);
    R(cio_read((cio_fd)ro, buf, 2, 0));
    R(buf[0]);
    R(cio_close((cio_fd)wo));

    /* A directory handle. */
    intptr_t dd = cio_openat(b, "d", CIO_O_RDONLY | CIO_O_DIRECTORY, 0);
    RFD(dd);
    R(cio_read((cio_fd)dd, buf, 3, 0));
    R(cio_write((cio_fd)dd, buf, 3, 0));
    RSTAT((cio_fd)dd, "", CIO_AT_EMPTY_PATH);
    RSTAT((cio_fd)dd, "e", 0);
    RSTAT((cio_fd)dd, "../f", 0);
    RSTAT((cio_fd)dd, "e/..//../d/./e", 0);
    RFD(r = (int32_t)cio_openat((cio_fd)dd, "inner", CIO_O_CREAT | CIO_O_WRONLY, 0640));
    if (r >= 0) {
        R(cio_write(r, "in", 2, CIO_OFFSET_CURRENT));
        R(cio_close(r));
    }
    RSTAT(b, "d/inner", 0);
    RSTAT((cio_fd)f, "x", 0); /* a file as dirfd */
    RSTAT((cio_fd)f, "", CIO_AT_EMPTY_PATH);
    RSTAT(c->pipe_rd, "", CIO_AT_EMPTY_PATH);
    RSTAT(c->pipe_rd, "x", 0);
    RSTAT(b, "", 0);
    RSTAT(b, "f/", 0);
    RSTAT(b, "f/.", 0);
    RSTAT(b, "d/inner/..", 0);
    R(cio_stat(b, "f", 0x40000000, CIO_STATX_BASIC_STATS, &(cio_statx){0})); /* a flag statx has not */

    /* Append and truncate. */
    intptr_t ap = cio_openat(b, "f", CIO_O_WRONLY | CIO_O_APPEND, 0);
    RFD(ap);
    R(cio_write((cio_fd)ap, "tail", 4, 0)); /* at the end all the same */
    R(cio_write((cio_fd)ap, "++", 2, CIO_OFFSET_CURRENT));
    RSTAT(b, "f", 0);
    R(sum_file((cio_fd)f));
    R(cio_close((cio_fd)ap));
    intptr_t tr = cio_openat(b, "f", CIO_O_RDONLY | CIO_O_TRUNC, 0); /* Linux truncates even so */
    RFD(tr);
    RSTAT(b, "f", 0);
    R(cio_read((cio_fd)ro, buf, 3, CIO_OFFSET_CURRENT)); /* past the new end */
    R(cio_write((cio_fd)f, "again", 5, CIO_OFFSET_CURRENT)); /* at f's position (11): a hole before */
    RSTAT(b, "f", 0);
    R(sum_file((cio_fd)tr));
    R(cio_close((cio_fd)tr));
    intptr_t ex = cio_openat(b, "g", CIO_O_CREAT | CIO_O_EXCL | CIO_O_WRONLY | CIO_O_TRUNC, 0604);
    RFD(ex);
    R(cio_write((cio_fd)ex, "gg", 2, CIO_OFFSET_CURRENT));
    R(cio_close((cio_fd)ex));
    RSTAT(b, "g", 0);

    /* unlinkat */
    R(cio_unlinkat(b, "d", 0));
    R(cio_unlinkat(b, "d", CIO_AT_REMOVEDIR));
    R(cio_unlinkat(b, "f", CIO_AT_REMOVEDIR));
    R(cio_unlinkat(b, "f/", 0));
    R(cio_unlinkat(b, "d/", 0));
    R(cio_unlinkat(b, "missing", 0));
    R(cio_unlinkat(b, "missing/", 0));
    R(cio_unlinkat(b, "d/e/.", CIO_AT_REMOVEDIR));
    R(cio_unlinkat(b, "d/e/..", CIO_AT_REMOVEDIR));
    R(cio_unlinkat(b, ".", 0));
    R(cio_unlinkat(b, "f", 0x1)); /* a flag unlinkat has not */
    R(cio_unlinkat(b, "d/f2/", CIO_AT_REMOVEDIR));
    RSTAT(b, "d", 0);

    /* renameat */
    R(cio_mkdirat(b, "d/e/sub", 0755));
    R(cio_renameat(b, "d", b, "d/e/sub/x", 0));
    R(cio_renameat(b, "d", b, "d/e", 0));
    R(cio_renameat(b, "d/e", b, "d", 0));
    R(cio_renameat(b, "d/e", b, "d", CIO_RENAME_EXCHANGE));
    R(cio_renameat(b, "missing", b, "x", 0));
    R(cio_renameat(b, "g", b, "g2", 0));
    RSTAT(b, "g", 0);
    RSTAT(b, "g2", 0);
    R(cio_renameat(b, "g2", b, "g2", 0));
    R(cio_renameat(b, "g2", b, "g2", CIO_RENAME_NOREPLACE));
    R(cio_renameat(b, "g2", b, "f", CIO_RENAME_NOREPLACE));
    R(cio_renameat(b, "g2", b, "f", CIO_RENAME_NOREPLACE | CIO_RENAME_EXCHANGE));
    R(cio_renameat(b, "g2", b, "f", 0x8));
    R(cio_renameat(b, "g2", b, "d", 0));
    R(cio_renameat(b, "d", b, "g2", 0));
    R(cio_renameat(b, "g2/", b, "g3", 0));
    R(cio_renameat(b, "g2", b, "g3/", 0));
    R(cio_renameat(b, "g2", b, "nope/g3", 0));
    R(cio_renameat(b, ".", b, "g3", 0));
    R(cio_renameat(b, "g2", b, ".", 0));
    R(cio_renameat(b, "g2", b, "..", CIO_RENAME_NOREPLACE));
    R(cio_renameat(b, "g2", b, "h", CIO_RENAME_EXCHANGE));
    R(cio_renameat(b, "g2", b, "f", CIO_RENAME_EXCHANGE));
    RSTAT(b, "f", 0);
    RSTAT(b, "g2", 0);
    R(cio_renameat(b, "f", b, "g2", 0)); /* replaces g2 */
    RSTAT(b, "f", 0);
    RSTAT(b, "g2", 0);
    R(cio_mkdirat(b, "empty", 0755));
    R(cio_renameat(b, "d", b, "empty", 0)); /* over an empty directory */
    RSTAT(b, "empty", 0);
    RSTAT(b, ".", 0);
    R(cio_renameat(b, "empty/e/sub", b, "top", 0)); /* a directory up */
    RSTAT(b, "empty/e", 0);
    RSTAT(b, "top", 0);
    R(cio_renameat(b, "top", b, "empty", CIO_RENAME_EXCHANGE));
    RSTAT(b, "top/e", 0);
    RSTAT(b, "empty", 0);
    RSTAT(b, ".", 0);
    R(cio_renameat(b, "g2", (cio_fd)dd, "moved", 0)); /* dd is now top */
    RSTAT(b, "top/moved", 0);
    R(cio_renameat(b, "top", b, "top/e/deeper", CIO_RENAME_EXCHANGE));
    R(cio_renameat(b, "top/e", b, "top", CIO_RENAME_EXCHANGE));

    /* An unlinked file is readable through its handle until it closes. */
    intptr_t u = cio_openat(b, "u", CIO_O_CREAT | CIO_O_RDWR, 0600);
    RFD(u);
    R(cio_write((cio_fd)u, "unlinked but open", 17, 0));
    R(cio_unlinkat(b, "u", 0));
    RSTAT(b, "u", 0);
    RSTAT((cio_fd)u, "", CIO_AT_EMPTY_PATH);
    R(sum_file((cio_fd)u));
    R(cio_write((cio_fd)u, "!", 1, 17));
    R(sum_file((cio_fd)u));
    R(cio_close((cio_fd)u));

    /* A removed directory, still open. */
    R(cio_mkdirat(b, "gone", 0755));
    intptr_t gd = cio_openat(b, "gone", CIO_O_RDONLY | CIO_O_DIRECTORY, 0);
    RFD(gd);
    R(cio_unlinkat(b, "gone", CIO_AT_REMOVEDIR));
    RSTAT((cio_fd)gd, "", CIO_AT_EMPTY_PATH);
    RFD(r = (int32_t)cio_openat((cio_fd)gd, "x", CIO_O_CREAT | CIO_O_RDWR, 0600));
    R(cio_mkdirat((cio_fd)gd, "x", 0700));
    R(cio_close((cio_fd)gd));

    /* Access mode 3 (Linux's "neither"): opens, reads and writes nothing. */
    intptr_t n3 = cio_openat(b, "g2", 3, 0);
    RFD(n3);
    if (n3 >= 0) {
        R(cio_read((cio_fd)n3, buf, 1, 0));
        R(cio_write((cio_fd)n3, buf, 1, 0));
        R(cio_close((cio_fd)n3));
    }
    RFD(r = (int32_t)cio_openat(b, "top", 3, 0));
    R(cio_renameat(b, "top/", b, "top2/", 0));
    RSTAT(b, "top2/e/", 0);
    R(cio_renameat(b, "top2", b, "top", 0));

    /* splice's errors, then one that moves bytes. */
    const uint64_t cur = CIO_OFFSET_CURRENT;
    intptr_t sa = cio_openat(b, "sa", CIO_O_CREAT | CIO_O_RDWR | CIO_O_APPEND, 0600);
    RFD(sa);
    R(cio_write((cio_fd)f, "spliced!", 8, 0));
    R(cio_splice((cio_fd)f, 0, c->pipe_wr, 0, 4, 0));
    R(cio_splice(c->pipe_rd, 0, (cio_fd)f, 0, 4, 0));
    R(cio_splice((cio_fd)f, 0, c->pipe_rd, cur, 4, 0));
    R(cio_splice(c->pipe_wr, cur, (cio_fd)f, 0, 4, 0));
    R(cio_splice((cio_fd)f, 0, (cio_fd)sa, 0, 4, 0));
    R(cio_splice(c->pipe_rd, cur, (cio_fd)sa, cur, 4, 0));
    R(cio_splice(c->pipe_rd, cur, (cio_fd)ro, 0, 4, 0));
    R(cio_splice((cio_fd)dd, 0, c->pipe_wr, cur, 4, 0));
    R(cio_splice(c->pipe_rd, cur, (cio_fd)f, 0, 0, 0));
    R(cio_splice(c->pipe_rd, cur, (cio_fd)f, 0, 4, 0x100));
    R(cio_splice(c->pipe_rd, cur, c->pipe_wr, cur, 4, 0));
    R(cio_splice(c->pipe_rd, cur, (cio_fd)f, 0, 4, CIO_SPLICE_F_NONBLOCK));
    R(cio_splice((cio_fd)f, 50000, c->pipe_wr, cur, 4, 0)); /* past the end */
    r = cio_splice((cio_fd)f, 0, c->pipe_wr, cur, 4, 0);
    R(r >= 1 && r <= 4); /* the mock's may be short */
    R(cio_close((cio_fd)sa));

    R(cio_close((cio_fd)dd));
    R(cio_close((cio_fd)ro));
    R(cio_close((cio_fd)f));
    R(cio_close((cio_fd)f)); /* twice */
    return 0;
}

/* Removes what the script left in the real directory. */
static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void script_on(script_ctx *c, bool mock, const char *dir) {
    memset(&c->rec, 0, sizeof c->rec);
    c->mock = mock;
    cio_loop loop;
    cio_loop_options o;
    memset(&o, 0, sizeof o);
    o.backend = mock ? CIO_BACKEND_MOCK : CIO_BACKEND_POLL;
    o.seed = 77;
    t_watchdog();
    CHECK_EQ(cio_loop_init(&loop, &o), 0);
    int p[2] = {-1, -1};
    if (mock) {
        CHECK_EQ(cio_mock_pipe(&loop, p), 0);
        /* The base's parents, made by the helper (beside the base, so that
         * the base itself stays empty). */
        char beside[80];
        snprintf(beside, sizeof beside, "%s.p", dir);
        CHECK_EQ(cio_mock_file_put(&loop, beside, "", 0), 0);
    } else {
        CHECK_EQ(pipe(p), 0);
    }
    c->pipe_rd = p[0];
    c->pipe_wr = p[1];
    /* The base: a real directory, or its name in the mock. */
    t_op op;
    if (mock) {
        cio_prep_mkdirat(&op.op, CIO_AT_FDCWD, dir, 0700);
        submit(&loop, &op);
        t_run(&loop, 10.0);
        CHECK_EQ(op.res, 0);
    }
    cio_prep_openat(&op.op, CIO_AT_FDCWD, dir, CIO_O_RDONLY | CIO_O_DIRECTORY, 0);
    submit(&loop, &op);
    t_run(&loop, 10.0);
    CHECK(op.res >= 0);
    c->base = cio_op_fd(&op.op);
    run_task(&loop, script, c);
    cio_prep_close(&op.op, c->base);
    submit(&loop, &op);
    t_run(&loop, 10.0);
    CHECK_EQ(op.res, 0);
    if (mock) {
        close_fd(&loop, p[0]);
        close_fd(&loop, p[1]);
    } else {
        close(p[0]);
        close(p[1]);
    }
    t_close(&loop);
}

static void against_linux(void) {
#ifdef CIO_POSIX_ONLY
    /* A POSIX-only build refuses Linux's extras on the real backends
     * (splice, rename flags): the real run is no longer Linux's answers. */
    puts("  against Linux: not in a POSIX-only build");
    return;
#endif
    if (t_under_emulator()) {
        /* qemu-user translates file calls its own way: the oracle would be
         * qemu, not Linux. */
        puts("  against Linux: skipped under the emulator");
        return;
    }
    umask(022); /* the mock's */
    static char dir[64];
    const char *parent = "/dev/shm";
    struct statfs sfs;
    bool tmpfs = statfs(parent, &sfs) == 0 && sfs.f_type == 0x01021994; /* TMPFS_MAGIC */
    if (!tmpfs) parent = "/tmp";
    snprintf(dir, sizeof dir, "%s/cio_mockfs_XXXXXX", parent);
    CHECK(mkdtemp(dir) != NULL);
    static script_ctx real, sim;
    real.tmpfs = sim.tmpfs = tmpfs;
    script_on(&real, false, dir);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    script_on(&sim, true, dir);
    CHECK_EQ(real.rec.n, sim.rec.n);
    int diffs = 0;
    for (int i = 0; i < real.rec.n; i++) {
        CHECK_EQ(real.rec.line[i], sim.rec.line[i]);
        if (getenv("MOCK_FS_DUMP")) printf("%d: %d %d\n", real.rec.line[i], real.rec.v[i], sim.rec.v[i]);
        if (real.rec.v[i] != sim.rec.v[i]) {
            fprintf(stderr, "line %d: Linux %d (%s), mock %d (%s)\n", real.rec.line[i], real.rec.v[i],
                    real.rec.v[i] < 0 ? cio_strerror(real.rec.v[i]) : "-", sim.rec.v[i],
                    sim.rec.v[i] < 0 ? cio_strerror(sim.rec.v[i]) : "-");
            diffs++;
        }
    }
    printf("script: %d results compared with Linux (%s), %d differ\n", real.rec.n,
           tmpfs ? "tmpfs" : "not tmpfs: sizes of directories and blocks not compared", diffs);
    CHECK_EQ(diffs, 0);
}
#endif /* !_WIN32: against Linux */

/* ---- reads and writes against the test's own model of the file ---- */

#define MODEL_MAX (300 * 1000)

typedef struct model_run {
    unsigned char model[MODEL_MAX];
    unsigned char page_used[MODEL_MAX / 4096 + 1];
    uint64_t size; /* the model's */
    int ops, reads_checked;
} model_run;

static void model_write(model_run *r, uint64_t off, const unsigned char *p, size_t n) {
    memcpy(r->model + off, p, n);
    for (uint64_t pg = off / 4096; n && pg <= (off + n - 1) / 4096; pg++) r->page_used[pg] = 1;
    if (off + n > r->size) r->size = off + n;
}

static void model_check_read(model_run *r, uint64_t off, const unsigned char *got, int32_t n, size_t asked) {
    size_t expect = off >= r->size ? 0 : (r->size - off < asked ? (size_t)(r->size - off) : asked);
    CHECK_EQ(n, (int32_t)expect);
    CHECK(memcmp(got, r->model + off, expect) == 0);
    r->reads_checked++;
}

static intptr_t model_task(void *arg) {
    model_run *r = arg;
    static unsigned char wbuf[20000], rbuf[20000];
    CHECK_EQ(cio_mkdirat(CIO_AT_FDCWD, "/m", 0755), 0);
    intptr_t fd = cio_openat(CIO_AT_FDCWD, "/m/file", CIO_O_CREAT | CIO_O_RDWR, 0600);
    CHECK(fd >= CIO_MOCK_FD_BASE);
    intptr_t ap = cio_openat(CIO_AT_FDCWD, "/m/../m/file", CIO_O_WRONLY | CIO_O_APPEND, 0);
    CHECK(ap >= CIO_MOCK_FD_BASE && ap != fd);
    uint64_t pos = 0; /* fd's position, as the model sees it */
    for (int i = 0; i < 400; i++) {
        uint32_t what = rnd() % 9;
        uint32_t len = 1 + rnd() % 12000;
        uint64_t off = rnd() % (MODEL_MAX - 20000);
        if (what == 8 && rnd() % 4 == 0) { /* truncate on open, rarely */
            intptr_t t = cio_openat(CIO_AT_FDCWD, "/m/file", CIO_O_RDWR | CIO_O_TRUNC, 0);
            CHECK(t >= 0);
            CHECK_EQ(cio_close((cio_fd)t), 0);
            r->size = 0;
            memset(r->model, 0, sizeof r->model);
            memset(r->page_used, 0, sizeof r->page_used);
            continue;
        }
        for (uint32_t k = 0; k < len; k++) wbuf[k] = (unsigned char)rnd();
        switch (what) {
        case 0: /* a write at an offset (a hole when past the end) */
            CHECK_EQ(cio_write((cio_fd)fd, wbuf, len, off), (int32_t)len);
            model_write(r, off, wbuf, len);
            break;
        case 1: /* at the position */
            if (pos + len > MODEL_MAX) pos = 0;
            if (pos == 0) CHECK_EQ(cio_read((cio_fd)fd, rbuf, 0, 0), 0);
            if (pos == 0) { /* rewind by reading 0 at an offset does not move it: reopen instead */
                CHECK_EQ(cio_close((cio_fd)fd), 0);
                fd = cio_openat(CIO_AT_FDCWD, "/m/file", CIO_O_RDWR, 0);
                CHECK(fd >= 0);
            }
            CHECK_EQ(cio_write((cio_fd)fd, wbuf, len, CIO_OFFSET_CURRENT), (int32_t)len);
            model_write(r, pos, wbuf, len);
            pos += len;
            break;
        case 2: { /* writev at an offset */
            uint32_t a = len / 3, b = len / 2 - a / 2;
            cio_iovec iov[3] = {{.iov_base = wbuf, .iov_len = a},
                                {.iov_base = wbuf + a, .iov_len = b},
                                {.iov_base = wbuf + a + b, .iov_len = len - a - b}};
            CHECK_EQ(cio_writev((cio_fd)fd, iov, 3, off), (int32_t)len);
            model_write(r, off, wbuf, len);
            break;
        }
        case 3: /* append, whatever the offset */
            if (r->size + len > MODEL_MAX) break;
            CHECK_EQ(cio_write((cio_fd)ap, wbuf, len, off), (int32_t)len);
            model_write(r, r->size, wbuf, len);
            break;
        case 4: /* a read at an offset, past the end at times */
        case 5: {
            uint64_t at = what == 5 ? r->size + rnd() % 3 - 1 : off;
            if (at > MODEL_MAX - 20000) at = off;
            int32_t n = cio_read((cio_fd)fd, rbuf, len, at);
            model_check_read(r, at, rbuf, n, len);
            break;
        }
        case 6: { /* readv at the position */
            if (pos + len > MODEL_MAX) break;
            uint32_t a = len / 4;
            cio_iovec iov[3] = {{.iov_base = rbuf, .iov_len = a},
                                {.iov_base = rbuf + a, .iov_len = 0},
                                {.iov_base = rbuf + a, .iov_len = len - a}};
            int32_t n = cio_readv((cio_fd)fd, iov, 3, CIO_OFFSET_CURRENT);
            model_check_read(r, pos, rbuf, n, len);
            pos += (uint64_t)n;
            break;
        }
        default: { /* statx: size, and blocks as tmpfs counts them */
            cio_statx st;
            CHECK_EQ(cio_stat((cio_fd)fd, "", CIO_AT_EMPTY_PATH, CIO_STATX_BASIC_STATS, &st), 0);
            CHECK_EQ(st.size, r->size);
            uint64_t pages = 0;
            for (size_t p = 0; p < sizeof r->page_used; p++) pages += r->page_used[p];
            CHECK_EQ(st.blocks, pages * 8);
            CHECK_EQ(st.mode, CIO_S_IFREG | 0600);
            break;
        }
        }
        r->ops++;
    }
    CHECK_EQ(cio_close((cio_fd)ap), 0);
    CHECK_EQ(cio_close((cio_fd)fd), 0);
    return 0;
}

static uint64_t model_once(uint64_t seed, model_run *r) {
    memset(r, 0, sizeof *r);
    rnd_state = seed * 7919;
    cio_loop loop;
    mock_loop(&loop, seed);
    run_task(&loop, model_task, r);
    /* The whole file, through the helper, against the model. */
    static unsigned char all[MODEL_MAX];
    CHECK_EQ(cio_mock_file_get(&loop, "/m/file", all, sizeof all), (int64_t)r->size);
    CHECK(memcmp(all, r->model, (size_t)r->size) == 0);
    uint64_t trace = cio_mock_trace(&loop);
    t_close(&loop);
    return trace;
}

static void reads_and_writes(void) {
    static model_run r;
    int checked = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        model_once(seed, &r);
        checked += r.reads_checked;
    }
    printf("reads and writes: 12 seeds, %d reads checked against the model\n", checked);
    CHECK(checked > 12 * 50);
}

/* ---- the capacity ---- */

static intptr_t capacity_task(void *arg) {
    (void)arg;
    static unsigned char chunk[1 << 20];
    memset(chunk, 'c', sizeof chunk);
    intptr_t big = cio_openat(CIO_AT_FDCWD, "/big", CIO_O_CREAT | CIO_O_WRONLY, 0600);
    CHECK(big >= 0);
    uint64_t total = 0;
    int32_t n;
    int writes = 0;
    /* Start one byte into a page, so that the last write is short. */
    CHECK_EQ(cio_write((cio_fd)big, "x", 1, CIO_OFFSET_CURRENT), 1);
    total = 1;
    while ((n = cio_write((cio_fd)big, chunk, sizeof chunk, CIO_OFFSET_CURRENT)) == (int32_t)sizeof chunk) {
        total += (uint64_t)n;
        CHECK(++writes < 1000);
    }
    CHECK(n > 0 && n < (int32_t)sizeof chunk); /* what fit */
    total += (uint64_t)n;
    CHECK_EQ(total, CIO_MOCK_FS_CAPACITY);
    CHECK_EQ(cio_write((cio_fd)big, chunk, 1, CIO_OFFSET_CURRENT), -CIO_ENOSPC);
    /* Overwriting what is there needs no page. */
    CHECK_EQ(cio_write((cio_fd)big, chunk, 4096, 0), 4096);
    intptr_t small = cio_openat(CIO_AT_FDCWD, "/small", CIO_O_CREAT | CIO_O_RDWR, 0600);
    CHECK(small >= 0);
    CHECK_EQ(cio_write((cio_fd)small, "s", 1, 0), -CIO_ENOSPC);
    /* Unlinked but open: still held. */
    CHECK_EQ(cio_unlinkat(CIO_AT_FDCWD, "/big", 0), 0);
    CHECK_EQ(cio_write((cio_fd)small, "s", 1, 0), -CIO_ENOSPC);
    CHECK_EQ(cio_close((cio_fd)big), 0);
    CHECK_EQ(cio_write((cio_fd)small, "s", 1, 0), 1);
    CHECK_EQ(cio_close((cio_fd)small), 0);
    /* Files and directories: a bounded number. */
    char name[32];
    int made = 0;
    int32_t r;
    for (;;) {
        snprintf(name, sizeof name, "/n%06d", made); /* in order: each goes last */
        r = cio_mkdirat(CIO_AT_FDCWD, name, 0700);
        if (r < 0) break;
        CHECK(++made <= (int)CIO_MOCK_FS_MAX_NODES);
    }
    CHECK_EQ(r, -CIO_ENOSPC);
    CHECK_EQ(made, (int)CIO_MOCK_FS_MAX_NODES - 2); /* the root and /small */
    CHECK_EQ(cio_openat(CIO_AT_FDCWD, "/f", CIO_O_CREAT | CIO_O_RDWR, 0600), -CIO_ENOSPC);
    CHECK_EQ(cio_unlinkat(CIO_AT_FDCWD, "/n000000", CIO_AT_REMOVEDIR), 0);
    intptr_t f = cio_openat(CIO_AT_FDCWD, "/f", CIO_O_CREAT | CIO_O_RDWR, 0600);
    CHECK(f >= 0);
    CHECK_EQ(cio_close((cio_fd)f), 0);
    return 0;
}

static void capacity(void) {
    cio_loop loop;
    mock_loop(&loop, 5);
    run_task(&loop, capacity_task, NULL);
    static unsigned char big[64];
    CHECK_EQ(cio_mock_file_put(&loop, "/p", big, sizeof big), -CIO_ENOSPC); /* no inode left */
    t_close(&loop);
}

/* ---- errors of the simulation's own, and the real system untouched ---- */

typedef struct err_ctx {
    cio_fd pipe[2];
    cio_fd real_dir;
} err_ctx;

static intptr_t errors_task(void *arg) {
    err_ctx *e = arg;
    cio_statx st;
    /* The real file system is not there. */
    CHECK_EQ(cio_openat(CIO_AT_FDCWD, "/etc/hostname", CIO_O_RDONLY, 0), -CIO_ENOENT);
    CHECK_EQ(cio_stat(CIO_AT_FDCWD, "/etc", 0, CIO_STATX_BASIC_STATS, &st), -CIO_ENOENT);
    CHECK_EQ(cio_stat(CIO_AT_FDCWD, "/", 0, CIO_STATX_BASIC_STATS, &st), 0);
    CHECK_EQ(st.nlink, 2);
    CHECK_EQ(st.ino, 1);
    CHECK_EQ(st.mode, CIO_S_IFDIR | 0755);
    CHECK_EQ(cio_stat(CIO_AT_FDCWD, "", CIO_AT_EMPTY_PATH, CIO_STATX_BASIC_STATS, &st), 0);
    CHECK_EQ(st.ino, 1); /* the current directory is the root */
    /* A real descriptor is no directory of this world... */
    CHECK_EQ(cio_openat(e->real_dir, "hostname", CIO_O_RDONLY, 0), -CIO_EBADF);
    CHECK_EQ(cio_mkdirat(e->real_dir, "x", 0700), -CIO_EBADF);
    /* ...but an absolute path ignores the dirfd, as on Linux. */
    CHECK_EQ(cio_mkdirat(e->real_dir, "/x", 0700), 0);
    CHECK_EQ(cio_stat(CIO_AT_FDCWD, "x", 0, CIO_STATX_BASIC_STATS, &st), 0);
    CHECK_EQ(st.mode & CIO_S_IFMT, CIO_S_IFDIR);
    CHECK_EQ(st.mode & 07777, 0700);
    /* A closed simulated handle, a pipe's, as the dirfd. */
    intptr_t d = cio_openat(CIO_AT_FDCWD, "/x", CIO_O_RDONLY, 0); /* a directory, plainly */
    CHECK(d >= CIO_MOCK_FD_BASE);
    CHECK_EQ(cio_mkdirat((cio_fd)d, "sub", 0700), 0);
    CHECK_EQ(cio_stat(CIO_AT_FDCWD, "/x/sub", 0, CIO_STATX_BASIC_STATS, &st), 0);
    CHECK_EQ(st.mode, CIO_S_IFDIR | 0700);
    CHECK_EQ(cio_unlinkat((cio_fd)d, "sub/", CIO_AT_REMOVEDIR), 0);
    CHECK_EQ(cio_close((cio_fd)d), 0);
    CHECK_EQ(cio_openat((cio_fd)d, "y", CIO_O_CREAT | CIO_O_RDWR, 0600), -CIO_EBADF);
    CHECK_EQ(cio_openat(e->pipe[0], "y", CIO_O_CREAT | CIO_O_RDWR, 0600), -CIO_ENOTDIR);
    /* Paths too long. */
    static char longp[5000];
    memset(longp, 'a', sizeof longp - 1);
    for (int i = 100; i < 4999; i += 101) longp[i] = '/';
    longp[4096] = 0;
    CHECK_EQ(cio_openat(CIO_AT_FDCWD, longp, CIO_O_CREAT | CIO_O_RDWR, 0600), -CIO_ENAMETOOLONG);
    longp[4095] = 0; /* 4095 bytes: long enough, but /aaa... does not exist */
    CHECK_EQ(cio_openat(CIO_AT_FDCWD, longp, CIO_O_RDONLY, 0), -CIO_ENOENT);
    /* What a file does not do. */
    intptr_t f = cio_openat(CIO_AT_FDCWD, "/x/f", CIO_O_CREAT | CIO_O_RDWR, 0600);
    CHECK(f >= CIO_MOCK_FD_BASE);
    char c;
    CHECK_EQ(cio_recv((cio_fd)f, &c, 1, 0), -CIO_ENOTSOCK);
    CHECK_EQ(cio_send((cio_fd)f, &c, 1, 0), -CIO_ENOTSOCK);
    CHECK_EQ(cio_shutdown((cio_fd)f, CIO_SHUT_RD), -CIO_ENOTSOCK);
    CHECK_EQ(cio_poll((cio_fd)f, CIO_POLLPRI), -CIO_EINVAL);
    CHECK_EQ(cio_poll((cio_fd)f, CIO_POLLOUT | CIO_POLLPRI), CIO_POLLOUT);
    CHECK_EQ(cio_read((cio_fd)f, &c, 1, (uint64_t)INT64_MAX + 5), -CIO_EINVAL);
    CHECK_EQ(cio_write((cio_fd)f, &c, 1, (uint64_t)INT64_MAX + 5), -CIO_EINVAL);
    /* A sparse file far out: its size, one page of blocks. */
    uint64_t far_off = 1ull << 40;
    CHECK_EQ(cio_write((cio_fd)f, "F", 1, far_off), 1);
    CHECK_EQ(cio_stat((cio_fd)f, "", CIO_AT_EMPTY_PATH, CIO_STATX_BASIC_STATS, &st), 0);
    CHECK_EQ(st.size, far_off + 1);
    CHECK_EQ(st.blocks, 8);
    char two[2] = {'?', '?'};
    CHECK_EQ(cio_read((cio_fd)f, two, 2, far_off - 1), 2);
    CHECK(two[0] == 0 && two[1] == 'F');
    CHECK_EQ(cio_close((cio_fd)f), 0);
    /* Pipes and sockets, as pipefs and sockfs: a pipe's ends are one
     * inode, a socket pair's two. */
    cio_statx st2;
    CHECK_EQ(cio_stat(e->pipe[1], "", CIO_AT_EMPTY_PATH, CIO_STATX_BASIC_STATS, &st), 0);
    CHECK_EQ(st.mode, CIO_S_IFIFO | 0600);
    CHECK_EQ(cio_stat(e->pipe[0], "", CIO_AT_EMPTY_PATH, CIO_STATX_BASIC_STATS, &st2), 0);
    CHECK_EQ(st.ino, st2.ino);
    CHECK_EQ(st.mask & CIO_STATX_MTIME, 0); /* no times kept: the mask says so */
    cio_fd sp[2];
    CHECK_EQ(cio_mock_socketpair(cio_task_loop(), sp), 0);
    CHECK_EQ(cio_stat(sp[0], "", CIO_AT_EMPTY_PATH, CIO_STATX_BASIC_STATS, &st), 0);
    CHECK_EQ(st.mode, CIO_S_IFSOCK | 0777);
    CHECK_EQ(st.nlink, 1);
    CHECK_EQ(cio_stat(sp[1], "", CIO_AT_EMPTY_PATH, CIO_STATX_BASIC_STATS, &st2), 0);
    CHECK(st.ino != st2.ino);
    CHECK_EQ(cio_stat(sp[1], "x", 0, CIO_STATX_BASIC_STATS, &st2), -CIO_ENOTDIR);
    CHECK_EQ(cio_close(sp[0]), 0);
    CHECK_EQ(cio_close(sp[1]), 0);
    return 0;
}

static void errors_and_real_system(void) {
    /* A real directory with a real "hostname" in it. */
    char real[512];
    fs_path(real, sizeof real, t_tmpdir(), "hostname");
    cio_fd h = t_sys_open(real, O_CREAT | O_WRONLY, 0600);
    CHECK(h != T_FD_NONE);
    CHECK_EQ(t_close_handle(h), 0);
    CHECK(t_exists(real));
    CHECK(!t_exists("/x"));
    cio_loop loop;
    mock_loop(&loop, 6);
    err_ctx e;
    CHECK_EQ(cio_mock_pipe(&loop, e.pipe), 0);
    e.real_dir = t_sys_open_dir(t_tmpdir());
    CHECK(e.real_dir != T_FD_NONE);
    run_task(&loop, errors_task, &e);
    CHECK(!t_exists("/x")); /* nothing reached the real root */
    CHECK_EQ(t_close_handle(e.real_dir), 0);
    close_fd(&loop, e.pipe[0]);
    close_fd(&loop, e.pipe[1]);
    t_close(&loop);
}

/* ---- times from the virtual clock ---- */

static intptr_t times_task(void *arg) {
    cio_loop *loop = arg;
    cio_statx st;
    CHECK_EQ(cio_sleep(3600ull * 1000 * 1000 * 1000), 0); /* an hour of virtual time */
    uint64_t t0 = cio_now(loop);
    intptr_t f = cio_openat(CIO_AT_FDCWD, "/t", CIO_O_CREAT | CIO_O_RDWR, 0600);
    CHECK(f >= 0);
    uint64_t t1 = cio_now(loop);
    CHECK_EQ(cio_stat(CIO_AT_FDCWD, "/t", 0, CIO_STATX_BASIC_STATS | CIO_STATX_BTIME, &st), 0);
    CHECK(st.mask & CIO_STATX_BTIME);
    uint64_t born = (uint64_t)st.btime.tv_sec * 1000000000u + st.btime.tv_nsec;
    CHECK(born >= t0 && born <= t1);
    CHECK(st.mtime.tv_sec == st.btime.tv_sec && st.mtime.tv_nsec == st.btime.tv_nsec);
    CHECK(st.mtime.tv_sec < 100000); /* the virtual clock's, nowhere near the wall clock */
    CHECK_EQ(cio_stat(CIO_AT_FDCWD, "/", 0, CIO_STATX_BASIC_STATS, &st), 0);
    CHECK_EQ((uint64_t)st.mtime.tv_sec * 1000000000u + st.mtime.tv_nsec, born); /* the directory changed */
    CHECK_EQ(cio_sleep(1000 * 1000 * 1000), 0);
    uint64_t t2 = cio_now(loop);
    CHECK_EQ(cio_write((cio_fd)f, "x", 1, 0), 1);
    uint64_t t3 = cio_now(loop);
    CHECK_EQ(cio_stat((cio_fd)f, "", CIO_AT_EMPTY_PATH, CIO_STATX_BASIC_STATS, &st), 0);
    uint64_t mt = (uint64_t)st.mtime.tv_sec * 1000000000u + st.mtime.tv_nsec;
    uint64_t ct = (uint64_t)st.ctime.tv_sec * 1000000000u + st.ctime.tv_nsec;
    CHECK(mt >= t2 && mt <= t3);
    CHECK_EQ(ct, mt);
    CHECK_EQ((uint64_t)st.atime.tv_sec * 1000000000u + st.atime.tv_nsec, born); /* not read yet */
    char c;
    CHECK_EQ(cio_read((cio_fd)f, &c, 1, 0), 1);
    CHECK_EQ(cio_stat((cio_fd)f, "", CIO_AT_EMPTY_PATH, CIO_STATX_BASIC_STATS, &st), 0);
    uint64_t at = (uint64_t)st.atime.tv_sec * 1000000000u + st.atime.tv_nsec;
    CHECK(at > mt); /* relatime: older than the change, so it moves */
    CHECK_EQ(cio_read((cio_fd)f, &c, 1, 0), 1);
    CHECK_EQ(cio_stat((cio_fd)f, "", CIO_AT_EMPTY_PATH, CIO_STATX_BASIC_STATS, &st), 0);
    CHECK_EQ((uint64_t)st.atime.tv_sec * 1000000000u + st.atime.tv_nsec, at); /* and then not */
    CHECK_EQ(cio_close((cio_fd)f), 0);
    return 0;
}

static void times(void) {
    cio_loop loop;
    mock_loop(&loop, 7);
    run_task(&loop, times_task, &loop);
    t_close(&loop);
}

/* ---- splice ---- */

#define SPLICE_TOTAL (60 * 1000)

typedef struct splice_run {
    cio_fd pipe[2];
    cio_fd file;
    int splices, short_splices, parked_first;
    uint64_t got;
    bool done;
} splice_run;

static intptr_t pipe_writer(void *arg) {
    splice_run *s = arg;
    static unsigned char chunk[2500];
    uint64_t sent = 0;
    CHECK_EQ(cio_sleep(1000 * 1000), 0); /* after the splice parked on the empty pipe */
    while (sent < SPLICE_TOTAL) {
        uint32_t len = 1 + (uint32_t)(sent * 31 % sizeof chunk);
        if (len > SPLICE_TOTAL - sent) len = (uint32_t)(SPLICE_TOTAL - sent);
        for (uint32_t i = 0; i < len; i++) chunk[i] = byte_at(sent + i);
        uint32_t done = 0;
        while (done < len) {
            int32_t n = cio_write(s->pipe[1], chunk + done, len - done, 0);
            CHECK(n > 0);
            done += (uint32_t)n;
        }
        sent += len;
    }
    CHECK_EQ(cio_close(s->pipe[1]), 0);
    return 0;
}

static intptr_t pipe_to_file(void *arg) {
    splice_run *s = arg;
    for (int i = 0; i < 100000; i++) {
        int32_t n = cio_splice(s->pipe[0], CIO_OFFSET_CURRENT, s->file, CIO_OFFSET_CURRENT, 3000, 0);
        CHECK(n >= 0);
        if (n == 0) break;
        s->splices++;
        if (n < 3000) s->short_splices++;
        s->got += (uint64_t)n;
    }
    s->done = true;
    return 0;
}

static intptr_t file_to_pipe(void *arg) {
    splice_run *s = arg;
    uint64_t off = 0;
    for (int i = 0; i < 100000; i++) {
        int32_t n = cio_splice(s->file, off, s->pipe[1], CIO_OFFSET_CURRENT, 5000, 0);
        CHECK(n >= 0);
        if (n == 0) break;
        s->splices++;
        off += (uint64_t)n;
    }
    CHECK_EQ(off, SPLICE_TOTAL);
    CHECK_EQ(cio_close(s->pipe[1]), 0);
    return 0;
}

static intptr_t pipe_reader(void *arg) {
    splice_run *s = arg;
    static unsigned char buf[7000];
    for (int i = 0; i < 100000; i++) {
        int32_t n = cio_read(s->pipe[0], buf, sizeof buf, 0);
        CHECK(n >= 0);
        if (n == 0) break;
        for (int32_t k = 0; k < n; k++) CHECK_EQ(buf[k], byte_at(s->got + (uint64_t)k));
        s->got += (uint64_t)n;
    }
    s->done = true;
    return 0;
}

static uint64_t splice_once(uint64_t seed, splice_run *s) {
    memset(s, 0, sizeof *s);
    cio_loop loop;
    mock_loop(&loop, seed);
    /* pipe -> file, the splice parked first on the empty pipe. */
    CHECK_EQ(cio_mock_pipe(&loop, s->pipe), 0);
    t_op op;
    cio_prep_openat(&op.op, CIO_AT_FDCWD, "/spliced", CIO_O_CREAT | CIO_O_WRONLY, 0600);
    submit(&loop, &op);
    t_run(&loop, 10.0);
    CHECK(op.res >= 0);
    s->file = cio_op_fd(&op.op);
    CHECK_EQ(cio_task_spawn(&loop, pipe_to_file, s, NULL, NULL), 0);
    CHECK_EQ(cio_task_spawn(&loop, pipe_writer, s, NULL, NULL), 0);
    t_run(&loop, 20.0);
    CHECK(s->done);
    CHECK_EQ(s->got, SPLICE_TOTAL);
    static unsigned char all[SPLICE_TOTAL + 1];
    CHECK_EQ(cio_mock_file_get(&loop, "/spliced", all, sizeof all), SPLICE_TOTAL);
    for (uint64_t i = 0; i < SPLICE_TOTAL; i++) CHECK_EQ(all[i], byte_at(i));
    int shorts = s->short_splices, n1 = s->splices;
    cio_prep_close(&op.op, s->file);
    submit(&loop, &op);
    t_run(&loop, 10.0);
    cio_prep_close(&op.op, s->pipe[0]);
    submit(&loop, &op);
    t_run(&loop, 10.0);

    /* file -> pipe at offsets: the file's position stays. */
    s->got = 0;
    s->done = false;
    CHECK_EQ(cio_mock_pipe(&loop, s->pipe), 0);
    cio_prep_openat(&op.op, CIO_AT_FDCWD, "/spliced", CIO_O_RDONLY, 0);
    submit(&loop, &op);
    t_run(&loop, 10.0);
    s->file = cio_op_fd(&op.op);
    CHECK_EQ(cio_task_spawn(&loop, pipe_reader, s, NULL, NULL), 0);
    CHECK_EQ(cio_task_spawn(&loop, file_to_pipe, s, NULL, NULL), 0);
    t_run(&loop, 20.0);
    CHECK(s->done);
    CHECK_EQ(s->got, SPLICE_TOTAL);
    char c = 1;
    cio_prep_read(&op.op, s->file, &c, 1, CIO_OFFSET_CURRENT);
    submit(&loop, &op);
    t_run(&loop, 10.0);
    CHECK_EQ(op.res, 1);
    CHECK_EQ((unsigned char)c, byte_at(0));
    s->short_splices = shorts;
    s->splices += n1;
    close_fd(&loop, s->file);
    close_fd(&loop, s->pipe[0]);
    uint64_t trace = cio_mock_trace(&loop);
    t_close(&loop);
    return trace;
}

typedef struct splice_err_ctx {
    cio_fd p[2], q[2];
} splice_err_ctx;

static intptr_t splice_errors_task(void *arg) {
    splice_err_ctx *e = arg;
    const uint64_t cur = CIO_OFFSET_CURRENT;
    intptr_t f = cio_openat(CIO_AT_FDCWD, "/sf", CIO_O_CREAT | CIO_O_RDWR, 0600);
    intptr_t g = cio_openat(CIO_AT_FDCWD, "/sg", CIO_O_CREAT | CIO_O_RDWR | CIO_O_APPEND, 0600);
    intptr_t ro = cio_openat(CIO_AT_FDCWD, "/sf", CIO_O_RDONLY, 0);
    intptr_t d = cio_openat(CIO_AT_FDCWD, "/", CIO_O_RDONLY, 0);
    CHECK(f >= 0 && g >= 0 && ro >= 0 && d >= 0);
    CHECK_EQ(cio_write((cio_fd)f, "0123456789", 10, 0), 10);
    CHECK_EQ(cio_splice((cio_fd)f, 0, (cio_fd)g, 0, 4, 0), -CIO_EINVAL);          /* no pipe */
    CHECK_EQ(cio_splice((cio_fd)f, 0, e->p[1], 0, 4, 0), -CIO_ESPIPE);            /* an offset on the pipe */
    CHECK_EQ(cio_splice(e->p[0], 0, (cio_fd)f, 0, 4, 0), -CIO_ESPIPE);
    CHECK_EQ(cio_splice((cio_fd)f, 0, e->p[0], cur, 4, 0), -CIO_EBADF);           /* the read end as fd_out */
    CHECK_EQ(cio_splice(e->p[1], cur, (cio_fd)f, 0, 4, 0), -CIO_EBADF);           /* the write end as fd_in */
    CHECK_EQ(cio_splice(e->p[0], cur, (cio_fd)ro, 0, 4, 0), -CIO_EBADF);          /* not writable */
    CHECK_EQ(cio_splice(e->p[0], cur, (cio_fd)g, cur, 4, 0), -CIO_EINVAL);        /* O_APPEND */
    CHECK_EQ(cio_splice((cio_fd)d, 0, e->p[1], cur, 4, 0), -CIO_EINVAL);          /* a directory */
    CHECK_EQ(cio_splice(e->p[0], cur, (cio_fd)f, 0, 4, 0x100), -CIO_EINVAL);      /* a flag splice has not */
    CHECK_EQ(cio_splice(e->p[0], cur, e->p[1], cur, 4, 0), -CIO_EINVAL);          /* one pipe, both sides */
    CHECK_EQ(cio_splice(e->p[0], cur, (cio_fd)f, 0, 0, 0), 0);                    /* nothing asked */
    CHECK_EQ(cio_splice(e->p[0], cur, (cio_fd)f, 0, 4, CIO_SPLICE_F_NONBLOCK), -CIO_EAGAIN); /* empty */
    CHECK_EQ(cio_splice((cio_fd)f, 100, e->p[1], cur, 4, 0), 0);                  /* past the end */
    /* Into the pipe at the file's position, which moves. */
    int32_t n = cio_splice((cio_fd)f, cur, e->p[1], cur, 4, 0);
    CHECK(n >= 1 && n <= 4);
    char buf[8];
    CHECK_EQ(cio_read((cio_fd)f, buf, 1, cur), 1);
    CHECK_EQ(buf[0], '0' + n);
    /* pipe -> pipe. */
    int32_t m = cio_splice(e->p[0], cur, e->q[1], cur, 100, 0);
    CHECK(m >= 1 && m <= n);
    CHECK_EQ(cio_read(e->q[0], buf, sizeof buf, 0), m);
    CHECK_EQ(buf[0], '0');
    /* No reader left: EPIPE. */
    CHECK_EQ(cio_close(e->q[0]), 0);
    if (m < n) CHECK_EQ(cio_splice(e->p[0], cur, e->q[1], cur, 100, 0), -CIO_EPIPE);
    CHECK_EQ(cio_splice((cio_fd)f, 0, e->q[1], cur, 4, 0), -CIO_EPIPE);
    /* Full: waits, NONBLOCK does not. */
    static char fill[8192];
    int32_t w;
    while ((w = cio_splice((cio_fd)f, 0, e->p[1], cur, 10, CIO_SPLICE_F_NONBLOCK)) > 0) {
    }
    CHECK_EQ(w, -CIO_EAGAIN);
    (void)fill;
    /* A connected stream socket on one side, a pipe on the other (as
     * splice(2) wants one pipe): bytes both ways, checked, a seeded count
     * at a time. A socket and a file, or a socket not connected, no. */
    cio_fd sp[2], pp[2];
    CHECK_EQ(cio_mock_socketpair(cio_task_loop(), sp), 0);
    CHECK_EQ(cio_mock_pipe(cio_task_loop(), pp), 0);
    CHECK_EQ(cio_send(sp[1], "wxyz", 4, CIO_MSG_WAITALL), 4);
    char got[8];
    for (int32_t moved = 0, k; moved < 4; moved += k) {
        k = cio_splice(sp[0], cur, pp[1], cur, (uint32_t)(4 - moved), 0);
        CHECK(k >= 1);
    }
    for (int32_t have = 0, k; have < 4; have += k) { /* a pipe's read may be short too */
        k = cio_read(pp[0], got + have, (uint32_t)(4 - have), cur);
        CHECK(k >= 1);
    }
    CHECK(!memcmp(got, "wxyz", 4));
    CHECK_EQ(cio_write(pp[1], "pq", 2, cur), 2);
    for (int32_t moved = 0, k; moved < 2; moved += k) {
        k = cio_splice(pp[0], cur, sp[0], cur, (uint32_t)(2 - moved), 0);
        CHECK(k >= 1);
    }
    CHECK_EQ(cio_recv(sp[1], got, 2, CIO_MSG_WAITALL), 2);
    CHECK(!memcmp(got, "pq", 2));
    CHECK_EQ(cio_splice(sp[0], cur, (cio_fd)g, 0, 4, 0), -CIO_EINVAL);
    CHECK_EQ(cio_splice(sp[0], 0, pp[1], cur, 4, 0), -CIO_ESPIPE);
    intptr_t lone = cio_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(lone >= 0);
    CHECK_EQ(cio_splice((cio_fd)lone, cur, pp[1], cur, 4, 0), -CIO_ENOTCONN);
    CHECK_EQ(cio_close((cio_fd)lone), 0);
    CHECK_EQ(cio_close(sp[1]), 0); /* end of file through the splice */
    CHECK_EQ(cio_splice(sp[0], cur, pp[1], cur, 4, 0), 0);
    CHECK_EQ(cio_close(pp[0]), 0);
    CHECK_EQ(cio_close(pp[1]), 0);
    CHECK_EQ(cio_close(sp[0]), 0);
    CHECK_EQ(cio_close((cio_fd)f), 0);
    CHECK_EQ(cio_close((cio_fd)g), 0);
    CHECK_EQ(cio_close((cio_fd)ro), 0);
    CHECK_EQ(cio_close((cio_fd)d), 0);
    return 0;
}

static void splice_errors(void) {
    cio_loop loop;
    mock_loop(&loop, 8);
    splice_err_ctx e;
    CHECK_EQ(cio_mock_pipe(&loop, e.p), 0);
    CHECK_EQ(cio_mock_pipe(&loop, e.q), 0);
    run_task(&loop, splice_errors_task, &e);

    /* A splice waiting on an empty pipe ends at the close of its fd_out,
     * and one waiting on a full pipe at a close of that pipe's end. */
    t_op op, sp, cl;
    cio_prep_openat(&op.op, CIO_AT_FDCWD, "/w", CIO_O_CREAT | CIO_O_RDWR, 0600);
    submit(&loop, &op);
    t_run(&loop, 10.0);
    cio_fd w = cio_op_fd(&op.op);
    cio_fd fresh[2];
    CHECK_EQ(cio_mock_pipe(&loop, fresh), 0);
    cio_prep_splice(&sp.op, fresh[0], CIO_OFFSET_CURRENT, w, 0, 10, 0);
    submit(&loop, &sp);
    settle(&loop);
    CHECK_EQ(sp.finals, 0);
    cio_prep_close(&cl.op, w);
    submit(&loop, &cl);
    t_run(&loop, 10.0);
    CHECK_EQ(sp.finals, 1);
    CHECK_EQ(sp.res, -CIO_ECANCELED);
    CHECK_EQ(cl.res, 0);
    CHECK(sp.order < cl.order);
    /* The full pipe of before (e.p): its write end closes. */
    cio_prep_openat(&op.op, CIO_AT_FDCWD, "/sf", CIO_O_RDONLY, 0);
    submit(&loop, &op);
    t_run(&loop, 10.0);
    cio_fd sf = cio_op_fd(&op.op);
    cio_prep_splice(&sp.op, sf, 0, e.p[1], CIO_OFFSET_CURRENT, 10, 0);
    submit(&loop, &sp);
    settle(&loop);
    CHECK_EQ(sp.finals, 0);
    cio_prep_close(&cl.op, e.p[1]);
    submit(&loop, &cl);
    t_run(&loop, 10.0);
    CHECK_EQ(sp.res, -CIO_ECANCELED);
    close_fd(&loop, sf);
    close_fd(&loop, e.p[0]);
    close_fd(&loop, e.q[1]);
    /* A pipe -> file splice woken by the writer's close: end of file. */
    cio_prep_openat(&op.op, CIO_AT_FDCWD, "/w", CIO_O_RDWR, 0);
    submit(&loop, &op);
    t_run(&loop, 10.0);
    cio_fd w2 = cio_op_fd(&op.op);
    cio_prep_splice(&sp.op, fresh[0], CIO_OFFSET_CURRENT, w2, 0, 10, 0);
    submit(&loop, &sp);
    settle(&loop);
    CHECK_EQ(sp.finals, 0);
    cio_prep_close(&cl.op, fresh[1]);
    submit(&loop, &cl);
    t_run(&loop, 10.0);
    CHECK_EQ(sp.finals, 1);
    CHECK_EQ(sp.res, 0);
    close_fd(&loop, w2);
    close_fd(&loop, fresh[0]);
    t_close(&loop);
}

static void splices(void) {
#if !T_LINUX_EXTRAS
    /* splice(2) is Linux's: a POSIX-only build (and Windows) refuses it on
     * every backend at submit, the mock's included. */
    cio_loop loop;
    mock_loop(&loop, 9);
    cio_fd p[2];
    CHECK_EQ(cio_mock_pipe(&loop, p), 0);
    t_op sp;
    cio_prep_splice(&sp.op, p[0], CIO_OFFSET_CURRENT, p[1], CIO_OFFSET_CURRENT, 1, 0);
    t_arm(&sp);
    CHECK_EQ(cio_submit(&loop, &sp.op), -CIO_ENOTSUP);
    mock_close(&loop, 2);
    return;
#endif
    static splice_run s;
    int shorts = 0, total = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        splice_once(seed, &s);
        shorts += s.short_splices;
        total += s.splices;
    }
    printf("splice: 20 seeds, %d splices, %d short\n", total, shorts);
    CHECK(shorts > 0);
    splice_errors();
}

/* ---- same seed, same run ---- */

static void determinism(void) {
    static model_run r1, r2;
    uint64_t a = model_once(4242, &r1);
    uint64_t b = model_once(4242, &r2);
    CHECK_EQ(a, b);
    CHECK_EQ(r1.size, r2.size);
    CHECK(memcmp(r1.model, r2.model, (size_t)r1.size) == 0);
    uint64_t c = model_once(4243, &r2);
    CHECK(a != c);
#if T_LINUX_EXTRAS /* splice(2) is Linux's (see splices) */
    static splice_run s1, s2;
    uint64_t x = splice_once(99, &s1);
    uint64_t y = splice_once(99, &s2);
    CHECK_EQ(x, y);
    CHECK_EQ(s1.splices, s2.splices);
    CHECK_EQ(s1.short_splices, s2.short_splices);
    CHECK(splice_once(100, &s2) != x);
#endif
}

/* ---- the helpers ---- */

static intptr_t helpers_task(void *arg) {
    (void)arg;
    char buf[32] = {0};
    intptr_t f = cio_openat(CIO_AT_FDCWD, "/a/b/c.txt", CIO_O_RDWR, 0);
    CHECK(f >= 0);
    CHECK_EQ(cio_read((cio_fd)f, buf, sizeof buf, 0), 10);
    CHECK(memcmp(buf, "0123456789", 10) == 0);
    cio_statx st;
    CHECK_EQ(cio_stat(CIO_AT_FDCWD, "a/b/c.txt", 0, CIO_STATX_BASIC_STATS, &st), 0);
    CHECK_EQ(st.mode, CIO_S_IFREG | 0644);
    CHECK_EQ(st.nlink, 1);
    CHECK_EQ(st.size, 10);
    CHECK_EQ(cio_stat(CIO_AT_FDCWD, "/a/b", 0, CIO_STATX_BASIC_STATS, &st), 0);
    CHECK_EQ(st.mode, CIO_S_IFDIR | 0755);
    CHECK_EQ(cio_write((cio_fd)f, "XY", 2, 3), 2);
    CHECK_EQ(cio_close((cio_fd)f), 0);
    return (intptr_t)0;
}

static void helpers(void) {
    cio_loop loop;
    mock_loop(&loop, 9);
    CHECK_EQ(cio_mock_file_put(&loop, "/a/b/c.txt", "0123456789", 10), 0);
    run_task(&loop, helpers_task, NULL);
    char buf[16] = {0};
    CHECK_EQ(cio_mock_file_get(&loop, "/a/b/c.txt", buf, sizeof buf), 10);
    CHECK(memcmp(buf, "012XY56789", 10) == 0);
    memset(buf, 0, sizeof buf);
    CHECK_EQ(cio_mock_file_get(&loop, "a//b/./c.txt", buf, 4), 10); /* the size, 4 bytes copied */
    CHECK(memcmp(buf, "012X\0", 5) == 0);
    CHECK_EQ(cio_mock_file_get(&loop, "/a/b/c.txt", NULL, 0), 10);
    CHECK_EQ(cio_mock_file_get(&loop, "/a/b", buf, sizeof buf), -CIO_EISDIR);
    CHECK_EQ(cio_mock_file_get(&loop, "/a/nope", buf, sizeof buf), -CIO_ENOENT);
    CHECK_EQ(cio_mock_file_get(&loop, "/a/b/c.txt/", buf, sizeof buf), -CIO_ENOTDIR);
    CHECK_EQ(cio_mock_file_get(&loop, "/a/b/c.txt", NULL, 1), -CIO_EINVAL);
    CHECK_EQ(cio_mock_file_put(&loop, "/a/b", "x", 1), -CIO_EISDIR);
    CHECK_EQ(cio_mock_file_put(&loop, "/a/b/c.txt/d", "x", 1), -CIO_ENOTDIR);
    CHECK_EQ(cio_mock_file_put(&loop, "/a/x", NULL, 1), -CIO_EINVAL);
    CHECK_EQ(cio_mock_file_put(&loop, NULL, "x", 1), -CIO_EINVAL);
    CHECK_EQ(cio_mock_file_put(&loop, "", "x", 1), -CIO_ENOENT);
    CHECK_EQ(cio_mock_file_put(&loop, "/", "x", 1), -CIO_EISDIR);
    /* Replacing: shorter contents, the same file. */
    CHECK_EQ(cio_mock_file_put(&loop, "/a/b/c.txt", "new", 3), 0);
    CHECK_EQ(cio_mock_file_get(&loop, "/a/b/c.txt", buf, sizeof buf), 3);
    CHECK(memcmp(buf, "new", 3) == 0);
    CHECK_EQ(cio_mock_file_put(&loop, "/empty", NULL, 0), 0);
    CHECK_EQ(cio_mock_file_get(&loop, "/empty", buf, sizeof buf), 0);
    /* The caller keeps its buffer: the copy does not change with it. */
    char mine[4] = "abc";
    CHECK_EQ(cio_mock_file_put(&loop, "/mine", mine, 3), 0);
    mine[0] = 'Z';
    CHECK_EQ(cio_mock_file_get(&loop, "/mine", buf, sizeof buf), 3);
    CHECK_EQ(buf[0], 'a');
    t_close(&loop);
    CHECK_EQ(cio_mock_file_put(&loop, "/late", "x", 1), -CIO_EINVAL); /* closed */
    CHECK_EQ(cio_mock_file_get(&loop, "/mine", buf, sizeof buf), -CIO_EINVAL);
    /* A loop on a real backend has no simulated file system. */
    cio_loop real;
    cio_loop_options o;
    memset(&o, 0, sizeof o);
    o.backend = T_REAL_BACKEND;
    CHECK_EQ(cio_loop_init(&real, &o), 0);
    CHECK_EQ(cio_mock_file_put(&real, "/x", "x", 1), -CIO_EINVAL);
    CHECK_EQ(cio_mock_file_get(&real, "/etc/hostname", buf, sizeof buf), -CIO_EINVAL);
    t_close(&real);
}

int main(void) {
    t_watchdog();
    t_unsetenv("CIO_BACKEND"); /* the options name the backend */
    t_unsetenv("CIO_MOCK_SEED");
    static const struct {
        const char *name;
        void (*fn)(void);
    } parts[] = {{"helpers", helpers},       {"errors", errors_and_real_system}, {"times", times},
                 {"reads and writes", reads_and_writes}, {"splice", splices},  {"determinism", determinism},
                 {"capacity", capacity}
#if !defined(_WIN32)
                 , {"against Linux", against_linux}
#endif
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        double t0 = t_seconds();
        parts[i].fn();
        printf("  %s: %.3f s\n", parts[i].name, t_seconds() - t0);
    }
    T_SKIP_CASE_ON_WINDOWS("against Linux", "its oracle is Linux's own answers to the same script");
    printf("mock_fs: ok\n");
    return 0;
}
