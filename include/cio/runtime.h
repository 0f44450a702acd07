/*
 * cio/runtime.h - thread-per-core: worker threads with a loop each, work
 * spread across them, and a graceful shutdown.
 *
 *     static intptr_t echo(cio_fd fd, const cio_addr *peer, void *arg) {
 *         char buf[4096];
 *         int32_t n;
 *         while ((n = cio_recv(fd, buf, sizeof buf, 0)) > 0)
 *             if (cio_send(fd, buf, (uint32_t)n, CIO_MSG_WAITALL) != n) break;
 *         return 0;                            // the runtime closes fd
 *     }
 *     ...
 *     static intptr_t wait_for_stop(void *arg) {   // a task on this thread's own loop
 *         cio_signal sig;
 *         cio_signal_init(&sig, cio_task_loop());
 *         cio_signal_add(&sig, CIO_SIGTERM);
 *         int signo = cio_signal_wait(&sig, 0, NULL);
 *         cio_signal_close(&sig);
 *         return signo;
 *     }
 *     ...
 *     cio_runtime *rt;
 *     cio_runtime_start(NULL, &rt);            // one worker per CPU
 *     cio_runtime_serve(rt, "0.0.0.0:8080", NULL, echo, NULL, NULL);
 *     cio_main(wait_for_stop, NULL, NULL, NULL);   // until SIGTERM (cio/signal.h)
 *     cio_runtime_shutdown(rt, 5000000000u, NULL, NULL); // 5 s for connections to end
 *
 * A worker is a thread that owns one loop (cio/loop.h) and runs it until
 * the runtime shuts down; its tasks and callbacks run on that thread only,
 * and nothing is shared between workers unless the program shares it.
 * Work reaches a worker as a message (cio_loop_post(); from another
 * io_uring worker's thread a CIO_OP_POST, which is one MSG_RING in that
 * worker's next system call, so a hand-off between io_uring workers costs
 * no extra system call on either side).
 *
 * Choosing a worker: every call that takes a `worker` takes an index
 * (0 .. cio_runtime_workers() - 1) or one of
 *   CIO_WORKER_NEXT   the running workers in turn (round robin);
 *   CIO_WORKER_LEAST  the running worker with the least load: runtime
 *                     tasks (those started by cio_runtime_spawn,
 *                     cio_runtime_exec and cio_runtime_serve) and calls,
 *                     counted from the moment they are handed over until
 *                     they return; ties go to the lowest index.
 * A worker whose loop failed to start is skipped by both, and naming it
 * is -CIO_ESRCH.
 *
 * Which tasks the runtime knows: those it started (the three calls
 * above). Tasks those spawn themselves with cio_task_spawn() belong to
 * their worker's loop like any task: the shutdown's cancel does not reach
 * them, but closing the worker's loop ends them (cio/task.h); join or
 * group them (cio/group.h) so that they end with their parent.
 *
 * Threads: cio_runtime_start(), cio_runtime_serve() and
 * cio_runtime_shutdown() are for threads that are not workers of the
 * runtime (they wait for the workers). Everything else may be called from
 * any thread, workers included. Calls may overlap the shutdown (they then
 * refuse new work with -CIO_ECANCELED, or end the work they had), and the
 * runtime's memory lasts until the last of them has returned; but a call
 * that starts once cio_runtime_shutdown() has returned uses a runtime
 * that is gone, as any use of freed memory.
 *
 * Signals: workers start with the signal mask of the thread that called
 * cio_runtime_start(). Waiting for SIGINT or SIGTERM with cio/signal.h
 * on a loop of the main thread (as above; cio_main gives the thread a
 * loop) works whichever thread the system delivers the signal to. A
 * signal that comes before cio_signal_add() still has its default
 * action (SIGTERM ends the process): add the watcher before announcing
 * the server, or block the signals (pthread_sigmask) before
 * cio_runtime_start() so that no thread takes them by default.
 *
 * The mock backend (CIO_BACKEND_MOCK in the loop options): each worker
 * runs a simulation of its own, on its own thread, with a world of its
 * own (its simulated sockets, pipes and files). Spawns, calls, exec,
 * counters and shutdown behave as on the other backends. Handles do not
 * cross worlds: cio_runtime_serve() puts a listener in every worker's
 * world (CIO_SPREAD_AUTO and CIO_SPREAD_REUSEPORT, no SO_REUSEPORT
 * needed), which tasks of that worker reach at the address it returns;
 * CIO_SPREAD_ACCEPTOR, which moves connections between workers, is
 * refused with -CIO_ENOTSUP. Each worker's simulation is deterministic on
 * its own; the interleaving of the threads is not.
 */
