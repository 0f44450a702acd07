/*
 * src/rt/rt_internal.h - what the runtime's files share: the runtime, its
 * workers, the jobs that carry work to a worker, and the records of the
 * tasks the runtime started.
 *
 * Everything a worker owns (its loop, its lists of tasks and listeners,
 * its own counters) is touched only on its thread. Other threads reach it
 * through jobs (messages on its loop) and through the few atomics below:
 * `load`, the published counters, and the runtime's `inflight`.
 *
 * The shutdown waits on the runtime's mutex and condition for counts that
 * the workers bring to zero (jobs in flight, acceptors, load); a worker
 * broadcasts when it brings one to zero while the runtime stops, and the
 * waiter also looks again every few milliseconds, so a wake-up that comes
 * between its look and its wait costs at most that.
 */
#ifndef CIO_RT_INTERNAL_H
#define CIO_RT_INTERNAL_H

#include <stdalign.h>
#include <stdatomic.h>

#include "cio/runtime.h"
#include "../core/queue.h"
#include "../core/thread.h"

typedef struct rt_worker rt_worker;

/* The counters a worker publishes after each turn (cio_worker_stats but
 * for status, cpu, backend and load, which are known otherwise). */
enum {
    PUB_SUBMITTED,
    PUB_COMPLETED,
    PUB_ENTERS,
    PUB_KCOMPLETIONS,
    PUB_TURNS,
    PUB_SQ_FULL,
    PUB_CQ_OVERFLOWS,
    PUB_POSTS,
    PUB_SPAWNED,
    PUB_CANCELLED,
    PUB_SPAWN_FAILURES,
    PUB_CALLS,
    PUB_CONNECTIONS,
    PUB_CONN_ERRORS,
    PUB_ACCEPT_ERRORS,
    PUB_COUNT_
};

struct rt_worker {
    cio_runtime *rt;
    unsigned index;
    int cpu;          /* pinned to, or -1 */
    int status;       /* cio_loop_init()'s result (or the loop's failure later) */
    cio_backend_kind backend;
    bool started;     /* set up (or failed); under rt->mu */
    bool unwound;     /* the shutdown's unwinding is over; under rt->mu */
    bool exited;      /* the thread is done with the runtime; under rt->mu */
    atomic_bool ready; /* the loop runs: work may be sent; set after `backend` */
    atomic_bool closing; /* the unwinding is over everywhere: close the loop (set by the shutdown) */
    cio__thread_entry entry;
    cio_loop loop;

    /* The worker's thread only. */
    cio_op keepalive; /* a far timer, so that the loop turns while it has no other work */
    bool quit;        /* the shutdown's unwinding has begun */
    list tasks;       /* rt_task records of runtime tasks not yet returned */
    list acceptors;   /* rt_acceptor records of its listeners */
    uint64_t own[PUB_COUNT_]; /* its runtime counters (the PUB_SPAWNED.. part) */

    /* Any thread. */
    alignas(64) atomic_uint_fast64_t load;
    atomic_uint_fast64_t inflight; /* jobs admitted for it and not yet arrived */
    atomic_uint acceptors_live;
    alignas(64) atomic_uint_fast64_t pub[PUB_COUNT_];
};

struct cio_runtime {
    cio__mutex mu;
    cio__cond cv;
    unsigned n;
    rt_worker *workers; /* in workers_mem, on a cache line */
    void *workers_mem;
    void (*on_start)(cio_runtime *rt, unsigned worker, cio_loop *loop, void *arg);
    void *on_start_arg;
    const cio_loop_options *loop_opts;
    const cio_loop_options *const *worker_loops;
    bool pin;
    int *cpus;
    unsigned ncpus;
    atomic_uint next;      /* CIO_WORKER_NEXT's cursor */
    atomic_bool stopping;  /* the shutdown has begun: work from outside is refused */
    atomic_bool closed;    /* its cancel has come: all work is refused */
    atomic_uint_fast64_t late; /* work admitted after `stopping` (from the runtime's own tasks) */
    atomic_uint refs;      /* its own (until the shutdown ends) and one per public call under way */
    unsigned serving;      /* cio_runtime_serve calls under way; under mu */
    list serves;           /* rt_serve records; under mu */
};

/* A reference to the runtime for the length of a public call, and its
 * release, which frees the runtime when it was the last (runtime.c).
 * rt_leave returns `r`, for `return rt_leave(rt, result)`. */
cio_runtime *rt_enter(const cio_runtime *rt);
int rt_leave(cio_runtime *rt, int r);

/* ---- jobs: work travelling to a worker ---- */

