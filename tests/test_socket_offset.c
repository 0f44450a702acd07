/* op.h: on a handle with no position (socket, pipe) the offset of a read,
 * write, readv or writev is ignored. So a read at offset 5 of a socket
 * reads what the peer wrote, and a write at offset 5 sends its bytes; the
 * peer uses plain read() and write(). Also with a deadline on the op, and
 * with the data arriving only after the op waits.
 * CIO_TEST_PORTABLE: on Windows the socket pair is loopback TCP and the
 * pipes are overlapped named pipes (port.h). */
#include "test.h"

static const uint64_t ms = 1000000;

static int32_t run_op(cio_loop *loop, t_op *t) {
    t_arm(t);
    CHECK_EQ(cio_submit(loop, &t->op), 0);
    t_run(loop, 10);
    CHECK_EQ(t->finals, 1);
    return t->res;
}

/* Bounded: the peer's socket has 5 s receive timeouts (main). */
static void peer_read(cio_fd fd, const char *want, size_t n) {
    char buf[64];
    size_t got = 0;
    while (got < n) {
        long long r = t_sys_read(fd, buf + got, sizeof buf - got);
        CHECK(r > 0);
        got += (size_t)r;
    }
    CHECK_EQ(got, n);
    CHECK(memcmp(buf, want, n) == 0);
}

/* One handle pair: `a` is cio's end, `b` the peer's. */
static void check_pair(cio_loop *loop, cio_fd a, cio_fd b, const char *what) {
    static const uint64_t offsets[] = {5, 0, 4096, (uint64_t)1 << 40};
    for (unsigned k = 0; k < sizeof offsets / sizeof *offsets; k++) {
        uint64_t off = offsets[k];
        for (int dl = 0; dl < 2; dl++) {
            uint64_t deadline = dl ? cio_now(loop) + 10000 * ms : 0;
            t_op t;
            char buf[16];
            /* write, then writev */
            cio_prep_write(&t.op, a, "hello", 5, off);
            t.op.deadline = deadline;
            if (run_op(loop, &t) != 5)
                fprintf(stderr, "%s: write at %llu: %d\n", what, (unsigned long long)off, t.res);
            CHECK_EQ(t.res, 5);
            peer_read(b, "hello", 5);
            cio_iovec iov[2] = {{.iov_base = (void *)"ab", .iov_len = 2},
                                {.iov_base = (void *)"cde", .iov_len = 3}};
            cio_prep_writev(&t.op, a, iov, 2, off);
            t.op.deadline = deadline;
            CHECK_EQ(run_op(loop, &t), 5);
            peer_read(b, "abcde", 5);
            /* read with the data there already */
            CHECK_EQ(t_sys_write(b, "world", 5), 5);
            cio_prep_read(&t.op, a, buf, sizeof buf, off);
            t.op.deadline = deadline;
            if (run_op(loop, &t) != 5)
                fprintf(stderr, "%s: read at %llu: %d\n", what, (unsigned long long)off, t.res);
            CHECK_EQ(t.res, 5);
            CHECK(memcmp(buf, "world", 5) == 0);
            /* readv that waits for the data */
            char x[2], y[8];
            cio_iovec riov[2] = {{.iov_base = x, .iov_len = 2}, {.iov_base = y, .iov_len = 8}};
            cio_prep_readv(&t.op, a, riov, 2, off);
            t.op.deadline = deadline;
            t_arm(&t);
            CHECK_EQ(cio_submit(loop, &t.op), 0);
            CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
            CHECK_EQ(t.finals, 0);
            CHECK_EQ(t_sys_write(b, "12345", 5), 5);
            t_run(loop, 10);
            CHECK_EQ(t.res, 5);
            CHECK(memcmp(x, "12", 2) == 0 && memcmp(y, "345", 3) == 0);
        }
    }
}

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 16);
    cio_fd sv[2];
    CHECK_EQ(t_socketpair(sv), 0);
    CHECK_EQ(t_sock_timeouts(sv[1], 5000), 0);
    check_pair(&loop, sv[0], sv[1], "socket");
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);
    /* The same over a pipe pair in each direction. */
    cio_fd p[2], q[2];
    CHECK_EQ(t_pipe(p), 0);
    CHECK_EQ(t_pipe(q), 0);
    t_op t;
    char buf[8];
    cio_prep_write(&t.op, p[1], "pipe", 4, 5);
    CHECK_EQ(run_op(&loop, &t), 4);
    CHECK_EQ(t_sys_read(p[0], buf, sizeof buf), 4);
    CHECK_EQ(t_sys_write(q[1], "pipe", 4), 4);
    cio_prep_read(&t.op, q[0], buf, sizeof buf, 5);
    CHECK_EQ(run_op(&loop, &t), 4);
    CHECK(memcmp(buf, "pipe", 4) == 0);
    CHECK_EQ(t_close_handle(p[0]), 0);
    CHECK_EQ(t_close_handle(p[1]), 0);
    CHECK_EQ(t_close_handle(q[0]), 0);
    CHECK_EQ(t_close_handle(q[1]), 0);
    t_close(&loop);
    puts("socket_offset: ok");
    return 0;
}
