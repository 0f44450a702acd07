/*
 * src/core/thread_win.c - thread.h over Win32: SRW locks, condition
 * variables, InitOnce, _beginthreadex; the clock from QueryPerformanceCounter;
 * Winsock start-up; the pool's interrupt by CancelSynchronousIo.
 */
#include "internal.h"
#include "thread.h"

#include <process.h>
#include <stdatomic.h>
#include <string.h>
#include <windows.h>

_Static_assert(sizeof(cio__mutex) == sizeof(SRWLOCK), "cio__mutex holds an SRWLOCK");
_Static_assert(sizeof(cio__cond) == sizeof(CONDITION_VARIABLE), "cio__cond holds a CONDITION_VARIABLE");
_Static_assert(sizeof(cio__once) == sizeof(INIT_ONCE), "cio__once holds an INIT_ONCE");

#define SRW(m) ((PSRWLOCK)(void *)(m))
#define CV(c) ((PCONDITION_VARIABLE)(void *)(c))

uint64_t cio__clock_ns(void) {
    /* The frequency is fixed at boot, so threads racing on the first read
     * store the same value; relaxed atomics make that race a defined one
     * at no cost on x86-64. */
    static _Atomic uint64_t freq;
    uint64_t q = atomic_load_explicit(&freq, memory_order_relaxed);
    if (!q) {
        LARGE_INTEGER f;
        QueryPerformanceFrequency(&f);
        q = (uint64_t)f.QuadPart;
        atomic_store_explicit(&freq, q, memory_order_relaxed);
    }
    LARGE_INTEGER now;
    QueryPerformanceCounter(&now);
    uint64_t t = (uint64_t)now.QuadPart;
    return t / q * 1000000000u + t % q * 1000000000u / q;
}

int cio__mutex_init(cio__mutex *m) { InitializeSRWLock(SRW(m)); return 0; }
void cio__mutex_destroy(cio__mutex *m) { (void)m; }
void cio__mutex_lock(cio__mutex *m) { AcquireSRWLockExclusive(SRW(m)); }
void cio__mutex_unlock(cio__mutex *m) { ReleaseSRWLockExclusive(SRW(m)); }
int cio__cond_init(cio__cond *c) { InitializeConditionVariable(CV(c)); return 0; }
void cio__cond_destroy(cio__cond *c) { (void)c; }
void cio__cond_signal(cio__cond *c) { WakeConditionVariable(CV(c)); }
void cio__cond_broadcast(cio__cond *c) { WakeAllConditionVariable(CV(c)); }
void cio__cond_wait(cio__cond *c, cio__mutex *m) { SleepConditionVariableSRW(CV(c), SRW(m), INFINITE, 0); }

int cio__cond_wait_ns(cio__cond *c, cio__mutex *m, uint64_t ns) {
    uint64_t ms = (ns + 999999u) / 1000000u;
    DWORD d = ms >= INFINITE ? INFINITE - 1 : (DWORD)ms;
    if (SleepConditionVariableSRW(CV(c), SRW(m), d, 0)) return 0;
    return GetLastError() == ERROR_TIMEOUT ? -CIO_ETIMEDOUT : 0;
}

static BOOL CALLBACK once_cb(PINIT_ONCE o, PVOID fn, PVOID *ctx) {
    (void)o;
    (void)ctx;
    void (*f)(void);
    memcpy(&f, &fn, sizeof f); /* ISO C has no function-to-object pointer cast */
    f();
    return TRUE;
}

void cio__once_run(cio__once *o, void (*fn)(void)) {
    void *p;
    memcpy(&p, &fn, sizeof p);
    InitOnceExecuteOnce((PINIT_ONCE)(void *)o, once_cb, p, NULL);
}

cio__thread cio__thread_self(void) { return (cio__thread){GetCurrentThreadId()}; }
bool cio__thread_equal(cio__thread a, cio__thread b) { return a.id_ == b.id_; }

static unsigned __stdcall trampoline(void *p) {
    const cio__thread_entry *e = p;
    e->fn(e->arg);
    return 0;
}

int cio__thread_start(const cio__thread_entry *entry, size_t stack, bool block_signals) {
    (void)block_signals; /* Windows delivers no signals to threads */
    uintptr_t h = _beginthreadex(NULL, (unsigned)stack, trampoline, (void *)entry, STACK_SIZE_PARAM_IS_A_RESERVATION,
                                 NULL);
    if (!h) return -CIO_EAGAIN;
    CloseHandle((HANDLE)h); /* detached */
    return 0;
}

