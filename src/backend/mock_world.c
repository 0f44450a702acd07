/*
 * src/backend/mock_world.c - the table of simulated handles (mock_sim.h):
 * numbers from CIO_MOCK_FD_BASE up, given lowest first as descriptors are,
 * each naming an object of one kind. The table grows by doubling; only
 * making a handle allocates.
 */
#include <stdlib.h>

#include "mock_sim.h"

/* Numbers stay below INT_MAX, far above any descriptor a real process gets
 * (Linux caps a process at fs.nr_open, 2^20 by default). */
#define MOCK_HANDLES_MAX (1u << 29)

int32_t mock_handle_open(mock_world *w, const mock_kind *kind, void *obj, uint32_t end) {
    if (w->open >= w->max) return -CIO_EMFILE; /* as past RLIMIT_NOFILE */
    uint32_t i = w->low;
    while (i < w->cap && w->handles[i].kind) i++;
    if (i == w->cap) {
        if (w->cap >= MOCK_HANDLES_MAX) return -CIO_EMFILE;
        uint32_t cap = w->cap ? 2 * w->cap : 16;
        mock_handle *grown = realloc(w->handles, cap * sizeof *grown);
        if (!grown) return -CIO_ENOMEM;
        memset(grown + w->cap, 0, (cap - w->cap) * sizeof *grown);
        w->handles = grown;
        w->cap = cap;
    }
    mock_handle *h = &w->handles[i];
    h->kind = kind;
    h->obj = obj;
    h->end = end;
    h->ops = (opq){0};
    h->made_by = w->trying ? w->trying->opcode : 0;
    h->made_on = w->trying ? cio__op_file(w->trying) : (cio_fd)CIO_FD_INVALID;
    w->low = i + 1;
    w->open++;
    return (int32_t)(CIO_MOCK_FD_BASE + i);
}

mock_handle *mock_handle_at(const mock_world *w, cio_fd fd) {
    if (!mock_is_simulated(fd)) return NULL;
    uint64_t i = (uint64_t)fd - CIO_MOCK_FD_BASE;
    if (i >= w->cap || !w->handles[i].kind) return NULL;
    return &w->handles[i];
}

void mock_handle_free(mock_world *w, cio_fd fd) {
    mock_handle *h = mock_handle_at(w, fd);
    if (!h) return;
    uint32_t i = (uint32_t)((uint64_t)fd - CIO_MOCK_FD_BASE);
    memset(h, 0, sizeof *h);
    if (i < w->low) w->low = i;
    w->open--;
}

cio_fd mock_handle_fd(const mock_world *w, const mock_handle *h) {
    return (cio_fd)(CIO_MOCK_FD_BASE + (uint32_t)(h - w->handles));
}