#ifndef CIO_RUNTIME_H
#define CIO_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "net.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cio_runtime cio_runtime;

/* Worker choices for the `worker` arguments (above). */
#define CIO_WORKER_NEXT (-1)
#define CIO_WORKER_LEAST (-2)

/* The most workers one runtime starts. */
#define CIO_RUNTIME_MAX_WORKERS 1024u

/* What cio_runtime_start() does; all-zero (or NULL) is the default. */
typedef struct cio_runtime_options {
    unsigned workers; /* 0: one per CPU the process may run on (its affinity mask) */
    bool pin;         /* pin worker i to the i-th CPU of the process's affinity mask
                         (modulo their number); a pin the system refuses leaves the
                         worker unpinned (cio_worker_stats.cpu is then -1) */
    const cio_loop_options *loop;                /* every worker's loop; NULL: defaults */
    const cio_loop_options *const *worker_loops; /* NULL, or one entry per worker: that
                                                    worker's loop options (an entry NULL:
                                                    `loop`) */
    /* Runs on each worker's thread once its loop is set up, before any
     * work reaches it: the place for per-worker state. May spawn tasks
     * on `loop`. NULL: none. */
    void (*on_start)(cio_runtime *rt, unsigned worker, cio_loop *loop, void *arg);
    void *arg; /* for on_start */
    uint64_t reserved_[4]; /* must be 0 */
} cio_runtime_options;

/*
 * cio_runtime_start - start the workers and wait until each has set up
 * its loop (and run on_start) or failed to. A worker that failed stays
 * out of the runtime (cio_runtime_worker_status() gives its error) while
 * the others run. Returns 0 and sets `*out` when at least one worker
 * runs; otherwise the first worker's error, or -CIO_EINVAL (no `out`,
 * more than CIO_RUNTIME_MAX_WORKERS, a reserved word set), -CIO_ENOMEM,
 * or the system's error starting a thread, and nothing is left running.
 */
CIO_API int cio_runtime_start(const cio_runtime_options *opts, cio_runtime **out);

/* cio_runtime_workers - how many workers the runtime has, running or not. */
CIO_API unsigned cio_runtime_workers(const cio_runtime *rt);

/* cio_runtime_worker_status - 0 if worker `w` runs, else why its loop did
 * not start (cio_loop_init()'s error); -CIO_EINVAL for no such worker. */
CIO_API int cio_runtime_worker_status(const cio_runtime *rt, unsigned w);

/* cio_runtime_loop - worker `w`'s loop, or NULL (no such worker, or it
 * failed to start). Use it from that worker's thread, or as the target of
 * cio_loop_post() and cio_xchan_init() from anywhere. */
CIO_API cio_loop *cio_runtime_loop(cio_runtime *rt, unsigned w);

/* cio_runtime_self - on a worker's thread, its runtime, with its index in
 * `*worker` (may be NULL); NULL on any other thread. */
CIO_API cio_runtime *cio_runtime_self(unsigned *worker);

/* cio_runtime_pick - resolve a worker choice to an index: `how` is an
 * index (returned if that worker runs), CIO_WORKER_NEXT or
 * CIO_WORKER_LEAST. Returns the index, -CIO_ESRCH (not running) or
 * -CIO_EINVAL. */
CIO_API int cio_runtime_pick(cio_runtime *rt, int how);

/*
 * cio_runtime_spawn - start fn(arg) as a detached task on a worker.
 * `opts` as in cio_task_spawn() (read during this call; `detached` is
 * ignored). The task starts during one of the worker's next turns.
 * Returns the worker's index, or -CIO_EINVAL (no runtime or function),
 * -CIO_ESRCH (that worker does not run), -CIO_ENOMEM, or -CIO_ECANCELED
 * (shutdown has begun). Once it returned an index the task is certain to
 * be started, and to be cancelled by a shutdown if it outlives the grace
 * time; if the worker cannot spawn it (out of memory for a stack) the
 * failure is counted in cio_worker_stats.spawn_failures. Allocates a
 * small record, freed when the task starts. Any thread. Nothing throttles
 * it: work sent faster than the workers run it piles up (a record per
 * job, a stack per task started, two memory mappings each), until memory
 * or the system's mapping limit runs out (-CIO_ENOMEM here, or failed
 * spawns there); a sender that can outrun the workers watches `load`
 * (cio_runtime_stats) and waits.
 */
CIO_API int cio_runtime_spawn(cio_runtime *rt, int worker, cio_task_fn fn, void *arg,
                              const cio_task_options *opts);

/* A plain callback for cio_runtime_call(). */
typedef void (*cio_runtime_call_fn)(cio_loop *loop, void *arg);

