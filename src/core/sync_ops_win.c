/*
 * src/core/sync_ops_win.c - every op as a blocking Win32/Winsock call, the
 * Windows counterpart of sync_ops.c: what the core runs inline (nop,
 * close, socket, bind, listen, shutdown) and on the blocking pool (the
 * file system ops, fsync, and IO on handles that cannot join a completion
 * port: console, anonymous pipes, files opened without FILE_FLAG_OVERLAPPED,
 * a handle tied to another loop's port).
 *
 * Results have the portable form of POSIX: counts, 0 at end of file, a
 * new handle through cio__fd_result(), errors through oserr.h. Paths are
 * UTF-8 and become UTF-16 here.
 *
 * Interrupts (pool.c's cancel): the pool interrupts a thread with
 * CancelSynchronousIo, which aborts IO on a synchronous handle with
 * ERROR_OPERATION_ABORTED, plus a no-op APC (thread_win.c), which ends an
 * alertable wait. A blocking Winsock call on a socket made with
 * WSA_FLAG_OVERLAPPED (every socket cio makes) heeds neither (seen under
 * Wine), so no call on such a socket blocks in the kernel here: socket IO
 * is overlapped with an alertable wait for its event, and poll waits in
 * WSAPoll slices with an alertable zero sleep in between. A socket made
 * without the flag has a synchronous file object, and its calls are
 * synchronous IO, which CancelSynchronousIo does abort (recv, WSARecv and
 * accept, seen under Wine; R18). Either way an interrupt comes
 * back as -CIO_EINTR, which the pool turns into -CIO_ECANCELED when the op
 * was cancelled and runs again otherwise. An APC left over from an earlier
 * op of this thread is drained before each wait (pool.c re-sends a real
 * one each loop turn).
 *
 * Overlapped IO here signals an event whose handle has its low bit set, so
 * that no packet reaches a completion port the handle may be tied to.
 */
#include "oserr.h"
#include "sync_ops.h"
#include "handle_win.h"

#include <stdlib.h>
#include <wchar.h>
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#include <winternl.h>

/* How long a WSAPoll waits before it looks for an interrupt. */
#define POLL_SLICE_MS 20

/* ---- small helpers ---- */

/* The calling thread's last Win32 error; never 0, since callers use it on
 * failure paths only. */
static int32_t last_error(void) {
    int32_t r = cio__win_error(GetLastError());
    return r ? r : -CIO_EIO;
}

static HANDLE H(cio_fd fd) { return (HANDLE)fd; }
static SOCKET S(cio_fd fd) { return (SOCKET)fd; }

/* Takes an APC left over from an earlier op, so that only an interrupt
 * sent while this op runs ends its wait. */
static void drain_apcs(void) { SleepEx(0, TRUE); }

/* Whether IO on `h` completes in the call (a synchronous handle, or one
 * whose mode cannot be read, as a console) rather than overlapped. */
static bool is_sync_handle(HANDLE h) { return cio__win_sync_io(h) != 0; }

/* A manual-reset event for one overlapped call, with the low bit set in
 * the copy that goes into the OVERLAPPED (see the top). */
static int32_t ov_init(OVERLAPPED *ov, uint64_t offset) {
    memset(ov, 0, sizeof *ov);
    HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ev) return last_error();
    ov->hEvent = (HANDLE)((uintptr_t)ev | 1);
    ov->Offset = (DWORD)offset;
    ov->OffsetHigh = (DWORD)(offset >> 32);
    return 0;
}

static HANDLE ov_event(const OVERLAPPED *ov) { return (HANDLE)((uintptr_t)ov->hEvent & ~(uintptr_t)1); }

/* Waits for an overlapped call that returned pending (or at once) on `h`;
 * an interrupt cancels it. Returns whether it succeeded, with the byte
 * count in *n, else the Win32 error in *err (ERROR_OPERATION_ABORTED with
 * *intr set when the interrupt ended it). Closes the event. */
static bool ov_wait(HANDLE h, OVERLAPPED *ov, DWORD *n, DWORD *err, bool *intr) {
    *intr = false;
    DWORD w = WaitForSingleObjectEx(ov_event(ov), INFINITE, TRUE);
    if (w != WAIT_OBJECT_0) {
        /* Interrupted (or the wait failed): abort, and wait for the IO to
         * leave our stack; it may have finished meanwhile, and the result
         * tells which. */
        CancelIoEx(h, ov);
        *intr = w == WAIT_IO_COMPLETION;
        WaitForSingleObject(ov_event(ov), INFINITE);
    }
    BOOL ok = GetOverlappedResult(h, ov, n, FALSE);
    *err = ok ? 0 : GetLastError();
    CloseHandle(ov_event(ov));
    return ok;
}

/* NTSTATUS values the socket paths look at (winternl.h names none). */
#define ST_BUFFER_OVERFLOW 0x80000005UL
#define ST_CANCELLED 0xC0000120UL

/* The same for an overlapped Winsock call: the request's NTSTATUS, with
 * its byte count in *n. The status is read from the OVERLAPPED itself
 * (Internal, InternalHigh), as the IOCP backend reads its packets, and not
 * through WSAGetOverlappedResult, which on a socket closed meanwhile fails
 * with WSAENOTSOCK instead of giving the op's status (FINDINGS p10). */
static unsigned long wsa_wait(SOCKET s, WSAOVERLAPPED *ov, DWORD *n, bool *intr) {
    *intr = false;
    DWORD w = WaitForSingleObjectEx(ov_event(ov), INFINITE, TRUE);
    if (w != WAIT_OBJECT_0) {
        /* The request is in the kernel (it pended, or was queued): after
         * CancelIoEx it finishes for sure, and must leave our stack. */
        CancelIoEx((HANDLE)s, ov);
        *intr = w == WAIT_IO_COMPLETION;
        WaitForSingleObject(ov_event(ov), INFINITE);
    }
    *n = (DWORD)ov->InternalHigh;
    unsigned long st = (unsigned long)(uint32_t)ov->Internal;
    CloseHandle(ov_event(ov));
    return st;
}

/* After an overlapped Winsock call failed at once with an error that may
 * or may not have queued the request (a send's WSAEMSGSIZE: Wine completes
 * the OVERLAPPED, Windows documents an immediate failure): makes sure
 * nothing of it is left in the kernel before the OVERLAPPED leaves the
 * stack, without waiting for an event that may never be set. CancelIoEx
 * finds the request only if it is still pending; then it ends, and its
 * event is set. Closes the event. */
static void wsa_settle(SOCKET s, WSAOVERLAPPED *ov) {
    if (CancelIoEx((HANDLE)s, ov)) WaitForSingleObject(ov_event(ov), INFINITE);
    CloseHandle(ov_event(ov));
}

/* The result of a socket request from its final status: the byte count,
 * or the error; STATUS_CANCELLED is the pool's -CIO_EINTR when the
 * interrupt ended it (bytes moved before then are the result). */
static int32_t wsa_result(unsigned long st, DWORD n, bool intr) {
    if (st < 0x80000000UL) return (int32_t)n;
    if (st == ST_CANCELLED) return n ? (int32_t)n : intr ? -CIO_EINTR : -CIO_ECANCELED;
    return cio__ntstatus_error((long)st);
}

/* ---- paths ---- */

/* UTF-8 to a new UTF-16 string; 0 or a negative error. */
static int32_t to_wide(const char *s, wchar_t **out) {
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0) return last_error();
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (!w) return -CIO_ENOMEM;
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        int32_t r = last_error();
        free(w);
        return r;
    }
    *out = w;
    return 0;
}

/* "C:\x", "C:x", "\x", "/x", "\\server\x": a path that names its own
 * start, so that a directory handle does not apply (as POSIX ignores
 * dirfd for an absolute path). */
static bool is_absolute(const wchar_t *p) {
    return p[0] == L'\\' || p[0] == L'/' || (p[0] && p[1] == L':');
}

/* Longer names than MAX_PATH only work with the \\?\ prefix, which turns
 * off Win32's normalisation: normalise first, then prefix. */
static int32_t full_path(const wchar_t *in, wchar_t **out) {
    DWORD n = GetFullPathNameW(in, 0, NULL, NULL);
    if (!n) return last_error();
    wchar_t *w = malloc(((size_t)n + 8) * sizeof *w);
    if (!w) return -CIO_ENOMEM;
    wchar_t *body = w + 8; /* room for \\?\UNC\ in front */
    DWORD m = GetFullPathNameW(in, n, body, NULL);
    if (!m || m >= n) {
        int32_t r = m ? -CIO_ENAMETOOLONG : last_error();
        free(w);
        return r;
    }
    if (m >= MAX_PATH - 12) {
        if (body[0] == L'\\' && body[1] == L'\\') { /* \\server\share: \\?\UNC\server\share */
            body -= 6;
            wmemcpy(body, L"\\\\?\\UNC", 7);
        } else {
            body -= 4;
            wmemcpy(body, L"\\\\?\\", 4);
        }
    }
    memmove(w, body, (wcslen(body) + 1) * sizeof *w);
    *out = w;
    return 0;
}

/* The UTF-16 path of `path` relative to `dirfd` (CIO_AT_FDCWD: the
 * process's current directory). A directory handle is resolved to its
 * final path (GetFinalPathNameByHandleW) and joined with `path`: a path
 * relative to a directory that was renamed after it was opened follows the
 * directory, as POSIX, but one that was replaced by a symbolic link in the
 * meantime is not detected. */
