/*
 * cio/process.h - child processes: spawn with arguments, environment,
 * working directory and stdio; read and write their pipes as streams;
 * await their exit without blocking the loop; kill.
 *
 *     cio_process p;
 *     const char *argv[] = {"sh", "-c", "echo hi; exit 3", NULL};
 *     cio_process_options o = {.argv = argv,
 *                              .stdio = {[1] = {.mode = CIO_STDIO_PIPE}}};
 *     int rc = cio_process_spawn(loop, &p, &o);       // 0, or -CIO_ENOENT ...
 *     char buf[256];
 *     int32_t n;
 *     while ((n = cio_read(p.pipe[1], buf, sizeof buf, CIO_OFFSET_CURRENT)) > 0)
 *         ...                                          // in a task
 *     cio_close(p.pipe[1]);
 *     cio_process_wait(&p, 0);                         // p.exit_code == 3
 *     cio_process_release(&p);
 *
 * Life cycle: cio_process_spawn() fills a caller-owned cio_process; one
 * wait at a time (cio_process_wait() in a task, or cio_process_wait_start()
 * with a callback) learns the exit and fills `exited`, `exit_code` and
 * `term_signal`; cio_process_release() lets go of what cio holds for it
 * (not the pipes: they are the caller's). The struct must stay where it is
 * (cio keeps pointers into it) from the spawn until the release.
 *
 * Everything here runs on the thread of the loop the process was spawned
 * on, and only there.
 *
 * Handles. Every handle cio makes for this is close-on-exec (non-inheritable
 * on Windows); a child gets exactly its three stdio streams and nothing
 * else of the parent's that cio opened. Handles the program opened itself
 * without close-on-exec are inherited as the OS does it (on Windows only
 * the stdio handles are inherited: PROC_THREAD_ATTRIBUTE_HANDLE_LIST).
 *
 * How it works. POSIX: posix_spawn(), a vfork-style start that costs
 * the same whatever the parent's size, runs no pthread_atfork handlers,
 * and reports a failed exec as its own error (glibc, musl, macOS): a
 * missing program is -CIO_ENOENT from the spawn, not a child exiting 127.
 * The working directory goes through posix_spawn_file_actions_addchdir_np;
 * where the C library lacks it, fork() and exec, with a close-on-exec
 * error pipe that carries a failed exec's errno back to the spawn. The
 * child starts with no signal blocked and every signal at its default
 * action, whatever the loop's thread blocks or ignores. The exit is
 * awaited on Linux (5.3+) through a pidfd (pidfd_open) and a CIO_OP_POLL
 * on it, so it works on io_uring, epoll and poll alike; elsewhere, through
 * a process-wide SIGCHLD handler (installed at the first spawn that needs
 * it, chained to the handler it replaces) that pokes a close-on-exec pipe
 * per child (up to 256 children at a time; more rely on the re-check
 * alone), plus a re-check every 100 ms in case SIGCHLD is blocked or taken
 * over. The child is reaped with waitpid() on its own pid only: cio never
 * reaps children that are not its own. SIGCHLD must not be set to SIG_IGN
 * (the kernel then reaps every child itself and there is no status to
 * report: the wait fails with -CIO_ECHILD). For tests,
 * CIO_PROCESS_FALLBACK=fork,sigchld in the environment forces the fork
 * path and the SIGCHLD wait where the better ones exist.
 * Windows: CreateProcessW with the arguments quoted per the MSVCRT rules
 * (UTF-8 in, UTF-16 command line), an environment block, the directory,
 * and stdio pipes that are overlapped named pipes (the parent's end is
 * opened FILE_FLAG_OVERLAPPED, so IOCP runs its reads and writes; the
 * child's end is a plain synchronous handle, as programs expect). The exit
 * is awaited with RegisterWaitForSingleObject, whose callback posts to the
 * loop (plus a re-check every second). A program is found as SearchPathW
 * finds it (".exe" added when the name has none); a batch file needs
 * argv = {"cmd.exe", "/c", "x.bat", ...}.
 * Mock backend: a real child cannot share the simulated handles of the
 * mock's world, and a simulated child is no process at all, so spawning
 * fails there with -CIO_ENOTSUP. That is the definition, not a gap: test
 * code around processes with a real backend.
 */
#ifndef CIO_PROCESS_H
#define CIO_PROCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "platform.h"
#include "error.h"
#include "op.h"
#include "signal.h"

#if !defined(_WIN32)
#include <signal.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Signals for cio_process_kill() and term_signal: the CIO_SIG* names of
 * cio/signal.h, plus CIO_SIGKILL. POSIX: the system's own numbers (any
 * other signal of the system works too). Windows has no signals: every
 * one but 0 ends the child with TerminateProcess(handle, 128 + sig), and a
 * child cio ended that way reports term_signal = sig (and exit_code
 * 128 + sig).
 */
#ifndef CIO_SIGKILL
#if defined(_WIN32) || defined(__linux__)
#define CIO_SIGKILL 9
#else
#define CIO_SIGKILL SIGKILL
#endif
#endif

