/*
 * tests/test_file_rw.c - moving bytes through files and pipes: read, write,
 * readv, writev and splice, at an offset and at the file position; their
 * error codes; cancelling a read that is pending or already done; and soft
 * link chains of file ops.
 *
 * Every op is checked to complete exactly once with its exact result, and
 * every byte read back is compared with what was written.
 *
 * CIO_TEST_PORTABLE: on Windows the same checks, with these differences.
 * The position an overlapped handle has at CIO_OFFSET_CURRENT is cio's
 * (op.h): no system call shows it, so there the bytes the next op at the
 * position moves are its oracle, and a position is set with t_sys_seek
 * before cio first sees the handle. splice is Linux's: its case becomes
 * the check that it is refused at submission.
 */
#include "fs_util.h"

/* A byte pattern that differs per `seed`, so that a read of the wrong
 * region or of stale bytes cannot match by accident. */
static void fill(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 7u + seed * 31u + 3u);
}

static cio_fd open_scratch(const char *dir, const char *name, int flags) {
    char path[256];
    cio_fd fd = t_sys_open(fs_path(path, sizeof path, dir, name), flags, 0644);
    CHECK(fd != T_FD_NONE);
    return fd;
}

/* The handle's position is `want`: lseek(2) on POSIX. Windows has no
 * oracle (cio keeps the position of an overlapped handle itself): the
 * callers check the bytes the next op at the position moves instead. */
static void check_pos(cio_fd fd, long long want, int line) {
#if defined(_WIN32)
    (void)fd;
    (void)want;
    (void)line;
#else
    long long at = t_sys_seek(fd, 0, SEEK_CUR);
    if (at != want) {
        fprintf(stderr, "line %d: position %lld, expected %lld\n", line, at, want);
        exit(1);
    }
#endif
}
#define CHECK_POS(fd, want) check_pos((fd), (want), __LINE__)


static void test_rw_offset(cio_loop *loop, const char *dir) {
    cio_fd fd = open_scratch(dir, "rw_offset", O_RDWR | O_CREAT | O_TRUNC);
    unsigned char out[3000], in[3000];
    fill(out, sizeof out, 1);
    t_op w, r;

    cio_prep_write(&w.op, fd, out, 1000, 0);
    CHECK_EQ(fs_do(loop, &w), 1000);
    cio_prep_write(&w.op, fd, out + 1000, 2000, 5000);
    CHECK_EQ(fs_do(loop, &w), 2000);
    char path[256];
    CHECK_EQ(t_sys_file_size(fs_path(path, sizeof path, dir, "rw_offset")), 7000);

    memset(in, 0xAA, sizeof in);
    cio_prep_read(&r.op, fd, in, 2000, 5000);
    CHECK_EQ(fs_do(loop, &r), 2000);
    CHECK(memcmp(in, out + 1000, 2000) == 0);

    memset(in, 0xAA, sizeof in);
    cio_prep_read(&r.op, fd, in, 1000, 0);
    CHECK_EQ(fs_do(loop, &r), 1000);
    CHECK(memcmp(in, out, 1000) == 0);

    /* The hole between the two writes reads as zeros. */
    memset(in, 0xAA, sizeof in);
    cio_prep_read(&r.op, fd, in, 100, 2000);
    CHECK_EQ(fs_do(loop, &r), 100);
    for (int i = 0; i < 100; i++) CHECK_EQ(in[i], 0);

    /* A read that crosses the end of the file is short. */
    memset(in, 0xAA, sizeof in);
    cio_prep_read(&r.op, fd, in, 3000, 6000);
    CHECK_EQ(fs_do(loop, &r), 1000);
    CHECK(memcmp(in, out + 2000, 1000) == 0);
    CHECK_EQ(in[1000], 0xAA);

    /* At and past the end of the file: 0, buffer untouched. */
    memset(in, 0xAA, sizeof in);
    cio_prep_read(&r.op, fd, in, 100, 7000);
    CHECK_EQ(fs_do(loop, &r), 0);
    cio_prep_read(&r.op, fd, in, 100, 1u << 30);
    CHECK_EQ(fs_do(loop, &r), 0);
    CHECK_EQ(in[0], 0xAA);

    /* A zero-length read with no buffer is allowed and reads nothing. */
    cio_prep_read(&r.op, fd, NULL, 0, 0);
    CHECK_EQ(fs_do(loop, &r), 0);

    /* Positioned ops leave the file position alone: a read there starts
     * at 0. */
    CHECK_POS(fd, 0);
    memset(in, 0xAA, sizeof in);
    cio_prep_read(&r.op, fd, in, 10, CIO_OFFSET_CURRENT);
    CHECK_EQ(fs_do(loop, &r), 10);
    CHECK(memcmp(in, out, 10) == 0);
    CHECK_EQ(t_close_handle(fd), 0);
}

