/* 6. AFD polling: NtCreateFile("\Device\Afd\cio"), IOCTL_AFD_POLL with the
 * completion port (wepoll's/libuv's/mio's technique); then WSAPoll on a
 * thread as the fallback, woken through a socket pair. */
#include "probe.h"
#include <stdint.h>

#define IOCTL_AFD_POLL 0x00012024
#define AFD_POLL_RECEIVE 0x0001
#define AFD_POLL_SEND 0x0004
#define AFD_POLL_DISCONNECT 0x0008
#define AFD_POLL_ABORT 0x0010
#define AFD_POLL_LOCAL_CLOSE 0x0020
#define AFD_POLL_ACCEPT 0x0080
#define AFD_POLL_CONNECT_FAIL 0x0100

typedef struct {
	HANDLE Handle;
	ULONG Events;
	NTSTATUS Status;
} AFD_POLL_HANDLE_INFO;

typedef struct {
	LARGE_INTEGER Timeout;
	ULONG NumberOfHandles;
	ULONG Exclusive;
	AFD_POLL_HANDLE_INFO Handles[1];
} AFD_POLL_INFO;

static HANDLE open_afd(const wchar_t *name, NTSTATUS *st)
{
	UNICODE_STRING us;
	RtlInitUnicodeString(&us, name);
	OBJECT_ATTRIBUTES oa;
	InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
	IO_STATUS_BLOCK iosb;
	HANDLE h = NULL;
	*st = NtCreateFile(&h, SYNCHRONIZE, &oa, &iosb, NULL, 0, FILE_SHARE_READ | FILE_SHARE_WRITE, FILE_OPEN, 0, NULL, 0);
	return *st == 0 ? h : NULL;
}

static SOCKET base_handle(SOCKET s)
{
	SOCKET b = INVALID_SOCKET;
	DWORD n;
	if (WSAIoctl(s, SIO_BASE_HANDLE, NULL, 0, &b, sizeof b, &n, NULL, NULL) != 0)
		return INVALID_SOCKET;
	return b;
}

/* Issue a poll on handle h (an AFD device handle or the socket itself). */
static NTSTATUS afd_poll(HANDLE h, SOCKET s, ULONG events, AFD_POLL_INFO *info, OVERLAPPED *ov)
{
	memset(info, 0, sizeof *info);
	memset(ov, 0, sizeof *ov);
	info->Timeout.QuadPart = INT64_MAX;
	info->NumberOfHandles = 1;
	info->Exclusive = FALSE;
	info->Handles[0].Handle = (HANDLE)s;
	info->Handles[0].Events = events;
	ov->Internal = STATUS_PENDING;
	return NtDeviceIoControlFile(h, NULL, NULL, ov, (PIO_STATUS_BLOCK)ov, IOCTL_AFD_POLL, info, sizeof *info, info,
				     sizeof *info);
}

