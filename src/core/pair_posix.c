#if !defined(_GNU_SOURCE) && defined(__linux__)
#define _GNU_SOURCE /* pipe2 */
#endif
/*
 * src/core/pair_posix.c - the system's pipes and socket pairs, made
 * close-on-exec atomically where the system can (pipe2, SOCK_CLOEXEC),
 * else with FD_CLOEXEC right after (a fork in between would leak them:
 * only on systems without those calls).
 */
#include "pair.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#if !defined(SOCK_CLOEXEC) || !(defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || \
                                defined(__OpenBSD__) || defined(__DragonFly__))
#define CIO_NO_PIPE2 1
#endif

static void cloexec(int fd) { fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC); }

int cio__sys_pair(int type, cio_fd fds[2]) {
    int p[2];
    if (type == 0) {
#if defined(CIO_NO_PIPE2)
        if (pipe(p) != 0) return -errno;
        cloexec(p[0]);
        cloexec(p[1]);
#else
        if (pipe2(p, O_CLOEXEC) != 0) return -errno;
#endif
    } else {
#if defined(SOCK_CLOEXEC)
        if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, p) != 0) return -errno;
#else
        if (socketpair(AF_UNIX, type, 0, p) != 0) return -errno;
        cloexec(p[0]);
        cloexec(p[1]);
#endif
    }
    (void)cloexec;
    fds[0] = p[0];
    fds[1] = p[1];
    return 0;
}
