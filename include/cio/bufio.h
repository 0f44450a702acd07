/*
 * cio/bufio.h - streams, and buffered reading and writing over them.
 *
 * A cio_stream is a byte stream seen through two functions and a context:
 * `read` and `write`, each moving at most `len` bytes and returning how many
 * it moved. Ready-made streams sit on a handle (a socket: recv and send; a
 * file, pipe or terminal: read and write at CIO_OFFSET_CURRENT); a TLS
 * session or a test double is another pair of functions. The buffered reader
 * and writer work over any of them.
 *
 *     char in[4096], out[4096];
 *     cio_stream s;
 *     cio_bufreader r;
 *     cio_bufwriter w;
 *     cio_stream_socket(&s, fd);
 *     cio_bufreader_init(&r, &s, in, sizeof in);
 *     cio_bufwriter_init(&w, &s, out, sizeof out);
 *     char *line;
 *     uint32_t len;
 *     while (cio_bufreader_read_line(&r, 0, &line, &len) > 0) {
 *         cio_bufwriter_write(&w, line, len);
 *         cio_bufwriter_write(&w, "\n", 1);
 *         if (cio_bufreader_buffered(&r) == 0 && cio_bufwriter_flush(&w) < 0) break;
 *     }
 *
 * Task-style: every call that may need the stream (fill, read, read_exact,
 * read_until, read_line, peek, skip_until; write, flush, write_all) blocks
 * the calling task until it is done, as cio_recv() does (cio/task.h). The
 * ready-made streams return -CIO_EPERM outside a task, -CIO_ECANCELED once
 * the task is cancelled, and -CIO_ETIMEDOUT past the task's deadline scope
 * (cio_deadline_push): these calls take no deadline of their own, the scope
 * is the way to bound them. The calls that only look at the buffer
 * (buffered, consume, pending, ...) never block and work anywhere.
 *
 * Memory: the caller owns every structure and buffer here and places them
 * where it likes (a task's stack, its own struct); nothing here allocates.
 * A reader or writer keeps its stream and buffer pointers until the caller
 * stops using it; there is nothing to release. One task at a time may use a
 * reader or a writer (they are not locked); a reader and a writer over the
 * same socket stream may be used by two tasks at once, one each. Loop
 * thread only, like the tasks that call them.
 */
#ifndef CIO_BUFIO_H
#define CIO_BUFIO_H

#include <stdbool.h>
#include <stdint.h>

#include "platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- streams ---- */

/*
 * The functions of a stream. `read` moves at most `len` (> 0) bytes into
 * `buf` and returns how many (> 0), 0 at the end of the stream, or a
 * negative CIO_E* error; `write` moves at most `len` (> 0) bytes from `buf`
 * and returns how many (> 0; fewer than `len` is a short write, which the
 * writer retries), or a negative error (0 is taken as -CIO_EIO: a stream
 * that accepts nothing would spin). `close` (may be NULL) releases what the
 * stream holds and returns 0 or an error. Each gets the stream (its `ctx`
 * and `fd`) and may block the calling task.
 */
typedef struct cio_stream cio_stream;
typedef int32_t (*cio_stream_read_fn)(cio_stream *s, void *buf, uint32_t len);
typedef int32_t (*cio_stream_write_fn)(cio_stream *s, const void *buf, uint32_t len);
typedef int32_t (*cio_stream_close_fn)(cio_stream *s);

/*
 * A stream. Fill it with cio_stream_init() (your own functions) or one of
 * the handle streams; the fields are public. The functions get the stream
 * itself, so a stream may be copied (it holds no pointer to itself). A NULL `read`
 * or `write` makes a one-way stream: that direction fails with
 * -CIO_EBADF.
 */
struct cio_stream {
    cio_stream_read_fn read;
    cio_stream_write_fn write;
    cio_stream_close_fn close;
    void *ctx; /* the caller's, for its functions (a TLS session); NULL in the handle streams */
    cio_fd fd; /* the handle streams' handle; unused by cio_stream_init() */
};

