/*
 * src/backend/mock_chan.h - the mock's pipes and connected stream sockets.
 *
 * Both are a mock_chan: two handles (ends) over rings of bytes. A pipe has
 * one ring, written at one end and read at the other; a pair of stream
 * sockets has two, one per direction, so that each end reads from one ring
 * and writes to the other (mock_rx, mock_tx). A stream made by connect and
 * accept (mock_net.c) is the same object, with the addresses of its ends.
 */
#ifndef CIO_MOCK_CHAN_H
#define CIO_MOCK_CHAN_H

#include "mock_sim.h"

/* What a ring holds before a write must wait (cio/mock.h). */
#define MOCK_RING_CAPACITY CIO_MOCK_PIPE_CAPACITY

enum { MOCK_END_READ = 0, MOCK_END_WRITE = 1 }; /* a pipe's ends */

typedef struct mock_ring {
    uint32_t head, len; /* the bytes held, from buf[head] round */
    unsigned char buf[MOCK_RING_CAPACITY];
} mock_ring;

typedef struct mock_chan {
    bool socket;  /* a stream socket pair, else a pipe */
    bool open[2]; /* by end */
    cio_fd fd[2]; /* the handles of the ends, while open */
    /* Sockets only, by end: shutdown(2)'s halves, and a reset the end has
     * still to report (its peer closed with bytes unread). */
    bool shut_rd[2], shut_wr[2], reset[2];
    void *names; /* mock_net.c's: the addresses of the ends, or NULL */
    mock_ring ring[2]; /* a pipe uses ring[0]; a socket end e sends into ring[e] */
} mock_chan;

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

/* Wakes both ends' handles (something about the channel changed). */
void mock_chan_wake(mock *m, mock_chan *c);

#endif /* CIO_MOCK_CHAN_H */
