/*
 * src/task/xchan.c - the channel between threads: each message is its own
 * cio_loop_post() carrier, so sending is the post queue's lock-free push;
 * on the receiving thread, the carrier's callback queues the message or
 * hands it to the first blocked receiver.
 *
 * Receivers block through a timer op (CIO_SYNC_KEEP_ALIVE): posts alone do
 * not keep cio_loop_run(CIO_RUN_DEFAULT) or cio_main() going, and a loop
 * with nothing in flight would return (or take the receiver for
 * deadlocked) while messages are still on their way.
 */
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "sync_internal.h"

static atomic_uint *close_flag(cio_xchan *xc) {
    _Static_assert(sizeof(atomic_uint) <= sizeof xc->internal_.close_requested.bytes, "room for the flag");
    _Static_assert(alignof(atomic_uint) <= alignof(uint64_t), "alignment of the flag");
    return (atomic_uint *)(void *)xc->internal_.close_requested.bytes;
}

/* The in-flight mark: set by the send, cleared when a receiver takes the
 * message. A value, not a bit, so that a message whose memory was never
 * cleared is taken for in flight only if it happens to hold exactly this. */
#define IN_FLIGHT 0xC10F1A6Eu

static atomic_uint *flight_flag(cio_xmsg *m) {
    _Static_assert(sizeof(atomic_uint) <= sizeof m->internal_.in_flight.bytes, "room for the flag");
    return (atomic_uint *)(void *)m->internal_.in_flight.bytes;
}

static cio_xmsg *msg_of(cio_op *op) {
    return (cio_xmsg *)(void *)((char *)op - offsetof(cio_xmsg, internal_.op));
}

static void deliver(cio_xchan *xc, cio_xmsg *m) {
    cio_sync_waiter *w = cio__waitq_first(&xc->internal_.receivers);
    if (w) {
        w->data = m;
        cio__sync_wake(&xc->internal_.receivers, w, 0);
        return;
    }
    list_push(&xc->internal_.arrived, &m->internal_.node);
}

static void on_message(cio_loop *loop, cio_op *op) {
    (void)loop;
    deliver(op->data, msg_of(op));
}

static void on_close(cio_loop *loop, cio_op *op) {
    (void)loop;
    cio_xchan *xc = op->data;
    xc->internal_.closed = true;
    cio__sync_wake_all(&xc->internal_.receivers, -CIO_EPIPE);
}

int cio_xchan_init(cio_xchan *xc, cio_loop *loop) {
    if (!xc || !loop) return -CIO_EINVAL;
    memset(xc, 0, sizeof *xc);
    xc->internal_.loop = loop;
    atomic_init(close_flag(xc), 0);
    return 0;
}

int cio_xchan_send(cio_xchan *xc, cio_xmsg *msg) {
    if (!xc || !msg || !xc->internal_.loop) return -CIO_EINVAL;
    if (atomic_load_explicit(close_flag(xc), memory_order_acquire)) return -CIO_EPIPE;
    /* Checked before the carrier is prepared: the prep clears the op's own
     * state, which is what cio_loop_post() would have refused it by. The
     * mark also covers a message that arrived and waits in the queue, where
     * the carrier is idle again. */
    if (atomic_exchange_explicit(flight_flag(msg), IN_FLIGHT, memory_order_acq_rel) == IN_FLIGHT)
        return -CIO_EALREADY;
    cio_op *op = &msg->internal_.op;
    cio_prep_nop(op);
    op->cb = on_message;
    op->data = xc;
    int r = cio_loop_post(xc->internal_.loop, op);
    if (r < 0) atomic_store_explicit(flight_flag(msg), 0, memory_order_release);
    return r;
}

int cio_xchan_close(cio_xchan *xc) {
    if (!xc || !xc->internal_.loop) return -CIO_EINVAL;
    if (atomic_exchange_explicit(close_flag(xc), 1, memory_order_acq_rel)) return 0;
    cio_op *op = &xc->internal_.close_msg;
    cio_prep_nop(op);
    op->cb = on_close;
    op->data = xc;
    return cio_loop_post(xc->internal_.loop, op);
}

/* The receiver takes `m`: from now on the sender may send it again. */
static cio_xmsg *taken(cio_xmsg *m) {
    atomic_store_explicit(flight_flag(m), 0, memory_order_release);
    return m;
}

int cio_xchan_try_recv(cio_xchan *xc, cio_xmsg **out) {
    if (!xc || !out || !xc->internal_.loop) return -CIO_EINVAL;
    lnode *n = list_pop(&xc->internal_.arrived);
    if (!n) return xc->internal_.closed ? -CIO_EPIPE : -CIO_EAGAIN;
    *out = taken(LIST_ENTRY(n, cio_xmsg, internal_.node));
    return 0;
}

int cio_xchan_recv(cio_xchan *xc, cio_xmsg **out) {
    if (!xc || !out) return -CIO_EINVAL;
    if (!cio_task_current()) return -CIO_EPERM; /* then try_recv checks that `xc` was initialised */
    if (cio_task_cancelled()) return -CIO_ECANCELED;
    int r = cio_xchan_try_recv(xc, out);
    if (r != -CIO_EAGAIN) return r;
    cio_sync_waiter w;
    w.data = NULL;
    r = cio__sync_wait(&xc->internal_.receivers, &w, 0, CIO_SYNC_KEEP_ALIVE);
    if (r == 0) *out = taken(w.data);
    return r;
}