/* What a child's stdio stream (0 stdin, 1 stdout, 2 stderr) is. */
typedef enum cio_stdio_mode {
    CIO_STDIO_INHERIT = 0, /* the parent's own stream (the default) */
    CIO_STDIO_NULL,        /* /dev/null (NUL on Windows) */
    CIO_STDIO_PIPE,        /* a new pipe; the parent's end is returned in cio_process.pipe[i] */
    CIO_STDIO_HANDLE       /* `handle`, given by the caller: the child gets a copy of it */
} cio_stdio_mode;

typedef struct cio_stdio {
    cio_stdio_mode mode;
    /* CIO_STDIO_HANDLE: the caller's handle (a file, a socket, one end of a
     * pipe). It stays the caller's: cio neither closes nor changes it (the
     * child's copy is made for the child alone). On Windows it must be
     * usable synchronously by the child: a socket or a handle opened
     * without FILE_FLAG_OVERLAPPED; a cio pipe end is no good there. */
    cio_fd handle;
} cio_stdio;

/* cio_process_options.env_mode: what environment the child gets. */
#define CIO_ENV_INHERIT 0 /* the parent's, as it is at the spawn; `env` is ignored */
#define CIO_ENV_REPLACE 1 /* exactly `env` */
#define CIO_ENV_ADD 2     /* the parent's, with `env` added: an entry replaces a
                             variable of the same name (case-insensitively on Windows) */

/*
 * What to run. Read during cio_process_spawn() only: nothing here is kept
 * after it returns. Strings are UTF-8 on Windows.
 */
typedef struct cio_process_options {
    /* The program. NULL: argv[0]. A name without a directory separator is
     * looked up in the PATH of the parent (POSIX: execvp's rule; Windows:
     * CreateProcessW's search, ".exe" added when it has no extension);
     * with a separator it names the file, relative to the parent's working
     * directory. */
    const char *file;
    /* The arguments, argv[0] first, NULL-terminated. Required. */
    const char *const *argv;
    /* "NAME=value" strings, NULL-terminated, used as env_mode says. */
    const char *const *env;
    int env_mode; /* CIO_ENV_* */
    /* The child's working directory; NULL: the parent's. A missing one fails
     * the spawn with -CIO_ENOENT (-CIO_ENOTDIR if it is a file). */
    const char *cwd;
    /* stdin, stdout, stderr. Zero-initialised: all inherited. */
    cio_stdio stdio[3];
    uint32_t flags; /* reserved, must be 0 */
} cio_process_options;

typedef struct cio_process cio_process;

/*
 * The callback of cio_process_wait_start(): runs once, on the loop's
 * thread, with `res` 0 when the child has exited (see `exit_code` and
 * `term_signal`), -CIO_ETIMEDOUT when the deadline passed first (the child
 * still runs and may be waited for again), -CIO_ECANCELED after
 * cio_process_wait_cancel() or when the loop closes, or another error
 * (-CIO_ECHILD). The callback may start a new wait, kill, or release `p`.
 */
typedef void (*cio_process_cb)(cio_loop *loop, cio_process *p, int res);

/*
 * A child process. The caller places it where it likes; cio fills it.
 * The public fields are for reading; `data` is the caller's.
 */
struct cio_process {
    void *data;        /* caller's context; cio never reads it */
    int64_t pid;       /* the child's process id (POSIX pid, Windows process id) */
    /* The parent's end of each CIO_STDIO_PIPE stream (pipe[0] to write the
     * child's stdin, pipe[1] and pipe[2] to read its stdout and stderr),
     * CIO_FD_INVALID for the other modes. They belong to the caller from the
     * spawn on: read and write them with any cio op or stream (cio_read,
     * cio_write, cio_prep_read, ...; the offset is ignored, pass
     * CIO_OFFSET_CURRENT), and close them through cio (cio_close or
     * cio_prep_close) when done; cio_process_release() does not. The
     * child sees end of file on stdin once pipe[0] is closed. POSIX: a pipe
     * end, close-on-exec (the epoll and poll backends may make it
     * O_NONBLOCK, as any handle they read: cio/loop.h); Windows: an
     * overlapped named pipe end. */
    cio_fd pipe[3];
    /* The exit, valid once `exited` is true (a wait completed with 0).
     * exit_code: the child's exit status (0-255 on POSIX; the whole
     * 32-bit exit code on Windows, e.g. (int)0xC0000005 for a crash),
     * 0 when it was ended by a signal. term_signal: the signal that ended
     * it (POSIX), 0 when it exited by itself; on Windows the signal given
     * to cio_process_kill() when that ended it (exit_code is then
     * 128 + term_signal), else 0. */
    bool exited;
    int exit_code;
    int term_signal;

