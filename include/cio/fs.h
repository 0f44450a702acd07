/*
 * cio/fs.h - files and directories (L3): open, positional and sequential
 * IO, read-all and write-all, sync, status, truncate and allocate, the
 * name-space calls (rename, unlink, mkdir, rmdir, symlink, link), directory
 * listing, whole-file reading, atomic whole-file writing, file copy, and
 * sending a file over a socket.
 *
 *     static intptr_t show(void *arg) {
 *         char buf[4096];
 *         int64_t n = cio_fs_read_file((const char *)arg, buf, sizeof buf);
 *         if (n < 0) return n;                 // -CIO_ENOENT, -CIO_ERANGE, ...
 *         return cio_fs_write_file_atomic("copy.txt", buf, (size_t)n, 0644);
 *     }
 *
 * Everything here is plain C over cio's public ops (cio/op.h) and tasks
 * (cio/task.h), so it runs unchanged on every backend: io_uring, epoll,
 * poll, IOCP, and the mock, whose in-memory file system it then uses.
 *
 * Conventions for the whole header:
 *
 * - Task style. Every call except the cio_file_xfer ones (callback style,
 *   below), cio_stdio_handle() and cio_fs_free() blocks the calling task
 *   and must be called
 *   from a task (cio/task.h): outside one it returns -CIO_EPERM and does
 *   nothing. Loop thread of that task only. Once the task is cancelled
 *   they fail with -CIO_ECANCELED (the compound calls stop at their next
 *   op, and clean up what they made: see each one).
 * - Errors are negative CIO_E* codes (cio/error.h): those of the op behind
 *   the call (cio/op.h documents them per platform), and the ones named
 *   here. -CIO_EINVAL for a NULL path, buffer or out-pointer where one is
 *   needed.
 * - Time: no call takes a deadline argument. A file op on a local disk
 *   does not wait long; where it can (network file systems, a socket in
 *   cio_file_send), bound it with a deadline scope around the call
 *   (cio_deadline_push / cio_deadline_pop): every op inside then fails with
 *   -CIO_ETIMEDOUT past it, and the compound calls clean up as on any error.
 * - Handles come from cio_file_open() (or any cio_fd the caller owns) and
 *   are closed with cio_file_close() (or cio_close()). Every handle these
 *   calls open is close-on-exec (CIO_O_CLOEXEC is always added) and is
 *   closed again before the call returns, unless it is handed to the caller.
 * - Paths are relative to the current directory (CIO_AT_FDCWD); the *at
 *   forms live in cio/task.h (cio_openat, cio_renameat, ...). Windows:
 *   UTF-8, '/' or '\\' (see cio_prep_openat).
 * - Sizes: one op moves at most INT32_MAX bytes (its result is an int32_t);
 *   the "all" calls take size_t / uint64_t lengths and loop, issuing ops of
 *   at most CIO_FS_CHUNK_MAX bytes.
 * - Memory: the caller's buffers are only used during the call. Only
 *   cio_fs_read_file_alloc() hands back memory (free it with cio_fs_free()).
 *   cio_file_send() keeps a 16 KiB buffer on the calling task's stack.
 */
#ifndef CIO_FS_H
#define CIO_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "op.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most bytes one op of the "all" calls asks for (1 GiB): below
 * INT32_MAX, and a multiple of every page size. */
#define CIO_FS_CHUNK_MAX (1u << 30)

/* ---- opening and closing -------------------------------------------------- */

