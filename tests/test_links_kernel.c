/*
 * test_links_kernel - link chains keep one meaning on every backend, also where io_uring runs
 * them with the kernel's own links (src/backend/uring.c: submit_chain): the results, the order
 * of the callbacks, exactly one completion each, -CIO_ECANCELED after a broken soft link, a
 * hard link that goes on after an error, deadlines inside a chain, cancels of the head, a middle
 * op or the last op while the chain runs, and the loop's close in the middle of a chain.
 *
 * Oracles, none of them cio's own bookkeeping: the bytes that come out of a socket or a file
 * (read back with plain system calls on the real backends: recv(2), pread(2), poll(2)), the
 * completion counts and order the callbacks record, and the link rule written out here from
 * op.h (chain_model) against each op's result. On the mock a read or a write may be short by
 * the seed's choice: the model then says where the chain must break.
 *
 * And one test that the chain went to the kernel in one submission (io_uring with kernel links
 * only; CIO_URING_DISABLE=links turns them off): a chain send(a) -> recv(b) -> send(c) on socket
 * pairs, with exactly one cio_loop_run(CIO_RUN_ONCE) and no other turn. Without kernel links the
 * third op cannot reach the kernel in that call: its SQE is written only by the core after the
 * callback of the second, whose completion that call does not reap (the first completion ends the
 * wait; the second op's SQE goes out only at the run's end). So bytes in c's peer after that one
 * call, seen by poll(2), show that the kernel started the third op itself. The loop's count of
 * enters is checked as well, as a second witness.
 *
 * CIO_TEST_PORTABLE
 *
 * CIO_TEST_SEEDS_EXACT: also under 1,000 mock seeds, without faults: the checks are exact
 * (tests/CMakeLists.txt).
 */
#include "test.h"

#include <cio.h>

static cio_loop loop;
static int on_mock;

/* ---- the rule of op.h, written out ---- */

/* Whether a soft link goes on after `op` completed with `res`. */
static int soft_goes_on(const cio_op *op, int32_t res) {
    if (res < 0) return 0;
    switch (op->opcode) {
    case CIO_OP_READ:
    case CIO_OP_WRITE:
        return (uint32_t)res == op->args.rw.len;
    case CIO_OP_RECV:
    case CIO_OP_SEND:
        return !(op->args.sr.flags & CIO_MSG_WAITALL) || (uint32_t)res == op->args.sr.len;
    default:
        return 1;
    }
}

/* Checks a finished chain against the rule: each op completed once, in order; once a soft link
 * broke (or an op was cancelled, `cancelled` marks those asked), every later op, hard links
 * included, has -CIO_ECANCELED. Returns how many ops ran (not cancelled by the chain). */
static int chain_model(t_op *ops, int n, const int *cancelled) {
    int broken = 0, ran = 0;
    for (int i = 0; i < n; i++) {
        CHECK_EQ(ops[i].finals, 1);
        if (i > 0) CHECK(ops[i - 1].order < ops[i].order);
        if (broken) {
            CHECK_EQ(ops[i].res, -CIO_ECANCELED);
            continue;
        }
        if (cancelled && cancelled[i] && ops[i].res == -CIO_ECANCELED) {
            /* cancelled: a soft link after it breaks, a hard one goes on */
            broken = !(ops[i].op.flags & CIO_F_HARDLINK);
            continue;
        }
        ran++;
        if (ops[i].op.flags & CIO_F_LINK) broken = !soft_goes_on(&ops[i].op, ops[i].res);
    }
    return ran;
}

static void submit(t_op *ops, int n) {
    cio_op *p[32];
    for (int i = 0; i < n; i++) p[i] = &ops[i].op;
    CHECK_EQ(cio_submit_batch(&loop, p, (unsigned)n), 0);
}

static void set_flags(t_op *ops, int n, unsigned flags) {
    for (int i = 0; i + 1 < n; i++) ops[i].op.flags = (uint8_t)flags;
    ops[n - 1].op.flags = 0;
}

