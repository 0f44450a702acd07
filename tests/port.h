/*
 * tests/port.h - the tests' portability layer: what a test needs from the
 * OS besides cio, as one interface with a POSIX half (plain passthroughs to
 * the system calls the tests used before) and a Windows half (Win32 and
 * Winsock). The oracles stay independent of cio: nothing here calls cio
 * except for the types (cio_fd) and the portable error numbers (CIO_E*).
 *
 * Include it through test.h (which includes it first); it needs nothing
 * else. On Windows a handle is a SOCKET or a HANDLE (cio_fd, pointer-sized);
 * keep handles in cio_fd variables, never in int.
 *
 * ---- Interface ----------------------------------------------------------
 *
 * Skipping (a test that cannot run on a platform says so, by name):
 *   T_SKIP_ON_WINDOWS("reason")   Windows: prints "SKIP <test>.<backend>: reason" on stdout and
 *                                 exits 77 (ctest's SKIP_RETURN_CODE: shown as skipped). POSIX:
 *                                 nothing. Use it first thing in main().
 *   T_SKIP("reason")              the same on every platform (e.g. under an emulator).
 *   T_SKIP_CASE_ON_WINDOWS(case, "reason")   Windows: prints "SKIP <test>.<backend>/<case>: reason"
 *                                 and evaluates to 1 (the caller skips that case and goes on);
 *                                 POSIX: 0. `if (T_SKIP_CASE_ON_WINDOWS("fifo", "...")) return;`
 *   t_on_windows()                1 on Windows, 0 elsewhere (a constant).
 *   T_LINUX_EXTRAS                1 where cio offers Linux's extras (splice, renameat2 flags, statx
 *                                 on the real backends): Linux without CIO_POSIX_ONLY; else 0.
 *   T_REAL_BACKEND                a backend that is not the mock and is always built: CIO_BACKEND_POLL
 *                                 on POSIX, CIO_BACKEND_IOCP on Windows.
 *   t_under_wine()                1 when running under Wine (ntdll's wine_get_version, or
 *                                 CIO_TEST_WINE set by ctest), for a skip that names Wine.
 *
 * Handles (every function returns 0 or a count, or a negative CIO_E* code: no errno to read):
 *   T_FD_NONE                     CIO_FD_INVALID (what a failed socket() returns on both).
 *   int  t_pipe(cio_fd p[2])      a pipe, p[0] the read end, p[1] the write end. POSIX: pipe2
 *                                 with O_CLOEXEC. Windows: an overlapped named pipe, both ends
 *                                 opened FILE_FLAG_OVERLAPPED, so both can join a completion port
 *                                 (the IOCP backend's own path), 64 KiB buffer, byte mode.
 *   int  t_pipe_sync(cio_fd p[2]) a pipe whose ends cannot do overlapped IO. POSIX: the same as
 *                                 t_pipe. Windows: CreatePipe (anonymous): cio must run its ops on
 *                                 the blocking pool. Only for tests of that path.
 *   int  t_socketpair(cio_fd sv[2])  a connected stream socket pair. POSIX: socketpair(AF_UNIX,
 *                                 SOCK_STREAM | SOCK_CLOEXEC). Windows: loopback TCP (127.0.0.1,
 *                                 made with a throwaway listener). Do not assume AF_UNIX.
 *   int  t_socketpair_sync(cio_fd sv[2])  the same, but on Windows sv[0] is made without
 *                                 WSA_FLAG_OVERLAPPED (a synchronous file object: cio runs its IO on
 *                                 the blocking pool). POSIX: t_socketpair. Only for tests of that path.
 *   cio_fd t_sys_socket(int family, int type, int proto)   socket(2) / Winsock socket() (which
 *                                 makes overlapped-capable sockets); T_FD_NONE on failure.
 *   long long t_sys_read(cio_fd, void *, size_t)    read(2) / recv or ReadFile, waited for;
 *                                 0 at end of stream (Windows: ERROR_BROKEN_PIPE too). On an
 *                                 overlapped HANDLE it issues an overlapped read and waits for it,
 *                                 with no packet to a completion port (the event's low bit).
 *   long long t_sys_write(cio_fd, const void *, size_t)  write(2) / send or WriteFile. A pipe
 *                                 with no reader: -CIO_EPIPE (POSIX: SIGPIPE ignored first).
 *   long long t_sys_pread(cio_fd, void *, size_t, long long off)   pread(2) / ReadFile at `off`.
 *   long long t_sys_pwrite(cio_fd, const void *, size_t, long long off)
 *   long long t_sys_send(cio_fd, const void *, size_t, int flags)   send(2) / Winsock send.
 *   long long t_sys_recv(cio_fd, void *, size_t, int flags)         recv(2) / Winsock recv.
 *                                 (flags: MSG_* of the platform; MSG_NOSIGNAL is 0 on Windows)
 *   int  t_close_handle(cio_fd)   close(2) / closesocket or CloseHandle.
 *   int  t_set_nonblock(cio_fd, int on)   O_NONBLOCK / FIONBIO (sockets); for pipes on Windows the
 *                                 layer remembers the handle (up to 64) and t_sys_read peeks first:
 *                                 only reads are nonblocking there. Nothing to read: -CIO_EAGAIN.
 *                                 (What cio sees: on Windows the pipe itself is unchanged.)
 *   int  t_is_socket(cio_fd)      1 if the handle is a socket.
 *   int  t_wait_readable(cio_fd, int ms)   1 once the handle is readable (POSIX: poll POLLIN) or
 *                                 signalled (Windows: WaitForSingleObject, e.g. cio_loop_fd's port),
 *                                 0 after `ms` (-1: no limit), negative CIO_E* on error.
 *   cio_fd t_sys_open(const char *path, int flags, int mode)   open(2) with O_CLOEXEC / CreateFileA
 *                                 (FILE_FLAG_OVERLAPPED) for O_RDONLY, O_WRONLY, O_RDWR, O_CREAT,
 *                                 O_EXCL, O_TRUNC, O_APPEND; T_FD_NONE on failure.
 *   cio_fd t_sys_open_dir(const char *path)   a handle on a directory: open(O_RDONLY | O_DIRECTORY) /
 *                                 CreateFileA(FILE_FLAG_BACKUP_SEMANTICS); T_FD_NONE on failure.
 *   int  t_same_file(cio_fd fd, const char *path)   1 if the open handle is the file at `path`:
 *                                 fstat/stat st_dev+st_ino / GetFileInformationByHandle's volume
 *                                 serial number and file index.
 *   int  t_exists(const char *path)   1 if the path names something: access(F_OK) / GetFileAttributesA.
 *   long long t_sys_file_size(const char *path)   stat(2)'s st_size / GetFileAttributesExA, or
 *                                 a negative CIO_E*.
 *   int  t_sys_stat(const char *path, int follow, t_stat *st)   0 or -CIO_E*: stat(2) / lstat(2)
 *                                 (follow 0) / CreateFileA(FILE_READ_ATTRIBUTES, BACKUP_SEMANTICS,
 *                                 OPEN_REPARSE_POINT unless follow) + GetFileInformationByHandle.
 *   int  t_sys_fstat(cio_fd fd, t_stat *st)   the same for an open handle.
 *                                 t_stat: type (CIO_S_IFREG, CIO_S_IFDIR, CIO_S_IFLNK, ...), perm
 *                                 (st_mode & 07777; -1 on Windows, which has no permission bits),
 *                                 size, ino (st_ino / the file index), nlink.
 *   int  t_sys_mkdir(const char *path, int mode)   mkdir(2) / CreateDirectoryA (mode ignored).
 *   int  t_sys_rmdir(const char *path)   rmdir(2) / RemoveDirectoryA.
 *   int  t_sys_unlink(const char *path)  unlink(2) / DeleteFileA (a link to a directory: RemoveDirectoryA).
 *   int  t_sys_symlink(const char *target, const char *linkpath)   symlink(2) / CreateSymbolicLinkA
 *                                 (unprivileged where Developer Mode allows it; else -CIO_EPERM:
 *                                 Windows wants a privilege to make links; -CIO_ENOTSUP where the
 *                                 call succeeds and makes nothing, as Wine 8's stub).
 *   long long t_sys_seek(cio_fd fd, long long off, int whence)   lseek(2) / SetFilePointerEx;
 *                                 the new position or -CIO_E*. (On Windows cio keeps its own
 *                                 position for an overlapped handle, from where the pointer stood
 *                                 at its first op: seek before cio sees the handle.)
 *   int  t_is_open(cio_fd fd)     1 if the handle is open: fcntl(F_GETFD) / GetHandleInformation.
 *   cio_fd t_closed_handle(void)  a handle value that is certainly closed: one that was just open
 *                                 (/dev/null / a file in t_tmpdir(), closed and removed).
 *   int  t_is_cloexec(cio_fd fd)  1 if a child process would not inherit it: FD_CLOEXEC /
 *                                 no HANDLE_FLAG_INHERIT.
 *   int  t_setsockopt(cio_fd, int level, int name, const void *v, int len)
 *   int  t_getsockopt(cio_fd, int level, int name, void *v, int *len)   Winsock wants char * and
 *                                 int lengths: these take void * and int on both.
 *   int  t_sock_timeouts(cio_fd, unsigned ms)   SO_RCVTIMEO and SO_SNDTIMEO (timeval / DWORD ms).
 *   int  t_sock_error(void)       the last plain socket call's error as a positive errno value
 *                                 (== CIO_E*): errno / WSAGetLastError() mapped (t_wsa_to_errno).
 *   int  t_sock_init(void)        Windows: WSAStartup once (every socket helper calls it first;
 *                                 call it before plain Winsock calls of your own). POSIX: nothing.
 *
 * POSIX names that plain calls in tests may keep using (Windows: defined here when missing):
 *   MSG_NOSIGNAL (0), SOCK_CLOEXEC (0), SHUT_RD/SHUT_WR/SHUT_RDWR (SD_*), ssize_t (mingw has it).
 *
 * Message headers (cio_msghdr is struct msghdr on POSIX, WSAMSG on Windows; cio_iovec is WSABUF-
 * shaped there, fields in the other order: initialise it by name, {.iov_base = b, .iov_len = n}):
 *   fill one with cio_msg_init() and read it with cio_msg_flags(), cio_msg_namelen(),
 *   cio_msg_controllen() (public, cio/op.h). For a test that sets a field itself (a sentinel):
 *   T_MSG_NAMELEN(m), T_MSG_FLAGS(m), T_MSG_IOVLEN(m), T_MSG_CONTROLLEN(m)   the fields as lvalues
 *                                 (Windows: dwFlags is unsigned; read flags with cio_msg_flags).
 *   T_MSG_NAME(m) (void *), T_MSG_IOV(m) (cio_iovec *), T_MSG_CONTROL(m) (void *)   read only.
 *
 * Files and time:
 *   const char *t_tmpdir(void)    a fresh scratch directory (made once per process, removed with
 *                                 everything in it at exit by the process that made it). POSIX
 *                                 $TMPDIR or /tmp; Windows GetTempPath. Paths use '/', which
 *                                 Windows accepts.
 *   void t_sleep_ms(unsigned ms)  nanosleep (EINTR resumed) / Sleep.
 *   void t_sleep_us(unsigned us)  nanosleep once / Sleep(us / 1000), or a yield below 1 ms (Windows
 *                                 sleeps in scheduler ticks: a short pause is at least a yield).
 *   uint64_t t_now_ns(void)       CLOCK_MONOTONIC / QueryPerformanceCounter, in nanoseconds.
 *
 * Threads (the pthread shape, so that a test's `void *fn(void *)` stays as it is):
 *   t_thread                      a thread; on Windows it holds fn/arg/result: keep it alive
 *                                 (not on a stack frame that returns) until t_thread_join.
 *   int  t_thread_start(t_thread *, void *(*fn)(void *), void *arg)   0 or -CIO_E*.
 *   int  t_thread_join(t_thread *, void **ret)   waits; *ret = fn's result (ret may be NULL).
 *
 * Process:
 *   void t_alarm(unsigned seconds, const char *what)   the watchdog: after `seconds` the program
 *                                 prints "watchdog: <what>" and exits 1; 0 cancels; a new call
 *                                 replaces the old one (alarm(2) semantics). POSIX: SIGALRM;
 *                                 Windows: a thread that watches a deadline.
 *   void t_alarm_fn(unsigned seconds, void (*fired)(void))   the same, but when it fires it calls
 *                                 fired() (POSIX: from the signal handler, so async-signal-safe
 *                                 calls only, e.g. t_write_stderr) and then exits 1.
 *   void t_write_stderr(const char *s)   write(2) to fd 2 / WriteFile to the standard error handle:
 *                                 unbuffered, usable from a signal handler or the watchdog.
 *   void t_ignore_sigpipe(void)   POSIX: SIGPIPE ignored (a send to a closed peer returns EPIPE);
 *                                 Windows: nothing (there is no SIGPIPE).
 *   int  t_pid(void)              getpid() / GetCurrentProcessId().
 *   int  t_setenv(const char *name, const char *value)   setenv(.., 1) / _putenv_s (the C
 *   int  t_unsetenv(const char *name)                    library's environment, which getenv reads).
 *   int  t_handle_count(void)     the open descriptors (/proc/self/fd) / GetProcessHandleCount: a
 *                                 leak oracle; compare counts taken at quiet moments only.
 *
 * What stays POSIX-only (use it in a test that says T_SKIP_ON_WINDOWS, or behind #ifndef _WIN32):
 * fork/waitpid (t_fork_capture in test.h), signals other than the above, rlimits, FIFOs,
 * fcntl flags, /proc, dup/dup2 of descriptor numbers.
 */
