/* Closing a handle through cio while ops wait on it (op.h, cio_prep_close):
 * every op of the loop pending on that handle completes with -CIO_ECANCELED
 * before the close completes, on every backend, and the handle is really
 * closed: the peer, using plain system calls, reads end of file.
 *
 * The close comes from a timer's callback, from a sibling op's callback
 * and from a task (cio_close) while another task is blocked in cio_recv.
 * The waiting ops include a recv, a poll, a multishot poll, a send blocked
 * on a full socket and a recv with a far deadline (a cancel by the close
 * is not a timeout). Repeated, so that the order of completions from the
 * kernel varies.
 * CIO_TEST_PORTABLE.
 */
#include "test.h"

#include <errno.h>

static const uint64_t ms = 1000000;

/* The peer sees end of file within a generous bound. */
static void peer_sees_eof(cio_fd peer) {
    CHECK_EQ(t_sock_timeouts(peer, 5000), 0); /* a read that waits longer fails */
    for (;;) {
        char buf[4096];
        long long n = t_sys_read(peer, buf, sizeof buf);
        if (n == 0) return;
        CHECK(n > 0); /* what the cio side sent before the close */
    }
}

typedef struct closer {
    t_op timer;
    t_op close;
    cio_fd fd;
} closer;

static void close_from_timer(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    closer *c = op->data;
    cio_prep_close(&c->close.op, c->fd);
    t_arm(&c->close);
    CHECK_EQ(cio_submit(loop, &c->close.op), 0);
}

/* One recv waits; a timer's callback closes the handle. */
static void one_recv(cio_loop *loop) {
    cio_fd sv[2];
    CHECK_EQ(t_socketpair(sv), 0);
    char b[8];
    t_op rx;
    cio_prep_recv(&rx.op, sv[0], b, sizeof b, 0);
    t_arm(&rx);
    CHECK_EQ(cio_submit(loop, &rx.op), 0);
    closer c = {.fd = sv[0]};
    cio_prep_timeout(&c.timer.op, 1 * ms, 0);
    t_arm(&c.timer);
    c.timer.op.cb = close_from_timer;
    c.timer.op.data = &c;
    CHECK_EQ(cio_submit(loop, &c.timer.op), 0);
    t_run(loop, 10);
    CHECK_EQ(rx.finals, 1);
    CHECK_EQ(rx.res, -CIO_ECANCELED);
    CHECK_EQ(c.close.finals, 1);
    CHECK_EQ(c.close.res, 0);
    CHECK(rx.order < c.close.order);
    peer_sees_eof(sv[1]);
    t_close_handle(sv[1]);
}

/* Five kinds of waiting op on one handle; the close is submitted from the
 * callback of a nop, while they wait. */
