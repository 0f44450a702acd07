/*
 * A slow reader: cio sends 8 MiB in large sends (each asks for all that is
 * left, and the rest is resubmitted after a short send) to a plain-socket
 * peer that first reads in small chunks with pauses, then quickly. The
 * peer checks every byte against the pattern (order, no loss, no repeat)
 * and that the stream ends where cio's shutdown says; every send completes
 * exactly once. In callback style and in task style, on every backend.
 */
/* The peers run on threads of their own (rude.h's pthread_create): this
 * names it for tests/CMakeLists.txt, which labels such tests "threads". *
 * CIO_TEST_PORTABLE
 */
#include "rude.h"

enum { TOTAL = 8 << 20, SLOW_PART = 256 << 10, SLOW_CHUNK = 1024 };

static void check_peer(const rude_peer *p) {
    CHECK_EQ(p->err, 0);
    CHECK_EQ(p->bad_at, (size_t)-1);
    CHECK_EQ(p->got, TOTAL);
    CHECK_EQ(p->eof, 1);
}

/* ---- callback style ---- */

typedef struct sender {
    t_op t; /* first: the callback gets &t.op */
    cio_fd fd;
    const uint8_t *data;
    uint32_t asked;
    size_t done;
    unsigned submits, completions, partial;
    int32_t error;
} sender;

static void on_sent(cio_loop *loop, cio_op *op);

static void send_rest(cio_loop *loop, sender *s) {
    s->asked = (uint32_t)(TOTAL - s->done);
    cio_prep_send(&s->t.op, s->fd, s->data + s->done, s->asked, MSG_NOSIGNAL);
    s->t.op.cb = on_sent;
    CHECK_EQ(cio_submit(loop, &s->t.op), 0);
    s->submits++;
}

static void on_sent(cio_loop *loop, cio_op *op) {
    sender *s = (sender *)op;
    CHECK_EQ(op->flags & CIO_F_MORE, 0);
    s->completions++;
    CHECK_EQ(s->completions, s->submits); /* once each, never ahead */
    if (op->res <= 0) {
        s->error = op->res ? op->res : -CIO_EIO;
        return;
    }
    CHECK((uint32_t)op->res <= s->asked);
    if ((uint32_t)op->res < s->asked) s->partial++;
    s->done += (size_t)op->res;
    if (s->done < TOTAL) send_rest(loop, s);
}

static void callback_style(cio_loop *loop, const uint8_t *data) {
    cio_fd s, p;
    /* Small buffers on both sides: 8 MiB cannot go in one send. */
    rude_pair(loop, &s, &p, 64 << 10);
    int small = 64 << 10;
    CHECK_EQ(t_setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    rude_peer peer = {.rx_seed = 7, .chunk = SLOW_CHUNK, .slow_until = SLOW_PART, .pause_ms = 1};
    rude_peer_start(&peer, p, rude_peer_recv_all);

    sender snd;
    memset(&snd, 0, sizeof snd);
    snd.fd = s;
    snd.data = data;
    send_rest(loop, &snd);
    double end = t_seconds() + 20;
    while (snd.done < TOTAL && snd.error == 0) {
        CHECK(cio_loop_run(loop, CIO_RUN_ONCE) >= 0);
        if (t_seconds() > end) {
            fprintf(stderr, "slow reader: stuck after %zu of %d bytes\n", snd.done, TOTAL);
            exit(1);
        }
    }
    CHECK_EQ(snd.error, 0);
    CHECK_EQ(snd.done, TOTAL);
    CHECK_EQ(snd.completions, snd.submits);
    /* An overlapped WSASend completes whole (Windows holds the whole buffer):
     * no partial send there to go on from. */
    if (!t_on_windows()) CHECK(snd.partial >= 1);
    t_op t;
    cio_prep_shutdown(&t.op, s, SHUT_WR);
    CHECK_EQ(net_do(loop, &t), 0);
    rude_peer_join(&peer);
    check_peer(&peer);
    net_settle(loop);
    CHECK_EQ(snd.completions, snd.submits);
    printf("callbacks: %u sends (%u short)\n", snd.submits, snd.partial);
    CHECK_EQ(t_close_handle(s), 0);
    CHECK_EQ(t_close_handle(p), 0);
}

/* ---- task style ---- */

typedef struct task_arg {
    cio_fd fd;
    const uint8_t *data;
    unsigned sends, partial;
    int done;
} task_arg;

static intptr_t task_sender(void *arg) {
    task_arg *a = arg;
    size_t off = 0;
    for (int i = 0; i < 1000000 && off < TOTAL; i++) {
        uint32_t ask = (uint32_t)(TOTAL - off);
        int32_t r = cio_send(a->fd, a->data + off, ask, 0);
        a->sends++;
        CHECK(r > 0 && (uint32_t)r <= ask);
        if ((uint32_t)r < ask) a->partial++;
        off += (size_t)r;
    }
    CHECK_EQ(off, TOTAL);
    CHECK_EQ(cio_shutdown(a->fd, SHUT_WR), 0);
    a->done = 1;
    return 0;
}

static void task_style(cio_loop *loop, const uint8_t *data) {
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0); /* default buffers this time */
    rude_peer peer = {.rx_seed = 7, .chunk = SLOW_CHUNK, .slow_until = SLOW_PART, .pause_ms = 1};
    rude_peer_start(&peer, p, rude_peer_recv_all);
    task_arg a = {.fd = s, .data = data};
    cio_task_options det = {.detached = true};
    CHECK_EQ(cio_task_spawn(loop, task_sender, &a, &det, NULL), 0);
    t_run_until(loop, &a.done, 20);
    t_run(loop, 5);
    rude_peer_join(&peer);
    check_peer(&peer);
    printf("task: %u sends (%u short)\n", a.sends, a.partial);
    CHECK_EQ(t_close_handle(s), 0);
    CHECK_EQ(t_close_handle(p), 0);
}

int main(void) {
    uint8_t *data = malloc(TOTAL);
    CHECK(data != NULL);
    rude_fill(data, TOTAL, 7, 0);
    rude_warm_up();
    int fds_before = rude_fd_count();

    cio_loop loop;
    t_loop_init(&loop, 64);
    net_watchdog(30);
    callback_style(&loop, data);
    net_close_loop(&loop);

    t_loop_init(&loop, 64);
    task_style(&loop, data);
    CHECK_EQ(cio_loop_active(&loop), 0);
    t_close(&loop);

    CHECK_EQ(rude_fd_count(), fds_before);
    free(data);
    printf("rude slow reader: ok\n");
    return 0;
}
