/*
 * src/backend/mock_world.c - the mock's simulated pipes and socket pairs
 * (mock_world.h): fixed rings of bytes and a table of handles. No op is
 * allocated for: only cio_mock_pipe() and cio_mock_socketpair() allocate
 * (the channel, and the table when it grows).
 */
#include <stdlib.h>

#include "mock_world.h"

static cio_fd handle_of(uint32_t slot, int end) { return (cio_fd)(MOCK_FD_BASE + 2 * slot + (uint32_t)end); }

int mock_chan_make(mock_world *w, bool socket, cio_fd fds[2]) {
    uint32_t slot = 0;
    while (slot < w->cap && w->chans[slot]) slot++;
    if (slot == w->cap) {
        if (w->cap >= MOCK_FD_SLOTS) return -CIO_EMFILE;
        uint32_t cap = w->cap ? 2 * w->cap : 8;
        mock_chan **grown = realloc(w->chans, cap * sizeof *grown);
        if (!grown) return -CIO_ENOMEM;
        memset(grown + w->cap, 0, (cap - w->cap) * sizeof *grown);
        w->chans = grown;
        w->cap = cap;
    }
    /* A pipe needs only the first ring. */
    size_t size = socket ? sizeof(mock_chan) : offsetof(mock_chan, ring) + sizeof(mock_ring);
    mock_chan *c = calloc(1, size);
    if (!c) return -CIO_ENOMEM;
    c->socket = socket;
    c->open[0] = c->open[1] = true;
    w->chans[slot] = c;
    fds[0] = handle_of(slot, 0);
    fds[1] = handle_of(slot, 1);
    return 0;
}

mock_chan *mock_chan_find(const mock_world *w, cio_fd fd, int *end) {
    if (!mock_is_simulated(fd)) return NULL;
    uint64_t n = (uint64_t)fd - MOCK_FD_BASE;
    if (n / 2 >= w->cap) return NULL;
    mock_chan *c = w->chans[n / 2];
    if (!c || !c->open[n % 2]) return NULL;
    *end = (int)(n % 2);
    return c;
}

mock_chan *mock_chan_close_end(mock_world *w, cio_fd fd) {
    int end;
    mock_chan *c = mock_chan_find(w, fd, &end);
    if (!c) return NULL;
    c->open[end] = false;
    /* As TCP answers a close with unread data by a reset (RFC 2525 2.17,
     * and Linux): the peer's next recv or send reports ECONNRESET. */
    if (c->socket && c->ring[!end].len) c->reset[!end] = true;
    if (c->open[!end]) return c;
    w->chans[((uint64_t)fd - MOCK_FD_BASE) / 2] = NULL;
    free(c);
    return NULL;
}

mock_ring *mock_rx(mock_chan *c, int end) {
    if (c->socket) return &c->ring[!end];
    return end == MOCK_END_READ ? &c->ring[0] : NULL;
}

mock_ring *mock_tx(mock_chan *c, int end) {
    if (c->socket) return &c->ring[end];
    return end == MOCK_END_WRITE ? &c->ring[0] : NULL;
}

bool mock_rx_done(const mock_chan *c, int end) {
    if (!c->socket) return !c->open[MOCK_END_WRITE];
    return !c->open[!end] || c->shut_wr[!end] || c->shut_rd[end];
}

bool mock_tx_broken(const mock_chan *c, int end) {
    if (!c->socket) return !c->open[MOCK_END_READ];
    return !c->open[!end] || c->shut_wr[end];
}

/* Copies `n` bytes between the ring at `at` and the iovecs, from the start
 * of both; `out` says which way (out of the ring into the iovecs). */
static void copy(mock_ring *r, uint32_t at, const cio_iovec *iov, unsigned iovcnt, uint32_t n, bool out) {
    for (unsigned i = 0; n > 0 && i < iovcnt; i++) {
        size_t off = 0;
        while (n > 0 && off < iov[i].iov_len) {
            uint32_t pos = at % MOCK_RING_CAPACITY;
            size_t run = iov[i].iov_len - off;
            if (run > n) run = n;
            if (run > MOCK_RING_CAPACITY - pos) run = MOCK_RING_CAPACITY - pos;
            unsigned char *user = (unsigned char *)iov[i].iov_base + off;
            if (out)
                memcpy(user, r->buf + pos, run);
            else
                memcpy(r->buf + pos, user, run);
            at += (uint32_t)run;
            off += run;
            n -= (uint32_t)run;
        }
    }
}

uint32_t mock_ring_take(mock_ring *r, const cio_iovec *iov, unsigned iovcnt, uint32_t max, bool consume) {
    uint32_t n = max < r->len ? max : r->len;
    copy(r, r->head, iov, iovcnt, n, true);
    if (consume) {
        r->head = (r->head + n) % MOCK_RING_CAPACITY;
        r->len -= n;
    }
    return n;
}

uint32_t mock_ring_put(mock_ring *r, const cio_iovec *iov, unsigned iovcnt, uint32_t max) {
    uint32_t room = MOCK_RING_CAPACITY - r->len;
    uint32_t n = max < room ? max : room;
    copy(r, r->head + r->len, iov, iovcnt, n, false);
    r->len += n;
    return n;
}

uint32_t mock_chan_events(const mock_chan *c, int end) {
    if (!c->socket) {
        if (end == MOCK_END_READ)
            return (c->ring[0].len ? CIO_POLLIN : 0) | (c->open[MOCK_END_WRITE] ? 0 : CIO_POLLHUP);
        return (c->ring[0].len < MOCK_RING_CAPACITY ? CIO_POLLOUT : 0) | (c->open[MOCK_END_READ] ? 0 : CIO_POLLERR);
    }
    /* As tcp_poll(): a receiving half that is over (a FIN came, or our own
     * SHUT_RD) is IN and RDHUP, a recv no longer waits; a sending half that
     * is over is OUT, a send no longer waits; both over is HUP. A reset to
     * report is ERR, and ends both halves. A peer's close is its FIN: our
     * sending half lives on (a send fails at once, so OUT, but no HUP). */
    bool rd_over = mock_rx_done(c, end) || c->reset[end];
    bool wr_over = c->shut_wr[end] || c->reset[end];
    uint32_t ev = 0;
    if (c->ring[!end].len || rd_over) ev |= CIO_POLLIN;
    if (rd_over) ev |= CIO_POLLRDHUP;
    if (c->ring[end].len < MOCK_RING_CAPACITY || wr_over || !c->open[!end]) ev |= CIO_POLLOUT;
    if (rd_over && wr_over) ev |= CIO_POLLHUP;
    if (c->reset[end]) ev |= CIO_POLLERR;
    return ev;
}

void mock_world_free(mock_world *w) {
    for (uint32_t i = 0; i < w->cap; i++) free(w->chans[i]);
    free(w->chans);
    w->chans = NULL;
    w->cap = 0;
}
