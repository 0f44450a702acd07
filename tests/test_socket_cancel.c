/*
 * Socket ops that wait: recv with no data, accept with no client, a connect
 * that cannot finish, and a poll with nothing to report. Each is cancelled
 * with a CIO_OP_CANCEL op and with cio_cancel(), and given a deadline that
 * passes, or one that data beats. Every op, cancel ops included, completes
 * exactly once with the exact code.
 *
 * CIO_TEST_PORTABLE
 */
#include "net.h"

static bool have_v6;

enum how { BY_OP, BY_CALL, BY_OP_SAME_TURN };
static const char *const how_name[] = {"cancel op", "cio_cancel", "cancel op in the same turn"};

/*
 * Submits the prepared `target` (which cannot complete on its own), and
 * cancels it `how`. The cancel finds it (0) and the target completes with
 * -CIO_ECANCELED, each exactly once.
 */
static void submit_and_cancel(cio_loop *loop, t_op *target, enum how how) {
    net_arm(target);
    CHECK_EQ(cio_submit(loop, &target->op), 0);
    if (how != BY_OP_SAME_TURN) {
        /* Let it reach the kernel and start waiting. */
        CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 1);
        CHECK_EQ(target->finals, 0);
    }
    t_op cancel;
    if (how == BY_CALL) {
        CHECK_EQ(cio_cancel(loop, &target->op), 0);
    } else {
        cio_prep_cancel(&cancel.op, &target->op);
        net_arm(&cancel);
        CHECK_EQ(cio_submit(loop, &cancel.op), 0);
    }
    int32_t r = net_wait(loop, target, 10);
    if (r != -CIO_ECANCELED)
        fprintf(stderr, "%s: %s completed with %d (%s)\n", how_name[how], cio_op_name(target->op.opcode), r,
                cio_strerror(r));
    CHECK_EQ(r, -CIO_ECANCELED);
    CHECK_EQ(target->mores, 0);
    if (how != BY_CALL) CHECK_EQ(net_wait(loop, &cancel, 10), 0);
    net_settle(loop);
    CHECK_EQ(target->finals, 1);
    if (how != BY_CALL) CHECK_EQ(cancel.finals, 1);
    /* It is over: neither way of cancelling finds it now. */
    CHECK_EQ(cio_cancel(loop, &target->op), -CIO_ENOENT);
    cio_prep_cancel(&cancel.op, &target->op);
    net_refused(loop, &cancel, -CIO_ENOENT);
}

static void cancel_recv(cio_loop *loop, int family) {
    for (int how = BY_OP; how <= BY_OP_SAME_TURN; how++) {
        cio_fd c, s;
        net_pair(loop, family, &c, &s);
        char buf[16];
        t_op r;
        cio_prep_recv(&r.op, s, buf, sizeof buf, 0);
        submit_and_cancel(loop, &r, (enum how)how);
        /* The cancelled recv took nothing: the next bytes go to the next recv. */
        net_exchange(loop, c, s, "after cancel");
        CHECK_EQ(t_close_handle(c), 0);
        CHECK_EQ(t_close_handle(s), 0);
    }
}

