/*
 * cio.h - the whole public API of cio, a completion-based async IO runtime.
 *
 *   cio/platform.h  OS handle and buffer types
 *   cio/error.h     negative error codes, cio_strerror()
 *   cio/op.h        cio_op and the cio_prep_* helpers
 *   cio/loop.h      cio_loop: init, submit, run, cancel, post, wake, close
 *   cio/task.h      tasks: stackful coroutines with blocking-style IO
 *   cio/sync.h      event, semaphore, mutex, channels (also between threads)
 *   cio/group.h     task groups: wait for and cancel children together
 *   cio/socket.h    socket names and options (getsockname, setsockopt)
 *   cio/signal.h    waiting for signals and console events, from a task or a callback
 *   cio/net.h       addresses, DNS, TCP, UDP, Unix sockets, socket pairs, pipes
 *   cio/fs.h        files and directories: read/write all, atomic write, copy, listing
 *   cio/bufio.h     streams over handles, buffered reader and writer (lines, read_exact)
 *   cio/bufpool.h   buffer pools that receives take their buffers from (multishot recv)
 *   cio/process.h   child processes: spawn, pipes, await the exit, kill
 *   cio/runtime.h   thread-per-core: workers with a loop each, spreading work and connections
 *   cio/mock.h      the simulated backend: virtual time, seeded runs
 *   cio/mock_script.h  scripted results for the mock backend's ops
 */
#ifndef CIO_H
#define CIO_H

#include "cio/platform.h"
#include "cio/error.h"
#include "cio/op.h"
#include "cio/loop.h"
#include "cio/task.h"
#include "cio/sync.h"
#include "cio/group.h"
#include "cio/socket.h"
#include "cio/signal.h"
#include "cio/net.h"
#include "cio/fs.h"
#include "cio/bufio.h"
#include "cio/bufpool.h"
#include "cio/fixed.h"
#include "cio/process.h"
#include "cio/runtime.h"
#include "cio/mock.h"
#include "cio/mock_script.h"

#define CIO_VERSION_MAJOR 0
#define CIO_VERSION_MINOR 1
#define CIO_VERSION_PATCH 0

#endif /* CIO_H */
