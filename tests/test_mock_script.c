/*
 * test_mock_script - scripted results on the mock backend
 * (cio/mock_script.h). The oracle is the script itself and the test's own
 * byte stream: a scripted read must deliver exactly the bytes the rule was
 * given (checked byte by byte, and nothing past the count written), each op
 * must complete exactly once with the scripted result, at the scripted
 * virtual time, and ops the script does not take must behave as the
 * simulated world does (bytes through a pipe, checked against the bytes the
 * writer sent). It names its backend itself: ctest runs it once
 * (CIO_TEST_ONCE). CIO_TEST_PORTABLE (the strict-mode report, read from a forked child, is POSIX-only).
 */
#include "mock_util.h"

#define MS (1000ull * 1000)
#define SEC (1000ull * MS)
#define MATCH_BOTH (CIO_MOCK_MATCH_FD | CIO_MOCK_MATCH_OPCODE)

static int add(cio_loop *loop, cio_mock_rule r) {
    int id = cio_mock_script_add(loop, &r);
    CHECK(id > 0);
    return id;
}

/* Closes a loop left with nothing in flight and no simulated handle open:
 * the mock's invariants (cio/mock.h) find nothing
 * to report about scripted ops either. */
static void close_clean(cio_loop *loop) {
    uint64_t before = cio_mock_violations(NULL);
    CHECK_EQ(cio_mock_violations(loop), 0);
    t_close(loop);
    CHECK_EQ(cio_mock_violations(NULL) - before, 0);
}

static cio_mock_script_counts counts(cio_loop *loop) {
    cio_mock_script_counts c;
    CHECK_EQ(cio_mock_script_stats(loop, &c), 0);
    return c;
}

/* ---- a scripted read gets the rule's bytes, and nothing past them ---- */

static void scripted_read(void) {
    cio_loop loop;
    mock_loop(&loop, 11);
    CHECK_EQ(cio_mock_script_mode(&loop, CIO_MOCK_SCRIPT_STRICT), 0);
    unsigned char data[300];
    for (int i = 0; i < 300; i++) data[i] = byte_at((uint64_t)i);
    /* read of 64 from 300 bytes: 64; recv of 400 from 300: 300; readv
     * over 3 buffers (10, 0, 50) from 40: 40; read with end of file: 0. */
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_READ, .data = data, .data_len = 300});
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_RECV, .data = data, .data_len = 300});
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_READV, .data = data + 100, .data_len = 40});
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_READ, .data = data, .data_len = 0});
    memset(data, 0, sizeof data); /* the script holds its own copy */

    static unsigned char b1[128], b2[512], v0[10], v1[4], v2[50], b4[16];
    memset(b1, 0xEE, sizeof b1);
    memset(b2, 0xEE, sizeof b2);
    memset(v0, 0xEE, sizeof v0);
    memset(v1, 0xEE, sizeof v1);
    memset(v2, 0xEE, sizeof v2);
    memset(b4, 0xEE, sizeof b4);
    cio_iovec iov[3] = {{.iov_base = v0, .iov_len = 10}, {.iov_base = v1, .iov_len = 0}, {.iov_base = v2, .iov_len = 50}};
    t_op r1, r2, r3, r4;
    cio_prep_read(&r1.op, 7, b1, 64, 0);
    cio_prep_recv(&r2.op, 7, b2, 400, 0);
    cio_prep_readv(&r3.op, 7, iov, 3, 0);
    cio_prep_read(&r4.op, 7, b4, sizeof b4, 0);
    submit(&loop, &r1);
    submit(&loop, &r2);
    submit(&loop, &r3);
    submit(&loop, &r4);
    t_run(&loop, 10.0);
    CHECK_EQ(r1.finals, 1);
    CHECK_EQ(r1.res, 64);
    CHECK_EQ(r2.finals, 1);
    CHECK_EQ(r2.res, 300);
    CHECK_EQ(r3.finals, 1);
    CHECK_EQ(r3.res, 40);
    CHECK_EQ(r4.finals, 1);
    CHECK_EQ(r4.res, 0);
    for (int i = 0; i < 128; i++) CHECK_EQ(b1[i], i < 64 ? byte_at((uint64_t)i) : 0xEE);
    for (int i = 0; i < 512; i++) CHECK_EQ(b2[i], i < 300 ? byte_at((uint64_t)i) : 0xEE);
    for (int i = 0; i < 10; i++) CHECK_EQ(v0[i], byte_at(100 + (uint64_t)i));
    for (int i = 0; i < 4; i++) CHECK_EQ(v1[i], 0xEE);
    for (int i = 0; i < 50; i++) CHECK_EQ(v2[i], i < 30 ? byte_at(110 + (uint64_t)i) : 0xEE);
    for (int i = 0; i < 16; i++) CHECK_EQ(b4[i], 0xEE);
    cio_mock_script_counts c = counts(&loop);
    CHECK_EQ(c.scripted, 4);
    CHECK_EQ(c.unscripted, 0);
    CHECK_EQ(c.ended, 0);
    CHECK_EQ(c.rules_left, 0);
    CHECK_EQ(c.mode, CIO_MOCK_SCRIPT_STRICT);
    CHECK_EQ(cio_mock_script_unused(&loop, NULL, 0), 0);
    close_clean(&loop);
}

