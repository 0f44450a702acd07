/*
 * cio/op.h - operations: what the caller hands to the kernel, and the
 * prep helpers that fill them in.
 *
 * A cio_op is one request: read these bytes, accept a connection, fire a
 * timer. The caller owns its memory and places it where it likes (on the
 * stack, in an array, embedded in a connection struct). The life cycle is:
 *
 *     cio_prep_read(&op, fd, buf, len, 0);   // 1. prepare (clears the op)
 *     op.cb = on_read; op.data = conn;       // 2. set context and modifiers
 *     cio_submit(loop, &op);                 // 3. hand it to the loop
 *     ...                                    // 4. op, buf belong to cio
 *     on_read(loop, &op)                     // 5. exactly one final completion
 *
 * The buffer rule: from cio_submit() until the op's final callback starts,
 * the op and every buffer, iovec array, address and path it points to belong
 * to the runtime (the kernel may be writing into them). Do not modify, free
 * or re-prepare them in that window. Inside the callback the op is idle
 * again and may be prepared and submitted anew.
 *
 * Every submitted op completes exactly once: with its result, with an
 * error, with -CIO_ECANCELED when it is cancelled (also by cio_loop_close),
 * or with -CIO_ETIMEDOUT when its deadline passes first. A multishot op
 * (CIO_F_MULTISHOT) may call its callback several times with CIO_F_MORE
 * set in op->flags; the one call without CIO_F_MORE is its final completion.
 *
 * The prep helpers are inline and only write the op; they never fail and
 * never touch the loop. Invalid arguments are reported by cio_submit().
 */
#ifndef CIO_OP_H
#define CIO_OP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "platform.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cio_loop cio_loop;
typedef struct cio_op cio_op;
struct cio_bufpool; /* cio/bufpool.h */

/*
 * The completion callback. Runs on the loop's thread, from inside
 * cio_loop_run() or cio_loop_close(), once per completion. `op->res` holds
 * the result. The callback may submit, cancel and re-prepare ops (including
 * `op` itself, once its final completion is running).
 */
typedef void (*cio_cb)(cio_loop *loop, cio_op *op);

/* A function CIO_OP_CALL runs on the blocking pool (cio_prep_call): its
 * return value is the op's result (by convention >= 0, or a negative
 * CIO_E* code). */
typedef int32_t (*cio_call_fn)(void *arg);

/* What an op does. Zero is not an opcode: an op never prepared is refused. */
enum cio_opcode {
    CIO_OP_NOP = 1,      /* completes with 0; measures the loop itself */
    CIO_OP_TIMEOUT,      /* completes with 0 when the time comes */
    CIO_OP_TIMER_UPDATE, /* moves a pending CIO_OP_TIMEOUT to a new time */
    CIO_OP_TIMER_REMOVE, /* cancels a pending CIO_OP_TIMEOUT */
    CIO_OP_CANCEL,       /* cancels any op in flight */
    CIO_OP_CLOSE,
    CIO_OP_READ,
    CIO_OP_WRITE,
    CIO_OP_READV,
    CIO_OP_WRITEV,
    CIO_OP_FSYNC,
    CIO_OP_OPENAT,
    CIO_OP_STATX,
    CIO_OP_UNLINKAT,
    CIO_OP_RENAMEAT,
    CIO_OP_MKDIRAT,
    CIO_OP_SOCKET,
    CIO_OP_BIND,
    CIO_OP_LISTEN,
    CIO_OP_ACCEPT,
    CIO_OP_CONNECT,
    CIO_OP_RECV,
    CIO_OP_SEND,
    CIO_OP_RECVMSG,
    CIO_OP_SENDMSG,
    CIO_OP_SHUTDOWN,
    CIO_OP_POLL,
    CIO_OP_SPLICE,
    CIO_OP_POST,
    CIO_OP_CALL,       /* runs the caller's function on the blocking pool */
    CIO_OP_FTRUNCATE,
    CIO_OP_FALLOCATE,
    CIO_OP_SYMLINKAT,
    CIO_OP_LINKAT,
    CIO_OP_READDIR,
    CIO_OP_COPY_RANGE,
    CIO_OP_RECV_POOL,  /* a recv whose buffer comes from a cio_bufpool (cio/bufpool.h) */
    CIO_OP_SEND_ZC,    /* a send that completes once the kernel no longer uses the buffer */
    CIO_OP_SENDMSG_ZC, /* the same for sendmsg */
    CIO_OP_READ_FIXED, /* a read into a registered buffer (cio/fixed.h) */
    CIO_OP_WRITE_FIXED, /* a write from a registered buffer (cio/fixed.h) */
    CIO_OP_COUNT_ /* one past the last opcode */
};

/*
 * Modifiers, set in op->flags after the prep call and before submission.
 *
 * CIO_F_LINK: soft link. Only inside cio_submit_batch(): the next op of the
 *   batch starts only after this one succeeded. If this one fails (a
 *   negative result; fewer bytes than asked for a read, write, readv or
 *   writev; fewer than asked for a send or recv with CIO_MSG_WAITALL, while
 *   a short send or recv without it, and any recvmsg or sendmsg that does
 *   not fail, goes on), every op after it in the chain completes with
 *   -CIO_ECANCELED, hard links among them included.
 * CIO_F_HARDLINK: hard link. The next op of the batch starts after this
 *   one completes, whatever its result.
 *   Callbacks run in chain order, each op's after the one before it. On
 *   io_uring the soft-linked parts of a chain run in the kernel, as
 *   IOSQE_IO_LINK chains submitted at once: each op starts as soon as the
 *   one before it has completed in the kernel, with no loop turn between
 *   them, so the next op may already be under way, or done, when the
 *   callback of the one before it runs (as before, every op and buffer of
 *   the batch belongs to the runtime from cio_submit_batch() until the op's
 *   own final callback: do not fill a later op's buffer in an earlier op's
 *   callback). Results, order and the rules above are the same as on the
 *   other backends. What the kernel cannot run so stays the core's, op by
 *   op: hard links, ops with a deadline, multishot ops, fixed handles,
 *   zero-copy sends, reads and writes of fixed buffers, closes, opens,
 *   polls, posts, splices and what runs on the pool.
 *   Cancelling an op that waits in a chain (cio_cancel, CIO_OP_CANCEL, the
 *   loop's close) ends it with -CIO_ECANCELED without running it; on
 *   io_uring cio then stops the op the chain waits behind and issues it
 *   again. That cannot stop an op the kernel already executes in a worker
 *   (file IO, fsync): the cancelled op after it then runs when its turn
 *   comes, as it would if the cancel had come a moment later; and a cancel
 *   from the callback of the op just before it finds it started.
 *   CIO_URING_DISABLE=links in the environment keeps chains in the core.
 * CIO_F_MULTISHOT: for CIO_OP_ACCEPT, CIO_OP_POLL and CIO_OP_RECV_POOL only:
 *   keep delivering results until cancelled or an error ends it (a
 *   recv_pool also at the end of the stream: cio_prep_recv_pool()).
 * CIO_F_FIXED_FILE: the op's handle is a fixed handle of the loop; an
 *   openat, socket or accept makes its new handle a fixed one; a close
 *   releases one (cio/fixed.h, which lists the opcodes that take it).
 * CIO_F_MORE: set by cio, never by the caller: this completion of a
 *   multishot op is not the last one.
 */
#define CIO_F_LINK 0x01u
#define CIO_F_HARDLINK 0x02u
#define CIO_F_MULTISHOT 0x04u
#define CIO_F_FIXED_FILE 0x08u
#define CIO_F_MORE 0x80u

/* Offset meaning "the file's current position" (read, write, readv, writev). */
#define CIO_OFFSET_CURRENT UINT64_MAX

/* CIO_OP_TIMEOUT and CIO_OP_TIMER_UPDATE: the time is absolute (cio_now() clock). */
#define CIO_TIMEOUT_ABS 0x1u

/* CIO_OP_FSYNC: flush data only (fdatasync), not all metadata. */
#define CIO_FSYNC_DATASYNC 0x1u

/*
 * Portable constants. Every constant a program needs for the ops exists on
 * every platform. On POSIX systems each equals the system's own (CIO_O_CREAT
 * is O_CREAT, CIO_POLLIN is POLLIN, ...; the library checks that when it is
 * built), so a program may pass either; on Windows they are cio's, and the
 * backend translates them. This header needs neither fcntl.h nor poll.h on
 * Linux.
 */

/* The handle meaning "the current directory" for the *at ops. */
#if defined(_WIN32)
#define CIO_AT_FDCWD ((cio_fd)(intptr_t)-100)
#elif defined(__APPLE__)
#define CIO_AT_FDCWD (-2)
#else
#define CIO_AT_FDCWD (-100)
#endif

/* Flags of the *at ops: statx (CIO_AT_SYMLINK_NOFOLLOW, CIO_AT_EMPTY_PATH:
 * the status of the directory handle itself, with path ""), unlinkat
 * (CIO_AT_REMOVEDIR: remove a directory). And open flags for
 * cio_prep_openat(). */
#if defined(__linux__) || defined(_WIN32)
#define CIO_AT_SYMLINK_NOFOLLOW 0x100
#define CIO_AT_REMOVEDIR 0x200
#define CIO_AT_EMPTY_PATH 0x1000
#endif

#if defined(_WIN32) || (defined(__linux__) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || \
                                               defined(__arm__) || defined(__riscv) || defined(__powerpc__) ||     \
                                               defined(__s390__) || defined(__loongarch__)))
