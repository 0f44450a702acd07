/*
 * test_fixed_buf - registered buffers (cio/fixed.h: cio_buffers_register,
 * cio_prep_read_fixed, cio_prep_write_fixed, cio_prep_send_zc_fixed), on
 * every backend:
 *   - bad input, the same error everywhere: no registration, an index not
 *     below the count, a range that starts before or ends after its
 *     buffer, a range of another buffer (-CIO_EFAULT, also for a whole
 *     batch), bad tables (-CIO_EINVAL), a second registration (-CIO_EBUSY),
 *     unregistering none (-CIO_ENXIO);
 *   - file: write_fixed of whole buffers and of ranges inside them,
 *     checked byte by byte with pread(2); read_fixed of what pwrite(2)
 *     wrote, into ranges, the bytes around them untouched;
 *   - busy: unregister while a read_fixed waits (-CIO_EBUSY), after its
 *     cancel (0); the op then is refused (-CIO_EFAULT); register again;
 *   - send_zc_fixed over a socket pair: the bytes the peer reads;
 *   - the loop's close with buffers registered (it frees them).
 * Oracles: pread(2)/pwrite(2) on a second handle of the file (the mock:
 * cio_mock_file_get/put), the bytes generated, completion counts.
 *
 * On the mock it also runs under 1,000 seeds (CIO_TEST_SEEDS_EXACT).
 *
 * CIO_TEST_PORTABLE
 */
#include "net_util.h" /* first: it includes test.h */

#include "cio.h"

static bool on_mock;

static unsigned char pat(size_t i, unsigned salt) { return (unsigned char)(((i + salt) * 2654435761u) >> 11); }

/* Registered: two of 64 KiB and one of 4 KiB. */
#define NBUF 3
static unsigned char *bufs[NBUF];
static const size_t buf_len[NBUF] = {65536, 65536, 4096};
static cio_iovec iov[NBUF];

static void make_bufs(void) {
    for (int i = 0; i < NBUF; i++) {
        if (!bufs[i]) bufs[i] = malloc(buf_len[i]);
        CHECK(bufs[i] != NULL);
        memset(bufs[i], 0, buf_len[i]);
        iov[i] = (cio_iovec){.iov_base = bufs[i], .iov_len = (unsigned long)buf_len[i]};
    }
}

static void init(cio_loop *loop) {
    t_loop_init(loop, 64);
    on_mock = cio_loop_backend(loop) == CIO_BACKEND_MOCK;
    make_bufs();
}

/* A file opened through cio (so that every backend, the mock too, has it). */
static cio_fd open_file(cio_loop *loop, char *path, size_t cap) {
    if (on_mock)
        snprintf(path, cap, "/fixed_buf_file");
    else
        snprintf(path, cap, "%s/fixed_buf_file", t_tmpdir());
    t_op o;
    cio_prep_openat(&o.op, CIO_AT_FDCWD, path, CIO_O_RDWR | CIO_O_CREAT | CIO_O_TRUNC, 0600);
    return do_fd_op(loop, &o);
}

/* Registers the three buffers; a kernel that will not pin them (over
 * RLIMIT_MEMLOCK) skips the test. */
static void register_all(cio_loop *loop) {
    int r = cio_buffers_register(loop, iov, NBUF);
    if (r == -CIO_ENOMEM) {
        printf("SKIP fixed_buf: the kernel refused to pin 132 KiB (RLIMIT_MEMLOCK)\n");
        exit(77);
    }
    CHECK_EQ(r, 0);
}

static int32_t submit_only(cio_loop *loop, t_op *t) {
    t_arm(t);
    return cio_submit(loop, &t->op);
}

/* ---- bad input ---- */