/* ---- an error result; a count is cut to what the op asked ---- */

static void error_result(void) {
    cio_loop loop;
    mock_loop(&loop, 12);
    CHECK_EQ(cio_mock_script_mode(&loop, CIO_MOCK_SCRIPT_STRICT), 0);
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_RECV, .res = -CIO_ECONNRESET});
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_SEND, .res = 1000});
    add(&loop, (cio_mock_rule){.match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_WRITE, .res = 3});
    unsigned char buf[32];
    memset(buf, 0xEE, sizeof buf);
    t_op r, s, w;
    cio_prep_recv(&r.op, 7, buf, sizeof buf, 0);
    cio_prep_send(&s.op, 7, "0123456789", 10, 0);
    cio_prep_write(&w.op, 8, "abcdef", 6, 0);
    submit(&loop, &r);
    submit(&loop, &s);
    submit(&loop, &w);
    t_run(&loop, 10.0);
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(r.res, -CIO_ECONNRESET);
    for (int i = 0; i < 32; i++) CHECK_EQ(buf[i], 0xEE);
    CHECK_EQ(s.finals, 1);
    CHECK_EQ(s.res, 10); /* 1000 cut to the 10 asked */
    CHECK_EQ(w.finals, 1);
    CHECK_EQ(w.res, 3); /* a short write, as scripted */
    close_clean(&loop);
}

/* ---- order: the Nth op submitted on the loop ---- */

static void order_matching(void) {
    cio_loop loop;
    mock_loop(&loop, 13);
    /* Partial: ops 1, 2, 4, 6 are the world's nops (0); op 3 fails, and
     * the rule from 5 on takes op 5 only (once). */
    add(&loop, (cio_mock_rule){.order = 3, .res = -CIO_EIO});
    add(&loop, (cio_mock_rule){.order = 5, .res = 55});
    t_op ops[6];
    cio_op *batch[6];
    for (int i = 0; i < 6; i++) {
        cio_prep_nop(&ops[i].op);
        t_arm(&ops[i]);
        batch[i] = &ops[i].op;
    }
    CHECK_EQ(cio_submit_batch(&loop, batch, 6), 0);
    t_run(&loop, 10.0);
    int32_t want[6] = {0, 0, -CIO_EIO, 0, 55, 0};
    for (int i = 0; i < 6; i++) {
        CHECK_EQ(ops[i].finals, 1);
        CHECK_EQ(ops[i].res, want[i]);
    }
    cio_mock_script_counts c = counts(&loop);
    CHECK_EQ(c.ops, 6);
    CHECK_EQ(c.scripted, 2);
    CHECK_EQ(c.unscripted, 4);
    /* Order counts on across runs of the loop: op 7 is the next. */
    add(&loop, (cio_mock_rule){.order = 7, .match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_NOP, .res = 77});
    t_op n;
    cio_prep_nop(&n.op);
    submit(&loop, &n);
    t_run(&loop, 10.0);
    CHECK_EQ(n.finals, 1);
    CHECK_EQ(n.res, 77);
    close_clean(&loop);
}

/* ---- handle, and the Nth op matching the handle and opcode ---- */

static void handle_matching(void) {
    cio_loop loop;
    mock_loop(&loop, 14);
    CHECK_EQ(cio_mock_script_mode(&loop, CIO_MOCK_SCRIPT_STRICT), 0);
    /* The 2nd write on fd 5 fails; every op on fd 5 otherwise gets 11,
     * every op on fd 6 22. The nth rule comes first, so it wins when due. */
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 5, .opcode = CIO_OP_WRITE, .nth = 2, .res = -CIO_EPIPE});
    add(&loop, (cio_mock_rule){.match = CIO_MOCK_MATCH_FD, .fd = 5, .res = 11, .times = CIO_MOCK_ALWAYS});
    add(&loop, (cio_mock_rule){.match = CIO_MOCK_MATCH_FD, .fd = 6, .res = 22, .times = CIO_MOCK_ALWAYS});
    char buf[64];
    /* fd:  6 5 5 5 6 5 (close of 5 also names 5) */
    cio_fd fds[6] = {6, 5, 5, 5, 6, 5};
    int32_t want[6] = {22, 11, -CIO_EPIPE, 11, 22, 11};
    t_op ops[6];
    for (int i = 0; i < 6; i++) {
        if (i == 5)
            cio_prep_close(&ops[i].op, fds[i]);
        else
            cio_prep_write(&ops[i].op, fds[i], buf, sizeof buf, 0);
        submit(&loop, &ops[i]);
        run_until_done(&loop, &ops[i]); /* one at a time: the order is the test's */
        CHECK_EQ(ops[i].finals, 1);
        CHECK_EQ(ops[i].res, want[i]);
    }
    CHECK_EQ(counts(&loop).scripted, 6);
    CHECK_EQ(cio_mock_script_unused(&loop, NULL, 0), 0);
    close_clean(&loop);
}

