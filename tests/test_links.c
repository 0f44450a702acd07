/* Links: a soft chain stops at the first failure (the rest complete with
 * -CIO_ECANCELED), a hard chain goes on regardless; ops of a chain run in
 * order; a short read breaks a soft chain.
 * CIO_TEST_PORTABLE.
 */
#include "test.h"

#include <unistd.h>

static cio_loop loop;

static void submit_chain(t_op *ops, int n, const uint8_t *flags) {
    cio_op *ptrs[16];
    for (int i = 0; i < n; i++) {
        ops[i].op.flags = flags[i];
        ptrs[i] = &ops[i].op;
    }
    CHECK_EQ(cio_submit_batch(&loop, ptrs, (unsigned)n), 0);
    t_run(&loop, 10);
    for (int i = 0; i < n; i++) CHECK_EQ(ops[i].finals, 1);
}

int main(void) {
    t_loop_init(&loop, 16);
    cio_fd fds[2];
    CHECK_EQ(t_pipe(fds), 0);
    char in[8];

    /* Order: a timer, then a write, then a read, in that order even though
     * the timer takes longest. */
    t_op c[4];
    cio_prep_timeout(&c[0].op, 5 * 1000000, 0);
    cio_prep_write(&c[1].op, fds[1], "abcd", 4, CIO_OFFSET_CURRENT);
    cio_prep_read(&c[2].op, fds[0], in, 4, CIO_OFFSET_CURRENT);
    cio_prep_nop(&c[3].op);
    for (int i = 0; i < 4; i++) t_arm(&c[i]);
    submit_chain(c, 4, (const uint8_t[]){CIO_F_LINK, CIO_F_LINK, CIO_F_LINK, 0});
    CHECK_EQ(c[0].res, 0);
    CHECK_EQ(c[1].res, 4);
    CHECK_EQ(c[2].res, 4);
    CHECK_EQ(c[3].res, 0);
    CHECK(memcmp(in, "abcd", 4) == 0);
    for (int i = 1; i < 4; i++) CHECK(c[i - 1].order < c[i].order);

    /* Soft: a failing op (read on a bad fd) cancels everything after it. */
    t_op s[4];
    cio_prep_nop(&s[0].op);
    cio_prep_read(&s[1].op, 1000, in, 4, 0); /* fd 1000 is not open */
    cio_prep_nop(&s[2].op);
    cio_prep_write(&s[3].op, fds[1], "zz", 2, CIO_OFFSET_CURRENT);
    for (int i = 0; i < 4; i++) t_arm(&s[i]);
    submit_chain(s, 4, (const uint8_t[]){CIO_F_LINK, CIO_F_LINK, CIO_F_HARDLINK, 0});
    CHECK_EQ(s[0].res, 0);
    CHECK_EQ(s[1].res, -CIO_EBADF);
    CHECK_EQ(s[2].res, -CIO_ECANCELED);
    CHECK_EQ(s[3].res, -CIO_ECANCELED); /* a hard link after a cancelled op does not revive the chain */
    for (int i = 1; i < 4; i++) CHECK(s[i - 1].order < s[i].order);

    /* Hard: the chain goes on past the failure. */
    t_op h[3];
    cio_prep_read(&h[0].op, 1000, in, 4, 0);
    cio_prep_write(&h[1].op, fds[1], "hard", 4, CIO_OFFSET_CURRENT);
    cio_prep_read(&h[2].op, fds[0], in, 4, CIO_OFFSET_CURRENT);
    for (int i = 0; i < 3; i++) t_arm(&h[i]);
    submit_chain(h, 3, (const uint8_t[]){CIO_F_HARDLINK, CIO_F_LINK, 0});
    CHECK_EQ(h[0].res, -CIO_EBADF);
    CHECK_EQ(h[1].res, 4);
    CHECK_EQ(h[2].res, 4);
    CHECK(memcmp(in, "hard", 4) == 0);

    /* A short read breaks a soft link: 2 bytes available, 8 asked. */
    t_op r[3];
    cio_prep_write(&r[0].op, fds[1], "xy", 2, CIO_OFFSET_CURRENT);
    cio_prep_read(&r[1].op, fds[0], in, 8, CIO_OFFSET_CURRENT);
    cio_prep_nop(&r[2].op);
    for (int i = 0; i < 3; i++) t_arm(&r[i]);
    submit_chain(r, 3, (const uint8_t[]){CIO_F_LINK, CIO_F_LINK, 0});
    CHECK_EQ(r[0].res, 2);
    CHECK_EQ(r[1].res, 2);
    CHECK_EQ(r[2].res, -CIO_ECANCELED);

    /* Cancelling an op that waits in a chain: it completes with
     * -CIO_ECANCELED when its turn comes, and breaks the soft link after it. */
    t_op w[3], cancel;
    cio_prep_timeout(&w[0].op, 2 * 1000000, 0);
    cio_prep_nop(&w[1].op);
    cio_prep_nop(&w[2].op);
    for (int i = 0; i < 3; i++) t_arm(&w[i]);
    w[0].op.flags = CIO_F_LINK;
    w[1].op.flags = CIO_F_LINK;
    cio_op *wp[3] = {&w[0].op, &w[1].op, &w[2].op};
    CHECK_EQ(cio_submit_batch(&loop, wp, 3), 0);
    cio_prep_cancel(&cancel.op, &w[1].op);
    t_arm(&cancel);
    CHECK_EQ(cio_submit(&loop, &cancel.op), 0);
    t_run(&loop, 10);
    CHECK_EQ(cancel.res, 0);
    CHECK_EQ(w[0].res, 0);
    CHECK_EQ(w[1].res, -CIO_ECANCELED);
    CHECK_EQ(w[2].res, -CIO_ECANCELED);
    for (int i = 0; i < 3; i++) CHECK_EQ(w[i].finals, 1);

    /* Links are rejected outside a batch and on a batch's last op; nothing
     * of a rejected batch is taken. */
    t_op bad[2];
    cio_prep_nop(&bad[0].op);
    t_arm(&bad[0]);
    bad[0].op.flags = CIO_F_LINK;
    CHECK_EQ(cio_submit(&loop, &bad[0].op), -CIO_EINVAL);
    cio_prep_nop(&bad[1].op);
    t_arm(&bad[1]);
    bad[1].op.flags = CIO_F_HARDLINK;
    cio_op *bp[2] = {&bad[0].op, &bad[1].op};
    CHECK_EQ(cio_submit_batch(&loop, bp, 2), -CIO_EINVAL);
    CHECK_EQ(bad[1].op.res, -CIO_EINVAL);
    bad[0].op.flags = CIO_F_LINK | CIO_F_HARDLINK;
    bad[1].op.flags = 0;
    CHECK_EQ(cio_submit_batch(&loop, bp, 2), -CIO_EINVAL);
    CHECK_EQ(bad[0].op.res, -CIO_EINVAL);
    CHECK_EQ(cio_loop_active(&loop), 0);
    CHECK_EQ(bad[0].finals + bad[1].finals, 0);
    /* The same op twice in one batch is refused as well. */
    bad[0].op.flags = 0;
    cio_op *twice[2] = {&bad[0].op, &bad[0].op};
    CHECK_EQ(cio_submit_batch(&loop, twice, 2), -CIO_EALREADY);
    CHECK_EQ(cio_loop_active(&loop), 0);
    CHECK_EQ(cio_submit(&loop, &bad[0].op), 0); /* and is fine alone */
    t_run(&loop, 5);
    CHECK_EQ(bad[0].finals, 1);

    t_close_handle(fds[0]);
    t_close_handle(fds[1]);
    t_close(&loop);
    puts("links: ok");
    return 0;
}