static void afd_tests(HANDLE port, HANDLE afd, const char *via, SOCKET poll_on_self)
{
	SOCKET a, b;
	tcp_pair(AF_INET, &a, &b);
	SOCKET base = base_handle(b);
	INFO("%s: SIO_BASE_HANDLE of socket %llu -> %llu", via, (unsigned long long)b, (unsigned long long)base);
	if (base == INVALID_SOCKET)
		base = b;
	HANDLE h = afd;
	if (poll_on_self) {
		h = (HANDLE)b;
	}
	CHECK(assoc(port, h, 0xAFD), "%s: associate poll handle with the port", via);
	AFD_POLL_INFO info;
	OVERLAPPED ov;

	/* Pending poll for readability, then data arrives. */
	NTSTATUS st = afd_poll(h, base, AFD_POLL_RECEIVE | AFD_POLL_DISCONNECT | AFD_POLL_ABORT | AFD_POLL_LOCAL_CLOSE, &info, &ov);
	CHECK(st == STATUS_PENDING, "%s: IOCTL_AFD_POLL(RECEIVE) on idle socket: NTSTATUS=0x%lx (want STATUS_PENDING 0x103)", via,
	      (unsigned long)st);
	if (st != STATUS_PENDING && st != 0) {
		closesocket(a);
		closesocket(b);
		return;
	}
	cqe_t e;
	int got = gqcs(port, 200, &e);
	CHECK(!got, "%s: no completion before data (got=%d)", via, got);
	send(a, "x", 1, 0);
	got = gqcs(port, 3000, &e);
	CHECK(got && e.ok && e.ov == &ov && e.key == 0xAFD && info.NumberOfHandles == 1 && (info.Handles[0].Events & AFD_POLL_RECEIVE),
	      "%s: poll completes on data: got=%d ok=%d err=%lu bytes=%lu handles=%lu events=0x%lx status=0x%lx", via, got, e.ok,
	      e.err, e.bytes, info.NumberOfHandles, info.Handles[0].Events, (unsigned long)info.Handles[0].Status);
	CHECK(drain(port, 100) == 0, "%s: exactly one completion for the poll", via);

	/* Level-triggered: a new poll with data still unread completes at once. */
	st = afd_poll(h, base, AFD_POLL_RECEIVE, &info, &ov);
	got = gqcs(port, 1000, &e);
	CHECK(got && e.ok && (info.Handles[0].Events & AFD_POLL_RECEIVE),
	      "%s: re-poll with unread data: NTSTATUS=0x%lx, completion got=%d events=0x%lx", via, (unsigned long)st, got,
	      info.Handles[0].Events);
	char c;
	recv(b, &c, 1, 0);

	/* Writable right away */
	st = afd_poll(h, base, AFD_POLL_SEND, &info, &ov);
	got = gqcs(port, 1000, &e);
	CHECK(got && e.ok && (info.Handles[0].Events & AFD_POLL_SEND), "%s: poll(SEND) on a fresh socket: st=0x%lx events=0x%lx", via,
	      (unsigned long)st, info.Handles[0].Events);

	/* Cancel a pending poll through CancelIoEx on the poll handle */
	st = afd_poll(h, base, AFD_POLL_RECEIVE, &info, &ov);
	BOOL cx = CancelIoEx(h, &ov);
	got = gqcs(port, 2000, &e);
	CHECK(cx && got && e.ov == &ov && !e.ok && e.err == ERROR_OPERATION_ABORTED,
	      "%s: CancelIoEx on pending poll: cancel=%d got=%d ok=%d err=%lu Internal=0x%lx", via, cx, got, e.ok, e.err,
	      (unsigned long)ov.Internal);
	CHECK(drain(port, 100) == 0, "%s: cancelled poll: exactly one completion", via);

	/* Peer closes: DISCONNECT */
	st = afd_poll(h, base, AFD_POLL_RECEIVE | AFD_POLL_DISCONNECT | AFD_POLL_ABORT, &info, &ov);
	closesocket(a);
	got = gqcs(port, 2000, &e);
	CHECK(got && e.ok && (info.Handles[0].Events & (AFD_POLL_DISCONNECT | AFD_POLL_RECEIVE)),
	      "%s: peer close: events=0x%lx (DISCONNECT=0x8 RECEIVE=0x1)", via, info.Handles[0].Events);

	/* Local close while polled: LOCAL_CLOSE (only meaningful via a separate AFD handle) */
	if (!poll_on_self) {
		st = afd_poll(h, base, AFD_POLL_RECEIVE | AFD_POLL_LOCAL_CLOSE, &info, &ov);
		got = gqcs(port, 100, &e);
		if (got)
			INFO("%s: (poll after peer close completed at once, events=0x%lx)", via, info.Handles[0].Events);
		else {
			closesocket(b);
			b = INVALID_SOCKET;
			got = gqcs(port, 2000, &e);
			INFO("%s: local close with a pending poll: got=%d ok=%d err=%lu events=0x%lx", via, got, e.ok, e.err,
			     info.Handles[0].Events);
		}
	}
	if (b != INVALID_SOCKET)
		closesocket(b);
	drain(port, 100);
}

