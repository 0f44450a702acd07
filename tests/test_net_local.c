/*
 * test_net_local - Unix sockets, socket pairs, pipes and handle passing
 * (cio/net.h). Oracles: bytes through the pairs and pipes checked against
 * the test's pattern, on the real backends read or written by plain
 * read/write/send/recv on the other end; close-on-exec read with fcntl; a
 * passed pipe proven by writing into the original with write(2) and
 * reading through the received handle with read(2). On the mock the
 * handles are simulated: the peers are cio calls and the cases that need
 * a system handle are skipped by name.
 * CIO_TEST_PORTABLE
 *
 * CIO_TEST_SEEDS_EXACT: it also runs under 1,000 mock seeds, without faults (tests/CMakeLists.txt).
 */
#include "test.h"

#include <stdbool.h>

#include "cio.h"

static cio_loop L;
static bool MOCK;
static int cases_done;

static unsigned char pat(uint32_t i) { return (unsigned char)((i * 2654435761u) >> 11); }

static void spawn(cio_task_fn fn, void *arg) { CHECK_EQ(cio_task_spawn(&L, fn, arg, NULL, NULL), 0); }

static void close_now(cio_fd fd) {
    t_op t;
    cio_prep_close(&t.op, fd);
    t_arm(&t);
    CHECK_EQ(cio_submit(&L, &t.op), 0);
    t_run(&L, 10);
    CHECK_EQ(t.res, 0);
}

#if !defined(_WIN32)
static void check_cloexec(cio_fd fd) {
    if (!MOCK) CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}
#else
static void check_cloexec(cio_fd fd) {
    DWORD f = 0;
    if (!MOCK) {
        CHECK(GetHandleInformation((HANDLE)fd, &f));
        CHECK(!(f & HANDLE_FLAG_INHERIT));
    }
}
#endif

/* Sends n bytes of the pattern from `w` while reading them on `r`. */
typedef struct xfer {
    cio_fd w, r;
    uint32_t n, got;
    bool use_rw; /* write/read (pipes) instead of send/recv */
} xfer;

static intptr_t writer(void *arg) {
    xfer *x = arg;
    char buf[3000];
    uint32_t sent = 0;
    while (sent < x->n) {
        uint32_t k = x->n - sent < sizeof buf ? x->n - sent : (uint32_t)sizeof buf;
        for (uint32_t i = 0; i < k; i++) buf[i] = (char)pat(sent + i);
        int32_t w = x->use_rw ? cio_write(x->w, buf, k, CIO_OFFSET_CURRENT) : cio_send(x->w, buf, k, 0);
        CHECK(w > 0);
        sent += (uint32_t)w;
    }
    CHECK_EQ(cio_close(x->w), 0);
    return 0;
}

static intptr_t reader(void *arg) {
    xfer *x = arg;
    char buf[4096];
    for (;;) {
        int32_t r = x->use_rw ? cio_read(x->r, buf, sizeof buf, CIO_OFFSET_CURRENT) : cio_recv(x->r, buf, sizeof buf, 0);
        CHECK(r >= 0);
        if (r == 0) break;
        for (int32_t i = 0; i < r; i++) CHECK_EQ((unsigned char)buf[i], pat(x->got + (uint32_t)i));
        x->got += (uint32_t)r;
    }
    CHECK_EQ(cio_close(x->r), 0);
    return 0;
}

static void stream_through(cio_fd w, cio_fd r, bool rw, uint32_t n) {
    xfer x = {.w = w, .r = r, .n = n, .use_rw = rw};
    spawn(writer, &x);
    spawn(reader, &x);
    t_run(&L, 30);
    CHECK_EQ(x.got, n);
}

