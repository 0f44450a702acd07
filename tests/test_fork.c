/* A loop does not cross fork(). In the child an inherited loop refuses
 * every call with -CIO_EPERM but cio_loop_close(), which lets go of the
 * child's copy without running callbacks or touching the kernel objects it
 * shares with the parent; the child can make loops of its own. The parent's
 * ops are unaffected: they complete with the bytes a plain-syscall peer
 * sends after the child is gone.
 * CIO_TEST_NOT_ON_WINDOWS: fork(), which Windows does not have */
#include "test.h"

#include <sys/socket.h>
#include <sys/wait.h>

/* A close hook completes exactly once in each process: with -CIO_EPERM in
 * the child (it may only let go of memory), with 0 in the parent. */
static int hook_calls;
static int32_t hook_res = 1;
static void on_hook(cio_loop *loop, cio_op *op) {
    (void)loop;
    hook_calls++;
    hook_res = op->res;
}

static int child_main(cio_loop *inherited) {
    alarm(20);
    cio_op op;
    cio_prep_nop(&op);
    if (cio_submit(inherited, &op) != -CIO_EPERM) return 10;
    if (cio_loop_run(inherited, CIO_RUN_NOWAIT) != -CIO_EPERM) return 11;
    if (cio_loop_wake(inherited) != -CIO_EPERM) return 12;
    if (cio_loop_close(inherited) != 0) return 13;
    if (cio_loop_close(inherited) != -CIO_EINVAL) return 14;
    if (hook_calls != 1 || hook_res != -CIO_EPERM) return 20;
    /* A fresh loop in the child works. */
    cio_loop mine;
    if (cio_loop_init(&mine, NULL) < 0) return 15;
    cio_op t;
    cio_prep_timeout(&t, 1000000, 0);
    if (cio_submit(&mine, &t) != 0) return 16;
    if (cio_loop_run(&mine, CIO_RUN_DEFAULT) != 0) return 17;
    if (t.res != 0) return 18;
    if (cio_loop_close(&mine) != 0) return 19;
    return 0;
}

int main(void) {
    cio_loop loop;
    t_loop_init(&loop, 16);
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    char buf[16] = {0};
    t_op rd, timer;
    cio_prep_recv(&rd.op, sv[0], buf, sizeof buf, 0);
    t_arm(&rd);
    CHECK_EQ(cio_submit(&loop, &rd.op), 0);
    cio_prep_timeout(&timer.op, 3600ull * 1000000000, 0);
    t_arm(&timer);
    CHECK_EQ(cio_submit(&loop, &timer.op), 0);
    cio_op hook;
    cio_prep_nop(&hook);
    hook.cb = on_hook;
    CHECK_EQ(cio_loop_at_close(&loop, &hook), 0);
    /* Into the kernel before the fork. */
    CHECK_EQ(cio_loop_run(&loop, CIO_RUN_NOWAIT), 2);

    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(child_main(&loop));
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child failed: status %d\n", status);
        return 1;
    }
    /* The parent's ops are intact. */
    CHECK_EQ(cio_loop_active(&loop), 2);
    CHECK_EQ(write(sv[1], "after fork", 10), 10);
    double end = t_seconds() + 10;
    while (!rd.finals && t_seconds() < end) CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, 10);
    CHECK(memcmp(buf, "after fork", 10) == 0);
    CHECK_EQ(cio_cancel(&loop, &timer.op), 0);
    t_run(&loop, 5);
    CHECK_EQ(timer.res, -CIO_ECANCELED);
    CHECK_EQ(hook_calls, 0);
    t_close(&loop);
    CHECK_EQ(hook_calls, 1);
    CHECK_EQ(hook_res, 0);
    printf("fork: ok\n");
    return 0;
}
