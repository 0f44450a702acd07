/*
 * Seeded random op sequences (issue 7: thousands of ops, every one
 * completing exactly once). Slots of ops run receives, sends, recvmsg and
 * sendmsg (some with MSG_WAITALL), polls (one-shot and multishot), reads and
 * writes on socketpairs and pipes, timers and no-ops, some of them as linked
 * pairs (a send, then a receive of it at the other end); from their
 * callbacks they cancel random in-flight ops (cio_cancel and CIO_OP_CANCEL),
 * close handles through cio while ops are pending on them, and submit
 * again, until a budget of submissions is spent. Then the loop must drain,
 * and close with nothing active.
 *
 * Oracles: per-op counters (each submission has exactly one final
 * completion, none after a final, CIO_F_MORE only on multishot ops), result
 * ranges checked against the op's own arguments, -CIO_ECANCELED only for an
 * op someone cancelled, whose handle was closed or whose chain broke,
 * -CIO_ETIMEDOUT only once CLOCK_MONOTONIC has passed the op's deadline,
 * link order and rules (the second op of a pair ends after the first, and
 * is cancelled exactly when a soft link's first op fails or falls short),
 * and byte conservation on every handle pair that was never closed: what
 * sends and writes report sent equals what receives and reads report
 * received plus what plain read(2) drains at the end.
 *
 * Usage: test_random_ops [seed [ops]]; or CIO_TEST_SEED / CIO_TEST_OPS. The
 * seed is printed first. What a slot submits the k-th time (opcodes,
 * handles, lengths, flags, deadlines, links, whom it cancels or closes) is a
 * function of (seed, slot, k) alone; whether a target is still in flight or
 * a handle still open when the callback looks depends on the backend's
 * timing.
 *
 * CIO_TEST_PORTABLE: on Windows the socket pairs are loopback TCP and the
 * pipes overlapped named pipes (port.h).
 */
#include "test.h"

#include <errno.h>

#define NSLOT 64
#define NRES 9 /* 6 socketpairs, 3 pipes */
#define NPIPE 3
#define MAXLEN 8192
#define MS 1000000ull

enum kind { K_NOP, K_TIMEOUT, K_RECV, K_SEND, K_READ, K_WRITE, K_RECVMSG, K_SENDMSG, K_POLL, K_MPOLL, K_CANCEL, K_COUNT };
static const char *const kind_name[] = {"nop",     "timeout", "recv", "send",  "read",  "write",
                                        "recvmsg", "sendmsg", "poll", "mpoll", "cancel"};

/* Ops on a handle, and among them the ones that send. */
static bool on_handle(enum kind k) { return k >= K_RECV && k <= K_MPOLL; }
static bool sends(enum kind k) { return k == K_SEND || k == K_WRITE || k == K_SENDMSG; }

static uint64_t clock_ns(void) { return t_now_ns(); }

/* A pair of handles: ends[0] -> ends[1] and back for a socketpair; a pipe
 * has a read end [0] and a write end [1]. */
typedef struct res {
    cio_fd fd[2];    /* T_FD_NONE once a close was submitted */
    int is_pipe;
    int tainted;     /* an end was closed: bytes in flight were lost */
    uint64_t sent[2], rcvd[2]; /* by direction: [d] is bytes written at end d */
    cio_op close_op[2];
    int close_inflight[2];
    int incarnation;
} res;

/* One op of a slot and what the test knows of it. */
typedef struct xop {
    cio_op op;
    enum kind kind;
    int inflight;
    int r, end;        /* resource and end it works on */
    int dir;           /* the byte direction it moves (sends: end; receives: the other end) */
    int incarnation;   /* of the resource, when submitted */
    uint32_t len;
    unsigned cancel_k; /* the submission a cancel was asked for */
    unsigned closed_k; /* the submission whose handle was closed through cio */
    uint64_t order;    /* when its final completion came */
    cio_iovec iov[3];
    cio_msghdr mh;
    char buf[MAXLEN];
} xop;