static int32_t resolve(cio_fd dirfd, const char *path, wchar_t **out) {
    if (!path[0]) return -CIO_ENOENT;
    wchar_t *w = NULL;
    int32_t r = to_wide(path, &w);
    if (r < 0) return r;
    if (dirfd == CIO_AT_FDCWD || is_absolute(w)) {
        size_t len = wcslen(w);
        if (!is_absolute(w)) len += GetCurrentDirectoryW(0, NULL); /* where it will end up */
        if (len < MAX_PATH - 12) {
            *out = w;
            return 0;
        }
        r = full_path(w, out);
        free(w);
        return r;
    }
    /* Relative to a directory handle. */
    DWORD n = GetFinalPathNameByHandleW(H(dirfd), NULL, 0, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    if (!n) {
        r = last_error();
        free(w);
        return r;
    }
    if (!cio__win_is_dir(H(dirfd))) {
        free(w);
        return -CIO_ENOTDIR;
    }
    size_t wl = wcslen(w);
    wchar_t *joined = malloc(((size_t)n + wl + 2) * sizeof *joined);
    if (!joined) {
        free(w);
        return -CIO_ENOMEM;
    }
    DWORD m = GetFinalPathNameByHandleW(H(dirfd), joined, n, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    if (!m || m >= n) {
        r = m ? -CIO_EAGAIN : last_error(); /* renamed to a longer name under us */
        free(joined);
        free(w);
        return r;
    }
    /* Drop \\?\ (and make \\?\UNC\ a plain \\), so that full_path can
     * resolve "..", "." and "/" in `path`; it prefixes again if needed. */
    wchar_t *base = joined;
    if (wcsncmp(base, L"\\\\?\\UNC\\", 8) == 0) {
        base += 6;
        base[0] = L'\\';
    } else if (wcsncmp(base, L"\\\\?\\", 4) == 0) {
        base += 4;
    }
    size_t bl = wcslen(base);
    memmove(joined, base, bl * sizeof *joined);
    joined[bl] = L'\\';
    wmemcpy(joined + bl + 1, w, wl + 1);
    free(w);
    r = full_path(joined, out);
    free(joined);
    return r;
}

static bool is_sep(wchar_t c) { return c == L'\\' || c == L'/'; }

/* A path that ends in a separator names a directory (POSIX): a file
 * there is ENOTDIR, where Windows may ignore the separator. */
static bool wants_dir(const char *p8) {
    size_t n = strlen(p8);
    return n > 0 && (p8[n - 1] == '/' || p8[n - 1] == '\\');
}

/* The error of a call that failed on `path`: Windows says "path not
 * found" (ERROR_PATH_NOT_FOUND, or ERROR_DIRECTORY; for a trailing
 * separator also "file not found" or "invalid name") where a component
 * is a file that must be a directory, for which POSIX says ENOTDIR. The
 * nearest existing one tells (the name itself first when a separator
 * ends it, else its ancestors): a file there is -CIO_ENOTDIR, anything
 * else leaves the system's code. (Racy as any such look; only the code
 * depends on it.) */
static int32_t path_error(const wchar_t *path, DWORD e) {
    size_t n = wcslen(path);
    bool self = n > 0 && is_sep(path[n - 1]);
    if (e != ERROR_PATH_NOT_FOUND && e != ERROR_DIRECTORY &&
        !(self && (e == ERROR_FILE_NOT_FOUND || e == ERROR_INVALID_NAME)))
        return cio__win_error(e);
    wchar_t *p = malloc((n + 1) * sizeof *p);
    if (!p) return cio__win_error(e);
    wmemcpy(p, path, n + 1);
    int32_t r = cio__win_error(e);
    while (n > 0) {
        if (!self)
            while (n > 0 && !is_sep(p[n - 1])) n--; /* drop the last component */
        self = false;
        while (n > 0 && is_sep(p[n - 1])) n--;
        if (n == 0 || p[n - 1] == L':' || p[n - 1] == L'?') break; /* a root: a directory */
        p[n] = 0;
        DWORD a = GetFileAttributesW(p);
        if (a == INVALID_FILE_ATTRIBUTES) continue;
        if (!(a & FILE_ATTRIBUTE_DIRECTORY)) r = -CIO_ENOTDIR;
        break;
    }
    free(p);
    return r;
}

/* ---- openat ---- */

#define SHARE_ALL (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)

static bool is_link_tag(HANDLE h) {
    FILE_ATTRIBUTE_TAG_INFO ti;
    return GetFileInformationByHandleEx(h, FileAttributeTagInfo, &ti, sizeof ti) &&
           (ti.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
           (ti.ReparseTag == IO_REPARSE_TAG_SYMLINK || ti.ReparseTag == IO_REPARSE_TAG_MOUNT_POINT);
}

/* The size of an open file: O_TRUNC, ftruncate. */
static int32_t set_size(HANDLE h, uint64_t len) {
    FILE_END_OF_FILE_INFO eof;
    eof.EndOfFile.QuadPart = (LONGLONG)len;
    return SetFileInformationByHandle(h, FileEndOfFileInfo, &eof, sizeof eof) ? 0 : last_error();
}

/* Opens as open(2) would, within what CreateFileW can say:
 * - access: O_RDONLY/O_WRONLY/O_RDWR as GENERIC_READ/WRITE. O_APPEND
 *   opens with FILE_APPEND_DATA but without FILE_WRITE_DATA, so every
 *   write lands at the end (the IOCP backend writes at the all-ones offset).
 * - O_CREAT, O_EXCL, O_TRUNC as the creation disposition; a new file
 *   without write permission in `mode` gets FILE_ATTRIBUTE_READONLY, the
 *   rest of `mode` has no Windows counterpart.
 * - always shared for read, write and delete, so that another open, a
 *   rename or an unlink of an open file work as on POSIX as far as
 *   Windows lets them; never inherited by child processes (O_CLOEXEC is
 *   implied); O_SYNC/O_DSYNC as FILE_FLAG_WRITE_THROUGH; O_NONBLOCK and
 *   O_NOCTTY mean nothing here.
 * - always FILE_FLAG_OVERLAPPED, so that the handle can join an IOCP;
 *   FILE_FLAG_BACKUP_SEMANTICS, so that directories open too.
 * - O_DIRECTORY on a non-directory is ENOTDIR; write access, O_CREAT or
 *   O_TRUNC on a directory EISDIR; O_NOFOLLOW on a symbolic link (or a
 *   junction) ELOOP. */
int32_t cio__sys_openat(cio_op *op) {
    const int fl = op->args.open.flags;
    const int acc = fl & 3;
    if (acc == 3 || ((fl & CIO_O_DIRECTORY) && (fl & CIO_O_CREAT))) return -CIO_EINVAL;
    const bool want_dir = (fl & CIO_O_DIRECTORY) || wants_dir(op->args.open.path);
    if ((fl & CIO_O_CREAT) && wants_dir(op->args.open.path)) return -CIO_EISDIR; /* Linux's answer */
    DWORD access = acc == CIO_O_RDONLY ? GENERIC_READ
                   : acc == CIO_O_WRONLY ? GENERIC_WRITE
                                         : GENERIC_READ | GENERIC_WRITE;
    if ((fl & CIO_O_APPEND) && acc != CIO_O_RDONLY)
        access = (access & GENERIC_READ) | (FILE_GENERIC_WRITE & ~FILE_WRITE_DATA);
    /* Not CREATE_ALWAYS or TRUNCATE_EXISTING for O_TRUNC: they would put
     * `mode`'s read-only attribute on an existing file, and refuse hidden
     * ones; the file is truncated below, once it is known to be one. */
    DWORD disp = !(fl & CIO_O_CREAT) ? OPEN_EXISTING : (fl & CIO_O_EXCL) ? CREATE_NEW : OPEN_ALWAYS;
    DWORD attrs = ((fl & CIO_O_CREAT) && !(op->args.open.mode & 0200)) ? FILE_ATTRIBUTE_READONLY
                                                                        : FILE_ATTRIBUTE_NORMAL;
    DWORD flags = FILE_FLAG_OVERLAPPED | FILE_FLAG_BACKUP_SEMANTICS;
    if (fl & CIO_O_NOFOLLOW) flags |= FILE_FLAG_OPEN_REPARSE_POINT;
    if (fl & (CIO_O_SYNC | CIO_O_DSYNC)) flags |= FILE_FLAG_WRITE_THROUGH;
    /* Truncation needs FILE_WRITE_DATA, which an O_APPEND or O_RDONLY
     * handle must not have: truncate through a first handle, then reopen. */
    const bool two_step = (fl & CIO_O_TRUNC) && !(access & (GENERIC_WRITE | FILE_WRITE_DATA));
    const bool trunc = (fl & CIO_O_TRUNC) != 0;

    wchar_t *path;
    int32_t r = resolve(op->args.open.dirfd, op->args.open.path, &path);
    if (r < 0) return r;
    access |= FILE_READ_ATTRIBUTES; /* statx of the handle, whatever else it may do */
    HANDLE h = CreateFileW(path, two_step ? access | FILE_WRITE_DATA : access, SHARE_ALL, NULL, disp,
                           attrs | flags, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        DWORD a = e == ERROR_ACCESS_DENIED ? GetFileAttributesW(path) : INVALID_FILE_ATTRIBUTES;
        r = a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY) ? -CIO_EISDIR : path_error(path, e);
        free(path);
        return r;
    }
    free(path);
    FILE_BASIC_INFO bi;
    const bool disk = GetFileType(h) == FILE_TYPE_DISK;
    if (!GetFileInformationByHandleEx(h, FileBasicInfo, &bi, sizeof bi)) {
        r = disk ? last_error() : 0; /* a device: nothing to check */
        bi.FileAttributes = 0;
    }
    if (r == 0) {
        bool link = (bi.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) && is_link_tag(h);
        bool dir = (bi.FileAttributes & FILE_ATTRIBUTE_DIRECTORY) && !link;
        if ((fl & CIO_O_NOFOLLOW) && link)
            r = -CIO_ELOOP;
        else if (dir && (acc != CIO_O_RDONLY || (fl & (CIO_O_CREAT | CIO_O_TRUNC))))
            r = -CIO_EISDIR;
        else if (!dir && want_dir)
            r = -CIO_ENOTDIR;
    }
    if (r == 0 && trunc && disk) { /* a FIFO or a device ignores O_TRUNC, as on POSIX */
        r = set_size(h, 0);
    }
    if (r == 0 && two_step) {
        HANDLE h2 = ReOpenFile(h, access, SHARE_ALL, flags & ~FILE_FLAG_BACKUP_SEMANTICS);
        if (h2 == INVALID_HANDLE_VALUE) r = last_error();
        CloseHandle(h);
        h = h2;
    }
    if (r < 0) {
        if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
        return r;
    }
    return cio__fd_result(op, (cio_fd)h);
}

/* ---- statx ---- */

/* 100 ns ticks since 1601 to the Unix epoch. */
static cio_statx_time to_time(int64_t ticks) {
    cio_statx_time t = {0, 0, 0};
    if (!ticks) return t;
    int64_t v = ticks - INT64_C(116444736000000000);
    int64_t sec = v / 10000000, rem = v % 10000000;
    if (rem < 0) {
        rem += 10000000;
        sec--;
    }
    t.tv_sec = sec;
    t.tv_nsec = (uint32_t)(rem * 100);
    return t;
}

static int64_t ft_ticks(FILETIME ft) { return (int64_t)(((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime); }

/* Fills `out` from an open handle. Windows has no uid, gid nor permission
 * bits: the mode is the type with rw-r--r-- style bits from the read-only
 * attribute (0444 or 0666 for files, 0555 or 0755 for directories, 0777
 * for links), and uid/gid are left out of the mask. `ino` is the file
 * index, `dev_minor` the volume serial number. Pipes, sockets and
 * character devices report their type only. */
static int32_t fill_statx(HANDLE h, bool nofollow, cio_statx *out) {
    memset(out, 0, sizeof *out);
    DWORD type = GetFileType(h);
    if (type != FILE_TYPE_DISK) {
        if (type == FILE_TYPE_UNKNOWN && GetLastError() != NO_ERROR) return last_error();
        if (type == FILE_TYPE_PIPE)
            out->mode = (uint16_t)(cio__win_is_socket((cio_fd)h) ? CIO_S_IFSOCK | 0777 : CIO_S_IFIFO | 0600);
        else
            out->mode = (uint16_t)(CIO_S_IFCHR | 0666);
        out->mask = CIO_STATX_TYPE | CIO_STATX_MODE;
        out->nlink = 1;
        out->blksize = 4096;
        return 0;
    }
    BY_HANDLE_FILE_INFORMATION bi;
    if (!GetFileInformationByHandle(h, &bi)) return last_error();
    const DWORD a = bi.dwFileAttributes;
    const bool ro = (a & FILE_ATTRIBUTE_READONLY) != 0;
    if (nofollow && (a & FILE_ATTRIBUTE_REPARSE_POINT) && is_link_tag(h))
        out->mode = (uint16_t)(CIO_S_IFLNK | 0777);
    else if (a & FILE_ATTRIBUTE_DIRECTORY)
        out->mode = (uint16_t)(CIO_S_IFDIR | (ro ? 0555 : 0755));
    else
        out->mode = (uint16_t)(CIO_S_IFREG | (ro ? 0444 : 0666));
    out->nlink = bi.nNumberOfLinks;
    out->ino = ((uint64_t)bi.nFileIndexHigh << 32) | bi.nFileIndexLow;
    out->size = ((uint64_t)bi.nFileSizeHigh << 32) | bi.nFileSizeLow;
    out->blksize = 4096;
    FILE_STANDARD_INFO si;
    if (GetFileInformationByHandleEx(h, FileStandardInfo, &si, sizeof si))
        out->blocks = (uint64_t)si.AllocationSize.QuadPart / 512;
    else
        out->blocks = (out->size + 511) / 512;
    out->atime = to_time(ft_ticks(bi.ftLastAccessTime));
    out->mtime = to_time(ft_ticks(bi.ftLastWriteTime));
    out->btime = to_time(ft_ticks(bi.ftCreationTime));
    FILE_BASIC_INFO basic; /* the change time (metadata) is only here */
    if (GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic))
        out->ctime = to_time(basic.ChangeTime.QuadPart);
    else
        out->ctime = out->mtime;
    out->dev_minor = bi.dwVolumeSerialNumber;
    out->mask = (CIO_STATX_BASIC_STATS & ~(CIO_STATX_UID | CIO_STATX_GID)) | CIO_STATX_BTIME;
    return 0;
}

/* fstat: a handle opened without FILE_READ_ATTRIBUTES (a write-only one
 * that cio did not open) is read through a second handle with that right. */
static int32_t stat_handle(HANDLE h, bool nofollow, cio_statx *out) {
    int32_t r = fill_statx(h, nofollow, out);
    if (r != -CIO_EACCES) return r;
    HANDLE h2 = ReOpenFile(h, FILE_READ_ATTRIBUTES, SHARE_ALL, 0);
    if (h2 == INVALID_HANDLE_VALUE) return r;
    r = fill_statx(h2, nofollow, out);
    CloseHandle(h2);
    return r;
}

int32_t cio__sys_statx(cio_op *op) {
    const int fl = op->args.statx.flags;
    const bool nofollow = (fl & CIO_AT_SYMLINK_NOFOLLOW) != 0;
    const char *p8 = op->args.statx.path;
    if (fl & ~(CIO_AT_SYMLINK_NOFOLLOW | CIO_AT_EMPTY_PATH)) return -CIO_EINVAL;
    if ((fl & CIO_AT_EMPTY_PATH) && !p8[0]) {
        if (op->args.statx.dirfd != CIO_AT_FDCWD)
            return stat_handle(H(op->args.statx.dirfd), nofollow, op->args.statx.buf);
        p8 = "."; /* the current directory, as Linux */
    }
    wchar_t *path;
    int32_t r = resolve(op->args.statx.dirfd, p8, &path);
    if (r < 0) return r;
    HANDLE h = CreateFileW(path, FILE_READ_ATTRIBUTES, SHARE_ALL, NULL, OPEN_EXISTING,
                           FILE_FLAG_BACKUP_SEMANTICS | (nofollow ? FILE_FLAG_OPEN_REPARSE_POINT : 0), NULL);
    if (h == INVALID_HANDLE_VALUE) r = path_error(path, GetLastError());
    free(path);
    if (h == INVALID_HANDLE_VALUE) return r;
    r = fill_statx(h, nofollow, op->args.statx.buf);
    CloseHandle(h);
    if (r == 0 && wants_dir(p8) && (op->args.statx.buf->mode & CIO_S_IFMT) != CIO_S_IFDIR) r = -CIO_ENOTDIR;
    return r;
}

/* ---- unlinkat, renameat, mkdirat ---- */

/* FileDispositionInfoEx (Windows 10 1709 on) and its flags: mingw names
 * them only for a newer _WIN32_WINNT than the library asks for. */
#define DISPOSITION_INFO_EX_CLASS ((FILE_INFO_BY_HANDLE_CLASS)21)
#define DISP_DELETE 0x1u
#define DISP_POSIX_SEMANTICS 0x2u
#define DISP_IGNORE_READONLY 0x10u

/* Deletes the file open as `h`: with POSIX semantics where the file system
 * has them (Windows 10 1709 on, NTFS), so that the name goes at once even
 * while other handles keep the file open; elsewhere the classic way, where
 * the name stays until the last handle is closed. A read-only file is
 * deleted too, as POSIX does (the attribute is cleared first where the
 * POSIX flags are missing). */
static int32_t delete_handle(HANDLE h, DWORD attrs) {
    DWORD ex = DISP_DELETE | DISP_POSIX_SEMANTICS | DISP_IGNORE_READONLY; /* FILE_DISPOSITION_INFO_EX */
    if (SetFileInformationByHandle(h, DISPOSITION_INFO_EX_CLASS, &ex, sizeof ex)) return 0;
    DWORD e = GetLastError();
    if (e != ERROR_INVALID_PARAMETER && e != ERROR_NOT_SUPPORTED && e != ERROR_INVALID_FUNCTION &&
        e != ERROR_INVALID_LEVEL)
        return cio__win_error(e);
    FILE_BASIC_INFO bi;
    bool cleared = false;
    if ((attrs & FILE_ATTRIBUTE_READONLY) && GetFileInformationByHandleEx(h, FileBasicInfo, &bi, sizeof bi)) {
        DWORD before = bi.FileAttributes;
        bi.FileAttributes &= ~(DWORD)FILE_ATTRIBUTE_READONLY;
        if (!bi.FileAttributes) bi.FileAttributes = FILE_ATTRIBUTE_NORMAL;
        cleared = SetFileInformationByHandle(h, FileBasicInfo, &bi, sizeof bi) != 0;
        bi.FileAttributes = before;
    }
    FILE_DISPOSITION_INFO di = {TRUE};
    if (SetFileInformationByHandle(h, FileDispositionInfo, &di, sizeof di)) return 0;
    int32_t r = last_error();
    if (cleared) SetFileInformationByHandle(h, FileBasicInfo, &bi, sizeof bi);
    return r;
}

/* unlink(2) and rmdir(2) through a handle opened for DELETE on the name
 * itself (a symbolic link is removed, not its target), so that the type
 * check and the removal meet the same file. */
int32_t cio__sys_unlinkat(cio_op *op) {
    const int fl = op->args.unlink.flags;
    if (fl & ~CIO_AT_REMOVEDIR) return -CIO_EINVAL;
    wchar_t *path;
    int32_t r = resolve(op->args.unlink.dirfd, op->args.unlink.path, &path);
    if (r < 0) return r;
    HANDLE h = CreateFileW(path, DELETE | FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES, SHARE_ALL, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE) r = path_error(path, GetLastError());
    free(path);
    if (h == INVALID_HANDLE_VALUE) return r;
    BY_HANDLE_FILE_INFORMATION bi;
    if (!GetFileInformationByHandle(h, &bi)) {
        r = last_error();
    } else {
        DWORD a = bi.dwFileAttributes;
        bool dir = (a & FILE_ATTRIBUTE_DIRECTORY) && !((a & FILE_ATTRIBUTE_REPARSE_POINT) && is_link_tag(h));
        if ((fl & CIO_AT_REMOVEDIR) && !dir)
            r = -CIO_ENOTDIR;
        else if (!(fl & CIO_AT_REMOVEDIR) && dir)
            r = -CIO_EISDIR; /* Linux's answer (POSIX allows EPERM) */
        else if (!dir && wants_dir(op->args.unlink.path))
            r = -CIO_ENOTDIR;
        else
            r = delete_handle(h, a);
    }
    CloseHandle(h);
    return r;
}

static DWORD attrs_of(const wchar_t *p) { return GetFileAttributesW(p); }

/* rename(2) as MoveFileExW. CIO_RENAME_NOREPLACE is a move without
 * MOVEFILE_REPLACE_EXISTING (atomic: the file system refuses an existing
 * name); CIO_RENAME_EXCHANGE has no Windows counterpart (-CIO_ENOTSUP).
 * A directory replaces an existing empty directory as POSIX says, but not
 * atomically: the empty one is removed first. */
int32_t cio__sys_renameat(cio_op *op) {
    const uint32_t fl = op->args.rename.flags;
    if (fl & ~(CIO_RENAME_NOREPLACE | CIO_RENAME_EXCHANGE)) return -CIO_EINVAL;
    if ((fl & CIO_RENAME_NOREPLACE) && (fl & CIO_RENAME_EXCHANGE)) return -CIO_EINVAL;
    if (fl & CIO_RENAME_EXCHANGE) return -CIO_ENOTSUP;
    wchar_t *from, *to;
    int32_t r = resolve(op->args.rename.olddirfd, op->args.rename.oldpath, &from);
    if (r < 0) return r;
    if ((r = resolve(op->args.rename.newdirfd, op->args.rename.newpath, &to)) < 0) {
        free(from);
        return r;
    }
    DWORD how = (fl & CIO_RENAME_NOREPLACE) ? 0 : MOVEFILE_REPLACE_EXISTING;
    /* POSIX lets a directory replace only a directory, and a file only a
     * file; Windows differs by version (Wine puts a directory over a
     * file), so the types are checked first. */
    DWORD ta = how ? attrs_of(to) : INVALID_FILE_ATTRIBUTES;
    DWORD fa = ta != INVALID_FILE_ATTRIBUTES ? attrs_of(from) : INVALID_FILE_ATTRIBUTES;
    bool from_dir = fa != INVALID_FILE_ATTRIBUTES && (fa & FILE_ATTRIBUTE_DIRECTORY);
    bool to_dir = ta != INVALID_FILE_ATTRIBUTES && (ta & FILE_ATTRIBUTE_DIRECTORY);
    if (fa == INVALID_FILE_ATTRIBUTES) {
        /* The source's path decides first, as rename(2) looks it up first. */
        if (!MoveFileExW(from, to, how)) {
            DWORD e = GetLastError();
            r = path_error(from, e);
            if (r == -CIO_ENOENT && GetFileAttributesW(from) != INVALID_FILE_ATTRIBUTES) r = path_error(to, e);
        } else {
            r = 0;
        }
    } else if (!from_dir && to_dir) {
        r = -CIO_EISDIR;
    } else if (from_dir && !to_dir) {
        r = -CIO_ENOTDIR;
    } else if (!MoveFileExW(from, to, how)) {
        r = last_error();
        if (r == -CIO_EACCES && from_dir && to_dir) {
            /* Windows does not replace a directory: remove the empty one
             * first (ERROR_DIR_NOT_EMPTY is ENOTEMPTY, as POSIX). */
            if (!RemoveDirectoryW(to))
                r = last_error();
            else
                r = MoveFileExW(from, to, 0) ? 0 : last_error();
        }
    }
    free(from);
    free(to);
    return r;
}

int32_t cio__sys_mkdirat(cio_op *op) {
    wchar_t *path;
    int32_t r = resolve(op->args.mkdir.dirfd, op->args.mkdir.path, &path);
    if (r < 0) return r;
    r = CreateDirectoryW(path, NULL) ? 0 : path_error(path, GetLastError());
    free(path);
    return r;
}

/* ---- close, fsync ---- */

/* closesocket or CloseHandle, as the IOCP backend closes (handle_win.h). */
int32_t cio__sys_close(cio_op *op) { return cio__win_close(op->args.close.fd, -1); }

/* FlushFileBuffers, for fsync and fdatasync alike (Windows offers no
 * data-only flush through Win32). As POSIX, only files and directories
 * can be flushed: a pipe, socket or console is -CIO_EINVAL (a pipe's
 * FlushFileBuffers would wait for the reader). A directory needs no flush
 * on Windows (metadata is journaled) and reports 0. FlushFileBuffers wants
 * write access, which a read-only handle lacks, where POSIX flushes all
 * the same: the file is flushed through a second handle then, and a file
 * nobody may write to has nothing to flush. */
int32_t cio__sys_fsync(cio_op *op) {
    HANDLE h = H(op->args.fsync.fd);
    DWORD type = GetFileType(h);
    if (type != FILE_TYPE_DISK) {
        if (type == FILE_TYPE_UNKNOWN && GetLastError() != NO_ERROR) return last_error();
        return -CIO_EINVAL;
    }
    if (FlushFileBuffers(h)) return 0;
    DWORD e = GetLastError();
    if (e != ERROR_ACCESS_DENIED) return cio__win_error(e);
    if (cio__win_is_dir(h)) return 0;
    HANDLE w = ReOpenFile(h, GENERIC_WRITE, SHARE_ALL, 0);
    if (w == INVALID_HANDLE_VALUE) return GetLastError() == ERROR_ACCESS_DENIED ? 0 : last_error();
    int32_t r = FlushFileBuffers(w) ? 0 : last_error();
    CloseHandle(w);
    return r;
}

/* ---- read, write, readv, writev ---- */

/* The error of a read or write as POSIX gives it (handle_win.h, as on the
 * IOCP path); an interrupt is -CIO_EINTR (see the top). */
static int32_t rw_error(HANDLE h, bool rd, DWORD e, bool intr) {
    if (e == ERROR_OPERATION_ABORTED) return intr ? -CIO_EINTR : -CIO_ECANCELED;
    return cio__win_rw_error(h, rd, e, -1);
}

typedef struct rw_handle {
    HANDLE h;
    bool sync;   /* IO completes in the call */
    bool disk;   /* has a position */
    bool append; /* may only append (cio's O_APPEND) */
} rw_handle;

static void rw_classify(rw_handle *rh, cio_fd fd, bool rd) {
    rh->h = H(fd);
    rh->sync = is_sync_handle(rh->h);
    rh->disk = GetFileType(rh->h) == FILE_TYPE_DISK;
    rh->append = !rd && rh->disk && cio__win_append_only(rh->h);
}

/* One ReadFile or WriteFile of `len` bytes at `offset` (CIO_OFFSET_CURRENT:
 * the handle's position, which this advances). A synchronous handle
 * blocks in the call, which CancelSynchronousIo can abort; the offset goes
 * into an OVERLAPPED only for files (pipes and consoles have none). An
 * overlapped handle has no position of its own: the file pointer stands
 * for it, read and advanced here. */
static int32_t xfer(const rw_handle *rh, bool rd, void *buf, DWORD len, uint64_t offset) {
    HANDLE h = rh->h;
    DWORD n = 0;
    if (rh->append) offset = UINT64_MAX; /* the all-ones offset: at the end */
    if (rh->sync) {
        OVERLAPPED ov;
        OVERLAPPED *pov = NULL;
        if (rh->disk && offset != CIO_OFFSET_CURRENT) {
            memset(&ov, 0, sizeof ov);
            ov.Offset = (DWORD)offset;
            ov.OffsetHigh = (DWORD)(offset >> 32);
            pov = &ov;
        }
        BOOL ok = rd ? ReadFile(h, buf, len, &n, pov) : WriteFile(h, buf, len, &n, pov);
        if (!ok && !(rd && GetLastError() == ERROR_MORE_DATA)) return rw_error(h, rd, GetLastError(), true);
        return (int32_t)n; /* ERROR_MORE_DATA: a message pipe's message, cut to the buffer */
    }
    bool track = rh->disk && offset == CIO_OFFSET_CURRENT;
    LARGE_INTEGER pos = {.QuadPart = 0};
    if (track) {
        LARGE_INTEGER zero = {.QuadPart = 0};
        if (!SetFilePointerEx(h, zero, &pos, FILE_CURRENT)) return last_error();
        offset = (uint64_t)pos.QuadPart;
    } else if (!rh->disk) {
        offset = 0;
    }
    OVERLAPPED ov;
    int32_t r = ov_init(&ov, offset);
    if (r < 0) return r;
    drain_apcs();
    BOOL ok = rd ? ReadFile(h, buf, len, NULL, &ov) : WriteFile(h, buf, len, NULL, &ov);
    if (!ok && GetLastError() != ERROR_IO_PENDING && GetLastError() != ERROR_MORE_DATA) {
        DWORD e = GetLastError();
        CloseHandle(ov_event(&ov));
        return rw_error(h, rd, e, false);
    }
    DWORD e;
    bool intr;
    if (!ov_wait(h, &ov, &n, &e, &intr) && !(rd && e == ERROR_MORE_DATA)) return rw_error(h, rd, e, intr);
    if (track) {
        pos.QuadPart += n;
        SetFilePointerEx(h, pos, NULL, FILE_BEGIN);
    }
    return (int32_t)n;
}

/* Whether a read of a pipe would find bytes now (readv goes on to the next
 * buffer only then, as readv(2) returns what a pipe has). */
static bool pipe_has_data(HANDLE h) {
    DWORD avail = 0;
    return PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) && avail > 0;
}

static int32_t sock_rw(cio_op *op, SOCKET s, bool rd, WSABUF *bufs, DWORD cnt, int flags);

/* read and write: a socket through Winsock, anything else through
 * ReadFile/WriteFile. Like io_uring, an offset on a handle that has no
 * position is ignored. */
int32_t cio__sys_rw(cio_op *op) {
    const bool rd = op->opcode == CIO_OP_READ;
    if (GetFileType(H(op->args.rw.fd)) == FILE_TYPE_PIPE && cio__win_is_socket(op->args.rw.fd)) {
        WSABUF b = {op->args.rw.len, op->args.rw.buf};
        return sock_rw(op, S(op->args.rw.fd), rd, &b, 1, 0);
    }
    rw_handle rh;
    rw_classify(&rh, op->args.rw.fd, rd);
    /* The result is an int32_t: 2 GiB or more is a short transfer, as
     * Linux cuts every read and write (at 0x7ffff000). */
    DWORD len = op->args.rw.len > INT32_MAX ? INT32_MAX : (DWORD)op->args.rw.len;
    return xfer(&rh, rd, op->args.rw.buf, len, op->args.rw.offset);
}

/* readv and writev: one call per buffer (Win32 has no scatter IO but for
 * page-aligned unbuffered files), stopping at the first short transfer, as
 * the single call of POSIX would. Bytes moved before an error are the
 * result. */
int32_t cio__sys_rwv(cio_op *op) {
    const bool rd = op->opcode == CIO_OP_READV;
    const cio_fd fd = op->args.rwv.fd;
    const cio_iovec *iov = op->args.rwv.iov;
    const uint32_t cnt = op->args.rwv.iovcnt;
    if (GetFileType(H(fd)) == FILE_TYPE_PIPE && cio__win_is_socket(fd))
        return sock_rw(op, S(fd), rd, (WSABUF *)(uintptr_t)iov, cnt, 0); /* cio_iovec is a WSABUF */
    rw_handle rh;
    rw_classify(&rh, fd, rd);
    uint64_t off = op->args.rwv.offset;
    int64_t total = 0;
    for (uint32_t i = 0; i < cnt && total < INT32_MAX; i++) {
        DWORD len = iov[i].iov_len;
        if (!len) continue;
        if ((int64_t)len > INT32_MAX - total) len = (DWORD)(INT32_MAX - total); /* the result is an int32_t */
        if (rd && total > 0 && !rh.disk && !pipe_has_data(rh.h)) break;
        int32_t r = xfer(&rh, rd, iov[i].iov_base, len, off);
        if (r < 0) return total > 0 ? (int32_t)total : r;
        total += r;
        if (off != CIO_OFFSET_CURRENT) off += (uint64_t)r;
        if ((DWORD)r < iov[i].iov_len) break;
    }
    return (int32_t)total;
}

/* ---- sockets ---- */

/* Waits in WSAPoll slices until `s` has `events` (POLLRDNORM, ...) or an
 * interrupt comes: the revents, or -CIO_EINTR, or the error. */
static int32_t poll_wait(SOCKET s, short events, short *revents) {
    WSAPOLLFD p = {s, events, 0};
    drain_apcs();
    for (;;) {
        p.revents = 0;
        int n = WSAPoll(&p, 1, POLL_SLICE_MS);
        if (n < 0) return cio__sock_error();
        if (n > 0) {
            *revents = p.revents;
            return 0;
        }
        if (SleepEx(0, TRUE) == WAIT_IO_COMPLETION) return -CIO_EINTR;
    }
}

/* Whether `s` has `events` now, for CIO_MSG_DONTWAIT: Winsock has no
 * per-call non-blocking flag. */
static bool ready_now(SOCKET s, short events) {
    WSAPOLLFD p = {s, events, 0};
    return WSAPoll(&p, 1, 0) > 0;
}

static LPFN_WSARECVMSG recvmsg_fn(SOCKET s) {
    GUID id = WSAID_WSARECVMSG;
    LPFN_WSARECVMSG fn = NULL;
    DWORD n;
    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &fn, sizeof fn, &n, NULL, NULL) != 0)
        return NULL;
    return fn;
}