#define CIO_O_RDONLY 00
#define CIO_O_WRONLY 01
#define CIO_O_RDWR 02
#define CIO_O_CREAT 0100
#define CIO_O_EXCL 0200
#define CIO_O_NOCTTY 0400
#define CIO_O_TRUNC 01000
#define CIO_O_APPEND 02000
#define CIO_O_NONBLOCK 04000
#define CIO_O_DSYNC 010000
#define CIO_O_SYNC 04010000
#define CIO_O_CLOEXEC 02000000
#if defined(__aarch64__) || defined(__arm__) || defined(__powerpc__)
#define CIO_O_DIRECTORY 040000
#define CIO_O_NOFOLLOW 0100000
#else
#define CIO_O_DIRECTORY 0200000
#define CIO_O_NOFOLLOW 0400000
#endif
#else /* another system: its own values, from its header */
#include <fcntl.h>
#define CIO_O_RDONLY O_RDONLY
#define CIO_O_WRONLY O_WRONLY
#define CIO_O_RDWR O_RDWR
#define CIO_O_CREAT O_CREAT
#define CIO_O_EXCL O_EXCL
#define CIO_O_NOCTTY O_NOCTTY
#define CIO_O_TRUNC O_TRUNC
#define CIO_O_APPEND O_APPEND
#define CIO_O_NONBLOCK O_NONBLOCK
#define CIO_O_DSYNC O_DSYNC
#define CIO_O_SYNC O_SYNC
#define CIO_O_CLOEXEC O_CLOEXEC
#define CIO_O_DIRECTORY O_DIRECTORY
#define CIO_O_NOFOLLOW O_NOFOLLOW
#if !defined(__linux__)
#define CIO_AT_SYMLINK_NOFOLLOW AT_SYMLINK_NOFOLLOW
#define CIO_AT_REMOVEDIR AT_REMOVEDIR
#if defined(AT_EMPTY_PATH)
#define CIO_AT_EMPTY_PATH AT_EMPTY_PATH
#else
#define CIO_AT_EMPTY_PATH 0x40000000 /* cio's: the system has none, cio's statx handles it */
#endif
#endif
#endif

/* Flags of cio_prep_renameat() (renameat2's; Linux only: elsewhere a
 * rename with flags fails with -CIO_ENOTSUP, except CIO_RENAME_NOREPLACE on
 * Windows, which has it). */
#define CIO_RENAME_NOREPLACE 0x1u /* fail with -CIO_EEXIST if the new name exists */
#define CIO_RENAME_EXCHANGE 0x2u  /* swap the two names atomically */

/* cio_prep_linkat() flags: follow `oldpath` if it is a symbolic link
 * (linkat's AT_SYMLINK_FOLLOW; without it the link itself is linked). */
#if defined(__linux__) || defined(_WIN32)
#define CIO_AT_SYMLINK_FOLLOW 0x400
#else
#define CIO_AT_SYMLINK_FOLLOW AT_SYMLINK_FOLLOW
#endif

/* cio_prep_fallocate() modes: 0 allocates and extends the file when the
 * range ends past it; CIO_FALLOCATE_KEEP_SIZE allocates without changing
 * the size (Linux's FALLOC_FL_KEEP_SIZE). Other modes of Linux's
 * fallocate(2) (punching holes, ...) are passed through on Linux and fail
 * with -CIO_ENOTSUP elsewhere. */
#define CIO_FALLOCATE_KEEP_SIZE 0x1

/* Entry types in cio_dirent.type: Linux's DT_* values on every platform. */
#define CIO_DT_UNKNOWN 0
#define CIO_DT_FIFO 1
#define CIO_DT_CHR 2
#define CIO_DT_DIR 4
#define CIO_DT_BLK 6
#define CIO_DT_REG 8
#define CIO_DT_LNK 10
#define CIO_DT_SOCK 12

/*
 * One directory entry as CIO_OP_READDIR writes it: records packed one after
 * another in the caller's buffer, each starting at a multiple of 8 bytes
 * from the buffer's start (`reclen` is the distance to the next one).
 * `name` is NUL-terminated UTF-8 (as stored on POSIX systems; converted
 * from UTF-16 on Windows), at most 255 bytes on POSIX. Walk a result with
 * cio_dirent_next().
 */
typedef struct cio_dirent {
    uint64_t ino;    /* inode number (Windows: the file id; 0 where none) */
    uint16_t reclen; /* bytes from this record to the next, a multiple of 8 */
    uint8_t type;    /* CIO_DT_*; CIO_DT_UNKNOWN where the file system does not say */
    char name[];     /* NUL-terminated */
} cio_dirent;

/* The size of the record for a name of `namelen` bytes. */
#define CIO_DIRENT_RECLEN(namelen) ((uint16_t)((offsetof(cio_dirent, name) + (namelen) + 1 + 7) & ~(size_t)7))

/* The first record of a readdir result of `len` bytes in `buf` (len is
 * op->res), or the one after `d`; NULL at the end. */
static inline const cio_dirent *cio_dirent_next(const void *buf, uint32_t len, const cio_dirent *d) {
    const char *p = d ? (const char *)d + d->reclen : (const char *)buf;
    return p < (const char *)buf + len ? (const cio_dirent *)(const void *)p : NULL;
}

/* Readiness events for CIO_OP_POLL: the values poll(2) has on every POSIX
 * system. CIO_POLLRDHUP (the peer shut down its side) is reported on Linux
 * whether asked or not, and on Windows (IOCP) for a socket when asked
 * (from AFD; a poll that runs on the pool because AFD could not be opened
 * has no RDHUP). */
#define CIO_POLLIN 0x001u
#define CIO_POLLPRI 0x002u
#define CIO_POLLOUT 0x004u
#define CIO_POLLERR 0x008u
#define CIO_POLLHUP 0x010u
#define CIO_POLLNVAL 0x020u
#define CIO_POLLRDHUP 0x2000u

/* cio_prep_shutdown(): which direction to shut down (SHUT_RD, SHUT_WR,
 * SHUT_RDWR on POSIX; SD_RECEIVE, SD_SEND, SD_BOTH on Windows). */
#define CIO_SHUT_RD 0
#define CIO_SHUT_WR 1
#define CIO_SHUT_RDWR 2

/* Flags of send, recv, sendmsg and recvmsg (see cio_prep_recv). */
#if defined(_WIN32)
#define CIO_MSG_PEEK MSG_PEEK
#define CIO_MSG_WAITALL MSG_WAITALL
#define CIO_MSG_DONTWAIT 0x10000000 /* cio's: Winsock has none; the backend handles it */
#define CIO_MSG_TRUNC 0x0100        /* mswsock.h's MSG_TRUNC; only an output flag on Windows:
                                       asked of a recv, it still gives the bytes kept, not
                                       the datagram's real length (Linux) */
#else
#define CIO_MSG_TRUNC MSG_TRUNC
#define CIO_MSG_PEEK MSG_PEEK
#define CIO_MSG_WAITALL MSG_WAITALL
#define CIO_MSG_DONTWAIT MSG_DONTWAIT
#endif

/* Flags for the new handle of cio_prep_socket() (in `type`) and
 * cio_prep_accept() (in `flags`). */
#if defined(SOCK_NONBLOCK)
#define CIO_SOCK_NONBLOCK SOCK_NONBLOCK
#define CIO_SOCK_CLOEXEC SOCK_CLOEXEC
#else /* cio's: the backend applies them after making the socket */
#define CIO_SOCK_NONBLOCK 0x40000000
#define CIO_SOCK_CLOEXEC 0x20000000
#endif

/* cio_prep_splice() flags (Linux's SPLICE_F_*). */
#define CIO_SPLICE_F_MOVE 0x1u
#define CIO_SPLICE_F_NONBLOCK 0x2u
#define CIO_SPLICE_F_MORE 0x4u

/* Mask bits for CIO_OP_STATX: which fields to fill (and, in the result's
 * `mask`, which were filled). Linux's STATX_* values on every platform. */
#define CIO_STATX_TYPE 0x0001u
#define CIO_STATX_MODE 0x0002u
#define CIO_STATX_NLINK 0x0004u
#define CIO_STATX_UID 0x0008u
#define CIO_STATX_GID 0x0010u
#define CIO_STATX_ATIME 0x0020u
#define CIO_STATX_MTIME 0x0040u
#define CIO_STATX_CTIME 0x0080u
#define CIO_STATX_INO 0x0100u
#define CIO_STATX_SIZE 0x0200u
#define CIO_STATX_BLOCKS 0x0400u
#define CIO_STATX_BASIC_STATS 0x07ffu
#define CIO_STATX_BTIME 0x0800u

/* The file type in cio_statx.mode (the POSIX encoding, on every platform). */
#define CIO_S_IFMT 0170000u
#define CIO_S_IFSOCK 0140000u
#define CIO_S_IFLNK 0120000u
#define CIO_S_IFREG 0100000u
#define CIO_S_IFBLK 0060000u
#define CIO_S_IFDIR 0040000u
#define CIO_S_IFCHR 0020000u
#define CIO_S_IFIFO 0010000u

/*
 * File status as CIO_OP_STATX returns it. The layout equals Linux's
 * struct statx, so that io_uring fills it directly; other backends fill it
 * from fstat()/fstatat() (or Windows' file information) and set `mask` to
 * the fields they filled.
 */
typedef struct cio_statx_time {
    int64_t tv_sec;
    uint32_t tv_nsec;
    int32_t reserved_;
} cio_statx_time;

typedef struct cio_statx {
    uint32_t mask; /* CIO_STATX_* bits of the fields filled */
    uint32_t blksize;
    uint64_t attributes;
    uint32_t nlink;
    uint32_t uid;
    uint32_t gid;
    uint16_t mode; /* file type and permission bits, as st_mode */
    uint16_t spare0_;
    uint64_t ino;
    uint64_t size;
    uint64_t blocks;
    uint64_t attributes_mask;
    cio_statx_time atime;
    cio_statx_time btime;
    cio_statx_time ctime;
    cio_statx_time mtime;
    uint32_t rdev_major;
    uint32_t rdev_minor;
    uint32_t dev_major;
    uint32_t dev_minor;
    uint64_t spare_[14];
} cio_statx;

