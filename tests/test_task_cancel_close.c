/* A task blocked in any blocking call, cancelled, then the loop closed at
 * once: the close returns 0 promptly and the task has returned, having
 * seen -CIO_ECANCELED. Also the same without the cancel (the close alone
 * ends the task), and cancel then run the loop (the task returns without
 * the close). Every call that can block for good is tried: reads and
 * receives with no data, writes and sends into a full pipe or socket,
 * accept with no peer, connect to a full backlog, poll, splice from an
 * empty pipe, openat of a FIFO with no writer, sleep, and the waits on
 * sync primitives. Each case runs in a child process with an alarm, so a
 * hang names its case.
 *
 * Regression (issue 7, bug 7, second part): on epoll and poll, the close
 * hung for a task blocked in a call that the blocking pool runs and that
 * blocks for good there (splice from an empty pipe, openat of a FIFO). */
#include "test.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

enum {
    K_READ, K_READV, K_WRITE, K_WRITEV, K_RECV, K_RECVMSG, K_SEND, K_SENDMSG, K_ACCEPT, K_CONNECT,
    K_POLL, K_SPLICE, K_OPEN_FIFO, K_SLEEP, K_EVENT, K_XCHAN, K_COUNT
};
static const char *const names[K_COUNT] = {"read",    "readv",  "write",  "writev", "recv",      "recvmsg",
                                           "send",    "sendmsg", "accept", "connect", "poll",    "splice",
                                           "openat(fifo)", "sleep", "event",  "xchan"};

typedef struct env {
    int pipe_empty[2], pipe_full[2], sock_pair[2], sock_full[2], listener, connecter;
    struct sockaddr_in full_addr;
    char fifo[64];
    cio_event ev;
    cio_xchan xc;
} env;

static int kind;
static env E;
static int32_t result = 1;
static int returned;

static void fill(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    static char junk[65536];
    while (write(fd, junk, sizeof junk) > 0) {
    }
}