/*
 * cio_runtime_call - run fn(loop, arg) on a worker's thread, as a
 * callback of its loop (not a task: it must not block). Returns the
 * worker's index or an error as cio_runtime_spawn(); once it returned an
 * index, fn runs exactly once. Allocates a small record. Any thread.
 */
CIO_API int cio_runtime_call(cio_runtime *rt, int worker, cio_runtime_call_fn fn, void *arg);

/*
 * cio_runtime_exec - run fn(arg) as a task on a worker and wait for it to
 * return; its return value goes to `*result` (may be NULL).
 *
 * From a task (of a worker or of any other loop) this blocks the task
 * only; from a thread that runs no loop it blocks the thread. From a
 * plain callback of a worker's loop it would stall that worker: refused
 * with -CIO_EDEADLK. If the waiting task is cancelled, the remote task is
 * cancelled too and still waited for (its result, if any, is stored), so
 * that nothing it uses on the caller's stack outlives the call; the call
 * then returns -CIO_ECANCELED. A deadline scope of the waiting task
 * (cio_deadline_push) that passes does the same and returns
 * -CIO_ETIMEDOUT. Returns 0, those two, or an error as
 * cio_runtime_spawn(). Allocates nothing: the request lives on the
 * caller's stack. Cost: a message each way (tens of microseconds between
 * threads on a loaded machine), so keep hot state where its requests
 * are, and exec for what must live on one worker; exec to the caller's
 * own worker works too, at the price of the same messages. The loop of a waiting task must not be closed before
 * the call returned (a worker's loop is not: the shutdown lets such tasks
 * end first). Any thread (as said).
 */
CIO_API int cio_runtime_exec(cio_runtime *rt, int worker, cio_task_fn fn, void *arg, intptr_t *result);

/* ---- serving connections ---- */

/* One accepted connection, handled in a task of its own. The runtime
 * closes `conn` when this returns (whatever it returns); `peer` is valid
 * until then. The return value is counted (negative but for
 * -CIO_ECANCELED: an error, see cio_worker_stats.conn_errors) and
 * otherwise dropped. */
typedef intptr_t (*cio_runtime_conn_fn)(cio_fd conn, const cio_addr *peer, void *arg);

/* How cio_runtime_serve() spreads connections over the workers. */
typedef enum cio_spread {
    CIO_SPREAD_AUTO = 0,   /* CIO_SPREAD_REUSEPORT where the system has it, else CIO_SPREAD_ACCEPTOR */
    CIO_SPREAD_REUSEPORT,  /* a listener per worker on the same address (SO_REUSEPORT): the
                              kernel spreads connections, by a hash of their addresses, and
                              no connection crosses threads; -CIO_ENOTSUP where the system has
                              no SO_REUSEPORT (Windows) */
    CIO_SPREAD_ACCEPTOR    /* one listener, on worker `acceptor`, which hands each accepted
                              connection to a worker (`least`): even spreading, one hop per
                              connection. On Windows an accepted socket joins the chosen
                              worker's completion port at its first IO there */
} cio_spread;

/* Options for cio_runtime_serve(); all-zero (or NULL) is the default. */
typedef struct cio_serve_options {
    cio_spread spread;
    bool least;                /* CIO_SPREAD_ACCEPTOR: each connection to the least loaded
                                  worker (CIO_WORKER_LEAST) instead of the next in turn */
    unsigned acceptor;         /* CIO_SPREAD_ACCEPTOR: the worker that accepts */
    cio_listen_options listen; /* backlog, v6only (reuseport is set by `spread`) */
    size_t stack_size;         /* each connection task's stack; 0: CIO_TASK_STACK_DEFAULT */
    uint64_t reserved_[4];     /* must be 0 */
} cio_serve_options;

/*
 * cio_runtime_serve - listen on `addr` ("0.0.0.0:8080", "[::]:0": a
 * literal, as cio_tcp_listen()) and handle each connection in a task
 * running fn(conn, peer, arg) on a worker, until the shutdown. The
 * address actually bound (the port chosen for ":0") goes to `*bound`
 * (may be NULL). Returns 0, or the listen's error (cio_tcp_listen: on any
 * worker, and then no listener is left), -CIO_EINVAL, -CIO_ENOTSUP (see
 * the spreads, and the mock backend above), -CIO_ECANCELED (shutdown has begun), or
 * -CIO_EDEADLK from a worker's thread. A failed accept (out of
 * descriptors: cio_prep_accept backs off and tries again) is counted in
 * cio_worker_stats.accept_errors and accepting goes on. Call it more than
 * once for more addresses. Not from a worker's thread.
 */
