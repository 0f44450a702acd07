/*
 * tests/test_fs_copy.c - cio_fs_copy_file (contents over several
 * copy_range chunks, permission bits, an existing destination, EXCL, the
 * same file under two names, a directory, missing names, an empty file)
 * and cio_file_send (a range of a file over a socket, to the end of the
 * file, past it, a peer gone, a pipe instead of a socket).
 *
 * Oracles: plain system calls (tests/port.h: stat, pread; a socket peer
 * thread that reads and checksums), or on the mock its own
 * cio_mock_file_get/put and a peer task.
 *
 * Threads: the pipe and socket peers of tests/fs_peer.h are threads
 * (t_thread_start) on the real backends.
 *
 * CIO_TEST_PORTABLE
 *
 * CIO_TEST_SEEDS_EXACT: it also runs under 1,000 mock seeds, without faults (tests/CMakeLists.txt).
 */
#include "fs_peer.h"

#if !defined(_WIN32)
#include <sys/stat.h>
#endif

/* Two copy_range chunks and a bit on the real backends; on the mock, run
 * under a thousand seeds, 1 MiB and a bit (one chunk) keeps a run short. */
#define BIG_REAL (20u * 1024u * 1024u + 7u)
#define BIG_MOCK (1024u * 1024u + 7u)

static void case_copy(void) {
    char s[600], d[600], e[600], l[600], m[600], md[600], sub[600];
    fs_p(s, sizeof s, "cp_src");
    fs_p(d, sizeof d, "cp_dst");
    fs_p(e, sizeof e, "cp_empty");
    fs_p(l, sizeof l, "cp_link");
    fs_p(m, sizeof m, "cp_missing");
    fs_p(md, sizeof md, "cp_missing/x");
    fs_p(sub, sizeof sub, "cp_sub");
    const size_t BIG = fs_E.mock ? BIG_MOCK : BIG_REAL;
    unsigned char *data = (unsigned char *)malloc(BIG);
    CHECK(data);
    fs_fill(data, BIG, 51);
    fs_oracle_put(s, data, BIG);
#if !defined(_WIN32)
    if (!fs_E.mock) CHECK_EQ(chmod(s, 0640), 0);
#endif
    CHECK_EQ(cio_fs_copy_file(s, d, 0), BIG);
    long long n;
    CHECK_EQ(fs_oracle_sum(d, &n), fs_sum(data, BIG));
    CHECK_EQ(n, BIG);
    if (!fs_E.mock && !t_on_windows()) {
        t_stat o = {0};
        CHECK_EQ(t_sys_stat(d, 1, &o), 0);
        CHECK_EQ(o.perm, 0640);
    }
    /* an existing, longer destination: truncated, keeps its own bits */
    unsigned char small[3000];
    fs_fill(small, sizeof small, 52);
    fs_oracle_put(e, small, sizeof small);
#if !defined(_WIN32)
    if (!fs_E.mock) CHECK_EQ(chmod(d, 0600), 0);
#endif
    CHECK_EQ(cio_fs_copy_file(e, d, 0), sizeof small);
    CHECK_EQ(fs_oracle_sum(d, &n), fs_sum(small, sizeof small));
    CHECK_EQ(n, sizeof small);
    if (!fs_E.mock && !t_on_windows()) {
        t_stat o = {0};
        CHECK_EQ(t_sys_stat(d, 1, &o), 0);
        CHECK_EQ(o.perm, 0600);
    }
    /* EXCL */
    CHECK_EQ(cio_fs_copy_file(s, d, CIO_FS_COPY_EXCL), -CIO_EEXIST);
    CHECK_EQ(fs_oracle_sum(d, &n), fs_sum(small, sizeof small));
    /* the same file: refused before anything is truncated */
    CHECK_EQ(cio_fs_copy_file(s, s, 0), -CIO_EINVAL);
    if (!fs_E.mock && !t_on_windows()) {
#if !defined(_WIN32)
        CHECK_EQ(link(s, l), 0);
        CHECK_EQ(cio_fs_copy_file(s, l, 0), -CIO_EINVAL);
#endif
    }
    CHECK_EQ(fs_oracle_sum(s, &n), fs_sum(data, BIG));
    CHECK_EQ(n, BIG);
    /* an empty file */
    fs_oracle_put(e, "", 0);
    CHECK_EQ(cio_fs_copy_file(e, d, 0), 0);
    CHECK_EQ(fs_oracle_get(d, NULL, 0), 0);
    /* errors */
    CHECK_EQ(cio_fs_mkdir(sub, 0755), 0);
    CHECK_EQ(cio_fs_copy_file(sub, d, 0), -CIO_EISDIR);
    CHECK_EQ(cio_fs_copy_file(m, d, 0), -CIO_ENOENT);
    CHECK_EQ(cio_fs_copy_file(s, md, 0), -CIO_ENOENT);
    CHECK_EQ(cio_fs_copy_file(s, sub, 0), -CIO_EISDIR);
    CHECK_EQ(cio_fs_copy_file(NULL, d, 0), -CIO_EINVAL);
    CHECK_EQ(cio_fs_copy_file(s, NULL, 0), -CIO_EINVAL);
    CHECK_EQ(cio_fs_copy_file(s, d, 0x80), -CIO_EINVAL);
    free(data);
}

/* A connected stream pair of the backend's kind. */
static void fs_socketpair(cio_fd sv[2]) {
    if (fs_E.mock)
        CHECK_EQ(cio_mock_socketpair(&fs_E.loop, sv), 0);
    else
        CHECK_EQ(t_socketpair(sv), 0);
}

/* The file case_send sends: 700001 bytes; on the mock, whose pipes and
 * sockets hold 4 KiB (many small transfers, a thousand seeds), 70001. */
