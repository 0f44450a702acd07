/*
 * test_bufio_errors - the edges of cio/bufio.h over a scripted stream of
 * the test's own (cio_stream_init): line limits and what stays held after
 * -CIO_EMSGSIZE, the end of the stream in the middle of a line or a
 * record, errors from the stream in the middle of a line (held bytes kept,
 * the error not remembered), the writer's short writes, its sticky error
 * and what it still holds, streams that misbehave (more bytes than asked,
 * a write of 0), bad arguments, and the handle streams outside a task.
 *
 * The scripted stream never blocks, so most of this runs outside any task
 * and loop; the oracle is the script: what it gave, when it failed, how
 * often it was called.
 *
 * No loop, no backend: it runs once (CIO_TEST_ONCE). CIO_TEST_PORTABLE
 */
#include "test.h"

#include "cio.h"

/* A scripted stream: reads hand out `data` at most `chunk` bytes at a
 * time, then the end (0); call number `fail_at` (from 1) returns `err`
 * instead. Writes append to `out`, at most `chunk` bytes per call, and
 * fail the same way. */
typedef struct script {
    const char *data;
    size_t len, pos;
    uint32_t chunk;
    unsigned calls, fail_at;
    int32_t err;
    int32_t lie; /* nonzero: a read or write returns this instead of the truth */
    char out[8192];
    size_t outlen;
    unsigned big_writes; /* writes of more than `big` bytes at once */
    uint32_t big;
} script;

static int32_t s_read(cio_stream *s, void *buf, uint32_t len) {
    script *sc = s->ctx;
    sc->calls++;
    if (sc->calls == sc->fail_at) return sc->err;
    if (sc->lie) return sc->lie;
    size_t n = sc->len - sc->pos;
    if (n > len) n = len;
    if (n > sc->chunk) n = sc->chunk;
    memcpy(buf, sc->data + sc->pos, n);
    sc->pos += n;
    return (int32_t)n;
}

static int32_t s_write(cio_stream *s, const void *buf, uint32_t len) {
    script *sc = s->ctx;
    sc->calls++;
    if (sc->calls == sc->fail_at) return sc->err;
    if (sc->lie) return sc->lie;
    if (sc->big && len > sc->big) sc->big_writes++;
    uint32_t n = len < sc->chunk ? len : sc->chunk;
    CHECK(sc->outlen + n <= sizeof sc->out);
    memcpy(sc->out + sc->outlen, buf, n);
    sc->outlen += n;
    return (int32_t)n;
}

static void reader_over(cio_stream *st, script *sc, const char *data, uint32_t chunk) {
    memset(sc, 0, sizeof *sc);
    sc->data = data;
    sc->len = strlen(data);
    sc->chunk = chunk;
    CHECK_EQ(cio_stream_init(st, s_read, s_write, NULL, sc), 0);
}

/* A buffer with guards on both sides: nothing may write outside it. */
typedef struct guarded {
    char lo[16];
    char buf[32];
    char hi[16];
} guarded;

static void guard_init(guarded *g) { memset(g, 0x5a, sizeof *g); }
static void guard_check(const guarded *g) {
    for (int i = 0; i < 16; i++) CHECK(g->lo[i] == 0x5a && g->hi[i] == 0x5a);
}

static void line(cio_bufreader *r, uint32_t limit, const char *want) {
    char *l;
    uint32_t n;
    CHECK_EQ(cio_bufreader_read_line(r, limit, &l, &n), 1);
    CHECK_EQ(n, strlen(want));
    CHECK(memcmp(l, want, n) == 0);
    CHECK_EQ(l[n], '\0');
}

static void at_end(cio_bufreader *r) {
    char *l;
    uint32_t n;
    CHECK_EQ(cio_bufreader_read_line(r, 0, &l, &n), 0);
    CHECK(cio_bufreader_eof(r));
    CHECK_EQ(cio_bufreader_buffered(r), 0);
}

