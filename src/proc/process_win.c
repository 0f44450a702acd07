/*
 * src/proc/process_win.c - spawning and awaiting children on Windows.
 *
 * Spawn: CreateProcessW. The program is resolved first (SearchPathW: the
 * application's directory, the current one, the system's, then PATH, with
 * ".exe" added to a name without extension) and passed as
 * lpApplicationName, so that a missing program is -CIO_ENOENT from the
 * spawn. The command line is argv quoted per the MSVCRT rules (what
 * CommandLineToArgvW and the C runtime's startup undo), converted from
 * UTF-8. The child inherits only its three stdio handles: each is an
 * inheritable copy made for it (the parent's own handles stay
 * non-inheritable) and named in PROC_THREAD_ATTRIBUTE_HANDLE_LIST, so a
 * spawn on another thread cannot catch them either.
 *
 * Pipes: a named pipe per stream, one instance, byte mode, remote clients
 * rejected. The parent's end is the server, opened FILE_FLAG_OVERLAPPED so
 * that the IOCP backend runs its reads and writes on the loop's port; the
 * child's end is a synchronous client handle, what programs expect of
 * their stdio.
 *
 * Exit: RegisterWaitForSingleObject on the process handle, once. Its
 * callback (a thread-pool thread) posts a message to the loop
 * (cio_loop_post); the message cancels the op the wait is parked in, a
 * timer that also fires every RECHECK_NS so that nothing hangs should a
 * message be lost. The registration's state lives in a small allocated
 * `link` that the message, the loop-close hook and the cio_process each
 * hold a reference to, so none of them can outlive what it points at:
 * the loop-close hook unregisters the wait (waiting for a running
 * callback) before the loop goes, and cio_process_release() does the same
 * before `p` may be freed.
 */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "../core/oserr.h"
#include "cio/error.h"
#include "cio/loop.h"
#include "cio/op.h"
#include "cio/process.h"
#include "proc_internal.h"

#define RECHECK_NS (1000 * 1000 * 1000ull)

typedef struct link {
    cio_op msg;        /* posted by the wait callback: "the process is signalled" */
    cio_op hook;       /* cio_loop_at_close(): unregister before the loop goes */
    cio_loop *loop;
    cio_process *p;    /* NULL once released */
    HANDLE wait;       /* RegisterWaitForSingleObject's, NULL once unregistered */
    volatile LONG fired;
    cio_op *waiter;    /* the op a wait is parked in, or NULL (loop thread) */
    int refs;          /* owner, hook, msg (loop thread only) */
    bool hook_done;
} link;

static void link_unref(link *l) {
    if (--l->refs == 0)
        free(l);
}

/* Unregisters the wait, waiting for a callback under way; drops the
 * message's reference if the callback never ran (it never will now). */
static void link_unregister(link *l) {
    if (!l->wait)
        return;
    (void)UnregisterWaitEx(l->wait, INVALID_HANDLE_VALUE);
    l->wait = NULL;
    if (!InterlockedCompareExchange(&l->fired, 0, 0))
        link_unref(l);
}

static void CALLBACK on_signalled(void *arg, BOOLEAN timed_out) {
    (void)timed_out;
    link *l = arg;
    InterlockedExchange(&l->fired, 1);
    (void)cio_loop_post(l->loop, &l->msg);
}

static void on_msg(cio_loop *loop, cio_op *op) {
    link *l = op->data;
    if (l->p && l->waiter)
        (void)cio_cancel(loop, l->waiter);
    link_unref(l);
}

static void on_hook(cio_loop *loop, cio_op *op) {
    (void)loop;
    link *l = op->data;
    l->hook_done = true;
    if (op->res != -CIO_ECANCELED) {
        /* The loop closes. A message the callback posted into a closing
         * loop may be lost: its reference is then kept (a few bytes),
         * never a pointer into freed memory. */
        link_unregister(l);
    }
    link_unref(l);
}

/* ---- strings ---- */

static wchar_t *utf16(const char *s) {
    if (!s)
        return NULL;
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        free(w);
        w = NULL;
    }
    return w;
}

/* A growable wide buffer. */
typedef struct wbuf {
    wchar_t *p;
    size_t len, cap;
    bool oom;
} wbuf;

static void wput(wbuf *b, const wchar_t *s, size_t n) {
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        wchar_t *q = realloc(b->p, cap * sizeof *q);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n * sizeof *s);
    b->len += n;
    b->p[b->len] = 0;
}

static void wputc(wbuf *b, wchar_t c) { wput(b, &c, 1); }

/* One argument quoted so that the MSVCRT parser gives it back as it is:
 * quotes only when needed; inside them, backslashes are literal except
 * before a quote (then doubled, plus one to escape the quote) and at the
 * end (doubled, before the closing quote). */
