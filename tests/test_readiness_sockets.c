/*
 * Receives and sends on sockets complete exactly once with the right bytes
 * however the bytes and the ops interleave. On the readiness backends a
 * handle's watch stays armed across ops, a read watch is kept when nothing
 * waits (the next receive usually comes first), and the first try of a
 * receive is skipped when the handle's last one emptied it and no event
 * came since: none of this may lose a wake-up or run an op twice.
 *
 * The oracle: the peer is driven with plain system calls on the same
 * thread (so the test decides exactly when bytes arrive relative to the
 * ops), every byte is a function of its position in its stream, and net_cb
 * fails at a second completion. Cases, on a Unix stream pair and a TCP
 * pair:
 * - bytes that arrive before the receive is submitted;
 * - a ping-pong where the peer answers between a completion and the next
 *   receive (the skipped first try), right after the submission, or after
 *   loop turns with nothing parked (the kept watch reports and goes);
 * - many receives parked on one handle, fed in uneven pieces: they
 *   complete in order, together the stream;
 * - sends past the socket's room: a short send, then sends that park until
 *   the peer reads;
 * - datagrams: a short receive does not mean the queue is empty;
 * - receives of exactly their buffer's size, each posted again from the
 *   callback of the one before: a ping-pong (the try after a full receive
 *   finds nothing, and the readiness layer learns to skip it), then several
 *   messages queued at once, so that a receive parked untried after a full
 *   one must be woken by the watch with bytes already there;
 * - receives parked on many handles, fed in a random order;
 * - a handle closed behind cio's back while another descriptor keeps its
 *   file open, with a read watch kept on it: the loop must not then spin
 *   (epoll reports the old file's registration under the number; cio
 *   rebuilds its set). Checked by counting waits, not by timing.
 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

#define ROUNDS 400
#define MANY 200

static unsigned char stream_byte(uint64_t i, unsigned salt) { return (unsigned char)(i * 29u + i / 253u + salt); }

/* Writes `len` bytes of the stream from `*pos` with a plain call, all of them. */
static void peer_send(int fd, uint64_t *pos, size_t len, unsigned salt) {
    unsigned char buf[4096];
    CHECK(len <= sizeof buf);
    for (size_t i = 0; i < len; i++) buf[i] = stream_byte(*pos + i, salt);
    CHECK_EQ(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
    *pos += len;
}

static void check_stream(const unsigned char *buf, size_t len, uint64_t at, unsigned salt) {
    for (size_t i = 0; i < len; i++)
        if (buf[i] != stream_byte(at + i, salt)) {
            fprintf(stderr, "stream byte %llu: %u, expected %u\n", (unsigned long long)(at + i), buf[i],
                    stream_byte(at + i, salt));
            exit(1);
        }
}

static void submit_recv(cio_loop *loop, t_op *t, int fd, void *buf, uint32_t len) {
    cio_prep_recv(&t->op, fd, buf, len, 0);
    net_arm(t);
    CHECK_EQ(cio_submit(loop, &t->op), 0);
}

/* The receive `t` into `buf` completes, with bytes of the stream from `*got`. */
static void expect_recv(cio_loop *loop, t_op *t, const unsigned char *buf, uint64_t *got, unsigned salt) {
    int32_t n = net_wait(loop, t, 10);
    CHECK(n > 0);
    check_stream(buf, (size_t)n, *got, salt);
    *got += (uint64_t)n;
}

static void ping_pong(cio_loop *loop, int mine, int peer, unsigned salt) {
    unsigned char buf[4096];
    uint64_t sent = 0, got = 0;
    t_op t;

    /* Bytes there before the receive. */
    peer_send(peer, &sent, 100, salt);
    submit_recv(loop, &t, mine, buf, sizeof buf);
    expect_recv(loop, &t, buf, &got, salt);
    CHECK_EQ(got, sent);

    for (unsigned r = 0; r < ROUNDS; r++) {
        size_t len = 1 + (r * 37) % 1000;
        switch (r % 5) {
        case 0: /* the answer comes after the receive is parked */
            submit_recv(loop, &t, mine, buf, sizeof buf);
            CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
            peer_send(peer, &sent, len, salt);
            break;
        case 1: /* between the last completion and this submission: the first try is skipped */
            peer_send(peer, &sent, len, salt);
            submit_recv(loop, &t, mine, buf, sizeof buf);
            break;
        case 2: /* right after the submission, before any turn */
            submit_recv(loop, &t, mine, buf, sizeof buf);
            peer_send(peer, &sent, len, salt);
            break;
        case 3: /* turns with nothing parked: a kept watch that reports and goes */
            for (int i = 0; i < 3; i++) CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
            peer_send(peer, &sent, len, salt);
            for (int i = 0; i < 3; i++) CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
            submit_recv(loop, &t, mine, buf, sizeof buf);
            break;
        default: { /* a receive smaller than what came: the rest waits in the socket */
            peer_send(peer, &sent, len + 10, salt);
            submit_recv(loop, &t, mine, buf, (uint32_t)len);
            expect_recv(loop, &t, buf, &got, salt);
            submit_recv(loop, &t, mine, buf, sizeof buf);
            break;
        }
        }
        /* Everything sent arrives, in as many receives as it takes. */
        expect_recv(loop, &t, buf, &got, salt);
        while (got < sent) {
            submit_recv(loop, &t, mine, buf, sizeof buf);
            expect_recv(loop, &t, buf, &got, salt);
        }
        CHECK_EQ(got, sent);
    }
}

/* Many receives parked on one handle, fed in uneven pieces: each gets a
 * whole slice of the stream, every slice once. The readiness backends run
 * a handle's receives in the order they came (their FIFO), so there the
 * slices come in order too; io_uring does not promise that. */
static void many_on_one(cio_loop *loop, int mine, int peer, unsigned salt) {
    enum { N = 64, EACH = 10 };
    static t_op t[N];
    static unsigned char bufs[N][EACH];
    bool fifo = cio_loop_backend(loop) != CIO_BACKEND_URING;
    for (int i = 0; i < N; i++) submit_recv(loop, &t[i], mine, bufs[i], EACH);
    CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
    uint64_t sent = 0;
    /* Each piece is read before the next one is sent: the receives take
     * whole EACH-byte slices. */
    for (int done = 0; done < N;) {
        int k = 1 + done % 7;
        if (done + k > N) k = N - done;
        peer_send(peer, &sent, (size_t)k * EACH, salt);
        double end = t_seconds() + 10;
        for (;;) {
            int n = 0;
            for (int i = 0; i < N; i++) n += t[i].finals;
            if (n >= done + k) break;
            CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
            CHECK(t_seconds() < end);
        }
        done += k;
    }
    bool seen[N] = {false};
    for (int i = 0; i < N; i++) {
        CHECK_EQ(t[i].finals, 1);
        CHECK_EQ(t[i].res, EACH);
        int slice = fifo ? i : -1;
        for (int j = 0; slice < 0 && j < N; j++) {
            bool same = true;
            for (int b = 0; b < EACH && same; b++) same = bufs[i][b] == stream_byte((uint64_t)j * EACH + b, salt);
            if (same) slice = j;
        }
        CHECK(slice >= 0 && !seen[slice]);
        seen[slice] = true;
        check_stream(bufs[i], EACH, (uint64_t)slice * EACH, salt);
        if (fifo && i) CHECK(t[i].order > t[i - 1].order);
    }
}

/* Sends past the socket's room: a short or parked send, then the rest. */
static void sends_park(cio_loop *loop, int mine, int peer, unsigned salt) {
    enum { TOTAL = 4 << 20 };
    static unsigned char out[TOTAL], in[65536];
    for (size_t i = 0; i < TOTAL; i++) out[i] = stream_byte(i, salt);
    int one = 1 << 16;
    setsockopt(mine, SOL_SOCKET, SO_SNDBUF, &one, sizeof one);
    t_op t;
    size_t off = 0;
    uint64_t got = 0;
    unsigned parked = 0;
    while (off < TOTAL) {
        cio_prep_send(&t.op, mine, out + off, (uint32_t)(TOTAL - off), MSG_NOSIGNAL);
        net_arm(&t);
        CHECK_EQ(cio_submit(loop, &t.op), 0);
        CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
        if (t.finals == 0) {
            parked++;
            /* It waits for room: make some, with the peer's plain reads. */
            while (t.finals == 0) {
                ssize_t n = recv(peer, in, sizeof in, MSG_DONTWAIT);
                if (n > 0) {
                    check_stream(in, (size_t)n, got, salt);
                    got += (uint64_t)n;
                }
                CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
            }
        }
        CHECK(t.res > 0);
        off += (size_t)t.res;
    }
    CHECK(parked > 0);
    while (got < TOTAL) {
        ssize_t n = recv(peer, in, sizeof in, 0);
        CHECK(n > 0);
        check_stream(in, (size_t)n, got, salt);
        got += (uint64_t)n;
    }
}

/* A receive of FULL bytes that its callback posts again until `stop`. */
enum { FULL = 1024 };
typedef struct full_rx {
    cio_op op; /* first: the callback finds the struct from it */
    int fd;
    unsigned salt;
    bool stop;
    uint64_t got;
    unsigned char buf[FULL];
} full_rx;

static void full_post(cio_loop *loop, full_rx *f);

static void full_cb(cio_loop *loop, cio_op *op) {
    full_rx *f = (full_rx *)op;
    CHECK(op->res > 0 && op->res <= FULL);
    check_stream(f->buf, (size_t)op->res, f->got, f->salt);
    f->got += (uint64_t)op->res;
    if (!f->stop) full_post(loop, f);
}

static void full_post(cio_loop *loop, full_rx *f) {
    cio_prep_recv(&f->op, f->fd, f->buf, FULL, 0);
    f->op.cb = full_cb;
    CHECK_EQ(cio_submit(loop, &f->op), 0);
}

/* Turns the loop until every byte sent has come. */
static void full_drain(cio_loop *loop, const full_rx *f, uint64_t sent) {
    double end = t_seconds() + 10;
    while (f->got < sent) {
        CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
        CHECK(t_seconds() < end);
    }
    CHECK_EQ(f->got, sent);
}

static void full_messages(cio_loop *loop, int mine, int peer, unsigned salt) {
    static full_rx f;
    memset(&f, 0, sizeof f);
    f.fd = mine;
    f.salt = salt;
    uint64_t sent = 0;
    full_post(loop, &f);
    for (unsigned r = 0; r < 40; r++) { /* one message per turn: the try after a full one finds nothing */
        peer_send(peer, &sent, FULL, salt);
        full_drain(loop, &f, sent);
    }
    for (unsigned r = 0; r < 40; r++) { /* several at once: the guess is wrong */
        for (unsigned k = 0; k < 2 + r % 3; k++) peer_send(peer, &sent, FULL, salt);
        full_drain(loop, &f, sent);
    }
    for (unsigned r = 0; r < 20; r++) { /* and back to one at a time */
        peer_send(peer, &sent, FULL, salt);
        full_drain(loop, &f, sent);
    }
    f.stop = true;
    peer_send(peer, &sent, FULL, salt);
    full_drain(loop, &f, sent);
    CHECK_EQ(cio_loop_active(loop), 0);
}

static void pair_cases(cio_loop *loop, int a, int b, unsigned salt) {
    ping_pong(loop, a, b, salt);
    ping_pong(loop, b, a, salt + 1);
    many_on_one(loop, a, b, salt + 2);
    sends_park(loop, a, b, salt + 3);
    full_messages(loop, a, b, salt + 4);
}

/* Two datagrams queued: the first receive is short of its buffer, and the
 * second must still come without anything new arriving. */
static void datagrams(cio_loop *loop) {
    int p[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, p), 0);
    unsigned char buf[256];
    t_op t;
    for (int r = 0; r < 50; r++) {
        CHECK_EQ(send(p[1], "first", 5, 0), 5);
        CHECK_EQ(send(p[1], "second!", 7, 0), 7);
        submit_recv(loop, &t, p[0], buf, sizeof buf);
        CHECK_EQ(net_wait(loop, &t, 10), 5);
        CHECK(memcmp(buf, "first", 5) == 0);
        submit_recv(loop, &t, p[0], buf, sizeof buf);
        CHECK_EQ(net_wait(loop, &t, 10), 7);
        CHECK(memcmp(buf, "second!", 7) == 0);
    }
    close(p[0]);
    close(p[1]);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Receives parked on many handles, fed in a random order, twice (the
 * second time on watches kept from the first). */
static void many_handles(cio_loop *loop) {
    static int p[MANY][2];
    static t_op t[MANY];
    static unsigned char buf[MANY][8];
    unsigned order[MANY];
    for (int i = 0; i < MANY; i++) CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p[i]), 0);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < MANY; i++) submit_recv(loop, &t[i], p[i][0], buf[i], sizeof buf[i]);
        for (unsigned i = 0; i < MANY; i++) order[i] = i;
        for (unsigned i = MANY - 1; i > 0; i--) {
            unsigned j = rng() % (i + 1), x = order[i];
            order[i] = order[j];
            order[j] = x;
        }
        for (unsigned k = 0; k < MANY; k++) {
            unsigned i = order[k];
            unsigned char msg[3] = {(unsigned char)i, (unsigned char)(i >> 8), (unsigned char)round};
            CHECK_EQ(send(p[i][1], msg, 3, 0), 3);
            if (k % 17 == 0) CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
        }
        for (int i = 0; i < MANY; i++) {
            CHECK_EQ(net_wait(loop, &t[i], 10), 3);
            CHECK(buf[i][0] == (unsigned char)i && buf[i][1] == (unsigned char)(i >> 8) && buf[i][2] == round);
        }
    }
    for (int i = 0; i < MANY; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
}

