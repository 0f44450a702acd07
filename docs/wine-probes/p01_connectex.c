/* 1. ConnectEx after an implicit bind, SO_UPDATE_CONNECT_CONTEXT, then
 * WSASend/WSARecv through a completion port; ConnectEx to a closed port;
 * ConnectEx without bind. Both families. */
#include "probe.h"

static void run(int family)
{
	const char *fam = family == AF_INET ? "v4" : "v6";
	HANDLE port = new_port();
	unsigned short lport;
	SOCKET l = tcp_listener(family, &lport);
	SOCKET c = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
	LPFN_CONNECTEX connectex = (LPFN_CONNECTEX)ext_fn(c, (GUID)WSAID_CONNECTEX);
	CHECK(connectex != NULL, "%s: ConnectEx pointer via SIO_GET_EXTENSION_FUNCTION_POINTER", fam);
	if (!connectex)
		return;
	CHECK(assoc(port, (HANDLE)c, 1), "%s: associate client socket with port", fam);

	struct sockaddr_storage to;
	int tolen = loop_addr(family, htons(lport), &to);

	/* Without bind first: Windows documents WSAEINVAL. */
	{
		SOCKET nb = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
		OVERLAPPED ov = {0};
		assoc(port, (HANDLE)nb, 9);
		BOOL r = connectex(nb, (struct sockaddr *)&to, tolen, NULL, 0, NULL, &ov);
		int err = r ? 0 : WSAGetLastError();
		CHECK(!r && err == WSAEINVAL, "%s: ConnectEx without bind fails at submit: ret=%d err=%d (want WSAEINVAL 10022)",
		      fam, r, err);
		if (!r && err == WSA_IO_PENDING) {
			cqe_t e;
			gqcs(port, 2000, &e);
			INFO("%s:   unbound ConnectEx completed ok=%d err=%lu", fam, e.ok, e.err);
		}
		closesocket(nb);
		INFO("%s:   packets after failed-at-submit ConnectEx: %d", fam, drain(port, 100));
	}

	struct sockaddr_storage any;
	int anylen = loop_addr(family, 0, &any);
	/* bind to the wildcard of the family, port 0 */
	if (family == AF_INET)
		((struct sockaddr_in *)&any)->sin_addr.s_addr = htonl(INADDR_ANY);
	else
		((struct sockaddr_in6 *)&any)->sin6_addr = in6addr_any;
	CHECK(bind(c, (struct sockaddr *)&any, anylen) == 0, "%s: bind(port 0) before ConnectEx", fam);

	OVERLAPPED ov = {0};
	char hello[] = "hello";
	DWORD sent = 0;
	BOOL r = connectex(c, (struct sockaddr *)&to, tolen, hello, 5, &sent, &ov);
	int err = r ? 0 : WSAGetLastError();
	INFO("%s: ConnectEx(with 5 bytes of data) returned %d err=%d", fam, r, err);
	cqe_t e;
	int got = gqcs(port, 3000, &e);
	CHECK(got && e.ok && e.ov == &ov && e.key == 1 && e.bytes == 5,
	      "%s: ConnectEx completion: got=%d ok=%d err=%lu bytes=%lu key=%llu (want ok, 5 bytes sent with connect)",
	      fam, got, e.ok, e.err, e.bytes, (unsigned long long)e.key);
	CHECK(drain(port, 100) == 0, "%s: exactly one packet for ConnectEx", fam);

	/* Before SO_UPDATE_CONNECT_CONTEXT, getpeername is documented to fail. */
	struct sockaddr_storage pa;
	int palen = sizeof pa;
	int gp = getpeername(c, (struct sockaddr *)&pa, &palen);
	INFO("%s: getpeername before SO_UPDATE_CONNECT_CONTEXT: ret=%d err=%d (Windows: fails WSAENOTCONN)",
	     fam, gp, gp ? WSAGetLastError() : 0);
	int sr = setsockopt(c, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0);
	CHECK(sr == 0, "%s: setsockopt SO_UPDATE_CONNECT_CONTEXT ret=%d err=%d", fam, sr, sr ? WSAGetLastError() : 0);
	palen = sizeof pa;
	gp = getpeername(c, (struct sockaddr *)&pa, &palen);
	char b1[96];
	CHECK(gp == 0 && sa_port((struct sockaddr *)&pa) == lport,
	      "%s: getpeername after update: ret=%d %s", fam, gp, gp ? "-" : sa_str((struct sockaddr *)&pa, b1, sizeof b1));

	SOCKET s = accept(l, NULL, NULL);
	char buf[64] = {0};
	int n = recv(s, buf, sizeof buf, 0);
	CHECK(n == 5 && memcmp(buf, "hello", 5) == 0, "%s: peer received the ConnectEx data: n=%d", fam, n);

	/* WSASend through the port */
	WSABUF wb = {3, "abc"};
	DWORD nb = 0;
	OVERLAPPED ov2 = {0};
	int rr = WSASend(c, &wb, 1, &nb, 0, &ov2, NULL);
	INFO("%s: WSASend returned %d err=%d immediate bytes=%lu", fam, rr, rr ? WSAGetLastError() : 0, nb);
	got = gqcs(port, 3000, &e);
	CHECK(got && e.ok && e.ov == &ov2 && e.bytes == 3, "%s: WSASend completion ok=%d bytes=%lu (packet even when immediate)",
	      fam, e.ok, e.bytes);
	n = recv(s, buf, sizeof buf, 0);
	CHECK(n == 3 && memcmp(buf, "abc", 3) == 0, "%s: peer got the 3 bytes n=%d", fam, n);

	/* WSARecv pending, then the peer sends */
	char rb[16] = {0};
	WSABUF rwb = {sizeof rb, rb};
	DWORD flags = 0;
	OVERLAPPED ov3 = {0};
	rr = WSARecv(c, &rwb, 1, &nb, &flags, &ov3, NULL);
	int rerr = rr ? WSAGetLastError() : 0;
	CHECK(rr == SOCKET_ERROR && rerr == WSA_IO_PENDING, "%s: WSARecv with nothing to read is pending: ret=%d err=%d", fam, rr, rerr);
	send(s, "xyz", 3, 0);
	got = gqcs(port, 3000, &e);
	CHECK(got && e.ok && e.ov == &ov3 && e.bytes == 3 && memcmp(rb, "xyz", 3) == 0,
	      "%s: WSARecv completion ok=%d bytes=%lu data=%.3s", fam, e.ok, e.bytes, rb);
	int sh = shutdown(c, SD_RECEIVE);
	INFO("%s: shutdown(SD_RECEIVE) after update: ret=%d (works only once the context is updated on Windows)", fam, sh);
	rr = WSARecv(c, &rwb, 1, &nb, &flags, &ov3, NULL);
	INFO("%s: WSARecv after shutdown(SD_RECEIVE): ret=%d err=%d", fam, rr, rr ? WSAGetLastError() : 0);
	INFO("%s:   packets after it: %d", fam, drain(port, 100));
	closesocket(s);
	closesocket(c);

	/* ConnectEx to a closed port */
	unsigned short dead;
	SOCKET tmp = tcp_listener(family, &dead);
	closesocket(tmp);
	SOCKET c2 = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
	assoc(port, (HANDLE)c2, 2);
	bind(c2, (struct sockaddr *)&any, anylen);
	tolen = loop_addr(family, htons(dead), &to);
	OVERLAPPED ov4 = {0};
	r = connectex(c2, (struct sockaddr *)&to, tolen, NULL, 0, NULL, &ov4);
	err = r ? 0 : WSAGetLastError();
	INFO("%s: ConnectEx to closed port %u returned %d err=%d", fam, dead, r, err);
	got = gqcs(port, 5000, &e);
	DWORD xfer = 0, fl = 0;
	BOOL gr = WSAGetOverlappedResult(c2, &ov4, &xfer, FALSE, &fl);
	int werr = gr ? 0 : WSAGetLastError();
	CHECK(got && !e.ok && e.ov == &ov4,
	      "%s: refused connect completion: GQCS ok=%d GetLastError=%lu (Windows: 1225 ERROR_CONNECTION_REFUSED); "
	      "ov.Internal=0x%lx; WSAGetOverlappedResult err=%d (Windows: 10061 WSAECONNREFUSED)",
	      fam, e.ok, e.err, (unsigned long)ov4.Internal, werr);
	CHECK(drain(port, 100) == 0, "%s: exactly one packet for refused ConnectEx", fam);
	closesocket(c2);
	closesocket(l);
	CloseHandle(port);
}

int main(void)
{
	wsa_init();
	run(AF_INET);
	run(AF_INET6);
	return probe_done("p01_connectex");
}
