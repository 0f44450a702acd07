/*
 * src/fs/fs_internal.h - what the files of src/fs share (not public).
 */
#ifndef CIO_FS_INTERNAL_H
#define CIO_FS_INTERNAL_H

#include "cio/error.h"
#include "cio/fs.h"

/* Every handle cio opens for the caller or for itself is close-on-exec. */
#define FS_OPEN_FLAGS(f) ((f) | CIO_O_CLOEXEC)

/* The calls that block a task say so before doing anything: outside a
 * task they would fail at their first op anyway, but a compound call
 * (allocation, temporary names) should not even start. */
#define FS_NEED_TASK()                             \
    do {                                           \
        if (!cio_task_current()) return -CIO_EPERM; \
    } while (0)

/* Sends without SIGPIPE where the platform has the flag (the backends add
 * it too; saying it here keeps a plain send(2) fallback of any backend
 * honest). */
#if defined(MSG_NOSIGNAL)
#define FS_MSG_NOSIGNAL MSG_NOSIGNAL
#else
#define FS_MSG_NOSIGNAL 0
#endif

/* The chunk size of one op of the "all" loops, for a remaining length. */
static inline uint32_t fs_chunk(uint64_t left) {
    return left > CIO_FS_CHUNK_MAX ? CIO_FS_CHUNK_MAX : (uint32_t)left;
}

/* The offset of the next op of a loop that started at `offset` and moved
 * `done` bytes: the position stays the position. */
static inline uint64_t fs_next_offset(uint64_t offset, uint64_t done) {
    return offset == CIO_OFFSET_CURRENT ? CIO_OFFSET_CURRENT : offset + done;
}

#endif /* CIO_FS_INTERNAL_H */
