/*
 * tests/test_fs_file.c - cio/fs.h's file calls: open (flags, mode,
 * close-on-exec), one-op reads and writes at offsets and at the position,
 * read_all and write_all over short transfers (pipes) and their short end,
 * sync, status and size, truncate and allocate, and the name-space calls;
 * each with its bad input and error codes. Also the task-only rule
 * (-CIO_EPERM outside a task).
 *
 * Oracles: plain system calls (tests/port.h: stat, open, pread, a pipe
 * peer thread) on the real backends; the mock's own view of its file
 * system (cio_mock_file_get/put) on the mock, whose pipe peer is a task.
 *
 * Threads: the pipe and socket peers of tests/fs_peer.h are threads
 * (t_thread_start) on the real backends.
 *
 * CIO_TEST_PORTABLE: under Wine symbolic links cannot be made (skipped by
 * name); Windows has no permission bits (checked as op.h documents them).
 *
 * CIO_TEST_SEEDS_EXACT: it also runs under 1,000 mock seeds, without faults (tests/CMakeLists.txt).
 */
#include "fs_peer.h"

#if !defined(_WIN32)
#include <sys/stat.h>
#endif

#define BIG (3u * 1024u * 1024u + 5u)

static void outside_task(void) {
    char b[8];
    size_t done = 77;
    CHECK_EQ(cio_file_open("x", CIO_O_RDONLY, 0), -CIO_EPERM);
    CHECK_EQ(cio_file_read_all(CIO_FD_INVALID, b, sizeof b, 0, &done), -CIO_EPERM);
    CHECK_EQ(done, 0);
    CHECK_EQ(cio_file_write_all(CIO_FD_INVALID, b, sizeof b, 0, NULL), -CIO_EPERM);
    CHECK_EQ(cio_fs_read_file("x", b, sizeof b), -CIO_EPERM);
    void *out = b;
    CHECK_EQ(cio_fs_read_file_alloc("x", 10, &out), -CIO_EPERM);
    CHECK(out == NULL);
    CHECK_EQ(cio_fs_write_file_atomic("x", b, 1, 0644), -CIO_EPERM);
    CHECK_EQ(cio_fs_copy_file("x", "y", 0), -CIO_EPERM);
    CHECK_EQ(cio_file_send(CIO_FD_INVALID, CIO_FD_INVALID, 0, 1, NULL), -CIO_EPERM);
    CHECK_EQ(cio_fs_mkdir("x", 0755), -CIO_EPERM);
    cio_statx st;
    CHECK_EQ(cio_fs_stat("x", &st), -CIO_EPERM);
    cio_dir d;
    static uint64_t dbuf[256];
    CHECK_EQ(cio_dir_open(&d, "x", dbuf, sizeof dbuf), -CIO_EPERM);
    CHECK_EQ(cio_dir_close(&d), 0); /* nothing open */
    cio_fs_free(NULL);

    /* the standard handles (oracle: the numbers / GetStdHandle) */
    CHECK(cio_stdio_handle(-1) == CIO_FD_INVALID);
    CHECK(cio_stdio_handle(3) == CIO_FD_INVALID);
#if defined(_WIN32)
    CHECK(cio_stdio_handle(1) == (cio_fd)GetStdHandle(STD_OUTPUT_HANDLE));
    CHECK(cio_stdio_handle(2) == (cio_fd)GetStdHandle(STD_ERROR_HANDLE));
#else
    CHECK(cio_stdio_handle(0) == 0 && cio_stdio_handle(1) == 1 && cio_stdio_handle(2) == 2);
#endif
}

static cio_fd open_ok(const char *path, int flags, uint32_t mode) {
    intptr_t h = cio_file_open(path, flags, mode);
    if (h < 0) fprintf(stderr, "open %s: %s\n", path, cio_strerror((int)h));
    CHECK(h >= 0);
    return (cio_fd)h;
}