static void test_rw_current(cio_loop *loop, const char *dir) {
    cio_fd fd = open_scratch(dir, "rw_current", O_RDWR | O_CREAT | O_TRUNC);
    unsigned char out[600], in[600];
    fill(out, sizeof out, 2);
    t_op w, r;

    /* Two writes at the position land one after the other. They run one
     * at a time: two in flight at once may take the position in any order. */
    cio_prep_write(&w.op, fd, out, 250, CIO_OFFSET_CURRENT);
    CHECK_EQ(fs_do(loop, &w), 250);
    CHECK_POS(fd, 250);
    cio_prep_write(&w.op, fd, out + 250, 350, CIO_OFFSET_CURRENT);
    CHECK_EQ(fs_do(loop, &w), 350);
    CHECK_POS(fd, 600);
    memset(in, 0, sizeof in);
    CHECK_EQ(t_sys_pread(fd, in, sizeof in, 0), 600);
    CHECK(memcmp(in, out, 600) == 0);

    /* Reads at the position advance it, and the last one hits the end. The
     * position is set on a handle cio has not seen yet, where it starts on
     * every platform. */
    cio_fd rfd = open_scratch(dir, "rw_current", O_RDONLY);
    CHECK_EQ(t_sys_seek(rfd, 100, SEEK_SET), 100);
    memset(in, 0, sizeof in);
    cio_prep_read(&r.op, rfd, in, 200, CIO_OFFSET_CURRENT);
    CHECK_EQ(fs_do(loop, &r), 200);
    CHECK(memcmp(in, out + 100, 200) == 0);
    CHECK_POS(rfd, 300);
    cio_prep_read(&r.op, rfd, in, 500, CIO_OFFSET_CURRENT);
    CHECK_EQ(fs_do(loop, &r), 300);
    CHECK(memcmp(in, out + 300, 300) == 0);
    CHECK_POS(rfd, 600);
    cio_prep_read(&r.op, rfd, in, 500, CIO_OFFSET_CURRENT);
    CHECK_EQ(fs_do(loop, &r), 0);
    CHECK_POS(rfd, 600);
    CHECK_EQ(t_close_handle(rfd), 0);

    /* An O_APPEND write goes to the end whatever the position says. */
    cio_fd afd = open_scratch(dir, "rw_current", O_WRONLY | O_APPEND);
    cio_prep_write(&w.op, afd, "tail", 4, CIO_OFFSET_CURRENT);
    CHECK_EQ(fs_do(loop, &w), 4);
    CHECK_EQ(t_close_handle(afd), 0);
    char tail[4];
    CHECK_EQ(t_sys_pread(fd, tail, 4, 600), 4);
    CHECK(memcmp(tail, "tail", 4) == 0);
    CHECK_EQ(t_close_handle(fd), 0);
}

