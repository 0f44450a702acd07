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
 * Built so far: the loop itself, pipes and connected stream sockets. Nops,
 * timers, timer updates, cancels, deadlines, links, batches, posts and
 * wakes between threads, and tasks with their sync primitives, groups and
 * sleeps all run simulated; so do pipes made with cio_mock_pipe() and
 * socket pairs made with cio_mock_socketpair(). The rest of the simulated
 * world (listeners on simulated addresses, an in-memory file system),
 * scripted results and fault injection are being built: until then an op
 * that needs them completes with -CIO_ENOSYS. An op on a real (not
 * simulated) handle completes with -CIO_EBADF: it is no handle of the
 * simulated world, and nothing ever reaches the real system. cio_loop_fd() is
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

/*
 * cio_mock_pipe - makes a simulated pipe in the world of `loop`: fds[0]
 * its read end, fds[1] its write end. 0, -CIO_EINVAL for a loop not on the
 * mock (or NULL), -CIO_ENOMEM, or -CIO_EMFILE. Loop thread.
 *
 * The handles are numbers from CIO_MOCK_FD_BASE (2^30) up, which no real
 * descriptor reaches: a plain system call given one (read(2), fcntl(2))
 * fails with EBADF and touches no real file. They are valid only in ops on
 * `loop`, and are closed with cio_prep_close() (or cio_close() in a task);
 * a closed number is used again, lowest first, as descriptors
 * are. cio_loop_close() frees every pipe still open, and reports each
 * as a leak (see the invariants below).
 *
 * On them run read, write, readv and writev (the offset is ignored: a pipe
 * has no position), poll (multishot too, as on sockets below) and close,
 * as on a real pipe:
 * - the pipe holds up to CIO_MOCK_PIPE_CAPACITY bytes;
 * - a read of an empty pipe waits until bytes come, or completes with 0
 *   (end of file) once the write end is closed; a write to a full pipe
 *   waits for room; a write with the read end closed fails with
 *   -CIO_EPIPE (no SIGPIPE); a read or write of 0 bytes completes with 0;
 *   a read on the write end, or a write on the read end, -CIO_EBADF;
 * - poll reports CIO_POLLIN on the read end while bytes are held and
 *   CIO_POLLHUP once no writer is left; CIO_POLLOUT on the write end while
 *   there is room and CIO_POLLERR once no reader is left; it waits until
 *   one of the events asked (or HUP, ERR) holds;
 * - a close ends the ops of the loop waiting on that end with
 *   -CIO_ECANCELED before it completes (cio_prep_close in cio/op.h); a
 *   cancel or a deadline ends a waiting op as on any handle, and it then
 *   has moved no byte.
 * What the seed decides: each op's latency (so the order of completions),
 * and how much each read or write moves: a number of bytes between 1 and
 * all that is possible (asked, and held or room left), as a real pipe may
 * move fewer bytes than asked. A program must loop on short transfers;
 * the mock makes sure it has to. Other opcodes on a simulated handle
 * complete with -CIO_ENOSYS for now.
 */
CIO_API int cio_mock_pipe(cio_loop *loop, cio_fd fds[2]);
#define CIO_MOCK_FD_BASE (1 << 30)
#define CIO_MOCK_PIPE_CAPACITY 4096u