/* Bytes waiting in the socket `fd` (up to `cap`, taken into `buf`), without waiting: poll(2)
 * and recv(2) on POSIX; on the mock (whose sockets are its own) and on Windows (where a socket
 * handle is no object to wait on) a receive with CIO_MSG_DONTWAIT through cio. */
static int take_waiting(cio_fd fd, char *buf, int cap) {
    if (!on_mock && !t_on_windows()) {
        if (t_wait_readable(fd, 0) <= 0) return 0;
        long long r = t_sys_recv(fd, buf, (size_t)cap, 0);
        CHECK(r >= 0);
        return (int)r;
    }
    t_op rd;
    cio_prep_recv(&rd.op, fd, buf, (uint32_t)cap, CIO_MSG_DONTWAIT);
    t_arm(&rd);
    CHECK_EQ(cio_submit(&loop, &rd.op), 0);
    t_run_until(&loop, &rd.finals, 10);
    return rd.res == -CIO_EAGAIN ? 0 : rd.res;
}

/* Sends all of buf through cio (the mock's sockets know no other way), looping on short sends. */
static void send_all(cio_fd fd, const char *buf, int len) {
    while (len > 0) {
        t_op w;
        cio_prep_send(&w.op, fd, buf, (uint32_t)len, 0);
        t_arm(&w);
        CHECK_EQ(cio_submit(&loop, &w.op), 0);
        t_run_until(&loop, &w.finals, 10); /* other ops may wait for these bytes */
        if (w.res < 0 && on_mock) return; /* an injected fault */
        CHECK(w.res > 0);
        buf += w.res;
        len -= w.res;
    }
}

/* Closes both handles of a pair through cio (the mock's handles know no other way). */
static void close_pair(const cio_fd fds[2]) {
    for (int i = 0; i < 2; i++) {
        t_op c;
        cio_prep_close(&c.op, fds[i]);
        t_arm(&c);
        CHECK_EQ(cio_submit(&loop, &c.op), 0);
        t_run(&loop, 10);
    }
}

/* ---- the cases ---- */

/* Sends then receives through two socket pairs, all one soft chain: the bytes that come out are
 * the bytes that went in, in order. */
static void case_bytes(void) {
    cio_fd a[2], b[2];
    CHECK_EQ(cio_socket_pair(&loop, SOCK_STREAM, a), 0);
    CHECK_EQ(cio_socket_pair(&loop, SOCK_STREAM, b), 0);
    enum { N = 8, L = 512 };
    static char out[N / 2][L], in[N / 2][L];
    t_op ops[N];
    for (int i = 0; i < N / 2; i++) {
        for (int k = 0; k < L; k++) out[i][k] = (char)(i * 31 + k * 7 + 1);
        cio_prep_send(&ops[i].op, a[0], out[i], L, CIO_MSG_WAITALL);
        t_arm(&ops[i]);
    }
    for (int i = 0; i < N / 2; i++) {
        memset(in[i], 0, L);
        cio_prep_recv(&ops[N / 2 + i].op, a[1], in[i], L, CIO_MSG_WAITALL);
        t_arm(&ops[N / 2 + i]);
    }
    set_flags(ops, N, CIO_F_LINK);
    submit(ops, N);
    t_run(&loop, 10);
    int ran = chain_model(ops, N, NULL);
    if (!on_mock) CHECK_EQ(ran, N);
    /* What came out is a prefix of what went in. */
    static char sent[N / 2 * L], got[N / 2 * L];
    int ns = 0, ng = 0;
    for (int i = 0; i < N / 2; i++)
        if (ops[i].res > 0) memcpy(sent + ns, out[i], (size_t)ops[i].res), ns += ops[i].res;
    for (int i = 0; i < N / 2; i++)
        if (ops[N / 2 + i].res > 0) memcpy(got + ng, in[i], (size_t)ops[N / 2 + i].res), ng += ops[N / 2 + i].res;
    CHECK(ng <= ns);
    CHECK(memcmp(sent, got, (size_t)ng) == 0);
    /* Whatever was sent and not received is still there, in order. */
    char rest[N / 2 * L];
    int nr = 0;
    for (int tries = 0; tries < 100 && ng + nr < ns; tries++) nr += take_waiting(a[1], rest + nr, ns - ng - nr);
    if (!on_mock) CHECK_EQ(ng + nr, ns);
    CHECK(memcmp(sent + ng, rest, (size_t)nr) == 0);
    close_pair(a);
    close_pair(b);
}