static void test_rw_errors(cio_loop *loop, const char *dir) {
    cio_fd wfd = open_scratch(dir, "rw_errors", O_WRONLY | O_CREAT | O_TRUNC);
    fs_write_all(wfd, "0123456789", 10, 0);
    cio_fd rofd = open_scratch(dir, "rw_errors", O_RDONLY);
    char buf[16];
    t_op t;

    cio_prep_write(&t.op, rofd, "x", 1, 0);
    CHECK_EQ(fs_do(loop, &t), -CIO_EBADF);
    cio_prep_write(&t.op, rofd, "x", 1, CIO_OFFSET_CURRENT);
    CHECK_EQ(fs_do(loop, &t), -CIO_EBADF);
    cio_prep_read(&t.op, wfd, buf, sizeof buf, 0);
    CHECK_EQ(fs_do(loop, &t), -CIO_EBADF);

    cio_fd dead = t_closed_handle();
    cio_prep_read(&t.op, dead, buf, sizeof buf, 0);
    CHECK_EQ(fs_do(loop, &t), -CIO_EBADF);
    cio_prep_read(&t.op, dead, buf, sizeof buf, CIO_OFFSET_CURRENT);
    CHECK_EQ(fs_do(loop, &t), -CIO_EBADF);
    cio_prep_write(&t.op, dead, "x", 1, 0);
    CHECK_EQ(fs_do(loop, &t), -CIO_EBADF);

    /* A directory cannot be read as a file. */
    cio_fd dfd = t_sys_open_dir(dir);
    CHECK(dfd != T_FD_NONE);
    cio_prep_read(&t.op, dfd, buf, sizeof buf, 0);
    CHECK_EQ(fs_do(loop, &t), -CIO_EISDIR);
    CHECK_EQ(t_close_handle(dfd), 0);

    /* A negative handle never reaches the kernel. */
    cio_prep_read(&t.op, (cio_fd)-1, buf, sizeof buf, 0);
    t_arm(&t);
    CHECK_EQ(cio_submit(loop, &t.op), -CIO_EBADF);
    CHECK_EQ(cio_loop_active(loop), 0);

    /* Nothing above wrote to the file. */
    memset(buf, 0, sizeof buf);
    CHECK_EQ(t_sys_pread(rofd, buf, sizeof buf, 0), 10);
    CHECK(memcmp(buf, "0123456789", 10) == 0);
    CHECK_EQ(t_close_handle(rofd), 0);
    CHECK_EQ(t_close_handle(wfd), 0);
}

/* A NULL buffer with a length is refused at submission; the op is never
 * taken, and ops taken before it are not disturbed. */
static void test_null_buffer(cio_loop *loop, const char *dir) {
    cio_fd fd = open_scratch(dir, "null_buf", O_RDWR | O_CREAT | O_TRUNC);
    fs_write_all(fd, "abcdef", 6, 0);
    char buf[8] = {0};
    t_op good, bad, badw, badv, badwv;

    cio_prep_read(&good.op, fd, buf, 6, 0);
    t_arm(&good);
    CHECK_EQ(cio_submit(loop, &good.op), 0);

    cio_prep_read(&bad.op, fd, NULL, 6, 0);
    t_arm(&bad);
    CHECK_EQ(cio_submit(loop, &bad.op), -CIO_EINVAL);
    cio_prep_write(&badw.op, fd, NULL, 1, 0);
    t_arm(&badw);
    CHECK_EQ(cio_submit(loop, &badw.op), -CIO_EINVAL);
    cio_iovec iov[2] = {{.iov_base = buf, .iov_len = 2}, {.iov_base = NULL, .iov_len = 3}};
    cio_prep_readv(&badv.op, fd, iov, 2, 0);
    t_arm(&badv);
    CHECK_EQ(cio_submit(loop, &badv.op), -CIO_EINVAL);
    cio_prep_writev(&badwv.op, fd, NULL, 1, 0);
    t_arm(&badwv);
    CHECK_EQ(cio_submit(loop, &badwv.op), -CIO_EINVAL);
    CHECK_EQ(cio_loop_active(loop), 1);

    t_run(loop, 10.0);
    CHECK_EQ(good.finals, 1);
    CHECK_EQ(good.res, 6);
    CHECK(memcmp(buf, "abcdef", 6) == 0);
    CHECK_EQ(bad.finals, 0);
    CHECK_EQ(badw.finals, 0);
    CHECK_EQ(badv.finals, 0);
    CHECK_EQ(badwv.finals, 0);

    /* The same in a batch: nothing is taken, the offender's res says why,
     * and the valid ops can be submitted again afterwards. */
    t_op a, b;
    cio_prep_read(&a.op, fd, buf, 3, 0);
    t_arm(&a);
    cio_prep_write(&b.op, fd, NULL, 3, 0);
    t_arm(&b);
    cio_op *batch[2] = {&a.op, &b.op};
    CHECK_EQ(cio_submit_batch(loop, batch, 2), -CIO_EINVAL);
    CHECK_EQ(b.op.res, -CIO_EINVAL);
    CHECK_EQ(cio_loop_active(loop), 0);
    t_run(loop, 10.0);
    CHECK_EQ(a.finals, 0);
    CHECK_EQ(b.finals, 0);
    CHECK_EQ(fs_do(loop, &a), 3);

    /* The refused op is still idle: fixed, it is accepted. */
    cio_prep_read(&bad.op, fd, buf, 6, 0);
    CHECK_EQ(fs_do(loop, &bad), 6);
    CHECK_EQ(t_close_handle(fd), 0);
}

