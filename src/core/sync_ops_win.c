/*
 * src/core/sync_ops_win.c - every op as a plain blocking Win32/Winsock
 * call, the Windows counterpart of sync_ops.c (the pool's and the core's
 * inline fallback). SURVEY STUB: only nop; the IOCP issue fills in the
 * rest (CreateFileW after UTF-8 -> UTF-16, ReadFile/WriteFile with the
 * offset in an OVERLAPPED, GetFileInformationByHandleEx for statx, ...),
 * with results through cio__win_error() / cio__wsa_error().
 */
#include "internal.h"

int32_t cio__sync_exec(cio_op *op) {
    switch (op->opcode) {
    case CIO_OP_NOP:
        return 0;
    default:
        return -CIO_ENOTSUP;
    }
}
