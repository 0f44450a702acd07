/*
 * test_bufio - the buffered reader and writer (cio/bufio.h) over the
 * ready-made handle streams, socket pairs and pipes, against a peer that
 * writes or reads the other end in chunks of seeded random sizes (many of
 * one byte) with plain system calls from a thread of its own. The oracle is
 * the byte stream itself: the test generates it, and parses it (lines,
 * records) with its own few lines of code.
 *
 * On the mock backend (CIO_BACKEND=mock) the handles are simulated, which
 * no system call can touch: there the peer is a task doing the same with
 * cio_write/cio_send, and the simulation splits transfers short on its
 * own. With faults injected (mock_seeds: CIO_MOCK_FAULTS), a reset may
 * end a stream early: a case that meets one stops cleanly (its handles
 * closed, its peer joined) and the program exits 1 after the loop's close,
 * as mock_seeds allows for a run a fault struck; the bytes that did arrive
 * are still checked.
 *
 * CIO_TEST_PORTABLE CIO_TEST_SEEDS
 */
#include "test.h"

#include "cio.h"

enum { K_SOCK, K_PIPE };
static const char *const kind_name[] = {"socketpair", "pipe"};

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static bool on_mock(void) { return cio_loop_backend(cio_task_loop()) == CIO_BACKEND_MOCK; }

/* Faults injected: an IO result may be a reset's; the case then stops. */
static bool soft;
static unsigned soft_stops;
#define IO_CHECK(cond)                                                                        \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            if (!soft) {                                                                      \
                fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);      \
                exit(1);                                                                      \
            }                                                                                 \
            soft_stops++;                                                                     \
            goto out;                                                                         \
        }                                                                                     \
    } while (0)

/* Closes the test's stream: must work, faults or not. */
static void stream_done(cio_stream *s) { CHECK_EQ(cio_stream_close(s), 0); }

/* Two ends: `mine` for cio's stream, `theirs` for the peer. */
typedef struct chan {
    int kind;
    bool mock;
    cio_fd mine, theirs;
} chan;

static void chan_open(chan *c, int kind, bool cio_reads) {
    cio_fd fds[2];
    c->kind = kind;
    c->mock = on_mock();
    if (kind == K_SOCK)
        CHECK_EQ(c->mock ? cio_mock_socketpair(cio_task_loop(), fds) : t_socketpair(fds), 0);
    else
        CHECK_EQ(c->mock ? cio_mock_pipe(cio_task_loop(), fds) : t_pipe(fds), 0);
    if (kind == K_PIPE && !cio_reads) {
        c->mine = fds[1];
        c->theirs = fds[0];
    } else {
        c->mine = fds[0];
        c->theirs = fds[1];
    }
}

static void chan_stream(const chan *c, cio_stream *s) {
    CHECK_EQ(c->kind == K_SOCK ? cio_stream_socket(s, c->mine) : cio_stream_file(s, c->mine), 0);
}

/* The peer's side, in plain system calls (real backends) or cio calls
 * (the mock, in a task). */
static long long peer_write(const chan *c, const void *b, size_t n) {
    if (c->mock) return c->kind == K_SOCK ? cio_send(c->theirs, b, (uint32_t)n, 0) : cio_write(c->theirs, b, (uint32_t)n, 0);
    return c->kind == K_SOCK ? t_sys_send(c->theirs, b, n, MSG_NOSIGNAL) : t_sys_write(c->theirs, b, n);
}
static long long peer_read(const chan *c, void *b, size_t n) {
    if (c->mock) return c->kind == K_SOCK ? cio_recv(c->theirs, b, (uint32_t)n, 0) : cio_read(c->theirs, b, (uint32_t)n, 0);
    return c->kind == K_SOCK ? t_sys_recv(c->theirs, b, n, 0) : t_sys_read(c->theirs, b, n);
}
static long long peer_write_all(const chan *c, const char *b, size_t n) {
    size_t off = 0;
    while (off < n) {
        long long k = peer_write(c, b + off, n - off);
        if (k <= 0) return k ? k : -CIO_EIO;
        off += (size_t)k;
    }
    return (long long)n;
}
static void peer_close(const chan *c) {
    if (c->mock)
        CHECK_EQ(cio_close(c->theirs), 0);
    else
        CHECK_EQ(t_close_handle(c->theirs), 0);
}