typedef struct slot {
    xop a, b;   /* b: the second op of a linked pair, if any */
    cio_op aux; /* a timer that cancels a multishot poll */
    uint64_t rng;
    unsigned k;         /* submissions so far */
    int aux_inflight;
    unsigned aux_for;   /* which submission the aux timer guards */
    int linked;         /* 0, CIO_F_LINK or CIO_F_HARDLINK */
} slot;

static slot slots[NSLOT];
static res rs[NRES];
static char src[MAXLEN];
static uint64_t seed, order_seq;
static long budget, submitted, finals, mores, pairs_linked;
static long by_kind[K_COUNT], canc_calls, closes;
static cio_loop loop;

static int slot_of(const slot *s) { return (int)(s - slots); }

static void fail(const char *what, const slot *s, const xop *x) {
    fprintf(stderr, "random_ops seed %llu: slot %d%s (%s, submission %u, res %d): %s\n", (unsigned long long)seed,
            slot_of(s), x == &s->b ? " second op" : "", kind_name[x->kind], s->k, x->op.res, what);
    exit(1);
}

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned pick(slot *s, unsigned n) { return (unsigned)(splitmix(&s->rng) % n); }

static void make_res(int r) {
    res *x = &rs[r];
    cio_fd fds[2];
    x->is_pipe = r >= NRES - NPIPE;
    if (x->is_pipe)
        CHECK_EQ(t_pipe(fds), 0);
    else
        CHECK_EQ(t_socketpair(fds), 0);
    x->fd[0] = fds[0];
    x->fd[1] = fds[1];
    x->tainted = 0;
    x->sent[0] = x->sent[1] = x->rcvd[0] = x->rcvd[1] = 0;
    x->incarnation++;
}

static void close_cb(cio_loop *l, cio_op *op);

static void mark_closed(xop *x, unsigned k, int r, int end) {
    if (x->inflight && on_handle(x->kind) && x->r == r && x->end == end && x->incarnation == rs[r].incarnation)
        x->closed_k = k;
}

static void close_end(int r, int end) {
    res *x = &rs[r];
    if (x->fd[end] == T_FD_NONE || x->close_inflight[end]) return;
    /* Not under an op still waiting for its link: it would start later on
     * a closed descriptor (whose number may be another pair's by then). */
    for (int i = 0; i < NSLOT; i++) {
        const xop *b = &slots[i].b;
        if (b->inflight && on_handle(b->kind) && b->r == r && b->end == end) return;
    }
    cio_prep_close(&x->close_op[end], x->fd[end]);
    x->close_op[end].cb = close_cb;
    x->close_op[end].data = x;
    x->close_op[end].tag = (uint16_t)end;
    for (int i = 0; i < NSLOT; i++) { /* the ops it may cancel */
        mark_closed(&slots[i].a, slots[i].k, r, end);
        mark_closed(&slots[i].b, slots[i].k, r, end);
    }
    x->fd[end] = T_FD_NONE;
    x->tainted = 1;
    x->close_inflight[end] = 1;
    CHECK_EQ(cio_submit(&loop, &x->close_op[end]), 0);
    closes++;
}

static void close_cb(cio_loop *l, cio_op *op) {
    (void)l;
    res *x = op->data;
    int end = op->tag;
    if (!x->close_inflight[end]) {
        fprintf(stderr, "random_ops seed %llu: a close completed twice\n", (unsigned long long)seed);
        exit(1);
    }
    x->close_inflight[end] = 0;
    if (op->res != 0) {
        fprintf(stderr, "random_ops seed %llu: close failed: %d\n", (unsigned long long)seed, op->res);
        exit(1);
    }
    /* Both ends gone: a fresh pair takes its place while work remains. */
    if (x->fd[0] == T_FD_NONE && x->fd[1] == T_FD_NONE && !x->close_inflight[0] && !x->close_inflight[1] && budget > 0)
        make_res((int)(x - rs));
}

static void op_cb(cio_loop *l, cio_op *op);
static void aux_cb(cio_loop *l, cio_op *op);

/* Fills `x` as an op of `kind` on resource r's end `end` (or the next open
 * one). Returns 0, or -1 when it chose nothing to do. */
