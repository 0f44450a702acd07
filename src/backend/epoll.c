/*
 * src/backend/epoll.c - the epoll multiplexer under the readiness layer
 * (src/core/readiness.c), for Linux where io_uring is unavailable.
 *
 * Each watched handle is registered once for the levels the readiness
 * layer wants and stays armed across ops (no EPOLLONESHOT to renew after
 * every event: that was an epoll_ctl per echoed message); the layer changes
 * the registration only when the set of events it waits for changes, and
 * stops a watch with EPOLLONESHOT and no events, which reports at most one
 * error or hang-up. Multishot polls alone are edge-triggered. The epoll fd
 * itself is the loop's pollable handle; an eventfd carries wakes.
 *
 * Ghosts: epoll registers the open file, not the number. A handle closed
 * behind cio's back whose file lives on elsewhere (a dup, a child) stays
 * registered under its old number, and a watch for levels would report it
 * on every wait, for ever. Each registration is tagged (the tag rides in
 * the event, the handle keeps the current one in `slot`), so an event of a
 * registration cio no longer has is known for a ghost; no call can remove
 * it (EPOLL_CTL_DEL finds files by number), so the set is built anew under
 * the same number (dup3), with every live registration.
 *
 * Trust: a number closed behind cio's back (allowed while no op waits on
 * it) loses its registration with its file, and a new file under the same
 * number has none, though cio still believes it armed. So an unchanged
 * watch is trusted without a call only when the readiness layer says so
 * (CIO_RD_TRUSTED: an op that has just completed in the handle's dispatch,
 * the kernel's report of this registration, is posted again on the handle
 * from its own callback: an echo's next receive costs no call); otherwise
 * the layer's arm, made whenever an op waits, renews it (EPOLL_CTL_MOD; on
 * ENOENT it is added anew), as the one-shot registrations were renewed
 * before. Not seen: that very op posted again on a number its callback
 * closed behind cio's back and got again for another file; it would wait
 * for a report that never comes. Close through cio.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdlib.h>

#include "../core/readiness.h"
#include "backend.h"

#define WAKE_TOKEN UINT64_MAX

typedef struct epoll_state {
    int epfd;
    int wake_fd;
    uint32_t tags;     /* the last tag given to a registration */
    unsigned watching; /* handles armed for some events */
} epoll_state;

static epoll_state *es(cio_loop *loop) { return CIO_MUX_STATE(loop, epoll_state); }

static uint64_t token(int fd, const cio_rd_handle *h) { return (uint64_t)h->slot << 32 | (uint32_t)fd; }

static void set_active(epoll_state *s, cio_rd_handle *h, bool on) {
    if (h->active == on) return;
    h->active = on;
    if (on)
        s->watching++;
    else
        s->watching--;
}

/* The events of a registration for `events` (poll bits and CIO_RD_EDGE). */
static uint32_t epoll_events(uint32_t events) {
    return (events & ~CIO_RD_EDGE) | ((events & CIO_RD_EDGE) ? EPOLLET : 0);
}