#ifndef CIO_TEST_PORT_H
#define CIO_TEST_PORT_H

#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include <cio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <errno.h>
#include <fcntl.h>
#include <process.h>
#include <sys/types.h>
#else
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#endif

/* ---- skipping ---------------------------------------------------------- */

/* "<test>.<backend>" from the source file's name and CIO_BACKEND, as ctest names the test. */
static inline const char *t_test_name_(const char *file, char *out, size_t cap) {
    const char *base = file;
    for (const char *p = file; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    if (strncmp(base, "test_", 5) == 0) base += 5;
    size_t n = strcspn(base, ".");
    const char *be = getenv("CIO_BACKEND");
    snprintf(out, cap, "%.*s.%s", (int)n, base, be && *be ? be : "once");
    return out;
}

_Noreturn static inline void t_skip_(const char *file, const char *reason) {
    char name[128];
    printf("SKIP %s: %s\n", t_test_name_(file, name, sizeof name), reason);
    fflush(stdout);
    exit(77);
}

static inline int t_skip_case_(const char *file, const char *what, const char *reason) {
    char name[128];
    printf("SKIP %s/%s: %s\n", t_test_name_(file, name, sizeof name), what, reason);
    fflush(stdout);
    return 1;
}

#define T_SKIP(reason) t_skip_(__FILE__, reason)
#if defined(_WIN32)
#define T_SKIP_ON_WINDOWS(reason) t_skip_(__FILE__, reason)
#define T_SKIP_CASE_ON_WINDOWS(what, reason) t_skip_case_(__FILE__, what, reason)
#else
#define T_SKIP_ON_WINDOWS(reason) ((void)0)
#define T_SKIP_CASE_ON_WINDOWS(what, reason) t_no_skip_()
#endif
static inline int t_no_skip_(void) { return 0; }

/* What the file-system tests read through plain calls (t_sys_stat). */
typedef struct t_stat {
    unsigned type;           /* CIO_S_IFREG, CIO_S_IFDIR, CIO_S_IFLNK, ... */
    int perm;                /* st_mode & 07777; -1 on Windows (no permission bits) */
    long long size;
    unsigned long long ino;  /* st_ino; Windows: the file index */
    unsigned nlink;
} t_stat;

static inline int t_on_windows(void) {
#if defined(_WIN32)
    return 1;
#else
    return 0;
#endif
}

/* ---- message headers ---------------------------------------------------- */

#if defined(_WIN32)
#define T_MSG_NAMELEN(m) ((m)->namelen)
#define T_MSG_FLAGS(m) ((m)->dwFlags)
#define T_MSG_IOVLEN(m) ((m)->dwBufferCount)
#define T_MSG_CONTROLLEN(m) ((m)->Control.len)
#define T_MSG_NAME(m) ((void *)(m)->name)
#define T_MSG_IOV(m) ((cio_iovec *)(void *)(m)->lpBuffers)
#define T_MSG_CONTROL(m) ((void *)(m)->Control.buf)
#else
#define T_MSG_NAMELEN(m) ((m)->msg_namelen)
#define T_MSG_FLAGS(m) ((m)->msg_flags)
#define T_MSG_IOVLEN(m) ((m)->msg_iovlen)
#define T_MSG_CONTROLLEN(m) ((m)->msg_controllen)
#define T_MSG_NAME(m) ((void *)(m)->msg_name)
#define T_MSG_IOV(m) ((cio_iovec *)(m)->msg_iov)
#define T_MSG_CONTROL(m) ((void *)(m)->msg_control)
#endif

#define T_FD_NONE CIO_FD_INVALID

#if defined(__linux__) && !defined(CIO_POSIX_ONLY)
#define T_LINUX_EXTRAS 1
#else
#define T_LINUX_EXTRAS 0
#endif

#if defined(_WIN32)
#define T_REAL_BACKEND CIO_BACKEND_IOCP
#else
#define T_REAL_BACKEND CIO_BACKEND_POLL
#endif

static inline int t_under_wine(void) {
    const char *e = getenv("CIO_TEST_WINE");
    if (e && *e && strcmp(e, "0") != 0) return 1;
#if defined(_WIN32)
    HMODULE nt = GetModuleHandleA("ntdll.dll");
    return nt && GetProcAddress(nt, "wine_get_version") != NULL;
#else
    return 0;
#endif
}

#if defined(_WIN32)
/* ======================================================================== */
/* Windows                                                                  */
/* ======================================================================== */

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif
#ifndef SOCK_CLOEXEC
#define SOCK_CLOEXEC 0
#endif
#ifndef SHUT_RD
#define SHUT_RD SD_RECEIVE
#define SHUT_WR SD_SEND
#define SHUT_RDWR SD_BOTH
#endif

static inline int t_sock_init(void) {
    static volatile LONG done;
    if (done) return 0;
    WSADATA wd;
    if (WSAStartup(MAKEWORD(2, 2), &wd) != 0) return -CIO_ENOSYS;
    InterlockedExchange(&done, 1);
    return 0;
}

/* Winsock's codes as errno values (== CIO_E*), written here rather than
 * borrowed from cio, so that the oracle does not share cio's mapping. */
static inline int t_wsa_to_errno(int e) {
    switch (e) {
    case 0: return 0;
    case WSAEWOULDBLOCK: return EAGAIN;
    case WSAEINTR: return EINTR;
    case WSAEBADF:
    case WSAENOTSOCK: return EBADF;
    case WSAEACCES: return EACCES;
    case WSAEFAULT: return EFAULT;
    case WSAEINVAL: return EINVAL;
    case WSAEMFILE: return EMFILE;
    case WSAEINPROGRESS: return EINPROGRESS;
    case WSAEALREADY: return EALREADY;
    case WSAEDESTADDRREQ: return EDESTADDRREQ;
    case WSAEMSGSIZE: return EMSGSIZE;
    case WSAEPROTOTYPE: return EPROTOTYPE;
    case WSAENOPROTOOPT: return ENOPROTOOPT;
    case WSAEPROTONOSUPPORT:
    case WSAESOCKTNOSUPPORT: return EPROTONOSUPPORT;
    case WSAEOPNOTSUPP: return EOPNOTSUPP;
    case WSAEAFNOSUPPORT:
    case WSAEPFNOSUPPORT: return EAFNOSUPPORT;
    case WSAEADDRINUSE: return EADDRINUSE;
    case WSAEADDRNOTAVAIL: return EADDRNOTAVAIL;
    case WSAENETDOWN:
    case WSAENETUNREACH: return ENETUNREACH;
    case WSAENETRESET:
    case WSAECONNRESET: return ECONNRESET;
    case WSAECONNABORTED: return ECONNABORTED;
    case WSAENOBUFS: return ENOBUFS;
    case WSAEISCONN: return EISCONN;
    case WSAENOTCONN: return ENOTCONN;
    case WSAESHUTDOWN: return EPIPE; /* a send after shutdown(SD_SEND): EPIPE on POSIX */
    case WSAETIMEDOUT: return ETIMEDOUT;
    case WSAECONNREFUSED: return ECONNREFUSED;
    case WSAEHOSTUNREACH:
    case WSAEHOSTDOWN: return EHOSTUNREACH;
    case WSAENAMETOOLONG: return ENAMETOOLONG;
    default: return EIO;
    }
}

/* Win32 errors of the calls below as errno values. */
static inline int t_win_to_errno(DWORD e) {
    switch (e) {
    case ERROR_SUCCESS: return 0;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND: return ENOENT;
    case ERROR_ACCESS_DENIED: return EACCES;
    case ERROR_INVALID_HANDLE: return EBADF;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY: return ENOMEM;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS: return EEXIST;
    case ERROR_INVALID_PARAMETER: return EINVAL;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA: return EPIPE;
    case ERROR_TOO_MANY_OPEN_FILES: return EMFILE;
    case ERROR_OPERATION_ABORTED: return ECANCELED;
    case ERROR_DIR_NOT_EMPTY: return ENOTEMPTY;
    case ERROR_DIRECTORY: return ENOTDIR;
    default: return EIO;
    }
}

static inline int t_sock_error(void) { return t_wsa_to_errno(WSAGetLastError()); }

static inline int t_is_socket(cio_fd fd) {
    t_sock_init();
    int type = 0, len = sizeof type;
    int saved = WSAGetLastError();
    int r = getsockopt((SOCKET)fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len);
    WSASetLastError(saved);
    return r == 0;
}

static inline cio_fd t_sys_socket(int family, int type, int proto) {
    if (t_sock_init() < 0) return T_FD_NONE;
    return (cio_fd)socket(family, type, proto);
}

static inline int t_wait_readable(cio_fd fd, int ms) {
    DWORD r = WaitForSingleObject((HANDLE)fd, ms < 0 ? INFINITE : (DWORD)ms);
    return r == WAIT_OBJECT_0 ? 1 : r == WAIT_TIMEOUT ? 0 : -t_win_to_errno(GetLastError());
}

static inline int t_setsockopt(cio_fd fd, int level, int name, const void *v, int len) {
    return setsockopt((SOCKET)fd, level, name, (const char *)v, len) == 0 ? 0 : -t_sock_error();
}

static inline int t_getsockopt(cio_fd fd, int level, int name, void *v, int *len) {
    return getsockopt((SOCKET)fd, level, name, (char *)v, len) == 0 ? 0 : -t_sock_error();
}

static inline int t_sock_timeouts(cio_fd fd, unsigned ms) {
    DWORD v = ms;
    int r = t_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &v, sizeof v);
    return r < 0 ? r : t_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &v, sizeof v);
}