/* Writes at offsets, an fsync, reads at offsets, one soft chain; then a read past the end (a
 * short read) breaks it. The file is read back with pread(2). Not on the mock (its files are not
 * the system's). */
static void case_file(void) {
    if (on_mock) return;
    char path[512];
    snprintf(path, sizeof path, "%s/links_kernel.bin", t_tmpdir());
    cio_fd fd = t_sys_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600); /* the platform's flags (port.h) */
    CHECK(fd != T_FD_NONE);
    enum { L = 4096 };
    static char w1[L], w2[L], r1[2 * L], r2[16];
    for (int k = 0; k < L; k++) w1[k] = (char)('a' + k % 26), w2[k] = (char)('A' + k % 23);
    t_op ops[6];
    cio_prep_write(&ops[0].op, fd, w1, L, 0);
    cio_prep_write(&ops[1].op, fd, w2, L, L);
    cio_prep_fsync(&ops[2].op, fd, 0);
    cio_prep_read(&ops[3].op, fd, r1, 2 * L, 0);
    cio_prep_read(&ops[4].op, fd, r2, sizeof r2, 2 * L - 4); /* 4 bytes left: short */
    cio_prep_nop(&ops[5].op);
    for (int i = 0; i < 6; i++) t_arm(&ops[i]);
    set_flags(ops, 6, CIO_F_LINK);
    submit(ops, 6);
    t_run(&loop, 20);
    CHECK_EQ(chain_model(ops, 6, NULL), 5);
    CHECK_EQ(ops[0].res, L);
    CHECK_EQ(ops[1].res, L);
    CHECK_EQ(ops[2].res, 0);
    CHECK_EQ(ops[3].res, 2 * L);
    CHECK_EQ(ops[4].res, 4);
    CHECK_EQ(ops[5].res, -CIO_ECANCELED);
    static char check[2 * L];
    CHECK_EQ(t_sys_pread(fd, check, sizeof check, 0), 2 * L);
    CHECK(memcmp(check, r1, 2 * L) == 0);
    CHECK(memcmp(check, w1, L) == 0 && memcmp(check + L, w2, L) == 0);
    CHECK(memcmp(r2, w2 + L - 4, 4) == 0);
    t_close_handle(fd);
}

/* A soft link broken by an error and by a short receive at the end of the stream; hard links
 * go on after errors, but not after an op the chain cancelled. */
