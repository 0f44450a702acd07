/*
 * test_task_shield - clean-up in a cancelled task (cio_task_shield_push,
 * cio/task.h): inside a shield a cancel that comes while the task sleeps,
 * waits on an event or blocks in an op does not end the wait, and takes
 * effect at the pop; a shield opens a fresh deadline scope; a buffered
 * writer is flushed by a cancelled task, and the peer gets every byte; the
 * loop's close and cio_main()'s deadlock rule still end a shielded task.
 *
 * Oracles: CLOCK_MONOTONIC on the real backends (the virtual clock on the
 * mock, where real time does not pass), the bytes the peer reads (plain
 * recv(2) on real backends), and each result checked against what the
 * header promises. With faults injected (mock_seeds: CIO_MOCK_FAULTS), a
 * reset of the socket pair may end the flush case early: it then checks
 * only that what arrived is right, and the program exits 1 after the
 * loop's close, as mock_seeds allows for a run a fault struck.
 *
 * CIO_TEST_PORTABLE CIO_TEST_SEEDS
 */
#include "test.h"

#include "cio.h"

#define MS 1000000ull

static bool on_mock(void) { return cio_loop_backend(cio_task_loop()) == CIO_BACKEND_MOCK; }

static bool soft;         /* faults injected: a reset may strike the socket pair */
static unsigned soft_stops;

/* The clock to measure waits with: real time, or the mock's virtual one. */
static uint64_t clock_ns(void) { return on_mock() ? cio_now(cio_task_loop()) : t_now_ns(); }

typedef struct child {
    cio_event in_shield, go, never;
    int r1, r2, r3;
    bool cancelled_inside, cancelled_after;
    uint64_t elapsed;
} child;

/* A: a sleep in a shield, cancelled meanwhile, lasts its full time. */
static intptr_t sleeper(void *arg) {
    child *c = arg;
    cio_shield sh;
    CHECK_EQ(cio_task_shield_push(&sh), 0);
    cio_event_set(&c->in_shield);
    /* A sleep counts from cio_now(), read once per turn: fresh, so that
     * a machine that stalled since the turn began (CI's, loaded) does not
     * make it end early against the real clock read here. */
    if (!on_mock()) cio_loop_update_now(cio_task_loop());
    uint64_t t0 = clock_ns();
    c->r1 = cio_sleep(100 * MS);
    c->elapsed = clock_ns() - t0;
    c->cancelled_inside = cio_task_cancelled();
    c->r2 = cio_sleep(1 * MS);
    cio_task_shield_pop(&sh);
    c->cancelled_after = cio_task_cancelled();
    c->r3 = cio_sleep(1 * MS);
    return 0;
}

static void case_sleep(void) {
    child c = {0};
    cio_event_init(&c.in_shield, false);
    cio_task *t;
    CHECK_EQ(cio_task_spawn(cio_task_loop(), sleeper, &c, NULL, &t), 0);
    CHECK_EQ(cio_event_wait(&c.in_shield), 0); /* it runs on into its sleep first */
    CHECK_EQ(cio_task_cancel(t), 0);
    CHECK_EQ(cio_task_join(t, NULL), 0);
    CHECK_EQ(c.r1, 0);
    CHECK(c.elapsed >= 95 * MS);
    CHECK(!c.cancelled_inside);
    CHECK_EQ(c.r2, 0);
    CHECK(c.cancelled_after);
    CHECK_EQ(c.r3, -CIO_ECANCELED);
    printf("sleep in a shield: %d after %.1f ms, then %d\n", c.r1, (double)c.elapsed / 1e6, c.r3);
}

/* B: a sync wait in a shield, cancelled meanwhile, ends only when set. */
static intptr_t waiter(void *arg) {
    child *c = arg;
    cio_shield sh, inner;
    CHECK_EQ(cio_task_shield_push(&sh), 0);
    CHECK_EQ(cio_task_shield_push(&inner), 0); /* nested: the outer one still holds after this pop */
    cio_task_shield_pop(&inner);
    cio_event_set(&c->in_shield);
    c->r1 = cio_event_wait(&c->go);
    c->r2 = cio_task_yield();
    cio_task_shield_pop(&sh);
    c->r3 = cio_event_wait(&c->never);
    return 0;
}