static inline int t_close_handle(cio_fd fd) {
    if (t_is_socket(fd)) return closesocket((SOCKET)fd) == 0 ? 0 : -t_sock_error();
    return CloseHandle((HANDLE)fd) ? 0 : -t_win_to_errno(GetLastError());
}

/* One ReadFile or WriteFile, at `off` (files; ignored by pipes), waited for.
 * The event's low bit keeps the completion off any port the handle joined,
 * so that cio never sees the oracle's IO. */
static inline long long t_win_io_(cio_fd fd, void *buf, size_t len, long long off, int writing) {
    HANDLE h = (HANDLE)fd;
    HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ev) return -CIO_ENOMEM;
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.Offset = (DWORD)((unsigned long long)off & 0xffffffffu);
    ov.OffsetHigh = (DWORD)((unsigned long long)off >> 32);
    ov.hEvent = (HANDLE)((uintptr_t)ev | 1);
    DWORD n = 0, want = len > 0x7fffffffu ? 0x7fffffffu : (DWORD)len;
    BOOL ok = writing ? WriteFile(h, buf, want, &n, &ov) : ReadFile(h, buf, want, &n, &ov);
    DWORD err = ok ? 0 : GetLastError();
    if (!ok && err == ERROR_IO_PENDING) {
        ok = GetOverlappedResult(h, &ov, &n, TRUE);
        err = ok ? 0 : GetLastError();
    }
    CloseHandle(ev);
    if (ok) return (long long)n;
    if (!writing && (err == ERROR_BROKEN_PIPE || err == ERROR_HANDLE_EOF)) return 0; /* end of stream */
    return -t_win_to_errno(err);
}

