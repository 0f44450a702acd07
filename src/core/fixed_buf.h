/*
 * src/core/fixed_buf.h - registered buffers (cio/fixed.h), the core's part:
 * the table, the check every backend's ops get at submission, and the
 * count of ops in flight that name the table.
 */
#ifndef CIO_CORE_FIXED_BUF_H
#define CIO_CORE_FIXED_BUF_H

#include "internal.h"

/* cio/fixed.h's limits are io_uring's (IORING_MAX_REG_BUFFERS, 1 GiB a
 * buffer), applied on every backend so that a program behaves alike
 * everywhere. */
#define CIO_FIXED_BUFS_MAX CIO_BUFFERS_MAX
#define CIO_FIXED_BUF_MAX_LEN CIO_BUFFER_MAX_LEN

/* 0 when [buf, buf + len) lies inside the registered buffer `idx` of
 * `loop`, else -CIO_EFAULT (nothing registered, `idx` out of range, the
 * range outside it). */
int cio__fixed_buf_check(cio_loop *loop, const void *buf, uint32_t len, unsigned idx);

/* Whether `op` (an accelerated opcode, or the base it runs as) names a
 * registered buffer. */
bool cio__fixed_buf_uses(const cio_op *op);

/* The table: a copy of the caller's, and the hook that frees it when the
 * loop closes (cio_loop_at_close). */
typedef struct cio_fixed_table {
    cio_op hook;
    uint32_t n;
    cio_iovec bufs[];
} cio_fixed_table;

#ifdef CIO_HAVE_URING
/* The io_uring backend's part (uring.c): registers the table with the
 * kernel, and lets go of it. */
int cio__uring_buffers_register(cio_loop *loop, const cio_iovec *bufs, unsigned n);
void cio__uring_buffers_unregister(cio_loop *loop);
#endif

#endif /* CIO_CORE_FIXED_BUF_H */
