/*
 * src/sig/sig_win.c - "signals" on Windows: console control events.
 *
 * One console control routine (SetConsoleCtrlHandler) is added when the
 * first watcher of the process watches an event it maps, and removed with
 * the last. The system runs it on a thread of its own for each event; it
 * counts the event for every watching loop and sends a byte on each one's
 * wake channel (cio__sig_deliver in sig.c), the same path a POSIX handler
 * takes. The channel is a loopback TCP socket pair (src/core/pair_win.c;
 * Windows has no pipe an IOCP receive and a plain send both suit): the
 * loop keeps a receive in flight on one end while someone waits, which is
 * the op that keeps its cio_loop_run() going; the routine sends on the
 * other end, which is non-blocking so that a full buffer never holds it
 * up (the count is in the slot anyway). Both are non-inheritable.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include "../core/oserr.h"
#include "../core/pair.h"
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

int cio__sig_os_wake_open(sig_wake *w) {
    cio_fd p[2];
    int e = cio__sys_pair(SOCK_STREAM, p);
    if (e < 0) return e;
    u_long nb = 1;
    if (ioctlsocket((SOCKET)p[0], FIONBIO, &nb) != 0) {
        e = cio__sock_error();
        closesocket((SOCKET)p[0]);
        closesocket((SOCKET)p[1]);
        return e < 0 ? e : -CIO_EIO;
    }
    w->wfd = p[0];
    w->rfd = p[1];
    return 0;
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
