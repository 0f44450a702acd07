/*
 * test_portable_api - the public API that every platform shares, built for
 * each (Linux natively, Windows x64 with mingw-w64 and run under Wine): the
 * portable constants, cio_op and its size, the handle a completed op made
 * (cio_op_fd), and the opcode table's names (src/core/opdef.c, which needs
 * no backend). The oracle is the platform's own headers: SHUT_* or SD_*,
 * poll(2)'s or WSAPoll's bit layout, Linux's statx bits.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* AT_FDCWD, AT_REMOVEDIR */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cio.h"

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/socket.h>
#endif

static int failures;
#define CHECK(c)                                                            \
    do {                                                                    \
        if (!(c)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

/* Each bit set once: flags a program ORs together must not overlap. */
static int distinct_bits(const unsigned *v, unsigned n) {
    unsigned seen = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!v[i] || (seen & v[i])) return 0;
        seen |= v[i];
    }
    return 1;
}

static void constants(void) {
#if defined(_WIN32)
    CHECK(CIO_SHUT_RD == SD_RECEIVE && CIO_SHUT_WR == SD_SEND && CIO_SHUT_RDWR == SD_BOTH);
#else
    CHECK(CIO_SHUT_RD == SHUT_RD && CIO_SHUT_WR == SHUT_WR && CIO_SHUT_RDWR == SHUT_RDWR);
    CHECK(CIO_O_CREAT == O_CREAT && CIO_O_TRUNC == O_TRUNC && CIO_O_NONBLOCK == O_NONBLOCK);
    CHECK(CIO_AT_FDCWD == AT_FDCWD && CIO_AT_REMOVEDIR == AT_REMOVEDIR);
#endif
    unsigned poll_bits[] = {CIO_POLLIN, CIO_POLLPRI, CIO_POLLOUT, CIO_POLLERR, CIO_POLLHUP, CIO_POLLNVAL, CIO_POLLRDHUP};
    CHECK(distinct_bits(poll_bits, sizeof poll_bits / sizeof poll_bits[0]));
    unsigned open_bits[] = {CIO_O_CREAT, CIO_O_EXCL, CIO_O_NOCTTY, CIO_O_TRUNC, CIO_O_APPEND, CIO_O_NONBLOCK,
                            CIO_O_DSYNC, CIO_O_CLOEXEC, CIO_O_DIRECTORY, CIO_O_NOFOLLOW};
    CHECK(distinct_bits(open_bits, sizeof open_bits / sizeof open_bits[0]));
    CHECK(CIO_O_RDONLY == 0 && CIO_O_WRONLY == 1 && CIO_O_RDWR == 2);
    CHECK((CIO_O_SYNC & CIO_O_DSYNC) == CIO_O_DSYNC);
    unsigned at_bits[] = {CIO_AT_SYMLINK_NOFOLLOW, CIO_AT_REMOVEDIR, CIO_AT_EMPTY_PATH};
    CHECK(distinct_bits(at_bits, 3));
    /* Linux's statx layout and bits, which every backend fills alike. */
    CHECK(CIO_STATX_SIZE == 0x200u && CIO_STATX_MODE == 0x2u && CIO_STATX_BASIC_STATS == 0x7ffu);
    CHECK(offsetof(cio_statx, size) == 40 && offsetof(cio_statx, mtime) == 112 && sizeof(cio_statx) == 256);
    CHECK((CIO_S_IFREG & CIO_S_IFMT) == CIO_S_IFREG && CIO_S_IFDIR != CIO_S_IFREG);
    unsigned msg_bits[] = {CIO_MSG_PEEK, CIO_MSG_WAITALL, CIO_MSG_DONTWAIT};
    CHECK(distinct_bits(msg_bits, 3));
    CHECK(CIO_SOCK_NONBLOCK != CIO_SOCK_CLOEXEC);
}

static void op_layout(void) {
#if defined(_WIN64)
    CHECK(sizeof(cio_op) == 168);
    CHECK(sizeof(cio_fd) == sizeof(void *));
#elif UINTPTR_MAX == UINT64_MAX
    CHECK(sizeof(cio_op) == 128);
#endif
    CHECK(sizeof(((cio_op *)0)->res) == 4);
    /* Every prep helper takes the portable constants. */
    cio_op op;
    cio_statx st;
    cio_prep_openat(&op, CIO_AT_FDCWD, "x", CIO_O_RDWR | CIO_O_CREAT, 0644);
    CHECK(op.opcode == CIO_OP_OPENAT && op.args.open.dirfd == CIO_AT_FDCWD);
    cio_prep_statx(&op, CIO_AT_FDCWD, "x", CIO_AT_SYMLINK_NOFOLLOW, CIO_STATX_SIZE, &st);
    CHECK(op.args.statx.mask == CIO_STATX_SIZE);
    cio_prep_unlinkat(&op, CIO_AT_FDCWD, "d", CIO_AT_REMOVEDIR);
    CHECK(op.args.unlink.flags == CIO_AT_REMOVEDIR);
    cio_prep_shutdown(&op, (cio_fd)3, CIO_SHUT_WR);
    CHECK(op.args.shutdown.how == CIO_SHUT_WR);
    cio_prep_poll(&op, (cio_fd)3, CIO_POLLIN | CIO_POLLOUT);
    CHECK(op.args.poll.events == (CIO_POLLIN | CIO_POLLOUT));
}

/* The handle a completed op made, as its callback would read it. */
static void handle_results(void) {
    cio_op op;
    cio_prep_socket(&op, AF_INET, SOCK_STREAM, 0);
#if defined(_WIN32)
    /* A SOCKET above 2^32 would not survive an int32_t result. */
    cio_fd big = (cio_fd)(((uint64_t)1 << 40) | 0x1234u);
    op.res = 0;
    op.internal_.win.handle = big;
    CHECK(cio_op_fd(&op) == big);
#else
    op.res = 7;
    CHECK(cio_op_fd(&op) == 7);
#endif
    op.res = -CIO_EMFILE;
    CHECK(cio_op_fd(&op) == CIO_FD_INVALID);
    char buf[4];
    cio_prep_read(&op, (cio_fd)3, buf, sizeof buf, 0);
    op.res = 4; /* a byte count, not a handle */
    CHECK(cio_op_fd(&op) == CIO_FD_INVALID);
}

static void names(void) {
    CHECK(strcmp(cio_op_name(CIO_OP_ACCEPT), "accept") == 0);
    CHECK(strcmp(cio_op_name(CIO_OP_POST), "post") == 0);
    CHECK(strcmp(cio_op_name(0), "invalid") == 0);
    CHECK(strcmp(cio_op_name(CIO_OP_COUNT_), "invalid") == 0);
    CHECK(strcmp(cio_op_name(-1), "invalid") == 0);
    for (int opc = 1; opc < CIO_OP_COUNT_; opc++) {
        const char *n = cio_op_name(opc);
        CHECK(n && *n && strcmp(n, "invalid") != 0);
        for (int other = 1; other < opc; other++) CHECK(strcmp(n, cio_op_name(other)) != 0);
    }
    CHECK(strcmp(cio_strerror(-CIO_ECONNRESET), "connection reset by peer") == 0);
}

int main(void) {
    constants();
    op_layout();
    handle_results();
    names();
    if (failures) {
        fprintf(stderr, "test_portable_api: %d failures\n", failures);
        return 1;
    }
    printf("test_portable_api: ok\n");
    return 0;
}
