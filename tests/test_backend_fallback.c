/*
 * Backend choice. With CIO_BACKEND_AUTO a process where io_uring_setup
 * fails (a seccomp filter makes it fail with EPERM, as a container's
 * profile or kernel.io_uring_disabled does, or with ENOSYS, as a kernel
 * built without io_uring does) still gets a working loop, on epoll.
 * Asking for io_uring explicitly there fails with the kernel's error
 * instead of quietly running on something else. And the CIO_BACKEND
 * environment variable overrides the option; an unknown name is an error.
 *
 * The filter cannot be removed once installed, so each case runs in its own
 * child process. ctest runs this once per backend with CIO_BACKEND set; the
 * test clears it first, so all runs do the same thing.
 * CIO_TEST_NOT_ON_WINDOWS: the fallback among io_uring, epoll and poll under a seccomp filter, in forked children: Linux's
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "deny_calls.h"

#if defined(T_HAVE_DENY_CALLS) && !defined(__NR_io_uring_setup)
#define __NR_io_uring_setup 425 /* the same number on every architecture */
#endif

#ifdef T_HAVE_DENY_CALLS

#define SKIPPED 77 /* ctest's SKIP_RETURN_CODE */

/* What this machine offers without any filter, found out before forking. */
static bool have_uring, have_epoll;

/* Makes io_uring_setup fail with `err` for the rest of this process. */
static void forbid_uring(int err) {
    const long nr = __NR_io_uring_setup;
    if (t_deny_calls(&nr, 1, err) != 0) {
        /* A kernel without seccomp filters, or a sandbox that forbids more. */
        fprintf(stderr, "note: cannot install a seccomp filter (%s)\n", strerror(errno));
        exit(SKIPPED);
    }
    /* The filter bites: the raw system call now fails the way we asked. */
    errno = 0;
    CHECK_EQ(syscall(__NR_io_uring_setup, 4, NULL), -1);
    CHECK_EQ(errno, err);
}

static int32_t done_res[4];
static int done_count[4];

static void done_cb(cio_loop *loop, cio_op *op) {
    (void)loop;
    CHECK(!(op->flags & CIO_F_MORE));
    CHECK(op->tag < 4);
    CHECK_EQ(done_count[op->tag], 0);
    done_count[op->tag]++;
    done_res[op->tag] = op->res;
}

static void submit_tagged(cio_loop *loop, cio_op *op, uint16_t tag) {
    op->cb = done_cb;
    op->tag = tag;
    CHECK_EQ(cio_submit(loop, op), 0);
}

/*
 * Real IO through the loop: a recv that has to wait (so it goes through the
 * backend's readiness path), the send that satisfies it, a read of a pipe
 * that has to wait too, and a timer.
 */
static void round_trip(cio_loop *loop) {
    int sv[2], pfd[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    CHECK_EQ(pipe2(pfd, O_CLOEXEC), 0);
    memset(done_count, 0, sizeof done_count);

    static const char msg[] = "fallback round trip";
    char rbuf[64] = {0}, pbuf[8] = {0};
    cio_op recv_op, send_op, read_op, timer_op;
    cio_prep_recv(&recv_op, sv[1], rbuf, sizeof msg, MSG_WAITALL);
    submit_tagged(loop, &recv_op, 0);
    cio_prep_read(&read_op, pfd[0], pbuf, sizeof pbuf, CIO_OFFSET_CURRENT);
    submit_tagged(loop, &read_op, 1);
    cio_prep_timeout(&timer_op, 1000 * 1000, 0);
    submit_tagged(loop, &timer_op, 2);
    /* Let the recv and the read start waiting before anything arrives. */
    CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
    CHECK_EQ(done_count[0], 0);
    CHECK_EQ(done_count[1], 0);
    cio_prep_send(&send_op, sv[0], msg, sizeof msg, MSG_NOSIGNAL);
    submit_tagged(loop, &send_op, 3);
    CHECK_EQ(write(pfd[1], "pipe", 4), 4);
    t_run(loop, 10);

    for (int i = 0; i < 4; i++) CHECK_EQ(done_count[i], 1);
    CHECK_EQ(done_res[0], (int)sizeof msg);
    CHECK(memcmp(rbuf, msg, sizeof msg) == 0);
    CHECK_EQ(done_res[1], 4);
    CHECK(memcmp(pbuf, "pipe", 4) == 0);
    CHECK_EQ(done_res[2], 0);
    CHECK_EQ(done_res[3], (int)sizeof msg);
    cio_stats st;
    cio_loop_stats(loop, &st);
    CHECK_EQ(st.ops_completed, st.ops_submitted);
    CHECK(st.enters > 0);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(close(sv[i]), 0);
        CHECK_EQ(close(pfd[i]), 0);
    }
}

/* Child: io_uring is forbidden; an automatic choice still yields a working loop. */
static int child_auto(int err) {
    alarm(60); /* alarms do not survive fork; the handler does */
    forbid_uring(err);
    cio_loop loop;
    cio_loop_options o = {0};
    o.backend = CIO_BACKEND_AUTO;
    int r = cio_loop_init(&loop, &o);
    if (r < 0) fprintf(stderr, "auto under a filter (%s): %s\n", cio_strerror(err), cio_strerror(r));
    CHECK_EQ(r, 0);
    cio_backend_kind want = have_epoll ? CIO_BACKEND_EPOLL : CIO_BACKEND_POLL;
    CHECK_EQ(cio_loop_backend(&loop), want);
    CHECK(strcmp(cio_backend_name(cio_loop_backend(&loop)), have_epoll ? "epoll" : "poll") == 0);
    round_trip(&loop);
    /* A second loop in the same process makes the same choice. */
    cio_loop again;
    CHECK_EQ(cio_loop_init(&again, NULL), 0);
    CHECK_EQ(cio_loop_backend(&again), want);
    t_close(&again);
    t_close(&loop);
    return 0;
}

