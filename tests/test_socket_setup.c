/*
 * Socket setup ops: socket, bind, listen and shutdown, with their results
 * and exact error codes. The same checks run twice: in a child process whose
 * loop is told (CIO_URING_DISABLE) to run these four ops as plain system
 * calls, and then natively. Every result must match between the two runs,
 * since the fallback must be invisible to the caller.
 *
 * CIO_TEST_PORTABLE: Windows runs the native checks once (the fallback run
 * is io_uring's); its oracles are Winsock's (SO_PROTOCOL_INFO for a new
 * socket's family, type and protocol; the plain socket() call's error for
 * the bad arguments), and a new handle's flags cannot be read back there.
 */
#include "net.h"

#if !defined(_WIN32)
#include <sys/utsname.h>
#include <sys/wait.h>
#endif

#if !defined(_WIN32)
static const char *const disable_list = "socket,bind,listen,shutdown";
#endif

enum { MAX_RESULTS = 128 };
static int32_t results[MAX_RESULTS];
static int nresults;
static bool have_v6;


/* Whether the run expects the kernel itself to execute an opcode; checked
 * through the CQE count, on io_uring only. -1: do not check. */
static int in_kernel[CIO_OP_COUNT_];

/* Keeps a result for the comparison of the two runs; handles count as 1
 * (their numbers differ between processes, their success does not). */
static int32_t rec(int32_t r) {
    CHECK(nresults < MAX_RESULTS);
    results[nresults++] = r >= 0 ? (r > 0) : r;
    return r;
}

/* Runs the prepared op to its final completion and records the result.
 * Also checks who ran it: a kernel op yields exactly one CQE, a fallback
 * op none (it completes from the core's ready queue). */
static int32_t run_op(cio_loop *loop, t_op *t) {
    cio_stats before, after;
    cio_loop_stats(loop, &before);
    int32_t r = net_do(loop, t);
    cio_loop_stats(loop, &after);
    int want = in_kernel[t->op.opcode];
    if (want >= 0) CHECK_EQ(after.kernel_completions - before.kernel_completions, want);
    return rec(r);
}

/* Submission must be refused with `err`; the refusal is recorded too. */
static void refused(cio_loop *loop, t_op *t, int err) {
    net_refused(loop, t, err);
    rec(err);
}

/* A pipe's read end: an open handle that is not a socket. Closes the write end. */
static cio_fd not_a_socket(void) {
    cio_fd p[2];
    CHECK_EQ(t_pipe(p), 0);
    CHECK_EQ(t_close_handle(p[1]), 0);
    return p[0];
}

/* A socket's family, type and protocol, from the system. */
static void sock_kind(cio_fd fd, int *family, int *type, int *proto) {
#if defined(_WIN32)
    WSAPROTOCOL_INFOA info;
    int len = sizeof info;
    CHECK_EQ(t_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL_INFOA, &info, &len), 0);
    *family = info.iAddressFamily;
    *type = info.iSocketType;
    *proto = info.iProtocol;
#else
    *family = net_sockopt(fd, SOL_SOCKET, SO_DOMAIN);
    *type = net_sockopt(fd, SOL_SOCKET, SO_TYPE);
    *proto = net_sockopt(fd, SOL_SOCKET, SO_PROTOCOL);
#endif
}

