/*
 * cio/signal.h - waiting for signals (and Windows console events) on a
 * loop: from a task in blocking style, or through a callback.
 *
 * SIGINT/SIGTERM shutdown in a few lines: a task that waits for either and
 * cancels the group of workers.
 *
 *     static intptr_t stop_on_signal(void *arg) {
 *         cio_signal sig;
 *         cio_signal_init(&sig, cio_task_loop());
 *         cio_signal_add(&sig, CIO_SIGINT);
 *         cio_signal_add(&sig, CIO_SIGTERM);
 *         int signo = cio_signal_wait(&sig, 0, NULL); // > 0, or -CIO_ECANCELED
 *         cio_signal_close(&sig);
 *         if (signo > 0) cio_group_cancel(arg);        // the workers unwind
 *         return 0;
 *     }
 *     ...                                              // in the main task:
 *     cio_task *stopper;
 *     cio_task_spawn(loop, stop_on_signal, &workers, NULL, &stopper);
 *     cio_group_wait(&workers);                        // by themselves or by a signal
 *     cio_task_cancel(stopper);
 *     cio_task_join(stopper, NULL);
 *
 * A watcher (cio_signal) belongs to one loop and watches a set of signals
 * (cio_signal_add). Every delivery of a watched signal to the process,
 * from the moment it is added, is counted for every watcher of every loop
 * that watches it (on any thread): deliveries are not shared out, each
 * watcher sees each one. Counts coalesce: deliveries that come before the
 * watcher's owner takes them (cio_signal_wait, cio_signal_take, the
 * callback) are reported once, with their number (`count`); the system
 * itself merges a standard signal sent twice before a handler ran, so a
 * count is at least 1 and at most the number sent.
 *
 * What keeps the loop going: while a task is blocked in cio_signal_wait()
 * or a callback is started (cio_signal_start) on some watcher of a loop,
 * the loop has an op in flight (a read on the loop's own wake pipe), so
 * cio_loop_run(CIO_RUN_DEFAULT) goes on and cio_main() does not take a
 * task waiting for SIGINT for a deadlock. A watcher that nobody waits on
 * keeps nothing in flight; its signals are still counted, and a later wait
 * returns at once.
 *
 * How signals get in (POSIX). For each signal watched on a real backend,
 * cio installs one process-wide handler (sigaction, SA_SIGINFO |
 * SA_RESTART | SA_ONSTACK, empty sa_mask) when the first watcher of the
 * process adds it, and only then; signals nobody watches keep their
 * disposition, and no thread's signal mask is changed. The handler is
 * async-signal-safe: it adds the delivery to an atomic counter of each
 * loop watching it and writes a byte to that loop's wake pipe (pipe2 with
 * O_CLOEXEC, non-blocking: a full pipe loses no count, the counter has it).
 * If the program had installed a handler function of its own for that
 * signal before, cio's handler calls it too, after counting (chained, with
 * the same arguments); a previous SIG_DFL or SIG_IGN is not chained (while
 * it is watched, the signal neither kills nor is ignored). When the last
 * watcher of the process stops watching a signal (cio_signal_remove,
 * cio_signal_close, the close of its loop), the disposition it had before
 * comes back, unless someone replaced cio's handler in between (then
 * theirs stays). Install your own handler before watching the signal, or
 * after the last watcher is gone.
 *
 * Blocked signals (Linux): a signal that is blocked in every thread never
 * runs a handler; it stays pending, and signalfd(2) is the way to take it.
 * The rule: cio_signal_add() looks at the calling thread's signal mask. If
 * the signal is blocked there, cio takes it to be blocked in every thread
 * (the program blocked it itself, before it started threads: the usual way
 * to keep signals off worker threads) and the loop also reads it from a
 * signalfd of its own (non-blocking, close-on-exec), polled by an op in
 * flight while someone waits. A delivery taken there is counted for every
 * watching loop, as the handler counts it, so that each delivery is seen
 * once by every watcher whichever way it came in. The handler is
 * installed all the same, for threads that do not block it. A program
 * that blocks a signal in some threads only (not the one that adds it) gets
 * it through the handler, on a thread where it is not blocked. Elsewhere
 * than Linux a signal blocked in every thread is not seen until unblocked.
 *
 * fork(): the child keeps cio's handlers (as it keeps every disposition)
 * until it calls exec, which resets them; the loops of the parent are no
 * longer counted for there (nothing the child receives reaches them).
 *
 * Windows: no signals; console control events, taken with one
 * SetConsoleCtrlHandler() routine added when the first watcher of the
 * process watches one of them and removed with the last. They arrive as
 * CIO_SIGINT (CTRL_C_EVENT), CIO_SIGBREAK (CTRL_BREAK_EVENT), CIO_SIGHUP
 * (CTRL_CLOSE_EVENT: the console window is closing) and CIO_SIGTERM
 * (CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT: services only). An event that a
 * watcher watches is reported handled (TRUE), so that the default action
 * (ending the process) does not happen, and routines the program added
 * before cio's do not see it (Windows calls the newest first and stops at
 * TRUE; they see such events again once the last watcher is gone); an
 * event nobody watches goes on to the next routine. After
 * CTRL_CLOSE_EVENT and CTRL_SHUTDOWN_EVENT Windows ends the process once
 * the routine returns: cio's routine then does not return, so that the
 * program has the system's grace time (about 5 s for a close) to shut
 * down, and the process ends when main() returns. The routine runs
 * on a thread of the system's; it wakes a loop through a loopback TCP
 * socket pair of the loop's own (WSA_FLAG_NO_HANDLE_INHERIT), on which
 * the loop keeps a receive in flight while someone waits. Any number from
 * 1 to CIO_SIGNAL_MAX - 1 may be watched there; only these four come from
 * the system, the others through cio_signal_raise() only.
 *
 * The mock backend (cio/mock.h): real signals cannot enter a simulation
 * deterministically, so a watcher on a mock loop installs nothing and sees
 * only cio_signal_raise(). Its wait keeps a read on a simulated pipe
 * (cio_mock_pipe) in flight, so a wait that nothing can end is the mock's
 * deadlock (the wait fails with -CIO_EDEADLK): raise, or give a deadline.
 *
 * Threads: everything here is for the thread of the watcher's loop. Any
 * number of loops on any threads may watch the same signals.
 */
