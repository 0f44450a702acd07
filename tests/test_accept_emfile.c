/* An accept that runs out of descriptors does not make a server spin.
 * With the process at its descriptor limit and a connection queued, a
 * server that re-submits its accept on every error (single-shot), or whose
 * multishot accept reports -CIO_EMFILE, sees at most a few errors per
 * second (each accept is held back CIO_ACCEPT_BACKOFF_NS), not thousands;
 * once a descriptor is freed the queued connection is accepted and works.
 * Oracles: CLOCK_MONOTONIC for the window, completion counts, bytes sent by
 * a peer using plain syscalls.
 * CIO_TEST_NOT_ON_WINDOWS: it needs the process at its descriptor limit (setrlimit RLIMIT_NOFILE); Windows has no per-process handle limit to reach */
#include "net.h"

#include <sys/resource.h>

static int listen_fd;
static net_addr addr;
static int errors, accepted_fd = -1, finals;
static t_op acc;

static void on_accept(cio_loop *loop, cio_op *op) {
    if (op->res >= 0) {
        accepted_fd = op->res;
        if (!(op->flags & CIO_F_MORE)) finals++;
        return;
    }
    if (op->flags & CIO_F_MORE) {
        CHECK(op->res == -CIO_EMFILE || op->res == -CIO_ENFILE);
        errors++;
        return;
    }
    finals++;
    if (op->res == -CIO_ECANCELED) return;
    CHECK(op->res == -CIO_EMFILE || op->res == -CIO_ENFILE);
    errors++;
    /* The natural server: try again at once. */
    CHECK_EQ(cio_submit(loop, op), 0);
    finals--;
}

/* Occupies every descriptor below the soft limit; returns how many. */
static int fill_fds(int *fills, int max) {
    int n = 0;
    while (n < max) {
        int fd = dup(0);
        if (fd < 0) break;
        fills[n++] = fd;
    }
    return n;
}

static void run_case(bool multishot) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    errors = 0;
    finals = 0;
    accepted_fd = -1;
    int peer = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(peer >= 0);

    struct rlimit old;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    struct rlimit low = old;
    low.rlim_cur = (rlim_t)(peer + 48);
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    static int fills[64];
    int nfill = fill_fds(fills, 64);
    CHECK(nfill > 0 && nfill < 64);

    /* A connection waits in the backlog; accepting it needs a descriptor. */
    CHECK_EQ(connect(peer, net_sa(&addr), addr.len), 0);

    cio_prep_accept(&acc.op, listen_fd, NULL, NULL, SOCK_CLOEXEC);
    t_arm(&acc);
    acc.op.cb = on_accept;
    if (multishot) acc.op.flags |= CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(&loop, &acc.op), 0);

    double end = t_seconds() + 1.0;
    while (t_seconds() < end) CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
    /* A spinning server makes thousands of attempts a second. */
    if (errors < 1 || errors > 40) {
        fprintf(stderr, "%s accept: %d errors in 1 s\n", multishot ? "multishot" : "single", errors);
        exit(1);
    }
    CHECK_EQ(accepted_fd, -1);

    /* Free descriptors: the queued connection gets through. */
    for (int i = 0; i < nfill; i++) close(fills[i]);
    end = t_seconds() + 5;
    while (accepted_fd < 0 && t_seconds() < end) CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
    CHECK(accepted_fd >= 0);
    CHECK_EQ(send(peer, "hi", 2, 0), 2);
    char buf[2];
    t_op rd;
    cio_prep_recv(&rd.op, accepted_fd, buf, 2, MSG_WAITALL);
    t_arm(&rd);
    CHECK_EQ(cio_submit(&loop, &rd.op), 0);
    if (multishot) CHECK_EQ(cio_cancel(&loop, &acc.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(rd.res, 2);
    CHECK(memcmp(buf, "hi", 2) == 0);
    CHECK_EQ(finals, 1);
    CHECK_EQ(cio_loop_active(&loop), 0);
    t_close(&loop);
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
    close(accepted_fd);
    close(peer);
}

int main(void) {
    t_watchdog();
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(listen_fd >= 0);
    net_loopback(&addr, AF_INET, 0);
    CHECK_EQ(bind(listen_fd, net_sa(&addr), addr.len), 0);
    CHECK_EQ(listen(listen_fd, 16), 0);
    addr.len = sizeof addr.ss;
    CHECK_EQ(getsockname(listen_fd, (struct sockaddr *)&addr.ss, &addr.len), 0);
    run_case(false);
    run_case(true);
    close(listen_fd);
    printf("accept_emfile: ok\n");
    return 0;
}