/*
 * cio_stream_init - a stream over the caller's functions and `ctx`, which
 * the caller keeps valid while the stream is used. Returns 0, or
 * -CIO_EINVAL (`s` NULL, or both `read` and `write` NULL).
 */
CIO_API int cio_stream_init(cio_stream *s, cio_stream_read_fn read, cio_stream_write_fn write,
                            cio_stream_close_fn close, void *ctx);

/*
 * cio_stream_socket - a stream over the connected stream socket `fd`:
 * read is cio_recv(fd, buf, len, 0), write is cio_send(fd, buf, len, 0),
 * close is cio_close(fd). `fd` stays the caller's (the stream only borrows
 * it) until cio_stream_close(). Returns 0 or -CIO_EINVAL (`s` NULL).
 */
CIO_API int cio_stream_socket(cio_stream *s, cio_fd fd);

/*
 * cio_stream_file - a stream over the handle `fd` of a file, a pipe, a
 * FIFO or a terminal: read is cio_read(fd, buf, len, CIO_OFFSET_CURRENT),
 * write is cio_write(..., CIO_OFFSET_CURRENT), so a file is read and
 * written at (and moves) its file position; close is cio_close(fd). Use it
 * for any handle that is not a socket (on Windows, the ends of a
 * cio_pipe() too). Returns 0 or -CIO_EINVAL.
 */
CIO_API int cio_stream_file(cio_stream *s, cio_fd fd);

/* cio_stream_read, cio_stream_write - one call of the stream's function
 * (results as above; -CIO_EINVAL for a NULL stream or buffer, 0 for `len`
 * 0 without calling it, -CIO_EBADF for a direction the stream lacks). */
CIO_API int32_t cio_stream_read(cio_stream *s, void *buf, uint32_t len);
CIO_API int32_t cio_stream_write(cio_stream *s, const void *buf, uint32_t len);

/*
 * cio_stream_write_all - write all `len` bytes, looping over short
 * writes. Returns `len`, or a negative error; then an unknown prefix of the
 * bytes may have been written (`*done`, if not NULL, says how many: it is
 * set on success too).
 */
CIO_API int32_t cio_stream_write_all(cio_stream *s, const void *buf, uint32_t len, uint32_t *done);

/* cio_stream_close - the stream's close (0 when it has none). The stream
 * must not be used afterwards, nor any reader or writer over it. */
CIO_API int32_t cio_stream_close(cio_stream *s);

/* ---- buffered reader ---- */

/*
 * A reader over a stream and a buffer the caller gives. It reads from the
 * stream in chunks as large as the free room of its buffer, and hands out
 * what it holds; it keeps one byte of the buffer spare, so that
 * cio_bufreader_read_line() can end every line with a NUL in place: a
 * buffer of `cap` bytes holds at most cap - 1 bytes of data, which bounds
 * the longest line, delimited record and peek.
 *
 * End of stream: the stream's read returning 0. Bytes the reader holds are
 * always handed out before the end is reported: a last line without its
 * delimiter is returned as a (partial) line, and the next call reports the
 * end (0). cio_bufreader_eof() tells whether the stream has said so.
 *
 * Errors: a negative result from the stream is returned from the call that
 * needed more bytes; what the reader held stays held and the error is not
 * remembered: the next call asks the stream again (so a -CIO_ETIMEDOUT
 * from a deadline scope can be retried under a new scope; most other errors
 * mean the stream is broken). What a failed call had consumed is said with
 * each call.
 */
typedef struct cio_bufreader {
    struct {
        cio_stream *stream;
        unsigned char *buf;
        uint32_t cap;   /* the buffer's size; at most cap - 1 bytes are held */
        uint32_t start; /* the first byte held */
        uint32_t end;   /* one past the last byte held */
        bool eof;       /* the stream's last read returned 0 */
    } internal_; /* the runtime's; read it through the calls below */
} cio_bufreader;

/*
 * cio_bufreader_init - a reader over `s` using the `cap` bytes at `buf`,
 * both the caller's until it stops using the reader. Returns 0 or
 * -CIO_EINVAL (a NULL pointer, or `cap` < 2).
 */
