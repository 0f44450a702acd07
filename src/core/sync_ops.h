/*
 * src/core/sync_ops.h - the ops as blocking system calls, one function per
 * opcode family, which each platform defines (sync_ops.c: POSIX;
 * sync_ops_win.c: Win32 and Winsock). sync_exec.c dispatches to them, so
 * that which opcode runs which call is said once for every platform.
 *
 * Each takes a prepared op, runs it on the calling thread (a pool thread,
 * or the loop's for the quick ones) and returns its result: a count, 0, a
 * handle (through cio__fd_result) or a negative CIO_E* code. An op run on
 * the pool may come back -CIO_EINTR when the pool interrupted it.
 */
#ifndef CIO_CORE_SYNC_OPS_H
#define CIO_CORE_SYNC_OPS_H

#include "internal.h"

int32_t cio__sys_rw(cio_op *op);  /* CIO_OP_READ, CIO_OP_WRITE */
int32_t cio__sys_rwv(cio_op *op); /* CIO_OP_READV, CIO_OP_WRITEV */
int32_t cio__sys_fsync(cio_op *op);
int32_t cio__sys_openat(cio_op *op);
int32_t cio__sys_close(cio_op *op);
int32_t cio__sys_statx(cio_op *op);
int32_t cio__sys_unlinkat(cio_op *op);
int32_t cio__sys_renameat(cio_op *op);
int32_t cio__sys_mkdirat(cio_op *op);
int32_t cio__sys_socket(cio_op *op);
int32_t cio__sys_bind(cio_op *op);
int32_t cio__sys_connect(cio_op *op);
int32_t cio__sys_listen(cio_op *op);
int32_t cio__sys_accept(cio_op *op);
int32_t cio__sys_sendrecv(cio_op *op); /* CIO_OP_RECV, CIO_OP_SEND */
int32_t cio__sys_msg(cio_op *op);      /* CIO_OP_RECVMSG, CIO_OP_SENDMSG */
int32_t cio__sys_shutdown(cio_op *op);
/* A readiness probe: POSIX never blocks (-CIO_EAGAIN when not ready);
 * Windows waits, interruptibly, as its pool runs the op. */
int32_t cio__sys_poll(cio_op *op);
int32_t cio__sys_splice(cio_op *op); /* Linux's alone: -CIO_ENOTSUP elsewhere */
int32_t cio__sys_ftruncate(cio_op *op);
int32_t cio__sys_fallocate(cio_op *op);
int32_t cio__sys_symlinkat(cio_op *op);
int32_t cio__sys_linkat(cio_op *op);
int32_t cio__sys_readdir(cio_op *op);
int32_t cio__sys_copy_range(cio_op *op);

#endif /* CIO_CORE_SYNC_OPS_H */