/* ---- repeat counts: once, N times, always ---- */

static void repeat_counts(void) {
    cio_loop loop;
    mock_loop(&loop, 15);
    CHECK_EQ(cio_mock_script_mode(&loop, CIO_MOCK_SCRIPT_STRICT), 0);
    add(&loop, (cio_mock_rule){.res = 1});              /* once (times 0) */
    add(&loop, (cio_mock_rule){.res = 7, .times = 3}); /* three times */
    add(&loop, (cio_mock_rule){.res = 9, .times = CIO_MOCK_ALWAYS});
    int32_t want[8] = {1, 7, 7, 7, 9, 9, 9, 9};
    for (int i = 0; i < 8; i++) {
        t_op n;
        cio_prep_nop(&n.op);
        submit(&loop, &n);
        t_run(&loop, 10.0);
        CHECK_EQ(n.finals, 1);
        CHECK_EQ(n.res, want[i]);
    }
    cio_mock_script_counts c = counts(&loop);
    CHECK_EQ(c.scripted, 8);
    CHECK_EQ(c.rules_left, 0);
    close_clean(&loop);
}

#if !defined(_WIN32)
/* ---- strict mode: an op nobody scripted fails once, and is reported ---- */

static void strict_child(void *arg) {
    (void)arg;
    cio_loop loop;
    mock_loop(&loop, 4242);
    CHECK_EQ(cio_mock_script_mode(&loop, CIO_MOCK_SCRIPT_STRICT), 0);
    static const char x[] = "x";
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 9, .opcode = CIO_OP_READ, .data = x, .data_len = 1});
    add(&loop, (cio_mock_rule){.match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_NOP, .res = 0});
    t_op n, r;
    cio_prep_nop(&n.op);
    submit(&loop, &n); /* op #1: scripted */
    char buf[8];
    cio_prep_recv(&r.op, 7, buf, sizeof buf, 0);
    submit(&loop, &r); /* op #2: no rule */
    t_run(&loop, 10.0);
    settle(&loop); /* a millisecond more: still exactly one completion */
    CHECK_EQ(n.finals, 1);
    CHECK_EQ(n.res, 0);
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(r.res, -CIO_MOCK_UNSCRIPTED);
    CHECK_EQ(r.res, -CIO_EPERM);
    cio_mock_script_counts c = counts(&loop);
    CHECK_EQ(c.unscripted, 1);
    CHECK_EQ(c.scripted, 1);
    CHECK_EQ(c.rules_left, 1);
    int ids[4] = {0};
    CHECK_EQ(cio_mock_script_unused(&loop, ids, 4), 1);
    CHECK_EQ(ids[0], 1);
    close_clean(&loop);
    fprintf(stderr, "child done\n");
}

static void strict_unscripted(void) {
    static char out[8192];
    int status = t_fork_capture(strict_child, NULL, 2, out, sizeof out);
    fputs(out, stdout);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    CHECK(strstr(out, "child done"));
    /* The report names the op (its number, opcode, handle), the seed, the
     * error and the rules left; once, for the one op. */
    const char *line = strstr(out, "cio mock script: op #2 recv on handle 7 matches no rule");
    CHECK(line);
    CHECK(strstr(line, "seed 4242"));
    CHECK(strstr(line, "CIO_EPERM"));
    CHECK(strstr(line, "rule #1 read on handle 9"));
    CHECK(strstr(line, "1 bytes"));
    CHECK(!strstr(strstr(line, "matches no rule") + 1, "matches no rule"));
    CHECK(!strstr(out, "nop matches no rule"));
}
#endif /* !_WIN32: fork */

/* ---- partial mode: one error injected into a real simulated exchange ---- */

#define CHUNK 700
#define MAX_CALLS 12

typedef struct exchange {
    cio_fd rd, wr;
    uint64_t written; /* bytes the world took from the writer */
    int write_calls;
    int failed_call; /* which call failed, from 1 */
    int32_t failure;
    uint64_t got;    /* bytes the reader read, each checked */
    int bad_bytes;
    int done; /* tasks that finished */
} exchange;

static intptr_t writer(void *arg) {
    exchange *x = arg;
    unsigned char buf[CHUNK];
    /* Write the stream on from where the world took it to, until a write
     * fails (the 3rd, scripted) or MAX_CALLS. */
    while (!x->failed_call && x->write_calls < MAX_CALLS) {
        for (int i = 0; i < CHUNK; i++) buf[i] = byte_at(x->written + (uint64_t)i);
        int32_t n = cio_write(x->wr, buf, CHUNK, 0);
        x->write_calls++;
        if (n < 0) {
            x->failed_call = x->write_calls;
            x->failure = n;
            break;
        }
        x->written += (uint64_t)n;
    }
    CHECK_EQ(cio_close(x->wr), 0);
    x->done++;
    return 0;
}