static inline long long t_sys_send(cio_fd fd, const void *buf, size_t len, int flags) {
    int r = send((SOCKET)fd, (const char *)buf, len > 0x7fffffff ? 0x7fffffff : (int)len, flags);
    return r >= 0 ? r : -t_sock_error();
}

static inline long long t_sys_recv(cio_fd fd, void *buf, size_t len, int flags) {
    int r = recv((SOCKET)fd, (char *)buf, len > 0x7fffffff ? 0x7fffffff : (int)len, flags);
    return r >= 0 ? r : -t_sock_error();
}

static inline int t_nonblock_slot_(cio_fd fd);

static inline long long t_sys_read(cio_fd fd, void *buf, size_t len) {
    if (t_is_socket(fd)) {
        int r = recv((SOCKET)fd, (char *)buf, len > 0x7fffffff ? 0x7fffffff : (int)len, 0);
        return r >= 0 ? r : -t_sock_error();
    }
    if (len > 0 && t_nonblock_slot_(fd) >= 0) {
        DWORD avail = 0;
        if (!PeekNamedPipe((HANDLE)fd, NULL, 0, NULL, &avail, NULL)) {
            DWORD e = GetLastError();
            return e == ERROR_BROKEN_PIPE ? 0 : -t_win_to_errno(e);
        }
        if (avail == 0) return -CIO_EAGAIN;
    }
    return t_win_io_(fd, buf, len, 0, 0);
}

static inline long long t_sys_write(cio_fd fd, const void *buf, size_t len) {
    if (t_is_socket(fd)) {
        int r = send((SOCKET)fd, (const char *)buf, len > 0x7fffffff ? 0x7fffffff : (int)len, 0);
        return r >= 0 ? r : -t_sock_error();
    }
    return t_win_io_(fd, (void *)(uintptr_t)buf, len, 0, 1);
}

static inline long long t_sys_pread(cio_fd fd, void *buf, size_t len, long long off) {
    return t_win_io_(fd, buf, len, off, 0);
}

static inline long long t_sys_pwrite(cio_fd fd, const void *buf, size_t len, long long off) {
    return t_win_io_(fd, (void *)(uintptr_t)buf, len, off, 1);
}