    /* Private to cio. */
    struct {
        cio_loop *loop;
        cio_op op;          /* the wait in flight of cio_process_wait_start() */
        cio_process_cb cb;
        uint64_t deadline;
        uint32_t state;
        int fd;             /* POSIX: pidfd, or the SIGCHLD pipe's read end; -1 */
        int fd2;            /* POSIX: the SIGCHLD pipe's write end; -1 */
        int slot;           /* POSIX: the SIGCHLD table slot, or -1 */
        void *handle;       /* Windows: the process handle */
        void *wait_handle;  /* Windows: RegisterWaitForSingleObject's */
        void *link;         /* Windows: state shared with the wait's thread */
        int killed_with;    /* Windows: the signal cio_process_kill() sent */
    } internal_;
};

/*
 * cio_process_spawn - start a child process on `loop`.
 *
 * Fills `*p` (any previous content is ignored) and returns 0 once the child
 * runs the program: a failed exec is reported here, not as an exit status
 * (-CIO_ENOENT when the program does not exist, -CIO_EACCES when it is not
 * executable; another exec failure as the system's code). Other
 * errors: -CIO_EINVAL (NULL arguments, no argv[0], an unknown stdio mode or
 * env_mode, flags not 0, CIO_STDIO_HANDLE with CIO_FD_INVALID),
 * -CIO_ENOENT / -CIO_ENOTDIR / -CIO_EACCES for `cwd`, -CIO_EMFILE,
 * -CIO_ENOMEM, -CIO_EAGAIN (process limit), -CIO_ENOTSUP on the mock
 * backend (see the top). On failure nothing is left open and no child
 * runs; `p->pipe[]` are CIO_FD_INVALID.
 *
 * Synchronous and short (it allocates the argument and environment copies
 * for the system call, and frees them before returning): callable from a
 * task or from a callback, on the loop's thread. Options are read during
 * the call only.
 */
CIO_API int cio_process_spawn(cio_loop *loop, cio_process *p, const cio_process_options *opts);

/*
 * cio_process_wait - block the calling task until the child exits.
 *
 * Returns 0 with `exited`, `exit_code` and `term_signal` filled (at once if
 * an earlier wait saw the exit), -CIO_ETIMEDOUT when `deadline` (absolute
 * cio_now() time, 0 = none) or the task's deadline scope (cio_deadline_push)
 * passes first (the child still runs; wait again, or kill it), -CIO_ECANCELED
 * when the task is cancelled, -CIO_EBUSY when a wait of `p` is already in
 * flight, -CIO_EPERM outside a task or on another loop's task, -CIO_EINVAL
 * (NULL, released), -CIO_ECHILD (see the top). Must be called from a task
 * of the loop `p` was spawned on.
 */
CIO_API int cio_process_wait(cio_process *p, uint64_t deadline);

/*
 * cio_process_wait_start - the callback form: `cb(loop, p, res)` runs
 * exactly once when the child exits, the deadline passes (absolute
 * cio_now() time, 0 = none), the wait is cancelled, or the loop closes
 * (see cio_process_cb). Like an op, the pending wait keeps
 * cio_loop_run(CIO_RUN_DEFAULT) going. If the exit was already seen, `cb`
 * still runs from the loop (at its next turn), never from inside this
 * call. Returns 0, -CIO_EBUSY (a wait of `p` is in flight), -CIO_EINVAL
 * (NULL, no cb, released), -CIO_ECANCELED (the loop is closing). Loop
 * thread.
 */
CIO_API int cio_process_wait_start(cio_process *p, cio_process_cb cb, uint64_t deadline);

/*
 * cio_process_wait_cancel - end the wait started by cio_process_wait_start()
 * early: its callback then runs with -CIO_ECANCELED (or 0 if the exit had
 * been seen already). Returns 0, or -CIO_ENOENT when no such wait is in
 * flight. Loop thread.
 */
CIO_API int cio_process_wait_cancel(cio_process *p);

/*
 * cio_process_kill - send signal `sig` to the child (POSIX; on Linux
 * through its pidfd, so never to a recycled pid). 0 only checks that the
 * child has not been reaped. Windows: any sig but 0 calls
 * TerminateProcess (see CIO_SIG* above). Returns 0, -CIO_ESRCH once a wait
 * has seen the exit (the pid may belong to another process by then),
 * -CIO_EINVAL (bad signal, NULL), -CIO_EPERM. A child that exited but was
 * not waited for yet is still "there": the signal has no effect. Loop
 * thread.
 */
CIO_API int cio_process_kill(cio_process *p, int sig);

/*
 * cio_process_release - let go of what cio holds for `p` (the pidfd or
 * process handle, a SIGCHLD slot). The pipes in `p->pipe[]` are not
 * touched: they are the caller's. Returns 0, -CIO_EBUSY while a wait of
 * `p` is in flight (cancel it and let its callback run first), -CIO_EINVAL
 * (NULL, released twice). A child not yet waited for keeps running; on
 * POSIX no one reaps it then (it stays a zombie until this process exits
 * once it ends): wait for it first, after a kill if need be. After the
 * call `p` may be freed. Loop thread.
 */
CIO_API int cio_process_release(cio_process *p);

#ifdef __cplusplus
}
#endif

#endif /* CIO_PROCESS_H */
