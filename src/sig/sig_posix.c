/*
 * src/sig/sig_posix.c - signals on POSIX: the process-wide handler, the
 * self-pipe of each loop, and (Linux) a signalfd for blocked signals.
 *
 * The handler is installed per signal with the first loop that watches it
 * and the earlier disposition comes back with the last (sig.c counts).
 * It runs in signal context, so it does only what is async-signal-safe:
 * atomic counters and write(2) of one byte to each watching loop's pipe
 * (cio__sig_deliver in sig.c), then the program's own earlier handler,
 * if it had one. errno is kept.
 *
 * The signalfd: a signal blocked in every thread never runs the handler,
 * it stays pending until something takes it. When the thread that adds a
 * signal blocks it, the loop also reads it from a signalfd (see
 * cio/signal.h for the rule): a CIO_OP_POLL on it while someone waits,
 * then a non-blocking read(2) on the loop's thread, and each siginfo read
 * is delivered to every watching loop as the handler does.
 */
#if !defined(_GNU_SOURCE) && defined(__linux__)
#define _GNU_SOURCE /* pipe2, before any header (the POSIX-only build defines no more than POSIX) */
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/signalfd.h>
#endif

#include "sig_internal.h"

#if defined(NSIG)
_Static_assert(NSIG <= 128, "signal numbers fit the masks");
#endif

/* What each signal had before cio's handler (under sig.c's lock), and
 * the earlier handler function the handler chains to (read in signal
 * context, hence atomics). */
static struct sigaction g_prev[CIO_SIGNAL_MAX];
static _Atomic uintptr_t g_chain[CIO_SIGNAL_MAX];
static _Atomic bool g_chain_info[CIO_SIGNAL_MAX];

static void on_signal(int signo, siginfo_t *info, void *uctx) {
    int saved = errno;
    cio__sig_deliver(signo);
    if (signo > 0 && signo < CIO_SIGNAL_MAX) {
        uintptr_t fn = atomic_load(&g_chain[signo]);
        if (fn && atomic_load(&g_chain_info[signo]))
            ((void (*)(int, siginfo_t *, void *))fn)(signo, info, uctx);
        else if (fn)
            ((void (*)(int))fn)(signo);
    }
    errno = saved;
}

static bool is_ours(const struct sigaction *sa) {
    return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_signal;
}

bool cio__sig_os_valid(int signo) {
#if defined(NSIG)
    if (signo >= NSIG) return false;
#endif
    switch (signo) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
        return false;
    default:
        break;
    }
#if defined(SIGRTMAX)
    if (signo == SIGRTMAX - 2) return false; /* the blocking pool's (cio/loop.h) */
#endif
    return true;
}

int cio__sig_os_watch(int signo) {
    struct sigaction old;
    if (sigaction(signo, NULL, &old) < 0) return -errno;
    /* Ours already: a forked child inherits it with the counts. */
    if (!is_ours(&old)) {
        g_prev[signo] = old;
        uintptr_t fn = 0;
        bool info = (old.sa_flags & SA_SIGINFO) != 0;
        if (info)
            fn = (uintptr_t)old.sa_sigaction;
        else if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
            fn = (uintptr_t)old.sa_handler;
        atomic_store(&g_chain_info[signo], info);
        atomic_store(&g_chain[signo], fn);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(signo, &sa, NULL) < 0) {
        int e = -errno;
        atomic_store(&g_chain[signo], 0);
        return e;
    }
    return 0;
}

void cio__sig_os_unwatch(int signo) {
    struct sigaction cur;
    /* Someone replaced cio's handler since: theirs stays. */
    if (sigaction(signo, NULL, &cur) == 0 && is_ours(&cur)) sigaction(signo, &g_prev[signo], NULL);
    atomic_store(&g_chain[signo], 0);
}

static int set_flags(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    return 0;
}

