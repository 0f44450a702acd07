/* Shared helpers for the IOCP probes: PASS/FAIL lines, loopback socket
 * pairs, extension-function lookup, draining a port with a timeout. */
#ifndef PROBE_H
#define PROBE_H

#define _WIN32_WINNT 0x0A00
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#include <winternl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_pass, g_fail;

#define PASS(...) do { printf("PASS "); printf(__VA_ARGS__); printf("\n"); fflush(stdout); g_pass++; } while (0)
#define FAIL(...) do { printf("FAIL "); printf(__VA_ARGS__); printf("\n"); fflush(stdout); g_fail++; } while (0)
#define INFO(...) do { printf("INFO "); printf(__VA_ARGS__); printf("\n"); fflush(stdout); } while (0)
#define CHECK(cond, ...) do { if (cond) PASS(__VA_ARGS__); else FAIL(__VA_ARGS__); } while (0)

static __attribute__((unused)) int probe_done(const char *name)
{
	printf("SUMMARY %s: %d pass, %d fail\n", name, g_pass, g_fail);
	fflush(stdout);
	return g_fail ? 1 : 0;
}

static __attribute__((unused)) void wsa_init(void)
{
	WSADATA d;
	if (WSAStartup(MAKEWORD(2, 2), &d) != 0) {
		printf("FAIL WSAStartup\n");
		exit(2);
	}
}

static __attribute__((unused)) void *ext_fn(SOCKET s, GUID g)
{
	void *fn = NULL;
	DWORD bytes = 0;
	if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &g, sizeof g, &fn,
		     sizeof fn, &bytes, NULL, NULL) != 0)
		return NULL;
	return fn;
}

/* Loopback address of the family with the given port (network order). */
static __attribute__((unused)) int loop_addr(int family, unsigned short port_n, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = port_n;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = port_n;
		a->sin6_addr = in6addr_loopback;
		return sizeof *a;
	}
}

static __attribute__((unused)) unsigned short sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

static __attribute__((unused)) const char *sa_str(const struct sockaddr *sa, char *buf, size_t n)
{
	char host[64] = "?";
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
	snprintf(buf, n, "family=%d %s port=%u", sa->sa_family, host, sa_port(sa));
	return buf;
}

/* A listening TCP socket on loopback, port chosen by the system. */
static __attribute__((unused)) SOCKET tcp_listener(int family, unsigned short *port_out)
{
	SOCKET l = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
	struct sockaddr_storage ss;
	int len = loop_addr(family, 0, &ss);
	if (l == INVALID_SOCKET || bind(l, (struct sockaddr *)&ss, len) != 0 || listen(l, 16) != 0) {
		printf("FAIL tcp_listener family=%d err=%d\n", family, WSAGetLastError());
		exit(2);
	}
	len = sizeof ss;
	getsockname(l, (struct sockaddr *)&ss, &len);
	*port_out = sa_port((struct sockaddr *)&ss);
	return l;
}

/* A connected TCP pair over loopback using plain blocking calls (both
 * sockets are overlapped-capable, as WSASocket with WSA_FLAG_OVERLAPPED). */
static __attribute__((unused)) void tcp_pair(int family, SOCKET *a, SOCKET *b)
{
	unsigned short port;
	SOCKET l = tcp_listener(family, &port);
	SOCKET c = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
	struct sockaddr_storage ss;
	int len = loop_addr(family, htons(port), &ss);
	if (connect(c, (struct sockaddr *)&ss, len) != 0) {
		printf("FAIL tcp_pair connect err=%d\n", WSAGetLastError());
		exit(2);
	}
	SOCKET s = accept(l, NULL, NULL);
	if (s == INVALID_SOCKET) {
		printf("FAIL tcp_pair accept err=%d\n", WSAGetLastError());
		exit(2);
	}
	closesocket(l);
	*a = c;
	*b = s;
}

typedef struct {
	BOOL ok;
	DWORD err;	/* GetLastError() when ok is FALSE */
	DWORD bytes;
	ULONG_PTR key;
	OVERLAPPED *ov;
} cqe_t;

/* One GetQueuedCompletionStatus call; returns 0 on timeout (nothing dequeued). */
static __attribute__((unused)) int gqcs(HANDLE port, DWORD ms, cqe_t *e)
{
	memset(e, 0, sizeof *e);
	SetLastError(0);
	e->ok = GetQueuedCompletionStatus(port, &e->bytes, &e->key, &e->ov, ms);
	e->err = e->ok ? 0 : GetLastError();
	if (!e->ok && e->ov == NULL)
		return 0; /* timeout or port error: nothing dequeued */
	return 1;
}

/* Count further packets arriving within ms (to check "exactly one"). */
static __attribute__((unused)) int drain(HANDLE port, DWORD ms)
{
	int n = 0;
	cqe_t e;
	while (gqcs(port, ms, &e)) {
		INFO("  extra packet: ok=%d err=%lu bytes=%lu key=%llu ov=%p", e.ok,
		     e.err, e.bytes, (unsigned long long)e.key, (void *)e.ov);
		n++;
	}
	return n;
}

static __attribute__((unused)) HANDLE new_port(void)
{
	HANDLE p = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
	if (!p) {
		printf("FAIL CreateIoCompletionPort err=%lu\n", GetLastError());
		exit(2);
	}
	return p;
}

static __attribute__((unused)) BOOL assoc(HANDLE port, HANDLE h, ULONG_PTR key)
{
	return CreateIoCompletionPort(h, port, key, 0) == port;
}

/* FILE_SYNCHRONOUS_IO_* bits of the handle's mode (libuv's test for a
 * handle that cannot do overlapped IO); ~0u if the query fails. */
static __attribute__((unused)) unsigned long handle_mode(HANDLE h)
{
	IO_STATUS_BLOCK iosb;
	FILE_MODE_INFORMATION mi;
	NTSTATUS st = NtQueryInformationFile(h, &iosb, &mi, sizeof mi, FileModeInformation);
	return st == 0 ? mi.Mode : ~0ul;
}

#endif
