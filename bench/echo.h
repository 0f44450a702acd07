/*
 * bench/echo.h - what the echo servers (bench/echo_cio.c, echo_epoll.c,
 * echo_uv.c) share with each other and with bench/echo_client.c.
 *
 * A server is started as `SERVER [BACKEND] CONNS`. It listens on an
 * ephemeral port of 127.0.0.1, prints `port=N` on a line of its own once
 * connecting is possible, accepts exactly CONNS connections, echoes every
 * byte it receives on each, and exits when all of them are closed by the
 * client, printing one result line:
 *     bench=echo-server impl=cio-io_uring conns=32 recvs=200032 enters=201000
 * `recvs` counts the receives that returned data, `enters` the times the
 * server entered the kernel to wait (io_uring_enter, epoll_wait, ...), so
 * that the scripts can show the waits each round trip costs.
 */
#ifndef CIO_BENCH_ECHO_H
#define CIO_BENCH_ECHO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(_WIN32) /* the cio servers only (echo_cio, echo_task): plain Winsock for the listener */
#include <winsock2.h>
#include <ws2tcpip.h>
typedef uintptr_t echo_sock; /* a SOCKET, as cio_fd */
#define ECHO_NOSIGNAL 0      /* Winsock raises no SIGPIPE */
#define ECHO_CLOEXEC 0       /* handles are not inherited unless asked for */
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
typedef int echo_sock;
#define ECHO_NOSIGNAL MSG_NOSIGNAL
#define ECHO_CLOEXEC SOCK_CLOEXEC
#endif

/* Per-connection receive buffer: far more than one message, so that a
 * receive takes whatever has arrived. */
#define ECHO_BUF 4096

/* Parses CONNS, a positive count, or exits with the usage. */
static inline unsigned echo_conns_arg(const char *prog, const char *s, const char *usage) {
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v == 0 || v > 10000) {
        fprintf(stderr, "%s: bad connection count '%s'\nusage: %s %s\n", prog, s, prog, usage);
        exit(2);
    }
    return (unsigned)v;
}

/* Latency, not throughput, is what an echo of small messages measures:
 * Nagle's algorithm would hold a reply back waiting for an ACK. */
static inline void echo_nodelay(echo_sock fd) {
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, (const void *)&one, sizeof one) < 0) {
        perror("setsockopt(TCP_NODELAY)");
        exit(1);
    }
}

/* A listening socket on 127.0.0.1, on a port the kernel chose, announced on
 * stdout (the script waits for that line before starting the client). */
static inline echo_sock echo_listen(int backlog) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
#if defined(_WIN32)
    /* Before any socket call; cio_loop_init() would do it too, but it comes later. */
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        fprintf(stderr, "echo server: WSAStartup failed\n");
        exit(1);
    }
    int len = sizeof addr;
    SOCKET fd = socket(AF_INET, SOCK_STREAM, 0); /* overlapped-capable, as IOCP needs */
    if (fd == INVALID_SOCKET || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, backlog) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        fprintf(stderr, "echo server: listen: Winsock error %d\n", WSAGetLastError());
        exit(1);
    }
#else
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, backlog) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        perror("echo server: listen");
        exit(1);
    }
#endif
    printf("port=%u\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);
    return fd;
}

static inline void echo_server_report(const char *impl, unsigned conns, uint64_t recvs, uint64_t enters) {
    printf("bench=echo-server impl=%s conns=%u recvs=%llu enters=%llu\n", impl, conns,
           (unsigned long long)recvs, (unsigned long long)enters);
}

/* The same line with `cq_overflows=N` added: the cio servers' count of the
 * times the kernel held completions back for lack of room in the CQ
 * (cio_stats.cq_overflows), for bench/cq.sh. */
static inline void echo_server_report_cq(const char *impl, unsigned conns, uint64_t recvs, uint64_t enters,
                                         uint64_t cq_overflows) {
    printf("bench=echo-server impl=%s conns=%u recvs=%llu enters=%llu cq_overflows=%llu\n", impl, conns,
           (unsigned long long)recvs, (unsigned long long)enters, (unsigned long long)cq_overflows);
}

#endif /* CIO_BENCH_ECHO_H */
