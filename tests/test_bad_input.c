/* Bad input: each is refused at submit with a precise error, the op never
 * completes, and ops already submitted are not lost.
 * CIO_TEST_PORTABLE.
 */
#include "test.h"


static cio_loop loop;

static void refused(cio_op *op, int err) {
    CHECK_EQ(cio_submit(&loop, op), err);
    CHECK_EQ(op->res, 0);
}

int main(void) {
    t_loop_init(&loop, 8);

    /* Something in flight before all the bad submissions. */
    t_op keep;
    cio_prep_timeout(&keep.op, 20 * 1000000, 0);
    t_arm(&keep);
    CHECK_EQ(cio_submit(&loop, &keep.op), 0);

    t_op b;
    char buf[4];
    cio_fd fds[2];
    CHECK_EQ(t_pipe(fds), 0);
    /* NULL buffer with a length. */
    cio_prep_read(&b.op, fds[0], NULL, 4, 0);
    t_arm(&b);
    refused(&b.op, -CIO_EINVAL);
    cio_prep_send(&b.op, fds[1], NULL, 4, 0);
    refused(&b.op, -CIO_EINVAL);
    cio_prep_readv(&b.op, fds[0], NULL, 2, 0);
    refused(&b.op, -CIO_EINVAL);
    cio_iovec iov[2] = {{.iov_base = buf, .iov_len = 2}, {.iov_base = NULL, .iov_len = 2}};
    cio_prep_writev(&b.op, fds[1], iov, 2, 0);
    refused(&b.op, -CIO_EINVAL);
    cio_prep_recvmsg(&b.op, fds[0], NULL, 0);
    refused(&b.op, -CIO_EINVAL);
    cio_prep_openat(&b.op, CIO_AT_FDCWD, NULL, 0, 0);
    refused(&b.op, -CIO_EINVAL);
    cio_prep_statx(&b.op, CIO_AT_FDCWD, "/", 0, CIO_STATX_BASIC_STATS, NULL);
    refused(&b.op, -CIO_EINVAL);
    cio_prep_connect(&b.op, fds[0], NULL, 0);
    refused(&b.op, -CIO_EINVAL);
    /* A NULL buffer with length 0 is fine. */
    cio_prep_write(&b.op, fds[1], NULL, 0, CIO_OFFSET_CURRENT);
    t_arm(&b);
    CHECK_EQ(cio_submit(&loop, &b.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(b.finals, 1);
    CHECK_EQ(b.res, 0);
    CHECK_EQ(keep.finals, 1); /* t_run ran it out */
    cio_prep_timeout(&keep.op, 60ull * 1000000000, 0);
    t_arm(&keep);
    CHECK_EQ(cio_submit(&loop, &keep.op), 0);

    /* Bad handles: negative is refused at submit; a closed one fails in the op. */
    cio_prep_read(&b.op, -1, buf, 4, 0);
    t_arm(&b);
    refused(&b.op, -CIO_EBADF);
    cio_prep_close(&b.op, -5);
    refused(&b.op, -CIO_EBADF);
    cio_prep_openat(&b.op, -7, "x", 0, 0);
    refused(&b.op, -CIO_EBADF);
    cio_prep_read(&b.op, 999, buf, 4, 0);
    t_arm(&b);
    CHECK_EQ(cio_submit(&loop, &b.op), 0);
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(b.finals, 1);
    CHECK_EQ(b.res, -CIO_EBADF);

    /* An op submitted twice while in flight. */
    t_op twice;
    cio_prep_read(&twice.op, fds[0], buf, 4, CIO_OFFSET_CURRENT);
    t_arm(&twice);
    CHECK_EQ(cio_submit(&loop, &twice.op), 0);
    CHECK_EQ(cio_submit(&loop, &twice.op), -CIO_EALREADY);
    cio_op *one[1] = {&twice.op};
    int32_t res_in_flight = twice.op.res;
    CHECK_EQ(cio_submit_batch(&loop, one, 1), -CIO_EALREADY);
    CHECK_EQ(twice.op.res, res_in_flight); /* an op in flight is its backend's: the refusal leaves it alone */

    /* Invalid flags and opcodes. */
    t_op f;
    cio_prep_nop(&f.op);
    t_arm(&f);
    f.op.flags = 0x40;
    refused(&f.op, -CIO_EINVAL);
    f.op.flags = CIO_F_MORE;
    refused(&f.op, -CIO_EINVAL);
    f.op.flags = CIO_F_MULTISHOT; /* only accept and poll */
    refused(&f.op, -CIO_EINVAL);
    f.op.flags = 0;
    f.op.opcode = 0;
    refused(&f.op, -CIO_EINVAL);
    f.op.opcode = CIO_OP_COUNT_;
    refused(&f.op, -CIO_EINVAL);
    cio_prep_timeout(&f.op, 1, 0x8);
    refused(&f.op, -CIO_EINVAL);
    cio_prep_fsync(&f.op, fds[1], 0x10);
    refused(&f.op, -CIO_EINVAL);
    cio_prep_shutdown(&f.op, fds[1], 17);
    refused(&f.op, -CIO_EINVAL);
    cio_prep_poll(&f.op, fds[0], 0);
    refused(&f.op, -CIO_EINVAL);
    cio_prep_post(&f.op, NULL, NULL);
    refused(&f.op, -CIO_EINVAL);
    /* Cancel of an op not in flight. */
    t_op idle, c;
    cio_prep_nop(&idle.op);
    cio_prep_cancel(&c.op, &idle.op);
    t_arm(&c);
    refused(&c.op, -CIO_ENOENT);
    CHECK_EQ(cio_cancel(&loop, &idle.op), -CIO_ENOENT);
    /* NULL loop or op. */
    CHECK_EQ(cio_submit(NULL, &f.op), -CIO_EINVAL);
    CHECK_EQ(cio_submit(&loop, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_submit_batch(&loop, NULL, 3), -CIO_EINVAL);
    CHECK_EQ(cio_submit_batch(&loop, NULL, 0), 0);
    CHECK_EQ(cio_loop_run(&loop, (cio_run_mode)9), -CIO_EINVAL);

    /* Bad options. */
    cio_loop l2;
    cio_loop_options o = {0};
    o.flags = 1;
    CHECK_EQ(cio_loop_init(&l2, &o), -CIO_EINVAL);
    o.flags = 0;
    o.backend = (cio_backend_kind)42;
    CHECK_EQ(cio_loop_init(&l2, &o), -CIO_EINVAL);
    CHECK_EQ(cio_loop_init(NULL, NULL), -CIO_EINVAL);

    /* Everything in flight before is intact and completes once. */
    CHECK_EQ(cio_loop_active(&loop), 2); /* keep and twice */
    CHECK_EQ(t_sys_write(fds[1], "abcd", 4), 4);
    t_run_until(&loop, &twice.finals, 5);
    CHECK_EQ(twice.res, 4);
    CHECK_EQ(cio_cancel(&loop, &keep.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(keep.finals, 1);
    CHECK_EQ(keep.res, -CIO_ECANCELED);
    CHECK_EQ(f.finals + c.finals, 0);

    CHECK(strcmp(cio_strerror(-CIO_ECANCELED), "operation canceled") == 0);
    CHECK(strcmp(cio_strerror(CIO_ETIMEDOUT), "timed out") == 0);
    CHECK(strcmp(cio_strerror(-99999), "unknown error") == 0);
    CHECK(strcmp(cio_op_name(CIO_OP_ACCEPT), "accept") == 0);
    CHECK(strcmp(cio_op_name(0), "invalid") == 0);
    t_close_handle(fds[0]);
    t_close_handle(fds[1]);
    t_close(&loop);
    puts("bad_input: ok");
    return 0;
}