static void setup(cio_loop *loop) {
    CHECK_EQ(pipe(E.pipe_empty), 0);
    CHECK_EQ(pipe(E.pipe_full), 0);
    fill(E.pipe_full[1]);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, E.sock_pair), 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, E.sock_full), 0);
    fill(E.sock_full[0]);
    /* A listener that never accepts, with a backlog of 0 filled by
     * connects, so that another connect stays pending. */
    E.listener = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(E.listener >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(bind(E.listener, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    CHECK_EQ(getsockname(E.listener, (struct sockaddr *)&a, &al), 0);
    CHECK_EQ(listen(E.listener, 0), 0);
    E.full_addr = a;
    if (kind == K_CONNECT) {
        for (int i = 0; i < 8; i++) {
            int f = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            connect(f, (struct sockaddr *)&a, sizeof a);
        }
        usleep(20000);
    }
    E.connecter = socket(AF_INET, SOCK_STREAM, 0);
    snprintf(E.fifo, sizeof E.fifo, "/tmp/cio_fifo_%d", (int)getpid());
    unlink(E.fifo);
    CHECK_EQ(mkfifo(E.fifo, 0600), 0);
    cio_event_init(&E.ev, false);
    CHECK_EQ(cio_xchan_init(&E.xc, loop), 0);
}

static intptr_t blocked(void *arg) {
    (void)arg;
    char buf[256] = {0};
    cio_iovec iov = {buf, sizeof buf};
    cio_msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = (void *)&iov;
    msg.msg_iovlen = 1;
    cio_xmsg *m;
    switch (kind) {
    case K_READ: result = cio_read(E.pipe_empty[0], buf, sizeof buf, CIO_OFFSET_CURRENT); break;
    case K_READV: result = cio_readv(E.pipe_empty[0], &iov, 1, CIO_OFFSET_CURRENT); break;
    case K_WRITE: result = cio_write(E.pipe_full[1], buf, sizeof buf, CIO_OFFSET_CURRENT); break;
    case K_WRITEV: result = cio_writev(E.pipe_full[1], &iov, 1, CIO_OFFSET_CURRENT); break;
    case K_RECV: result = cio_recv(E.sock_pair[0], buf, sizeof buf, 0); break;
    case K_RECVMSG: result = cio_recvmsg(E.sock_pair[0], &msg, 0); break;
    case K_SEND: result = cio_send(E.sock_full[0], buf, sizeof buf, MSG_NOSIGNAL); break;
    case K_SENDMSG: result = cio_sendmsg(E.sock_full[0], &msg, MSG_NOSIGNAL); break;
    case K_ACCEPT: result = cio_accept(E.listener, NULL, NULL, 0); break;
    case K_CONNECT:
        result = cio_connect(E.connecter, (struct sockaddr *)&E.full_addr, sizeof E.full_addr);
        break;
    case K_POLL: result = cio_poll(E.pipe_empty[0], CIO_POLLIN); break;
    case K_SPLICE:
        result = cio_splice(E.pipe_empty[0], CIO_OFFSET_CURRENT, E.sock_pair[0], CIO_OFFSET_CURRENT, 64, 0);
        break;
    case K_OPEN_FIFO: result = cio_openat(CIO_AT_FDCWD, E.fifo, O_RDONLY, 0); break;
    case K_SLEEP: result = cio_sleep(3600ull * 1000000000); break;
    case K_EVENT: result = cio_event_wait(&E.ev); break;
    case K_XCHAN: result = cio_xchan_recv(&E.xc, &m); break;
    }
    returned = 1;
    return 0;
}

enum { M_CANCEL_CLOSE, M_CLOSE, M_CANCEL_RUN, M_COUNT };
static const char *const modes[M_COUNT] = {"cancel+close", "close", "cancel+run"};

static void child(int mode) {
    cio_loop loop;
    t_loop_init(&loop, 0);
    setup(&loop);
    cio_task *t;
    CHECK_EQ(cio_task_spawn(&loop, blocked, NULL, NULL, &t), 0);
    /* Let it block, and a pool thread start on its op. */
    for (int i = 0; i < 5; i++) CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    usleep(20000);
    for (int i = 0; i < 5; i++) CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    if (returned) { /* a FIFO opens without waiting for a writer; no splice off Linux */
        printf("%s: did not block (returned %d)\n", names[kind], result);
        CHECK((kind == K_OPEN_FIFO && result >= 0) || (kind == K_SPLICE && result == -CIO_ENOTSUP));
        CHECK_EQ(cio_loop_close(&loop), 0);
        _exit(0);
    }
    if (mode != M_CLOSE) CHECK_EQ(cio_task_cancel(t), 0);
    if (mode == M_CANCEL_RUN) {
        double end = t_seconds() + 5;
        while (!returned && t_seconds() < end) CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
        CHECK(returned);
        CHECK_EQ(result, -CIO_ECANCELED);
        CHECK_EQ(cio_task_join(t, NULL), -CIO_EPERM);
    }
    CHECK_EQ(cio_loop_close(&loop), 0);
    CHECK(returned);
    CHECK_EQ(result, -CIO_ECANCELED);
    unlink(E.fifo);
    _exit(0);
}

int main(void) {
    t_watchdog();
    int bad = 0;
    for (kind = 0; kind < K_COUNT; kind++)
        for (int mode = 0; mode < M_COUNT; mode++) {
            fflush(stdout);
            double t0 = t_seconds();
            pid_t pid = fork();
            CHECK(pid >= 0);
            if (pid == 0) {
                alarm(10);
                signal(SIGALRM, SIG_DFL);
                child(mode);
            }
            int status;
            CHECK_EQ(waitpid(pid, &status, 0), pid);
            double took = t_seconds() - t0;
            bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            if (!ok) {
                bad++;
                printf("%-13s %-13s %s after %.1f s\n", names[kind], modes[mode],
                       WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "HUNG" : "FAILED", took);
            }
            char path[64];
            snprintf(path, sizeof path, "/tmp/cio_fifo_%d", (int)pid);
            unlink(path);
        }
    printf("%d of %d cases failed\n", bad, K_COUNT * M_COUNT);
    CHECK_EQ(bad, 0);
    puts("task_cancel_close: ok");
    return 0;
}