static intptr_t reader(void *arg) {
    exchange *x = arg;
    unsigned char buf[512];
    int32_t n;
    while ((n = cio_read(x->rd, buf, sizeof buf, 0)) > 0) {
        for (int32_t i = 0; i < n; i++)
            if (buf[i] != byte_at(x->got + (uint64_t)i)) x->bad_bytes++;
        x->got += (uint64_t)n;
    }
    CHECK_EQ(n, 0);
    CHECK_EQ(cio_close(x->rd), 0);
    x->done++;
    return 0;
}

static void partial_pipe(void) {
    cio_loop loop;
    mock_loop(&loop, 16);
    exchange x = {0};
    cio_fd fds[2];
    CHECK_EQ(cio_mock_pipe(&loop, fds), 0);
    x.rd = fds[0];
    x.wr = fds[1];
    /* The 3rd write on the write end fails as if the reader had gone. */
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = x.wr, .opcode = CIO_OP_WRITE, .nth = 3, .res = -CIO_EPIPE});
    cio_task *tw, *tr;
    CHECK_EQ(cio_task_spawn(&loop, writer, &x, NULL, &tw), 0);
    CHECK_EQ(cio_task_spawn(&loop, reader, &x, NULL, &tr), 0);
    CHECK_EQ(cio_task_detach(tw), 0);
    CHECK_EQ(cio_task_detach(tr), 0);
    t_run(&loop, 10.0);
    CHECK_EQ(x.done, 2);
    CHECK_EQ(x.failed_call, 3);
    CHECK_EQ(x.failure, -CIO_EPIPE);
    CHECK(x.written > 0); /* the first two went through the world */
    CHECK_EQ(x.got, x.written);
    CHECK_EQ(x.bad_bytes, 0);
    cio_mock_script_counts c = counts(&loop);
    CHECK_EQ(c.scripted, 1);
    CHECK(c.unscripted >= 4); /* 2 writes, reads, 2 closes ran in the world */
    CHECK_EQ(c.rules_left, 0);
    printf("partial: %d write calls, %" PRIu64 " bytes through the world before the injected EPIPE\n", x.write_calls,
           x.written);
    close_clean(&loop);
}

/* ---- latency in virtual time; a deadline first ---- */

typedef struct timed {
    t_op t;
    uint64_t at; /* cio_now() in its callback */
} timed;

static void on_timed(cio_loop *loop, cio_op *op) {
    t_cb(loop, op);
    ((timed *)op)->at = cio_now(loop);
}

static void latency(void) {
    cio_loop loop;
    mock_loop(&loop, 17);
    CHECK_EQ(cio_mock_script_mode(&loop, CIO_MOCK_SCRIPT_STRICT), 0);
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_SEND, .res = 1, .latency_ns = 30 * MS});
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 8, .opcode = CIO_OP_SEND, .res = 1, .latency_ns = 10 * MS});
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 9, .opcode = CIO_OP_SEND, .res = 1, .latency_ns = 5 * SEC});
    timed a, b, d;
    cio_prep_send(&a.t.op, 7, "x", 1, 0);
    cio_prep_send(&b.t.op, 8, "x", 1, 0);
    cio_prep_send(&d.t.op, 9, "x", 1, 0);
    uint64_t t0 = cio_now(&loop);
    d.t.op.deadline = t0 + 2 * SEC; /* before its latency */
    timed *all[3] = {&a, &b, &d};
    for (int i = 0; i < 3; i++) {
        t_arm(&all[i]->t);
        all[i]->t.op.cb = on_timed;
        CHECK_EQ(cio_submit(&loop, &all[i]->t.op), 0);
    }
    double r0 = t_seconds();
    t_run(&loop, 10.0);
    CHECK_EQ(a.t.finals, 1);
    CHECK_EQ(b.t.finals, 1);
    CHECK_EQ(d.t.finals, 1);
    CHECK_EQ(a.t.res, 1);
    CHECK_EQ(b.t.res, 1);
    CHECK_EQ(d.t.res, -CIO_ETIMEDOUT);
    /* Virtual time: exactly the latencies, and the shorter one first. */
    CHECK_EQ(b.at - t0, 10 * MS);
    CHECK_EQ(a.at - t0, 30 * MS);
    CHECK_EQ(d.at - t0, 2 * SEC);
    CHECK(b.t.order < a.t.order);
    CHECK(a.t.order < d.t.order);
    CHECK(t_seconds() - r0 < 1.5); /* two virtual seconds take no real ones */
    CHECK_EQ(counts(&loop).ended, 1);
    close_clean(&loop);
}

/* ---- cancel of a scripted op: exactly once, and no byte copied ---- */

