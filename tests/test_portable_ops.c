/*
 * test_portable_ops - the portable constants of cio/op.h drive real ops on
 * every backend, and the handles ops make come out through cio_op_fd()
 * (and the task calls' intptr_t). Oracles: plain system calls (fstat,
 * read on the peer, fcntl on the new handle, stat after the unlink).
 * Also cio_loop_options: reserved words must be zero; the seed and a
 * backend's own options are accepted; a backend not built here (IOCP) is
 * refused with -CIO_ENOTSUP.
 *
 * CIO_TEST_PORTABLE: on Windows the oracles are Win32's (GetFileType,
 * GetFileAttributesEx, getsockopt); the flags of a new handle (close-on-exec,
 * nonblocking, the access mode) cannot be read back there, nor has a file
 * POSIX permission bits; the backend not built is io_uring (epoll, poll).
 */
#include "test.h"

#include <fcntl.h>
#if !defined(_WIN32)
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#endif

static char dir[300];

/* Plain file system calls, for the oracle. */
static int mk_dir(const char *path) {
#if defined(_WIN32)
    return CreateDirectoryA(path, NULL) ? 0 : -1;
#else
    return mkdir(path, 0700);
#endif
}

static int rm_file(const char *path) {
#if defined(_WIN32)
    return DeleteFileA(path) ? 0 : -1;
#else
    return unlink(path);
#endif
}

static int rm_dir(const char *path) {
#if defined(_WIN32)
    return RemoveDirectoryA(path) ? 0 : -1;
#else
    return rmdir(path);
#endif
}

/* Whether `fd` is an open handle of a regular file. */
static bool is_open_file(cio_fd fd) {
#if defined(_WIN32)
    return GetFileType((HANDLE)fd) == FILE_TYPE_DISK;
#else
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
#endif
}

static void set_env(const char *name, const char *value) {
#if defined(_WIN32)
    _putenv_s(name, value ? value : "");
#else
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
#endif
}

static int32_t run_op(cio_loop *loop, t_op *t) {
    t_arm(t);
    CHECK_EQ(cio_submit(loop, &t->op), 0);
    t_run(loop, 10.0);
    CHECK_EQ(t->finals, 1);
    return t->res;
}

