/*
 * udp_echo - datagrams through recvmsg and sendmsg, written with tasks: a
 * server task sends each datagram back to whoever sent it (recvmsg reports
 * the sender's address), a client task sends datagrams of growing sizes
 * and checks that each comes back whole, from the server.
 *
 * The message headers are filled by cio_msg_init() and read back with
 * cio_msg_namelen() and cio_msg_flags(): the same code for POSIX's struct
 * msghdr and Windows' WSAMSG, whose fields have other names. The buffers
 * are cio_iovecs initialised by field name (their order differs on
 * Windows).
 *
 *   udp_echo                                    real sockets on 127.0.0.1
 *   CIO_BACKEND=mock CIO_MOCK_SEED=5 udp_echo   the mock's simulated ones
 *
 * Loopback loses no datagram here, but UDP may: every wait has a deadline,
 * so that a lost datagram ends the program with an error, not a hang.
 */
#define _GNU_SOURCE /* struct sockaddr_in and friends under -std=c11 */
#include <cio.h>
#if !defined(_WIN32) /* on Windows cio.h brings them (ws2tcpip.h) */
#include <arpa/inet.h>
#include <netinet/in.h>
#endif
#include <stdio.h>
#include <string.h>

#define DATAGRAMS 16
#define MAX_LEN 1200
#define WAIT_NS (5 * 1000000000ull)

static int32_t fail(const char *what, int32_t err) {
    fprintf(stderr, "udp_echo: %s: %s\n", what, cio_strerror(err));
    return err;
}

/* recvmsg with a deadline of WAIT_NS from now. */
static int32_t recvmsg_within(cio_fd fd, cio_msghdr *msg) {
    uint64_t outer = cio_deadline_push(cio_now(cio_task_loop()) + WAIT_NS);
    int32_t n = cio_recvmsg(fd, msg, 0);
    cio_deadline_pop(outer);
    return n;
}

/* A UDP socket bound to 127.0.0.1 on a free port, its address in `addr`:
 * its handle, or an error. */
static intptr_t udp_socket(struct sockaddr_in *addr) {
    *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    intptr_t s = cio_socket(AF_INET, SOCK_DGRAM | CIO_SOCK_CLOEXEC, 0);
    if (s < 0) return s;
    cio_socklen len = sizeof *addr;
    int32_t r = cio_bind((cio_fd)s, (struct sockaddr *)addr, sizeof *addr);
    if (r >= 0) r = cio_socket_name(cio_task_loop(), (cio_fd)s, (struct sockaddr *)addr, &len);
    if (r < 0) {
        cio_close((cio_fd)s);
        return r;
    }
    return s;
}

/* The server: sends DATAGRAMS datagrams back to their senders. */
static intptr_t server(void *arg) {
    cio_fd fd = *(cio_fd *)arg;
    char buf[MAX_LEN];
    for (int i = 0; i < DATAGRAMS; i++) {
        struct sockaddr_storage from;
        cio_iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        cio_msghdr msg;
        cio_msg_init(&msg, &from, sizeof from, &iov, 1, NULL, 0);
        int32_t n = recvmsg_within(fd, &msg);
        if (n < 0) return fail("server recvmsg", n);
        /* Back to the sender: its address as recvmsg gave it, the bytes that came. */
        iov.iov_len = (uint32_t)n;
        cio_msg_init(&msg, &from, cio_msg_namelen(&msg), &iov, 1, NULL, 0);
        if ((n = cio_sendmsg(fd, &msg, 0)) < 0) return fail("server sendmsg", n);
    }
    return 0;
}

/* The client: DATAGRAMS datagrams of 1 to MAX_LEN bytes to `srv`, each
 * echo received into two buffers and compared. 0 or an error code. */
static int32_t client(struct sockaddr_in *srv) {
    struct sockaddr_in self;
    intptr_t s = udp_socket(&self);
    if (s < 0) return fail("client socket", (int32_t)s);
    cio_fd fd = (cio_fd)s;
    char out[MAX_LEN], back[MAX_LEN];
    int32_t r = 0;
    for (uint32_t i = 0; i < DATAGRAMS && r >= 0; i++) {
        uint32_t len = 1 + i * (MAX_LEN - 1) / (DATAGRAMS - 1);
        for (uint32_t k = 0; k < len; k++) out[k] = (char)('a' + (i + k) % 26);
        cio_iovec iov = {.iov_base = out, .iov_len = len};
        cio_msghdr msg;
        cio_msg_init(&msg, srv, sizeof *srv, &iov, 1, NULL, 0);
        if ((r = cio_sendmsg(fd, &msg, 0)) < 0) break;

        /* Scattered into two buffers: the first 100 bytes, then the rest. */
        struct sockaddr_in from;
        cio_iovec parts[2] = {{.iov_base = back, .iov_len = 100},
                              {.iov_base = back + 100, .iov_len = sizeof back - 100}};
        cio_msg_init(&msg, &from, sizeof from, parts, 2, NULL, 0);
        if ((r = recvmsg_within(fd, &msg)) < 0) break;
        if ((uint32_t)r != len || memcmp(back, out, len) != 0 || (cio_msg_flags(&msg) & CIO_MSG_TRUNC) ||
            cio_msg_namelen(&msg) != (cio_socklen)sizeof from || from.sin_port != srv->sin_port)
            r = -CIO_EIO;
    }
    int32_t c = cio_close(fd);
    if (r < 0) return fail("client", r);
    if (c < 0) return fail("client close", c);
    printf("%d datagrams of 1 to %d bytes echoed\n", DATAGRAMS, MAX_LEN);
    return 0;
}

static intptr_t run(void *unused) {
    (void)unused;
    struct sockaddr_in addr;
    intptr_t s = udp_socket(&addr);
    if (s < 0) return fail("server socket", (int32_t)s);
    cio_fd fd = (cio_fd)s;
    printf("udp echo on 127.0.0.1:%u, backend %s\n", ntohs(addr.sin_port),
           cio_backend_name(cio_loop_backend(cio_task_loop())));
    cio_task *t;
    int32_t r = cio_task_spawn(cio_task_loop(), server, &fd, NULL, &t);
    if (r < 0) {
        cio_close(fd);
        return fail("spawn", r);
    }
    r = client(&addr);
    intptr_t served = 0;
    if (r < 0) cio_task_cancel(t); /* it would wait for datagrams that never come */
    cio_task_join(t, &served);
    cio_close(fd);
    return r < 0 ? r : served;
}

int main(void) {
    intptr_t result = -1;
    int r = cio_main(run, NULL, NULL, &result); /* run() as a task on a fresh loop */
    if (r < 0) fail("cio_main", r);
    return r == 0 && result == 0 ? 0 : 1;
}