/*
 * cio_mock_socketpair - makes two connected stream sockets in the world of
 * `loop`, as socketpair(AF_UNIX, SOCK_STREAM) or a TCP connection over
 * loopback would be: each end reads what the other sends. 0, -CIO_EINVAL
 * for a loop not on the mock (or NULL), -CIO_ENOMEM, or -CIO_EMFILE. Loop
 * thread. The handles are numbered, valid and closed as cio_mock_pipe()'s.
 *
 * On them run recv, send, read, write, readv and writev (read and write
 * are recv and send without flags; the offset is ignored), recvmsg and
 * sendmsg, poll, shutdown and close, as on a connected TCP socket on Linux
 * (the section on simulated sockets below says what else they answer):
 * - each direction holds up to CIO_MOCK_PIPE_CAPACITY bytes; a recv with
 *   nothing held waits for bytes, a send with no room waits for room;
 * - recv flags: CIO_MSG_DONTWAIT (-CIO_EAGAIN instead of waiting),
 *   CIO_MSG_PEEK (the bytes stay held), CIO_MSG_WAITALL (goes on until
 *   the whole length, end of file or an error, and reports the bytes done
 *   even when it then fails, is cancelled or times out; not with
 *   DONTWAIT or PEEK, as on Linux). send flags: CIO_MSG_DONTWAIT,
 *   CIO_MSG_WAITALL (the same), and MSG_NOSIGNAL and MSG_MORE, which
 *   change nothing here. Any other flag: -CIO_EINVAL. recv, send and
 *   shutdown on a pipe's handle: -CIO_ENOTSOCK;
 * - shutdown(CIO_SHUT_WR): the peer reads the bytes sent before it, then
 *   end of file (0); a later send on this end fails with -CIO_EPIPE; the
 *   other direction goes on. CIO_SHUT_RD: a recv on this end gets what is
 *   held, then 0 instead of waiting (the peer's sends still succeed, as on
 *   Linux). CIO_SHUT_RDWR: both. Another `how`: -CIO_EINVAL. It takes
 *   effect when it completes;
 * - close: the ops of the loop waiting on that end end with -CIO_ECANCELED
 *   first (cio_prep_close in cio/op.h). The peer then reads what was sent
 *   before the close, then end of file, and its sends fail with
 *   -CIO_EPIPE. A close with bytes still unread on the closing end is a
 *   reset, as TCP on Linux does: the peer's next recv (once it has read
 *   what was sent before) or send fails with -CIO_ECONNRESET, once; after
 *   it, the end is as after a plain close (0, -CIO_EPIPE);
 * - poll, as tcp_poll(): CIO_POLLIN while bytes are held or a recv would
 *   not wait; CIO_POLLRDHUP once the receiving half is over (the peer shut
 *   down or closed, or this end did SHUT_RD); CIO_POLLOUT while there is
 *   room, or a send fails at once; CIO_POLLHUP once both halves are over
 *   (RDHUP and this end's SHUT_WR, or a reset); CIO_POLLERR while a reset
 *   is still to be reported. It waits until one of the events asked (or
 *   HUP, ERR) holds;
 * - a cancel or a deadline ends a waiting op as on any handle, and it has
 *   then moved no byte (a MSG_WAITALL op: the bytes reported).
 * What the seed decides, as for pipes: each op's latency, and how many
 * bytes each try moves (between 1 and all that is possible), so that a
 * send or recv may be short. The ends are unnamed AF_UNIX sockets: their
 * names and options are answered as the section below says.
 */
CIO_API int cio_mock_socketpair(cio_loop *loop, cio_fd fds[2]);

/* ---- simulated listeners, addresses and datagrams (mock_net.c) ---- */

/* ---- the in-memory file system (mock_fs.c) ---- */

/* ---- faults and invariants ---- */

/*
 * Faults the simulation injects, each at a rate of its own, in parts per
 * million of the chances it gets. Each is a thing a real kernel does, only
 * rarely, so that a correct program copes with it:
 */
typedef enum cio_mock_fault {
    /* A connected stream is reset as by the network: the op that meets it,
     * and the first op of the other end, fail with -CIO_ECONNRESET; after
     * that both ends are as after the peer's close (0, -CIO_EPIPE). Chance:
     * each try of a read, write, recv, send, recvmsg or sendmsg on a
     * connected stream. */
    CIO_MOCK_FAULT_RESET,
    /* An op with CIO_MSG_DONTWAIT fails with -CIO_EAGAIN though it could
     * have gone on (readiness is always a race). Chance: each try of one. */
    CIO_MOCK_FAULT_AGAIN,
    /* socket, accept or openat fails with -CIO_ENOMEM, resp. -CIO_EMFILE,
     * and changes nothing (an accept leaves its connection queued). Chance:
     * each try of one. */
    CIO_MOCK_FAULT_NOMEM,
    CIO_MOCK_FAULT_MFILE,
    /* The submission queue is full: the op reaches the simulated kernel
     * later (after up to 100 us of virtual time more), so that ops
     * submitted after it may complete first. Chance: each submit. */
    CIO_MOCK_FAULT_RING_FULL,
    /* A cancel meets an op that has just finished: the op completes with
     * its own result (its bytes moved) and the cancel with -CIO_ENOENT.
     * Chance: each cancel of an op (not multishot) that could finish now. */
    CIO_MOCK_FAULT_CANCEL_RACE,
    /* A cancel meets an op while it executes: the op completes with
     * -CIO_EINTR (nothing moved) and the cancel with -CIO_EALREADY, as
     * op.h allows. Chance: each cancel of an op with a carrier. */
    CIO_MOCK_FAULT_INTR,
    /* A close meets an op that has just finished: the op completes with
     * its own result instead of -CIO_ECANCELED. Chance: each op a close of
     * its handle ends that could finish now. */
    CIO_MOCK_FAULT_CLOSE_RACE,
    CIO_MOCK_FAULT_COUNT_
} cio_mock_fault;

/* CIO_MOCK_FAULTS=<ppm> sets every rate; CIO_MOCK_FAULTS=reset=<ppm>,... a
 * few, by these names; anything else makes cio_loop_init() fail with
 * -CIO_EINVAL. */
