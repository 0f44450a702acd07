/*
 * src/net/fdpass.c - passing a handle over a connected AF_UNIX socket
 * (SCM_RIGHTS), over cio_sendmsg/cio_recvmsg. Windows: not offered (see
 * cio/net.h for why).
 */
#include "net_internal.h"

#include <string.h>

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/socket.h>
#endif

#if defined(_WIN32)
int32_t cio_unix_send_fd(cio_fd sock, const void *buf, uint32_t len, cio_fd fd) {
    (void)sock, (void)buf, (void)len, (void)fd;
    return -CIO_ENOTSUP;
}

int32_t cio_unix_recv_fd(cio_fd sock, void *buf, uint32_t len, cio_fd *out_fd) {
    (void)sock, (void)buf, (void)len;
    if (out_fd) *out_fd = CIO_FD_INVALID;
    return -CIO_ENOTSUP;
}
#else

/* Room for the handles one message may carry that cio then closes: a
 * sender may put several in one message. */
#define MAX_FDS 16

#if defined(MSG_CMSG_CLOEXEC)
#define RECV_FLAGS MSG_CMSG_CLOEXEC
#else
#define RECV_FLAGS 0
#endif

int32_t cio_unix_send_fd(cio_fd sock, const void *buf, uint32_t len, cio_fd fd) {
    if (!buf || len == 0 || fd < 0) return -CIO_EINVAL;
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } u;
    memset(&u, 0, sizeof u);
    cio_iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
    cio_msghdr msg;
    cio_msg_init(&msg, NULL, 0, &iov, 1, u.b, sizeof u.b);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return cio_sendmsg(sock, &msg, MSG_NOSIGNAL);
}

int32_t cio_unix_recv_fd(cio_fd sock, void *buf, uint32_t len, cio_fd *out_fd) {
    if (!out_fd) return -CIO_EINVAL;
    *out_fd = CIO_FD_INVALID;
    if (!buf || len == 0) return -CIO_EINVAL;
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(MAX_FDS * sizeof(int))];
    } u;
    memset(&u, 0, sizeof u);
    cio_iovec iov = {.iov_base = buf, .iov_len = len};
    cio_msghdr msg;
    cio_msg_init(&msg, NULL, 0, &iov, 1, u.b, sizeof u.b);
    int32_t r = cio_recvmsg(sock, &msg, RECV_FLAGS);
    if (r < 0) return r;
    cio_fd first = CIO_FD_INVALID;
    if (msg.msg_controllen >= sizeof(struct cmsghdr)) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < n; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                if (first == CIO_FD_INVALID) {
                    first = fd;
#if !defined(MSG_CMSG_CLOEXEC)
                    fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
#endif
                } else {
                    cio_close(fd); /* one handle per call: the others would leak */
                }
            }
        }
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        if (first != CIO_FD_INVALID) cio_close(first);
        return -CIO_EMSGSIZE;
    }
    *out_fd = first;
    return r;
}
#endif