int cio__sig_os_wake_open(sig_wake *w) {
    int p[2];
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) || defined(__DragonFly__)
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) return -errno;
#else
    /* No pipe2: a fork between these calls would leak the ends into the
     * child until it execs. */
    if (pipe(p) < 0) return -errno;
    int e = 0;
    for (int i = 0; i < 2 && !e; i++) {
        if (fcntl(p[i], F_SETFD, FD_CLOEXEC) < 0)
            e = -errno;
        else
            e = set_flags(p[i]);
    }
    if (e < 0) {
        close(p[0]);
        close(p[1]);
        return e;
    }
#endif
    (void)set_flags;
    w->rfd = p[0];
    w->wfd = p[1];
    return 0;
}

void cio__sig_os_poke(uintptr_t wake) {
    int fd = (int)(intptr_t)wake;
    if (fd < 0) return;
    char b = 1;
    ssize_t r = write(fd, &b, 1); /* EAGAIN: a full pipe wakes the loop anyway */
    (void)r;
}

void cio__sig_os_close_now(cio_fd fd) {
    if (fd >= 0) close(fd);
}

void cio__sig_os_yield(void) { sched_yield(); }

void cio__sig_os_prep_read(sig_wake *w) {
    cio_prep_read(&w->rd, w->rfd, w->rbuf, sizeof w->rbuf, CIO_OFFSET_CURRENT);
}

#if defined(__linux__)

void cio__sig_os_init(sig_wake *w) {
    w->os.sfd = -1;
    sigemptyset(&w->os.set);
    w->os.nset = 0;
}

/* Takes what is pending for it and delivers it to every watching loop. */
static void sfd_drain(sig_wake *w) {
    if (w->os.sfd < 0) return;
    struct signalfd_siginfo si[8];
    for (int round = 0; round < 64; round++) {
        ssize_t n = read(w->os.sfd, si, sizeof si);
        if (n <= 0) break;
        for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++) cio__sig_deliver((int)si[i].ssi_signo);
    }
}

int cio__sig_os_add(sig_wake *w, int signo) {
    sigset_t cur;
    if (pthread_sigmask(SIG_BLOCK, NULL, &cur) != 0 || !sigismember(&cur, signo)) return 0;
    sigaddset(&w->os.set, signo);
    int fd = signalfd(w->os.sfd, &w->os.set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        int e = -errno;
        sigdelset(&w->os.set, signo);
        return e;
    }
    w->os.sfd = fd;
    w->os.nset++;
    /* Pending already: no wake-up will come for it. */
    sfd_drain(w);
    return 0;
}

void cio__sig_os_remove(sig_wake *w, int signo) {
    if (!w || !sigismember(&w->os.set, signo)) return;
    sigdelset(&w->os.set, signo);
    w->os.nset--;
    if (w->os.sfd >= 0) signalfd(w->os.sfd, &w->os.set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void on_sfd_poll(cio_loop *loop, cio_op *op) {
    (void)loop;
    sig_wake *w = op->data;
    w->os.poll_inflight = false;
    if (!cio__sig_wake_op_done(w)) return;
    if (op->res < 0 && op->res != -CIO_ECANCELED && op->res != -CIO_EINTR && op->res != -CIO_EAGAIN)
        w->os.failed = true;
    if (op->res > 0) sfd_drain(w);
    cio__sig_wake_collect(w);
}

int cio__sig_os_arm(sig_wake *w, cio_loop *loop) {
    if (w->os.sfd < 0 || !w->os.nset || w->os.poll_inflight || w->os.failed) return 0;
    cio_prep_poll(&w->os.poll, w->os.sfd, CIO_POLLIN);
    w->os.poll.cb = on_sfd_poll;
    w->os.poll.data = w;
    int e = cio_submit(loop, &w->os.poll);
    if (e < 0) return e;
    w->os.poll_inflight = true;
    w->ops++;
    return 0;
}

void cio__sig_os_disarm(sig_wake *w, cio_loop *loop) {
    if (w->os.poll_inflight) cio_cancel(loop, &w->os.poll);
}

void cio__sig_os_teardown(sig_wake *w, cio_loop *loop) { cio__sig_os_disarm(w, loop); }

void cio__sig_os_release(sig_wake *w) {
    if (w->os.sfd >= 0) close(w->os.sfd);
    w->os.sfd = -1;
}

#endif /* __linux__ (elsewhere: the no-ops of sig_internal.h) */