static void test_limits(void) {
    char longline[201];
    memset(longline, 'a', 100);
    strcpy(longline + 100, "\nshort\n");
    for (uint32_t chunk = 1; chunk <= 40; chunk += 13) {
        script sc;
        cio_stream st;
        reader_over(&st, &sc, longline, chunk);
        guarded g;
        guard_init(&g);
        cio_bufreader r;
        CHECK_EQ(cio_bufreader_init(&r, &st, g.buf, sizeof g.buf), 0);
        char *l;
        uint32_t n;
        /* 100 'a' with no '\n' among the first 20: too long; nothing consumed. */
        CHECK_EQ(cio_bufreader_read_line(&r, 20, &l, &n), -CIO_EMSGSIZE);
        const void *d;
        int32_t held = cio_bufreader_peek(&r, 0, &d);
        CHECK(held >= 20);
        CHECK(memcmp(d, longline, (size_t)held) == 0);
        /* Asked again: the same answer, the same bytes held. */
        CHECK_EQ(cio_bufreader_read_line(&r, 20, &l, &n), -CIO_EMSGSIZE);
        CHECK_EQ(cio_bufreader_peek(&r, 0, &d), held);
        /* No limit: the buffer's own (31 held at most) is the limit. */
        CHECK_EQ(cio_bufreader_read_line(&r, 0, &l, &n), -CIO_EMSGSIZE);
        CHECK_EQ(cio_bufreader_read_line(&r, 1000, &l, &n), -CIO_EMSGSIZE);
        CHECK_EQ(cio_bufreader_buffered(&r), 31);
        CHECK_EQ(cio_bufreader_skip_until(&r, '\n'), 101);
        line(&r, 20, "short");
        at_end(&r);
        guard_check(&g);
    }
    /* The longest line that fits: cap - 1 bytes with its "\n"; one more is too long. */
    char fit[80];
    memset(fit, 'b', 30);
    strcpy(fit + 30, "\n");
    memset(fit + 31, 'c', 31);
    strcpy(fit + 62, "\n");
    script sc;
    cio_stream st;
    reader_over(&st, &sc, fit, 7);
    guarded g;
    guard_init(&g);
    cio_bufreader r;
    CHECK_EQ(cio_bufreader_init(&r, &st, g.buf, sizeof g.buf), 0);
    char want[32];
    memset(want, 'b', 30);
    want[30] = 0;
    line(&r, 0, want);
    char *l;
    uint32_t n;
    CHECK_EQ(cio_bufreader_read_line(&r, 0, &l, &n), -CIO_EMSGSIZE);
    CHECK_EQ(cio_bufreader_buffered(&r), 31);
    CHECK_EQ(cio_bufreader_skip_until(&r, '\n'), 32);
    at_end(&r);
    guard_check(&g);
    printf("limits ok\n");
}

