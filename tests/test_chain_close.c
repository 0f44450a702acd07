/* A close does not reach an op that waits in a link chain for its turn
 * (include/cio/op.h, cio_prep_close): the op names its handle by number
 * and looks it up when it starts, as io_uring's kernel does, so on every
 * backend it then fails with -CIO_EBADF.
 *
 * A chain of two receives: the first on socket pair A, linked to the
 * second on pair B. B's end is closed through cio while the first receive
 * waits; then a plain send on A lets the first complete, with its bytes,
 * and the second starts on the closed number. The oracle: the bytes of the
 * first, the close's 0 and the second's -CIO_EBADF, each op completing
 * exactly once. (Nothing else is opened meanwhile, so the number is not
 * taken again.)
 * CIO_TEST_PORTABLE */
#include "test.h"

#include <cio/net.h>

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_fd a[2], b[2];
    CHECK_EQ(cio_socket_pair(&loop, SOCK_STREAM, a), 0);
    CHECK_EQ(cio_socket_pair(&loop, SOCK_STREAM, b), 0);

    char first[16] = {0}, second[16];
    t_op r1, r2, cl, s;
    cio_prep_recv(&r1.op, a[0], first, sizeof first, 0);
    t_arm(&r1);
    r1.op.flags |= CIO_F_LINK;
    cio_prep_recv(&r2.op, b[0], second, sizeof second, 0);
    t_arm(&r2);
    cio_op *chain[] = {&r1.op, &r2.op};
    CHECK_EQ(cio_submit_batch(&loop, chain, 2), 0);
    for (int i = 0; i < 3; i++) CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
    CHECK_EQ(r1.finals + r2.finals, 0);

    cio_prep_close(&cl.op, b[0]);
    t_arm(&cl);
    CHECK_EQ(cio_submit(&loop, &cl.op), 0);
    t_run_until(&loop, &cl.finals, 10);
    CHECK_EQ(cl.res, 0);
    CHECK_EQ(r1.finals + r2.finals, 0); /* not reached by the close */

    cio_prep_send(&s.op, a[1], "chain", 5, 0);
    t_arm(&s);
    CHECK_EQ(cio_submit(&loop, &s.op), 0);
    t_run(&loop, 10);
    CHECK_EQ(s.finals, 1);
    CHECK_EQ(s.res, 5);
    CHECK_EQ(r1.finals, 1);
    CHECK_EQ(r1.res, 5);
    CHECK(memcmp(first, "chain", 5) == 0);
    CHECK_EQ(r2.finals, 1);
    CHECK_EQ(r2.res, -CIO_EBADF);
    CHECK_EQ(cl.finals, 1);

    cio_fd rest[] = {a[0], a[1], b[1]};
    for (int i = 0; i < 3; i++) {
        cio_prep_close(&cl.op, rest[i]);
        t_arm(&cl);
        CHECK_EQ(cio_submit(&loop, &cl.op), 0);
        t_run(&loop, 10);
        CHECK_EQ(cl.res, 0);
    }
    t_close(&loop);
    printf("ok\n");
    return 0;
}