static int fill(slot *s, xop *x, enum kind kind, int r, int end) {
    x->len = 1 + pick(s, MAXLEN);
    uint64_t dl_ns = (1 + pick(s, 30)) * MS; /* every op that can wait has a deadline */
    int waitall = pick(s, 4) == 0;
    unsigned target = pick(s, NSLOT);
    uint32_t events = pick(s, 3) == 0 ? (CIO_POLLIN | CIO_POLLOUT) : (pick(s, 2) ? CIO_POLLIN : CIO_POLLOUT);
    bool io = on_handle(kind);
    cio_fd fd = T_FD_NONE;
    res *h = NULL;
    /* The drawn handle, or the next pair's if that one is closed. */
    for (int j = 0; j < NRES && fd == T_FD_NONE; j++) {
        x->r = (r + j) % NRES;
        h = &rs[x->r];
        x->kind = kind;
        x->end = end;
        if (h->is_pipe) {
            /* A pipe's ends each have one direction. */
            if (x->kind == K_RECV || x->kind == K_RECVMSG) x->kind = K_READ;
            if (x->kind == K_SEND || x->kind == K_SENDMSG) x->kind = K_WRITE;
            if (x->kind == K_READ) x->end = 0;
            if (x->kind == K_WRITE) x->end = 1;
            if (x->kind == K_POLL || x->kind == K_MPOLL) events = x->end ? CIO_POLLOUT : CIO_POLLIN;
        }
        fd = h->fd[x->end];
        if (!io) break;
    }
    if (io && fd == T_FD_NONE) x->kind = K_NOP; /* every handle is closed */
    x->incarnation = h->incarnation;
    x->dir = sends(x->kind) ? x->end : 1 - x->end;
    switch (x->kind) {
    case K_NOP:
        cio_prep_nop(&x->op);
        break;
    case K_TIMEOUT:
        cio_prep_timeout(&x->op, pick(s, 5) * MS, 0);
        break;
    case K_RECV:
        cio_prep_recv(&x->op, fd, x->buf, x->len, waitall ? MSG_WAITALL : 0);
        break;
    case K_SEND:
        cio_prep_send(&x->op, fd, src, x->len, waitall ? MSG_WAITALL : 0);
        break;
    case K_READ:
        cio_prep_read(&x->op, fd, x->buf, x->len, CIO_OFFSET_CURRENT);
        break;
    case K_WRITE:
        cio_prep_write(&x->op, fd, src, x->len, CIO_OFFSET_CURRENT);
        break;
    case K_RECVMSG:
    case K_SENDMSG: {
        /* Three buffers whose edges fall anywhere. */
        uint32_t a = x->len / 3, b = x->len / 2;
        char *base = x->kind == K_RECVMSG ? x->buf : src;
        x->iov[0].iov_base = base;
        x->iov[0].iov_len = a;
        x->iov[1].iov_base = base + a;
        x->iov[1].iov_len = b - a;
        x->iov[2].iov_base = base + b;
        x->iov[2].iov_len = x->len - b;
        cio_msg_init(&x->mh, NULL, 0, x->iov, 3, NULL, 0);
        if (x->kind == K_RECVMSG)
            cio_prep_recvmsg(&x->op, fd, &x->mh, waitall ? MSG_WAITALL : 0);
        else
            cio_prep_sendmsg(&x->op, fd, &x->mh, waitall ? MSG_WAITALL : 0);
        break;
    }
    case K_POLL:
    case K_MPOLL:
        if (x->kind == K_MPOLL && s->aux_inflight) x->kind = K_POLL; /* its timer is still busy */
        cio_prep_poll(&x->op, fd, events);
        if (x->kind == K_MPOLL) x->op.flags = CIO_F_MULTISHOT;
        break;
    case K_CANCEL:
        if (target == (unsigned)slot_of(s) || !slots[target].a.inflight) return -1;
        cio_prep_cancel(&x->op, &slots[target].a.op);
        slots[target].a.cancel_k = slots[target].k;
        break;
    default:
        return -1;
    }
    /* Whatever can wait forever is bounded: by a deadline, or for a
     * multishot poll by a timer that cancels it. */
    if (on_handle(x->kind) && x->kind != K_MPOLL) x->op.deadline = cio_now(&loop) + dl_ns;
    x->op.cb = op_cb;
    x->op.data = s;
    if (x->kind == K_MPOLL) {
        cio_prep_timeout(&s->aux, dl_ns, 0);
        s->aux.cb = aux_cb;
        s->aux.data = s;
    }
    return 0;
}