static void files(cio_loop *loop) {
    char path[320], sub[320];
    snprintf(path, sizeof path, "%s/f", dir);
    snprintf(sub, sizeof sub, "%s/d", dir);

    t_op t;
    cio_prep_openat(&t.op, CIO_AT_FDCWD, path, CIO_O_WRONLY | CIO_O_CREAT | CIO_O_EXCL | CIO_O_CLOEXEC, 0600);
    int32_t r = run_op(loop, &t);
    CHECK(r >= 0);
    cio_fd fd = cio_op_fd(&t.op);
    CHECK(is_open_file(fd));
#if defined(_WIN32)
    CHECK_EQ(r, 0); /* Windows: the handle does not fit the result */
#else
    CHECK_EQ(fd, r); /* POSIX: the descriptor is the result */
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
#endif
    /* CIO_O_EXCL: a second create fails. */
    cio_prep_openat(&t.op, CIO_AT_FDCWD, path, CIO_O_WRONLY | CIO_O_CREAT | CIO_O_EXCL, 0600);
    CHECK_EQ(run_op(loop, &t), -CIO_EEXIST);
    CHECK_EQ(cio_op_fd(&t.op), CIO_FD_INVALID);

    static const char data[] = "portable constants";
    cio_prep_write(&t.op, fd, data, sizeof data, 0);
    CHECK_EQ(run_op(loop, &t), sizeof data);

    /* statx with the portable mask, against fstat. */
    cio_statx st;
    memset(&st, 0, sizeof st);
    cio_prep_statx(&t.op, CIO_AT_FDCWD, path, CIO_AT_SYMLINK_NOFOLLOW, CIO_STATX_SIZE | CIO_STATX_MODE, &st);
    CHECK_EQ(run_op(loop, &t), 0);
    CHECK(st.mask & CIO_STATX_SIZE);
    CHECK_EQ(st.size, t_sys_file_size(path));
    CHECK_EQ(st.size, sizeof data);
    CHECK_EQ(st.mode & CIO_S_IFMT, CIO_S_IFREG);
#if !defined(_WIN32) /* no permission bits there */
    CHECK_EQ(st.mode & 07777, 0600);
#endif
    /* CIO_AT_EMPTY_PATH: the status of the handle itself. */
    memset(&st, 0, sizeof st);
    cio_prep_statx(&t.op, fd, "", CIO_AT_EMPTY_PATH, CIO_STATX_SIZE, &st);
    CHECK_EQ(run_op(loop, &t), 0);
    CHECK_EQ(st.size, sizeof data);

    cio_prep_close(&t.op, fd);
    CHECK_EQ(run_op(loop, &t), 0);

    /* A directory, removed with CIO_AT_REMOVEDIR. */
    CHECK_EQ(mk_dir(sub), 0);
    memset(&st, 0, sizeof st);
    cio_prep_statx(&t.op, CIO_AT_FDCWD, sub, 0, CIO_STATX_TYPE, &st);
    CHECK_EQ(run_op(loop, &t), 0);
    CHECK_EQ(st.mode & CIO_S_IFMT, CIO_S_IFDIR);
    cio_prep_unlinkat(&t.op, CIO_AT_FDCWD, sub, 0); /* a directory needs the flag */
    CHECK(run_op(loop, &t) < 0);
    cio_prep_unlinkat(&t.op, CIO_AT_FDCWD, sub, CIO_AT_REMOVEDIR);
    CHECK_EQ(run_op(loop, &t), 0);
    CHECK(t_sys_file_size(sub) < 0); /* gone */
    /* CIO_O_DIRECTORY refuses a file. */
    cio_prep_openat(&t.op, CIO_AT_FDCWD, path, CIO_O_RDONLY | CIO_O_DIRECTORY, 0);
    CHECK_EQ(run_op(loop, &t), -CIO_ENOTDIR);
    CHECK_EQ(rm_file(path), 0);
}