#ifndef CIO_SIGNAL_H
#define CIO_SIGNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "platform.h"
#include "sync.h"

#if !defined(_WIN32)
#include <signal.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Signal numbers run from 1 to CIO_SIGNAL_MAX - 1 (Linux's NSIG is 65). */
#define CIO_SIGNAL_MAX 65

/*
 * Portable names. On POSIX they are the system's numbers, and any other
 * signal number of the system may be watched as well. On Windows they are
 * numbers of cio's (those of the C runtime where it has them); the system
 * delivers CIO_SIGINT, CIO_SIGBREAK, CIO_SIGHUP and CIO_SIGTERM (see the
 * top). CIO_SIGBREAK is Windows' only: 0 elsewhere, which
 * cio_signal_add() refuses, so `if (CIO_SIGBREAK)` guards it.
 */
#if defined(_WIN32)
#define CIO_SIGHUP 1
#define CIO_SIGINT 2
#define CIO_SIGQUIT 3
#define CIO_SIGUSR1 10
#define CIO_SIGUSR2 12
#define CIO_SIGTERM 15
#define CIO_SIGBREAK 21
#define CIO_SIGWINCH 28
#elif defined(__linux__) && !defined(__mips__) && !defined(__sparc__) && !defined(__alpha__) && !defined(__hppa__)
/* Linux's numbers, spelled out so that a strict ISO C program (whose
 * <signal.h> names only SIGINT and SIGTERM) has them too. */
