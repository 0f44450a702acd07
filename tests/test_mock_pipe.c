/*
 * test_mock_pipe - simulated pipes on the mock backend (cio_mock_pipe in
 * cio/mock.h). The oracles are the test's own: the bytes a writer task
 * sends (from the test's own generator) against what a reader task gets,
 * by checksum and count, under many seeds; completion counts (each op
 * exactly once) and results as pipe(7) gives them (end of file, EPIPE,
 * EBADF, poll events); virtual time at a deadline; and the real read(2),
 * which must refuse a simulated handle with EBADF. Same seed, same run:
 * the trace and the sequence of transfer sizes are compared between two
 * runs. It names its backend itself: ctest runs it once (CIO_TEST_ONCE).
 * CIO_TEST_PORTABLE (on Windows the real calls are ReadFile and WriteFile).
 */
#include "mock_util.h"

#include <errno.h>
#if !defined(_WIN32)
#include <fcntl.h>
#endif

#define TOTAL (100 * 1000) /* bytes per run across the pipe */
#define SEEDS 200
#define MAX_SIZES 40000    /* transfer sizes recorded per run */

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- bytes across the pipe, under many seeds ---- */

typedef struct run {
    cio_fd fds[2];
    uint64_t sent_sum, got_sum;
    uint32_t sent, got;
    int writer_done, reader_done;
    int short_writes, short_reads, writes, reads;
    int32_t sizes[MAX_SIZES]; /* every transfer's result, both sides, in completion order */
    int nsizes;
} run;

static void record(run *r, int32_t n) {
    if (r->nsizes < MAX_SIZES) r->sizes[r->nsizes++] = n;
}

/* Writes TOTAL bytes in chunks of varying size, each with a write-all
 * loop (every other chunk through writev, split in two), then closes. A
 * write of at most PIPE_BUF (4096) bytes is atomic (POSIX): never short;
 * larger ones may be. */
static intptr_t writer(void *arg) {
    run *r = arg;
    static unsigned char chunk[9000];
    uint32_t sent = 0;
    for (int c = 0; sent < TOTAL; c++) {
        uint32_t len = 1 + (uint32_t)(c * 977 % 9000);
        if (len > TOTAL - sent) len = TOTAL - sent;
        for (uint32_t i = 0; i < len; i++) chunk[i] = byte_at(sent + i);
        r->sent_sum = fnv(r->sent_sum, chunk, len);
        uint32_t done = 0;
        for (int tries = 0; done < len; tries++) {
            CHECK(tries < 100000);
            int32_t n;
            if (c % 2) {
                uint32_t left = len - done, half = left / 2;
                cio_iovec iov[2] = {{.iov_base = chunk + done, .iov_len = half},
                                    {.iov_base = chunk + done + half, .iov_len = left - half}};
                n = cio_writev(r->fds[1], iov, 2, CIO_OFFSET_CURRENT);
            } else {
                n = cio_write(r->fds[1], chunk + done, len - done, 0);
            }
            CHECK(n > 0);
            CHECK((uint32_t)n <= len - done);
            if (len - done <= 4096) CHECK_EQ((uint32_t)n, len - done);
            r->writes++;
            if ((uint32_t)n < len - done) r->short_writes++;
            record(r, n);
            done += (uint32_t)n;
        }
        sent += len;
    }
    r->sent = sent;
    CHECK_EQ(cio_close(r->fds[1]), 0);
    r->writer_done = 1;
    return 0;
}

/* Reads to end of file (alternating read and readv), checking every byte
 * against the generator as it comes. */
