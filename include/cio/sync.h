/*
 * cio/sync.h - synchronisation between tasks: event, semaphore, mutex,
 * bounded channel, and a channel that carries messages from any thread to
 * the tasks of one loop.
 *
 *     cio_chan ch;
 *     int slots[64];
 *     cio_chan_init(&ch, slots, sizeof slots[0], 64);
 *     // producer task                     // consumer task
 *     int v = 42;                           int v;
 *     cio_chan_send(&ch, &v);               while (cio_chan_recv(&ch, &v) == 0) use(v);
 *     cio_chan_close(&ch);                  // -CIO_EPIPE: closed and drained
 *
 * Memory: every object here is a public struct the caller places (stack,
 * static, embedded) and keeps at one address while it is in use; nothing
 * allocates. A blocked task waits in a record on its own stack. Dropping an
 * object while a task is blocked on it is a bug, also when the task's loop
 * is about to be closed: the close ends the task, which then takes its
 * record out of the object's queue (cio/task.h), so the object must last
 * until cio_loop_close() has returned. There is no destroy call, since
 * there is nothing to free. All-zero is a valid unset event, a
 * semaphore with no permits and an unlocked mutex; channels need their init.
 *
 * Misuse: every call checks its pointers. A NULL object (or element, or
 * message) makes the calls that return an int return -CIO_EINVAL, the void
 * ones (init, set, reset, close) do nothing, and the queries (is_set,
 * value, len) return false or 0. A channel or cross-thread channel that
 * was never initialised (all-zero) is refused with -CIO_EINVAL too (after
 * the -CIO_EPERM of a blocking call outside a task). Undefined, since no
 * check is cheap: an object
 * that is not all-zero and was never initialised, one that moved or was
 * dropped while in use, and the same object used from two threads (except
 * as the cross-thread channel allows).
 *
 * Threads: everything here belongs to the thread that runs the tasks using
 * it (tasks of several loops on that thread may share an object), except
 * cio_xchan_send() and cio_xchan_close(), which any thread may call.
 * Non-blocking calls (set, release, unlock, try_*, close) may also be made
 * from plain callbacks on that thread; a task they wake runs when the task
 * or callback that woke it returns to the loop.
 *
 * Blocking calls (wait, acquire, lock, send, recv) are for tasks only:
 *   - outside a task they return -CIO_EPERM;
 *   - once the task has been cancelled they return -CIO_ECANCELED at once,
 *     even when they would not have had to block, so that the task unwinds
 *     (task.h); a task cancelled while blocked is taken out of the queue and
 *     the object is left as if it had never waited;
 *   - they honour the task's deadline scope (cio_deadline_push): a call that
 *     has to block and is still blocked at the deadline returns
 *     -CIO_ETIMEDOUT, leaving the object unchanged. A call that need not
 *     block succeeds even past the deadline. cio_event_wait_until() adds a
 *     deadline of its own; for the others, open a scope around the call.
 *
 * Fairness: waiters are served first come, first served, by hand-off: a
 * release, unlock or send gives what it frees directly to the first waiter,
 * so that a task that did not wait cannot take it in between, and no waiter
 * starves. A woken waiter owns what it was given even if it is cancelled or
 * its deadline passes before it runs again.
 */
#ifndef CIO_SYNC_H
#define CIO_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "op.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A queue of blocked tasks; the runtime's. */
typedef cio_list_ cio_sync_queue_;

/* ---- event ---- */

/*
 * An event is set or unset. cio_event_wait() returns at once when it is
 * set, else blocks until cio_event_set(), which wakes every task waiting.
 * A waiter woken by a set returns 0 even if the event is reset before it
 * runs again. The event stays set until cio_event_reset().
 */
typedef struct cio_event {
    struct {
        cio_sync_queue_ waiters;
        bool set;
    } internal_; /* the runtime's; never read or write it */
} cio_event;

CIO_API void cio_event_init(cio_event *ev, bool set);
CIO_API void cio_event_set(cio_event *ev);
CIO_API void cio_event_reset(cio_event *ev);
CIO_API bool cio_event_is_set(const cio_event *ev);

/* cio_event_wait - block until the event is set. Returns 0, -CIO_EPERM,
 * -CIO_ECANCELED or -CIO_ETIMEDOUT (deadline scope). */
CIO_API int cio_event_wait(cio_event *ev);

/* cio_event_wait_until - as cio_event_wait(), with a deadline of its own:
 * the absolute cio_now() time `at` (0: none). The earlier of `at` and the
 * scope's deadline applies. */
