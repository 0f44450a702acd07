/*
 * src/proc/process.c - the platform-independent half of cio/process.h:
 * argument checks and the two forms of the wait (a task's, and the
 * callback form with its op inside the cio_process), both as a loop of
 * "arm an op, await it, ask whether the child exited" (proc_internal.h).
 */
#include <string.h>

#include "cio/error.h"
#include "cio/loop.h"
#include "cio/op.h"
#include "cio/process.h"
#include "cio/task.h"
#include "proc_internal.h"

static int check_options(const cio_process_options *o) {
    if (!o || !o->argv || !o->argv[0] || o->flags != 0)
        return -CIO_EINVAL;
    if (o->env_mode != CIO_ENV_INHERIT && o->env_mode != CIO_ENV_REPLACE && o->env_mode != CIO_ENV_ADD)
        return -CIO_EINVAL;
    if (o->env_mode != CIO_ENV_INHERIT && !o->env)
        return -CIO_EINVAL;
    for (int i = 0; i < 3; i++) {
        switch (o->stdio[i].mode) {
        case CIO_STDIO_INHERIT:
        case CIO_STDIO_NULL:
        case CIO_STDIO_PIPE:
            break;
        case CIO_STDIO_HANDLE:
            if (o->stdio[i].handle == CIO_FD_INVALID)
                return -CIO_EINVAL;
            break;
        default:
            return -CIO_EINVAL;
        }
    }
    return 0;
}

int cio_process_spawn(cio_loop *loop, cio_process *p, const cio_process_options *opts) {
    if (!loop || !p)
        return -CIO_EINVAL;
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 3; i++)
        p->pipe[i] = CIO_FD_INVALID;
    int rc = check_options(opts);
    if (rc < 0)
        return rc;
    /* The mock's handles live in a simulated world that no real child can
     * share, and a simulated child would be no process: see process.h. */
    if (cio_loop_backend(loop) == CIO_BACKEND_MOCK)
        return -CIO_ENOTSUP;
    if (cio_loop_is_closing(loop))
        return -CIO_ECANCELED;
    rc = cio__proc_spawn(loop, p, opts);
    if (rc < 0) {
        for (int i = 0; i < 3; i++)
            p->pipe[i] = CIO_FD_INVALID;
        return rc;
    }
    p->internal_.loop = loop;
    p->internal_.state |= PROC_LIVE;
    return 0;
}

/* After an armed op completed with `res`: 1 to arm again, else the wait's
 * result (0 exited, negative error) in *out. */
static int after_op(cio_process *p, int32_t res, uint64_t deadline, uint64_t recheck_at, int *out) {
    int r = cio__proc_reap(p);
    if (r != 0) {
        *out = r < 0 ? r : 0;
        return 0;
    }
    if (res == -CIO_ETIMEDOUT || res >= 0) {
        uint64_t now = cio_now(p->internal_.loop);
        if (deadline && now >= deadline) {
            *out = -CIO_ETIMEDOUT;
            return 0;
        }
        /* An early completion the platform asked for (a re-check tick), or
         * readiness without an exit (spurious): look again. A -ETIMEDOUT
         * before the re-check time came from a deadline scope. */
        if (res >= 0 || (recheck_at && now >= recheck_at))
            return 1;
        *out = -CIO_ETIMEDOUT;
        return 0;
    }
    *out = res;
    return 0;
}

int cio_process_wait(cio_process *p, uint64_t deadline) {
    if (!p || !(p->internal_.state & PROC_LIVE))
        return -CIO_EINVAL;
    if (!cio_task_current() || cio_task_loop() != p->internal_.loop)
        return -CIO_EPERM;
    if (p->exited)
        return 0;
    if (p->internal_.state & (PROC_WAIT_CB | PROC_WAIT_TASK))
        return -CIO_EBUSY;
    int r = cio__proc_reap(p);
    if (r != 0)
        return r < 0 ? r : 0;
    p->internal_.state |= PROC_WAIT_TASK;
    int out = 0;
    for (;;) {
        cio_op op;
        uint64_t recheck_at = 0;
        r = cio__proc_arm(p, &op, deadline, &recheck_at);
        if (r < 0) {
            out = r;
            break;
        }
        int32_t res = cio_await(&op);
        cio__proc_disarm(p, &op);
        if (!after_op(p, res, deadline, recheck_at, &out))
            break;
    }
    p->internal_.state &= ~PROC_WAIT_TASK;
    return out;
}

