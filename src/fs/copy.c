/*
 * src/fs/copy.c - copying a file (CIO_OP_COPY_RANGE in chunks: where
 * copy_file_range cannot, the op itself reads and writes on the pool, so
 * there is no second path here) and sending a file over a socket.
 */
#include "fs_internal.h"

#include "cio/net.h"

/* One copy_range op asks for at most this much: small enough that a cancel
 * or a deadline is not kept waiting behind a huge in-kernel copy (a pool
 * thread cannot stop a copy_file_range under way). */
#define COPY_CHUNK (16u << 20)

static bool same_file(const cio_statx *a, const cio_statx *b) {
    return (a->mask & CIO_STATX_INO) && (b->mask & CIO_STATX_INO) && a->ino == b->ino &&
           a->dev_major == b->dev_major && a->dev_minor == b->dev_minor;
}

int64_t cio_fs_copy_file(const char *src, const char *dst, uint32_t flags) {
    FS_NEED_TASK();
    if (!src || !dst || (flags & ~CIO_FS_COPY_EXCL)) return -CIO_EINVAL;
    intptr_t hi = cio_openat(CIO_AT_FDCWD, src, FS_OPEN_FLAGS(CIO_O_RDONLY), 0);
    if (hi < 0) return hi;
    cio_fd in = (cio_fd)hi, out = CIO_FD_INVALID;
    uint64_t done = 0;
    cio_statx si, so;
    int64_t r = cio_stat(in, "", CIO_AT_EMPTY_PATH, CIO_STATX_TYPE | CIO_STATX_MODE | CIO_STATX_INO, &si);
    if (r < 0) goto out;
    if ((si.mask & CIO_STATX_TYPE) && (si.mode & CIO_S_IFMT) == CIO_S_IFDIR) {
        r = -CIO_EISDIR;
        goto out;
    }
    uint32_t mode = (si.mask & CIO_STATX_MODE) ? si.mode & 07777u : 0644u;
    /* Opening `dst` with O_TRUNC would empty `src` if they are one file:
     * look first (a race with a rename in between is the caller's). */
    if (cio_stat(CIO_AT_FDCWD, dst, 0, CIO_STATX_TYPE | CIO_STATX_INO, &so) == 0 && same_file(&si, &so)) {
        r = -CIO_EINVAL;
        goto out;
    }
    int oflags = CIO_O_WRONLY | CIO_O_CREAT | CIO_O_TRUNC | ((flags & CIO_FS_COPY_EXCL) ? CIO_O_EXCL : 0);
    intptr_t ho = cio_openat(CIO_AT_FDCWD, dst, FS_OPEN_FLAGS(oflags), mode);
    if (ho < 0) {
        r = ho;
        goto out;
    }
    out = (cio_fd)ho;
    for (;;) {
        cio_op op;
        cio_prep_copy_range(&op, in, done, out, done, COPY_CHUNK);
        int32_t n = cio_await(&op);
        if (n == -CIO_EINTR) continue;
        if (n <= 0) {
            r = n;
            break;
        }
        done += (uint64_t)n;
    }
out:
    if (out != CIO_FD_INVALID) {
        int32_t c = cio_close(out);
        if (r >= 0 && c < 0) r = c; /* a late write error (NFS) shows at close */
    }
    (void)cio_close(in);
    return r < 0 ? r : (int64_t)done;
}

/* ---- sending a file ---- */

/* Splice from this many bytes on: below it a pipe's setup costs more than
 * the copy it saves. One splice moves at most what a pipe holds by
 * default. */
#define SPLICE_MIN (64u * 1024u)
#define SPLICE_CHUNK (64u * 1024u)

/* Sends all `len` bytes of `buf` over `sock`: a send, or a write for a
 * handle that is no socket (a pipe), as *use_write says and learns. */
static int64_t send_all(cio_fd sock, const unsigned char *buf, size_t len, int *use_write, uint64_t *sent) {
    size_t off = 0;
    while (off < len) {
        uint32_t m = fs_chunk(len - off);
        int32_t n = *use_write ? cio_write(sock, buf + off, m, CIO_OFFSET_CURRENT)
                               : cio_send(sock, buf + off, m, FS_MSG_NOSIGNAL);
        if (n == -CIO_ENOTSOCK && !*use_write) {
            *use_write = 1;
            continue;
        }
        if (n == -CIO_EINTR) continue;
        if (n < 0) return n;
        if (n == 0) return -CIO_EIO;
        off += (size_t)n;
        *sent += (uint64_t)n;
    }
    return 0;
}