static int add(epoll_state *s, int epfd, int fd, cio_rd_handle *h, uint32_t events) {
    if (++s->tags == 0) s->tags = 1;
    h->slot = s->tags;
    struct epoll_event ev = {.events = epoll_events(events), .data.u64 = token(fd, h)};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

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

static int mux_arm(cio_loop *loop, int fd, cio_rd_handle *h, uint32_t events, bool renew) {
    epoll_state *s = es(loop);
    /* An edge-triggered watch renewed would report the same readiness
     * again; one for levels is renewed unless its event is being
     * dispatched (see the top). */
    if (events == h->want && !events) return 0;
    if (events == h->want && h->active && ((events & CIO_RD_EDGE) ? !renew : (h->quiet & CIO_RD_TRUSTED) != 0))
        return 0;
    h->want = events;
    if (!events) {
        /* Stopped: a watch for levels on a handle that stays ready would
         * report it on every wait. EPOLLONESHOT with no events reports at
         * most one error or hang-up, which finds nothing parked. */
        if (h->registered && h->active) {
            struct epoll_event ev = {.events = EPOLLONESHOT, .data.u64 = token(fd, h)};
            if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) h->registered = 0; /* closed behind cio's back */
        }
        set_active(s, h, false);
        return 0;
    }
    if (h->registered) {
        struct epoll_event ev = {.events = epoll_events(events), .data.u64 = token(fd, h)};
        if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) {
            set_active(s, h, true);
            return 0;
        }
        /* ENOENT: the fd was closed behind cio's back and the number reused;
         * the old registration, if its file lives on, is a ghost now. */
        int err = errno;
        h->registered = 0;
        set_active(s, h, false);
        if (err != ENOENT) {
            h->want = 0;
            return -err;
        }
    }
    /* EPERM: a handle with no readiness (a regular file); the readiness
     * layer then treats it as always ready, as poll(2) and io_uring do. */
    if (add(s, s->epfd, fd, h, events) < 0) {
        h->want = 0;
        return -errno;
    }
    h->registered = 1;
    set_active(s, h, true);
    return 0;
}

static void mux_forget(cio_loop *loop, int fd, cio_rd_handle *h) {
    if (h->registered) epoll_ctl(es(loop)->epfd, EPOLL_CTL_DEL, fd, NULL);
    h->registered = 0;
    set_active(es(loop), h, false);
}

static bool mux_watching(cio_loop *loop) { return es(loop)->watching != 0; }

/* A ghost has reported (see the top): builds the set anew with the live
 * registrations and puts it under the loop's epoll fd number, which drops
 * the old set and its ghosts. A live registration that cannot be made
 * again (its handle closed behind cio's back meanwhile) is reported as an
 * event with nothing armed, so that the readiness layer tries its ops and
 * arms it again, which fails them. Multishot polls may hear the current
 * readiness once more (a new edge-triggered registration reports it). */
static int rebuild(cio_loop *loop, cio_rd_ready *out, int k, unsigned max) {
    epoll_state *s = es(loop);
    cio_rd *rd = cio__rd(loop);
    int nfd = epoll_create1(EPOLL_CLOEXEC);
    if (nfd < 0) return k; /* the ghost reports again: tried again then */
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TOKEN};
    int r = epoll_ctl(nfd, EPOLL_CTL_ADD, s->wake_fd, &ev);
    /* The number stays the loop's pollable handle (cio_loop_fd). */
    while (r == 0 && (r = dup3(nfd, s->epfd, O_CLOEXEC)) < 0 && errno == EINTR) {
    }
    close(nfd);
    if (r < 0) return k;
    for (int fd = 0; fd <= rd->max_fd_used && (unsigned)fd < rd->nhandles; fd++) {
        cio_rd_handle *h = &rd->handles[fd];
        if (!h->registered) continue;
        if (h->active && add(s, s->epfd, fd, h, h->want) == 0) {
            continue;
        }
        h->registered = 0;
        if (h->active && (unsigned)k < max) {
            out[k].fd = fd;
            out[k].revents = POLLIN | POLLOUT;
            k++;
        }
        set_active(s, h, false);
        h->want = 0;
    }
    return k;
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
    bool ghost = false;
    for (int i = 0; i < n; i++) {
        if (events[i].data.u64 == WAKE_TOKEN) {
            uint64_t v;
            ssize_t ignored = read(s->wake_fd, &v, sizeof v);
            (void)ignored;
            cio__wake_consumed(loop);
            continue;
        }
        int fd = (int)(uint32_t)events[i].data.u64;
        uint32_t tag = (uint32_t)(events[i].data.u64 >> 32);
        if ((unsigned)fd >= rd->nhandles || !rd->handles[fd].registered || rd->handles[fd].slot != tag) {
            ghost = true;
            continue;
        }
        out[k].fd = fd;
        out[k].revents = events[i].events;
        k++;
    }
    return ghost ? rebuild(loop, out, k, max) : k;
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
