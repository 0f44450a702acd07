/*
 * src/core/pair_win.c - pipes and socket pairs on Windows, usable with
 * IOCP. An anonymous pipe (CreatePipe) cannot do overlapped IO, so a pipe
 * is a named pipe of one instance with both ends opened overlapped, as
 * libuv makes them. Windows has no socketpair: a stream pair is two TCP
 * sockets connected over loopback through a listener that lives for this
 * call, a datagram pair two UDP sockets on loopback connected to each
 * other.
 * Every handle is non-inheritable (NULL security attributes, and
 * WSA_FLAG_NO_HANDLE_INHERIT for the sockets).
 */
#include "pair.h"

#include <stdio.h>

#include "handle_win.h"
#include "oserr.h"

static int make_pipe(cio_fd fds[2]) {
    static volatile LONG seq;
    for (int tries = 0; tries < 16; tries++) {
        wchar_t name[96];
        swprintf(name, sizeof name / sizeof name[0], L"\\\\.\\pipe\\cio-%lu-%ld-%llu", GetCurrentProcessId(),
                 (long)InterlockedIncrement(&seq), (unsigned long long)GetTickCount64());
        HANDLE rd = CreateNamedPipeW(name, PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                     PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1,
                                     65536, 65536, 0, NULL);
        if (rd == INVALID_HANDLE_VALUE) {
            DWORD e = GetLastError();
            if (e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY) continue; /* the name is taken: another */
            return cio__win_error(e);
        }
        /* FILE_READ_ATTRIBUTES: so that the write end's state can be queried. */
        HANDLE wr = CreateFileW(name, GENERIC_WRITE | FILE_READ_ATTRIBUTES, 0, NULL, OPEN_EXISTING,
                                FILE_FLAG_OVERLAPPED, NULL);
        if (wr == INVALID_HANDLE_VALUE) {
            int e = cio__win_error(GetLastError());
            CloseHandle(rd);
            return e;
        }
        fds[0] = (cio_fd)rd;
        fds[1] = (cio_fd)wr;
        return 0;
    }
    return -CIO_EEXIST;
}

static bool same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b) {
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* A socket of `type` on 127.0.0.1 at a port the system picks, its address
 * in `*at`. Exclusive: no other socket (another user's with SO_REUSEADDR
 * included) can take the port while it lives. */
static SOCKET loopback_socket(int type, struct sockaddr_in *at) {
    SOCKET s = cio__win_socket(AF_INET, type, 0);
    if (s == INVALID_SOCKET) return s;
    memset(at, 0, sizeof *at);
    at->sin_family = AF_INET;
    at->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int len = sizeof *at;
    BOOL excl = TRUE;
    setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&excl, sizeof excl);
    if (bind(s, (struct sockaddr *)at, sizeof *at) != 0 || getsockname(s, (struct sockaddr *)at, &len) != 0) {
        int e = WSAGetLastError();
        closesocket(s);
        WSASetLastError(e);
        return INVALID_SOCKET;
    }
    return s;
}

static int stream_pair(cio_fd fds[2]) {
    struct sockaddr_in at, mine, peer;
    SOCKET l = loopback_socket(SOCK_STREAM, &at), c = INVALID_SOCKET, a = INVALID_SOCKET;
    if (l == INVALID_SOCKET) return cio__sock_error();
    int r = -CIO_EIO;
    int len;
    if (listen(l, 1) != 0) goto fail;
    c = cio__win_socket(AF_INET, SOCK_STREAM, 0);
    if (c == INVALID_SOCKET || connect(c, (struct sockaddr *)&at, sizeof at) != 0) goto fail;
    len = sizeof mine;
    if (getsockname(c, (struct sockaddr *)&mine, &len) != 0) goto fail;
    /* Another local program could connect first: take connections until ours. */
    for (int i = 0; i < 8; i++) {
        len = sizeof peer;
        a = accept(l, (struct sockaddr *)&peer, &len);
        if (a == INVALID_SOCKET) goto fail;
        if (same_addr(&peer, &mine)) break;
        closesocket(a);
        a = INVALID_SOCKET;
    }
    if (a == INVALID_SOCKET) {
        r = -CIO_ECONNREFUSED;
        goto done;
    }
    SetHandleInformation((HANDLE)a, HANDLE_FLAG_INHERIT, 0);
    /* Small writes go out at once, as on a local stream socket. */
    BOOL one = TRUE;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    setsockopt(a, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    closesocket(l);
    fds[0] = (cio_fd)c;
    fds[1] = (cio_fd)a;
    return 0;
fail:
    r = cio__sock_error();
    if (r == 0) r = -CIO_EIO;
done:
    closesocket(l);
    if (c != INVALID_SOCKET) closesocket(c);
    if (a != INVALID_SOCKET) closesocket(a);
    return r;
}

/* Drops what another local program sent to `s` before it was connected
 * (a connected UDP socket takes only its peer's datagrams from then on,
 * but keeps what came earlier): its peer has sent nothing yet. */
static bool drain_foreign(SOCKET s) {
    u_long on = 1, off = 0;
    if (ioctlsocket(s, FIONBIO, &on) != 0) return false;
    char b[1];
    for (int i = 0; i < 1024; i++) {
        if (recv(s, b, sizeof b, 0) >= 0) continue;
        int e = WSAGetLastError();
        /* WSAEMSGSIZE: a foreign datagram longer than b, dropped all the
         * same; WSAECONNRESET: an ICMP error for one of theirs. */
        if (e == WSAEMSGSIZE || e == WSAECONNRESET) continue;
        if (e != WSAEWOULDBLOCK) return false;
        return ioctlsocket(s, FIONBIO, &off) == 0;
    }
    return false;
}

/* Two UDP sockets on loopback connected to each other: each takes
 * datagrams from the other only, their bounds kept, as a datagram
 * socketpair's (unlike AF_UNIX's, a datagram to a full peer is dropped). */
static int dgram_pair(cio_fd fds[2]) {
    struct sockaddr_in at[2];
    SOCKET s[2];
    s[0] = loopback_socket(SOCK_DGRAM, &at[0]);
    if (s[0] == INVALID_SOCKET) return cio__sock_error();
    s[1] = loopback_socket(SOCK_DGRAM, &at[1]);
    if (s[1] == INVALID_SOCKET) {
        int r = cio__sock_error();
        closesocket(s[0]);
        return r;
    }
    for (int i = 0; i < 2; i++) {
        if (connect(s[i], (struct sockaddr *)&at[1 - i], sizeof at[1 - i]) != 0) goto fail;
    }
    for (int i = 0; i < 2; i++)
        if (!drain_foreign(s[i])) goto fail;
    fds[0] = (cio_fd)s[0];
    fds[1] = (cio_fd)s[1];
    return 0;
fail:;
    int r = cio__sock_error();
    closesocket(s[0]);
    closesocket(s[1]);
    return r ? r : -CIO_EIO;
}

int cio__sys_pair(int type, cio_fd fds[2]) {
    if (type == 0) return make_pipe(fds);
    return type == SOCK_STREAM ? stream_pair(fds) : dgram_pair(fds);
}
