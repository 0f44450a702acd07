/* 5. WSARecvMsg / WSASendMsg (extension pointers) on UDP through a port:
 * sender address, message boundaries, truncation, IP_PKTINFO control data;
 * and what happens on a TCP socket. Also WSARecvFrom as the fallback. */
#include "probe.h"

static SOCKET udp_sock(int family, unsigned short *port)
{
	SOCKET s = WSASocketW(family, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED);
	struct sockaddr_storage ss;
	int len = loop_addr(family, 0, &ss);
	bind(s, (struct sockaddr *)&ss, len);
	len = sizeof ss;
	getsockname(s, (struct sockaddr *)&ss, &len);
	*port = sa_port((struct sockaddr *)&ss);
	return s;
}

static void run(int family)
{
	const char *fam = family == AF_INET ? "v4" : "v6";
	HANDLE port = new_port();
	unsigned short pr, ps;
	SOCKET r = udp_sock(family, &pr), s = udp_sock(family, &ps);
	assoc(port, (HANDLE)r, 1);
	assoc(port, (HANDLE)s, 2);
	LPFN_WSARECVMSG recvmsg = (LPFN_WSARECVMSG)ext_fn(r, (GUID)WSAID_WSARECVMSG);
	LPFN_WSASENDMSG sendmsg = (LPFN_WSASENDMSG)ext_fn(s, (GUID)WSAID_WSASENDMSG);
	CHECK(recvmsg && sendmsg, "%s: WSARecvMsg=%p WSASendMsg=%p via SIO_GET_EXTENSION_FUNCTION_POINTER", fam, (void *)recvmsg,
	      (void *)sendmsg);
	if (!recvmsg || !sendmsg)
		return;
	DWORD on = 1;
	int so = family == AF_INET ? setsockopt(r, IPPROTO_IP, IP_PKTINFO, (char *)&on, sizeof on)
				   : setsockopt(r, IPPROTO_IPV6, IPV6_PKTINFO, (char *)&on, sizeof on);
	INFO("%s: enable PKTINFO ret=%d err=%d", fam, so, so ? WSAGetLastError() : 0);

	/* two datagrams of 7 and 3 bytes via WSASendMsg */
	struct sockaddr_storage to;
	int tolen = loop_addr(family, htons(pr), &to);
	const char *msgs[2] = {"seven!!", "abc"};
	for (int i = 0; i < 2; i++) {
		WSABUF b = {(ULONG)strlen(msgs[i]), (char *)msgs[i]};
		WSAMSG m = {0};
		m.name = (struct sockaddr *)&to;
		m.namelen = tolen;
		m.lpBuffers = &b;
		m.dwBufferCount = 1;
		DWORD sent = 0;
		OVERLAPPED ov = {0};
		int rc = sendmsg(s, &m, 0, &sent, &ov, NULL);
		INFO("%s: WSASendMsg #%d ret=%d err=%d sent=%lu", fam, i, rc, rc ? WSAGetLastError() : 0, sent);
		cqe_t e;
		int got = gqcs(port, 2000, &e);
		CHECK(got && e.ok && e.bytes == strlen(msgs[i]) && e.key == 2, "%s: WSASendMsg #%d completion ok=%d bytes=%lu", fam, i,
		      e.ok, e.bytes);
	}
	/* receive each: boundaries + sender address + control */
	for (int i = 0; i < 2; i++) {
		char data[64] = {0}, ctl[128];
		struct sockaddr_storage from;
		WSABUF b = {sizeof data, data};
		WSAMSG m = {0};
		m.name = (struct sockaddr *)&from;
		m.namelen = sizeof from;
		m.lpBuffers = &b;
		m.dwBufferCount = 1;
		m.Control.buf = ctl;
		m.Control.len = sizeof ctl;
		DWORD got_n = 0;
		OVERLAPPED ov = {0};
		int rc = recvmsg(r, &m, &got_n, &ov, NULL);
		INFO("%s: WSARecvMsg #%d ret=%d err=%d immediate=%lu", fam, i, rc, rc ? WSAGetLastError() : 0, got_n);
		cqe_t e;
		int got = gqcs(port, 2000, &e);
		char sb[96];
		CHECK(got && e.ok && e.bytes == strlen(msgs[i]) && memcmp(data, msgs[i], e.bytes) == 0,
		      "%s: datagram #%d boundary kept: bytes=%lu data=%s", fam, i, e.bytes, data);
		CHECK(m.namelen > 0 && sa_port((struct sockaddr *)&from) == ps,
		      "%s: sender address from WSARecvMsg: {%s} namelen=%d (filled by the time of the completion)", fam,
		      sa_str((struct sockaddr *)&from, sb, sizeof sb), m.namelen);
		int pk = 0;
		for (WSACMSGHDR *c = WSA_CMSG_FIRSTHDR(&m); c; c = WSA_CMSG_NXTHDR(&m, c))
			if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) ||
			    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO))
				pk = 1;
		INFO("%s:   control len=%lu pktinfo=%d dwFlags=0x%lx", fam, m.Control.len, pk, m.dwFlags);
	}

	/* truncation: 20 bytes into a 4-byte buffer */
	{
		sendto(s, "0123456789abcdefghij", 20, 0, (struct sockaddr *)&to, tolen);
		char data[4], ctl[128];
		struct sockaddr_storage from;
		WSABUF b = {sizeof data, data};
		WSAMSG m = {0};
		m.name = (struct sockaddr *)&from;
		m.namelen = sizeof from;
		m.lpBuffers = &b;
		m.dwBufferCount = 1;
		m.Control.buf = ctl; /* room for PKTINFO so MSG_CTRUNC is not what we see */
		m.Control.len = sizeof ctl;
		DWORD got_n = 0;
		OVERLAPPED ov = {0};
		Sleep(50);
		int rc = recvmsg(r, &m, &got_n, &ov, NULL);
		int err = rc ? WSAGetLastError() : 0;
		cqe_t e;
		int got = gqcs(port, 2000, &e);
		DWORD xf = 0, fl = 0;
		BOOL gr = WSAGetOverlappedResult(r, &ov, &xf, FALSE, &fl);
		INFO("%s: truncated datagram: submit ret=%d err=%d; completion got=%d ok=%d err=%lu bytes=%lu; "
		     "msg.dwFlags=0x%lx (MSG_TRUNC=0x%x); WSAGetOverlappedResult ret=%d wsaerr=%d flags=0x%lx",
		     fam, rc, err, got, e.ok, e.err, e.bytes, m.dwFlags, MSG_TRUNC, gr, gr ? 0 : WSAGetLastError(), fl);
		CHECK(got && !e.ok && e.err == ERROR_MORE_DATA && e.bytes == 4,
		      "%s: truncation reported as ERROR_MORE_DATA(234) with 4 bytes (Windows: WSAEMSGSIZE via WSAGetOverlappedResult)", fam);
		CHECK(drain(port, 100) == 0, "%s: remainder of the truncated datagram discarded (no further packets)", fam);
	}

	/* WSARecvFrom as a plain alternative */
	{
		sendto(s, "rf", 2, 0, (struct sockaddr *)&to, tolen);
		char data[8];
		WSABUF b = {sizeof data, data};
		struct sockaddr_storage from;
		int fromlen = sizeof from;
		DWORD n = 0, fl = 0;
		OVERLAPPED ov = {0};
		int rc = WSARecvFrom(r, &b, 1, &n, &fl, (struct sockaddr *)&from, &fromlen, &ov, NULL);
		cqe_t e;
		int got = gqcs(port, 2000, &e);
		CHECK(rc == 0 || WSAGetLastError() == WSA_IO_PENDING, "%s: WSARecvFrom submit", fam);
		CHECK(got && e.ok && e.bytes == 2 && sa_port((struct sockaddr *)&from) == ps, "%s: WSARecvFrom completion bytes=%lu fromlen=%d",
		      fam, e.bytes, fromlen);
	}

	/* zero-length datagram */
	{
		sendto(s, "", 0, 0, (struct sockaddr *)&to, tolen);
		char data[8], ctl[128];
		WSABUF b = {sizeof data, data};
		struct sockaddr_storage from;
		WSAMSG m = {0};
		m.name = (struct sockaddr *)&from;
		m.namelen = sizeof from;
		m.lpBuffers = &b;
		m.dwBufferCount = 1;
		m.Control.buf = ctl;
		m.Control.len = sizeof ctl;
		DWORD got_n = 0;
		OVERLAPPED ov = {0};
		Sleep(50);
		int rc0 = recvmsg(r, &m, &got_n, &ov, NULL);
		INFO("%s: zero-length datagram: WSARecvMsg submit ret=%d err=%d", fam, rc0, rc0 ? WSAGetLastError() : 0);
		cqe_t e;
		int got = gqcs(port, 1000, &e);
		CHECK(got && e.ok && e.bytes == 0, "%s: zero-length datagram delivered as a 0-byte completion: got=%d ok=%d err=%lu bytes=%lu "
		      "Internal=0x%lx dwFlags=0x%lx", fam, got, e.ok, e.err, e.bytes, (unsigned long)ov.Internal, m.dwFlags);
	}

		/* PKTINFO enabled but no control buffer: control truncated */
	{
		sendto(s, "ct", 2, 0, (struct sockaddr *)&to, tolen);
		char data[8];
		WSABUF b = {sizeof data, data};
		struct sockaddr_storage from;
		WSAMSG m = {0};
		m.name = (struct sockaddr *)&from;
		m.namelen = sizeof from;
		m.lpBuffers = &b;
		m.dwBufferCount = 1;
		DWORD got_n = 0;
		OVERLAPPED ov = {0};
		Sleep(50);
		int rc0 = recvmsg(r, &m, &got_n, &ov, NULL);
		int err0 = rc0 ? WSAGetLastError() : 0;
		cqe_t e;
		int got = gqcs(port, 1000, &e);
		INFO("%s: control truncated (PKTINFO on, no control buffer): submit ret=%d err=%d; completion got=%d ok=%d err=%lu "
		     "bytes=%lu Internal=0x%lx dwFlags=0x%lx (MSG_CTRUNC=0x%x)",
		     fam, rc0, err0, got, e.ok, e.err, e.bytes, (unsigned long)ov.Internal, m.dwFlags, MSG_CTRUNC);
		CHECK(drain(port, 100) == 0, "%s: control truncation: exactly one packet", fam);
	}

