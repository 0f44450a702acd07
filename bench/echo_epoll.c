/*
 * bench/echo_epoll.c - the anchor for bench/echo_cio.c: the echo server
 * written directly against epoll, the limit a runtime on Linux is measured
 * against.
 *
 * Usage: echo_epoll CONNS (see bench/echo.h for the protocol).
 *
 * The cheapest shape a readiness server has for this load: non-blocking
 * sockets registered once, level-triggered, for input only; on input one
 * recv() and the echo sent at once from the same buffer, so a round trip
 * costs epoll_wait + recv + send. Only when a send cannot take everything
 * (never, with one small message in flight) does the connection switch to
 * waiting for output until the rest is gone.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "echo.h"

#define MAX_EVENTS 256

typedef struct conn {
    int fd;
    uint32_t pending_off, pending_len; /* unsent echo in buf, while waiting for output */
    char buf[ECHO_BUF];
} conn;

static int epfd;
static unsigned open_conns;
static uint64_t recvs, enters;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void watch(conn *c, uint32_t events, int op) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(epfd, op, c->fd, &ev) < 0) die("epoll_ctl");
}

static void drop(conn *c) {
    close(c->fd); /* also removes it from the epoll set */
    free(c);
    open_conns--;
}

/* Sends what is pending; returns false when the socket took only part. */
static bool flush(conn *c) {
    while (c->pending_off < c->pending_len) {
        ssize_t n = send(c->fd, c->buf + c->pending_off, c->pending_len - c->pending_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) return false;
            die("send");
        }
        c->pending_off += (uint32_t)n;
    }
    return true;
}

static void on_input(conn *c) {
    ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) die("recv"); /* the client closes only when all is echoed */
    if (n == 0) {
        drop(c);
        return;
    }
    recvs++;
    c->pending_off = 0;
    c->pending_len = (uint32_t)n;
    if (!flush(c)) watch(c, EPOLLOUT, EPOLL_CTL_MOD); /* and stop reading until it is out */
}

static void on_output(conn *c) {
    if (flush(c)) watch(c, EPOLLIN, EPOLL_CTL_MOD);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONNS\n", argv[0]);
        return 2;
    }
    unsigned conns = echo_conns_arg(argv[0], argv[1], "CONNS");
    int lfd = echo_listen(conns < 128 ? 128 : (int)conns);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1");
    /* The listener is told apart from connections by a NULL pointer. */
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl");

    unsigned accepted = 0;
    struct epoll_event events[MAX_EVENTS];
    while (accepted < conns || open_conns > 0) {
        enters++;
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            conn *c = events[i].data.ptr;
            if (c) {
                if (events[i].events & EPOLLOUT)
                    on_output(c);
                else
                    on_input(c); /* EPOLLIN, or an error/hangup recv() reports */
                continue;
            }
            int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EAGAIN) continue;
                die("accept4");
            }
            echo_nodelay(fd);
            if (!(c = calloc(1, sizeof *c))) die("calloc");
            c->fd = fd;
            watch(c, EPOLLIN, EPOLL_CTL_ADD);
            open_conns++;
            if (++accepted == conns) close(lfd); /* no more: drops it from the set */
        }
    }
    echo_server_report("epoll-raw", conns, recvs, enters);
    close(epfd);
    return 0;
}
