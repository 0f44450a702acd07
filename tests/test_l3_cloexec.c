/*
 * test_l3_cloexec - every handle L3 makes is close-on-exec (issue 11 point 9), including the
 * ones cio keeps for itself (the loop's own, a signal watcher's pipe, a process's pidfd).
 *
 * The oracle is the kernel: after every kind of handle has been made (files, directories,
 * listeners, accepted and connected sockets, UDP, Unix sockets, socket pairs, pipes, a handle
 * received over a Unix socket, a child's stdio pipes, a signal watcher), /proc/self/fd is walked
 * and fcntl(F_GETFD) must show FD_CLOEXEC on every descriptor above 2; then a child started
 * through cio_process_spawn lists its own /proc/self/fd with plain `ls`, and must hold nothing
 * but its stdio (and the directory `ls` opens to read). Linux only (/proc).
 *
 * CIO_TEST_NOT_ON_WINDOWS: POSIX descriptors and /proc; Windows handles are made non-inheritable
 * (WSA_FLAG_NO_HANDLE_INHERIT, bInheritHandle FALSE), which the IOCP tests of each area check.
 */
#include "test.h" /* first: port.h sets the feature macros */

#include <cio.h>

#include <dirent.h>
#include <fcntl.h>

#define ROOT "/tmp"

static char dir[256];

/* Descriptors the test inherited (from ctest, a shell, a CI runner) are not cio's: mark them
 * close-on-exec first, so that what is left to find is cio's alone. */
static void mark_inherited(void) {
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd > 2 && fd != dirfd(d)) {
            int flags = fcntl(fd, F_GETFD);
            if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
        }
    }
    closedir(d);
}

static void check_all_cloexec(const char *when) {
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    int self = dirfd(d), seen = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd <= 2 || fd == self) continue;
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC)) {
            char path[64], target[256] = "";
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(path, target, sizeof target - 1);
            if (n > 0) target[n] = 0;
            fprintf(stderr, "%s: fd %d (%s) is not close-on-exec\n", when, fd, target);
            exit(1);
        }
        seen++;
    }
    closedir(d);
    CHECK(seen > 0);
}

/* A child that lists its descriptors: only 0, 1, 2 and ls's own directory handle may be there. */
static void child_sees_only_stdio(cio_loop *loop) {
    const char *argv[] = {"sh", "-c", "ls /proc/self/fd", NULL};
    cio_process p;
    cio_process_options o = {.argv = argv, .stdio = {[1] = {.mode = CIO_STDIO_PIPE}}};
    CHECK_EQ(cio_process_spawn(loop, &p, &o), 0);
    char out[4096];
    size_t got = 0;
    int32_t n;
    while (got < sizeof out - 1 && (n = cio_read(p.pipe[1], out + got, (uint32_t)(sizeof out - 1 - got),
                                                 CIO_OFFSET_CURRENT)) > 0)
        got += (size_t)n;
    out[got] = 0;
    cio_close(p.pipe[1]);
    CHECK_EQ(cio_process_wait(&p, 0), 0);
    CHECK_EQ(p.exit_code, 0);
    cio_process_release(&p);
    int count = 0;
    for (char *tok = strtok(out, "\n"); tok; tok = strtok(NULL, "\n")) {
        int fd = atoi(tok);
        if (fd > 3) { /* 0-2 are stdio, 3 is ls's directory (the lowest free number) */
            fprintf(stderr, "the child holds fd %d: a handle of the parent leaked\n", fd);
            exit(1);
        }
        count++;
    }
    CHECK(count >= 3);
}

static intptr_t body(void *arg) {
    (void)arg;
    cio_loop *loop = cio_task_loop();
    char path[300];

    /* Files and directories. */
    snprintf(path, sizeof path, "%s/f", dir);
    intptr_t f = cio_file_open(path, CIO_O_RDWR | CIO_O_CREAT, 0600);
    CHECK(f >= 0);
    _Alignas(8) char dbuf[1024];
    cio_dir d;
    CHECK_EQ(cio_dir_open(&d, dir, dbuf, sizeof dbuf), 0);

    /* TCP: listener, accepted and connected sockets. */
    cio_fd ls, c, a;
    CHECK_EQ(cio_tcp_listen(loop, "127.0.0.1:0", NULL, &ls), 0);
    cio_addr me;
    CHECK_EQ(cio_socket_local_addr(loop, ls, &me), 0);
    char where[CIO_ADDR_STRLEN];
    CHECK(cio_addr_format(&me, where, sizeof where) > 0);
    CHECK_EQ(cio_tcp_connect(where, 0, &c, NULL), 0);
    CHECK_EQ(cio_tcp_accept(ls, &a, NULL), 0);

    /* UDP, Unix stream and datagram sockets, pairs, pipes. */
    cio_fd u, ul, uc, ua, ud, sp[2], pp[2];
    CHECK_EQ(cio_udp_bind(loop, "127.0.0.1:0", NULL, &u), 0);
    snprintf(path, sizeof path, "%s/s", dir);
    CHECK_EQ(cio_unix_listen(loop, path, NULL, &ul), 0);
    CHECK_EQ(cio_unix_connect(path, 0, &uc), 0);
    CHECK_EQ(cio_tcp_accept(ul, &ua, NULL), 0);
    snprintf(path, sizeof path, "%s/d", dir);
    CHECK_EQ(cio_unix_dgram_bind(loop, path, &ud), 0);
    CHECK_EQ(cio_socket_pair(loop, SOCK_STREAM, sp), 0);
    CHECK_EQ(cio_pipe(loop, pp), 0);

    /* A handle received over a Unix socket. */
    cio_fd got = CIO_FD_INVALID;
    char byte = 'x';
    CHECK_EQ(cio_unix_send_fd(uc, &byte, 1, (cio_fd)f), 1);
    CHECK_EQ(cio_unix_recv_fd(ua, &byte, 1, &got), 1);
    CHECK(got != CIO_FD_INVALID);

    /* A signal watcher that is waited on (its pipe exists while it waits), and a process. */
    cio_signal sig;
    CHECK_EQ(cio_signal_init(&sig, loop), 0);
    CHECK_EQ(cio_signal_add(&sig, CIO_SIGUSR1), 0);
    CHECK_EQ(cio_signal_raise(loop, CIO_SIGUSR1), 0);
    uint32_t count = 0;
    CHECK_EQ(cio_signal_wait(&sig, 0, &count), CIO_SIGUSR1);

    check_all_cloexec("after every kind of handle");
    child_sees_only_stdio(loop);

    cio_signal_close(&sig);
    cio_fd all[] = {(cio_fd)f, ls, c, a, u, ul, uc, ua, ud, sp[0], sp[1], pp[0], pp[1], got};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) CHECK_EQ(cio_close(all[i]), 0);
    CHECK_EQ(cio_dir_close(&d), 0);
    return 0;
}

int main(void) {
    t_watchdog();
    const char *be = getenv("CIO_BACKEND");
    if (be && strcmp(be, "mock") == 0) {
        printf("SKIP l3_cloexec: simulated handles are no descriptors\n");
        return 77;
    }
    mark_inherited();
    snprintf(dir, sizeof dir, ROOT "/cio-cloexec-%d", (int)getpid());
    CHECK_EQ(mkdir(dir, 0700), 0);
    intptr_t rc = -1;
    CHECK_EQ(cio_main(body, NULL, NULL, &rc), 0);
    CHECK_EQ(rc, 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
    printf("every handle close-on-exec; the child held only its stdio\n");
    return 0;
}
