/*
 * test_mock_faults - the mock backend's faults, invariants and reports
 * (cio/mock.h). Each fault is set to strike at every chance (1,000,000
 * ppm) and its effect is checked against an oracle outside the mock: the
 * bytes a simulated pipe really holds afterwards (read back), completion
 * counts and results as op.h allows them, virtual time, and the text a
 * child process writes to stderr. Faults at rate 0 must not change a run
 * (the trace with and without fault support is equal). The deadlock and
 * leak reports are provoked on purpose. It names its backend itself: ctest
 * runs it once (CIO_TEST_ONCE). CIO_TEST_PORTABLE (the reports, read from a
 * forked child's stderr, are POSIX-only).
 */
#include "mock_util.h"

#if !defined(_WIN32)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#endif

static void mock_loop_faults(cio_loop *loop, uint64_t seed, cio_mock_fault f) {
    mock_loop(loop, seed);
    CHECK_EQ(cio_mock_set_fault(loop, f, 1000000), 0);
}

/* Reads all a pipe holds now (a read may be short: until a poll finds it
 * empty, within 1 ms of virtual time); how many bytes. */
static int32_t drain(cio_loop *loop, cio_fd rd, char *buf, uint32_t len) {
    int32_t got = 0;
    for (int i = 0; i < 100 && (uint32_t)got < len; i++) {
        t_op p;
        cio_prep_poll(&p.op, rd, CIO_POLLIN);
        p.op.deadline = cio_now(loop) + 1000 * 1000;
        if (do_op(loop, &p) < 0) break; /* timed out: empty */
        t_op r;
        cio_prep_read(&r.op, rd, buf + got, len - (uint32_t)got, CIO_OFFSET_CURRENT);
        int32_t n = do_op(loop, &r);
        if (n <= 0) break;
        got += n;
    }
    return got;
}

/* A reset: the op that meets it and the peer's first op fail with
 * ECONNRESET, once; then end of file and EPIPE. */
static void reset(void) {
    cio_loop loop;
    mock_loop_faults(&loop, 31, CIO_MOCK_FAULT_RESET);
    cio_fd s[2];
    CHECK_EQ(cio_mock_socketpair(&loop, s), 0);
    t_op t;
    cio_prep_send(&t.op, s[0], "hello", 5, 0);
    CHECK_EQ(do_op(&loop, &t), -CIO_ECONNRESET);
    CHECK_EQ(cio_mock_set_fault(&loop, CIO_MOCK_FAULT_RESET, 0), 0);
    char buf[8];
    cio_prep_recv(&t.op, s[1], buf, sizeof buf, 0);
    CHECK_EQ(do_op(&loop, &t), -CIO_ECONNRESET);
    cio_prep_recv(&t.op, s[1], buf, sizeof buf, 0);
    CHECK_EQ(do_op(&loop, &t), 0);
    cio_prep_send(&t.op, s[1], "x", 1, 0);
    CHECK_EQ(do_op(&loop, &t), -CIO_EPIPE);
    cio_prep_recv(&t.op, s[0], buf, sizeof buf, 0);
    CHECK_EQ(do_op(&loop, &t), 0);
    CHECK(cio_mock_faults(&loop, CIO_MOCK_FAULT_RESET) >= 1);
    CHECK_EQ(cio_mock_faults(&loop, CIO_MOCK_FAULT_AGAIN), 0);
    close_fd(&loop, s[0]);
    close_fd(&loop, s[1]);
    mock_close(&loop, 0);
}

/* EAGAIN for a DONTWAIT recv that had bytes to take; they stay. */
static void again(void) {
    cio_loop loop;
    mock_loop(&loop, 32);
    cio_fd s[2];
    CHECK_EQ(cio_mock_socketpair(&loop, s), 0);
    t_op t;
    cio_prep_send(&t.op, s[0], "z", 1, 0);
    CHECK_EQ(do_op(&loop, &t), 1);
    CHECK_EQ(cio_mock_set_fault(&loop, CIO_MOCK_FAULT_AGAIN, 1000000), 0);
    char c = 0;
    cio_prep_recv(&t.op, s[1], &c, 1, CIO_MSG_DONTWAIT);
    CHECK_EQ(do_op(&loop, &t), -CIO_EAGAIN);
    cio_prep_recv(&t.op, s[1], &c, 1, 0); /* without DONTWAIT: no chance */
    CHECK_EQ(do_op(&loop, &t), 1);
    CHECK_EQ(c, 'z');
    CHECK_EQ(cio_mock_faults(&loop, CIO_MOCK_FAULT_COUNT_), 1);
    close_fd(&loop, s[0]);
    close_fd(&loop, s[1]);
    mock_close(&loop, 0);
}