static void sockets(cio_loop *loop) {
    t_op t;
    cio_prep_socket(&t.op, AF_INET, SOCK_STREAM | CIO_SOCK_CLOEXEC, 0);
    CHECK(run_op(loop, &t) >= 0);
    cio_fd lfd = cio_op_fd(&t.op);
    CHECK(t_is_socket(lfd));
#if !defined(_WIN32)
    CHECK(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
#endif
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    CHECK_EQ(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ(listen(lfd, 4), 0);
    CHECK_EQ(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);

    cio_fd peer = t_sys_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(peer != T_FD_NONE);
    CHECK_EQ(connect(peer, (struct sockaddr *)&a, sizeof a), 0);
    cio_prep_accept(&t.op, lfd, NULL, NULL, CIO_SOCK_NONBLOCK | CIO_SOCK_CLOEXEC);
    CHECK(run_op(loop, &t) >= 0);
    cio_fd s = cio_op_fd(&t.op);
    CHECK(t_is_socket(s));
#if !defined(_WIN32)
    CHECK(fcntl(s, F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(s, F_GETFD) & FD_CLOEXEC);
#endif

    /* CIO_POLLIN once the peer wrote; CIO_MSG_PEEK leaves the byte. */
    CHECK_EQ(t_sys_write(peer, "x", 1), 1);
    cio_prep_poll(&t.op, s, CIO_POLLIN);
    int32_t r = run_op(loop, &t);
    CHECK(r > 0 && (r & CIO_POLLIN));
    char c = 0;
    cio_prep_recv(&t.op, s, &c, 1, CIO_MSG_PEEK);
    CHECK_EQ(run_op(loop, &t), 1);
    cio_prep_recv(&t.op, s, &c, 1, CIO_MSG_DONTWAIT);
    CHECK_EQ(run_op(loop, &t), 1);
    CHECK_EQ(c, 'x');
    cio_prep_recv(&t.op, s, &c, 1, CIO_MSG_DONTWAIT);
    CHECK_EQ(run_op(loop, &t), -CIO_EAGAIN);

    /* CIO_SHUT_WR: the peer reads end of file. */
    cio_prep_shutdown(&t.op, s, CIO_SHUT_WR);
    CHECK_EQ(run_op(loop, &t), 0);
    CHECK_EQ(t_sys_read(peer, &c, 1), 0);
    CHECK_EQ(t_close_handle(peer), 0);
    CHECK_EQ(t_close_handle(s), 0);
    CHECK_EQ(t_close_handle(lfd), 0);
}

/* The task calls that make handles return them as intptr_t. */
static intptr_t task_handles(void *arg) {
    (void)arg;
    char path[320];
    snprintf(path, sizeof path, "%s/t", dir);
    intptr_t fd = cio_openat(CIO_AT_FDCWD, path, CIO_O_RDWR | CIO_O_CREAT | CIO_O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(is_open_file((cio_fd)fd));
    CHECK_EQ(cio_close((cio_fd)fd), 0);
    CHECK_EQ(rm_file(path), 0);
    intptr_t s = cio_socket(AF_INET6, SOCK_DGRAM, 0);
    if (s == -CIO_EAFNOSUPPORT) s = cio_socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    int type = 0;
    int len = sizeof type;
    CHECK_EQ(t_getsockopt((cio_fd)s, SOL_SOCKET, SO_TYPE, &type, &len), 0);
    CHECK_EQ(type, SOCK_DGRAM);
    CHECK_EQ(cio_close((cio_fd)s), 0);
    return 0;
}

static void options(void) {
    cio_loop loop;
    cio_loop_options o;
    for (unsigned i = 0; i < sizeof o.reserved_ / sizeof o.reserved_[0]; i++) {
        memset(&o, 0, sizeof o);
        o.reserved_[i] = 1;
        CHECK_EQ(cio_loop_init(&loop, &o), -CIO_EINVAL);
    }
    memset(&o, 0, sizeof o);
    o.reserved0_ = 1;
    CHECK_EQ(cio_loop_init(&loop, &o), -CIO_EINVAL);
    memset(&o, 0, sizeof o);
    o.flags = 1;
    CHECK_EQ(cio_loop_init(&loop, &o), -CIO_EINVAL);

    /* A seed and a backend's own options: ignored by the backends built. */
    static const int settings = 42;
    memset(&o, 0, sizeof o);
    o.seed = 12345;
    o.backend_options = &settings;
    CHECK_EQ(cio_loop_init(&loop, &o), 0);
    t_op t;
    cio_prep_nop(&t.op);
    CHECK_EQ(run_op(&loop, &t), 0);
    t_close(&loop);

    /* Named but not built here (IOCP off Windows, io_uring/epoll/poll on it):
     * refused, whatever CIO_BACKEND says. */
    const char *env = getenv("CIO_BACKEND");
    char saved[32] = "";
    if (env) snprintf(saved, sizeof saved, "%s", env);
    set_env("CIO_BACKEND", NULL);
    memset(&o, 0, sizeof o);
#if defined(_WIN32)
    static const cio_backend_kind absent[] = {CIO_BACKEND_URING, CIO_BACKEND_EPOLL, CIO_BACKEND_POLL};
#else
    static const cio_backend_kind absent[] = {CIO_BACKEND_IOCP};
#endif
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        o.backend = absent[i];
        CHECK_EQ(cio_loop_init(&loop, &o), -CIO_ENOTSUP);
    }
    o.backend = (cio_backend_kind)99;
    CHECK_EQ(cio_loop_init(&loop, &o), -CIO_EINVAL);
    if (env) set_env("CIO_BACKEND", saved);
}

int main(void) {
    t_watchdog();
    snprintf(dir, sizeof dir, "%s/portable", t_tmpdir());
    CHECK_EQ(mk_dir(dir), 0);
    cio_loop loop;
    t_loop_init(&loop, 64);
    files(&loop);
    sockets(&loop);
    t_close(&loop);
    intptr_t result = -1;
    CHECK_EQ(cio_main(task_handles, NULL, NULL, &result), 0);
    CHECK_EQ(result, 0);
    options();
    CHECK_EQ(rm_dir(dir), 0); /* every file the test made is gone */
    printf("portable_ops: ok\n");
    return 0;
}