/* Whether `s` was made without WSA_FLAG_OVERLAPPED: its file object is
 * synchronous, so an overlapped call on it blocks inside the call, where
 * only CancelSynchronousIo reaches it (R18). */
static bool is_sync_socket(SOCKET s) { return is_sync_handle((HANDLE)s); }

/* The buffers of one transfer cut to INT32_MAX bytes in all, since the
 * result is an int32_t (Linux cuts each call at 0x7ffff000 the same way:
 * a short transfer). `bufs` is returned unchanged when it fits; else a
 * copy in *copy (freed by the caller), or NULL for no memory. */
static WSABUF *clamp_bufs(WSABUF *bufs, DWORD *cnt, WSABUF **copy) {
    *copy = NULL;
    uint64_t total = 0;
    for (DWORD i = 0; i < *cnt; i++) {
        if (total + bufs[i].len <= INT32_MAX) {
            total += bufs[i].len;
            continue;
        }
        WSABUF *c = malloc(((size_t)i + 1) * sizeof *c);
        if (!c) return NULL;
        memcpy(c, bufs, (size_t)i * sizeof *c);
        c[i].buf = bufs[i].buf;
        c[i].len = (ULONG)(INT32_MAX - total);
        *cnt = i + 1;
        *copy = c;
        return c;
    }
    return bufs;
}