static void case_breaks(void) {
    cio_fd s[2];
    CHECK_EQ(cio_socket_pair(&loop, SOCK_STREAM, s), 0);
    cio_fd bad = (cio_fd)1000; /* not open: as tests/test_links.c */
    char buf[16];

    /* An error breaks it: a read of a handle that is not open. */
    t_op e[4];
    cio_prep_nop(&e[0].op);
    cio_prep_read(&e[1].op, bad, buf, 4, 0);
    cio_prep_send(&e[2].op, s[0], "zz", 2, 0);
    cio_prep_nop(&e[3].op);
    for (int i = 0; i < 4; i++) t_arm(&e[i]);
    set_flags(e, 4, CIO_F_LINK);
    e[2].op.flags = CIO_F_HARDLINK; /* does not revive the chain */
    submit(e, 4);
    t_run(&loop, 10);
    CHECK_EQ(chain_model(e, 4, NULL), 2);
    CHECK_EQ(e[0].res, 0);
    CHECK_EQ(e[1].res, -CIO_EBADF);
    CHECK_EQ(take_waiting(s[1], buf, sizeof buf), 0); /* the send never ran */

    /* Hard links go on after errors. */
    t_op h[4];
    cio_prep_read(&h[0].op, bad, buf, 4, 0);
    cio_prep_send(&h[1].op, s[0], "hard", 4, CIO_MSG_WAITALL);
    cio_prep_read(&h[2].op, bad, buf, 4, 0);
    cio_prep_nop(&h[3].op);
    for (int i = 0; i < 4; i++) t_arm(&h[i]);
    set_flags(h, 4, CIO_F_HARDLINK);
    submit(h, 4);
    t_run(&loop, 10);
    CHECK_EQ(chain_model(h, 4, NULL), 4);
    CHECK_EQ(h[0].res, -CIO_EBADF);
    CHECK_EQ(h[2].res, -CIO_EBADF);
    CHECK_EQ(h[3].res, 0);
    if (h[1].res == 4) {
        char got[4] = {0};
        int n = 0;
        for (int tries = 0; tries < 100 && n < 4; tries++) n += take_waiting(s[1], got + n, 4 - n);
        CHECK_EQ(n, 4);
        CHECK(memcmp(got, "hard", 4) == 0);
    } else {
        CHECK(on_mock);
    }

    /* A short receive: 2 bytes then the end of the stream, 8 asked. Without MSG_WAITALL a short
     * receive goes on; with it, it breaks the chain. */
    send_all(s[0], "xy", 2);
    t_op r[3];
    cio_prep_recv(&r[0].op, s[1], buf, 1, 0); /* takes one byte: goes on (not WAITALL) */
    cio_prep_recv(&r[1].op, s[1], buf + 1, 8, CIO_MSG_WAITALL);
    cio_prep_nop(&r[2].op);
    for (int i = 0; i < 3; i++) t_arm(&r[i]);
    set_flags(r, 3, CIO_F_LINK);
    t_op shut;
    cio_prep_shutdown(&shut.op, s[0], CIO_SHUT_WR);
    t_arm(&shut);
    CHECK_EQ(cio_submit(&loop, &shut.op), 0);
    t_run(&loop, 10);
    submit(r, 3);
    t_run(&loop, 10);
    chain_model(r, 3, NULL);
    if (r[0].res == 1) {
        CHECK_EQ(r[1].res, 1);
        CHECK_EQ(r[2].res, -CIO_ECANCELED);
        CHECK(memcmp(buf, "xy", 2) == 0);
    } else {
        CHECK(on_mock);
    }
    close_pair(s);
}

/* Cancels of the head, of a middle op and of the last op while the chain waits for its head
 * (a receive with no data yet), with cio_cancel and with a CIO_OP_CANCEL in the chain's own
 * batch. Exact counts; the sends that were cancelled never ran (their peer has nothing). */
