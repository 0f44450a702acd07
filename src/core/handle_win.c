/*
 * src/core/handle_win.c - handle kinds, socket creation, implicit bind,
 * shutdown, close and read/write errors, shared by the IOCP backend and the
 * blocking pool on Windows (handle_win.h).
 */
#include "handle_win.h"

#include <string.h>
#include <winternl.h>

#include "cio/op.h"
#include "oserr.h"

int cio__win_sock_type(cio_fd fd) {
    int type = 0, len = sizeof type;
    return getsockopt((SOCKET)fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0 ? type : -1;
}

/* NtQueryInformationFile's classes and bits that winternl.h does not name. */
#define WH_FILE_ACCESS_INFO 8
#define WH_FILE_MODE_INFO 16
#define WH_MODE_SYNCHRONOUS 0x30u /* FILE_SYNCHRONOUS_IO_ALERT | _NONALERT */
#define WH_ST_INVALID_HANDLE ((LONG)0xC0000008UL)

int cio__win_sync_io(HANDLE h) {
    IO_STATUS_BLOCK io;
    ULONG mode = 0;
    LONG st = NtQueryInformationFile(h, &io, &mode, sizeof mode, (FILE_INFORMATION_CLASS)WH_FILE_MODE_INFO);
    if (st == WH_ST_INVALID_HANDLE) return -CIO_EBADF;
    return st < 0 || (mode & WH_MODE_SYNCHRONOUS) ? 1 : 0;
}

bool cio__win_append_only(HANDLE h) {
    IO_STATUS_BLOCK io;
    ACCESS_MASK acc = 0;
    if (NtQueryInformationFile(h, &io, &acc, sizeof acc, (FILE_INFORMATION_CLASS)WH_FILE_ACCESS_INFO) < 0)
        return false;
    return (acc & FILE_APPEND_DATA) && !(acc & FILE_WRITE_DATA);
}

bool cio__win_is_dir(HANDLE h) {
    BY_HANDLE_FILE_INFORMATION bi;
    return GetFileInformationByHandle(h, &bi) && (bi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY);
}

/* ---- sockets ---- */

SOCKET cio__win_socket(int family, int type, int protocol) {
    SOCKET s = WSASocketW(family, type, protocol, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) /* before Windows 7 SP1: no such flag */
        s = WSASocketW(family, type, protocol, NULL, 0, WSA_FLAG_OVERLAPPED);
    return s;
}

int32_t cio__win_sock_setup(SOCKET s, int flags, bool accepted) {
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    u_long nb = (flags & CIO_SOCK_NONBLOCK) ? 1 : 0;
    if ((nb || accepted) && ioctlsocket(s, FIONBIO, &nb) != 0) return cio__sock_error();
    return 0;
}

int32_t cio__win_bind(cio_fd fd, const struct sockaddr *addr, int len) {
    int32_t r = cio__sock_name_error(fd, addr, len, 1);
    if (r) return r;
    return bind((SOCKET)fd, addr, len) == 0 ? 0 : cio__sock_failed(fd);
}

int32_t cio__win_listen(cio_fd fd, int backlog) {
    return listen((SOCKET)fd, backlog) == 0 ? 0 : cio__sock_failed(fd);
}

int cio__win_bind_wildcard(SOCKET s, int family) {
    struct sockaddr_storage any;
    memset(&any, 0, sizeof any);
    any.ss_family = (ADDRESS_FAMILY)family;
    int len = family == AF_INET6 ? (int)sizeof(struct sockaddr_in6) : (int)sizeof(struct sockaddr_in);
    /* One call in the usual case (unbound), not a getsockname first. */
    if (bind(s, (struct sockaddr *)&any, len) == 0) return 0;
    int err = WSAGetLastError();
    return err == WSAEINVAL ? 0 : err; /* bound already */
}

static bool sock_listens(cio_fd fd) {
    BOOL on = FALSE;
    int len = sizeof on;
    return getsockopt((SOCKET)fd, SOL_SOCKET, SO_ACCEPTCONN, (char *)&on, &len) == 0 && on;
}

bool cio__win_sock_connected(cio_fd fd) {
    struct sockaddr_storage peer;
    int len = sizeof peer;
    return getpeername((SOCKET)fd, (struct sockaddr *)&peer, &len) == 0;
}

/* (CIO_SHUT_* are SD_RECEIVE, SD_SEND, SD_BOTH.) */
int32_t cio__win_shutdown(cio_fd fd, int how) {
    if (shutdown((SOCKET)fd, how) != 0) {
        int32_t r = cio__sock_failed(fd);
        if (r == -CIO_ENOTCONN && sock_listens(fd)) return how == CIO_SHUT_WR ? 0 : 1;
        return r;
    }
    if (cio__win_sock_type(fd) == SOCK_DGRAM && !cio__win_sock_connected(fd)) return -CIO_ENOTCONN;
    return 0;
}

/* ---- close, IO errors ---- */

int32_t cio__win_close(cio_fd fd, int sock) {
    /* Whether it is a socket from Winsock's table alone: GetFileType would
     * wait behind a pool thread's read on a synchronous handle. */
    if (sock < 0) sock = cio__win_is_socket(fd);
    if (sock) return closesocket((SOCKET)fd) == 0 ? 0 : cio__sock_error();
    if (CloseHandle((HANDLE)fd)) return 0;
    int32_t r = cio__win_error(GetLastError());
    return r ? r : -CIO_EIO;
}

int32_t cio__win_rw_error(HANDLE h, bool rd, unsigned long err, int dir) {
    if (rd && (err == ERROR_HANDLE_EOF || err == ERROR_BROKEN_PIPE)) return 0;
    if (err == ERROR_ACCESS_DENIED) return -CIO_EBADF;
    if ((err == ERROR_INVALID_FUNCTION || err == ERROR_INVALID_PARAMETER) && (dir < 0 ? cio__win_is_dir(h) : dir))
        return -CIO_EISDIR;
    int32_t r = cio__win_error(err); /* a write's ERROR_BROKEN_PIPE, ERROR_NO_DATA: -CIO_EPIPE */
    return r ? r : -CIO_EIO;
}