static intptr_t reader(void *arg) {
    run *r = arg;
    static unsigned char buf[5000];
    for (int tries = 0;; tries++) {
        CHECK(tries < 200000);
        uint32_t want = 1 + (uint32_t)(tries * 1237 % 5000);
        int32_t n;
        if (tries % 2) {
            cio_iovec iov[3] = {{.iov_base = buf, .iov_len = want / 3},
                                {.iov_base = buf + want / 3, .iov_len = 0},
                                {.iov_base = buf + want / 3, .iov_len = want - want / 3}};
            n = cio_readv(r->fds[0], iov, 3, CIO_OFFSET_CURRENT);
        } else {
            n = cio_read(r->fds[0], buf, want, 0);
        }
        CHECK(n >= 0);
        CHECK((uint32_t)n <= want);
        record(r, n);
        if (n == 0) break;
        r->reads++;
        if ((uint32_t)n < want) r->short_reads++;
        for (int32_t i = 0; i < n; i++) CHECK_EQ(buf[i], byte_at(r->got + (uint32_t)i));
        r->got_sum = fnv(r->got_sum, buf, (size_t)n);
        r->got += (uint32_t)n;
    }
    CHECK_EQ(cio_close(r->fds[0]), 0);
    r->reader_done = 1;
    return 0;
}

static run runs[2];

/* One run of the writer and the reader on one seed; returns the trace. */
static uint64_t transfer(uint64_t seed, run *r) {
    memset(r, 0, sizeof *r);
    r->sent_sum = r->got_sum = 0xcbf29ce484222325ull;
    cio_loop loop;
    mock_loop(&loop, seed);
    CHECK_EQ(cio_mock_pipe(&loop, r->fds), 0);
    CHECK(r->fds[0] >= CIO_MOCK_FD_BASE && r->fds[1] >= CIO_MOCK_FD_BASE && r->fds[0] != r->fds[1]);
    CHECK_EQ(cio_task_spawn(&loop, reader, r, NULL, NULL), 0);
    CHECK_EQ(cio_task_spawn(&loop, writer, r, NULL, NULL), 0);
    t_run(&loop, 10.0);
    CHECK(r->writer_done && r->reader_done);
    CHECK_EQ(r->sent, TOTAL);
    CHECK_EQ(r->got, TOTAL);
    CHECK_EQ(r->got_sum, r->sent_sum);
    CHECK(r->nsizes < MAX_SIZES);
    uint64_t trace = cio_mock_trace(&loop);
    t_close(&loop);
    return trace;
}

static void many_seeds(void) {
    int with_shorts = 0;
    long long writes = 0, reads = 0;
    double t0 = t_seconds();
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        transfer(seed, &runs[0]);
        if (runs[0].short_writes > 0 && runs[0].short_reads > 0) with_shorts++;
        writes += runs[0].writes;
        reads += runs[0].reads;
    }
    printf("%d seeds x %d bytes: %lld writes, %lld reads, short ones both ways in %d seeds, %.3f s\n", SEEDS, TOTAL,
           writes, reads, with_shorts, t_seconds() - t0);
    CHECK(with_shorts >= SEEDS * 9 / 10);
}

static void determinism(void) {
    uint64_t a = transfer(4242, &runs[0]);
    uint64_t b = transfer(4242, &runs[1]);
    CHECK_EQ(a, b);
    CHECK_EQ(runs[0].nsizes, runs[1].nsizes);
    CHECK(memcmp(runs[0].sizes, runs[1].sizes, (size_t)runs[0].nsizes * sizeof(int32_t)) == 0);
    uint64_t c = transfer(4243, &runs[1]);
    CHECK(a != c);
    CHECK(runs[0].nsizes != runs[1].nsizes ||
          memcmp(runs[0].sizes, runs[1].sizes, (size_t)runs[0].nsizes * sizeof(int32_t)) != 0);
}

/* ---- ends of a pipe, with callbacks ---- */

