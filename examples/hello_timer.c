/* A first cio program: three timers, each with a callback. */
#include <cio.h>
#include <stdio.h>

static void on_timer(cio_loop *loop, cio_op *op) {
    printf("timer %u fired: %s at +%llu ms\n", op->tag, op->res == 0 ? "ok" : cio_strerror(op->res),
           (unsigned long long)((cio_now(loop) - *(uint64_t *)loop->data) / 1000000));
}

int main(void) {
    cio_loop loop;
    uint64_t start;
    loop.data = &start;
    int r = cio_loop_init(&loop, NULL);
    if (r < 0) {
        fprintf(stderr, "cio_loop_init: %s\n", cio_strerror(r));
        return 1;
    }
    start = cio_now(&loop);
    printf("backend: %s\n", cio_backend_name(cio_loop_backend(&loop)));
    cio_op timers[3];
    for (unsigned i = 0; i < 3; i++) {
        cio_prep_timeout(&timers[i], (3 - i) * 10 * 1000000ull, 0);
        timers[i].cb = on_timer;
        timers[i].tag = (uint16_t)i;
        if ((r = cio_submit(&loop, &timers[i])) < 0) {
            fprintf(stderr, "cio_submit: %s\n", cio_strerror(r));
            break; /* the timers already submitted still fire */
        }
    }
    int run = cio_loop_run(&loop, CIO_RUN_DEFAULT);
    if (run < 0) fprintf(stderr, "cio_loop_run: %s\n", cio_strerror(run));
    int closed = cio_loop_close(&loop);
    return r == 0 && run == 0 && closed == 0 ? 0 : 1;
}
