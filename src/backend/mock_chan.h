/*
 * src/backend/mock_chan.h - the mock's pipes, its connected stream sockets,
 * and what they share with its other sockets (mock_net.c).
 *
 * Pipes and connected streams are a mock_chan: two handles (ends) over
 * rings of bytes. A pipe has one ring, written at one end and read at the
 * other; a pair of stream sockets has two, one per direction, so that each
 * end reads from one ring and writes to the other (mock_rx, mock_tx). A
 * stream made by connect and accept (mock_net.c) is the same object.
 *
 * Every simulated socket, connected or not, has a mock_sock: its family,
 * type, names and options (what getsockname and getsockopt answer). An
 * unconnected socket, a listener and a datagram socket are handles of
 * mock_socket_kind on their mock_sock; a connected stream end is a handle
 * of mock_stream_kind on its mock_chan, which keeps each end's mock_sock.
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

typedef struct mock_sock mock_sock;

typedef struct mock_chan {
    bool socket;  /* a stream socket pair, else a pipe */
    bool open[2]; /* by end */
    /* The handles of the ends, while open; CIO_FD_INVALID for the end of a
     * connection that waits in its listener's queue for an accept. */
    cio_fd fd[2];
    /* Sockets only, by end: shutdown(2)'s halves, and a reset the end has
     * still to report (its peer closed with bytes unread). */
    bool shut_rd[2], shut_wr[2], reset[2];
    mock_sock *sock[2];     /* sockets only: each end's names and options */
    struct mock_chan *next; /* in the listener's queue, until accepted */
    mock_ring ring[2];      /* a pipe uses ring[0]; a socket end e sends into ring[e] */
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
 * between the ring and the buffers of `iov`, past their first `skip`
 * bytes; returns how many moved. A take that does not `consume` leaves the
 * bytes held (MSG_PEEK). */
uint32_t mock_ring_take(mock_ring *r, const cio_iovec *iov, unsigned iovcnt, size_t skip, uint32_t max,
                        bool consume);
uint32_t mock_ring_put(mock_ring *r, const cio_iovec *iov, unsigned iovcnt, size_t skip, uint32_t max);

/* The CIO_POLL* events of end `end` now, as poll(2) gives them for a pipe
 * or a connected TCP socket (cio/mock.h). */
uint32_t mock_chan_events(const mock_chan *c, int end);

/* Wakes both ends' handles (something about the channel changed). */
void mock_chan_wake(mock *m, mock_chan *c);

/* End `end` of a connection that no handle holds yet goes, as a listener
 * that closes resets the connections it never accepted: the other end
 * reports -CIO_ECONNRESET. Frees the channel when no end is left. */
void mock_chan_abort(mock *m, mock_chan *c, int end);

/* The connection is reset as by the network (a fault, cio/mock.h): what
 * was in flight is lost, each open end reports -CIO_ECONNRESET once and is
 * then as after the peer's close (end of file, -CIO_EPIPE). */
void mock_chan_reset(mock *m, mock_chan *c);

/* Receives into a buffer pool (cio/bufpool.h; mock_net.c): the check at
 * submit (-CIO_ENOBUFS on a dry pool, as io_uring), and the try on a
 * connected stream end. */
int mock_recv_pool_check(cio_op *op);
int32_t mock_recv_pool_chan(mock *m, cio_op *op, mock_chan *c, int end);

/* ---- what the transfer ops share (mock_chan.c) ---- */

/* The buffers and flags of a read, write, readv, writev, recv, send,
 * recvmsg or sendmsg. `iov` may point at `one`: do not copy a mock_io. */
typedef struct mock_io {
    cio_iovec one;
    const cio_iovec *iov;
    unsigned cnt;
    int flags;       /* MSG_* */
    cio_msghdr *msg; /* recvmsg, sendmsg; else NULL */
    bool reading;
    uint64_t want; /* the bytes of the buffers */
} mock_io;

/* Fills `io` for `op`: false for an op that moves no bytes. */
bool mock_io_of(cio_op *op, mock_io *io);

/* At submit, for an op on a socket (`stream`: of type SOCK_STREAM): 0, or
 * the error for flags the mock does not know (-CIO_EINVAL) and bad message
 * buffers; sets MB_PARTIAL for a MSG_WAITALL transfer on a stream. */
int mock_io_check(cio_op *op, bool stream);

/* The result of a poll whose handle has `ready` events now: the events
 * asked for among them, or MOCK_PARK. A multishot poll reports, then waits
 * for a change of its handle before it reports again (op->res keeps what it
 * reported, until then). */
int32_t mock_poll_answer(cio_op *op, uint32_t ready);

/* ---- sockets: names and options (mock_net.c) ---- */

/* An address as the simulation keeps it: what getsockname gives. */
typedef struct mock_addr {
    cio_socklen len; /* 0: none */
    struct sockaddr_storage ss;
} mock_addr;

typedef struct mock_dgram mock_dgram;

struct mock_sock {
    uint64_t id; /* what a socket that waits for room in this one keeps */
    int domain, type, protocol;
    cio_fd fd; /* its handle; CIO_FD_INVALID while a listener holds it */
    bool named, listening, connected, shut_rd, shut_wr;
    int error;       /* SO_ERROR: the next op reports it, once */
    mock_addr name;  /* the local address (unnamed: the family's nothing) */
    mock_addr peer;  /* a connected one's peer */
    /* Options, as getsockopt reads them back. */
    bool reuseaddr, reuseport, keepalive, nodelay, v6only, linger;
    int linger_s, rcvbuf, sndbuf;
    /* A listener's connections not accepted yet, oldest first. */
    int backlog;
    uint32_t npending;
    mock_chan *pending, *pending_tail;
    /* A datagram socket's queue, oldest first, and what it holds. */
    mock_dgram *dq, *dq_tail;
    uint32_t dq_count;
    size_t dq_bytes;
    mock_sock *named_next, *named_prev; /* in the world's list of named sockets */
};

/* A pair of connected, unnamed AF_UNIX stream sockets (socketpair), into
 * s[0] and s[1]: 0 or -CIO_ENOMEM. */
int mock_sock_pair(mock *m, mock_sock *s[2]);

/* Frees `s`, which no handle holds any more; its name is free again. */
void mock_sock_free(mock *m, mock_sock *s);

/* Fills the sender's address of a message received on stream socket `s`
 * (recvmsg): none for TCP (length 0); an AF_UNIX stream gives its peer's
 * name when it has one, as unix_stream_recvmsg does. */
void mock_sock_sender(const mock_sock *s, cio_msghdr *msg);

/* Whether a close of `s` is an abort (SO_LINGER on with 0 seconds): the
 * peer is reset. */
bool mock_sock_aborts(const mock_sock *s);

/* The backend's socket_call (backend.h): getsockname, getpeername,
 * setsockopt and getsockopt answered by the simulation. */
int mock_net_socket_call(cio_loop *loop, int call, cio_fd fd, int level, int name, void *value, cio_socklen *len);
/* The backend's setup_op and pair hooks (backend.h): the quick setup calls
 * of cio/net.h, answered at once by the simulation. */
int32_t mock_net_setup_op(cio_loop *loop, cio_op *op);
int mock_net_pair(cio_loop *loop, int type, cio_fd fds[2]);

#endif /* CIO_MOCK_CHAN_H */
