/*
 * test_bufpool - buffer pools (cio/bufpool.h) and the receives that take
 * their buffers from them (cio_prep_recv_pool, one-shot and multishot), on
 * every backend:
 *   - stream: a peer sends a known byte stream in many writes of seeded
 *     sizes; a multishot recv reassembles it through the buffer ids, each
 *     buffer put back in its callback; the bytes match, the end of the
 *     stream is its one final completion (res 0);
 *   - dry: a small pool whose buffers the user holds: the multishot recv
 *     ends with -CIO_ENOBUFS, no byte lost; a recv submitted on the dry
 *     pool ends at once with it; after the buffers are put back a new
 *     multishot recv gets the rest;
 *   - dry_waiting: a pool that runs dry while nothing more is queued: the
 *     op goes on waiting, and ends with -CIO_ENOBUFS only when data comes;
 *   - oneshot: waits for data, cuts at the buffer size (the stream keeps
 *     the rest), 0 at the end of the stream with no buffer named;
 *   - cancel and close during a multishot recv: exactly one final
 *     completion, -CIO_ECANCELED (the close's after it); destroy while an
 *     op uses the pool is -CIO_EBUSY, and works from the final callback;
 *   - loop close with a recv pending and a pool alive (the loop frees it);
 *   - the task call cio_recv_pool; datagrams (one per completion, cut);
 *     bad input.
 * Oracles: the bytes the test generated and the peer sent with plain
 * system calls (send(2)), the pool's size and count, completion counts.
 *
 * On the mock backend (CIO_BACKEND=mock) handles are simulated: the peer
 * is then a chain of cio send ops on the other end of a simulated pair,
 * and waiting is measured in virtual time.
 *
 * CIO_TEST_PORTABLE
 */
#include "test.h"

#include "cio.h"

static bool on_mock;

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static unsigned char byte_at(size_t i) { return (unsigned char)((i * 2654435761u) >> 13); }

/* ---- the peer: plain send(2) on real handles, cio sends on the mock ---- */

typedef struct peer {
    t_op send; /* mock: the send in flight */
    cio_loop *loop;
    cio_fd fd;
    const unsigned char *data;
    size_t len, sent, queued; /* queued: bytes given to send so far */
    uint32_t max_chunk;
    bool sending, closed;
} peer;

static void peer_sent(cio_loop *loop, cio_op *op) {
    (void)loop;
    peer *p = (peer *)(void *)op;
    CHECK(op->res > 0);
    p->sent += (size_t)op->res;
    p->sending = false;
}

static void peer_init(peer *p, cio_loop *loop, cio_fd fd, const unsigned char *data, size_t len, uint32_t max_chunk) {
    memset(p, 0, sizeof *p);
    p->loop = loop;
    p->fd = fd;
    p->data = data;
    p->len = len;
    p->max_chunk = max_chunk;
    if (!on_mock) CHECK_EQ(t_set_nonblock(fd, 1), 0);
}

/* Sends what the socket takes now, in chunks of 1..max_chunk bytes. */
static void peer_pump(peer *p) {
    if (on_mock) {
        if (p->sending || p->sent >= p->len) return;
        uint32_t n = 1 + rnd() % p->max_chunk;
        if (n > p->len - p->sent) n = (uint32_t)(p->len - p->sent);
        cio_prep_send(&p->send.op, p->fd, p->data + p->sent, n, 0);
        p->send.op.cb = peer_sent;
        p->sending = true;
        CHECK_EQ(cio_submit(p->loop, &p->send.op), 0);
        return;
    }
    for (int i = 0; i < 64 && p->sent < p->len; i++) {
        size_t n = 1 + rnd() % p->max_chunk;
        if (n > p->len - p->sent) n = p->len - p->sent;
        long long r = t_sys_send(p->fd, p->data + p->sent, n, 0);
        if (r == -CIO_EAGAIN) return;
        CHECK(r > 0);
        p->sent += (size_t)r;
    }
}

static void turn(cio_loop *loop);

