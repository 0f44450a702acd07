/*
 * src/sig/sig_win.c - "signals" on Windows: console control events.
 *
 * One console control routine (SetConsoleCtrlHandler) is added when the
 * first watcher of the process watches an event it maps, and removed with
 * the last. The system runs it on a thread of its own for each event; it
 * counts the event for every watching loop and sends a byte on each one's
 * wake channel (cio__sig_deliver in sig.c), the same path a POSIX handler
 * takes. The channel is a loopback TCP socket pair made here (Windows has
 * no pipe an IOCP receive and a plain send both suit): the loop keeps a
 * receive in flight on one end while someone waits, which is the op that
 * keeps its cio_loop_run() going; the routine sends on the other end,
 * which is non-blocking so that a full buffer never holds it up (the
 * count is in the slot anyway). Both are made non-inheritable.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include "../core/oserr.h"
#include "sig_internal.h"

static unsigned g_console_refs; /* under sig.c's lock */

static int console_signo(DWORD type) {
    switch (type) {
    case CTRL_C_EVENT: return CIO_SIGINT;
    case CTRL_BREAK_EVENT: return CIO_SIGBREAK;
    case CTRL_CLOSE_EVENT: return CIO_SIGHUP;
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT: return CIO_SIGTERM;
    default: return 0;
    }
}

static bool is_console_signo(int signo) {
    return signo == CIO_SIGINT || signo == CIO_SIGBREAK || signo == CIO_SIGHUP || signo == CIO_SIGTERM;
}

static BOOL WINAPI on_console_event(DWORD type) {
    int signo = console_signo(type);
    if (!signo || !cio__sig_deliver(signo)) return FALSE; /* nobody watches it: the next routine */
    /* Windows ends the process as soon as the routine returns from these:
     * hold it, so that the program has the system's grace time to shut
     * down; the process ends when it returns from main() (or the system's
     * time is up). */
    if (type == CTRL_CLOSE_EVENT || type == CTRL_SHUTDOWN_EVENT) Sleep(INFINITE);
    return TRUE;
}

bool cio__sig_os_valid(int signo) {
    (void)signo;
    return true;
}

int cio__sig_os_watch(int signo) {
    if (!is_console_signo(signo)) return 0;
    if (g_console_refs++ == 0 && !SetConsoleCtrlHandler(on_console_event, TRUE)) {
        g_console_refs--;
        return cio__win_error(GetLastError());
    }
    return 0;
}

void cio__sig_os_unwatch(int signo) {
    if (!is_console_signo(signo)) return;
    if (--g_console_refs == 0) SetConsoleCtrlHandler(on_console_event, FALSE);
}

static INIT_ONCE g_wsa_once = INIT_ONCE_STATIC_INIT;
static int g_wsa_err;

static BOOL CALLBACK wsa_start(PINIT_ONCE once, PVOID param, PVOID *ctx) {
    (void)once, (void)param, (void)ctx;
    WSADATA d;
    int e = WSAStartup(MAKEWORD(2, 2), &d);
    g_wsa_err = e ? cio__wsa_error(e) : 0;
    return TRUE;
}

static SOCKET new_socket(void) {
    return WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
}

int cio__sig_os_wake_open(sig_wake *w) {
    InitOnceExecuteOnce(&g_wsa_once, wsa_start, NULL, NULL);
    if (g_wsa_err) return g_wsa_err;
    SOCKET l = new_socket(), c = INVALID_SOCKET, a = INVALID_SOCKET;
    if (l == INVALID_SOCKET) return cio__sock_error();
    struct sockaddr_in at;
    memset(&at, 0, sizeof at);
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int len = sizeof at, e = 0;
    if (bind(l, (struct sockaddr *)&at, sizeof at) != 0 || getsockname(l, (struct sockaddr *)&at, &len) != 0 ||
        listen(l, 1) != 0)
        goto fail;
    if ((c = new_socket()) == INVALID_SOCKET || connect(c, (struct sockaddr *)&at, sizeof at) != 0) goto fail;
    if ((a = accept(l, NULL, NULL)) == INVALID_SOCKET) goto fail;
    SetHandleInformation((HANDLE)a, HANDLE_FLAG_INHERIT, 0);
    int one = 1;
    u_long nb = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    if (ioctlsocket(c, FIONBIO, &nb) != 0) goto fail;
    closesocket(l);
    w->rfd = (cio_fd)a;
    w->wfd = (cio_fd)c;
    return 0;
fail:
    e = cio__sock_error();
    closesocket(l);
    if (c != INVALID_SOCKET) closesocket(c);
    if (a != INVALID_SOCKET) closesocket(a);
    return e < 0 ? e : -CIO_EIO;
}

void cio__sig_os_poke(uintptr_t wake) {
    if (wake == (uintptr_t)CIO_FD_INVALID) return;
    char b = 1;
    send((SOCKET)wake, &b, 1, 0); /* WSAEWOULDBLOCK: bytes are waiting already */
}

void cio__sig_os_close_now(cio_fd fd) {
    if (fd != CIO_FD_INVALID) closesocket((SOCKET)fd);
}

void cio__sig_os_yield(void) { SwitchToThread(); }

void cio__sig_os_prep_read(sig_wake *w) { cio_prep_recv(&w->rd, w->rfd, w->rbuf, sizeof w->rbuf, 0); }

void cio__sig_os_init(sig_wake *w) { (void)w; }
int cio__sig_os_add(sig_wake *w, int signo) {
    (void)w, (void)signo;
    return 0;
}
void cio__sig_os_remove(sig_wake *w, int signo) { (void)w, (void)signo; }
int cio__sig_os_arm(sig_wake *w, cio_loop *loop) {
    (void)w, (void)loop;
    return 0;
}
void cio__sig_os_disarm(sig_wake *w, cio_loop *loop) { (void)w, (void)loop; }
void cio__sig_os_teardown(sig_wake *w, cio_loop *loop) { (void)w, (void)loop; }
void cio__sig_os_release(sig_wake *w) { (void)w; }
