/*
 * runner - runs a command with its stdout and stderr piped, and forwards
 * each line it writes, prefixed with the stream it came on; then reports
 * how it ended.
 *
 *   runner COMMAND [ARG...]
 *   runner self              forwarding over pipes fed by a task of its own, checked
 *
 *     $ runner sh -c 'echo hi; echo oops >&2; exit 3'
 *     out: hi
 *     err: oops
 *     runner: exit status 3
 *
 * The child's stdin is empty (the null device). Lines come out whole and in
 * order within each stream; the two streams interleave as the lines come.
 * A line longer than LINE_MAX bytes is forwarded in pieces of LINE_MAX - 1
 * bytes, each on a line of its own. The runner's exit status is the
 * child's (128 + the signal number if a signal ended it, as shells say),
 * 127 if the command could not be started.
 *
 * Two tasks read the two pipes through buffered readers; both write into
 * one buffered writer over stdout, taking turns with a mutex, so that a
 * line is never cut by one of the other stream. The exit is awaited without
 * blocking the loop (a pidfd on Linux, a process handle on Windows).
 *
 * `self` replaces the child with a task writing into two cio pipes and
 * stdout with a pipe that a checking task reads: the mock backend has no
 * processes (cio/process.h), but the forwarding runs there unchanged:
 * CIO_BACKEND=mock runner self
 */
#include <cio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <windows.h>
#define STDOUT_HANDLE ((cio_fd)GetStdHandle(STD_OUTPUT_HANDLE))
#else
#define STDOUT_HANDLE ((cio_fd)1)
#endif

#define LINE_MAX 4096

typedef struct output {
    cio_bufwriter w;
    cio_mutex lock; /* one line at a time into w */
} output;

typedef struct forward {
    cio_fd from;
    const char *prefix;
    output *to;
} forward;

/* Writes one prefixed line; flushes when no more input is at hand, so that
 * lines come out as the child writes them, in few writes. */
static int32_t put_line(forward *f, const char *line, uint32_t len, bool more) {
    int32_t r = cio_mutex_lock(&f->to->lock);
    if (r < 0) return r;
    if ((r = cio_bufwriter_write(&f->to->w, f->prefix, (uint32_t)strlen(f->prefix))) >= 0 &&
        (r = cio_bufwriter_write(&f->to->w, line, len)) >= 0 && (r = cio_bufwriter_write(&f->to->w, "\n", 1)) >= 0 &&
        !more)
        r = cio_bufwriter_flush(&f->to->w);
    cio_mutex_unlock(&f->to->lock);
    return r < 0 ? r : 0;
}

/* One stream of the child, line by line, until its end. */
static intptr_t forward_lines(void *arg) {
    forward *f = arg;
    cio_stream s;
    cio_stream_file(&s, f->from); /* a pipe: read at CIO_OFFSET_CURRENT */
    char buf[2 * LINE_MAX];
    cio_bufreader rd;
    cio_bufreader_init(&rd, &s, buf, sizeof buf);
    char *line;
    uint32_t len;
    int32_t r;
    for (;;) {
        r = cio_bufreader_read_line(&rd, LINE_MAX, &line, &len);
        if (r == -CIO_EMSGSIZE) { /* no "\n" in LINE_MAX bytes: forward a piece */
            const void *held;
            cio_bufreader_peek(&rd, 0, &held);
            r = put_line(f, held, LINE_MAX - 1, true);
            cio_bufreader_consume(&rd, LINE_MAX - 1); /* leaves at least one byte before the "\n" */
        } else if (r > 0) {
            r = put_line(f, line, len, cio_bufreader_buffered(&rd) > 0);
        } else {
            break; /* the end (0), or an error */
        }
        if (r < 0) break;
    }
    cio_close(f->from);
    if (r < 0) fprintf(stderr, "runner: %s: %s\n", f->prefix, cio_strerror(r));
    return r;
}

/* Forwards both streams to `out`, until both end. 0 or the first error. */
static int forward_both(cio_fd child_out, cio_fd child_err, cio_fd out) {
    cio_stream s;
    cio_stream_file(&s, out);
    char buf[16384];
    output o;
    cio_bufwriter_init(&o.w, &s, buf, sizeof buf);
    cio_mutex_init(&o.lock);
    forward f[2] = {{child_out, "out: ", &o}, {child_err, "err: ", &o}};
    cio_group g;
    cio_group_init(&g, cio_task_loop(), 0);
    for (int i = 0; i < 2; i++)
        if (cio_group_spawn(&g, forward_lines, &f[i], NULL) < 0) cio_close(f[i].from);
    int r = cio_group_wait(&g);
    int32_t fl = cio_bufwriter_flush(&o.w);
    return r < 0 ? r : fl;
}

