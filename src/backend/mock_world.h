/*
 * src/backend/mock_world.h - the mock backend's simulated world: what its
 * simulated handles are and the bytes they hold. So far: pipes.
 *
 * The world knows handles, buffers and readiness; it knows nothing of
 * time, seeds or completions, which are mock.c's. Each pipe end keeps the
 * queue of ops the mock holds on it (mock.c parks and wakes them), so that
 * a close finds every op that names the end without searching the mock's
 * heap.
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

/* What a simulated pipe holds before a write must wait (cio/mock.h). */
#define MOCK_PIPE_CAPACITY CIO_MOCK_PIPE_CAPACITY

enum { MOCK_END_READ = 0, MOCK_END_WRITE = 1 };

typedef struct mock_pipe {
    uint32_t head, len; /* the bytes held: a ring in buf */
    bool open[2];       /* by end */
    opq ops[2];         /* ops the mock holds on each end, oldest first */
    unsigned char buf[MOCK_PIPE_CAPACITY];
} mock_pipe;

typedef struct mock_world {
    mock_pipe **pipes; /* by slot; NULL: free */
    uint32_t cap;      /* slots in `pipes` */
} mock_world;

static inline bool mock_is_simulated(cio_fd fd) { return fd >= (cio_fd)MOCK_FD_BASE; }

/* Makes a pipe: fds[0] its read end, fds[1] its write end, the lowest free
 * numbers. 0, -CIO_ENOMEM or -CIO_EMFILE. */
int mock_pipe_make(mock_world *w, cio_fd fds[2]);

/* The pipe whose open end `fd` is (its end in *end), else NULL. */
mock_pipe *mock_pipe_find(const mock_world *w, cio_fd fd, int *end);

/* Closes the end `fd` (open; no op held on it any more). Returns the pipe
 * while its other end is open, else frees it and returns NULL. */
mock_pipe *mock_pipe_close_end(mock_world *w, cio_fd fd);

/* Moves up to `max` bytes (at most what is held, resp. the room left)
 * between the pipe and the buffers of `iov`; returns how many moved. */
uint32_t mock_pipe_take(mock_pipe *p, const cio_iovec *iov, unsigned iovcnt, uint32_t max);
uint32_t mock_pipe_put(mock_pipe *p, const cio_iovec *iov, unsigned iovcnt, uint32_t max);

/* The CIO_POLL* events of end `end` now, as poll(2) gives them for a pipe:
 * the read end IN while bytes are held, HUP once no writer is left; the
 * write end OUT while there is room, ERR once no reader is left. */
uint32_t mock_pipe_events(const mock_pipe *p, int end);

/* Frees every pipe (the loop's close: no op is held any more). */
void mock_world_free(mock_world *w);

#endif /* CIO_MOCK_WORLD_H */
