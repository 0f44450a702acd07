/*
 * src/backend/mock_net.c - the mock's sockets before they connect,
 * listeners on simulated addresses, and datagrams (mock_sim.h).
 */
#include "mock_chan.h"

static int net_check(mock *m, cio_op *op, mock_handle *h) {
    (void)m;
    (void)op;
    (void)h;
    return -CIO_ENOSYS; /* not built yet */
}

static int32_t net_try(mock *m, cio_op *op, mock_handle *h) {
    (void)m;
    (void)op;
    (void)h;
    return -CIO_ENOSYS;
}

static void net_close(mock *m, mock_handle *h) {
    (void)m;
    (void)h;
}

const mock_kind mock_socket_kind = {.name = "socket", .check = net_check, .try_op = net_try, .close = net_close};

void mock_net_free(mock *m) { (void)m; }