/* One overlapped socket transfer, waited for alertably. `msg` (datagram
 * recvmsg/sendmsg) selects WSARecvMsg/WSASendMsg, else WSARecv/WSASend on
 * `bufs`. Returns the byte count or the error; a datagram cut to the
 * buffer is a success with its byte count, and CIO_MSG_TRUNC in the
 * message's flags (Winsock says WSAEMSGSIZE). */
static int32_t sock_once(SOCKET s, bool rd, WSABUF *bufs, DWORD cnt, DWORD flags, WSAMSG *msg) {
    WSABUF *copy;
    WSABUF *user = msg ? msg->lpBuffers : NULL;
    DWORD ucnt = msg ? msg->dwBufferCount : 0;
    if (msg) {
        cnt = ucnt;
        bufs = clamp_bufs(user, &cnt, &copy);
        msg->lpBuffers = bufs;
        msg->dwBufferCount = cnt;
    } else {
        bufs = clamp_bufs(bufs, &cnt, &copy);
    }
    int32_t r = bufs ? 0 : -CIO_ENOMEM;
    if (r == 0 && is_sync_socket(s)) {
        /* Waits in slices first, so that the call rarely blocks; when it
         * does (another reader took the data between the poll and the
         * call, or a send larger than the room), the pool's
         * CancelSynchronousIo ends it with WSA_OPERATION_ABORTED. */
        short rev = 0;
        r = poll_wait(s, rd ? POLLRDNORM : POLLWRNORM, &rev);
    }
    WSAOVERLAPPED ov;
    if (r == 0) r = ov_init(&ov, 0);
    LPFN_WSARECVMSG fn = NULL;
    if (r == 0 && msg && rd && !(fn = recvmsg_fn(s))) {
        CloseHandle(ov_event(&ov));
        r = -CIO_ENOTSUP;
    }
    if (r < 0) goto out;
    drain_apcs();
    DWORD n = 0, fl = flags;
    int rc;
    if (msg && rd) {
        msg->dwFlags = flags;
        rc = fn(s, msg, NULL, &ov, NULL);
    } else if (msg) {
        rc = WSASendMsg(s, msg, flags, NULL, &ov, NULL);
    } else if (rd) {
        rc = WSARecv(s, bufs, cnt, NULL, &fl, &ov, NULL);
    } else {
        rc = WSASend(s, bufs, cnt, NULL, flags, &ov, NULL);
    }
    int e = rc == 0 ? 0 : WSAGetLastError();
    /* A truncated datagram *received* fails at once and still completes
     * the OVERLAPPED (FINDINGS p05), as a success or a pending call does.
     * A send's WSAEMSGSIZE (a datagram larger than the transport takes)
     * is -CIO_EMSGSIZE, whether or not the system queued anything. */
    if (e && e != WSA_IO_PENDING && !(e == WSAEMSGSIZE && rd)) {
        wsa_settle(s, &ov);
        /* On an overlapped socket nothing aborts the call itself (the wait
         * below sees the interrupt); on a synchronous one this is the
         * pool's CancelSynchronousIo. */
        r = e == WSA_OPERATION_ABORTED && is_sync_socket(s) ? -CIO_EINTR : cio__wsa_error(e);
        goto out;
    }
    bool intr;
    unsigned long st = wsa_wait(s, &ov, &n, &intr);
    if (st == ST_BUFFER_OVERFLOW && !rd) {
        r = -CIO_EMSGSIZE;
    } else if (st == ST_BUFFER_OVERFLOW) {
        if (msg) msg->dwFlags |= CIO_MSG_TRUNC;
        r = (int32_t)n;
    } else {
        r = wsa_result(st, n, intr);
    }
out:
    if (msg) {
        msg->lpBuffers = user;
        msg->dwBufferCount = ucnt;
    }
    free(copy);
    return r;
}

