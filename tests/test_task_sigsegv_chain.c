/* cio's SIGSEGV handler (installed at the first spawn, for stack overflow
 * reports) hands every other SIGSEGV to the disposition the program had
 * before, as the kernel would have delivered it. Each case runs in a child
 * process that sets a disposition, runs tasks, then causes a SIGSEGV that
 * no cio guard caused, from inside a task and from the loop's own stack:
 *
 *   info    an SA_SIGINFO handler with SIGUSR2 in its sa_mask: it sees the
 *           fault's address (a page the child made PROT_NONE), runs with
 *           SIGUSR2 blocked, makes the page accessible and returns; the
 *           access then completes.
 *   reset   a plain handler with SA_RESETHAND: it runs for the first fault
 *           only; the second one kills the child (SIGSEGV).
 *   dfl     no handler: kill(getpid(), SIGSEGV) kills the child.
 *   ign     SIGSEGV ignored: kill(getpid(), SIGSEGV), twice, is ignored.
 *   fault   no handler: a fault kills the child (SIGSEGV).
 *
 * The handlers report through a pipe (write(2) is safe in a handler), so
 * the parent sees what ran even in a child that was killed.
 *
 * Regression (issue 8): the chained handler ran without its sa_mask (info
 * fails) and again after SA_RESETHAND (reset fails); a SIGSEGV sent by
 * kill() was dropped under SIG_DFL (dfl fails: the child lived on) and
 * under SIG_IGN it reset the disposition, so that the second one killed
 * (ign fails).
 *
 * CIO_TEST_NOT_ON_WINDOWS: chaining to the program's SIGSEGV disposition is POSIX signal behaviour, Windows has no SIGSEGV handler to chain (its overflow report is a vectored exception handler)
 */
#include "test.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define REPORT_FD 100 /* where the child reports, in the child */
static int report_fd = -1;
static char *pages; /* two PROT_NONE pages */
static size_t page;

static void report(char c) {
    ssize_t ignored = write(report_fd, &c, 1);
    (void)ignored;
}

static void info_handler(int sig, siginfo_t *si, void *uctx) {
    (void)uctx;
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    char *addr = si->si_addr;
    report(sig == SIGSEGV && addr >= pages && addr < pages + page ? 'A' : 'a'); /* the address */
    report(sigismember(&now, SIGUSR2) ? 'M' : 'm');                           /* its sa_mask */
    mprotect(pages, page, PROT_READ | PROT_WRITE);
}

static void plain_handler(int sig) {
    report(sig == SIGSEGV ? 'P' : 'p');
    mprotect(pages, 2 * page, PROT_READ | PROT_WRITE);
}

static void touch(char *p) { *(volatile char *)p = 1; }

typedef enum { C_INFO, C_RESET, C_DFL, C_IGN, C_FAULT } kind;
static kind which;

/* The SIGSEGV: from a task (`in_task`) or from the loop's stack. */
static void provoke(void) {
    switch (which) {
    case C_INFO:
        touch(pages);
        report('D'); /* done: the access completed after the handler */
        break;
    case C_RESET:
        touch(pages);
        report('1');
        mprotect(pages, 2 * page, PROT_NONE);
        touch(pages + page); /* SA_RESETHAND: the default action now */
        report('2');
        break;
    case C_DFL:
        kill(getpid(), SIGSEGV);
        report('L'); /* lived on */
        break;
    case C_IGN:
        kill(getpid(), SIGSEGV);
        kill(getpid(), SIGSEGV);
        report('L');
        break;
    case C_FAULT:
        touch(pages);
        report('L');
        break;
    }
}

static intptr_t provoker(void *arg) {
    (void)arg;
    cio_task_yield();
    provoke();
    return 0;
}

static intptr_t small(void *arg) { return (intptr_t)arg; }

static intptr_t child_main(void *arg) {
    int in_task = (int)(intptr_t)arg;
    cio_loop *loop = cio_task_loop();
    cio_task *t[16];
    for (int i = 0; i < 16; i++) CHECK_EQ(cio_task_spawn(loop, small, (void *)(intptr_t)i, NULL, &t[i]), 0);
    for (int i = 0; i < 16; i++) CHECK_EQ(cio_task_join(t[i], NULL), 0);
    if (in_task) {
        cio_task *p;
        CHECK_EQ(cio_task_spawn(loop, provoker, NULL, NULL, &p), 0);
        CHECK_EQ(cio_task_join(p, NULL), 0);
    }
    return 0;
}

static int child_in_task;

/* In the child: the case's SIGSEGV disposition, tasks, then the fault (in
 * a task or after them); it reports on stderr. */
static void case_child(void *arg) {
    kind k = (kind)(intptr_t)arg;
    report_fd = REPORT_FD;
    which = k;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    switch (k) {
    case C_INFO:
        sa.sa_sigaction = info_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigaddset(&sa.sa_mask, SIGUSR2);
        break;
    case C_RESET:
        sa.sa_handler = plain_handler;
        sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
        break;
    case C_IGN:
        sa.sa_handler = SIG_IGN;
        break;
    default:
        sa.sa_handler = SIG_DFL;
        break;
    }
    if (sigaction(SIGSEGV, &sa, NULL) < 0) _exit(2);
    /* The test's handlers need an alternate stack no more than cio's
     * does; the task stacks have room. */
    if (cio_main(child_main, (void *)(intptr_t)child_in_task, NULL, NULL) != 0) _exit(3);
    if (!child_in_task) provoke();
}

static void one_case(kind k, const char *name, int in_task, const char *want_out, int want_signal) {
    char out[64];
    child_in_task = in_task;
    /* Not stderr: an emulator (qemu-user) writes there when the child dies. */
    int status = t_fork_capture(case_child, (void *)(intptr_t)k, REPORT_FD, out, sizeof out);
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int ok = strcmp(out, want_out) == 0 && sig == want_signal && (want_signal || code == 0);
    printf("%-5s %-10s reported \"%s\" (want \"%s\"), %s %d: %s\n", name, in_task ? "in a task" : "after them",
           out, want_out, sig ? "signal" : "exit", sig ? sig : code, ok ? "ok" : "FAILED");
    if (!ok) exit(1);
}

int main(void) {
    t_watchdog();
    page = (size_t)sysconf(_SC_PAGESIZE);
    pages = mmap(NULL, 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(pages != MAP_FAILED);
    for (int in_task = 1; in_task >= 0; in_task--) {
        one_case(C_INFO, "info", in_task, "AMD", 0);
        one_case(C_RESET, "reset", in_task, "P1", SIGSEGV);
        one_case(C_DFL, "dfl", in_task, "", SIGSEGV);
        one_case(C_IGN, "ign", in_task, "L", 0);
        one_case(C_FAULT, "fault", in_task, "", SIGSEGV);
    }
    puts("task_sigsegv_chain: ok");
    return 0;
}
