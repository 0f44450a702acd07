/*
 * src/core/thread_posix.c - thread.h over pthreads, the monotonic clock,
 * SIGPIPE, and the pool's interrupt signal (moved from pool.c and loop.c).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* CPU affinity is Linux's (sched_getaffinity, pthread_setaffinity_np); a
 * POSIX-only build (as for macOS and the BSDs) has none. */
#if defined(__linux__) && !defined(CIO_POSIX_ONLY)
#define CIO_HAVE_AFFINITY 1
#include <sched.h>
#endif

#include "internal.h"
#include "thread.h"

uint64_t cio__clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int cio__cond_wait_ns(cio__cond *c, cio__mutex *m, uint64_t ns) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ns / 1000000000u);
    until.tv_nsec += (long)(ns % 1000000000u);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(c, m, &until) == ETIMEDOUT ? -CIO_ETIMEDOUT : 0;
}

static void *trampoline(void *p) {
    const cio__thread_entry *e = p;
    e->fn(e->arg);
    return NULL;
}

int cio__thread_start(const cio__thread_entry *entry, size_t stack, bool block_signals) {
    pthread_t t;
    pthread_attr_t attr;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, stack);
    if (block_signals) pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&t, &attr, trampoline, (void *)entry);
    if (block_signals) pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return r ? -r : 0;
}

unsigned cio__cpu_list(int *cpus, unsigned max) {
    unsigned n = 0;
#ifdef CIO_HAVE_AFFINITY
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE && n < max; c++)
            if (CPU_ISSET(c, &set)) cpus[n++] = c;
#else
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    for (long c = 0; c < online && n < max; c++) cpus[n++] = (int)c;
#endif
    if (n == 0 && max > 0) cpus[n++] = 0;
    return n;
}

int cio__thread_pin(int cpu) {
#ifdef CIO_HAVE_AFFINITY
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -CIO_EINVAL;
    CPU_SET(cpu, &set);
    int r = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    return r ? -r : 0;
#else
    (void)cpu;
    return -CIO_ENOTSUP; /* no portable affinity call */
#endif
}

void cio__sleep_ns(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

void cio__atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
    pthread_atfork(prepare, parent, child);
}

/* A write to a socket or pipe whose reader is gone raises SIGPIPE, which
 * kills a process that left it at its default; sends pass MSG_NOSIGNAL,
 * but a write op cannot, and on io_uring it may run on a kernel worker.
 * So that every op reports -CIO_EPIPE alike, as servers want, cio ignores
 * SIGPIPE unless the program installed a handler of its own. */
void cio__process_setup(void) {
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
}

/* ---- the pool's interrupt (see pool.c's head comment) ---- */

/* A real-time signal nobody sends by accident; SIGUSR2 where there is none.
 * Not SIGRTMAX or SIGRTMAX - 1: qemu-user keeps those two for itself, and
 * a guest's pthread_sigqueue() of them fails with EINVAL there. */
#if defined(SIGRTMAX)
#define POOL_SIGNAL (SIGRTMAX - 2)
#else
#define POOL_SIGNAL SIGUSR2
#endif

struct cio__intr {
    pthread_t tid;
    atomic_bool *pending;
};

static struct sigaction app_action; /* what the program had installed before us */
static _Thread_local cio__intr self_intr;
static _Thread_local cio__intr *current; /* NULL on every thread but the pool's */
#if CIO_LINUX
static char marker; /* pthread_sigqueue's value: ours */
#endif

static bool sent_by_pool(const siginfo_t *info) {
#if CIO_LINUX
    return info && info->si_code == SI_QUEUE && info->si_value.sival_ptr == (void *)&marker;
#else
    (void)info;
    return current != NULL;
#endif
}

static void on_pool_signal(int sig, siginfo_t *info, void *uctx) {
    if (sent_by_pool(info)) {
        cio__intr *w = current;
        if (w) atomic_store_explicit(w->pending, false, memory_order_relaxed);
        return;
    }
    int saved = errno;
    if (app_action.sa_flags & SA_SIGINFO) {
        if (app_action.sa_sigaction) app_action.sa_sigaction(sig, info, uctx);
    } else if (app_action.sa_handler == SIG_DFL) {
        signal(sig, SIG_DFL);
        raise(sig);
    } else if (app_action.sa_handler != SIG_IGN) {
        app_action.sa_handler(sig);
    }
    errno = saved;
}

void cio__intr_setup(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_pool_signal;
    sa.sa_flags = SA_SIGINFO; /* and no SA_RESTART: that is the point */
    sigemptyset(&sa.sa_mask);
    sigaction(POOL_SIGNAL, &sa, &app_action);
}

cio__intr *cio__intr_thread_begin(atomic_bool *pending) {
    self_intr.tid = pthread_self();
    self_intr.pending = pending;
    current = &self_intr;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, POOL_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return &self_intr;
}

void cio__intr_thread_end(cio__intr *self) {
    (void)self;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, POOL_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* a signal still on its way dies with the thread */
    current = NULL;
}

int cio__intr_send(cio__intr *w) {
#if CIO_LINUX
    union sigval v;
    v.sival_ptr = (void *)&marker;
    int r = pthread_sigqueue(w->tid, POOL_SIGNAL, v);
#else
    int r = pthread_kill(w->tid, POOL_SIGNAL);
#endif
    return r ? -r : 0;
}