/*
 * The operation. Fill it with a cio_prep_* helper, then set the public
 * context fields. Keep it small: large arguments (addresses, msghdr, iovec
 * arrays, paths) are pointers to caller memory under the buffer rule.
 */
struct cio_op {
    void *data;        /* caller's context; cio never reads it */
    cio_cb cb;         /* final (and multishot) completion callback; may be NULL */
    uint64_t deadline; /* absolute cio_now() time after which the op fails
                          with -CIO_ETIMEDOUT; 0 = none. An op that starts
                          (is submitted, or its link turn comes) at or past
                          it fails so at once, without running; a close
                          still closes */
    int32_t res;       /* the result, valid in the callback */
    uint16_t tag;      /* caller's 16-bit message; cio never reads it */
    uint8_t opcode;    /* enum cio_opcode, set by the prep helper */
    uint8_t flags;     /* CIO_F_* modifiers, and CIO_F_MORE on output */

    /* Arguments, one member per opcode family; written by the prep helpers. */
    union {
        struct {
            uint64_t ns; /* relative to cio_now(), or absolute with CIO_TIMEOUT_ABS */
            uint32_t flags;
        } timeout;
        struct {
            cio_op *target;
            uint64_t ns; /* TIMER_UPDATE only */
            uint32_t flags;
        } timer;
        struct {
            cio_op *target;
        } cancel;
        struct {
            cio_fd fd;
            uint32_t len;
            void *buf;
            uint64_t offset; /* CIO_OFFSET_CURRENT: the file position */
            uint16_t buf_index; /* read_fixed, write_fixed: the registered buffer */
        } rw;
        struct {
            cio_fd fd;
            uint32_t iovcnt;
            const cio_iovec *iov;
            uint64_t offset;
        } rwv;
        struct {
            cio_fd fd;
            uint32_t flags; /* CIO_FSYNC_DATASYNC */
        } fsync;
        struct {
            cio_fd dirfd;
            int flags; /* CIO_O_* (the same as O_* on POSIX) */
            const char *path;
            uint32_t mode;
        } open;
        struct {
            cio_fd fd;
            uint32_t fixed_begun_; /* cio's own, never the caller's: a close of a fixed
                                      handle that started closing it (cio/fixed.h) */
        } close;
        struct {
            cio_fd dirfd;
            int flags;     /* CIO_AT_SYMLINK_NOFOLLOW, CIO_AT_EMPTY_PATH */
            uint32_t mask; /* CIO_STATX_* */
            const char *path;
            cio_statx *buf;
        } statx;
        struct {
            cio_fd dirfd;
            int flags; /* 0 or CIO_AT_REMOVEDIR */
            const char *path;
        } unlink;
        struct {
            cio_fd olddirfd;
            cio_fd newdirfd;
            uint32_t flags; /* renameat2 flags; 0 for plain rename */
            const char *oldpath;
            const char *newpath;
        } rename;
        struct {
            cio_fd dirfd;
            uint32_t mode;
            const char *path;
        } mkdir;
        struct {
            int domain;
            int type; /* may include CIO_SOCK_NONBLOCK, CIO_SOCK_CLOEXEC */
            int protocol;
        } socket;
        struct {
            cio_fd fd;
            cio_socklen addrlen;
            const struct sockaddr *addr;
        } addr; /* bind, connect */
        struct {
            cio_fd fd;
            int backlog;
        } listen;
        struct {
            cio_fd fd;
            int flags; /* CIO_SOCK_NONBLOCK, CIO_SOCK_CLOEXEC for the new socket */
            struct sockaddr *addr; /* may be NULL */
            cio_socklen *addrlen;  /* in: size of *addr; out: its length */
        } accept;
        struct {
            cio_fd fd;
            uint32_t len;
            void *buf;
            int flags; /* CIO_MSG_* (MSG_* on POSIX) */
            uint16_t buf_index; /* send_zc with CIO_ZC_FIXED: the registered buffer */
            uint8_t zc;         /* send_zc: CIO_ZC_FIXED in; CIO_ZC_COPIED out (cio_op_zc_copied) */
        } sr; /* send, recv, send_zc */
        struct {
            cio_fd fd;
            int flags; /* CIO_MSG_* (MSG_* on POSIX) */
            cio_msghdr *msg;
            uint8_t zc; /* sendmsg_zc: CIO_ZC_COPIED out (cio_op_zc_copied) */
        } msg; /* sendmsg, recvmsg, sendmsg_zc */
        struct {
            cio_fd fd;
            int how; /* CIO_SHUT_RD, CIO_SHUT_WR, CIO_SHUT_RDWR */
        } shutdown;
        struct {
            cio_fd fd;
            uint32_t events; /* CIO_POLL* mask */
        } poll;
        struct {
            cio_fd fd_in;
            cio_fd fd_out;
            uint32_t len;
            uint32_t flags; /* CIO_SPLICE_F_* */
            uint64_t off_in; /* CIO_OFFSET_CURRENT for pipes and the position */
            uint64_t off_out;
        } splice;
        struct {
            cio_loop *target;
            cio_op *msg;
        } post;
        struct {
            cio_call_fn fn;
            void *arg;
        } call;
        struct {
            cio_fd fd;
            int mode; /* fallocate only: 0 or CIO_FALLOCATE_KEEP_SIZE */
            uint64_t offset; /* fallocate only */
            uint64_t len;    /* ftruncate: the new size */
        } size; /* ftruncate, fallocate */
        struct {
            cio_fd olddirfd; /* linkat only */
            cio_fd newdirfd;
            int flags;           /* linkat only: 0 or CIO_AT_SYMLINK_FOLLOW */
            const char *oldpath; /* symlinkat: the link's target (its contents) */
            const char *newpath; /* the new name */
        } link; /* symlinkat, linkat */
        struct {
            cio_fd fd;
            uint32_t len;
            void *buf;
        } readdir;
        struct {
            cio_fd fd_in;
            cio_fd fd_out;
            uint32_t len;
            uint64_t off_in; /* CIO_OFFSET_CURRENT: the file position (which moves) */
            uint64_t off_out;
        } copy;
        struct {
            cio_fd fd;
            int flags; /* CIO_MSG_* flags: 0 */
            struct cio_bufpool *pool;
            uint32_t buf_id; /* output: the buffer a completion with res > 0 names */
        } recv_pool;
    } args;

    /* The runtime's bookkeeping. Never read or write it. Its size is part
     * of the ABI: 64 bytes on 64-bit systems, plus an OVERLAPPED on Windows. */
    struct {
        cio_op *next; /* the one queue an op is in (ready, pool, a handle's FIFO) */
        cio_op *link; /* the next op of its link chain */
        cio_loop *loop;
        union {
            struct {
                cio_op *child, *sibling, *prev;
            } heap; /* timer heap links, for core timers and deadlines */
            struct {
                int64_t sec, nsec;
            } ts; /* a kernel timespec, for backends with kernel deadlines */
        } u;          /* with `when`, the backend's own while it holds an op whose
                         deadline it keeps itself (a simulated backend's clock) */
        uint64_t when;
        uint32_t seq;
        uint8_t state;
        uint8_t iflags;
        uint16_t bflags; /* the backend's own per-op flags */
#if defined(_WIN32)
        union {
            OVERLAPPED ov; /* the kernel's while the op is in flight */
            cio_fd handle; /* a new handle, once the op completed: see cio_op_fd() */
        } win;
#endif
    } internal_;
};

/* cio_op's size: two cache lines on 64-bit POSIX systems, where the
 * handles in `args` are ints; on 64-bit Windows handles are pointers and
 * every op carries an OVERLAPPED for its completion port, 168 bytes. */
#if defined(__cplusplus)
#define CIO_STATIC_ASSERT_(c, m) static_assert(c, m)
#else
#define CIO_STATIC_ASSERT_(c, m) _Static_assert(c, m)
#endif
#if defined(_WIN64)
CIO_STATIC_ASSERT_(sizeof(cio_op) == 168, "cio_op is 168 bytes on 64-bit Windows");
#elif defined(_WIN32)
CIO_STATIC_ASSERT_(sizeof(cio_op) <= 128, "cio_op fits two cache lines on 32-bit Windows");
#elif UINTPTR_MAX == UINT64_MAX
CIO_STATIC_ASSERT_(sizeof(cio_op) == 128, "cio_op is two cache lines on 64-bit systems");
#else
CIO_STATIC_ASSERT_(sizeof(cio_op) <= 128, "cio_op fits two cache lines");
#endif
CIO_STATIC_ASSERT_(sizeof(((cio_op *)0)->res) == 4, "cio_op.res is an int32_t on every platform");

/*
 * cio_op_fd - the handle that a successful openat, socket or accept made,
 * read in its completion callback (or after cio_await() in a task): the
 * portable way to take it. On POSIX systems it is op->res itself (a
 * descriptor); on Windows a HANDLE or SOCKET does not fit op->res, which
 * is then 0 on success, and the handle is kept in the op. CIO_FD_INVALID
 * when op->res is an error or the op makes no handle. With
 * CIO_F_FIXED_FILE the handle is a fixed one (cio/fixed.h).
 */
static inline cio_fd cio_op_fd(const cio_op *op) {
    if (op->res < 0 ||
        (op->opcode != CIO_OP_OPENAT && op->opcode != CIO_OP_SOCKET && op->opcode != CIO_OP_ACCEPT))
        return CIO_FD_INVALID;
#if defined(_WIN32)
    return op->internal_.win.handle;
#else
    return (cio_fd)op->res;
#endif
}