/* A full ring: ops reach the kernel later than any latency allows
 * without it (a latency is at most 1 us). */
static void ring_full(void) {
    cio_loop loop;
    mock_loop_faults(&loop, 33, CIO_MOCK_FAULT_RING_FULL);
    uint64_t longest = 0;
    for (int i = 0; i < 50; i++) {
        uint64_t t0 = cio_now(&loop);
        t_op n;
        cio_prep_nop(&n.op);
        CHECK_EQ(do_op(&loop, &n), 0);
        uint64_t took = cio_now(&loop) - t0;
        if (took > longest) longest = took;
    }
    CHECK(longest > 1000);
    CHECK_EQ(cio_mock_faults(&loop, CIO_MOCK_FAULT_RING_FULL), 50);
    mock_close(&loop, 0);
}

/* A cancel that meets a finished write: the write's bytes are in the pipe
 * (read back), the cancel says -CIO_ENOENT. One that meets a parked read
 * (it could not finish): the cancel wins. */
static void cancel_race(void) {
    cio_loop loop;
    mock_loop_faults(&loop, 34, CIO_MOCK_FAULT_CANCEL_RACE);
    cio_fd p[2];
    CHECK_EQ(cio_mock_pipe(&loop, p), 0);
    t_op w, c;
    cio_prep_write(&w.op, p[1], "abc", 3, CIO_OFFSET_CURRENT);
    submit(&loop, &w);
    cio_prep_cancel(&c.op, &w.op);
    submit(&loop, &c);
    run_until_done(&loop, &c);
    run_until_done(&loop, &w);
    CHECK_EQ(c.res, -CIO_ENOENT);
    CHECK(w.res >= 1 && w.res <= 3);
    char buf[8];
    CHECK_EQ(drain(&loop, p[0], buf, sizeof buf), w.res);
    CHECK(!memcmp(buf, "abc", (size_t)w.res));

    t_op r;
    cio_prep_read(&r.op, p[0], buf, sizeof buf, CIO_OFFSET_CURRENT);
    submit(&loop, &r);
    settle(&loop); /* parked: the pipe is empty */
    cio_prep_cancel(&c.op, &r.op);
    CHECK_EQ(do_op(&loop, &c), 0);
    run_until_done(&loop, &r);
    CHECK_EQ(r.res, -CIO_ECANCELED);
    CHECK_EQ(w.finals, 1);
    CHECK_EQ(r.finals, 1);
    close_fd(&loop, p[0]);
    close_fd(&loop, p[1]);
    mock_close(&loop, 0);
}

/* A cancel that meets an executing op: -CIO_EINTR, nothing moved, and
 * the cancel says -CIO_EALREADY. */
static void intr(void) {
    cio_loop loop;
    mock_loop_faults(&loop, 35, CIO_MOCK_FAULT_INTR);
    cio_fd p[2];
    CHECK_EQ(cio_mock_pipe(&loop, p), 0);
    t_op w, c;
    cio_prep_write(&w.op, p[1], "abc", 3, CIO_OFFSET_CURRENT);
    submit(&loop, &w);
    cio_prep_cancel(&c.op, &w.op);
    submit(&loop, &c);
    run_until_done(&loop, &c);
    run_until_done(&loop, &w);
    CHECK_EQ(c.res, -CIO_EALREADY);
    CHECK_EQ(w.res, -CIO_EINTR);
    char buf[8];
    CHECK_EQ(drain(&loop, p[0], buf, sizeof buf), 0);
    /* cio_cancel has no carrier: no EINTR, the target is cancelled. */
    cio_prep_write(&w.op, p[1], "d", 1, CIO_OFFSET_CURRENT);
    submit(&loop, &w);
    CHECK_EQ(cio_cancel(&loop, &w.op), 0);
    run_until_done(&loop, &w);
    CHECK_EQ(w.res, -CIO_ECANCELED);
    close_fd(&loop, p[0]);
    close_fd(&loop, p[1]);
    mock_close(&loop, 0);
}

/* A close that meets a finished write: the write reports its bytes, and
 * the reader gets them, then end of file. */
