/* 7. SetFileCompletionNotificationModes(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS):
 * is a packet queued when an overlapped op completes at once? Sockets (send,
 * recv with data waiting), a pending op (must still queue), an immediate
 * failure, and a file. */
#include "probe.h"

static void immediate_ops(HANDLE port, SOCKET a, SOCKET b, const char *mode)
{
	/* WSASend on an idle connection completes at once */
	WSABUF wb = {3, "abc"};
	DWORD n = 0;
	OVERLAPPED ov = {0};
	int rc = WSASend(b, &wb, 1, &n, 0, &ov, NULL);
	int pk = drain(port, 200);
	INFO("%s: immediate WSASend: ret=%d bytes=%lu -> packets queued=%d", mode, rc, n, pk);
	int skip_send = (rc == 0 && pk == 0);
	char buf[8];
	recv(a, buf, sizeof buf, 0);

	/* WSARecv with data waiting completes at once */
	send(a, "xy", 2, 0);
	Sleep(50);
	char rb[8];
	WSABUF rwb = {sizeof rb, rb};
	DWORD fl = 0;
	memset(&ov, 0, sizeof ov);
	rc = WSARecv(b, &rwb, 1, &n, &fl, &ov, NULL);
	pk = drain(port, 200);
	INFO("%s: immediate WSARecv: ret=%d bytes=%lu -> packets queued=%d", mode, rc, n, pk);
	int skip_recv = (rc == 0 && pk == 0);

	/* pending WSARecv must still produce its packet */
	memset(&ov, 0, sizeof ov);
	rc = WSARecv(b, &rwb, 1, &n, &fl, &ov, NULL);
	int err = rc ? WSAGetLastError() : 0;
	send(a, "p", 1, 0);
	cqe_t e;
	int got = gqcs(port, 2000, &e);
	CHECK(rc == SOCKET_ERROR && err == WSA_IO_PENDING && got && e.ok && e.bytes == 1,
	      "%s: a pending WSARecv still queues its packet (ret=%d err=%d got=%d)", mode, rc, err, got);
	if (strcmp(mode, "skip") == 0) {
		CHECK(skip_send, "skip mode honoured for an immediate WSASend (no packet)");
		CHECK(skip_recv, "skip mode honoured for an immediate WSARecv (no packet)");
	} else {
		CHECK(!skip_send && !skip_recv, "default mode: immediate successes still queue a packet");
	}
}

int main(void)
{
	wsa_init();
	HANDLE port = new_port();
	SOCKET a, b;
	tcp_pair(AF_INET, &a, &b);
	assoc(port, (HANDLE)b, 1);
	immediate_ops(port, a, b, "default");

	SOCKET a2, b2;
	tcp_pair(AF_INET, &a2, &b2);
	assoc(port, (HANDLE)b2, 2);
	BOOL s = SetFileCompletionNotificationModes((HANDLE)b2, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE);
	CHECK(s, "SetFileCompletionNotificationModes(socket) ret=%d err=%lu", s, s ? 0 : GetLastError());
	immediate_ops(port, a2, b2, "skip");

	/* immediate failure with skip mode: WSARecv after shutdown(SD_RECEIVE) */
	shutdown(b2, SD_RECEIVE);
	char rb[4];
	WSABUF rwb = {sizeof rb, rb};
	DWORD n = 0, fl = 0;
	OVERLAPPED ov = {0};
	int rc = WSARecv(b2, &rwb, 1, &n, &fl, &ov, NULL);
	int ferr = rc ? WSAGetLastError() : 0;
	int fpk = drain(port, 200);
	INFO("skip: immediate failure WSARecv ret=%d err=%d -> packets=%d", rc, ferr, fpk);

	/* UDP truncation (a warning status) in skip mode: is a packet queued? */
	{
		SOCKET u1 = WSASocketW(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED);
		SOCKET u2 = WSASocketW(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED);
		struct sockaddr_storage ss;
		int len = loop_addr(AF_INET, 0, &ss);
		bind(u1, (struct sockaddr *)&ss, len);
		len = sizeof ss;
		getsockname(u1, (struct sockaddr *)&ss, &len);
		assoc(port, (HANDLE)u1, 5);
		SetFileCompletionNotificationModes((HANDLE)u1, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS);
		sendto(u2, "0123456789", 10, 0, (struct sockaddr *)&ss, len);
		Sleep(50);
		char small[4];
		WSABUF sb = {sizeof small, small};
		memset(&ov, 0, sizeof ov);
		fl = 0;
		rc = WSARecv(u1, &sb, 1, &n, &fl, &ov, NULL);
		int err = rc ? WSAGetLastError() : 0;
		int pk = drain(port, 200);
		DWORD xf = 0, xfl = 0;
		BOOL gr = WSAGetOverlappedResult(u1, &ov, &xf, FALSE, &xfl);
		INFO("skip: UDP truncated recv ret=%d err=%d lpNumberOfBytesRecvd=%lu -> packets=%d (Internal=0x%lx InternalHigh=%lu; "
		     "WSAGetOverlappedResult ret=%d bytes=%lu err=%d)",
		     rc, err, n, pk, (unsigned long)ov.Internal, (unsigned long)ov.InternalHigh, gr, xf, gr ? 0 : WSAGetLastError());
		closesocket(u1);
		closesocket(u2);
	}

	/* file handle */
	wchar_t path[MAX_PATH], dir[MAX_PATH];
	GetTempPathW(MAX_PATH, dir);
	GetTempFileNameW(dir, L"skp", 0, path);
	HANDLE f = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
			       FILE_FLAG_OVERLAPPED | FILE_FLAG_DELETE_ON_CLOSE, NULL);
	assoc(port, f, 3);
	s = SetFileCompletionNotificationModes(f, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS);
	CHECK(s, "SetFileCompletionNotificationModes(file) ret=%d", s);
	memset(&ov, 0, sizeof ov);
	DWORD w = 0;
	BOOL r = WriteFile(f, "hello", 5, &w, &ov);
	int err = r ? 0 : (int)GetLastError();
	int pk = drain(port, 200);
	INFO("skip: file WriteFile ret=%d err=%d written=%lu -> packets=%d", r, err, w, pk);
	if (!r && err == ERROR_IO_PENDING)
		INFO("skip: (file write went pending; skip mode not observable on this path)");
	else
		CHECK(r && pk == 0, "skip mode honoured for an immediate file write");
	memset(&ov, 0, sizeof ov);
	char fb[8];
	r = ReadFile(f, fb, 5, &w, &ov);
	err = r ? 0 : (int)GetLastError();
	pk = drain(port, 200);
	INFO("skip: file ReadFile ret=%d err=%d read=%lu -> packets=%d", r, err, w, pk);
	/* EOF read in skip mode */
	memset(&ov, 0, sizeof ov);
	ov.Offset = 100;
	r = ReadFile(f, fb, 5, &w, &ov);
	err = r ? 0 : (int)GetLastError();
	pk = drain(port, 200);
	INFO("skip: file ReadFile at EOF ret=%d err=%d -> packets=%d", r, err, pk);
	CloseHandle(f);
	return probe_done("p07_skipport");
}