static intptr_t run(void *arg) {
    char **argv = arg;
    cio_process p;
    cio_process_options o = {.argv = (const char *const *)argv,
                             .stdio = {{CIO_STDIO_NULL, 0}, {CIO_STDIO_PIPE, 0}, {CIO_STDIO_PIPE, 0}}};
    int r = cio_process_spawn(cio_task_loop(), &p, &o);
    if (r < 0) {
        fprintf(stderr, "runner: %s: %s\n", argv[0], cio_strerror(r));
        return 127;
    }
    int fr = forward_both(p.pipe[1], p.pipe[2], STDOUT_HANDLE);
    r = cio_process_wait(&p, 0); /* the pipes ended: it has exited, or closed them and goes on */
    int status;
    char how[64];
    if (r < 0) {
        snprintf(how, sizeof how, "wait failed: %s", cio_strerror(r));
        status = 1;
    } else if (p.term_signal) {
        snprintf(how, sizeof how, "killed by signal %d", p.term_signal);
        status = 128 + p.term_signal;
    } else {
        snprintf(how, sizeof how, "exit status %d", p.exit_code);
        status = p.exit_code;
    }
    cio_process_release(&p);
    char line[96];
    int n = snprintf(line, sizeof line, "runner: %s\n", how);
    cio_file_write_all(STDOUT_HANDLE, line, (size_t)n, CIO_OFFSET_CURRENT, NULL);
    return fr < 0 && status == 0 ? 1 : status;
}

/* ---- self: a task plays the child, a pipe plays stdout ---- */

static intptr_t fake_child(void *arg) {
    cio_fd *w = arg; /* its stdout and stderr */
    char big[LINE_MAX + 10];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\n';
    int64_t r = 0;
    for (int i = 0; i < 50 && r >= 0; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "line %d\n", i);
        r = cio_file_write_all(w[i % 3 == 2], line, (size_t)n, CIO_OFFSET_CURRENT, NULL);
    }
    if (r >= 0) r = cio_file_write_all(w[0], big, sizeof big, CIO_OFFSET_CURRENT, NULL);
    if (r >= 0) r = cio_file_write_all(w[1], "no newline", 10, CIO_OFFSET_CURRENT, NULL);
    cio_close(w[0]);
    cio_close(w[1]);
    return r < 0 ? (intptr_t)r : 0;
}

/* Reads what the runner wrote and checks it: each stream's lines in order. */
static intptr_t checker(void *arg) {
    cio_fd rd = (cio_fd)(intptr_t)arg;
    cio_stream s;
    cio_stream_file(&s, rd);
    char buf[2 * LINE_MAX];
    cio_bufreader r;
    cio_bufreader_init(&r, &s, buf, sizeof buf);
    int next[2] = {0, 2}, rest = 0, lines = 0, bad = 0;
    char *line, want[64];
    uint32_t len;
    int32_t n;
    while ((n = cio_bufreader_read_line(&r, 0, &line, &len)) > 0) {
        int err = !strncmp(line, "err: ", 5);
        if (!err && strncmp(line, "out: ", 5)) bad = 1;
        lines++;
        if (next[err] < 50) {
            snprintf(want, sizeof want, "line %d", next[err]);
            bad |= strcmp(line + 5, want) != 0;
            do next[err]++;
            while (next[err] < 50 && (next[err] % 3 == 2) != err);
        } else if (!err) { /* the long line, in two pieces */
            for (uint32_t i = 5; i < len; i++) bad |= line[i] != 'x';
            bad |= len - 5 != (rest++ == 0 ? LINE_MAX - 1 : 10);
        } else {
            bad |= strcmp(line, "err: no newline") != 0;
        }
    }
    cio_close(rd);
    if (n < 0) return n;
    printf("self: %d lines forwarded, %s\n", lines, bad || lines != 53 ? "WRONG" : "each stream in order");
    return bad || lines != 53 ? -CIO_EIO : 0;
}

static intptr_t self_test(void *arg) {
    (void)arg;
    cio_loop *loop = cio_task_loop();
    cio_fd out[2], err[2], res[2];
    int r = cio_pipe(loop, out);
    if (r < 0 || (r = cio_pipe(loop, err)) < 0 || (r = cio_pipe(loop, res)) < 0) return r;
    cio_fd child_ends[2] = {out[1], err[1]};
    cio_task *child, *check;
    cio_task_spawn(loop, fake_child, child_ends, NULL, &child);
    cio_task_spawn(loop, checker, (void *)(intptr_t)res[0], NULL, &check);
    int fr = forward_both(out[0], err[0], res[1]);
    cio_close(res[1]);
    intptr_t c = 0, k = 0;
    cio_task_join(child, &c);
    cio_task_join(check, &k);
    return fr < 0 ? fr : c < 0 ? c : k;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: runner COMMAND [ARG...] | runner self\n");
        return 2;
    }
    intptr_t status = 1;
    int self = argc == 2 && !strcmp(argv[1], "self");
    int r = cio_main(self ? self_test : run, argv + 1, NULL, &status);
    if (r < 0) fprintf(stderr, "runner: %s\n", cio_strerror(r));
    return r < 0 ? 1 : self ? status != 0 : (int)status;
}
