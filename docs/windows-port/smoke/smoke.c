/* Survey smoke test: the mock backend, timers, a cross-thread post, the
 * pool (a nop through sync_ops_win's stub is not reached: the mock runs
 * everything), tasks on Windows stacks. */
#include <cio.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

static int fails;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "FAIL %s:%d %s\n", __FILE__, __LINE__, #c); fails++; } } while (0)

static int timers_fired;
static void on_timer(cio_loop *loop, cio_op *op) { (void)loop; CHECK(op->res == 0 || op->res == -CIO_ETIMEDOUT); timers_fired++; }
static int posted;
static void on_post(cio_loop *loop, cio_op *op) { (void)loop; (void)op; posted++; }

static cio_loop *g_loop;
static cio_op g_msg;
static DWORD WINAPI poster(LPVOID p) {
    (void)p;
    Sleep(20);
    cio_prep_nop(&g_msg);
    g_msg.cb = on_post;
    CHECK(cio_loop_post(g_loop, &g_msg) == 0);
    return 0;
}

static int task_done;
static intptr_t task_fn(void *arg) {
    cio_fd *fds = arg;
    char buf[16] = {0};
    CHECK(cio_write(fds[1], "hello", 5, CIO_OFFSET_CURRENT) == 5);
    uint32_t got = 0; /* the mock's pipes may return short reads */
    while (got < 5) {
        int32_t rr = cio_read(fds[0], buf + got, (uint32_t)(sizeof buf - got), CIO_OFFSET_CURRENT);
        if (rr <= 0) { fprintf(stderr, "read: %d %s\n", (int)rr, cio_strerror(rr)); break; }
        got += (uint32_t)rr;
    }
    CHECK(got == 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK(cio_sleep(5 * 1000000ull) == 0);
    CHECK(cio_close(fds[0]) == 0 && cio_close(fds[1]) == 0);
    task_done = 42;
    return 42;
}

int main(void) {
    cio_loop loop;
    cio_loop_options o;
    memset(&o, 0, sizeof o);
    o.backend = CIO_BACKEND_MOCK;
    o.seed = 7;
    CHECK(cio_loop_init(&loop, NULL) == -CIO_ENOTSUP); /* AUTO: no IOCP backend yet */
    CHECK(cio_loop_init(&loop, &o) == 0);
    uint64_t t0 = cio_now(&loop);
    cio_op timers[3];
    for (unsigned i = 0; i < 3; i++) {
        cio_prep_timeout(&timers[i], (i + 1) * 10 * 1000000ull, 0);
        timers[i].cb = on_timer;
        CHECK(cio_submit(&loop, &timers[i]) == 0);
    }
    CHECK(cio_loop_run(&loop, CIO_RUN_DEFAULT) == 0);
    CHECK(timers_fired == 3);
    CHECK(cio_now(&loop) - t0 >= 30 * 1000000ull);

    cio_fd fds[2];
    CHECK(cio_mock_pipe(&loop, fds) == 0);
    cio_task *t;
    CHECK(cio_task_spawn(&loop, task_fn, fds, NULL, &t) == 0);
    CHECK(cio_loop_run(&loop, CIO_RUN_DEFAULT) == 0);
    (void)t;
    CHECK(task_done == 42);

    /* A wake from another thread: the mock waits in real time for it. */
    g_loop = &loop;
    HANDLE th = CreateThread(NULL, 0, poster, NULL, 0, NULL);
    cio_op keep;
    cio_prep_timeout(&keep, 10ull * 1000000000ull, 0);
    keep.cb = on_timer;
    CHECK(cio_submit(&loop, &keep) == 0);
    while (!posted) cio_loop_run(&loop, CIO_RUN_ONCE);
    cio_cancel(&loop, &keep);
    CHECK(cio_loop_run(&loop, CIO_RUN_DEFAULT) == 0);
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
    CHECK(posted == 1);
    CHECK(cio_loop_close(&loop) == 0);
    printf("%s (monotonic %llu ns)\n", fails ? "FAILED" : "smoke OK", (unsigned long long)t0);
    return fails != 0;
}
