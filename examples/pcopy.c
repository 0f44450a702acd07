/*
 * pcopy - a parallel file copy: a group of tasks copies the files chunk by
 * chunk, each task taking the next chunk as soon as it is free.
 *
 *   pcopy [-j TASKS] [-c CHUNK] SRC DST        one file
 *   pcopy [-j TASKS] [-c CHUNK] SRC... DIR     files into a directory
 *   pcopy self                                 copies files of its own and checks them
 *
 * TASKS defaults to 4, CHUNK to 1 MiB. Each copy gets the permission bits
 * of its source (as cp(1) without -p); an existing destination is cut to
 * the new size. With several tasks, reads and writes of several chunks are
 * in flight at once: on io_uring they all go to the kernel together, on
 * epoll and poll they run side by side on the blocking pool. The first
 * error cancels the other tasks (CIO_GROUP_CANCEL_ON_ERROR).
 *
 * With `self` it runs alone on every backend, the mock's in-memory file
 * system included: CIO_BACKEND=mock pcopy self
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct file_job {
    const char *src;
    char dst[1024];
    cio_fd in, out;
    uint64_t size;
} file_job;

/* The work: every chunk of every file, handed out in order. One thread
 * runs all the tasks, so taking a chunk needs no lock. */
typedef struct plan {
    file_job *jobs;
    int count;
    int next;          /* the file whose chunks are being handed out */
    uint64_t next_off; /* its next chunk */
    uint32_t chunk;
    uint64_t copied;
} plan;

static int take(plan *p, file_job **job, uint64_t *off, uint32_t *len) {
    for (; p->next < p->count; p->next++, p->next_off = 0) {
        file_job *j = &p->jobs[p->next];
        if (p->next_off < j->size) {
            *job = j;
            *off = p->next_off;
            *len = j->size - *off < p->chunk ? (uint32_t)(j->size - *off) : p->chunk;
            p->next_off += *len;
            return 1;
        }
    }
    return 0;
}

/* One of the copying tasks: chunks until none is left, or an error. */
static intptr_t worker(void *arg) {
    plan *p = arg;
    char *buf = malloc(p->chunk); /* a chunk is too large for a task's stack */
    if (!buf) return -CIO_ENOMEM;
    file_job *j;
    uint64_t off;
    uint32_t len;
    int64_t r = 0;
    while (r >= 0 && take(p, &j, &off, &len)) {
        r = cio_file_read_all(j->in, buf, len, off, NULL); /* loops over short reads */
        if (r >= 0 && r != len) r = -CIO_EIO;           /* the source shrank under us */
        if (r >= 0) r = cio_file_write_all(j->out, buf, len, off, NULL);
        if (r >= 0) p->copied += len;
        else if (r != -CIO_ECANCELED) /* another task's error cancelled this one: said there */
            fprintf(stderr, "pcopy: %s: %s\n", j->src, cio_strerror((int32_t)r));
    }
    free(buf);
    return r < 0 ? (intptr_t)r : 0;
}

/* Opens every source and destination, then copies with `tasks` tasks.
 * 0, or an error (reported). */
static int32_t copy_files(const char *const *srcs, int count, const char *dst, unsigned tasks, uint32_t chunk) {
    cio_statx st;
    int to_dir = cio_fs_stat(dst, &st) == 0 && (st.mode & CIO_S_IFMT) == CIO_S_IFDIR;
    if (count > 1 && !to_dir) {
        fprintf(stderr, "pcopy: %s: not a directory\n", dst);
        return -CIO_ENOTDIR;
    }
    file_job *jobs = calloc((size_t)count, sizeof *jobs);
    if (!jobs) return -CIO_ENOMEM;
    int opened = 0;
    int32_t r = 0;
    const char *what = NULL; /* the name an error is about */
    for (; opened < count; opened++) {
        file_job *j = &jobs[opened];
        j->src = srcs[opened];
        const char *base = j->src;
        for (const char *c = j->src; *c; c++)
            if (*c == '/' || *c == '\\') base = c + 1;
        snprintf(j->dst, sizeof j->dst, "%s%s%s", dst, to_dir ? "/" : "", to_dir ? base : "");
        what = j->src;
        intptr_t fd = cio_file_open(j->src, CIO_O_RDONLY, 0);
        if (fd < 0) {
            r = (int32_t)fd;
            break;
        }
        j->in = (cio_fd)fd;
        if ((r = cio_file_stat(j->in, &st)) < 0 || (r = (st.mode & CIO_S_IFMT) == CIO_S_IFDIR ? -CIO_EISDIR : 0) < 0) {
            cio_file_close(j->in);
            break;
        }
        j->size = st.size;
        what = j->dst;
        cio_statx dst_st; /* copying a file onto itself would cut it to nothing first */
        if (cio_fs_stat(j->dst, &dst_st) == 0 && st.ino != 0 && dst_st.ino == st.ino &&
            dst_st.dev_major == st.dev_major && dst_st.dev_minor == st.dev_minor) {
            cio_file_close(j->in);
            what = "source and destination are the same file";
            r = -CIO_EINVAL;
            break;
        }
        fd = cio_file_open(j->dst, CIO_O_WRONLY | CIO_O_CREAT | CIO_O_TRUNC, st.mode & 0777u);
        if (fd < 0) {
            cio_file_close(j->in);
            r = (int32_t)fd;
            break;
        }
        j->out = (cio_fd)fd;
        /* The final size at once: the chunks then land in any order inside it. */
        if ((r = cio_file_truncate(j->out, j->size)) < 0) {
            opened++;
            break;
        }
    }
    if (r < 0) {
        fprintf(stderr, "pcopy: %s: %s\n", what, cio_strerror(r));
    } else {
        plan p = {.jobs = jobs, .count = count, .chunk = chunk};
        cio_group g;
        cio_group_init(&g, cio_task_loop(), CIO_GROUP_CANCEL_ON_ERROR); /* the first error stops all */
        for (unsigned i = 0; i < tasks && r >= 0; i++) r = cio_group_spawn(&g, worker, &p, NULL);
        int w = cio_group_wait(&g);
        if (r >= 0) r = w;
    }
    for (int i = 0; i < opened; i++) {
        cio_file_close(jobs[i].in);
        cio_file_close(jobs[i].out);
    }
    free(jobs);
    return r;
}

