/*
 * bench/task_mem.c - resident memory per parked task, for bench/task_mem.sh.
 *
 * Usage: task_mem BACKEND [TASKS]   (TASKS: even, default 10000)
 *
 * Opens TASKS/2 socket pairs, spawns one task per socket end, each of
 * which blocks in cio_recv() on its end with a 16-byte buffer (the
 * smallest plausible frame of its own, so that the number is the
 * runtime's), and once all are parked reads the process's resident memory
 * again. What the tasks added, divided by TASKS, is the cost of one task
 * parked in IO: its stack pages, its in-flight op and whatever the loop
 * keeps per op or per fd. Kernel memory (socket buffers, io_uring's
 * requests, page tables, the mappings themselves) is not resident memory
 * and is not counted; page tables are reported apart.
 *
 * Everything the measurement does not own is warmed first: one task is
 * spawned, parked, woken and joined on the same path, so that code pages,
 * the signal stack and the loop's lazily grown tables are in before the
 * first reading.
 *
 * Then each task's stack is inspected with mincore(): the task struct
 * sits at the top of its stack (cio_task_current() points into that top
 * page), so the resident pages of the 64 pages below and including that
 * one are the pages the task has touched; and the lowest byte written in
 * them (a fresh stack is all zeros) tells how deep the parked task's
 * frames, plus the task struct, reach: how close it is to a second page.
 *
 * At the end a byte is written to every socket end, every task returns
 * with it, and the loop must drain to nothing.
 *
 * Prints one line, e.g.
 *     bench=task_mem impl=cio-io_uring tasks=10000 rss_kib=... anon_kib=... pte_kib=...
 *         kib_per_task=... anon_kib_per_task=... stack_pages_per_task=... stack_bytes_per_task=...
 *         pte_kib_per_task=...
 */
#include <cio.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bench_cio.h"

typedef struct slot {
    cio_fd fd;
    int32_t res;
    const void *top; /* the running task's handle: in the top page of its stack */
} slot;

static unsigned parked, finished;

static void fail(const char *what, int err) {
    fprintf(stderr, "task_mem: %s: %s\n", what, cio_strerror(err));
    exit(1);
}

static intptr_t receiver(void *arg) {
    slot *s = arg;
    char buf[16];
    s->top = cio_task_current();
    parked++;
    s->res = cio_recv(s->fd, buf, sizeof buf, 0);
    finished++;
    return 0;
}

/* One field of /proc/self/status, in KiB. */
static long status_kib(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) fail("/proc/self/status", -errno);
    char line[256];
    size_t klen = strlen(key);
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    fclose(f);
    if (v < 0) {
        fprintf(stderr, "task_mem: no %s in /proc/self/status\n", key);
        exit(1);
    }
    return v;
}

typedef struct mem {
    long rss, anon, pte;
} mem;

static mem mem_now(void) { return (mem){status_kib("VmRSS"), status_kib("RssAnon"), status_kib("VmPTE")}; }

/* Runs the loop without waiting until `*count` reaches `want` (bounded:
 * everything here completes without waiting for anything but the loop). */
static void run_until(cio_loop *loop, const unsigned *count, unsigned want) {
    for (int i = 0; *count < want; i++) {
        if (i == 1000000) {
            fprintf(stderr, "task_mem: stuck at %u of %u tasks\n", *count, want);
            exit(1);
        }
        int r = cio_loop_run(loop, CIO_RUN_NOWAIT);
        if (r < 0) fail("cio_loop_run", r);
    }
}

/* Spawns one receiver per slot, runs them until all are parked, and lets
 * the loop hand every receive to the kernel. */
static void park_all(cio_loop *loop, slot *slots, unsigned n) {
    unsigned base = parked;
    for (unsigned i = 0; i < n; i++) {
        int r = cio_task_spawn(loop, receiver, &slots[i], &(cio_task_options){.detached = true}, NULL);
        if (r < 0) fail("cio_task_spawn", r);
    }
    run_until(loop, &parked, base + n);
    for (int i = 0; i < 3; i++) {
        int r = cio_loop_run(loop, CIO_RUN_NOWAIT);
        if (r < 0) fail("cio_loop_run", r);
    }
}