typedef struct peer {
    const chan *c;
    bool writes;         /* writes `data` to the end; else reads into `out` until the end */
    const unsigned char *data;
    size_t len;
    unsigned char *out;
    size_t cap, got;
    uint32_t maxchunk;
    uint64_t seed;
    long long err;
    t_thread th;
    cio_task *task;
} peer;

static uint32_t chunk(uint64_t *s, uint32_t max) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    uint32_t v = (uint32_t)(*s >> 11);
    return v % 3 == 0 ? 1 : 1 + v / 3 % max;
}

static void peer_body(peer *p) {
    uint64_t s = p->seed;
    if (p->writes) {
        size_t off = 0;
        while (off < p->len) {
            size_t n = chunk(&s, p->maxchunk);
            if (n > p->len - off) n = p->len - off;
            long long k = peer_write(p->c, p->data + off, n);
            if (k <= 0) {
                p->err = k ? k : -CIO_EIO;
                break;
            }
            off += (size_t)k;
        }
    } else {
        for (;;) {
            size_t n = chunk(&s, p->maxchunk);
            if (n > p->cap - p->got) n = p->cap - p->got;
            if (n == 0) {
                p->err = -CIO_ENOBUFS;
                break;
            }
            long long k = peer_read(p->c, p->out + p->got, n);
            if (k < 0) p->err = k;
            if (k <= 0) break;
            p->got += (size_t)k;
        }
    }
    peer_close(p->c);
}

static void *peer_thread(void *arg) {
    peer_body(arg);
    return NULL;
}
static intptr_t peer_task(void *arg) {
    peer_body(arg);
    return 0;
}

static void peer_start(peer *p) {
    if (p->c->mock)
        CHECK_EQ(cio_task_spawn(cio_task_loop(), peer_task, p, NULL, &p->task), 0);
    else
        CHECK_EQ(t_thread_start(&p->th, peer_thread, p), 0);
}

static void peer_join(peer *p) {
    if (p->c->mock)
        CHECK_EQ(cio_task_join(p->task, NULL), 0);
    else
        CHECK_EQ(t_thread_join(&p->th, NULL), 0);
    if (p->err && soft)
        soft_stops++;
    else
        CHECK_EQ(p->err, 0);
}

static uint64_t fnv(const void *b, size_t n) {
    const unsigned char *p = b;
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211u;
    return h;
}

#define BIG (96 * 1024)
static unsigned char content[BIG];
static unsigned char sink[BIG + 1];

/* Lines of 0..300 printable bytes ending in "\n" or "\r\n", the last one
 * without an end; returns the length. */
static size_t make_lines(size_t max) {
    size_t n = 0;
    for (;;) {
        uint32_t len = rnd() % 301;
        if (n + len + 2 + 8 > max) break;
        for (uint32_t i = 0; i < len; i++) content[n++] = (unsigned char)(' ' + rnd() % 95);
        if (rnd() % 2) content[n++] = '\r';
        content[n++] = '\n';
    }
    for (uint32_t i = 1 + rnd() % 7; i > 0; i--) content[n++] = 'z'; /* the partial last line */
    return n;
}

static void lines_case(int kind, size_t total, uint32_t maxchunk) {
    size_t len = make_lines(total);
    CHECK(content[len - 1] != '\n');
    chan c;
    chan_open(&c, kind, true);
    peer p = {.c = &c, .writes = true, .data = content, .len = len, .maxchunk = maxchunk, .seed = rnd() | 1};
    peer_start(&p);
    cio_stream s;
    chan_stream(&c, &s);
    char buf[320]; /* 319 held: the longest line, 300 + "\r\n", fits */
    cio_bufreader r;
    CHECK_EQ(cio_bufreader_init(&r, &s, buf, sizeof buf), 0);
    size_t at = 0, lines = 0;
    char *line;
    uint32_t ll;
    int k;
    while ((k = cio_bufreader_read_line(&r, 0, &line, &ll)) == 1) {
        /* The oracle's line: up to the next '\n' (or the end), less "\r\n". */
        size_t e = at;
        while (e < len && content[e] != '\n') e++;
        size_t want = e - at;
        bool last = e == len;
        if (!last && want && content[e - 1] == '\r') want--;
        CHECK_EQ(ll, want);
        CHECK(memcmp(line, content + at, want) == 0);
        CHECK_EQ(line[ll], '\0');
        CHECK_EQ(cio_bufreader_eof(&r), last);
        at = last ? e : e + 1;
        lines++;
        CHECK(lines <= len);
    }
    IO_CHECK(k == 0);
    CHECK_EQ(at, len);
    k = cio_bufreader_read_line(&r, 0, &line, &ll); /* the end stays the end */
    IO_CHECK(k != -CIO_ECONNRESET);
    CHECK_EQ(k, 0);
    printf("lines over %s: %zu lines, %zu bytes, chunks up to %u\n", kind_name[kind], lines, len, maxchunk);
out:
    stream_done(&s); /* first: a peer still writing then stops */
    peer_join(&p);
}