static void test_eof(void) {
    struct {
        const char *in;
        const char *lines[5];
    } cases[] = {
        {"abc\ndef", {"abc", "def", NULL}},
        {"abc\r\ndef\r\n", {"abc", "def", NULL}},
        {"\n\n\r\n", {"", "", "", NULL}},
        {"x\r", {"x\r", NULL}}, /* a lone "\r" at the end is no line end */
        {"", {NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (uint32_t chunk = 1; chunk <= 9; chunk += 4) {
            script sc;
            cio_stream st;
            reader_over(&st, &sc, cases[i].in, chunk);
            guarded g;
            guard_init(&g);
            cio_bufreader r;
            CHECK_EQ(cio_bufreader_init(&r, &st, g.buf, sizeof g.buf), 0);
            for (int k = 0; cases[i].lines[k]; k++) line(&r, 0, cases[i].lines[k]);
            at_end(&r);
            at_end(&r); /* the end stays the end */
            guard_check(&g);
        }
    }
    /* The longest partial line at the end, 30 bytes in a 32-byte buffer
     * (limit 31, "\n" included), and its NUL; one of 31 bytes is too long,
     * as a line of 31 and a "\n" would be. */
    char full[40];
    memset(full, 'q', 30);
    full[30] = 0;
    script sc;
    cio_stream st;
    reader_over(&st, &sc, full, 31);
    guarded g;
    guard_init(&g);
    cio_bufreader r;
    CHECK_EQ(cio_bufreader_init(&r, &st, g.buf, sizeof g.buf), 0);
    line(&r, 0, full);
    CHECK(cio_bufreader_eof(&r));
    at_end(&r);
    guard_check(&g);
    memset(full, 'q', 31);
    full[31] = 0;
    reader_over(&st, &sc, full, 31);
    CHECK_EQ(cio_bufreader_init(&r, &st, g.buf, sizeof g.buf), 0);
    char *l;
    uint32_t n;
    CHECK_EQ(cio_bufreader_read_line(&r, 0, &l, &n), -CIO_EMSGSIZE);
    CHECK_EQ(cio_bufreader_skip_until(&r, '\n'), 31);
    at_end(&r);
    guard_check(&g);

    /* read_exact at the end: the short count, with its bytes. */
    reader_over(&st, &sc, "0123456789", 3);
    CHECK_EQ(cio_bufreader_init(&r, &st, g.buf, sizeof g.buf), 0);
    char out[64];
    CHECK_EQ(cio_bufreader_read_exact(&r, out, 4), 4);
    CHECK(memcmp(out, "0123", 4) == 0);
    memset(out, 0, sizeof out);
    CHECK_EQ(cio_bufreader_read_exact(&r, out, 50), 6);
    CHECK(memcmp(out, "456789", 6) == 0);
    CHECK_EQ(cio_bufreader_read_exact(&r, out, 5), 0);
    /* read_until at the end with a partial record, then 0. */
    reader_over(&st, &sc, "a,b,cd", 2);
    CHECK_EQ(cio_bufreader_init(&r, &st, g.buf, sizeof g.buf), 0);
    const void *d;
    CHECK_EQ(cio_bufreader_read_until(&r, ',', 0, &d), 2);
    CHECK(memcmp(d, "a,", 2) == 0);
    CHECK_EQ(cio_bufreader_read_until(&r, ',', 0, &d), 2);
    CHECK_EQ(cio_bufreader_read_until(&r, ',', 0, &d), 2);
    CHECK(memcmp(d, "cd", 2) == 0 && cio_bufreader_eof(&r));
    CHECK_EQ(cio_bufreader_read_until(&r, ',', 0, &d), 0);
    printf("eof ok\n");
}

static void test_read_errors(void) {
    /* Calls: "ab" "c\n" "de" then ECONNRESET at call 4; then "f\n", end. */
    script sc;
    cio_stream st;
    reader_over(&st, &sc, "abc\ndef\n", 2);
    sc.fail_at = 4;
    sc.err = -CIO_ECONNRESET;
    guarded g;
    guard_init(&g);
    cio_bufreader r;
    CHECK_EQ(cio_bufreader_init(&r, &st, g.buf, sizeof g.buf), 0);
    line(&r, 0, "abc");
    char *l;
    uint32_t n;
    CHECK_EQ(cio_bufreader_read_line(&r, 0, &l, &n), -CIO_ECONNRESET);
    CHECK_EQ(sc.calls, 4);
    CHECK_EQ(cio_bufreader_buffered(&r), 2); /* "de" stays held */
    const void *d;
    CHECK_EQ(cio_bufreader_peek(&r, 0, &d), 2);
    CHECK(memcmp(d, "de", 2) == 0);
    CHECK(!cio_bufreader_eof(&r));
    line(&r, 0, "def"); /* not remembered: the stream is asked again */
    CHECK_EQ(sc.calls, 5);
    at_end(&r);
    guard_check(&g);

    /* Errors through every reading call; nothing held is lost. */
    reader_over(&st, &sc, "xyz", 3);
    sc.fail_at = 1;
    sc.err = -CIO_ETIMEDOUT;
    CHECK_EQ(cio_bufreader_init(&r, &st, g.buf, sizeof g.buf), 0);
    char out[8];
    CHECK_EQ(cio_bufreader_read(&r, out, 2), -CIO_ETIMEDOUT);
    CHECK_EQ(cio_bufreader_read(&r, out, 2), 2);
    CHECK_EQ(cio_bufreader_buffered(&r), 1);
    sc.fail_at = sc.calls + 1;
    CHECK_EQ(cio_bufreader_read_exact(&r, out, 3), -CIO_ETIMEDOUT);
    sc.fail_at = sc.calls + 1;
    CHECK_EQ(cio_bufreader_peek(&r, 2, &d), -CIO_ETIMEDOUT);
    sc.fail_at = sc.calls + 1;
    CHECK_EQ(cio_bufreader_fill(&r), -CIO_ETIMEDOUT);
    sc.fail_at = sc.calls + 1;
    CHECK_EQ(cio_bufreader_skip_until(&r, '!'), -CIO_ETIMEDOUT);
    CHECK_EQ(cio_bufreader_fill(&r), 0); /* the end */
    CHECK(cio_bufreader_eof(&r));

    /* A stream that claims more than it was given: -CIO_EIO, nothing handed out. */
    reader_over(&st, &sc, "abc", 3);
    sc.lie = 1000;
    CHECK_EQ(cio_bufreader_init(&r, &st, g.buf, sizeof g.buf), 0);
    CHECK_EQ(cio_bufreader_read_line(&r, 0, &l, &n), -CIO_EIO);
    CHECK_EQ(cio_bufreader_buffered(&r), 0);
    guard_check(&g);
    printf("read errors ok\n");
}

static void test_reader_args(void) {
    script sc;
    cio_stream st;
    reader_over(&st, &sc, "hello world\n", 64);
    char buf[8];
    cio_bufreader r;
    CHECK_EQ(cio_bufreader_init(NULL, &st, buf, 8), -CIO_EINVAL);
    CHECK_EQ(cio_bufreader_init(&r, NULL, buf, 8), -CIO_EINVAL);
    CHECK_EQ(cio_bufreader_init(&r, &st, NULL, 8), -CIO_EINVAL);
    CHECK_EQ(cio_bufreader_init(&r, &st, buf, 1), -CIO_EINVAL);
    CHECK_EQ(cio_bufreader_init(&r, &st, buf, 8), 0);
    const void *d;
    CHECK_EQ(cio_bufreader_peek(&r, 8, &d), -CIO_EINVAL); /* at most cap - 1 */
    CHECK_EQ(cio_bufreader_peek(&r, 0, &d), 0);            /* never reads */
    CHECK_EQ(sc.calls, 0);
    CHECK_EQ(cio_bufreader_peek(&r, 7, &d), 7);
    CHECK_EQ(cio_bufreader_fill(&r), -CIO_ENOBUFS);
    CHECK_EQ(cio_bufreader_consume(&r, 8), -CIO_EINVAL);
    CHECK_EQ(cio_bufreader_buffered(&r), 7);
    CHECK_EQ(cio_bufreader_consume(&r, 6), 0);
    CHECK_EQ(cio_bufreader_peek(&r, 7, &d), 6); /* moved to the front, filled behind, then the end */
    CHECK(memcmp(d, "world\n", 6) == 0 && cio_bufreader_eof(&r));
    CHECK_EQ(cio_bufreader_read_until(&r, '\n', 0, NULL), -CIO_EINVAL);
    char *l;
    CHECK_EQ(cio_bufreader_read_line(&r, 0, &l, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_bufreader_read(&r, NULL, 1), -CIO_EINVAL);
    char out[4];
    CHECK_EQ(cio_bufreader_read(&r, out, 0), 0);

    /* A write-only stream read, and the reverse. */
    cio_stream wo;
    CHECK_EQ(cio_stream_init(&wo, NULL, s_write, NULL, &sc), 0);
    CHECK_EQ(cio_stream_read(&wo, out, 1), -CIO_EBADF);
    cio_stream ro;
    CHECK_EQ(cio_stream_init(&ro, s_read, NULL, NULL, &sc), 0);
    CHECK_EQ(cio_stream_write(&ro, "x", 1), -CIO_EBADF);
    CHECK_EQ(cio_stream_init(&ro, NULL, NULL, NULL, &sc), -CIO_EINVAL);
    CHECK_EQ(cio_stream_close(&ro), 0); /* no close function */
    printf("reader args ok\n");
}

static void test_writer(void) {
    char data[3000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (char)(i * 7 + i / 251);
    /* Short writes of 1..7 bytes: everything arrives, in order. */
    for (uint32_t chunk = 1; chunk <= 7; chunk += 3) {
        script sc;
        memset(&sc, 0, sizeof sc);
        sc.chunk = chunk;
        sc.big = 64;
        cio_stream st;
        CHECK_EQ(cio_stream_init(&st, NULL, s_write, NULL, &sc), 0);
        char buf[64];
        cio_bufwriter w;
        CHECK_EQ(cio_bufwriter_init(&w, &st, buf, sizeof buf), 0);
        size_t at = 0;
        uint32_t step = 1;
        while (at < sizeof data) {
            uint32_t n = step % 200;
            if (n > sizeof data - at) n = (uint32_t)(sizeof data - at);
            CHECK_EQ(cio_bufwriter_write(&w, data + at, n), n);
            at += n;
            step = step * 13 + 5;
        }
        CHECK_EQ(cio_bufwriter_flush(&w), 0);
        CHECK_EQ(sc.outlen, sizeof data);
        CHECK(memcmp(sc.out, data, sizeof data) == 0);
    }
    /* A write larger than the buffer goes straight to the stream, after
     * what was held, without being cut into buffer-sized pieces. */
    script sc;
    memset(&sc, 0, sizeof sc);
    sc.chunk = 100000;
    sc.big = 64;
    cio_stream st;
    CHECK_EQ(cio_stream_init(&st, NULL, s_write, NULL, &sc), 0);
    char buf[64];
    cio_bufwriter w;
    CHECK_EQ(cio_bufwriter_init(&w, &st, buf, sizeof buf), 0);
    CHECK_EQ(cio_bufwriter_write(&w, "head", 4), 4);
    CHECK_EQ(sc.calls, 0);
    CHECK_EQ(cio_bufwriter_write(&w, data, 1000), 1000);
    CHECK_EQ(sc.calls, 2);
    CHECK_EQ(sc.big_writes, 1);
    CHECK_EQ(cio_bufwriter_pending(&w), 0);
    CHECK_EQ(cio_bufwriter_write_all(&w, "tail", 4), 4);
    CHECK_EQ(sc.calls, 3);
    CHECK_EQ(sc.outlen, 1008);
    CHECK(memcmp(sc.out, "head", 4) == 0 && memcmp(sc.out + 4, data, 1000) == 0 && memcmp(sc.out + 1004, "tail", 4) == 0);

    /* The sticky error: call 3 fails after 2 calls moved 5 bytes each. */
    memset(&sc, 0, sizeof sc);
    sc.chunk = 5;
    sc.fail_at = 3;
    sc.err = -CIO_EPIPE;
    CHECK_EQ(cio_bufwriter_init(&w, &st, buf, sizeof buf), 0);
    CHECK_EQ(cio_bufwriter_write(&w, data, 40), 40);
    CHECK_EQ(cio_bufwriter_flush(&w), -CIO_EPIPE);
    CHECK_EQ(sc.calls, 3);
    CHECK_EQ(sc.outlen, 10);
    CHECK(memcmp(sc.out, data, 10) == 0);
    CHECK_EQ(cio_bufwriter_pending(&w), 30); /* what never went out */
    CHECK_EQ(cio_bufwriter_error(&w), -CIO_EPIPE);
    CHECK_EQ(cio_bufwriter_write(&w, "x", 1), -CIO_EPIPE);
    CHECK_EQ(cio_bufwriter_write(&w, data, 1000), -CIO_EPIPE);
    CHECK_EQ(cio_bufwriter_flush(&w), -CIO_EPIPE);
    CHECK_EQ(cio_bufwriter_write_all(&w, "x", 1), -CIO_EPIPE);
    CHECK_EQ(sc.calls, 3); /* the stream was not called again */
    CHECK_EQ(cio_bufwriter_pending(&w), 30);
    /* Init makes it usable again. */
    CHECK_EQ(cio_bufwriter_init(&w, &st, buf, sizeof buf), 0);
    CHECK_EQ(cio_bufwriter_write_all(&w, "ok", 2), 2);
    CHECK_EQ(sc.outlen, 12);

    /* The error of a direct write is sticky too. */
    memset(&sc, 0, sizeof sc);
    sc.chunk = 100000;
    sc.fail_at = 1;
    sc.err = -CIO_ECONNRESET;
    CHECK_EQ(cio_bufwriter_init(&w, &st, buf, sizeof buf), 0);
    CHECK_EQ(cio_bufwriter_write(&w, data, 1000), -CIO_ECONNRESET);
    CHECK_EQ(cio_bufwriter_write(&w, "x", 1), -CIO_ECONNRESET);
    CHECK_EQ(sc.calls, 1);

    /* A stream that writes 0 bytes would spin: -CIO_EIO. */
    memset(&sc, 0, sizeof sc);
    sc.chunk = 0;
    CHECK_EQ(cio_bufwriter_init(&w, &st, buf, sizeof buf), 0);
    CHECK_EQ(cio_bufwriter_write_all(&w, "abc", 3), -CIO_EIO);
    CHECK_EQ(cio_bufwriter_pending(&w), 3);
    uint32_t done = 99;
    CHECK_EQ(cio_stream_write_all(&st, "abc", 3, &done), -CIO_EIO);
    CHECK_EQ(done, 0);
    sc.chunk = 2;
    CHECK_EQ(cio_stream_write_all(&st, "abc", 3, &done), 3);
    CHECK_EQ(done, 3);

    CHECK_EQ(cio_bufwriter_init(&w, &st, buf, 0), -CIO_EINVAL);
    CHECK_EQ(cio_bufwriter_init(&w, NULL, buf, 1), -CIO_EINVAL);
    CHECK_EQ(cio_bufwriter_init(&w, &st, buf, sizeof buf), 0);
    CHECK_EQ(cio_bufwriter_write(&w, NULL, 1), -CIO_EINVAL);
    CHECK_EQ(cio_bufwriter_write(&w, NULL, 0), 0);
    printf("writer ok\n");
}

/* The handle streams block a task: outside one they say -CIO_EPERM and
 * touch nothing. */
static void test_outside_task(void) {
    cio_stream s;
    CHECK_EQ(cio_stream_socket(&s, (cio_fd)0), 0);
    char b[4];
    CHECK_EQ(cio_stream_read(&s, b, 4), -CIO_EPERM);
    CHECK_EQ(cio_stream_write(&s, "x", 1), -CIO_EPERM);
    CHECK_EQ(cio_stream_close(&s), -CIO_EPERM);
    CHECK_EQ(cio_stream_file(&s, (cio_fd)0), 0);
    CHECK_EQ(cio_stream_read(&s, b, 4), -CIO_EPERM);
    char buf[16];
    cio_bufreader r;
    CHECK_EQ(cio_bufreader_init(&r, &s, buf, sizeof buf), 0);
    char *l;
    uint32_t n;
    CHECK_EQ(cio_bufreader_read_line(&r, 0, &l, &n), -CIO_EPERM);
    CHECK_EQ(cio_stream_socket(NULL, (cio_fd)0), -CIO_EINVAL);
    CHECK_EQ(cio_stream_file(NULL, (cio_fd)0), -CIO_EINVAL);
    printf("outside a task ok\n");
}

int main(void) {
    t_watchdog();
    test_limits();
    test_eof();
    test_read_errors();
    test_reader_args();
    test_writer();
    test_outside_task();
    printf("ok\n");
    return 0;
}