#define CIO_SIGHUP 1
#define CIO_SIGINT 2
#define CIO_SIGQUIT 3
#define CIO_SIGUSR1 10
#define CIO_SIGUSR2 12
#define CIO_SIGTERM 15
#define CIO_SIGBREAK 0
#define CIO_SIGWINCH 28
#else
#define CIO_SIGHUP SIGHUP
#define CIO_SIGINT SIGINT
#define CIO_SIGQUIT SIGQUIT
#define CIO_SIGUSR1 SIGUSR1
#define CIO_SIGUSR2 SIGUSR2
#define CIO_SIGTERM SIGTERM
#define CIO_SIGBREAK 0
#define CIO_SIGWINCH SIGWINCH
#endif

typedef struct cio_signal cio_signal;

/*
 * A callback-style watcher's callback: `count` deliveries of `signo`
 * (coalesced, at least 1) since the last report. Runs on the loop's
 * thread, from cio_loop_run(); it may call any function of this header
 * on `s` (cio_signal_stop, cio_signal_close, ...), and on other watchers.
 * When the loop's read of its wake pipe fails (on the mock: -CIO_EDEADLK,
 * nothing can ever deliver), the callback runs once with that negative
 * error as `signo` and `count` 0, and the watcher is stopped.
 */
typedef void (*cio_signal_cb)(cio_signal *s, int signo, uint32_t count);

/* The watcher. The caller places it and keeps it at one address from
 * cio_signal_init() to cio_signal_close(). */
struct cio_signal {
    void *data; /* caller's context; cio never reads it */
    struct {
        cio_loop *loop;
        void *ls;                          /* the loop's signal record */
        cio_lnode_ node;                   /* in that record's list of watchers */
        uint64_t watched[2];               /* bit per signal number */
        uint64_t pending[2];               /* bit per signal with a count */
        uint32_t counts[CIO_SIGNAL_MAX];   /* deliveries not yet reported */
        cio_signal_cb cb;                  /* started: the callback */
        cio_event ev;                      /* a task waits on it */
        bool task_waiting;
        int err;                           /* an error of the loop's read, for the waiter */
        uint32_t magic;
    } internal_; /* the runtime's; never read or write it */
};

/*
 * cio_signal_init - a watcher on `loop` that watches nothing yet. The
 * first watcher of a loop allocates the loop's record (its counters, seen
 * by the handler) and registers it with cio_loop_at_close(); the wake
 * pipe is made at the first cio_signal_add(). Returns 0, -CIO_EINVAL (NULL,
 * a loop not set up), -CIO_ENOMEM, or -CIO_ECANCELED (the loop is
 * closing). Loop thread.
 */
CIO_API int cio_signal_init(cio_signal *s, cio_loop *loop);

/*
 * cio_signal_add - watch `signo` too: its deliveries from now on are
 * counted for `s`. Idempotent. The first watch of the signal in the
 * process installs cio's handler (see the top), the first of the loop
 * makes the loop's wake pipe. Returns 0, -CIO_EINVAL (NULL or closed
 * watcher; `signo` 0 or outside 1..CIO_SIGNAL_MAX-1 or the system's
 * range; SIGKILL and SIGSTOP; SIGSEGV, SIGBUS, SIGFPE and SIGILL, whose
 * handler must not return; SIGRTMAX - 2, the blocking pool's, cio/loop.h),
 * -CIO_EMFILE, -CIO_ENFILE, -CIO_ENOMEM (the pipe or signalfd; or more
 * than 1,024 loops of the process watching signals at once), or the
 * system's error from sigaction (SetConsoleCtrlHandler). Loop thread.
 */
CIO_API int cio_signal_add(cio_signal *s, int signo);

/*
 * cio_signal_remove - stop watching `signo`; its deliveries not yet taken
 * are dropped. The last watch of the process gives the signal back its
 * earlier disposition (see the top). Returns 0, -CIO_ENOENT (not watched),
 * -CIO_EINVAL (NULL or closed watcher, bad number). Loop thread.
 */
