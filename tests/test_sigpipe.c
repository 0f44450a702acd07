/* No op raises SIGPIPE: a write op on a socket whose peer is gone, or on a
 * pipe whose reader is gone, fails with -CIO_EPIPE on every backend (cio
 * ignores SIGPIPE when the program left it at its default). A handler the
 * program installed itself is kept.
 *
 * CIO_TEST_PORTABLE: Windows has no SIGPIPE; there the pipe case runs (a
 * write to a pipe whose reader is gone: -CIO_EPIPE); the socket case needs
 * a local socket pair that breaks at once, which t_socketpair's loopback
 * TCP is not (its first write after the peer's close still succeeds). */
#include "test.h"

#if !defined(_WIN32)
#include <sys/socket.h>
#endif

static void expect_epipe(cio_loop *loop, cio_fd fd) {
    t_op w;
    static const char data[] = "into the void";
    cio_prep_write(&w.op, fd, data, sizeof data, CIO_OFFSET_CURRENT);
    t_arm(&w);
    CHECK_EQ(cio_submit(loop, &w.op), 0);
    t_run(loop, 5);
    CHECK_EQ(w.finals, 1);
    CHECK_EQ(w.res, -CIO_EPIPE);
}

#if !defined(_WIN32)
static volatile sig_atomic_t handled;
static void on_sigpipe(int sig) {
    (void)sig;
    handled++;
}
#endif

int main(void) {
#if !defined(_WIN32)
    signal(SIGPIPE, SIG_DFL);
#endif
    cio_loop loop;
    t_loop_init(&loop, 16);

    if (!T_SKIP_CASE_ON_WINDOWS("socket", "t_socketpair is loopback TCP there: the first write after the "
                                          "peer's close succeeds, as on Linux TCP")) {
        cio_fd sv[2];
        CHECK_EQ(t_socketpair(sv), 0);
        CHECK_EQ(t_close_handle(sv[1]), 0);
        expect_epipe(&loop, sv[0]);
        CHECK_EQ(t_close_handle(sv[0]), 0);
    }

    cio_fd p[2];
    CHECK_EQ(t_pipe(p), 0);
    CHECK_EQ(t_close_handle(p[0]), 0);
    expect_epipe(&loop, p[1]);
    CHECK_EQ(t_close_handle(p[1]), 0);
    t_close(&loop);

#if defined(_WIN32)
    T_SKIP_CASE_ON_WINDOWS("own_handler", "no SIGPIPE on Windows");
#else
    /* The program's own handler stays. */
    struct sigaction sa = {0};
    sa.sa_handler = on_sigpipe;
    CHECK_EQ(sigaction(SIGPIPE, &sa, NULL), 0);
    t_loop_init(&loop, 16);
    struct sigaction now;
    CHECK_EQ(sigaction(SIGPIPE, NULL, &now), 0);
    CHECK(now.sa_handler == on_sigpipe);
    t_close(&loop);
#endif
    printf("sigpipe: ok\n");
    return 0;
}