static void cancel_accept(cio_loop *loop, int family) {
    net_addr at;
    cio_fd lfd = net_listener(loop, family, 8, &at);
    for (int how = BY_OP; how <= BY_OP_SAME_TURN; how++) {
        struct sockaddr_storage peer;
        cio_socklen len = sizeof peer;
        t_op a;
        cio_prep_accept(&a.op, lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
        submit_and_cancel(loop, &a, (enum how)how);
    }
    /* The listener still works, and no connection was taken by a cancelled accept. */
    cio_fd c = net_socket(loop, family, SOCK_STREAM | SOCK_CLOEXEC);
    t_op con, acc;
    cio_prep_connect(&con.op, c, net_sa(&at), at.len);
    CHECK_EQ(net_do(loop, &con), 0);
    cio_prep_accept(&acc.op, lfd, NULL, NULL, SOCK_CLOEXEC);
    CHECK(net_do(loop, &acc) >= 0);
    cio_fd s = t_fd(&acc);
    net_exchange(loop, c, s, "accepted");
    cio_fd fds[] = {c, s, lfd};
    for (unsigned i = 0; i < 3; i++) CHECK_EQ(t_close_handle(fds[i]), 0);
}

/*
 * A connect that stays pending on loopback: a listener with backlog 0 holds
 * one unaccepted connection and then its accept queue is full, so Linux
 * drops the next SYN (tcp_abort_on_overflow=0 by default, and SYN cookies
 * only stand in for a full SYN queue). The client retransmits after 1 s,
 * 3 s, ... and is dropped each time while the queue stays full.
 */
typedef struct full_listener {
    cio_fd lfd, first;
    net_addr at;
} full_listener;

static void full_listener_open(cio_loop *loop, int family, full_listener *fl) {
    fl->lfd = net_listener(loop, family, 0, &fl->at);
    fl->first = net_socket(loop, family, SOCK_STREAM | SOCK_CLOEXEC);
    t_op t;
    cio_prep_connect(&t.op, fl->first, net_sa(&fl->at), fl->at.len);
    CHECK_EQ(net_do(loop, &t), 0);
    /* The client side finishes before the server has queued the connection
     * (the final ACK is still on its way); readable means it is queued. */
    cio_prep_poll(&t.op, fl->lfd, CIO_POLLIN);
    CHECK_EQ(net_do(loop, &t) & CIO_POLLIN, CIO_POLLIN);
}

static void full_listener_close(full_listener *fl) {
    CHECK_EQ(t_close_handle(fl->first), 0);
    CHECK_EQ(t_close_handle(fl->lfd), 0);
}

static void cancel_connect(cio_loop *loop, int family) {
    full_listener fl;
    full_listener_open(loop, family, &fl);
    for (int how = BY_OP; how <= BY_OP_SAME_TURN; how++) {
        cio_fd c = net_socket(loop, family, SOCK_STREAM | SOCK_CLOEXEC);
        t_op con;
        cio_prep_connect(&con.op, c, net_sa(&fl.at), fl.at.len);
        submit_and_cancel(loop, &con, (enum how)how);
        CHECK_EQ(t_close_handle(c), 0);
    }
    full_listener_close(&fl);
}

static void cancel_poll(cio_loop *loop, int family) {
    for (int how = BY_OP; how <= BY_OP_SAME_TURN; how++) {
        cio_fd c, s;
        net_pair(loop, family, &c, &s);
        t_op p;
        cio_prep_poll(&p.op, s, CIO_POLLIN);
        submit_and_cancel(loop, &p, (enum how)how);
        /* A fresh poll still sees what comes next. */
        t_op snd;
        cio_prep_send(&snd.op, c, "!", 1, MSG_NOSIGNAL);
        CHECK_EQ(net_do(loop, &snd), 1);
        cio_prep_poll(&p.op, s, CIO_POLLIN);
        CHECK_EQ(net_do(loop, &p) & CIO_POLLIN, CIO_POLLIN);
        CHECK_EQ(t_close_handle(c), 0);
        CHECK_EQ(t_close_handle(s), 0);
    }
}

/* ---- deadlines ---- */

static const uint64_t ms = 1000 * 1000;

/* Submits the prepared `t` with a deadline `after_ns` from the loop's now and waits for it. */
static int32_t with_deadline(cio_loop *loop, t_op *t, uint64_t after_ns) {
    net_arm(t);
    t->op.deadline = cio_now(loop) + after_ns;
    CHECK_EQ(cio_submit(loop, &t->op), 0);
    int32_t r = net_wait(loop, t, 10);
    net_settle(loop);
    CHECK_EQ(t->finals, 1);
    return r;
}

static void deadlines(cio_loop *loop, int family) {
    cio_fd c, s;
    net_pair(loop, family, &c, &s);
    char buf[16];
    t_op r, snd;

    /* No data in time. */
    cio_prep_recv(&r.op, s, buf, sizeof buf, 0);
    CHECK_EQ(with_deadline(loop, &r, 20 * ms), -CIO_ETIMEDOUT);
    net_exchange(loop, c, s, "still fine");

    /* Data already there: the deadline never matters. */
    cio_prep_send(&snd.op, c, "early", 5, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &snd), 5);
    memset(buf, 0, sizeof buf);
    cio_prep_recv(&r.op, s, buf, sizeof buf, 0);
    CHECK_EQ(with_deadline(loop, &r, 1000 * ms), 5);
    CHECK(memcmp(buf, "early", 5) == 0);

    /* Data arrives while the recv waits, long before its deadline. */
    memset(buf, 0, sizeof buf);
    cio_prep_recv(&r.op, s, buf, sizeof buf, 0);
    net_arm(&r);
    r.op.deadline = cio_now(loop) + 5000 * ms;
    CHECK_EQ(cio_submit(loop, &r.op), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(r.finals, 0);
    cio_prep_send(&snd.op, c, "in time", 7, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &snd), 7);
    CHECK_EQ(net_wait(loop, &r, 10), 7);
    CHECK(memcmp(buf, "in time", 7) == 0);
    net_settle(loop);
    CHECK_EQ(r.finals, 1);

    /* Cancelled before its deadline: that is a cancel, not a timeout
     * (submit_and_cancel keeps the deadline set here). */
    for (int how = BY_OP; how <= BY_OP_SAME_TURN; how++) {
        cio_prep_recv(&r.op, s, buf, sizeof buf, 0);
        r.op.deadline = cio_now(loop) + 5000 * ms;
        submit_and_cancel(loop, &r, (enum how)how);
    }
    net_exchange(loop, c, s, "after");

    /* Other waiting ops time out the same way. */
    net_addr at;
    cio_fd lfd = net_listener(loop, family, 8, &at);
    t_op a;
    cio_prep_accept(&a.op, lfd, NULL, NULL, 0);
    CHECK_EQ(with_deadline(loop, &a, 20 * ms), -CIO_ETIMEDOUT);
    t_op p;
    cio_prep_poll(&p.op, s, CIO_POLLIN);
    CHECK_EQ(with_deadline(loop, &p, 20 * ms), -CIO_ETIMEDOUT);

    full_listener fl;
    full_listener_open(loop, family, &fl);
    cio_fd pending = net_socket(loop, family, SOCK_STREAM | SOCK_CLOEXEC);
    t_op con;
    cio_prep_connect(&con.op, pending, net_sa(&fl.at), fl.at.len);
    CHECK_EQ(with_deadline(loop, &con, 20 * ms), -CIO_ETIMEDOUT);
    CHECK_EQ(t_close_handle(pending), 0);
    full_listener_close(&fl);

    cio_fd fds[] = {c, s, lfd};
    for (unsigned i = 0; i < 3; i++) CHECK_EQ(t_close_handle(fds[i]), 0);
}

