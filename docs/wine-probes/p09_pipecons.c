/* 9. Anonymous pipes (CreatePipe) and the console with a completion port:
 * can they be associated, do they block; how to classify a handle
 * (GetFileType, FileModeInformation, GetConsoleMode). Also an overlapped
 * named pipe pair, the candidate for pipe() in the tests' portability layer. */
#include "probe.h"

static HANDLE g_rd;
static volatile LONG g_read_done;
static char g_buf[16];
static DWORD g_n;

static DWORD WINAPI reader(void *arg)
{
	OVERLAPPED *ov = arg;
	ReadFile(g_rd, g_buf, sizeof g_buf, &g_n, ov);
	InterlockedExchange(&g_read_done, 1);
	return 0;
}

static const char *ftype(DWORD t)
{
	switch (t) {
	case FILE_TYPE_DISK: return "DISK";
	case FILE_TYPE_CHAR: return "CHAR";
	case FILE_TYPE_PIPE: return "PIPE";
	default: return "UNKNOWN";
	}
}

static void classify(const char *name, HANDLE h)
{
	DWORD cm = 0;
	BOOL is_console = GetConsoleMode(h, &cm);
	INFO("%s: GetFileType=%s Mode=0x%lx GetConsoleMode=%d", name, ftype(GetFileType(h)), handle_mode(h), is_console);
}

