/*
 * MSG_WAITALL on receives and sends (issue 7, bug 12b). What op.h promises,
 * on every backend (io_uring's behaviour): on a stream socket the op goes on
 * until its whole length has moved, the peer's end of file or an error, and
 * completes with the total; bytes already moved are reported even when the
 * op then fails, is cancelled or times out. A datagram is one message.
 * epoll and poll used to ignore the flag and complete with the first piece.
 *
 * Oracle: a peer thread that writes (or reads) with plain system calls, in
 * small pieces with pauses, and the bytes themselves.
 *
 * CIO_TEST_PORTABLE: on Windows the stream pair is loopback TCP
 * (t_socketpair) and the datagram pair two connected loopback UDP sockets.
 */
#include "test.h"

#include <errno.h>
#if !defined(_WIN32)
#include <sys/socket.h>
#include <sys/uio.h>
#endif

#define TOTAL 600

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + 3); }

static void nap_ms(int ms) { t_sleep_ms((unsigned)ms); }

typedef struct peer {
    cio_fd fd;
    size_t total;   /* bytes to write */
    size_t piece;   /* in pieces of this size */
    int pause_ms;   /* between pieces */
    int shut;       /* then shut down writing (end of file) */
    t_thread thread;
} peer;

static void *peer_write(void *arg) {
    peer *p = arg;
    unsigned char buf[TOTAL];
    for (size_t i = 0; i < p->total; i++) buf[i] = pattern(i);
    for (size_t off = 0; off < p->total;) {
        nap_ms(p->pause_ms);
        size_t n = p->total - off < p->piece ? p->total - off : p->piece;
        CHECK_EQ(t_sys_write(p->fd, buf + off, n), (long long)n);
        off += n;
    }
    if (p->shut) CHECK_EQ(shutdown(p->fd, SHUT_WR), 0);
    return NULL;
}

static void peer_start(peer *p) { CHECK_EQ(t_thread_start(&p->thread, peer_write, p), 0); }

static void check_bytes(const unsigned char *buf, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (buf[i] != pattern(i)) {
            fprintf(stderr, "byte %zu: %u, expected %u\n", i, buf[i], pattern(i));
            exit(1);
        }
    }
}

#if defined(_WIN32)
/* Two loopback UDP sockets connected to each other. */
static void dgram_pair(cio_fd sv[2]) {
    struct sockaddr_in at[2];
    for (int i = 0; i < 2; i++) {
        sv[i] = t_sys_socket(AF_INET, SOCK_DGRAM, 0);
        CHECK(sv[i] != T_FD_NONE);
        memset(&at[i], 0, sizeof at[i]);
        at[i].sin_family = AF_INET;
        at[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK_EQ(bind(sv[i], (struct sockaddr *)&at[i], sizeof at[i]), 0);
        int len = sizeof at[i];
        CHECK_EQ(getsockname(sv[i], (struct sockaddr *)&at[i], &len), 0);
    }
    for (int i = 0; i < 2; i++) CHECK_EQ(connect(sv[i], (struct sockaddr *)&at[1 - i], sizeof at[1 - i]), 0);
}

static void pair(int type, cio_fd sv[2]) {
    if (type == SOCK_DGRAM)
        dgram_pair(sv);
    else
        CHECK_EQ(t_socketpair(sv), 0);
}
#else
static void pair(int type, cio_fd sv[2]) { CHECK_EQ(socketpair(AF_UNIX, type, 0, sv), 0); }
#endif

/* A receive of TOTAL bytes the peer writes in pieces (and maybe ends early). */
static void recv_pieces(size_t sent, int shut) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_fd sv[2];
    pair(SOCK_STREAM, sv);
    unsigned char buf[TOTAL];
    memset(buf, 0, sizeof buf);
    t_op r;
    cio_prep_recv(&r.op, sv[0], buf, TOTAL, MSG_WAITALL);
    t_arm(&r);
    CHECK_EQ(cio_submit(&loop, &r.op), 0);
    peer p = {.fd = sv[1], .total = sent, .piece = 100, .pause_ms = 20, .shut = shut};
    peer_start(&p);
    t_run(&loop, 10);
    CHECK_EQ(t_thread_join(&p.thread, NULL), 0);
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(r.res, (int32_t)sent);
    check_bytes(buf, sent);
    t_close(&loop);
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);
}

/* recvmsg into three buffers whose edges fall inside the peer's pieces. */
static void recvmsg_pieces(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_fd sv[2];
    pair(SOCK_STREAM, sv);
    unsigned char buf[TOTAL];
    memset(buf, 0, sizeof buf);
    cio_iovec iov[3] = {{.iov_base = (void *)buf, .iov_len = 100},
                        {.iov_base = (void *)(buf + 100), .iov_len = 200},
                        {.iov_base = (void *)(buf + 300), .iov_len = 300}};
    cio_msghdr mh;
    cio_msg_init(&mh, NULL, 0, iov, 3, NULL, 0);
    t_op r;
    cio_prep_recvmsg(&r.op, sv[0], &mh, MSG_WAITALL);
    t_arm(&r);
    CHECK_EQ(cio_submit(&loop, &r.op), 0);
    peer p = {.fd = sv[1], .total = TOTAL, .piece = 86, .pause_ms = 15};
    peer_start(&p);
    t_run(&loop, 10);
    CHECK_EQ(t_thread_join(&p.thread, NULL), 0);
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(r.res, TOTAL);
    check_bytes(buf, TOTAL);
    /* The caller's iovecs are as it left them. */
    CHECK((void *)iov[0].iov_base == (void *)buf && iov[0].iov_len == 100);
    CHECK((void *)iov[1].iov_base == (void *)(buf + 100) && iov[1].iov_len == 200);
    CHECK((void *)iov[2].iov_base == (void *)(buf + 300) && iov[2].iov_len == 300);
    CHECK(T_MSG_IOV(&mh) == iov && T_MSG_IOVLEN(&mh) == 3);
    t_close(&loop);
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);
}

