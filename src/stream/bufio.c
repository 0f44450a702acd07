/*
 * src/stream/bufio.c - streams over handles, and the buffered reader and
 * writer (cio/bufio.h).
 *
 * The reader's buffer is linear, not a ring: what it holds lies in
 * buf[start, end), and is moved to the front only when the room behind it
 * runs out. A line or a peek is then always one contiguous run that can be
 * handed out as a pointer, and the move costs at most one copy of what is
 * held per fill of the stream, which is what a ring would save and not
 * worth two-part records for the caller.
 */
#include <string.h>

#include "cio/bufio.h"
#include "cio/error.h"
#include "cio/op.h"
#include "cio/task.h"

/* ---- streams ---- */

static int32_t sock_read(cio_stream *s, void *buf, uint32_t len) { return cio_recv(s->fd, buf, len, 0); }
static int32_t sock_write(cio_stream *s, const void *buf, uint32_t len) { return cio_send(s->fd, buf, len, 0); }
static int32_t file_read(cio_stream *s, void *buf, uint32_t len) {
    return cio_read(s->fd, buf, len, CIO_OFFSET_CURRENT);
}
static int32_t file_write(cio_stream *s, const void *buf, uint32_t len) {
    return cio_write(s->fd, buf, len, CIO_OFFSET_CURRENT);
}
static int32_t handle_close(cio_stream *s) { return cio_close(s->fd); }

int cio_stream_init(cio_stream *s, cio_stream_read_fn read, cio_stream_write_fn write, cio_stream_close_fn close,
                    void *ctx) {
    if (!s || (!read && !write)) return -CIO_EINVAL;
    memset(s, 0, sizeof *s);
    s->read = read;
    s->write = write;
    s->close = close;
    s->ctx = ctx;
    return 0;
}

int cio_stream_socket(cio_stream *s, cio_fd fd) {
    if (!s) return -CIO_EINVAL;
    cio_stream_init(s, sock_read, sock_write, handle_close, NULL);
    s->fd = fd;
    return 0;
}

int cio_stream_file(cio_stream *s, cio_fd fd) {
    if (!s) return -CIO_EINVAL;
    cio_stream_init(s, file_read, file_write, handle_close, NULL);
    s->fd = fd;
    return 0;
}

int32_t cio_stream_read(cio_stream *s, void *buf, uint32_t len) {
    if (!s || !buf) return -CIO_EINVAL;
    if (!s->read) return -CIO_EBADF;
    if (len == 0) return 0;
    int32_t n = s->read(s, buf, len);
    /* A stream that claims more than it was given would have the reader
     * hand out bytes it never had. */
    return n > (int32_t)len ? -CIO_EIO : n;
}

int32_t cio_stream_write(cio_stream *s, const void *buf, uint32_t len) {
    if (!s || !buf) return -CIO_EINVAL;
    if (!s->write) return -CIO_EBADF;
    if (len == 0) return 0;
    int32_t n = s->write(s, buf, len);
    /* 0 would make every caller's loop over short writes spin for ever. */
    return n == 0 || n > (int32_t)len ? -CIO_EIO : n;
}

int32_t cio_stream_write_all(cio_stream *s, const void *buf, uint32_t len, uint32_t *done) {
    uint32_t off = 0;
    int32_t r = 0;
    if (len > INT32_MAX) {
        r = -CIO_EINVAL; /* the count could not be returned */
    } else {
        const unsigned char *p = buf;
        while (off < len) {
            r = cio_stream_write(s, p + off, len - off);
            if (r < 0) break;
            off += (uint32_t)r;
        }
    }
    if (done) *done = off;
    return r < 0 ? r : (int32_t)len;
}

int32_t cio_stream_close(cio_stream *s) {
    if (!s) return -CIO_EINVAL;
    return s->close ? s->close(s) : 0;
}

/* ---- reader ---- */

#define R (r->internal_)

int cio_bufreader_init(cio_bufreader *r, cio_stream *s, void *buf, uint32_t cap) {
    if (!r || !s || !buf || cap < 2 || cap > INT32_MAX) return -CIO_EINVAL;
    memset(r, 0, sizeof *r);
    R.stream = s;
    R.buf = buf;
    R.cap = cap;
    return 0;
}

