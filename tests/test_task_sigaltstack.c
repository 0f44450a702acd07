/* Tasks and the thread's alternate signal stack (sigaltstack).
 *
 * 1. A thread that has its own alternate signal stack before its first
 *    task keeps exactly that one (ss_sp, ss_size) while tasks run and
 *    after; and a stack overflow in a task is still reported: in a child
 *    process whose alternate stack is shared memory, the child dies
 *    (SIGABRT) with the report naming the task, and the parent then finds
 *    the handler's frames written on that shared stack: the handler ran on
 *    the program's own alternate stack.
 * 2. A thread without one gets cio's while its tasks run, and when the
 *    thread exits cio's is taken down (the thread's setting is again
 *    "disabled", seen from a later pthread key destructor) and unmapped,
 *    and so are the thread's pooled task stacks.
 * 3. A thread whose own alternate stack is too small for the handler gets
 *    cio's while its tasks run, and its own back when it exits.
 *
 * Regression (issue 8): cio replaced the thread's alternate stack with its
 * own at the first spawn without looking (1 fails: ss_sp changed), and
 * never took its own down nor unmapped the pool when the thread exited
 * (2 fails: still mapped, 3 fails: cio's still in place).
 *
 * CIO_TEST_NOT_ON_WINDOWS: sigaltstack is a POSIX signal feature, Windows reports a task's stack overflow from a vectored exception handler instead (tests/cross context_overflow)
 */
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define OWN_SIZE (256 * 1024)
#define FILL 0x5a

/* Whether [p, p + len) is mapped at all (msync fails with ENOMEM on a hole). */
static int mapped(const void *p, size_t len) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p & ~(page - 1);
    int r = msync((void *)lo, (uintptr_t)p + len - lo, MS_ASYNC);
    if (r < 0) CHECK_EQ(errno, ENOMEM);
    return r == 0;
}

static intptr_t small(void *arg) {
    volatile char buf[512];
    memset((char *)buf, (int)(intptr_t)arg, sizeof buf);
    cio_task_yield();
    return buf[7];
}

/* Spawns and joins a few tasks; stores what sigaltstack says inside one. */
static stack_t seen_in_task;
static void *seen_task_stack;

/* Written at the lowest address of the alternate stack a task sees (the
 * stack grows down from the top: a handler never reaches it): a new
 * mapping at that address later is zeroed, cio's old one still says it. */
static const char mark[8] = "cio-alt";

static intptr_t observer(void *arg) {
    (void)arg;
    CHECK_EQ(sigaltstack(NULL, &seen_in_task), 0);
    if (!(seen_in_task.ss_flags & SS_DISABLE)) memcpy(seen_in_task.ss_sp, mark, sizeof mark);
    seen_task_stack = cio_task_current(); /* the task struct lies at the top of its stack */
    return 0;
}

static intptr_t some_tasks(void *arg) {
    (void)arg;
    cio_loop *loop = cio_task_loop();
    cio_task *t[8];
    for (int i = 0; i < 8; i++) CHECK_EQ(cio_task_spawn(loop, small, (void *)(intptr_t)(i + 1), NULL, &t[i]), 0);
    for (int i = 0; i < 8; i++) {
        intptr_t r = 0;
        CHECK_EQ(cio_task_join(t[i], &r), 0);
        CHECK_EQ(r, i + 1);
    }
    cio_task *o;
    CHECK_EQ(cio_task_spawn(loop, observer, NULL, NULL, &o), 0);
    CHECK_EQ(cio_task_join(o, NULL), 0);
    return 0;
}

static void run_some_tasks(void) {
    intptr_t r = -1;
    CHECK_EQ(cio_main(some_tasks, NULL, NULL, &r), 0);
    CHECK_EQ(r, 0);
}

/* ---- 1: the program's own alternate stack stays, and serves overflows ---- */

static void own_kept(void) {
    void *mem = mmap(NULL, OWN_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mem != MAP_FAILED);
    stack_t own = {.ss_sp = mem, .ss_size = OWN_SIZE, .ss_flags = 0}, before, after;
    CHECK_EQ(sigaltstack(&own, &before), 0);
    run_some_tasks();
    CHECK_EQ(sigaltstack(NULL, &after), 0);
    printf("own alternate stack %p+%zu; in a task %p+%zu flags %d; after %p+%zu flags %d\n", own.ss_sp,
           own.ss_size, seen_in_task.ss_sp, seen_in_task.ss_size, seen_in_task.ss_flags, after.ss_sp,
           after.ss_size, after.ss_flags);
    CHECK(seen_in_task.ss_sp == mem && seen_in_task.ss_size == OWN_SIZE);
    CHECK(after.ss_sp == mem && after.ss_size == OWN_SIZE && !(after.ss_flags & SS_DISABLE));
    /* Put the thread back as it was for the cases below. */
    CHECK_EQ(sigaltstack(&before, NULL), 0);
    munmap(mem, OWN_SIZE);
}

__attribute__((noinline)) static int deep(int n) {
    volatile char pad[512];
    pad[0] = (char)n;
    return n > 100000000 ? pad[0] : deep(n + 1) + pad[0];
}

static intptr_t overflower(void *arg) {
    (void)arg;
    return deep(0);
}

static intptr_t overflow_main(void *arg) {
    (void)arg;
    cio_task *t;
    cio_task_options o = {.stack_size = 64 * 1024, .name = "deep-one"};
    CHECK_EQ(cio_task_spawn(cio_task_loop(), overflower, NULL, &o, &t), 0);
    cio_task_join(t, NULL);
    return 0; /* not reached */
}

