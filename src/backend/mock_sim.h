/*
 * src/backend/mock_sim.h - what the parts of the mock backend share.
 *
 * mock.c is the engine: virtual time, the seed, the heap of ops by virtual
 * completion time, cancel, close, the trace, faults and invariants. The
 * simulated world is made of handles (mock_world.c: a table of numbers
 * from CIO_MOCK_FD_BASE up), each of one kind; a kind is one file that
 * says what its ops do:
 *   - mock_chan.c: pipes and connected stream sockets (bytes in rings);
 *   - mock_net.c:  sockets before they connect, listeners, datagrams and
 *                  simulated addresses;
 *   - mock_fs.c:   an in-memory file system (files and directories).
 * The engine asks a kind two things about an op: at submit, whether it
 * can run (check), and when its latency is over, what it does (try). A try
 * returns the op's result, or MOCK_PARK when it must wait for a change of
 * its handle (anything that changes a handle calls mock_wake on it, and
 * its parked ops try again after a fresh latency), or MOCK_MORE when it
 * moved part of what it must and tries again after a fresh latency.
 * A multishot op's try that delivers one of several results sets MB_MORE
 * in op->internal_.bflags: the engine then tries it again after a fresh
 * latency (and it parks when it has nothing), and the result goes to the
 * callback with CIO_F_MORE.
 * Nothing happens in the world before an op's try, so that a cancel, a
 * deadline or a close can always end a held op without loss.
 *
 * Ops that name no simulated handle (socket, and the *at ops relative to
 * CIO_AT_FDCWD) belong to a kind by their opcode (mock_kind_of_op).
 */
#ifndef CIO_MOCK_SIM_H
#define CIO_MOCK_SIM_H


#include "backend.h"
#include "../core/thread.h"
#include "cio/mock.h"

/* Results of a try that does not complete the op. */
#define MOCK_PARK INT32_MIN
#define MOCK_MORE (INT32_MIN + 1)

/* internal_.bflags of an op the mock holds */
#define MB_TIMED_OUT 1u /* due at its deadline, not at its latency */
#define MB_DUE 2u       /* in the heap `due` */
#define MB_HELD 4u      /* on its handle's queue (mock_handle.ops) */
#define MB_PARKED 8u    /* tried, and waits for a change of its handle */
#define MB_PARTIAL 16u  /* op->res counts what it moved so far (MSG_WAITALL) */
#define MB_SCRIPTED 32u /* its result comes from the script (mock_script.c) */
#define MB_MORE 64u     /* set by a try of a multishot op: the result is not its last */
#define MB_CROSS 256u   /* parked, and names another handle whose change it also waits for
                           (a splice held on fd_out that waits for bytes from fd_in) */
#define MB_CHANGED 128u /* its handle changed while it was due, not parked (a multishot poll
                           then reports again, though it has just reported) */

typedef struct mock mock;
typedef struct mock_handle mock_handle;

typedef struct mock_kind {
    const char *name; /* for reports: "pipe", "socket", "file" */
    /* At submit: 0 when `op` can run on `h` (NULL for an op that names no
     * handle), else its error (the op completes with it at once). May set
     * MB_PARTIAL in op->internal_.bflags. */
    int (*check)(mock *m, cio_op *op, mock_handle *h);
    /* When its latency is over: the result, MOCK_PARK or MOCK_MORE. */
    int32_t (*try_op)(mock *m, cio_op *op, mock_handle *h);
    /* `h` closes (no op is held on it any more): release what it holds
     * and wake the handles that see it go. */
    void (*close)(mock *m, mock_handle *h);
} mock_kind;

struct mock_handle {
    const mock_kind *kind; /* NULL: a free number */
    void *obj;             /* the kind's object */
    uint32_t end;          /* which end of obj this handle is (pipes, streams) */
    opq ops;               /* the ops the mock holds on it, oldest first */
    uint8_t made_by;       /* the opcode of the op that made it; 0: a cio_mock_* call */
    cio_fd made_on;        /* that op's handle (an accept's listener), else CIO_FD_INVALID */
};

typedef struct mock_world {
    mock_handle *handles; /* by number - CIO_MOCK_FD_BASE */
    uint32_t cap;         /* entries in `handles` */
    uint32_t open;        /* handles in use */
    uint32_t low;         /* no free number below this */
    uint32_t max;         /* handles open at once (cio_mock_options.max_handles) */
    const cio_op *trying; /* the op whose try runs now: it makes the handles opened meanwhile */
} mock_world;

struct mock_fs;
struct mock_net;
struct mock_script;

/* What faults the simulation injects (cio/mock.h), and how many it did. */
typedef struct mock_faults {
    uint32_t ppm[CIO_MOCK_FAULT_COUNT_];
    uint64_t count[CIO_MOCK_FAULT_COUNT_];
} mock_faults;

struct mock {
    cio_loop *loop;     /* whose state this is */
    uint64_t now;       /* the virtual clock */
    uint64_t rng;       /* splitmix64 state */
    uint64_t seed;
    uint64_t trace;     /* FNV-1a over what the simulation did */
    uint64_t submitted; /* ops taken, numbering them for the trace */
    uint32_t cross_parked; /* parked ops with MB_CROSS: mock_wake looks for them beyond the handle */
    cio_heap due;       /* ops in flight, by virtual completion time */
    mock_world world;
    struct mock_fs *fs;   /* mock_fs.c's, made at the first use */
    struct mock_net *net; /* mock_net.c's, made at the first use */
    struct mock_script *script; /* mock_script.c's, once a test scripts ops */
    mock_faults faults;
    uint32_t flags;      /* CIO_MOCK_POISON */
    uint64_t violations; /* reported for this loop */
    cio__mutex mu;
    cio__cond cv;
    cio__thread waiter;   /* the thread in the last wait (under mu) */
    bool woken;          /* a wake came (any thread; under mu) */
    bool foreign_wakes;  /* another thread woke the loop at least once (under mu) */
};