static void case_event(void) {
    child c = {0};
    cio_event_init(&c.in_shield, false);
    cio_event_init(&c.go, false);
    cio_event_init(&c.never, false);
    cio_task *t;
    CHECK_EQ(cio_task_spawn(cio_task_loop(), waiter, &c, NULL, &t), 0);
    CHECK_EQ(cio_event_wait(&c.in_shield), 0);
    CHECK_EQ(cio_task_cancel(t), 0);
    CHECK_EQ(cio_sleep(20 * MS), 0); /* it had every chance to end */
    CHECK_EQ(c.r1, 0);              /* not yet: still waiting */
    CHECK(!cio_event_is_set(&c.go));
    cio_event_set(&c.go);
    CHECK_EQ(cio_task_join(t, NULL), 0);
    CHECK_EQ(c.r1, 0);
    CHECK_EQ(c.r2, 0);
    CHECK_EQ(c.r3, -CIO_ECANCELED);
    printf("event wait in a shield: %d, after the pop %d\n", c.r1, c.r3);
}

/* C: a shield is a fresh deadline scope; the outer one is back after the pop. */
static void case_deadlines(void) {
    uint64_t outer = cio_deadline_push_after(20 * MS);
    CHECK_EQ(cio_sleep(1000 * MS), -CIO_ETIMEDOUT);
    cio_shield sh;
    CHECK_EQ(cio_task_shield_push(&sh), 0);
    uint64_t t0 = clock_ns();
    CHECK_EQ(cio_sleep(30 * MS), 0); /* the outer deadline, passed, does not apply */
    CHECK(clock_ns() - t0 >= 29 * MS);
    uint64_t inner = cio_deadline_push_after(10 * MS);
    t0 = clock_ns();
    CHECK_EQ(cio_sleep(1000 * MS), -CIO_ETIMEDOUT);
    CHECK(clock_ns() - t0 >= 9 * MS);
    cio_deadline_pop(inner);
    cio_task_shield_pop(&sh);
    CHECK_EQ(cio_sleep(1 * MS), -CIO_ETIMEDOUT); /* the outer scope again */
    cio_deadline_pop(outer);
    CHECK_EQ(cio_sleep(1 * MS), 0);
    printf("deadlines in a shield: ok\n");
}

/* D: the clean-up a shield is for: a cancelled task flushes its buffered
 * writer and closes; the peer reads every byte, then the end. */
typedef struct flusher {
    cio_fd fd;
    const unsigned char *data;
    uint32_t len;
    int recv_r, send_r, flush_r, close_r;
    uint32_t pending_before;
    cio_event blocked;
} flusher;

static intptr_t flush_task(void *arg) {
    flusher *f = arg;
    cio_stream s;
    CHECK_EQ(cio_stream_socket(&s, f->fd), 0);
    char buf[4096];
    cio_bufwriter w;
    CHECK_EQ(cio_bufwriter_init(&w, &s, buf, sizeof buf), 0);
    CHECK_EQ(cio_bufwriter_write(&w, f->data, f->len), (int32_t)f->len);
    f->pending_before = cio_bufwriter_pending(&w);
    char in[8];
    cio_event_set(&f->blocked);
    f->recv_r = cio_recv(f->fd, in, sizeof in, 0); /* nothing comes: the cancel ends it */
    f->send_r = cio_send(f->fd, "x", 1, 0);        /* unshielded: fails at once */
    cio_shield sh;
    CHECK_EQ(cio_task_shield_push(&sh), 0);
    uint64_t prev = cio_deadline_push_after(5000 * MS);
    f->flush_r = cio_bufwriter_flush(&w);
    cio_deadline_pop(prev);
    f->close_r = cio_stream_close(&s);
    cio_task_shield_pop(&sh);
    return 0;
}

