/*
 * bench/echo_event.c - the echo server on libevent, an anchor of
 * bench/echo.sh among event-loop libraries. Built only when libevent is
 * found (bench/CMakeLists.txt).
 *
 * Usage: echo_event CONNS (see bench/echo.h for the protocol).
 *
 * libevent's usual shape, that of its own samples and book: an
 * evconnlistener accepts, each connection is a socket bufferevent whose read
 * callback moves its input buffer to its output buffer
 * (evbuffer_add_buffer: chains change hands, no copy); the bufferevent
 * writes it out when the socket reports itself writable, and stops
 * watching for that once its output is empty. Default event base (epoll on
 * Linux), no locking (no evthread setup). libevent 2.1 has no hook that
 * runs once per loop iteration, so `enters` is reported as 0 (unknown);
 * bench/echo.sh counts the system calls apart.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo.h"

static struct evconnlistener *listener;
static unsigned conns, accepted, open_conns;
static uint64_t recvs;

static void die(const char *what) {
    fprintf(stderr, "echo_event: %s\n", what);
    exit(1);
}

static void on_read(struct bufferevent *bev, void *arg) {
    (void)arg;
    recvs++;
    if (evbuffer_add_buffer(bufferevent_get_output(bev), bufferevent_get_input(bev)) < 0)
        die("evbuffer_add_buffer");
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
    (void)arg;
    if (what & BEV_EVENT_ERROR) die("connection error"); /* the client closes only when all is echoed */
    if (what & BEV_EVENT_EOF) {
        bufferevent_free(bev); /* closes the socket (BEV_OPT_CLOSE_ON_FREE) */
        open_conns--;
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg) {
    (void)sa, (void)len, (void)arg;
    struct event_base *base = evconnlistener_get_base(l);
    echo_nodelay(fd);
    struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) die("bufferevent_socket_new");
    bufferevent_setcb(bev, on_read, NULL, on_event, NULL);
    if (bufferevent_enable(bev, EV_READ | EV_WRITE) < 0) die("bufferevent_enable");
    open_conns++;
    if (++accepted == conns) {
        evconnlistener_free(listener); /* closes the listening socket; allowed in its callback */
        listener = NULL;
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONNS\n", argv[0]);
        return 2;
    }
    conns = echo_conns_arg(argv[0], argv[1], "CONNS");
    int lfd = echo_listen(conns < 128 ? 128 : (int)conns); /* the same listening socket as the other servers */
    if (evutil_make_socket_nonblocking(lfd) < 0) die("evutil_make_socket_nonblocking");
    struct event_base *base = event_base_new();
    if (!base) die("event_base_new");
    /* backlog 0: the socket already listens */
    listener = evconnlistener_new(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE, 0, lfd);
    if (!listener) die("evconnlistener_new");
    if (event_base_dispatch(base) < 0) die("event_base_dispatch"); /* until nothing is left */
    if (open_conns != 0 || accepted != conns) die("the loop ended with connections open");
    echo_server_report("libevent", conns, recvs, 0);
    event_base_free(base);
    return 0;
}