/* Pipes the test made nonblocking (t_set_nonblock). A pipe's own PIPE_NOWAIT
 * needs rights that the server end of an inbound pipe lacks, so the layer
 * remembers the handles instead and peeks before reading them. */
static cio_fd t_nonblock_pipes_[64];

static inline int t_nonblock_slot_(cio_fd fd) {
    for (int i = 0; i < 64; i++)
        if (t_nonblock_pipes_[i] == fd) return i;
    return -1;
}

static inline int t_set_nonblock(cio_fd fd, int on) {
    if (t_is_socket(fd)) {
        u_long v = on ? 1 : 0;
        return ioctlsocket((SOCKET)fd, FIONBIO, &v) == 0 ? 0 : -t_sock_error();
    }
    if (GetFileType((HANDLE)fd) != FILE_TYPE_PIPE) return -CIO_EINVAL;
    int i = t_nonblock_slot_(fd);
    if (on && i < 0) {
        i = t_nonblock_slot_(0);
        if (i < 0) return -CIO_ENOMEM;
        t_nonblock_pipes_[i] = fd;
    } else if (!on && i >= 0) {
        t_nonblock_pipes_[i] = 0;
    }
    return 0;
}

static inline int t_pipe_named_(cio_fd p[2], DWORD client_flags) {
    static volatile LONG seq;
    p[0] = p[1] = T_FD_NONE;
    wchar_t name[96];
    swprintf(name, sizeof name / sizeof name[0], L"\\\\.\\pipe\\cio-test-%lu-%ld", GetCurrentProcessId(),
             (long)InterlockedIncrement(&seq));
    HANDLE rd = CreateNamedPipeW(name, PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                 PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1,
                                 65536, 65536, 0, NULL);
    if (rd == INVALID_HANDLE_VALUE) return -t_win_to_errno(GetLastError());
    /* FILE_READ_ATTRIBUTES: SetNamedPipeHandleState on the write end (t_set_nonblock). */
    HANDLE wr = CreateFileW(name, GENERIC_WRITE | FILE_READ_ATTRIBUTES, 0, NULL, OPEN_EXISTING, client_flags, NULL);
    if (wr == INVALID_HANDLE_VALUE) {
        int e = -t_win_to_errno(GetLastError());
        CloseHandle(rd);
        return e;
    }
    p[0] = (cio_fd)rd;
    p[1] = (cio_fd)wr;
    return 0;
}

static inline int t_pipe(cio_fd p[2]) { return t_pipe_named_(p, FILE_FLAG_OVERLAPPED); }

static inline int t_pipe_sync(cio_fd p[2]) {
    HANDLE rd, wr;
    p[0] = p[1] = T_FD_NONE;
    if (!CreatePipe(&rd, &wr, NULL, 65536)) return -t_win_to_errno(GetLastError());
    p[0] = (cio_fd)rd;
    p[1] = (cio_fd)wr;
    return 0;
}

/* sv[0] made with `client_flags` for WSASocketW (WSA_FLAG_OVERLAPPED: what socket() makes). */
static inline int t_socketpair_ex_(cio_fd sv[2], DWORD client_flags) {
    sv[0] = sv[1] = T_FD_NONE;
    int r = t_sock_init();
    if (r < 0) return r;
    SOCKET l = socket(AF_INET, SOCK_STREAM, 0), c = INVALID_SOCKET, a = INVALID_SOCKET;
    if (l == INVALID_SOCKET) return -t_sock_error();
    struct sockaddr_in at;
    memset(&at, 0, sizeof at);
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int len = sizeof at;
    if (bind(l, (struct sockaddr *)&at, sizeof at) != 0 || getsockname(l, (struct sockaddr *)&at, &len) != 0 ||
        listen(l, 1) != 0)
        goto fail;
    c = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, client_flags);
    if (c == INVALID_SOCKET || connect(c, (struct sockaddr *)&at, sizeof at) != 0) goto fail;
    a = accept(l, NULL, NULL);
    if (a == INVALID_SOCKET) goto fail;
    /* Small writes go out at once, as on a local stream socket. */
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    setsockopt(a, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    closesocket(l);
    sv[0] = (cio_fd)c;
    sv[1] = (cio_fd)a;
    return 0;
fail:
    r = -t_sock_error();
    closesocket(l);
    if (c != INVALID_SOCKET) closesocket(c);
    return r < 0 ? r : -CIO_EIO;
}

static inline int t_socketpair(cio_fd sv[2]) { return t_socketpair_ex_(sv, WSA_FLAG_OVERLAPPED); }
static inline int t_socketpair_sync(cio_fd sv[2]) { return t_socketpair_ex_(sv, 0); }

static inline cio_fd t_sys_open(const char *path, int flags, int mode) {
    (void)mode;
    DWORD access = 0;
    switch (flags & (O_RDONLY | O_WRONLY | O_RDWR)) {
    case O_WRONLY: access = GENERIC_WRITE; break;
    case O_RDWR: access = GENERIC_READ | GENERIC_WRITE; break;
    default: access = GENERIC_READ; break;
    }
    if (flags & O_APPEND) access = (access & ~(DWORD)GENERIC_WRITE) | FILE_APPEND_DATA;
    DWORD disp = OPEN_EXISTING;
    if ((flags & O_CREAT) && (flags & O_EXCL)) disp = CREATE_NEW;
    else if ((flags & O_CREAT) && (flags & O_TRUNC)) disp = CREATE_ALWAYS;
    else if (flags & O_CREAT) disp = OPEN_ALWAYS;
    else if (flags & O_TRUNC) disp = TRUNCATE_EXISTING;
    HANDLE h = CreateFileA(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, disp,
                           FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED, NULL);
    return h == INVALID_HANDLE_VALUE ? T_FD_NONE : (cio_fd)h;
}

static inline cio_fd t_sys_open_dir(const char *path) {
    HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    return h == INVALID_HANDLE_VALUE ? T_FD_NONE : (cio_fd)h;
}

static inline int t_exists(const char *path) { return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES; }

static inline int t_same_file(cio_fd fd, const char *path) {
    HANDLE h = CreateFileA(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                           FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) return 0;
    BY_HANDLE_FILE_INFORMATION a, b;
    int same = GetFileInformationByHandle((HANDLE)fd, &a) && GetFileInformationByHandle(h, &b) &&
               a.dwVolumeSerialNumber == b.dwVolumeSerialNumber && a.nFileIndexHigh == b.nFileIndexHigh &&
               a.nFileIndexLow == b.nFileIndexLow;
    CloseHandle(h);
    return same;
}

static inline long long t_sys_file_size(const char *path) {
    WIN32_FILE_ATTRIBUTE_DATA a;
    if (!GetFileAttributesExA(path, GetFileExInfoStandard, &a)) return -t_win_to_errno(GetLastError());
    return (long long)(((unsigned long long)a.nFileSizeHigh << 32) | a.nFileSizeLow);
}

