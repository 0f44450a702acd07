/*
 * src/core/thread.h - the threads, locks and time the core and the mock
 * need, over pthreads (POSIX) or Win32 (thread_win.c). The only place the
 * core names a platform's thread API: everything else calls cio__*.
 *
 * Waits take a relative time in nanoseconds (no CLOCK_REALTIME deadlines):
 * cio__cond_wait_ns returns 0 when signalled (or spuriously) and
 * -CIO_ETIMEDOUT when the time is up.
 */
#ifndef CIO_CORE_THREAD_H
#define CIO_CORE_THREAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cio/error.h"

#if defined(_WIN32)
/* SRWLOCK, CONDITION_VARIABLE and INIT_ONCE are one pointer each and zero
 * when initialised statically; kept opaque so that no core file includes
 * windows.h. thread_win.c checks the sizes. */
typedef struct { void *p_; } cio__mutex;
typedef struct { void *p_; } cio__cond;
typedef struct { void *p_; } cio__once;
typedef struct { uintptr_t id_; } cio__thread; /* the thread id */
#define CIO__MUTEX_INIT {NULL}
#define CIO__COND_INIT {NULL}
#define CIO__ONCE_INIT {NULL}

int cio__mutex_init(cio__mutex *m);
void cio__mutex_destroy(cio__mutex *m);
void cio__mutex_lock(cio__mutex *m);
void cio__mutex_unlock(cio__mutex *m);
int cio__cond_init(cio__cond *c);
void cio__cond_destroy(cio__cond *c);
void cio__cond_signal(cio__cond *c);
void cio__cond_broadcast(cio__cond *c);
void cio__cond_wait(cio__cond *c, cio__mutex *m);
int cio__cond_wait_ns(cio__cond *c, cio__mutex *m, uint64_t ns);
void cio__once_run(cio__once *o, void (*fn)(void));
cio__thread cio__thread_self(void);
bool cio__thread_equal(cio__thread a, cio__thread b);
#else
#include <pthread.h>

typedef pthread_mutex_t cio__mutex;
typedef pthread_cond_t cio__cond;
typedef pthread_once_t cio__once;
typedef pthread_t cio__thread;
#define CIO__MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
#define CIO__COND_INIT PTHREAD_COND_INITIALIZER
#define CIO__ONCE_INIT PTHREAD_ONCE_INIT

static inline int cio__mutex_init(cio__mutex *m) { return pthread_mutex_init(m, NULL) ? -CIO_ENOMEM : 0; }
static inline void cio__mutex_destroy(cio__mutex *m) { pthread_mutex_destroy(m); }
static inline void cio__mutex_lock(cio__mutex *m) { pthread_mutex_lock(m); }
static inline void cio__mutex_unlock(cio__mutex *m) { pthread_mutex_unlock(m); }
static inline int cio__cond_init(cio__cond *c) { return pthread_cond_init(c, NULL) ? -CIO_ENOMEM : 0; }
static inline void cio__cond_destroy(cio__cond *c) { pthread_cond_destroy(c); }
static inline void cio__cond_signal(cio__cond *c) { pthread_cond_signal(c); }
static inline void cio__cond_broadcast(cio__cond *c) { pthread_cond_broadcast(c); }
static inline void cio__cond_wait(cio__cond *c, cio__mutex *m) { pthread_cond_wait(c, m); }
int cio__cond_wait_ns(cio__cond *c, cio__mutex *m, uint64_t ns); /* thread_posix.c */
static inline void cio__once_run(cio__once *o, void (*fn)(void)) { pthread_once(o, fn); }
static inline cio__thread cio__thread_self(void) { return pthread_self(); }
static inline bool cio__thread_equal(cio__thread a, cio__thread b) { return pthread_equal(a, b) != 0; }
#endif

/* What a new thread runs: fn(arg). The caller cannot know when the new
 * thread has read it, so it must live as long as the program (static
 * storage): passing it by pointer spares a
 * heap record that the new thread would free, and a pool thread's first
 * free() would make glibc give that thread a malloc arena of its own
 * (64 MiB of address space, mapped while the thread's first op waits),
 * though pool threads never allocate. */
typedef struct cio__thread_entry {
    void (*fn)(void *arg);
    void *arg;
} cio__thread_entry;

/* Starts a detached thread running entry->fn(entry->arg) with a stack of
 * `stack` bytes and, on POSIX, every signal blocked (a pool thread) or
 * the caller's signal mask (a runtime worker, whose tasks must still take
 * a stack overflow's SIGSEGV); 0 or a negative error. */
int cio__thread_start(const cio__thread_entry *entry, size_t stack, bool block_signals);

/* The CPUs this process may run on (its affinity mask), at most `max`
 * into `cpus`; returns how many (at least 1: CPU 0 when unknown). */
unsigned cio__cpu_list(int *cpus, unsigned max);

/* Pins the calling thread to `cpu`: 0 or a negative error. */
int cio__thread_pin(int cpu);

/* The system's monotonic clock in nanoseconds. */
uint64_t cio__clock_ns(void);

/* A pause for a spin-wait that expects to end within microseconds. */
static inline void cio__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Sleeps at least `ns` (the pool's close spin). */
void cio__sleep_ns(uint64_t ns);

/* pthread_atfork where there is fork(); nothing on Windows. */
void cio__atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/* Once per process, before the first loop: POSIX ignores a default
 * SIGPIPE; Windows starts Winsock (WSAStartup). */
void cio__process_setup(void);

/* ---- interrupting a pool thread's blocking call (pool.c's cancel) ----
 * POSIX: a signal without SA_RESTART (EINTR); Windows: CancelSynchronousIo
 * (ERROR_OPERATION_ABORTED, mapped to -CIO_EINTR by the Windows sync ops).
 * `pending` is cleared once the interrupt has landed (POSIX: in the signal
 * handler; Windows: in the APC, once it runs). */
typedef struct cio__intr cio__intr;
void cio__intr_setup(void);                         /* once, before the first pool thread */
cio__intr *cio__intr_thread_begin(atomic_bool *pending); /* on the pool thread itself */
void cio__intr_thread_end(cio__intr *self);
int cio__intr_send(cio__intr *target);               /* 0, or the thread could not be reached */

#endif /* CIO_CORE_THREAD_H */
