/* 3. CancelIoEx on a pending WSARecv and a pending AcceptEx: one completion,
 * which status; cancel after completion (ERROR_NOT_FOUND, the success packet
 * still arrives once); cancel-all with NULL; GQCSEx view of a cancelled op. */
#include "probe.h"

static void check_one(HANDLE port, OVERLAPPED *ov, const char *what)
{
	cqe_t e;
	int got = gqcs(port, 3000, &e);
	CHECK(got && !e.ok && e.ov == ov && e.err == ERROR_OPERATION_ABORTED,
	      "%s: completion after CancelIoEx: got=%d ok=%d GetLastError=%lu bytes=%lu ov.Internal=0x%lx (want 995)", what,
	      got, e.ok, e.err, e.bytes, (unsigned long)ov->Internal);
	int extra = drain(port, 200);
	CHECK(extra == 0, "%s: exactly one completion (extra=%d)", what, extra);
}

int main(void)
{
	wsa_init();
	HANDLE port = new_port();
	SOCKET a, b;
	tcp_pair(AF_INET, &a, &b);
	assoc(port, (HANDLE)b, 3);

	/* pending WSARecv */
	char rb[16];
	WSABUF wb = {sizeof rb, rb};
	DWORD nb = 0, flags = 0;
	OVERLAPPED ov = {0};
	int rr = WSARecv(b, &wb, 1, &nb, &flags, &ov, NULL);
	CHECK(rr == SOCKET_ERROR && WSAGetLastError() == WSA_IO_PENDING, "WSARecv pending");
	BOOL c = CancelIoEx((HANDLE)b, &ov);
	CHECK(c, "CancelIoEx(WSARecv) returned %d err=%lu", c, c ? 0 : GetLastError());
	check_one(port, &ov, "WSARecv");
	DWORD xfer = 0, fl = 0;
	BOOL gr = WSAGetOverlappedResult(b, &ov, &xfer, FALSE, &fl);
	INFO("WSARecv: WSAGetOverlappedResult after cancel: ret=%d WSAGetLastError=%d (Windows: 995 WSA_OPERATION_ABORTED)", gr,
	     gr ? 0 : WSAGetLastError());
	c = CancelIoEx((HANDLE)b, &ov);
	CHECK(!c && GetLastError() == ERROR_NOT_FOUND, "CancelIoEx on an already-completed op: ret=%d err=%lu (want 1168 ERROR_NOT_FOUND)",
	      c, GetLastError());
	/* the socket is still usable after a cancelled recv */
	memset(&ov, 0, sizeof ov);
	rr = WSARecv(b, &wb, 1, &nb, &flags, &ov, NULL);
	send(a, "ok", 2, 0);
	cqe_t e;
	int got = gqcs(port, 3000, &e);
	CHECK(got && e.ok && e.bytes == 2, "socket still usable after cancelled WSARecv: ok=%d bytes=%lu", e.ok, e.bytes);

	/* Race: op completed (packet queued, not yet dequeued), then cancelled. */
	memset(&ov, 0, sizeof ov);
	send(a, "zz", 2, 0);
	Sleep(50);
	rr = WSARecv(b, &wb, 1, &nb, &flags, &ov, NULL);
	INFO("race: WSARecv with data waiting returned %d err=%d bytes=%lu", rr, rr ? WSAGetLastError() : 0, nb);
	c = CancelIoEx((HANDLE)b, &ov);
	INFO("race: CancelIoEx after completion but before dequeue: ret=%d err=%lu", c, c ? 0 : GetLastError());
	got = gqcs(port, 3000, &e);
	CHECK(got && e.ok && e.bytes == 2, "race: the success packet is delivered: ok=%d bytes=%lu", e.ok, e.bytes);
	CHECK(drain(port, 200) == 0, "race: exactly one packet");

	/* Cancel all with NULL: two pending ops (recv+send would not pend; use two recvs) */
	OVERLAPPED o1 = {0}, o2 = {0};
	char r2[4];
	WSABUF wb2 = {sizeof r2, r2};
	DWORD f2 = 0;
	WSARecv(b, &wb, 1, &nb, &flags, &o1, NULL);
	rr = WSARecv(b, &wb2, 1, &nb, &f2, &o2, NULL);
	INFO("two pending WSARecvs on one socket: second ret=%d err=%d", rr, rr ? WSAGetLastError() : 0);
	c = CancelIoEx((HANDLE)b, NULL);
	CHECK(c, "CancelIoEx(NULL) cancels all: ret=%d", c);
	int n = 0, aborted = 0;
	while (gqcs(port, 300, &e)) {
		n++;
		if (!e.ok && e.err == ERROR_OPERATION_ABORTED)
			aborted++;
	}
	CHECK(n == 2 && aborted == 2, "CancelIoEx(NULL): %d packets, %d with 995", n, aborted);

	/* GQCSEx: a cancelled op is "removed" successfully; status is in Internal */
	memset(&ov, 0, sizeof ov);
	WSARecv(b, &wb, 1, &nb, &flags, &ov, NULL);
	CancelIoEx((HANDLE)b, &ov);
	OVERLAPPED_ENTRY ent[4];
	ULONG removed = 0;
	BOOL x = GetQueuedCompletionStatusEx(port, ent, 4, &removed, 3000, FALSE);
	CHECK(x && removed == 1 && ent[0].lpOverlapped == &ov &&
		      (DWORD)ent[0].lpOverlapped->Internal == 0xC0000120 /* STATUS_CANCELLED */,
	      "GQCSEx on cancelled op: ret=%d removed=%lu Internal=0x%lx (want STATUS_CANCELLED 0xc0000120; "
	      "RtlNtStatusToDosError -> %lu)",
	      x, removed, (unsigned long)ov.Internal, RtlNtStatusToDosError((NTSTATUS)ov.Internal));

	/* pending AcceptEx */
	unsigned short lp;
	SOCKET l = tcp_listener(AF_INET, &lp);
	assoc(port, (HANDLE)l, 4);
	LPFN_ACCEPTEX acceptex = (LPFN_ACCEPTEX)ext_fn(l, (GUID)WSAID_ACCEPTEX);
	SOCKET as = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
	char abuf[128];
	memset(&ov, 0, sizeof ov);
	BOOL r = acceptex(l, as, abuf, 0, 44, 44, &nb, &ov);
	CHECK(!r && WSAGetLastError() == ERROR_IO_PENDING, "AcceptEx pending");
	c = CancelIoEx((HANDLE)l, &ov);
	CHECK(c, "CancelIoEx(AcceptEx) returned %d err=%lu", c, c ? 0 : GetLastError());
	check_one(port, &ov, "AcceptEx");
	/* the listener still accepts after that; the same accept socket can be reused? */
	memset(&ov, 0, sizeof ov);
	r = acceptex(l, as, abuf, 0, 44, 44, &nb, &ov);
	int aerr = r ? 0 : WSAGetLastError();
	INFO("AcceptEx again with the same accept socket after a cancel: ret=%d err=%d", r, aerr);
	if (aerr != ERROR_IO_PENDING) {
		closesocket(as);
		as = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
		memset(&ov, 0, sizeof ov);
		acceptex(l, as, abuf, 0, 44, 44, &nb, &ov);
	}
	SOCKET cl = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_storage to;
	int tolen = loop_addr(AF_INET, htons(lp), &to);
	connect(cl, (struct sockaddr *)&to, tolen);
	got = gqcs(port, 3000, &e);
	CHECK(got && e.ok, "listener accepts after a cancelled AcceptEx: ok=%d err=%lu", e.ok, e.err);

	/* Closing the listener with a pending AcceptEx */
	SOCKET as2 = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
	memset(&ov, 0, sizeof ov);
	acceptex(l, as2, abuf, 0, 44, 44, &nb, &ov);
	closesocket(l);
	got = gqcs(port, 3000, &e);
	CHECK(got && !e.ok, "closesocket(listener) with pending AcceptEx: got=%d ok=%d err=%lu Internal=0x%lx", got, e.ok, e.err,
	      (unsigned long)ov.Internal);
	CHECK(drain(port, 200) == 0, "closesocket(listener): exactly one packet");
	return probe_done("p03_cancel");
}