/* Closes the cio-side or mock handle `fd` through a close op. */
static void close_op(cio_loop *loop, cio_fd fd) {
    t_op c;
    cio_prep_close(&c.op, fd);
    t_arm(&c);
    CHECK_EQ(cio_submit(loop, &c.op), 0);
    double end = t_seconds() + 10;
    while (!c.finals) {
        turn(loop);
        CHECK(t_seconds() < end);
    }
    CHECK_EQ(c.res, 0);
}

/* The peer's end of stream: its handle goes. */
static void peer_close(peer *p) {
    if (p->closed) return;
    p->closed = true;
    if (on_mock)
        close_op(p->loop, p->fd);
    else
        CHECK_EQ(t_close_handle(p->fd), 0);
}

/* Sends all of the peer's data now (it fits the socket's buffer). */
static void peer_send_all(peer *p) {
    double end = t_seconds() + 10;
    while (p->sent < p->len) {
        peer_pump(p);
        if (on_mock) turn(p->loop);
        CHECK(t_seconds() < end);
    }
}

/* ---- the receiver ---- */

typedef struct sink {
    t_op t; /* first */
    cio_bufpool *pool;
    unsigned char *rx;
    size_t got, cap;
    bool put_back;        /* put each buffer back in its callback */
    uint8_t mine[64];     /* ids the test holds */
    unsigned nmine;
    bool destroy_at_end;  /* destroy the pool in the final callback */
    int destroyed;        /* its result */
} sink;

static void sink_cb(cio_loop *loop, cio_op *op) {
    sink *s = (sink *)(void *)op;
    if (op->res > 0) {
        uint32_t id = cio_op_buf_id(op);
        CHECK(id < cio_bufpool_count(s->pool));
        CHECK(op->res <= (int32_t)cio_bufpool_size(s->pool));
        CHECK(id >= 64 || !s->mine[id]); /* a buffer the test holds is never handed out again */
        CHECK(s->got + (size_t)op->res <= s->cap);
        memcpy(s->rx + s->got, cio_bufpool_buf(s->pool, id), (size_t)op->res);
        s->got += (size_t)op->res;
        if (s->put_back) {
            CHECK_EQ(cio_bufpool_put(s->pool, id), 0);
            CHECK_EQ(cio_bufpool_put(s->pool, id), -CIO_EALREADY);
        } else {
            CHECK(id < 64);
            s->mine[id] = 1;
            s->nmine++;
        }
    } else {
        CHECK_EQ(cio_op_buf_id(op), UINT32_MAX);
    }
    if (op->flags & CIO_F_MORE) CHECK(op->res > 0); /* only the final one may say anything else */
    if (!(op->flags & CIO_F_MORE) && s->destroy_at_end) s->destroyed = cio_bufpool_destroy(s->pool);
    t_cb(loop, op);
}

static void sink_arm(sink *s, cio_loop *loop, cio_fd fd, bool multishot) {
    cio_prep_recv_pool(&s->t.op, fd, s->pool, 0);
    t_arm(&s->t);
    s->t.op.cb = sink_cb;
    if (multishot) s->t.op.flags = CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(loop, &s->t.op), 0);
}

/* The test gives back every buffer it holds. */
static void sink_put_all(sink *s) {
    for (uint32_t id = 0; id < 64; id++)
        if (s->mine[id]) {
            CHECK_EQ(cio_bufpool_put(s->pool, id), 0);
            s->mine[id] = 0;
            s->nmine--;
        }
}

static void check_bytes(const sink *s, const unsigned char *data, size_t len) {
    CHECK_EQ(s->got, len);
    for (size_t i = 0; i < len; i++)
        if (s->rx[i] != data[i]) {
            fprintf(stderr, "byte %zu differs: %u, sent %u\n", i, s->rx[i], data[i]);
            exit(1);
        }
}

/* One turn that cannot wait for ever: a 50 ms timer is kept pending on
 * the loop, so that an op that never completes fails the test (its
 * bounded loop runs out of time) rather than hang it. */
