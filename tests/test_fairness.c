/*
 * Fairness: ops that are always ready do not starve the others.
 *
 * "Hot" sources never stop: a recv loop on a socket whose peer keeps it
 * full (each callback reads a chunk, tops the peer up and resubmits), a NOP
 * resubmitted from its callback, a zero timeout re-armed from its callback,
 * a multishot poll on the always-readable socket, and a crowd of
 * always-readable sockets with two recvs each (so that one always waits
 * behind the other and the handle is reported ready every turn; more of
 * them than an epoll_wait returns at once). While they run, "cold" ops
 * become ready one at a time at chosen turns: a recv, a pipe read, a send
 * on a full socket that the test drains, an accept, a posted message and a
 * timer. Each must complete within a few loop turns of becoming ready, and
 * no hot op may go more than a few turns without a completion either.
 * Progress is counted in turns (cio_loop_run(CIO_RUN_ONCE) calls), never
 * in time.
 *
 * Both are measured after a warm-up. The crowd starts with one burst of
 * some 500 completions; io_uring (DEFER_TASKRUN, kernel 6.10 and later)
 * runs at most about 20 deferred completions per io_uring_enter, so that
 * burst drains over a couple of dozen turns, in order. That is slow, not
 * unfair, and it is over before the measuring starts.
 *
 * On Windows the socket pairs are loopback TCP (port.h) and the pipe an
 * overlapped named pipe; the full socket gets small buffers first, since
 * Windows grows a loopback connection's buffers to megabytes.
 * CIO_TEST_PORTABLE
 */
#include "net.h"

#if !defined(_WIN32)
#include <poll.h>
#endif

/* A ready op must complete within this many turns. The loop needs one;
 * starvation would need far more. */
#define MAX_LAG 8
#define WARMUP 40 /* turns before the measuring starts */
#define TURNS 80
#define CROWD 260 /* handles, each with two recvs: more than epoll's 256 events per wait */
#define CHUNK 64
#define PRIME 4096 /* bytes each hot socket starts with; every recv is topped up at once */

static unsigned long turn; /* the number of the cio_loop_run() call under way */
static bool stopping;      /* hot callbacks stop resubmitting */

/* An op that should complete over and over: its largest gap in turns. */
typedef struct hot {
    cio_op op;
    const char *name;
    cio_fd fd, peer; /* recv only: the socket, and the end that keeps it full */
    char buf[CHUNK];
    unsigned long submitted, completed, mores;
    unsigned long last_turn, max_gap;
    int32_t last_res;
} hot;

static void hot_seen(hot *h) {
    unsigned long from = h->last_turn > WARMUP ? h->last_turn : WARMUP;
    if (turn > from && turn - from > h->max_gap) h->max_gap = turn - from;
    h->last_turn = turn;
}

static void hot_submit(cio_loop *loop, hot *h) {
    CHECK_EQ(cio_submit(loop, &h->op), 0);
    h->submitted++;
}

/* Whether `h` is done: records its completion; true when it must not go on. */
static bool hot_done(hot *h, const cio_op *op) {
    h->completed++;
    h->last_res = op->res;
    hot_seen(h);
    return stopping;
}

static void top_up(cio_fd fd, size_t n) {
    static const char fill[PRIME];
    while (n > 0) {
        long long w = t_sys_write(fd, fill, n < sizeof fill ? n : sizeof fill);
        CHECK(w > 0);
        n -= (size_t)w;
    }
}

static void hot_recv_cb(cio_loop *loop, cio_op *op);

static void hot_recv_start(cio_loop *loop, hot *h) {
    cio_prep_recv(&h->op, h->fd, h->buf, sizeof h->buf, 0);
    h->op.cb = hot_recv_cb;
    hot_submit(loop, h);
}

static void hot_recv_cb(cio_loop *loop, cio_op *op) {
    hot *h = (hot *)op;
    if (hot_done(h, op)) return;
    CHECK(op->res > 0); /* there is always data: it never sees the end */
    top_up(h->peer, (size_t)op->res);
    hot_recv_start(loop, h);
}

static void hot_nop_cb(cio_loop *loop, cio_op *op) {
    hot *h = (hot *)op;
    if (hot_done(h, op)) return;
    CHECK_EQ(op->res, 0);
    cio_prep_nop(op);
    op->cb = hot_nop_cb;
    hot_submit(loop, h);
}

static void hot_timer_cb(cio_loop *loop, cio_op *op) {
    hot *h = (hot *)op;
    if (hot_done(h, op)) return;
    CHECK_EQ(op->res, 0);
    cio_prep_timeout(op, 0, 0);
    op->cb = hot_timer_cb;
    hot_submit(loop, h);
}