static void case_open(void) {
    char a[600], m[600];
    fs_p(a, sizeof a, "open_a");
    fs_p(m, sizeof m, "open_missing");
    cio_fd fd = open_ok(a, CIO_O_RDWR | CIO_O_CREAT | CIO_O_EXCL, 0600);
    if (!fs_E.mock) {
        CHECK_EQ(t_is_cloexec(fd), 1); /* CIO_O_CLOEXEC always added */
        CHECK_EQ(t_same_file(fd, a), 1);
        t_stat st = {0};
        CHECK_EQ(t_sys_stat(a, 1, &st), 0);
        CHECK_EQ(st.type, CIO_S_IFREG);
        if (!t_on_windows()) CHECK_EQ(st.perm, 0600);
    }
    CHECK_EQ(cio_file_open(a, CIO_O_RDWR | CIO_O_CREAT | CIO_O_EXCL, 0600), -CIO_EEXIST);
    CHECK_EQ(cio_file_open(m, CIO_O_RDONLY, 0), -CIO_ENOENT);
    CHECK_EQ(cio_file_open(NULL, CIO_O_RDONLY, 0), -CIO_EINVAL);
    CHECK_EQ(cio_file_openat(CIO_AT_FDCWD, NULL, CIO_O_RDONLY, 0), -CIO_EINVAL);
    CHECK_EQ(cio_file_open(fs_E.base, CIO_O_WRONLY, 0), -CIO_EISDIR);

    /* at offsets: the position does not move */
    CHECK_EQ(cio_file_write_at(fd, "world", 5, 6), 5);
    CHECK_EQ(cio_file_write_at(fd, "hello ", 6, 0), 6);
    char buf[32] = {0};
    CHECK_EQ(cio_file_read_at(fd, buf, sizeof buf, 0), 11);
    CHECK(memcmp(buf, "hello world", 11) == 0);
    CHECK_EQ(cio_file_read_at(fd, buf, sizeof buf, 11), 0); /* end of file */
    /* at the position: it starts at 0 and moves */
    CHECK_EQ(cio_file_read(fd, buf, 5), 5);
    CHECK_EQ(cio_file_write(fd, "_", 1), 1);
    CHECK_EQ(cio_file_read(fd, buf, 5), 5);
    CHECK(memcmp(buf, "world", 5) == 0);
    CHECK_EQ(cio_file_write(fd, "!", 1), 1);
    CHECK_EQ(cio_file_close(fd), 0);
    CHECK_EQ(fs_oracle_get(a, buf, sizeof buf), 12);
    CHECK(memcmp(buf, "hello_world!", 12) == 0);
    if (!fs_E.mock) CHECK_EQ(t_is_open(fd), 0);
}

static void case_all_file(void) {
    char a[600];
    fs_p(a, sizeof a, "all_a");
    unsigned char *data = (unsigned char *)malloc(BIG), *back = (unsigned char *)malloc(BIG + 100);
    CHECK(data && back);
    fs_fill(data, BIG, 1);
    cio_fd fd = open_ok(a, CIO_O_RDWR | CIO_O_CREAT | CIO_O_TRUNC, 0644);
    size_t done = 1;
    CHECK_EQ(cio_file_write_all(fd, data, BIG, 0, &done), BIG);
    CHECK_EQ(done, BIG);
    long long size;
    CHECK_EQ(fs_oracle_sum(a, &size), fs_sum(data, BIG));
    CHECK_EQ(size, BIG);
    /* a read past the end: short, at the end, not an error */
    CHECK_EQ(cio_file_read_all(fd, back, BIG + 100, 1000, &done), BIG - 1000);
    CHECK_EQ(done, BIG - 1000);
    CHECK(memcmp(back, data + 1000, BIG - 1000) == 0);
    /* at the position (0: nothing moved it), twice: it moves */
    CHECK_EQ(cio_file_read_all(fd, back, 100, CIO_OFFSET_CURRENT, NULL), 100);
    CHECK_EQ(cio_file_read_all(fd, back + 100, 100, CIO_OFFSET_CURRENT, NULL), 100);
    CHECK(memcmp(back, data, 200) == 0);
    /* len 0; NULL buffers */
    CHECK_EQ(cio_file_read_all(fd, NULL, 0, 0, &done), 0);
    CHECK_EQ(cio_file_write_all(fd, NULL, 0, 0, &done), 0);
    CHECK_EQ(cio_file_read_all(fd, NULL, 1, 0, &done), -CIO_EINVAL);
    CHECK_EQ(cio_file_write_all(fd, NULL, 1, 0, &done), -CIO_EINVAL);
    CHECK_EQ(cio_file_close(fd), 0);
    /* wrong direction: the op's error, nothing moved */
    fd = open_ok(a, CIO_O_RDONLY, 0);
    done = 5;
    CHECK_EQ(cio_file_write_all(fd, data, 10, 0, &done), -CIO_EBADF);
    CHECK_EQ(done, 0);
    CHECK_EQ(cio_file_close(fd), 0);
    fd = open_ok(a, CIO_O_WRONLY, 0);
    CHECK_EQ(cio_file_read_all(fd, back, 10, 0, &done), -CIO_EBADF);
    CHECK_EQ(done, 0);
    CHECK_EQ(cio_file_close(fd), 0);
    free(data);
    free(back);
}