/*
 * cio_op_buf_id - the buffer of a pool (cio/bufpool.h) that the completion
 * of a CIO_OP_RECV_POOL running now names: valid in a callback with
 * op->res > 0 (or after cio_await() of such a result), where the buffer
 * holds the op->res bytes received and is the caller's until
 * cio_bufpool_put(). UINT32_MAX otherwise.
 */
static inline uint32_t cio_op_buf_id(const cio_op *op) {
    return (op->opcode == CIO_OP_RECV_POOL && op->res > 0) ? op->args.recv_pool.buf_id : UINT32_MAX;
}

/*
 * cio_op_name - the opcode's name ("read", "accept", ...), or "invalid".
 * A static string. Any thread.
 */
CIO_API const char *cio_op_name(int opcode);

/* Clears the op and sets its opcode: the start of every prep helper. Two
 * fixed-size clears compile to a few vector stores, where one 128-byte
 * memset may become a slow `rep stos`. */
static inline void cio_prep_(cio_op *op, enum cio_opcode opcode) {
    memset(op, 0, offsetof(cio_op, internal_));
    memset(&op->internal_, 0, sizeof op->internal_);
    op->opcode = (uint8_t)opcode;
}

/* A no-op: completes with 0 after one trip through the backend. */
static inline void cio_prep_nop(cio_op *op) { cio_prep_(op, CIO_OP_NOP); }

/*
 * A timer: completes with 0 once `ns` nanoseconds have passed since
 * cio_now() at submission, or at the absolute cio_now() time `ns` when
 * `flags` has CIO_TIMEOUT_ABS. Timers live in the core's timer wheel: a
 * million of them cost no kernel memory and no extra system calls.
 *
 * cio_prep_timeout(op, CIO_TIMEOUT_NEVER, CIO_TIMEOUT_ABS) is a timer
 * that never fires: it completes only when cancelled (or its loop
 * closes), and keeps cio_loop_run(CIO_RUN_DEFAULT) going meanwhile, for a
 * loop that waits for other threads' posts (cio_xchan_recv() and the
 * runtime's workers use it). It counts as no timer when the loop works
 * out how long it may wait: cio_loop_timeout() gives -1 if it is the
 * only one, and the mock backend waits for another thread instead of
 * moving its virtual time there.
 */
#define CIO_TIMEOUT_NEVER (UINT64_MAX - 1)

static inline void cio_prep_timeout(cio_op *op, uint64_t ns, uint32_t flags) {
    cio_prep_(op, CIO_OP_TIMEOUT);
    op->args.timeout.ns = ns;
    op->args.timeout.flags = flags;
}

/*
 * Moves the pending timer `target` to a new time (`ns`, `flags` as in
 * cio_prep_timeout). Completes with 0, or -CIO_ENOENT when `target` has
 * already fired.
 */
static inline void cio_prep_timer_update(cio_op *op, cio_op *target, uint64_t ns, uint32_t flags) {
    cio_prep_(op, CIO_OP_TIMER_UPDATE);
    op->args.timer.target = target;
    op->args.timer.ns = ns;
    op->args.timer.flags = flags;
}

/*
 * Removes the pending timer `target`, which then completes with
 * -CIO_ECANCELED. Completes with 0, or -CIO_ENOENT when it already fired.
 */
static inline void cio_prep_timer_remove(cio_op *op, cio_op *target) {
    cio_prep_(op, CIO_OP_TIMER_REMOVE);
    op->args.timer.target = target;
}

/*
 * Cancels `target`, an op in flight on the same loop. Completes with 0 when
 * the target was found and stopped (it then completes with -CIO_ECANCELED),
 * -CIO_ENOENT when it had already finished (it completes with its own
 * result), or -CIO_EALREADY when it was executing and cancellation was
 * attempted (it completes with -CIO_ECANCELED, -CIO_EINTR or its result).
 */
static inline void cio_prep_cancel(cio_op *op, cio_op *target) {
    cio_prep_(op, CIO_OP_CANCEL);
    op->args.cancel.target = target;
}

static inline void cio_prep_rw_(cio_op *op, enum cio_opcode opc, cio_fd fd, void *buf, uint32_t len,
                                uint64_t offset) {
    cio_prep_(op, opc);
    op->args.rw.fd = fd;
    op->args.rw.buf = buf;
    op->args.rw.len = len;
    op->args.rw.offset = offset;
}

/*
 * Reads up to `len` bytes into `buf` at `offset` (CIO_OFFSET_CURRENT: at
 * and advancing the file position). Completes with the byte count, 0 at
 * end of file. On a handle with no position (pipe, socket, tty) the offset
 * is ignored. The same holds for write, readv and writev. On epoll and poll
 * these (and accept, connect) may set O_NONBLOCK on `fd`: see
 * cio_loop_init(). On Windows (IOCP) an overlapped handle has no position
 * the system moves: cio keeps one per handle, starting where the handle's
 * file pointer stood at its first op. An op at CIO_OFFSET_CURRENT takes
 * its whole length from the position when it is issued, as read(2) and
 * write(2) move it before the next call, so ops submitted together get
 * ranges one after another; a short read gives back the rest of its range
 * unless another op took the range after it. A handle opened for
 * appending only writes at the end. A handle that cannot do overlapped IO (a console, an anonymous
 * pipe, a file opened without FILE_FLAG_OVERLAPPED) is read and written on
 * the blocking pool instead; so is a handle another loop's port holds: a
 * handle joins the port of the first loop that does IO on it for as long
 * as it is open, also after that loop is closed (Windows cannot take it
 * back before 8.1, nor Wine at all). That loop owns it: give each handle's
 * IO to one loop. A poll on a socket is not IO on it (it goes through the
 * loop's AFD handle) and takes no socket; a poll on a pipe is (a read).
 */
static inline void cio_prep_read(cio_op *op, cio_fd fd, void *buf, uint32_t len, uint64_t offset) {
    cio_prep_rw_(op, CIO_OP_READ, fd, buf, len, offset);
}

/* Writes up to `len` bytes from `buf`; completes with the byte count. */
static inline void cio_prep_write(cio_op *op, cio_fd fd, const void *buf, uint32_t len,
                                  uint64_t offset) {
    cio_prep_rw_(op, CIO_OP_WRITE, fd, (void *)(uintptr_t)buf, len, offset);
}

/* Scatter read into `iovcnt` buffers; the iovec array is under the buffer rule. */
static inline void cio_prep_readv(cio_op *op, cio_fd fd, const cio_iovec *iov, uint32_t iovcnt,
                                  uint64_t offset) {
    cio_prep_(op, CIO_OP_READV);
    op->args.rwv.fd = fd;
    op->args.rwv.iov = iov;
    op->args.rwv.iovcnt = iovcnt;
    op->args.rwv.offset = offset;
}

/* Gather write from `iovcnt` buffers. */
static inline void cio_prep_writev(cio_op *op, cio_fd fd, const cio_iovec *iov, uint32_t iovcnt,
                                   uint64_t offset) {
    cio_prep_readv(op, fd, iov, iovcnt, offset);
    op->opcode = CIO_OP_WRITEV;
}

/* Flushes a file to storage (fsync), or only its data with CIO_FSYNC_DATASYNC.
 * A pipe, socket or console fails with -CIO_EINVAL, as on Linux. Windows
 * (FlushFileBuffers) has no data-only flush: CIO_FSYNC_DATASYNC flushes
 * all; a directory completes with 0 (its metadata is journaled). */
static inline void cio_prep_fsync(cio_op *op, cio_fd fd, uint32_t flags) {
    cio_prep_(op, CIO_OP_FSYNC);
    op->args.fsync.fd = fd;
    op->args.fsync.flags = flags;
}

/*
 * Opens `path` relative to `dirfd` (CIO_AT_FDCWD); completes with the new
 * handle. An open never blocks on a FIFO, on every backend (as io_uring's
 * own openat, which tries with O_NONBLOCK first): opened for reading it
 * completes at once, writer or not; opened for writing with no reader it
 * fails with -CIO_ENXIO. The new handle has O_NONBLOCK only if `flags`
 * asked for it. (A plain open(2) would wait for the other end instead.)
 *
 * Windows: `path` is UTF-8 (-CIO_EINVAL if it is not), converted to UTF-16;
 * '/' and '\\' both separate, and names beyond MAX_PATH work. The handle is
 * opened overlapped (for the completion port), shared for reading, writing
 * and deleting (so the file can be renamed or unlinked while open), never
 * inherited by child processes. CIO_O_APPEND opens for appending only
 * (every write lands at the end); CIO_O_SYNC/CIO_O_DSYNC write through;
 * CIO_O_NONBLOCK and CIO_O_NOCTTY have no effect. `mode` only decides
 * read-only (no 0200 bit: the file gets the read-only attribute). A
 * directory opens as on POSIX (read-only; -CIO_EISDIR for write access,
 * O_CREAT or O_TRUNC), CIO_O_NOFOLLOW on a symbolic link or junction fails
 * with -CIO_ELOOP. Relative to a `dirfd` other than CIO_AT_FDCWD, the path
 * is joined to the directory's final path (GetFinalPathNameByHandleW) at
 * the time of the op. A missing directory in the middle of `path`, or a
 * file used as one, is -CIO_ENOENT (POSIX: ENOTDIR for the latter).
 */
static inline void cio_prep_openat(cio_op *op, cio_fd dirfd, const char *path, int flags,
                                   uint32_t mode) {
    cio_prep_(op, CIO_OP_OPENAT);
    op->args.open.dirfd = dirfd;
    op->args.open.path = path;
    op->args.open.flags = flags;
    op->args.open.mode = mode;
}