static uint64_t FILE_LEN;

/* Sends [off, off + len) of the file over a fresh pair (or pipe) to a peer
 * reader; checks what the peer got against the oracle's bytes. */
static void send_range(cio_fd file, const unsigned char *data, uint64_t off, uint64_t len, int use_pipe) {
    cio_fd sv[2];
    if (use_pipe)
        fs_pipe(sv);
    else
        fs_socketpair(sv);
    /* sv[0] is the peer's (a pipe's read end), sv[1] ours */
    fs_peer r = {.fd = sv[0]};
    fs_peer_start(&r, 0);
    uint64_t want = off >= FILE_LEN ? 0 : (len > FILE_LEN - off ? FILE_LEN - off : len);
    uint64_t sent = 12345;
    CHECK_EQ(cio_file_send(sv[1], file, off, len, &sent), want);
    CHECK_EQ(sent, want);
    CHECK_EQ(cio_file_close(sv[1]), 0);
    fs_peer_wait(&r);
    CHECK_EQ(r.got, want);
    CHECK_EQ(r.sum, fs_sum(data + (want ? off : 0), (size_t)want));
}

static void case_send(void) {
    char f[600];
    fs_p(f, sizeof f, "send_f");
    FILE_LEN = fs_E.mock ? 70001u : 700001u;
    const uint64_t L = FILE_LEN;
    unsigned char *data = (unsigned char *)malloc(FILE_LEN);
    CHECK(data);
    fs_fill(data, FILE_LEN, 61);
    fs_oracle_put(f, data, FILE_LEN);
    intptr_t h = cio_file_open(f, CIO_O_RDONLY, 0);
    CHECK(h >= 0);
    cio_fd fd = (cio_fd)h;
    send_range(fd, data, 0, L, 0);
    send_range(fd, data, 1000, L / 7 * 5, 0);
    send_range(fd, data, 3, UINT64_MAX, 0);          /* to the end */
    send_range(fd, data, L / 7 * 6, L / 7 * 2, 0);   /* past the end: short */
    send_range(fd, data, L + 5, 100, 0);             /* starts past the end: 0 */
    send_range(fd, data, 17, 100, 0);                /* small */
    send_range(fd, data, 9, 60000, 0);               /* below splice's 64 KiB: several reads and sends */
    send_range(fd, data, 11, 50001, 1);              /* the same into a pipe */
    send_range(fd, data, 0, 0, 0);                   /* nothing */
    send_range(fd, data, 5, L / 7 * 3, 1);           /* into a pipe: writes, not sends */
    /* the file's position was neither used nor moved */
    unsigned char b[4];
    CHECK_EQ(cio_file_read(fd, b, 4), 4);
    CHECK(memcmp(b, data, 4) == 0);

    /* bad input: an offset past INT64_MAX (the position is never used) */
    uint64_t sent0 = 7;
    CHECK_EQ(cio_file_send(fd, fd, CIO_OFFSET_CURRENT, 10, &sent0), -CIO_EINVAL);
    CHECK_EQ(sent0, 0);
    /* a peer that is gone: the send's error, with the count it took */
    cio_fd sv[2];
    fs_socketpair(sv);
    CHECK_EQ(cio_file_close(sv[0]), 0);
    uint64_t sent = 999;
    int64_t r = cio_file_send(sv[1], fd, 0, FILE_LEN, &sent);
    CHECK(r == -CIO_EPIPE || r == -CIO_ECONNRESET);
    CHECK(sent < FILE_LEN);
    CHECK_EQ(cio_file_close(sv[1]), 0);
    CHECK_EQ(cio_file_close(fd), 0);
    free(data);
}

/* A peer that does not read: a deadline scope ends the send, and `sent`
 * is exactly what the peer can then read (bytes still inside cio, in the
 * splice path's own pipe, are not counted: they never reach the peer). */
static void case_send_deadline(void) {
    char f[600];
    fs_p(f, sizeof f, "send_dl");
    const size_t len = fs_E.mock ? 256u << 10 : 4u << 20; /* the mock's sockets hold 4 KiB */
    unsigned char *data = (unsigned char *)malloc(len);
    CHECK(data);
    fs_fill(data, len, 62);
    fs_oracle_put(f, data, len);
    intptr_t h = cio_file_open(f, CIO_O_RDONLY, 0);
    CHECK(h >= 0);
    cio_fd sv[2];
    fs_socketpair(sv);
    uint64_t sent = 0;
    uint64_t t0 = t_now_ns();
    uint64_t prev = cio_deadline_push(cio_now(&fs_E.loop) + 100000000u);
    int64_t r = cio_file_send(sv[1], (cio_fd)h, 0, len, &sent);
    cio_deadline_pop(prev);
    if (r == (int64_t)len) {
        t_skip_case_(__FILE__, "send_deadline", "the socket took it all without a reader");
    } else {
        CHECK_EQ(r, -CIO_ETIMEDOUT);
        CHECK(sent < len);
        if (!fs_E.mock) CHECK(t_now_ns() - t0 >= 90000000u); /* CLOCK_MONOTONIC: it did wait */
    }
    CHECK_EQ(cio_file_close(sv[1]), 0);
    fs_peer rd = {.fd = sv[0]};
    fs_peer_start(&rd, 0);
    fs_peer_wait(&rd);
    CHECK_EQ(rd.got, sent);
    CHECK_EQ(rd.sum, fs_sum(data, (size_t)sent));
    CHECK_EQ(cio_file_close((cio_fd)h), 0);
    free(data);
}

static intptr_t main_task(void) {
    case_copy();
    case_send();
    case_send_deadline();
    return 0;
}

int main(void) {
    fs_process_setup();
    fs_run_main(main_task, NULL, 120.0);
    printf("ok\n");
    return 0;
}