static void eof_after_writer_close(void) {
    cio_loop loop;
    mock_loop(&loop, 11);
    cio_fd fds[2];
    CHECK_EQ(cio_mock_pipe(&loop, fds), 0);
    char buf[8] = {0};
    t_op rd, wr, cl, rd2, cl2;
    cio_prep_read(&rd.op, fds[0], buf, sizeof buf, 0);
    submit(&loop, &rd);
    settle(&loop);
    CHECK_EQ(rd.finals, 0); /* parked: nothing to read, a writer left */
    cio_prep_write(&wr.op, fds[1], "x", 1, 0);
    submit(&loop, &wr);
    run_until_done(&loop, &rd);
    CHECK_EQ(rd.res, 1);
    CHECK_EQ(buf[0], 'x');
    run_until_done(&loop, &wr);
    CHECK_EQ(wr.res, 1);
    /* Parked again, then the writer goes: end of file. */
    cio_prep_read(&rd2.op, fds[0], buf, sizeof buf, 0);
    submit(&loop, &rd2);
    settle(&loop);
    CHECK_EQ(rd2.finals, 0);
    cio_prep_close(&cl.op, fds[1]);
    submit(&loop, &cl);
    t_run(&loop, 10.0);
    CHECK_EQ(cl.finals, 1);
    CHECK_EQ(cl.res, 0);
    CHECK_EQ(rd2.finals, 1);
    CHECK_EQ(rd2.res, 0);
    /* A read after end of file, then the close of the last end. */
    cio_prep_read(&rd.op, fds[0], buf, sizeof buf, 0);
    submit(&loop, &rd);
    t_run(&loop, 10.0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, 0);
    cio_prep_close(&cl2.op, fds[0]);
    submit(&loop, &cl2);
    t_run(&loop, 10.0);
    CHECK_EQ(cl2.res, 0);
    /* Closed twice: not open any more. */
    cio_prep_close(&cl2.op, fds[0]);
    submit(&loop, &cl2);
    t_run(&loop, 10.0);
    CHECK_EQ(cl2.res, -CIO_EBADF);
    t_close(&loop);
}

static void epipe_after_reader_close(void) {
    cio_loop loop;
    mock_loop(&loop, 12);
    cio_fd fds[2];
    CHECK_EQ(cio_mock_pipe(&loop, fds), 0);
    /* Fill the pipe: the writes complete until one parks. */
    static char big[8192];
    t_op wr, cl, wr2, pl;
    uint32_t filled = 0;
    for (int i = 0; i < 10000; i++) {
        cio_prep_write(&wr.op, fds[1], big, sizeof big, 0);
        submit(&loop, &wr);
        settle(&loop);
        if (!wr.finals) break;
        CHECK(wr.res > 0);
        filled += (uint32_t)wr.res;
    }
    CHECK_EQ(wr.finals, 0);
    CHECK_EQ(filled, CIO_MOCK_PIPE_CAPACITY);
    /* Full: a poll for POLLOUT waits too. */
    cio_prep_poll(&pl.op, fds[1], CIO_POLLOUT);
    submit(&loop, &pl);
    settle(&loop);
    CHECK_EQ(pl.finals, 0);
    cio_prep_close(&cl.op, fds[0]);
    submit(&loop, &cl);
    t_run(&loop, 10.0);
    CHECK_EQ(cl.finals, 1);
    CHECK_EQ(cl.res, 0);
    CHECK_EQ(wr.finals, 1);
    CHECK_EQ(wr.res, -CIO_EPIPE);
    CHECK_EQ(pl.finals, 1);
    CHECK_EQ(pl.res, CIO_POLLERR);
    cio_prep_write(&wr2.op, fds[1], "y", 1, 0);
    submit(&loop, &wr2);
    t_run(&loop, 10.0);
    CHECK_EQ(wr2.finals, 1);
    CHECK_EQ(wr2.res, -CIO_EPIPE);
    mock_close(&loop, 1); /* frees the write end left open */
}