/* Reads from `src` (at `off` on, or at its position for CIO_OFFSET_CURRENT)
 * and sends what it read, until `left` bytes went (0) or `src` ended (1).
 * The buffer is on the task's stack, no allocation: large ranges take the
 * splice path where there is one, and a send of 16 KiB keeps a socket's
 * buffer busy as well as a bigger one would. */
static int64_t read_send(cio_fd sock, cio_fd src, uint64_t off, uint64_t left, int *use_write, uint64_t *done) {
    unsigned char buf[16u * 1024u];
    uint64_t moved = 0;
    while (moved < left) {
        uint64_t rest = left - moved;
        uint32_t want = rest < sizeof buf ? (uint32_t)rest : (uint32_t)sizeof buf;
        int32_t n = cio_read(src, buf, want, fs_next_offset(off, moved));
        if (n == -CIO_EINTR) continue;
        if (n <= 0) return n < 0 ? n : 1;
        int64_t r = send_all(sock, buf, (size_t)n, use_write, done);
        if (r < 0) return r;
        moved += (uint64_t)n;
    }
    return 0;
}

#if defined(__linux__)
/* A splice that says "not this pair of handles" rather than a failure of
 * the transfer: the read and send path can still do it. */
static bool splice_refused(int32_t n) { return n == -CIO_EINVAL || n == -CIO_ENOTSUP || n == -CIO_ENOSYS; }

/* file -> pipe -> socket with splice: the bytes never enter user space.
 * Returns 0 when done (or the file ended), an error, or 1 when splice is
 * refused before anything moved past the pipe's drain (go on by hand). */
static int64_t send_splice(cio_fd sock, cio_fd file, uint64_t offset, uint64_t len, int *use_write,
                           uint64_t *done) {
    cio_fd pp[2];
    if (cio_pipe(cio_task_loop(), pp) < 0) return 1;
    int64_t r = 0;
    while (*done < len) {
        uint64_t left = len - *done;
        uint32_t want = left < SPLICE_CHUNK ? (uint32_t)left : SPLICE_CHUNK;
        int32_t n = cio_splice(file, offset + *done, pp[1], CIO_OFFSET_CURRENT, want, CIO_SPLICE_F_MOVE);
        if (n == -CIO_EINTR) continue;
        if (n < 0 && splice_refused(n)) {
            r = 1;
            break;
        }
        if (n <= 0) {
            r = n;
            break;
        }
        uint32_t moved = 0;
        while (moved < (uint32_t)n) {
            int32_t k = cio_splice(pp[0], CIO_OFFSET_CURRENT, sock, CIO_OFFSET_CURRENT, (uint32_t)n - moved,
                                   CIO_SPLICE_F_MOVE);
            if (k == -CIO_EINTR) continue;
            if (k < 0 && splice_refused(k)) { /* e.g. not a socket splice can write */
                /* The bytes it left in the pipe go out by read and send;
                 * a pipe that ends before them lost some. */
                r = read_send(sock, pp[0], CIO_OFFSET_CURRENT, (uint32_t)n - moved, use_write, done);
                r = r == 0 ? 1 : r == 1 ? -CIO_EIO : r;
                goto out;
            }
            if (k < 0) {
                r = k;
                goto out;
            }
            if (k == 0) {
                r = -CIO_EIO;
                goto out;
            }
            moved += (uint32_t)k;
            *done += (uint64_t)k;
        }
    }
out:
    (void)cio_close(pp[0]);
    (void)cio_close(pp[1]);
    return r;
}
#endif

int64_t cio_file_send(cio_fd sock, cio_fd file, uint64_t offset, uint64_t len, uint64_t *sent) {
    uint64_t done = 0;
    if (sent) *sent = 0;
    FS_NEED_TASK();
    if (offset > (uint64_t)INT64_MAX) return -CIO_EINVAL; /* CIO_OFFSET_CURRENT too: the position is not used */
    if (len == 0) return 0;
    int use_write = 0;
    int64_t r = 1; /* 1: the rest by read and send */
#if defined(__linux__)
    if (len >= SPLICE_MIN) r = send_splice(sock, file, offset, len, &use_write, &done);
#endif
    if (r > 0) r = read_send(sock, file, offset + done, len - done, &use_write, &done);
    if (sent) *sent = done;
    return r < 0 ? r : (int64_t)done;
}