/* Records: a 4-byte little-endian length, then that many bytes; lengths
 * up to 3000, beyond the reader's buffer (read_exact's direct path). */
static size_t make_records(size_t max, unsigned *count) {
    size_t n = 0;
    *count = 0;
    for (;;) {
        uint32_t len = rnd() % 8 == 0 ? 0 : rnd() % 3001;
        if (n + 4 + len > max) break;
        for (int i = 0; i < 4; i++) content[n++] = (unsigned char)(len >> (8 * i));
        for (uint32_t i = 0; i < len; i++) content[n++] = (unsigned char)rnd();
        ++*count;
    }
    return n;
}

static void records_case(int kind) {
    unsigned count;
    size_t len = make_records(BIG, &count);
    chan c;
    chan_open(&c, kind, true);
    peer p = {.c = &c, .writes = true, .data = content, .len = len, .maxchunk = 1500, .seed = rnd() | 1};
    peer_start(&p);
    cio_stream s;
    chan_stream(&c, &s);
    char buf[1024];
    static unsigned char rec[4096];
    cio_bufreader r;
    CHECK_EQ(cio_bufreader_init(&r, &s, buf, sizeof buf), 0);
    size_t at = 0;
    unsigned seen = 0;
    for (;;) {
        const void *d;
        int32_t h = cio_bufreader_peek(&r, 4, &d);
        IO_CHECK(h >= 0);
        if (h == 0) break;
        CHECK(h >= 4);
        const unsigned char *q = d;
        uint32_t n = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
        CHECK(memcmp(q, content + at, 4) == 0);
        CHECK_EQ(cio_bufreader_consume(&r, 4), 0);
        CHECK(n <= sizeof rec);
        int32_t got = cio_bufreader_read_exact(&r, rec, n);
        IO_CHECK(got >= 0);
        CHECK_EQ(got, n);
        CHECK(memcmp(rec, content + at + 4, n) == 0);
        at += 4 + n;
        seen++;
    }
    CHECK_EQ(at, len);
    CHECK_EQ(seen, count);
    CHECK(cio_bufreader_eof(&r));
    int32_t last = cio_bufreader_read_exact(&r, rec, 1);
    IO_CHECK(last != -CIO_ECONNRESET);
    CHECK_EQ(last, 0);
    printf("records over %s: %u records, %zu bytes\n", kind_name[kind], count, len);
out:
    stream_done(&s);
    peer_join(&p);
}

