/*
 * tests/net_util.h - what the tests of simulated sockets share: addresses,
 * ops run to completion, and the socket calls of cio/socket.h checked.
 */
#ifndef CIO_TEST_NET_UTIL_H
#define CIO_TEST_NET_UTIL_H

#include "mock_util.h" /* first: test.h sets _GNU_SOURCE */

#if defined(_WIN32)
#include <afunix.h> /* after winsock2.h (cio.h) */
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#endif

static inline struct sockaddr_in sin4(const char *ip, uint16_t port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    CHECK_EQ(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

static inline struct sockaddr_in6 sin6(const char *ip, uint16_t port) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    CHECK_EQ(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return a;
}

/* An AF_UNIX address; its length as bind wants it (the path and its NUL). */
static inline struct sockaddr_un sun_path(const char *path, cio_socklen *len) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, path);
    *len = (cio_socklen)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
    return a;
}

#define SA(a) ((const struct sockaddr *)&(a))

/* The op helpers below return the op's result; socket and accept return the
 * new handle (cio_op_fd: on Windows it is not the result) or a negative CIO_E*. */
static inline int64_t op_socket(cio_loop *loop, int domain, int type) {
    t_op t;
    cio_prep_socket(&t.op, domain, type, 0);
    int32_t r = do_op(loop, &t);
    return r < 0 ? r : (int64_t)cio_op_fd(&t.op);
}

static inline int32_t op_bind(cio_loop *loop, cio_fd fd, const void *addr, cio_socklen len) {
    t_op t;
    cio_prep_bind(&t.op, fd, (const struct sockaddr *)addr, len);
    return do_op(loop, &t);
}

static inline int32_t op_listen(cio_loop *loop, cio_fd fd, int backlog) {
    t_op t;
    cio_prep_listen(&t.op, fd, backlog);
    return do_op(loop, &t);
}

static inline int32_t op_connect(cio_loop *loop, cio_fd fd, const void *addr, cio_socklen len) {
    t_op t;
    cio_prep_connect(&t.op, fd, (const struct sockaddr *)addr, len);
    return do_op(loop, &t);
}

static inline int64_t op_accept(cio_loop *loop, cio_fd fd, void *addr, cio_socklen *len) {
    t_op t;
    cio_prep_accept(&t.op, fd, (struct sockaddr *)addr, len, 0);
    int32_t r = do_op(loop, &t);
    return r < 0 ? r : (int64_t)cio_op_fd(&t.op);
}

static inline int32_t op_send(cio_loop *loop, cio_fd fd, const void *buf, uint32_t len, int flags) {
    t_op t;
    cio_prep_send(&t.op, fd, buf, len, flags);
    return do_op(loop, &t);
}

static inline int32_t op_recv(cio_loop *loop, cio_fd fd, void *buf, uint32_t len, int flags) {
    t_op t;
    cio_prep_recv(&t.op, fd, buf, len, flags);
    return do_op(loop, &t);
}

static inline int32_t op_close(cio_loop *loop, cio_fd fd) {
    t_op t;
    cio_prep_close(&t.op, fd);
    return do_op(loop, &t);
}

static inline int32_t op_shutdown(cio_loop *loop, cio_fd fd, int how) {
    t_op t;
    cio_prep_shutdown(&t.op, fd, how);
    return do_op(loop, &t);
}

/* sendto(2) and recvfrom(2) through sendmsg and recvmsg. */
static inline int32_t op_sendto(cio_loop *loop, cio_fd fd, const void *buf, uint32_t len, int flags,
                                const void *to, cio_socklen tolen) {
    cio_iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
    cio_msghdr msg;
    cio_msg_init(&msg, (void *)(uintptr_t)to, tolen, &iov, 1, NULL, 0);
    t_op t;
    cio_prep_sendmsg(&t.op, fd, &msg, flags);
    return do_op(loop, &t);
}

static inline int32_t op_recvfrom(cio_loop *loop, cio_fd fd, void *buf, uint32_t len, int flags, void *from,
                                  cio_socklen *fromlen, int *msg_flags) {
    cio_iovec iov = {.iov_base = buf, .iov_len = len};
    cio_msghdr msg;
    cio_msg_init(&msg, from, fromlen ? *fromlen : 0, &iov, 1, NULL, 0);
    T_MSG_FLAGS(&msg) = -1; /* the op must set it */
    t_op t;
    cio_prep_recvmsg(&t.op, fd, &msg, flags);
    int32_t r = do_op(loop, &t);
    if (fromlen) *fromlen = cio_msg_namelen(&msg);
    if (msg_flags) *msg_flags = cio_msg_flags(&msg);
    return r;
}

/* The port of socket `fd` (cio_socket_name), checked to be IPv4. */
static inline uint16_t port_of(cio_loop *loop, cio_fd fd) {
    struct sockaddr_storage ss;
    cio_socklen len = sizeof ss;
    CHECK_EQ(cio_socket_name(loop, fd, (struct sockaddr *)&ss, &len), 0);
    if (ss.ss_family == AF_INET6) {
        CHECK_EQ(len, sizeof(struct sockaddr_in6));
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    CHECK_EQ(ss.ss_family, AF_INET);
    CHECK_EQ(len, sizeof(struct sockaddr_in));
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static inline int get_int(cio_loop *loop, cio_fd fd, int level, int name) {
    int v = -12345;
    cio_socklen len = sizeof v;
    CHECK_EQ(cio_socket_get_option(loop, fd, level, name, &v, &len), 0);
    CHECK_EQ(len, sizeof v);
    return v;
}

static inline int set_int(cio_loop *loop, cio_fd fd, int level, int name, int v) {
    return cio_socket_set_option(loop, fd, level, name, &v, sizeof v);
}

#endif /* CIO_TEST_NET_UTIL_H */
