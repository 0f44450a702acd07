/* 2. AcceptEx with GetAcceptExSockaddrs and SO_UPDATE_ACCEPT_CONTEXT;
 * getpeername/getsockname before and after the update; AcceptEx with a
 * receive buffer (completes only with the first data); accept socket of the
 * wrong family. Both families. */
#include "probe.h"

#define ADDRLEN (sizeof(struct sockaddr_storage) + 16)

static void run(int family)
{
	const char *fam = family == AF_INET ? "v4" : "v6";
	HANDLE port = new_port();
	unsigned short lport;
	SOCKET l = tcp_listener(family, &lport);
	CHECK(assoc(port, (HANDLE)l, 7), "%s: associate listener", fam);
	LPFN_ACCEPTEX acceptex = (LPFN_ACCEPTEX)ext_fn(l, (GUID)WSAID_ACCEPTEX);
	LPFN_GETACCEPTEXSOCKADDRS getaddrs = (LPFN_GETACCEPTEXSOCKADDRS)ext_fn(l, (GUID)WSAID_GETACCEPTEXSOCKADDRS);
	CHECK(acceptex && getaddrs, "%s: AcceptEx/GetAcceptExSockaddrs pointers", fam);

	SOCKET as = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
	char buf[2 * ADDRLEN + 64];
	DWORD nb = 0;
	OVERLAPPED ov = {0};
	BOOL r = acceptex(l, as, buf, 0, ADDRLEN, ADDRLEN, &nb, &ov);
	int err = r ? 0 : WSAGetLastError();
	CHECK(!r && err == ERROR_IO_PENDING, "%s: AcceptEx(no data) pending: ret=%d err=%d", fam, r, err);

	SOCKET c = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
	struct sockaddr_storage to;
	int tolen = loop_addr(family, htons(lport), &to);
	CHECK(connect(c, (struct sockaddr *)&to, tolen) == 0, "%s: client connect", fam);
	struct sockaddr_storage cname;
	int cnlen = sizeof cname;
	getsockname(c, (struct sockaddr *)&cname, &cnlen);

	cqe_t e;
	int got = gqcs(port, 3000, &e);
	CHECK(got && e.ok && e.ov == &ov && e.key == 7 && e.bytes == 0,
	      "%s: AcceptEx completion on the listener's key: ok=%d err=%lu bytes=%lu key=%llu", fam, e.ok, e.err, e.bytes,
	      (unsigned long long)e.key);
	CHECK(drain(port, 100) == 0, "%s: exactly one packet for AcceptEx", fam);

	struct sockaddr_storage pa;
	int palen = sizeof pa;
	int gp = getpeername(as, (struct sockaddr *)&pa, &palen);
	INFO("%s: getpeername on accepted socket BEFORE SO_UPDATE_ACCEPT_CONTEXT: ret=%d err=%d (Windows: fails WSAENOTCONN)",
	     fam, gp, gp ? WSAGetLastError() : 0);

	struct sockaddr *la = NULL, *ra = NULL;
	int lalen = 0, ralen = 0;
	getaddrs(buf, 0, ADDRLEN, ADDRLEN, &la, &lalen, &ra, &ralen);
	char b1[96], b2[96], b3[96];
	CHECK(ra && ra->sa_family == family && sa_port(ra) == sa_port((struct sockaddr *)&cname),
	      "%s: GetAcceptExSockaddrs remote = client's getsockname: remote{%s} len=%d client{%s}", fam,
	      ra ? sa_str(ra, b1, sizeof b1) : "null", ralen, sa_str((struct sockaddr *)&cname, b2, sizeof b2));
	CHECK(la && sa_port(la) == lport, "%s: GetAcceptExSockaddrs local {%s} len=%d", fam,
	      la ? sa_str(la, b3, sizeof b3) : "null", lalen);

	int sr = setsockopt(as, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&l, sizeof l);
	CHECK(sr == 0, "%s: SO_UPDATE_ACCEPT_CONTEXT ret=%d err=%d", fam, sr, sr ? WSAGetLastError() : 0);
	palen = sizeof pa;
	gp = getpeername(as, (struct sockaddr *)&pa, &palen);
	CHECK(gp == 0 && sa_port((struct sockaddr *)&pa) == sa_port((struct sockaddr *)&cname),
	      "%s: getpeername after update: ret=%d {%s}", fam, gp, gp ? "-" : sa_str((struct sockaddr *)&pa, b1, sizeof b1));
	palen = sizeof pa;
	gp = getsockname(as, (struct sockaddr *)&pa, &palen);
	CHECK(gp == 0 && sa_port((struct sockaddr *)&pa) == lport, "%s: getsockname after update: {%s}", fam,
	      sa_str((struct sockaddr *)&pa, b1, sizeof b1));
	/* The accepted socket works for IO. */
	send(c, "ping", 4, 0);
	char rb[8] = {0};
	int n = recv(as, rb, sizeof rb, 0);
	CHECK(n == 4, "%s: recv on accepted socket n=%d", fam, n);
	closesocket(as);
	closesocket(c);

	/* AcceptEx with a receive buffer: completes with the first data. */
	as = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
	memset(&ov, 0, sizeof ov);
	r = acceptex(l, as, buf, 32, ADDRLEN, ADDRLEN, &nb, &ov);
	c = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
	connect(c, (struct sockaddr *)&to, tolen);
	got = gqcs(port, 300, &e);
	CHECK(!got, "%s: AcceptEx(32-byte buffer) not complete after connect alone (got=%d)", fam, got);
	send(c, "first", 5, 0);
	got = gqcs(port, 3000, &e);
	CHECK(got && e.ok && e.bytes == 5 && memcmp(buf, "first", 5) == 0,
	      "%s: AcceptEx(32-byte buffer) completes with the first data: ok=%d bytes=%lu", fam, e.ok, e.bytes);
	getaddrs(buf, 32, ADDRLEN, ADDRLEN, &la, &lalen, &ra, &ralen);
	CHECK(ra && ra->sa_family == family, "%s: sockaddrs after data: remote {%s}", fam, ra ? sa_str(ra, b1, sizeof b1) : "-");
	closesocket(as);
	closesocket(c);

	/* Accept socket of the other family */
	SOCKET wrong = WSASocketW(family == AF_INET ? AF_INET6 : AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
	memset(&ov, 0, sizeof ov);
	r = acceptex(l, wrong, buf, 0, ADDRLEN, ADDRLEN, &nb, &ov);
	err = r ? 0 : WSAGetLastError();
	INFO("%s: AcceptEx with accept socket of the other family: ret=%d err=%d", fam, r, err);
	if (!r && err == ERROR_IO_PENDING) {
		c = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
		connect(c, (struct sockaddr *)&to, tolen);
		got = gqcs(port, 1000, &e);
		INFO("%s:   completion got=%d ok=%d err=%lu", fam, got, e.ok, e.err);
		closesocket(c);
	}
	closesocket(wrong);
	drain(port, 100);
	closesocket(l);
	CloseHandle(port);
}

int main(void)
{
	wsa_init();
	run(AF_INET);
	run(AF_INET6);
	return probe_done("p02_acceptex");
}