uint32_t cio_bufreader_buffered(const cio_bufreader *r) { return r ? r->internal_.end - r->internal_.start : 0; }

bool cio_bufreader_eof(const cio_bufreader *r) { return r && r->internal_.eof; }

/* The most a reader holds: one byte stays free for read_line's NUL. */
static uint32_t room_max(const cio_bufreader *r) { return r->internal_.cap - 1; }

int32_t cio_bufreader_fill(cio_bufreader *r) {
    if (!r) return -CIO_EINVAL;
    uint32_t held = R.end - R.start;
    if (held >= room_max(r)) return -CIO_ENOBUFS;
    if (R.start == R.end) {
        R.start = R.end = 0;
    } else if (room_max(r) - R.end < R.start) { /* less room behind than before: move, rarely */
        memmove(R.buf, R.buf + R.start, held);
        R.start = 0;
        R.end = held;
    }
    int32_t n = cio_stream_read(R.stream, R.buf + R.end, room_max(r) - R.end);
    if (n < 0) return n;
    R.eof = n == 0;
    R.end += (uint32_t)n;
    return n;
}

int32_t cio_bufreader_peek(cio_bufreader *r, uint32_t n, const void **data) {
    if (!r) return -CIO_EINVAL;
    if (n > room_max(r)) return -CIO_EINVAL;
    while (R.end - R.start < n) {
        int32_t k = cio_bufreader_fill(r);
        if (k < 0) return k;
        if (k == 0) break;
    }
    if (data) *data = R.buf + R.start;
    return (int32_t)(R.end - R.start);
}

int cio_bufreader_consume(cio_bufreader *r, uint32_t n) {
    if (!r || n > R.end - R.start) return -CIO_EINVAL;
    R.start += n;
    if (R.start == R.end) R.start = R.end = 0;
    return 0;
}

int32_t cio_bufreader_read(cio_bufreader *r, void *buf, uint32_t len) {
    if (!r || !buf || len > INT32_MAX) return -CIO_EINVAL;
    if (len == 0) return 0;
    uint32_t held = R.end - R.start;
    if (held == 0) {
        if (len >= room_max(r)) { /* nothing to gain from the copy */
            int32_t n = cio_stream_read(R.stream, buf, len);
            if (n >= 0) R.eof = n == 0;
            return n;
        }
        int32_t n = cio_bufreader_fill(r);
        if (n <= 0) return n;
        held = (uint32_t)n;
    }
    uint32_t k = held < len ? held : len;
    memcpy(buf, R.buf + R.start, k);
    cio_bufreader_consume(r, k);
    return (int32_t)k;
}

int32_t cio_bufreader_read_exact(cio_bufreader *r, void *buf, uint32_t len) {
    if (!r || !buf || len > INT32_MAX) return -CIO_EINVAL;
    unsigned char *p = buf;
    uint32_t got = 0;
    while (got < len) {
        int32_t n = cio_bufreader_read(r, p + got, len - got);
        if (n < 0) return n;
        if (n == 0) break;
        got += (uint32_t)n;
    }
    return (int32_t)got;
}

/* Finds `delim` among the held bytes from offset `from` (relative to
 * start) on; its offset, or -1. */
static int64_t find(const cio_bufreader *r, unsigned char delim, uint32_t from, uint32_t upto) {
    const unsigned char *b = r->internal_.buf + r->internal_.start;
    const unsigned char *hit = from < upto ? memchr(b + from, delim, upto - from) : NULL;
    return hit ? (int64_t)(hit - b) : -1;
}

int32_t cio_bufreader_read_until(cio_bufreader *r, unsigned char delim, uint32_t limit, const void **data) {
    if (!r || !data) return -CIO_EINVAL;
    if (limit == 0 || limit > room_max(r)) limit = room_max(r);
    uint32_t searched = 0;
    for (;;) {
        uint32_t held = R.end - R.start, upto = held < limit ? held : limit;
        int64_t at = find(r, delim, searched, upto);
        if (at >= 0) {
            uint32_t n = (uint32_t)at + 1;
            *data = R.buf + R.start;
            R.start += n; /* not consume(): the bytes handed out must stay where they are */
            return (int32_t)n;
        }
        searched = upto;
        if (held >= limit) return -CIO_EMSGSIZE;
        int32_t k = cio_bufreader_fill(r); /* never -CIO_ENOBUFS: held < limit <= room_max */
        if (k < 0) return k;
        if (k == 0) { /* the end: what is held is the last, partial record */
            *data = R.buf + R.start;
            R.start = R.end;
            return (int32_t)held;
        }
    }
}

