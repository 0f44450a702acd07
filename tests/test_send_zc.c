/*
 * test_send_zc - zero-copy sends (cio_prep_send_zc, cio_prep_sendmsg_zc,
 * cio_send_zc), on every backend; on io_uring twice: with zero copy, and
 * with CIO_URING_DISABLE=send_zc (the plain send the other backends make):
 *   - stream: 1 MiB in 64 KiB sends, one after another, while the peer
 *     reads; each callback overwrites what its op sent; the same from a
 *     registered buffer (cio_prep_send_zc_fixed);
 *   - small: 1,000 sends of 1..64 bytes;
 *   - sendmsg: three iovecs per send;
 *   - overwrite: the peer does not read (64 KiB receive buffer, 1 MiB sent): the send's
 *     bytes are queued, the kernel still holds the buffer; whenever the
 *     callback runs it overwrites the buffer, and what the peer reads
 *     afterwards must be the bytes before the overwrite. A send completed
 *     at its first CQE, before the kernel lets go of the pages, fails it
 *     (loopback copies only when it transmits, which waits for the peer).
 *     With zero copy a cancel then finds nothing to stop (-CIO_ENOENT) and
 *     the send still completes with its count;
 *   - cancel and deadline while the send waits for room (the socket's
 *     buffer filled first): -CIO_ECANCELED, -CIO_ETIMEDOUT, exactly once;
 *   - cancel of a CIO_MSG_WAITALL send that sent part: the count sent,
 *     and the peer gets exactly those bytes;
 *   - a Unix stream pair (the kernel cannot send from user pages there:
 *     io_uring falls back to a plain send), the task call cio_send_zc.
 * Oracles: the bytes the test generated (pat) against what the peer
 * read with plain system calls (recv(2)); exactly one final completion per
 * submission, no CIO_F_MORE, the opcode given back; on io_uring, the
 * kernel's completions (cio_loop_stats) show one notification per small
 * send with zero copy, none without.
 *
 * On the mock backend (CIO_BACKEND=mock) handles are simulated: the pair
 * is cio_socket_pair's and the peer reads with cio recv ops.
 *
 * On the mock it also runs under 1,000 seeds (CIO_TEST_SEEDS_EXACT: exact
 * results, so no fault runs).
 *
 * CIO_TEST_PORTABLE
 */
#include "net_util.h" /* first: it includes test.h */

#include "cio.h"

static bool on_mock;
static int zc_sends; /* send_zc and sendmsg_zc submissions since it was reset */

static unsigned char pat(size_t i) { return (unsigned char)((i * 2654435761u) >> 13); }

/* ---- a TCP pair over loopback, with plain system calls ---- */

/* fds[0] sends (cio), fds[1] is the peer (plain recv). `rcvbuf` > 0: the
 * peer's receive buffer, set before the connection so that the window is
 * small from the start. */
