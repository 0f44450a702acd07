/*
 * tests/test_sync_socket.c - a receive on a socket whose IO blocks in the
 * call can always be ended: by a cancel, and by a close through cio,
 * exactly once, promptly, without eating bytes (REVIEW-IOCP R18).
 *
 * On Windows the socket is made without WSA_FLAG_OVERLAPPED
 * (t_socketpair_sync): it cannot join a completion port, so its IO runs on
 * the blocking pool, where WSARecv ignores the OVERLAPPED and blocks in the
 * call. The pool waits for readiness in WSAPoll slices first, but when two
 * receives race for one byte the loser is inside the call when the byte is
 * gone: only CancelSynchronousIo reaches it there. On POSIX the pair is a
 * plain socket pair and the same rules hold on every backend.
 *
 * Oracle: completion counts and order, CLOCK_MONOTONIC with a generous
 * bound, and the bytes a plain recv reads afterwards.
 *
 * CIO_TEST_PORTABLE
 */
#include "test.h"

#define BOUND 5.0 /* seconds: a generous bound for anything to come back */

/* Turns the loop for about `ms` without waiting for anything in particular. */
static void idle(cio_loop *loop, unsigned ms) {
    double end = t_seconds() + ms / 1000.0;
    while (t_seconds() < end) {
        CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
        t_sleep_ms(5);
    }
}

/* The pair still carries bytes both ways, and the cancelled receives took none. */
static void check_intact(cio_fd sv[2]) {
    char c = 0;
    CHECK_EQ(t_sys_send(sv[1], "Q", 1, 0), 1);
    CHECK_EQ(t_sys_recv(sv[0], &c, 1, 0), 1);
    CHECK_EQ(c, 'Q');
}

static void recv_cancelled(cio_loop *loop) {
    cio_fd sv[2];
    CHECK_EQ(t_socketpair_sync(sv), 0);
    char buf[16];
    t_op rd;
    cio_prep_recv(&rd.op, sv[0], buf, sizeof buf, 0);
    t_arm(&rd);
    CHECK_EQ(cio_submit(loop, &rd.op), 0);
    idle(loop, 100);
    CHECK_EQ(rd.finals, 0);
    CHECK_EQ(cio_cancel(loop, &rd.op), 0);
    t_run_until(loop, &rd.finals, BOUND);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
    idle(loop, 20);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(cio_loop_active(loop), 0);
    check_intact(sv);
    t_close_handle(sv[0]);
    t_close_handle(sv[1]);
}

/* Two receives of one byte, one byte sent: one gets it, the other is
 * still waiting (on Windows, possibly inside the blocking call) and must
 * end on a cancel, or on a close through cio. */
static void race_loser(cio_loop *loop, bool by_close, int round) {
    cio_fd sv[2];
    CHECK_EQ(t_socketpair_sync(sv), 0);
    char b0 = 0, b1 = 0;
    t_op r0, r1, cl;
    cio_prep_recv(&r0.op, sv[0], &b0, 1, 0);
    t_arm(&r0);
    cio_prep_recv(&r1.op, sv[0], &b1, 1, 0);
    t_arm(&r1);
    CHECK_EQ(cio_submit(loop, &r0.op), 0);
    CHECK_EQ(cio_submit(loop, &r1.op), 0);
    idle(loop, 50);
    CHECK_EQ(t_sys_send(sv[1], "x", 1, 0), 1);
    double end = t_seconds() + BOUND;
    while (r0.finals + r1.finals == 0 && t_seconds() < end) CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
    CHECK_EQ(r0.finals + r1.finals, 1);
    idle(loop, 50);
    t_op *won = r0.finals ? &r0 : &r1, *lost = r0.finals ? &r1 : &r0;
    CHECK_EQ(won->res, 1);
    CHECK_EQ(won == &r0 ? b0 : b1, 'x');
    CHECK_EQ(lost->finals, 0);

    double t0 = t_seconds();
    if (by_close) {
        cio_prep_close(&cl.op, sv[0]);
        t_arm(&cl);
        CHECK_EQ(cio_submit(loop, &cl.op), 0);
        t_run_until(loop, &cl.finals, BOUND);
        CHECK_EQ(cl.res, 0);
        CHECK_EQ(lost->finals, 1);
        CHECK(lost->order < cl.order);
    } else {
        CHECK_EQ(cio_cancel(loop, &lost->op), 0);
        t_run_until(loop, &lost->finals, BOUND);
    }
    if (lost->res != -CIO_ECANCELED) {
        fprintf(stderr, "round %d (%s): the losing recv ended with %d (%s) after %.3f s\n", round,
                by_close ? "close" : "cancel", lost->res, cio_strerror(lost->res), t_seconds() - t0);
        exit(1);
    }
    idle(loop, 20);
    CHECK_EQ(won->finals, 1);
    CHECK_EQ(lost->finals, 1);
    CHECK_EQ(cio_loop_active(loop), 0);
    if (by_close) {
        t_close_handle(sv[1]);
        return;
    }
    check_intact(sv);
    t_close_handle(sv[0]);
    t_close_handle(sv[1]);
}

int main(void) {
    t_ignore_sigpipe();
    t_alarm(120, "sync_socket: an op never completed");
    cio_loop loop;
    t_loop_init(&loop, 64);
    recv_cancelled(&loop);
    for (int round = 0; round < 5; round++) {
        race_loser(&loop, false, round);
        race_loser(&loop, true, round);
    }
    t_close(&loop);
    printf("sync_socket: ok\n");
    return 0;
}