/* WSAPoll fallback on a thread, woken through a loopback socket pair. */
static SOCKET g_wake_r, g_data;
static volatile LONG g_revents, g_wake_revents, g_rc;

static DWORD WINAPI poller(void *arg)
{
	(void)arg;
	WSAPOLLFD fds[2] = {{g_data, POLLRDNORM, 0}, {g_wake_r, POLLRDNORM, 0}};
	int rc = WSAPoll(fds, 2, 5000);
	g_rc = rc;
	g_revents = fds[0].revents;
	g_wake_revents = fds[1].revents;
	return 0;
}

static void wsapoll_tests(void)
{
	SOCKET a, b, wa, wb;
	tcp_pair(AF_INET, &a, &b);
	tcp_pair(AF_INET, &wa, &wb);
	WSAPOLLFD fd = {b, POLLRDNORM | POLLWRNORM, 0};
	int rc = WSAPoll(&fd, 1, 0);
	CHECK(rc == 1 && (fd.revents & POLLWRNORM) && !(fd.revents & POLLRDNORM), "WSAPoll(timeout 0): rc=%d revents=0x%x", rc,
	      fd.revents);
	LARGE_INTEGER f, t0, t1;
	QueryPerformanceFrequency(&f);
	fd.events = POLLRDNORM;
	QueryPerformanceCounter(&t0);
	rc = WSAPoll(&fd, 1, 150);
	QueryPerformanceCounter(&t1);
	double ms = (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)f.QuadPart;
	CHECK(rc == 0 && ms >= 140, "WSAPoll 150 ms timeout: rc=%d %.1f ms", rc, ms);

	/* thread blocks; data arrives */
	g_data = b;
	g_wake_r = wb;
	HANDLE th = CreateThread(NULL, 0, poller, NULL, 0, NULL);
	Sleep(100);
	send(a, "d", 1, 0);
	DWORD w = WaitForSingleObject(th, 3000);
	CHECK(w == WAIT_OBJECT_0 && g_rc == 1 && (g_revents & POLLRDNORM), "WSAPoll on a thread: data wakes it rc=%ld revents=0x%lx",
	      g_rc, g_revents);
	CloseHandle(th);
	char c;
	recv(b, &c, 1, 0);

	/* thread blocks; the loop wakes it through the wake pair (cancel path) */
	th = CreateThread(NULL, 0, poller, NULL, 0, NULL);
	Sleep(100);
	send(wa, "w", 1, 0);
	w = WaitForSingleObject(th, 3000);
	CHECK(w == WAIT_OBJECT_0 && g_rc == 1 && (g_wake_revents & POLLRDNORM) && !g_revents,
	      "WSAPoll on a thread: wake socket interrupts it rc=%ld wake_revents=0x%lx", g_rc, g_wake_revents);
	CloseHandle(th);
	recv(wb, &c, 1, 0);

	/* closing a polled socket from another thread: does WSAPoll return? */
	th = CreateThread(NULL, 0, poller, NULL, 0, NULL);
	Sleep(100);
	closesocket(b);
	w = WaitForSingleObject(th, 1500);
	INFO("WSAPoll on a thread, socket closed by another thread: %s rc=%ld revents=0x%lx",
	     w == WAIT_OBJECT_0 ? "returned" : "still blocked after 1.5 s", g_rc, g_revents);
	if (w != WAIT_OBJECT_0) {
		send(wa, "w", 1, 0);
		WaitForSingleObject(th, 3000);
	}
	CloseHandle(th);

	/* peer close: POLLHUP */
	SOCKET c1, c2;
	tcp_pair(AF_INET, &c1, &c2);
	closesocket(c1);
	Sleep(50);
	WSAPOLLFD f2 = {c2, POLLRDNORM, 0};
	rc = WSAPoll(&f2, 1, 1000);
	INFO("WSAPoll after peer close: rc=%d revents=0x%x (POLLHUP=0x%x POLLRDNORM=0x%x)", rc, f2.revents, POLLHUP, POLLRDNORM);

	/* non-socket in WSAPoll */
	HANDLE ev = CreateEventW(NULL, FALSE, FALSE, NULL);
	WSAPOLLFD f3 = {(SOCKET)ev, POLLRDNORM, 0};
	rc = WSAPoll(&f3, 1, 0);
	INFO("WSAPoll on a non-socket handle: rc=%d err=%d revents=0x%x (Windows: POLLNVAL)", rc, rc < 0 ? WSAGetLastError() : 0,
	     f3.revents);
	CloseHandle(ev);
	closesocket(c2);
	closesocket(a);
	closesocket(wa);
	closesocket(wb);
}

