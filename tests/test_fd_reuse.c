/* A handle closed behind cio's back (close(), dup2()) and its number reused
 * for a file of another kind: reads and writes through cio on the number
 * still move the bytes of the file it names now, at the op's offset; a read
 * on an empty pipe still parks (cancellable, no pool thread held) and never
 * blocks the loop, even when the handle before was one cio had made
 * non-blocking and the new one is blocking. The readiness backends keep
 * what they learnt of each handle; this is what a stale entry must not get
 * wrong. Also: a read or write through cio leaves a pipe's O_NONBLOCK as
 * its owner set it (Linux; elsewhere the readiness backends document that
 * they set it).
 *
 * Windows cannot put a handle at a chosen value (no dup2), but it reuses a
 * freed value for a handle opened next, as POSIX does with numbers: there
 * the test closes a handle behind cio's back and opens the new object
 * until it lands on the old value (a few tries; the misses are closed
 * after). Pipes are overlapped named pipes (port.h), and also anonymous
 * ones (synchronous: cio must take them to its pool). No terminal there.
 * CIO_TEST_PORTABLE
 */
#include "fs_util.h"

#if !defined(_WIN32)
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#endif

#define FILE_LEN (64 * 1024)

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + i / 251); }

/* One read or write through cio; returns its result. */
static int32_t rw(cio_loop *loop, bool write_op, cio_fd fd, void *buf, uint32_t len, uint64_t off) {
    t_op t;
    if (write_op)
        cio_prep_write(&t.op, fd, buf, len, off);
    else
        cio_prep_read(&t.op, fd, buf, len, off);
    return fs_do(loop, &t);
}

/* A pipe end that cio has read or written through (so that the readiness
 * backends learnt what it is): both ends, one byte through. */
static void pipe_used_by_cio(cio_loop *loop, cio_fd p[2]) {
    CHECK_EQ(t_pipe(p), 0);
    char c = 'p', got = 0;
    CHECK_EQ(rw(loop, true, p[1], &c, 1, CIO_OFFSET_CURRENT), 1);
    CHECK_EQ(rw(loop, false, p[0], &got, 1, CIO_OFFSET_CURRENT), 1);
    CHECK_EQ(got, 'p');
}

static void check_pattern(const unsigned char *buf, size_t len, size_t at) {
    for (size_t i = 0; i < len; i++)
        if (buf[i] != pattern(at + i)) {
            fprintf(stderr, "byte %zu of the file: %u, expected %u\n", at + i, buf[i], pattern(at + i));
            exit(1);
        }
}

/* A read on an empty pipe parks until bytes come: the loop runs meanwhile
 * (a 50 ms timer fires), a write from outside completes it with those
 * bytes. Then one more read, that a cancel takes back (0: it was waiting,
 * not running in a blocking call on some thread; `on_pool`: a Windows
 * anonymous pipe, which has no IO but the blocking call, so the read runs
 * on a pool thread and the cancel says -CIO_EALREADY, asked to stop). */
