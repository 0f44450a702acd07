/*
 * mock_short_write - finding a bug by seed with the mock backend
 * (docs/testing.md walks through it).
 *
 * A writer sends a few messages through a connected stream socket with
 * one write op each; a reader at the other end collects them. The buggy
 * writer counts a message as sent when its write completes, whatever the
 * count: a real socket may take fewer bytes than asked (when its buffer is
 * nearly full), and so may the simulated one, when the seed says so. The
 * fixed writer writes the rest. (A pipe would not do: a write of at most
 * PIPE_BUF bytes to a pipe is atomic.)
 *
 *   mock_short_write [seeds [first_seed [fixed]]]
 *
 * runs the program under each seed on the mock backend and prints the
 * first seed whose run lost bytes, with the command that replays it. Exit
 * status 1 if a seed failed.
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGES 8
#define MSG_LEN 1500 /* several fill the socket's buffer (4 KiB on the mock), so writes come back short */

typedef struct writer {
    cio_op op;
    cio_fd fd;
    char msg[MSG_LEN];
    int sent;      /* messages done */
    uint32_t done; /* bytes of the current message written */
    bool fixed;
    int err;
} writer;

typedef struct reader {
    cio_op op;
    cio_fd fd;
    char buf[512];
    size_t total;
    int err;
} reader;

static void on_write(cio_loop *loop, cio_op *op);

static void write_next(cio_loop *loop, writer *w) {
    cio_prep_write(&w->op, w->fd, w->msg + w->done, MSG_LEN - w->done, CIO_OFFSET_CURRENT);
    w->op.cb = on_write;
    w->op.data = w;
    int r = cio_submit(loop, &w->op);
    if (r < 0) w->err = r;
}

static void close_fd(cio_loop *loop, cio_op *op, cio_fd fd) {
    cio_prep_close(op, fd);
    op->cb = NULL;
    cio_submit(loop, op);
}

static void on_write(cio_loop *loop, cio_op *op) {
    writer *w = op->data;
    if (op->res < 0) {
        w->err = op->res;
        return;
    }
    if (w->fixed) {
        w->done += (uint32_t)op->res; /* a short write: the rest is still to go */
        if (w->done < MSG_LEN) {
            write_next(loop, w);
            return;
        }
    }
    /* The bug, when not fixed: the message counts as sent even if the
     * write moved only part of it. */
    w->done = 0;
    if (++w->sent < MESSAGES) {
        write_next(loop, w);
        return;
    }
    close_fd(loop, &w->op, w->fd); /* the reader sees end of file */
}

static void on_read(cio_loop *loop, cio_op *op);

static void read_next(cio_loop *loop, reader *r) {
    cio_prep_read(&r->op, r->fd, r->buf, sizeof r->buf, CIO_OFFSET_CURRENT);
    r->op.cb = on_read;
    r->op.data = r;
    int e = cio_submit(loop, &r->op);
    if (e < 0) r->err = e;
}

static void on_read(cio_loop *loop, cio_op *op) {
    reader *r = op->data;
    if (op->res <= 0) { /* end of file, or an error */
        if (op->res < 0) r->err = op->res;
        close_fd(loop, &r->op, r->fd);
        return;
    }
    r->total += (size_t)op->res;
    read_next(loop, r);
}

/* One run under `seed`: 0 if every byte arrived, else -1. */
static int run(uint64_t seed, bool fixed, size_t *got) {
    cio_loop loop;
    cio_loop_options o = {0};
    o.backend = CIO_BACKEND_MOCK;
    o.seed = seed;
    int e = cio_loop_init(&loop, &o);
    if (e < 0) {
        fprintf(stderr, "cio_loop_init: %s\n", cio_strerror(e));
        exit(2);
    }
    cio_fd fds[2];
    if ((e = cio_mock_socketpair(&loop, fds)) < 0) {
        fprintf(stderr, "cio_mock_socketpair: %s\n", cio_strerror(e));
        exit(2);
    }
    static writer w;
    static reader r;
    memset(&w, 0, sizeof w);
    memset(&r, 0, sizeof r);
    memset(w.msg, 'm', sizeof w.msg);
    w.fd = fds[1];
    w.fixed = fixed;
    r.fd = fds[0];
    write_next(&loop, &w);
    read_next(&loop, &r);
    cio_loop_run(&loop, CIO_RUN_DEFAULT);
    for (int i = 0; i < 2; i++) { /* the sockets are ours to close, not the loop's */
        cio_op c;
        cio_prep_close(&c, fds[i]);
        if (cio_submit(&loop, &c) == 0) cio_loop_run(&loop, CIO_RUN_DEFAULT);
    }
    cio_loop_close(&loop);
    *got = r.total;
    return (w.err || r.err || r.total != (size_t)MESSAGES * MSG_LEN) ? -1 : 0;
}

int main(int argc, char **argv) {
    unsigned seeds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 100;
    uint64_t first = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    bool fixed = argc > 3 && strcmp(argv[3], "fixed") == 0;
    for (uint64_t s = first; s < first + seeds; s++) {
        size_t got;
        if (run(s, fixed, &got) < 0) {
            printf("seed %llu: the reader got %zu of %d bytes\n", (unsigned long long)s, got,
                   MESSAGES * MSG_LEN);
            printf("replay: %s 1 %llu%s\n", argv[0], (unsigned long long)s, fixed ? " fixed" : "");
            return 1;
        }
    }
    printf("%u seeds from %llu: every byte arrived\n", seeds, (unsigned long long)first);
    return 0;
}