/*
 * cio_file_open - opens `path` with `flags` (CIO_O_RDONLY, CIO_O_WRONLY,
 * CIO_O_RDWR, and CIO_O_CREAT, CIO_O_EXCL, CIO_O_TRUNC, CIO_O_APPEND,
 * CIO_O_DIRECTORY, CIO_O_NOFOLLOW, CIO_O_SYNC, CIO_O_DSYNC, CIO_O_NONBLOCK
 * as cio_prep_openat documents them) and `mode` (the permission bits of a
 * file it creates, less the umask; on Windows only "read-only or not").
 * CIO_O_CLOEXEC is always added. Returns the new handle (cast it to cio_fd)
 * when >= 0, or -CIO_ENOENT, -CIO_EEXIST, -CIO_EACCES, -CIO_EISDIR,
 * -CIO_ENOTDIR, -CIO_EMFILE, ... The handle is the caller's: close it
 * with cio_file_close(). cio_file_openat() is the same relative to an
 * open directory `dirfd` (or CIO_AT_FDCWD).
 */
CIO_API intptr_t cio_file_open(const char *path, int flags, uint32_t mode);
CIO_API intptr_t cio_file_openat(cio_fd dirfd, const char *path, int flags, uint32_t mode);

/*
 * cio_file_close - closes `fd` (cio_close: the ops of this loop waiting on
 * it complete first). 0 or -CIO_EBADF. It still closes in a cancelled task
 * (as cio_close does), so that clean-up works on the way out.
 */
CIO_API int32_t cio_file_close(cio_fd fd);

/*
 * cio_stdio_handle - the process's standard input (0), output (1) or error
 * (2) as a cio_fd: the descriptor itself on POSIX, GetStdHandle() on
 * Windows (a console or anonymous pipe there cannot do overlapped IO, so
 * cio runs its reads and writes on the blocking pool). CIO_FD_INVALID for
 * another `n`, or when the process has no such handle (Windows). The
 * handle stays the process's: do not close it unless you mean to. On the
 * mock backend these are real handles, which its ops refuse (-CIO_EBADF).
 * Any thread; no task needed.
 */
CIO_API cio_fd cio_stdio_handle(int n);

/* ---- reading and writing: one op each --------------------------------------- */

/*
 * cio_file_read_at / cio_file_write_at - one read (write) of up to `len`
 * bytes at `offset`, which leaves the file position alone. Returns the
 * byte count, which may be short (0: end of file for a read), or an error.
 * On a pipe, socket or tty the offset is ignored.
 *
 * cio_file_read / cio_file_write - the same at the file position
 * (CIO_OFFSET_CURRENT), which moves by the count. Do not run two of these
 * on one handle at the same time from different tasks unless you want
 * their ranges in either order.
 */
CIO_API int32_t cio_file_read_at(cio_fd fd, void *buf, uint32_t len, uint64_t offset);
CIO_API int32_t cio_file_write_at(cio_fd fd, const void *buf, uint32_t len, uint64_t offset);
CIO_API int32_t cio_file_read(cio_fd fd, void *buf, uint32_t len);
CIO_API int32_t cio_file_write(cio_fd fd, const void *buf, uint32_t len);

/*
 * cio_file_read_all - reads `len` bytes into `buf` at `offset`
 * (CIO_OFFSET_CURRENT: at the file position, which moves), looping over
 * short reads. Returns the count read: `len`, or less only when the file
 * (the pipe, the stream) ended first, i.e. a read returned 0; a short
 * count is never an error by itself. A read that fails with -CIO_EINTR is
 * retried. Any other error ends it and is returned; `*done` (may be NULL)
 * is then the count that did land in `buf` (from its start), and on
 * success the same as the return value. `len` may be 0 (returns 0 at once,
 * no op).
 *
 * cio_file_write_all - writes all `len` bytes of `buf` at `offset` (or the
 * position), looping over short writes. Returns `len`, or an error, with
 * `*done` the count already written (from the start of `buf`; those bytes
 * are in the file). A write that moves nothing (completes with 0) fails
 * with -CIO_EIO rather than loop for ever; -CIO_ENOSPC as the OS says.
 * On a handle opened with CIO_O_APPEND every write lands at the end.
 *
 * Both work on any handle with read and write ops (a pipe, a socket), as
 * one task's sequence of ops; see cio_file_xfer below for a callback form.
 */