/* Wakes every receiver with one byte from its peer and runs the loop until
 * all have returned. */
static void wake_all(cio_loop *loop, slot *slots, unsigned n) {
    unsigned base = finished;
    for (unsigned i = 0; i < n; i++)
        if (send(slots[i ^ 1].fd, "x", 1, MSG_NOSIGNAL) != 1) fail("send", -errno);
    for (int i = 0; finished < base + n; i++) {
        if (i == 100000) {
            fprintf(stderr, "task_mem: only %u of %u tasks woke\n", finished - base, n);
            exit(1);
        }
        int r = cio_loop_run(loop, CIO_RUN_ONCE);
        if (r < 0) fail("cio_loop_run", r);
    }
    for (unsigned i = 0; i < n; i++)
        if (slots[i].res != 1) fail("a task's recv", slots[i].res < 0 ? slots[i].res : -CIO_EIO);
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s BACKEND [TASKS]\n", argv[0]);
        return 2;
    }
    cio_backend_kind kind = bench_backend(argv[0], argv[1]);
    unsigned n = argc == 3 ? (unsigned)bench_arg(argv[0], argv[2], "task count") : 10000;
    if (n % 2) n++;

    /* One fd per task, and a few more for the loop and the warm-up pair. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) fail("getrlimit", -errno);
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) fail("setrlimit", -errno);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)n + 64) {
        fprintf(stderr, "task_mem: %u tasks need %u fds; the hard limit is %llu\n", n, n + 64,
                (unsigned long long)rl.rlim_max);
        return 1;
    }

    slot *slots = calloc(n + 2, sizeof *slots);
    if (!slots) return 1;
    for (unsigned i = 0; i < n + 2; i += 2) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) fail("socketpair", -errno);
        slots[i].fd = sv[0];
        slots[i + 1].fd = sv[1];
    }
    slot *warm = &slots[n]; /* the last pair */

    static cio_loop loop;
    bench_loop_init(argv[0], &loop, kind, 0);

    park_all(&loop, warm, 2);
    wake_all(&loop, warm, 2);

    mem before = mem_now();
    park_all(&loop, slots, n);
    mem after = mem_now();

    /* The pages each stack has touched, from the top page down, and how
     * deep into them it has written: a fresh stack is zero-filled, so the
     * lowest nonzero byte bounds the deepest frame (from below: a frame
     * may end in zeros). */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char vec[64];
    unsigned long pages = 0;
    unsigned long long depth = 0;
    for (unsigned i = 0; i < n; i++) {
        uintptr_t top_page = (uintptr_t)slots[i].top & ~(uintptr_t)(page - 1);
        const char *lo = (const char *)(top_page - 63 * page);
        if (mincore((void *)lo, 64 * page, vec) < 0) fail("mincore", -errno);
        int first = -1;
        for (int p = 0; p < 64; p++)
            if (vec[p] & 1) {
                pages++;
                if (first < 0) first = p;
            }
        if (first < 0) continue;
        const char *end = (const char *)top_page + page, *q = lo + (size_t)first * page;
        while (q < end && *q == 0) q++;
        depth += (unsigned long long)(end - q);
    }

    wake_all(&loop, slots, n);
    int r = cio_loop_run(&loop, CIO_RUN_NOWAIT);
    if (r != 0) {
        fprintf(stderr, "task_mem: %d ops still active after the tasks returned\n", r);
        return 1;
    }

    long rss = after.rss - before.rss, anon = after.anon - before.anon, pte = after.pte - before.pte;
    printf("bench=task_mem impl=cio-%s tasks=%u rss_kib=%ld anon_kib=%ld pte_kib=%ld kib_per_task=%.3f "
           "anon_kib_per_task=%.3f stack_pages_per_task=%.3f stack_bytes_per_task=%.0f pte_kib_per_task=%.3f\n",
           cio_backend_name(kind), n, rss, anon, pte, (double)rss / n, (double)anon / n, (double)pages / n,
           (double)depth / n, (double)pte / n);
    if (cio_loop_close(&loop) != 0) return 1;
    for (unsigned i = 0; i < n + 2; i++) close(slots[i].fd);
    free(slots);
    return 0;
}
