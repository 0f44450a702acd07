/*
 * src/backend/mock_fs.c - the mock's in-memory file system (cio/mock.h):
 * a tree of directories and regular files per loop, the open file
 * descriptions on it, and what openat, read, write, readv, writev, fsync,
 * poll, statx, unlinkat, renameat, mkdirat and splice do there, as Linux
 * does them on tmpfs. Nothing here reaches the real file system.
 *
 * Each op does all it does at its try (the end of its latency), on the
 * world as it is then, so that a cancel, a deadline or a close that comes
 * first leaves the world untouched. File data is kept in pages of
 * MOCK_PAGE bytes, only where something was written: holes cost nothing
 * and statx counts blocks as tmpfs does. The capacity is counted in those
 * pages, so that a runaway program gets ENOSPC rather than the machine's
 * memory.
 */
#include <errno.h>
#include <stdlib.h>

#include "mock_chan.h"

#define MOCK_PAGE 4096u
#define MOCK_PATH_MAX 4096u /* PATH_MAX: with its NUL */
#define MOCK_NAME_MAX 255u  /* NAME_MAX */
#define MOCK_MAX_RW 0x7ffff000u /* Linux's MAX_RW_COUNT: what one read or write moves at most */
#define MOCK_MAX_SIZE INT64_MAX /* tmpfs' s_maxbytes on 64-bit */
#define MOCK_UMASK 022u         /* the simulated process's umask (cio/mock.h) */
#define MOCK_DIRENT_SIZE 20u    /* tmpfs' BOGO_DIRENT_SIZE: a directory's size per entry */
#define MOCK_DAY_NS (86400ull * 1000 * 1000 * 1000)

#define MOCK_CAPACITY_PAGES (CIO_MOCK_FS_CAPACITY / MOCK_PAGE)

typedef struct fs_node fs_node;

typedef struct fs_entry {
    char *name; /* NUL-terminated, at most MOCK_NAME_MAX bytes */
    fs_node *node;
} fs_entry;

typedef struct fs_page {
    uint64_t index; /* offset / MOCK_PAGE */
    unsigned char *data;
} fs_page;

struct fs_node {
    uint32_t mode;  /* type and permission bits, as st_mode */
    uint32_t nlink; /* 0 once no name is left (it lives on while open) */
    uint32_t opens; /* open file descriptions on it */
    uint64_t ino, size;
    uint64_t atime, mtime, ctime, btime; /* virtual ns */
    fs_node *parent; /* a directory's "..": NULL once it is removed */
    fs_entry *ents;  /* a directory's, sorted by name */
    uint32_t nents, capents;
    fs_page *pages; /* a file's, sorted by index */
    uint32_t npages, cappages;
    char *link; /* a symbolic link's target (its contents) */
};


typedef struct mock_fs {
    fs_node *root; /* also the current directory of CIO_AT_FDCWD */
    uint64_t next_ino;
    uint64_t pages; /* of file data, in all files */
    uint32_t nodes; /* files and directories, named or open */
} mock_fs;

/* An open file description: what a handle of mock_fs_kind holds. */
typedef struct fs_file {
    fs_node *node;
    uint64_t pos;
    int flags;  /* the CIO_O_* it was opened with */
    char *last; /* a directory's: the name readdir gave last (entries are sorted by name), or NULL */
    bool eof;   /* a directory's: readdir has given every entry */
} fs_file;

static bool is_dir(const fs_node *n) { return (n->mode & CIO_S_IFMT) == CIO_S_IFDIR; }
static bool is_lnk(const fs_node *n) { return (n->mode & CIO_S_IFMT) == CIO_S_IFLNK; }

/* Linux's MAXSYMLINKS: links followed in one path walk. */
#define MOCK_MAX_LINKS 40u
/* The access mode: 3 is Linux's "neither" (an open for ioctls). */
static bool can_read(const fs_file *f) {
    int acc = f->flags & 3;
    return acc == CIO_O_RDONLY || acc == CIO_O_RDWR;
}
static bool can_write(const fs_file *f) {
    int acc = f->flags & 3;
    return acc == CIO_O_WRONLY || acc == CIO_O_RDWR;
}

/* ---- nodes ---- */

static fs_node *node_new(mock *m, mock_fs *fs, uint32_t mode) {
    if (fs->nodes >= CIO_MOCK_FS_MAX_NODES) return NULL;
    fs_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->mode = mode;
    n->ino = fs->next_ino++;
    n->atime = n->mtime = n->ctime = n->btime = m->now;
    n->size = is_dir(n) ? 2 * MOCK_DIRENT_SIZE : 0;
    fs->nodes++;
    return n;
}

static void drop_pages(mock_fs *fs, fs_node *n, uint32_t from) {
    for (uint32_t i = from; i < n->npages; i++) free(n->pages[i].data);
    fs->pages -= n->npages - from;
    n->npages = from;
}

static void node_free(mock_fs *fs, fs_node *n) {
    drop_pages(fs, n, 0);
    free(n->link);
    free(n->pages);
    for (uint32_t i = 0; i < n->nents; i++) free(n->ents[i].name);
    free(n->ents);
    free(n);
    fs->nodes--;
}

/* Frees `n` once nothing names it or holds it open. */
static void node_release(mock_fs *fs, fs_node *n) {
    if (!n->nlink && !n->opens) node_free(fs, n);
}

static void touch_dir(mock *m, fs_node *d) { d->mtime = d->ctime = m->now; }

/* A read's atime, as Linux's relatime: only when it is older than the
 * last change, or a day old. */
static void accessed(mock *m, fs_node *n) {
    if (n->atime <= n->mtime || n->atime <= n->ctime || m->now - n->atime >= MOCK_DAY_NS) n->atime = m->now;
}

/* ---- directories ---- */