/* on TCP */
	{
		SOCKET a, b2;
		tcp_pair(family, &a, &b2);
		assoc(port, (HANDLE)b2, 3);
		LPFN_WSARECVMSG rm = (LPFN_WSARECVMSG)ext_fn(b2, (GUID)WSAID_WSARECVMSG);
		char data[8];
		WSABUF b = {sizeof data, data};
		WSAMSG m = {0};
		m.lpBuffers = &b;
		m.dwBufferCount = 1;
		DWORD n = 0;
		OVERLAPPED ov = {0};
		int rc = rm ? rm(b2, &m, &n, &ov, NULL) : -2;
		int err = rc ? WSAGetLastError() : 0;
		INFO("%s: WSARecvMsg on TCP: ret=%d err=%d (Windows docs: datagram/raw only -> WSAEOPNOTSUPP 10045)", fam, rc, err);
		if (rc == SOCKET_ERROR && err == WSA_IO_PENDING) {
			send(a, "t", 1, 0);
			cqe_t e;
			gqcs(port, 1000, &e);
			INFO("%s:   TCP WSARecvMsg completed ok=%d bytes=%lu", fam, e.ok, e.bytes);
		}
		WSABUF sb = {2, "hi"};
		WSAMSG sm = {0};
		sm.lpBuffers = &sb;
		sm.dwBufferCount = 1;
		memset(&ov, 0, sizeof ov);
		rc = sendmsg(a, &sm, 0, &n, &ov, NULL);
		err = rc ? WSAGetLastError() : 0;
		INFO("%s: WSASendMsg on TCP: ret=%d err=%d (Windows docs: datagram/raw only)", fam, rc, err);
		closesocket(a);
		closesocket(b2);
		drain(port, 100);
	}
	closesocket(r);
	closesocket(s);
	CloseHandle(port);
}

int main(void)
{
	wsa_init();
	run(AF_INET);
	run(AF_INET6);
	return probe_done("p05_msg");
}
