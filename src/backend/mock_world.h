/*
 * src/backend/mock_world.h - the mock backend's simulated world: what its
 * simulated handles are and the bytes they hold. So far: pipes and
 * connected pairs of stream sockets.
 *
 * Both are a mock_chan: two handles (ends) over rings of bytes. A pipe has
 * one ring, written at one end and read at the other; a socket pair has
 * two, one per direction, so that each end reads from one ring and writes
 * to the other (mock_rx, mock_tx). The world knows handles, buffers and
 * readiness; it knows nothing of time, seeds or completions, which are
 * mock.c's. Each end keeps the queue of ops the mock holds on it (mock.c
 * parks and wakes them), so that a close finds every op that names the end
 * without searching the mock's heap.
 */
#ifndef CIO_MOCK_WORLD_H
#define CIO_MOCK_WORLD_H

#include "backend.h"
#include "cio/mock.h"

/* Simulated handles are numbers from here up: far above any descriptor a
 * real process gets (Linux caps a process at fs.nr_open, 2^20 by default),
 * so that a real system call handed one fails with EBADF. */
#define MOCK_FD_BASE CIO_MOCK_FD_BASE
#define MOCK_FD_SLOTS (1 << 29) /* two handles per slot, all below INT_MAX */

/* What a ring holds before a write must wait (cio/mock.h). */
#define MOCK_RING_CAPACITY CIO_MOCK_PIPE_CAPACITY

enum { MOCK_END_READ = 0, MOCK_END_WRITE = 1 }; /* a pipe's ends */

typedef struct mock_ring {
    uint32_t head, len; /* the bytes held, from buf[head] round */
    unsigned char buf[MOCK_RING_CAPACITY];
} mock_ring;

typedef struct mock_chan {
    bool socket;   /* a socket pair, else a pipe */
    bool open[2];  /* by end */
    opq ops[2];    /* ops the mock holds on each end, oldest first */
    /* Sockets only, by end: shutdown(2)'s halves, and a reset the end has
     * still to report (its peer closed with bytes unread). */
    bool shut_rd[2], shut_wr[2], reset[2];
    mock_ring ring[2]; /* a pipe uses ring[0]; a socket end e sends into ring[e] */
} mock_chan;

typedef struct mock_world {
    mock_chan **chans; /* by slot; NULL: free */
    uint32_t cap;      /* slots in `chans` */
} mock_world;

static inline bool mock_is_simulated(cio_fd fd) { return fd >= (cio_fd)MOCK_FD_BASE; }

/* Makes a pipe (fds[0] its read end, fds[1] its write end) or a socket
 * pair, on the lowest free numbers. 0, -CIO_ENOMEM or -CIO_EMFILE. */
int mock_chan_make(mock_world *w, bool socket, cio_fd fds[2]);

/* The channel whose open end `fd` is (its end in *end), else NULL. */
mock_chan *mock_chan_find(const mock_world *w, cio_fd fd, int *end);

/* Closes the end `fd` (open; no op held on it any more). A socket end
 * closed with bytes unread leaves its peer a reset to report. Returns the
 * channel while its other end is open, else frees it and returns NULL. */
mock_chan *mock_chan_close_end(mock_world *w, cio_fd fd);

/* The ring end `end` reads from, resp. writes to; NULL for the wrong end
 * of a pipe. */
mock_ring *mock_rx(mock_chan *c, int end);
mock_ring *mock_tx(mock_chan *c, int end);

/* Whether no byte will come into end `end`'s ring any more (read: end of
 * file once it is empty): the writer closed, or shut down its sending
 * half, or this end shut down its receiving half. */
bool mock_rx_done(const mock_chan *c, int end);

/* Whether a write on end `end` fails with EPIPE: no reader left, or this
 * socket end shut down its sending half. */
bool mock_tx_broken(const mock_chan *c, int end);

/* Moves up to `max` bytes (at most what is held, resp. the room left)
 * between the ring and the buffers of `iov`; returns how many moved. A
 * take that does not `consume` leaves the bytes held (MSG_PEEK). */
uint32_t mock_ring_take(mock_ring *r, const cio_iovec *iov, unsigned iovcnt, uint32_t max, bool consume);
uint32_t mock_ring_put(mock_ring *r, const cio_iovec *iov, unsigned iovcnt, uint32_t max);

/* The CIO_POLL* events of end `end` now, as poll(2) gives them for a pipe
 * or a connected TCP socket (cio/mock.h). */
uint32_t mock_chan_events(const mock_chan *c, int end);

/* Frees every channel (the loop's close: no op is held any more). */
void mock_world_free(mock_world *w);

#endif /* CIO_MOCK_WORLD_H */