/* In the child, with the shared memory as its own alternate stack:
 * returning means the overflow went unnoticed. */
static void overflow_on_own(void *shared) {
    stack_t own = {.ss_sp = shared, .ss_size = OWN_SIZE, .ss_flags = 0};
    if (sigaltstack(&own, NULL) < 0) _exit(2);
    cio_main(overflow_main, NULL, NULL, NULL);
}

static void own_serves_overflow(void) {
    unsigned char *shared = mmap(NULL, OWN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED);
    memset(shared, FILL, OWN_SIZE);
    char msg[1024];
    int status = t_fork_capture(overflow_on_own, shared, 2, msg, sizeof msg);
    size_t written = 0; /* bytes of the shared stack the handler changed */
    for (size_t i = 0; i < OWN_SIZE; i++) written += shared[i] != FILL;
    printf("overflow child: %s %d, %zu bytes of its own alternate stack written, stderr: %s",
           WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
           written, msg);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(msg, "stack overflow in task 'deep-one'") != NULL);
    CHECK(written > 0);
    munmap(shared, OWN_SIZE);
}

/* ---- 2 and 3: cio's own alternate stack, taken down at thread exit ---- */

static pthread_key_t probe_key;
static stack_t at_exit_seen;
static int probe_rounds;
/* Checked in the exiting thread just after cio's destructor ran. Even
 * there the freed range may already hold another mapping (TSan's runtime
 * maps memory as a thread finishes), so cio's alternate stack counts as
 * still there only if it is mapped and still holds the mark. */
static int alt_mapped_at_exit, task_stack_mapped_at_exit;

/* A key destructor of the test's: it runs again in a second round (it sets
 * its value anew), so that cio's destructor has run by then whatever the
 * order of the keys. */
typedef struct thread_case {
    size_t own_size; /* 0: none */
    void *own;
    stack_t runtime; /* what the thread had at its start */
} thread_case;

static void probe(void *v) {
    if (++probe_rounds == 1) {
        pthread_setspecific(probe_key, v);
        return;
    }
    CHECK_EQ(sigaltstack(NULL, &at_exit_seen), 0);
    alt_mapped_at_exit =
        mapped(seen_in_task.ss_sp, seen_in_task.ss_size) && !memcmp(seen_in_task.ss_sp, mark, sizeof mark);
    task_stack_mapped_at_exit = mapped(seen_task_stack, 1);
    thread_case *c = v;
    if (!(c->runtime.ss_flags & SS_DISABLE)) CHECK_EQ(sigaltstack(&c->runtime, NULL), 0);
}

static void *thread_main(void *arg) {
    thread_case *c = arg;
    /* A new thread has none, unless a runtime gives it one (the
     * sanitizers do): then it starts without, and gets the runtime's back
     * at the end (probe), where the runtime will look for it. */
    CHECK_EQ(sigaltstack(NULL, &c->runtime), 0);
    if (!(c->runtime.ss_flags & SS_DISABLE)) {
        stack_t off = {.ss_flags = SS_DISABLE};
        CHECK_EQ(sigaltstack(&off, NULL), 0);
    }
    if (c->own_size) {
        c->own = malloc(c->own_size);
        CHECK(c->own != NULL);
        stack_t own = {.ss_sp = c->own, .ss_size = c->own_size, .ss_flags = 0};
        CHECK_EQ(sigaltstack(&own, NULL), 0);
    }
    CHECK_EQ(pthread_setspecific(probe_key, c), 0);
    run_some_tasks();
    return NULL;
}

static void thread_case_run(size_t own_size) {
    thread_case c = {.own_size = own_size};
    probe_rounds = 0;
    memset(&at_exit_seen, 0, sizeof at_exit_seen);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, thread_main, &c), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    printf("thread with %s: in a task %p+%zu; at exit %p+%zu flags %d; task stack %p %s, alternate stack %s\n",
           own_size ? "a small alternate stack" : "none", seen_in_task.ss_sp, seen_in_task.ss_size,
           at_exit_seen.ss_sp, at_exit_seen.ss_size, at_exit_seen.ss_flags, seen_task_stack,
           task_stack_mapped_at_exit ? "still mapped" : "unmapped",
           alt_mapped_at_exit ? "still mapped" : "unmapped");
    CHECK_EQ(probe_rounds, 2);
    /* While tasks ran: cio's, big enough for the handler. */
    CHECK(!(seen_in_task.ss_flags & SS_DISABLE));
    CHECK(seen_in_task.ss_sp != c.own);
    CHECK(seen_in_task.ss_size >= 16 * 1024);
    /* At exit: the thread's own setting again. */
    if (own_size)
        CHECK(at_exit_seen.ss_sp == c.own && at_exit_seen.ss_size == own_size &&
              !(at_exit_seen.ss_flags & SS_DISABLE));
    else
        CHECK(at_exit_seen.ss_flags & SS_DISABLE);
    /* cio's alternate stack and the thread's pooled stacks are gone. */
    CHECK(!alt_mapped_at_exit);
    CHECK(!task_stack_mapped_at_exit);
    free(c.own);
}

int main(void) {
    t_watchdog();
    CHECK_EQ(pthread_key_create(&probe_key, probe), 0);
    /* Each case is in a thread of its own or a child, apart from 1's first
     * half, which must come before anything else made this thread a task
     * thread. */
    own_kept();
    own_serves_overflow();
    thread_case_run(0);
    thread_case_run(4096); /* above MINSIGSTKSZ, below what the handler needs */
    puts("task_sigaltstack: ok");
    return 0;
}