/* read_until with NUL records, and plain reads of random sizes mixed in. */
static void until_case(int kind) {
    size_t len = BIG / 2;
    for (size_t i = 0; i < len; i++) content[i] = rnd() % 40 == 0 ? 0 : (unsigned char)(1 + rnd() % 255);
    chan c;
    chan_open(&c, kind, true);
    peer p = {.c = &c, .writes = true, .data = content, .len = len, .maxchunk = 97, .seed = rnd() | 1};
    peer_start(&p);
    cio_stream s;
    chan_stream(&c, &s);
    char buf[512];
    cio_bufreader r;
    CHECK_EQ(cio_bufreader_init(&r, &s, buf, sizeof buf), 0);
    size_t at = 0;
    for (;;) {
        int32_t n;
        if (rnd() % 3 == 0) {
            uint32_t want = 1 + rnd() % 700; /* sometimes more than the buffer */
            n = cio_bufreader_read(&r, sink + at, want);
            IO_CHECK(n >= 0);
            CHECK((uint32_t)n <= want);
        } else {
            const void *d;
            n = cio_bufreader_read_until(&r, 0, 0, &d);
            if (n == -CIO_EMSGSIZE) { /* 511 bytes without a NUL: take them as they are */
                CHECK_EQ(cio_bufreader_peek(&r, 0, &d), 511);
                n = 511;
                memcpy(sink + at, d, 511);
                CHECK_EQ(cio_bufreader_consume(&r, 511), 0);
            } else {
                IO_CHECK(n >= 0);
                if (n > 0) memcpy(sink + at, d, (size_t)n);
                if (n > 0 && at + (size_t)n < len) CHECK_EQ(((const unsigned char *)d)[n - 1], 0);
            }
        }
        if (n == 0) break;
        at += (size_t)n;
        CHECK(at <= len);
    }
    CHECK_EQ(at, len);
    CHECK(memcmp(sink, content, len) == 0);
    printf("read_until over %s: %zu bytes\n", kind_name[kind], len);
out:
    CHECK(memcmp(sink, content, at) == 0);
    stream_done(&s);
    peer_join(&p);
}

/* The writer: chunks of 0..2000 bytes into a 700-byte buffer, flushes at
 * random; the peer reads everything until the end. */
static void writer_case(int kind) {
    size_t len = BIG;
    for (size_t i = 0; i < len; i++) content[i] = (unsigned char)rnd();
    chan c;
    chan_open(&c, kind, false);
    peer p = {.c = &c, .writes = false, .out = sink, .cap = sizeof sink, .maxchunk = 3000, .seed = rnd() | 1};
    peer_start(&p);
    cio_stream s;
    chan_stream(&c, &s);
    char buf[700];
    cio_bufwriter w;
    CHECK_EQ(cio_bufwriter_init(&w, &s, buf, sizeof buf), 0);
    size_t at = 0;
    while (at < len) {
        uint32_t n = rnd() % 2001;
        if (n > len - at) n = (uint32_t)(len - at);
        int32_t k = rnd() % 5 == 0 ? cio_bufwriter_write_all(&w, content + at, n) : cio_bufwriter_write(&w, content + at, n);
        IO_CHECK(k >= 0);
        CHECK_EQ(k, n);
        CHECK(cio_bufwriter_pending(&w) <= sizeof buf);
        at += n;
        if (rnd() % 10 == 0) {
            IO_CHECK(cio_bufwriter_flush(&w) == 0);
            CHECK_EQ(cio_bufwriter_pending(&w), 0);
        }
    }
    IO_CHECK(cio_bufwriter_flush(&w) == 0);
    CHECK_EQ(cio_bufwriter_error(&w), 0);
out:
    stream_done(&s); /* the peer's end of stream */
    peer_join(&p);
    CHECK(memcmp(sink, content, p.got) == 0); /* what came, faults or not, came right */
    if (cio_bufwriter_error(&w) == 0 && !p.err) {
        CHECK_EQ(p.got, len);
        CHECK_EQ(fnv(sink, len), fnv(content, len));
        printf("writer over %s: %zu bytes\n", kind_name[kind], len);
    }
}

/* The stream fails under the writer: the peer's end is closed. The error
 * is the system's (EPIPE; a socket may say ECONNRESET), and sticky. */
