/*
 * src/core/opdef.h - what is common about each opcode, in one table.
 *
 * In the spirit of the kernel's io_uring/opdef.c: every fact about an
 * opcode that more than one part of cio needs (its name, the handles it
 * names, which way it waits on a readiness backend, who runs it when a
 * backend does not, how a short result ends a soft link, how its arguments
 * are checked) is one row of cio__opdefs[], so that a new backend adds one
 * function per opcode it runs rather than an edit in every switch.
 *
 * Offsets into op->args are stored as 1 + the offset, so that 0 means "it
 * has none".
 */
#ifndef CIO_CORE_OPDEF_H
#define CIO_CORE_OPDEF_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cio/loop.h"

/* Which way an op waits for its handle on a readiness backend. */
enum {
    OPD_DIR_NONE = 0, /* no readiness: files, metadata, sockets' setup calls */
    OPD_DIR_IN,       /* read, recv, accept */
    OPD_DIR_OUT,      /* write, send, connect */
    OPD_DIR_POLL      /* poll: waits for what it asks */
};

/* Where an op runs when the backend declines it (its submit says
 * -CIO_ENOTSUP): the core's own ops never reach a backend. */
enum {
    OPD_RUN_POOL = 0, /* it may block: the blocking pool */
    OPD_RUN_INLINE,   /* a quick system call on the loop's thread */
    OPD_RUN_POST,     /* through the target loop's post queue */
    OPD_RUN_CORE      /* timers and cancels: the core alone runs them */
};

/* When a soft link (CIO_F_LINK) goes on after a non-negative result. */
enum {
    OPD_LINK_ANY = 0, /* always */
    OPD_LINK_LEN,     /* only if all `len` bytes moved */
    OPD_LINK_IOV,     /* only if every iovec was filled */
    OPD_LINK_WAITALL  /* with MSG_WAITALL, only if all `len` bytes moved */
};

/* What CIO_F_FIXED_FILE (cio/fixed.h) means for an opcode: on io_uring
 * each is what the kernel takes for a slot of the registered table
 * (IOSQE_FIXED_FILE, file_index, a close by slot). Only opcodes the
 * kernel always runs itself: an op on a slot cannot go to a plain system
 * call. */
enum {
    OPD_FIX_USE = 1,  /* its `file` handle is a fixed handle */
    OPD_FIX_NEW = 2,  /* the handle it makes is a fixed handle */
    OPD_FIX_CLOSE = 4 /* a close: it releases a fixed handle (args.close.fd) */
};

typedef struct cio_opdef {
    const char *name;   /* cio_op_name() */
    uint8_t file;       /* the handle it does its IO on (a splice's fd_out) */
    uint8_t also[2];    /* the other handles it names (a splice's fd_in, the *at dirs) */
    bool also_dirs;     /* `also` are directories: CIO_AT_FDCWD is allowed there */
    uint8_t dir;        /* OPD_DIR_* */
    uint8_t run;        /* OPD_RUN_* */
    uint8_t link;       /* OPD_LINK_* */
    uint8_t len;        /* its uint32_t byte count */
    uint8_t buf;        /* its buffer, which may be NULL only when `len` is 0 */
    uint8_t msg_flags;  /* its int MSG_* flags */
    uint8_t offset;     /* its uint64_t file offset (CIO_OFFSET_CURRENT: the position) */
    bool multishot;     /* CIO_F_MULTISHOT is allowed */
    uint8_t fixed;      /* OPD_FIX_*: what CIO_F_FIXED_FILE means for it; 0: refused */
    uint8_t base;       /* an accelerated opcode (zero copy, registered buffers): the plain
                           opcode with the same arguments and result that it runs as
                           where the backend does not accelerate it (cio_core.accel) */
    /* Checks its arguments beyond the handles (which the core checks from
     * `file` and `also`): 0 or the error cio_submit() returns. */
    int (*check)(cio_loop *loop, const cio_op *op);
} cio_opdef;

extern const cio_opdef cio__opdefs[CIO_OP_COUNT_];

static inline const cio_opdef *cio__opdef(const cio_op *op) { return &cio__opdefs[op->opcode]; }

/* The argument of type `type` at stored offset `at` (nonzero): the member
 * of op->args there, which has that type. */
#define CIO_ARG(type, op, at) (*(const type *)(const void *)((const char *)&(op)->args + (at) - 1))

static inline cio_fd cio__handle_at(const cio_op *op, unsigned at) { return CIO_ARG(cio_fd, op, at); }

/* The handle `op` does its IO on, or CIO_FD_INVALID when none. */
static inline cio_fd cio__op_file(const cio_op *op) {
    unsigned at = cio__opdef(op)->file;
    return at ? cio__handle_at(op, at) : (cio_fd)CIO_FD_INVALID;
}

/* Whether `op` names `fd` in any of its handles (a close names none: every
 * user treats it apart). */
static inline bool cio__op_uses(const cio_op *op, cio_fd fd) {
    const cio_opdef *d = cio__opdef(op);
    return (d->file && cio__handle_at(op, d->file) == fd) || (d->also[0] && cio__handle_at(op, d->also[0]) == fd) ||
           (d->also[1] && cio__handle_at(op, d->also[1]) == fd);
}

/* The op's MSG_* flags (0 for an opcode without them). */
static inline int cio__op_msg_flags(const cio_op *op) {
    unsigned at = cio__opdef(op)->msg_flags;
    return at ? CIO_ARG(int, op, at) : 0;
}

/* Whether the op has a file offset other than CIO_OFFSET_CURRENT. */
static inline bool cio__op_offset_given(const cio_op *op) {
    unsigned at = cio__opdef(op)->offset;
    return at && CIO_ARG(uint64_t, op, at) != CIO_OFFSET_CURRENT;
}

/* Whether `fd` cannot be a handle (CIO_AT_FDCWD aside). On Windows the
 * negative values are pseudo-handles (the current process, thread, token:
 * -1 is also INVALID_HANDLE_VALUE), never something to read or close. */
static inline bool cio__bad_fd(cio_fd fd) {
#if defined(_WIN32)
    return (intptr_t)fd < 0;
#else
    return fd < 0;
#endif
}

/* Checks the arguments of `op` (a valid opcode) beyond its handle and
 * buffer: the others it names, and the opcode's own check. */
int cio__op_check_rest(cio_loop *loop, const cio_op *op);

/* Checks the arguments of `op` (a valid opcode): 0 or the error
 * cio_submit() returns. Inline, since it is on every submission: the
 * handle and buffer of a read, write, send or recv come from the table
 * without a call. */
static inline int cio__op_check(cio_loop *loop, const cio_op *op) {
    const cio_opdef *d = cio__opdef(op);
    if (d->file && cio__bad_fd(cio__handle_at(op, d->file))) return -CIO_EBADF;
    if (d->buf && !CIO_ARG(void *, op, d->buf) && CIO_ARG(uint32_t, op, d->len)) return -CIO_EINVAL;
    if (!d->also[0] && !d->check) return 0;
    return cio__op_check_rest(loop, op);
}

/* Whether `op` finishing with `res` lets a soft link go on: io_uring's
 * rule, applied on every backend (an error, or a short transfer, breaks
 * the chain). */
bool cio__link_continues(const cio_op *op, int32_t res);

#endif /* CIO_CORE_OPDEF_H */