/* 100 bytes arrive, then nothing: a cancel (or a deadline) ends the receive,
 * which reports the 100 bytes it holds. */
static void partial_then_end(int by_deadline) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_fd sv[2];
    pair(SOCK_STREAM, sv);
    unsigned char src[100], buf[TOTAL];
    for (size_t i = 0; i < sizeof src; i++) src[i] = pattern(i);
    CHECK_EQ(t_sys_write(sv[1], src, sizeof src), (long long)sizeof src);
    t_op r;
    cio_prep_recv(&r.op, sv[0], buf, TOTAL, MSG_WAITALL);
    t_arm(&r);
    if (by_deadline) r.op.deadline = cio_now(&loop) + 100 * 1000000ull;
    CHECK_EQ(cio_submit(&loop, &r.op), 0);
    if (!by_deadline) {
        for (int i = 0; i < 3; i++) CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
        CHECK_EQ(r.finals, 0);
        CHECK_EQ(cio_cancel(&loop, &r.op), 0);
    }
    t_run(&loop, 10);
    CHECK_EQ(r.finals, 1);
    CHECK_EQ(r.res, 100);
    check_bytes(buf, 100);
    char extra;
    CHECK_EQ(t_set_nonblock(sv[0], 1), 0);
    CHECK_EQ(t_sys_recv(sv[0], &extra, 1, 0), -CIO_EAGAIN); /* nothing left behind */
    t_close(&loop);
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);
}

/* A datagram is one message: MSG_WAITALL does not join two. */
static void datagram(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_fd sv[2];
    pair(SOCK_DGRAM, sv);
    unsigned char src[100], buf[TOTAL];
    for (size_t i = 0; i < sizeof src; i++) src[i] = pattern(i);
    CHECK_EQ(t_sys_write(sv[1], src, sizeof src), (long long)sizeof src);
    CHECK_EQ(t_sys_write(sv[1], src, sizeof src), (long long)sizeof src);
    t_op r;
    cio_prep_recv(&r.op, sv[0], buf, TOTAL, MSG_WAITALL);
    t_arm(&r);
    CHECK_EQ(cio_submit(&loop, &r.op), 0);
    t_run(&loop, 10);
    CHECK_EQ(r.res, 100);
    check_bytes(buf, 100);
    t_close(&loop);
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);
}

/* A send of 1 MiB into a small socket buffer, read by a slow peer. */
#define BIG (1u << 20)

typedef struct reader {
    cio_fd fd;
    size_t got;
    int bad;
    t_thread thread;
} reader;

static void *peer_read(void *arg) {
    reader *rd = arg;
    static unsigned char chunk[16384];
    for (int n = 0; rd->got < BIG && n < 100000; n++) {
        if (n % 16 == 0) nap_ms(1);
        long long r = t_sys_read(rd->fd, chunk, sizeof chunk);
        if (r <= 0) break;
        for (long long i = 0; i < r; i++)
            if (chunk[i] != pattern(rd->got + (size_t)i)) rd->bad = 1;
        rd->got += (size_t)r;
    }
    return NULL;
}

static void send_all(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    cio_fd sv[2];
    pair(SOCK_STREAM, sv);
    int small = 8192;
    CHECK_EQ(t_setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    unsigned char *src = malloc(BIG);
    CHECK(src);
    for (size_t i = 0; i < BIG; i++) src[i] = pattern(i);
    t_op s;
    cio_prep_send(&s.op, sv[0], src, BIG, MSG_WAITALL);
    t_arm(&s);
    CHECK_EQ(cio_submit(&loop, &s.op), 0);
    reader rd = {.fd = sv[1]};
    CHECK_EQ(t_thread_start(&rd.thread, peer_read, &rd), 0);
    t_run(&loop, 10);
    CHECK_EQ(s.finals, 1);
    CHECK_EQ(s.res, BIG);
    CHECK_EQ(t_thread_join(&rd.thread, NULL), 0);
    CHECK_EQ(rd.got, BIG);
    CHECK_EQ(rd.bad, 0);
    free(src);
    t_close(&loop);
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);
}

int main(void) {
    recv_pieces(TOTAL, 0);
    recv_pieces(250, 1); /* end of file after 250 bytes */
    recvmsg_pieces();
    partial_then_end(0);
    partial_then_end(1);
    datagram();
    send_all();
    printf("recv_waitall: ok\n");
    return 0;
}
