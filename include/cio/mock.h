/*
 * cio/mock.h - the simulated backend, for testing async code.
 *
 * A loop set up with CIO_BACKEND_MOCK (in cio_loop_options, or
 * CIO_BACKEND=mock in the environment) runs a program unchanged with no
 * kernel object behind its ops and with virtual time: cio_now() starts at
 * one second and moves only when the loop waits, straight to the next
 * timer or completion, so that an hour of timers takes microseconds. Every
 * choice the simulation makes (the latency of each op, and so the order in
 * which ops submitted together complete) comes from a seed: the `seed`
 * option, else CIO_MOCK_SEED in the environment, else 1. The same program
 * with the same seed does the same thing, which cio_mock_trace() proves.
 *
 * Built so far: the loop itself. Nops, timers, timer updates, cancels,
 * deadlines, links, batches, posts and wakes between threads, and tasks
 * with their sync primitives, groups and sleeps all run simulated. The
 * simulated world (sockets connected inside the process, pipes, an
 * in-memory file system), scripted results and fault injection are being
 * built: until then an op that needs the world completes with
 * -CIO_ENOSYS, and never reaches the real system. cio_loop_fd() is
 * -CIO_ENOTSUP: a simulated loop has no kernel object to wait on.
 */
#ifndef CIO_MOCK_H
#define CIO_MOCK_H

#include <stdint.h>

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * cio_mock_trace - a hash of what the simulation of `loop` has done so
 * far: its seed, the virtual time of each wait, and each completion it
 * delivered (opcode, result) in order. Print it at the end of a run: two
 * runs of one program with one seed give the same value. 0 for a loop
 * that does not run on the mock backend. Loop thread.
 */
CIO_API uint64_t cio_mock_trace(const cio_loop *loop);

/* cio_mock_seed - the seed `loop` runs with (to print with a failure, so
 * that CIO_MOCK_SEED=<seed> replays it); 0 for a loop not on the mock. */
CIO_API uint64_t cio_mock_seed(const cio_loop *loop);

#ifdef __cplusplus
}
#endif

#endif /* CIO_MOCK_H */