static void hot_poll_cb(cio_loop *loop, cio_op *op) {
    hot *h = (hot *)op;
    if (op->flags & CIO_F_MORE) {
        h->mores++;
        CHECK(op->res & CIO_POLLIN);
        hot_seen(h);
        return;
    }
    h->completed++;
    h->last_res = op->res;
    /* Only the cancel at the end may finish it: a multishot op goes on
     * "until cancelled or an error ends it", however busy the loop is. */
    if (!stopping) {
        fprintf(stderr, "%s: multishot poll ended on its own at turn %lu with %d (%s)\n",
                cio_backend_name(cio_loop_backend(loop)), turn, op->res,
                op->res < 0 ? cio_strerror(op->res) : "not an error");
        CHECK(!"a multishot poll ended before it was cancelled");
    }
}

static hot hot_recv, hot_nop, hot_timer, hot_poll;
static hot crowd[CROWD][2];
static cio_fd hot_fd[2], crowd_fd[CROWD][2];

/* ---- the cold ops: each waits until the test makes it ready ---- */

typedef struct cold {
    t_op t;
    const char *name;
    unsigned long ready_turn; /* the first turn that could complete it (1-based) */
    unsigned long done_turn;
} cold;

static void cold_cb(cio_loop *loop, cio_op *op) {
    cold *c = (cold *)op;
    net_cb(loop, op);
    if (!(op->flags & CIO_F_MORE)) c->done_turn = turn;
}

static void cold_submit(cio_loop *loop, cold *c, const char *name) {
    net_arm(&c->t);
    c->t.op.cb = cold_cb;
    c->name = name;
    c->ready_turn = c->done_turn = 0;
    CHECK_EQ(cio_submit(loop, &c->t.op), 0);
}

static void cold_check(const char *be, const cold *c) {
    CHECK_EQ(c->t.finals, 1);
    CHECK(c->ready_turn > 0);
    /* Turns it took: 1 when the first turn after it became ready completed it. */
    long took = (long)c->done_turn - (long)c->ready_turn + 1;
    printf("%s: %-22s ready before turn %lu, took %ld turn(s)\n", be, c->name, c->ready_turn, took);
    if (took < 1 || took > MAX_LAG) {
        fprintf(stderr, "%s: ready before turn %lu, completed in turn %lu\n", c->name, c->ready_turn,
                c->done_turn);
        CHECK(!"a ready op waited too many turns");
    }
}

static void post_cb(cio_loop *loop, cio_op *op) {
    (void)loop;
    cold *c = (cold *)op;
    c->t.finals++;
    c->t.res = op->res;
    c->done_turn = turn;
}

static uint64_t mono_ns(void) { return t_now_ns(); }

