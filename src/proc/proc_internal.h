/*
 * src/proc/proc_internal.h - what the common process code (process.c)
 * asks of the platform half (process_posix.c, process_win.c).
 *
 * A wait is a loop of one op at a time: the platform prepares an op that
 * completes when the child may have exited (a poll on the pidfd, a poll on
 * the SIGCHLD pipe with a periodic re-check, a timer cancelled by the
 * Windows wait callback), the common code submits it (from a task or with
 * its own callback), then asks the platform whether the child has exited.
 * The platform never decides what a result means for the caller.
 */
#ifndef CIO_PROC_INTERNAL_H
#define CIO_PROC_INTERNAL_H

#include "cio/loop.h"
#include "cio/process.h"

/* cio_process.internal_.state bits. */
#define PROC_LIVE 0x1u      /* spawned and not released */
#define PROC_WAIT_CB 0x2u   /* a cio_process_wait_start() wait is in flight */
#define PROC_WAIT_TASK 0x4u /* a task waits in cio_process_wait() */
#define PROC_CANCEL 0x8u    /* cio_process_wait_cancel() asked */
#define PROC_PLAT_A 0x100u  /* for the platform half */
#define PROC_PLAT_B 0x200u

/* Spawn: fill p (pid, pipe[], internal_ except loop/state, which the caller
 * sets). 0 or a negative CIO_E* code, with nothing left open. */
int cio__proc_spawn(cio_loop *loop, cio_process *p, const cio_process_options *opts);

/* Prepare `op` to complete when the child may have exited, with
 * op->deadline = `deadline` (0 none) or earlier; `*recheck_at` is set to the
 * time of an early completion the platform asked for itself (0 none): a
 * -CIO_ETIMEDOUT or a result >= 0 at or after it means "look again". */
int cio__proc_arm(cio_process *p, cio_op *op, uint64_t deadline, uint64_t *recheck_at);

/* The op prepared by cio__proc_arm() has completed (whatever its result). */
void cio__proc_disarm(cio_process *p, cio_op *op);

/* Has the child exited? 1: yes, p->exited/exit_code/term_signal are set;
 * 0: still runs; negative: error (-CIO_ECHILD). Never blocks. */
int cio__proc_reap(cio_process *p);

int cio__proc_kill(cio_process *p, int sig);
void cio__proc_release(cio_process *p);

#endif /* CIO_PROC_INTERNAL_H */