static void quote_arg(wbuf *b, const wchar_t *a) {
    if (*a && !wcspbrk(a, L" \t\n\v\"")) {
        wput(b, a, wcslen(a));
        return;
    }
    wputc(b, L'"');
    for (const wchar_t *c = a;; c++) {
        size_t bs = 0;
        while (*c == L'\\') {
            bs++;
            c++;
        }
        if (!*c) {
            for (size_t i = 0; i < bs * 2; i++)
                wputc(b, L'\\');
            break;
        }
        if (*c == L'"') {
            for (size_t i = 0; i < bs * 2 + 1; i++)
                wputc(b, L'\\');
        } else {
            for (size_t i = 0; i < bs; i++)
                wputc(b, L'\\');
        }
        wputc(b, *c);
    }
    wputc(b, L'"');
}

static int command_line(const char *const *argv, wchar_t **out) {
    wbuf b = {0};
    for (size_t i = 0; argv[i]; i++) {
        wchar_t *w = utf16(argv[i]);
        if (!w) {
            free(b.p);
            return -CIO_EINVAL;
        }
        if (i)
            wputc(&b, L' ');
        quote_arg(&b, w);
        free(w);
    }
    if (b.oom) {
        free(b.p);
        return -CIO_ENOMEM;
    }
    *out = b.p;
    return 0;
}

/* The length of an entry's name: up to the first '=' after the first
 * character (the "=C:=C:\dir" entries of the drives' directories). */
static size_t wname_len(const wchar_t *e) {
    const wchar_t *eq = *e ? wcschr(e + 1, L'=') : NULL;
    return eq ? (size_t)(eq - e) : wcslen(e);
}

/* The environment block for CreateProcessW (NULL: inherit). */
static int env_block(const cio_process_options *o, wchar_t **out) {
    *out = NULL;
    if (o->env_mode == CIO_ENV_INHERIT)
        return 0;
    size_t n_add = 0;
    while (o->env[n_add])
        n_add++;
    wchar_t **add = calloc(n_add + 1, sizeof *add);
    if (!add)
        return -CIO_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < n_add && !rc; i++)
        if (!(add[i] = utf16(o->env[i])))
            rc = -CIO_EINVAL;
    wbuf b = {0};
    if (!rc && o->env_mode == CIO_ENV_ADD) {
        wchar_t *cur = GetEnvironmentStringsW();
        for (wchar_t *e = cur; e && *e; e += wcslen(e) + 1) {
            size_t len = wname_len(e);
            bool replaced = false;
            for (size_t j = 0; j < n_add && !replaced; j++)
                replaced = wname_len(add[j]) == len && _wcsnicmp(add[j], e, len) == 0;
            if (!replaced)
                wput(&b, e, wcslen(e) + 1);
        }
        if (cur)
            FreeEnvironmentStringsW(cur);
    }
    for (size_t j = 0; j < n_add && !rc; j++)
        wput(&b, add[j], wcslen(add[j]) + 1);
    wputc(&b, 0);
    if (b.len < 2)
        wputc(&b, 0); /* an empty block is two NULs */
    for (size_t j = 0; j < n_add; j++)
        free(add[j]);
    free(add);
    if (!rc && b.oom)
        rc = -CIO_ENOMEM;
    if (rc) {
        free(b.p);
        return rc;
    }
    *out = b.p;
    return 0;
}

/* The program's full name, as SearchPathW finds it. */
static int resolve_program(const char *file, wchar_t **out) {
    wchar_t *w = utf16(file);
    if (!w)
        return -CIO_EINVAL;
    wchar_t buf[MAX_PATH * 4];
    DWORD n = SearchPathW(NULL, w, L".exe", sizeof buf / sizeof buf[0], buf, NULL);
    free(w);
    if (n == 0 || n >= sizeof buf / sizeof buf[0])
        return n == 0 ? -CIO_ENOENT : -CIO_ENAMETOOLONG;
    DWORD attr = GetFileAttributesW(buf);
    if (attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_DIRECTORY))
        return -CIO_EACCES;
    *out = _wcsdup(buf);
    return *out ? 0 : -CIO_ENOMEM;
}

/* ---- stdio ---- */

static HANDLE inheritable_copy(HANDLE h) {
    HANDLE d = NULL;
    if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &d, 0, TRUE, DUPLICATE_SAME_ACCESS))
        return NULL;
    return d;
}

static HANDLE open_nul(bool inherit) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, inherit};
    HANDLE h = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                           OPEN_EXISTING, 0, NULL);
    return h == INVALID_HANDLE_VALUE ? NULL : h;
}