/* Slot i's next step: one op, or (one time in six) a linked pair. */
static int prepare(slot *s) {
    enum kind kind = (enum kind)pick(s, K_COUNT);
    int r = (int)pick(s, NRES), end = (int)pick(s, 2);
    unsigned link = pick(s, 6);
    s->linked = 0;
    if (fill(s, &s->a, kind, r, end) < 0) return -1;
    if (link > 1 || s->a.kind == K_MPOLL || s->a.kind == K_CANCEL) return 0;
    /* The second op: for a send or write, the receive of it at the other
     * end; otherwise a receive, a poll or a timer. */
    enum kind second = sends(s->a.kind) ? (s->a.kind == K_SEND ? K_RECV : K_READ)
                                        : (enum kind[]){K_RECV, K_POLL, K_TIMEOUT, K_NOP}[pick(s, 4)];
    if (fill(s, &s->b, second, s->a.r, 1 - s->a.end) < 0 || s->b.kind == K_MPOLL) return 0;
    s->linked = link ? CIO_F_HARDLINK : CIO_F_LINK;
    s->a.op.flags |= (uint8_t)s->linked;
    return 0;
}

static void start_op(xop *x) {
    x->inflight = 1;
    x->order = 0;
    submitted++;
    by_kind[x->kind]++;
}

static void submit_slot(slot *s) {
    while (budget > 0) {
        s->k++;
        if (prepare(s) < 0) continue; /* a draw that found nothing to do still counts as a step */
        budget--;
        int r;
        if (s->linked) {
            cio_op *batch[2] = {&s->a.op, &s->b.op};
            r = cio_submit_batch(&loop, batch, 2);
        } else {
            r = cio_submit(&loop, &s->a.op);
        }
        if (r < 0) {
            /* Refused at submission: no completion will come. Only a cancel
             * whose target finished meanwhile may be refused. */
            if (s->a.kind != K_CANCEL || r != -CIO_ENOENT) fail("refused by cio_submit", s, &s->a);
            continue;
        }
        start_op(&s->a);
        if (s->linked) {
            start_op(&s->b);
            pairs_linked++;
        }
        if (s->a.kind == K_MPOLL) {
            s->aux_for = s->k;
            s->aux_inflight = 1;
            CHECK_EQ(cio_submit(&loop, &s->aux), 0);
            submitted++;
        }
        return;
    }
}

static void aux_cb(cio_loop *l, cio_op *op) {
    slot *s = op->data;
    if (!s->aux_inflight) fail("aux timer completed twice", s, &s->a);
    s->aux_inflight = 0;
    finals++;
    if (op->res != 0 && op->res != -CIO_ECANCELED) fail("aux timer result", s, &s->a);
    if (s->a.inflight && s->k == s->aux_for) {
        s->a.cancel_k = s->k;
        int r = cio_cancel(l, &s->a.op);
        if (r != 0 && r != -CIO_ENOENT) fail("cio_cancel of a multishot poll", s, &s->a);
    }
}

static bool one_of(int32_t r, const int *ok, int n) {
    for (int j = 0; j < n; j++)
        if (r == -ok[j]) return true;
    return false;
}

/* Whether the first op's result lets a soft link go on (op.h: a negative
 * result, or fewer bytes than asked for a read, write, or a send or recv
 * with MSG_WAITALL, breaks it). */
static bool chain_goes_on(const xop *x) {
    int32_t r = x->op.res;
    if (r < 0) return false;
    if (x->kind == K_READ || x->kind == K_WRITE) return (uint32_t)r == x->len;
    if (x->kind == K_RECV || x->kind == K_SEND) return !(x->op.args.sr.flags & MSG_WAITALL) || (uint32_t)r == x->len;
    return true;
}