/*
 * Closes a handle; completes with 0, or -CIO_EBADF when it was not open.
 *
 * The same on every backend: the ops of this loop still waiting on the
 * handle (recv, send, accept, connect, poll, a read or write of a socket or
 * pipe) complete first, with -CIO_ECANCELED (or with their own result if
 * they had finished already), then the close completes. When its callback
 * runs no op of this loop uses the handle any more and it is closed: a peer
 * sees end of file. An op submitted on the handle after the close and
 * before its completion fails with -CIO_EBADF (or, if the close had to
 * wait for pool ops, is ended like the ops before it). Ops of this loop
 * on the blocking pool (file IO on epoll and poll, opcodes io_uring lacks;
 * cio_loop_close in cio/loop.h) that name the handle, as their fd, a
 * splice's fd_in or fd_out, or a dirfd, are ended too: a queued one is
 * taken back, a running one interrupted, and the submission of the close
 * waits on the calling thread until none runs. What cannot be interrupted
 * (a disk read under way) finishes first, with its own result. Not
 * reached: ops of other loops, and on io_uring a splice the kernel runs
 * whose fd_in the handle is (only fd_out is matched). Nor an op that waits
 * in a link chain for its turn (CIO_F_LINK): it names the handle by its
 * number, which it looks up only when it starts (as io_uring's kernel
 * does), so it then fails with -CIO_EBADF, or runs on whatever file has
 * that number by then. Cancel such an op first, or link the close after it.
 *
 * A plain close(2) behind cio's back while ops wait on the handle is a
 * mistake, and what follows differs: on io_uring the waiting ops hold the
 * file open (the peer sees no end of file) and go on until they complete,
 * are cancelled or time out; on epoll the file is closed, but the waiting
 * ops never complete by themselves (a cancel, their deadline or the loop's
 * close ends them); on poll they complete with -CIO_EBADF; on IOCP they
 * complete with -CIO_EBADF (a poll too), or whatever the system reports.
 * A later close of that number through cio fails with -CIO_EBADF and
 * cancels nothing. So is a callback that closes its op's handle with
 * plain close(2), gets the same number again for another file (an open,
 * an accept) and posts the op again on it: on epoll that op may wait for
 * ever, as cio keeps the number's registration without a call while an
 * op that has just completed is posted again from its own callback.
 * Close through cio (cio_prep_close, cio_close). On Windows handle values are reused at once: IOCP
 * notices a new handle under an old value at its next op, unless an op of
 * the old handle is still pending then (its packet has not come yet).
 */
static inline void cio_prep_close(cio_op *op, cio_fd fd) {
    cio_prep_(op, CIO_OP_CLOSE);
    op->args.close.fd = fd;
}

/*
 * File status of `path` relative to `dirfd` into `*buf`. With
 * CIO_AT_EMPTY_PATH in `flags` and path "", the status of `dirfd` itself.
 * Windows fills type, mode, nlink, ino (the file index), size, blocks,
 * atime, mtime, ctime (change time) and btime, and sets `mask` to them: no
 * uid or gid; the permission bits are 0666 or 0444 (read-only attribute)
 * for files, 0755 or 0555 for directories, 0777 for links; `dev_minor` is
 * the volume serial number. Pipes, sockets and consoles (by handle) report
 * their type only.
 */
static inline void cio_prep_statx(cio_op *op, cio_fd dirfd, const char *path, int flags,
                                  uint32_t mask, cio_statx *buf) {
    cio_prep_(op, CIO_OP_STATX);
    op->args.statx.dirfd = dirfd;
    op->args.statx.path = path;
    op->args.statx.flags = flags;
    op->args.statx.mask = mask;
    op->args.statx.buf = buf;
}

/* Removes a file, or a directory with CIO_AT_REMOVEDIR in `flags`.
 * A directory without the flag is -CIO_EISDIR (as Linux); a read-only file
 * is removed too. Windows: a file still open elsewhere loses its name at
 * once only where the file system has POSIX deletion (Windows 10 1709 on,
 * NTFS); elsewhere (older systems, FAT, Wine) the name stays, and
 * re-creating it fails with -CIO_EEXIST, until the last handle is closed. */
static inline void cio_prep_unlinkat(cio_op *op, cio_fd dirfd, const char *path, int flags) {
    cio_prep_(op, CIO_OP_UNLINKAT);
    op->args.unlink.dirfd = dirfd;
    op->args.unlink.path = path;
    op->args.unlink.flags = flags;
}

/* Renames `oldpath` to `newpath`; `flags` as renameat2 (0 for a plain rename).
 * Windows (MoveFileExW): CIO_RENAME_NOREPLACE works (-CIO_EEXIST),
 * CIO_RENAME_EXCHANGE fails with -CIO_ENOTSUP; a directory replaces an
 * empty directory, but not atomically there (the empty one is removed
 * first); replacing a file that is open elsewhere may fail with
 * -CIO_EACCES. */
static inline void cio_prep_renameat(cio_op *op, cio_fd olddirfd, const char *oldpath,
                                     cio_fd newdirfd, const char *newpath, uint32_t flags) {
    cio_prep_(op, CIO_OP_RENAMEAT);
    op->args.rename.olddirfd = olddirfd;
    op->args.rename.oldpath = oldpath;
    op->args.rename.newdirfd = newdirfd;
    op->args.rename.newpath = newpath;
    op->args.rename.flags = flags;
}

/* Creates a directory. On Windows `mode` is ignored. */
static inline void cio_prep_mkdirat(cio_op *op, cio_fd dirfd, const char *path, uint32_t mode) {
    cio_prep_(op, CIO_OP_MKDIRAT);
    op->args.mkdir.dirfd = dirfd;
    op->args.mkdir.path = path;
    op->args.mkdir.mode = mode;
}

/* Creates a socket; completes with the new handle. */
static inline void cio_prep_socket(cio_op *op, int domain, int type, int protocol) {
    cio_prep_(op, CIO_OP_SOCKET);
    op->args.socket.domain = domain;
    op->args.socket.type = type;
    op->args.socket.protocol = protocol;
}

/* Binds a socket to `addr` (under the buffer rule). */
static inline void cio_prep_bind(cio_op *op, cio_fd fd, const struct sockaddr *addr,
                                 cio_socklen addrlen) {
    cio_prep_(op, CIO_OP_BIND);
    op->args.addr.fd = fd;
    op->args.addr.addr = addr;
    op->args.addr.addrlen = addrlen;
}

/* Marks a bound socket as listening. */
static inline void cio_prep_listen(cio_op *op, cio_fd fd, int backlog) {
    cio_prep_(op, CIO_OP_LISTEN);
    op->args.listen.fd = fd;
    op->args.listen.backlog = backlog;
}

/*
 * Accepts a connection; completes with the new socket. `addr` and
 * `addrlen` may be NULL; otherwise `*addrlen` is the size of `*addr` on
 * input and the peer address length on output. With CIO_F_MULTISHOT each
 * new connection is one completion (then `addr` should be NULL).
 *
 * Out of descriptors or socket memory (-CIO_EMFILE, -CIO_ENFILE,
 * -CIO_ENOBUFS, -CIO_ENOMEM; Windows reports exhausted sockets as
 * -CIO_ENOBUFS), the pending connection
 * stays queued and an accept retried at once would fail again at once: a
 * server would spin at full CPU until a descriptor is freed. So cio holds
 * such an accept back for CIO_ACCEPT_BACKOFF_NS: a single accept completes
 * with the error after that pause (retrying it then is fine); a multishot
 * accept reports the error at once with CIO_F_MORE set, pauses, and goes
 * on accepting by itself. Cancelling it during the pause works as usual.
 * Freeing descriptors (closing idle connections) is the server's part.
 */
#define CIO_ACCEPT_BACKOFF_NS (100u * 1000u * 1000u)

static inline void cio_prep_accept(cio_op *op, cio_fd fd, struct sockaddr *addr,
                                   cio_socklen *addrlen, int flags) {
    cio_prep_(op, CIO_OP_ACCEPT);
    op->args.accept.fd = fd;
    op->args.accept.addr = addr;
    op->args.accept.addrlen = addrlen;
    op->args.accept.flags = flags;
}

/* Connects a socket to `addr`; completes with 0. */
static inline void cio_prep_connect(cio_op *op, cio_fd fd, const struct sockaddr *addr,
                                    cio_socklen addrlen) {
    cio_prep_bind(op, fd, addr, addrlen);
    op->opcode = CIO_OP_CONNECT;
}

/*
 * Receives up to `len` bytes; completes with the count, 0 when the peer
 * closed. With MSG_WAITALL on a stream socket it goes on until all `len`
 * bytes have arrived, the peer's end of file or an error, and completes with
 * the total; bytes already received are reported even when it then fails,
 * is cancelled or times out (a datagram is one message all the same). The
 * same holds for recvmsg, send and sendmsg, on every backend.
 */
static inline void cio_prep_recv(cio_op *op, cio_fd fd, void *buf, uint32_t len, int flags) {
    cio_prep_(op, CIO_OP_RECV);
    op->args.sr.fd = fd;
    op->args.sr.buf = buf;
    op->args.sr.len = len;
    op->args.sr.flags = flags;
}

