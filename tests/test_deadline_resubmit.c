/* Re-submission with deadlines (the README idiom: the callback prepares and
 * submits the same op struct again). An op's deadline must never reach the
 * op submitted next on the same struct: on io_uring the deadline is a link
 * timeout that cancels by tag, and the kernel may act on it after the op
 * completed and was submitted anew.
 *
 * Eight recvs on eight socketpairs, each re-submitted from its callback,
 * 64,000 completions in all. A peer thread writes a byte sequence with
 * plain write() at about the pace of the deadlines, so that deadlines fire
 * just before, just after and while data arrives. Every result must be
 * data (the bytes continue the sequence) or -CIO_ETIMEDOUT at or after the
 * op's own deadline (CLOCK_MONOTONIC, which cio_now() also reads); nobody
 * cancels anything, so -CIO_ECANCELED must never appear. Every other
 * submission carries no deadline at all: a stale cancel then shows as
 * -CIO_ECANCELED.
 * CIO_TEST_PORTABLE.
 */
#include "test.h"

#include <errno.h>
#include <stdatomic.h>

enum { PAIRS = 8, TOTAL = 64000 };

typedef struct conn {
    cio_op op;
    cio_fd fd;         /* cio's end */
    cio_fd peer;       /* the writer's end */
    uint8_t expect;    /* next byte of the sequence */
    uint64_t deadline; /* of the op in flight, 0 = none */
    unsigned n;        /* submissions so far */
    char buf[64];
} conn;

static conn conns[PAIRS];
/* Completions to run: TOTAL, or an eighth under Wine, where each op is a few
 * round trips to the wineserver (the whole of TOTAL takes minutes there). */
static long total = TOTAL;
static long submitted, done, data_results, timeouts, bad;
static atomic_int stop_writer;
static uint32_t rng = 12345;

static uint32_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* CLOCK_MONOTONIC (QueryPerformanceCounter on Windows), read directly. */
static uint64_t mono_ns(void) { return t_now_ns(); }

static void on_recv(cio_loop *loop, cio_op *op);

static void arm(cio_loop *loop, conn *c) {
    cio_prep_recv(&c->op, c->fd, c->buf, sizeof c->buf, 0);
    c->op.cb = on_recv;
    c->op.data = c;
    /* Every other op has a deadline 10..140 us away: about the writer's pace. */
    c->deadline = (c->n++ & 1) ? 0 : mono_ns() + 10000 + next_rand() % 130000;
    c->op.deadline = c->deadline;
    CHECK_EQ(cio_submit(loop, &c->op), 0);
    submitted++;
}

static void on_recv(cio_loop *loop, cio_op *op) {
    conn *c = op->data;
    uint64_t now = mono_ns();
    done++;
    if (op->res > 0) {
        for (int i = 0; i < op->res; i++) {
            if ((uint8_t)c->buf[i] != c->expect) {
                fprintf(stderr, "pair %d: byte %u, expected %u\n", (int)(c - conns), (uint8_t)c->buf[i],
                        c->expect);
                exit(1);
            }
            c->expect++;
        }
        data_results++;
    } else if (op->res == -CIO_ETIMEDOUT && c->deadline && now >= c->deadline) {
        timeouts++;
    } else {
        if (bad < 10)
            fprintf(stderr, "pair %d: result %d (%s), deadline %s, %lld ns after it\n", (int)(c - conns), op->res,
                    cio_strerror(op->res), c->deadline ? "set" : "none",
                    c->deadline ? (long long)(now - c->deadline) : 0LL);
        bad++;
    }
    if (submitted < total) arm(loop, c);
}

static void *writer(void *arg) {
    (void)arg;
    uint8_t seq[PAIRS] = {0};
    uint32_t r = 777;
    while (!atomic_load(&stop_writer)) {
        for (int i = 0; i < PAIRS; i++) {
            r ^= r << 13, r ^= r >> 17, r ^= r << 5;
            if (r % 3 == 0) continue;
            char b[3];
            int n = 1 + (int)(r % 3);
            for (int k = 0; k < n; k++) b[k] = (char)(seq[i] + k);
            long long w = t_sys_write(conns[i].peer, b, (size_t)n);
            if (w > 0) seq[i] = (uint8_t)(seq[i] + w);
            else if (w < 0 && w != -EAGAIN) return NULL;
        }
        t_sleep_us(20);
    }
    return NULL;
}

int main(void) {
    if (t_under_wine()) total = TOTAL / 8;
    cio_loop loop;
    t_loop_init(&loop, 64);
    for (int i = 0; i < PAIRS; i++) {
        cio_fd sv[2];
        CHECK_EQ(t_socketpair(sv), 0);
        conns[i].fd = sv[0];
        conns[i].peer = sv[1];
        CHECK_EQ(t_set_nonblock(sv[1], 1), 0); /* the writer never blocks on a full buffer */
    }
    t_thread th;
    CHECK_EQ(t_thread_start(&th, writer, NULL), 0);
    for (int i = 0; i < PAIRS; i++) arm(&loop, &conns[i]);
    t_run(&loop, 60);
    atomic_store(&stop_writer, 1);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    printf("deadline_resubmit: %ld completions, %ld with data, %ld timeouts, %ld wrong\n", done, data_results,
           timeouts, bad);
    CHECK_EQ(done, total);
    CHECK_EQ(bad, 0);
    CHECK(data_results > 0);
    CHECK(timeouts > 0);
    for (int i = 0; i < PAIRS; i++) {
        t_close_handle(conns[i].fd);
        t_close_handle(conns[i].peer);
    }
    t_close(&loop);
    puts("deadline_resubmit: ok");
    return 0;
}
