/* tests/deny_calls.h - makes chosen system calls fail, to count what cio
 * calls without strace: a seccomp filter, installed in a forked child
 * (it cannot be removed), turns each listed call into an error that the
 * test then looks for. Linux on x86-64 and aarch64 only: T_HAVE_DENY_CALLS.
 *
 *   int t_deny_calls(const long *nrs, unsigned n, int err)
 *       from now on, each system call numbered in nrs[0..n) fails with
 *       errno `err` in this thread and the threads it starts later; 0, or
 *       -1 (errno set) where the system does not allow a filter.
 *   int t_main_in_child(int (*fn)(void), double seconds)
 *       a test's main: runs fn in a forked child and returns 0 (printing
 *       "ok") when it exits with 0, 77 (skipped) when it does or under a
 *       CPU emulator (its seccomp would filter the emulator); a child that
 *       fails or hangs past `seconds` (then killed) fails the test.
 */
#ifndef CIO_TESTS_DENY_CALLS_H
#define CIO_TESTS_DENY_CALLS_H

#include "test.h"

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#define T_HAVE_DENY_CALLS 1

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#if defined(__x86_64__)
#define T_AUDIT_ARCH AUDIT_ARCH_X86_64
#else
#define T_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

enum { T_DENY_MAX = 8 };

static inline int t_deny_calls(const long *nrs, unsigned n, int err) {
    if (n > T_DENY_MAX) {
        errno = EINVAL;
        return -1;
    }
    struct sock_filter f[4 + 2 * T_DENY_MAX + 1];
    unsigned k = 0;
    /* Another architecture's numbers mean other calls: only the native ABI's are compared. */
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, T_AUDIT_ARCH, 1, 0);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (unsigned i = 0; i < n; i++) {
        f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i], 0, 1);
        f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((uint32_t)err & SECCOMP_RET_DATA));
    }
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {.len = (unsigned short)k, .filter = f};
    /* Without privileges a filter may only be installed under no_new_privs. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) return -1;
    return 0;
}

static inline int t_main_in_child(int (*fn)(void), double seconds) {
    if (t_under_emulator()) {
        fprintf(stderr, "seccomp under a CPU emulator would filter the emulator: skipped\n");
        return 77;
    }
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(fn());
    int status = 0;
    double end = t_seconds() + seconds;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (t_seconds() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fprintf(stderr, "the child hung\n");
            exit(1);
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    CHECK(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) return 77;
    CHECK_EQ(WEXITSTATUS(status), 0);
    printf("ok\n");
    return 0;
}

#endif
#endif
