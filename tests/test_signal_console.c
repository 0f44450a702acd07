/*
 * test_signal_console: Windows console control events into cio/signal.h
 * watchers. The oracle is GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0) sent
 * from another thread, each acknowledged before the next. A process needs
 * a console of its own for that (under ctest it has none: the call fails),
 * so the test runs itself again as a child with CREATE_NEW_CONSOLE (Wine
 * gives such a child a console without a display) whose output goes to a
 * file the parent prints. Checked in the child: every CTRL_C counted once,
 * a task of cio_main waiting for CIO_SIGINT is not taken for a deadlock
 * (the wait's receive is in flight), a routine the program added before
 * cio's does not see an event cio handles and sees it again once the last
 * watcher is gone. CTRL_BREAK cannot be generated under Wine 8 (the call
 * fails with ERROR_INVALID_HANDLE), so it is not tested.
 *
 * POSIX: skipped (test_signal_posix covers real signals).
 *
 * CIO_TEST_PORTABLE
 */
#include "test.h"

#if !defined(_WIN32)

int main(void) { T_SKIP("Windows console events (POSIX signals: test_signal_posix)"); }

#else

#include <stdatomic.h>

#define SENDS 5

static _Atomic int own_calls;
static BOOL WINAPI own_routine(DWORD type) {
    if (type == CTRL_C_EVENT) atomic_fetch_add(&own_calls, 1);
    return TRUE; /* handled: the process goes on */
}

static void await_at_least(_Atomic int *v, int want, const char *what) {
    for (int i = 0; i < 10000 && atomic_load(v) < want; i++) Sleep(1);
    if (atomic_load(v) < want) {
        fprintf(stderr, "%s: %d of %d after 10 s\n", what, atomic_load(v), want);
        exit(1);
    }
}

typedef struct counter {
    cio_signal sig;
    _Atomic int total;
} counter;

static void count_cb(cio_signal *s, int signo, uint32_t count) {
    counter *c = s->data;
    CHECK_EQ(signo, CIO_SIGINT);
    atomic_fetch_add(&c->total, (int)count);
}

typedef struct sender {
    int n;
    _Atomic int *ack;
} sender;

static void *send_main(void *arg) {
    sender *s = arg;
    for (int i = 0; i < s->n; i++) {
        if (!GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0)) {
            fprintf(stderr, "GenerateConsoleCtrlEvent: error %lu\n", GetLastError());
            exit(1);
        }
        await_at_least(s->ack, i + 1, "acknowledged CTRL_C");
    }
    return NULL;
}

static void child_counts(void) {
    cio_loop loop;
    t_loop_init(&loop, 64);
    counter c;
    memset(&c, 0, sizeof c);
    CHECK_EQ(cio_signal_init(&c.sig, &loop), 0);
    c.sig.data = &c;
    CHECK_EQ(cio_signal_add(&c.sig, CIO_SIGINT), 0);
    CHECK_EQ(cio_signal_start(&c.sig, count_cb), 0);
    sender s = {.n = SENDS, .ack = &c.total};
    t_thread th;
    CHECK_EQ(t_thread_start(&th, send_main, &s), 0);
    double end = t_seconds() + 20;
    while (atomic_load(&c.total) < SENDS && t_seconds() < end) CHECK(cio_loop_run(&loop, CIO_RUN_ONCE) >= 0);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(atomic_load(&c.total), SENDS);
    CHECK_EQ(atomic_load(&own_calls), 0); /* cio handled them: the program's routine did not run */
    CHECK_EQ(cio_signal_close(&c.sig), 0);
    t_run(&loop, 10);
    t_close(&loop);
    /* The last watcher gone, cio's routine is removed: the program's own
     * routine gets the next one. */
    CHECK(GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0));
    await_at_least(&own_calls, 1, "the program's own routine after the last watcher");
}

typedef struct main_case {
    int res;
    uint32_t count;
} main_case;

static void *send_late(void *arg) {
    (void)arg;
    Sleep(100);
    CHECK(GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0));
    return NULL;
}

static intptr_t wait_sigint(void *arg) {
    main_case *m = arg;
    cio_signal sig;
    CHECK_EQ(cio_signal_init(&sig, cio_task_loop()), 0);
    CHECK_EQ(cio_signal_add(&sig, CIO_SIGINT), 0);
    CHECK_EQ(cio_signal_add(&sig, CIO_SIGBREAK), 0);
    m->res = cio_signal_wait(&sig, 0, &m->count); /* nothing else in flight */
    CHECK_EQ(cio_signal_close(&sig), 0);
    return 0;
}

static void child_cio_main(void) {
    t_thread th;
    CHECK_EQ(t_thread_start(&th, send_late, NULL), 0);
    main_case m = {0};
    CHECK_EQ(cio_main(wait_sigint, &m, NULL, NULL), 0);
    CHECK_EQ(t_thread_join(&th, NULL), 0);
    CHECK_EQ(m.res, CIO_SIGINT);
    CHECK_EQ(m.count, 1);
}

static int child(void) {
    CHECK(SetConsoleCtrlHandler(own_routine, TRUE));
    child_counts();
    child_cio_main();
    printf("child ok\n");
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    const char *be = getenv("CIO_BACKEND");
    if (be && !strcmp(be, "mock")) T_SKIP("console events cannot enter the simulation (test_signal covers the mock)");
    if (argc > 1 && !strcmp(argv[1], "child")) return child();
    char log[MAX_PATH], dir[MAX_PATH];
    CHECK(GetTempPathA(sizeof dir, dir) > 0);
    snprintf(log, sizeof log, "%scio-signal-console-%lu.log", dir, GetCurrentProcessId());
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE out = CreateFileA(log, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &sa,
                             CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    CHECK(out != INVALID_HANDLE_VALUE);
    char cmd[MAX_PATH + 32], self[MAX_PATH];
    CHECK(GetModuleFileNameA(NULL, self, sizeof self) > 0);
    snprintf(cmd, sizeof cmd, "\"%s\" child", self);
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = NULL;
    si.hStdOutput = out;
    si.hStdError = out;
    PROCESS_INFORMATION pi;
    if (!CreateProcessA(NULL, cmd, NULL, NULL, TRUE, CREATE_NEW_CONSOLE, NULL, NULL, &si, &pi)) {
        fprintf(stderr, "CreateProcess: error %lu\n", GetLastError());
        return 1;
    }
    CloseHandle(out);
    DWORD w = WaitForSingleObject(pi.hProcess, 60000);
    DWORD code = 1;
    if (w != WAIT_OBJECT_0) TerminateProcess(pi.hProcess, 1);
    WaitForSingleObject(pi.hProcess, 5000);
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    FILE *f = fopen(log, "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) fputs(line, stdout);
        fclose(f);
    }
    DeleteFileA(log);
    if (w != WAIT_OBJECT_0) {
        fprintf(stderr, "the child did not finish in 60 s\n");
        return 1;
    }
    if (code != 0) {
        fprintf(stderr, "the child failed (exit %lu)\n", code);
        return 1;
    }
    printf("ok\n");
    return 0;
}

#endif
