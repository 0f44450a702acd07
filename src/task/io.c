/*
 * src/task/io.c - the blocking-style calls: each prepares one L1 op on the
 * task's stack and waits for it with cio_await().
 */
#include "cio/task.h"
#include "cio/bufpool.h"
#include "cio/sync.h"

#define AWAIT(prep_call)     \
    do {                     \
        cio_op op;           \
        prep_call;           \
        return cio_await(&op); \
    } while (0)

/* An op that makes a handle: the handle itself, which cio_op_fd() takes
 * from wherever the platform keeps it. */
#define AWAIT_HANDLE(prep_call)                          \
    do {                                                 \
        cio_op op;                                       \
        prep_call;                                       \
        int32_t r_ = cio_await(&op);                     \
        return r_ < 0 ? r_ : (intptr_t)cio_op_fd(&op);  \
    } while (0)

int32_t cio_read(cio_fd fd, void *buf, uint32_t len, uint64_t offset) {
    AWAIT(cio_prep_read(&op, fd, buf, len, offset));
}
int32_t cio_write(cio_fd fd, const void *buf, uint32_t len, uint64_t offset) {
    AWAIT(cio_prep_write(&op, fd, buf, len, offset));
}
int32_t cio_readv(cio_fd fd, const cio_iovec *iov, uint32_t iovcnt, uint64_t offset) {
    AWAIT(cio_prep_readv(&op, fd, iov, iovcnt, offset));
}
int32_t cio_writev(cio_fd fd, const cio_iovec *iov, uint32_t iovcnt, uint64_t offset) {
    AWAIT(cio_prep_writev(&op, fd, iov, iovcnt, offset));
}
int32_t cio_fsync(cio_fd fd, uint32_t flags) { AWAIT(cio_prep_fsync(&op, fd, flags)); }
intptr_t cio_openat(cio_fd dirfd, const char *path, int flags, uint32_t mode) {
    AWAIT_HANDLE(cio_prep_openat(&op, dirfd, path, flags, mode));
}
int32_t cio_close(cio_fd fd) { AWAIT(cio_prep_close(&op, fd)); }
int32_t cio_stat(cio_fd dirfd, const char *path, int flags, uint32_t mask, cio_statx *buf) {
    AWAIT(cio_prep_statx(&op, dirfd, path, flags, mask, buf));
}
int32_t cio_unlinkat(cio_fd dirfd, const char *path, int flags) { AWAIT(cio_prep_unlinkat(&op, dirfd, path, flags)); }
int32_t cio_renameat(cio_fd olddirfd, const char *oldpath, cio_fd newdirfd, const char *newpath, uint32_t flags) {
    AWAIT(cio_prep_renameat(&op, olddirfd, oldpath, newdirfd, newpath, flags));
}
int32_t cio_mkdirat(cio_fd dirfd, const char *path, uint32_t mode) { AWAIT(cio_prep_mkdirat(&op, dirfd, path, mode)); }
intptr_t cio_socket(int domain, int type, int protocol) { AWAIT_HANDLE(cio_prep_socket(&op, domain, type, protocol)); }
int32_t cio_bind(cio_fd fd, const struct sockaddr *addr, cio_socklen addrlen) {
    AWAIT(cio_prep_bind(&op, fd, addr, addrlen));
}
int32_t cio_listen(cio_fd fd, int backlog) { AWAIT(cio_prep_listen(&op, fd, backlog)); }
intptr_t cio_accept(cio_fd fd, struct sockaddr *addr, cio_socklen *addrlen, int flags) {
    AWAIT_HANDLE(cio_prep_accept(&op, fd, addr, addrlen, flags));
}
int32_t cio_connect(cio_fd fd, const struct sockaddr *addr, cio_socklen addrlen) {
    AWAIT(cio_prep_connect(&op, fd, addr, addrlen));
}
int32_t cio_recv(cio_fd fd, void *buf, uint32_t len, int flags) { AWAIT(cio_prep_recv(&op, fd, buf, len, flags)); }
int32_t cio_send(cio_fd fd, const void *buf, uint32_t len, int flags) {
    AWAIT(cio_prep_send(&op, fd, buf, len, flags));
}
int32_t cio_send_zc(cio_fd fd, const void *buf, uint32_t len, int flags) {
    AWAIT(cio_prep_send_zc(&op, fd, buf, len, flags));
}
int32_t cio_recvmsg(cio_fd fd, cio_msghdr *msg, int flags) { AWAIT(cio_prep_recvmsg(&op, fd, msg, flags)); }
int32_t cio_sendmsg(cio_fd fd, const cio_msghdr *msg, int flags) { AWAIT(cio_prep_sendmsg(&op, fd, msg, flags)); }
int32_t cio_shutdown(cio_fd fd, int how) { AWAIT(cio_prep_shutdown(&op, fd, how)); }
int32_t cio_poll(cio_fd fd, uint32_t events) { AWAIT(cio_prep_poll(&op, fd, events)); }
int32_t cio_splice(cio_fd fd_in, uint64_t off_in, cio_fd fd_out, uint64_t off_out, uint32_t len, uint32_t flags) {
    AWAIT(cio_prep_splice(&op, fd_in, off_in, fd_out, off_out, len, flags));
}
int32_t cio_post(cio_loop *target, cio_op *msg) { AWAIT(cio_prep_post(&op, target, msg)); }
int32_t cio_ftruncate(cio_fd fd, uint64_t len) { AWAIT(cio_prep_ftruncate(&op, fd, len)); }
int32_t cio_fallocate(cio_fd fd, int mode, uint64_t off, uint64_t len) {
    AWAIT(cio_prep_fallocate(&op, fd, mode, off, len));
}
int32_t cio_symlinkat(const char *target, cio_fd newdirfd, const char *linkpath) {
    AWAIT(cio_prep_symlinkat(&op, target, newdirfd, linkpath));
}
int32_t cio_linkat(cio_fd olddirfd, const char *oldpath, cio_fd newdirfd, const char *newpath, int flags) {
    AWAIT(cio_prep_linkat(&op, olddirfd, oldpath, newdirfd, newpath, flags));
}
int32_t cio_readdir(cio_fd dirfd, void *buf, uint32_t len) { AWAIT(cio_prep_readdir(&op, dirfd, buf, len)); }
int32_t cio_copy_range(cio_fd fd_in, uint64_t off_in, cio_fd fd_out, uint64_t off_out, uint32_t len) {
    AWAIT(cio_prep_copy_range(&op, fd_in, off_in, fd_out, off_out, len));
}
int32_t cio_call(cio_call_fn fn, void *arg) { AWAIT(cio_prep_call(&op, fn, arg)); }