static void case_pipe(void) {
    cio_fd p[2];
    CHECK_EQ(cio_pipe(&L, p), 0);
    check_cloexec(p[0]);
    check_cloexec(p[1]);
    if (!MOCK) {
        /* The oracle end: a plain write into the pipe, read by cio. */
        unsigned char b[64];
        for (int i = 0; i < 64; i++) b[i] = pat((uint32_t)i);
        CHECK_EQ(t_sys_write(p[1], b, 64), 64);
        xfer x = {.r = p[0], .n = 64, .use_rw = true};
        char buf[64];
        uint32_t got = 0;
        while (got < 64) {
            t_op t;
            cio_prep_read(&t.op, p[0], buf + got, 64 - got, CIO_OFFSET_CURRENT);
            t_arm(&t);
            CHECK_EQ(cio_submit(&L, &t.op), 0);
            t_run(&L, 10);
            CHECK(t.res > 0);
            got += (uint32_t)t.res;
        }
        CHECK(memcmp(buf, b, 64) == 0);
        (void)x;
    }
    stream_through(p[1], p[0], true, 200000);
    CHECK_EQ(cio_pipe(&L, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_pipe(NULL, p), -CIO_EINVAL);
    cases_done++;
}

static void case_socket_pair(void) {
    cio_fd s[2];
    CHECK_EQ(cio_socket_pair(&L, SOCK_STREAM, s), 0);
    check_cloexec(s[0]);
    check_cloexec(s[1]);
    if (!MOCK) {
        unsigned char b[100];
        for (int i = 0; i < 100; i++) b[i] = pat((uint32_t)i);
        CHECK_EQ(t_sys_send(s[0], b, 100, 0), 100);
        char got[100];
        uint32_t n = 0;
        while (n < 100) {
            t_op t;
            cio_prep_recv(&t.op, s[1], got + n, 100 - n, 0);
            t_arm(&t);
            CHECK_EQ(cio_submit(&L, &t.op), 0);
            t_run(&L, 10);
            CHECK(t.res > 0);
            n += (uint32_t)t.res;
        }
        CHECK(memcmp(got, b, 100) == 0);
    }
    stream_through(s[0], s[1], false, 300000);
    CHECK_EQ(cio_socket_pair(&L, SOCK_RAW, s), -CIO_EINVAL);
    CHECK_EQ(cio_socket_pair(&L, SOCK_STREAM, NULL), -CIO_EINVAL);
    /* Datagrams keep their bounds, both ways (on Windows two UDP sockets on
     * loopback, connected to each other): the oracle reads and writes with
     * plain recv and send; on the mock the peer is cio too. */
    CHECK_EQ(cio_socket_pair(&L, SOCK_DGRAM, s), 0);
    check_cloexec(s[0]);
    check_cloexec(s[1]);
    for (int dir = 0; dir < 2; dir++) {
        cio_fd from = s[dir], to = s[1 - dir];
        t_op t;
        cio_prep_send(&t.op, from, "abc", 3, 0);
        t_arm(&t);
        CHECK_EQ(cio_submit(&L, &t.op), 0);
        t_run(&L, 10);
        CHECK_EQ(t.res, 3);
        if (!MOCK) {
            CHECK_EQ(t_sys_send(from, "de", 2, 0), 2);
        } else {
            cio_prep_send(&t.op, from, "de", 2, 0);
            t_arm(&t);
            CHECK_EQ(cio_submit(&L, &t.op), 0);
            t_run(&L, 10);
            CHECK_EQ(t.res, 2);
        }
        char b[16];
        if (!MOCK) {
            CHECK_EQ(t_sys_recv(to, b, sizeof b, 0), 3);
            CHECK(memcmp(b, "abc", 3) == 0);
        } else {
            cio_prep_recv(&t.op, to, b, sizeof b, 0);
            t_arm(&t);
            CHECK_EQ(cio_submit(&L, &t.op), 0);
            t_run(&L, 10);
            CHECK_EQ(t.res, 3);
            CHECK(memcmp(b, "abc", 3) == 0);
        }
        cio_prep_recv(&t.op, to, b, sizeof b, 0);
        t_arm(&t);
        CHECK_EQ(cio_submit(&L, &t.op), 0);
        t_run(&L, 10);
        CHECK_EQ(t.res, 2);
        CHECK(memcmp(b, "de", 2) == 0);
    }
    close_now(s[0]);
    close_now(s[1]);
    cases_done++;
}

typedef struct unix_job {
    const char *path;
    cio_fd ls;
    uint32_t n, got;
    cio_addr peer;
    int expect;
} unix_job;

static intptr_t unix_server(void *arg) {
    unix_job *u = arg;
    cio_fd c;
    CHECK_EQ(cio_tcp_accept(u->ls, &c, &u->peer), 0); /* accept works for any stream listener */
    check_cloexec(c);
    char buf[4096];
    for (;;) {
        int32_t r = cio_recv(c, buf, sizeof buf, 0);
        CHECK(r >= 0);
        if (r == 0) break;
        for (int32_t i = 0; i < r; i++) CHECK_EQ((unsigned char)buf[i], pat(u->got + (uint32_t)i));
        u->got += (uint32_t)r;
    }
    CHECK_EQ(cio_close(c), 0);
    return 0;
}

static intptr_t unix_client(void *arg) {
    unix_job *u = arg;
    cio_fd fd = CIO_FD_INVALID;
    int r = cio_unix_connect(u->path, cio_now(&L) + 5000000000ull, &fd);
    CHECK_EQ(r, u->expect);
    if (r < 0) return 0;
    check_cloexec(fd);
    char buf[3000];
    uint32_t sent = 0;
    while (sent < u->n) {
        uint32_t k = u->n - sent < sizeof buf ? u->n - sent : (uint32_t)sizeof buf;
        for (uint32_t i = 0; i < k; i++) buf[i] = (char)pat(sent + i);
        int32_t w = cio_send(fd, buf, k, 0);
        CHECK(w > 0);
        sent += (uint32_t)w;
    }
    CHECK_EQ(cio_close(fd), 0);
    return 0;
}

static void unix_stream_at(const char *path) {
    unix_job u = {.path = path, .n = 100000};
    CHECK_EQ(cio_unix_listen(&L, path, NULL, &u.ls), 0);
    check_cloexec(u.ls);
    cio_addr me, want;
    CHECK_EQ(cio_socket_local_addr(&L, u.ls, &me), 0);
    CHECK_EQ(cio_addr_parse(&want, path[0] == '/' || path[0] == '@' ? path : "unix:x"), 0);
    if (path[0] == '/' || path[0] == '@') CHECK(cio_addr_equal(&me, &want));
    /* The name is taken while the listener lives. */
    cio_fd again;
    CHECK_EQ(cio_unix_listen(&L, path, NULL, &again), -CIO_EADDRINUSE);
    spawn(unix_server, &u);
    spawn(unix_client, &u);
    t_run(&L, 30);
    CHECK_EQ(u.got, u.n);
    close_now(u.ls);
}

static void case_unix_stream(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/s.sock", MOCK ? "/tmp" : t_tmpdir());
    cio_fd probe;
    int r = cio_unix_listen(&L, path, NULL, &probe);
    if (r == -CIO_EAFNOSUPPORT && t_on_windows()) {
        printf("SKIP net_local/unix_stream: no AF_UNIX streams on this Windows\n");
        return;
    }
    CHECK_EQ(r, 0);
    close_now(probe);
    if (!MOCK) {
        /* The socket file stays after the close (net.h): in use until removed. */
        CHECK(t_exists(path));
        CHECK_EQ(cio_unix_listen(&L, path, NULL, &probe), -CIO_EADDRINUSE);
        CHECK_EQ(remove(path), 0);
    }
    unix_stream_at(path);
    if (!MOCK) CHECK_EQ(remove(path), 0);
#if defined(__linux__)
    char abs[64];
    snprintf(abs, sizeof abs, "@cio-test-%d", t_pid());
    unix_stream_at(abs);
#endif
    unix_job u = {.path = path, .expect = -CIO_ENOENT};
    spawn(unix_client, &u);
    t_run(&L, 10);
    char longp[300];
    memset(longp, 'x', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = 0;
    CHECK_EQ(cio_unix_listen(&L, longp, NULL, &probe), -CIO_ENAMETOOLONG);
    CHECK_EQ(cio_unix_listen(&L, NULL, NULL, &probe), -CIO_EINVAL);
    CHECK_EQ(cio_unix_listen(&L, "", NULL, &probe), -CIO_EINVAL);
    cio_listen_options o = {0};
    o.reuseport = true;
    CHECK_EQ(cio_unix_listen(&L, path, &o, &probe), -CIO_EINVAL);
    CHECK_EQ(cio_unix_connect(path, 0, &probe), -CIO_EPERM);
    cases_done++;
}

typedef struct dgram_job {
    cio_fd a, b;
    cio_addr a_addr, b_addr;
    int done;
} dgram_job;

static intptr_t dgram_task(void *arg) {
    dgram_job *d = arg;
    CHECK_EQ(cio_udp_send_to(d->b, "hello", 5, &d->a_addr), 5);
    char buf[16];
    cio_addr from;
    bool cut = true;
    CHECK_EQ(cio_udp_recv_from(d->a, buf, sizeof buf, &from, &cut), 5);
    CHECK(!cut);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK(cio_addr_equal(&from, &d->b_addr));
    /* A reply to the address the datagram came from; cut to 2 bytes. */
    CHECK_EQ(cio_udp_send_to(d->a, "world", 5, &from), 5);
    CHECK_EQ(cio_udp_recv_from(d->b, buf, 2, &from, &cut), 2);
    CHECK(cut);
    CHECK(memcmp(buf, "wo", 2) == 0);
    CHECK(cio_addr_equal(&from, &d->a_addr));
    CHECK_EQ(cio_close(d->a), 0);
    CHECK_EQ(cio_close(d->b), 0);
    d->done = 1;
    return 0;
}

static void case_unix_dgram(void) {
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/d1.sock", MOCK ? "/tmp" : t_tmpdir());
    snprintf(p2, sizeof p2, "%s/d2.sock", MOCK ? "/tmp" : t_tmpdir());
    dgram_job d = {.done = 0};
    int r = cio_unix_dgram_bind(&L, p1, &d.a);
    if (t_on_windows() && !MOCK) {
        CHECK_EQ(r, -CIO_EAFNOSUPPORT);
        printf("SKIP net_local/unix_dgram: Windows has AF_UNIX streams only\n");
        return;
    }
    CHECK_EQ(r, 0);
    CHECK_EQ(cio_unix_dgram_bind(&L, p2, &d.b), 0);
    check_cloexec(d.a);
    CHECK_EQ(cio_addr_parse(&d.a_addr, p1), 0);
    CHECK_EQ(cio_addr_parse(&d.b_addr, p2), 0);
    spawn(dgram_task, &d);
    t_run(&L, 10);
    CHECK(d.done);
    if (!MOCK) {
        remove(p1);
        remove(p2);
    }
    cio_fd u;
    CHECK_EQ(cio_unix_dgram_bind(&L, NULL, &u), 0); /* unbound */
    cio_addr me;
    CHECK_EQ(cio_socket_local_addr(&L, u, &me), 0);
    CHECK_EQ(cio_addr_family(&me), AF_UNIX);
    char text[CIO_ADDR_STRLEN];
    CHECK_EQ(cio_addr_format(&me, text, sizeof text), 0); /* unnamed: "" */
    close_now(u);
    cases_done++;
}

typedef struct pass_job {
    cio_fd s[2], p[2];
    cio_fd got;
    int32_t sent, recvd;
} pass_job;

static intptr_t pass_task(void *arg) {
    pass_job *j = arg;
    j->sent = cio_unix_send_fd(j->s[0], "x", 1, j->p[0]);
    if (j->sent < 0) return 0;
    char c = 0;
    j->recvd = cio_unix_recv_fd(j->s[1], &c, 1, &j->got);
    CHECK_EQ(c, 'x');
    /* Bytes without a handle: none comes. */
    cio_fd none = 0;
    CHECK_EQ(cio_send(j->s[0], "y", 1, 0), 1);
    CHECK_EQ(cio_unix_recv_fd(j->s[1], &c, 1, &none), 1);
    CHECK(none == CIO_FD_INVALID);
    CHECK_EQ(c, 'y');
    return 0;
}

static void case_pass_handle(void) {
    pass_job j = {.got = CIO_FD_INVALID};
    CHECK_EQ(cio_socket_pair(&L, SOCK_STREAM, j.s), 0);
    CHECK_EQ(cio_pipe(&L, j.p), 0);
    spawn(pass_task, &j);
    t_run(&L, 10);
    if (t_on_windows() || MOCK) {
        CHECK_EQ(j.sent, -CIO_ENOTSUP);
        printf("SKIP net_local/pass_handle: %s\n",
               MOCK ? "ancillary data is not simulated" : "Windows has no SCM_RIGHTS");
    } else {
        CHECK_EQ(j.sent, 1);
        CHECK_EQ(j.recvd, 1);
        CHECK(j.got != CIO_FD_INVALID && j.got != j.p[0]);
        check_cloexec(j.got);
        /* The oracle: bytes written into the original pipe come out of the passed handle. */
        CHECK_EQ(t_sys_write(j.p[1], "hello", 5), 5);
        char buf[8];
        CHECK_EQ(t_sys_read(j.got, buf, sizeof buf), 5);
        CHECK(memcmp(buf, "hello", 5) == 0);
        close_now(j.got);
    }
    close_now(j.s[0]);
    close_now(j.s[1]);
    close_now(j.p[0]);
    close_now(j.p[1]);
    cases_done++;
}

int main(void) {
    t_ignore_sigpipe();
    t_loop_init(&L, 64);
    MOCK = cio_loop_backend(&L) == CIO_BACKEND_MOCK;
    case_pipe();
    case_socket_pair();
    case_unix_stream();
    case_unix_dgram();
    case_pass_handle();
    t_close(&L);
    printf("ok (%d cases)\n", cases_done);
    return 0;
}