CIO_API int cio_event_wait_until(cio_event *ev, uint64_t at);

/* ---- semaphore ---- */

/* A counting semaphore: `count` permits. */
typedef struct cio_sem {
    struct {
        cio_sync_queue_ waiters;
        uint32_t count;
    } internal_;
} cio_sem;

CIO_API void cio_sem_init(cio_sem *sem, uint32_t count);

/* cio_sem_acquire - take a permit, blocking while there is none. Returns 0,
 * -CIO_EPERM, -CIO_ECANCELED or -CIO_ETIMEDOUT. */
CIO_API int cio_sem_acquire(cio_sem *sem);

/* cio_sem_try_acquire - take a permit if one is free: 0, else -CIO_EAGAIN.
 * Any context on the thread. */
CIO_API int cio_sem_try_acquire(cio_sem *sem);

/* cio_sem_release - give a permit back: to the first waiter if a task is
 * blocked, else to the count. Returns 0, or -CIO_EOVERFLOW when the count
 * is at UINT32_MAX. Any context on the thread. */
CIO_API int cio_sem_release(cio_sem *sem);

/* cio_sem_value - the free permits. */
CIO_API uint32_t cio_sem_value(const cio_sem *sem);

/* ---- mutex ---- */

/*
 * A mutex owned by one task at a time; not recursive. A task must unlock
 * what it locked before it returns (a mutex whose owner ended stays locked).
 * Unlocking hands the mutex to the first waiter (FIFO).
 */
typedef struct cio_mutex {
    struct {
        cio_sync_queue_ waiters;
        cio_task *owner;
    } internal_;
} cio_mutex;

CIO_API void cio_mutex_init(cio_mutex *m);

/* cio_mutex_lock - block until the running task owns `m`. Returns 0,
 * -CIO_EBUSY (the task owns it already), -CIO_EPERM, -CIO_ECANCELED or
 * -CIO_ETIMEDOUT. */
CIO_API int cio_mutex_lock(cio_mutex *m);

/* cio_mutex_try_lock - take `m` if it is free: 0, -CIO_EAGAIN (held, also
 * by the running task itself) or -CIO_EPERM (not in a task). */
CIO_API int cio_mutex_try_lock(cio_mutex *m);

/* cio_mutex_unlock - release `m`, handing it to the first waiter. Returns
 * 0, or -CIO_EPERM when the running task does not own it (or no task runs). */
CIO_API int cio_mutex_unlock(cio_mutex *m);

/* ---- bounded channel ---- */

/*
 * A FIFO of fixed-size elements, copied in and out, over a buffer the
 * caller provides: `capacity` elements of `elem_size` bytes. Capacity 0 is
 * a rendezvous: a send completes only when a receiver takes the element.
 *
 * Close: senders fail with -CIO_EPIPE from then on (a blocked sender too:
 * its element was not sent); receivers get what is buffered, then
 * -CIO_EPIPE. The buffer is the channel's from init until it is no longer
 * used; closing does not give it back early.
 */
typedef struct cio_chan {
    struct {
        cio_sync_queue_ senders, receivers;
        unsigned char *buf;
        size_t elem_size, capacity;
        size_t head, count;
        bool closed;
    } internal_;
} cio_chan;

/* cio_chan_init - returns 0, or -CIO_EINVAL (no channel, elem_size 0, no
 * buffer for a capacity, or a buffer size that overflows). The other
 * channel calls return -CIO_EINVAL on a channel never initialised. */
CIO_API int cio_chan_init(cio_chan *ch, void *buf, size_t elem_size, size_t capacity);

/* cio_chan_send - copy `elem` in, blocking while the channel is full (with
 * capacity 0: until a receiver takes it). Returns 0, -CIO_EPIPE (closed),
 * -CIO_EPERM, -CIO_ECANCELED or -CIO_ETIMEDOUT; on an error the element was
 * not sent. `elem` must stay valid while the call blocks. */
CIO_API int cio_chan_send(cio_chan *ch, const void *elem);

/* cio_chan_recv - copy the oldest element into `elem`, blocking while the
 * channel is empty. Returns 0, -CIO_EPIPE (closed and drained), -CIO_EPERM,
 * -CIO_ECANCELED or -CIO_ETIMEDOUT. */
CIO_API int cio_chan_recv(cio_chan *ch, void *elem);

/* Non-blocking forms, for any context on the thread: -CIO_EAGAIN where the
 * blocking form would block. */
CIO_API int cio_chan_try_send(cio_chan *ch, const void *elem);
CIO_API int cio_chan_try_recv(cio_chan *ch, void *elem);