/* A pipe for stream i: *parent overlapped (the server), *child inheritable. */
static int make_pipe(int i, HANDLE *parent, HANDLE *child) {
    static volatile LONG seq;
    wchar_t name[96];
    swprintf(name, sizeof name / sizeof name[0], L"\\\\.\\pipe\\cio-proc-%lu-%ld", GetCurrentProcessId(),
             (long)InterlockedIncrement(&seq));
    DWORD dir = i == 0 ? PIPE_ACCESS_OUTBOUND : PIPE_ACCESS_INBOUND;
    HANDLE s = CreateNamedPipeW(name, dir | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 65536,
                                65536, 0, NULL);
    if (s == INVALID_HANDLE_VALUE)
        return cio__win_error(GetLastError());
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    /* The attribute rights let the child query and set its end's state
     * (a C runtime asks it for the handle's mode). */
    DWORD access = i == 0 ? GENERIC_READ | FILE_WRITE_ATTRIBUTES : GENERIC_WRITE | FILE_READ_ATTRIBUTES;
    HANDLE c = CreateFileW(name, access, 0, &sa, OPEN_EXISTING, 0, NULL);
    if (c == INVALID_HANDLE_VALUE) {
        int e = cio__win_error(GetLastError());
        CloseHandle(s);
        return e;
    }
    *parent = s;
    *child = c;
    return 0;
}

static const DWORD std_ids[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};

static int child_handle(const cio_process_options *o, int i, HANDLE *child, HANDLE *parent) {
    *child = *parent = NULL;
    switch (o->stdio[i].mode) {
    case CIO_STDIO_INHERIT: {
        HANDLE h = GetStdHandle(std_ids[i]);
        /* No stream (a GUI program): the child gets NUL rather than none. */
        *child = (h && h != INVALID_HANDLE_VALUE) ? inheritable_copy(h) : NULL;
        if (!*child)
            *child = open_nul(true);
        break;
    }
    case CIO_STDIO_NULL:
        *child = open_nul(true);
        break;
    case CIO_STDIO_PIPE:
        return make_pipe(i, parent, child);
    case CIO_STDIO_HANDLE:
        *child = inheritable_copy((HANDLE)o->stdio[i].handle);
        break;
    }
    return *child ? 0 : cio__win_error(GetLastError());
}

static int dir_error(const wchar_t *cwd) {
    DWORD a = GetFileAttributesW(cwd);
    if (a == INVALID_FILE_ATTRIBUTES)
        return -CIO_ENOENT;
    return (a & FILE_ATTRIBUTE_DIRECTORY) ? 0 : -CIO_ENOTDIR;
}