/* Two AFD polls on the same socket at once (two cio poll ops on one socket),
 * and libuv's zero-byte WSARecv as a readability signal. */
static void afd_two_polls_and_zero_read(HANDLE afd)
{
	HANDLE port = new_port();
	assoc(port, afd, 0xAFD);
	SOCKET a, b;
	tcp_pair(AF_INET, &a, &b);
	AFD_POLL_INFO i1, i2;
	OVERLAPPED o1, o2;
	NTSTATUS s1 = afd_poll(afd, b, AFD_POLL_RECEIVE, &i1, &o1);
	NTSTATUS s2 = afd_poll(afd, b, AFD_POLL_RECEIVE, &i2, &o2);
	send(a, "x", 1, 0);
	int n = 0, ok = 0;
	cqe_t e;
	while (gqcs(port, 500, &e)) {
		n++;
		if (e.ok && (e.ov == &o1 || e.ov == &o2))
			ok++;
	}
	CHECK(s1 == STATUS_PENDING && s2 == STATUS_PENDING && n == 2 && ok == 2,
	      "two non-exclusive AFD polls on one socket: both complete (st=0x%lx/0x%lx packets=%d ok=%d)", (unsigned long)s1,
	      (unsigned long)s2, n, ok);
	char c;
	recv(b, &c, 1, 0);

	assoc(port, (HANDLE)b, 0xB);
	WSABUF zb = {0, NULL};
	DWORD nb = 0, fl = 0;
	OVERLAPPED zo = {0};
	int rc = WSARecv(b, &zb, 1, &nb, &fl, &zo, NULL);
	int err = rc ? WSAGetLastError() : 0;
	int got = gqcs(port, 200, &e);
	send(a, "yz", 2, 0);
	int got2 = gqcs(port, 2000, &e);
	u_long avail = 0;
	ioctlsocket(b, FIONREAD, &avail);
	CHECK(rc == SOCKET_ERROR && err == WSA_IO_PENDING && !got && got2 && e.ok && e.bytes == 0 && avail == 2,
	      "zero-byte WSARecv pends until data, completes with 0 bytes, data stays queued (ret=%d err=%d early=%d got=%d "
	      "bytes=%lu FIONREAD=%lu)",
	      rc, err, got, got2, e.bytes, avail);
	closesocket(a);
	closesocket(b);
	CloseHandle(port);
}

int main(void)
{
	wsa_init();
	const wchar_t *names[] = {L"\\Device\\Afd\\cio", L"\\Device\\Afd"};
	for (int i = 0; i < 2; i++) {
		NTSTATUS st;
		HANDLE afd = open_afd(names[i], &st);
		char via[64];
		snprintf(via, sizeof via, "afd %ls", names[i]);
		CHECK(afd != NULL, "NtCreateFile(%ls): NTSTATUS=0x%lx", names[i], (unsigned long)st);
		if (afd) {
			HANDLE port = new_port();
			afd_tests(port, afd, via, 0);
			CloseHandle(afd);
			CloseHandle(port);
		}
	}
	{
		HANDLE port = new_port();
		afd_tests(port, NULL, "IOCTL_AFD_POLL on the socket handle itself", 1);
		CloseHandle(port);
	}
	{
		NTSTATUS st;
		HANDLE afd = open_afd(L"\\Device\\Afd\\cio2", &st);
		if (afd) {
			afd_two_polls_and_zero_read(afd);
			CloseHandle(afd);
		}
	}
	wsapoll_tests();
	return probe_done("p06_afdpoll");
}