int cio_bufreader_read_line(cio_bufreader *r, uint32_t limit, char **line, uint32_t *len) {
    if (!r || !line || !len) return -CIO_EINVAL;
    const void *d;
    int32_t n = cio_bufreader_read_until(r, '\n', limit, &d);
    if (n <= 0) return n;
    char *s = (char *)(uintptr_t)d;
    uint32_t k = (uint32_t)n;
    if (s[k - 1] == '\n') {
        k--;
        if (k > 0 && s[k - 1] == '\r') k--;
    }
    /* In the buffer's room: the bytes handed out end at most at cap - 1,
     * and a partial line's end is the buffer's end, which never passes it. */
    s[k] = '\0';
    *line = s;
    *len = k;
    return 1;
}

int64_t cio_bufreader_skip_until(cio_bufreader *r, unsigned char delim) {
    if (!r) return -CIO_EINVAL;
    int64_t total = 0;
    for (;;) {
        uint32_t held = R.end - R.start;
        int64_t at = find(r, delim, 0, held);
        if (at >= 0) {
            R.start += (uint32_t)at + 1;
            if (R.start == R.end) R.start = R.end = 0;
            return total + at + 1;
        }
        total += held;
        R.start = R.end = 0;
        int32_t k = cio_bufreader_fill(r);
        if (k < 0) return k;
        if (k == 0) return total;
    }
}

#undef R

/* ---- writer ---- */

#define W (w->internal_)

int cio_bufwriter_init(cio_bufwriter *w, cio_stream *s, void *buf, uint32_t cap) {
    if (!w || !s || !buf || cap == 0 || cap > INT32_MAX) return -CIO_EINVAL;
    memset(w, 0, sizeof *w);
    W.stream = s;
    W.buf = buf;
    W.cap = cap;
    return 0;
}

uint32_t cio_bufwriter_pending(const cio_bufwriter *w) { return w ? w->internal_.len : 0; }

int32_t cio_bufwriter_error(const cio_bufwriter *w) { return w ? w->internal_.err : -CIO_EINVAL; }

int32_t cio_bufwriter_flush(cio_bufwriter *w) {
    if (!w) return -CIO_EINVAL;
    if (W.err) return W.err;
    uint32_t done = 0;
    int32_t r = W.len ? cio_stream_write_all(W.stream, W.buf, W.len, &done) : 0;
    if (r < 0) {
        /* Keep what did not go out at the front, for pending()'s count. */
        memmove(W.buf, W.buf + done, W.len - done);
        W.len -= done;
        W.err = r;
        return r;
    }
    W.len = 0;
    return 0;
}

int32_t cio_bufwriter_write(cio_bufwriter *w, const void *data, uint32_t len) {
    if (!w || (!data && len) || len > INT32_MAX) return -CIO_EINVAL;
    if (W.err) return W.err;
    if (len <= W.cap - W.len) {
        if (len) memcpy(W.buf + W.len, data, len);
        W.len += len;
        return (int32_t)len;
    }
    int32_t r = cio_bufwriter_flush(w);
    if (r < 0) return r;
    if (len <= W.cap) {
        memcpy(W.buf, data, len);
        W.len = len;
        return (int32_t)len;
    }
    r = cio_stream_write_all(W.stream, data, len, NULL);
    if (r < 0) W.err = r;
    return r;
}

int32_t cio_bufwriter_write_all(cio_bufwriter *w, const void *data, uint32_t len) {
    int32_t r = cio_bufwriter_write(w, data, len);
    if (r < 0) return r;
    int32_t f = cio_bufwriter_flush(w);
    return f < 0 ? f : r;
}

#undef W
