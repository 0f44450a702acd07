/*
 * A multishot poll (CIO_F_MULTISHOT) waiting while the peer (plain calls)
 * sends a byte that nobody reads, half-closes or resets. op.h: "with
 * CIO_F_MULTISHOT it reports each readiness edge until cancelled". One
 * event of the peer is one edge, so it is reported a few times at most
 * (a reset wakes the socket more than once), not once per loop turn for as
 * long as the state lasts, which would keep the loop busy at full CPU; a
 * second byte is a new edge and is reported again. Then a cancel ends the
 * op, once. On every backend.
 *
 * The poll backend is the documented exception (op.h): poll(2) has no
 * edges, so it reports the level on every turn while the handle stays
 * ready; there the test checks that each event is reported at all. So is
 * IOCP, whose AFD polls report levels (op.h).
 *
 * CIO_TEST_PORTABLE
 */
#include "rude.h"

enum { ACT_DATA, ACT_FIN, ACT_RST, ACTS };
static const char *const act_name[ACTS] = {"one byte", "half-close", "reset"};

/* A peer's single event may wake the socket a few times (data and an ack,
 * an error report and a state change); a level reported per turn gives
 * thousands. */
enum { MAX_REPORTS_PER_EVENT = 4 };

static void turn_for(cio_loop *loop, unsigned ms) {
    t_op tm;
    cio_prep_timeout(&tm.op, (uint64_t)ms * 1000000u, 0);
    CHECK_EQ(net_do(loop, &tm), 0);
}

static int failures;

static void one(cio_loop *loop, int act, uint32_t events) {
    cio_fd s, p;
    rude_pair(loop, &s, &p, 0);
    t_op w;
    cio_prep_poll(&w.op, s, events);
    net_arm(&w);
    w.op.flags = CIO_F_MULTISHOT;
    CHECK_EQ(cio_submit(loop, &w.op), 0);
    turn_for(loop, 10);
    CHECK_EQ(w.finals, 0);
    CHECK_EQ(w.mores, 0);

    if (act == ACT_DATA)
        CHECK_EQ(t_sys_send(p, "!", 1, MSG_NOSIGNAL), 1);
    else if (act == ACT_FIN)
        CHECK_EQ(shutdown(p, SHUT_WR), 0);
    else
        rude_reset_close(p);
    turn_for(loop, 100);
    int first = w.mores;
    CHECK_EQ(w.finals, 0);
    /* Levels on poll and IOCP (AFD): a report per turn while ready (op.h). */
    const bool levels = cio_loop_backend(loop) == CIO_BACKEND_POLL || cio_loop_backend(loop) == CIO_BACKEND_IOCP;
    const int max = levels ? 1 << 30 : MAX_REPORTS_PER_EVENT;
    bool ok = first >= 1 && first <= max;

    /* A second byte is a second edge (still unread, the level unchanged). */
    int second = 0;
    if (act == ACT_DATA) {
        CHECK_EQ(t_sys_send(p, "?", 1, MSG_NOSIGNAL), 1);
        turn_for(loop, 100);
        second = w.mores - first;
        ok = ok && second >= 1 && second <= max;
    }
    if (!ok) {
        fprintf(stderr, "multishot poll %#x, peer %s: %d reports in 100 ms", events, act_name[act], first);
        if (act == ACT_DATA) fprintf(stderr, ", then %d for a second byte", second);
        fprintf(stderr, " (edges: 1 to %d each)\n", MAX_REPORTS_PER_EVENT);
        failures++;
    }

    CHECK_EQ(cio_cancel(loop, &w.op), 0);
    CHECK_EQ(net_wait(loop, &w, 5), -CIO_ECANCELED);
    net_settle(loop);
    CHECK_EQ(w.finals, 1);
    CHECK_EQ(t_close_handle(s), 0);
    if (act != ACT_RST) CHECK_EQ(t_close_handle(p), 0);
}

int main(void) {
    rude_warm_up();
    int fds_before = rude_fd_count();
    cio_loop loop;
    t_loop_init(&loop, 64);
    net_watchdog(30);
    static const uint32_t evs[] = {CIO_POLLIN, CIO_POLLIN | CIO_POLLRDHUP};
    for (int act = 0; act < ACTS; act++)
        for (size_t k = 0; k < sizeof evs / sizeof evs[0]; k++) one(&loop, act, evs[k]);
    net_close_loop(&loop);
    CHECK_EQ(rude_fd_count(), fds_before);
    CHECK_EQ(failures, 0);
    printf("rude multishot poll: ok\n");
    return 0;
}
