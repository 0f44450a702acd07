/*
 * src/core/fixed_file.c - fixed files (cio/fixed.h): the record of a
 * loop's fixed handles in both modes (fixed_file.h), the checks, and the
 * end of what is left when the loop closes. The kernel's side of the
 * kernel mode is uring.c's.
 */
#include "fixed_file.h"

#include <stdlib.h>
#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>
#endif

#include "../backend/backend.h"

static cio_files *files_of(cio_loop *loop) { return cio__core(loop)->files; }

/* ---- handle mode: a set of handles (linear probing, at most half full) ---- */

static uint32_t home(cio_fd fd, uint32_t mask) {
    uint64_t k = (uint64_t)(uintptr_t)fd * 0x9e3779b97f4a7c15u;
    return (uint32_t)(k >> 32) & mask;
}

/* The entry of `fd`, or UINT32_MAX. */
static uint32_t set_find(const cio_files *f, cio_fd fd) {
    for (uint32_t i = home(fd, f->mask);; i = (i + 1) & f->mask) {
        if (f->state[i] == FX_FREE) return UINT32_MAX;
        if (f->keys[i] == fd) return i;
    }
}

static void set_add(cio_files *f, cio_fd fd) {
    uint32_t i = home(fd, f->mask);
    while (f->state[i] != FX_FREE) i = (i + 1) & f->mask;
    f->keys[i] = fd;
    f->state[i] = FX_LIVE;
}

/* Empties entry `i`, moving back the entries after it that would no
 * longer be found (no tombstones: the set stays as fast as when new). */
static void set_remove(cio_files *f, uint32_t i) {
    for (uint32_t j = i;;) {
        j = (j + 1) & f->mask;
        if (f->state[j] == FX_FREE) break;
        uint32_t h = home(f->keys[j], f->mask);
        if (((j - h) & f->mask) >= ((j - i) & f->mask)) {
            f->keys[i] = f->keys[j];
            f->state[i] = f->state[j];
            i = j;
        }
    }
    f->state[i] = FX_FREE;
}

/* ---- both modes ---- */

/* The state of `fd` as a fixed handle (FX_FREE: it is none), and where it
 * is kept. */
static uint8_t state_of(const cio_files *f, cio_fd fd, uint32_t *at) {
    *at = UINT32_MAX;
    if (f->kernel) {
        if ((uintptr_t)fd >= f->count) return FX_FREE;
        *at = (uint32_t)(uintptr_t)fd;
        return f->slot[*at];
    }
    *at = set_find(f, fd);
    return *at == UINT32_MAX ? FX_FREE : f->state[*at];
}

static void set_state(cio_files *f, uint32_t at, uint8_t st) {
    if (f->kernel)
        f->slot[at] = st;
    else
        f->state[at] = st;
}

/* Entry `at` is free again. */
static void release(cio_files *f, uint32_t at) {
    if (f->kernel) {
        f->slot[at] = FX_FREE;
        f->free_slots[f->nfree++] = at;
    } else {
        set_remove(f, at);
    }
    f->used--;
}

/* Closes a plain handle with no op on it, as the backend's setup calls do
 * (the mock's handles are its own). */
static void close_plain(cio_loop *loop, cio_fd fd) {
    cio_op op;
    cio_prep_close(&op, fd);
    const struct cio_backend *be = cio__core(loop)->be;
    (void)(be->setup_op ? be->setup_op(loop, &op) : cio__sync_exec(&op));
}

int cio__files_check(cio_loop *loop, const cio_op *op) {
    unsigned fx = cio__opdef(op)->fixed;
    if (!fx) return -CIO_EINVAL;
    const cio_files *f = files_of(loop);
    if (fx & (OPD_FIX_USE | OPD_FIX_CLOSE)) {
        cio_fd fd = (fx & OPD_FIX_CLOSE) ? op->args.close.fd : cio__op_file(op);
        uint32_t at;
        if (!f || state_of(f, fd, &at) != FX_LIVE) return -CIO_EBADF;
    }
    return ((fx & OPD_FIX_NEW) && !f) ? -CIO_EINVAL : 0;
}

int cio__files_closing(cio_loop *loop, cio_op *op) {
    cio_files *f = files_of(loop);
    uint32_t at;
    if (!f || state_of(f, op->args.close.fd, &at) != FX_LIVE) return -CIO_EBADF;
    set_state(f, at, FX_CLOSING);
    op->args.close.fixed_begun_ = 1; /* this close, no other, ends the handle */
    return f->kernel ? 1 : 0;
}

int32_t cio__files_done(cio_loop *loop, cio_op *op, int32_t res) {
    unsigned fx = cio__opdef(op)->fixed;
    cio_files *f = files_of(loop);
    uint32_t at;
    if (!f) return res;
    if (fx & OPD_FIX_CLOSE) {
        /* Only the close that started closing the handle ends it: not a
         * second close of it (refused at its start with -CIO_EBADF), nor
         * one that never started (cancelled in a broken chain while
         * another close runs), nor a close behind cio's back (the entry
         * stays taken, and cio does not close the number again when the
         * loop closes). One that started but was cancelled leaves the
         * handle open. */
        bool begun = op->args.close.fixed_begun_ != 0;
        op->args.close.fixed_begun_ = 0;
        if (!begun || state_of(f, op->args.close.fd, &at) != FX_CLOSING || res == -CIO_EBADF) return res;
        if (res == -CIO_ECANCELED)
            set_state(f, at, FX_LIVE);
        else
            release(f, at);
        return res;
    }
    /* The kernel mode's new handles are the backend's (a slot it took). */
    if (!(fx & OPD_FIX_NEW) || res < 0 || f->kernel) return res;
    /* cio_op_fd() reads op->res, which is set only after this. */
#if defined(_WIN32)
    cio_fd fd = op->internal_.win.handle;
#else
    cio_fd fd = (cio_fd)res;
#endif
    uint8_t st = state_of(f, fd, &at);
    if (st == FX_CLOSING) set_state(f, at, FX_LIVE); /* the number of one closed behind cio's back */
    if (st != FX_FREE) return res;
    if (f->used >= f->count) {
        /* No room: the new handle goes, as the kernel does with its own. */
        close_plain(loop, fd);
        return -CIO_ENFILE;
    }
    set_add(f, fd);
    f->used++;
    return res;
}