static t_op guard_tick;
static cio_loop *tick_loop;
static void turn(cio_loop *loop) {
    if (tick_loop != loop || guard_tick.finals) {
        cio_prep_timeout(&guard_tick.op, 50 * 1000 * 1000, 0);
        t_arm(&guard_tick);
        CHECK_EQ(cio_submit(loop, &guard_tick.op), 0);
        tick_loop = loop;
    }
    CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
}

/* Runs turns, pumping the peer, until `*flag`, at most 10 s. */
static void run_until(cio_loop *loop, peer *p, const int *flag) {
    double end = t_seconds() + 10;
    while (!*flag) {
        if (p) peer_pump(p);
        turn(loop);
        if (t_seconds() > end) {
            fprintf(stderr, "condition not reached after 10 s\n");
            exit(1);
        }
    }
}

/* Lets the loop look for a while without anything new: a few turns on a
 * real backend (with a short timer, so that a wait ends), 1 ms of virtual
 * time on the mock. */
static void idle(cio_loop *loop) {
    for (int i = 0; i < 5; i++) {
        t_op tick;
        cio_prep_timeout(&tick.op, 2 * 1000 * 1000, 0);
        t_arm(&tick);
        CHECK_EQ(cio_submit(loop, &tick.op), 0);
        run_until(loop, NULL, &tick.finals);
    }
}

static unsigned char *make_data(size_t len) {
    unsigned char *d = malloc(len);
    CHECK(d != NULL);
    for (size_t i = 0; i < len; i++) d[i] = byte_at(i + rnd());
    return d;
}

static void setup(cio_loop *loop, cio_fd fds[2], int type) {
    t_loop_init(loop, 64);
    on_mock = cio_loop_backend(loop) == CIO_BACKEND_MOCK;
    CHECK_EQ(cio_socket_pair(loop, type, fds), 0);
}

/* ---- the cases ---- */

static void case_stream(void) {
    cio_loop loop;
    cio_fd fds[2];
    setup(&loop, fds, SOCK_STREAM);
    const size_t len = on_mock ? 60000 : 300000;
    unsigned char *data = make_data(len);
    sink s;
    memset(&s, 0, sizeof s);
    CHECK_EQ(cio_bufpool_create(&loop, 8, 1000, &s.pool), 0);
    CHECK_EQ(cio_bufpool_available(s.pool), 8);
    s.rx = malloc(len);
    s.cap = len;
    s.put_back = true;
    sink_arm(&s, &loop, fds[0], true);
    peer p;
    peer_init(&p, &loop, fds[1], data, len, 3000);
    double end = t_seconds() + 20;
    while (!s.t.finals) {
        peer_pump(&p);
        if (p.sent == p.len && !p.sending) peer_close(&p);
        turn(&loop);
        CHECK(t_seconds() < end);
    }
    CHECK_EQ(s.t.finals, 1);
    CHECK_EQ(s.t.res, 0);
    CHECK(s.t.mores >= (int)(len / 1000));
    check_bytes(&s, data, len);
    CHECK_EQ(cio_bufpool_available(s.pool), 8);
    CHECK_EQ(cio_bufpool_destroy(s.pool), 0);
    close_op(&loop, fds[0]);
    t_close(&loop);
    free(s.rx);
    free(data);
    printf("stream: %d arrivals of %zu bytes\n", s.t.mores, len);
}