int main(void)
{
	wsa_init();
	HANDLE port = new_port();
	HANDLE rd, wr;
	CHECK(CreatePipe(&rd, &wr, NULL, 0), "CreatePipe");
	classify("anonymous pipe read end", rd);
	BOOL a = assoc(port, rd, 1);
	DWORD aerr = a ? 0 : GetLastError();
	INFO("anonymous pipe: associate read end with port: ret=%d err=%lu", a, aerr);

	/* Data already there: overlapped-style ReadFile */
	DWORD n = 0;
	WriteFile(wr, "abc", 3, &n, NULL);
	OVERLAPPED ov = {0};
	char b[8] = {0};
	BOOL r = ReadFile(rd, b, sizeof b, &n, &ov);
	DWORD rerr = r ? 0 : GetLastError();
	int pk = drain(port, 200);
	INFO("anonymous pipe: ReadFile(OVERLAPPED) with data: ret=%d err=%lu n=%lu packets=%d", r, rerr, n, pk);

	/* Empty pipe: does ReadFile block the calling thread? */
	g_rd = rd;
	memset(&ov, 0, sizeof ov);
	HANDLE th = CreateThread(NULL, 0, reader, &ov, 0, NULL);
	DWORD w = WaitForSingleObject(th, 300);
	int blocked = (w == WAIT_TIMEOUT);
	CHECK(blocked, "anonymous pipe: ReadFile(OVERLAPPED) on an empty pipe blocks its thread (still blocked after 300 ms: %d)",
	      blocked);
	/* CancelSynchronousIo unblocks it? (what the pool would use to cancel) */
	BOOL cs = CancelSynchronousIo(th);
	DWORD cserr = cs ? 0 : GetLastError();
	w = WaitForSingleObject(th, 1000);
	INFO("anonymous pipe: CancelSynchronousIo on the blocked reader: ret=%d err=%lu -> thread %s", cs, cserr,
	     w == WAIT_OBJECT_0 ? "returned" : "still blocked");
	if (w != WAIT_OBJECT_0) {
		WriteFile(wr, "u", 1, &n, NULL);
		w = WaitForSingleObject(th, 2000);
		INFO("anonymous pipe: after a write the reader %s, n=%lu", w == WAIT_OBJECT_0 ? "returned" : "is STILL blocked", g_n);
	}
	CloseHandle(th);
	drain(port, 100);
	/* Writer closed: EOF shows as ERROR_BROKEN_PIPE */
	CloseHandle(wr);
	r = ReadFile(rd, b, sizeof b, &n, NULL);
	rerr = r ? 0 : GetLastError();
	CHECK(!r && rerr == ERROR_BROKEN_PIPE, "anonymous pipe: read after writer closed: ret=%d err=%lu (want 109 ERROR_BROKEN_PIPE)", r,
	      rerr);
	CloseHandle(rd);

	/* Console */
	HANDLE in = GetStdHandle(STD_INPUT_HANDLE), out = GetStdHandle(STD_OUTPUT_HANDLE);
	classify("stdin", in);
	classify("stdout", out);
	HANDLE conin = CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
				   FILE_FLAG_OVERLAPPED, NULL);
	if (conin == INVALID_HANDLE_VALUE) {
		INFO("CreateFile(CONIN$) failed err=%lu; trying AllocConsole", GetLastError());
		BOOL ac = AllocConsole();
		INFO("AllocConsole ret=%d err=%lu", ac, ac ? 0 : GetLastError());
		conin = CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
				    FILE_FLAG_OVERLAPPED, NULL);
	}
	if (conin != INVALID_HANDLE_VALUE) {
		classify("CONIN$ (opened with FILE_FLAG_OVERLAPPED)", conin);
		a = assoc(port, conin, 2);
		INFO("console input: associate with port: ret=%d err=%lu", a, a ? 0 : GetLastError());
		HANDLE conout = CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
					    OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
		if (conout != INVALID_HANDLE_VALUE) {
			classify("CONOUT$", conout);
			a = assoc(port, conout, 3);
			INFO("console output: associate with port: ret=%d err=%lu", a, a ? 0 : GetLastError());
			memset(&ov, 0, sizeof ov);
			r = WriteFile(conout, "", 0, &n, &ov);
			rerr = r ? 0 : GetLastError();
			INFO("console output: WriteFile(OVERLAPPED, 0 bytes) ret=%d err=%lu packets=%d", r, rerr, drain(port, 200));
			CloseHandle(conout);
		}
		CloseHandle(conin);
	} else {
		INFO("no console handle could be opened under this Wine run (err=%lu)", GetLastError());
	}

	/* Overlapped named-pipe pair: the pipe() replacement for tests */
	wchar_t name[128];
	swprintf(name, 128, L"\\\\.\\pipe\\cio-probe-%lu-%lu", GetCurrentProcessId(), GetTickCount());
	HANDLE srv = CreateNamedPipeW(name, PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
				      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 65536, 65536, 0, NULL);
	HANDLE cli = CreateFileW(name, GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
	CHECK(srv != INVALID_HANDLE_VALUE && cli != INVALID_HANDLE_VALUE, "overlapped named pipe pair created");
	classify("named pipe server end (overlapped)", srv);
	CHECK(assoc(port, srv, 4) && assoc(port, cli, 5), "named pipe ends associate with the port");
	memset(&ov, 0, sizeof ov);
	r = ReadFile(srv, b, sizeof b, &n, &ov);
	rerr = r ? 0 : GetLastError();
	CHECK(!r && rerr == ERROR_IO_PENDING, "named pipe: read on empty pipe is pending: ret=%d err=%lu", r, rerr);
	OVERLAPPED wov = {0};
	WriteFile(cli, "np", 2, &n, &wov);
	int got_r = 0, got_w = 0;
	cqe_t e;
	for (int i = 0; i < 2 && gqcs(port, 2000, &e); i++) {
		if (e.ov == &ov && e.ok && e.bytes == 2)
			got_r = 1;
		if (e.ov == &wov && e.ok && e.bytes == 2)
			got_w = 1;
	}
	CHECK(got_r && got_w, "named pipe: read and write completions through the port (read=%d write=%d)", got_r, got_w);
	memset(&ov, 0, sizeof ov);
	r = ReadFile(srv, b, sizeof b, &n, &ov);
	BOOL cx = CancelIoEx(srv, &ov);
	int got = gqcs(port, 2000, &e);
	CHECK(cx && got && !e.ok && e.err == ERROR_OPERATION_ABORTED, "named pipe: CancelIoEx on pending read -> err=%lu", e.err);
	memset(&ov, 0, sizeof ov);
	r = ReadFile(srv, b, sizeof b, &n, &ov);
	CloseHandle(cli);
	got = gqcs(port, 2000, &e);
	CHECK(got && !e.ok && e.err == ERROR_BROKEN_PIPE, "named pipe: pending read when the writer closes: err=%lu (want 109)", e.err);
	CloseHandle(srv);
	return probe_done("p09_pipecons");
}