static inline int t_fill_stat_(HANDLE h, int follow, t_stat *st) {
    BY_HANDLE_FILE_INFORMATION bi;
    if (!GetFileInformationByHandle(h, &bi)) return -t_win_to_errno(GetLastError());
    FILE_ATTRIBUTE_TAG_INFO ti;
    int link = !follow && (bi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
               GetFileInformationByHandleEx(h, FileAttributeTagInfo, &ti, sizeof ti) &&
               (ti.ReparseTag == IO_REPARSE_TAG_SYMLINK || ti.ReparseTag == IO_REPARSE_TAG_MOUNT_POINT);
    st->type = link ? CIO_S_IFLNK : (bi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? CIO_S_IFDIR : CIO_S_IFREG;
    st->perm = -1;
    st->size = (long long)(((unsigned long long)bi.nFileSizeHigh << 32) | bi.nFileSizeLow);
    st->ino = ((unsigned long long)bi.nFileIndexHigh << 32) | bi.nFileIndexLow;
    st->nlink = bi.nNumberOfLinks;
    return 0;
}

static inline int t_sys_stat(const char *path, int follow, t_stat *st) {
    HANDLE h = CreateFileA(path, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | (follow ? 0 : FILE_FLAG_OPEN_REPARSE_POINT),
                           NULL);
    if (h == INVALID_HANDLE_VALUE) return -t_win_to_errno(GetLastError());
    int r = t_fill_stat_(h, follow, st);
    CloseHandle(h);
    return r;
}

static inline int t_sys_fstat(cio_fd fd, t_stat *st) { return t_fill_stat_((HANDLE)fd, 1, st); }

static inline int t_sys_mkdir(const char *path, int mode) {
    (void)mode;
    return CreateDirectoryA(path, NULL) ? 0 : -t_win_to_errno(GetLastError());
}

static inline int t_sys_rmdir(const char *path) {
    return RemoveDirectoryA(path) ? 0 : -t_win_to_errno(GetLastError());
}

static inline int t_sys_unlink(const char *path) {
    if (DeleteFileA(path)) return 0;
    DWORD e = GetLastError();
    DWORD a = GetFileAttributesA(path);
    if (e == ERROR_ACCESS_DENIED && a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY) &&
        (a & FILE_ATTRIBUTE_REPARSE_POINT))
        return RemoveDirectoryA(path) ? 0 : -t_win_to_errno(GetLastError());
    return -t_win_to_errno(e);
}

static inline int t_sys_symlink(const char *target, const char *linkpath) {
    /* SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE (Windows 10 1703 on, in Developer Mode); older
     * systems refuse the flag itself. */
    DWORD dir = 0;
    BOOL ok = CreateSymbolicLinkA(linkpath, target, dir | 0x2);
    if (!ok && GetLastError() == ERROR_INVALID_PARAMETER) ok = CreateSymbolicLinkA(linkpath, target, dir);
    /* Wine 8's CreateSymbolicLinkA is a stub that reports success and makes nothing. */
    if (ok) return GetFileAttributesA(linkpath) != INVALID_FILE_ATTRIBUTES ? 0 : -CIO_ENOTSUP;
    DWORD e = GetLastError();
    return e == ERROR_PRIVILEGE_NOT_HELD || e == ERROR_NOT_SUPPORTED || e == ERROR_CALL_NOT_IMPLEMENTED
               ? -CIO_EPERM
               : -t_win_to_errno(e);
}

static inline long long t_sys_seek(cio_fd fd, long long off, int whence) {
    LARGE_INTEGER to = {.QuadPart = off}, now = {.QuadPart = 0};
    DWORD how = whence == SEEK_SET ? FILE_BEGIN : whence == SEEK_CUR ? FILE_CURRENT : FILE_END;
    if (!SetFilePointerEx((HANDLE)fd, to, &now, how)) return -t_win_to_errno(GetLastError());
    return (long long)now.QuadPart;
}

static inline int t_is_open(cio_fd fd) {
    DWORD flags;
    return GetHandleInformation((HANDLE)fd, &flags) != 0;
}

static inline int t_is_cloexec(cio_fd fd) {
    DWORD flags = 0;
    return GetHandleInformation((HANDLE)fd, &flags) && !(flags & HANDLE_FLAG_INHERIT);
}

static inline const char *t_tmpdir(void);

static inline cio_fd t_closed_handle(void) {
    char path[MAX_PATH + 16];
    snprintf(path, sizeof path, "%s/closed_handle", t_tmpdir());
    HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "t_closed_handle: CreateFileA(%s) failed: %lu\n", path, GetLastError());
        exit(1);
    }
    CloseHandle(h);
    return (cio_fd)h;
}

/* -- temp dir -- */

static inline void t_rmtree_(const char *dir) {
    char pat[MAX_PATH + 4];
    snprintf(pat, sizeof pat, "%s\\*", dir);
    WIN32_FIND_DATAA fd;
    HANDLE f = FindFirstFileA(pat, &fd);
    if (f != INVALID_HANDLE_VALUE) {
        do {
            if (!strcmp(fd.cFileName, ".") || !strcmp(fd.cFileName, "..")) continue;
            char sub[MAX_PATH + 4];
            snprintf(sub, sizeof sub, "%s\\%s", dir, fd.cFileName);
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) t_rmtree_(sub);
            else {
                SetFileAttributesA(sub, FILE_ATTRIBUTE_NORMAL);
                DeleteFileA(sub);
            }
        } while (FindNextFileA(f, &fd));
        FindClose(f);
    }
    RemoveDirectoryA(dir);
}

static char t_tmpdir_path_[MAX_PATH + 1];

static inline void t_tmpdir_cleanup_(void) {
    if (t_tmpdir_path_[0]) t_rmtree_(t_tmpdir_path_);
}

static inline const char *t_tmpdir(void) {
    if (t_tmpdir_path_[0]) return t_tmpdir_path_;
    char base[MAX_PATH + 1];
    DWORD n = GetTempPathA(sizeof base, base);
    if (n == 0 || n > sizeof base - 32) {
        fprintf(stderr, "t_tmpdir: GetTempPathA failed (%lu)\n", GetLastError());
        exit(1);
    }
    for (char *p = base; *p; p++)
        if (*p == '\\') *p = '/';
    if (base[strlen(base) - 1] == '/') base[strlen(base) - 1] = 0;
    for (unsigned i = 0; i < 1000; i++) {
        snprintf(t_tmpdir_path_, sizeof t_tmpdir_path_, "%s/cio_t_%lu_%u_%u", base, GetCurrentProcessId(),
                 (unsigned)GetTickCount(), i);
        if (CreateDirectoryA(t_tmpdir_path_, NULL)) {
            atexit(t_tmpdir_cleanup_);
            return t_tmpdir_path_;
        }
        if (GetLastError() != ERROR_ALREADY_EXISTS) break;
    }
    fprintf(stderr, "t_tmpdir: CreateDirectoryA(%s) failed (%lu)\n", t_tmpdir_path_, GetLastError());
    exit(1);
}