static void case_cancel(int which, int in_batch) {
    cio_fd a[2], b[2];
    CHECK_EQ(cio_socket_pair(&loop, SOCK_STREAM, a), 0);
    CHECK_EQ(cio_socket_pair(&loop, SOCK_STREAM, b), 0);
    char buf[8], got[16];
    t_op ops[5], cancel;
    cio_prep_recv(&ops[0].op, a[1], buf, 4, CIO_MSG_WAITALL);
    cio_prep_nop(&ops[1].op);
    cio_prep_send(&ops[2].op, b[0], "mid!", 4, CIO_MSG_WAITALL);
    cio_prep_nop(&ops[3].op);
    cio_prep_send(&ops[4].op, b[0], "end!", 4, CIO_MSG_WAITALL);
    for (int i = 0; i < 5; i++) t_arm(&ops[i]);
    set_flags(ops, 5, CIO_F_LINK);
    int target = which == 0 ? 0 : which == 1 ? 2 : 4;
    int cancelled[5] = {0};
    cancelled[target] = 1;
    cio_prep_cancel(&cancel.op, &ops[target].op);
    t_arm(&cancel);
    if (in_batch) {
        cio_op *p[6] = {&ops[0].op, &ops[1].op, &ops[2].op, &ops[3].op, &ops[4].op, &cancel.op};
        CHECK_EQ(cio_submit_batch(&loop, p, 6), 0);
    } else {
        submit(ops, 5);
        CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0); /* the chain is in the kernel now */
        CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
        CHECK_EQ(ops[0].finals, 0);
        CHECK_EQ(cio_cancel(&loop, &ops[target].op), 0);
        cancel.finals = 1; /* not used */
        cancel.res = 0;
    }
    CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    if (which != 0) {
        CHECK_EQ(ops[0].finals, 0);
        send_all(a[0], "head", 4); /* now the head completes and the chain goes on */
    }
    t_run(&loop, 10);
    CHECK_EQ(cancel.finals, 1);
    CHECK_EQ(cancel.res, 0);
    int ran = chain_model(ops, 5, cancelled);
    CHECK_EQ(ops[target].res, -CIO_ECANCELED);
    int n = 0;
    for (int tries = 0; tries < 20; tries++) n += take_waiting(b[1], got + n, (int)sizeof got - n);
    if (which == 0) {
        CHECK_EQ(ran, 0);
        CHECK_EQ(n, 0);
    } else if (which == 1) {
        CHECK_EQ(ran, on_mock ? ran : 2);
        CHECK_EQ(n, 0);
    } else if (!on_mock || ran == 4) {
        CHECK_EQ(ran, 4);
        CHECK_EQ(n, 4);
        CHECK(memcmp(got, "mid!", 4) == 0);
    }
    close_pair(a);
    close_pair(b);
}

/* A cancel in the chain's own batch of an op behind a head that completes at once: the cancelled
 * send never runs (on io_uring its SQE is taken back before the kernel sees it). */
static void case_cancel_inline_head(void) {
    cio_fd b[2];
    CHECK_EQ(cio_socket_pair(&loop, SOCK_STREAM, b), 0);
    char got[8];
    t_op ops[4], cancel;
    cio_prep_nop(&ops[0].op);
    cio_prep_send(&ops[1].op, b[0], "no", 2, CIO_MSG_WAITALL);
    cio_prep_nop(&ops[2].op);
    cio_prep_send(&ops[3].op, b[0], "no", 2, CIO_MSG_WAITALL);
    for (int i = 0; i < 4; i++) t_arm(&ops[i]);
    set_flags(ops, 4, CIO_F_LINK);
    cio_prep_cancel(&cancel.op, &ops[1].op);
    t_arm(&cancel);
    cio_op *p[5] = {&ops[0].op, &ops[1].op, &ops[2].op, &ops[3].op, &cancel.op};
    CHECK_EQ(cio_submit_batch(&loop, p, 5), 0);
    t_run(&loop, 10);
    int cancelled[4] = {0, 1, 0, 0};
    CHECK_EQ(chain_model(ops, 4, cancelled), 1);
    CHECK_EQ(ops[0].res, 0);
    CHECK_EQ(ops[1].res, -CIO_ECANCELED);
    CHECK_EQ(cancel.res, 0);
    int n = 0;
    for (int tries = 0; tries < 20; tries++) n += take_waiting(b[1], got + n, (int)sizeof got - n);
    CHECK_EQ(n, 0);
    close_pair(b);
}

/* Deadlines inside a chain: an op whose turn comes past its deadline fails with -CIO_ETIMEDOUT
 * without running (its bytes stay in the socket), and breaks the soft link after it; one whose
 * turn comes in time runs. */