CIO_API int cio_signal_remove(cio_signal *s, int signo);

/*
 * cio_signal_wait - block the calling task until a watched signal has been
 * delivered, and take it: returns the lowest signal number with
 * deliveries not yet taken (at once if there is one), and stores in
 * `*count` (may be NULL) how many deliveries of it this report
 * coalesces. `deadline`: an absolute cio_now() time (0: none); the
 * task's deadline scope applies too, the earlier of both. While it waits,
 * the loop has an op in flight (see the top).
 *
 * Returns the signal number (> 0), or -CIO_EPERM (not in a task),
 * -CIO_ECANCELED (the task is cancelled), -CIO_ETIMEDOUT (the deadline
 * passed with nothing delivered), -CIO_EINVAL (NULL or closed watcher,
 * one of another loop than the task's, or one that watches nothing),
 * -CIO_EBUSY (another task waits on `s`, or a callback is started on it:
 * one consumer per watcher), -CIO_EDEADLK (the mock backend found that
 * nothing can deliver one), or the error of the loop's wake pipe read.
 */
CIO_API int cio_signal_wait(cio_signal *s, uint64_t deadline, uint32_t *count);

/*
 * cio_signal_take - cio_signal_wait() without blocking: the signal number
 * with its `*count`, or -CIO_EAGAIN when nothing was delivered (as far as
 * the loop knows: deliveries are looked at when the loop reads its wake
 * pipe, and at this call), -CIO_EINVAL. Any context on the loop's thread.
 */
CIO_API int cio_signal_take(cio_signal *s, uint32_t *count);

/*
 * cio_signal_start - callback style: from now on, `cb(s, signo, count)`
 * runs for deliveries of the watched signals, at a turn of the loop after
 * they come (deliveries already counted are reported at the next turn),
 * until cio_signal_stop() or cio_signal_close(). While started, the loop
 * has an op in flight, so cio_loop_run(CIO_RUN_DEFAULT) goes on. Returns
 * 0, -CIO_EINVAL (NULL, closed, no callback), -CIO_EBUSY (started already,
 * or a task waits on it), or the error of submitting the loop's read.
 * Loop thread.
 */
CIO_API int cio_signal_start(cio_signal *s, cio_signal_cb cb);

/*
 * cio_signal_stop - no more callbacks; deliveries go on being counted for
 * a later wait, take or start. Returns 0, or -CIO_EINVAL (NULL, closed,
 * not started). Loop thread; also from the callback.
 */
CIO_API int cio_signal_stop(cio_signal *s);

/*
 * cio_signal_close - stop watching every signal (as cio_signal_remove)
 * and stop the callback. The last watcher of a loop also closes the
 * loop's wake pipe and signalfd, through ops that complete at a later
 * turn: run the loop once more before closing it, or (on the mock) the
 * pipe is reported as a leak. The struct may then be reused with
 * cio_signal_init(). Returns 0, -CIO_EINVAL (NULL, never initialised or
 * closed), or -CIO_EBUSY (a task is blocked in cio_signal_wait() on it:
 * cancel it first, or close from that task). Loop thread; also from the
 * callback.
 *
 * Closing the loop closes its watchers: afterwards only cio_signal_init()
 * may be called on them.
 */
CIO_API int cio_signal_close(cio_signal *s);

/*
 * cio_signal_raise - a test hook: a delivery of `signo` to the watchers of
 * `loop` only, as if the system had delivered it (counted, and reported
 * at a later turn of the loop), with no real signal: no other loop or
 * handler sees it. The one way signals reach a watcher on the mock
 * backend; it works the same on every backend. Returns 0, -CIO_ENOENT (no
 * watcher of `loop` watches `signo`), -CIO_EINVAL (NULL loop, bad
 * number), or the error of submitting the nop that reports it. Loop
 * thread.
 */
CIO_API int cio_signal_raise(cio_loop *loop, int signo);

#ifdef __cplusplus
}
#endif

#endif /* CIO_SIGNAL_H */