static void test_vectored(cio_loop *loop, const char *dir) {
    cio_fd fd = open_scratch(dir, "vectored", O_RDWR | O_CREAT | O_TRUNC);
    unsigned char a[100], b[1], c[4000];
    fill(a, sizeof a, 3);
    fill(b, sizeof b, 4);
    fill(c, sizeof c, 5);
    const cio_iovec out[3] = {{.iov_base = a, .iov_len = sizeof a}, {.iov_base = b, .iov_len = sizeof b},
                              {.iov_base = c, .iov_len = sizeof c}};
    t_op t;

    cio_prep_writev(&t.op, fd, out, 3, 10);
    CHECK_EQ(fs_do(loop, &t), 4101);
    unsigned char flat[4200];
    CHECK_EQ(t_sys_pread(fd, flat, sizeof flat, 0), 4111);
    for (int i = 0; i < 10; i++) CHECK_EQ(flat[i], 0);
    CHECK(memcmp(flat + 10, a, sizeof a) == 0);
    CHECK(memcmp(flat + 110, b, sizeof b) == 0);
    CHECK(memcmp(flat + 111, c, sizeof c) == 0);

    /* Scatter into differently cut buffers: each gets its exact slice. */
    unsigned char x[7], y[2000], z[3000];
    memset(x, 0xEE, sizeof x);
    memset(y, 0xEE, sizeof y);
    memset(z, 0xEE, sizeof z);
    cio_iovec in[3] = {{.iov_base = x, .iov_len = sizeof x}, {.iov_base = y, .iov_len = sizeof y},
                       {.iov_base = z, .iov_len = sizeof z}};
    cio_prep_readv(&t.op, fd, in, 3, 10);
    CHECK_EQ(fs_do(loop, &t), 4101);
    CHECK(memcmp(x, flat + 10, 7) == 0);
    CHECK(memcmp(y, flat + 17, 2000) == 0);
    CHECK(memcmp(z, flat + 2017, 2094) == 0);
    CHECK_EQ(z[2094], 0xEE);

    /* At the position: the gathered bytes follow the position, which moves
     * (a handle cio has not seen yet, positioned at the end). */
    cio_fd pfd = open_scratch(dir, "vectored", O_RDWR);
    CHECK_EQ(t_sys_seek(pfd, 0, SEEK_END), 4111);
    cio_prep_writev(&t.op, pfd, out, 3, CIO_OFFSET_CURRENT);
    CHECK_EQ(fs_do(loop, &t), 4101);
    CHECK_POS(pfd, 8212);
    CHECK_EQ(t_sys_pread(fd, flat, 4101, 4111), 4101);
    CHECK(memcmp(flat, a, sizeof a) == 0);
    CHECK(memcmp(flat + 100, b, sizeof b) == 0);
    CHECK(memcmp(flat + 101, c, sizeof c) == 0);
    unsigned char end = 0xEE;
    cio_prep_read(&t.op, pfd, &end, 1, CIO_OFFSET_CURRENT); /* at 8212, the end */
    CHECK_EQ(fs_do(loop, &t), 0);
    CHECK_EQ(t_close_handle(pfd), 0);
    pfd = open_scratch(dir, "vectored", O_RDONLY);
    CHECK_EQ(t_sys_seek(pfd, 4111, SEEK_SET), 4111);
    memset(x, 0, sizeof x);
    memset(y, 0, sizeof y);
    cio_iovec in2[3] = {{.iov_base = x, .iov_len = sizeof x}, {.iov_base = y, .iov_len = 94},
                        {.iov_base = z, .iov_len = 0}};
    cio_prep_readv(&t.op, pfd, in2, 3, CIO_OFFSET_CURRENT);
    CHECK_EQ(fs_do(loop, &t), 101);
    CHECK(memcmp(x, a, 7) == 0);
    CHECK(memcmp(y, a + 7, 93) == 0);
    CHECK_EQ(y[93], b[0]);
    CHECK_POS(pfd, 4212);
    cio_prep_read(&t.op, pfd, &end, 1, CIO_OFFSET_CURRENT); /* the next byte: c[0] at 4212 */
    CHECK_EQ(fs_do(loop, &t), 1);
    CHECK_EQ(end, c[0]);
    CHECK_EQ(t_close_handle(pfd), 0);

    /* At the end: 0. */
    cio_prep_readv(&t.op, fd, in, 3, 8212);
    CHECK_EQ(fs_do(loop, &t), 0);

    /* Errors: wrong direction, closed handle. */
    cio_fd rofd = open_scratch(dir, "vectored", O_RDONLY);
    cio_prep_writev(&t.op, rofd, out, 3, 0);
    CHECK_EQ(fs_do(loop, &t), -CIO_EBADF);
    cio_fd wofd = open_scratch(dir, "vectored", O_WRONLY);
    cio_prep_readv(&t.op, wofd, in, 3, 0);
    CHECK_EQ(fs_do(loop, &t), -CIO_EBADF);
    cio_fd dead = t_closed_handle();
    cio_prep_readv(&t.op, dead, in, 3, 0);
    CHECK_EQ(fs_do(loop, &t), -CIO_EBADF);
    cio_prep_writev(&t.op, dead, out, 3, 0);
    CHECK_EQ(fs_do(loop, &t), -CIO_EBADF);
    CHECK_EQ(t_close_handle(wofd), 0);
    CHECK_EQ(t_close_handle(rofd), 0);
    CHECK_EQ(t_close_handle(fd), 0);
}