/*
 * Receives from `fd` into a buffer of `pool` (cio/bufpool.h) that is taken
 * only when data arrives: completes with the byte count, and
 * cio_op_buf_id(op) names the buffer, which is the caller's from that
 * callback until cio_bufpool_put() (see cio/bufpool.h); 0 when the peer
 * closed (no buffer). `flags`: 0 (CIO_MSG_* flags are -CIO_EINVAL).
 * `pool` must be of the op's loop (-CIO_EINVAL otherwise).
 *
 * With CIO_F_MULTISHOT in op->flags the op stays armed: one completion
 * with CIO_F_MORE per arrival, each with res > 0 and its own buffer,
 * until exactly one final completion (without CIO_F_MORE), which never
 * carries data: 0 at the end of the stream, -CIO_ECANCELED when it is
 * cancelled, its handle closed through cio or the loop closed (data that
 * came first is delivered first, with CIO_F_MORE), -CIO_ETIMEDOUT at its
 * deadline, -CIO_ENOBUFS when the pool ran dry, or another error.
 *
 * Running dry, the same on every backend: a recv_pool submitted while the
 * pool has no free buffer completes at once with -CIO_ENOBUFS; one that
 * waits when the pool runs dry (the caller holds every buffer) goes on
 * waiting, and ends with -CIO_ENOBUFS only when data (or the end of the
 * stream, or an error) comes while no buffer is free. No byte is lost:
 * what came stays in the socket for the next receive. Put buffers back and
 * submit it again to go on. Buffers put back from a callback, before the
 * pool ran dry, keep a multishot recv going. Note that the end of the
 * stream itself ends a dry op with -CIO_ENOBUFS, not 0: the receive that
 * would see it needs a buffer first, so after putting buffers back and
 * submitting again, expect 0 or an error as well as data. To learn when
 * a buffer is free again, queue a waiter with cio_bufpool_notify() (its
 * callback runs inside the cio_bufpool_put() that refills the dry pool)
 * or, in a task, call cio_bufpool_wait() (cio/bufpool.h). One op may be handed many buffers
 * before its callbacks run (on io_uring the kernel fills several per
 * wake-up), up to every free buffer of the pool; and
 * cio_bufpool_available() in the final -CIO_ENOBUFS callback may already
 * be above 0, as completions reaped in the same turn put theirs back
 * first.
 *
 * Datagram sockets: each datagram is one completion; one longer than the
 * pool's buffers is cut to the buffer size (the rest is lost, as recv(2)
 * does). io_uring: IORING_OP_RECV with a buffer ring (and
 * IORING_RECV_MULTISHOT from Linux 6.0; before, each arrival arms the op
 * again, waiting for data first). epoll, poll and the mock: a free list on
 * the loop's thread. Windows (IOCP): a WSARecv of 0 bytes (with MSG_PEEK
 * on datagram sockets) waits for data, then a receive that cannot block
 * takes a buffer from the free list; on a socket that cannot join the
 * completion port (made without WSA_FLAG_OVERLAPPED, or on another loop's
 * port) the wait for data is an AFD poll, as CIO_OP_POLL's, with the same
 * results, multishot included.
 */
static inline void cio_prep_recv_pool(cio_op *op, cio_fd fd, struct cio_bufpool *pool, int flags) {
    cio_prep_(op, CIO_OP_RECV_POOL);
    op->args.recv_pool.fd = fd;
    op->args.recv_pool.pool = pool;
    op->args.recv_pool.flags = flags;
}

/* Sends up to `len` bytes; completes with the count. On Windows (IOCP) a
 * send that does not fit takes what fits and waits with it, where Linux's
 * returns that part at once: if the connection breaks meanwhile, it
 * completes with the count it took, and the next call gets the error. */
static inline void cio_prep_send(cio_op *op, cio_fd fd, const void *buf, uint32_t len, int flags) {
    cio_prep_recv(op, fd, (void *)(uintptr_t)buf, len, flags);
    op->opcode = CIO_OP_SEND;
}

/* recvmsg(): `msg` and everything it points to are under the buffer rule.
 * On Windows (IOCP) recvmsg and sendmsg are WSARecvMsg and WSASendMsg on
 * datagram and raw sockets. Windows has no WSARecvMsg for a stream: there
 * they move the iovecs as recv and send do, the name is ignored (a recvmsg
 * sets its length to 0, as Linux does on a connected stream), and a
 * control buffer makes the op fail with -CIO_ENOTSUP. */
static inline void cio_prep_recvmsg(cio_op *op, cio_fd fd, cio_msghdr *msg, int flags) {
    cio_prep_(op, CIO_OP_RECVMSG);
    op->args.msg.fd = fd;
    op->args.msg.msg = msg;
    op->args.msg.flags = flags;
}

/* sendmsg() (and so sendto). */
static inline void cio_prep_sendmsg(cio_op *op, cio_fd fd, const cio_msghdr *msg, int flags) {
    cio_prep_recvmsg(op, fd, (cio_msghdr *)(uintptr_t)msg, flags);
    op->opcode = CIO_OP_SENDMSG;
}

/*
 * cio_msg_init - fills a cio_msghdr the same way on every platform (it is
 * struct msghdr on POSIX and WSAMSG on Windows, whose fields have other
 * names and types): clears it and points it at an address buffer (`name`
 * of `namelen` bytes: the destination of a sendmsg, where a recvmsg puts
 * the sender's address; NULL and 0 for none), the buffers iov[0..iovcnt)
 * and a control (ancillary data) buffer (NULL and 0 for none). Only
 * writes `msg`; the header and all it points to come under the buffer rule
 * once the op is submitted. A recvmsg rewrites the name length, the
 * control length and the flags: initialise the header again before the
 * next one. On Windows `controllen` must be below 4 GiB.
 */
static inline void cio_msg_init(cio_msghdr *msg, void *name, cio_socklen namelen, cio_iovec *iov,
                                uint32_t iovcnt, void *control, size_t controllen) {
    memset(msg, 0, sizeof *msg);
#if defined(_WIN32)
    msg->name = (LPSOCKADDR)name;
    msg->namelen = namelen;
    msg->lpBuffers = (LPWSABUF)(void *)iov; /* cio_iovec is laid out as WSABUF */
    msg->dwBufferCount = iovcnt;
    msg->Control.buf = (CHAR *)control;
    msg->Control.len = (ULONG)controllen;
#else
    msg->msg_name = name;
    msg->msg_namelen = namelen;
    msg->msg_iov = iov;
    msg->msg_iovlen = iovcnt;
    msg->msg_control = control;
    msg->msg_controllen = controllen;
#endif
}

/* After a recvmsg: its flags (CIO_MSG_TRUNC: the datagram was longer than
 * the buffers, and the rest is lost). */
static inline int cio_msg_flags(const cio_msghdr *msg) {
#if defined(_WIN32)
    return (int)msg->dwFlags;
#else
    return msg->msg_flags;
#endif
}

/* After a recvmsg: the length of the sender's address written to the name
 * buffer (0 when there is none, as on a connected stream socket). */
static inline cio_socklen cio_msg_namelen(const cio_msghdr *msg) {
#if defined(_WIN32)
    return msg->namelen;
#else
    return msg->msg_namelen;
#endif
}

/* After a recvmsg: the bytes of control data written to the control buffer. */
static inline size_t cio_msg_controllen(const cio_msghdr *msg) {
#if defined(_WIN32)
    return (size_t)msg->Control.len;
#else
    return (size_t)msg->msg_controllen;
#endif
}

/* Shuts down one or both directions of a socket (CIO_SHUT_RD, CIO_SHUT_WR, CIO_SHUT_RDWR).
 * An unconnected datagram socket gives -CIO_ENOTCONN and is shut down all
 * the same (its waiting receives end with 0), as on Linux.
 * A listener (SHUT_RD or RDWR): its waiting and later accepts end with
 * -CIO_EINVAL until listen is called on it again. On Windows (IOCP) Winsock
 * cannot stop a listener: cio ends the accepts of the loop the shutdown is
 * submitted to only (submit it on the loop that accepts); connections still
 * queue in the backlog until the socket is closed. */
static inline void cio_prep_shutdown(cio_op *op, cio_fd fd, int how) {
    cio_prep_(op, CIO_OP_SHUTDOWN);
    op->args.shutdown.fd = fd;
    op->args.shutdown.how = how;
}

/*
 * Waits until `fd` is ready for `events` (CIO_POLL*); completes with the
 * ready mask. With CIO_F_MULTISHOT it reports each readiness edge until
 * cancelled (one report when the handle becomes ready, another when new
 * data or a new event comes). The poll backend is the exception: poll(2)
 * has only levels, so there a multishot poll reports on every loop turn
 * while the handle stays ready, until the program drains it (reads until
 * -CIO_EAGAIN) or cancels the poll. For libraries that want readiness
 * rather than completion. The ready mask is the handle's state as poll(2)
 * reports it, limited to the asked events and CIO_POLLERR/CIO_POLLHUP, and
 * on Linux CIO_POLLRDHUP (the peer shut down its side), which every backend
 * watches for and reports whether asked or not, as io_uring's poll does:
 * a poll waiting for other events completes then too.
 * A regular file, directory or block device has no readiness of its own and
 * is always ready, as poll(2) says: the poll completes at once with the
 * asked events among CIO_POLLIN and CIO_POLLOUT, or -CIO_EINVAL when it asks
 * for neither; with CIO_F_MULTISHOT too, that one completion is final (no
 * new edge can come).
 * On Windows (IOCP) a poll on a socket goes through AFD (the driver under
 * Winsock), which reports levels: a multishot poll there behaves as on the
 * poll backend, reporting on every loop turn while the socket stays ready.
 * The peer's end of stream reports CIO_POLLIN, a reset CIO_POLLIN,
 * CIO_POLLERR and CIO_POLLHUP; both also CIO_POLLRDHUP, but only when
 * asked (AFD reports what it is asked for). A disk file is always ready,
 * as above. An
 * overlapped named pipe is always writable (Windows cannot wait for room)
 * and readable when data or its end comes (CIO_POLLIN, or CIO_POLLHUP
 * once the writer has gone). A console, an anonymous pipe or another
 * device has no readiness Windows can report without reading: the poll
 * completes with -CIO_ENOTSUP.
 */
static inline void cio_prep_poll(cio_op *op, cio_fd fd, uint32_t events) {
    cio_prep_(op, CIO_OP_POLL);
    op->args.poll.fd = fd;
    op->args.poll.events = events;
}