static int name_cmp(const char *a, const char *b, size_t blen) {
    size_t alen = strlen(a);
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

/* Where `name` is, or would go, in `d`'s entries. */
static uint32_t ent_find(const fs_node *d, const char *name, size_t len, bool *found) {
    uint32_t lo = 0, hi = d->nents;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(d->ents[mid].name, name, len);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static fs_node *ent_lookup(const fs_node *d, const char *name, size_t len) {
    bool found;
    uint32_t i = ent_find(d, name, len, &found);
    return found ? d->ents[i].node : NULL;
}

/* Adds the entry `name` -> `n` to `d` (which has none of that name). */
static int ent_add(fs_node *d, const char *name, size_t len, fs_node *n) {
    bool found;
    uint32_t i = ent_find(d, name, len, &found);
    if (d->nents == d->capents) {
        uint32_t cap = d->capents ? 2 * d->capents : 8;
        fs_entry *grown = realloc(d->ents, cap * sizeof *grown);
        if (!grown) return -CIO_ENOMEM;
        d->ents = grown;
        d->capents = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return -CIO_ENOMEM;
    memcpy(copy, name, len);
    copy[len] = 0;
    memmove(d->ents + i + 1, d->ents + i, (d->nents - i) * sizeof *d->ents);
    d->ents[i] = (fs_entry){copy, n};
    d->nents++;
    d->size += MOCK_DIRENT_SIZE;
    return 0;
}

static void ent_remove(fs_node *d, const char *name, size_t len) {
    bool found;
    uint32_t i = ent_find(d, name, len, &found);
    if (!found) return;
    free(d->ents[i].name);
    memmove(d->ents + i, d->ents + i + 1, (d->nents - i - 1) * sizeof *d->ents);
    d->nents--;
    d->size -= MOCK_DIRENT_SIZE;
}

static fs_entry *ent_at(fs_node *d, const char *name, size_t len) {
    bool found;
    uint32_t i = ent_find(d, name, len, &found);
    return found ? &d->ents[i] : NULL;
}

/* Whether directory `a` is `d` or one of its ancestors. */
static bool is_ancestor(const fs_node *a, const fs_node *d) {
    for (const fs_node *p = d; p; p = p->parent) {
        if (p == a) return true;
        if (p->parent == p) break; /* the root */
    }
    return false;
}

/* ---- file data ---- */

static uint32_t page_find(const fs_node *n, uint64_t index) {
    uint32_t lo = 0, hi = n->npages;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (n->pages[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A cursor over iovecs (or one buffer). */
typedef struct cursor {
    const cio_iovec *iov;
    unsigned cnt, i;
    size_t off;
} cursor;

static size_t iov_total(const cio_iovec *iov, unsigned cnt) {
    size_t t = 0;
    for (unsigned i = 0; i < cnt; i++) t += iov[i].iov_len;
    return t;
}

/* Moves `n` bytes between the cursor's buffers and `p` (into `p` when
 * `out`), or writes zeros to the buffers when `p` is NULL. */
static void cur_move(cursor *c, unsigned char *p, size_t n, bool out) {
    while (n > 0 && c->i < c->cnt) {
        size_t run = c->iov[c->i].iov_len - c->off;
        if (run > n) run = n;
        unsigned char *user = (unsigned char *)c->iov[c->i].iov_base + c->off;
        if (!p)
            memset(user, 0, run);
        else if (out)
            memcpy(p, user, run);
        else
            memcpy(user, p, run);
        if (p) p += run;
        n -= run;
        c->off += run;
        if (c->off == c->iov[c->i].iov_len) {
            c->i++;
            c->off = 0;
        }
    }
}

/* Reads `n` bytes of `f` at `off` (all within its size) into the cursor;
 * holes read as zeros. */
static void data_read(const fs_node *f, uint64_t off, cursor *c, size_t n) {
    uint64_t end = off + n;
    uint32_t i = page_find(f, off / MOCK_PAGE);
    while (off < end) {
        uint64_t next = end;
        if (i < f->npages && f->pages[i].index * MOCK_PAGE <= off) {
            uint64_t pstart = f->pages[i].index * MOCK_PAGE;
            if (pstart + MOCK_PAGE < next) next = pstart + MOCK_PAGE;
            cur_move(c, f->pages[i].data + (off - pstart), (size_t)(next - off), false);
            i++;
        } else {
            if (i < f->npages && f->pages[i].index * MOCK_PAGE < next) next = f->pages[i].index * MOCK_PAGE;
            cur_move(c, NULL, (size_t)(next - off), false);
        }
        off = next;
    }
}

/* The page `index` of `f`, made (zeroed) if it has none: NULL when the
 * capacity is used up (*err = -CIO_ENOSPC) or memory is (-CIO_ENOMEM). */
static unsigned char *page_get(mock_fs *fs, fs_node *f, uint64_t index, int *err) {
    uint32_t i = page_find(f, index);
    if (i < f->npages && f->pages[i].index == index) return f->pages[i].data;
    if (fs->pages >= MOCK_CAPACITY_PAGES) {
        *err = -CIO_ENOSPC;
        return NULL;
    }
    if (f->npages == f->cappages) {
        uint32_t cap = f->cappages ? 2 * f->cappages : 4;
        fs_page *grown = realloc(f->pages, cap * sizeof *grown);
        if (!grown) {
            *err = -CIO_ENOMEM;
            return NULL;
        }
        f->pages = grown;
        f->cappages = cap;
    }
    unsigned char *data = calloc(1, MOCK_PAGE);
    if (!data) {
        *err = -CIO_ENOMEM;
        return NULL;
    }
    memmove(f->pages + i + 1, f->pages + i, (f->npages - i) * sizeof *f->pages);
    f->pages[i] = (fs_page){index, data};
    f->npages++;
    fs->pages++;
    return data;
}

/* Writes `n` bytes from the cursor into `f` at `off` (off + n within
 * MOCK_MAX_SIZE): how many went in, as many as the capacity allowed, or
 * the error when none did. Updates the size and the times. */
static int64_t data_write(mock *m, mock_fs *fs, fs_node *f, uint64_t off, cursor *c, size_t n) {
    size_t done = 0;
    int err = 0;
    while (done < n) {
        uint64_t at = off + done;
        unsigned char *page = page_get(fs, f, at / MOCK_PAGE, &err);
        if (!page) break;
        size_t in = (size_t)(at % MOCK_PAGE);
        size_t run = MOCK_PAGE - in;
        if (run > n - done) run = n - done;
        cur_move(c, page + in, run, true);
        done += run;
    }
    if (!done) return err;
    if (off + done > f->size) f->size = off + done;
    f->mtime = f->ctime = m->now;
    return (int64_t)done;
}

/* Cuts or extends `f` to `len` bytes (O_TRUNC, ftruncate); what lay past
 * a cut reads as zeros if the file grows again. A cut, or a size kept,
 * frees what fallocate's KEEP_SIZE placed past the end too, as tmpfs
 * (shmem_setattr) does. */
static void truncate_to(mock *m, mock_fs *fs, fs_node *f, uint64_t len) {
    if (len <= f->size) {
        drop_pages(fs, f, page_find(f, (len + MOCK_PAGE - 1) / MOCK_PAGE));
        uint32_t i = page_find(f, len / MOCK_PAGE);
        if (len % MOCK_PAGE && i < f->npages && f->pages[i].index == len / MOCK_PAGE)
            memset(f->pages[i].data + len % MOCK_PAGE, 0, MOCK_PAGE - len % MOCK_PAGE);
    }
    f->size = len;
    f->mtime = f->ctime = m->now;
}

/* ---- the file system of a loop ---- */

static mock_fs *fs_of(mock *m) {
    if (m->fs) return m->fs;
    mock_fs *fs = calloc(1, sizeof *fs);
    if (!fs) return NULL;
    fs->next_ino = 1; /* tmpfs' root is inode 1 */
    fs->root = node_new(m, fs, CIO_S_IFDIR | 0755);
    if (!fs->root) {
        free(fs);
        return NULL;
    }
    fs->root->nlink = 2;
    fs->root->parent = fs->root;
    m->fs = fs;
    return fs;
}

static void tree_free(mock_fs *fs, fs_node *d) {
    for (uint32_t i = 0; i < d->nents; i++) {
        fs_node *n = d->ents[i].node;
        if (is_dir(n)) tree_free(fs, n);
        else if (--n->nlink == 0) node_free(fs, n); /* the last of its hard links */
    }
    node_free(fs, d);
}

void mock_fs_free(mock *m) {
    mock_fs *fs = m->fs;
    if (!fs) return;
    /* Every handle closed first (mock_world_free), so no node is open. */
    tree_free(fs, fs->root);
    free(fs);
    m->fs = NULL;
}

/* ---- paths, as Linux's namei ---- */

enum { LAST_NORM, LAST_DOT, LAST_DOTDOT, LAST_ROOT };

/* Where a path leads: its last component, in directory `dir`. */
typedef struct walk {
    fs_node *dir;
    const char *name;
    size_t len;
    int type;   /* LAST_* */
    bool slash; /* slashes after it: it must be a directory */
} walk;

/* The open directory `dirfd` names for a relative path. */
static int dir_of(mock *m, mock_fs *fs, cio_fd dirfd, fs_node **out) {
    if (dirfd == (cio_fd)CIO_AT_FDCWD) {
        *out = fs->root;
        return 0;
    }
    mock_handle *h = mock_handle_at(&m->world, dirfd);
    if (!h) return -CIO_EBADF; /* not open, or a real handle: no handle of this world */
    if (h->kind != &mock_fs_kind) return -CIO_ENOTDIR;
    fs_node *n = ((fs_file *)h->obj)->node;
    /* The number an openat took for itself, not yet open (Linux installs
     * the new descriptor only at the end): as a closed one. */
    if (!n) return -CIO_EBADF;
    if (!is_dir(n)) return -CIO_ENOTDIR;
    *out = n;
    return 0;
}

/* The entry `name` of `d` as a path step sees it. */
static fs_node *step(mock_fs *fs, fs_node *d, const char *name, size_t len, int type) {
    if (type == LAST_DOT) return d;
    if (type == LAST_DOTDOT) return d->parent;
    if (type == LAST_ROOT) return fs->root;
    if (!d->nlink) return NULL; /* a removed directory has no entries, and gets none */
    return ent_lookup(d, name, len);
}

static int classify(const char *s, size_t len) {
    if (len == 1 && s[0] == '.') return LAST_DOT;
    if (len == 2 && s[0] == '.' && s[1] == '.') return LAST_DOTDOT;
    return LAST_NORM;
}

static int follow(mock_fs *fs, fs_node *dir, const fs_node *lnk, fs_node **out, unsigned *links);

/* Walks `path` from the directory `cur` (or the root, for an absolute
 * one) to its last component, which is not looked up; symbolic links in
 * the components before it are followed, each counting in *links. */
static int walk_from(mock_fs *fs, fs_node *cur, const char *path, walk *w, unsigned *links) {
    if (path[0] == 0) return -CIO_ENOENT;
    if (path[0] == '/') cur = fs->root;
    const char *p = path;
    while (*p == '/') p++;
    if (!*p) {
        *w = (walk){fs->root, p, 0, LAST_ROOT, true};
        return 0;
    }
    for (;;) {
        const char *s = p;
        while (*p && *p != '/') p++;
        size_t len = (size_t)(p - s);
        if (len > MOCK_NAME_MAX) return -CIO_ENAMETOOLONG;
        const char *q = p;
        while (*q == '/') q++;
        int type = classify(s, len);
        if (!*q) {
            *w = (walk){cur, s, len, type, q != p};
            return 0;
        }
        fs_node *next = step(fs, cur, s, len, type);
        if (!next) return -CIO_ENOENT;
        if (is_lnk(next)) {
            int r = follow(fs, cur, next, &next, links);
            if (r < 0) return r;
        }
        if (!is_dir(next)) return -CIO_ENOTDIR;
        cur = next;
        p = q;
    }
}

/* Walks `path` (relative to `dirfd`) to its last component, which is not
 * looked up. */
static int walk_path(mock *m, mock_fs *fs, cio_fd dirfd, const char *path, walk *w) {
    size_t total = strnlen(path, MOCK_PATH_MAX);
    if (total >= MOCK_PATH_MAX) return -CIO_ENAMETOOLONG;
    if (total == 0) return -CIO_ENOENT;
    fs_node *cur = fs->root;
    if (path[0] != '/') {
        int r = dir_of(m, fs, dirfd, &cur);
        if (r < 0) return r;
    }
    unsigned links = 0;
    return walk_from(fs, cur, path, w, &links);
}

static fs_node *lookup_last(mock_fs *fs, const walk *w) { return step(fs, w->dir, w->name, w->len, w->type); }

/* The file the symbolic link `lnk` in `dir` leads to, following links
 * to the end (Linux's 40 at most per walk: -CIO_ELOOP beyond). */
static int follow(mock_fs *fs, fs_node *dir, const fs_node *lnk, fs_node **out, unsigned *links) {
    if (++*links > MOCK_MAX_LINKS) return -CIO_ELOOP;
    walk w;
    int r = walk_from(fs, dir, lnk->link, &w, links);
    if (r < 0) return r;
    fs_node *n = lookup_last(fs, &w);
    if (!n) return -CIO_ENOENT;
    if (is_lnk(n)) return follow(fs, w.dir, n, out, links);
    if (w.slash && !is_dir(n)) return -CIO_ENOTDIR;
    *out = n;
    return 0;
}

/* Looks up what `w` names: the node, following a symbolic link when
 * `follow_last` (or when a slash comes after it, as Linux). */
static int lookup_follow(mock_fs *fs, const walk *w, bool follow_last, fs_node **out) {
    fs_node *n = lookup_last(fs, w);
    if (!n) return -CIO_ENOENT;
    if (is_lnk(n) && (follow_last || w->slash)) {
        unsigned links = 0;
        int r = follow(fs, w->dir, n, &n, &links);
        if (r < 0) return r;
    }
    if (w->slash && !is_dir(n)) return -CIO_ENOTDIR;
    *out = n;
    return 0;
}

/* Walks to and looks up the whole path: the node, -CIO_ENOENT, or
 * -CIO_ENOTDIR for a file named with a slash after it. A symbolic link at
 * the end is followed when `follow_last`. */
static int resolve(mock *m, mock_fs *fs, cio_fd dirfd, const char *path, bool follow_last, fs_node **out) {
    walk w;
    int r = walk_path(m, fs, dirfd, path, &w);
    if (r < 0) return r;
    return lookup_follow(fs, &w, follow_last, out);
}

/* A new file or directory `w` names (which does not exist). */
static int create(mock *m, mock_fs *fs, const walk *w, uint32_t mode, fs_node **out) {
    if (!w->dir->nlink) return -CIO_ENOENT; /* in a removed directory: Linux's IS_DEADDIR */
    fs_node *n = node_new(m, fs, mode);
    if (!n) return fs->nodes >= CIO_MOCK_FS_MAX_NODES ? -CIO_ENOSPC : -CIO_ENOMEM;
    int r = ent_add(w->dir, w->name, w->len, n);
    if (r < 0) {
        node_free(fs, n);
        return r;
    }
    if (is_dir(n)) {
        n->nlink = 2;
        n->parent = w->dir;
        w->dir->nlink++;
    } else {
        n->nlink = 1;
    }
    touch_dir(m, w->dir);
    *out = n;
    return 0;
}

/* ---- the *at ops ---- */

static int32_t do_openat(mock *m, mock_fs *fs, cio_op *op) {
    int fl = op->args.open.flags;
    /* Linux (6.4 on): a directory cannot be created by open. */
    if ((fl & CIO_O_DIRECTORY) && (fl & CIO_O_CREAT)) return -CIO_EINVAL;
    /* As Linux, the handle's number is taken before the path is walked:
     * out of numbers is EMFILE whatever the path. */
    fs_file *f = calloc(1, sizeof *f);
    if (!f) return -CIO_ENOMEM;
    int32_t fd = mock_handle_open(&m->world, &mock_fs_kind, f, 0);
    if (fd < 0) {
        free(f);
        return (int32_t)fd;
    }
    int32_t r;
    walk w;
    fs_node *n = NULL;
    bool created = false;
    if ((r = walk_path(m, fs, op->args.open.dirfd, op->args.open.path, &w)) < 0) goto fail;
    if (fl & CIO_O_CREAT) {
        r = -CIO_EISDIR;
        if (w.type == LAST_NORM && w.slash) goto fail;
        n = lookup_last(fs, &w);
        if (!n) {
            if ((r = create(m, fs, &w, CIO_S_IFREG | (op->args.open.mode & 07777 & ~MOCK_UMASK), &n)) < 0)
                goto fail;
            created = true;
        } else {
            r = -CIO_EEXIST;
            if (fl & CIO_O_EXCL) goto fail;
            r = -CIO_ELOOP;
            if (is_lnk(n) && ((fl & CIO_O_NOFOLLOW) || (r = lookup_follow(fs, &w, true, &n)) < 0)) goto fail;
            r = -CIO_EISDIR;
            if (is_dir(n)) goto fail;
        }
    } else {
        r = -CIO_ENOENT;
        if (!(n = lookup_last(fs, &w))) goto fail;
        /* O_NOFOLLOW on a link: -CIO_ELOOP, as Linux. */
        r = -CIO_ELOOP;
        if (is_lnk(n) && ((fl & CIO_O_NOFOLLOW) || (r = lookup_follow(fs, &w, true, &n)) < 0)) goto fail;
    }
    r = -CIO_ENOTDIR;
    if ((w.slash || (fl & CIO_O_DIRECTORY)) && !is_dir(n)) goto fail;
    if (is_dir(n)) {
        /* Write access (or a truncate, which needs it) to a directory. */
        r = -CIO_EISDIR;
        if ((fl & 3) != CIO_O_RDONLY || (fl & CIO_O_TRUNC)) goto fail;
    } else if ((fl & CIO_O_TRUNC) && !created) {
        truncate_to(m, fs, n, 0); /* even opened read-only, as Linux */
    }
    f->node = n;
    f->flags = fl;
    n->opens++;
    return cio__fd_result(op, (cio_fd)fd);
fail:
    mock_handle_free(&m->world, fd);
    free(f);
    return r;
}

/* Drops the entry `name` of `dir`, which names `n`. */
static void unname(mock *m, mock_fs *fs, fs_node *dir, const char *name, size_t len, fs_node *n) {
    ent_remove(dir, name, len);
    if (is_dir(n)) {
        n->nlink = 0;
        n->parent = NULL;
        dir->nlink--;
    } else {
        n->nlink--;
    }
    n->ctime = m->now;
    touch_dir(m, dir);
    node_release(fs, n);
}

static int32_t do_unlinkat(mock *m, mock_fs *fs, cio_op *op) {
    int fl = op->args.unlink.flags;
    if (fl & ~CIO_AT_REMOVEDIR) return -CIO_EINVAL;
    bool rmdir = fl & CIO_AT_REMOVEDIR;
    walk w;
    int r = walk_path(m, fs, op->args.unlink.dirfd, op->args.unlink.path, &w);
    if (r < 0) return r;
    if (rmdir) { /* as Linux's do_rmdir */
        if (w.type == LAST_DOTDOT) return -CIO_ENOTEMPTY;
        if (w.type == LAST_DOT) return -CIO_EINVAL;
        if (w.type == LAST_ROOT) return -CIO_EBUSY;
    } else if (w.type != LAST_NORM) {
        return -CIO_EISDIR;
    }
    fs_node *n = lookup_last(fs, &w);
    if (!n) return -CIO_ENOENT;
    if (rmdir) {
        if (!is_dir(n)) return -CIO_ENOTDIR;
        if (n->nents) return -CIO_ENOTEMPTY;
    } else {
        if (is_dir(n)) return -CIO_EISDIR; /* Linux's, where POSIX says EPERM */
        if (w.slash) return -CIO_ENOTDIR;
    }
    unname(m, fs, w.dir, w.name, w.len, n);
    return 0;
}

static int32_t do_mkdirat(mock *m, mock_fs *fs, cio_op *op) {
    walk w;
    int r = walk_path(m, fs, op->args.mkdir.dirfd, op->args.mkdir.path, &w);
    if (r < 0) return r;
    if (w.type != LAST_NORM) return -CIO_EEXIST; /* ".", "..", "/" */
    if (!w.dir->nlink) return -CIO_ENOENT;
    if (lookup_last(fs, &w)) return -CIO_EEXIST;
    fs_node *n;
    return create(m, fs, &w, CIO_S_IFDIR | (op->args.mkdir.mode & 01777 & ~MOCK_UMASK), &n);
}

/* Moves the directory `n` from parent `from` to `to` (its "..", and the
 * parents' link counts). */
static void reparent(fs_node *n, fs_node *from, fs_node *to) {
    if (!is_dir(n) || from == to) return;
    from->nlink--;
    to->nlink++;
    n->parent = to;
}

/* As Linux's do_renameat2 and vfs_rename, with tmpfs' shmem_rename2 (the
 * order of the checks decides which error comes when several apply). */
static int32_t do_renameat(mock *m, mock_fs *fs, cio_op *op) {
    uint32_t fl = op->args.rename.flags;
    if (fl & ~(CIO_RENAME_NOREPLACE | CIO_RENAME_EXCHANGE)) return -CIO_EINVAL; /* RENAME_WHITEOUT too */
    if ((fl & CIO_RENAME_NOREPLACE) && (fl & CIO_RENAME_EXCHANGE)) return -CIO_EINVAL;
    bool exchange = fl & CIO_RENAME_EXCHANGE;
    walk ow, nw;
    int r = walk_path(m, fs, op->args.rename.olddirfd, op->args.rename.oldpath, &ow);
    if (r < 0) return r;
    if ((r = walk_path(m, fs, op->args.rename.newdirfd, op->args.rename.newpath, &nw)) < 0) return r;
    if (ow.type != LAST_NORM) return -CIO_EBUSY;
    if (fl & CIO_RENAME_NOREPLACE && nw.type != LAST_NORM) return -CIO_EEXIST;
    if (nw.type != LAST_NORM) return -CIO_EBUSY;
    fs_node *on = lookup_last(fs, &ow);
    if (!on) return -CIO_ENOENT;
    fs_node *nn = lookup_last(fs, &nw);
    if ((fl & CIO_RENAME_NOREPLACE) && nn) return -CIO_EEXIST;
    if (exchange && !nn) return -CIO_ENOENT;
    if (!nw.dir->nlink) return -CIO_ENOENT; /* a name in a removed directory */
    if (!is_dir(on)) {
        if (ow.slash) return -CIO_ENOTDIR;
        if (!exchange && nw.slash) return -CIO_ENOTDIR;
    }
    if (exchange && !is_dir(nn) && nw.slash) return -CIO_ENOTDIR;
    if (ow.dir != nw.dir) {
        /* Into itself: the source is an ancestor of the new parent. */
        if (is_dir(on) && is_ancestor(on, nw.dir)) return -CIO_EINVAL;
        /* The target is an ancestor of the old parent. */
        if (nn && is_dir(nn) && is_ancestor(nn, ow.dir)) return exchange ? -CIO_EINVAL : -CIO_ENOTEMPTY;
    }
    if (on == nn) return 0; /* the same file under both names: nothing to do (POSIX) */
    if (nn && !exchange) {
        if (is_dir(on) && !is_dir(nn)) return -CIO_ENOTDIR;
        if (!is_dir(on) && is_dir(nn)) return -CIO_EISDIR;
        if (is_dir(nn) && nn->nents) return -CIO_ENOTEMPTY;
    }
    if (exchange) {
        fs_entry *oe = ent_at(ow.dir, ow.name, ow.len), *ne = ent_at(nw.dir, nw.name, nw.len);
        oe->node = nn;
        ne->node = on;
        reparent(on, ow.dir, nw.dir);
        reparent(nn, nw.dir, ow.dir);
        nn->ctime = m->now;
    } else {
        if (!nn && (r = ent_add(nw.dir, nw.name, nw.len, on)) < 0) return r; /* the only step that can fail */
        if (nn) {
            fs_entry *ne = ent_at(nw.dir, nw.name, nw.len);
            ne->node = on;
            if (is_dir(nn)) {
                nn->nlink = 0;
                nn->parent = NULL;
                nw.dir->nlink--;
            } else {
                nn->nlink--;
            }
            nn->ctime = m->now;
        }
        ent_remove(ow.dir, ow.name, ow.len);
        reparent(on, ow.dir, nw.dir);
        if (nn) node_release(fs, nn);
    }
    on->ctime = m->now;
    touch_dir(m, ow.dir);
    touch_dir(m, nw.dir);
    return 0;
}

/* ---- statx ---- */

static cio_statx_time stx_time(uint64_t ns) {
    cio_statx_time t = {0};
    t.tv_sec = (int64_t)(ns / 1000000000u);
    t.tv_nsec = (uint32_t)(ns % 1000000000u);
    return t;
}

static void stat_node(const fs_node *n, cio_statx *st) {
    memset(st, 0, sizeof *st);
    st->mask = CIO_STATX_BASIC_STATS | CIO_STATX_BTIME;
    st->blksize = MOCK_PAGE;
    st->nlink = n->nlink;
    st->mode = (uint16_t)n->mode;
    st->ino = n->ino;
    st->size = n->size;
    st->blocks = (uint64_t)n->npages * (MOCK_PAGE / 512);
    st->atime = stx_time(n->atime);
    st->btime = stx_time(n->btime);
    st->ctime = stx_time(n->ctime);
    st->mtime = stx_time(n->mtime);
    st->dev_minor = 1; /* one simulated device (major 0, as tmpfs') */
}

/* A pipe or a socket: what Linux's pipefs and sockfs say, with no times
 * (the mock keeps none for them: the mask says so). */
static void stat_other(mock *m, const mock_handle *h, cio_statx *st) {
    memset(st, 0, sizeof *st);
    st->mask = CIO_STATX_TYPE | CIO_STATX_MODE | CIO_STATX_NLINK | CIO_STATX_UID | CIO_STATX_GID |
               CIO_STATX_INO | CIO_STATX_SIZE | CIO_STATX_BLOCKS;
    st->blksize = MOCK_PAGE;
    st->nlink = 1;
    cio_fd first = mock_handle_fd(&m->world, h);
    if (h->kind == &mock_pipe_kind) {
        /* A pipe's ends are one inode (a socket pair's are two): number it
         * by its read end's handle, which keeps its number while the pipe
         * lives. Apart from the file system's numbers. */
        first = ((const mock_chan *)h->obj)->fd[MOCK_END_READ];
    }
    st->ino = (1ull << 32) + (uint64_t)(first - (cio_fd)CIO_MOCK_FD_BASE);
    st->mode = (uint16_t)(h->kind == &mock_pipe_kind ? (CIO_S_IFIFO | 0600) : (CIO_S_IFSOCK | 0777));
    st->dev_minor = 2;
}

#if defined(__linux__)
#define MOCK_AT_STATX_OTHER 0x6800 /* AT_NO_AUTOMOUNT, AT_STATX_SYNC_TYPE */
#else
#define MOCK_AT_STATX_OTHER 0
#endif

static int32_t do_statx(mock *m, mock_fs *fs, cio_op *op) {
    int fl = op->args.statx.flags;
    if (fl & ~(CIO_AT_SYMLINK_NOFOLLOW | CIO_AT_EMPTY_PATH | MOCK_AT_STATX_OTHER)) return -CIO_EINVAL;
#if defined(__linux__)
    if ((fl & 0x6000) == 0x6000) return -CIO_EINVAL; /* both AT_STATX_FORCE_SYNC and DONT_SYNC */
#endif
    if (op->args.statx.mask & 0x80000000u) return -CIO_EINVAL; /* STATX__RESERVED */
    cio_fd dirfd = op->args.statx.dirfd;
    if ((fl & CIO_AT_EMPTY_PATH) && op->args.statx.path[0] == 0) {
        if (dirfd == (cio_fd)CIO_AT_FDCWD) {
            stat_node(fs->root, op->args.statx.buf);
            return 0;
        }
        mock_handle *h = mock_handle_at(&m->world, dirfd);
        if (!h) return -CIO_EBADF;
        if (h->kind == &mock_fs_kind)
            stat_node(((fs_file *)h->obj)->node, op->args.statx.buf);
        else
            stat_other(m, h, op->args.statx.buf);
        return 0;
    }
    fs_node *n;
    int r = resolve(m, fs, dirfd, op->args.statx.path, !(fl & CIO_AT_SYMLINK_NOFOLLOW), &n);
    if (r < 0) return r;
    stat_node(n, op->args.statx.buf);
    return 0;
}

/* ---- read, write and the others on an open file ---- */

static int32_t do_rw(mock *m, mock_fs *fs, cio_op *op, fs_file *f) {
    bool reading = op->opcode == CIO_OP_READ || op->opcode == CIO_OP_READV;
    cio_iovec one;
    cursor c = {&one, 1, 0, 0};
    uint64_t offset;
    if (op->opcode == CIO_OP_READ || op->opcode == CIO_OP_WRITE) {
        one.iov_base = op->args.rw.buf;
        one.iov_len = op->args.rw.len;
        offset = op->args.rw.offset;
    } else {
        c.iov = op->args.rwv.iov;
        c.cnt = op->args.rwv.iovcnt;
        offset = op->args.rwv.offset;
    }
    fs_node *n = f->node;
    /* In pread(2)'s order: the offset, the access mode, then the type. */
    bool current = offset == CIO_OFFSET_CURRENT;
    if (!current && offset > (uint64_t)INT64_MAX) return -CIO_EINVAL; /* a negative off_t */
    if (reading ? !can_read(f) : !can_write(f)) return -CIO_EBADF;
    if (reading && is_dir(n)) return -CIO_EISDIR; /* read(2); io_uring's read says -CIO_EINVAL */
    size_t want = iov_total(c.iov, c.cnt);
    if (want > MOCK_MAX_RW) want = MOCK_MAX_RW;
    uint64_t off = current ? f->pos : offset;
    if (reading) {
        if (!want) return 0;
        size_t n_read = 0;
        if (off < n->size) n_read = n->size - off < want ? (size_t)(n->size - off) : want;
        data_read(n, off, &c, n_read);
        accessed(m, n);
        if (current) f->pos = off + n_read;
        return (int32_t)n_read;
    }
    if (f->flags & CIO_O_APPEND) off = n->size; /* even at an offset: Linux's pwrite(2) BUGS */
    if (!want) return 0;
    if (off >= MOCK_MAX_SIZE) return -CIO_EFBIG;
    if (want > MOCK_MAX_SIZE - off) want = (size_t)(MOCK_MAX_SIZE - off);
    int64_t done = data_write(m, fs, n, off, &c, want);
    if (done < 0) return (int32_t)done;
    if (current) f->pos = off + (uint64_t)done;
    return (int32_t)done;
}

/* ---- splice between pipes, stream sockets and files ---- */

#define MOCK_SPLICE_FLAGS 0xfu /* SPLICE_F_MOVE, NONBLOCK, MORE, GIFT */

/* The bytes a splice takes from a pipe's read end or a connected stream
 * socket: what is held, or why there is nothing (0: end of file, an error,
 * or MOCK_PARK). A reset is reported once. */
static int32_t splice_source(mock_chan *c, int end, bool nonblock) {
    if (mock_rx(c, end)->len) return 1;
    if (c->socket && c->reset[end]) {
        c->reset[end] = false;
        return -CIO_ECONNRESET;
    }
    if (mock_rx_done(c, end)) return 0;
    /* Held on fd_out, it parks naming fd_in too: the engine wakes it on
     * a change of either (MB_CROSS). */
    return nonblock ? -CIO_EAGAIN : MOCK_PARK;
}

/* Whether a splice can put bytes into a pipe's write end or a connected
 * stream socket: 1, or its error. */
static int32_t splice_sink(mock_chan *c, int end) {
    if (c->socket && c->reset[end]) {
        c->reset[end] = false;
        return -CIO_ECONNRESET;
    }
    return mock_tx_broken(c, end) ? -CIO_EPIPE : 1;
}

static int32_t do_splice(mock *m, mock_fs *fs, cio_op *op) {
    cio_fd fin = op->args.splice.fd_in, fout = op->args.splice.fd_out;
    uint32_t len = op->args.splice.len, flags = op->args.splice.flags;
    uint64_t off_in = op->args.splice.off_in, off_out = op->args.splice.off_out;
    const uint64_t cur = CIO_OFFSET_CURRENT;
    if (!len) return 0;
    if (flags & ~MOCK_SPLICE_FLAGS) return -CIO_EINVAL;
    mock_handle *hi = mock_handle_at(&m->world, fin), *ho = mock_handle_at(&m->world, fout);
    if (!hi || !ho) return -CIO_EBADF;
    /* Each side a pipe, a connected stream socket or a file; one at
     * least a pipe, as splice(2) wants. */
    bool pi = hi->kind == &mock_pipe_kind, po = ho->kind == &mock_pipe_kind;
    bool ci_side = pi || hi->kind == &mock_stream_kind, co_side = po || ho->kind == &mock_stream_kind;
    if (hi->kind == &mock_socket_kind || ho->kind == &mock_socket_kind) return -CIO_ENOTCONN;
    if ((!ci_side && hi->kind != &mock_fs_kind) || (!co_side && ho->kind != &mock_fs_kind)) return -CIO_EINVAL;
    /* FMODE_READ of fd_in and FMODE_WRITE of fd_out. */
    if (pi ? hi->end != MOCK_END_READ : (!ci_side && !can_read(hi->obj))) return -CIO_EBADF;
    if (po ? ho->end != MOCK_END_WRITE : (!co_side && !can_write(ho->obj))) return -CIO_EBADF;
    if (!pi && !po) return -CIO_EINVAL;
    if ((ci_side && off_in != cur) || (co_side && off_out != cur)) return -CIO_ESPIPE;
    bool nonblock = flags & CIO_SPLICE_F_NONBLOCK;
    unsigned char tmp[MOCK_RING_CAPACITY];
    cio_iovec tv = {.iov_base = tmp, .iov_len = sizeof tmp};
    int32_t r;
    if (ci_side && co_side) {
        mock_chan *ci = hi->obj, *co = ho->obj;
        int ei = (int)hi->end, eo = (int)ho->end;
        if (ci == co && pi) return -CIO_EINVAL;
        if ((r = splice_source(ci, ei, nonblock)) <= 0 || r == MOCK_PARK) return r;
        if ((r = splice_sink(co, eo)) < 0) return r;
        mock_ring *ri = mock_rx(ci, ei), *ro = mock_tx(co, eo);
        uint32_t room = MOCK_RING_CAPACITY - ro->len;
        if (!room) return nonblock ? -CIO_EAGAIN : MOCK_PARK;
        uint32_t possible = ri->len < room ? ri->len : room;
        if (len < possible) possible = len;
        uint32_t n = mock_transfer_size(m, possible);
        tv.iov_len = n;
        mock_ring_take(ri, &tv, 1, 0, n, true);
        mock_ring_put(ro, &tv, 1, 0, n);
        mock_chan_wake(m, ci);
        mock_chan_wake(m, co);
        return (int32_t)n;
    }
    if (po) { /* file -> pipe */
        fs_file *f = hi->obj;
        mock_chan *co = ho->obj;
        mock_ring *ro = mock_tx(co, MOCK_END_WRITE);
        if (is_dir(f->node)) return -CIO_EINVAL; /* no splice_read on a directory */
        if (off_in != cur && off_in > (uint64_t)INT64_MAX) return -CIO_EINVAL;
        if (mock_tx_broken(co, MOCK_END_WRITE)) return -CIO_EPIPE;
        uint32_t room = MOCK_RING_CAPACITY - ro->len;
        if (!room) return nonblock ? -CIO_EAGAIN : MOCK_PARK;
        uint64_t off = off_in == cur ? f->pos : off_in;
        fs_node *n = f->node;
        uint64_t avail = off < n->size ? n->size - off : 0;
        uint32_t possible = room < len ? room : len;
        if (avail < possible) possible = (uint32_t)avail;
        accessed(m, n);
        if (!possible) return 0; /* end of file */
        uint32_t k = mock_transfer_size(m, possible);
        cursor c = {&tv, 1, 0, 0};
        data_read(n, off, &c, k);
        tv.iov_len = k;
        mock_ring_put(ro, &tv, 1, 0, k);
        if (off_in == cur) f->pos = off + k;
        mock_chan_wake(m, co);
        return (int32_t)k;
    }
    /* pipe -> file */
    mock_chan *ci = hi->obj;
    fs_file *f = ho->obj;
    mock_ring *ri = mock_rx(ci, MOCK_END_READ);
    if (f->flags & CIO_O_APPEND) return -CIO_EINVAL; /* as Linux's do_splice */
    if (off_out != cur && off_out > (uint64_t)INT64_MAX) return -CIO_EINVAL;
    if ((r = splice_source(ci, MOCK_END_READ, nonblock)) <= 0 || r == MOCK_PARK) return r;
    uint64_t off = off_out == cur ? f->pos : off_out;
    if (off >= MOCK_MAX_SIZE) return -CIO_EFBIG;
    uint32_t possible = ri->len < len ? ri->len : len;
    uint32_t k = mock_transfer_size(m, possible);
    tv.iov_len = k;
    mock_ring_take(ri, &tv, 1, 0, k, false); /* taken for good below, as far as the file took them */
    cursor c = {&tv, 1, 0, 0};
    int64_t done = data_write(m, fs, f->node, off, &c, k);
    if (done < 0) return (int32_t)done;
    tv.iov_len = (size_t)done;
    mock_ring_take(ri, &tv, 1, 0, (uint32_t)done, true);
    if (off_out == cur) f->pos = off + (uint64_t)done;
    mock_chan_wake(m, ci);
    return (int32_t)done;
}

/* ---- the ops of issue 11: links, size, directory listing, copy ---- */

static int32_t do_symlinkat(mock *m, mock_fs *fs, cio_op *op) {
    const char *target = op->args.link.oldpath;
    size_t tlen = strnlen(target, MOCK_PATH_MAX);
    if (tlen >= MOCK_PATH_MAX) return -CIO_ENAMETOOLONG;
    if (tlen == 0) return -CIO_ENOENT; /* as Linux */
    walk w;
    int r = walk_path(m, fs, op->args.link.newdirfd, op->args.link.newpath, &w);
    if (r < 0) return r;
    if (w.type != LAST_NORM) return -CIO_EEXIST;
    if (lookup_last(fs, &w)) return -CIO_EEXIST;
    if (w.slash) return -CIO_ENOENT; /* a name with a slash after it is a directory's */
    char *copy = malloc(tlen + 1);
    if (!copy) return -CIO_ENOMEM;
    memcpy(copy, target, tlen + 1);
    fs_node *n;
    if ((r = create(m, fs, &w, CIO_S_IFLNK | 0777, &n)) < 0) {
        free(copy);
        return r;
    }
    n->link = copy;
    n->size = tlen;
    return 0;
}

/* As Linux's do_linkat: the old name first, then the new one. */
static int32_t do_linkat(mock *m, mock_fs *fs, cio_op *op) {
    fs_node *n;
    walk ow;
    int r = walk_path(m, fs, op->args.link.olddirfd, op->args.link.oldpath, &ow);
    if (r < 0) return r;
    if ((r = lookup_follow(fs, &ow, op->args.link.flags & CIO_AT_SYMLINK_FOLLOW, &n)) < 0) return r;
    walk w;
    if ((r = walk_path(m, fs, op->args.link.newdirfd, op->args.link.newpath, &w)) < 0) return r;
    if (w.type != LAST_NORM) return -CIO_EEXIST;
    if (lookup_last(fs, &w)) return -CIO_EEXIST;
    if (w.slash) return -CIO_ENOENT;
    if (!w.dir->nlink) return -CIO_ENOENT;
    if (is_dir(n)) return -CIO_EPERM; /* no hard links to directories */
    if ((r = ent_add(w.dir, w.name, w.len, n)) < 0) return r;
    n->nlink++;
    n->ctime = m->now;
    touch_dir(m, w.dir);
    return 0;
}

static int32_t do_ftruncate(mock *m, mock_fs *fs, cio_op *op, mock_handle *h) {
    if (h->kind != &mock_fs_kind) return -CIO_EINVAL; /* a pipe or socket: as Linux */
    fs_file *f = h->obj;
    if (op->args.size.len > (uint64_t)INT64_MAX) return -CIO_EINVAL;
    if (is_dir(f->node) || !can_write(f)) return -CIO_EINVAL; /* Linux's, for a read-only handle too */
    truncate_to(m, fs, f->node, op->args.size.len);
    return 0;
}

/* In Linux's vfs_fallocate order; the mock has modes 0 and KEEP_SIZE. */
static int32_t do_fallocate(mock *m, mock_fs *fs, cio_op *op, mock_handle *h) {
    uint64_t off = op->args.size.offset, len = op->args.size.len;
    if (off > (uint64_t)INT64_MAX || len == 0 || len > (uint64_t)INT64_MAX) return -CIO_EINVAL;
    if (op->args.size.mode & ~CIO_FALLOCATE_KEEP_SIZE) return -CIO_ENOTSUP;
    if (h->kind == &mock_pipe_kind) return -CIO_ESPIPE;
    if (h->kind != &mock_fs_kind) return -ENODEV; /* a socket */
    fs_file *f = h->obj;
    fs_node *n = f->node;
    if (!can_write(f)) return -CIO_EBADF;
    if (is_dir(n)) return -CIO_EISDIR;
    if (len > MOCK_MAX_SIZE - off) return -CIO_EFBIG;
    uint64_t first = off / MOCK_PAGE, last = (off + len - 1) / MOCK_PAGE;
    uint64_t have = page_find(n, last + 1) - page_find(n, first);
    if (fs->pages + (last - first + 1 - have) > MOCK_CAPACITY_PAGES) return -CIO_ENOSPC;
    for (uint64_t i = first; i <= last; i++) {
        int err = 0;
        if (!page_get(fs, n, i, &err)) return err; /* memory: what was made stays, as tmpfs' partial work */
    }
    if (!(op->args.size.mode & CIO_FALLOCATE_KEEP_SIZE) && off + len > n->size) {
        n->size = off + len;
        n->mtime = m->now;
    }
    n->ctime = m->now;
    return 0;
}

static uint8_t dirent_type(const fs_node *n) {
    if (is_dir(n)) return CIO_DT_DIR;
    if (is_lnk(n)) return CIO_DT_LNK;
    return CIO_DT_REG;
}

/* The next entries after the last one given (entries are sorted by name,
 * so one added or removed meanwhile changes nothing for the others); a
 * seeded number of them, from 1 up to what fits, as getdents may give
 * fewer than fit. */
static int32_t do_readdir(mock *m, cio_op *op, mock_handle *h) {
    if (h->kind != &mock_fs_kind) return -CIO_ENOTDIR;
    fs_file *f = h->obj;
    fs_node *d = f->node;
    if (!is_dir(d)) return -CIO_ENOTDIR;
    if (!d->nlink) return -CIO_ENOENT; /* removed: Linux's IS_DEADDIR */
    uint32_t i = 0;
    if (f->last) {
        bool found;
        i = ent_find(d, f->last, strlen(f->last), &found);
        if (found) i++;
    }
    if (i >= d->nents) return 0;
    uint32_t most = mock_transfer_size(m, d->nents - i);
    char *buf = op->args.readdir.buf;
    uint32_t len = op->args.readdir.len, out = 0, given = 0;
    for (; i < d->nents && given < most; i++, given++) {
        const fs_entry *e = &d->ents[i];
        size_t nl = strlen(e->name);
        uint16_t rec = CIO_DIRENT_RECLEN(nl);
        if (rec > len - out) break;
        cio_dirent *de = (cio_dirent *)(void *)(buf + out);
        de->ino = e->node->ino;
        de->reclen = rec;
        de->type = dirent_type(e->node);
        memcpy(de->name, e->name, nl + 1);
        out += rec;
    }
    if (!given) return -CIO_EINVAL; /* the next record does not fit: as getdents64 */
    char *last = malloc(strlen(d->ents[i - 1].name) + 1);
    if (!last) return -CIO_ENOMEM;
    strcpy(last, d->ents[i - 1].name);
    free(f->last);
    f->last = last;
    accessed(m, d);
    return (int32_t)out;
}

/* copy_file_range between two simulated files: a seeded number of the
 * bytes it could copy, from 1 up, as the kernel may copy fewer. */
static int32_t do_copy_range(mock *m, mock_fs *fs, cio_op *op) {
    const uint64_t cur = CIO_OFFSET_CURRENT;
    mock_handle *hi = mock_handle_at(&m->world, op->args.copy.fd_in);
    mock_handle *ho = mock_handle_at(&m->world, op->args.copy.fd_out);
    if (!hi || !ho) return -CIO_EBADF;
    if (hi->kind != &mock_fs_kind || ho->kind != &mock_fs_kind) return -CIO_EINVAL; /* files only, here */
    fs_file *fi = hi->obj, *fo = ho->obj;
    if (!can_read(fi) || !can_write(fo) || (fo->flags & CIO_O_APPEND)) return -CIO_EBADF;
    if (is_dir(fi->node) || is_dir(fo->node)) return -CIO_EISDIR;
    uint64_t oi = op->args.copy.off_in, oo = op->args.copy.off_out;
    if ((oi != cur && oi > (uint64_t)INT64_MAX) || (oo != cur && oo > (uint64_t)INT64_MAX)) return -CIO_EINVAL;
    uint64_t at_in = oi == cur ? fi->pos : oi, at_out = oo == cur ? fo->pos : oo;
    uint32_t len = op->args.copy.len < MOCK_MAX_RW ? op->args.copy.len : MOCK_MAX_RW;
    if (fi->node == fo->node && at_in < at_out + len && at_out < at_in + len) return -CIO_EINVAL;
    if (!len) return 0;
    fs_node *in = fi->node;
    uint64_t avail = at_in < in->size ? in->size - at_in : 0;
    if (avail < len) len = (uint32_t)avail;
    accessed(m, in);
    if (!len) return 0;
    if (at_out >= MOCK_MAX_SIZE) return -CIO_EFBIG;
    if (len > MOCK_MAX_SIZE - at_out) len = (uint32_t)(MOCK_MAX_SIZE - at_out);
    len = mock_transfer_size(m, len);
    unsigned char tmp[16 * 1024];
    uint32_t done = 0;
    while (done < len) {
        uint32_t run = len - done < sizeof tmp ? len - done : (uint32_t)sizeof tmp;
        cio_iovec tv = {.iov_base = tmp, .iov_len = run};
        cursor rc = {&tv, 1, 0, 0}, wc = {&tv, 1, 0, 0};
        data_read(in, at_in + done, &rc, run);
        int64_t w = data_write(m, fs, fo->node, at_out + done, &wc, run);
        if (w < 0) {
            if (!done) return (int32_t)w;
            break;
        }
        done += (uint32_t)w;
        if ((uint32_t)w < run) break; /* the capacity is full */
    }
    if (oi == cur) fi->pos += done;
    if (oo == cur) fo->pos += done;
    return (int32_t)done;
}

/* ---- the kind ---- */

static int fs_check(mock *m, cio_op *op, mock_handle *h) {
    (void)m;
    (void)op;
    (void)h;
    return 0; /* everything is decided at the try, on the world as it is then */
}

static int32_t fs_try(mock *m, cio_op *op, mock_handle *h) {
    mock_fs *fs = fs_of(m);
    if (!fs) return -CIO_ENOMEM;
    switch (op->opcode) {
    case CIO_OP_OPENAT:
        return do_openat(m, fs, op);
    case CIO_OP_STATX:
        return do_statx(m, fs, op);
    case CIO_OP_UNLINKAT:
        return do_unlinkat(m, fs, op);
    case CIO_OP_RENAMEAT:
        return do_renameat(m, fs, op);
    case CIO_OP_MKDIRAT:
        return do_mkdirat(m, fs, op);
    case CIO_OP_SPLICE:
        return do_splice(m, fs, op);
    case CIO_OP_SYMLINKAT:
        return do_symlinkat(m, fs, op);
    case CIO_OP_LINKAT:
        return do_linkat(m, fs, op);
    case CIO_OP_COPY_RANGE:
        return do_copy_range(m, fs, op);
    /* On any simulated handle (mock_kind_of_op): a pipe's or a socket's
     * answer is the file system's too. */
    case CIO_OP_FTRUNCATE:
        return do_ftruncate(m, fs, op, h);
    case CIO_OP_FALLOCATE:
        return do_fallocate(m, fs, op, h);
    case CIO_OP_READDIR:
        return do_readdir(m, op, h);
    default:
        break;
    }
    /* An op on an open file or directory (h is one of ours). */
    fs_file *f = h->obj;
    switch (op->opcode) {
    case CIO_OP_READ:
    case CIO_OP_WRITE:
    case CIO_OP_READV:
    case CIO_OP_WRITEV:
        return do_rw(m, fs, op, f);
    case CIO_OP_FSYNC:
        return 0; /* nothing is lost at a crash the simulation does not have */
    case CIO_OP_POLL: {
        /* Always ready, as poll(2) says of files (op.h); final even when
         * multishot, since no new edge can come. */
        uint32_t ev = op->args.poll.events & (CIO_POLLIN | CIO_POLLOUT);
        return ev ? (int32_t)ev : -CIO_EINVAL;
    }
    case CIO_OP_RECV:
    case CIO_OP_SEND:
    case CIO_OP_RECVMSG:
    case CIO_OP_SENDMSG:
    case CIO_OP_SHUTDOWN:
    case CIO_OP_ACCEPT:
    case CIO_OP_CONNECT:
    case CIO_OP_BIND:
    case CIO_OP_LISTEN:
        return -CIO_ENOTSOCK;
    default:
        return -CIO_EINVAL; /* no opcode on a file is left: a new one must be added here */
    }
}

/* The last handle of an unlinked file frees it. */
static void fs_close(mock *m, mock_handle *h) {
    fs_file *f = h->obj;
    if (f->node) {
        f->node->opens--;
        node_release(m->fs, f->node);
    }
    free(f->last);
    free(f);
}

const mock_kind mock_fs_kind = {.name = "file", .check = fs_check, .try_op = fs_try, .close = fs_close};

/* ---- the helpers for tests (cio/mock.h) ---- */

static mock *mock_of(cio_loop *loop) {
    if (!loop || !cio__usable(loop) || cio__core(loop)->be != &cio__backend_mock) return NULL;
    return CIO_BACKEND_STATE(loop, mock);
}

int cio_mock_file_put(cio_loop *loop, const char *path, const void *data, size_t len) {
    mock *m = mock_of(loop);
    if (!m || !path || (!data && len)) return -CIO_EINVAL;
    mock_fs *fs = fs_of(m);
    if (!fs) return -CIO_ENOMEM;
    if (len > MOCK_MAX_SIZE) return -CIO_EFBIG;
    /* The missing parents first, as mkdir -p: each prefix that ends
     * before a slash. */
    size_t total = strnlen(path, MOCK_PATH_MAX);
    if (total >= MOCK_PATH_MAX) return -CIO_ENAMETOOLONG;
    /* All or nothing: the capacity is checked before anything is made
     * (the parents, the file) or the old contents go. */
    uint64_t need = (len + MOCK_PAGE - 1) / MOCK_PAGE, held = 0;
    walk pre;
    if (walk_path(m, fs, CIO_AT_FDCWD, path, &pre) == 0) {
        fs_node *old = lookup_last(fs, &pre);
        if (old && !is_dir(old)) held = old->npages;
    }
    if (fs->pages - held + need > MOCK_CAPACITY_PAGES) return -CIO_ENOSPC;
    char buf[MOCK_PATH_MAX];
    memcpy(buf, path, total + 1);
    for (size_t i = 1; i < total; i++) {
        if (buf[i] != '/' || buf[i - 1] == '/') continue;
        buf[i] = 0;
        walk w;
        int r = walk_path(m, fs, CIO_AT_FDCWD, buf, &w);
        buf[i] = '/';
        if (r < 0) return r;
        fs_node *n = lookup_last(fs, &w);
        if (n) {
            if (!is_dir(n)) return -CIO_ENOTDIR;
            continue;
        }
        if ((r = create(m, fs, &w, CIO_S_IFDIR | 0755, &n)) < 0) return r;
    }
    walk w;
    int r = walk_path(m, fs, CIO_AT_FDCWD, path, &w);
    if (r < 0) return r;
    if (w.type != LAST_NORM || w.slash) return -CIO_EISDIR;
    fs_node *n = lookup_last(fs, &w);
    if (n && is_lnk(n) && (r = lookup_follow(fs, &w, true, &n)) < 0) return r;
    if (n && is_dir(n)) return -CIO_EISDIR;
    if (!n && (r = create(m, fs, &w, CIO_S_IFREG | 0644, &n)) < 0) return r;
    truncate_to(m, fs, n, 0);
    cio_iovec one = {.iov_base = (void *)(uintptr_t)data, .iov_len = CIO__IOV_LEN(len)};
    cursor c = {&one, 1, 0, 0};
    if (len) {
        int64_t done = data_write(m, fs, n, 0, &c, len);
        if (done < 0 || (size_t)done < len) {
            truncate_to(m, fs, n, 0);
            return done < 0 ? (int)done : -CIO_ENOMEM;
        }
    }
    return 0;
}

int64_t cio_mock_file_get(cio_loop *loop, const char *path, void *buf, size_t cap) {
    mock *m = mock_of(loop);
    if (!m || !path || (!buf && cap)) return -CIO_EINVAL;
    mock_fs *fs = fs_of(m);
    if (!fs) return -CIO_ENOMEM;
    fs_node *n;
    int r = resolve(m, fs, CIO_AT_FDCWD, path, true, &n);
    if (r < 0) return r;
    if (is_dir(n)) return -CIO_EISDIR;
    size_t k = n->size < cap ? (size_t)n->size : cap;
    cio_iovec one = {.iov_base = buf, .iov_len = CIO__IOV_LEN(k)};
    cursor c = {&one, 1, 0, 0};
    data_read(n, 0, &c, k);
    return (int64_t)n->size;
}