#if T_LINUX_EXTRAS
static void test_splice(cio_loop *loop, const char *dir) {
    cio_fd fd = open_scratch(dir, "splice_src", O_RDWR | O_CREAT | O_TRUNC);
    unsigned char data[8192], got[8192];
    fill(data, sizeof data, 6);
    fs_write_all(fd, data, sizeof data, 0);
    cio_fd p[2];
    CHECK_EQ(t_pipe(p), 0);
    t_op t;

    /* File at an offset into the pipe. */
    cio_prep_splice(&t.op, fd, 1000, p[1], CIO_OFFSET_CURRENT, 5000, 0);
    CHECK_EQ(fs_do(loop, &t), 5000);
    CHECK_EQ(t_sys_read(p[0], got, sizeof got), 5000);
    CHECK(memcmp(got, data + 1000, 5000) == 0);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 0);

    /* File at its position into the pipe: the position moves. */
    CHECK_EQ(lseek(fd, 8000, SEEK_SET), 8000);
    cio_prep_splice(&t.op, fd, CIO_OFFSET_CURRENT, p[1], CIO_OFFSET_CURRENT, 1000, 0);
    CHECK_EQ(fs_do(loop, &t), 192);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 8192);
    CHECK_EQ(t_sys_read(p[0], got, sizeof got), 192);
    CHECK(memcmp(got, data + 8000, 192) == 0);

    /* Pipe into a file at an offset. */
    cio_fd dst = open_scratch(dir, "splice_dst", O_RDWR | O_CREAT | O_TRUNC);
    CHECK_EQ(t_sys_write(p[1], data, 3000), 3000);
    cio_prep_splice(&t.op, p[0], CIO_OFFSET_CURRENT, dst, 100, 3000, 0);
    CHECK_EQ(fs_do(loop, &t), 3000);
    memset(got, 0xEE, sizeof got);
    CHECK_EQ(t_sys_pread(dst, got, sizeof got, 0), 3100);
    for (int i = 0; i < 100; i++) CHECK_EQ(got[i], 0);
    CHECK(memcmp(got + 100, data, 3000) == 0);

    /* Pipe into a file at its position, asking for more than the pipe holds. */
    CHECK_EQ(lseek(dst, 0, SEEK_END), 3100);
    CHECK_EQ(t_sys_write(p[1], data + 3000, 700), 700);
    cio_prep_splice(&t.op, p[0], CIO_OFFSET_CURRENT, dst, CIO_OFFSET_CURRENT, 4096, 0);
    CHECK_EQ(fs_do(loop, &t), 700);
    CHECK_EQ(lseek(dst, 0, SEEK_CUR), 3800);
    CHECK_EQ(t_sys_pread(dst, got, 700, 3100), 700);
    CHECK(memcmp(got, data + 3000, 700) == 0);

    /* Errors: no pipe on either side, an offset on the pipe side, a closed
     * handle, a negative one (refused at submission). */
    cio_prep_splice(&t.op, fd, 0, dst, 0, 100, 0);
    CHECK_EQ(fs_do(loop, &t), -CIO_EINVAL);
    CHECK_EQ(t_sys_write(p[1], "xyz", 3), 3);
    cio_prep_splice(&t.op, p[0], 0, dst, 0, 3, 0);
    CHECK_EQ(fs_do(loop, &t), -CIO_ESPIPE);
    int dead = fs_closed_fd();
    cio_prep_splice(&t.op, dead, 0, p[1], CIO_OFFSET_CURRENT, 100, 0);
    CHECK_EQ(fs_do(loop, &t), -CIO_EBADF);
    cio_prep_splice(&t.op, fd, 0, -1, CIO_OFFSET_CURRENT, 100, 0);
    t_arm(&t);
    CHECK_EQ(cio_submit(loop, &t.op), -CIO_EBADF);
    CHECK_EQ(cio_loop_active(loop), 0);

    /* The failed splices left the pipe's bytes where they were. */
    CHECK_EQ(t_sys_read(p[0], got, sizeof got), 3);
    CHECK(memcmp(got, "xyz", 3) == 0);
    t_close_handle(p[0]);
    t_close_handle(p[1]);
    CHECK_EQ(t_close_handle(dst), 0);
    CHECK_EQ(t_close_handle(fd), 0);
}
#endif

