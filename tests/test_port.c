/*
 * The tests' portability layer itself (tests/port.h), on every platform:
 * what the other tests take as ground truth must hold first. No cio loop
 * here (CIO_TEST_ONCE: it runs once, not per backend). CIO_TEST_PORTABLE.
 *
 * Pipes: bytes through in order, EOF once the writer is gone, -CIO_EPIPE
 * for a writer whose reader is gone, -CIO_EAGAIN from a nonblocking read of
 * an empty pipe. The same for the socket pair (EOF after the peer's close,
 * EAGAIN when nonblocking). Threads return their result through join. The
 * clock moves at least as far as a sleep. The scratch directory takes a
 * file that reads back at its offsets.
 */
#include "test.h"

static void check_stream(cio_fd rd, cio_fd wr, int is_pipe) {
    char buf[64];
    CHECK_EQ(t_sys_write(wr, "hello", 5), 5);
    CHECK_EQ(t_sys_write(wr, " world", 6), 6);
    size_t got = 0;
    for (int i = 0; i < 100 && got < 11; i++) {
        long long n = t_sys_read(rd, buf + got, sizeof buf - got);
        CHECK(n > 0);
        got += (size_t)n;
    }
    CHECK_EQ(got, 11);
    CHECK(memcmp(buf, "hello world", 11) == 0);

    /* Nonblocking and empty: -CIO_EAGAIN, and the data after a write still arrives. */
    CHECK_EQ(t_set_nonblock(rd, 1), 0);
    CHECK_EQ(t_sys_read(rd, buf, sizeof buf), -CIO_EAGAIN);
    CHECK_EQ(t_set_nonblock(rd, 0), 0);
    CHECK_EQ(t_is_socket(rd), !is_pipe);

    CHECK_EQ(t_close_handle(wr), 0);
    CHECK_EQ(t_sys_read(rd, buf, sizeof buf), 0); /* end of stream */
    CHECK_EQ(t_close_handle(rd), 0);
}

static void check_epipe(cio_fd p[2]) {
    CHECK_EQ(t_close_handle(p[0]), 0);
    CHECK_EQ(t_sys_write(p[1], "x", 1), -CIO_EPIPE);
    CHECK_EQ(t_close_handle(p[1]), 0);
}

static void *thread_main(void *arg) {
    int *v = arg;
    *v += 1;
    return (void *)(uintptr_t)0x5eed;
}

int main(void) {
    t_ignore_sigpipe();
    t_alarm(60, "test_port hung");

    cio_fd p[2];
    CHECK_EQ(t_pipe(p), 0);
    check_stream(p[0], p[1], 1);
    CHECK_EQ(t_pipe(p), 0);
    check_epipe(p);
    CHECK_EQ(t_pipe_sync(p), 0);
    char c = 0;
    CHECK_EQ(t_sys_write(p[1], "s", 1), 1);
    CHECK_EQ(t_sys_read(p[0], &c, 1), 1);
    CHECK_EQ(c, 's');
    CHECK_EQ(t_close_handle(p[1]), 0);
    CHECK_EQ(t_sys_read(p[0], &c, 1), 0);
    CHECK_EQ(t_close_handle(p[0]), 0);

    cio_fd sv[2];
    CHECK_EQ(t_socketpair(sv), 0);
    check_stream(sv[0], sv[1], 0);
    CHECK_EQ(t_socketpair(sv), 0);
    /* Both directions. */
    CHECK_EQ(t_sys_send(sv[1], "ab", 2, MSG_NOSIGNAL), 2);
    char b2[2];
    CHECK_EQ(t_sys_recv(sv[0], b2, 2, MSG_WAITALL), 2);
    CHECK(b2[0] == 'a' && b2[1] == 'b');
    CHECK_EQ(t_sys_send(sv[0], "c", 1, MSG_NOSIGNAL), 1);
    CHECK_EQ(t_sys_recv(sv[1], b2, 1, 0), 1);
    CHECK_EQ(b2[0], 'c');
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);

    t_thread th;
    int v = 41;
    void *ret = NULL;
    CHECK_EQ(t_thread_start(&th, thread_main, &v), 0);
    CHECK_EQ(t_thread_join(&th, &ret), 0);
    CHECK_EQ(v, 42);
    CHECK_EQ((uintptr_t)ret, 0x5eed);

    uint64_t t0 = t_now_ns();
    t_sleep_ms(50);
    uint64_t t1 = t_now_ns();
    CHECK(t1 - t0 >= 45u * 1000 * 1000);

    char path[512];
    snprintf(path, sizeof path, "%s/%s", t_tmpdir(), "f");
    cio_fd f = t_sys_open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(f != T_FD_NONE);
    CHECK_EQ(t_sys_pwrite(f, "0123456789", 10, 0), 10);
    CHECK_EQ(t_sys_pwrite(f, "xy", 2, 20), 2);
    char fb[8];
    CHECK_EQ(t_sys_pread(f, fb, 4, 3), 4);
    CHECK(memcmp(fb, "3456", 4) == 0);
    CHECK_EQ(t_sys_pread(f, fb, 8, 20), 2);
    CHECK_EQ(t_sys_pread(f, fb, 8, 100), 0);
    CHECK_EQ(t_close_handle(f), 0);
    CHECK_EQ(t_sys_file_size(path), 22);
    CHECK(t_sys_file_size("/nonexistent/cio/x") < 0);
    /* The leak oracle sees two more handles while a pair is open, and as many as before after. */
    int before = t_handle_count();
    CHECK(before > 0);
    CHECK_EQ(t_socketpair(sv), 0);
    CHECK(t_handle_count() >= before + 2);
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);
    CHECK_EQ(t_handle_count(), before);
    printf("port: ok\n");
    return 0;
}