/* recv, send, and read/write/readv/writev on a socket. MSG_WAITALL is
 * done here, by repeating the receive (the bytes received so far are the
 * result when it then fails or is interrupted); CIO_MSG_DONTWAIT by a
 * readiness check first. */
static int32_t sock_rw(cio_op *op, SOCKET s, bool rd, WSABUF *bufs, DWORD cnt, int flags) {
    (void)op;
    if (flags & CIO_MSG_DONTWAIT) {
        if (!ready_now(s, rd ? POLLRDNORM : POLLWRNORM)) return -CIO_EAGAIN;
        flags &= ~CIO_MSG_DONTWAIT;
    }
    if (!(rd && (flags & CIO_MSG_WAITALL) && cnt == 1)) return sock_once(s, rd, bufs, cnt, (DWORD)flags, NULL);
    WSABUF b = bufs[0];
    uint32_t want = bufs[0].len > INT32_MAX ? INT32_MAX : bufs[0].len; /* the result is an int32_t */
    uint32_t done = 0;
    flags &= ~CIO_MSG_WAITALL;
    while (done < want) {
        b.len = want - done;
        int32_t r = sock_once(s, rd, &b, 1, (DWORD)flags, NULL);
        if (r <= 0) return done ? (int32_t)done : r;
        done += (uint32_t)r;
        b.buf += r;
        if (cio__win_sock_type((cio_fd)s) != SOCK_STREAM) break; /* a datagram is one message */
    }
    return (int32_t)done;
}

