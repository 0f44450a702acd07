/* 4. GetQueuedCompletionStatusEx in batches, PostQueuedCompletionStatus as a
 * wake with a key (NULL overlapped) and with an overlapped, and timeouts;
 * a wake from another thread while the loop is blocked. */
#include "probe.h"

static HANDLE g_port;

static DWORD WINAPI waker(void *arg)
{
	(void)arg;
	Sleep(200);
	PostQueuedCompletionStatus(g_port, 0, 0xBEEF, NULL);
	return 0;
}

int main(void)
{
	HANDLE port = new_port();
	g_port = port;
	OVERLAPPED ovs[10];
	for (int i = 0; i < 10; i++) {
		memset(&ovs[i], 0, sizeof ovs[i]);
		BOOL p = PostQueuedCompletionStatus(port, 100 + i, 1000 + i, &ovs[i]);
		if (!p)
			FAIL("PostQueuedCompletionStatus %d err=%lu", i, GetLastError());
	}
	BOOL w = PostQueuedCompletionStatus(port, 0, 0xDEAD, NULL);
	CHECK(w, "PostQueuedCompletionStatus(key=0xDEAD, NULL overlapped) ret=%d", w);

	OVERLAPPED_ENTRY ent[4];
	ULONG removed = 0;
	int total = 0, order_ok = 1, wake_seen = 0, batches = 0;
	while (1) {
		BOOL x = GetQueuedCompletionStatusEx(port, ent, 4, &removed, 0, FALSE);
		if (!x)
			break;
		batches++;
		INFO("batch %d: removed=%lu", batches, removed);
		for (ULONG i = 0; i < removed; i++) {
			if (ent[i].lpOverlapped == NULL) {
				wake_seen = ent[i].lpCompletionKey == 0xDEAD && ent[i].dwNumberOfBytesTransferred == 0;
			} else {
				int idx = (int)(ent[i].lpOverlapped - ovs);
				if (idx != total || ent[i].lpCompletionKey != (ULONG_PTR)(1000 + idx) ||
				    ent[i].dwNumberOfBytesTransferred != (DWORD)(100 + idx))
					order_ok = 0;
			}
			total++;
		}
	}
	DWORD tmo = GetLastError();
	CHECK(total == 11 && batches == 3, "GQCSEx(max 4) drained 11 posted packets in %d batches (want 3)", batches);
	CHECK(order_ok, "posted packets come back FIFO with key, bytes, overlapped intact");
	CHECK(wake_seen, "wake packet: key 0xDEAD, NULL overlapped, 0 bytes");
	CHECK(tmo == WAIT_TIMEOUT, "GQCSEx(timeout 0) on empty port: FALSE, GetLastError=%lu (want 258 WAIT_TIMEOUT)", tmo);

	/* Timeout of 150 ms */
	LARGE_INTEGER f, t0, t1;
	QueryPerformanceFrequency(&f);
	QueryPerformanceCounter(&t0);
	removed = 77; /* sentinel: is it written on timeout? */
	BOOL x = GetQueuedCompletionStatusEx(port, ent, 4, &removed, 150, FALSE);
	DWORD e1 = GetLastError();
	QueryPerformanceCounter(&t1);
	double ms = (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)f.QuadPart;
	CHECK(!x && e1 == WAIT_TIMEOUT && ms >= 140, "GQCSEx 150 ms timeout: ret=%d err=%lu removed=%lu (sentinel 77 before) slept %.1f ms", x, e1,
	      removed, ms);
	cqe_t e;
	QueryPerformanceCounter(&t0);
	int got = gqcs(port, 150, &e);
	QueryPerformanceCounter(&t1);
	ms = (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)f.QuadPart;
	CHECK(!got && e.err == WAIT_TIMEOUT && e.ov == NULL && ms >= 140,
	      "GQCS 150 ms timeout: ok=%d err=%lu ov=%p slept %.1f ms", e.ok, e.err, (void *)e.ov, ms);

	/* Wake from another thread while blocked (INFINITE) */
	HANDLE th = CreateThread(NULL, 0, waker, NULL, 0, NULL);
	QueryPerformanceCounter(&t0);
	x = GetQueuedCompletionStatusEx(port, ent, 4, &removed, 5000, FALSE);
	QueryPerformanceCounter(&t1);
	ms = (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)f.QuadPart;
	CHECK(x && removed == 1 && ent[0].lpCompletionKey == 0xBEEF && ms >= 150 && ms < 4000,
	      "cross-thread wake: ret=%d removed=%lu key=0x%llx after %.1f ms", x, removed,
	      (unsigned long long)ent[0].lpCompletionKey, ms);
	WaitForSingleObject(th, INFINITE);
	CloseHandle(th);

	/* Alertable wait returns for a queued APC: STATUS_USER_APC / WAIT_IO_COMPLETION */
	x = GetQueuedCompletionStatusEx(port, ent, 4, &removed, 0, TRUE);
	INFO("alertable GQCSEx with nothing queued: ret=%d err=%lu", x, x ? 0 : GetLastError());

	/* Closing the port while nothing waits */
	CHECK(CloseHandle(port), "CloseHandle(port)");
	return probe_done("p04_gqcsex");
}