/* -- time -- */

static inline void t_sleep_ms(unsigned ms) { Sleep(ms); }

static inline void t_sleep_us(unsigned us) { Sleep(us >= 1000 ? us / 1000 : 0); }

static inline uint64_t t_now_ns(void) {
    static LARGE_INTEGER freq;
    if (!freq.QuadPart) QueryPerformanceFrequency(&freq);
    LARGE_INTEGER c;
    QueryPerformanceCounter(&c);
    uint64_t f = (uint64_t)freq.QuadPart, v = (uint64_t)c.QuadPart;
    return v / f * 1000000000u + v % f * 1000000000u / f;
}

/* -- threads -- */

typedef struct t_thread {
    HANDLE h;
    void *(*fn)(void *);
    void *arg;
    void *ret;
} t_thread;

static inline unsigned __stdcall t_thread_main_(void *p) {
    t_thread *t = (t_thread *)p;
    t->ret = t->fn(t->arg);
    return 0;
}

static inline int t_thread_start(t_thread *t, void *(*fn)(void *), void *arg) {
    t->fn = fn;
    t->arg = arg;
    t->ret = NULL;
    uintptr_t h = _beginthreadex(NULL, 0, t_thread_main_, t, 0, NULL);
    if (!h) return -CIO_EAGAIN;
    t->h = (HANDLE)h;
    return 0;
}

static inline int t_thread_join(t_thread *t, void **ret) {
    if (WaitForSingleObject(t->h, INFINITE) != WAIT_OBJECT_0) return -CIO_EINVAL;
    CloseHandle(t->h);
    t->h = NULL;
    if (ret) *ret = t->ret;
    return 0;
}

/* -- process -- */

static volatile LONGLONG t_alarm_deadline_; /* GetTickCount64 ms; 0: off */
static const char *volatile t_alarm_what_;
static void (*volatile t_alarm_cb_)(void);

static inline void t_write_stderr(const char *str) {
    DWORD n;
    WriteFile(GetStdHandle(STD_ERROR_HANDLE), str, (DWORD)strlen(str), &n, NULL);
}

static inline unsigned __stdcall t_alarm_main_(void *p) {
    (void)p;
    for (;;) {
        Sleep(100);
        LONGLONG d = t_alarm_deadline_;
        if (d && (LONGLONG)GetTickCount64() >= d) {
            void (*cb)(void) = t_alarm_cb_;
            if (cb) {
                cb();
            } else {
                t_write_stderr("watchdog: ");
                t_write_stderr(t_alarm_what_ ? t_alarm_what_ : "the test hung");
                t_write_stderr("\n");
            }
            _exit(1);
        }
    }
    return 0;
}

static inline void t_alarm_fn(unsigned seconds, void (*fired)(void)) {
    static volatile LONG started;
    t_alarm_cb_ = fired;
    InterlockedExchange64(&t_alarm_deadline_, seconds ? (LONGLONG)GetTickCount64() + (LONGLONG)seconds * 1000 : 0);
    if (seconds && InterlockedExchange(&started, 1) == 0) {
        uintptr_t h = _beginthreadex(NULL, 64 * 1024, t_alarm_main_, NULL, 0, NULL);
        if (!h) {
            fprintf(stderr, "t_alarm: no watchdog thread\n");
            exit(1);
        }
        CloseHandle((HANDLE)h);
    }
}

static inline void t_alarm(unsigned seconds, const char *what) {
    t_alarm_what_ = what;
    t_alarm_fn(seconds, NULL);
}

static inline void t_ignore_sigpipe(void) {}

static inline int t_pid(void) { return (int)GetCurrentProcessId(); }

static inline int t_setenv(const char *name, const char *value) {
    return _putenv_s(name, value) == 0 ? 0 : -CIO_EINVAL;
}

/* An empty value removes the variable from the C library's environment. */
static inline int t_unsetenv(const char *name) { return _putenv_s(name, "") == 0 ? 0 : -CIO_EINVAL; }

/* GetProcessHandleCount says 0 under Wine 8: then count the handle values
 * that name something (handles are small multiples of 4, allocated lowest
 * first), until 4096 values in a row name nothing. */
static inline int t_handle_count(void) {
    DWORD n = 0;
    if (GetProcessHandleCount(GetCurrentProcess(), &n) && n > 0) return (int)n;
    int count = 0;
    DWORD flags;
    for (uintptr_t v = 4, gap = 0; gap < 4096; v += 4) {
        if (GetHandleInformation((HANDLE)v, &flags)) {
            count++;
            gap = 0;
        } else {
            gap++;
        }
    }
    return count;
}

#else
/* ======================================================================== */
/* POSIX: the system calls themselves                                       */
/* ======================================================================== */

static inline int t_sock_init(void) { return 0; }
static inline int t_sock_error(void) { return errno; }
static inline int t_neg_errno_(void) { return errno ? -errno : -CIO_EIO; }

static inline int t_is_socket(cio_fd fd) {
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static inline cio_fd t_sys_socket(int family, int type, int proto) { return socket(family, type, proto); }

static inline int t_wait_readable(cio_fd fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, ms);
    return r >= 0 ? r : t_neg_errno_();
}

static inline int t_setsockopt(cio_fd fd, int level, int name, const void *v, int len) {
    return setsockopt(fd, level, name, v, (socklen_t)len) == 0 ? 0 : t_neg_errno_();
}

static inline int t_getsockopt(cio_fd fd, int level, int name, void *v, int *len) {
    socklen_t l = (socklen_t)*len;
    if (getsockopt(fd, level, name, v, &l) != 0) return t_neg_errno_();
    *len = (int)l;
    return 0;
}

static inline int t_sock_timeouts(cio_fd fd, unsigned ms) {
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    int r = t_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return r < 0 ? r : t_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static inline int t_close_handle(cio_fd fd) { return close(fd) == 0 ? 0 : t_neg_errno_(); }

static inline long long t_sys_send(cio_fd fd, const void *buf, size_t len, int flags) {
    ssize_t r = send(fd, buf, len, flags);
    return r >= 0 ? (long long)r : t_neg_errno_();
}

static inline long long t_sys_recv(cio_fd fd, void *buf, size_t len, int flags) {
    ssize_t r = recv(fd, buf, len, flags);
    return r >= 0 ? (long long)r : t_neg_errno_();
}

static inline long long t_sys_read(cio_fd fd, void *buf, size_t len) {
    ssize_t r = read(fd, buf, len);
    return r >= 0 ? (long long)r : t_neg_errno_();
}

static inline long long t_sys_write(cio_fd fd, const void *buf, size_t len) {
    ssize_t r = write(fd, buf, len);
    return r >= 0 ? (long long)r : t_neg_errno_();
}

static inline long long t_sys_pread(cio_fd fd, void *buf, size_t len, long long off) {
    ssize_t r = pread(fd, buf, len, (off_t)off);
    return r >= 0 ? (long long)r : t_neg_errno_();
}

static inline long long t_sys_pwrite(cio_fd fd, const void *buf, size_t len, long long off) {
    ssize_t r = pwrite(fd, buf, len, (off_t)off);
    return r >= 0 ? (long long)r : t_neg_errno_();
}

static inline int t_set_nonblock(cio_fd fd, int on) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return t_neg_errno_();
    fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
    return fcntl(fd, F_SETFL, fl) == 0 ? 0 : t_neg_errno_();
}