static void case_flush(void) {
    static unsigned char data[3000], got[4000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 31 + 7);
    bool mock = on_mock();
    cio_fd sv[2];
    CHECK_EQ(mock ? cio_mock_socketpair(cio_task_loop(), sv) : t_socketpair(sv), 0);
    flusher f = {.fd = sv[0], .data = data, .len = sizeof data};
    cio_event_init(&f.blocked, false);
    cio_task *t;
    CHECK_EQ(cio_task_spawn(cio_task_loop(), flush_task, &f, NULL, &t), 0);
    CHECK_EQ(cio_event_wait(&f.blocked), 0);
    CHECK_EQ(cio_task_cancel(t), 0);
    CHECK_EQ(cio_task_join(t, NULL), 0);
    CHECK_EQ(f.pending_before, sizeof data); /* nothing had gone out before the cancel */
    CHECK_EQ(f.close_r, 0);
    bool reset = soft && (f.recv_r == -CIO_ECONNRESET || f.flush_r == -CIO_ECONNRESET);
    if (!reset) {
        CHECK_EQ(f.recv_r, -CIO_ECANCELED);
        CHECK_EQ(f.send_r, -CIO_ECANCELED);
        CHECK_EQ(f.flush_r, 0);
    }
    size_t n = 0;
    for (int i = 0; i < 10000; i++) {
        long long k = mock ? cio_recv(sv[1], got + n, (uint32_t)(sizeof got - n), 0)
                           : t_sys_recv(sv[1], got + n, sizeof got - n, 0);
        if (k == -CIO_ECONNRESET && soft) {
            reset = true;
            break;
        }
        CHECK(k >= 0);
        if (k == 0) break;
        n += (size_t)k;
    }
    CHECK(memcmp(got, data, n) == 0);
    if (reset)
        soft_stops++;
    else
        CHECK_EQ(n, sizeof data);
    if (mock)
        CHECK_EQ(cio_close(sv[1]), 0);
    else
        CHECK_EQ(t_close_handle(sv[1]), 0);
    printf("flush in a shield after a cancel: %zu bytes reached the peer\n", n);
}

static int close_saw = 1;

static intptr_t forever_shielded(void *arg) {
    (void)arg;
    cio_shield sh;
    CHECK_EQ(cio_task_shield_push(&sh), 0);
    cio_event never;
    cio_event_init(&never, false);
    close_saw = cio_event_wait(&never);
    cio_task_shield_pop(&sh);
    return 0;
}

static intptr_t main_task(void *arg) {
    (void)arg;
    CHECK_EQ(cio_task_shield_push(NULL), -CIO_EINVAL);
    case_sleep();
    case_event();
    case_deadlines();
    case_flush();
    if (!on_mock()) {
        /* E: left in a shielded wait: cio_main's close ends it (the mock
         * would report the task alive at the close as a leak, rightly). */
        cio_task_options o = {.detached = true};
        CHECK_EQ(cio_task_spawn(cio_task_loop(), forever_shielded, NULL, &o, NULL), 0);
        CHECK_EQ(cio_task_yield(), 0);
    }
    return 42;
}

/* F: a main task deadlocked inside a shield is ended all the same. */
static int deadlock_saw = 1;
static intptr_t deadlocked_main(void *arg) {
    (void)arg;
    cio_shield sh;
    CHECK_EQ(cio_task_shield_push(&sh), 0);
    cio_event never;
    cio_event_init(&never, false);
    deadlock_saw = cio_event_wait(&never);
    cio_task_shield_pop(&sh);
    return 7;
}

int main(void) {
    t_watchdog();
    t_ignore_sigpipe();
    const char *faults = getenv("CIO_MOCK_FAULTS");
    soft = faults && *faults && strcmp(faults, "0") != 0;
    cio_shield sh;
    CHECK_EQ(cio_task_shield_push(&sh), -CIO_EPERM);
    cio_task_shield_pop(&sh); /* nothing outside a task */
    intptr_t res = 0;
    CHECK_EQ(cio_main(main_task, NULL, NULL, &res), 0);
    CHECK_EQ(res, 42);
    const char *be = getenv("CIO_BACKEND");
    if (!be || strcmp(be, "mock") != 0) {
        CHECK_EQ(close_saw, -CIO_ECANCELED);
        printf("shielded wait at the close: %d\n", close_saw);
    }
    res = 0;
    CHECK_EQ(cio_main(deadlocked_main, NULL, NULL, &res), 0);
    CHECK_EQ(res, 7);
    CHECK_EQ(deadlock_saw, -CIO_ECANCELED);
    printf("deadlock in a shield: %d\n", deadlock_saw);
    if (soft_stops) {
        printf("the flush case met a reset\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