/* recvmsg and sendmsg: WSARecvMsg/WSASendMsg on datagram sockets, which
 * alone have them; on a stream socket the buffers go through WSARecv/WSASend
 * (no address: msg's namelen becomes 0 on a receive, as Linux reports for
 * TCP), and control data is -CIO_ENOTSUP, as on the IOCP backend (op.h). */
int32_t cio__sys_msg(cio_op *op) {
    const bool rd = op->opcode == CIO_OP_RECVMSG;
    SOCKET s = S(op->args.msg.fd);
    WSAMSG *m = op->args.msg.msg;
    int flags = op->args.msg.flags;
    int type = cio__win_sock_type(op->args.msg.fd);
    if (type < 0) return cio__sock_failed(op->args.msg.fd);
    if (!rd && type != SOCK_STREAM && m->name && m->namelen) {
        /* Linux's answers for a destination of the wrong length or family,
         * as the IOCP backend gives them. */
        int32_t r = cio__sock_name_error(op->args.msg.fd, m->name, m->namelen, 0);
        if (r) return r;
    }
    if (flags & CIO_MSG_DONTWAIT) {
        if (!ready_now(s, rd ? POLLRDNORM : POLLWRNORM)) return -CIO_EAGAIN;
        flags &= ~CIO_MSG_DONTWAIT;
    }
    if (type == SOCK_STREAM) {
        if (m->Control.len) return -CIO_ENOTSUP;
        int32_t r = sock_rw(op, s, rd, m->lpBuffers, m->dwBufferCount, flags);
        if (rd && r >= 0) {
            m->namelen = 0;
            m->Control.len = 0;
            m->dwFlags = 0;
        }
        return r;
    }
    return sock_once(s, rd, m->lpBuffers, m->dwBufferCount, (DWORD)flags, m);
}

/* The new socket `s` (made, or `accepted`) with the flags asked, as the
 * IOCP backend gives them (handle_win.h: never inherited, non-blocking
 * exactly as asked). Closes `s` on failure. */
static int32_t sock_done(cio_op *op, SOCKET s, int flags, bool accepted) {
    int32_t r = cio__win_sock_setup(s, flags, accepted);
    if (r < 0) {
        closesocket(s);
        return r;
    }
    return cio__fd_result(op, (cio_fd)s);
}

int32_t cio__sys_socket(cio_op *op) {
    const int mine = CIO_SOCK_NONBLOCK | CIO_SOCK_CLOEXEC;
    int type = op->args.socket.type;
    SOCKET s = cio__win_socket(op->args.socket.domain, type & ~mine, op->args.socket.protocol);
    if (s == INVALID_SOCKET) return cio__sock_error();
    return sock_done(op, s, type & mine, false);
}

/* accept on a listener made without WSA_FLAG_OVERLAPPED (AcceptEx would
 * block in the call): waits for a connection in WSAPoll slices, then
 * takes it. If another thread takes that connection first, accept()
 * blocks until the next one; the pool's CancelSynchronousIo ends that
 * wait (synchronous IO on the listener's file object). */
static int32_t accept_sync(cio_op *op, SOCKET l) {
    for (;;) {
        short rev = 0;
        int32_t r = poll_wait(l, POLLRDNORM, &rev);
        if (r < 0) return r;
        if (rev & POLLNVAL) return -CIO_EBADF;
        SOCKET s = accept(l, op->args.accept.addr, op->args.accept.addrlen);
        if (s != INVALID_SOCKET) return sock_done(op, s, op->args.accept.flags, true);
        int e = WSAGetLastError();
        if (e == WSA_OPERATION_ABORTED) return -CIO_EINTR; /* see sock_once */
        /* The connection went away between the poll and the accept on a
         * non-blocking listener: wait for the next. */
        if (e != WSAEWOULDBLOCK && e != WSAECONNRESET) return cio__wsa_error(e);
    }
}

/* Room AcceptEx wants for each address: the largest sockaddr + 16. */
#define ACCEPT_ADDR_LEN ((DWORD)sizeof(struct sockaddr_storage) + 16)

/* accept: AcceptEx into a new socket of the listener's kind, waited for
 * alertably as every overlapped call here, so that the pool's interrupt
 * ends it (CancelIoEx, then the request is waited for) and two loops can
 * race for one connection without the loser blocking for good. A
 * connection that arrives as the interrupt lands is kept, not dropped. */
int32_t cio__sys_accept(cio_op *op) {
    SOCKET l = S(op->args.accept.fd);
    if (op->args.accept.flags & ~(CIO_SOCK_NONBLOCK | CIO_SOCK_CLOEXEC)) return -CIO_EINVAL;
    WSAPROTOCOL_INFOW pi;
    int len = sizeof pi;
    if (getsockopt(l, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&pi, &len) != 0) return cio__sock_failed((cio_fd)l);
    if (is_sync_socket(l)) return accept_sync(op, l);
    GUID id = WSAID_ACCEPTEX;
    LPFN_ACCEPTEX fn = NULL;
    DWORD n = 0;
    if (WSAIoctl(l, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &fn, sizeof fn, &n, NULL, NULL) != 0)
        return cio__sock_error();
    SOCKET s = cio__win_socket(pi.iAddressFamily, pi.iSocketType, pi.iProtocol);
    if (s == INVALID_SOCKET) return cio__sock_error();
    char addrs[2 * ACCEPT_ADDR_LEN];
    OVERLAPPED ov;
    int32_t r = ov_init(&ov, 0);
    if (r < 0) {
        closesocket(s);
        return r;
    }
    drain_apcs();
    if (!fn(l, s, addrs, 0, ACCEPT_ADDR_LEN, ACCEPT_ADDR_LEN, &n, &ov)) {
        int e = WSAGetLastError();
        if (e != WSA_IO_PENDING) {
            wsa_settle(l, &ov);
            closesocket(s);
            return cio__wsa_error(e);
        }
    }
    bool intr;
    unsigned long st = wsa_wait(l, &ov, &n, &intr);
    r = wsa_result(st, 0, intr);
    if (r < 0) {
        closesocket(s);
        /* A listener closed under the accept (Wine: STATUS_HANDLES_CLOSED). */
        return r;
    }
    /* getpeername, getsockname and shutdown need the listener's context. */
    if (setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&l, sizeof l) != 0) {
        r = cio__sock_error();
        closesocket(s);
        return r;
    }
    if (op->args.accept.addr && op->args.accept.addrlen) {
        /* As accept(2): the address cut to the caller's room, and its
         * full length reported. */
        struct sockaddr_storage peer;
        int plen = sizeof peer;
        if (getpeername(s, (struct sockaddr *)&peer, &plen) != 0) {
            r = cio__sock_error();
            closesocket(s);
            return r;
        }
        int room = (int)*op->args.accept.addrlen;
        if (room > 0) memcpy(op->args.accept.addr, &peer, (size_t)(room < plen ? room : plen));
        *op->args.accept.addrlen = plen;
    }
    return sock_done(op, s, op->args.accept.flags, true);
}

/* connect: a stream socket through ConnectEx (an overlapped connect that
 * an interrupt can abort; it wants a bound socket, so an unbound one is
 * bound to the wildcard address first, as connect() would), anything else
 * through connect(), which does not block for datagrams. */
int32_t cio__sys_connect(cio_op *op) {
    SOCKET s = S(op->args.addr.fd);
    const struct sockaddr *to = op->args.addr.addr;
    int type = cio__win_sock_type(op->args.addr.fd);
    if (type < 0) return cio__sock_failed(op->args.addr.fd);
    if (type != SOCK_STREAM || (to->sa_family != AF_INET && to->sa_family != AF_INET6))
        return connect(s, to, op->args.addr.addrlen) == 0 ? 0 : cio__sock_error();
    int berr = cio__win_bind_wildcard(s, to->sa_family);
    if (berr) return cio__wsa_error(berr);
    GUID id = WSAID_CONNECTEX;
    LPFN_CONNECTEX fn = NULL;
    DWORD n = 0;
    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &fn, sizeof fn, &n, NULL, NULL) != 0)
        return cio__sock_error();
    OVERLAPPED ov;
    int32_t r = ov_init(&ov, 0);
    if (r < 0) return r;
    drain_apcs();
    if (!fn(s, to, op->args.addr.addrlen, NULL, 0, NULL, &ov)) {
        int e = WSAGetLastError();
        if (e != WSA_IO_PENDING) {
            wsa_settle(s, &ov);
            return cio__wsa_error(e);
        }
    }
    bool intr;
    unsigned long st = wsa_wait(s, &ov, &n, &intr);
    r = wsa_result(st, 0, intr);
    if (r < 0) return r;
    /* getpeername, shutdown and friends need the context (FINDINGS p01). */
    setsockopt(s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0);
    return 0;
}