/* cio_chan_close - close the channel and wake everything blocked on it.
 * Idempotent. */
CIO_API void cio_chan_close(cio_chan *ch);

/* cio_chan_len - elements buffered now. */
CIO_API size_t cio_chan_len(const cio_chan *ch);

/* ---- channel between threads ---- */

/*
 * A message for a cio_xchan: the caller's memory, sent by pointer (nothing
 * is copied). Embed it in your own struct, or point `data` at your payload.
 *
 * Ownership: from cio_xchan_send() until cio_xchan_recv() (or try_recv)
 * returns it, the message belongs to the channel; do not touch, free or
 * resend it. Then it belongs to the receiver, which may free it, reuse it,
 * or send it back on another channel. Messages still queued when the
 * channel is dropped are the caller's to reclaim (drain with try_recv);
 * messages in flight to a loop that is closed are lost, as with
 * cio_loop_post(), and keep the in-flight mark that cio_xchan_send() sets
 * (zero such a message before sending it again).
 */
typedef struct cio_xmsg {
    void *data; /* caller's; cio never reads it */
    struct {
        cio_op op; /* the carrier cio_loop_post() delivers */
        cio_lnode_ node; /* in its channel's queue of arrived messages */
        union {
            uint64_t align_;
            unsigned char bytes[8];
        } in_flight; /* an atomic flag: sent and not yet received; any thread */
    } internal_;
} cio_xmsg;

/*
 * cio_xchan - messages from any thread (a task or not, any loop or none) to
 * the tasks of one loop, the receiving loop, over cio_loop_post(): sending
 * is lock-free and allocates nothing. Messages from one sender arrive in the
 * order it sent them; messages of different senders interleave.
 *
 * A task blocked in cio_xchan_recv() keeps its loop alive: it waits in a
 * timer op, so that cio_loop_run(CIO_RUN_DEFAULT) and cio_main() see work in
 * flight (a plain post would not), and the arrival of a message cancels that
 * timer to wake it. Everything but send and close is for the receiving
 * loop's thread.
 *
 * Close: any thread, once or more (the first call counts). It travels like a
 * message, so messages a thread sent before its own close arrive first.
 * Sends after the close was requested fail with -CIO_EPIPE; a send racing a
 * close on another thread may still go through and is then received as
 * usual. Receivers get every queued message, then -CIO_EPIPE. The channel
 * may be dropped once a receiver has seen -CIO_EPIPE (the close has been
 * delivered) and no thread sends any more.
 */
typedef struct cio_xchan {
    struct {
        cio_loop *loop;
        cio_list_ arrived; /* not yet received */
        cio_sync_queue_ receivers;
        cio_op close_msg;
        bool closed;
        union {
            uint64_t align_;
            unsigned char bytes[8];
        } close_requested; /* an atomic flag, any thread */
    } internal_;
} cio_xchan;

/* cio_xchan_init - a channel into `loop`. Returns 0 or -CIO_EINVAL.
 * The receiving loop's thread, or before other threads see the channel. */
CIO_API int cio_xchan_init(cio_xchan *xc, cio_loop *loop);

/* cio_xchan_send - hand `msg` to the channel. Any thread. Returns 0,
 * -CIO_EINVAL, -CIO_EPIPE (closed) or -CIO_EALREADY (`msg` was sent, on
 * this or any channel, and has not been received yet: it stays queued once
 * and the call changed nothing). The send marks the message inside
 * `internal_` and the receive clears the mark: start a message all-zero
 * (`= {0}`, static, calloc) before its first send; a received message may
 * be sent again as it is. */
CIO_API int cio_xchan_send(cio_xchan *xc, cio_xmsg *msg);

/* cio_xchan_recv - take the oldest message that arrived, blocking until one
 * does. Returns 0 and sets `*out`, or -CIO_EPIPE (closed and drained),
 * -CIO_EPERM, -CIO_ECANCELED, -CIO_ETIMEDOUT (deadline scope). */
CIO_API int cio_xchan_recv(cio_xchan *xc, cio_xmsg **out);

/* cio_xchan_try_recv - as recv, but -CIO_EAGAIN instead of blocking; any
 * context on the receiving thread. */
CIO_API int cio_xchan_try_recv(cio_xchan *xc, cio_xmsg **out);

/* cio_xchan_close - close the channel; any thread. Returns 0, or
 * -CIO_EINVAL (no channel, or one never initialised). */
CIO_API int cio_xchan_close(cio_xchan *xc);

#ifdef __cplusplus
}
#endif

#endif /* CIO_SYNC_H */