static void case_bad_input(void) {
    cio_loop loop;
    init(&loop);
    char path[512];
    cio_fd fd = open_file(&loop, path, sizeof path);
    t_op t;

    /* Nothing registered. */
    CHECK_EQ(cio_buffers_unregister(&loop), -CIO_ENXIO);
    cio_prep_read_fixed(&t.op, fd, bufs[0], 10, 0, 0);
    CHECK_EQ(submit_only(&loop, &t), -CIO_EFAULT);
    cio_prep_write_fixed(&t.op, fd, bufs[0], 10, 0, 0);
    CHECK_EQ(submit_only(&loop, &t), -CIO_EFAULT);
    cio_prep_send_zc_fixed(&t.op, fd, bufs[0], 10, 0, 0);
    CHECK_EQ(submit_only(&loop, &t), -CIO_EFAULT);

    /* Bad tables. */
    cio_iovec bad[2] = {iov[0], iov[1]};
    CHECK_EQ(cio_buffers_register(&loop, NULL, 1), -CIO_EINVAL);
    CHECK_EQ(cio_buffers_register(&loop, iov, 0), -CIO_EINVAL);
    CHECK_EQ(cio_buffers_register(&loop, iov, CIO_BUFFERS_MAX + 1), -CIO_EINVAL);
    bad[1].iov_base = NULL;
    CHECK_EQ(cio_buffers_register(&loop, bad, 2), -CIO_EINVAL);
    bad[1] = iov[1];
    bad[1].iov_len = 0;
    CHECK_EQ(cio_buffers_register(&loop, bad, 2), -CIO_EINVAL);
    CHECK_EQ(cio_buffers_register(NULL, iov, 1), -CIO_EINVAL);
    CHECK_EQ(cio_buffers_unregister(NULL), -CIO_EINVAL);
    /* Still nothing registered. */
    cio_prep_read_fixed(&t.op, fd, bufs[0], 10, 0, 0);
    CHECK_EQ(submit_only(&loop, &t), -CIO_EFAULT);

    register_all(&loop);
    CHECK_EQ(cio_buffers_register(&loop, iov, NBUF), -CIO_EBUSY);
    int r;

    /* Ranges: an index past the count, before the start, past the end,
     * the range of another buffer; the exact bounds are fine. */
    struct {
        void *buf;
        uint32_t len;
        uint16_t idx;
        int want;
    } cases[] = {
        {bufs[0], 10, NBUF, -CIO_EFAULT},
        {bufs[0], 10, 65535, -CIO_EFAULT},
        {(void *)((uintptr_t)bufs[0] - 1), 10, 0, -CIO_EFAULT},
        {bufs[0] + 65536 - 9, 10, 0, -CIO_EFAULT},
        {bufs[0] + 65536, 1, 0, -CIO_EFAULT},
        {bufs[1], 10, 0, -CIO_EFAULT},
        {bufs[2], 4097, 2, -CIO_EFAULT},
        {bufs[0], 65536, 0, 0},
        {bufs[0] + 65536 - 10, 10, 0, 0},
        {bufs[2] + 100, 200, 2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int kind = 0; kind < 3; kind++) {
            if (kind == 0) cio_prep_read_fixed(&t.op, fd, cases[i].buf, cases[i].len, 0, cases[i].idx);
            if (kind == 1) cio_prep_write_fixed(&t.op, fd, cases[i].buf, cases[i].len, 0, cases[i].idx);
            if (kind == 2) {
                if (cases[i].want == 0) continue; /* a send on a file: not here */
                cio_prep_send_zc_fixed(&t.op, fd, cases[i].buf, cases[i].len, 0, cases[i].idx);
            }
            r = submit_only(&loop, &t);
            if (r != cases[i].want) {
                fprintf(stderr, "case %zu kind %d: %d, want %d\n", i, kind, r, cases[i].want);
                exit(1);
            }
            if (r == 0) {
                run_until_done(&loop, &t);
                CHECK_EQ(t.finals, 1);
                CHECK(t.res >= 0);
                CHECK_EQ(t.op.opcode, kind == 0 ? CIO_OP_READ_FIXED : CIO_OP_WRITE_FIXED);
            }
        }
    }
    /* A batch with one bad op is refused whole, the same way. */
    t_op a, b;
    cio_prep_write_fixed(&a.op, fd, bufs[0], 10, 0, 0);
    cio_prep_read_fixed(&b.op, fd, bufs[0], 10, 0, 1);
    t_arm(&a);
    t_arm(&b);
    cio_op *batch[2] = {&a.op, &b.op};
    CHECK_EQ(cio_submit_batch(&loop, batch, 2), -CIO_EFAULT);
    CHECK_EQ(a.finals + b.finals, 0);
    /* Zero-copy flags cio does not know. */
    cio_prep_send_zc(&t.op, fd, bufs[0], 10, 0);
    t.op.args.sr.zc = 0x80;
    CHECK_EQ(submit_only(&loop, &t), -CIO_EINVAL);

    CHECK_EQ(cio_buffers_unregister(&loop), 0);
    CHECK_EQ(cio_buffers_unregister(&loop), -CIO_ENXIO);
    cio_prep_read_fixed(&t.op, fd, bufs[0], 10, 0, 0);
    CHECK_EQ(submit_only(&loop, &t), -CIO_EFAULT);
    close_fd(&loop, fd);
    t_close(&loop);
    printf("bad input: ok\n");
}

/* ---- file IO ---- */