static void writer_error_case(int kind) {
    chan c;
    chan_open(&c, kind, false);
    peer_close(&c);
    cio_stream s;
    chan_stream(&c, &s);
    char buf[64];
    cio_bufwriter w;
    CHECK_EQ(cio_bufwriter_init(&w, &s, buf, sizeof buf), 0);
    CHECK_EQ(cio_bufwriter_write(&w, "hello", 5), 5); /* held: the stream is not called */
    CHECK_EQ(cio_bufwriter_pending(&w), 5);
    /* A TCP socket (Windows' socket pairs) may take a send or two after
     * the peer's close, until its reset comes back. */
    int32_t e = 0;
    for (int i = 0; i < 200 && e == 0; i++) {
        e = cio_bufwriter_flush(&w);
        if (e == 0) {
            CHECK_EQ(c.kind, K_SOCK);
            CHECK_EQ(cio_sleep(5 * 1000 * 1000), 0);
            CHECK_EQ(cio_bufwriter_write(&w, "hello", 5), 5);
        }
    }
    CHECK(e == -CIO_EPIPE || e == -CIO_ECONNRESET || e == -CIO_ECONNABORTED || e == -CIO_ENOTCONN);
    CHECK_EQ(cio_bufwriter_error(&w), e);
    CHECK_EQ(cio_bufwriter_pending(&w), 5);
    CHECK_EQ(cio_bufwriter_write(&w, "x", 1), e);
    CHECK_EQ(cio_bufwriter_flush(&w), e);
    CHECK_EQ(cio_stream_close(&s), 0);
    printf("writer error over %s: %s\n", kind_name[kind], cio_strerror(e));
}

/* A deadline scope bounds a read; what had come stays held, and a later
 * read under a new scope goes on from there. */
static void deadline_case(int kind) {
    chan c;
    chan_open(&c, kind, true);
    cio_stream s;
    chan_stream(&c, &s);
    char buf[64];
    cio_bufreader r;
    CHECK_EQ(cio_bufreader_init(&r, &s, buf, sizeof buf), 0);
    bool closed = false;
    IO_CHECK(peer_write_all(&c, "par", 3) == 3);
    char *line;
    uint32_t ll;
    uint64_t t0 = t_now_ns(), v0 = cio_now(cio_task_loop());
    uint64_t prev = cio_deadline_push(cio_now(cio_task_loop()) + 50 * 1000 * 1000);
    int k = cio_bufreader_read_line(&r, 0, &line, &ll);
    cio_deadline_pop(prev);
    IO_CHECK(k != -CIO_ECONNRESET);
    CHECK_EQ(k, -CIO_ETIMEDOUT);
    if (c.mock)
        CHECK(cio_now(cio_task_loop()) - v0 >= 50 * 1000 * 1000);
    else
        CHECK(t_now_ns() - t0 >= 45 * 1000 * 1000);
    CHECK_EQ(cio_bufreader_buffered(&r), 3);
    IO_CHECK(peer_write_all(&c, "tial\nrest", 9) == 9);
    k = cio_bufreader_read_line(&r, 0, &line, &ll);
    IO_CHECK(k >= 0);
    CHECK_EQ(k, 1);
    CHECK_EQ(ll, 7);
    CHECK(strcmp(line, "partial") == 0);
    peer_close(&c);
    closed = true;
    k = cio_bufreader_read_line(&r, 0, &line, &ll);
    IO_CHECK(k >= 0);
    CHECK_EQ(k, 1);
    CHECK(strcmp(line, "rest") == 0 && cio_bufreader_eof(&r));
    k = cio_bufreader_read_line(&r, 0, &line, &ll);
    IO_CHECK(k != -CIO_ECONNRESET);
    CHECK_EQ(k, 0);
out:
    if (!closed) peer_close(&c);
    stream_done(&s);
}

static intptr_t main_task(void *arg) {
    (void)arg;
    for (int kind = K_SOCK; kind <= K_PIPE; kind++) {
        lines_case(kind, 8 * 1024, 1); /* byte by byte */
        lines_case(kind, BIG, 64);
        lines_case(kind, BIG, 4000);
        records_case(kind);
        until_case(kind);
        writer_case(kind);
        writer_error_case(kind);
        deadline_case(kind);
    }
    return 0;
}

int main(void) {
    t_watchdog();
    t_ignore_sigpipe();
    const char *seed = getenv("CIO_MOCK_SEED");
    if (seed) rng ^= strtoull(seed, NULL, 10) * 0x2545f4914f6cdd1du;
    const char *faults = getenv("CIO_MOCK_FAULTS");
    soft = faults && *faults && strcmp(faults, "0") != 0;
    intptr_t res = -1;
    CHECK_EQ(cio_main(main_task, NULL, NULL, &res), 0);
    CHECK_EQ(res, 0);
    if (soft_stops) {
        printf("%u cases stopped by a fault\n", soft_stops);
        return 1;
    }
    printf("ok\n");
    return 0;
}