static void finish_cb(cio_loop *loop, cio_process *p, int res) {
    p->internal_.state &= ~(PROC_WAIT_CB | PROC_CANCEL);
    cio_process_cb cb = p->internal_.cb;
    p->internal_.cb = NULL;
    cb(loop, p, res);
}

static int arm_cb(cio_process *p);

static void on_wait_op(cio_loop *loop, cio_op *op) {
    cio_process *p = op->data;
    int out;
    if (op->opcode == CIO_OP_NOP) { /* the exit (or -CIO_ECHILD) was known at the start */
        finish_cb(loop, p, p->exited ? 0 : op->res < 0 ? op->res : -CIO_ECHILD);
        return;
    }
    cio__proc_disarm(p, op);
    if (p->internal_.state & PROC_CANCEL) {
        int r = cio__proc_reap(p);
        finish_cb(loop, p, r > 0 ? 0 : r < 0 ? r : -CIO_ECANCELED);
        return;
    }
    /* No deadline scopes here: an early completion of a tagged op is the
     * platform's re-check (see arm_cb), whatever its time. */
    uint64_t recheck_at = op->tag ? cio_now(loop) : 0;
    if (after_op(p, op->res, p->internal_.deadline, recheck_at, &out)) {
        int r = arm_cb(p);
        if (r == 0)
            return;
        out = r;
    }
    finish_cb(loop, p, out);
}

/* The op lives in the cio_process; its tag says whether the platform asked
 * for an early re-check (the recheck time itself need not be kept). */
static int arm_cb(cio_process *p) {
    uint64_t recheck_at = 0;
    cio_op *op = &p->internal_.op;
    int r = cio__proc_arm(p, op, p->internal_.deadline, &recheck_at);
    if (r < 0)
        return r;
    op->data = p;
    op->cb = on_wait_op;
    op->tag = recheck_at ? 1 : 0;
    r = cio_submit(p->internal_.loop, op);
    if (r < 0)
        cio__proc_disarm(p, op);
    return r;
}

int cio_process_wait_start(cio_process *p, cio_process_cb cb, uint64_t deadline) {
    if (!p || !cb || !(p->internal_.state & PROC_LIVE))
        return -CIO_EINVAL;
    if (p->internal_.state & (PROC_WAIT_CB | PROC_WAIT_TASK))
        return -CIO_EBUSY;
    if (cio_loop_is_closing(p->internal_.loop))
        return -CIO_ECANCELED;
    p->internal_.cb = cb;
    p->internal_.deadline = deadline;
    p->internal_.state &= ~PROC_CANCEL;
    int r = p->exited ? 1 : cio__proc_reap(p);
    if (r != 0) {
        /* Known already (or an error): still report from the loop, never
         * from inside this call. */
        cio_op *op = &p->internal_.op;
        cio_prep_nop(op);
        op->data = p;
        op->cb = on_wait_op;
        op->res = r < 0 ? r : 0;
        r = cio_submit(p->internal_.loop, op);
        if (r < 0) {
            p->internal_.cb = NULL;
            return r;
        }
        p->internal_.state |= PROC_WAIT_CB;
        return 0;
    }
    r = arm_cb(p);
    if (r < 0) {
        p->internal_.cb = NULL;
        return r;
    }
    p->internal_.state |= PROC_WAIT_CB;
    return 0;
}

int cio_process_wait_cancel(cio_process *p) {
    if (!p || !(p->internal_.state & PROC_WAIT_CB) || (p->internal_.state & PROC_CANCEL))
        return -CIO_ENOENT;
    p->internal_.state |= PROC_CANCEL;
    /* Taken back or interrupted; if its completion is queued already
     * (-CIO_ENOENT), PROC_CANCEL keeps it from being armed again. */
    (void)cio_cancel(p->internal_.loop, &p->internal_.op);
    return 0;
}

int cio_process_kill(cio_process *p, int sig) {
    if (!p || !(p->internal_.state & PROC_LIVE) || sig < 0)
        return -CIO_EINVAL;
    if (p->exited)
        return -CIO_ESRCH;
    return cio__proc_kill(p, sig);
}

int cio_process_release(cio_process *p) {
    if (!p || !(p->internal_.state & PROC_LIVE))
        return -CIO_EINVAL;
    if (p->internal_.state & (PROC_WAIT_CB | PROC_WAIT_TASK))
        return -CIO_EBUSY;
    cio__proc_release(p);
    p->internal_.state = 0;
    return 0;
}