static void tcp_pair(cio_fd fds[2], int rcvbuf) {
#if defined(_WIN32)
    /* Not set after the connection (Windows has no socket option that
     * takes before it): a window that shrinks can stall a loopback stream
     * for seconds. Nothing is sent from user pages there anyway. */
    (void)rcvbuf;
    CHECK_EQ(t_socketpair(fds), 0);
#else
    cio_fd l = t_sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(l >= 0);
    if (rcvbuf > 0) CHECK_EQ(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    struct sockaddr_in a = sin4("127.0.0.1", 0);
    socklen_t len = sizeof a;
    CHECK_EQ(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ(getsockname(l, (struct sockaddr *)&a, &len), 0);
    CHECK_EQ(listen(l, 1), 0);
    fds[0] = t_sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fds[0] >= 0);
    CHECK_EQ(connect(fds[0], (struct sockaddr *)&a, sizeof a), 0);
    fds[1] = accept(l, NULL, NULL);
    CHECK(fds[1] >= 0);
    close(l);
#endif
}

/* ---- the peer ---- */

typedef struct peer {
    t_op rx; /* mock: the recv in flight */
    cio_loop *loop;
    cio_fd fd;
    unsigned char *got;
    size_t n, cap;
    bool receiving, eof;
} peer;

static void peer_rx_done(cio_loop *loop, cio_op *op) {
    (void)loop;
    peer *p = (peer *)(void *)op;
    p->receiving = false;
    CHECK(op->res >= 0);
    if (op->res == 0) p->eof = true;
    p->n += (size_t)op->res;
    CHECK(p->n <= p->cap);
}

static void peer_init(peer *p, cio_loop *loop, cio_fd fd, size_t cap) {
    memset(p, 0, sizeof *p);
    p->loop = loop;
    p->fd = fd;
    p->cap = cap;
    p->got = malloc(cap + 1);
    CHECK(p->got != NULL);
    if (!on_mock) CHECK_EQ(t_set_nonblock(fd, 1), 0);
}

/* Reads what has come. */
static void peer_pump(peer *p) {
    if (p->eof) return;
    if (on_mock) {
        if (p->receiving || p->n > p->cap) return;
        uint32_t room = (uint32_t)(p->cap + 1 - p->n); /* a byte too many shows */
        cio_prep_recv(&p->rx.op, p->fd, p->got + p->n, room > 65536 ? 65536 : room, 0);
        p->rx.op.cb = peer_rx_done;
        p->receiving = true;
        CHECK_EQ(cio_submit(p->loop, &p->rx.op), 0);
        return;
    }
    for (int i = 0; i < 64; i++) {
        /* One byte of room more than expected: a byte too many shows. */
        long long r = t_sys_recv(p->fd, p->got + p->n, p->cap + 1 - p->n, 0);
        if (r == -CIO_EAGAIN) return;
        CHECK(r >= 0);
        if (r == 0) {
            p->eof = true;
            return;
        }
        p->n += (size_t)r;
        CHECK(p->n <= p->cap);
    }
}

/* The bytes the peer got are data[0..n) of the generator from `from`. */
static void peer_check(const peer *p, size_t from, size_t n) {
    CHECK_EQ(p->n, n);
    for (size_t i = 0; i < n; i++)
        if (p->got[i] != pat(from + i)) {
            fprintf(stderr, "byte %zu differs: %u, sent %u\n", i, p->got[i], pat(from + i));
            exit(1);
        }
}

static void peer_free(peer *p) {
    /* A recv still in flight (mock) ends with the handle's close first. */
    free(p->got);
    p->got = NULL;
}

/* ---- running the loop ---- */

/* One turn that cannot wait for ever: a 20 ms timer is kept pending. */
static t_op guard_tick;
static cio_loop *tick_loop;
static void turn(cio_loop *loop) {
    if (tick_loop != loop || guard_tick.finals) {
        cio_prep_timeout(&guard_tick.op, 20 * 1000 * 1000, 0);
        t_arm(&guard_tick);
        CHECK_EQ(cio_submit(loop, &guard_tick.op), 0);
        tick_loop = loop;
    }
    CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
}

/* Turns, pumping the peer (if any), until `*flag`, at most 20 s. */
static void run_until(cio_loop *loop, peer *p, const int *flag) {
    double end = t_seconds() + 20;
    while (!*flag) {
        if (p) peer_pump(p);
        turn(loop);
        if (t_seconds() > end) {
            if (p) fprintf(stderr, "peer has %zu of %zu\n", p->n, p->cap);
            fprintf(stderr, "condition not reached after 20 s\n");
            exit(1);
        }
    }
}

/* Lets the loop run for a while with nothing new: about 60 ms (virtual on the mock). */
static void idle(cio_loop *loop) {
    t_op tick;
    cio_prep_timeout(&tick.op, 60 * 1000 * 1000, 0);
    t_arm(&tick);
    CHECK_EQ(cio_submit(loop, &tick.op), 0);
    run_until(loop, NULL, &tick.finals);
}

/* Closes `fd` through cio (mock handles and the cio side), or plainly. */
static void close_h(cio_loop *loop, cio_fd fd, bool through_cio) {
    if (!through_cio && !on_mock) {
        CHECK_EQ(t_close_handle(fd), 0);
        return;
    }
    t_op c;
    cio_prep_close(&c.op, fd);
    t_arm(&c);
    CHECK_EQ(cio_submit(loop, &c.op), 0);
    run_until(loop, NULL, &c.finals);
    CHECK_EQ(c.res, 0);
}

static void make_pair(cio_loop *loop, cio_fd fds[2], int rcvbuf) {
    if (on_mock)
        CHECK_EQ(cio_socket_pair(loop, SOCK_STREAM, fds), 0);
    else
        tcp_pair(fds, rcvbuf);
}

/* The sender's end of stream, then the peer reads to its end. */
static void finish_stream(cio_loop *loop, cio_fd fds[2], peer *p) {
    close_h(loop, fds[0], true);
    double end = t_seconds() + 20;
    while (!p->eof) {
        peer_pump(p);
        if (on_mock) turn(loop);
        else t_sleep_ms(1);
        CHECK(t_seconds() < end);
    }
    close_h(loop, fds[1], false);
}

/* ---- the sender: one zero-copy send after another ---- */

typedef struct sender {
    t_op t; /* first */
    unsigned char *buf; /* the bytes of the stream, from `base` of the generator */
    size_t len, off;    /* off: sent so far */
    uint32_t piece;     /* at most this much per send (small: 1..piece) */
    bool small, msg;
    bool fixed; /* buf is registered buffer 0 (cio_prep_send_zc_fixed) */
    cio_fd fd;
    int submitted, finals;
    int copied;       /* completions that said the bytes were copied */
    cio_iovec iov[3];
    cio_msghdr mh;
    int done;
} sender;

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void sender_next(cio_loop *loop, sender *s);

/* A sender of `len` bytes of the generator's stream, from 0. */
static void sender_init(sender *s, size_t len) {
    memset(s, 0, sizeof *s);
    s->buf = malloc(len);
    CHECK(s->buf != NULL);
    for (size_t i = 0; i < len; i++) s->buf[i] = pat(i);
    s->len = len;
}

static void sender_cb(cio_loop *loop, cio_op *op) {
    sender *s = (sender *)(void *)op;
    CHECK(!(op->flags & CIO_F_MORE));
    CHECK_EQ(op->opcode, s->msg ? CIO_OP_SENDMSG_ZC : CIO_OP_SEND_ZC);
    s->finals++;
    CHECK_EQ(s->finals, s->submitted); /* one final completion per submission */
    CHECK(op->res > 0);
    if (cio_op_zc_copied(op)) s->copied++;
    /* The buffer is the caller's again: what was sent must not change
     * what the peer gets. */
    memset(s->buf + s->off, 0xEE, (size_t)op->res);
    s->off += (size_t)op->res;
    if (s->off < s->len)
        sender_next(loop, s);
    else
        s->done = 1;
}

static void sender_next(cio_loop *loop, sender *s) {
    uint32_t n = s->small ? 1 + rnd() % s->piece : s->piece;
    if (n > s->len - s->off) n = (uint32_t)(s->len - s->off);
    unsigned char *at = s->buf + s->off;
    if (s->msg) {
        uint32_t a = n / 3, b = n / 3;
        s->iov[0] = (cio_iovec){.iov_base = at, .iov_len = a};
        s->iov[1] = (cio_iovec){.iov_base = at + a, .iov_len = b};
        s->iov[2] = (cio_iovec){.iov_base = at + a + b, .iov_len = n - a - b};
        cio_msg_init(&s->mh, NULL, 0, s->iov, 3, NULL, 0);
        cio_prep_sendmsg_zc(&s->t.op, s->fd, &s->mh, 0);
    } else if (s->fixed) {
        cio_prep_send_zc_fixed(&s->t.op, s->fd, at, n, 0, 0);
    } else {
        cio_prep_send_zc(&s->t.op, s->fd, at, n, 0);
    }
    s->t.op.cb = sender_cb;
    s->submitted++;
    zc_sends++;
    CHECK_EQ(cio_submit(loop, &s->t.op), 0);
}

/* Sends `len` bytes in pieces (at most `piece`, or 1..piece with
 * `small`), one after another, while the peer reads; checks the bytes. */
static void case_stream(cio_loop *loop, size_t len, uint32_t piece, bool small, bool msg) {
    cio_fd fds[2];
    make_pair(loop, fds, 0);
    peer p;
    peer_init(&p, loop, fds[1], len);
    sender s;
    sender_init(&s, len);
    s.piece = piece;
    s.small = small;
    s.msg = msg;
    s.fd = fds[0];
    sender_next(loop, &s);
    run_until(loop, &p, &s.done);
    CHECK_EQ(s.off, len);
    finish_stream(loop, fds, &p);
    peer_check(&p, 0, len);
    printf("stream %zu bytes in %d sends (%s%s): %d said copied\n", len, s.submitted, small ? "small" : "pieces",
           msg ? ", sendmsg" : "", s.copied);
    peer_free(&p);
    free(s.buf);
}

/* Sends from a registered buffer (cio/fixed.h), in pieces. */
static void case_fixed(cio_loop *loop) {
    const size_t len = 256 * 1024;
    sender s;
    sender_init(&s, len);
    cio_iovec reg = {.iov_base = s.buf, .iov_len = (unsigned long)len};
    int r = cio_buffers_register(loop, &reg, 1);
    if (r == -CIO_ENOMEM) { /* RLIMIT_MEMLOCK: nothing to test here */
        printf("fixed: skipped, the kernel refused to pin %zu bytes\n", len);
        free(s.buf);
        return;
    }
    CHECK_EQ(r, 0);
    cio_fd fds[2];
    make_pair(loop, fds, 0);
    peer p;
    peer_init(&p, loop, fds[1], len);
    s.piece = 65536;
    s.fixed = true;
    s.fd = fds[0];
    sender_next(loop, &s);
    run_until(loop, &p, &s.done);
    CHECK_EQ(cio_buffers_unregister(loop), 0);
    finish_stream(loop, fds, &p);
    peer_check(&p, 0, len);
    printf("fixed: %zu bytes in %d sends\n", len, s.submitted);
    peer_free(&p);
    free(s.buf);
}

/* The peer does not read while the send's bytes wait in the socket: the
 * callback overwrites the buffer whenever it runs; the peer then reads. */
static void case_overwrite(cio_loop *loop) {
    cio_fd fds[2];
    make_pair(loop, fds, 65536);
    const size_t len = 1024 * 1024;
    peer p;
    peer_init(&p, loop, fds[1], len);
    sender s;
    sender_init(&s, len);
    s.piece = (uint32_t)len;
    s.fd = fds[0];
    s.small = false;
    /* One send; the rest, if it is short, after the peer reads. */
    cio_prep_send_zc(&s.t.op, s.fd, s.buf, (uint32_t)len, 0);
    s.t.op.cb = sender_cb;
    s.submitted = 1;
    zc_sends++;
    CHECK_EQ(cio_submit(loop, &s.t.op), 0);
    idle(loop); /* the peer reads nothing meanwhile */
    int early = s.finals;
    if (s.finals == 0) {
        /* Zero copy: the bytes are queued, the kernel holds the buffer. A
         * cancel now finds nothing to stop (-CIO_ENOENT), and the op still
         * completes with its count once the peer has read (sender_cb). */
        t_op c;
        cio_prep_cancel(&c.op, &s.t.op);
        t_arm(&c);
        CHECK_EQ(cio_submit(loop, &c.op), 0);
        run_until(loop, NULL, &c.finals);
        CHECK_EQ(c.res, -CIO_ENOENT);
        CHECK_EQ(s.finals, 0);
    }
    run_until(loop, &p, &s.done);
    finish_stream(loop, fds, &p);
    peer_check(&p, 0, len);
    printf("overwrite: %d of %d completions before the peer read\n", early, s.submitted);
    peer_free(&p);
    free(s.buf);
}

/* Fills the sender's socket until a send that cannot wait says EAGAIN;
 * returns the bytes that went (the generator's from 0). */
static size_t fill(cio_loop *loop, cio_fd fd) {
    static unsigned char chunk[65536];
    size_t total = 0;
    for (int i = 0; i < 10000; i++) {
        for (size_t k = 0; k < sizeof chunk; k++) chunk[k] = pat(total + k);
        int32_t r = op_send(loop, fd, chunk, sizeof chunk, CIO_MSG_DONTWAIT);
        if (r == -CIO_EAGAIN) return total;
        CHECK(r > 0);
        total += (size_t)r;
    }
    CHECK(!"the socket never filled");
    return 0;
}

/* A send that waits for room, ended by a cancel or its deadline. */
static void case_blocked(cio_loop *loop, bool deadline) {
    cio_fd fds[2];
    make_pair(loop, fds, 4096);
    size_t filled = fill(loop, fds[0]);
    static unsigned char buf[65536];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = pat(filled + i);
    t_op s;
    cio_prep_send_zc(&s.op, fds[0], buf, sizeof buf, 0);
    t_arm(&s);
    if (deadline) s.op.deadline = cio_now(loop) + 50 * 1000 * 1000;
    zc_sends++;
    CHECK_EQ(cio_submit(loop, &s.op), 0);
    if (!deadline) idle(loop);
    /* The socket is full: the send waits (on Windows it may have gone whole already, see
     * below; nothing is left to cancel then, and a cancel would be refused: -CIO_ENOENT). */
    CHECK(deadline || s.finals == 0 || t_on_windows());
    if (!deadline && s.finals == 0) {
        t_op c;
        cio_prep_cancel(&c.op, &s.op);
        t_arm(&c);
        CHECK_EQ(cio_submit(loop, &c.op), 0);
        run_until(loop, NULL, &c.finals);
        CHECK(c.res == 0 || c.res == -CIO_EALREADY);
    }
    run_until(loop, NULL, &s.finals);
    idle(loop);
    CHECK_EQ(s.finals, 1);
    CHECK_EQ(s.mores, 0);
    /* Windows (IOCP) takes a send that does not fit and waits with it
     * (cio_prep_send): it may have gone whole before the cancel. */
    size_t sent = 0;
    if (t_on_windows() && s.res > 0)
        sent = (size_t)s.res;
    else
        CHECK_EQ(s.res, deadline ? -CIO_ETIMEDOUT : -CIO_ECANCELED);
    /* The peer gets the filling and nothing of the cancelled send. */
    peer p;
    peer_init(&p, loop, fds[1], filled + sent);
    finish_stream(loop, fds, &p);
    peer_check(&p, 0, filled + sent);
    printf("%s: %s after %zu bytes of filling\n", deadline ? "deadline" : "cancel",
           s.res > 0 ? "sent whole (IOCP)" : cio_strerror(s.res), filled);
    peer_free(&p);
}

/* A CIO_MSG_WAITALL send of more than the socket takes, cancelled once it
 * has sent part: the count sent; the peer gets exactly those bytes (on
 * io_uring with zero copy the op completes only once the peer has read
 * them). */
static void case_waitall_cancel(cio_loop *loop) {
    cio_fd fds[2];
    make_pair(loop, fds, 4096);
    const size_t len = on_mock ? 65536 : 8 * 1024 * 1024; /* more than the socket takes */
    unsigned char *buf = malloc(len);
    CHECK(buf != NULL);
    for (size_t i = 0; i < len; i++) buf[i] = pat(i);
    t_op s;
    cio_prep_send_zc(&s.op, fds[0], buf, (uint32_t)len, CIO_MSG_WAITALL);
    t_arm(&s);
    zc_sends++;
    CHECK_EQ(cio_submit(loop, &s.op), 0);
    idle(loop);
    CHECK_EQ(s.finals, 0); /* the peer does not read: it cannot have sent all */
    CHECK_EQ(cio_cancel(loop, &s.op), 0);
    peer p;
    peer_init(&p, loop, fds[1], len);
    run_until(loop, &p, &s.finals);
    CHECK_EQ(s.mores, 0);
    CHECK(s.res > 0 || s.res == -CIO_ECANCELED);
    size_t sent = s.res > 0 ? (size_t)s.res : 0;
    CHECK(sent < len);
    memset(buf, 0xEE, len); /* the caller's again */
    finish_stream(loop, fds, &p);
    peer_check(&p, 0, sent);
    printf("waitall cancel: %zu bytes sent\n", sent);
    peer_free(&p);
    free(buf);
}

/* A Unix stream pair: no zero copy there; the same result. */
static void case_unix(cio_loop *loop) {
    cio_fd fds[2];
    CHECK_EQ(cio_socket_pair(loop, SOCK_STREAM, fds), 0);
    const size_t len = 100000;
    peer p;
    peer_init(&p, loop, fds[1], len);
    sender s;
    sender_init(&s, len);
    s.piece = 30000;
    s.fd = fds[0];
    sender_next(loop, &s);
    run_until(loop, &p, &s.done);
    /* A socket the kernel cannot send from user pages: a plain send,
     * which copies. */
    if (!on_mock && !t_on_windows()) CHECK_EQ(s.copied, s.finals);
    finish_stream(loop, fds, &p);
    peer_check(&p, 0, len);
    peer_free(&p);
    free(s.buf);
}

/* ---- the task call ---- */

typedef struct task_arg {
    cio_fd fd;
    const unsigned char *buf;
    uint32_t len;
    int32_t res;
} task_arg;

static intptr_t sender_task(void *arg) {
    task_arg *a = arg;
    a->res = cio_send_zc(a->fd, a->buf, a->len, CIO_MSG_WAITALL);
    return 0;
}

static void case_task(cio_loop *loop) {
    cio_fd fds[2];
    make_pair(loop, fds, 0);
    const uint32_t len = 200000;
    unsigned char *buf = malloc(len);
    CHECK(buf != NULL);
    for (uint32_t i = 0; i < len; i++) buf[i] = pat(i);
    peer p;
    peer_init(&p, loop, fds[1], len);
    task_arg a = {.fd = fds[0], .buf = buf, .len = len, .res = 1};
    cio_task *t;
    CHECK_EQ(cio_task_spawn(loop, sender_task, &a, NULL, &t), 0);
    double end = t_seconds() + 20;
    while (a.res == 1) {
        peer_pump(&p);
        turn(loop);
        CHECK(t_seconds() < end);
    }
    CHECK_EQ(a.res, (int32_t)len);
    zc_sends++;
    finish_stream(loop, fds, &p);
    peer_check(&p, 0, len);
    peer_free(&p);
    free(buf);
}

/* ---- main ---- */

static void run_all(const char *how) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    on_mock = cio_loop_backend(&loop) == CIO_BACKEND_MOCK;
    printf("-- %s (%s)\n", how, cio_loop_backend(&loop) == CIO_BACKEND_URING ? "io_uring" : "other");
    case_stream(&loop, on_mock ? 256 * 1024 : 1024 * 1024, 65536, false, false); /* the mock: 1,000 seeds */
    /* The kernel's completions of the many small sends: with zero copy
     * each has a notification besides its result, a plain send none (a
     * few timers of the core complete meanwhile, with none of the
     * kernel's). */
    zc_sends = 0;
    cio_stats before, after;
    cio_loop_stats(&loop, &before);
    case_stream(&loop, 1000 * 33, 64, true, false);
    cio_loop_stats(&loop, &after);
    long long extra = (long long)(after.kernel_completions - before.kernel_completions) -
                      (long long)(after.ops_completed - before.ops_completed);
    if (cio_loop_backend(&loop) == CIO_BACKEND_URING) {
        printf("%d small zero-copy sends: %lld kernel completions beyond the ops'\n", zc_sends, extra);
        if (getenv("CIO_URING_DISABLE"))
            CHECK(extra < zc_sends / 10);
        else
            CHECK(extra > zc_sends - zc_sends / 10);
    }
    case_stream(&loop, 300 * 1000, 50000, false, true);
    case_fixed(&loop);
    case_overwrite(&loop);
    case_blocked(&loop, false);
    case_blocked(&loop, true);
    case_waitall_cancel(&loop);
    case_unix(&loop);
    case_task(&loop);
    t_close(&loop);
}

int main(void) {
    t_ignore_sigpipe();
    run_all("as configured");
#if defined(__linux__)
    const char *be = getenv("CIO_BACKEND");
    if (be && strcmp(be, "io_uring") == 0 && !getenv("CIO_URING_DISABLE")) {
        /* The plain send that kernels before 6.0 get: the same results. */
        CHECK_EQ(t_setenv("CIO_URING_DISABLE", "send_zc"), 0);
        run_all("CIO_URING_DISABLE=send_zc");
    }
#endif
    return 0;
}