static void close_race(void) {
    cio_loop loop;
    mock_loop_faults(&loop, 36, CIO_MOCK_FAULT_CLOSE_RACE);
    cio_fd p[2];
    CHECK_EQ(cio_mock_pipe(&loop, p), 0);
    t_op w, c;
    cio_prep_write(&w.op, p[1], "xyz", 3, CIO_OFFSET_CURRENT);
    submit(&loop, &w);
    cio_prep_close(&c.op, p[1]);
    submit(&loop, &c);
    run_until_done(&loop, &c);
    run_until_done(&loop, &w);
    CHECK_EQ(c.res, 0);
    CHECK(w.res >= 1 && w.res <= 3);
    CHECK(w.order < c.order);
    char buf[8];
    t_op r;
    cio_prep_read(&r.op, p[0], buf, sizeof buf, CIO_OFFSET_CURRENT);
    CHECK_EQ(do_op(&loop, &r), w.res);
    CHECK(!memcmp(buf, "xyz", (size_t)w.res));
    cio_prep_read(&r.op, p[0], buf, sizeof buf, CIO_OFFSET_CURRENT);
    CHECK_EQ(do_op(&loop, &r), 0);
    close_fd(&loop, p[0]);
    mock_close(&loop, 0);
}

/* A seeded exchange of nops and pipe bytes, for traces. */
static uint64_t exchange(const cio_loop_options *o) {
    cio_loop loop;
    CHECK_EQ(cio_loop_init(&loop, o), 0);
    cio_fd p[2];
    CHECK_EQ(cio_mock_pipe(&loop, p), 0);
    char buf[64];
    for (int i = 0; i < 20; i++) {
        t_op w, n;
        cio_prep_write(&w.op, p[1], "0123456789", 10, CIO_OFFSET_CURRENT);
        submit(&loop, &w);
        cio_prep_nop(&n.op);
        submit(&loop, &n);
        run_until_done(&loop, &w);
        run_until_done(&loop, &n);
        drain(&loop, p[0], buf, sizeof buf);
    }
    close_fd(&loop, p[0]);
    close_fd(&loop, p[1]);
    uint64_t trace = cio_mock_trace(&loop);
    mock_close(&loop, 0);
    return trace;
}

/* Rates of 0 change nothing; the same faults and seed give the same run;
 * bad settings are refused. */
static void settings(void) {
    cio_loop_options o = mock_options(37);
    uint64_t plain = exchange(&o);
    cio_mock_options mo;
    memset(&mo, 0, sizeof mo);
    o.backend_options = &mo;
    CHECK_EQ(exchange(&o), plain);
    for (int f = 0; f < CIO_MOCK_FAULT_COUNT_; f++) mo.fault_ppm[f] = 200000;
    uint64_t faulty = exchange(&o);
    CHECK(faulty != plain);
    CHECK_EQ(exchange(&o), faulty);

    cio_loop loop;
    mo.fault_ppm[0] = 1000001;
    CHECK_EQ(cio_loop_init(&loop, &o), -CIO_EINVAL);
    mo.fault_ppm[0] = 0;
    mo.reserved_[3] = 1;
    CHECK_EQ(cio_loop_init(&loop, &o), -CIO_EINVAL);
    mo.reserved_[3] = 0;
    mo.flags = 0x100;
    CHECK_EQ(cio_loop_init(&loop, &o), -CIO_EINVAL);

    o.backend_options = NULL;
    t_setenv("CIO_MOCK_FAULTS", "reset=5,bogus=1");
    CHECK_EQ(cio_loop_init(&loop, &o), -CIO_EINVAL);
    t_setenv("CIO_MOCK_FAULTS", "reset=5,");
    CHECK_EQ(cio_loop_init(&loop, &o), 0);
    char line[512];
    int n = cio_mock_replay(&loop, line, sizeof line);
    CHECK(n > 0 && (size_t)n < sizeof line);
    CHECK(strstr(line, "CIO_BACKEND=mock CIO_MOCK_SEED=37 CIO_MOCK_FAULTS=reset=5 ") == line);
#if defined(_WIN32) /* the mock quotes the program as cmd.exe does */
    CHECK(strstr(line, "test_mock_faults.exe\"") != NULL);
#else
    CHECK(strstr(line, "test_mock_faults'") != NULL);
#endif
    char tiny[8];
    CHECK_EQ(cio_mock_replay(&loop, tiny, sizeof tiny), n); /* the length it needs */
    CHECK_EQ(strlen(tiny), 7);
    mock_close(&loop, 0);
    t_unsetenv("CIO_MOCK_FAULTS");
    t_setenv("CIO_MOCK_SEED", "12x");
    o.seed = 0;
    CHECK_EQ(cio_loop_init(&loop, &o), -CIO_EINVAL);
    t_setenv("CIO_MOCK_SEED", "0x2a");
    CHECK_EQ(cio_loop_init(&loop, &o), 0);
    CHECK_EQ(cio_mock_seed(&loop), 42);
    mock_close(&loop, 0);
    t_unsetenv("CIO_MOCK_SEED");
    o.seed = 37;
    t_setenv("CIO_MOCK_FAULTS", "250000");
    CHECK_EQ(cio_loop_init(&loop, &o), 0);
    CHECK_EQ(cio_mock_set_fault(&loop, CIO_MOCK_FAULT_COUNT_, 1), -CIO_EINVAL);
    CHECK_EQ(cio_mock_set_fault(&loop, CIO_MOCK_FAULT_RESET, 1000001), -CIO_EINVAL);
    n = cio_mock_replay(&loop, line, sizeof line);
    CHECK(strstr(line, "CIO_MOCK_FAULTS=reset=250000,again=250000,nomem=250000,mfile=250000,ring_full=250000,"
                       "cancel_race=250000,intr=250000,close_race=250000 ") != NULL);
    mock_close(&loop, 0);
    t_unsetenv("CIO_MOCK_FAULTS");

    cio_loop real;
    cio_loop_options ro;
    memset(&ro, 0, sizeof ro);
    ro.backend = T_REAL_BACKEND;
    CHECK_EQ(cio_loop_init(&real, &ro), 0);
    CHECK_EQ(cio_mock_set_fault(&real, CIO_MOCK_FAULT_RESET, 1), -CIO_EINVAL);
    CHECK_EQ(cio_mock_replay(&real, line, sizeof line), -CIO_EINVAL);
    CHECK_EQ(cio_mock_fail(&real, "x"), -CIO_EINVAL);
    CHECK_EQ(cio_mock_faults(&real, CIO_MOCK_FAULT_COUNT_), 0);
    t_close(&real);
}