static void cancel_scripted(void) {
    cio_loop loop;
    mock_loop(&loop, 18);
    CHECK_EQ(cio_mock_script_mode(&loop, CIO_MOCK_SCRIPT_STRICT), 0);
    static const char data[] = "never seen";
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_READ, .data = data,
                               .data_len = sizeof data - 1, .latency_ns = SEC, .times = 2});
    char b1[32], b2[32];
    memset(b1, 0xEE, sizeof b1);
    memset(b2, 0xEE, sizeof b2);
    t_op r1, r2, carrier;
    cio_prep_read(&r1.op, 7, b1, sizeof b1, 0);
    cio_prep_read(&r2.op, 7, b2, sizeof b2, 0);
    submit(&loop, &r1);
    submit(&loop, &r2);
    settle(&loop);
    CHECK_EQ(r1.finals + r2.finals, 0);
    /* One by cio_cancel(), one by a CIO_OP_CANCEL (the core's: no rule needed). */
    CHECK_EQ(cio_cancel(&loop, &r1.op), 0);
    cio_prep_cancel(&carrier.op, &r2.op);
    submit(&loop, &carrier);
    t_run(&loop, 10.0);
    /* Past the scripted latency: nothing more comes. */
    t_op tick;
    cio_prep_timeout(&tick.op, 3 * SEC, 0);
    submit(&loop, &tick);
    t_run(&loop, 10.0);
    CHECK_EQ(r1.finals, 1);
    CHECK_EQ(r1.res, -CIO_ECANCELED);
    CHECK_EQ(r2.finals, 1);
    CHECK_EQ(r2.res, -CIO_ECANCELED);
    CHECK_EQ(carrier.finals, 1);
    CHECK_EQ(carrier.res, 0);
    for (int i = 0; i < 32; i++) {
        CHECK_EQ((unsigned char)b1[i], 0xEE);
        CHECK_EQ((unsigned char)b2[i], 0xEE);
    }
    cio_mock_script_counts c = counts(&loop);
    CHECK_EQ(c.scripted, 2);
    CHECK_EQ(c.ended, 2);
    CHECK_EQ(c.rules_left, 0); /* a use is taken at submission */
    close_clean(&loop);
}

/* ---- a close ends the scripted ops on its handle first ---- */

static void close_ends_scripted(void) {
    cio_loop loop;
    mock_loop(&loop, 19);
    cio_fd fds[2];
    CHECK_EQ(cio_mock_pipe(&loop, fds), 0);
    /* Partial: a scripted read on a world pipe, and one on a number of the
     * script's own (7), whose close is scripted too. */
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = fds[0], .opcode = CIO_OP_READ, .res = 5, .latency_ns = SEC});
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_RECV, .res = 5, .latency_ns = SEC});
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_CLOSE, .res = 0});
    char b1[8], b2[8];
    t_op r1, r2, c1, c2, cw;
    cio_prep_read(&r1.op, fds[0], b1, sizeof b1, 0);
    cio_prep_recv(&r2.op, 7, b2, sizeof b2, 0);
    submit(&loop, &r1);
    submit(&loop, &r2);
    settle(&loop);
    cio_prep_close(&c1.op, fds[0]); /* the world's close */
    cio_prep_close(&c2.op, 7);      /* scripted */
    cio_prep_close(&cw.op, fds[1]);
    submit(&loop, &c1);
    submit(&loop, &c2);
    submit(&loop, &cw);
    t_run(&loop, 10.0);
    CHECK_EQ(r1.finals, 1);
    CHECK_EQ(r1.res, -CIO_ECANCELED);
    CHECK_EQ(r2.finals, 1);
    CHECK_EQ(r2.res, -CIO_ECANCELED);
    CHECK_EQ(c1.finals, 1);
    CHECK_EQ(c1.res, 0);
    CHECK_EQ(c2.finals, 1);
    CHECK_EQ(c2.res, 0);
    CHECK_EQ(cw.res, 0);
    CHECK(r1.order < c1.order);
    CHECK(r2.order < c2.order);
    CHECK_EQ(counts(&loop).ended, 2);
    close_clean(&loop);
}

/* ---- MSG_WAITALL and links follow the scripted count ---- */

static void waitall_links(void) {
    cio_loop loop;
    mock_loop(&loop, 20);
    CHECK_EQ(cio_mock_script_mode(&loop, CIO_MOCK_SCRIPT_STRICT), 0);
    unsigned char data[100];
    for (int i = 0; i < 100; i++) data[i] = byte_at((uint64_t)i);
    /* First chain: a short WAITALL recv breaks the link (the send never
     * reaches the mock, so strict mode has nothing to report). Second: a
     * whole one lets the linked send go, which its own rule answers. */
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_RECV, .data = data, .data_len = 40});
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_RECV, .data = data, .data_len = 100});
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_SEND, .res = 100});
    for (int round = 0; round < 2; round++) {
        unsigned char buf[100];
        t_op r, s;
        cio_prep_recv(&r.op, 7, buf, sizeof buf, CIO_MSG_WAITALL);
        r.op.flags = CIO_F_LINK;
        cio_prep_send(&s.op, 7, buf, sizeof buf, 0);
        t_arm(&r);
        t_arm(&s);
        cio_op *batch[2] = {&r.op, &s.op};
        CHECK_EQ(cio_submit_batch(&loop, batch, 2), 0);
        t_run(&loop, 10.0);
        CHECK_EQ(r.finals, 1);
        CHECK_EQ(s.finals, 1);
        CHECK_EQ(r.res, round == 0 ? 40 : 100);
        CHECK_EQ(s.res, round == 0 ? -CIO_ECANCELED : 100);
        for (int i = 0; i < r.res; i++) CHECK_EQ(buf[i], byte_at((uint64_t)i));
    }
    cio_mock_script_counts c = counts(&loop);
    CHECK_EQ(c.unscripted, 0);
    CHECK_EQ(c.scripted, 3);
    close_clean(&loop);
}