static void case_dry(void) {
    cio_loop loop;
    cio_fd fds[2];
    setup(&loop, fds, SOCK_STREAM);
    const size_t len = 4000;
    unsigned char *data = make_data(len);
    sink s;
    memset(&s, 0, sizeof s);
    CHECK_EQ(cio_bufpool_create(&loop, 4, 256, &s.pool), 0);
    s.rx = malloc(len);
    s.cap = len;
    peer p;
    peer_init(&p, &loop, fds[1], data, len, (uint32_t)len);
    peer_send_all(&p);
    sink_arm(&s, &loop, fds[0], true); /* the test keeps every buffer */
    run_until(&loop, NULL, &s.t.finals);
    CHECK_EQ(s.t.finals, 1);
    CHECK_EQ(s.t.res, -CIO_ENOBUFS);
    CHECK_EQ(s.t.mores, 4); /* one buffer each */
    CHECK_EQ(s.nmine, 4);
    CHECK_EQ(cio_bufpool_available(s.pool), 0);
    CHECK(s.got <= 4 * 256);
    CHECK_EQ(memcmp(s.rx, data, s.got), 0);

    /* Submitted on the dry pool: at once, and it takes nothing. */
    sink again = s;
    sink_arm(&again, &loop, fds[0], false);
    run_until(&loop, NULL, &again.t.finals);
    CHECK_EQ(again.t.res, -CIO_ENOBUFS);
    CHECK_EQ(again.got, s.got);

    /* Buffers back: a new multishot recv gets the rest, nothing lost. */
    sink_put_all(&s);
    CHECK_EQ(cio_bufpool_available(s.pool), 4);
    s.put_back = true;
    sink_arm(&s, &loop, fds[0], true);
    peer_close(&p);
    run_until(&loop, NULL, &s.t.finals);
    CHECK_EQ(s.t.res, 0);
    check_bytes(&s, data, len);
    CHECK_EQ(cio_bufpool_available(s.pool), 4);
    close_op(&loop, fds[0]);
    t_close(&loop); /* frees the pool */
    free(s.rx);
    free(data);
    printf("dry: ok\n");
}

/* One byte at a time, so that no backend can split a send. */
static void case_dry_waiting(void) {
    cio_loop loop;
    cio_fd fds[2];
    setup(&loop, fds, SOCK_STREAM);
    unsigned char *data = make_data(4);
    sink s;
    memset(&s, 0, sizeof s);
    CHECK_EQ(cio_bufpool_create(&loop, 2, 64, &s.pool), 0);
    s.rx = malloc(4);
    s.cap = 4;
    peer p;
    peer_init(&p, &loop, fds[1], data, 0, 1);
    sink_arm(&s, &loop, fds[0], true);
    idle(&loop);
    CHECK_EQ(s.t.mores, 0);
    for (int i = 1; i <= 2; i++) {
        p.len = (size_t)i;
        peer_send_all(&p);
        double end = t_seconds() + 10;
        while (s.t.mores < i && !s.t.finals) {
            turn(&loop);
            CHECK(t_seconds() < end);
        }
        CHECK_EQ(s.t.finals, 0);
    }
    /* Dry, with nothing queued: it waits. */
    CHECK_EQ(cio_bufpool_available(s.pool), 0);
    idle(&loop);
    if (s.t.finals) {
        fprintf(stderr, "a multishot recv on a dry pool ended (%s) with no data queued\n", cio_strerror(s.t.res));
        exit(1);
    }
    /* Another recv submitted on the dry pool ends at once, data or not. */
    sink dry = s;
    sink_arm(&dry, &loop, fds[0], false);
    run_until(&loop, NULL, &dry.t.finals);
    CHECK_EQ(dry.t.res, -CIO_ENOBUFS);
    CHECK_EQ(s.t.finals, 0);
    p.len = 4;
    peer_send_all(&p);
    run_until(&loop, NULL, &s.t.finals);
    CHECK_EQ(s.t.res, -CIO_ENOBUFS);
    CHECK_EQ(s.got, 2);
    sink_put_all(&s);
    s.put_back = true;
    while (s.got < 4) {
        sink_arm(&s, &loop, fds[0], false);
        run_until(&loop, NULL, &s.t.finals);
        CHECK(s.t.res > 0);
    }
    check_bytes(&s, data, 4);
    CHECK_EQ(cio_bufpool_available(s.pool), 2);
    peer_close(&p);
    close_op(&loop, fds[0]);
    CHECK_EQ(cio_bufpool_destroy(s.pool), 0);
    t_close(&loop);
    free(s.rx);
    free(data);
    printf("dry_waiting: ok\n");
}