CIO_API int64_t cio_file_read_all(cio_fd fd, void *buf, size_t len, uint64_t offset, size_t *done);
CIO_API int64_t cio_file_write_all(cio_fd fd, const void *buf, size_t len, uint64_t offset,
                                   size_t *done);

/* ---- read-all / write-all for callback users ---------------------------------- */

typedef struct cio_file_xfer cio_file_xfer;

/* Called once when the transfer has ended; `x->res` holds its result. */
typedef void (*cio_file_xfer_cb)(cio_loop *loop, cio_file_xfer *x);

/*
 * A read-all or write-all as a caller-owned request, for code without
 * tasks. Fill `cb` and `data` (and `deadline`), then start it with
 * cio_file_read_all_start() or cio_file_write_all_start(). It submits one
 * op at a time and resubmits for the rest after a short transfer, with the
 * same rules as cio_file_read_all / cio_file_write_all, and calls `cb`
 * exactly once at the end (from cio_loop_run or cio_loop_close, on the
 * loop's thread; never from inside the submit call), with:
 *   res   the count moved (len; less only at end of file for a read), or
 *         the error that ended it (-CIO_ECANCELED after
 *         cio_file_xfer_cancel() or a loop close, -CIO_ETIMEDOUT past
 *         `deadline`);
 *   done  the bytes moved, also when it failed.
 * The request, `buf` and the handle belong to cio from the submit until
 * `cb` starts (the buffer rule of cio/op.h); inside `cb` the request may be
 * submitted anew.
 */
struct cio_file_xfer {
    cio_op op;             /* the op in flight; the runtime's while the transfer runs */
    cio_file_xfer_cb cb;   /* called once at the end; may be NULL */
    void *data;            /* the caller's; cio never reads it */
    uint64_t deadline;     /* absolute cio_now() time for the whole transfer; 0: none */
    int64_t res;           /* the result, valid in `cb` */
    uint64_t done;         /* bytes moved, valid in `cb` */
    struct {
        cio_fd fd;
        unsigned char *buf;
        uint64_t len;
        uint64_t offset;
        cio_loop *loop;
        uint8_t write;
        uint8_t cancelled;
    } internal_; /* cio's; never read or write it */
};

/*
 * cio_file_read_all_start / cio_file_write_all_start - start the
 * transfer of `len` bytes between `buf` and `fd` at `offset`
 * (CIO_OFFSET_CURRENT: the position). Returns 0 (then `cb` runs exactly
 * once), or a negative error of cio_submit() or -CIO_EINVAL (NULL loop or
 * request, NULL buffer with `len`) and then `cb` never runs. `len` 0
 * completes through the loop with 0 too (one nop). Loop thread; no task
 * needed.
 */
CIO_API int cio_file_read_all_start(cio_loop *loop, cio_file_xfer *x, cio_fd fd, void *buf, size_t len,
                                     uint64_t offset);
CIO_API int cio_file_write_all_start(cio_loop *loop, cio_file_xfer *x, cio_fd fd, const void *buf,
                                      size_t len, uint64_t offset);

/*
 * cio_file_xfer_cancel - ends a running transfer: the op in flight is
 * cancelled and no further op is submitted; `cb` then runs with
 * -CIO_ECANCELED (or with the transfer's own result, if its last op had
 * already finished everything). Returns 0, -CIO_EINVAL (NULL) or
 * -CIO_ENOENT (the request is not running: never started, or its `cb`
 * has started), as cio_resolve_cancel() and the other request cancels.
 * Loop thread.
 */
CIO_API int cio_file_xfer_cancel(cio_file_xfer *x);

/* ---- sync, status, size ---------------------------------------------------- */

/*
 * cio_file_sync - flushes the file's data and metadata to storage (fsync);
 * cio_file_datasync - its data, and the metadata needed to read it back
 * (fdatasync; Windows has no such thing and flushes all). 0 or an error
 * (-CIO_EINVAL for a pipe or socket, -CIO_EIO).
 */