/* ---- multishot: one completion, the last ---- */

static void multishot(void) {
    cio_loop loop;
    mock_loop(&loop, 21);
    CHECK_EQ(cio_mock_script_mode(&loop, CIO_MOCK_SCRIPT_STRICT), 0);
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_POLL, .res = (int32_t)CIO_POLLIN,
                               .times = 2});
    t_op p;
    cio_prep_poll(&p.op, 7, CIO_POLLIN);
    for (int i = 0; i < 2; i++) { /* submitted again after its end, as a caller does */
        p.op.flags = CIO_F_MULTISHOT;
        submit(&loop, &p);
        t_run(&loop, 10.0);
        CHECK_EQ(p.finals, 1);
        CHECK_EQ(p.mores, 0);
        CHECK_EQ(p.res, (int32_t)CIO_POLLIN);
    }
    close_clean(&loop);
}

/* ---- a task's blocking-style reads ---- */

typedef struct task_run {
    char text[64];
    size_t len;
    int interrupted;
    cio_mock_script_counts c;
} task_run;

static intptr_t task_reads(void *arg) {
    task_run *tr = arg;
    cio_loop *loop = cio_task_loop();
    CHECK_EQ(cio_mock_script_mode(loop, CIO_MOCK_SCRIPT_STRICT), 0);
    static const char hello[] = "hello ", world[] = "world";
    add(loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 3, .opcode = CIO_OP_READ, .data = hello,
                              .data_len = sizeof hello - 1, .latency_ns = MS});
    add(loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 3, .opcode = CIO_OP_READ, .res = -CIO_EINTR});
    add(loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 3, .opcode = CIO_OP_READ, .data = world,
                              .data_len = sizeof world - 1, .latency_ns = 2 * MS});
    add(loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 3, .opcode = CIO_OP_READ, .data = "", .data_len = 0});
    add(loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 3, .opcode = CIO_OP_CLOSE});
    uint64_t t0 = cio_now(loop);
    for (;;) {
        int32_t n = cio_read(3, tr->text + tr->len, 4, 0); /* 4 at a time: the rule's bytes are cut */
        if (n == -CIO_EINTR) {
            tr->interrupted++;
            continue;
        }
        CHECK(n >= 0);
        if (n == 0) break;
        tr->len += (size_t)n;
    }
    CHECK(cio_now(loop) - t0 >= 3 * MS);
    CHECK_EQ(cio_close(3), 0);
    CHECK_EQ(cio_mock_script_stats(loop, &tr->c), 0);
    return 0;
}

static void task_blocking(void) {
    /* Four bytes a read from 6 and 5 scripted bytes: "hell", then the rule
     * "hello " is used up; so the reads are "hell", EINTR, "worl", EOF. */
    cio_loop_options o = mock_options(22);
    task_run tr = {0};
    intptr_t result = -1;
    CHECK_EQ(cio_main(task_reads, &tr, &o, &result), 0);
    CHECK_EQ(result, 0);
    CHECK_EQ(tr.len, 8);
    CHECK(memcmp(tr.text, "hellworl", 8) == 0);
    CHECK_EQ(tr.interrupted, 1);
    CHECK_EQ(tr.c.scripted, 5);
    CHECK_EQ(tr.c.unscripted, 0);
    CHECK_EQ(tr.c.rules_left, 0);
}

/* ---- rules left unused, reported; clear ---- */