static void nonblocking(cio_fd fd) {
    if (t_on_windows()) { /* a loopback connection's buffers would grow to megabytes */
        int small = 16 * 1024;
        CHECK_EQ(t_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
        CHECK_EQ(t_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    }
    CHECK_EQ(t_set_nonblock(fd, 1), 0);
}


/* Whether plain calls find room to send on `fd` now (the oracle of when
 * the send on the full socket can go). */
static bool writable(cio_fd fd) {
#if defined(_WIN32)
    fd_set wr;
    FD_ZERO(&wr);
    FD_SET((SOCKET)fd, &wr);
    struct timeval zero = {0, 0};
    int n = select(0, NULL, &wr, NULL, &zero);
#else
    struct pollfd p = {fd, POLLOUT, 0};
    int n = poll(&p, 1, 0);
#endif
    CHECK(n >= 0);
    return n > 0;
}

static void check_hot(const char *be, hot *h, unsigned long turns, bool print) {
    hot_seen(h); /* the gap up to the last turn counts too */
    if (print)
        printf("%s: %-22s %lu completions in %lu turns, largest gap after warm-up %lu\n", be, h->name,
               h == &hot_poll ? h->mores : h->completed, turns, h->max_gap);
    if (h->max_gap > MAX_LAG) {
        fprintf(stderr, "%s: %s went %lu turns without a completion\n", be, h->name, h->max_gap);
        CHECK(!"a hot op starved");
    }
}

int main(void) {
    t_ignore_sigpipe();
    cio_loop loop;
    t_loop_init(&loop, 0);
    const char *be = cio_backend_name(cio_loop_backend(&loop));

    /* Cold sources, all waiting. */
    cio_fd rv[2], pp[2], full[2];
    CHECK_EQ(t_socketpair(rv), 0);
    CHECK_EQ(t_pipe(pp), 0);
    CHECK_EQ(t_socketpair(full), 0);
    nonblocking(full[0]);
    nonblocking(full[1]);
    static char junk[1 << 16];
    long long w;
    while ((w = t_sys_write(full[0], junk, sizeof junk)) > 0) {
    }
    CHECK_EQ(w, -CIO_EAGAIN);
    net_addr at;
    cio_fd lfd = t_sys_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(lfd != T_FD_NONE);
    net_loopback(&at, AF_INET, 0);
    CHECK_EQ(bind(lfd, net_sa(&at), at.len), 0);
    CHECK_EQ(listen(lfd, 4), 0);
    net_local(lfd, &at);

    char rv_buf[4] = {0}, pp_buf[4] = {0};
    static const char one = 'x';
    cold c_recv, c_read, c_send, c_accept, c_post, c_timer;
    cio_prep_recv(&c_recv.t.op, rv[0], rv_buf, sizeof rv_buf, 0);
    cold_submit(&loop, &c_recv, "recv");
    cio_prep_read(&c_read.t.op, pp[0], pp_buf, sizeof pp_buf, CIO_OFFSET_CURRENT);
    cold_submit(&loop, &c_read, "pipe read");
    cio_prep_send(&c_send.t.op, full[0], &one, 1, MSG_NOSIGNAL);
    cold_submit(&loop, &c_send, "send on a full socket");
    cio_prep_accept(&c_accept.t.op, lfd, NULL, NULL, SOCK_CLOEXEC);
    cold_submit(&loop, &c_accept, "accept");
    memset(&c_post, 0, sizeof c_post);
    c_post.name = "post";
    memset(&c_timer, 0, sizeof c_timer);
    c_timer.name = "timer";
    uint64_t timer_due = 0;
    bool draining = false;

    /* The hot sources. */
    CHECK_EQ(t_socketpair(hot_fd), 0);
    top_up(hot_fd[1], PRIME);
    hot_recv.name = "recv on a full socket";
    hot_recv.fd = hot_fd[0];
    hot_recv.peer = hot_fd[1];
    hot_recv_start(&loop, &hot_recv);
    hot_nop.name = "nop";
    cio_prep_nop(&hot_nop.op);
    hot_nop.op.cb = hot_nop_cb;
    hot_submit(&loop, &hot_nop);
    hot_timer.name = "zero timeout";
    cio_prep_timeout(&hot_timer.op, 0, 0);
    hot_timer.op.cb = hot_timer_cb;
    hot_submit(&loop, &hot_timer);
    hot_poll.name = "multishot poll";
    cio_prep_poll(&hot_poll.op, hot_fd[0], CIO_POLLIN);
    hot_poll.op.flags = CIO_F_MULTISHOT;
    hot_poll.op.cb = hot_poll_cb;
    hot_submit(&loop, &hot_poll);
    /* The crowd's recvs wait for data first, so that from then on one always
     * waits in the handle's queue behind the other, and the handle is
     * reported ready every turn. */
    for (int i = 0; i < CROWD; i++) {
        CHECK_EQ(t_socketpair(crowd_fd[i]), 0);
        for (int k = 0; k < 2; k++) {
            crowd[i][k].name = "crowd recv";
            crowd[i][k].fd = crowd_fd[i][0];
            crowd[i][k].peer = crowd_fd[i][1];
            hot_recv_start(&loop, &crowd[i][k]);
        }
    }
    CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) > 0);
    for (int i = 0; i < CROWD; i++) top_up(crowd_fd[i][1], PRIME);

    cio_fd client = T_FD_NONE;
    double end = t_seconds() + 60;
    /* At least TURNS turns, and on until the timer has fired (its time, unlike
     * the others' readiness, is not the test's to choose). */
    for (turn = 1; turn <= TURNS || c_timer.t.finals == 0 || (draining && c_send.t.finals == 0); turn++) {
        /* Between turns, make one cold op ready; it may complete from the next turn on. */
        switch (turn) {
        case WARMUP + 5:
            CHECK_EQ(t_sys_write(rv[1], "abc", 3), 3);
            c_recv.ready_turn = turn;
            break;
        case WARMUP + 10:
            CHECK_EQ(t_sys_write(pp[1], "def", 3), 3);
            c_read.ready_turn = turn;
            break;
        case WARMUP + 15:
            draining = true;
            break;
        case WARMUP + 20:
            client = t_sys_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            CHECK(client != T_FD_NONE);
            CHECK_EQ(connect(client, net_sa(&at), at.len), 0); /* the backlog takes it at once */
            c_accept.ready_turn = turn;
            break;
        case WARMUP + 25:
            cio_prep_nop(&c_post.t.op);
            c_post.t.op.cb = post_cb;
            c_post.t.op.res = 7;
            CHECK_EQ(cio_loop_post(&loop, &c_post.t.op), 0);
            c_post.ready_turn = turn;
            break;
        case WARMUP + 30:
            cio_prep_timeout(&c_timer.t.op, 2 * 1000 * 1000, 0);
            cold_submit(&loop, &c_timer, "timer");
            /* The loop's clock lags the real one, so its due time is at most this. */
            timer_due = mono_ns() + 2 * 1000 * 1000;
            break;
        default:
            break;
        }
        /* Drained, the socket has room as soon as the bytes queued on its
         * side have moved over: at once for a local socket pair; over
         * loopback TCP (Windows) when the window opens, which takes the
         * reader's acknowledgement and may take several drains. */
        if (draining && !c_send.t.finals) {
            while (t_sys_read(full[1], junk, sizeof junk) > 0) {
            }
            if (!c_send.ready_turn && writable(full[0])) c_send.ready_turn = turn;
        }
        if (timer_due && !c_timer.ready_turn && !c_timer.t.finals && mono_ns() >= timer_due)
            c_timer.ready_turn = turn;
        CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
        CHECK(t_seconds() < end);
    }
    unsigned long turns = turn - 1;
    turn--; /* the last turn run, for the gaps measured below */

    /* Every cold op completed, soon after it became ready. */
    cold_check(be, &c_recv);
    CHECK_EQ(c_recv.t.res, 3);
    CHECK(memcmp(rv_buf, "abc", 3) == 0);
    cold_check(be, &c_read);
    CHECK_EQ(c_read.t.res, 3);
    CHECK(memcmp(pp_buf, "def", 3) == 0);
    if (!c_send.ready_turn) c_send.ready_turn = c_send.done_turn; /* it took the room before the oracle saw it */
    cold_check(be, &c_send);
    CHECK_EQ(c_send.t.res, 1);
    cold_check(be, &c_accept);
    CHECK(c_accept.t.res >= 0);
    CHECK_EQ(t_close_handle(t_fd(&c_accept.t)), 0);
    cold_check(be, &c_post);
    CHECK_EQ(c_post.t.res, 7);
    /* The clock may pass the timer's time during a turn, which then fires it
     * before the test looks: no lag at all. */
    if (!c_timer.ready_turn) c_timer.ready_turn = c_timer.done_turn;
    cold_check(be, &c_timer);
    CHECK_EQ(c_timer.t.res, 0);

    /* And the hot ops did not starve one another. */
    hot *hots[] = {&hot_recv, &hot_nop, &hot_timer, &hot_poll};
    for (unsigned i = 0; i < sizeof hots / sizeof *hots; i++) check_hot(be, hots[i], turns, true);
    unsigned long crowd_total = 0, crowd_gap = 0;
    for (int i = 0; i < CROWD; i++)
        for (int k = 0; k < 2; k++) {
            check_hot(be, &crowd[i][k], turns, false);
            crowd_total += crowd[i][k].completed;
            if (crowd[i][k].max_gap > crowd_gap) crowd_gap = crowd[i][k].max_gap;
        }
    printf("%s: %d crowd recvs: %lu completions in %lu turns, largest gap after warm-up %lu\n", be, 2 * CROWD,
           crowd_total, turns, crowd_gap);

    /* Wind down: the hot ops finish their last round, the poll is cancelled. */
    stopping = true;
    CHECK_EQ(cio_cancel(&loop, &hot_poll.op), 0);
    t_run(&loop, 10);
    for (unsigned i = 0; i < sizeof hots / sizeof *hots; i++)
        CHECK_EQ(hots[i]->completed, hots[i]->submitted);
    for (int i = 0; i < CROWD; i++)
        for (int k = 0; k < 2; k++) CHECK_EQ(crowd[i][k].completed, crowd[i][k].submitted);
    CHECK_EQ(hot_poll.completed, 1);
    /* Cancelled, or it finished just before the cancel reached it. */
    CHECK(hot_poll.last_res == -CIO_ECANCELED || (hot_poll.last_res > 0 && (hot_poll.last_res & CIO_POLLIN)));
    net_close_loop(&loop);

    cio_fd fds[] = {hot_fd[0], hot_fd[1], rv[0], rv[1], pp[0], pp[1], full[0], full[1], lfd, client};
    for (unsigned i = 0; i < sizeof fds / sizeof *fds; i++) CHECK_EQ(t_close_handle(fds[i]), 0);
    for (int i = 0; i < CROWD; i++) {
        CHECK_EQ(t_close_handle(crowd_fd[i][0]), 0);
        CHECK_EQ(t_close_handle(crowd_fd[i][1]), 0);
    }
    return 0;
}