typedef struct counted {
    t_op t;
    uint8_t final_flags;
    int32_t last_more; /* result of the latest CIO_F_MORE completion */
    cio_fd last_fd;    /* and its new handle (accept), if any */
} counted;

static void on_counted(cio_loop *loop, cio_op *op) {
    counted *k = (counted *)op;
    if (op->flags & CIO_F_MORE) {
        k->last_more = op->res;
        k->last_fd = cio_op_fd(op);
    } else {
        k->final_flags = op->flags;
    }
    net_cb(loop, op);
}

/* A multishot op with a deadline reports until the deadline, then ends with
 * -CIO_ETIMEDOUT; cancelled before it, it ends with -CIO_ECANCELED. */
static void multishot_deadline(cio_loop *loop, int family) {
    net_addr a_at, b_at;
    cio_fd a = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &a_at);
    cio_fd b = net_bound(loop, family, SOCK_DGRAM | SOCK_CLOEXEC, &b_at);
    counted p;
    cio_prep_poll(&p.t.op, b, CIO_POLLIN);
    net_arm(&p.t);
    p.t.op.cb = on_counted;
    p.t.op.flags = CIO_F_MULTISHOT;
    p.t.op.deadline = cio_now(loop) + 5000 * ms;
    CHECK_EQ(cio_submit(loop, &p.t.op), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(sendto(a, "x", 1, 0, net_sa(&b_at), b_at.len), 1);
    double end = t_seconds() + 10;
    while (p.t.mores < 1) {
        CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
        CHECK(t_seconds() < end);
    }
    CHECK_EQ(p.t.finals, 0);
    CHECK_EQ(p.last_more, CIO_POLLIN);
    /* Cancelled before its deadline: a cancel, not a timeout. */
    CHECK_EQ(cio_cancel(loop, &p.t.op), 0);
    CHECK_EQ(net_wait(loop, &p.t, 10), -CIO_ECANCELED);
    CHECK_EQ(p.final_flags & CIO_F_MORE, 0);

    /* Readable from the start: one report at once, then the deadline ends it. */
    CHECK_EQ(sendto(b, "y", 1, 0, net_sa(&a_at), a_at.len), 1);
    cio_prep_poll(&p.t.op, a, CIO_POLLIN);
    net_arm(&p.t);
    p.t.op.cb = on_counted;
    p.t.op.flags = CIO_F_MULTISHOT;
    p.t.op.deadline = cio_now(loop) + 20 * ms;
    CHECK_EQ(cio_submit(loop, &p.t.op), 0);
    CHECK_EQ(net_wait(loop, &p.t, 10), -CIO_ETIMEDOUT);
    CHECK_EQ(p.final_flags & CIO_F_MORE, 0);
    /* One report per readiness edge; poll(2) and AFD (IOCP) know only
     * levels, so there a multishot poll reports once per loop turn while the
     * handle is ready (op.h). */
    if (cio_loop_backend(loop) == CIO_BACKEND_POLL || cio_loop_backend(loop) == CIO_BACKEND_IOCP)
        CHECK(p.t.mores >= 1);
    else
        CHECK_EQ(p.t.mores, 1);
    CHECK_EQ(p.last_more, CIO_POLLIN);
    net_settle(loop);
    CHECK_EQ(p.t.finals, 1);
    CHECK_EQ(t_close_handle(a), 0);
    CHECK_EQ(t_close_handle(b), 0);
}

