/*
 * tests/fs_peer.h - the other end of a pipe for the read-all and write-all
 * tests: a writer that sends deterministic bytes in small pieces (so that
 * reads come short) and a reader that takes everything and checksums it.
 * On the real backends a thread with plain system calls (the oracle); on
 * the mock, whose handles only ops can reach, a task with cio's one-op
 * calls (the mock makes their transfers short at random).
 */
#ifndef CIO_TEST_FS_PEER_H
#define CIO_TEST_FS_PEER_H

#include "fs_l3.h"

typedef struct fs_peer {
    cio_fd fd;      /* the peer's end; it closes it when done */
    size_t len;     /* writer: bytes to send */
    size_t piece;   /* writer: bytes per write */
    uint64_t seed;  /* writer: the bytes, fs_fill(seed) */
    uint64_t sum;   /* reader: checksum of what came */
    long long got;  /* reader: bytes that came; writer: bytes sent */
    volatile int done;
    t_thread th;
} fs_peer;

static void *fs_peer_writer_thread(void *arg) {
    fs_peer *p = (fs_peer *)arg;
    unsigned char *buf = (unsigned char *)malloc(p->len + 1);
    CHECK(buf);
    fs_fill(buf, p->len, p->seed);
    size_t off = 0;
    while (off < p->len) {
        size_t m = p->len - off < p->piece ? p->len - off : p->piece;
        long long n = t_sys_write(p->fd, buf + off, m);
        if (n <= 0) break;
        off += (size_t)n;
        if ((off / p->piece) % 16 == 0) t_sleep_us(200); /* let the reader drain: short reads */
    }
    p->got = (long long)off;
    free(buf);
    CHECK_EQ(t_close_handle(p->fd), 0);
    p->done = 1;
    return NULL;
}

static void *fs_peer_reader_thread(void *arg) {
    fs_peer *p = (fs_peer *)arg;
    unsigned char buf[8192];
    uint64_t h = 0xcbf29ce484222325ull;
    long long n;
    while ((n = t_sys_read(p->fd, buf, sizeof buf)) > 0) {
        for (long long i = 0; i < n; i++) h = (h ^ buf[i]) * 0x100000001b3ull;
        p->got += n;
    }
    p->sum = h;
    CHECK_EQ(t_close_handle(p->fd), 0);
    p->done = 1;
    return NULL;
}

static intptr_t fs_peer_writer_task(void *arg) {
    fs_peer *p = (fs_peer *)arg;
    unsigned char *buf = (unsigned char *)malloc(p->len + 1);
    CHECK(buf);
    fs_fill(buf, p->len, p->seed);
    size_t off = 0;
    while (off < p->len) {
        size_t m = p->len - off < p->piece ? p->len - off : p->piece;
        int32_t n = cio_write(p->fd, buf + off, (uint32_t)m, CIO_OFFSET_CURRENT);
        if (n <= 0) break;
        off += (size_t)n;
    }
    p->got = (long long)off;
    free(buf);
    CHECK_EQ(cio_close(p->fd), 0);
    p->done = 1;
    return 0;
}

static intptr_t fs_peer_reader_task(void *arg) {
    fs_peer *p = (fs_peer *)arg;
    unsigned char buf[8192];
    uint64_t h = 0xcbf29ce484222325ull;
    int32_t n;
    while ((n = cio_read(p->fd, buf, sizeof buf, CIO_OFFSET_CURRENT)) > 0) {
        for (int32_t i = 0; i < n; i++) h = (h ^ buf[i]) * 0x100000001b3ull;
        p->got += n;
    }
    CHECK_EQ(n, 0);
    p->sum = h;
    CHECK_EQ(cio_close(p->fd), 0);
    p->done = 1;
    return 0;
}

/* A pipe of the backend's kind: p[0] read end, p[1] write end. */
static inline void fs_pipe(cio_fd p[2]) {
    if (fs_E.mock)
        CHECK_EQ(cio_mock_pipe(&fs_E.loop, p), 0);
    else
        CHECK_EQ(t_pipe(p), 0);
}

static inline void fs_peer_start(fs_peer *p, int writer) {
    p->done = 0;
    p->got = 0;
    if (fs_E.mock) {
        cio_task_options o = {0};
        o.detached = true;
        CHECK_EQ(cio_task_spawn(&fs_E.loop, writer ? fs_peer_writer_task : fs_peer_reader_task, p, &o, NULL), 0);
    } else {
        CHECK_EQ(t_thread_start(&p->th, writer ? fs_peer_writer_thread : fs_peer_reader_thread, p), 0);
    }
}

/* Waits until the peer has finished: from a task (sleeping, bounded) or
 * from outside one (running the loop, bounded). */
static inline void fs_peer_wait(fs_peer *p) {
    if (!fs_E.mock) {
        CHECK_EQ(t_thread_join(&p->th, NULL), 0);
        return;
    }
    if (cio_task_current()) {
        for (int i = 0; i < 100000 && !p->done; i++) CHECK_EQ(cio_sleep(1000000), 0);
        CHECK(p->done);
    } else {
        t_run_until(&fs_E.loop, &p->done, 30.0);
    }
}

#endif /* CIO_TEST_FS_PEER_H */