static void unused_rules(void) {
    cio_loop loop;
    mock_loop(&loop, 23);
    int a = add(&loop, (cio_mock_rule){.match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_NOP, .res = 1});
    int b = add(&loop, (cio_mock_rule){.match = CIO_MOCK_MATCH_FD, .fd = 7, .res = 2, .times = 2});
    int c = add(&loop, (cio_mock_rule){.match = CIO_MOCK_MATCH_FD, .fd = 8, .times = CIO_MOCK_ALWAYS});
    int d = add(&loop, (cio_mock_rule){.match = CIO_MOCK_MATCH_FD, .fd = 9, .times = CIO_MOCK_ALWAYS});
    CHECK(a < b && b < c && c < d);
    CHECK_EQ(cio_mock_script_unused(&loop, NULL, 0), 4);
    /* One nop (rule a), one write on 7 (rule b, one use of two), one on 9
     * (rule d: an always rule that took an op is met). */
    t_op n, w7, w9;
    char buf[4] = {0};
    cio_prep_nop(&n.op);
    cio_prep_write(&w7.op, 7, buf, 4, 0);
    cio_prep_write(&w9.op, 9, buf, 4, 0);
    submit(&loop, &n);
    submit(&loop, &w7);
    submit(&loop, &w9);
    t_run(&loop, 10.0);
    CHECK_EQ(n.res, 1);
    CHECK_EQ(w7.res, 2);
    CHECK_EQ(w9.res, 0);
    int ids[8] = {0};
    CHECK_EQ(cio_mock_script_unused(&loop, ids, 8), 2);
    CHECK_EQ(ids[0], b);
    CHECK_EQ(ids[1], c);
    CHECK_EQ(cio_mock_script_unused(&loop, ids, 1), 2); /* the count, whatever the room */
    CHECK_EQ(counts(&loop).rules_left, 2);
    CHECK_EQ(cio_mock_script_report(&loop), 2);
    CHECK_EQ(cio_mock_script_clear(&loop), 0);
    CHECK_EQ(cio_mock_script_unused(&loop, NULL, 0), 0);
    /* Cleared: the next op runs in the world (partial). */
    t_op m;
    cio_prep_nop(&m.op);
    submit(&loop, &m);
    t_run(&loop, 10.0);
    CHECK_EQ(m.res, 0);
    CHECK_EQ(counts(&loop).unscripted, 1);
    CHECK(add(&loop, (cio_mock_rule){0}) > d); /* ids are not used again */
    close_clean(&loop);
}

/* ---- the loop's close ends scripted ops and frees the script ---- */

static void freed_at_close(void) {
    cio_loop loop;
    mock_loop(&loop, 24);
    static unsigned char big[100000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = byte_at(i);
    for (int i = 0; i < 50; i++)
        add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_READ, .data = big,
                                   .data_len = sizeof big, .latency_ns = SEC, .times = 3});
    /* Ops in flight at the close: 5 reads, the first 3 holding a rule used
     * up (out of the list, held by its ops only), 2 the next one. */
    static t_op reads[5];
    static char buf[5][16];
    for (int i = 0; i < 5; i++) {
        cio_prep_read(&reads[i].op, 7, buf[i], sizeof buf[i], 0);
        submit(&loop, &reads[i]);
    }
    settle(&loop);
    CHECK_EQ(cio_mock_script_unused(&loop, NULL, 0), 49);
    close_clean(&loop); /* the close cancels them: no leftover (cio/mock.h) */
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(reads[i].finals, 1);
        CHECK_EQ(reads[i].res, -CIO_ECANCELED);
        for (int j = 0; j < 16; j++) CHECK_EQ(buf[i][j], 0);
    }
    /* A closed loop has no script. */
    CHECK_EQ(cio_mock_script_unused(&loop, NULL, 0), -CIO_EINVAL);
}

/* ---- the simulation's cancel faults meet scripted ops ---- */

static void faults_meet_scripted(void) {
    cio_loop loop;
    mock_loop(&loop, 26);
    static const char data[] = "abcdef";
    add(&loop, (cio_mock_rule){.match = MATCH_BOTH, .fd = 7, .opcode = CIO_OP_READ, .data = data,
                               .data_len = 6, .latency_ns = SEC, .times = 2});
    char b1[8], b2[8];
    memset(b1, 0, sizeof b1);
    memset(b2, 0, sizeof b2);
    t_op r1, r2, k1, k2;
    cio_prep_read(&r1.op, 7, b1, sizeof b1, 0);
    cio_prep_read(&r2.op, 7, b2, sizeof b2, 0);
    submit(&loop, &r1);
    submit(&loop, &r2);
    settle(&loop);
    /* A cancel that meets the op as it finishes: the op has its scripted
     * result (early), the cancel -CIO_ENOENT. */
    CHECK_EQ(cio_mock_set_fault(&loop, CIO_MOCK_FAULT_CANCEL_RACE, 1000000), 0);
    cio_prep_cancel(&k1.op, &r1.op);
    submit(&loop, &k1);
    t_run_until(&loop, &r1.finals, 10.0);
    CHECK_EQ(cio_mock_set_fault(&loop, CIO_MOCK_FAULT_CANCEL_RACE, 0), 0);
    /* A cancel that interrupts it: -CIO_EINTR, nothing copied. */
    CHECK_EQ(cio_mock_set_fault(&loop, CIO_MOCK_FAULT_INTR, 1000000), 0);
    cio_prep_cancel(&k2.op, &r2.op);
    submit(&loop, &k2);
    t_run(&loop, 10.0);
    CHECK_EQ(r1.finals, 1);
    CHECK_EQ(r1.res, 6);
    CHECK(memcmp(b1, "abcdef", 6) == 0);
    CHECK_EQ(k1.res, -CIO_ENOENT);
    CHECK_EQ(r2.finals, 1);
    CHECK_EQ(r2.res, -CIO_EINTR);
    for (int i = 0; i < 8; i++) CHECK_EQ(b2[i], 0);
    CHECK_EQ(k2.res, -CIO_EALREADY);
    cio_mock_script_counts c = counts(&loop);
    CHECK_EQ(c.scripted, 2);
    CHECK_EQ(c.ended, 1);
    close_clean(&loop);
}

