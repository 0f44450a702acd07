/* A stack overflow through large frames (16 KiB and 48 KiB of locals, of
 * which only the low end is written, as with a buffer that a short read
 * fills) hits the guard region below the task's stack: the process dies
 * (SIGABRT) with the report naming the task, and a neighbour task's stack,
 * mapped just below, is intact up to that point (the overflowing task
 * checks a canary on it before each deeper frame). Each case runs in a
 * child process; the stack pointer starts at several offsets, since where
 * a frame's writes land relative to the guard depends on it.
 *
 * Regression (issue 7, bug 13): the guard was one 4 KiB page, which a
 * 16 KiB frame steps over: the writes landed in the neighbour's stack.
 * (Code built with -fstack-clash-protection probes every page of a large
 * frame, so there the old guard held too; this test is built without.)
 *
 * CIO_TEST_NOT_ON_WINDOWS: each case dies in a forked child (no fork on Windows), and Windows code probes every page of a large frame (__chkstk), so no frame can step over the guard there, tests/cross context_overflow_16k/48k run such frames on Windows
 */
#include "test.h"

#include <sys/wait.h>

#define CANARY_LEN (64 * 1024)
#define CANARY_BYTE 0xa5

static volatile unsigned char *canary; /* on the neighbour's stack */
static size_t frame_size;
static size_t start_offset;

static void canary_check(void) {
    for (size_t i = 0; i < CANARY_LEN; i++)
        if (canary[i] != CANARY_BYTE) {
            static const char msg[] = "neighbour canary corrupted\n";
            ssize_t ignored = write(2, msg, sizeof msg - 1);
            (void)ignored;
            _exit(3);
        }
}

/* One frame of `N` bytes, written at its low end only. Not a tail call, so
 * every frame stays, and not inlined into itself, which would make one
 * frame of several times the size, larger than the guard. */
#define DEEP(N)                                                           \
    __attribute__((noinline)) static int deep_##N(int n) {                \
        volatile unsigned char pad[N];                                    \
        canary_check();                                                   \
        for (int i = 0; i < 64; i++) pad[i] = (unsigned char)(n + i);     \
        return n > 1000000 ? pad[0] : deep_##N(n + 1) + pad[1];           \
    }
DEEP(16384)
DEEP(49152)

static int shifted(int n) {
    /* Moves the stack pointer down by `start_offset`, touching all of it
     * (it lies within the stack). */
    volatile unsigned char *shift = __builtin_alloca(start_offset + 16);
    for (size_t i = 0; i < start_offset + 16; i += 64) shift[i] = 1;
    return (frame_size == 16384 ? deep_16384(n) : deep_49152(n)) + shift[0];
}

static cio_event neighbour_parked;

static intptr_t neighbour(void *arg) {
    (void)arg;
    volatile unsigned char mine[CANARY_LEN];
    for (size_t i = 0; i < CANARY_LEN; i++) mine[i] = CANARY_BYTE;
    canary = mine;
    cio_event never;
    cio_event_init(&never, false);
    cio_event_set(&neighbour_parked);
    cio_event_wait(&never);
    return 0;
}

static intptr_t overflower(void *arg) {
    (void)arg;
    CHECK_EQ(cio_event_wait(&neighbour_parked), 0);
    canary_check();
    printf("overflowing from %p with %zu-byte frames, neighbour canary at %p\n", (void *)&arg, frame_size,
           (void *)canary);
    fflush(stdout);
    return shifted(0);
}

static intptr_t child_main(void *arg) {
    (void)arg;
    cio_loop *loop = cio_task_loop();
    cio_event_init(&neighbour_parked, false);
    char name[32];
    snprintf(name, sizeof name, "big%zu", frame_size / 1024);
    /* The overflowing task's stack is mapped first, so that the
     * neighbour's is mapped just below it where the system maps downwards
     * (Linux does); the checks hold either way. */
    cio_task_options oo = {.stack_size = 64 * 1024, .name = name};
    cio_task_options no = {.stack_size = 256 * 1024, .name = "neighbour"};
    cio_task *o, *nb;
    CHECK_EQ(cio_task_spawn(loop, overflower, NULL, &oo, &o), 0);
    CHECK_EQ(cio_task_spawn(loop, neighbour, NULL, &no, &nb), 0);
    cio_task_join(o, NULL);
    return 0; /* not reached */
}

/* In the child: returning means the overflow went unnoticed. */
static void overflow_child(void *arg) {
    (void)arg;
    cio_main(child_main, NULL, NULL, NULL);
}

static void one_case(size_t frame, size_t offset) {
    frame_size = frame;
    start_offset = offset;
    char msg[1024];
    int status = t_fork_capture(overflow_child, NULL, 2, msg, sizeof msg);
    char want[64];
    snprintf(want, sizeof want, "stack overflow in task 'big%zu'", frame / 1024);
    bool ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(msg, want) && !strstr(msg, "corrupted");
    printf("frame %zu KiB, offset %zu: %s (%s %d)\n", frame / 1024, offset, ok ? "ok" : "FAILED",
           WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    if (!ok) {
        fprintf(stderr, "child's stderr:\n%s\n", msg);
        exit(1);
    }
}

int main(void) {
    t_watchdog();
#ifdef CIO_TASK_STACK_GUARD
    printf("guard: %u bytes\n", (unsigned)CIO_TASK_STACK_GUARD);
#endif
    static const size_t frames[] = {16384, 49152};
    for (size_t f = 0; f < 2; f++)
        for (size_t off = 0; off < 16384; off += 4096) one_case(frames[f], off);
    puts("task_stack_guard: ok");
    return 0;
}