CIO_API int32_t cio_file_sync(cio_fd fd);
CIO_API int32_t cio_file_datasync(cio_fd fd);

/*
 * cio_file_stat - the status of the open file `fd` into `*st` (statx with
 * CIO_AT_EMPTY_PATH: CIO_STATX_BASIC_STATS asked; `st->mask` says what the
 * platform filled, see cio_prep_statx). cio_fs_stat - of `path`, following
 * a final symbolic link; cio_fs_lstat - of the link itself. 0 or an error.
 *
 * cio_file_size - the size of the open file `fd` in bytes, or an error.
 */
CIO_API int32_t cio_file_stat(cio_fd fd, cio_statx *st);
CIO_API int32_t cio_fs_stat(const char *path, cio_statx *st);
CIO_API int32_t cio_fs_lstat(const char *path, cio_statx *st);
CIO_API int64_t cio_file_size(cio_fd fd);

/*
 * cio_file_truncate - sets the size of `fd` (opened for writing) to `len`:
 * cut, or extended with zeros (a hole where the file system has them).
 * cio_file_allocate - reserves disk space for [offset, offset + len)
 * (fallocate; `mode` 0: the size grows to cover the range;
 * CIO_FALLOCATE_KEEP_SIZE: it stays; see cio_prep_fallocate), so that later writes there
 * cannot fail with -CIO_ENOSPC. 0 or an error: -CIO_EINVAL (a handle not
 * open for writing, a length beyond the limit), -CIO_ENOTSUP where the
 * platform or file system cannot (see the op), -CIO_ENOSPC.
 */
CIO_API int32_t cio_file_truncate(cio_fd fd, uint64_t len);
CIO_API int32_t cio_file_allocate(cio_fd fd, int mode, uint64_t offset, uint64_t len);

/* ---- names ------------------------------------------------------------------- */

/*
 * cio_fs_rename - renames `oldpath` to `newpath`, replacing a file there
 * atomically (POSIX rename(2); Windows MoveFileEx with
 * MOVEFILE_REPLACE_EXISTING, see cio_prep_renameat for what differs).
 * cio_fs_unlink - removes a file (-CIO_EISDIR for a directory).
 * cio_fs_mkdir - creates a directory with `mode` (less the umask; ignored
 * on Windows). cio_fs_rmdir - removes an empty directory (-CIO_ENOTEMPTY,
 * -CIO_ENOTDIR).
 * cio_fs_symlink - creates the symbolic link `linkpath` pointing at
 * `target` (stored as given, not resolved). Windows needs a privilege or
 * Developer Mode for it (-CIO_EPERM otherwise; Wine 8 cannot make one:
 * -CIO_ENOTSUP).
 * cio_fs_link - creates the hard link `newpath` to the file `oldpath` (a
 * final symbolic link in `oldpath` is not followed, as link(2) on Linux).
 * -CIO_EXDEV across file systems, -CIO_EPERM for a directory.
 * Each returns 0 or an error.
 */
CIO_API int32_t cio_fs_rename(const char *oldpath, const char *newpath);
CIO_API int32_t cio_fs_unlink(const char *path);
CIO_API int32_t cio_fs_mkdir(const char *path, uint32_t mode);
CIO_API int32_t cio_fs_rmdir(const char *path);
CIO_API int32_t cio_fs_symlink(const char *target, const char *linkpath);
CIO_API int32_t cio_fs_link(const char *oldpath, const char *newpath);

/* ---- directories ------------------------------------------------------------- */

/*
 * A directory being listed: the open handle, and the caller's buffer the
 * entries are read into (CIO_OP_READDIR, packed cio_dirent records). The
 * caller places it where it likes; its fields are cio's.
 */
typedef struct cio_dir {
    cio_fd fd;
    unsigned char *buf; /* the caller's, for the life of the listing */
    uint32_t cap;
    uint32_t len; /* bytes of entries in buf */
    uint32_t pos; /* the next entry's offset in buf */
    bool eof;
} cio_dir;

