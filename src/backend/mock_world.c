/*
 * src/backend/mock_world.c - the mock's simulated pipes (mock_world.h):
 * a fixed ring of bytes per pipe and a table of handles. No op is
 * allocated for: only cio_mock_pipe() allocates (the pipe, and the table
 * when it grows).
 */
#include <stdlib.h>

#include "mock_world.h"

static cio_fd handle_of(uint32_t slot, int end) { return (cio_fd)(MOCK_FD_BASE + 2 * slot + (uint32_t)end); }

int mock_pipe_make(mock_world *w, cio_fd fds[2]) {
    uint32_t slot = 0;
    while (slot < w->cap && w->pipes[slot]) slot++;
    if (slot == w->cap) {
        if (w->cap >= MOCK_FD_SLOTS) return -CIO_EMFILE;
        uint32_t cap = w->cap ? 2 * w->cap : 8;
        mock_pipe **grown = realloc(w->pipes, cap * sizeof *grown);
        if (!grown) return -CIO_ENOMEM;
        memset(grown + w->cap, 0, (cap - w->cap) * sizeof *grown);
        w->pipes = grown;
        w->cap = cap;
    }
    mock_pipe *p = calloc(1, sizeof *p);
    if (!p) return -CIO_ENOMEM;
    p->open[MOCK_END_READ] = p->open[MOCK_END_WRITE] = true;
    w->pipes[slot] = p;
    fds[0] = handle_of(slot, MOCK_END_READ);
    fds[1] = handle_of(slot, MOCK_END_WRITE);
    return 0;
}

mock_pipe *mock_pipe_find(const mock_world *w, cio_fd fd, int *end) {
    if (!mock_is_simulated(fd)) return NULL;
    uint64_t n = (uint64_t)fd - MOCK_FD_BASE;
    if (n / 2 >= w->cap) return NULL;
    mock_pipe *p = w->pipes[n / 2];
    if (!p || !p->open[n % 2]) return NULL;
    *end = (int)(n % 2);
    return p;
}

mock_pipe *mock_pipe_close_end(mock_world *w, cio_fd fd) {
    int end;
    mock_pipe *p = mock_pipe_find(w, fd, &end);
    if (!p) return NULL;
    p->open[end] = false;
    if (p->open[!end]) return p;
    w->pipes[((uint64_t)fd - MOCK_FD_BASE) / 2] = NULL;
    free(p);
    return NULL;
}

/* Copies `n` bytes between the ring at `at` and the iovecs, from the start
 * of both; `out` says which way (out of the ring into the iovecs). */
static void copy(mock_pipe *p, uint32_t at, const cio_iovec *iov, unsigned iovcnt, uint32_t n, bool out) {
    for (unsigned i = 0; n > 0 && i < iovcnt; i++) {
        size_t off = 0;
        while (n > 0 && off < iov[i].iov_len) {
            uint32_t ring = at % MOCK_PIPE_CAPACITY;
            size_t run = iov[i].iov_len - off;
            if (run > n) run = n;
            if (run > MOCK_PIPE_CAPACITY - ring) run = MOCK_PIPE_CAPACITY - ring;
            unsigned char *user = (unsigned char *)iov[i].iov_base + off;
            if (out)
                memcpy(user, p->buf + ring, run);
            else
                memcpy(p->buf + ring, user, run);
            at += (uint32_t)run;
            off += run;
            n -= (uint32_t)run;
        }
    }
}

uint32_t mock_pipe_take(mock_pipe *p, const cio_iovec *iov, unsigned iovcnt, uint32_t max) {
    uint32_t n = max < p->len ? max : p->len;
    copy(p, p->head, iov, iovcnt, n, true);
    p->head = (p->head + n) % MOCK_PIPE_CAPACITY;
    p->len -= n;
    return n;
}

uint32_t mock_pipe_put(mock_pipe *p, const cio_iovec *iov, unsigned iovcnt, uint32_t max) {
    uint32_t room = MOCK_PIPE_CAPACITY - p->len;
    uint32_t n = max < room ? max : room;
    copy(p, p->head + p->len, iov, iovcnt, n, false);
    p->len += n;
    return n;
}

uint32_t mock_pipe_events(const mock_pipe *p, int end) {
    if (end == MOCK_END_READ)
        return (p->len ? CIO_POLLIN : 0) | (p->open[MOCK_END_WRITE] ? 0 : CIO_POLLHUP);
    return (p->len < MOCK_PIPE_CAPACITY ? CIO_POLLOUT : 0) | (p->open[MOCK_END_READ] ? 0 : CIO_POLLERR);
}

void mock_world_free(mock_world *w) {
    for (uint32_t i = 0; i < w->cap; i++) free(w->pipes[i]);
    free(w->pipes);
    w->pipes = NULL;
    w->cap = 0;
}