/* A handle closed behind cio's back with its file kept open by a dup, while
 * cio keeps a read watch on it, and bytes then arrive: at most a few waits
 * may see it (the old registration must not report on every wait). */
static void closed_behind(cio_loop *loop) {
    int p[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
    unsigned char buf[16];
    t_op t;
    uint64_t sent = 0, got = 0;
    /* A receive that completes leaves the read watch kept. */
    submit_recv(loop, &t, p[0], buf, sizeof buf);
    CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
    peer_send(p[1], &sent, 4, 9);
    expect_recv(loop, &t, buf, &got, 9);
    int keep = dup(p[0]);
    CHECK(keep >= 0);
    CHECK_EQ(close(p[0]), 0); /* behind cio's back */
    peer_send(p[1], &sent, 4, 9); /* the old file is readable now, for good */
    cio_stats before, after;
    cio_loop_stats(loop, &before);
    t_op timer;
    cio_prep_timeout(&timer.op, 100 * 1000 * 1000, 0);
    net_arm(&timer);
    CHECK_EQ(cio_submit(loop, &timer.op), 0);
    CHECK_EQ(net_wait(loop, &timer, 10), 0);
    cio_loop_stats(loop, &after);
    uint64_t waits = after.enters - before.enters;
    if (waits > 50) fprintf(stderr, "%llu waits in 100 ms with nothing to do\n", (unsigned long long)waits);
    CHECK(waits <= 50);
    /* The number, reused, still works. */
    int q[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, q), 0);
    uint64_t s2 = 0, g2 = 0;
    int mine = q[0];
    if (mine != p[0]) {
        CHECK_EQ(dup3(q[0], p[0], O_CLOEXEC), p[0]);
        close(q[0]);
        mine = p[0];
    }
    submit_recv(loop, &t, mine, buf, sizeof buf);
    CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
    peer_send(q[1], &s2, 8, 3);
    expect_recv(loop, &t, buf, &g2, 3);
    t_op c;
    cio_prep_close(&c.op, mine);
    CHECK_EQ(net_do(loop, &c), 0);
    close(q[1]);
    close(keep);
    close(p[1]);
}

int main(void) {
    net_watchdog(60);
    cio_loop loop;
    t_loop_init(&loop, 256);

    int u[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, u), 0);
    pair_cases(&loop, u[0], u[1], 1);
    close(u[0]);
    close(u[1]);

    cio_fd c, s;
    net_pair(&loop, AF_INET, &c, &s);
    int one = 1;
    setsockopt((int)c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pair_cases(&loop, (int)s, (int)c, 11);
    net_settle(&loop);
    close((int)c);
    close((int)s);

    datagrams(&loop);
    many_handles(&loop);
    closed_behind(&loop);
    net_settle(&loop);
    net_close_loop(&loop);
    printf("ok\n");
    return 0;
}