CIO_API int cio_bufreader_init(cio_bufreader *r, cio_stream *s, void *buf, uint32_t cap);

/* cio_bufreader_buffered - how many bytes the reader holds (they can be
 * had without blocking). */
CIO_API uint32_t cio_bufreader_buffered(const cio_bufreader *r);

/* cio_bufreader_eof - whether the stream's last read returned 0 (end of
 * stream); a later read that returns bytes clears it. */
CIO_API bool cio_bufreader_eof(const cio_bufreader *r);

/*
 * cio_bufreader_fill - one read of the stream into the free room of the
 * buffer (moving what is held to its front first). Returns the bytes added
 * (> 0), 0 at the end of the stream, -CIO_ENOBUFS when the buffer is full
 * (cap - 1 bytes held), or the stream's error. For parsers of their own
 * over cio_bufreader_peek().
 */
CIO_API int32_t cio_bufreader_fill(cio_bufreader *r);

/*
 * cio_bufreader_peek - make at least `n` bytes held, reading as needed, and
 * point `*data` (may be NULL) at all that is held, which stays valid and
 * unchanged until the next call on the reader that reads or consumes.
 * Returns how many bytes are held (>= n; fewer only at the end of the
 * stream, then all there is), or -CIO_EINVAL (`n` > cap - 1) or the
 * stream's error (what was read before it stays held). `n` 0 never blocks.
 * Nothing is consumed.
 */
CIO_API int32_t cio_bufreader_peek(cio_bufreader *r, uint32_t n, const void **data);

/* cio_bufreader_consume - drop the first `n` bytes held. 0, or -CIO_EINVAL
 * when fewer are held (then nothing is dropped). Never blocks. */
CIO_API int cio_bufreader_consume(cio_bufreader *r, uint32_t n);

/*
 * cio_bufreader_read - read up to `len` bytes into `buf`, as read(2): what
 * is held first (without asking the stream when anything is held);
 * otherwise one read of the stream, straight into `buf` when `len` is at
 * least the buffer's size. Returns the bytes read (> 0), 0 at the end of
 * the stream (or for `len` 0), or the stream's error.
 */
CIO_API int32_t cio_bufreader_read(cio_bufreader *r, void *buf, uint32_t len);

/*
 * cio_bufreader_read_exact - read exactly `len` bytes into `buf`, reading
 * the stream as often as needed. Returns `len`; fewer (0 .. len - 1) when
 * the stream ends first, all of which are in `buf`; or the stream's error,
 * and then the bytes it had put into `buf` before are consumed and lost
 * (treat the stream as broken, or use peek for a retryable read of a
 * record that fits the buffer).
 */
CIO_API int32_t cio_bufreader_read_exact(cio_bufreader *r, void *buf, uint32_t len);

/*
 * cio_bufreader_read_until - the bytes up to and including the first
 * `delim`, at most `limit` of them (0, or more than cap - 1: cap - 1).
 * `*data` points at them inside the reader's buffer, valid until the next
 * call on the reader that reads or consumes; they are consumed. Returns
 * their count (> 0), with `delim` as the last byte; at the end of the
 * stream, the bytes held without a `delim` (a partial record: its last byte
 * is not `delim`, or it is, by chance, and cio_bufreader_eof() is true);
 * 0 at the end of the stream with nothing held. -CIO_EMSGSIZE when `limit`
 * bytes are held and none is `delim` (also at the end of the stream: a
 * record of `limit` bytes with its `delim` would be longer): nothing is
 * consumed, the reader holds
 * at least those `limit` bytes (peek sees them), and the caller consumes
 * them, skips the record with cio_bufreader_skip_until(), or gives up. Or
 * the stream's error, nothing consumed. -CIO_EINVAL for NULL `r` or
 * `data`.
 */
CIO_API int32_t cio_bufreader_read_until(cio_bufreader *r, unsigned char delim, uint32_t limit,
                                         const void **data);