/* poll: WSAPoll, for sockets only, in slices (see the top). A file is
 * always ready, as poll(2) says; a pipe or console has no readiness cio
 * can wait for here: -CIO_ENOTSUP. As the IOCP backend's AFD poll (op.h):
 * the peer's end of stream (WSAPoll's POLLHUP) is CIO_POLLIN, since a read
 * then returns end of file (CIO_POLLHUP if only CIO_POLLOUT was asked); an
 * error is CIO_POLLERR | CIO_POLLHUP (and CIO_POLLIN if asked); CIO_POLLPRI
 * and CIO_POLLRDHUP are never reported. The loop goes on while what came
 * is nothing the caller asked for. */
int32_t cio__sys_poll(cio_op *op) {
    const uint32_t ev = op->args.poll.events;
    const cio_fd fd = op->args.poll.fd;
    DWORD type = GetFileType(H(fd));
    if (type == FILE_TYPE_DISK) {
        uint32_t ready = ev & (CIO_POLLIN | CIO_POLLOUT);
        return ready ? (int32_t)ready : -CIO_EINVAL;
    }
    if (type != FILE_TYPE_PIPE || !cio__win_is_socket(fd)) {
        if (type == FILE_TYPE_UNKNOWN && GetLastError() != NO_ERROR) return last_error();
        return -CIO_ENOTSUP;
    }
    short want = 0;
    if (ev & CIO_POLLIN) want |= POLLRDNORM;
    if (ev & CIO_POLLOUT) want |= POLLWRNORM;
    /* Neither IN nor OUT (CIO_POLLPRI alone, which WSAPoll refuses): wait
     * for an error or a hang-up, looking each slice. */
    if (!want) want = POLLRDNORM;
    for (;;) {
        short rev = 0;
        int32_t r = poll_wait(S(fd), want, &rev);
        if (r < 0) return r;
        uint32_t out = 0;
        if ((rev & (POLLRDNORM | POLLRDBAND)) && (ev & CIO_POLLIN)) out |= CIO_POLLIN;
        if ((rev & POLLWRNORM) && (ev & CIO_POLLOUT)) out |= CIO_POLLOUT;
        if (rev & POLLERR) out |= CIO_POLLERR | CIO_POLLHUP | (ev & CIO_POLLIN);
        if (rev & POLLNVAL) out |= CIO_POLLNVAL;
        if (rev & POLLHUP) /* the peer's end of stream: a read returns 0 */
            out |= (ev & CIO_POLLIN) ? CIO_POLLIN : CIO_POLLHUP;
        if (out) return (int32_t)out;
        if (SleepEx(POLL_SLICE_MS, TRUE) == WAIT_IO_COMPLETION) return -CIO_EINTR;
    }
}

/* bind, listen and shutdown with the IOCP backend's codes (handle_win.h). */
int32_t cio__sys_bind(cio_op *op) {
    return cio__win_bind(op->args.addr.fd, op->args.addr.addr, (int)op->args.addr.addrlen);
}

int32_t cio__sys_listen(cio_op *op) { return cio__win_listen(op->args.listen.fd, op->args.listen.backlog); }

int32_t cio__sys_sendrecv(cio_op *op) {
    WSABUF b = {op->args.sr.len, op->args.sr.buf};
    return sock_rw(op, S(op->args.sr.fd), op->opcode == CIO_OP_RECV, &b, 1, op->args.sr.flags);
}

/* A listener's shutdown succeeds, as on the IOCP backend; here nothing
 * ends its accepts (no loop's state to mark: the pool has none). */
int32_t cio__sys_shutdown(cio_op *op) {
    int32_t r = cio__win_shutdown(op->args.shutdown.fd, op->args.shutdown.how);
    return r > 0 ? 0 : r;
}

int32_t cio__sys_splice(cio_op *op) {
    (void)op;
    return -CIO_ENOTSUP; /* Linux's alone (op.h) */
}

/* ---- the L3 file ops (issue 11) ---- */

/* NTSTATUS values the file ops look at (winternl.h names none). */
#define ST_PENDING 0x00000103UL
#define ST_NO_MORE_FILES 0x80000006UL
#define ST_INVALID_INFO_CLASS 0xC0000003UL
#define ST_INVALID_PARAMETER 0xC000000DUL
#define ST_NOT_SUPPORTED 0xC00000BBUL
#define ST_NOT_IMPLEMENTED 0xC0000002UL

/* A handle that must be a file on disk: 0, or -CIO_EBADF (not open), or
 * `other` for a pipe, socket or console. */
static int32_t disk_only(HANDLE h, int32_t other) {
    DWORD type = GetFileType(h);
    if (type == FILE_TYPE_DISK) return 0;
    if (type == FILE_TYPE_UNKNOWN && GetLastError() != NO_ERROR) return last_error();
    return other;
}

/* Whether `h` was opened for writing (FileAccessInformation: class 8),
 * appending only included. */
static bool opened_for_writing(HANDLE h) {
    IO_STATUS_BLOCK io;
    ACCESS_MASK acc = 0;
    if (NtQueryInformationFile(h, &io, &acc, sizeof acc, (FILE_INFORMATION_CLASS)8) < 0)
        return true; /* the call itself will say */
    return (acc & (FILE_WRITE_DATA | FILE_APPEND_DATA)) != 0;
}

int32_t cio__sys_ftruncate(cio_op *op) {
    HANDLE h = H(op->args.size.fd);
    int32_t r = disk_only(h, -CIO_EINVAL);
    if (r < 0) return r;
    /* Linux's EINVAL for a handle not open for writing, too. */
    if (op->args.size.len > (uint64_t)INT64_MAX || cio__win_is_dir(h) || !opened_for_writing(h))
        return -CIO_EINVAL;
    return set_size(h, op->args.size.len);
}

/* Windows reserves clusters from the start of the file up to a size
 * (FileAllocationInfo): enough to cover off + len. Only ever grown here:
 * a smaller allocation would cut the file. */
int32_t cio__sys_fallocate(cio_op *op) {
    HANDLE h = H(op->args.size.fd);
    uint64_t off = op->args.size.offset, len = op->args.size.len;
    if (off > (uint64_t)INT64_MAX || len == 0 || len > (uint64_t)INT64_MAX) return -CIO_EINVAL;
    if (op->args.size.mode & ~CIO_FALLOCATE_KEEP_SIZE) return -CIO_ENOTSUP;
    DWORD type = GetFileType(h);
    if (type == FILE_TYPE_PIPE) return -CIO_ESPIPE;
    int32_t r = disk_only(h, -CIO_EINVAL);
    if (r < 0) return r;
    if (!opened_for_writing(h)) return -CIO_EBADF; /* as Linux */
    if (cio__win_is_dir(h)) return -CIO_EISDIR;
    if (len > (uint64_t)INT64_MAX - off) return -CIO_EFBIG;
    uint64_t end = off + len;
    FILE_STANDARD_INFO st;
    if (!GetFileInformationByHandleEx(h, FileStandardInfo, &st, sizeof st)) return last_error();
    if (end > (uint64_t)st.AllocationSize.QuadPart) {
        FILE_ALLOCATION_INFO ai;
        ai.AllocationSize.QuadPart = (LONGLONG)end;
        IO_STATUS_BLOCK io;
        unsigned long nst = (unsigned long)NtSetInformationFile(h, &io, &ai, sizeof ai, FileAllocationInformation);
        bool unsupported = nst == ST_NOT_IMPLEMENTED || nst == ST_INVALID_INFO_CLASS || nst == ST_NOT_SUPPORTED;
        /* Where the class is missing (Wine 8), growing the size reserves
         * the clusters all the same (a file is not sparse unless asked);
         * a reservation past the end has no other way. */
        if (unsupported && (op->args.size.mode & CIO_FALLOCATE_KEEP_SIZE)) return -CIO_ENOTSUP;
        if (!unsupported && nst >= 0x80000000UL) return cio__ntstatus_error((long)nst);
    }
    if (!(op->args.size.mode & CIO_FALLOCATE_KEEP_SIZE) && end > (uint64_t)st.EndOfFile.QuadPart)
        return set_size(h, end);
    return 0;
}

#ifndef SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE
#define SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE 0x2
#endif

/* Whether `target` of a link at `link` names a directory now: taken from
 * the link's directory when relative, as the system will. */
