/* 8. Overlapped ReadFile/WriteFile with offsets in the OVERLAPPED, end of
 * file (ERROR_HANDLE_EOF 38), short reads, append offset; the file position;
 * a file opened without FILE_FLAG_OVERLAPPED associated with a port. */
#include "probe.h"

static HANDLE g_port;

static void rw(HANDLE f, int write, DWORD off, void *buf, DWORD len, const char *what, BOOL *ok_out, DWORD *err_out,
	       DWORD *bytes_out, int *packets)
{
	OVERLAPPED ov = {0};
	ov.Offset = off;
	DWORD n = 0;
	BOOL r = write ? WriteFile(f, buf, len, &n, &ov) : ReadFile(f, buf, len, &n, &ov);
	DWORD err = r ? 0 : GetLastError();
	cqe_t e = {0};
	int got = 0, extra = 0;
	if (r || err == ERROR_IO_PENDING || err == ERROR_HANDLE_EOF) {
		got = gqcs(g_port, 1000, &e);
		extra = drain(g_port, 100);
	}
	INFO("%s: submit ret=%d err=%lu n=%lu; packet got=%d ok=%d err=%lu bytes=%lu Internal=0x%lx extra=%d", what, r, err, n, got,
	     e.ok, e.err, e.bytes, (unsigned long)ov.Internal, extra);
	*ok_out = got ? e.ok : r;
	*err_out = got ? e.err : err;
	*bytes_out = got ? e.bytes : n;
	*packets = got + extra;
}

