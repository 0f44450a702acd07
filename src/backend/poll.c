/*
 * src/backend/poll.c - the poll(2) multiplexer under the readiness layer
 * (src/core/readiness.c): the portable POSIX backend, the one macOS and the
 * BSDs get until a kqueue backend can be tested. No Linux-only header here.
 *
 * The watched handles sit in one dense pollfd array (each handle remembers
 * its slot; removal moves the last entry into the hole), so a turn costs
 * one poll() over exactly the handles that have ops waiting. Slot 0 is the
 * read end of a self-pipe that carries wakes. A poll set cannot be waited
 * on from outside, so this backend has no pollable loop handle.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "../core/readiness.h"
#include "backend.h"

typedef struct ready_fd {
    int fd;
    uint32_t revents;
} ready_fd;

typedef struct poll_state {
    struct pollfd *fds; /* [0] is the wake pipe */
    ready_fd *ready;    /* scratch: the events of one poll(), copied out */
    unsigned n;         /* entries in use, wake pipe included */
    unsigned cap;
    int wake_r, wake_w;
} poll_state;

static poll_state *ps(cio_loop *loop) { return CIO_MUX_STATE(loop, poll_state); }

static int make_pipe(int p[2]) {
    if (pipe(p) < 0) return -errno;
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(p[i], F_GETFL);
        if (fl < 0 || fcntl(p[i], F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(p[i], F_SETFD, FD_CLOEXEC) < 0) {
            int r = -errno;
            close(p[0]);
            close(p[1]);
            return r;
        }
    }
    return 0;
}

static int mux_init(cio_loop *loop, unsigned max_fds) {
    poll_state *s = ps(loop);
    s->cap = max_fds + 1;
    s->fds = calloc(s->cap, sizeof *s->fds);
    s->ready = calloc(s->cap, sizeof *s->ready);
    int p[2];
    int r = (s->fds && s->ready) ? make_pipe(p) : -CIO_ENOMEM;
    if (r < 0) {
        free(s->fds);
        free(s->ready);
        return r;
    }
    s->wake_r = p[0];
    s->wake_w = p[1];
    s->fds[0].fd = s->wake_r;
    s->fds[0].events = POLLIN;
    s->n = 1;
    return 0;
}

static void mux_close(cio_loop *loop) {
    poll_state *s = ps(loop);
    close(s->wake_r);
    close(s->wake_w);
    free(s->fds);
    free(s->ready);
}

static void drop(cio_loop *loop, cio_rd_handle *h) {
    poll_state *s = ps(loop);
    unsigned slot = h->slot - 1, last = s->n - 1;
    if (slot != last) {
        s->fds[slot] = s->fds[last];
        cio__rd(loop)->handles[s->fds[slot].fd].slot = slot + 1;
    }
    s->n--;
    h->slot = 0;
}

static int mux_arm(cio_loop *loop, int fd, cio_rd_handle *h, uint32_t events, bool fired) {
    (void)fired; /* level-triggered: nothing to renew */
    poll_state *s = ps(loop);
    h->want = events;
    if (!events) {
        if (h->slot) drop(loop, h);
        return 0;
    }
    if (!h->slot) {
        if (s->n == s->cap) return -CIO_EMFILE;
        s->fds[s->n].fd = fd;
        h->slot = ++s->n;
    }
    s->fds[h->slot - 1].events = (short)(events & ~CIO_RD_EDGE); /* poll(2) has only levels */
    return 0;
}

static void mux_forget(cio_loop *loop, int fd, cio_rd_handle *h) {
    (void)fd;
    if (h->slot) drop(loop, h);
}

static int mux_wait(cio_loop *loop, int64_t timeout_ns) {
    poll_state *s = ps(loop);
    cio_core *c = cio__core(loop);
    c->stats.enters++;
    int n = poll(s->fds, s->n, cio__rd_timeout_ms(timeout_ns));
    if (n < 0) return errno == EINTR ? 0 : -errno;
    c->stats.kernel_completions += (uint64_t)n;
    /* Callbacks re-arm and drop handles, which reorders the array: copy the
     * events out before running any of them. */
    unsigned k = 0;
    for (unsigned i = 0; i < s->n && k < (unsigned)n; i++) {
        if (!s->fds[i].revents) continue;
        s->ready[k].fd = s->fds[i].fd;
        s->ready[k].revents = (uint16_t)s->fds[i].revents;
        s->fds[i].revents = 0;
        k++;
    }
    for (unsigned i = 0; i < k; i++) {
        if (s->ready[i].fd == s->wake_r) {
            char buf[64];
            while (read(s->wake_r, buf, sizeof buf) > 0) {
            }
            cio__wake_consumed(loop);
            continue;
        }
        cio__rd_event(loop, s->ready[i].fd, s->ready[i].revents);
    }
    return n;
}

static int mux_wake(cio_loop *loop) {
    char one = 1;
    ssize_t r = write(ps(loop)->wake_w, &one, 1);
    return r == 1 || errno == EAGAIN ? 0 : -errno;
}

static int mux_pollable_fd(cio_loop *loop, cio_fd *out) {
    (void)loop;
    (void)out;
    return -CIO_ENOTSUP;
}

static const struct cio_mux poll_mux = {
    .name = "poll",
    .init = mux_init,
    .close = mux_close,
    .arm = mux_arm,
    .forget = mux_forget,
    .wait = mux_wait,
    .wake = mux_wake,
    .pollable_fd = mux_pollable_fd,
};

CIO_READINESS_BACKEND(cio__backend_poll, "poll", CIO_BACKEND_POLL, poll_mux);
