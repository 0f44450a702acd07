/*
 * src/core/fixed_buf.c - registered buffers (cio/fixed.h), the part that
 * is the same on every backend: the table, the check of an op's buffer at
 * submission, and the count of ops in flight that name it. The kernel's
 * registration is the io_uring backend's (uring.c); the other backends
 * run the ops as plain reads, writes and sends (op.c: adopt).
 */
#include "fixed_buf.h"

#include <stdlib.h>

#include "../backend/backend.h"

/* The loop closes (the table goes with it; on io_uring the ring's end
 * releases the kernel's copy), or cio_buffers_unregister() took the hook
 * back (-CIO_ECANCELED: the table is no longer the loop's). */
static void table_done(cio_loop *loop, cio_op *hook) {
    cio_core *c = cio__core(loop);
    cio_fixed_table *t = hook->data;
    if (c->fixed_bufs.t == t) c->fixed_bufs.t = NULL;
    free(t);
}

int cio_buffers_register(cio_loop *loop, const cio_iovec *bufs, unsigned n) {
    if (!loop) return -CIO_EINVAL;
    if (!cio__usable(loop)) return cio__refusal(loop);
    cio_core *c = cio__core(loop);
    if (c->fixed_bufs.t) return -CIO_EBUSY;
    if (!bufs || n == 0 || n > CIO_FIXED_BUFS_MAX) return -CIO_EINVAL;
    for (unsigned i = 0; i < n; i++) {
        uintptr_t base = (uintptr_t)bufs[i].iov_base;
        size_t len = (size_t)bufs[i].iov_len;
        if (!base || len == 0 || len > CIO_FIXED_BUF_MAX_LEN || base + len < base) return -CIO_EINVAL;
    }
    cio_fixed_table *t = malloc(sizeof *t + (size_t)n * sizeof *bufs);
    if (!t) return -CIO_ENOMEM;
    memcpy(t->bufs, bufs, (size_t)n * sizeof *bufs);
    t->n = n;
    cio_prep_nop(&t->hook);
    t->hook.cb = table_done;
    t->hook.data = t;
    int r = cio__loop_at_close_last(loop, &t->hook);
#ifdef CIO_HAVE_URING
    if (r == 0 && c->be->kind == CIO_BACKEND_URING) {
        r = cio__uring_buffers_register(loop, t->bufs, n);
        if (r < 0) {
            /* The hook, cancelled, completes from the ready queue: it must
             * not free the table under the caller's feet, and does not:
             * the table is not the loop's (c->fixed_bufs.t is NULL). */
            cio_cancel(loop, &t->hook);
            return r;
        }
    }
#endif
    if (r < 0) {
        free(t);
        return r;
    }
    c->fixed_bufs.t = t;
    return 0;
}

int cio_buffers_unregister(cio_loop *loop) {
    if (!loop) return -CIO_EINVAL;
    if (!cio__usable(loop)) return cio__refusal(loop);
    cio_core *c = cio__core(loop);
    cio_fixed_table *t = c->fixed_bufs.t;
    if (!t) return -CIO_ENXIO;
    if (c->fixed_bufs.users) return -CIO_EBUSY;
#ifdef CIO_HAVE_URING
    if (c->be->kind == CIO_BACKEND_URING) cio__uring_buffers_unregister(loop);
#endif
    c->fixed_bufs.t = NULL;
    cio_cancel(loop, &t->hook); /* its callback frees the table, later in this turn */
    return 0;
}

int cio__fixed_buf_check(cio_loop *loop, const void *buf, uint32_t len, unsigned idx) {
    const cio_fixed_table *t = cio__core(loop)->fixed_bufs.t;
    if (!t || idx >= t->n) return -CIO_EFAULT;
    uintptr_t b = (uintptr_t)t->bufs[idx].iov_base, e = b + (size_t)t->bufs[idx].iov_len, p = (uintptr_t)buf;
    return (p < b || p > e || len > e - p) ? -CIO_EFAULT : 0;
}

bool cio__fixed_buf_uses(const cio_op *op) {
    switch (op->opcode) {
    case CIO_OP_READ_FIXED:
    case CIO_OP_WRITE_FIXED:
        return true;
    case CIO_OP_SEND_ZC:
        return (op->args.sr.zc & CIO_ZC_FIXED) != 0;
    default:
        return false;
    }
}