static void case_deadline(void) {
    cio_fd a[2];
    CHECK_EQ(cio_socket_pair(&loop, SOCK_STREAM, a), 0);
    char b1[4], b2[4], rest[8];
    t_op ops[4];
    cio_prep_recv(&ops[0].op, a[1], b1, 4, CIO_MSG_WAITALL); /* waits for the peer */
    cio_prep_recv(&ops[1].op, a[1], b2, 4, CIO_MSG_WAITALL);
    cio_prep_nop(&ops[2].op);
    cio_prep_nop(&ops[3].op);
    for (int i = 0; i < 4; i++) t_arm(&ops[i]);
    set_flags(ops, 4, CIO_F_LINK);
    ops[1].op.deadline = cio_now(&loop) + 20 * 1000000ull;
    submit(ops, 4);
    t_op wait;
    cio_prep_timeout(&wait.op, 60 * 1000000ull, 0);
    t_arm(&wait);
    CHECK_EQ(cio_submit(&loop, &wait.op), 0);
    t_run_until(&loop, &wait.finals, 10);
    CHECK_EQ(ops[0].finals, 0);
    send_all(a[0], "12345678", 8);
    t_run(&loop, 10);
    chain_model(ops, 4, NULL);
    CHECK_EQ(ops[0].res, 4);
    CHECK_EQ(ops[1].res, -CIO_ETIMEDOUT);
    CHECK_EQ(ops[2].res, -CIO_ECANCELED);
    CHECK_EQ(ops[3].res, -CIO_ECANCELED);
    int n = 0;
    for (int tries = 0; tries < 100 && n < 4; tries++) n += take_waiting(a[1], rest + n, 4 - n);
    CHECK_EQ(n, 4);
    CHECK(memcmp(rest, "5678", 4) == 0);

    /* In time: a generous deadline on the middle op. */
    t_op ok[3];
    cio_prep_send(&ok[0].op, a[0], "ab", 2, CIO_MSG_WAITALL);
    cio_prep_recv(&ok[1].op, a[1], b2, 2, CIO_MSG_WAITALL);
    cio_prep_nop(&ok[2].op);
    for (int i = 0; i < 3; i++) t_arm(&ok[i]);
    set_flags(ok, 3, CIO_F_LINK);
    ok[1].op.deadline = cio_now(&loop) + 30ull * 1000000000ull;
    submit(ok, 3);
    t_run(&loop, 10);
    chain_model(ok, 3, NULL);
    if (!on_mock) {
        CHECK_EQ(ok[1].res, 2);
        CHECK_EQ(ok[2].res, 0);
    }
    close_pair(a);
}

/* The loop closes in the middle of a chain: with the chain waiting in the kernel behind its head,
 * and with the chain only staged (no turn yet). Every op completes once; the sends after the head
 * never run. Real backends only: the oracle reads the peer after the loop is gone. */
static void case_close(int staged) {
    if (on_mock) return;
    cio_fd a[2], b[2];
    CHECK_EQ(t_socketpair(a), 0);
    CHECK_EQ(t_socketpair(b), 0);
    cio_loop l2;
    t_loop_init(&l2, 64);
    char buf[4];
    t_op ops[4];
    if (staged)
        cio_prep_nop(&ops[0].op); /* completes at once: the rest must still not run */
    else
        cio_prep_recv(&ops[0].op, a[1], buf, 4, 0);
    cio_prep_send(&ops[1].op, b[0], "x", 1, 0);
    cio_prep_nop(&ops[2].op);
    cio_prep_send(&ops[3].op, b[0], "y", 1, 0);
    for (int i = 0; i < 4; i++) t_arm(&ops[i]);
    set_flags(ops, 4, CIO_F_LINK);
    cio_op *p[4] = {&ops[0].op, &ops[1].op, &ops[2].op, &ops[3].op};
    CHECK_EQ(cio_submit_batch(&l2, p, 4), 0);
    if (!staged) {
        CHECK(cio_loop_run(&l2, CIO_RUN_NOWAIT) >= 0);
        CHECK_EQ(ops[0].finals, 0);
    }
    CHECK_EQ(cio_loop_close(&l2), 0);
    for (int i = 0; i < 4; i++) CHECK_EQ(ops[i].finals, 1);
    for (int i = 1; i < 4; i++) CHECK_EQ(ops[i].res, -CIO_ECANCELED);
    CHECK(ops[0].res == (staged ? 0 : -CIO_ECANCELED) || ops[0].res == -CIO_ECANCELED);
    char none[4];
    CHECK_EQ(take_waiting(b[1], none, sizeof none), 0); /* nothing was sent */
    for (int i = 0; i < 2; i++) t_close_handle(a[i]), t_close_handle(b[i]);
}

