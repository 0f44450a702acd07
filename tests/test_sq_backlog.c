/* Ops and cancels that find the submission queue full wait their turn: no
 * op may complete with -CIO_EAGAIN that it did not get from its own system
 * call, and every op completes exactly once.
 *
 * - A one-entry ring with ops that carry deadlines (on io_uring an op and
 *   its deadline take two entries at once).
 * - A four-entry ring filled before the loop first runs, from the thread
 *   that set it up, then run by another thread (a loop may be handed over
 *   before its first run): cio may not enter the kernel before the run to
 *   make room. Some of those ops are cancelled before the run, by
 *   cio_cancel and by CIO_OP_CANCEL ops, and some cancels target ops that
 *   reached the kernel.
 * - The same, closed without ever running.
 * - A four-entry ring where each completion submits more ops from its
 *   callback, 30,000 in all.
 *
 * Ops that cannot return EAGAIN: nops, timers with deadlines, reads of a
 * regular file (bytes checked against what was written), recvs on a
 * socketpair fed with plain write().
 * CIO_TEST_PORTABLE: the regular file is read by several loops one after the other. */
#include "fs_util.h"

#if !defined(_WIN32)
#include <sys/socket.h>
#endif

static const uint64_t ms = 1000000;
static char content[4096];
static cio_fd file_fd;

enum kind { K_NOP, K_READ, K_TIMER, K_RECV, K_COUNT };

typedef struct item {
    t_op t;
    enum kind kind;
    char buf[16];
    uint32_t off;
    int cancelled; /* a cancel was asked for before it could complete */
} item;

static void prep_item(cio_loop *loop, item *it, enum kind kind, int i, cio_fd recv_fd, bool deadline) {
    it->kind = kind;
    it->cancelled = 0;
    it->off = (uint32_t)(i * 7) % (sizeof content - sizeof it->buf);
    switch (kind) {
    case K_NOP:
        cio_prep_nop(&it->t.op);
        break;
    case K_READ:
        cio_prep_read(&it->t.op, file_fd, it->buf, sizeof it->buf, it->off);
        break;
    case K_TIMER:
        cio_prep_timeout(&it->t.op, (uint64_t)(i % 3) * ms, 0);
        break;
    default:
        cio_prep_recv(&it->t.op, recv_fd, it->buf, 1, 0);
        break;
    }
    t_arm(&it->t);
    if (deadline) it->t.op.deadline = cio_now(loop) + 60000 * ms;
}

static void check_item(const item *it, const char *where, int i) {
    if (it->t.finals != 1 || it->t.res == -CIO_EAGAIN)
        fprintf(stderr, "%s: op %d (kind %d): %d finals, result %d\n", where, i, it->kind, it->t.finals, it->t.res);
    CHECK_EQ(it->t.finals, 1);
    if (it->cancelled && it->t.res == -CIO_ECANCELED) return;
    switch (it->kind) {
    case K_NOP:
    case K_TIMER:
        CHECK_EQ(it->t.res, 0);
        break;
    case K_READ:
        CHECK_EQ(it->t.res, (int32_t)sizeof it->buf);
        CHECK(memcmp(it->buf, content + it->off, sizeof it->buf) == 0);
        break;
    default:
        CHECK_EQ(it->t.res, 1);
        break;
    }
}

/* ---- a one-entry ring, ops with deadlines ---- */
static void tiny_ring(void) {
    cio_loop loop;
    t_loop_init(&loop, 1);
    enum { N = 300 };
    static item it[N];
    for (int i = 0; i < N; i++) {
        prep_item(&loop, &it[i], (enum kind)(i % 3), i, -1, true);
        CHECK_EQ(cio_submit(&loop, &it[i].t.op), 0);
    }
    t_run(&loop, 20);
    for (int i = 0; i < N; i++) check_item(&it[i], "one-entry ring", i);
    t_close(&loop);
}

/* ---- filled before the first run, run on another thread ---- */
enum { PRE = 400 };
static item pre[PRE];
static t_op cancels[PRE];
static cio_fd sv[2];