/* The smallest buffer cio_dir_open() takes: room for the longest entry on
 * every platform (a name of 255 bytes on POSIX; Windows asks 1 KiB, as a
 * UTF-8 name converted from 255 UTF-16 units may take up to 765 bytes).
 * 4 KiB to 64 KiB is a good size: one op reads as many entries as fit. */
#define CIO_DIR_BUF_MIN 1024u

/*
 * cio_dir_open - opens the directory `path` (read-only, CIO_O_DIRECTORY,
 * close-on-exec) for listing into `buf` (`cap` bytes, at least
 * CIO_DIR_BUF_MIN, 8-byte aligned, the caller's until cio_dir_close).
 * 0 or an error: -CIO_ENOENT, -CIO_ENOTDIR, -CIO_EACCES, -CIO_EINVAL (a
 * buffer too small or misaligned), ...; on error nothing is left open.
 *
 * cio_dir_next - the next entry into `*ent` (pointing into the buffer,
 * valid until the next cio_dir_next or cio_dir_close): returns 1 with an
 * entry, 0 at the end (and again after it), or an error. "." and ".." are
 * never returned. Entries come in the file system's order (no sorting).
 * The type is CIO_DT_UNKNOWN where the file system does not say (then
 * cio_fs_lstat the name). Entries added or removed during the listing may
 * or may not show up, as readdir(3) says.
 *
 * cio_dir_close - closes the handle (also after an error); 0 or an error.
 * The buffer is the caller's again.
 */
CIO_API int32_t cio_dir_open(cio_dir *d, const char *path, void *buf, uint32_t cap);
CIO_API int32_t cio_dir_next(cio_dir *d, const cio_dirent **ent);
CIO_API int32_t cio_dir_close(cio_dir *d);

/* ---- whole files ------------------------------------------------------------- */

/*
 * cio_fs_read_file - reads the whole file `path` into `buf` (`cap`
 * bytes). Returns its size (the bytes in `buf`), or -CIO_ERANGE when the
 * file holds more than `cap` bytes (then `buf` holds its first `cap`
 * bytes), or the error of open or read. The size is what reading finds, not
 * what stat says (files in /proc say 0). `buf` may be NULL when `cap` is 0.
 */
CIO_API int64_t cio_fs_read_file(const char *path, void *buf, size_t cap);

/*
 * cio_fs_read_file_alloc - reads the whole file `path` into memory that it
 * allocates, at most `limit` bytes (-CIO_ERANGE if the file is larger).
 * On success returns the size and sets `*out` to the data, followed by one
 * NUL byte (not counted) so that a text file is a C string; the caller owns
 * it and frees it with cio_fs_free(). On error `*out` is NULL and nothing
 * is left allocated. -CIO_ENOMEM when allocation fails.
 */
CIO_API int64_t cio_fs_read_file_alloc(const char *path, size_t limit, void **out);

/* cio_fs_free - frees what cio_fs_read_file_alloc() returned (NULL is
 * fine). Use it rather than free(): on Windows cio's DLL and the program may
 * have different C runtimes. Any thread; no task needed. */
CIO_API void cio_fs_free(void *p);