static void case_oneshot(void) {
    cio_loop loop;
    cio_fd fds[2];
    setup(&loop, fds, SOCK_STREAM);
    unsigned char *data = make_data(350);
    sink s;
    memset(&s, 0, sizeof s);
    idle(&loop); /* a pool made once the loop has run (io_uring: the ring is bound to its thread) */
    CHECK_EQ(cio_bufpool_create(&loop, 4, 100, &s.pool), 0);
    s.rx = malloc(350);
    s.cap = 350;
    s.put_back = true;
    peer p;
    peer_init(&p, &loop, fds[1], data, 50, 50);
    sink_arm(&s, &loop, fds[0], false);
    idle(&loop);
    CHECK_EQ(s.t.finals, 0); /* waits for data */
    peer_send_all(&p);
    run_until(&loop, NULL, &s.t.finals);
    CHECK(s.t.res > 0 && s.t.res <= 50); /* the mock may split it */
    CHECK_EQ(s.t.mores, 0);
    while (s.got < 50) {
        sink_arm(&s, &loop, fds[0], false);
        run_until(&loop, NULL, &s.t.finals);
        CHECK(s.t.res > 0);
    }
    CHECK_EQ(s.got, 50);
    p.len = 350;
    peer_send_all(&p);
    /* 300 bytes queued: each recv takes at most a buffer's 100. */
    while (s.got < 350) {
        sink_arm(&s, &loop, fds[0], false);
        run_until(&loop, NULL, &s.t.finals);
        CHECK(s.t.res > 0 && s.t.res <= 100);
    }
    check_bytes(&s, data, 350);
    peer_close(&p);
    sink_arm(&s, &loop, fds[0], false);
    run_until(&loop, NULL, &s.t.finals);
    CHECK_EQ(s.t.res, 0);
    CHECK_EQ(cio_bufpool_available(s.pool), 4);
    close_op(&loop, fds[0]);
    CHECK_EQ(cio_bufpool_destroy(s.pool), 0);
    t_close(&loop);
    free(s.rx);
    free(data);
    printf("oneshot: ok\n");
}

/* Cancel (how 0), close of the handle (1), loop close (2) during a
 * multishot recv that has delivered data. */
static void case_stop(int how) {
    static const char *const names[] = {"cancel", "close", "loop_close"};
    cio_loop loop;
    cio_fd fds[2];
    setup(&loop, fds, SOCK_STREAM);
    if (how == 2 && on_mock) {
        /* The recv must still wait on its handle at the close, and the
         * mock reports a simulated handle left open then as a leak. */
        printf("SKIP bufpool.mock/loop_close: the mock counts the open handle as a leak\n");
        close_op(&loop, fds[0]);
        close_op(&loop, fds[1]);
        t_close(&loop);
        return;
    }
    unsigned char *data = make_data(100);
    sink s;
    memset(&s, 0, sizeof s);
    CHECK_EQ(cio_bufpool_create(&loop, 4, 64, &s.pool), 0);
    s.rx = malloc(100);
    s.cap = 100;
    s.put_back = true;
    s.destroy_at_end = how == 0;
    s.destroyed = 1;
    peer p;
    peer_init(&p, &loop, fds[1], data, 40, 40);
    sink_arm(&s, &loop, fds[0], true);
    peer_send_all(&p);
    double end = t_seconds() + 10;
    while (s.got < 40) {
        turn(&loop);
        CHECK(t_seconds() < end);
    }
    CHECK_EQ(s.t.finals, 0);
    CHECK_EQ(cio_bufpool_destroy(s.pool), -CIO_EBUSY);
    if (how == 0) {
        CHECK_EQ(cio_cancel(&loop, &s.t.op), 0);
        run_until(&loop, NULL, &s.t.finals);
        CHECK_EQ(s.destroyed, 0); /* from the final callback: no op uses it any more */
        close_op(&loop, fds[0]);
    } else if (how == 1) {
        t_op c;
        cio_prep_close(&c.op, fds[0]);
        t_arm(&c);
        CHECK_EQ(cio_submit(&loop, &c.op), 0);
        run_until(&loop, NULL, &c.finals);
        CHECK_EQ(c.res, 0);
        CHECK_EQ(s.t.finals, 1);
        CHECK(s.t.order < c.order); /* the recv's end before the close's */
        CHECK_EQ(cio_bufpool_destroy(s.pool), 0);
    }
    if (how == 2) {
        t_close(&loop); /* ends the recv, then frees the pool */
    }
    CHECK_EQ(s.t.finals, 1);
    CHECK_EQ(s.t.res, -CIO_ECANCELED);
    check_bytes(&s, data, 40);
    peer_close(&p);
    if (how == 2) {
        if (!on_mock) CHECK_EQ(t_close_handle(fds[0]), 0);
    } else {
        t_close(&loop);
    }
    free(s.rx);
    free(data);
    printf("%s: ok\n", names[how]);
}