static void read_parks_on(cio_loop *loop, cio_fd rfd, cio_fd wfd, bool on_pool) {
    char buf[16] = {0};
    t_op rd, tm, cancel;
    cio_prep_read(&rd.op, rfd, buf, sizeof buf, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(loop, &rd.op), 0);
    cio_prep_timeout(&tm.op, 50 * 1000 * 1000, 0);
    t_arm(&tm);
    CHECK_EQ(cio_submit(loop, &tm.op), 0);
    t_run_until(loop, &tm.finals, 10.0);
    CHECK_EQ(rd.finals, 0);
    CHECK_EQ(t_sys_write(wfd, "later", 5), 5);
    t_run(loop, 10.0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, 5);
    CHECK(memcmp(buf, "later", 5) == 0);

    cio_prep_read(&rd.op, rfd, buf, sizeof buf, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(loop, &rd.op), 0);
    for (int i = 0; i < 3; i++) CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
    CHECK_EQ(rd.finals, 0);
    cio_prep_cancel(&cancel.op, &rd.op);
    t_arm(&cancel);
    CHECK_EQ(cio_submit(loop, &cancel.op), 0);
    t_run(loop, 10.0);
    CHECK_EQ(cancel.res, on_pool ? -CIO_EALREADY : 0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
}

static void read_parks(cio_loop *loop, cio_fd rfd, cio_fd wfd) { read_parks_on(loop, rfd, wfd, false); }

/* Reads 300 bytes of the pattern file now under `fd` at two offsets
 * through cio, checking them; `after` (if any) runs after each read.
 * Twice, so that the second op meets whatever the first one left behind. */
static void read_pattern_twice(cio_loop *loop, cio_fd fd, void (*after)(cio_fd fd)) {
    unsigned char buf[300];
    for (int round = 0; round < 2; round++) {
        size_t at = 5000 + 20000 * (size_t)round;
        memset(buf, 0, sizeof buf);
        CHECK_EQ(rw(loop, false, fd, buf, sizeof buf, at), sizeof buf);
        check_pattern(buf, sizeof buf, at);
        if (after) after(fd);
    }
}

/* Writes a line at two offsets through cio into the file now under `fd`,
 * checking each with a plain pread. */
static void write_twice_at(cio_loop *loop, cio_fd fd) {
    static const char hello[] = "written at 7000";
    for (int round = 0; round < 2; round++) {
        uint64_t at = 7000 + 100 * (uint64_t)round;
        CHECK_EQ(rw(loop, true, fd, (void *)hello, sizeof hello, at), sizeof hello);
        char back[sizeof hello];
        CHECK_EQ(t_sys_pread(fd, back, sizeof back, (long long)at), sizeof back);
        CHECK(memcmp(back, hello, sizeof hello) == 0);
    }
}

#if defined(_WIN32)
/* A file of FILE_LEN pattern bytes (plain calls). */
static cio_fd pattern_file(const char *dir, const char *name) {
    char path[256];
    cio_fd fd = t_sys_open(fs_path(path, sizeof path, dir, name), O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd != T_FD_NONE);
    static unsigned char data[FILE_LEN];
    for (size_t i = 0; i < FILE_LEN; i++) data[i] = pattern(i);
    fs_write_all(fd, data, FILE_LEN, 0);
    return fd;
}

/* What replaces a closed handle: made by `make` into got[0] (and got[1],
 * the other end of a pipe or socket pair, or T_FD_NONE). */
typedef struct newcomer {
    const char *dir, *name;
    int kind; /* NEW_FILE, NEW_PIPE, NEW_PIPE_SYNC, NEW_SOCKETS */
    cio_fd listener; /* NEW_SOCKETS */
    cio_fd got[2];
} newcomer;
enum { NEW_FILE, NEW_PIPE, NEW_PIPE_SYNC, NEW_SOCKETS };

/* A connected loopback TCP pair through `l`, the connecting socket made
 * first (t_socketpair would make its listener first, which then takes the
 * value that was freed). */
static void connected(cio_fd l, cio_fd got[2]) {
    struct sockaddr_in at;
    int len = sizeof at;
    CHECK_EQ(getsockname((SOCKET)l, (struct sockaddr *)&at, &len), 0);
    SOCKET c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(c != INVALID_SOCKET);
    CHECK_EQ(connect(c, (struct sockaddr *)&at, sizeof at), 0);
    SOCKET a = accept((SOCKET)l, NULL, NULL);
    CHECK(a != INVALID_SOCKET);
    got[0] = (cio_fd)c;
    got[1] = (cio_fd)a;
}

static void make(newcomer *n) {
    n->got[1] = T_FD_NONE;
    if (n->kind == NEW_FILE)
        n->got[0] = pattern_file(n->dir, n->name);
    else if (n->kind == NEW_PIPE)
        CHECK_EQ(t_pipe(n->got), 0);
    else if (n->kind == NEW_PIPE_SYNC)
        CHECK_EQ(t_pipe_sync(n->got), 0);
    else
        connected(n->listener, n->got);
}

/* Closes `old` behind cio's back and makes `n` until its first handle (a
 * pipe's read end; for sockets either end, swapped to be first) lands on
 * the old value. Returns false when it never did (Windows chose other
 * values: the case cannot be made, and says so). */
static bool land_on(cio_fd old, newcomer *n) {
    CHECK_EQ(t_close_handle(old), 0);
    cio_fd miss[16][2];
    int misses = 0;
    bool landed = false;
    while (misses < 16) {
        make(n);
        if (n->kind == NEW_SOCKETS && n->got[1] == old) {
            n->got[1] = n->got[0];
            n->got[0] = old;
        }
        if (n->got[0] == old) {
            landed = true;
            break;
        }
        miss[misses][0] = n->got[0];
        miss[misses][1] = n->got[1];
        misses++;
    }
    for (int i = 0; i < misses; i++)
        for (int k = 0; k < 2; k++)
            if (miss[i][k] != T_FD_NONE) CHECK_EQ(t_close_handle(miss[i][k]), 0);
    if (!landed) fprintf(stderr, "no new handle took the value %p in 16 tries\n", (void *)old);
    return landed;
}

/* Pipe ends, then a file under their values: the reads and writes are the
 * file's, at their offsets. Twice, so that the second op meets whatever
 * the first one left behind. */
static void pipe_then_file(cio_loop *loop, const char *dir) {
    cio_fd p[2];
    pipe_used_by_cio(loop, p);
    newcomer a = {.dir = dir, .name = "a", .kind = NEW_FILE};
    if (!land_on(p[0], &a)) {
        T_SKIP_CASE_ON_WINDOWS("pipe_then_file", "Windows did not reuse the closed pipe's handle value");
        CHECK_EQ(t_close_handle(p[1]), 0);
        return;
    }
    read_pattern_twice(loop, p[0], NULL);
    newcomer b = {.dir = dir, .name = "b", .kind = NEW_FILE};
    if (land_on(p[1], &b)) {
        write_twice_at(loop, p[1]);
        CHECK_EQ(t_close_handle(p[1]), 0);
    } else {
        T_SKIP_CASE_ON_WINDOWS("pipe_then_file/write", "Windows did not reuse the closed pipe's handle value");
    }
    CHECK_EQ(t_close_handle(p[0]), 0);
}

/* A file cio read, then an empty pipe's read end under its value (an
 * overlapped named pipe, which can join the port; or an anonymous pipe,
 * which cannot: the pool's): the read parks like any pipe read. */
static void file_then_pipe(cio_loop *loop, const char *dir, bool sync) {
    cio_fd f = pattern_file(dir, "c");
    unsigned char buf[100];
    CHECK_EQ(rw(loop, false, f, buf, sizeof buf, 1000), sizeof buf);
    check_pattern(buf, sizeof buf, 1000);
    newcomer n = {.kind = sync ? NEW_PIPE_SYNC : NEW_PIPE};
    if (!land_on(f, &n)) {
        T_SKIP_CASE_ON_WINDOWS(sync ? "file_then_pipe/anonymous" : "file_then_pipe",
                               "Windows did not reuse the closed file's handle value");
        return;
    }
    read_parks_on(loop, f, n.got[1], sync);
    CHECK_EQ(t_close_handle(f), 0);
    CHECK_EQ(t_close_handle(n.got[1]), 0);
}

/* A pipe end, then a socket under its value: its bytes, both ways. */
static void pipe_then_socket(cio_loop *loop) {
    cio_fd p[2];
    pipe_used_by_cio(loop, p);
    CHECK_EQ(t_close_handle(p[1]), 0);
    newcomer n = {.kind = NEW_SOCKETS, .listener = t_sys_socket(AF_INET, SOCK_STREAM, 0)};
    CHECK(n.listener != T_FD_NONE);
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(bind((SOCKET)n.listener, (struct sockaddr *)&at, sizeof at), 0);
    CHECK_EQ(listen((SOCKET)n.listener, 16), 0);
    bool landed = land_on(p[0], &n);
    CHECK_EQ(t_close_handle(n.listener), 0);
    if (!landed) {
        T_SKIP_CASE_ON_WINDOWS("pipe_then_socket", "Windows did not reuse the closed pipe's handle value");
        return;
    }
    cio_fd peer = n.got[1];
    char buf[16] = {0};
    CHECK_EQ(rw(loop, true, p[0], "to one", 6, CIO_OFFSET_CURRENT), 6);
    CHECK_EQ(t_sys_read(peer, buf, sizeof buf), 6);
    CHECK(memcmp(buf, "to one", 6) == 0);
    CHECK_EQ(t_sys_write(peer, "to zero", 7), 7);
    memset(buf, 0, sizeof buf);
    CHECK_EQ(rw(loop, false, p[0], buf, sizeof buf, CIO_OFFSET_CURRENT), 7);
    CHECK(memcmp(buf, "to zero", 7) == 0);
    read_parks(loop, p[0], peer);
    CHECK_EQ(t_close_handle(p[0]), 0);
    CHECK_EQ(t_close_handle(peer), 0);
}

int main(void) {
    const char *dir = fs_mkdtemp();
    cio_loop loop;
    t_loop_init(&loop, 64);
    t_alarm(60, "fd_reuse: a read that blocks the loop");
    pipe_then_file(&loop, dir);
    file_then_pipe(&loop, dir, false);
    file_then_pipe(&loop, dir, true);
    pipe_then_socket(&loop);
    (void)T_SKIP_CASE_ON_WINDOWS("tty_then_blocking_pipe", "no terminal: Windows has no pseudo-terminal to open "
                                                           "here (a console needs one, CI under Wine has none)");
    CHECK_EQ(cio_loop_active(&loop), 0);
    t_close(&loop);
    printf("ok\n");
    return 0;
}
#else
static void drop_cache(int fd) {
    CHECK_EQ(fsync(fd), 0);
#if defined(POSIX_FADV_DONTNEED)
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
#endif
}

/* A regular file of FILE_LEN pattern bytes, out of the page cache where the
 * system lets a program ask for that (a non-blocking read then finds
 * nothing to copy and says EAGAIN, the case that needs the most care). */
static int pattern_file(const char *dir, const char *name) {
    char path[128];
    int fd = open(fs_path(path, sizeof path, dir, name), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    static unsigned char data[FILE_LEN];
    for (size_t i = 0; i < FILE_LEN; i++) data[i] = pattern(i);
    CHECK_EQ(write(fd, data, FILE_LEN), FILE_LEN);
    drop_cache(fd);
    return fd;
}

/* Puts `fd` at the number `at`, closing what was there behind cio's back. */
static void move_to(int fd, int at) {
    CHECK_EQ(dup2(fd, at), at);
    CHECK_EQ(close(fd), 0);
}

/* Pipe ends, then a regular file under their numbers: the reads and writes
 * are the file's, at their offsets (on the readiness backends: the file has
 * no readiness, so they run as file ops, wherever). Twice, so that the
 * second op meets whatever the first one left behind. */
static void pipe_then_file(cio_loop *loop, const char *dir) {
    int p[2];
    pipe_used_by_cio(loop, p);
    move_to(pattern_file(dir, "a"), p[0]);
    read_pattern_twice(loop, p[0], drop_cache);

    move_to(pattern_file(dir, "b"), p[1]);
    write_twice_at(loop, p[1]);
    CHECK_EQ(lseek(p[1], 0, SEEK_CUR), FILE_LEN); /* the writes used their offsets */
    close(p[0]);
    close(p[1]);
}

/* A regular file cio read, then an empty pipe under its number: the read
 * parks like any pipe read. */
static void file_then_pipe(cio_loop *loop, const char *dir) {
    int f = pattern_file(dir, "c");
    unsigned char buf[100];
    CHECK_EQ(rw(loop, false, f, buf, sizeof buf, 1000), sizeof buf);
    check_pattern(buf, sizeof buf, 1000);
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    move_to(p[0], f);
    read_parks(loop, f, p[1]);
    close(f);
    close(p[1]);
}

/* A handle cio may have made non-blocking (a terminal: on Linux it refuses
 * the per-call flag), then a blocking pipe under its number: a read on it
 * must not block the loop (the watchdog ends a hang). */
static void tty_then_blocking_pipe(cio_loop *loop) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
        fprintf(stderr, "no pseudo-terminal here (%s): that part skipped\n", strerror(errno));
        if (m >= 0) close(m);
        return;
    }
    int s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(s >= 0);
    char buf[16] = {0};
    CHECK_EQ(write(m, "line\n", 5), 5);
    CHECK_EQ(rw(loop, false, s, buf, sizeof buf, CIO_OFFSET_CURRENT), 5);
    CHECK(memcmp(buf, "line\n", 5) == 0);
    CHECK_EQ(rw(loop, true, s, "out\n", 4, CIO_OFFSET_CURRENT), 4);

    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
    move_to(p[0], s);
    read_parks(loop, s, p[1]);
    close(s);
    close(p[1]);

    /* And the other way: a pipe end, then the terminal under its number. */
    pipe_used_by_cio(loop, p);
    s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(s >= 0);
    move_to(s, p[0]);
    CHECK_EQ(write(m, "again\n", 6), 6);
    memset(buf, 0, sizeof buf);
    CHECK_EQ(rw(loop, false, p[0], buf, sizeof buf, CIO_OFFSET_CURRENT), 6);
    CHECK(memcmp(buf, "again\n", 6) == 0);
    close(p[0]);
    close(p[1]);
    close(m);
}

