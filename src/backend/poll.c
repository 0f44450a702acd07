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
#include <sys/stat.h>
#include <unistd.h>

#include "../core/readiness.h"
#include "backend.h"

typedef struct poll_state {
    struct pollfd *fds; /* [0] is the wake pipe */
    unsigned n;         /* entries in use, wake pipe included */
    unsigned cap;
    unsigned scan;      /* where the next wait starts reporting (round robin) */
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
    int p[2];
    int r = s->fds ? make_pipe(p) : -CIO_ENOMEM;
    if (r < 0) {
        free(s->fds);
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

/* A handle that poll(2) would call ready forever: it has no readiness of
 * its own (epoll refuses such handles with EPERM). Asked only when a poll op
 * starts watching, so that sockets pay no extra call. */
static bool no_readiness(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode));
}

static int mux_arm(cio_loop *loop, int fd, cio_rd_handle *h, uint32_t events, bool renew) {
    (void)renew; /* poll(2) has only levels: nothing to renew */
    poll_state *s = ps(loop);
    h->want = events;
    if (!events) {
        if (h->slot) drop(loop, h);
        return 0;
    }
    if (!h->slot) {
        if (!opq_empty(&h->q[RD_Q_POLL]) && no_readiness(fd)) return -CIO_EPERM;
        if (s->n == s->cap) {
            /* More handles watched than the descriptor limit at init: the
             * program raised it since. Nothing points into the array while
             * callbacks run (mux_wait copies the events out first). */
            unsigned cap = s->cap * 2;
            struct pollfd *grown = realloc(s->fds, cap * sizeof *grown);
            if (!grown) return -CIO_ENOMEM;
            s->fds = grown;
            s->cap = cap;
        }
        s->fds[s->n].fd = fd;
        s->fds[s->n].revents = 0;
        h->slot = ++s->n;
    }
    s->fds[h->slot - 1].events = (short)(events & ~CIO_RD_EDGE); /* poll(2) has only levels */
    return 0;
}

static void mux_forget(cio_loop *loop, int fd, cio_rd_handle *h) {
    (void)fd;
    if (h->slot) drop(loop, h);
}

static bool mux_watching(cio_loop *loop) { return ps(loop)->n > 1; }

/* Only fills `out`: the readiness layer dispatches once this returns, so
 * callbacks that re-arm or drop handles (which reorders the array) or grow
 * it never run while it is being read. */
static int mux_wait(cio_loop *loop, int64_t timeout_ns, cio_rd_ready *out, unsigned max) {
    poll_state *s = ps(loop);
    cio_core *c = cio__core(loop);
    c->stats.enters++;
    int n = poll(s->fds, s->n, cio__rd_timeout_ms(timeout_ns));
    if (n < 0) return errno == EINTR ? 0 : -errno;
    c->stats.kernel_completions += (uint64_t)n;
    /* More ready handles than `out` holds: the rest are reported by the
     * next poll() (levels), and that report starts after the last one
     * taken, so that the handles late in the array get their turn too. */
    unsigned k = 0, seen = 0, i = s->scan < s->n ? s->scan : 0;
    for (unsigned j = 0; j < s->n && seen < (unsigned)n; j++, i = i + 1 < s->n ? i + 1 : 0) {
        if (!s->fds[i].revents) continue;
        seen++;
        if (s->fds[i].fd == s->wake_r) {
            char buf[64];
            while (read(s->wake_r, buf, sizeof buf) > 0) {
            }
            cio__wake_consumed(loop);
        } else if (k < max) {
            out[k].fd = s->fds[i].fd;
            out[k].revents = (uint16_t)s->fds[i].revents;
            if (++k == max) s->scan = i + 1;
        }
        s->fds[i].revents = 0;
    }
    return (int)k;
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

CIO_READINESS_BACKEND(cio__backend_poll, "poll", CIO_BACKEND_POLL);
