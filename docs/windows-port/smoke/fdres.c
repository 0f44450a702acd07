#include <cio.h>
#include <stdio.h>
#include <string.h>
static void on_done(cio_loop *l, cio_op *op) { (void)l; printf("socket: res %d, cio_op_fd %llu\n", (int)op->res, (unsigned long long)cio_op_fd(op)); }
int main(void) {
    cio_loop loop; cio_loop_options o; memset(&o, 0, sizeof o); o.backend = CIO_BACKEND_MOCK;
    if (cio_loop_init(&loop, &o)) return 1;
    cio_op op; cio_prep_socket(&op, AF_INET, SOCK_STREAM, 0); op.cb = on_done;
    cio_submit(&loop, &op); cio_loop_run(&loop, CIO_RUN_DEFAULT);
    cio_loop_close(&loop);
    return 0;
}