static inline int t_pipe(cio_fd p[2]) { return pipe2(p, O_CLOEXEC) == 0 ? 0 : t_neg_errno_(); }
static inline int t_pipe_sync(cio_fd p[2]) { return t_pipe(p); }

static inline int t_socketpair(cio_fd sv[2]) {
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0 ? 0 : t_neg_errno_();
}
static inline int t_socketpair_sync(cio_fd sv[2]) { return t_socketpair(sv); }

static inline cio_fd t_sys_open(const char *path, int flags, int mode) {
    return open(path, flags | O_CLOEXEC, (mode_t)mode);
}

static inline cio_fd t_sys_open_dir(const char *path) { return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC); }

static inline int t_exists(const char *path) { return access(path, F_OK) == 0; }

static inline int t_same_file(cio_fd fd, const char *path) {
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static inline long long t_sys_file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : t_neg_errno_();
}

static inline void t_fill_stat_(const struct stat *s, t_stat *st) {
    st->type = (unsigned)(s->st_mode & S_IFMT);
    st->perm = (int)(s->st_mode & 07777);
    st->size = (long long)s->st_size;
    st->ino = (unsigned long long)s->st_ino;
    st->nlink = (unsigned)s->st_nlink;
}

static inline int t_sys_stat(const char *path, int follow, t_stat *st) {
    struct stat s;
    if ((follow ? stat(path, &s) : lstat(path, &s)) != 0) return t_neg_errno_();
    t_fill_stat_(&s, st);
    return 0;
}

static inline int t_sys_fstat(cio_fd fd, t_stat *st) {
    struct stat s;
    if (fstat(fd, &s) != 0) return t_neg_errno_();
    t_fill_stat_(&s, st);
    return 0;
}

static inline int t_sys_mkdir(const char *path, int mode) {
    return mkdir(path, (mode_t)mode) == 0 ? 0 : t_neg_errno_();
}
static inline int t_sys_rmdir(const char *path) { return rmdir(path) == 0 ? 0 : t_neg_errno_(); }
static inline int t_sys_unlink(const char *path) { return unlink(path) == 0 ? 0 : t_neg_errno_(); }
static inline int t_sys_symlink(const char *target, const char *linkpath) {
    return symlink(target, linkpath) == 0 ? 0 : t_neg_errno_();
}

static inline long long t_sys_seek(cio_fd fd, long long off, int whence) {
    off_t r = lseek(fd, (off_t)off, whence);
    return r >= 0 ? (long long)r : t_neg_errno_();
}

static inline int t_is_open(cio_fd fd) { return fcntl(fd, F_GETFD) != -1; }
static inline cio_fd t_closed_handle(void) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || close(fd) != 0) {
        perror("t_closed_handle");
        exit(1);
    }
    return fd;
}
static inline int t_is_cloexec(cio_fd fd) {
    int f = fcntl(fd, F_GETFD);
    return f != -1 && (f & FD_CLOEXEC);
}

/* -- temp dir -- */

static char t_tmpdir_path_[256];
static pid_t t_tmpdir_owner_;

static inline int t_rm_entry_(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* Only the process that made the directory removes it: a forked child that
 * exits must not pull it from under its parent. */
static inline void t_tmpdir_cleanup_(void) {
    if (t_tmpdir_path_[0] && getpid() == t_tmpdir_owner_) nftw(t_tmpdir_path_, t_rm_entry_, 16, FTW_DEPTH | FTW_PHYS);
}

static inline const char *t_tmpdir(void) {
    if (t_tmpdir_path_[0]) return t_tmpdir_path_;
    const char *base = getenv("TMPDIR");
    if (!base || !*base || strlen(base) > 200) base = "/tmp";
    snprintf(t_tmpdir_path_, sizeof t_tmpdir_path_, "%s/cio_fs_XXXXXX", base);
    if (!mkdtemp(t_tmpdir_path_)) {
        fprintf(stderr, "t_tmpdir: mkdtemp(%s): %s\n", t_tmpdir_path_, strerror(errno));
        exit(1);
    }
    t_tmpdir_owner_ = getpid();
    atexit(t_tmpdir_cleanup_);
    return t_tmpdir_path_;
}

/* -- time -- */

static inline void t_sleep_ms(unsigned ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static inline void t_sleep_us(unsigned us) {
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

static inline uint64_t t_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* -- threads -- */

typedef struct t_thread {
    pthread_t th;
} t_thread;

static inline int t_thread_start(t_thread *t, void *(*fn)(void *), void *arg) {
    int r = pthread_create(&t->th, NULL, fn, arg);
    return r == 0 ? 0 : -r;
}

static inline int t_thread_join(t_thread *t, void **ret) {
    int r = pthread_join(t->th, ret);
    return r == 0 ? 0 : -r;
}

/* -- process -- */

static const char *volatile t_alarm_what_;
static void (*volatile t_alarm_cb_)(void);

static inline void t_write_stderr(const char *str) {
    ssize_t ignored = write(2, str, strlen(str));
    (void)ignored;
}

static inline void t_alarm_fired_(int sig) {
    (void)sig;
    void (*cb)(void) = t_alarm_cb_;
    if (cb) {
        cb();
    } else {
        t_write_stderr("watchdog: ");
        t_write_stderr(t_alarm_what_ ? t_alarm_what_ : "the test hung");
        t_write_stderr("\n");
    }
    _exit(1);
}

static inline void t_alarm_fn(unsigned seconds, void (*fired)(void)) {
    t_alarm_cb_ = fired;
    signal(SIGALRM, t_alarm_fired_);
    alarm(seconds);
}

static inline void t_alarm(unsigned seconds, const char *what) {
    t_alarm_what_ = what;
    t_alarm_fn(seconds, NULL);
}

static inline void t_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

static inline int t_pid(void) { return (int)getpid(); }

static inline int t_setenv(const char *name, const char *value) {
    return setenv(name, value, 1) == 0 ? 0 : t_neg_errno_();
}

static inline int t_unsetenv(const char *name) { return unsetenv(name) == 0 ? 0 : t_neg_errno_(); }

static inline int t_handle_count(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

#endif /* _WIN32 */

#endif /* CIO_TEST_PORT_H */