static void poll_events(void) {
    cio_loop loop;
    mock_loop(&loop, 13);
    cio_fd fds[2];
    CHECK_EQ(cio_mock_pipe(&loop, fds), 0);
    t_op pin, pout, wr, cl;
    cio_prep_poll(&pout.op, fds[1], CIO_POLLOUT);
    submit(&loop, &pout);
    cio_prep_poll(&pin.op, fds[0], CIO_POLLIN);
    submit(&loop, &pin);
    run_until_done(&loop, &pout);
    CHECK_EQ(pout.res, CIO_POLLOUT);
    settle(&loop);
    CHECK_EQ(pin.finals, 0); /* empty: waits */
    cio_prep_write(&wr.op, fds[1], "z", 1, 0);
    submit(&loop, &wr);
    run_until_done(&loop, &pin);
    CHECK_EQ(pin.res, CIO_POLLIN);
    CHECK_EQ(pin.finals, 1);
    cio_prep_close(&cl.op, fds[1]);
    submit(&loop, &cl);
    t_run(&loop, 10.0);
    cio_prep_poll(&pin.op, fds[0], CIO_POLLIN);
    submit(&loop, &pin);
    t_run(&loop, 10.0);
    CHECK_EQ(pin.res, CIO_POLLIN | CIO_POLLHUP); /* a byte left, no writer */
    mock_close(&loop, 1);
}

/* ---- parked ops ended by a cancel, a deadline, a close ---- */