/* Child: io_uring is forbidden and asked for by name; the kernel's error comes back. */
static int child_explicit(int err) {
    alarm(60);
    forbid_uring(err);
    cio_loop loop;
    cio_loop_options o = {0};
    o.backend = CIO_BACKEND_URING;
    int r = cio_loop_init(&loop, &o);
    if (have_uring) {
        CHECK_EQ(r, -err);
    } else {
        CHECK(r < 0); /* not built in, or this kernel's ring is not usable: refused either way */
    }
    /* No fd or ring leaked by the failed attempt: another loop works. */
    CHECK_EQ(cio_loop_init(&loop, NULL), 0);
    CHECK(cio_loop_backend(&loop) != CIO_BACKEND_URING);
    t_close(&loop);
    return 0;
}

/* Runs `fn(err)` in a child; false if the child could not install the filter. */
static bool in_child(int (*fn)(int), int err, const char *what) {
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) exit(fn(err));
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == SKIPPED) return false;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child \"%s\" with %s failed (status 0x%x)\n", what, cio_strerror(err), status);
        exit(1);
    }
    return true;
}

/* Sets up a loop with `opts_backend` under CIO_BACKEND=`env`; returns the result. */
static int init_with(const char *env, cio_backend_kind opts_backend, cio_backend_kind *got) {
    if (env)
        CHECK_EQ(t_setenv("CIO_BACKEND", env), 0);
    else
        CHECK_EQ(t_unsetenv("CIO_BACKEND"), 0);
    cio_loop loop;
    cio_loop_options o = {0};
    o.backend = opts_backend;
    int r = cio_loop_init(&loop, &o);
    if (r == 0) {
        *got = cio_loop_backend(&loop);
        t_close(&loop);
    }
    return r;
}

static void check_env_choice(void) {
    cio_backend_kind got = CIO_BACKEND_AUTO;
    /* The environment beats the option, in both directions. */
    if (have_epoll) {
        CHECK_EQ(init_with("epoll", CIO_BACKEND_URING, &got), 0);
        CHECK_EQ(got, CIO_BACKEND_EPOLL);
        CHECK_EQ(init_with("epoll", CIO_BACKEND_POLL, &got), 0);
        CHECK_EQ(got, CIO_BACKEND_EPOLL);
    }
    CHECK_EQ(init_with("poll", CIO_BACKEND_URING, &got), 0);
    CHECK_EQ(got, CIO_BACKEND_POLL);
    CHECK_EQ(init_with("poll", CIO_BACKEND_AUTO, &got), 0);
    CHECK_EQ(got, CIO_BACKEND_POLL);
    if (have_uring) {
        CHECK_EQ(init_with("io_uring", CIO_BACKEND_POLL, &got), 0);
        CHECK_EQ(got, CIO_BACKEND_URING);
    }
    /* An unknown name is a mistake to report, not a reason to guess. */
    static const char *const bad[] = {"bogus", "epol", "epoll ", "iouring", "1"};
    for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_EQ(init_with(bad[i], CIO_BACKEND_AUTO, &got), -CIO_EINVAL);
        CHECK_EQ(init_with(bad[i], CIO_BACKEND_POLL, &got), -CIO_EINVAL);
    }
    /* Without the variable the option decides. */
    CHECK_EQ(init_with(NULL, CIO_BACKEND_POLL, &got), 0);
    CHECK_EQ(got, CIO_BACKEND_POLL);
    CHECK_EQ(init_with(NULL, CIO_BACKEND_AUTO, &got), 0);
    CHECK_EQ(got, have_uring ? CIO_BACKEND_URING : have_epoll ? CIO_BACKEND_EPOLL : CIO_BACKEND_POLL);
    CHECK_EQ(t_unsetenv("CIO_BACKEND"), 0);
}

int main(void) {
    t_watchdog();
    /* ctest names a backend for each run; this test makes the choice itself. */
    CHECK_EQ(t_unsetenv("CIO_BACKEND"), 0);

    cio_backend_kind got = CIO_BACKEND_AUTO;
    have_uring = init_with(NULL, CIO_BACKEND_URING, &got) == 0;
    have_epoll = init_with(NULL, CIO_BACKEND_EPOLL, &got) == 0;
    if (!have_uring) fprintf(stderr, "note: io_uring not usable here; only the fallback itself is checked\n");

    static const int errs[] = {EPERM, ENOSYS};
    bool filtered = true;
    for (unsigned i = 0; i < sizeof errs / sizeof *errs && filtered; i++)
        filtered = in_child(child_auto, errs[i], "auto") &&
                   in_child(child_explicit, errs[i], "explicit io_uring");
    check_env_choice();
    if (!filtered) {
        printf("backend_fallback: the fallback itself was not checked (no seccomp filter here)\n");
        return SKIPPED;
    }
    printf("backend_fallback: ok (io_uring %s, epoll %s)\n", have_uring ? "yes" : "no",
           have_epoll ? "yes" : "no");
    return 0;
}

#else

int main(void) {
    printf("backend_fallback: skipped (needs Linux seccomp on x86_64 or aarch64)\n");
    return 77; /* ctest's SKIP_RETURN_CODE */
}

#endif