static void check_result(slot *s, xop *x) {
    int32_t r = x->op.res;
    static const int io_err[] = {CIO_ECANCELED, CIO_ETIMEDOUT, CIO_ECONNRESET, CIO_EPIPE};
    switch (x->kind) {
    case K_NOP:
        if (r != 0 && r != -CIO_ECANCELED) fail("bad result", s, x);
        break;
    case K_TIMEOUT:
        if (r != 0 && r != -CIO_ECANCELED) fail("bad result", s, x);
        break;
    case K_RECV:
    case K_READ:
    case K_SEND:
    case K_WRITE:
    case K_RECVMSG:
    case K_SENDMSG:
        if (r > (int32_t)x->len || (r < 0 && !one_of(r, io_err, 4))) fail("bad result", s, x);
        if (r == 0 && sends(x->kind)) fail("wrote nothing", s, x);
        if (r > 0 && x->incarnation == rs[x->r].incarnation) {
            if (sends(x->kind))
                rs[x->r].sent[x->dir] += (uint64_t)r;
            else
                rs[x->r].rcvd[x->dir] += (uint64_t)r;
        }
        break;
    case K_POLL:
    case K_MPOLL:
        if (r < 0 ? !one_of(r, io_err, 2)
                  /* io_uring adds POLLRDHUP to a hang-up unasked */
                  : (r == 0 || ((uint32_t)r & ~(x->op.args.poll.events | CIO_POLLERR | CIO_POLLHUP | CIO_POLLRDHUP))))
            fail("bad result", s, x);
        break;
    case K_CANCEL:
        if (r != 0 && r != -CIO_ENOENT && r != -CIO_EALREADY) fail("bad result", s, x);
        break;
    default:
        break;
    }
    /* A linked pair: the second ends after the first, and a soft link
     * cancels it exactly when the first fails or falls short. */
    bool chain_broke = false;
    if (x == &s->b) {
        if (s->a.inflight || s->a.order > x->order) fail("the second op of a pair ended before the first", s, x);
        chain_broke = s->linked == CIO_F_LINK && !chain_goes_on(&s->a);
        if (chain_broke && r != -CIO_ECANCELED) fail("ran although the soft link before it broke", s, x);
    }
    /* Nobody asked: a cancel that hit this submission was meant for an
     * earlier one, or a deadline that was not this one's. */
    if (r == -CIO_ECANCELED && !chain_broke && x->cancel_k != s->k && x->closed_k != s->k)
        fail("-CIO_ECANCELED, but no cancel, close or broken link asked for this submission", s, x);
    if (r == -CIO_ETIMEDOUT && (!x->op.deadline || clock_ns() < x->op.deadline))
        fail("-CIO_ETIMEDOUT before its deadline", s, x);
}

/* Cancels a random op of another slot, maybe in flight. */
static void cancel_random(cio_loop *l, slot *s) {
    slot *t = &slots[pick(s, NSLOT)];
    xop *x = pick(s, 4) ? &t->a : &t->b;
    if (t == s || !x->inflight) return;
    x->cancel_k = t->k;
    int r = cio_cancel(l, &x->op);
    if (r != 0 && r != -CIO_ENOENT) fail("cio_cancel failed", t, x);
    canc_calls++;
}

static void op_cb(cio_loop *l, cio_op *op) {
    slot *s = op->data;
    xop *x = op == &s->a.op ? &s->a : &s->b;
    if (!x->inflight) fail("completion of an op not in flight (a second final?)", s, x);
    if (op->flags & CIO_F_MORE) {
        if (x->kind != K_MPOLL) fail("CIO_F_MORE on a single-shot op", s, x);
        mores++;
        if (op->res <= 0) fail("bad multishot result", s, x);
        return;
    }
    x->inflight = 0;
    x->order = ++order_seq;
    finals++;
    check_result(s, x);
    /* Then, from this callback, whatever this step drew. */
    unsigned act = pick(s, 128);
    if (act < 24) {
        cancel_random(l, s);
    } else if (act == 24) { /* close a random handle through cio, ops pending or not */
        int r = (int)pick(s, NRES), end = (int)pick(s, 2);
        if (budget > 0) close_end(r, end);
    } else if (act < 32) { /* cancel a random slot's timer */
        slot *t = &slots[pick(s, NSLOT)];
        if (t != s && t->aux_inflight) {
            int r = cio_cancel(l, &t->aux);
            if (r != 0 && r != -CIO_ENOENT) fail("cio_cancel of a timer failed", t, &t->a);
        }
    }
    if (!s->a.inflight && !s->b.inflight) submit_slot(s);
}