/* A pipe end, then a socket under its number: its bytes, both ways. */
static void pipe_then_socket(cio_loop *loop) {
    int p[2], sv[2];
    pipe_used_by_cio(loop, p);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    int s0 = dup(sv[0]), s1 = dup(sv[1]);
    CHECK(s0 >= 0 && s1 >= 0);
    close(sv[0]);
    close(sv[1]);
    move_to(s0, p[0]); /* p[0] and p[1] now the two ends of the socket pair */
    move_to(s1, p[1]);
    char buf[16] = {0};
    CHECK_EQ(rw(loop, true, p[0], "to one", 6, CIO_OFFSET_CURRENT), 6);
    CHECK_EQ(read(p[1], buf, sizeof buf), 6);
    CHECK(memcmp(buf, "to one", 6) == 0);
    CHECK_EQ(write(p[1], "to zero", 7), 7);
    memset(buf, 0, sizeof buf);
    CHECK_EQ(rw(loop, false, p[0], buf, sizeof buf, CIO_OFFSET_CURRENT), 7);
    CHECK(memcmp(buf, "to zero", 7) == 0);
    read_parks(loop, p[0], p[1]);
    close(p[0]);
    close(p[1]);
}

/* On Linux every backend reads and writes a pipe without touching its
 * O_NONBLOCK, which it shares with whoever else has it open, where the
 * kernel lets a single call not block (RWF_NOWAIT on pipes: Linux 6.4). */
