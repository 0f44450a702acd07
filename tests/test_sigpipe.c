/* No op raises SIGPIPE: a write op on a socket whose peer is gone, or on a
 * pipe whose reader is gone, fails with -CIO_EPIPE on every backend (cio
 * ignores SIGPIPE when the program left it at its default). A handler the
 * program installed itself is kept. */
#include "test.h"

#include <sys/socket.h>

static void expect_epipe(cio_loop *loop, int fd) {
    t_op w;
    static const char data[] = "into the void";
    cio_prep_write(&w.op, fd, data, sizeof data, CIO_OFFSET_CURRENT);
    t_arm(&w);
    CHECK_EQ(cio_submit(loop, &w.op), 0);
    t_run(loop, 5);
    CHECK_EQ(w.finals, 1);
    CHECK_EQ(w.res, -CIO_EPIPE);
}

static volatile sig_atomic_t handled;
static void on_sigpipe(int sig) {
    (void)sig;
    handled++;
}

int main(void) {
    signal(SIGPIPE, SIG_DFL);
    cio_loop loop;
    t_loop_init(&loop, 16);

    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    expect_epipe(&loop, sv[0]);
    close(sv[0]);

    int p[2];
    CHECK_EQ(pipe(p), 0);
    close(p[0]);
    expect_epipe(&loop, p[1]);
    close(p[1]);
    t_close(&loop);

    /* The program's own handler stays. */
    struct sigaction sa = {0};
    sa.sa_handler = on_sigpipe;
    CHECK_EQ(sigaction(SIGPIPE, &sa, NULL), 0);
    t_loop_init(&loop, 16);
    struct sigaction now;
    CHECK_EQ(sigaction(SIGPIPE, NULL, &now), 0);
    CHECK(now.sa_handler == on_sigpipe);
    t_close(&loop);
    printf("sigpipe: ok\n");
    return 0;
}
