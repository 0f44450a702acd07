/* 10. shutdown(SD_SEND) then the peer's WSARecv completing with 0 bytes;
 * closesocket with a pending WSARecv (status of its completion); the peer
 * resetting (linger 0) under a pending WSARecv; WSASend after the peer
 * closed; shutdown on an unconnected socket. */
#include "probe.h"

static void recv_pending(SOCKET s, OVERLAPPED *ov, char *buf, ULONG len, const char *what)
{
	WSABUF wb = {len, buf};
	DWORD n = 0, fl = 0;
	memset(ov, 0, sizeof *ov);
	int rc = WSARecv(s, &wb, 1, &n, &fl, ov, NULL);
	int err = rc ? WSAGetLastError() : 0;
	if (!(rc == SOCKET_ERROR && err == WSA_IO_PENDING))
		INFO("%s: WSARecv did not pend: ret=%d err=%d n=%lu", what, rc, err, n);
}

int main(void)
{
	wsa_init();
	HANDLE port = new_port();
	char buf[16];
	OVERLAPPED ov;
	cqe_t e;

	/* shutdown(SD_SEND) -> peer's pending WSARecv gets 0 bytes */
	SOCKET a, b;
	tcp_pair(AF_INET, &a, &b);
	assoc(port, (HANDLE)b, 1);
	recv_pending(b, &ov, buf, sizeof buf, "shutdown");
	int sr = shutdown(a, SD_SEND);
	int got = gqcs(port, 3000, &e);
	CHECK(sr == 0 && got && e.ok && e.bytes == 0 && e.ov == &ov,
	      "peer shutdown(SD_SEND): pending WSARecv completes ok with 0 bytes (got=%d ok=%d err=%lu bytes=%lu)", got, e.ok, e.err,
	      e.bytes);
	CHECK(drain(port, 100) == 0, "shutdown: exactly one packet");
	/* again: EOF is sticky */
	WSABUF wb = {sizeof buf, buf};
	DWORD n = 99, fl = 0;
	memset(&ov, 0, sizeof ov);
	int rc = WSARecv(b, &wb, 1, &n, &fl, &ov, NULL);
	got = gqcs(port, 1000, &e);
	CHECK(got && e.ok && e.bytes == 0, "second WSARecv after EOF: ret=%d immediate n=%lu; packet ok=%d bytes=%lu", rc, n, e.ok, e.bytes);
	/* the half-closed side can still receive */
	send(b, "back", 4, 0);
	int r = recv(a, buf, sizeof buf, 0);
	CHECK(r == 4, "after shutdown(SD_SEND) the shutting side still receives: %d bytes", r);
	/* send after own SD_SEND */
	WSABUF sb = {1, "x"};
	memset(&ov, 0, sizeof ov);
	assoc(port, (HANDLE)a, 2);
	rc = WSASend(a, &sb, 1, &n, 0, &ov, NULL);
	int serr = rc ? WSAGetLastError() : 0;
	int pk = drain(port, 200);
	CHECK(rc == SOCKET_ERROR && serr == WSAESHUTDOWN, "WSASend after own shutdown(SD_SEND): ret=%d err=%d (want 10058) packets=%d", rc,
	      serr, pk);
	closesocket(a);
	closesocket(b);

	/* closesocket with a pending WSARecv */
	tcp_pair(AF_INET, &a, &b);
	assoc(port, (HANDLE)b, 3);
	recv_pending(b, &ov, buf, sizeof buf, "close");
	closesocket(b);
	got = gqcs(port, 3000, &e);
	CHECK(got && !e.ok && e.ov == &ov, "closesocket with a pending WSARecv: got=%d ok=%d GetLastError=%lu Internal=0x%lx", got, e.ok,
	      e.err, (unsigned long)ov.Internal);
	INFO("close: status is %lu (995=ERROR_OPERATION_ABORTED, 64=ERROR_NETNAME_DELETED, 1236=ERROR_CONNECTION_ABORTED)", e.err);
	{
		DWORD xf0 = 0, xfl0 = 0;
		BOOL g0 = WSAGetOverlappedResult(b, &ov, &xf0, FALSE, &xfl0);
		int w0 = g0 ? 0 : WSAGetLastError();
		INFO("close: WSAGetOverlappedResult on the closed socket: ret=%d wsaerr=%d; RtlNtStatusToDosError(Internal)=%lu", g0, w0,
		     RtlNtStatusToDosError((LONG)ov.Internal));
	}
	CHECK(drain(port, 200) == 0, "closesocket: exactly one packet");
	/* what the peer sees */
	r = recv(a, buf, sizeof buf, 0);
	INFO("close: peer recv after the close: %d err=%d", r, r < 0 ? WSAGetLastError() : 0);
	closesocket(a);

	/* CancelIoEx first, then closesocket (what libuv does): status 995 */
	tcp_pair(AF_INET, &a, &b);
	assoc(port, (HANDLE)b, 7);
	recv_pending(b, &ov, buf, sizeof buf, "cancel+close");
	CancelIoEx((HANDLE)b, &ov);
	closesocket(b);
	got = gqcs(port, 3000, &e);
	CHECK(got && !e.ok && e.err == ERROR_OPERATION_ABORTED, "CancelIoEx then closesocket: status %lu (want 995)", e.err);
	CHECK(drain(port, 200) == 0, "CancelIoEx then closesocket: exactly one packet");
	closesocket(a);

	/* closesocket with both a pending WSARecv and a pending WSASend? (send never pends on loopback
	 * with small data; use two recvs) */
	tcp_pair(AF_INET, &a, &b);
	assoc(port, (HANDLE)b, 4);
	OVERLAPPED ov2;
	char buf2[4];
	recv_pending(b, &ov, buf, sizeof buf, "close2");
	recv_pending(b, &ov2, buf2, sizeof buf2, "close2");
	closesocket(b);
	int cnt = 0, ab = 0;
	while (gqcs(port, 300, &e)) {
		cnt++;
		if (!e.ok && e.err == ERROR_OPERATION_ABORTED)
			ab++;
	}
	INFO("closesocket with two pending WSARecvs: %d packets, %d with 995", cnt, ab);
	CHECK(cnt == 2, "closesocket: one packet per pending op (%d)", cnt);
	closesocket(a);

	/* peer resets (SO_LINGER 0) under a pending WSARecv */
	tcp_pair(AF_INET, &a, &b);
	assoc(port, (HANDLE)b, 5);
	recv_pending(b, &ov, buf, sizeof buf, "reset");
	struct linger lg = {1, 0};
	setsockopt(a, SOL_SOCKET, SO_LINGER, (char *)&lg, sizeof lg);
	closesocket(a);
	got = gqcs(port, 3000, &e);
	DWORD xf = 0, xfl = 0;
	BOOL gr = WSAGetOverlappedResult(b, &ov, &xf, FALSE, &xfl);
	int werr = gr ? 0 : WSAGetLastError();
	CHECK(got && !e.ok, "peer reset under pending WSARecv: ok=%d GetLastError=%lu Internal=0x%lx WSAGetOverlappedResult err=%d "
	      "(Windows: 64 ERROR_NETNAME_DELETED / 10054 WSAECONNRESET)", e.ok, e.err, (unsigned long)ov.Internal, werr);
	/* WSASend after reset */
	memset(&ov, 0, sizeof ov);
	rc = WSASend(b, &sb, 1, &n, 0, &ov, NULL);
	serr = rc ? WSAGetLastError() : 0;
	pk = drain(port, 200);
	INFO("WSASend after peer reset: ret=%d err=%d packets=%d", rc, serr, pk);
	closesocket(b);

	/* graceful peer close, then WSASend repeatedly (EPIPE analogue) */
	tcp_pair(AF_INET, &a, &b);
	assoc(port, (HANDLE)b, 6);
	closesocket(a);
	Sleep(50);
	for (int i = 0; i < 3; i++) {
		memset(&ov, 0, sizeof ov);
		rc = WSASend(b, &sb, 1, &n, 0, &ov, NULL);
		serr = rc ? WSAGetLastError() : 0;
		got = gqcs(port, 300, &e);
		INFO("WSASend #%d after peer closesocket: ret=%d err=%d; packet got=%d ok=%d err=%lu", i, rc, serr, got, e.ok, e.err);
		Sleep(50);
	}
	closesocket(b);

	/* shutdown on a socket that never connected */
	SOCKET u = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
	rc = shutdown(u, SD_SEND);
	CHECK(rc == SOCKET_ERROR && WSAGetLastError() == WSAENOTCONN, "shutdown on unconnected socket: ret=%d err=%d (want 10057)", rc,
	      rc ? WSAGetLastError() : 0);
	closesocket(u);
	return probe_done("p10_shutdown");
}
