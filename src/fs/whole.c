/*
 * src/fs/whole.c - whole files: read one into a buffer (the caller's or a
 * new one), and replace one atomically (temporary file, fsync, rename,
 * fsync of the directory).
 */
#include "fs_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Reads from `fd` at the offset `got` on until `cap` is full or the end.
 * Returns the total, or an error with *got the bytes in buf. */
static int64_t read_upto(cio_fd fd, unsigned char *buf, size_t cap, size_t *got) {
    size_t n = 0;
    /* buf may be NULL with cap 0 (a read that only asks "is it empty?"). */
    int64_t r = cio_file_read_all(fd, buf ? buf + *got : NULL, cap - *got, *got, &n);
    *got += n;
    return r < 0 ? r : (int64_t)*got;
}

/* Is there a byte at `off`? 1, 0 at the end, or an error. Asked once the
 * buffer is full: the size stat reports is not trusted (/proc says 0, a
 * file may grow). */
static int32_t more_at(cio_fd fd, uint64_t off) {
    unsigned char probe;
    int32_t r;
    do r = cio_read(fd, &probe, 1, off);
    while (r == -CIO_EINTR);
    return r < 0 ? r : r > 0;
}

int64_t cio_fs_read_file(const char *path, void *buf, size_t cap) {
    FS_NEED_TASK();
    if (!path || (!buf && cap)) return -CIO_EINVAL;
    intptr_t h = cio_openat(CIO_AT_FDCWD, path, FS_OPEN_FLAGS(CIO_O_RDONLY), 0);
    if (h < 0) return h;
    cio_fd fd = (cio_fd)h;
    size_t got = 0;
    int64_t r = read_upto(fd, (unsigned char *)buf, cap, &got);
    if (r >= 0 && got == cap) {
        int32_t m = more_at(fd, got);
        if (m != 0) r = m > 0 ? -CIO_ERANGE : m;
    }
    int32_t c = cio_close(fd);
    if (r >= 0 && c < 0) r = c;
    return r;
}

int64_t cio_fs_read_file_alloc(const char *path, size_t limit, void **out) {
    if (out) *out = NULL;
    FS_NEED_TASK();
    if (!path || !out) return -CIO_EINVAL;
    if (limit >= SIZE_MAX - 1) limit = SIZE_MAX - 2; /* room for the NUL and the probe */
    intptr_t h = cio_openat(CIO_AT_FDCWD, path, FS_OPEN_FLAGS(CIO_O_RDONLY), 0);
    if (h < 0) return h;
    cio_fd fd = (cio_fd)h;
    /* The size stat gives is a first guess only: start there (plus a
     * little, to see the end in one read), grow by doubling when it lies. */
    cio_statx st;
    size_t cap = 4096; /* also for files that say 0 (/proc): a few reads, not a dozen */
    if (cio_stat(fd, "", CIO_AT_EMPTY_PATH, CIO_STATX_SIZE, &st) == 0 && (st.mask & CIO_STATX_SIZE) &&
        st.size >= cap && st.size < (uint64_t)SIZE_MAX - 4096)
        cap = (size_t)st.size + 1;
    if (cap > limit + 1) cap = limit + 1;
    unsigned char *buf = NULL;
    size_t got = 0;
    int64_t r;
    for (;;) {
        unsigned char *nb = (unsigned char *)realloc(buf, cap + 1); /* + the NUL */
        if (!nb) {
            r = -CIO_ENOMEM;
            break;
        }
        buf = nb;
        r = read_upto(fd, buf, cap, &got);
        if (r < 0) break;
        if (got < cap) break; /* the end came first: the whole file */
        if (got > limit) {    /* one byte past the limit was found */
            r = -CIO_ERANGE;
            break;
        }
        size_t next = cap <= (limit + 1) / 2 ? cap * 2 : limit + 1;
        if (next == cap) { /* cap == limit + 1 == got: cannot happen, got > limit above */
            r = -CIO_ERANGE;
            break;
        }
        cap = next;
    }
    int32_t c = cio_close(fd);
    if (r >= 0 && c < 0) r = c;
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[got] = 0;
    *out = buf;
    return (int64_t)got;
}

void cio_fs_free(void *p) { free(p); }

/* ---- atomic replacement ---- */

static _Atomic uint64_t tmp_counter;

/* The most bytes of the file's name that go into the temporary name. */
#define TMP_NAME_MAX 200u

/* A number for the temporary name: different for every call of this
 * process, and unlikely to meet another process's (O_EXCL settles it
 * when it does). Built from the loop's clock and a counter only, so that a
 * seeded mock run names its files the same every time. */