int cio__files_slot_take(cio_loop *loop) {
    cio_files *f = files_of(loop);
    if (!f->nfree) return -CIO_ENFILE;
    uint32_t s = f->free_slots[--f->nfree];
    f->slot[s] = FX_PENDING;
    f->used++;
    return (int)s;
}

void cio__files_slot_settle(cio_loop *loop, uint32_t slot, bool filled) {
    cio_files *f = files_of(loop);
    if (filled)
        f->slot[slot] = FX_LIVE;
    else
        release(f, slot);
}

static void files_free(cio_files *f) {
    free(f->slot);
    free(f->free_slots);
    free(f->keys);
    free(f->state);
    free(f);
}

/* The loop closes, every op done (or, in a child after fork(), none of
 * them ours to end): the plain handles still fixed are closed (a slot of
 * the kernel's table goes with the ring). A handle whose close completed
 * with an error (closed behind cio's back) is left alone. */
static void hook_done(cio_loop *loop, cio_op *hook) {
    cio_files *f = hook->data;
    if (!f->kernel)
        for (uint32_t i = 0; i <= f->mask; i++)
            if (f->state[i] == FX_LIVE) close_plain(loop, f->keys[i]);
    cio__core(loop)->files = NULL;
    files_free(f);
}

int cio_files_reserve(cio_loop *loop, unsigned count) {
    if (!loop) return -CIO_EINVAL;
    if (!cio__usable(loop)) return cio__refusal(loop);
    cio_core *c = cio__core(loop);
    if (c->closing || count == 0 || count > CIO_FILES_MAX) return -CIO_EINVAL;
    if (c->files) return -CIO_EBUSY;
    cio_files *f = calloc(1, sizeof *f);
    if (!f) return -CIO_ENOMEM;
    f->count = count;
    int r = 0;
#ifdef CIO_HAVE_URING
    if (c->be->kind == CIO_BACKEND_URING) {
        /* Everything that can fail before the kernel takes the table. */
        f->slot = calloc(count, 1);
        f->free_slots = malloc((size_t)count * sizeof *f->free_slots);
        r = (f->slot && f->free_slots) ? cio__uring_files_register(loop, count) : -CIO_ENOMEM;
        if (r > 0) {
            f->kernel = true;
            r = 0;
            for (uint32_t i = 0; i < count; i++) f->free_slots[i] = count - 1 - i; /* slot 0 on top */
            f->nfree = count;
        } else {
            free(f->slot);
            free(f->free_slots);
            f->slot = NULL;
            f->free_slots = NULL;
        }
    }
#endif
    if (r == 0 && !f->kernel) {
        uint32_t cap = 8;
        while (cap < 2 * count) cap *= 2;
        f->mask = cap - 1;
        f->keys = malloc((size_t)cap * sizeof *f->keys);
        f->state = calloc(cap, 1);
        if (!f->keys || !f->state) r = -CIO_ENOMEM;
    }
    if (r == 0) {
        cio_prep_nop(&f->hook);
        f->hook.cb = hook_done;
        f->hook.data = f;
        r = cio__loop_at_close_last(loop, &f->hook); /* cannot fail: the loop is usable, not closing */
    }
    if (r < 0) {
        files_free(f); /* nothing registered: that was the last step that can fail */
        return r;
    }
    c->files = f;
    return 0;
}

int cio_file_fix(cio_loop *loop, cio_fd fd, cio_fd *fixed) {
    if (!loop || !fixed) return -CIO_EINVAL;
    if (!cio__usable(loop)) return cio__refusal(loop);
    cio_core *c = cio__core(loop);
    cio_files *f = c->files;
    if (!f || c->closing) return -CIO_EINVAL;
    if (cio__bad_fd(fd)) return -CIO_EBADF;
#if !defined(_WIN32)
    /* The kernel's files update would say so too; a plain handle must be
     * checked here (the mock's are its own: a later op says so). */
    if (c->be->kind != CIO_BACKEND_MOCK && fcntl(fd, F_GETFD) < 0) return -CIO_EBADF;
#endif
#ifdef CIO_HAVE_URING
    if (f->kernel) {
        int s = cio__files_slot_take(loop);
        if (s < 0) return s;
        int r = cio__uring_file_install(loop, (uint32_t)s, fd);
        cio__files_slot_settle(loop, (uint32_t)s, r == 0);
        if (r < 0) return r;
        close(fd); /* the ring holds the file now */
        *fixed = (cio_fd)s;
        return 0;
    }
#endif
    uint32_t at;
    if (state_of(f, fd, &at) != FX_FREE) return -CIO_EBADF;
    if (f->used >= f->count) return -CIO_ENFILE;
    set_add(f, fd);
    f->used++;
    *fixed = fd;
    return 0;
}

bool cio_files_registered(const cio_loop *loop) {
    if (!loop || !cio__usable(loop)) return false;
    const cio_files *f = cio__ccore(loop)->files;
    return f && f->kernel;
}
