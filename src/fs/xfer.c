/*
 * src/fs/xfer.c - read-all and write-all for callback users: one op at a
 * time, resubmitted from its own completion until the transfer is done,
 * then the caller's callback, once.
 */
#include "fs_internal.h"

#include <stddef.h>

static void xfer_finish(cio_loop *loop, cio_file_xfer *x, int64_t res) {
    x->res = res;
    x->internal_.fd = CIO_FD_INVALID;
    x->internal_.buf = NULL; /* not running any more: a cancel now is refused */
    if (x->cb) x->cb(loop, x);
}

/* Prepares and submits the op for the rest, or returns the submit error. */
static int xfer_issue(cio_loop *loop, cio_file_xfer *x);

static void xfer_done(cio_loop *loop, cio_op *op) {
    cio_file_xfer *x = (cio_file_xfer *)(void *)((char *)op - offsetof(cio_file_xfer, op));
    int32_t n = op->res;
    if (op->opcode == CIO_OP_NOP) { /* the zero-length transfer */
        xfer_finish(loop, x, n < 0 ? n : 0);
        return;
    }
    if (n > 0) x->done += (uint64_t)n;
    if (n < 0 && n != -CIO_EINTR) {
        xfer_finish(loop, x, n);
        return;
    }
    if (n == 0) { /* a read's end of file is a short count; a write's no progress an error */
        xfer_finish(loop, x, x->internal_.write ? -CIO_EIO : (int64_t)x->done);
        return;
    }
    if (x->done >= x->internal_.len) {
        xfer_finish(loop, x, (int64_t)x->done);
        return;
    }
    if (x->internal_.cancelled) { /* cancelled between two ops: stop here */
        xfer_finish(loop, x, -CIO_ECANCELED);
        return;
    }
    int r = xfer_issue(loop, x);
    if (r < 0) xfer_finish(loop, x, r);
}

static int xfer_issue(cio_loop *loop, cio_file_xfer *x) {
    uint64_t left = x->internal_.len - x->done;
    uint64_t off = fs_next_offset(x->internal_.offset, x->done);
    if (x->internal_.write)
        cio_prep_write(&x->op, x->internal_.fd, x->internal_.buf + x->done, fs_chunk(left), off);
    else
        cio_prep_read(&x->op, x->internal_.fd, x->internal_.buf + x->done, fs_chunk(left), off);
    x->op.cb = xfer_done;
    x->op.deadline = x->deadline;
    return cio_submit(loop, &x->op);
}

static int xfer_start(cio_loop *loop, cio_file_xfer *x, cio_fd fd, const void *buf, size_t len, uint64_t offset,
                      int write) {
    if (!loop || !x || (!buf && len)) return -CIO_EINVAL;
    x->res = 0;
    x->done = 0;
    x->internal_.fd = fd;
    /* A non-NULL buf marks the request as running, also for len 0. */
    x->internal_.buf = (unsigned char *)(uintptr_t)(buf ? buf : (const void *)x);
    x->internal_.len = len;
    x->internal_.offset = offset;
    x->internal_.write = (uint8_t)write;
    x->internal_.cancelled = 0;
    x->internal_.loop = loop;
    int r;
    if (len == 0) {
        cio_prep_nop(&x->op);
        x->op.cb = xfer_done;
        r = cio_submit(loop, &x->op);
    } else {
        r = xfer_issue(loop, x);
    }
    if (r < 0) {
        x->internal_.buf = NULL;
        x->internal_.fd = CIO_FD_INVALID;
    }
    return r;
}

int cio_file_read_all_start(cio_loop *loop, cio_file_xfer *x, cio_fd fd, void *buf, size_t len, uint64_t offset) {
    return xfer_start(loop, x, fd, buf, len, offset, 0);
}

int cio_file_write_all_start(cio_loop *loop, cio_file_xfer *x, cio_fd fd, const void *buf, size_t len,
                              uint64_t offset) {
    return xfer_start(loop, x, fd, buf, len, offset, 1);
}

int cio_file_xfer_cancel(cio_file_xfer *x) {
    if (!x) return -CIO_EINVAL;
    if (!x->internal_.buf) return -CIO_ENOENT;
    x->internal_.cancelled = 1;
    int r = cio_cancel(x->internal_.loop, &x->op);
    /* The op may have finished in this very turn, before its callback ran:
     * the flag stops the transfer there. */
    return r == -CIO_ENOENT || r == -CIO_EALREADY ? 0 : r;
}