static cio_bufpool *task_pool;
static cio_fd task_fd;
static const unsigned char *task_data;
static int task_result;

static intptr_t task_main(void *arg) {
    (void)arg;
    size_t got = 0;
    while (got < 30) { /* the mock may split it */
        uint32_t id = UINT32_MAX;
        int32_t n = cio_recv_pool(task_fd, task_pool, 0, &id);
        CHECK(n > 0 && (size_t)n <= 30 - got);
        CHECK(id < 4);
        CHECK_EQ(memcmp(cio_bufpool_buf(task_pool, id), task_data + got, (size_t)n), 0);
        CHECK_EQ(cio_bufpool_available(task_pool), 3);
        CHECK_EQ(cio_bufpool_put(task_pool, id), 0);
        got += (size_t)n;
    }
    uint32_t id = 99;
    CHECK_EQ(cio_recv_pool(task_fd, NULL, 0, &id), -CIO_EINVAL);
    CHECK_EQ(id, 99);
    task_result = 7;
    return 7;
}

static void case_task(void) {
    cio_loop loop;
    cio_fd fds[2];
    setup(&loop, fds, SOCK_STREAM);
    unsigned char *data = make_data(30);
    task_data = data;
    task_fd = fds[0];
    CHECK_EQ(cio_bufpool_create(&loop, 4, 64, &task_pool), 0);
    uint32_t id;
    CHECK_EQ(cio_recv_pool(fds[0], task_pool, 0, &id), -CIO_EPERM); /* outside a task */
    peer p;
    peer_init(&p, &loop, fds[1], data, 30, 30);
    peer_send_all(&p);
    cio_task *t;
    CHECK_EQ(cio_task_spawn(&loop, task_main, NULL, NULL, &t), 0);
    CHECK_EQ(cio_task_detach(t), 0);
    t_run(&loop, 10);
    CHECK_EQ(task_result, 7);
    CHECK_EQ(cio_bufpool_available(task_pool), 4);
    peer_close(&p);
    close_op(&loop, fds[0]);
    t_close(&loop);
    free(data);
    printf("task: ok\n");
}

static void case_dgram(void) {
    cio_loop loop;
    cio_fd fds[2];
    setup(&loop, fds, SOCK_DGRAM);
    if (!on_mock) CHECK_EQ(t_set_nonblock(fds[1], 1), 0);
    unsigned char *data = make_data(40);
    sink s;
    memset(&s, 0, sizeof s);
    CHECK_EQ(cio_bufpool_create(&loop, 4, 16, &s.pool), 0);
    s.rx = malloc(64);
    s.cap = 64;
    s.put_back = true;
    static const uint32_t sizes[] = {10, 20, 5};
    static const int32_t want[] = {10, 16, 5};
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        if (on_mock) {
            t_op snd;
            cio_prep_send(&snd.op, fds[1], data + at, sizes[i], 0);
            t_arm(&snd);
            CHECK_EQ(cio_submit(&loop, &snd.op), 0);
            run_until(&loop, NULL, &snd.finals);
            CHECK_EQ(snd.res, (int32_t)sizes[i]);
        } else {
            CHECK_EQ(t_sys_send(fds[1], data + at, sizes[i], 0), (long long)sizes[i]);
        }
        at += sizes[i];
    }
    at = 0;
    for (int i = 0; i < 3; i++) {
        size_t before = s.got;
        sink_arm(&s, &loop, fds[0], false);
        run_until(&loop, NULL, &s.t.finals);
        CHECK_EQ(s.t.res, want[i]);
        CHECK_EQ(memcmp(s.rx + before, data + at, (size_t)want[i]), 0);
        at += sizes[i];
    }
    close_op(&loop, fds[0]);
    if (on_mock)
        close_op(&loop, fds[1]);
    else
        CHECK_EQ(t_close_handle(fds[1]), 0);
    t_close(&loop);
    free(s.rx);
    free(data);
    printf("dgram: ok\n");
}

