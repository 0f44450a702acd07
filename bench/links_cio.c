/*
 * bench/links_cio.c - link chains per second through cio's loop.
 *
 * Runs CHAINS chains one after another, each of N soft-linked ops
 * (CIO_F_LINK) submitted with one cio_submit_batch(); the callback of a
 * chain's last op submits the next chain. KIND "nop": N no-ops. KIND
 * "pipe": N/2 pairs of a 64-byte write into a pipe and the read of those
 * bytes back, every byte checked. On io_uring the chain runs with the
 * kernel's links (one submission, no loop turn between its ops); with
 * CIO_URING_DISABLE=links in the environment the core starts each op when
 * the one before it has completed, as on every other backend. bench/links.sh
 * runs both alternately.
 *
 * Prints one line: bench=links kind=K n=N backend=B links=kernel|core
 * chains=C chains_per_s=R ops_per_s=O enters_per_chain=E.
 *
 * usage: links_cio KIND N CHAINS [BACKEND]
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_cio.h"

#define MAX_N 64
#define PIPE_BYTES 64

typedef struct bench {
    cio_op ops[MAX_N];
    cio_op *ptrs[MAX_N];
    unsigned n;
    int pipe_kind;
    cio_fd fds[2];
    char out[MAX_N / 2][PIPE_BYTES];
    char in[MAX_N / 2][PIPE_BYTES];
    uint64_t left, done;
} bench;

static void on_op(cio_loop *loop, cio_op *op);

static void submit_chain(cio_loop *loop, bench *b) {
    for (unsigned i = 0; i < b->n; i++) {
        cio_op *op = &b->ops[i];
        if (!b->pipe_kind)
            cio_prep_nop(op);
        else if (i % 2 == 0)
            cio_prep_write(op, b->fds[1], b->out[i / 2], PIPE_BYTES, CIO_OFFSET_CURRENT);
        else
            cio_prep_read(op, b->fds[0], b->in[i / 2], PIPE_BYTES, CIO_OFFSET_CURRENT);
        op->flags = i + 1 < b->n ? CIO_F_LINK : 0;
        op->cb = on_op;
        op->data = b;
        b->ptrs[i] = op;
    }
    int r = cio_submit_batch(loop, b->ptrs, b->n);
    if (r < 0) {
        fprintf(stderr, "links_cio: cio_submit_batch: %s\n", cio_strerror(r));
        exit(1);
    }
}

static void on_op(cio_loop *loop, cio_op *op) {
    bench *b = op->data;
    unsigned i = (unsigned)(op - b->ops);
    int32_t want = !b->pipe_kind ? 0 : PIPE_BYTES;
    if (op->res != want) {
        fprintf(stderr, "links_cio: op %u of a chain: %d (%s)\n", i, op->res, op->res < 0 ? cio_strerror(op->res) : "short");
        exit(1);
    }
    if (b->pipe_kind && i % 2 == 1 && memcmp(b->in[i / 2], b->out[i / 2], PIPE_BYTES) != 0) {
        fprintf(stderr, "links_cio: the bytes read back differ\n");
        exit(1);
    }
    if (i + 1 < b->n) return;
    b->done++;
    if (--b->left) submit_chain(loop, b);
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s nop|pipe N CHAINS [BACKEND]\n", argv[0]);
        return 2;
    }
    static bench b;
    b.pipe_kind = strcmp(argv[1], "pipe") == 0;
    if (!b.pipe_kind && strcmp(argv[1], "nop") != 0) {
        fprintf(stderr, "%s: KIND is nop or pipe\n", argv[0]);
        return 2;
    }
    b.n = (unsigned)strtoul(argv[2], NULL, 10);
    uint64_t chains = strtoull(argv[3], NULL, 10);
    if (b.n < 2 || b.n > MAX_N || (b.pipe_kind && b.n % 2) || chains == 0) {
        fprintf(stderr, "%s: N from 2 to %d (even for pipe), CHAINS > 0\n", argv[0], MAX_N);
        return 2;
    }
    cio_backend_kind kind = bench_backend(argv[0], argc == 5 ? argv[4] : "io_uring");
    cio_loop loop;
    bench_loop_init(argv[0], &loop, kind, 2 * MAX_N);
    if (b.pipe_kind) {
        int r = cio_pipe(&loop, b.fds);
        if (r < 0) {
            fprintf(stderr, "%s: cio_pipe: %s\n", argv[0], cio_strerror(r));
            return 1;
        }
        for (unsigned i = 0; i < MAX_N / 2; i++)
            for (unsigned k = 0; k < PIPE_BYTES; k++) b.out[i][k] = (char)(i * 13 + k);
    }
    b.left = chains;
    cio_stats s0, s1;
    cio_loop_stats(&loop, &s0);
    uint64_t t0 = bench_now_ns();
    submit_chain(&loop, &b);
    int r = cio_loop_run(&loop, CIO_RUN_DEFAULT);
    uint64_t ns = bench_now_ns() - t0;
    cio_loop_stats(&loop, &s1);
    if (r != 0 || b.done != chains) {
        fprintf(stderr, "%s: run returned %d after %llu of %llu chains\n", argv[0], r, (unsigned long long)b.done,
                (unsigned long long)chains);
        return 1;
    }
    const char *off = getenv("CIO_URING_DISABLE");
    int kernel = kind == CIO_BACKEND_URING && !(off && strstr(off, "links"));
    printf("bench=links kind=%s n=%u backend=%s links=%s chains=%llu chains_per_s=%.0f ops_per_s=%.0f "
           "enters_per_chain=%.3f\n",
           argv[1], b.n, cio_backend_name(kind), kernel ? "kernel" : "core", (unsigned long long)chains,
           (double)chains * 1e9 / (double)ns, (double)chains * b.n * 1e9 / (double)ns,
           (double)(s1.enters - s0.enters) / (double)chains);
    if (b.pipe_kind) {
        cio_op c;
        for (int i = 0; i < 2; i++) {
            cio_prep_close(&c, b.fds[i]);
            c.cb = NULL;
            if (cio_submit(&loop, &c) == 0) cio_loop_run(&loop, CIO_RUN_DEFAULT);
        }
    }
    return cio_loop_close(&loop) == 0 ? 0 : 1;
}
