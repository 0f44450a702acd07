/*
 * src/backend/mock_script.c - scripted results for the mock's ops
 * (cio/mock_script.h).
 */
#include "mock_sim.h"

int mock_script_claim(mock *m, cio_op *op, uint64_t *latency_ns) {
    (void)m;
    (void)op;
    (void)latency_ns;
    return 0;
}

int32_t mock_script_result(mock *m, cio_op *op) {
    (void)m;
    (void)op;
    return -CIO_ENOSYS;
}

void mock_script_drop(mock *m, cio_op *op) {
    (void)m;
    (void)op;
}

void mock_script_free(mock *m) { (void)m; }