int cio__proc_spawn(cio_loop *loop, cio_process *p, const cio_process_options *o) {
    p->internal_.fd = p->internal_.fd2 = p->internal_.slot = -1;
    wchar_t *app = NULL, *cmd = NULL, *env = NULL, *cwd = NULL;
    HANDLE child[3] = {NULL, NULL, NULL}, parent[3] = {NULL, NULL, NULL};
    LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
    link *l = NULL;
    int rc = resolve_program(o->file ? o->file : o->argv[0], &app);
    if (!rc)
        rc = command_line(o->argv, &cmd);
    if (!rc)
        rc = env_block(o, &env);
    if (!rc && o->cwd) {
        cwd = utf16(o->cwd);
        rc = cwd ? dir_error(cwd) : -CIO_EINVAL;
    }
    for (int i = 0; i < 3 && !rc; i++)
        rc = child_handle(o, i, &child[i], &parent[i]);
    if (!rc) {
        l = calloc(1, sizeof *l);
        if (!l)
            rc = -CIO_ENOMEM;
    }
    /* Only the stdio handles, each named once. */
    HANDLE list[3];
    DWORD n_list = 0;
    for (int i = 0; i < 3 && !rc; i++) {
        bool dup = false;
        for (DWORD j = 0; j < n_list; j++)
            dup |= list[j] == child[i];
        if (!dup)
            list[n_list++] = child[i];
    }
    if (!rc) {
        SIZE_T size = 0;
        InitializeProcThreadAttributeList(NULL, 1, 0, &size);
        attrs = malloc(size);
        if (!attrs)
            rc = -CIO_ENOMEM;
        else if (!InitializeProcThreadAttributeList(attrs, 1, 0, &size)) {
            rc = cio__win_error(GetLastError());
            free(attrs);
            attrs = NULL;
        } else if (!UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list,
                                              n_list * sizeof list[0], NULL, NULL)) {
            rc = cio__win_error(GetLastError());
        }
    }
    PROCESS_INFORMATION pi = {0};
    if (!rc) {
        STARTUPINFOEXW si;
        memset(&si, 0, sizeof si);
        si.StartupInfo.cb = sizeof si;
        si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
        si.StartupInfo.hStdInput = child[0];
        si.StartupInfo.hStdOutput = child[1];
        si.StartupInfo.hStdError = child[2];
        si.lpAttributeList = attrs;
        if (!CreateProcessW(app, cmd, NULL, NULL, TRUE, CREATE_UNICODE_ENVIRONMENT | EXTENDED_STARTUPINFO_PRESENT, env,
                            cwd, &si.StartupInfo, &pi))
            rc = cio__win_error(GetLastError());
    }
    if (attrs) {
        DeleteProcThreadAttributeList(attrs);
        free(attrs);
    }
    for (int i = 0; i < 3; i++) {
        if (child[i])
            CloseHandle(child[i]);
        if (rc && parent[i])
            CloseHandle(parent[i]);
    }
    free(app);
    free(cmd);
    free(env);
    free(cwd);
    if (rc) {
        free(l);
        return rc;
    }
    CloseHandle(pi.hThread);

    l->loop = loop;
    l->p = p;
    l->refs = 3; /* owner, hook, message */
    cio_prep_nop(&l->msg);
    l->msg.cb = on_msg;
    l->msg.data = l;
    cio_prep_nop(&l->hook);
    l->hook.cb = on_hook;
    l->hook.data = l;
    rc = cio_loop_at_close(loop, &l->hook);
    if (!rc && !RegisterWaitForSingleObject(&l->wait, pi.hProcess, on_signalled, l, INFINITE,
                                            WT_EXECUTEONLYONCE | WT_EXECUTEINWAITTHREAD))
        rc = cio__win_error(GetLastError());
    if (rc) {
        /* The child runs already: end it rather than leave it unowned. */
        TerminateProcess(pi.hProcess, 1);
        CloseHandle(pi.hProcess);
        for (int i = 0; i < 3; i++)
            if (parent[i])
                CloseHandle(parent[i]);
        if (l->hook.cb && cio_cancel(loop, &l->hook) == 0) {
            l->refs = 1; /* the hook's completion frees it */
            l->p = NULL;
            l->wait = NULL;
        } else {
            free(l);
        }
        return rc;
    }
    p->internal_.handle = pi.hProcess;
    p->internal_.link = l;
    p->pid = (int64_t)pi.dwProcessId;
    for (int i = 0; i < 3; i++)
        p->pipe[i] = parent[i] ? (cio_fd)parent[i] : CIO_FD_INVALID;
    return 0;
}

int cio__proc_arm(cio_process *p, cio_op *op, uint64_t deadline, uint64_t *recheck_at) {
    link *l = p->internal_.link;
    cio_prep_timeout(op, RECHECK_NS, 0);
    op->deadline = deadline;
    *recheck_at = cio_now(p->internal_.loop) + RECHECK_NS;
    l->waiter = op;
    return 0;
}

void cio__proc_disarm(cio_process *p, cio_op *op) {
    (void)op;
    link *l = p->internal_.link;
    l->waiter = NULL;
}

int cio__proc_reap(cio_process *p) {
    if (p->exited)
        return 1;
    if (WaitForSingleObject(p->internal_.handle, 0) != WAIT_OBJECT_0)
        return 0;
    DWORD code = 0;
    if (!GetExitCodeProcess(p->internal_.handle, &code))
        return cio__win_error(GetLastError());
    p->exit_code = (int)code;
    p->term_signal = 0;
    if (p->internal_.killed_with && code == (DWORD)(128 + p->internal_.killed_with))
        p->term_signal = p->internal_.killed_with;
    p->exited = true;
    return 1;
}

int cio__proc_kill(cio_process *p, int sig) {
    if (sig == 0)
        return 0;
    if (sig >= 128)
        return -CIO_EINVAL;
    if (!TerminateProcess(p->internal_.handle, (UINT)(128 + sig))) {
        DWORD e = GetLastError();
        /* Exited on its own, not reaped yet: as a signal to a zombie. */
        if (e == ERROR_ACCESS_DENIED && WaitForSingleObject(p->internal_.handle, 0) == WAIT_OBJECT_0)
            return 0;
        return cio__win_error(e);
    }
    if (!p->internal_.killed_with)
        p->internal_.killed_with = sig;
    return 0;
}

void cio__proc_release(cio_process *p) {
    link *l = p->internal_.link;
    link_unregister(l);
    l->p = NULL;
    l->waiter = NULL;
    if (!l->hook_done && cio_cancel(l->loop, &l->hook) != 0) {
        /* Not in flight any more (the loop is gone or its completion is
         * queued): the completion drops the reference, or nothing will. */
    }
    CloseHandle(p->internal_.handle);
    p->internal_.handle = NULL;
    p->internal_.link = NULL;
    link_unref(l);
}