static void many_ops(cio_loop *loop, int round) {
    cio_fd sv[2];
    CHECK_EQ(t_socketpair(sv), 0);
    /* Fill sv[0]'s send buffer so that a send waits. */
    static char fill[65536];
    size_t filled = 0;
    /* Small buffers, so that filling takes little (loopback TCP, Windows' pair, grows to megabytes). */
    int small = 16384;
    CHECK_EQ(t_setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    CHECK_EQ(t_setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    CHECK_EQ(t_set_nonblock(sv[0], 1), 0);
    for (int i = 0;; i++) {
        CHECK(i < 4096); /* 256 MiB: no buffer is that large */
        long long n = t_sys_send(sv[0], fill, sizeof fill, 0);
        if (n < 0) {
            CHECK_EQ(n, -EAGAIN);
            break;
        }
        filled += (size_t)n;
    }
    CHECK_EQ(t_set_nonblock(sv[0], 0), 0);
    CHECK(filled > 0);
    char b[8];
    enum { RX, RXD, POLL, MPOLL, TX, N };
    t_op w[N];
    cio_prep_recv(&w[RX].op, sv[0], b, 4, 0);
    cio_prep_recv(&w[RXD].op, sv[0], b + 4, 4, 0);
    w[RXD].op.deadline = cio_now(loop) + 60000 * ms;
    cio_prep_poll(&w[POLL].op, sv[0], CIO_POLLIN);
    cio_prep_poll(&w[MPOLL].op, sv[0], CIO_POLLIN);
    w[MPOLL].op.flags = CIO_F_MULTISHOT;
    cio_prep_send(&w[TX].op, sv[0], fill, sizeof fill, 0);
    for (int i = 0; i < N; i++) {
        t_arm(&w[i]);
        CHECK_EQ(cio_submit(loop, &w[i].op), 0);
    }
    /* Let them reach the kernel (or park) before the close, in most rounds;
     * in some the close is in the same batch. */
    if (round % 4) CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
    closer c = {.fd = sv[0]};
    cio_prep_nop(&c.timer.op);
    t_arm(&c.timer);
    c.timer.op.cb = close_from_timer;
    c.timer.op.data = &c;
    CHECK_EQ(cio_submit(loop, &c.timer.op), 0);
    t_run(loop, 10);
    CHECK_EQ(c.close.finals, 1);
    CHECK_EQ(c.close.res, 0);
    for (int i = 0; i < N; i++) {
        if (w[i].finals != 1 || w[i].res != -CIO_ECANCELED || w[i].order > c.close.order)
            fprintf(stderr, "round %d, op %d: %d finals, result %d, order %llu, close's %llu\n", round, i,
                    w[i].finals, w[i].res, (unsigned long long)w[i].order, (unsigned long long)c.close.order);
        CHECK_EQ(w[i].finals, 1);
        CHECK_EQ(w[i].res, -CIO_ECANCELED);
        CHECK(w[i].order < c.close.order);
    }
    CHECK_EQ(w[POLL].mores, 0);
    peer_sees_eof(sv[1]);
    t_close_handle(sv[1]);
}

/* An op submitted after the close, before it completes, finds the handle
 * closed (the number is not reused meanwhile: nothing opens files). */
static void op_after_close(cio_loop *loop) {
    cio_fd sv[2];
    CHECK_EQ(t_socketpair(sv), 0);
    char b[8];
    t_op rx, cl, late;
    cio_prep_recv(&rx.op, sv[0], b, sizeof b, 0);
    t_arm(&rx);
    CHECK_EQ(cio_submit(loop, &rx.op), 0);
    CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
    cio_prep_close(&cl.op, sv[0]);
    t_arm(&cl);
    CHECK_EQ(cio_submit(loop, &cl.op), 0);
    cio_prep_recv(&late.op, sv[0], b, sizeof b, 0);
    t_arm(&late);
    int r = cio_submit(loop, &late.op);
    t_run(loop, 10);
    CHECK_EQ(rx.res, -CIO_ECANCELED);
    CHECK_EQ(cl.res, 0);
    CHECK(rx.order < cl.order);
    if (r == 0) {
        CHECK_EQ(late.finals, 1);
        CHECK_EQ(late.res, -CIO_EBADF);
    } else {
        CHECK_EQ(r, -CIO_EBADF);
    }
    peer_sees_eof(sv[1]);
    t_close_handle(sv[1]);
}

/* Tasks: one blocked in cio_recv, another closes the handle. */
typedef struct task_pair {
    cio_fd fd;
    int32_t recv_res, close_res;
    uint64_t recv_seq, close_seq;
} task_pair;

static uint64_t seq;

static intptr_t receiver(void *arg) {
    task_pair *p = arg;
    char b[8];
    p->recv_res = cio_recv(p->fd, b, sizeof b, 0);
    p->recv_seq = ++seq;
    return 0;
}

static intptr_t closer_task(void *arg) {
    task_pair *p = arg;
    CHECK_EQ(cio_sleep(2 * ms), 0);
    p->close_res = cio_close(p->fd);
    p->close_seq = ++seq;
    return 0;
}

static void tasks(cio_loop *loop) {
    cio_fd sv[2];
    CHECK_EQ(t_socketpair(sv), 0);
    task_pair p = {.fd = sv[0]};
    cio_task *a, *b;
    CHECK_EQ(cio_task_spawn(loop, receiver, &p, NULL, &a), 0);
    CHECK_EQ(cio_task_spawn(loop, closer_task, &p, NULL, &b), 0);
    CHECK_EQ(cio_task_detach(a), 0);
    CHECK_EQ(cio_task_detach(b), 0);
    t_run(loop, 10);
    CHECK_EQ(p.recv_res, -CIO_ECANCELED);
    CHECK_EQ(p.close_res, 0);
    CHECK(p.recv_seq > 0 && p.close_seq > 0);
    CHECK(p.recv_seq < p.close_seq);
    peer_sees_eof(sv[1]);
    t_close_handle(sv[1]);
}

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    t_alarm(30, "a recv that is never cancelled waits forever");
    for (int i = 0; i < 20; i++) one_recv(&loop);
    for (int i = 0; i < 200; i++) many_ops(&loop, i);
    for (int i = 0; i < 20; i++) op_after_close(&loop);
    for (int i = 0; i < 20; i++) tasks(&loop);
    t_close(&loop);
    puts("close_cancels: ok");
    return 0;
}