/*
 * Moves up to `len` bytes from `fd_in` to `fd_out` without a user-space
 * copy; one of them must be a pipe. Offsets are CIO_OFFSET_CURRENT for a
 * pipe. Completes with the byte count. Linux only: elsewhere cio_submit()
 * refuses it with -CIO_ENOTSUP.
 */
static inline void cio_prep_splice(cio_op *op, cio_fd fd_in, uint64_t off_in, cio_fd fd_out,
                                   uint64_t off_out, uint32_t len, uint32_t flags) {
    cio_prep_(op, CIO_OP_SPLICE);
    op->args.splice.fd_in = fd_in;
    op->args.splice.off_in = off_in;
    op->args.splice.fd_out = fd_out;
    op->args.splice.off_out = off_out;
    op->args.splice.len = len;
    op->args.splice.flags = flags;
}

/*
 * Hands the message `msg` to the loop `target` (usually another thread's):
 * `msg->cb(target, msg)` then runs on the target's thread, with `msg->res`,
 * `msg->data` and `msg->tag` as the sender set them. This op completes on
 * the sender's loop with 0 once the message is delivered to the target's
 * queue (io_uring: MSG_RING into the target ring). `msg` belongs to the
 * runtime until its callback starts on the target.
 */
static inline void cio_prep_post(cio_op *op, cio_loop *target, cio_op *msg) {
    cio_prep_(op, CIO_OP_POST);
    op->args.post.target = target;
    op->args.post.msg = msg;
}

/*
 * Runs the caller's own blocking function, fn(arg), on the blocking pool
 * (libuv's uv_queue_work, tokio's spawn_blocking): the op completes on its
 * loop's thread with fn's return value as op->res. `fn` must not be NULL
 * (-CIO_EINVAL at submit); `arg` is the caller's, untouched by cio, and
 * under the buffer rule like every buffer: it must stay valid until the
 * completion callback runs. fn runs on a pool thread, never on the loop's
 * (except on the mock backend, below), with every signal blocked, as each
 * pool thread has; it may block as long as it likes, but it holds one of
 * the pool's threads (and one of the at most 8 its loop may use at once)
 * meanwhile. It must not call into the loop, except cio_loop_wake() and
 * cio_loop_post(), which are safe from any thread.
 *
 * Cancel and deadlines: cio never interrupts a running fn (a signal or
 * CancelSynchronousIo would break a blocking call inside it the user never
 * expected to fail). A cancel (cio_cancel, CIO_OP_CANCEL, the close of the
 * loop) or a deadline that comes while the call still waits for a pool
 * thread takes it back: it completes with -CIO_ECANCELED (-CIO_ETIMEDOUT
 * for the deadline) and fn never runs. One that comes while fn runs does
 * not stop it: the op completes when fn returns, with fn's result (a
 * CIO_OP_CANCEL carrying the cancel completes with -CIO_EALREADY). So a
 * task blocked in cio_call() that is cancelled resumes only once fn has
 * returned, and cio_loop_close() waits for every running fn of its loop to
 * return. A function that can run long should watch a flag of its own.
 *
 * Mock backend: fn runs on the loop's thread at a simulated time (after a
 * seeded latency, in the seeded order among the other ops), inside
 * cio_loop_run(), so that runs stay deterministic; it must not block there
 * on something only another op could bring, nor call into the loop.
 */
static inline void cio_prep_call(cio_op *op, cio_call_fn fn, void *arg) {
    cio_prep_(op, CIO_OP_CALL);
    op->args.call.fn = fn;
    op->args.call.arg = arg;
}

/*
 * Sets the size of the file `fd` (open for writing) to `len` bytes
 * (ftruncate): cut, or extended with zeros (a hole where the file system
 * has them). Completes with 0. Errors: -CIO_EINVAL (`len` beyond INT64_MAX,
 * `fd` not a regular file (a pipe, socket or directory), or not open for
 * writing, as Linux says), -CIO_EBADF (not
 * open), -CIO_EFBIG, -CIO_ENOSPC, and the system's.
 * io_uring: the kernel's own op from Linux 6.9, else the pool; elsewhere
 * the pool. Windows: SetFileInformationByHandle(FileEndOfFileInfo).
 */
static inline void cio_prep_ftruncate(cio_op *op, cio_fd fd, uint64_t len) {
    cio_prep_(op, CIO_OP_FTRUNCATE);
    op->args.size.fd = fd;
    op->args.size.len = len;
}

/*
 * Allocates storage for the `len` bytes at `off` of the file `fd` (open
 * for writing), so that later writes there do not fail for want of space
 * (fallocate). `mode` 0: the size grows to off + len if that is past the
 * end (the new bytes read as zeros); CIO_FALLOCATE_KEEP_SIZE: the size
 * stays. Completes with 0. Errors: -CIO_EINVAL (`len` 0, `off` or the end
 * beyond INT64_MAX, an unknown mode), -CIO_EBADF, -CIO_ENOSPC, -CIO_EFBIG,
 * -CIO_ENOTSUP (the file system cannot, or a Linux-only mode elsewhere),
 * -CIO_ESPIPE (a pipe), and the system's (Linux: ENODEV for a socket).
 * io_uring: the kernel's op; epoll, poll: fallocate(2) on the pool (Linux;
 * elsewhere posix_fallocate for mode 0, -CIO_ENOTSUP for KEEP_SIZE).
 * Windows (pool): SetFileInformationByHandle(FileAllocationInfo) to cover
 * off + len, then FileEndOfFileInfo for mode 0 when that grows the file;
 * Windows' reservation is of clusters from the start of the file, so a
 * range far past the end reserves the gap too, and one past the end of
 * the file (KEEP_SIZE) lasts only while a handle is open.
 */
static inline void cio_prep_fallocate(cio_op *op, cio_fd fd, int mode, uint64_t off, uint64_t len) {
    cio_prep_(op, CIO_OP_FALLOCATE);
    op->args.size.fd = fd;
    op->args.size.mode = mode;
    op->args.size.offset = off;
    op->args.size.len = len;
}

/*
 * Creates the symbolic link `linkpath` (relative to `newdirfd`, or
 * CIO_AT_FDCWD) whose contents are `target` (symlinkat: `target` is not
 * looked at; it may name nothing). Both strings are under the buffer rule.
 * Completes with 0. Errors: -CIO_EINVAL (either NULL), -CIO_EEXIST,
 * -CIO_ENOENT (a missing directory in `linkpath`, or an empty string),
 * -CIO_ENOTDIR, -CIO_EACCES, -CIO_EPERM, -CIO_ENOSPC, -CIO_ENAMETOOLONG.
 * io_uring: the kernel's op; elsewhere the pool. Windows:
 * CreateSymbolicLinkW (UTF-8 paths, '/' turned to '\\' in the target), with
 * SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE; a directory link when
 * `target`, taken from the link's directory, is a directory at the time.
 * Creating links needs Developer Mode or the privilege on Windows:
 * -CIO_EPERM without; -CIO_ENOTSUP where the system says yes and makes
 * nothing (Wine 8).
 */
static inline void cio_prep_symlinkat(cio_op *op, const char *target, cio_fd newdirfd, const char *linkpath) {
    cio_prep_(op, CIO_OP_SYMLINKAT);
    op->args.link.olddirfd = CIO_AT_FDCWD;
    op->args.link.oldpath = target;
    op->args.link.newdirfd = newdirfd;
    op->args.link.newpath = linkpath;
}

/*
 * Creates the hard link `newpath` (relative to `newdirfd`) to the file
 * `oldpath` (relative to `olddirfd`): linkat. `flags`: 0, or
 * CIO_AT_SYMLINK_FOLLOW to link the file a symbolic link `oldpath` points
 * to rather than the link itself. Both paths under the buffer rule.
 * Completes with 0. Errors: -CIO_EINVAL (a path NULL, an unknown flag),
 * -CIO_EEXIST, -CIO_ENOENT, -CIO_EPERM (`oldpath` a directory), -CIO_EXDEV
 * (another file system), and the system's.
 * io_uring: the kernel's op; elsewhere the pool. Windows: CreateHardLinkW
 * (a link to the link itself without the flag is not possible there: a
 * symbolic link `oldpath` is followed either way).
 */
static inline void cio_prep_linkat(cio_op *op, cio_fd olddirfd, const char *oldpath, cio_fd newdirfd,
                                   const char *newpath, int flags) {
    cio_prep_(op, CIO_OP_LINKAT);
    op->args.link.olddirfd = olddirfd;
    op->args.link.oldpath = oldpath;
    op->args.link.newdirfd = newdirfd;
    op->args.link.newpath = newpath;
    op->args.link.flags = flags;
}

/*
 * Reads the next entries of the open directory `dirfd` (opened with
 * CIO_O_DIRECTORY | CIO_O_RDONLY) into `buf` as packed cio_dirent records
 * (walk them with cio_dirent_next()); completes with the bytes filled, 0
 * once every entry has been read. "." and ".." are left out. The handle
 * keeps the place, as getdents(2) does: the next readdir on it goes on
 * where this one stopped; entries added or removed meanwhile may or may
 * not be seen (POSIX's readdir), the others are seen exactly once. Do not
 * run two readdirs on one handle at once. `buf` (8-aligned, under the
 * buffer rule) should hold a few KiB: one that cannot hold the next
 * record (about 280 bytes for the longest name; Windows asks 1 KiB) fails
 * with -CIO_EINVAL, as getdents64. Errors: -CIO_EINVAL (`buf` NULL or
 * misaligned, `len` too small), -CIO_ENOTDIR (not a directory),
 * -CIO_EBADF, -CIO_ENOENT (the directory was removed). Every backend runs
 * it on the pool (io_uring has no such op): Linux getdents64; Windows
 * GetFileInformationByHandleEx (FileIdBothDirectoryInfo, or
 * FileFullDirectoryInfo with `ino` 0 where the former is refused; `type`
 * CIO_DT_DIR, CIO_DT_LNK for a symbolic-link reparse point, else
 * CIO_DT_REG). Other POSIX systems: readdir(3) on a duplicate of the
 * handle, whose position is handed back with lseek(telldir()), right
 * where telldir() is the file offset (glibc, musl; unverified on macOS and
 * the BSDs).
 */