static void case_all_pipe(void) {
    /* read_all over a pipe written in 1000-byte pieces: short reads */
    cio_fd p[2];
    fs_pipe(p);
    fs_peer w = {.fd = p[1], .len = 200000, .piece = 1000, .seed = 2};
    fs_peer_start(&w, 1);
    unsigned char *buf = (unsigned char *)malloc(300000), *want = (unsigned char *)malloc(200000);
    CHECK(buf && want);
    fs_fill(want, 200000, 2);
    size_t done = 0;
    CHECK_EQ(cio_file_read_all(p[0], buf, 150000, CIO_OFFSET_CURRENT, &done), 150000);
    CHECK_EQ(done, 150000);
    /* the rest, asked for more than comes: short at the writer's close */
    CHECK_EQ(cio_file_read_all(p[0], buf + 150000, 150000, CIO_OFFSET_CURRENT, &done), 50000);
    CHECK_EQ(done, 50000);
    CHECK(memcmp(buf, want, 200000) == 0);
    fs_peer_wait(&w);
    CHECK_EQ(w.got, 200000);
    CHECK_EQ(cio_file_close(p[0]), 0);

    /* write_all of 1 MiB into a pipe (64 KiB buffer): short writes */
    fs_pipe(p);
    fs_peer r = {.fd = p[0]};
    fs_peer_start(&r, 0);
    unsigned char *big = (unsigned char *)malloc(1u << 20);
    CHECK(big);
    fs_fill(big, 1u << 20, 3);
    CHECK_EQ(cio_file_write_all(p[1], big, 1u << 20, CIO_OFFSET_CURRENT, &done), 1u << 20);
    CHECK_EQ(done, 1u << 20);
    CHECK_EQ(cio_file_close(p[1]), 0);
    fs_peer_wait(&r);
    CHECK_EQ(r.got, 1u << 20);
    CHECK_EQ(r.sum, fs_sum(big, 1u << 20));

    /* write_all to a pipe whose reader is gone: -CIO_EPIPE, no signal */
    fs_pipe(p);
    CHECK_EQ(cio_file_close(p[0]), 0);
    CHECK_EQ(cio_file_write_all(p[1], big, 1000, CIO_OFFSET_CURRENT, &done), -CIO_EPIPE);
    CHECK_EQ(done, 0);
    /* fsync of a pipe: -CIO_EINVAL, as Linux */
    CHECK_EQ(cio_file_sync(p[1]), -CIO_EINVAL);
    CHECK_EQ(cio_file_close(p[1]), 0);
    free(big);
    free(buf);
    free(want);
}