/*
 * cio_fs_write_file_atomic - replaces the file `path` with the `len` bytes
 * of `data` so that, whatever happens (a crash, a power cut, an error, a
 * cancel), `path` holds either its old contents (or does not exist, if it
 * did not) or all of the new ones, never a mix or a part:
 *   1. create a temporary file in the same directory with a unique name,
 *      ".<name>.<16 hex digits>.tmp" (the name cut to 200 bytes), with
 *      CIO_O_EXCL (a name taken is retried with another);
 *   2. write all of `data` into it, flush it (fsync), close it;
 *   3. rename it over `path` (atomic on POSIX; on Windows MoveFileEx with
 *      MOVEFILE_REPLACE_EXISTING, atomic on NTFS as far as Windows says);
 *   4. flush the directory (fsync of the directory), so that the rename
 *      itself is on storage when the call returns. Windows has no
 *      directory flush (NTFS journals the rename): this step is skipped.
 * `mode` is the new file's permission bits (less the umask); 0 means the
 * bits of the file it replaces, or 0644 if there is none. The new file is a
 * new inode: hard links to the old one keep the old contents, and a
 * symbolic link `path` is replaced by a file (not followed).
 * Returns 0, or an error; on any error before the rename the temporary
 * file is removed and `path` is untouched. An error in step 4 (-CIO_EIO)
 * means the new contents are in place but maybe not yet durable. After a
 * crash before step 3 a temporary file may remain: its name has the pattern
 * above. Two calls on the same path at once: each is atomic, the last
 * rename wins.
 */
CIO_API int32_t cio_fs_write_file_atomic(const char *path, const void *data, size_t len, uint32_t mode);

/* cio_fs_copy_file flags */
#define CIO_FS_COPY_EXCL 0x1u /* fail with -CIO_EEXIST if `dst` exists */

/*
 * cio_fs_copy_file - copies the regular file `src` to `dst` (created with
 * the permission bits of `src`, less the umask, as cp(1) without -p; an
 * existing `dst` is truncated and keeps its own). Chunks of up to 16 MiB
 * (so that a cancel or deadline is not kept waiting long) through
 * CIO_OP_COPY_RANGE (copy_file_range where
 * the OS has it: no bytes through user space, reflinks on file systems
 * that share extents; where it cannot, across file systems or on Windows,
 * the op itself reads and writes on the pool; no allocation). Returns the bytes copied, or an error: -CIO_EINVAL if `src` and `dst`
 * are the same file, -CIO_EISDIR, -CIO_EEXIST (CIO_FS_COPY_EXCL), ... On an
 * error after `dst` was created, a partial `dst` stays (it is not removed:
 * it may have been the caller's file); write to a temporary name and
 * cio_fs_rename() when that matters. Not atomic, no durability (call
 * cio_file_sync on the result if needed); copies contents and permission
 * bits only (no owner, times, extended attributes; holes become zeros on
 * the read and write path).
 */
CIO_API int64_t cio_fs_copy_file(const char *src, const char *dst, uint32_t flags);

/*
 * cio_file_send - sends `len` bytes of the file `file` from `offset` (its
 * position is neither used nor moved) over the connected stream socket
 * (or pipe) `sock`, until all are sent or the file ends (UINT64_MAX: to the
 * end of the file). Returns the bytes sent, which are less than `len` only
 * if the file ended, or an error (-CIO_EPIPE, -CIO_ECONNRESET, the read's;
 * -CIO_EINVAL for an offset beyond INT64_MAX, CIO_OFFSET_CURRENT included),
 * with `*sent` (may be NULL) the bytes `sock` took in every case.
 * How: on Linux (every backend, the mock's simulated handles too) a range
 * of at least 64 KiB goes file -> pipe -> socket with splice, through a
 * pipe of its own (cio_pipe, closed before the call returns): no copy
 * through user space, two ops per 64 KiB. Elsewhere (Windows, other POSIX
 * systems), for shorter ranges, and where splice refuses the handles
 * (-CIO_EINVAL: a file system without splice, a `sock` splice cannot
 * write), it reads chunks of 16 KiB into a buffer on the task's stack and
 * sends each in full (a handle that is not a socket, such as a pipe, is
 * written instead). Sends raise no SIGPIPE. A peer that stops reading
 * blocks it: for a timeout wrap it in a deadline scope.
 */
CIO_API int64_t cio_file_send(cio_fd sock, cio_fd file, uint64_t offset, uint64_t len, uint64_t *sent);

#ifdef __cplusplus
}
#endif

#endif /* CIO_FS_H */