static bool link_target_is_dir(const wchar_t *link, const wchar_t *target) {
    DWORD a;
    if (is_absolute(target)) {
        a = GetFileAttributesW(target);
    } else {
        size_t ll = wcslen(link), tl = wcslen(target);
        while (ll > 0 && !is_sep(link[ll - 1])) ll--;
        wchar_t *p = malloc((ll + tl + 1) * sizeof *p);
        if (!p) return false;
        wmemcpy(p, link, ll);
        wmemcpy(p + ll, target, tl + 1);
        a = GetFileAttributesW(p);
        free(p);
    }
    return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

int32_t cio__sys_symlinkat(cio_op *op) {
    if (!op->args.link.oldpath[0]) return -CIO_ENOENT; /* as POSIX */
    wchar_t *link, *target;
    int32_t r = resolve(op->args.link.newdirfd, op->args.link.newpath, &link);
    if (r < 0) return r;
    if ((r = to_wide(op->args.link.oldpath, &target)) < 0) {
        free(link);
        return r;
    }
    for (wchar_t *c = target; *c; c++)
        if (*c == L'/') *c = L'\\'; /* a link's target is not normalised by the system */
    DWORD flags = SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE;
    if (link_target_is_dir(link, target)) flags |= SYMBOLIC_LINK_FLAG_DIRECTORY;
    BOOL ok = CreateSymbolicLinkW(link, target, flags);
    if (!ok && GetLastError() == ERROR_INVALID_PARAMETER) /* a Windows older than the flag */
        ok = CreateSymbolicLinkW(link, target, flags & ~(DWORD)SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE);
    if (!ok) {
        DWORD e = GetLastError();
        r = e == ERROR_PRIVILEGE_NOT_HELD ? -CIO_EPERM : path_error(link, e);
        if (r == -CIO_ENOSYS) r = -CIO_ENOTSUP; /* not implemented (Wine 8): the system cannot */
    } else if (GetFileAttributesW(link) == INVALID_FILE_ATTRIBUTES) {
        r = -CIO_ENOTSUP; /* it said yes and made nothing (Wine 8's stub) */
    }
    free(target);
    free(link);
    return r;
}

int32_t cio__sys_linkat(cio_op *op) {
    wchar_t *from, *to;
    int32_t r = resolve(op->args.link.olddirfd, op->args.link.oldpath, &from);
    if (r < 0) return r;
    if ((r = resolve(op->args.link.newdirfd, op->args.link.newpath, &to)) < 0) {
        free(from);
        return r;
    }
    DWORD a = GetFileAttributesW(from);
    if (a == INVALID_FILE_ATTRIBUTES)
        r = path_error(from, GetLastError());
    else if (a & FILE_ATTRIBUTE_DIRECTORY)
        r = -CIO_EPERM; /* no hard links to directories, as POSIX */
    else if (!CreateHardLinkW(to, from, NULL))
        r = path_error(to, GetLastError());
    free(to);
    free(from);
    return r;
}

/* ntdll's directory listing (winternl.h does not declare it), for a
 * handle opened overlapped as cio opens every one: it may pend, and then
 * the file object itself is signalled when it ends (no event: Wine 8
 * refuses one with STATUS_NOT_IMPLEMENTED). No APC context: no packet
 * reaches a completion port the handle may be tied to. Nothing else runs
 * on a directory handle meanwhile (op.h: one readdir at a time). */
NTSTATUS NTAPI NtQueryDirectoryFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                                    PIO_STATUS_BLOCK IoStatusBlock, PVOID FileInformation, ULONG Length,
                                    FILE_INFORMATION_CLASS FileInformationClass, BOOLEAN ReturnSingleEntry,
                                    PUNICODE_STRING FileName, BOOLEAN RestartScan);


/* The heads of the two records asked for (the SDK's FILE_ID_BOTH_DIR_INFO
 * and FILE_FULL_DIR_INFO): what is read of them. */
static void dir_record(const void *rec, bool with_id, uint64_t *ino, DWORD *attrs, DWORD *tag, const wchar_t **name,
                       DWORD *name_bytes) {
    if (with_id) {
        const FILE_ID_BOTH_DIR_INFO *e = rec;
        *ino = (uint64_t)e->FileId.QuadPart;
        *attrs = e->FileAttributes;
        *tag = e->EaSize; /* the reparse tag, for a reparse point */
        *name = e->FileName;
        *name_bytes = e->FileNameLength;
    } else {
        const FILE_FULL_DIR_INFO *e = rec;
        *ino = 0;
        *attrs = e->FileAttributes;
        *tag = e->EaSize;
        *name = e->FileName;
        *name_bytes = e->FileNameLength;
    }
}

/* What fits the caller's buffer is fetched, never more: a record the
 * system hands over is consumed. A cio_dirent is at most 3 * n + 19 bytes
 * for a name of n UTF-16 units (3 bytes of UTF-8 each), the system's record
 * at least 68 + 2 * n (FILE_FULL_DIR_INFO; 104 + 2 * n with the id): at n =
 * 255 at most 1.36 times as long, so fetching into 70% of the caller's
 * length always fits. */
int32_t cio__sys_readdir(cio_op *op) {
    HANDLE h = H(op->args.readdir.fd);
    int32_t r = disk_only(h, -CIO_ENOTDIR);
    if (r < 0) return r;
    if (!cio__win_is_dir(h)) return -CIO_ENOTDIR;
    uint64_t tmp[32 * 1024 / 8];
    uint32_t len = op->args.readdir.len;
    ULONG tsize = (ULONG)((uint64_t)len * 7 / 10) & ~7u;
    if (tsize > sizeof tmp) tsize = sizeof tmp;
    if (tsize < 640) return -CIO_EINVAL; /* not even one record of the longest name */
    char *out = op->args.readdir.buf;
    for (;;) {
        bool with_id = true;
        unsigned long st;
        for (;;) {
            IO_STATUS_BLOCK io;
            memset(&io, 0, sizeof io);
            st = (unsigned long)NtQueryDirectoryFile(
                h, NULL, NULL, NULL, &io, tmp, tsize,
                with_id ? FileIdBothDirectoryInformation : FileFullDirectoryInformation, FALSE, NULL, FALSE);
            if (st == ST_PENDING) { /* an overlapped handle: the file object is signalled at the end */
                WaitForSingleObject(h, INFINITE);
                st = (unsigned long)io.Status;
            }
            if (with_id && (st == ST_INVALID_INFO_CLASS || st == ST_INVALID_PARAMETER || st == ST_NOT_SUPPORTED)) {
                with_id = false;
                continue;
            }
            break;
        }
        if (st == ST_NO_MORE_FILES) return 0;
        if (st >= 0x80000000UL) return cio__ntstatus_error((long)st);
        uint32_t filled = 0;
        for (const char *rec = (const char *)tmp;;) {
            uint64_t ino;
            DWORD attrs, tag, nb;
            const wchar_t *name;
            dir_record(rec, with_id, &ino, &attrs, &tag, &name, &nb);
            int units = (int)(nb / sizeof(wchar_t));
            bool dot = (units == 1 && name[0] == L'.') || (units == 2 && name[0] == L'.' && name[1] == L'.');
            if (!dot) {
                cio_dirent *d = (cio_dirent *)(void *)(out + filled);
                size_t head = offsetof(cio_dirent, name);
                int room = (int)(len - filled - head - 1);
                int n = room > 0 ? WideCharToMultiByte(CP_UTF8, 0, name, units, d->name, room, NULL, NULL) : 0;
                if (n <= 0) return filled ? (int32_t)filled : -CIO_EINVAL; /* cannot happen: see above */
                d->name[n] = 0;
                d->ino = ino;
                if ((attrs & FILE_ATTRIBUTE_REPARSE_POINT) && tag == IO_REPARSE_TAG_SYMLINK)
                    d->type = CIO_DT_LNK;
                else
                    d->type = (attrs & FILE_ATTRIBUTE_DIRECTORY) ? CIO_DT_DIR : CIO_DT_REG;
                d->reclen = CIO_DIRENT_RECLEN((size_t)n);
                filled += d->reclen;
            }
            ULONG next = *(const ULONG *)(const void *)rec; /* NextEntryOffset, first in both */
            if (!next) break;
            rec += next;
        }
        if (filled) return (int32_t)filled;
        /* Only "." and "..": read on. */
    }
}

/* One read or write of a copy, as the ops run them on the pool. */
static int32_t copy_xfer(cio_fd fd, bool rd, void *buf, uint32_t len, uint64_t off) {
    cio_op t;
    if (rd)
        cio_prep_read(&t, fd, buf, len, off);
    else
        cio_prep_write(&t, fd, buf, len, off);
    return cio__sys_rw(&t);
}

static bool same_file(HANDLE a, HANDLE b) {
    BY_HANDLE_FILE_INFORMATION x, y;
    return GetFileInformationByHandle(a, &x) && GetFileInformationByHandle(b, &y) &&
           x.dwVolumeSerialNumber == y.dwVolumeSerialNumber && x.nFileIndexHigh == y.nFileIndexHigh &&
           x.nFileIndexLow == y.nFileIndexLow;
}

/* Windows has no copy_file_range: reads and writes through a buffer on
 * the pool thread, as sync_ops.c's fallback. */
int32_t cio__sys_copy_range(cio_op *op) {
    const uint64_t cur = CIO_OFFSET_CURRENT;
    const cio_fd fdi = op->args.copy.fd_in, fdo = op->args.copy.fd_out;
    const uint64_t oi = op->args.copy.off_in, oo = op->args.copy.off_out;
    const uint32_t len = op->args.copy.len < 0x7ffff000u ? op->args.copy.len : 0x7ffff000u;
    if ((oi != cur && oi > (uint64_t)INT64_MAX) || (oo != cur && oo > (uint64_t)INT64_MAX)) return -CIO_EINVAL;
    HANDLE hi = H(fdi), ho = H(fdo);
    if (GetFileType(ho) == FILE_TYPE_DISK) {
        if (cio__win_is_dir(ho)) return -CIO_EISDIR;
        if (cio__win_append_only(ho)) return -CIO_EBADF; /* as copy_file_range(2) */
        if (oi != cur && oo != cur && oi < oo + len && oo < oi + len && same_file(hi, ho)) return -CIO_EINVAL;
    }
    char tmp[32 * 1024];
    uint64_t done = 0;
    int32_t err = 0;
    while (done < len && !err) {
        uint32_t want = len - done < sizeof tmp ? (uint32_t)(len - done) : (uint32_t)sizeof tmp;
        int32_t r = copy_xfer(fdi, true, tmp, want, oi == cur ? cur : oi + done);
        if (r <= 0) {
            err = r;
            break;
        }
        uint32_t w = 0;
        while (w < (uint32_t)r) {
            int32_t k = copy_xfer(fdo, false, tmp + w, (uint32_t)r - w, oo == cur ? cur : oo + done + w);
            if (k <= 0) {
                err = k ? k : -CIO_EIO;
                break;
            }
            w += (uint32_t)k;
        }
        if (w < (uint32_t)r && oi == cur) { /* bytes read and not written go back */
            LARGE_INTEGER back;
            back.QuadPart = -(LONGLONG)((uint32_t)r - w);
            SetFilePointerEx(hi, back, NULL, FILE_CURRENT);
        }
        done += w;
    }
    return done ? (int32_t)done : err;
}
