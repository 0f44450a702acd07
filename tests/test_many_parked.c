/*
 * Ten thousand sockets parked at once work.
 *
 * 5,000 socketpairs with a recv waiting on both ends: 10,000 parked recvs,
 * 10,000 descriptors (10,000 socketpairs would need 20,000, the usual hard
 * limit). One byte is then written to each peer in a random order, in
 * batches with loop turns in between, and every recv must complete exactly
 * once with its own byte. Then 10,000 recvs are parked again and
 * cio_loop_close cancels them all: each completes once with -CIO_ECANCELED.
 * CIO_TEST_PORTABLE (Windows: the pairs are loopback TCP, no descriptor limit).
 */
#include "net.h"

#include <errno.h>
#if !defined(_WIN32)
#include <sys/resource.h>
#endif

#define PAIRS 5000
#define PARKED (2 * PAIRS)
#define BATCH 997 /* writes between loop turns; not a divisor, so batches straddle pairs */

typedef struct parked {
    t_op t;
    unsigned char buf[2]; /* room for a second byte that must not come */
} parked;

static parked ops[PARKED];
/* How many run: all of them, but a fifth under Wine, where each socket call is a
 * round trip to the wineserver (5,000 pairs take a minute there). */
static unsigned npairs = PAIRS, nparked = PARKED;
static cio_fd fds[PARKED]; /* recv i waits on fds[i]; its peer is fds[i ^ 1] */

/* The byte recv `i` should get: differs between neighbours and both ends of a pair. */
static unsigned char byte_for(unsigned i) { return (unsigned char)(i * 131u + 7u); }

/* A fixed-seed generator: the order is random but the same on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint32_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static void park_all(cio_loop *loop) {
    for (unsigned i = 0; i < nparked; i++) {
        memset(ops[i].buf, 0, sizeof ops[i].buf);
        cio_prep_recv(&ops[i].t.op, fds[i], ops[i].buf, sizeof ops[i].buf, 0);
        net_arm(&ops[i].t);
        CHECK_EQ(cio_submit(loop, &ops[i].t.op), 0);
    }
    CHECK_EQ(cio_loop_active(loop), nparked);
    /* Let them all reach the kernel and start waiting; none can finish. */
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), nparked);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), nparked);
    for (unsigned i = 0; i < nparked; i++) CHECK_EQ(ops[i].t.finals, 0);
}

static unsigned finished(void) {
    unsigned n = 0;
    for (unsigned i = 0; i < nparked; i++) n += (unsigned)ops[i].t.finals;
    return n;
}

int main(void) {
    if (t_under_wine()) {
        npairs = PAIRS / 5;
        nparked = 2 * npairs;
    }
    /* 10,000 sockets plus the loop's own handles: raise the soft limit before
     * the loop is made (the readiness backends size their tables from it). */
#if !defined(_WIN32)
    struct rlimit rl;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < nparked + 200) {
        printf("many_parked: skipped (open file limit %llu is below %u)\n", (unsigned long long)rl.rlim_cur,
               nparked + 200);
        return 77;
    }
#endif

    double t0 = t_seconds();
    cio_loop loop;
    t_loop_init(&loop, 0);
    const char *be = cio_backend_name(cio_loop_backend(&loop));
    for (unsigned p = 0; p < npairs; p++) {
        cio_fd sv[2];
        CHECK_EQ(t_socketpair(sv), 0);
        fds[2 * p] = sv[0];
        fds[2 * p + 1] = sv[1];
    }

    /* Round 1: park, then wake each one with its own byte in a random order. */
    park_all(&loop);
    static unsigned order[PARKED];
    for (unsigned i = 0; i < nparked; i++) order[i] = i;
    for (unsigned i = nparked - 1; i > 0; i--) {
        unsigned j = rng() % (i + 1), tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    double t1 = t_seconds();
    unsigned turns = 0;
    for (unsigned k = 0; k < nparked; k++) {
        unsigned i = order[k];
        unsigned char b = byte_for(i);
        CHECK_EQ(t_sys_send(fds[i ^ 1], &b, 1, 0), 1);
        if (k % BATCH == BATCH - 1) {
            CHECK(cio_loop_run(&loop, CIO_RUN_NOWAIT) >= 0);
            turns++;
        }
    }
    double end = t_seconds() + 60;
    while (cio_loop_active(&loop) > 0) {
        CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
        turns++;
        CHECK(t_seconds() < end);
    }
    double t2 = t_seconds();
    for (unsigned i = 0; i < nparked; i++) {
        CHECK_EQ(ops[i].t.finals, 1);
        CHECK_EQ(ops[i].t.mores, 0);
        if (ops[i].t.res != 1 || ops[i].buf[0] != byte_for(i)) {
            fprintf(stderr, "recv %u: res %d, byte 0x%02x, expected 1 and 0x%02x\n", i, ops[i].t.res,
                    ops[i].buf[0], byte_for(i));
            CHECK(!"a recv got the wrong result");
        }
    }
    cio_stats st;
    cio_loop_stats(&loop, &st);
    CHECK_EQ(st.ops_completed, st.ops_submitted);
    CHECK_EQ(st.ops_completed, nparked);

    /* Round 2: park them all again and let close cancel every one. */
    park_all(&loop);
    double t3 = t_seconds();
    CHECK_EQ(cio_loop_close(&loop), 0);
    double t4 = t_seconds();
    CHECK_EQ(finished(), nparked);
    for (unsigned i = 0; i < nparked; i++) {
        CHECK_EQ(ops[i].t.finals, 1);
        CHECK_EQ(ops[i].t.res, -CIO_ECANCELED);
        CHECK_EQ(ops[i].buf[0], 0);
    }
    /* The cancelled recvs took nothing: no byte is waiting or lost. */
    for (unsigned i = 0; i < nparked; i++) {
        unsigned char b;
        CHECK_EQ(t_set_nonblock(fds[i], 1), 0);
        CHECK_EQ(t_sys_recv(fds[i], &b, 1, 0), -EAGAIN);
    }
    for (unsigned i = 0; i < nparked; i++) CHECK_EQ(t_close_handle(fds[i]), 0);
    printf("%s: %u recvs parked; woken in random order in %.3f s (%u turns), "
           "%u cancelled by close in %.3f s; total %.3f s\n",
           be, nparked, t2 - t1, turns, nparked, t4 - t3, t_seconds() - t0);
    return 0;
}