CIO_API int cio_runtime_serve(cio_runtime *rt, const char *addr, const cio_serve_options *opts,
                              cio_runtime_conn_fn fn, void *arg, cio_addr *bound);

/* ---- counters ---- */

/* One worker's counters. */
typedef struct cio_worker_stats {
    cio_stats loop;           /* its loop's counters (cio_loop_stats), as of its last turn */
    uint64_t tasks_spawned;   /* runtime tasks it started */
    uint64_t load;            /* runtime tasks and calls handed to it and not yet finished:
                                 what CIO_WORKER_LEAST compares (always current) */
    uint64_t tasks_cancelled; /* runtime tasks the shutdown cancelled */
    uint64_t spawn_failures;  /* runtime tasks it could not start (no memory for a stack) */
    uint64_t calls;           /* cio_runtime_call() callbacks it ran */
    uint64_t connections;     /* connections it accepted (its listener, or the acceptor's
                                 hand-offs that it received) */
    uint64_t conn_errors;     /* connection functions that returned a negative value other
                                 than -CIO_ECANCELED (the shutdown's cancel) */
    uint64_t accept_errors;   /* accepts on its listener that failed */
    int status;               /* as cio_runtime_worker_status() */
    int cpu;                  /* the CPU it is pinned to, or -1 */
    cio_backend_kind backend; /* its loop's backend (CIO_BACKEND_AUTO if it failed) */
} cio_worker_stats;

/*
 * cio_runtime_worker_stats - worker `w`'s counters into `*out`; each is
 * as of that worker's last loop turn (a worker publishes them once per
 * turn, so a busy worker's are fresh and an idle one's are exact).
 * Returns 0 or -CIO_EINVAL. Any thread.
 */
CIO_API int cio_runtime_worker_stats(const cio_runtime *rt, unsigned w, cio_worker_stats *out);

/*
 * cio_runtime_stats - the sum over the workers (the loop counters and the
 * task counts added up; `status` 0 if any worker runs, `cpu` -1 and
 * `backend` worker 0's). Compare the workers' own to see imbalance.
 * Returns 0 or -CIO_EINVAL. Any thread.
 */
CIO_API int cio_runtime_stats(const cio_runtime *rt, cio_worker_stats *out);

/* ---- shutdown ---- */

/* What cio_runtime_shutdown() found. */
typedef struct cio_runtime_report {
    uint64_t tasks_finished;  /* runtime tasks (and calls) running when the shutdown began, or
                                 handed on by them since, that returned on their own before the
                                 grace time ran out */
    uint64_t tasks_cancelled; /* runtime tasks still running at its end, which were cancelled */
    uint64_t listeners;       /* listeners closed */
    cio_worker_stats total;   /* the final counters, summed (cio_runtime_stats) */
} cio_runtime_report;

/*
 * cio_runtime_shutdown - stop the runtime and free it.
 *
 * 1. New work is refused: cio_runtime_spawn, call, exec and serve return
 *    -CIO_ECANCELED from now on when called from outside the runtime's
 *    workers, and every listener of cio_runtime_serve() is closed, so that
 *    no new connection is accepted (a connection the kernel had queued and
 *    no worker took is reset). Tasks and callbacks on the workers may
 *    still spawn, call and exec until step 3, so that a request under way
 *    can finish (a connection task that asks another worker for data).
 * 2. The runtime tasks (connections included) get until `grace_ns` from
 *    now to return on their own.
 * 3. From here nothing new is taken, from anywhere. The runtime tasks
 *    still running are cancelled (cio_task_cancel: their blocking
 *    calls fail with -CIO_ECANCELED, shielded clean-ups run to their end)
 *    and the workers run until they return.
 * 4. Each worker closes its loop, which ends whatever is left (tasks the
 *    runtime did not start, their ops: cio_loop_close), and its thread
 *    exits.
 *
 * `*report` (may be NULL) receives what happened, and `per_worker` (may
 * be NULL; else room for cio_runtime_workers() entries) each worker's
 * final counters. Returns 0, -CIO_EINVAL
 * (no runtime), or -CIO_EDEADLK from a worker's thread (which would wait
 * for itself; nothing happens then). Not from a worker's thread, and once
 * only: afterwards `rt` is freed.
 */
CIO_API int cio_runtime_shutdown(cio_runtime *rt, uint64_t grace_ns, cio_runtime_report *report,
                                 cio_worker_stats *per_worker);

/* cio_runtime_stopping - whether cio_runtime_shutdown() has begun, so
 * that long-running tasks can wind down on their own. Any thread. */
CIO_API bool cio_runtime_stopping(const cio_runtime *rt);

#ifdef __cplusplus
}
#endif

#endif /* CIO_RUNTIME_H */