static void check_socket(cio_loop *loop) {
    const int families[2] = {AF_INET, AF_INET6};
    const int types[2] = {SOCK_STREAM, SOCK_DGRAM};
    t_op t;
    for (int f = 0; f < 2; f++) {
        if (families[f] == AF_INET6 && !have_v6) continue;
        for (int k = 0; k < 2; k++) {
            cio_prep_socket(&t.op, families[f], types[k] | SOCK_CLOEXEC, 0);
            CHECK(run_op(loop, &t) >= 0);
            cio_fd fd = t_fd(&t);
            int family, type, proto;
            sock_kind(fd, &family, &type, &proto);
            CHECK_EQ(family, families[f]);
            CHECK_EQ(type, types[k]);
            CHECK_EQ(proto, types[k] == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
#if !defined(_WIN32)
            CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
            CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
#endif
            CHECK_EQ(t_close_handle(fd), 0);
        }
    }
    /* The type's flag bits reach the new socket. */
    cio_prep_socket(&t.op, AF_INET, SOCK_STREAM | CIO_SOCK_NONBLOCK, 0);
    CHECK(run_op(loop, &t) >= 0);
    cio_fd fd = t_fd(&t);
#if !defined(_WIN32)
    CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
#endif
    CHECK_EQ(t_close_handle(fd), 0);

    /* Errors: the ones socket(2) gives for the same arguments. A domain
     * beyond the kernel's table is EAFNOSUPPORT on Linux (not EINVAL). */
    static const int bad[3][3] = {
        {12345, SOCK_STREAM, 0},           /* no such address family */
        {AF_INET, 1234, 0},                /* no such type */
        {AF_INET, SOCK_STREAM, IPPROTO_UDP} /* protocol does not fit the type */
    };
    static const int expect[3] = {-CIO_EAFNOSUPPORT, -CIO_EINVAL, -EPROTONOSUPPORT};
    for (int i = 0; i < 3; i++) {
        /* qemu-user keeps only the type bits it knows and makes a socket of type 1234. */
        if (i == 1 && t_under_emulator()) continue;
#if defined(_WIN32)
        /* Winsock's own answer (mapped by port.h, not by cio) is the oracle. */
        (void)expect;
        CHECK(t_sys_socket(bad[i][0], bad[i][1], bad[i][2]) == T_FD_NONE);
        int want = -t_sock_error();
        cio_prep_socket(&t.op, bad[i][0], bad[i][1], bad[i][2]);
        CHECK_EQ(run_op(loop, &t), want);
#else
        errno = 0;
        CHECK_EQ(socket(bad[i][0], bad[i][1], bad[i][2]), -1);
        CHECK_EQ(-errno, expect[i]);
        cio_prep_socket(&t.op, bad[i][0], bad[i][1], bad[i][2]);
        CHECK_EQ(run_op(loop, &t), expect[i]);
#endif
    }
}

static void check_bind_family(cio_loop *loop, int family) {
    const int types[2] = {SOCK_STREAM, SOCK_DGRAM};
    t_op t;
    for (int k = 0; k < 2; k++) {
        net_addr any, got;
        net_loopback(&any, family, 0);
        cio_fd a = net_socket(loop, family, types[k] | SOCK_CLOEXEC);
        cio_prep_bind(&t.op, a, net_sa(&any), any.len);
        CHECK_EQ(run_op(loop, &t), 0);
        net_local(a, &got);
        CHECK(net_port(&got) != 0);
        net_addr same_ip;
        net_loopback(&same_ip, family, net_port(&got));
        CHECK(net_same(&got, &same_ip));

        /* The port is taken (no SO_REUSEADDR): a second socket cannot have it. */
        cio_fd b = net_socket(loop, family, types[k] | SOCK_CLOEXEC);
        cio_prep_bind(&t.op, b, net_sa(&got), got.len);
        CHECK_EQ(run_op(loop, &t), -CIO_EADDRINUSE);

        /* A socket binds once. */
        cio_prep_bind(&t.op, a, net_sa(&any), any.len);
        CHECK_EQ(run_op(loop, &t), -CIO_EINVAL);

        /* An address too short for the family. */
        {
            cio_prep_bind(&t.op, b, net_sa(&any), (cio_socklen)sizeof(((struct sockaddr *)0)->sa_family));
            CHECK_EQ(run_op(loop, &t), -CIO_EINVAL);
        }

        /* The other family's address on this socket. */
        if (family == AF_INET) {
            net_addr v6;
            net_loopback(&v6, AF_INET6, 0);
            cio_prep_bind(&t.op, b, net_sa(&v6), v6.len);
            CHECK_EQ(run_op(loop, &t), -CIO_EAFNOSUPPORT);
        }
        CHECK_EQ(t_close_handle(a), 0);
        CHECK_EQ(t_close_handle(b), 0);
    }
}

static void check_bind(cio_loop *loop) {
    check_bind_family(loop, AF_INET);
    if (have_v6) check_bind_family(loop, AF_INET6);

    net_addr any;
    net_loopback(&any, AF_INET, 0);
    t_op t;
    cio_prep_bind(&t.op, T_FD_NONE, net_sa(&any), any.len);
    refused(loop, &t, -CIO_EBADF);
    cio_fd fd = net_socket(loop, AF_INET, SOCK_STREAM | SOCK_CLOEXEC);
    cio_prep_bind(&t.op, fd, NULL, any.len);
    refused(loop, &t, -CIO_EINVAL);
    CHECK_EQ(t_close_handle(fd), 0);

    /* Handles the kernel rejects: not a socket, and not open at all. */
    {
        cio_fd p = not_a_socket();
        cio_prep_bind(&t.op, p, net_sa(&any), any.len);
        CHECK_EQ(run_op(loop, &t), -CIO_ENOTSOCK);
        CHECK_EQ(t_close_handle(p), 0);
    }
    {
        cio_prep_bind(&t.op, net_closed_fd(), net_sa(&any), any.len);
        CHECK_EQ(run_op(loop, &t), -CIO_EBADF);
    }
}

static void check_listen(cio_loop *loop) {
    net_addr at;
    t_op t;
    cio_fd fd = net_bound(loop, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, &at);
    CHECK_EQ(net_sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 0);
    cio_prep_listen(&t.op, fd, 16);
    CHECK_EQ(run_op(loop, &t), 0);
    CHECK_EQ(net_sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
    /* Listening again only updates the backlog; a negative one is clamped. */
    cio_prep_listen(&t.op, fd, 32);
    CHECK_EQ(run_op(loop, &t), 0);
    cio_prep_listen(&t.op, fd, -1);
    CHECK_EQ(run_op(loop, &t), 0);
    CHECK_EQ(t_close_handle(fd), 0);

    if (have_v6) {
        fd = net_bound(loop, AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, &at);
        cio_prep_listen(&t.op, fd, 16);
        CHECK_EQ(run_op(loop, &t), 0);
        CHECK_EQ(net_sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
        CHECK_EQ(t_close_handle(fd), 0);
    }

    /* A datagram socket cannot listen. */
    fd = net_bound(loop, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, &at);
    cio_prep_listen(&t.op, fd, 16);
    CHECK_EQ(run_op(loop, &t), -CIO_ENOTSUP);
    CHECK_EQ(t_close_handle(fd), 0);

    cio_prep_listen(&t.op, T_FD_NONE, 16);
    refused(loop, &t, -CIO_EBADF);
    {
        cio_fd p = not_a_socket();
        cio_prep_listen(&t.op, p, 16);
        CHECK_EQ(run_op(loop, &t), -CIO_ENOTSOCK);
        CHECK_EQ(t_close_handle(p), 0);
    }
    {
        cio_prep_listen(&t.op, net_closed_fd(), 16);
        CHECK_EQ(run_op(loop, &t), -CIO_EBADF);
    }
}

static void check_shutdown_family(cio_loop *loop, int family) {
    cio_fd c, s;
    net_pair(loop, family, &c, &s);
    t_op t, r;
    char buf[16];

    /* SHUT_WR: the peer reads end of stream, and keeps reading it. */
    cio_prep_shutdown(&t.op, c, SHUT_WR);
    CHECK_EQ(run_op(loop, &t), 0);
    for (int i = 0; i < 2; i++) {
        cio_prep_recv(&r.op, s, buf, sizeof buf, 0);
        CHECK_EQ(net_do(loop, &r), 0);
    }
    /* The other direction still works after a half close. */
    cio_prep_send(&r.op, s, "pong", 4, MSG_NOSIGNAL);
    CHECK_EQ(net_do(loop, &r), 4);
    cio_prep_recv(&r.op, c, buf, 4, MSG_WAITALL);
    CHECK_EQ(net_do(loop, &r), 4);
    CHECK(memcmp(buf, "pong", 4) == 0);

    /* Writing after our own SHUT_WR is a broken pipe. */
    cio_prep_send(&r.op, c, "x", 1, MSG_NOSIGNAL);
    CHECK_EQ(rec(net_do(loop, &r)), -CIO_EPIPE);

    cio_prep_shutdown(&t.op, s, SHUT_RD);
    CHECK_EQ(run_op(loop, &t), 0);
    cio_prep_shutdown(&t.op, s, SHUT_RDWR);
    CHECK_EQ(run_op(loop, &t), 0);
    CHECK_EQ(t_close_handle(c), 0);
    CHECK_EQ(t_close_handle(s), 0);
}

static void check_shutdown(cio_loop *loop) {
    check_shutdown_family(loop, AF_INET);
    if (have_v6) check_shutdown_family(loop, AF_INET6);

    t_op t;
    cio_fd fd = net_socket(loop, AF_INET, SOCK_STREAM | SOCK_CLOEXEC);
    /* `how` outside SHUT_RD/SHUT_WR/SHUT_RDWR never reaches the kernel. */
    const int bad_how[3] = {3, -1, 100};
    for (int i = 0; i < 3; i++) {
        cio_prep_shutdown(&t.op, fd, bad_how[i]);
        refused(loop, &t, -CIO_EINVAL);
    }
    /* Nothing to shut down on a socket that never connected. */
    cio_prep_shutdown(&t.op, fd, SHUT_WR);
    CHECK_EQ(run_op(loop, &t), -CIO_ENOTCONN);
    CHECK_EQ(t_close_handle(fd), 0);
    {
        fd = net_socket(loop, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC);
        cio_prep_shutdown(&t.op, fd, SHUT_RDWR);
        CHECK_EQ(run_op(loop, &t), -CIO_ENOTCONN);
        CHECK_EQ(t_close_handle(fd), 0);
    }

    cio_prep_shutdown(&t.op, T_FD_NONE, SHUT_WR);
    refused(loop, &t, -CIO_EBADF);
    {
        cio_fd p = not_a_socket();
        cio_prep_shutdown(&t.op, p, SHUT_WR);
        CHECK_EQ(run_op(loop, &t), -CIO_ENOTSOCK);
        CHECK_EQ(t_close_handle(p), 0);
    }
    {
        cio_prep_shutdown(&t.op, net_closed_fd(), SHUT_WR);
        CHECK_EQ(run_op(loop, &t), -CIO_EBADF);
    }
}

#if !defined(_WIN32)
/* IORING_OP_BIND and IORING_OP_LISTEN came with Linux 6.11. */
static bool kernel_has_bind_listen(void) {
    struct utsname u;
    int major = 0, minor = 0;
    if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
    return major > 6 || (major == 6 && minor >= 11);
}
#endif

static void run_all(bool fallback) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    for (int i = 0; i < CIO_OP_COUNT_; i++) in_kernel[i] = -1;
#if !defined(_WIN32)
    if (cio_loop_backend(&loop) == CIO_BACKEND_URING) {
        in_kernel[CIO_OP_SOCKET] = in_kernel[CIO_OP_SHUTDOWN] = fallback ? 0 : 1;
        if (fallback || kernel_has_bind_listen())
            in_kernel[CIO_OP_BIND] = in_kernel[CIO_OP_LISTEN] = fallback ? 0 : 1;
    }
#else
    (void)fallback;
#endif
    nresults = 0;
    check_socket(&loop);
    check_bind(&loop);
    check_listen(&loop);
    check_shutdown(&loop);
    net_close_loop(&loop);
}

#if defined(_WIN32)
int main(void) {
    net_watchdog(120);
    have_v6 = net_have_ipv6();
    T_SKIP_CASE_ON_WINDOWS("fallback", "the comparison with ops run as plain system calls is io_uring's "
                                       "(CIO_URING_DISABLE)");
    run_all(false);
    printf("socket_setup: ok (%d results)\n", nresults);
    return 0;
}
#else
int main(void) {
    net_watchdog(120);
    unsetenv("CIO_URING_DISABLE");
    have_v6 = net_have_ipv6();

    /* The fallback run first, in a child, so that no ring crosses the fork. */
    int p[2];
    CHECK_EQ(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        net_watchdog(60);
        CHECK_EQ(setenv("CIO_URING_DISABLE", disable_list, 1), 0);
        run_all(true);
        CHECK_EQ(write(p[1], &nresults, sizeof nresults), (ssize_t)sizeof nresults);
        CHECK_EQ(write(p[1], results, sizeof results), (ssize_t)sizeof results);
        close(p[1]);
        exit(0);
    }
    close(p[1]);
    /* The child's few hundred bytes fit in the pipe: it never blocks on them. */
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int child_n = -1;
    static int32_t child[MAX_RESULTS];
    CHECK_EQ(read(p[0], &child_n, sizeof child_n), (ssize_t)sizeof child_n);
    CHECK_EQ(read(p[0], child, sizeof child), (ssize_t)sizeof child);
    close(p[0]);

    run_all(false);
    CHECK_EQ(child_n, nresults);
    for (int i = 0; i < nresults; i++) {
        if (child[i] != results[i])
            fprintf(stderr, "result %d: fallback %d, native %d\n", i, child[i], results[i]);
        CHECK_EQ(child[i], results[i]);
    }
    printf("socket_setup: ok (%d results identical natively and with %s as system calls)\n", nresults,
           disable_list);
    return 0;
}
#endif