unsigned cio__cpu_list(int *cpus, unsigned max) {
    DWORD_PTR mine = 0, sys = 0;
    unsigned n = 0;
    if (GetProcessAffinityMask(GetCurrentProcess(), &mine, &sys))
        for (int c = 0; c < (int)(8 * sizeof mine) && n < max; c++)
            if (mine & ((DWORD_PTR)1 << c)) cpus[n++] = c;
    if (n == 0 && max > 0) cpus[n++] = 0;
    return n;
}

int cio__thread_pin(int cpu) {
    if (cpu < 0 || cpu >= (int)(8 * sizeof(DWORD_PTR))) return -CIO_EINVAL;
    return SetThreadAffinityMask(GetCurrentThread(), (DWORD_PTR)1 << cpu) ? 0 : -CIO_EINVAL;
}

void cio__sleep_ns(uint64_t ns) { Sleep((DWORD)((ns + 999999u) / 1000000u)); }

void cio__atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
    (void)prepare;
    (void)parent;
    (void)child;
}

static INIT_ONCE wsa_once = INIT_ONCE_STATIC_INIT;
static BOOL CALLBACK wsa_start(PINIT_ONCE o, PVOID p, PVOID *ctx) {
    (void)o;
    (void)p;
    (void)ctx;
    WSADATA d;
    WSAStartup(MAKEWORD(2, 2), &d); /* never undone: the process ends it */
    return TRUE;
}
void cio__process_setup(void) { InitOnceExecuteOnce(&wsa_once, wsa_start, NULL, NULL); }

/* ---- the pool's interrupt ---- */

struct cio__intr {
    HANDLE thread; /* THREAD_TERMINATE for CancelSynchronousIo, THREAD_SET_CONTEXT for QueueUserAPC */
    atomic_bool *pending;
};
static _Thread_local cio__intr self_intr;

void cio__intr_setup(void) {}

cio__intr *cio__intr_thread_begin(atomic_bool *pending) {
    self_intr.thread = OpenThread(THREAD_TERMINATE | THREAD_SET_CONTEXT, FALSE, GetCurrentThreadId());
    self_intr.pending = pending;
    return &self_intr;
}

void cio__intr_thread_end(cio__intr *self) {
    SleepEx(0, TRUE); /* runs a queued interrupt APC while its `pending` still lives */
    if (self->thread) CloseHandle(self->thread);
    self->thread = NULL;
}

/* Runs on the pool thread itself, once it waits alertably: the interrupt
 * has landed, and pool.c may send the next one. Until then `pending` stays
 * set, so a loop that turns without waiting queues at most one APC per
 * POOL_RESEND_NS to a thread that cannot be interrupted now (a disk read,
 * the non-alertable wait after a CancelIoEx), not one per turn. */
static void CALLBACK intr_apc(ULONG_PTR arg) {
    atomic_store_explicit((atomic_bool *)arg, false, memory_order_relaxed);
}

/* CancelSynchronousIo reaches IO on synchronous handles; the APC ends the
 * alertable waits in which sync_ops_win.c waits for overlapped IO and
 * polls (blocking Winsock calls heed neither, so the pool does not make
 * them). Why this is safe although the call is asynchronous: the sender
 * holds pool.mu, and the worker clears its op and closes `thread`
 * (cio__intr_thread_end) under pool.mu too, so neither call can reach a
 * closed handle or a thread that moved on to a later op; an APC that lands
 * after its op finished is drained (drain_apcs) before the next alertable
 * wait, and `pending` lives in the worker's frame for as long as the
 * thread runs, so the APC's store is to live memory (an APC still queued
 * at the end is run by cio__intr_thread_end). Without the thread handle nothing was sent
 * and `pending` is cleared here. */
int cio__intr_send(cio__intr *w) {
    if (!w->thread || !QueueUserAPC(intr_apc, w->thread, (ULONG_PTR)w->pending)) {
        atomic_store_explicit(w->pending, false, memory_order_relaxed);
        return -CIO_EINVAL;
    }
    CancelSynchronousIo(w->thread); /* ERROR_NOT_FOUND: no such IO now; the APC is queued */
    return 0;
}