/* Turns the loop without blocking a few times, so that queued ops reach the
 * kernel and whatever can finish does. */
static void settle(cio_loop *loop) {
    for (int i = 0; i < 3; i++) CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
}

/* The pipe still works, and the cancelled read did not eat its bytes. */
static void check_pipe_intact(cio_fd p[2]) {
    char c = 0;
    CHECK_EQ(t_sys_write(p[1], "Q", 1), 1);
    CHECK_EQ(t_sys_read(p[0], &c, 1), 1);
    CHECK_EQ(c, 'Q');
}

static void test_cancel_pending(cio_loop *loop) {
    cio_fd p[2];
    CHECK_EQ(t_pipe(p), 0);
    char buf[16];
    t_op rd, cancel;

    /* With a CIO_OP_CANCEL op: both complete, each once. */
    cio_prep_read(&rd.op, p[0], buf, sizeof buf, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(loop, &rd.op), 0);
    settle(loop);
    CHECK_EQ(rd.finals, 0);
    CHECK_EQ(cio_loop_active(loop), 1);
    cio_prep_cancel(&cancel.op, &rd.op);
    t_arm(&cancel);
    CHECK_EQ(cio_submit(loop, &cancel.op), 0);
    t_run(loop, 10.0);
    CHECK_EQ(cancel.finals, 1);
    CHECK_EQ(cancel.res, 0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
    check_pipe_intact(p);

    /* The read may be re-armed from scratch and cancelled again, this time
     * by cio_cancel(), which has no completion of its own. */
    cio_prep_read(&rd.op, p[0], buf, sizeof buf, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(loop, &rd.op), 0);
    settle(loop);
    CHECK_EQ(rd.finals, 0);
    CHECK_EQ(cio_cancel(loop, &rd.op), 0);
    t_run(loop, 10.0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
    /* Once completed it is no longer in flight. */
    CHECK_EQ(cio_cancel(loop, &rd.op), -CIO_ENOENT);
    check_pipe_intact(p);

    /* Cancelled in the same turn it was submitted, before the kernel saw it. */
    cio_prep_read(&rd.op, p[0], buf, sizeof buf, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(loop, &rd.op), 0);
    cio_prep_cancel(&cancel.op, &rd.op);
    t_arm(&cancel);
    CHECK_EQ(cio_submit(loop, &cancel.op), 0);
    t_run(loop, 10.0);
    CHECK_EQ(cancel.finals, 1);
    CHECK_EQ(cancel.res, 0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
    check_pipe_intact(p);

    t_close_handle(p[0]);
    t_close_handle(p[1]);
}

static void test_cancel_completed(cio_loop *loop) {
    cio_fd p[2];
    CHECK_EQ(t_pipe(p), 0);
    char buf[16];
    t_op rd, cancel;

    /* The read finds data at once: by the time the cancel (queued right
     * behind it) runs, it is done. The cancel reports -ENOENT and the read
     * keeps its real result. */
    CHECK_EQ(t_sys_write(p[1], "hello", 5), 5);
    memset(buf, 0, sizeof buf);
    cio_prep_read(&rd.op, p[0], buf, sizeof buf, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(loop, &rd.op), 0);
    cio_prep_cancel(&cancel.op, &rd.op);
    t_arm(&cancel);
    CHECK_EQ(cio_submit(loop, &cancel.op), 0);
    t_run(loop, 10.0);
    CHECK_EQ(cancel.finals, 1);
    CHECK_EQ(cancel.res, -CIO_ENOENT);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, 5);
    CHECK(memcmp(buf, "hello", 5) == 0);

    /* The same with cio_cancel() right behind the submission: the request
     * is made (the read is still in flight as far as the loop knows), and
     * the read keeps its real result. */
    CHECK_EQ(t_sys_write(p[1], "world", 5), 5);
    memset(buf, 0, sizeof buf);
    cio_prep_read(&rd.op, p[0], buf, sizeof buf, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(loop, &rd.op), 0);
    /* io_uring has not run it yet (0); a readiness backend read it at once
     * and already knows the result (-CIO_ENOENT). */
    int cr = cio_cancel(loop, &rd.op);
    CHECK(cr == 0 || cr == -CIO_ENOENT);
    t_run(loop, 10.0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, 5);
    CHECK(memcmp(buf, "world", 5) == 0);

    /* After the final completion the op is idle: the cancel is refused at
     * submission and never completes; the read is not completed again. */
    cio_prep_cancel(&cancel.op, &rd.op);
    t_arm(&cancel);
    CHECK_EQ(cio_submit(loop, &cancel.op), -CIO_ENOENT);
    CHECK_EQ(cio_cancel(loop, &rd.op), -CIO_ENOENT);
    t_run(loop, 10.0);
    CHECK_EQ(cancel.finals, 0);
    CHECK_EQ(rd.finals, 1);
    t_close_handle(p[0]);
    t_close_handle(p[1]);
}

static void test_link_chain(cio_loop *loop, const char *dir) {
    cio_fd fd = open_scratch(dir, "chain", O_RDWR | O_CREAT | O_TRUNC);
    unsigned char out[4096], in[4096];
    fill(out, sizeof out, 7);
    memset(in, 0, sizeof in);
    t_op w, s, r;

    /* The read would find an empty file if it ran before the write. */
    cio_prep_write(&w.op, fd, out, sizeof out, 0);
    t_arm(&w);
    w.op.flags = CIO_F_LINK;
    cio_prep_fsync(&s.op, fd, 0);
    t_arm(&s);
    s.op.flags = CIO_F_LINK;
    cio_prep_read(&r.op, fd, in, sizeof in, 0);
    t_arm(&r);
    cio_op *chain[3] = {&w.op, &s.op, &r.op};
    CHECK_EQ(cio_submit_batch(loop, chain, 3), 0);
    CHECK_EQ(cio_loop_active(loop), 3);
    t_run(loop, 10.0);
    CHECK_EQ(w.finals, 1);
    CHECK_EQ(s.finals, 1);
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(w.res, 4096);
    CHECK_EQ(s.res, 0);
    CHECK_EQ(r.res, 4096);
    CHECK(w.order < s.order && s.order < r.order);
    CHECK(memcmp(in, out, sizeof in) == 0);

    /* The head fails: everything after it is cancelled, in order, once. */
    cio_fd dead = t_closed_handle();
    cio_prep_read(&r.op, dead, in, sizeof in, 0);
    t_arm(&r);
    r.op.flags = CIO_F_LINK;
    cio_prep_fsync(&s.op, fd, CIO_FSYNC_DATASYNC);
    t_arm(&s);
    s.op.flags = CIO_F_LINK;
    cio_prep_write(&w.op, fd, "Z", 1, 0);
    t_arm(&w);
    cio_op *bad_chain[3] = {&r.op, &s.op, &w.op};
    CHECK_EQ(cio_submit_batch(loop, bad_chain, 3), 0);
    t_run(loop, 10.0);
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(s.finals, 1);
    CHECK_EQ(w.finals, 1);
    CHECK_EQ(r.res, -CIO_EBADF);
    CHECK_EQ(s.res, -CIO_ECANCELED);
    CHECK_EQ(w.res, -CIO_ECANCELED);
    CHECK(r.order < s.order && s.order < w.order);
    unsigned char first = 0;
    CHECK_EQ(t_sys_pread(fd, &first, 1, 0), 1);
    CHECK_EQ(first, out[0]); /* the cancelled write did not happen */

    /* A short read breaks a soft link as an error does. */
    cio_prep_read(&r.op, fd, in, sizeof in, 4000);
    t_arm(&r);
    r.op.flags = CIO_F_LINK;
    cio_prep_write(&w.op, fd, "Z", 1, 0);
    t_arm(&w);
    cio_op *short_chain[2] = {&r.op, &w.op};
    CHECK_EQ(cio_submit_batch(loop, short_chain, 2), 0);
    t_run(loop, 10.0);
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(w.finals, 1);
    CHECK_EQ(r.res, 96);
    CHECK_EQ(w.res, -CIO_ECANCELED);
    CHECK_EQ(t_sys_pread(fd, &first, 1, 0), 1);
    CHECK_EQ(first, out[0]);

    /* A hard link goes on after the failure. */
    cio_prep_read(&r.op, dead, in, sizeof in, 0);
    t_arm(&r);
    r.op.flags = CIO_F_HARDLINK;
    cio_prep_write(&w.op, fd, "Z", 1, 0);
    t_arm(&w);
    cio_op *hard_chain[2] = {&r.op, &w.op};
    CHECK_EQ(cio_submit_batch(loop, hard_chain, 2), 0);
    t_run(loop, 10.0);
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(w.finals, 1);
    CHECK_EQ(r.res, -CIO_EBADF);
    CHECK_EQ(w.res, 1);
    CHECK_EQ(t_sys_pread(fd, &first, 1, 0), 1);
    CHECK_EQ(first, 'Z');

    /* CIO_F_LINK is for batches only. */
    cio_prep_fsync(&s.op, fd, 0);
    t_arm(&s);
    s.op.flags = CIO_F_LINK;
    CHECK_EQ(cio_submit(loop, &s.op), -CIO_EINVAL);
    CHECK_EQ(cio_loop_active(loop), 0);
    CHECK_EQ(t_close_handle(fd), 0);
}

int main(void) {
    const char *dir = fs_mkdtemp();
    /* An op whose completion never comes would leave the loop asleep for
     * good (IOCP: a write on a reused handle value that cio took for the
     * old one, which is on no port), past t_run's own limit. */
    t_alarm(120, "file_rw: an op never completed");
    cio_loop loop;
    t_loop_init(&loop, 64);

    test_rw_offset(&loop, dir);
    test_rw_current(&loop, dir);
    test_rw_errors(&loop, dir);
    test_null_buffer(&loop, dir);
    test_vectored(&loop, dir);
#if !T_LINUX_EXTRAS
    /* splice is Linux's; elsewhere it is refused at submission, with real
     * handles, and never completes. */
    cio_fd sp_pipe[2];
    CHECK_EQ(t_pipe(sp_pipe), 0);
    t_op sp;
    cio_prep_splice(&sp.op, sp_pipe[0], CIO_OFFSET_CURRENT, sp_pipe[1], CIO_OFFSET_CURRENT, 1, 0);
    t_arm(&sp);
    CHECK_EQ(cio_submit(&loop, &sp.op), -CIO_ENOTSUP);
    CHECK_EQ(cio_loop_active(&loop), 0);
    CHECK_EQ(sp.finals, 0);
    t_close_handle(sp_pipe[0]);
    t_close_handle(sp_pipe[1]);
    T_SKIP_CASE_ON_WINDOWS("splice", "splice is Linux's: refused with -CIO_ENOTSUP at submission (checked)");
#else
    test_splice(&loop, dir);
#endif
    test_cancel_pending(&loop);
    test_cancel_completed(&loop);
    test_link_chain(&loop, dir);

    cio_stats st;
    cio_loop_stats(&loop, &st);
    CHECK_EQ(st.ops_submitted, st.ops_completed);
    CHECK_EQ(cio_loop_active(&loop), 0);
    t_close(&loop);
    printf("file_rw: ok (%" PRIu64 " ops)\n", st.ops_completed);
    return 0;
}