/* The file's bytes [off, off + len), by pread(2) (the mock: its file system). */
static void file_bytes(cio_loop *loop, const char *path, unsigned char *out, size_t off, size_t len) {
    if (on_mock) {
        static unsigned char whole[1 << 20];
        int64_t n = cio_mock_file_get(loop, path, whole, sizeof whole);
        CHECK(n >= (int64_t)(off + len));
        memcpy(out, whole + off, len);
        return;
    }
    cio_fd h = t_sys_open(path, O_RDONLY, 0);
    CHECK(h != T_FD_NONE);
    CHECK_EQ(t_sys_pread(h, out, len, (long long)off), (long long)len);
    CHECK_EQ(t_close_handle(h), 0);
}

static void put_bytes(cio_loop *loop, const char *path, const unsigned char *data, size_t len) {
    if (on_mock) {
        CHECK_EQ(cio_mock_file_put(loop, path, data, len), 0);
        return;
    }
    cio_fd h = t_sys_open(path, O_WRONLY, 0);
    CHECK(h != T_FD_NONE);
    CHECK_EQ(t_sys_pwrite(h, data, len, 0), (long long)len);
    CHECK_EQ(t_close_handle(h), 0);
}

static int32_t rw_op(cio_loop *loop, bool write, cio_fd fd, unsigned char *buf, uint32_t len, uint64_t off,
                     uint16_t idx) {
    t_op t;
    if (write)
        cio_prep_write_fixed(&t.op, fd, buf, len, off, idx);
    else
        cio_prep_read_fixed(&t.op, fd, buf, len, off, idx);
    int32_t r = do_op(loop, &t);
    CHECK_EQ(t.op.opcode, write ? CIO_OP_WRITE_FIXED : CIO_OP_READ_FIXED);
    return r;
}