/*
 * cio_bufreader_read_line - the next line, as cio_bufreader_read_until()
 * with '\n' and `limit` (which counts the line's bytes as they came, its
 * "\n" and a "\r" before it included), but with the "\n" or "\r\n" cut
 * off and replaced by a NUL: `*line` points at a NUL-terminated string
 * of `*len` bytes inside the reader's buffer (it may also hold other NULs,
 * if the stream sent them), writable and valid until the next call on the
 * reader that reads or consumes. Returns 1 for a line (possibly empty; at
 * the end of the stream, a last line without "\n", and
 * cio_bufreader_eof() then is true), 0 at the end of the stream with
 * nothing held, -CIO_EMSGSIZE for a line longer than `limit` (as
 * read_until: nothing consumed), or the stream's error.
 */
CIO_API int cio_bufreader_read_line(cio_bufreader *r, uint32_t limit, char **line, uint32_t *len);

/*
 * cio_bufreader_skip_until - consume bytes up to and including the next
 * `delim`, however many that is (to step over a record that was too long).
 * Returns the count consumed, `delim` included; at the end of the stream
 * without a `delim`, the count consumed up to there (0: nothing was held).
 * On the stream's error, the error; what was consumed before is gone.
 */
CIO_API int64_t cio_bufreader_skip_until(cio_bufreader *r, unsigned char delim);

/* ---- buffered writer ---- */

/*
 * A writer over a stream and a buffer the caller gives. Bytes written
 * collect in the buffer; they go to the stream when it is full, when a
 * write is larger than the room, and at cio_bufwriter_flush(). Nothing
 * reaches the stream until one of those: flush before waiting for an
 * answer.
 *
 * Errors are sticky: once the stream fails a write, the writer keeps the
 * error and returns it from every later write and flush without calling
 * the stream again (an unknown part of what was buffered may have gone
 * out, so the byte stream is broken). cio_bufwriter_error() reads it,
 * cio_bufwriter_pending() says what was still held; the writer is usable
 * again only after cio_bufwriter_init().
 */
typedef struct cio_bufwriter {
    struct {
        cio_stream *stream;
        unsigned char *buf;
        uint32_t cap;
        uint32_t len; /* bytes held, from buf[0] */
        int32_t err;  /* the sticky error, 0: none */
    } internal_; /* the runtime's; read it through the calls below */
} cio_bufwriter;

/* cio_bufwriter_init - a writer over `s` using the `cap` (> 0) bytes at
 * `buf`, both the caller's until it stops using the writer. 0 or
 * -CIO_EINVAL. */
CIO_API int cio_bufwriter_init(cio_bufwriter *w, cio_stream *s, void *buf, uint32_t cap);

/*
 * cio_bufwriter_write - take all `len` bytes: copied into the buffer when
 * they fit the room left; else the buffer is written out first, and then
 * the bytes are copied (if they fit the empty buffer) or written straight
 * to the stream (if not). Returns `len` (all taken) or a negative error,
 * which is then sticky (see above) and leaves unknown how many of these
 * bytes went out.
 */
CIO_API int32_t cio_bufwriter_write(cio_bufwriter *w, const void *data, uint32_t len);

/* cio_bufwriter_write_all - cio_bufwriter_write(), then flush: returns
 * once all of `data` has reached the stream. `len` or an error. */
CIO_API int32_t cio_bufwriter_write_all(cio_bufwriter *w, const void *data, uint32_t len);

/* cio_bufwriter_flush - write out every byte held, looping over short
 * writes. 0 or the (sticky) error. */
CIO_API int32_t cio_bufwriter_flush(cio_bufwriter *w);

/* cio_bufwriter_pending - bytes held, not yet written to the stream. */
CIO_API uint32_t cio_bufwriter_pending(const cio_bufwriter *w);

/* cio_bufwriter_error - the sticky error, 0 if none. */
CIO_API int32_t cio_bufwriter_error(const cio_bufwriter *w);

#ifdef __cplusplus
}
#endif

#endif /* CIO_BUFIO_H */