static void fill_before_run(cio_loop *loop) {
    CHECK_EQ(t_socketpair(sv), 0);
    int ncancel = 0;
    for (int i = 0; i < PRE; i++) {
        prep_item(loop, &pre[i], (enum kind)(i % K_COUNT), i, sv[0], i % 2);
        CHECK_EQ(cio_submit(loop, &pre[i].t.op), 0);
        /* Cancel some, early ones (which found room) and queued ones alike,
         * half by cio_cancel, half by a CIO_OP_CANCEL op. */
        if (i % 5 == 3) {
            pre[i].cancelled = 1;
            if (i % 2) {
                /* -CIO_ENOENT: done at submission already (a cached file
                 * read on epoll and poll: readiness.c's RWF_NOWAIT try). */
                int r = cio_cancel(loop, &pre[i].t.op);
                CHECK(r == 0 || (r == -CIO_ENOENT && pre[i].kind == K_READ));
            } else {
                cio_prep_cancel(&cancels[ncancel].op, &pre[i].t.op);
                t_arm(&cancels[ncancel]);
                CHECK_EQ(cio_submit(loop, &cancels[ncancel].op), 0);
                ncancel++;
            }
        }
    }
}

static void *run_loop(void *arg) {
    cio_loop *loop = arg;
    /* Feed the recvs that were not cancelled: one byte each. */
    int nrecv = 0;
    for (int i = 0; i < PRE; i++)
        if (pre[i].kind == K_RECV && !pre[i].cancelled) nrecv++;
    char *bytes = calloc((size_t)nrecv, 1);
    CHECK(bytes != NULL);
    CHECK_EQ(t_sys_write(sv[1], bytes, (size_t)nrecv), nrecv);
    free(bytes);
    t_run(loop, 20);
    return NULL;
}

static void handed_over(void) {
    cio_loop loop;
    t_loop_init(&loop, 4);
    fill_before_run(&loop);
    t_thread th;
    CHECK_EQ(t_thread_start(&th, run_loop, &loop), 0);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    int recv_done = 0;
    for (int i = 0; i < PRE; i++) {
        check_item(&pre[i], "handed over", i);
        if (pre[i].kind == K_RECV && pre[i].t.res == 1) recv_done++;
    }
    for (int i = 0; i < PRE / 10; i++) {
        CHECK_EQ(cancels[i].finals, 1);
        CHECK(cancels[i].res == 0 || cancels[i].res == -CIO_EALREADY || cancels[i].res == -CIO_ENOENT);
    }
    CHECK(recv_done > 0);
    t_close(&loop);
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);
}

static void closed_unrun(void) {
    cio_loop loop;
    t_loop_init(&loop, 4);
    fill_before_run(&loop);
    t_close(&loop);
    for (int i = 0; i < PRE; i++) {
        CHECK_EQ(pre[i].t.finals, 1);
        CHECK(pre[i].t.res != -CIO_EAGAIN);
    }
    for (int i = 0; i < PRE / 10; i++) CHECK_EQ(cancels[i].finals, 1);
    CHECK_EQ(t_close_handle(sv[0]), 0);
    CHECK_EQ(t_close_handle(sv[1]), 0);
}

/* ---- callbacks that submit more during the reap ---- */
enum { STORM = 30000, SLOTS = 64 };
static item storm[SLOTS];
static int storm_submitted, storm_done;
static cio_loop *storm_loop;

static void storm_cb(cio_loop *loop, cio_op *op);

static void storm_submit(item *it) {
    int i = storm_submitted++;
    prep_item(storm_loop, it, (enum kind)(i % 3), i, -1, i % 2);
    it->t.op.cb = storm_cb;
    CHECK_EQ(cio_submit(storm_loop, &it->t.op), 0);
}

static void storm_cb(cio_loop *loop, cio_op *op) {
    (void)loop;
    item *it = (item *)(void *)op;
    t_cb(loop, op);
    check_item(it, "storm", (int)(it - storm));
    storm_done++;
    if (storm_submitted < STORM) storm_submit(it);
}

static void callback_storm(void) {
    cio_loop loop;
    t_loop_init(&loop, 4);
    storm_loop = &loop;
    for (int i = 0; i < SLOTS; i++) storm_submit(&storm[i]);
    t_run(&loop, 30);
    CHECK_EQ(storm_done, STORM);
    t_close(&loop);
}

int main(void) {
    const char *dir = fs_mkdtemp();
    char path[128];
    fs_path(path, sizeof path, dir, "data");
    for (size_t i = 0; i < sizeof content; i++) content[i] = (char)(i * 131 + 7);
    file_fd = t_sys_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(file_fd != T_FD_NONE);
    CHECK_EQ(t_sys_pwrite(file_fd, content, sizeof content, 0), (long long)sizeof content);
    tiny_ring();
    handed_over();
    closed_unrun();
    callback_storm();
    CHECK_EQ(t_close_handle(file_fd), 0);
    puts("sq_backlog: ok");
    return 0;
}
