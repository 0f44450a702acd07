/*
 * The program raises its descriptor limit after cio_loop_init (issue 7,
 * bug 4). The readiness backends size their handle table from the soft
 * limit at init and grow it when an op names a higher descriptor; when that
 * happens inside a callback, while one wait's events are being dispatched,
 * nothing may still point into the old table. Also: more handles watched at
 * once than the limit at init allowed.
 *
 * Oracles: the bytes a peer wrote with plain write(2), and completion
 * counts (every op exactly once, also after loop close).
 * CIO_TEST_NOT_ON_WINDOWS: RLIMIT_NOFILE and the readiness backends' descriptor table: Windows has neither
 */
#include "test.h"

#include <sys/resource.h>
#include <sys/socket.h>

#define LOW_LIMIT 256
#define NPAIR 8
#define HIGH_FD 4000
#define NWIDE 300

static int pairs[NPAIR][2];
static char got[NPAIR][2];
static t_op rx[NPAIR][2], px[NPAIR];
static int high_pair[2] = {-1, -1};
static char high_got;
static t_op high_rx;
static int grown;

/* The first receive to complete grows the table: a receive on a descriptor
 * far above the table's size at init, which has data already. */
static void rx_cb(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    if (grown) return;
    grown = 1;
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_EQ(dup2(sv[0], HIGH_FD), HIGH_FD);
    close(sv[0]);
    high_pair[0] = HIGH_FD;
    high_pair[1] = sv[1];
    CHECK_EQ(write(sv[1], "h", 1), 1);
    cio_prep_recv(&high_rx.op, HIGH_FD, &high_got, 1, 0);
    t_arm(&high_rx);
    CHECK_EQ(cio_submit(loop, &high_rx.op), 0);
}

static void grow_in_callback(void) {
    cio_loop loop;
    t_loop_init(&loop, 256);
    struct rlimit rl;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = rl.rlim_max > 8192 ? 8192 : rl.rlim_max;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);

    /* Two receives and a poll wait on each pair, so that the dispatch of one
     * handle runs callbacks and then goes on with that handle. */
    for (int i = 0; i < NPAIR; i++) {
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[i]), 0);
        CHECK(pairs[i][1] < LOW_LIMIT);
        for (int j = 0; j < 2; j++) {
            cio_prep_recv(&rx[i][j].op, pairs[i][0], &got[i][j], 1, 0);
            t_arm(&rx[i][j]);
            rx[i][j].op.cb = rx_cb;
            CHECK_EQ(cio_submit(&loop, &rx[i][j].op), 0);
        }
        cio_prep_poll(&px[i].op, pairs[i][0], CIO_POLLIN);
        t_arm(&px[i]);
        CHECK_EQ(cio_submit(&loop, &px[i].op), 0);
    }
    /* The third byte stays, so that the poll is due on every backend. */
    for (int i = 0; i < NPAIR; i++) CHECK_EQ(write(pairs[i][1], "abc", 3), 3);
    t_run(&loop, 10);
    CHECK(grown);
    CHECK_EQ(high_rx.finals, 1);
    CHECK_EQ(high_rx.res, 1);
    CHECK_EQ(high_got, 'h');
    t_close(&loop);
    /* After the close too: an op left behind in the table would end again. */
    for (int i = 0; i < NPAIR; i++) {
        for (int j = 0; j < 2; j++) {
            CHECK_EQ(rx[i][j].finals, 1);
            CHECK_EQ(rx[i][j].res, 1);
        }
        CHECK_EQ(got[i][0], 'a');
        CHECK_EQ(got[i][1], 'b');
        CHECK_EQ(px[i].finals, 1);
        CHECK(px[i].res & CIO_POLLIN);
        close(pairs[i][0]);
        close(pairs[i][1]);
    }
    CHECK_EQ(high_rx.finals, 1);
    close(high_pair[0]);
    close(high_pair[1]);
}

/* More handles waited on at once than the descriptor limit at init. */
static void many_handles(void) {
    static int wide[NWIDE][2];
    static char wgot[NWIDE];
    static t_op wrx[NWIDE];
    cio_loop loop;
    struct rlimit rl;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = LOW_LIMIT;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    t_loop_init(&loop, 256);
    rl.rlim_cur = rl.rlim_max > 8192 ? 8192 : rl.rlim_max;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    for (int i = 0; i < NWIDE; i++) {
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, wide[i]), 0);
        cio_prep_recv(&wrx[i].op, wide[i][0], &wgot[i], 1, 0);
        t_arm(&wrx[i]);
        CHECK_EQ(cio_submit(&loop, &wrx[i].op), 0);
    }
    for (int i = 0; i < NWIDE; i++) {
        char c = (char)('0' + i % 64);
        CHECK_EQ(write(wide[i][1], &c, 1), 1);
    }
    t_run(&loop, 10);
    t_close(&loop);
    for (int i = 0; i < NWIDE; i++) {
        CHECK_EQ(wrx[i].finals, 1);
        CHECK_EQ(wrx[i].res, 1);
        CHECK_EQ(wgot[i], (char)('0' + i % 64));
        close(wide[i][0]);
        close(wide[i][1]);
    }
}

int main(void) {
    struct rlimit rl;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max < 2 * HIGH_FD) {
        printf("fd_limit_raised: hard limit %llu too low, skipped\n", (unsigned long long)rl.rlim_max);
        return 77;
    }
    /* The table is sized from the soft limit at init: make it small. */
    rl.rlim_cur = LOW_LIMIT;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    t_watchdog();
    alarm(60); /* a double completion makes loop close wait forever */
    grow_in_callback();
    many_handles();
    printf("fd_limit_raised: ok\n");
    return 0;
}
