/*
 * src/backend/mock_fs.c - the mock's in-memory file system
 */
#include "mock_chan.h"

static int fs_check(mock *m, cio_op *op, mock_handle *h) {
    (void)m;
    (void)op;
    (void)h;
    return -CIO_ENOSYS; /* not built yet */
}

static int32_t fs_try(mock *m, cio_op *op, mock_handle *h) {
    (void)m;
    (void)op;
    (void)h;
    return -CIO_ENOSYS;
}

static void fs_close(mock *m, mock_handle *h) {
    (void)m;
    (void)h;
}

const mock_kind mock_fs_kind = {.name = "file", .check = fs_check, .try_op = fs_try, .close = fs_close};

void mock_fs_free(mock *m) { (void)m; }