/* ---- bad input ---- */

static void bad_input(void) {
    cio_loop_options o;
    memset(&o, 0, sizeof o);
    o.backend = T_REAL_BACKEND;
    cio_loop real;
    CHECK_EQ(cio_loop_init(&real, &o), 0);
    cio_mock_rule ok = {0};
    cio_mock_script_counts c;
    CHECK_EQ(cio_mock_script_add(&real, &ok), -CIO_EINVAL);
    CHECK_EQ(cio_mock_script_mode(&real, CIO_MOCK_SCRIPT_STRICT), -CIO_EINVAL);
    CHECK_EQ(cio_mock_script_unused(&real, NULL, 0), -CIO_EINVAL);
    CHECK_EQ(cio_mock_script_stats(&real, &c), -CIO_EINVAL);
    CHECK_EQ(cio_mock_script_report(&real), -CIO_EINVAL);
    CHECK_EQ(cio_mock_script_clear(&real), -CIO_EINVAL);
    t_close(&real);
    CHECK_EQ(cio_mock_script_add(NULL, &ok), -CIO_EINVAL);
    CHECK_EQ(cio_mock_script_mode(NULL, 0), -CIO_EINVAL);
    CHECK_EQ(cio_mock_script_stats(NULL, &c), -CIO_EINVAL);

    cio_loop loop;
    mock_loop(&loop, 25);
    CHECK_EQ(cio_mock_script_stats(&loop, &c), 0); /* no script yet: zeros */
    CHECK_EQ(c.scripted + c.unscripted + c.rules_left, 0);
    CHECK_EQ(cio_mock_script_add(&loop, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_mock_script_mode(&loop, 2), -CIO_EINVAL);
    CHECK_EQ(cio_mock_script_stats(&loop, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_mock_script_unused(&loop, NULL, 3), -CIO_EINVAL);
    const cio_mock_rule bad[] = {
        {.match = 4},
        {.match = CIO_MOCK_MATCH_OPCODE, .opcode = 0},
        {.match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_COUNT_},
        {.match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_TIMEOUT},
        {.match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_CANCEL},
        {.match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_POST},
        {.data = "x", .data_len = 1},                                               /* data, no opcode */
        {.match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_WRITE, .data = "x", .data_len = 1},
        {.match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_READ, .data_len = 1},    /* length, no data */
        {.match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_READ, .data = "x", .data_len = (size_t)INT32_MAX + 1},
        {.res = -4096},
        {.reserved_ = {1, 0}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK_EQ(cio_mock_script_add(&loop, &bad[i]), -CIO_EINVAL);
    CHECK_EQ(cio_mock_script_unused(&loop, NULL, 0), 0);
    close_clean(&loop);
}

/* ---- the same seed and script, the same run ---- */

static uint64_t scripted_trace(uint64_t seed) {
    cio_loop loop;
    mock_loop(&loop, seed);
    add(&loop, (cio_mock_rule){.order = 4, .res = -CIO_EIO, .latency_ns = 500});
    add(&loop, (cio_mock_rule){.match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_NOP, .nth = 10, .res = 3, .times = 5});
    static t_op ops[32];
    cio_op *batch[32];
    for (int i = 0; i < 32; i++) {
        cio_prep_nop(&ops[i].op);
        t_arm(&ops[i]);
        batch[i] = &ops[i].op;
    }
    CHECK_EQ(cio_submit_batch(&loop, batch, 32), 0);
    t_run(&loop, 10.0);
    for (int i = 0; i < 32; i++) {
        CHECK_EQ(ops[i].finals, 1);
        CHECK_EQ(ops[i].res, i == 3 ? -CIO_EIO : (i >= 9 && i < 14) ? 3 : 0);
    }
    uint64_t tr = cio_mock_trace(&loop);
    close_clean(&loop);
    return tr;
}

static void deterministic(void) {
    CHECK_EQ(scripted_trace(99), scripted_trace(99));
    CHECK(scripted_trace(99) != scripted_trace(100));
}

int main(void) {
    t_unsetenv("CIO_BACKEND"); /* the options name the backend */
    t_unsetenv("CIO_MOCK_SEED");
    t_unsetenv("CIO_MOCK_FAULTS"); /* the script's results, not the simulation's faults */
    scripted_read();
    error_result();
    order_matching();
    handle_matching();
    repeat_counts();
#if !defined(_WIN32)
    strict_unscripted();
#else
    T_SKIP_CASE_ON_WINDOWS("strict_unscripted", "its report is read from a forked child's stderr (fork)");
#endif
    partial_pipe();
    latency();
    cancel_scripted();
    close_ends_scripted();
    waitall_links();
    multishot();
    task_blocking();
    unused_rules();
    freed_at_close();
    faults_meet_scripted();
    bad_input();
    deterministic();
    printf("ok\n");
    return 0;
}