#if !defined(_WIN32)
/* A read nothing can ever satisfy: the run ends with -CIO_EDEADLK in
 * bounded real time, and the report names the op. */
static void deadlock_child(void *arg) {
    (void)arg;
    cio_loop loop;
    mock_loop(&loop, 38);
    cio_fd p[2];
    CHECK_EQ(cio_mock_pipe(&loop, p), 0);
    char c;
    t_op r;
    cio_prep_read(&r.op, p[0], &c, 1, CIO_OFFSET_CURRENT);
    submit(&loop, &r);
    double t0 = t_seconds();
    t_run(&loop, 10.0);
    CHECK(t_seconds() - t0 < 5.0);
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(r.res, -CIO_EDEADLK);
    CHECK_EQ(cio_mock_violations(&loop), 1);
    close_fd(&loop, p[0]);
    close_fd(&loop, p[1]);
    t_close(&loop);
}

/* Tasks and handles left at the close: all reported; with
 * CIO_MOCK_ABORT=1 the first report aborts. */
static intptr_t blocked_reader(void *arg) {
    cio_fd fd = *(cio_fd *)arg;
    char c;
    return cio_read(fd, &c, 1, CIO_OFFSET_CURRENT);
}

static cio_event never;

static intptr_t blocked_waiter(void *arg) {
    (void)arg;
    return cio_event_wait(&never);
}

static void leak_child(void *arg) {
    if (arg) t_setenv("CIO_MOCK_ABORT", "1");
    cio_loop loop;
    mock_loop(&loop, 39);
    cio_fd p[2];
    CHECK_EQ(cio_mock_pipe(&loop, p), 0);
    cio_task_options to = {.name = "stuck-reader"};
    CHECK_EQ(cio_task_spawn(&loop, blocked_reader, &p[0], &to, NULL), 0);
    cio_event_init(&never, false);
    cio_task_options wo = {.name = "stuck-waiter"};
    CHECK_EQ(cio_task_spawn(&loop, blocked_waiter, NULL, &wo, NULL), 0);
    settle(&loop);
    uint64_t before = cio_mock_violations(NULL);
    CHECK_EQ(cio_loop_close(&loop), 0);
    CHECK_EQ(cio_mock_violations(NULL) - before, 4); /* two tasks, two ends */
}

