/*
 * bench/bench_cio.h - what the cio benchmark programs share: choosing the
 * backend a run measures.
 *
 * The backend is named on the command line ("io_uring", "epoll", "poll",
 * "iocp" on Windows, or "mock" for the simulation's own cost)
 * and asked for in cio_loop_options. The CIO_BACKEND environment variable
 * overrides that option inside cio_loop_init(); a run whose loop ended up
 * on another backend than the one named would be reported under the wrong
 * name, so it is refused instead.
 */
#ifndef CIO_BENCH_CIO_H
#define CIO_BENCH_CIO_H

#include <cio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline cio_backend_kind bench_backend(const char *prog, const char *name) {
    static const cio_backend_kind kinds[] = {CIO_BACKEND_URING, CIO_BACKEND_EPOLL, CIO_BACKEND_POLL,
                                             CIO_BACKEND_IOCP, CIO_BACKEND_MOCK};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(name, cio_backend_name(kinds[i])) == 0) return kinds[i];
    fprintf(stderr, "%s: unknown backend '%s' (io_uring, epoll, poll, iocp or mock)\n", prog, name);
    exit(2);
}

/* cio_loop_init() on `kind`, exiting on failure or on a backend override. */
static inline void bench_loop_init(const char *prog, cio_loop *loop, cio_backend_kind kind, uint32_t entries) {
    cio_loop_options opts = {.entries = entries, .backend = kind};
    int r = cio_loop_init(loop, &opts);
    if (r < 0) {
        fprintf(stderr, "%s: cio_loop_init(%s): %s\n", prog, cio_backend_name(kind), cio_strerror(r));
        exit(1);
    }
    if (cio_loop_backend(loop) != kind) {
        fprintf(stderr, "%s: asked for %s, got %s (is CIO_BACKEND set?)\n", prog, cio_backend_name(kind),
                cio_backend_name(cio_loop_backend(loop)));
        exit(1);
    }
}

#endif /* CIO_BENCH_CIO_H */