/* ---- self: files of our own, copied and compared ---- */

static int32_t self_test(void) {
    static const size_t sizes[] = {0, 1, 16383, 16384, 100001};
    static const char *const srcs[] = {"pcopy-self.tmp/a", "pcopy-self.tmp/b", "pcopy-self.tmp/c",
                                       "pcopy-self.tmp/d", "pcopy-self.tmp/e"};
    const int n = (int)(sizeof sizes / sizeof *sizes);
    char *data = malloc(100001);
    int32_t r = data ? cio_fs_mkdir("pcopy-self.tmp", 0755) : -CIO_ENOMEM;
    if (r >= 0) r = cio_fs_mkdir("pcopy-self.tmp/out", 0755);
    for (int i = 0; i < n && r >= 0; i++) {
        for (size_t k = 0; k < sizes[i]; k++) data[k] = (char)(k * 131 + (size_t)i + k / 977);
        r = cio_fs_write_file_atomic(srcs[i], data, sizes[i], 0644);
    }
    if (r >= 0) r = copy_files(srcs, n, "pcopy-self.tmp/out", 3, 4096); /* small chunks: many of them */
    for (int i = 0; i < n && r >= 0; i++) {
        char dst[64];
        void *got;
        snprintf(dst, sizeof dst, "pcopy-self.tmp/out/%c", 'a' + i);
        int64_t len = cio_fs_read_file_alloc(dst, 1 << 20, &got);
        for (size_t k = 0; k < sizes[i]; k++) data[k] = (char)(k * 131 + (size_t)i + k / 977);
        if (len < 0) r = (int32_t)len;
        else if ((size_t)len != sizes[i] || memcmp(got, data, sizes[i]) != 0) r = -CIO_EIO;
        cio_fs_free(len >= 0 ? got : NULL);
        cio_fs_unlink(dst);
    }
    for (int i = 0; i < n; i++) cio_fs_unlink(srcs[i]);
    cio_fs_rmdir("pcopy-self.tmp/out");
    cio_fs_rmdir("pcopy-self.tmp");
    free(data);
    printf("self: %d files copied by 3 tasks in 4 KiB chunks: %s\n", n, r < 0 ? cio_strerror(r) : "equal");
    return r;
}

static intptr_t pcopy_main(void *arg) {
    char **argv = arg;
    unsigned tasks = 4;
    uint32_t chunk = 1u << 20;
    int i = 1;
    if (argv[1] && !strcmp(argv[1], "self") && !argv[2]) return self_test();
    for (; argv[i] && argv[i + 1] && (!strcmp(argv[i], "-j") || !strcmp(argv[i], "-c")); i += 2) {
        unsigned long v = strtoul(argv[i + 1], NULL, 10);
        if (argv[i][1] == 'j') tasks = (unsigned)v;
        else chunk = (uint32_t)v;
    }
    int count = 0;
    while (argv[i + count]) count++;
    if (count < 2 || tasks < 1 || tasks > 1024 || chunk < 1 || chunk > (1u << 30)) {
        fprintf(stderr, "usage: pcopy [-j TASKS] [-c CHUNK] SRC DST | pcopy [-j TASKS] [-c CHUNK] SRC... DIR\n");
        return -CIO_EINVAL;
    }
    return copy_files((const char *const *)argv + i, count - 1, argv[i + count - 1], tasks, chunk);
}

int main(int argc, char **argv) {
    (void)argc;
    intptr_t result = -1;
    int r = cio_main(pcopy_main, argv, NULL, &result);
    if (r < 0) fprintf(stderr, "pcopy: %s\n", cio_strerror(r));
    return r == 0 && result == 0 ? 0 : 1;
}