/* A receive from a buffer pool (cio/bufpool.h): the buffer's id goes to
 * `*id` only with data, when the buffer is the task's. */
int32_t cio_recv_pool(cio_fd fd, cio_bufpool *pool, int flags, uint32_t *id) {
    if (!pool || !id) return -CIO_EINVAL;
    cio_op op;
    cio_prep_recv_pool(&op, fd, pool, flags);
    int32_t r = cio_await(&op);
    if (r > 0) *id = cio_op_buf_id(&op);
    return r;
}

/* The wait for a free buffer (cio/bufpool.h): L1's waiter, queued on the
 * pool, sets an event on the task's stack, which the task waits on with
 * the deadline (the event's wait brings the scope, the cancel and the
 * checks of a blocking call). */
static void bufpool_woken(cio_bufpool *pool, cio_bufpool_waiter *w) {
    (void)pool;
    cio_event_set(w->data);
}

int cio_bufpool_wait(cio_bufpool *pool, uint64_t at) {
    if (!pool) return -CIO_EINVAL;
    if (!cio_task_current()) return -CIO_EPERM;
    if (cio_task_cancelled()) return -CIO_ECANCELED;
    cio_event ev;
    cio_event_init(&ev, false);
    cio_bufpool_waiter w;
    cio_bufpool_waiter_init(&w, bufpool_woken, &ev);
    int r = cio_bufpool_notify(pool, &w);
    if (r != 0) return r > 0 ? 0 : r;
    r = cio_event_wait_until(&ev, at);
    /* Still queued after a deadline or a cancel: out before the frame goes.
     * (-CIO_ENOENT when it was called, or let go by the loop's close.) */
    cio_bufpool_notify_cancel(&w);
    return r;
}