static uint64_t tmp_token(void) {
    uint64_t x = atomic_fetch_add(&tmp_counter, 1) + 1;
    cio_loop *loop = cio_task_loop();
    x ^= (loop ? cio_now(loop) : 0) * 0x9e3779b97f4a7c15ull;
    /* splitmix64's finaliser: every input bit reaches every output bit */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int is_sep(char c) {
#if defined(_WIN32)
    return c == '/' || c == '\\';
#else
    return c == '/';
#endif
}

/* Splits `path` at its last separator: the directory part is path[0, *base),
 * the name path[*base, end). A path ending in a separator names no file. */
static int32_t split_path(const char *path, size_t *base) {
    size_t n = strlen(path), b = 0;
    if (n == 0) return -CIO_ENOENT;
    if (is_sep(path[n - 1])) return -CIO_EISDIR;
    for (size_t i = 0; i < n; i++)
        if (is_sep(path[i])) b = i + 1;
#if defined(_WIN32)
    if (b == 0 && n >= 2 && path[1] == ':') b = 2; /* "C:name": relative to that drive's directory */
#endif
    *base = b;
    return 0;
}

#if !defined(_WIN32)
/* fsync of the directory that holds the new name, so that the rename is
 * on storage too. */
static int32_t sync_dir(const char *path, size_t base) {
    char *dir;
    if (base == 0) {
        dir = NULL;
    } else {
        size_t n = base;
        while (n > 1 && is_sep(path[n - 1])) n--; /* "a//b" -> "a"; "/b" -> "/" */
        dir = (char *)malloc(n + 1);
        if (!dir) return -CIO_ENOMEM;
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    intptr_t h = cio_openat(CIO_AT_FDCWD, dir ? dir : ".", FS_OPEN_FLAGS(CIO_O_RDONLY | CIO_O_DIRECTORY), 0);
    free(dir);
    if (h < 0) return (int32_t)h;
    int32_t r = cio_fsync((cio_fd)h, 0);
    int32_t c = cio_close((cio_fd)h);
    return r < 0 ? r : c;
}
#endif

/* A removal that outlives the task: the op and the path in one block,
 * freed by the op's completion. */
typedef struct bg_unlink {
    cio_op op;
    char *path;
} bg_unlink;

static void bg_unlink_done(cio_loop *loop, cio_op *op) {
    (void)loop;
    bg_unlink *b = (bg_unlink *)(void *)op;
    free(b->path);
    free(b);
}

/* Removes the temporary file `path` (malloc'd; this takes it) after a
 * failure. A cancelled task, or one past its deadline scope, cannot
 * await any op but a close, yet the name must not stay behind: then the
 * unlink is submitted on the task's loop as a plain op of its own, which
 * completes (and frees itself) after the call has returned; a loop close
 * completes it too (-CIO_ECANCELED, the name stays: nothing can be done
 * then). */
static void fs_unlink_quiet(char *path) {
    int32_t r = cio_unlinkat(CIO_AT_FDCWD, path, 0);
    if (r != -CIO_ECANCELED && r != -CIO_ETIMEDOUT) {
        free(path);
        return;
    }
    bg_unlink *b = (bg_unlink *)malloc(sizeof *b);
    cio_loop *loop = cio_task_loop();
    if (b && loop) {
        cio_prep_unlinkat(&b->op, CIO_AT_FDCWD, path, 0);
        b->op.cb = bg_unlink_done;
        b->path = path;
        if (cio_submit(loop, &b->op) == 0) return;
    }
    free(b);
    free(path);
}

int32_t cio_fs_write_file_atomic(const char *path, const void *data, size_t len, uint32_t mode) {
    FS_NEED_TASK();
    if (!path || (!data && len)) return -CIO_EINVAL;
    size_t base;
    int32_t r = split_path(path, &base);
    if (r < 0) return r;
    if (mode == 0) {
        cio_statx st;
        r = cio_stat(CIO_AT_FDCWD, path, 0, CIO_STATX_MODE, &st);
        if (r == 0 && (st.mask & CIO_STATX_MODE))
            mode = st.mode & 07777u;
        else if (r < 0 && r != -CIO_ENOENT)
            return r;
        if (mode == 0) mode = 0644;
    }
    /* "<dir>/.<name>.<16 hex>.tmp", the name cut to TMP_NAME_MAX bytes so
     * that the whole stays within NAME_MAX (255) */
    size_t n = strlen(path), name = n - base > TMP_NAME_MAX ? TMP_NAME_MAX : n - base;
    while (name > 0 && base + name < n && ((unsigned char)path[base + name] & 0xc0) == 0x80)
        name--; /* not inside a UTF-8 character (Windows would refuse the name) */
    char *tmp = (char *)malloc(base + 1 + name + 1 + 16 + 4 + 1);
    if (!tmp) return -CIO_ENOMEM;
    intptr_t h = -CIO_EEXIST;
    for (int tries = 0; tries < 16 && h == -CIO_EEXIST; tries++) {
        memcpy(tmp, path, base);
        tmp[base] = '.';
        memcpy(tmp + base + 1, path + base, name);
        char *p = tmp + base + 1 + name;
        *p++ = '.';
        uint64_t tok = tmp_token();
        for (int i = 15; i >= 0; i--, tok >>= 4) p[i] = "0123456789abcdef"[tok & 15u];
        memcpy(p + 16, ".tmp", 5);
        h = cio_openat(CIO_AT_FDCWD, tmp, FS_OPEN_FLAGS(CIO_O_WRONLY | CIO_O_CREAT | CIO_O_EXCL), mode);
    }
    if (h < 0) {
        free(tmp);
        return (int32_t)h;
    }
    cio_fd fd = (cio_fd)h;
    int64_t w = cio_file_write_all(fd, data, len, 0, NULL);
    r = w < 0 ? (int32_t)w : cio_fsync(fd, 0);
    int32_t c = cio_close(fd);
    if (r == 0) r = c;
    if (r == 0) r = cio_renameat(CIO_AT_FDCWD, tmp, CIO_AT_FDCWD, path, 0);
    if (r < 0) {
        fs_unlink_quiet(tmp); /* takes `tmp` */
        return r;
    }
    free(tmp);
#if defined(_WIN32)
    return 0; /* no directory flush on Windows: NTFS journals the rename */
#else
    return sync_dir(path, base);
#endif
}
