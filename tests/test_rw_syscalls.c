/* Reads and writes on a pipe or a socket make their own system call and no
 * other: no fstat and no fcntl per op once cio has met the handle (the
 * readiness backends used to make one of each before every read and write).
 * Counted without strace: after a first read and write on each handle, a
 * seccomp filter makes every fstat, statx and fcntl of the process fail
 * with an error that nothing else produces, and 300 more rounds of reads
 * (waiting for the write that follows them) and writes must still move
 * their bytes. In a child process, since the filter cannot be removed.
 * Linux on x86-64 and aarch64 only, from 6.4 (pipes honour RWF_NOWAIT);
 * elsewhere, or where seccomp is not allowed, the test is skipped.
 * CIO_TEST_NOT_ON_WINDOWS: it counts system calls with a Linux seccomp filter in a forked child */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* Not in the build of what plain POSIX offers: there, a read or write
 * checks with one fcntl that the handle is still non-blocking. */
#if defined(__linux__) && !defined(CIO_POSIX_ONLY) && (defined(__x86_64__) || defined(__aarch64__))
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#else
#define ARCH AUDIT_ARCH_AARCH64
#endif

/* The answer of a denied call: an error no read or write can meet. */
#define DENIED ENOTRECOVERABLE

static const long denied_calls[] = {
#ifdef __NR_fstat
    __NR_fstat,
#endif
#ifdef __NR_newfstatat
    __NR_newfstatat,
#endif
#ifdef __NR_statx
    __NR_statx,
#endif
    __NR_fcntl,
};
#define NDENIED (sizeof denied_calls / sizeof denied_calls[0])

/* 0, or -1 when this system does not let the program install a filter. */
static int deny_meta_calls(void) {
    struct sock_filter f[4 + 2 * NDENIED + 1];
    unsigned n = 0;
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (unsigned i = 0; i < NDENIED; i++) {
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied_calls[i], 0, 1);
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | DENIED);
    }
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) return -1;
    return 0;
}

/* One round on the pair (rfd, wfd): a read that finds nothing and waits,
 * then the write that completes it. */
static void round_trip(cio_loop *loop, int rfd, int wfd, unsigned i) {
    char out[32], in[32] = {0};
    int len = snprintf(out, sizeof out, "round %u", i);
    t_op rd, wr;
    cio_prep_read(&rd.op, rfd, in, sizeof in, CIO_OFFSET_CURRENT);
    t_arm(&rd);
    cio_prep_write(&wr.op, wfd, out, (uint32_t)len, CIO_OFFSET_CURRENT);
    t_arm(&wr);
    CHECK_EQ(cio_submit(loop, &rd.op), 0);
    CHECK_EQ(cio_submit(loop, &wr.op), 0);
    t_run(loop, 10.0);
    CHECK_EQ(wr.finals, 1);
    CHECK_EQ(rd.finals, 1);
    if (wr.res != len || rd.res != len) {
        fprintf(stderr, "round %u: write %d, read %d (%s), expected %d each (-%d: a denied fstat or fcntl)\n", i,
                wr.res, rd.res, cio_strerror(rd.res < 0 ? rd.res : wr.res), len, DENIED);
        exit(1);
    }
    CHECK(memcmp(in, out, (size_t)len) == 0);
}

/* Whether a read on the empty `fd` can be told not to block by itself
 * (pipes: Linux 6.4); where it cannot, the readiness backends check with
 * one fcntl per op that the handle they made non-blocking still is. */
static bool nowait_reads(int fd) {
    char c;
    struct iovec v = {&c, 1};
    return preadv2(fd, &v, 1, -1, RWF_NOWAIT) < 0 && errno == EAGAIN;
}

static int child(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    int p[2], sv[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    if (!nowait_reads(p[0]) || !nowait_reads(sv[0])) {
        fprintf(stderr, "this kernel has no RWF_NOWAIT for pipes or sockets (Linux 6.4): skipped\n");
        return 77;
    }
    round_trip(&loop, p[0], p[1], 0);
    round_trip(&loop, sv[0], sv[1], 0);
    round_trip(&loop, sv[1], sv[0], 0);
    if (deny_meta_calls() < 0) {
        fprintf(stderr, "seccomp filters are not allowed here (%s): skipped\n", strerror(errno));
        return 77;
    }
    for (unsigned i = 1; i <= 300; i++) {
        round_trip(&loop, p[0], p[1], i);
        round_trip(&loop, sv[i & 1], sv[!(i & 1)], i);
    }
    CHECK_EQ(cio_loop_close(&loop), 0);
    return 0;
}

int main(void) {
    if (t_under_emulator()) {
        fprintf(stderr, "seccomp under a CPU emulator would filter the emulator: skipped\n");
        return 77;
    }
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(child());
    /* Bounded: the child's own watchdog ends a hang, this one a child that
     * cannot even start it. */
    int status = 0;
    double end = t_seconds() + 60;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (t_seconds() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fprintf(stderr, "the child hung\n");
            return 1;
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

#else
int main(void) {
    fprintf(stderr, "needs seccomp on Linux x86-64 or aarch64: skipped\n");
    return 77;
}
#endif