static void case_stat(void) {
    char a[600], m[600];
    fs_p(a, sizeof a, "stat_a");
    fs_p(m, sizeof m, "stat_missing");
    unsigned char data[5000];
    fs_fill(data, sizeof data, 4);
    fs_oracle_put(a, data, sizeof data);
    cio_fd fd = open_ok(a, CIO_O_RDWR, 0);
    CHECK_EQ(cio_file_size(fd), 5000);
    cio_statx st;
    CHECK_EQ(cio_file_stat(fd, &st), 0);
    CHECK_EQ(st.mode & CIO_S_IFMT, CIO_S_IFREG);
    CHECK_EQ(st.size, 5000);
    CHECK_EQ(cio_file_sync(fd), 0);
    CHECK_EQ(cio_file_datasync(fd), 0);
    CHECK_EQ(cio_file_stat(fd, NULL), -CIO_EINVAL);
    if (!fs_E.mock) {
        t_stat o = {0};
        CHECK_EQ(t_sys_stat(a, 1, &o), 0);
        CHECK_EQ(st.ino, o.ino);
        CHECK_EQ(st.nlink, o.nlink);
    }
    CHECK_EQ(cio_fs_stat(a, &st), 0);
    CHECK_EQ(st.size, 5000);
    CHECK_EQ(cio_fs_stat(fs_E.base, &st), 0);
    CHECK_EQ(st.mode & CIO_S_IFMT, CIO_S_IFDIR);
    CHECK_EQ(cio_fs_lstat(a, &st), 0);
    CHECK_EQ(st.mode & CIO_S_IFMT, CIO_S_IFREG);
    CHECK_EQ(cio_fs_stat(m, &st), -CIO_ENOENT);
    CHECK_EQ(cio_fs_lstat(m, &st), -CIO_ENOENT);
    CHECK_EQ(cio_fs_stat(NULL, &st), -CIO_EINVAL);
    CHECK_EQ(cio_fs_stat(a, NULL), -CIO_EINVAL);

    /* truncate: cut, then extend with zeros */
    CHECK_EQ(cio_file_truncate(fd, 100), 0);
    unsigned char back[9000];
    CHECK_EQ(fs_oracle_get(a, back, sizeof back), 100);
    CHECK(memcmp(back, data, 100) == 0);
    CHECK_EQ(cio_file_truncate(fd, 8000), 0);
    CHECK_EQ(fs_oracle_get(a, back, sizeof back), 8000);
    CHECK(memcmp(back, data, 100) == 0);
    for (int i = 100; i < 8000; i++) CHECK_EQ(back[i], 0);
    CHECK_EQ(cio_file_size(fd), 8000);
    /* allocate: mode 0 grows the size, KEEP_SIZE does not */
    long long size_now = 8000;
    int32_t r = cio_file_allocate(fd, 0, 0, 12000);
    if (r == -CIO_ENOTSUP) {
        t_skip_case_(__FILE__, "allocate", "the file system cannot allocate (-CIO_ENOTSUP)");
    } else if (r == -CIO_ENOSYS && t_under_wine()) {
        t_skip_case_(__FILE__, "allocate",
                     "Wine 8: SetFileInformationByHandle(FileAllocationInfo) is not implemented (-CIO_ENOSYS)");
    } else {
        CHECK_EQ(r, 0);
        CHECK_EQ(fs_oracle_get(a, back, 0), 12000);
        size_now = 12000;
        r = cio_file_allocate(fd, CIO_FALLOCATE_KEEP_SIZE, 12000, 4096);
        if (r != -CIO_ENOTSUP) { /* Windows and the POSIX systems without KEEP_SIZE */
            CHECK_EQ(r, 0);
            CHECK_EQ(fs_oracle_get(a, back, 0), 12000);
        }
    }
    CHECK_EQ(cio_file_close(fd), 0);
    /* a handle open for reading only cannot change the size */
    fd = open_ok(a, CIO_O_RDONLY, 0);
    r = cio_file_truncate(fd, 1);
    CHECK(r == -CIO_EBADF || r == -CIO_EINVAL);
    CHECK_EQ(cio_file_close(fd), 0);
    CHECK_EQ(fs_oracle_get(a, back, 0), size_now);
}

