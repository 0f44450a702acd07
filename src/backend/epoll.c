/*
 * src/backend/epoll.c - the epoll multiplexer under the readiness layer
 * (src/core/readiness.c), for Linux where io_uring is unavailable.
 *
 * Each watched handle is registered EPOLLONESHOT: an event disarms it, and
 * the readiness layer re-arms it only while ops still wait on it, so a
 * handle nobody waits for never wakes the loop. The epoll fd itself is the
 * loop's pollable handle; an eventfd carries wakes.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../core/readiness.h"
#include "backend.h"

#define WAKE_TOKEN UINT64_MAX

typedef struct epoll_state {
    int epfd;
    int wake_fd;
} epoll_state;

static epoll_state *es(cio_loop *loop) { return CIO_MUX_STATE(loop, epoll_state); }

static int mux_init(cio_loop *loop, unsigned max_fds) {
    (void)max_fds;
    epoll_state *s = es(loop);
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) return -errno;
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TOKEN};
    if (s->wake_fd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake_fd, &ev) < 0) {
        int r = -errno;
        if (s->wake_fd >= 0) close(s->wake_fd);
        close(s->epfd);
        return r;
    }
    return 0;
}

static void mux_close(cio_loop *loop) {
    epoll_state *s = es(loop);
    close(s->wake_fd);
    close(s->epfd);
}

static int mux_arm(cio_loop *loop, int fd, cio_rd_handle *h, uint32_t events, bool fired) {
    /* An edge-triggered registration stays armed after it fires; renewing
     * it would report the same readiness again. */
    if (fired && h->active && events == h->want && (events & CIO_RD_EDGE)) return 0;
    h->want = events;
    if (!events) return 0; /* one-shot: at most one stray event, which finds nothing parked */
    uint32_t mode = (events & CIO_RD_EDGE) ? EPOLLET : EPOLLONESHOT;
    struct epoll_event ev = {.events = (events & ~CIO_RD_EDGE) | mode, .data.fd = fd};
    epoll_state *s = es(loop);
    if (h->registered) {
        if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) {
            h->active = 1;
            return 0;
        }
        /* ENOENT: the fd was closed behind cio's back and the number reused. */
        if (errno != ENOENT) return -errno;
    }
    /* EPERM: a handle with no readiness (a regular file); the readiness
     * layer then treats it as always ready, as poll(2) and io_uring do. */
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) return -errno;
    h->registered = h->active = 1;
    return 0;
}

static void mux_forget(cio_loop *loop, int fd, cio_rd_handle *h) {
    if (h->registered) epoll_ctl(es(loop)->epfd, EPOLL_CTL_DEL, fd, NULL);
    h->registered = h->active = 0;
}

/* Only fills `out`: the readiness layer dispatches once this returns. */
static int mux_wait(cio_loop *loop, int64_t timeout_ns, cio_rd_ready *out, unsigned max) {
    epoll_state *s = es(loop);
    cio_rd *rd = cio__rd(loop);
    cio_core *c = cio__core(loop);
    struct epoll_event events[CIO_RD_MAX_READY];
    if (max > CIO_RD_MAX_READY) max = CIO_RD_MAX_READY;
    c->stats.enters++;
    int n = epoll_wait(s->epfd, events, (int)max, cio__rd_timeout_ms(timeout_ns));
    if (n < 0) return errno == EINTR ? 0 : -errno;
    c->stats.kernel_completions += (uint64_t)n;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (events[i].data.u64 == WAKE_TOKEN) {
            uint64_t v;
            ssize_t ignored = read(s->wake_fd, &v, sizeof v);
            (void)ignored;
            cio__wake_consumed(loop);
            continue;
        }
        int fd = events[i].data.fd;
        if ((unsigned)fd < rd->nhandles && !(rd->handles[fd].want & CIO_RD_EDGE))
            rd->handles[fd].active = 0; /* one-shot fired */
        out[k].fd = fd;
        out[k].revents = events[i].events;
        k++;
    }
    return k;
}

static int mux_wake(cio_loop *loop) {
    uint64_t one = 1;
    ssize_t r = write(es(loop)->wake_fd, &one, sizeof one);
    return r == (ssize_t)sizeof one || errno == EAGAIN ? 0 : -errno;
}

static int mux_pollable_fd(cio_loop *loop, cio_fd *out) {
    *out = es(loop)->epfd;
    return 0;
}

CIO_READINESS_BACKEND(cio__backend_epoll, "epoll", CIO_BACKEND_EPOLL);