/* A listener's accepted connection left open: the report says what made it. */
static intptr_t accept_and_forget(void *arg) {
    cio_fd *lfd = arg;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cio_socklen len = sizeof a;
    intptr_t l = cio_socket(AF_INET, SOCK_STREAM, 0), c = cio_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(l >= 0 && c >= 0);
    *lfd = (cio_fd)l;
    CHECK_EQ(cio_bind((cio_fd)l, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ(cio_listen((cio_fd)l, 4), 0);
    CHECK_EQ(cio_socket_name(cio_task_loop(), (cio_fd)l, (struct sockaddr *)&a, &len), 0);
    CHECK_EQ(cio_connect((cio_fd)c, (struct sockaddr *)&a, sizeof a), 0);
    intptr_t s = cio_accept((cio_fd)l, NULL, NULL, 0);
    CHECK(s >= 0);
    CHECK_EQ(cio_close((cio_fd)c), 0);
    CHECK_EQ(cio_close((cio_fd)l), 0);
    return 0; /* the accepted one, forgotten */
}

static void accept_leak_child(void *arg) {
    (void)arg;
    cio_loop loop;
    mock_loop(&loop, 41);
    cio_fd lfd = -1;
    CHECK_EQ(cio_task_spawn(&loop, accept_and_forget, &lfd, NULL, NULL), 0);
    settle(&loop);
    t_close(&loop);
    printf("listener %ld\n", (long)lfd);
}

static void reports(void) {
    char out[8192];
    int st = t_fork_capture(deadlock_child, NULL, 2, out, sizeof out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fprintf(stderr, "%s", out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strstr(out, "cio mock: deadlock at virtual time") != NULL);
    CHECK(strstr(out, "1 op(s) wait for ever (read on 1073741824)") != NULL);
    CHECK(strstr(out, "(seed 38; replay: CIO_BACKEND=mock CIO_MOCK_SEED=38 '") != NULL);

    st = t_fork_capture(leak_child, NULL, 2, out, sizeof out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fprintf(stderr, "%s", out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strstr(out, "task 'stuck-reader'") != NULL); /* blocked in an op */
    CHECK(strstr(out, "task 'stuck-waiter'") != NULL && strstr(out, "was still alive when the loop closed") != NULL);
    CHECK(strstr(out, "simulated pipe handle 1073741824 (made by a cio_mock_* call) was left open") != NULL);
    CHECK(strstr(out, "simulated pipe handle 1073741825 (made by a cio_mock_* call) was left open") != NULL);

    st = t_fork_capture(leak_child, "abort", 2, out, sizeof out);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK(strstr(out, "cio mock: seed 39: ") == NULL); /* no summary asked */

    st = t_fork_capture(accept_leak_child, NULL, 2, out, sizeof out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strstr(out, "simulated stream socket handle ") != NULL);
    CHECK(strstr(out, " (made by accept on 1073741824) was left open") != NULL); /* the listener was first */

    /* Under CIO_MOCK_ABORT with CIO_MOCK_REPORT, the summary still comes. */
    t_setenv("CIO_MOCK_REPORT", "1");
    st = t_fork_capture(leak_child, "abort", 2, out, sizeof out);
    t_unsetenv("CIO_MOCK_REPORT");
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK(strstr(out, "cio mock: seed 39: ") != NULL && strstr(out, " 1 violations, ") != NULL);

    st = t_fork_capture(leak_child, "abort", 2, out, sizeof out);
    /* It stopped at the first report (tasks are reported before handles). */
    CHECK((strstr(out, "stuck-reader") != NULL) + (strstr(out, "stuck-waiter") != NULL) == 1);
    CHECK(strstr(out, "left open") == NULL);
}
#endif /* !_WIN32: the reports */

/* CIO_MOCK_POISON: what the op lent the mock holds the poison after the
 * final completion; the op can be submitted again as it is. */
static void poison(void) {
    cio_mock_options mo;
    memset(&mo, 0, sizeof mo);
    mo.flags = CIO_MOCK_POISON;
    cio_loop_options o = mock_options(40);
    o.backend_options = &mo;
    cio_loop loop;
    CHECK_EQ(cio_loop_init(&loop, &o), 0);
    t_op n;
    cio_prep_nop(&n.op);
    CHECK_EQ(do_op(&loop, &n), 0);
    CHECK_EQ(n.op.internal_.when, 0xa5a5a5a5a5a5a5a5ull);
    CHECK_EQ(n.op.internal_.bflags, 0xa5a5);
    CHECK_EQ(do_op(&loop, &n), 0); /* again, unprepared */
    CHECK_EQ(n.op.internal_.when, 0xa5a5a5a5a5a5a5a5ull);
    CHECK_EQ(cio_mock_violations(&loop), 0);
    mock_close(&loop, 0);
}

int main(void) {
    t_watchdog();
    t_unsetenv("CIO_BACKEND");
    t_unsetenv("CIO_MOCK_SEED");
    t_unsetenv("CIO_MOCK_FAULTS");
    t_unsetenv("CIO_MOCK_ABORT");
    reset();
    again();
    ring_full();
    cancel_race();
    intr();
    close_race();
    settings();
#if !defined(_WIN32)
    reports();
#else
    T_SKIP_CASE_ON_WINDOWS("reports", "read from a forked child's stderr (fork)");
#endif
    poison();
    puts("mock_faults: ok");
    return 0;
}