/* The chain went to the kernel in one submission (see the top). */
static void case_one_enter(void) {
#if defined(__linux__)
    if (cio_loop_backend(&loop) != CIO_BACKEND_URING) return;
    const char *off = getenv("CIO_URING_DISABLE");
    int kernel_links = !(off && strstr(off, "links"));
    cio_fd a[2], b[2], c[2];
    CHECK_EQ(t_socketpair(a), 0);
    CHECK_EQ(t_socketpair(b), 0);
    CHECK_EQ(t_socketpair(c), 0);
    CHECK_EQ(t_sys_send(b[0], "data", 4, 0), 4); /* for the receive */
    char buf[4];
    enum { N = 12 }; /* long enough that the kernel's task work needs asking for it (uring.c) */
    t_op ops[N];
    cio_prep_send(&ops[0].op, a[0], "abcd", 4, 0);
    cio_prep_recv(&ops[1].op, b[1], buf, 4, 0);
    for (int i = 2; i < N - 1; i++) cio_prep_nop(&ops[i].op);
    cio_prep_send(&ops[N - 1].op, c[0], "wxyz", 4, 0);
    for (int i = 0; i < N; i++) t_arm(&ops[i]);
    set_flags(ops, N, CIO_F_LINK);
    cio_stats before, after;
    cio_loop_stats(&loop, &before);
    submit(ops, N);
    CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0); /* exactly one call */
    cio_loop_stats(&loop, &after);
    int third_ran = t_wait_readable(c[1], 0) > 0;
    printf("one run: the last op %s, %llu enters\n", third_ran ? "ran" : "did not run",
           (unsigned long long)(after.enters - before.enters));
    if (kernel_links) {
        CHECK(third_ran);
        CHECK_EQ(after.enters - before.enters, 1);
    }
    t_run(&loop, 10);
    CHECK_EQ(chain_model(ops, N, NULL), N);
    for (int i = 0; i < 2; i++) t_close_handle(a[i]), t_close_handle(b[i]), t_close_handle(c[i]);
#endif
}

/* A recv with CIO_MSG_WAITALL of part of a datagram: the datagram is cut at `len` bytes, which
 * is all that was asked, so by cio's rule the chain goes on; io_uring's own link would break
 * there (it fails a WAITALL recv on a truncated message), so such a recv must stay out of kernel
 * runs. (Regression: kernel chains broke here.) Windows may report the cut as an error: the
 * model then says the chain broke. */
static void case_waitall_datagram(void) {
    cio_fd d[2];
    CHECK_EQ(cio_socket_pair(&loop, SOCK_DGRAM, d), 0);
    send_all(d[1], "0123456789abcdef", 16);
    char buf[8];
    t_op c[2];
    cio_prep_recv(&c[0].op, d[0], buf, sizeof buf, CIO_MSG_WAITALL);
    cio_prep_nop(&c[1].op);
    for (int i = 0; i < 2; i++) t_arm(&c[i]);
    set_flags(c, 2, CIO_F_LINK);
    submit(c, 2);
    t_run_until(&loop, &c[1].finals, 10);
    chain_model(c, 2, NULL);
    if (c[0].res == (int32_t)sizeof buf) {
        CHECK_EQ(memcmp(buf, "01234567", sizeof buf), 0);
        CHECK_EQ(c[1].res, 0);
    }
    close_pair(d);
}

int main(void) {
    t_loop_init(&loop, 64);
    on_mock = cio_loop_backend(&loop) == CIO_BACKEND_MOCK;
    case_one_enter();
    case_bytes();
    case_file();
    case_breaks();
    case_waitall_datagram();
    for (int which = 0; which < 3; which++)
        for (int in_batch = 0; in_batch < 2; in_batch++) case_cancel(which, in_batch);
    case_cancel_inline_head();
    case_deadline();
    case_close(0);
    case_close(1);
    t_close(&loop);
    puts("links_kernel: ok");
    return 0;
}