static void case_bad_input(void) {
    cio_loop loop;
    cio_fd fds[2];
    setup(&loop, fds, SOCK_STREAM);
    cio_bufpool *p = NULL, *other = NULL;
    CHECK_EQ(cio_bufpool_create(&loop, 3, 64, &p), -CIO_EINVAL);
    CHECK_EQ(cio_bufpool_create(&loop, 0, 64, &p), -CIO_EINVAL);
    CHECK_EQ(cio_bufpool_create(&loop, 65536, 64, &p), -CIO_EINVAL);
    CHECK_EQ(cio_bufpool_create(&loop, 4, 0, &p), -CIO_EINVAL);
    CHECK_EQ(cio_bufpool_create(NULL, 4, 64, &p), -CIO_EINVAL);
    CHECK_EQ(cio_bufpool_create(&loop, 4, 64, NULL), -CIO_EINVAL);
    CHECK(p == NULL);
    CHECK_EQ(cio_bufpool_create(&loop, 1, 1, &p), 0);
    CHECK_EQ(cio_bufpool_count(p), 1);
    CHECK_EQ(cio_bufpool_size(p), 1);
    CHECK(cio_bufpool_buf(p, 0) != NULL);
    CHECK(cio_bufpool_buf(p, 1) == NULL);
    CHECK_EQ(cio_bufpool_put(p, 0), -CIO_EALREADY); /* never handed out */
    CHECK_EQ(cio_bufpool_put(p, 1), -CIO_EINVAL);
    CHECK_EQ(cio_bufpool_put(NULL, 0), -CIO_EINVAL);
    CHECK_EQ(cio_bufpool_destroy(NULL), -CIO_EINVAL);

    cio_op op;
    cio_prep_recv_pool(&op, fds[0], NULL, 0);
    CHECK_EQ(cio_submit(&loop, &op), -CIO_EINVAL);
    cio_prep_recv_pool(&op, fds[0], p, CIO_MSG_PEEK);
    CHECK_EQ(cio_submit(&loop, &op), -CIO_EINVAL);
    /* A pool of another loop. */
    cio_loop loop2;
    t_loop_init(&loop2, 16);
    CHECK_EQ(cio_bufpool_create(&loop2, 2, 8, &other), 0);
    cio_prep_recv_pool(&op, fds[0], other, 0);
    CHECK_EQ(cio_submit(&loop, &op), -CIO_EINVAL);
    t_close(&loop2); /* frees `other` */
    /* Multishot stays refused for a plain recv. */
    char b[4];
    cio_prep_recv(&op, fds[0], b, sizeof b, 0);
    op.flags = CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(&loop, &op), -CIO_EINVAL);
    CHECK_EQ(cio_bufpool_destroy(p), 0);
    close_op(&loop, fds[0]);
    close_op(&loop, fds[1]);
    t_close(&loop);
    printf("bad_input: ok\n");
}

int main(int argc, char **argv) {
    /* One case by name (for debugging), else all. */
    const char *only = argc > 1 ? argv[1] : NULL;
#define RUN(name, call)                                  \
    do {                                                 \
        if (!only || strcmp(only, name) == 0) call;      \
    } while (0)
    RUN("bad_input", case_bad_input());
    RUN("oneshot", case_oneshot());
    RUN("stream", case_stream());
    RUN("dry", case_dry());
    RUN("dry_waiting", case_dry_waiting());
    RUN("cancel", case_stop(0));
    RUN("close", case_stop(1));
    RUN("loop_close", case_stop(2));
    RUN("task", case_task());
    RUN("dgram", case_dgram());
    printf("bufpool: ok\n");
    return 0;
}
