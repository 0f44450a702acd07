/*
 * An outside program built against an installed cio: it must find the
 * headers and the library through the CMake package or pkg-config alone.
 * Exits 0 only if a nop and a timer each complete exactly once with 0.
 */
#include <cio.h>
#include <stdio.h>

typedef struct counted {
    cio_op op; /* first member: the callback casts the op back */
    int finals;
    int32_t res;
} counted;

static void on_done(cio_loop *loop, cio_op *op) {
    (void)loop;
    counted *c = (counted *)op;
    if (!(op->flags & CIO_F_MORE)) c->finals++;
    c->res = op->res;
}

int main(void) {
    cio_loop loop;
    int r = cio_loop_init(&loop, NULL);
    if (r < 0) {
        fprintf(stderr, "cio_loop_init: %s\n", cio_strerror(r));
        return 1;
    }
    counted nop, timer;
    cio_prep_nop(&nop.op);
    nop.op.cb = on_done;
    cio_prep_timeout(&timer.op, 1000000, 0); /* 1 ms */
    timer.op.cb = on_done;
    nop.finals = timer.finals = 0;
    nop.res = timer.res = -1;

    if ((r = cio_submit(&loop, &nop.op)) < 0 || (r = cio_submit(&loop, &timer.op)) < 0) {
        fprintf(stderr, "cio_submit: %s\n", cio_strerror(r));
        return 1;
    }
    /* Bounded: the loop returns once both ops are done; 1000 turns is plenty. */
    for (int turns = 0; cio_loop_active(&loop) > 0 && turns < 1000; turns++) {
        if ((r = cio_loop_run(&loop, CIO_RUN_ONCE)) < 0) {
            fprintf(stderr, "cio_loop_run: %s\n", cio_strerror(r));
            return 1;
        }
    }
    const char *backend = cio_backend_name(cio_loop_backend(&loop));
    int ok = nop.finals == 1 && nop.res == 0 && timer.finals == 1 && timer.res == 0;
    if ((r = cio_loop_close(&loop)) != 0) {
        fprintf(stderr, "cio_loop_close: %s\n", cio_strerror(r));
        return 1;
    }
    printf("consumer: cio %d.%d.%d on %s: %s\n", CIO_VERSION_MAJOR, CIO_VERSION_MINOR, CIO_VERSION_PATCH,
           backend, ok ? "ok" : "FAILED");
    if (!ok)
        fprintf(stderr, "nop: %d completions, res %d; timer: %d completions, res %d\n", nop.finals, nop.res,
                timer.finals, timer.res);
    return ok ? 0 : 1;
}
