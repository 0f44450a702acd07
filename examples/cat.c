/*
 * cat - files to stdout, read and written through cio.
 *
 *   cat [FILE...]     "-" (or no FILE at all) is stdin
 *   cat self          writes two files, cats them into a pipe, checks what came out
 *
 * Like cat(1): each file in turn, a file that cannot be opened or read is
 * reported and skipped (exit status 1), a write that fails (the reader went
 * away) ends it. stdout may be a pipe, a file or a terminal: every write
 * goes at stdout's position, so `cat a b >> log` appends. Reads and writes
 * are cio ops on every backend: io_uring runs them in the kernel, epoll
 * and poll wait for readiness on pipes and terminals and send regular files
 * to the blocking pool, and Windows uses IOCP or the pool likewise.
 *
 * With `self` it runs alone on every backend, the mock's in-memory file
 * system and simulated pipes included: CIO_BACKEND=mock cat self
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <windows.h>
#define STDIN_HANDLE ((cio_fd)GetStdHandle(STD_INPUT_HANDLE))
#define STDOUT_HANDLE ((cio_fd)GetStdHandle(STD_OUTPUT_HANDLE))
#else
#define STDIN_HANDLE ((cio_fd)0)
#define STDOUT_HANDLE ((cio_fd)1)
#endif

#define BUF_SIZE (128 * 1024)

/* Copies `in` to `out` from their positions until the end of `in`.
 * Returns 0, or the error with *which saying whose it was (0: in, 1: out). */
static int32_t copy(cio_fd in, cio_fd out, char *buf, int *which) {
    int32_t n;
    while ((n = cio_file_read(in, buf, BUF_SIZE)) > 0) {
        int64_t w = cio_file_write_all(out, buf, (size_t)n, CIO_OFFSET_CURRENT, NULL); /* loops over short writes */
        if (w < 0) {
            *which = 1;
            return (int32_t)w;
        }
    }
    *which = 0;
    return n;
}

/* cat's whole job: every name in turn to `out`. 0, or 1 if something failed. */
static int cat(const char *const *names, int count, cio_fd out) {
    static const char *const dash[] = {"-"};
    if (count == 0) names = dash, count = 1;
    char *buf = malloc(BUF_SIZE); /* not on the task's stack: 128 KiB is half of it */
    if (!buf) return 1;
    int status = 0;
    for (int i = 0; i < count; i++) {
        int is_stdin = !strcmp(names[i], "-");
        intptr_t fd = is_stdin ? (intptr_t)STDIN_HANDLE : cio_file_open(names[i], CIO_O_RDONLY, 0);
        if (fd < 0) {
            fprintf(stderr, "cat: %s: %s\n", names[i], cio_strerror((int32_t)fd));
            status = 1;
            continue;
        }
        int which;
        int32_t r = copy((cio_fd)fd, out, buf, &which);
        if (!is_stdin) cio_file_close((cio_fd)fd);
        if (r < 0) {
            fprintf(stderr, "cat: %s: %s\n", which ? "write error" : names[i], cio_strerror(r));
            status = 1;
            if (which) break; /* stdout is gone: nothing more can be written */
        }
    }
    free(buf);
    return status;
}

/* ---- self: two files of our own, through cat into a pipe, checked ---- */

static const char *const self_names[] = {"cat-self-1.tmp", "cat-self-2.tmp"};
#define SELF_SIZE_1 100000u
#define SELF_SIZE_2 5u

static char self_byte(size_t i) { return (char)('a' + (i * 7 + i / 251) % 26); }

/* Reads the pipe to its end and compares with what the files hold. */
static intptr_t self_reader(void *arg) {
    cio_fd rd = (cio_fd)(intptr_t)arg;
    char buf[8192];
    size_t at = 0;
    int32_t n;
    int bad = 0;
    while ((n = cio_read(rd, buf, sizeof buf, CIO_OFFSET_CURRENT)) > 0)
        for (int32_t i = 0; i < n; i++, at++)
            bad |= buf[i] != self_byte(at < SELF_SIZE_1 ? at : at - SELF_SIZE_1);
    cio_close(rd);
    if (n < 0) return n;
    printf("self: %zu bytes out of cat, %s\n", at, bad || at != SELF_SIZE_1 + SELF_SIZE_2 ? "WRONG" : "as written");
    return bad || at != SELF_SIZE_1 + SELF_SIZE_2 ? -CIO_EIO : 0;
}

static int self_test(void) {
    cio_loop *loop = cio_task_loop();
    char *data = malloc(SELF_SIZE_1);
    if (!data) return 1;
    for (size_t i = 0; i < SELF_SIZE_1; i++) data[i] = self_byte(i);
    int32_t r = cio_fs_write_file_atomic(self_names[0], data, SELF_SIZE_1, 0644);
    if (r >= 0) r = cio_fs_write_file_atomic(self_names[1], data, SELF_SIZE_2, 0644);
    free(data);
    cio_fd p[2];
    if (r < 0 || (r = cio_pipe(loop, p)) < 0) {
        fprintf(stderr, "cat self: %s\n", cio_strerror(r));
        return 1;
    }
    cio_task *reader;
    if (cio_task_spawn(loop, self_reader, (void *)(intptr_t)p[0], NULL, &reader) < 0) return 1;
    int status = cat(self_names, 2, p[1]);
    cio_close(p[1]); /* the reader sees the end */
    intptr_t checked = -1;
    cio_task_join(reader, &checked);
    cio_fs_unlink(self_names[0]);
    cio_fs_unlink(self_names[1]);
    return status || checked < 0;
}

static intptr_t cat_main(void *arg) {
    char **argv = arg;
    int count = 0;
    while (argv[1 + count]) count++;
    if (count == 1 && !strcmp(argv[1], "self")) return self_test();
    return cat((const char *const *)argv + 1, count, STDOUT_HANDLE);
}

int main(int argc, char **argv) {
    (void)argc;
    intptr_t status = 1;
    int r = cio_main(cat_main, argv, NULL, &status);
    if (r < 0) fprintf(stderr, "cat: %s\n", cio_strerror(r));
    return r == 0 ? (int)status : 1;
}