/* What is left in a pipe or socket buffer, read with plain calls. */
static uint64_t drain(cio_fd fd) {
    uint64_t n = 0;
    static char b[65536];
    CHECK_EQ(t_set_nonblock(fd, 1), 0);
    for (;;) {
        long long r = t_sys_read(fd, b, sizeof b);
        if (r <= 0) {
            CHECK(r == 0 || r == -CIO_EAGAIN || r == -CIO_ECONNRESET);
            return n;
        }
        n += (uint64_t)r;
    }
}

int main(int argc, char **argv) {
    const char *sv = argc > 1 ? argv[1] : getenv("CIO_TEST_SEED");
    const char *ov = argc > 2 ? argv[2] : getenv("CIO_TEST_OPS");
    seed = sv ? strtoull(sv, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)t_pid() << 20);
    long nops = ov ? atol(ov) : 5000;
    const char *be = getenv("CIO_BACKEND");
    printf("random_ops: seed %llu, %ld ops, backend %s (rerun: CIO_TEST_SEED=%llu)\n", (unsigned long long)seed, nops,
           be ? be : "auto", (unsigned long long)seed);
    fflush(stdout);
    /* Writes to a handle whose peer is gone would raise SIGPIPE (sends never do). */
    t_ignore_sigpipe();
    for (size_t j = 0; j < sizeof src; j++) src[j] = (char)j;
    t_loop_init(&loop, 256);
    budget = nops;
    for (int r = 0; r < NRES; r++) make_res(r);
    for (int i = 0; i < NSLOT; i++) {
        uint64_t x = seed ^ (0x5851f42d4c957f2dull * (uint64_t)(i + 1));
        slots[i].rng = splitmix(&x);
    }
    for (int i = 0; i < NSLOT; i++) submit_slot(&slots[i]);
    t_run(&loop, 30);
    CHECK_EQ(budget, 0);
    for (int i = 0; i < NSLOT; i++)
        if (slots[i].a.inflight || slots[i].b.inflight || slots[i].aux_inflight)
            fail("still in flight after the loop drained", &slots[i], slots[i].b.inflight ? &slots[i].b : &slots[i].a);
    CHECK_EQ(finals, submitted);
    CHECK_EQ(cio_loop_active(&loop), 0);
    t_close(&loop);
    /* Byte conservation on the pairs that were never closed. */
    int checked = 0;
    for (int r = 0; r < NRES; r++) {
        res *x = &rs[r];
        if (x->tainted) {
            for (int e = 0; e < 2; e++)
                if (x->fd[e] != T_FD_NONE) t_close_handle(x->fd[e]);
            continue;
        }
        for (int d = 0; d < 2; d++) {
            if (x->is_pipe && d == 0) continue; /* a pipe has one direction: written at [1] */
            uint64_t left = drain(x->fd[1 - d]);
            if (x->sent[d] != x->rcvd[d] + left) {
                fprintf(stderr,
                        "random_ops seed %llu: handle pair %d, direction %d: %llu bytes sent, %llu received, %llu "
                        "left over\n",
                        (unsigned long long)seed, r, d, (unsigned long long)x->sent[d],
                        (unsigned long long)x->rcvd[d], (unsigned long long)left);
                exit(1);
            }
        }
        checked++;
        t_close_handle(x->fd[0]);
        t_close_handle(x->fd[1]);
    }
    printf("random_ops: ok: %ld ops (", submitted);
    for (int k = 0; k < K_COUNT; k++) printf("%s%s %ld", k ? ", " : "", kind_name[k], by_kind[k]);
    printf("), %ld linked pairs, %ld multishot results, %ld cancels from callbacks, %ld closes, %d pairs byte-checked\n",
           pairs_linked, mores, canc_calls, closes, checked);
    return 0;
}