#define CIO_MOCK_FAULT_NAMES \
    { "reset", "again", "nomem", "mfile", "ring_full", "cancel_race", "intr", "close_race" }

/*
 * The mock's own settings, through cio_loop_options.backend_options (NULL:
 * the environment's, CIO_MOCK_FAULTS and CIO_MOCK_POISON, else none).
 * Start from all-zero: no fault, no poisoning.
 */
typedef struct cio_mock_options {
    uint32_t fault_ppm[CIO_MOCK_FAULT_COUNT_]; /* each fault's rate; 0: never */
    uint32_t flags;                            /* CIO_MOCK_* below */
    uint32_t reserved_[7];                     /* must be 0 */
} cio_mock_options;

/* Poison what cio keeps in each op (cio_op.internal_) at its final
 * completion, so that a runtime that touched it afterwards would fail
 * loudly, and check every op the mock takes back from its queues against
 * the poison (a violation names it). Costs little; for tests. Also
 * CIO_MOCK_POISON=1 in the environment. */
#define CIO_MOCK_POISON 1u

/* cio_mock_set_fault - sets the rate of `fault` from now on, in parts per
 * million (at most 1000000). 0, or -CIO_EINVAL (a loop not on the mock, a
 * bad fault or rate). Loop thread. A run with every rate 0 draws no random
 * number for faults: its trace is the same as with no fault support. */
CIO_API int cio_mock_set_fault(cio_loop *loop, cio_mock_fault fault, uint32_t ppm);

/* cio_mock_faults - how many faults of kind `fault` the simulation of
 * `loop` injected so far; CIO_MOCK_FAULT_COUNT_ for all kinds together.
 * A test checks the program's output in runs where this is 0, and that it
 * failed cleanly in the others. 0 for a loop not on the mock. */
CIO_API uint64_t cio_mock_faults(const cio_loop *loop, cio_mock_fault fault);

/*
 * What the mock checks on every run, and reports on stderr as
 *   cio mock: <what, naming the op: its opcode, handle and address> (seed S;
 *   replay: CIO_BACKEND=mock CIO_MOCK_SEED=S ... <the command line>)
 * - every op it takes completes exactly once, and no op is taken back
 *   after its final completion (with CIO_MOCK_POISON);
 * - nothing is left when the loop closes: no simulated handle open (the
 *   close frees it, but a program that forgets a handle leaks it on a
 *   real system) and no task alive (blocked in an op, a sleep or a sync
 *   primitive: the close ends it, but a program that shuts down cleanly
 *   has ended its tasks first), each named. Ops in flight at the close
 *   are not leftovers: the close cancels them, as on every backend;
 * - a deadlock: the loop would wait for ever, with ops parked that
 *   nothing can wake: no op due, no timer set, and no other thread wakes
 *   the loop within 50 ms of real time (10 s once another thread has
 *   woken it before: it may be busy). The parked ops then complete with
 *   -CIO_EDEADLK, so the program ends instead of hanging. A loop with
 *   nothing in flight that waits for another thread's post waits as long
 *   as it takes.
 * With CIO_MOCK_ABORT=1 in the environment the first violation aborts the
 * process after its report, for test runners that only look at the exit.
 * With CIO_MOCK_REPORT=1 each mock loop prints, when it closes, one line
 *   cio mock: seed S: N ops, F faults, V violations, T s virtual, trace H
 * so that a run that is not the program's own test (an example, a
 * server) still shows its seed, whether a fault struck, and the trace
 * that proves a replay is the same run.
 */

/* cio_mock_violations - how many violations the mock reported for `loop`
 * so far, or, with NULL, in the whole process (loops closed included). */
CIO_API uint64_t cio_mock_violations(const cio_loop *loop);

/*
 * cio_mock_replay - writes into `buf` (`size` bytes, NUL-terminated, cut if
 * short) the one-line shell command that replays this run: the
 * environment that sets the backend, seed and faults of `loop`, then the
 * process's command line (Linux; elsewhere "<program>"). Returns the length
 * the whole line needs (as snprintf), or -CIO_EINVAL for a loop not on the
 * mock. Print it with a failure. Loop thread.
 */
CIO_API int cio_mock_replay(const cio_loop *loop, char *buf, size_t size);

/*
 * cio_mock_fail - reports a violation that the program (or a layer of cio
 * above the loop, such as tasks) found in a simulated run, the same way as
 * the mock's own: the printf-style message, the seed and the replay
 * command on stderr, counted in cio_mock_violations(), an abort under
 * CIO_MOCK_ABORT=1. 0, or -CIO_EINVAL for a loop not on the mock (nothing
 * is printed then). Loop thread.
 */
CIO_API int cio_mock_fail(cio_loop *loop, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif /* CIO_MOCK_H */