static void pipe_flags_kept(cio_loop *loop) {
#if defined(__linux__) && !defined(CIO_POSIX_ONLY) && defined(RWF_NOWAIT)
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    char c;
    struct iovec v = {&c, 1};
    bool nowait = preadv2(p[0], &v, 1, -1, RWF_NOWAIT) < 0 && errno == EAGAIN;
    close(p[0]);
    close(p[1]);
    if (!nowait) {
        fprintf(stderr, "pipes refuse RWF_NOWAIT before Linux 6.4: the flags check skipped\n");
        return;
    }
    pipe_used_by_cio(loop, p);
    read_parks(loop, p[0], p[1]);
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
    CHECK_EQ(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
    close(p[0]);
    close(p[1]);
#else
    (void)loop;
#endif
}

int main(void) {
    const char *dir = fs_mkdtemp();
    cio_loop loop;
    t_loop_init(&loop, 64);
    alarm(60); /* a read that blocks the loop never comes back: fail in a minute, not two */
    pipe_flags_kept(&loop);
    pipe_then_file(&loop, dir);
    file_then_pipe(&loop, dir);
    pipe_then_socket(&loop);
    tty_then_blocking_pipe(&loop);
    CHECK_EQ(cio_loop_active(&loop), 0);
    t_close(&loop);
    printf("ok\n");
    return 0;
}
#endif