static void case_names(void) {
    char d[600], f[600], g[600], l[600], s[600], sub[600];
    fs_p(d, sizeof d, "names_dir");
    fs_p(f, sizeof f, "names_f");
    fs_p(g, sizeof g, "names_dir/g");
    fs_p(l, sizeof l, "names_link");
    fs_p(s, sizeof s, "names_sym");
    fs_p(sub, sizeof sub, "names_dir/sub");
    CHECK_EQ(cio_fs_mkdir(d, 0750), 0);
    CHECK(fs_oracle_exists(d));
    CHECK_EQ(fs_oracle_get(d, NULL, 0), fs_E.mock ? -CIO_EISDIR : fs_oracle_get(d, NULL, 0));
    if (!fs_E.mock) {
        t_stat o = {0};
        CHECK_EQ(t_sys_stat(d, 1, &o), 0);
        CHECK_EQ(o.type, CIO_S_IFDIR);
        if (!t_on_windows()) CHECK_EQ(o.perm, 0750);
    }
    CHECK_EQ(cio_fs_mkdir(d, 0750), -CIO_EEXIST);
    fs_oracle_put(f, "abc", 3);
    CHECK_EQ(cio_fs_rename(f, g), 0);
    CHECK(!fs_oracle_exists(f));
    char buf[8];
    CHECK_EQ(fs_oracle_get(g, buf, sizeof buf), 3);
    CHECK(memcmp(buf, "abc", 3) == 0);
    CHECK_EQ(cio_fs_rename(f, g), -CIO_ENOENT);
    CHECK_EQ(cio_fs_rmdir(d), -CIO_ENOTEMPTY);
    CHECK_EQ(cio_fs_unlink(d), -CIO_EISDIR);
    CHECK_EQ(cio_fs_rmdir(g), -CIO_ENOTDIR);

    /* hard link: one file, two names */
    int32_t r = cio_fs_link(g, l);
    if (fs_E.mock) {
        CHECK(r == -CIO_ENOTSUP || r == 0);
    } else {
        CHECK_EQ(r, 0);
        t_stat o1 = {0}, o2 = {0};
        CHECK_EQ(t_sys_stat(g, 1, &o1), 0);
        CHECK_EQ(t_sys_stat(l, 1, &o2), 0);
        CHECK_EQ(o1.ino, o2.ino);
        CHECK_EQ(o1.nlink, 2);
        CHECK_EQ(cio_fs_link(g, l), -CIO_EEXIST);
        CHECK_EQ(cio_fs_unlink(l), 0);
        CHECK(!fs_oracle_exists(l));
    }
    /* symbolic link: stored as given; lstat sees the link */
    r = cio_fs_symlink("names_dir/g", s);
    if (r == -CIO_ENOTSUP || (t_on_windows() && r == -CIO_EPERM)) {
        t_skip_case_(__FILE__, "symlink", r == -CIO_ENOTSUP ? "no symbolic links here (-CIO_ENOTSUP)"
                                                           : "making links needs a privilege here (-CIO_EPERM)");
    } else {
        CHECK_EQ(r, 0);
        cio_statx st;
        CHECK_EQ(cio_fs_lstat(s, &st), 0);
        CHECK_EQ(st.mode & CIO_S_IFMT, CIO_S_IFLNK);
        CHECK_EQ(cio_fs_stat(s, &st), 0);
        CHECK_EQ(st.mode & CIO_S_IFMT, CIO_S_IFREG);
        CHECK_EQ(st.size, 3);
        if (!fs_E.mock) {
            t_stat o = {0};
            CHECK_EQ(t_sys_stat(s, 0, &o), 0);
            CHECK_EQ(o.type, CIO_S_IFLNK);
        }
        CHECK_EQ(cio_fs_symlink("x", s), -CIO_EEXIST);
        CHECK_EQ(cio_fs_unlink(s), 0);
        CHECK(!fs_oracle_exists(s));
    }
    CHECK_EQ(cio_fs_unlink(g), 0);
    CHECK(!fs_oracle_exists(g));
    CHECK_EQ(cio_fs_unlink(g), -CIO_ENOENT);
    CHECK_EQ(cio_fs_mkdir(sub, 0755), 0);
    CHECK_EQ(cio_fs_rmdir(sub), 0);
    CHECK_EQ(cio_fs_rmdir(d), 0);
    CHECK(!fs_oracle_exists(d));
    CHECK_EQ(cio_fs_rename(NULL, d), -CIO_EINVAL);
    CHECK_EQ(cio_fs_unlink(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_fs_mkdir(NULL, 0), -CIO_EINVAL);
    CHECK_EQ(cio_fs_rmdir(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_fs_symlink(NULL, s), -CIO_EINVAL);
    CHECK_EQ(cio_fs_link(g, NULL), -CIO_EINVAL);
}

static intptr_t main_task(void) {
    case_open();
    case_all_file();
    case_all_pipe();
    case_stat();
    case_names();
    return 0;
}

int main(void) {
    fs_process_setup();
    outside_task();
    fs_run_main(main_task, NULL, 60.0);
    printf("ok\n");
    return 0;
}