static void parked_ends(void) {
    cio_loop loop;
    mock_loop(&loop, 14);
    cio_fd fds[2];
    CHECK_EQ(cio_mock_pipe(&loop, fds), 0);
    char buf[16];
    t_op rd, cancel, cl, late;

    /* A cancel. */
    cio_prep_read(&rd.op, fds[0], buf, sizeof buf, 0);
    submit(&loop, &rd);
    settle(&loop);
    CHECK_EQ(rd.finals, 0);
    cio_prep_cancel(&cancel.op, &rd.op);
    submit(&loop, &cancel);
    t_run(&loop, 10.0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
    CHECK_EQ(cancel.finals, 1);
    CHECK_EQ(cancel.res, 0);

    /* A deadline an hour away in virtual time: the clock jumps to it. */
    uint64_t t0 = cio_now(&loop);
    double real0 = t_seconds();
    uint64_t hour = 3600ull * 1000 * 1000 * 1000;
    cio_prep_read(&rd.op, fds[0], buf, sizeof buf, 0);
    rd.op.deadline = t0 + hour;
    submit(&loop, &rd);
    t_run(&loop, 10.0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ETIMEDOUT);
    uint64_t t1 = cio_now(&loop);
    CHECK(t1 >= t0 + hour);
    CHECK(t1 < t0 + hour + 1000 * 1000); /* at the deadline, not a wait past it */
    CHECK(t_seconds() - real0 < 5.0);

    /* The pipe still works after those: nothing was lost or half done. */
    t_op wr;
    cio_prep_write(&wr.op, fds[1], "ab", 2, 0);
    submit(&loop, &wr);
    t_run(&loop, 10.0);
    CHECK(wr.res >= 1);
    cio_prep_read(&rd.op, fds[0], buf, sizeof buf, 0);
    submit(&loop, &rd);
    t_run(&loop, 10.0);
    CHECK(rd.res >= 1 && rd.res <= wr.res);
    CHECK_EQ(buf[0], 'a');
    if (rd.res == 1) { /* a short read: the rest is still there */
        cio_prep_read(&rd.op, fds[0], buf, sizeof buf, 0);
        submit(&loop, &rd);
        t_run(&loop, 10.0);
        CHECK_EQ(rd.res, wr.res - 1);
        if (wr.res == 2) CHECK_EQ(buf[0], 'b');
    }

    /* A close of the read end ends the parked read first, with
     * -CIO_ECANCELED even though it has a deadline; an op submitted on
     * the end after the close is -CIO_EBADF. */
    cio_prep_read(&rd.op, fds[0], buf, sizeof buf, 0);
    rd.op.deadline = cio_now(&loop) + hour;
    submit(&loop, &rd);
    settle(&loop);
    CHECK_EQ(rd.finals, 0);
    cio_prep_close(&cl.op, fds[0]);
    submit(&loop, &cl);
    cio_prep_read(&late.op, fds[0], buf, sizeof buf, 0);
    submit(&loop, &late);
    t_run(&loop, 10.0);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
    CHECK_EQ(cl.finals, 1);
    CHECK_EQ(cl.res, 0);
    CHECK(rd.order < cl.order);
    CHECK_EQ(late.finals, 1);
    CHECK_EQ(late.res, -CIO_EBADF);
    CHECK(cio_now(&loop) < t1 + hour / 2); /* the close did not wait for the deadline */

    /* The wrong end: a read of the write end. */
    cio_prep_read(&rd.op, fds[1], buf, sizeof buf, 0);
    submit(&loop, &rd);
    t_run(&loop, 10.0);
    CHECK_EQ(rd.res, -CIO_EBADF);
    /* A parked op left at the loop's close ends there, exactly once. */
    cio_fd more[2];
    CHECK_EQ(cio_mock_pipe(&loop, more), 0);
    /* Lowest number first, as descriptors: the closed read end's, never
     * the open write end's. */
    CHECK_EQ(more[0], fds[0]);
    CHECK(more[1] != fds[1]);
    cio_prep_read(&rd.op, more[0], buf, sizeof buf, 0);
    submit(&loop, &rd);
    settle(&loop);
    CHECK_EQ(rd.finals, 0);
    mock_close(&loop, 3);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
}

/* ---- simulated handles and the real system ---- */

static void real_system(void) {
    cio_loop loop;
    mock_loop(&loop, 15);
    cio_fd fds[2];
    CHECK_EQ(cio_mock_pipe(&loop, fds), 0);
    char c = 0;
    CHECK_EQ(t_sys_read(fds[0], &c, 1), -EBADF);
    CHECK_EQ(t_sys_write(fds[1], "q", 1), -EBADF);
#if !defined(_WIN32)
    CHECK_EQ(fcntl(fds[0], F_GETFD), -1);
#endif

    /* A real pipe's handle on the mock: -CIO_EBADF (it is no handle of the
     * simulated world), its byte untouched. */
    cio_fd p[2];
    CHECK_EQ(t_pipe(p), 0);
    CHECK_EQ(t_sys_write(p[1], "r", 1), 1);
    t_op rd, cl;
    cio_prep_read(&rd.op, p[0], &c, 1, 0);
    submit(&loop, &rd);
    cio_prep_close(&cl.op, p[0]);
    submit(&loop, &cl);
    t_run(&loop, 10.0);
    CHECK_EQ(rd.res, -CIO_EBADF);
    CHECK_EQ(cl.res, -CIO_EBADF);
    CHECK_EQ(t_sys_read(p[0], &c, 1), 1);
    CHECK_EQ(c, 'r');
    t_close_handle(p[0]);
    t_close_handle(p[1]);
    t_close(&loop);
    CHECK_EQ(cio_mock_pipe(&loop, fds), -CIO_EINVAL); /* closed */

    /* A loop on a real backend has no simulated world. */
    cio_loop real;
    cio_loop_options o;
    memset(&o, 0, sizeof o);
    o.backend = T_REAL_BACKEND;
    CHECK_EQ(cio_loop_init(&real, &o), 0);
    CHECK_EQ(cio_mock_pipe(&real, fds), -CIO_EINVAL);
    t_close(&real);
}

int main(void) {
    t_watchdog();
    t_unsetenv("CIO_BACKEND"); /* the options name the backend */
    t_unsetenv("CIO_MOCK_SEED");
    eof_after_writer_close();
    epipe_after_reader_close();
    poll_events();
    parked_ends();
    real_system();
    determinism();
    many_seeds();
    printf("mock_pipe: ok\n");
    return 0;
}
