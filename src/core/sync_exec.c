/*
 * src/core/sync_exec.c - which blocking call runs each opcode, for every
 * platform: the fallback for opcodes a backend does not run itself (on
 * io_uring: those the running kernel lacks; on IOCP: the file system ops
 * and IO on handles that cannot join a port), and the "try it now" step of
 * the readiness backends. The calls themselves are the platform's
 * (sync_ops.h).
 */
#include "sync_ops.h"

typedef int32_t sync_fn(cio_op *op);

static int32_t sys_nop(cio_op *op) {
    (void)op;
    return 0;
}

/* The caller's own function (cio_prep_call): the pool never interrupts it
 * (pool.c), and its result is the op's as it is, -CIO_EINTR included. */
static int32_t sys_call(cio_op *op) { return op->args.call.fn(op->args.call.arg); }

/* Opcodes the core runs itself (timers, cancels, posts) have no row: a
 * backend that hands one here has a bug, which -CIO_EINVAL reports. */
static sync_fn *const sync_fns[CIO_OP_COUNT_] = {
    [CIO_OP_NOP] = sys_nop,
    [CIO_OP_READ] = cio__sys_rw,
    [CIO_OP_WRITE] = cio__sys_rw,
    [CIO_OP_READV] = cio__sys_rwv,
    [CIO_OP_WRITEV] = cio__sys_rwv,
    [CIO_OP_FSYNC] = cio__sys_fsync,
    [CIO_OP_OPENAT] = cio__sys_openat,
    [CIO_OP_CLOSE] = cio__sys_close,
    [CIO_OP_STATX] = cio__sys_statx,
    [CIO_OP_UNLINKAT] = cio__sys_unlinkat,
    [CIO_OP_RENAMEAT] = cio__sys_renameat,
    [CIO_OP_MKDIRAT] = cio__sys_mkdirat,
    [CIO_OP_SOCKET] = cio__sys_socket,
    [CIO_OP_BIND] = cio__sys_bind,
    [CIO_OP_CONNECT] = cio__sys_connect,
    [CIO_OP_LISTEN] = cio__sys_listen,
    [CIO_OP_ACCEPT] = cio__sys_accept,
    [CIO_OP_RECV] = cio__sys_sendrecv,
    [CIO_OP_SEND] = cio__sys_sendrecv,
    [CIO_OP_RECVMSG] = cio__sys_msg,
    [CIO_OP_SENDMSG] = cio__sys_msg,
    [CIO_OP_SHUTDOWN] = cio__sys_shutdown,
    [CIO_OP_POLL] = cio__sys_poll,
    [CIO_OP_SPLICE] = cio__sys_splice,
    [CIO_OP_CALL] = sys_call,
    [CIO_OP_FTRUNCATE] = cio__sys_ftruncate,
    [CIO_OP_FALLOCATE] = cio__sys_fallocate,
    [CIO_OP_SYMLINKAT] = cio__sys_symlinkat,
    [CIO_OP_LINKAT] = cio__sys_linkat,
    [CIO_OP_READDIR] = cio__sys_readdir,
    [CIO_OP_COPY_RANGE] = cio__sys_copy_range,
};

int32_t cio__sync_exec(cio_op *op) {
    sync_fn *fn = op->opcode < CIO_OP_COUNT_ ? sync_fns[op->opcode] : NULL;
    return fn ? fn(op) : -CIO_EINVAL;
}