int main(void)
{
	HANDLE port = new_port();
	g_port = port;
	wchar_t dir[MAX_PATH], path[MAX_PATH];
	GetTempPathW(MAX_PATH, dir);
	GetTempFileNameW(dir, L"ovf", 0, path);
	HANDLE f = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
			       CREATE_ALWAYS, FILE_FLAG_OVERLAPPED, NULL);
	CHECK(f != INVALID_HANDLE_VALUE, "CreateFile(FILE_FLAG_OVERLAPPED)");
	CHECK(assoc(port, f, 8), "associate overlapped file");
	INFO("overlapped file: FileModeInformation.Mode=0x%lx (FILE_SYNCHRONOUS_IO_ALERT=0x10, _NONALERT=0x20)", handle_mode(f));
	BOOL ok;
	DWORD err, n;
	int pk;
	char data[26];
	for (int i = 0; i < 26; i++)
		data[i] = (char)('a' + i);
	rw(f, 1, 0, data, 26, "write 26 @0", &ok, &err, &n, &pk);
	CHECK(ok && n == 26 && pk == 1, "overlapped write @0: 26 bytes, one packet");
	rw(f, 1, 100, "END", 3, "write 3 @100 (past EOF, leaves a hole)", &ok, &err, &n, &pk);
	CHECK(ok && n == 3 && pk == 1, "overlapped write @100 extends the file");
	LARGE_INTEGER sz;
	GetFileSizeEx(f, &sz);
	CHECK(sz.QuadPart == 103, "file size after writes: %lld (want 103)", (long long)sz.QuadPart);
	char rb[64] = {0};
	rw(f, 0, 5, rb, 10, "read 10 @5", &ok, &err, &n, &pk);
	CHECK(ok && n == 10 && memcmp(rb, "fghijklmno", 10) == 0, "read @5 gets fghijklmno");
	memset(rb, 1, sizeof rb);
	rw(f, 0, 30, rb, 4, "read 4 @30 (hole)", &ok, &err, &n, &pk);
	CHECK(ok && n == 4 && rb[0] == 0 && rb[3] == 0, "read in the hole gives zeros");
	rw(f, 0, 98, rb, 20, "read 20 @98 (straddles EOF)", &ok, &err, &n, &pk);
	CHECK(ok && n == 5 && memcmp(rb + 2, "END", 3) == 0, "short read at EOF: %lu bytes (want 5)", n);
	rw(f, 0, 103, rb, 10, "read @103 (exactly EOF)", &ok, &err, &n, &pk);
	CHECK(!ok && err == ERROR_HANDLE_EOF && n == 0 && pk == 1,
	      "read at EOF: ok=%d err=%lu bytes=%lu packets=%d (want ERROR_HANDLE_EOF 38, delivered as one packet)", ok, err, n, pk);
	rw(f, 0, 5000, rb, 10, "read @5000 (beyond EOF)", &ok, &err, &n, &pk);
	CHECK(!ok && err == ERROR_HANDLE_EOF && pk == 1, "read beyond EOF: err=%lu packets=%d", err, pk);
	rw(f, 0, 0, rb, 0, "read 0 bytes @0", &ok, &err, &n, &pk);
	INFO("zero-length read: ok=%d err=%lu bytes=%lu packets=%d", ok, err, n, pk);

	/* Append with Offset = OffsetHigh = 0xFFFFFFFF (FILE_WRITE_TO_END_OF_FILE) */
	{
		OVERLAPPED ov = {0};
		ov.Offset = 0xFFFFFFFF;
		ov.OffsetHigh = 0xFFFFFFFF;
		DWORD w = 0;
		BOOL r = WriteFile(f, "APP", 3, &w, &ov);
		DWORD e0 = r ? 0 : GetLastError();
		cqe_t e;
		int got = gqcs(port, 1000, &e);
		GetFileSizeEx(f, &sz);
		CHECK(got && e.ok && sz.QuadPart == 106, "write with offset 0xFFFFFFFF:FFFFFFFF appends: submit=%d err=%lu size=%lld", r, e0,
		      (long long)sz.QuadPart);
	}
	/* Large offset (> 4 GiB) through OffsetHigh */
	{
		OVERLAPPED ov = {0};
		ov.Offset = 0;
		ov.OffsetHigh = 1; /* 4 GiB */
		DWORD w = 0;
		BOOL r = WriteFile(f, "Z", 1, &w, &ov);
		DWORD e0 = r ? 0 : GetLastError();
		cqe_t e;
		int got = gqcs(port, 3000, &e);
		GetFileSizeEx(f, &sz);
		CHECK(got && e.ok && sz.QuadPart == 4294967297LL, "write at 4 GiB via OffsetHigh: submit=%d err=%lu size=%lld", r, e0,
		      (long long)sz.QuadPart);
	}
	/* File pointer: overlapped IO does not move it (cio must track CIO_OFFSET_CURRENT itself) */
	LARGE_INTEGER zero = {0}, pos;
	SetFilePointerEx(f, zero, &pos, FILE_CURRENT);
	INFO("file pointer after overlapped IO: %lld (Windows docs: not updated for overlapped handles)", (long long)pos.QuadPart);

	/* Several reads in flight at once */
	{
		OVERLAPPED ovs[4];
		char bufs[4][4];
		for (int i = 0; i < 4; i++) {
			memset(&ovs[i], 0, sizeof ovs[i]);
			ovs[i].Offset = (DWORD)(i * 4);
			ReadFile(f, bufs[i], 4, NULL, &ovs[i]);
		}
		int good = 0;
		for (int i = 0; i < 4; i++) {
			cqe_t e;
			if (gqcs(port, 1000, &e) && e.ok && e.bytes == 4) {
				int idx = (int)(e.ov - ovs);
				if (idx >= 0 && idx < 4 && bufs[idx][0] == 'a' + idx * 4)
					good++;
			}
		}
		CHECK(good == 4, "4 concurrent overlapped reads at different offsets: %d correct", good);
	}
	CloseHandle(f);

	/* A file opened WITHOUT FILE_FLAG_OVERLAPPED */
	HANDLE s = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
			       OPEN_EXISTING, FILE_FLAG_DELETE_ON_CLOSE, NULL);
	INFO("non-overlapped file: FileModeInformation.Mode=0x%lx", handle_mode(s));
	BOOL as = assoc(port, s, 9);
	DWORD aerr = as ? 0 : GetLastError();
	CHECK(!as && aerr == ERROR_INVALID_PARAMETER,
	      "associating a non-overlapped file with a port is refused: ret=%d err=%lu (want 87; docs: handle must be opened overlapped)",
	      as, aerr);
	{
		OVERLAPPED ov = {0};
		ov.Offset = 2;
		char b2[4] = {0};
		DWORD r2 = 0;
		BOOL r = ReadFile(s, b2, 3, &r2, &ov);
		DWORD e0 = r ? 0 : GetLastError();
		int p = drain(port, 300);
		INFO("sync handle: ReadFile with OVERLAPPED(offset 2): ret=%d err=%lu n=%lu data=%.3s packets=%d", r, e0, r2, b2, p);
		CHECK(r && r2 == 3 && memcmp(b2, "cde", 3) == 0, "sync handle honours the OVERLAPPED offset and completes in the call");
		INFO("sync handle: completion packets queued for that synchronous call: %d", p);
		LARGE_INTEGER z = {0}, p2;
		SetFilePointerEx(s, z, &p2, FILE_CURRENT);
		INFO("sync handle: file pointer after ReadFile with OVERLAPPED offset 2, 3 bytes: %lld", (long long)p2.QuadPart);
		DWORD r3 = 0;
		r = ReadFile(s, b2, 3, &r3, NULL);
		p = drain(port, 300);
		INFO("sync handle: plain ReadFile(NULL overlapped): ret=%d n=%lu packets=%d", r, r3, p);
		memset(&ov, 0, sizeof ov);
		ov.OffsetHigh = 2; /* past the 4 GiB + 1 byte file */
		r = ReadFile(s, b2, 3, &r2, &ov);
		e0 = r ? 0 : GetLastError();
		p = drain(port, 300);
		INFO("sync handle: ReadFile with OVERLAPPED past EOF: ret=%d err=%lu n=%lu packets=%d (Windows: FALSE, ERROR_HANDLE_EOF)", r, e0, r2, p);
	}
	CloseHandle(s);
	CloseHandle(port);
	return probe_done("p08_file");
}