static inline void cio_prep_readdir(cio_op *op, cio_fd dirfd, void *buf, uint32_t len) {
    cio_prep_(op, CIO_OP_READDIR);
    op->args.readdir.fd = dirfd;
    op->args.readdir.buf = buf;
    op->args.readdir.len = len;
}

/*
 * Copies up to `len` bytes from `fd_in` at `off_in` to `fd_out` at
 * `off_out` inside the kernel where it can (copy_file_range on Linux,
 * which may share the blocks, as a reflink); completes with the bytes
 * copied: fewer than `len` at the end of `fd_in` (0 there) or when the
 * kernel copied less at once, as write(2) may (loop for the rest). An
 * offset of CIO_OFFSET_CURRENT uses and moves that file's position. Where
 * copy_file_range cannot (another file system: -EXDEV; not a regular file,
 * an old kernel: -EINVAL, -ENOSYS, -EOPNOTSUPP) and on every other system
 * it reads and writes through a buffer on the pool thread: then too the
 * count may fall short of `len`, and an error after some bytes reports
 * those bytes. Errors: -CIO_EBADF (a handle not open, or not for reading,
 * respectively writing, or `fd_out` opened to append), -CIO_EISDIR,
 * -CIO_EINVAL (an offset beyond INT64_MAX, overlapping ranges of one file),
 * -CIO_ENOSPC, -CIO_EFBIG, and the system's. Every backend runs it on the
 * pool. Windows: CIO_OFFSET_CURRENT there is the handle's file pointer,
 * which IOCP's own reads and writes at CIO_OFFSET_CURRENT do not move (it
 * keeps its position apart, see cio_prep_read): give offsets there. Mock
 * backend: between simulated files only (else -CIO_EINVAL).
 */
static inline void cio_prep_copy_range(cio_op *op, cio_fd fd_in, uint64_t off_in, cio_fd fd_out, uint64_t off_out,
                                       uint32_t len) {
    cio_prep_(op, CIO_OP_COPY_RANGE);
    op->args.copy.fd_in = fd_in;
    op->args.copy.off_in = off_in;
    op->args.copy.fd_out = fd_out;
    op->args.copy.off_out = off_out;
    op->args.copy.len = len;
}

/*
 * Zero-copy sends (CIO_OP_SEND_ZC, CIO_OP_SENDMSG_ZC).
 *
 * cio_prep_send_zc() is cio_prep_send() whose bytes the kernel may send
 * straight from the caller's pages instead of copying them into the
 * socket first. It pays for large sends (tens of KiB and more) over TCP or
 * UDP on a real network device; for small ones pinning the pages costs
 * more than the copy. What the caller sees is the same on every backend:
 *
 * - The op completes exactly once, with what a plain send gives: the byte
 *   count (perhaps short, as send(2), unless CIO_MSG_WAITALL is given) or
 *   a negative error; with CIO_MSG_WAITALL, the count sent before an
 *   error, a cancel or the deadline, if any.
 * - It completes only once the kernel no longer reads the buffer, which
 *   then is the caller's again: it may be changed, reused or freed in the
 *   callback (or after cio_send_zc() returns in a task). Before the
 *   callback, changing the buffer may change the bytes the peer gets.
 *   With zero copy the kernel lets go of the pages later than it accepts
 *   the bytes: over TCP when the peer has acknowledged them, so a peer
 *   that does not read keeps the op waiting after its bytes are queued.
 *   (io_uring reports the two events apart, the count and then a
 *   notification; cio delivers one completion, after both.)
 * - A cancel (cio_cancel, CIO_OP_CANCEL) or a deadline that comes while
 *   the send waits for room in the socket ends it as it ends a plain send:
 *   -CIO_ECANCELED, -CIO_ETIMEDOUT, or with CIO_MSG_WAITALL the count sent
 *   so far. One that comes after the bytes were queued changes nothing
 *   (a CIO_OP_CANCEL completes with -CIO_ENOENT): the op completes with
 *   its count when the kernel lets go of the buffer.
 * - Closing the handle through cio ends the ops still waiting to send,
 *   as for any op; an op whose bytes are queued already no longer uses
 *   the handle and may complete after the close does. Its buffer is the
 *   kernel's until the peer takes the bytes or the connection ends, and
 *   cio_loop_close() waits for it too: to drop unsent bytes at once, set
 *   SO_LINGER to {1, 0} on the socket before closing it.
 *
 * Where the bytes are not copied: io_uring from Linux 6.0 (send_zc) and
 * 6.1 (sendmsg_zc), on TCP and UDP sockets, when the device can send from
 * user pages; over loopback the kernel copies after all, when it delivers
 * the bytes (see cio_op_zc_copied()). Everywhere else (an older kernel,
 * io_uring with CIO_URING_DISABLE=send_zc in the environment, epoll,
 * poll, IOCP, the mock, a socket the kernel cannot send from user pages
 * such as AF_UNIX) the op is a plain copying send, with the same result.
 * `flags`, errors and link rules are those of cio_prep_send(). Link
 * chains with a zero-copy send in them run op by op in the core (the next
 * op waits for the buffer to be released), not as kernel links.
 */
#define CIO_ZC_FIXED 0x1u  /* args.sr.zc: the buffer is a registered one (cio_prep_send_zc_fixed) */
#define CIO_ZC_COPIED 0x2u /* args.sr.zc, args.msg.zc: set by cio; see cio_op_zc_copied() */

static inline void cio_prep_send_zc(cio_op *op, cio_fd fd, const void *buf, uint32_t len, int flags) {
    cio_prep_send(op, fd, buf, len, flags);
    op->opcode = CIO_OP_SEND_ZC;
}

/* sendmsg() without the copy, as cio_prep_send_zc() is send(): `msg` and
 * all it points to (the iovecs, their buffers, the address, the control
 * data) are the kernel's until the completion. */
static inline void cio_prep_sendmsg_zc(cio_op *op, cio_fd fd, const cio_msghdr *msg, int flags) {
    cio_prep_sendmsg(op, fd, msg, flags);
    op->opcode = CIO_OP_SENDMSG_ZC;
}

/*
 * cio_prep_send_zc() from a buffer registered with cio_buffers_register()
 * (cio/fixed.h): [buf, buf + len) must lie inside the registered buffer
 * `buf_index`, else cio_submit() refuses the op with -CIO_EFAULT (also
 * when no buffers are registered), on every backend. On io_uring the
 * kernel then uses the pages it pinned at registration
 * (IORING_RECVSEND_FIXED_BUF) rather than pinning them for each send.
 */
static inline void cio_prep_send_zc_fixed(cio_op *op, cio_fd fd, const void *buf, uint32_t len, int flags,
                                          uint16_t buf_index) {
    cio_prep_send_zc(op, fd, buf, len, flags);
    op->args.sr.buf_index = buf_index;
    op->args.sr.zc = CIO_ZC_FIXED;
}

/*
 * cio_op_zc_copied - in the completion callback of a send_zc or
 * sendmsg_zc with op->res > 0 (or in a task after cio_await() of such an
 * op: cio_send_zc() does not show its op): true when the bytes were
 * copied after all. That is so where the
 * send was a plain one (see above), and on io_uring from Linux 6.2 when
 * the kernel reports that it copied (IORING_SEND_ZC_REPORT_USAGE:
 * loopback, a device that cannot send from user pages). False when the
 * kernel sent from the pages, or (io_uring on Linux 6.0 and 6.1) did not
 * say. False for any other op.
 */
static inline bool cio_op_zc_copied(const cio_op *op) {
    if (op->opcode == CIO_OP_SEND_ZC) return (op->args.sr.zc & CIO_ZC_COPIED) != 0;
    if (op->opcode == CIO_OP_SENDMSG_ZC) return (op->args.msg.zc & CIO_ZC_COPIED) != 0;
    return false;
}

/*
 * Reads and writes through registered buffers (CIO_OP_READ_FIXED,
 * CIO_OP_WRITE_FIXED): cio_prep_read() and cio_prep_write() whose buffer
 * lies inside the buffer `buf_index` registered with
 * cio_buffers_register() (cio/fixed.h). [buf, buf + len) must lie inside
 * it, else cio_submit() refuses the op with -CIO_EFAULT (also when no
 * buffers are registered), on every backend, before anything is done.
 * Results, offsets, errors and link rules are those of cio_prep_read() and
 * cio_prep_write() (a short read_fixed, at the end of a file, completes
 * with its byte count and breaks a soft link after it, so that a linked
 * write of the block does not run). On io_uring the kernel uses the pages it pinned at
 * registration (IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED), which
 * saves pinning them for every op, most of all for O_DIRECT files;
 * elsewhere these are plain reads and writes.
 */
static inline void cio_prep_read_fixed(cio_op *op, cio_fd fd, void *buf, uint32_t len, uint64_t offset,
                                       uint16_t buf_index) {
    cio_prep_rw_(op, CIO_OP_READ_FIXED, fd, buf, len, offset);
    op->args.rw.buf_index = buf_index;
}

static inline void cio_prep_write_fixed(cio_op *op, cio_fd fd, const void *buf, uint32_t len, uint64_t offset,
                                        uint16_t buf_index) {
    cio_prep_rw_(op, CIO_OP_WRITE_FIXED, fd, (void *)(uintptr_t)buf, len, offset);
    op->args.rw.buf_index = buf_index;
}

#ifdef __cplusplus
}
#endif

#endif /* CIO_OP_H */
