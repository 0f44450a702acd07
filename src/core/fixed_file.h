/*
 * src/core/fixed_file.h - fixed files (cio/fixed.h), the core's part: the
 * record of a loop's fixed handles, the check every backend's ops get at
 * submission, and the bookkeeping of the ops that make or close one.
 *
 * Two modes, chosen once by cio_files_reserve():
 *   - kernel (io_uring with a registered table): a fixed handle is a slot
 *     number. cio picks the slots (a stack of free ones) and the backend
 *     fills them: cio_file_fix() through a files update, an accept or
 *     socket through the SQE's file_index, an openat by a files update
 *     once its descriptor exists. Each slot is free, pending (an op will
 *     fill it), live, or closing (a close of it was started).
 *   - handles (every other case): a fixed handle is the plain handle; cio
 *     keeps a set of them (open addressing on the handle's value, as mock
 *     handles are large and Windows handles pointers) to answer "is this
 *     one fixed" on every submission, and to close what is left when the
 *     loop closes.
 * Loop thread only.
 */
#ifndef CIO_CORE_FIXED_FILE_H
#define CIO_CORE_FIXED_FILE_H

#include "internal.h"

enum { FX_FREE = 0, FX_LIVE, FX_CLOSING, FX_PENDING };

typedef struct cio_files {
    cio_op hook;      /* cio_loop_at_close(): closes what is left, frees this */
    uint32_t count;   /* slots reserved */
    uint32_t used;    /* entries not free */
    bool kernel;      /* the kernel holds the table: handles are slot numbers */
    /* kernel mode */
    uint8_t *slot;    /* per slot: FX_* */
    uint32_t *free_slots; /* stack of free slots, lowest on top */
    uint32_t nfree;
    /* handle mode: a set of handles, mask + 1 entries */
    cio_fd *keys;
    uint8_t *state;   /* per entry: FX_FREE (empty), FX_LIVE, FX_CLOSING */
    uint32_t mask;
} cio_files;

/* The check of cio_submit() for an op with CIO_F_FIXED_FILE: 0, or
 * -CIO_EINVAL (the opcode takes no fixed handle; one that makes a fixed
 * handle on a loop without a table), -CIO_EBADF (its handle is not a live
 * fixed handle of the loop). */
int cio__files_check(cio_loop *loop, const cio_op *op);

/* A close with CIO_F_FIXED_FILE starts: its handle stops being fixed for
 * new ops. 1 when the handle is a slot of the kernel's table (no pool op
 * can name it), 0 when it is a plain handle, -CIO_EBADF when it is no live
 * fixed handle any more (an earlier close of it, in the same chain). */
int cio__files_closing(cio_loop *loop, cio_op *op);

/* A result of an op with CIO_F_FIXED_FILE (a final or a multishot one):
 * records a new handle (handle mode; -CIO_ENFILE, the handle closed, when
 * the table is full) and frees the slot of a close. Returns the result
 * the callback sees. */
int32_t cio__files_done(cio_loop *loop, cio_op *op, int32_t res);

/* Kernel mode, for the backend: takes a free slot for an op that will
 * fill it (pending; -CIO_ENFILE when none), and settles it once the op is
 * done: live when filled, else free again. */
int cio__files_slot_take(cio_loop *loop);
void cio__files_slot_settle(cio_loop *loop, uint32_t slot, bool filled);

#ifdef CIO_HAVE_URING
/* uring.c: registers a sparse table of `count` slots: 1 done, 0 when this
 * kernel cannot (cio then keeps plain handles), or a negative error.
 * Installs the descriptor `fd` in `slot` (0 or the kernel's error; `fd`
 * stays open either way). */
int cio__uring_files_register(cio_loop *loop, uint32_t count);
int cio__uring_file_install(cio_loop *loop, uint32_t slot, int fd);
#endif

#endif /* CIO_CORE_FIXED_FILE_H */