/* ---- the engine (mock.c) ---- */

/* The next number of the seeded sequence. */
uint64_t mock_random(mock *m);

/* Mixes `v` into the trace hash (cio_mock_trace). */
void mock_mix(mock *m, uint64_t v);

/* How many of `possible` bytes (> 0) a transfer moves: all of them half of
 * the time, else a seeded number from 1 up, as a real pipe or socket may. */
uint32_t mock_transfer_size(mock *m, uint32_t possible);

/* Ends `op`, which the mock holds (on a handle, in the heap, or for the
 * script), with `res` now: its callback runs later in this turn. */
void mock_end(mock *m, cio_op *op, int32_t res);

/* Something about handle `fd` changed: the ops parked on it, and the
 * parked ops held elsewhere that name it too (a splice's fd_in), try again
 * after a fresh latency. Nothing for a number that is not an open handle. */
void mock_wake(mock *m, cio_fd fd);

/* ---- faults and reports (mock_fault.c) ---- */

/* The settings of a new loop: its seed (the option, else CIO_MOCK_SEED,
 * else 1), and the backend options when given, else the environment's
 * (CIO_MOCK_FAULTS, CIO_MOCK_POISON). 0 or -CIO_EINVAL (a bad one from the
 * environment is said on stderr). */
int mock_settings(mock *m, const cio_loop_options *opts);

/* Whether fault `f` strikes at this chance. Draws from the seed only when
 * its rate is not 0, so that a run without faults is the same with or
 * without fault support. */
bool mock_fault(mock *m, cio_mock_fault f);

/* Reports a violation (cio/mock.h): the message, the seed and the replay
 * command on stderr; counts it; aborts under CIO_MOCK_ABORT=1. */
void mock_violation(mock *m, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The run's summary on stderr at the loop's close, under CIO_MOCK_REPORT=1
 * (cio/mock.h). */
void mock_summary(const mock *m);

/* ---- the handles (mock_world.c) ---- */

static inline bool mock_is_simulated(cio_fd fd) { return fd >= (cio_fd)CIO_MOCK_FD_BASE; }

/* A new handle of `kind` on `obj` (its end `end`), on the lowest free
 * number, as descriptors are: the number, or -CIO_EMFILE, -CIO_ENOMEM. */
/* The new handle's number (below INT32_MAX on every platform), or a negative error. */
int32_t mock_handle_open(mock_world *w, const mock_kind *kind, void *obj, uint32_t end);

/* The open handle `fd`, else NULL. */
mock_handle *mock_handle_at(const mock_world *w, cio_fd fd);

/* Frees the number `fd` (its kind has released what it held). */
void mock_handle_free(mock_world *w, cio_fd fd);

/* The number of handle `h`. */
cio_fd mock_handle_fd(const mock_world *w, const mock_handle *h);

/* Pointers to handles do not outlive the next mock_handle_open (the table
 * may move): keep numbers. */

/* ---- the kinds ---- */

extern const mock_kind mock_pipe_kind;   /* mock_chan.c */
extern const mock_kind mock_stream_kind; /* mock_chan.c */
extern const mock_kind mock_socket_kind; /* mock_net.c: CIO_OP_SOCKET, and sockets not connected */
extern const mock_kind mock_fs_kind;     /* mock_fs.c: the *at ops, files and directories */
extern const mock_kind mock_call_kind;   /* mock.c: CIO_OP_CALL, the caller's function */

/* Free what mock_net.c and mock_fs.c hold (m->net, m->fs), once every
 * handle is closed (the loop's close). */
void mock_net_free(mock *m);
void mock_fs_free(mock *m);

/* ---- scripted results (mock_script.c) ---- */

/* At submit, while a script is set (m->script): 1 when the script gives
 * `op` its result (it then completes after the scripted latency, in
 * *latency_ns, and the world never sees it), 0 when the world runs it, or
 * a negative error for an op the script must answer and does not (strict
 * mode: the op completes with it; the script has reported the op). */
int mock_script_claim(mock *m, cio_op *op, uint64_t *latency_ns);

/* When a claimed op is due: its result (data a read was scripted to
 * return is then in its buffer). Each claimed op gets exactly one of
 * mock_script_result() and mock_script_drop() (cancel, deadline, close,
 * loop close). */
int32_t mock_script_result(mock *m, cio_op *op);
void mock_script_drop(mock *m, cio_op *op);

/* Frees the script (the loop's close). */
void mock_script_free(mock *m);

/* Makes a pipe (fds[0] its read end, fds[1] its write end) or a pair of
 * connected stream sockets. 0, -CIO_ENOMEM or -CIO_EMFILE. */
int mock_chan_make(mock *m, bool socket, cio_fd fds[2]);

/* The kind that runs `op`, which names no simulated handle (socket, or a
 * path relative to CIO_AT_FDCWD), else NULL. */
const mock_kind *mock_kind_of_op(const cio_op *op);

/* Frees what the kinds hold beyond their handles (the loop's close). */
void mock_world_free(mock *m);

#endif /* CIO_MOCK_SIM_H */