static void case_file(void) {
    cio_loop loop;
    init(&loop);
    char path[512];
    cio_fd fd = open_file(&loop, path, sizeof path);
    register_all(&loop);
    /* Writes: buffer 0 whole at 0, a range of buffer 1 at 65536, buffer 2
     * at 100000 (a hole before it), each short only at the file's whim
     * (a regular file writes all). */
    for (size_t i = 0; i < buf_len[0]; i++) bufs[0][i] = pat(i, 1);
    for (size_t i = 0; i < buf_len[1]; i++) bufs[1][i] = pat(i, 2);
    for (size_t i = 0; i < buf_len[2]; i++) bufs[2][i] = pat(i, 3);
    CHECK_EQ(rw_op(&loop, true, fd, bufs[0], 65536, 0, 0), 65536);
    CHECK_EQ(rw_op(&loop, true, fd, bufs[1] + 1000, 30000, 65536, 1), 30000);
    CHECK_EQ(rw_op(&loop, true, fd, bufs[2], 4096, 100000, 2), 4096);
    static unsigned char got[110000];
    file_bytes(&loop, path, got, 0, 104096);
    for (size_t i = 0; i < 104096; i++) {
        unsigned char want = i < 65536            ? pat(i, 1)
                             : i < 65536 + 30000  ? pat(i - 65536 + 1000, 2)
                             : i < 100000         ? 0
                                                  : pat(i - 100000, 3);
        if (got[i] != want) {
            fprintf(stderr, "file byte %zu: %u, want %u\n", i, got[i], want);
            exit(1);
        }
    }
    /* Reads: the file rewritten with pwrite(2), read into ranges; the
     * bytes of the buffers around the ranges stay as they were. */
    static unsigned char data[200000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = pat(i, 7);
    put_bytes(&loop, path, data, sizeof data);
    memset(bufs[0], 0x11, buf_len[0]);
    memset(bufs[1], 0x22, buf_len[1]);
    memset(bufs[2], 0x33, buf_len[2]);
    CHECK_EQ(rw_op(&loop, false, fd, bufs[0] + 5, 60000, 12345, 0), 60000);
    CHECK_EQ(rw_op(&loop, false, fd, bufs[1], 65536, 130000, 1), 65536);
    CHECK_EQ(rw_op(&loop, false, fd, bufs[2] + 4000, 96, 199904, 2), 96);
    CHECK_EQ(rw_op(&loop, false, fd, bufs[2], 100, 200000, 2), 0); /* the end of the file */
    for (size_t i = 0; i < buf_len[0]; i++) {
        unsigned char want = (i >= 5 && i < 60005) ? pat(i - 5 + 12345, 7) : 0x11;
        if (bufs[0][i] != want) {
            fprintf(stderr, "buffer 0 byte %zu: %u, want %u\n", i, bufs[0][i], want);
            exit(1);
        }
    }
    for (size_t i = 0; i < buf_len[1]; i++) CHECK_EQ(bufs[1][i], pat(i + 130000, 7));
    for (size_t i = 0; i < buf_len[2]; i++) CHECK_EQ(bufs[2][i], i >= 4000 ? pat(i - 4000 + 199904, 7) : 0x33);
    close_fd(&loop, fd);
    CHECK_EQ(cio_buffers_unregister(&loop), 0);
    t_close(&loop);
    printf("file: ok\n");
}

/* ---- unregister while in flight ---- */

static void case_busy(void) {
    cio_loop loop;
    init(&loop);
    cio_fd fds[2];
    CHECK_EQ(cio_socket_pair(&loop, SOCK_STREAM, fds), 0);
    register_all(&loop);
    /* A read that waits: nothing comes on the pair. */
    t_op rd;
    cio_prep_read_fixed(&rd.op, fds[0], bufs[1] + 10, 100, CIO_OFFSET_CURRENT, 1);
    CHECK_EQ(submit_only(&loop, &rd), 0);
    settle(&loop);
    CHECK_EQ(rd.finals, 0);
    CHECK_EQ(cio_buffers_unregister(&loop), -CIO_EBUSY);
    CHECK_EQ(cio_cancel(&loop, &rd.op), 0);
    run_until_done(&loop, &rd);
    CHECK_EQ(rd.finals, 1);
    CHECK_EQ(rd.res, -CIO_ECANCELED);
    CHECK_EQ(rd.op.opcode, CIO_OP_READ_FIXED);
    CHECK_EQ(cio_buffers_unregister(&loop), 0);
    cio_prep_read_fixed(&rd.op, fds[0], bufs[1] + 10, 100, CIO_OFFSET_CURRENT, 1);
    CHECK_EQ(submit_only(&loop, &rd), -CIO_EFAULT);
    /* Registered again, the table is new: a read of it completes, and
     * once it has, unregistering works at once (its callback has run). */
    CHECK_EQ(cio_buffers_register(&loop, iov, 2), 0);
    cio_prep_read_fixed(&rd.op, fds[0], bufs[1] + 10, 100, CIO_OFFSET_CURRENT, 1);
    CHECK_EQ(submit_only(&loop, &rd), 0);
    static const char hello[] = "hello";
    CHECK_EQ(op_send(&loop, fds[1], hello, 5, CIO_MSG_WAITALL), 5); /* the mock may split it */
    run_until_done(&loop, &rd);
    CHECK(rd.res >= 1 && rd.res <= 5); /* the mock may split it */
    CHECK_EQ(memcmp(bufs[1] + 10, hello, (size_t)rd.res), 0);
    CHECK_EQ(cio_buffers_unregister(&loop), 0);
    close_fd(&loop, fds[0]);
    close_fd(&loop, fds[1]);
    t_close(&loop);
    printf("busy: ok\n");
}

/* ---- a zero-copy send from a registered buffer ---- */

static void case_send(void) {
    cio_loop loop;
    init(&loop);
    cio_fd fds[2];
    CHECK_EQ(cio_socket_pair(&loop, SOCK_STREAM, fds), 0);
    register_all(&loop);
    for (size_t i = 0; i < buf_len[1]; i++) bufs[1][i] = pat(i, 9);
    const uint32_t len = 3000;
    uint32_t sent = 0;
    static unsigned char got[3000];
    uint32_t have = 0;
    t_op s, rx;
    bool sending = false, receiving = false;
    double end = t_seconds() + 20;
    while (have < len) {
        if (!sending && sent < len) {
            cio_prep_send_zc_fixed(&s.op, fds[0], bufs[1] + 500 + sent, len - sent, 0, 1);
            CHECK_EQ(submit_only(&loop, &s), 0);
            sending = true;
        }
        if (!receiving) {
            cio_prep_recv(&rx.op, fds[1], got + have, len - have, 0);
            CHECK_EQ(submit_only(&loop, &rx), 0);
            receiving = true;
        }
        CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
        if (sending && s.finals) {
            CHECK_EQ(s.finals, 1);
            CHECK(s.res > 0);
            CHECK_EQ(s.op.opcode, CIO_OP_SEND_ZC);
            sent += (uint32_t)s.res;
            sending = false;
        }
        if (receiving && rx.finals) {
            CHECK(rx.res > 0);
            have += (uint32_t)rx.res;
            receiving = false;
        }
        CHECK(t_seconds() < end);
    }
    CHECK_EQ(sent, len);
    for (uint32_t i = 0; i < len; i++) CHECK_EQ(got[i], pat(500 + i, 9));
    close_fd(&loop, fds[0]);
    close_fd(&loop, fds[1]);
    /* The loop's close frees the registered buffers. */
    t_close(&loop);
    printf("send_zc_fixed: ok\n");
}

int main(void) {
    t_ignore_sigpipe();
    case_bad_input();
    case_file();
    case_busy();
    case_send();
    for (int i = 0; i < NBUF; i++) free(bufs[i]);
    return 0;
}
