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
#include "deny_calls.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

/* Not in the build of what plain POSIX offers: there, a read or write
 * checks with one fcntl that the handle is still non-blocking. */
#if defined(T_HAVE_DENY_CALLS) && !defined(CIO_POSIX_ONLY)
#include <sys/uio.h>

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

/* 0, or -1 when this system does not let the program install a filter. */
static int deny_meta_calls(void) {
    return t_deny_calls(denied_calls, sizeof denied_calls / sizeof denied_calls[0], DENIED);
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

int main(void) { return t_main_in_child(child, 60); }

#else
int main(void) {
    fprintf(stderr, "needs seccomp on Linux x86-64 or aarch64: skipped\n");
    return 77;
}
#endif