typedef enum { JOB_SPAWN, JOB_CALL, JOB_EXEC, JOB_CONN, JOB_CONTROL } job_kind;

typedef struct rt_serve rt_serve;
typedef struct rt_exec rt_exec;

typedef struct rt_job {
    cio_op msg;  /* what the worker's loop delivers */
    cio_op post; /* the CIO_OP_POST that carries `msg` from an io_uring worker (MSG_RING) */
    atomic_int refs; /* `msg` on the target and `post` on the sender, when both are used */
    job_kind kind;
    bool counted; /* in the runtime's `inflight` and the target's `load` */
    bool heap;    /* malloc'd: freed when its last reference goes */
    rt_worker *to;
    union {
        struct {
            cio_task_fn fn;
            void *arg;
            size_t stack_size;
            const char *name;
        } spawn;
        struct {
            cio_runtime_call_fn fn;
            void *arg;
        } call;
        struct {
            cio_fd fd;
            cio_addr peer;
            rt_serve *serve;
        } conn;
        struct {
            void (*fn)(rt_worker *w, void *arg);
            void *arg;
            bool *done; /* set under rt->mu when fn has run */
        } control;
    } u;
} rt_job;

/* Sends `j` (kind and payload filled in, `heap` and `counted` set) to
 * `to`: with `may_ring`, a CIO_OP_POST from an io_uring worker to
 * another (MSG_RING), else cio_loop_post(). 0 or an error, in which case
 * nothing was sent. */
int rt_send(cio_runtime *rt, rt_worker *to, rt_job *j, bool may_ring);

/* Admits `j` for `to` (counted in its `inflight` and load, unless the
 * shutdown has begun: -CIO_ECANCELED) and sends it (rt_send); on failure
 * nothing stays counted. Every job of the public calls goes through it,
 * so that the shutdown, once `inflight` is 0, knows no more will come. */
int rt_admit_send(cio_runtime *rt, rt_worker *to, rt_job *j, bool may_ring);

/* Closes `fd` on `w`'s loop from a callback, where no task can block. */
void rt_close_soon(rt_worker *w, cio_fd fd);

/* Runs fn(w, arg) on worker `w`'s thread and waits for it (the calling
 * thread is no worker). */
void rt_control(rt_worker *w, void (*fn)(rt_worker *w, void *arg), void *arg);

/* Wakes the shutdown's waits, when it is under way. */
void rt_notify(cio_runtime *rt);

/* Resolves a worker choice: the worker, or NULL with *err set. */
rt_worker *rt_choose(cio_runtime *rt, int how, int *err);

/* The worker the calling thread is, or NULL. */
rt_worker *rt_self(void);

/* ---- runtime tasks ---- */

typedef enum { TASK_PLAIN, TASK_EXEC, TASK_CONN } task_kind;

/* Lives on the task's own stack (cio__task_spawn_extra), in its worker's
 * `tasks` until the task returns. */
typedef struct rt_task {
    lnode node;
    rt_worker *w;
    cio_task *task;
    task_kind kind;
    cio_task_fn fn;
    void *arg;
    rt_exec *exec;
    cio_fd fd;
    cio_addr peer;
    rt_serve *serve;
} rt_task;

/* Starts a runtime task on `w` (its thread) from `tmpl` (kind, fn, arg,
 * exec or connection filled in; copied), its record in `*out` (may be
 * NULL). The load was taken by the caller; on failure it is given back
 * here, the failure counted, an exec answered and a connection closed.
 * 0 or an error. */
int rt_task_start(rt_worker *w, const rt_task *tmpl, size_t stack_size, const char *name, rt_task **out);

/* Called by rt_task_start's trampoline when a TASK_EXEC task returns, and
 * when one could not start: hands `result` (or `err`) back to its waiter. */
void rt_exec_done(rt_exec *e, intptr_t result, int err);

/* ---- serving (serve.c) ---- */

struct rt_serve {
    lnode node; /* in the runtime's `serves` */
    cio_runtime *rt;
    cio_runtime_conn_fn fn;
    void *arg;
    cio_spread spread;
    bool least;
    size_t stack_size;
    atomic_uint acceptors_live; /* its acceptor tasks not yet ended */
};

/* A connection handed over by an acceptor arrived on `w`. */
void rt_serve_conn_arrived(rt_worker *w, rt_job *j);

/* Runs a connection task's body: the user's function, then the close. */
intptr_t rt_serve_conn_run(rt_task *t);

/* Shutdown step 1 on worker `w`: cancels its acceptors (each closes its
 * listener as it ends); returns how many. */
unsigned rt_serve_stop(rt_worker *w);

#endif /* CIO_RT_INTERNAL_H */