/*
 * cio_loop_close with socket ops still waiting: a recv, a multishot accept
 * that has delivered, a multishot poll, a connect that cannot finish, and a
 * recv with a deadline. Each completes once, from inside the close, with
 * -CIO_ECANCELED (a deadline op too: the close cancelled it, the deadline
 * did not pass).
 */
static void close_with_pending(int family) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_fd c, s;
    net_pair(&loop, family, &c, &s);
    char buf[16], buf2[16];
    enum { RECV, ACCEPT, POLL, CONNECT, DEADLINE, N };
    counted ops[N];
    cio_prep_recv(&ops[RECV].t.op, s, buf, sizeof buf, 0);
    cio_prep_recv(&ops[DEADLINE].t.op, c, buf2, sizeof buf2, 0);
    net_addr at;
    cio_fd lfd = net_listener(&loop, family, 8, &at);
    cio_prep_accept(&ops[ACCEPT].t.op, lfd, NULL, NULL, SOCK_CLOEXEC);
    cio_prep_poll(&ops[POLL].t.op, lfd, CIO_POLLIN);
    full_listener fl;
    full_listener_open(&loop, family, &fl);
    cio_fd pending = net_socket(&loop, family, SOCK_STREAM | SOCK_CLOEXEC);
    cio_prep_connect(&ops[CONNECT].t.op, pending, net_sa(&fl.at), fl.at.len);
    for (int i = 0; i < N; i++) {
        net_arm(&ops[i].t);
        ops[i].t.op.cb = on_counted;
        if (i == ACCEPT || i == POLL) ops[i].t.op.flags = CIO_F_MULTISHOT;
        if (i == DEADLINE) ops[i].t.op.deadline = cio_now(&loop) + 5000 * ms;
        CHECK_EQ(cio_submit(&loop, &ops[i].t.op), 0);
    }
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), N);

    /* One connection for the multishot accept (and the multishot poll on the same listener). */
    cio_fd c2 = net_socket(&loop, family, SOCK_STREAM | SOCK_CLOEXEC);
    t_op con;
    cio_prep_connect(&con.op, c2, net_sa(&at), at.len);
    CHECK_EQ(net_do(&loop, &con), 0);
    double end = t_seconds() + 10;
    while (ops[ACCEPT].t.mores < 1) {
        CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
        CHECK(t_seconds() < end);
    }
    for (int i = 0; i < N; i++) CHECK_EQ(ops[i].t.finals, 0);
    CHECK_EQ(cio_loop_active(&loop), N);

    t_close(&loop);
    for (int i = 0; i < N; i++) {
        if (ops[i].t.finals != 1 || ops[i].t.res != -CIO_ECANCELED)
            fprintf(stderr, "close: %s finals %d res %d\n", cio_op_name(ops[i].t.op.opcode), ops[i].t.finals,
                    ops[i].t.res);
        CHECK_EQ(ops[i].t.finals, 1);
        CHECK_EQ(ops[i].t.res, -CIO_ECANCELED);
        CHECK_EQ(ops[i].final_flags & CIO_F_MORE, 0);
    }
    CHECK_EQ(ops[ACCEPT].t.mores, 1);
    CHECK(ops[ACCEPT].last_more >= 0);
    cio_fd fds[] = {c, s, lfd, pending, c2, ops[ACCEPT].last_fd};
    for (unsigned i = 0; i < sizeof fds / sizeof *fds; i++) CHECK_EQ(t_close_handle(fds[i]), 0);
    full_listener_close(&fl);
}

int main(void) {
    net_watchdog(120);
    have_v6 = net_have_ipv6();
    cio_loop loop;
    t_loop_init(&loop, 64);
    const int families[2] = {AF_INET, AF_INET6};
    for (int f = 0; f < 2; f++) {
        if (families[f] == AF_INET6 && !have_v6) continue;
        cancel_recv(&loop, families[f]);
        cancel_accept(&loop, families[f]);
        cancel_connect(&loop, families[f]);
        cancel_poll(&loop, families[f]);
        deadlines(&loop, families[f]);
        multishot_deadline(&loop, families[f]);
    }
    net_close_loop(&loop);
    close_with_pending(AF_INET);
    puts("socket_cancel: ok");
    return 0;
}
