/* A task that echoes (receive, then send, then receive again) costs the
 * readiness backends no renewal of the handle's watch per message, as a
 * callback server that posts its next receive from its callback does not.
 *
 * The task's send is tried at submission and completes there; its
 * callback, which resumes the task, used to run after the wait, outside
 * the dispatch of the handle that reported, so the task's next receive
 * was tried (EAGAIN) and its watch renewed: on epoll one epoll_ctl per
 * message (bench/echo.sh's syscall table: 0.575 per round trip at 1,000
 * connections). Now the dispatch runs such callbacks before it ends.
 *
 * The oracle, without strace: after a few round trips, a seccomp filter
 * makes every epoll_ctl of the loop's thread fail with an error nothing
 * else produces; the task then echoes 800 more messages to a peer thread
 * that writes and reads with plain system calls and checks every byte.
 * Before the change every receive after the filter failed on epoll. On
 * io_uring and poll the loop makes no epoll_ctl at all: the echo is
 * checked alone.
 *
 * The messages are shorter than the task's buffer, so each receive
 * empties the socket and the next one parks untried. With messages of
 * the buffer's size a receive may find the peer's next message at once
 * and complete at submission, and so on: the dispatch runs only a few
 * rounds of such completions (RD_FINISHED_ROUNDS), and a receive posted
 * after the last renews its watch (one epoll_ctl, correct, not counted
 * here: whether it happens depends on the peer's speed).
 * CIO_TEST_NOT_ON_WINDOWS: it counts system calls with a Linux seccomp filter in a forked child */
#include "test.h"
#include "deny_calls.h"

#include <errno.h>
#include <sys/socket.h>

#if defined(T_HAVE_DENY_CALLS)

#define DENIED ENOTRECOVERABLE /* what a denied epoll_ctl says */

enum { BUF = 256, WARM = 8, ROUNDS = 400 };
static const uint32_t sizes[] = {64, 200};
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define TOTAL (WARM + NSIZES * ROUNDS)

static int sv[2];
static int task_done;

/* The size of message `i`: the warm-up's are the first size. */
static uint32_t size_of(unsigned i) { return i < WARM ? sizes[0] : sizes[(i - WARM) / ROUNDS]; }

static void fill(unsigned char *b, uint32_t len, unsigned round) {
    for (uint32_t i = 0; i < len; i++) b[i] = (unsigned char)(round * 131u + i * 7u);
}

static intptr_t echo(void *arg) {
    (void)arg;
    unsigned char buf[BUF];
    for (unsigned i = 0; i < TOTAL; i++) {
        uint32_t got = 0;
        while (got < size_of(i)) {
            int32_t n = cio_recv(sv[0], buf + got, (uint32_t)(sizeof buf - got), 0);
            if (n <= 0) {
                fprintf(stderr, "message %u: recv %d (%s)%s\n", i, n, cio_strerror(n),
                        n == -DENIED ? ": an epoll_ctl was made" : "");
                exit(1);
            }
            got += (uint32_t)n;
        }
        CHECK_EQ(got, size_of(i));
        CHECK_EQ(cio_send(sv[0], buf, got, 0), (int32_t)got);
    }
    task_done = 1;
    return 0;
}

/* Sends message `i` and checks its echo; `turn` runs the loop while it
 * waits (the warm-up's peer is the loop's own thread), else NULL. */
static void round_trip(unsigned i, cio_loop *turn) {
    unsigned char out[BUF], in[BUF];
    uint32_t len = size_of(i);
    fill(out, len, i);
    CHECK_EQ(write(sv[1], out, len), (ssize_t)len);
    size_t got = 0;
    double end = t_seconds() + 10;
    while (got < len) {
        if (turn) CHECK(cio_loop_run(turn, CIO_RUN_NOWAIT) >= 0);
        ssize_t n = recv(sv[1], in + got, len - got, turn ? MSG_DONTWAIT : 0);
        if (n > 0) got += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR)) exit(1); /* the task failed: it said why */
        CHECK(t_seconds() < end);
    }
    CHECK(memcmp(in, out, len) == 0);
    /* The send's callback resumes the task, which posts its next receive
     * while nothing has been written yet: it parks. */
    if (turn)
        for (int k = 0; k < 2; k++) CHECK(cio_loop_run(turn, CIO_RUN_NOWAIT) >= 0);
}

static void *peer(void *arg) {
    (void)arg;
    for (unsigned i = WARM; i < TOTAL; i++) round_trip(i, NULL);
    return NULL;
}

static int child(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    /* Bounded: the peer's reads give up after 10 s. */
    struct timeval tv = {10, 0};
    CHECK_EQ(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    CHECK_EQ(cio_task_spawn(&loop, echo, NULL, &(cio_task_options){.detached = true}, NULL), 0);
    /* The warm-up is driven from this thread, between loop turns: each
     * message is written only once the last echo is back, so the task's
     * receive finds the socket empty at least once and its watch is made
     * (one epoll_ctl) before the filter; a peer always ahead of the task
     * would let every receive complete at submission and the watch be made
     * only under the filter. */
    for (unsigned i = 0; i < WARM; i++) round_trip(i, &loop);
    const long nr = __NR_epoll_ctl;
    if (t_deny_calls(&nr, 1, DENIED) != 0) {
        fprintf(stderr, "seccomp filters are not allowed here (%s): skipped\n", strerror(errno));
        return 77;
    }
    t_thread th;
    CHECK_EQ(t_thread_start(&th, peer, NULL), 0);
    double end = t_seconds() + 30;
    while (!task_done) {
        CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
        CHECK(t_seconds() < end);
    }
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    /* No close through cio: on epoll it would unregister (an epoll_ctl). */
    CHECK_EQ(cio_loop_close(&loop), 0);
    return 0;
}

int main(void) { return t_main_in_child(child, 60); }

#else
int main(void) {
    fprintf(stderr, "needs seccomp on Linux x86-64 or aarch64: skipped\n");
    return 77;
}
#endif
