/*
 * src/proc/process_posix.c - spawning and reaping children on POSIX.
 *
 * Spawn: posix_spawn(). With CLONE_VFORK underneath (glibc, musl), it is
 * cheap whatever the parent's size, runs no pthread_atfork handlers (the
 * task layer's among them) and reports a failed exec as its return value,
 * so a missing program is the spawn's -CIO_ENOENT, not a child exiting
 * 127. A working directory needs posix_spawn_file_actions_addchdir_np
 * (glibc 2.29+, musl 1.1.24+, macOS 10.15+, FreeBSD 13.1+); where the C
 * library lacks it, fork() and exec, with a close-on-exec pipe through
 * which the child writes exec's errno (the pipe closes unread on success).
 * The fork path allocates nothing after fork(): the argument and
 * environment arrays and the PATH candidates are made before.
 *
 * Descriptors: every one cio makes here is close-on-exec. The child's
 * streams come from dup2() onto 0, 1, 2 from sources numbered 3 or more
 * (a caller's handle or /dev/null is first duplicated up there), so that
 * one stream's source is never overwritten by another's dup2, and dup2()
 * clears close-on-exec on the copy, which is all the child gets.
 *
 * The child starts with no signal blocked and every signal at its default
 * action: it must not inherit the loop thread's mask (a program that waits
 * for SIGINT through a signalfd blocks it) nor an ignored SIGPIPE.
 *
 * Exit: on Linux a pidfd (pidfd_open, 5.3+) that a CIO_OP_POLL awaits on
 * any backend. Without one (another system, an older kernel, or a pidfd
 * refused), a process-wide SIGCHLD handler, installed once and chained to
 * the handler it replaced, writes a byte into a non-blocking pipe per
 * waited child (a table of slots); the wait polls that pipe's read end and
 * also looks again every RECHECK_NS, so that a SIGCHLD that is blocked,
 * taken over or lost costs latency, not the exit. Either way the child is
 * reaped with waitpid(pid, WNOHANG) on its own pid only.
 *
 * Testing knob: CIO_PROCESS_FALLBACK in the environment, a list containing
 * "fork" (the fork path even where posix_spawn could do it) and/or
 * "sigchld" (the SIGCHLD wait even where a pidfd works).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__) && !defined(CIO_POSIX_ONLY)
#include <sys/syscall.h>
#endif

#include "cio/error.h"
#include "cio/loop.h"
#include "cio/op.h"
#include "cio/process.h"
#include "proc_internal.h"

extern char **environ;

#if defined(__linux__) && !defined(CIO_POSIX_ONLY) && defined(SYS_pidfd_open)
#define HAVE_PIDFD 1
#endif

#if !defined(CIO_POSIX_ONLY) &&                                                                          \
    ((defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))))
#define HAVE_ADDCHDIR 1
#endif

#define PROC_SIGCHLD PROC_PLAT_A /* awaited through the SIGCHLD pipe, not a pidfd */

#define RECHECK_NS (100 * 1000 * 1000ull)

/* ---- descriptors ---- */

static int cloexec_pipe(int fds[2], bool nonblock) {
#if (defined(__linux__) && defined(_GNU_SOURCE)) || defined(__FreeBSD__) || defined(__NetBSD__) || \
    defined(__OpenBSD__) || defined(__DragonFly__)
    if (pipe2(fds, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)) < 0)
        return -errno;
#else
    /* No pipe2: a fork elsewhere may catch the pair before FD_CLOEXEC. */
    if (pipe(fds) < 0)
        return -errno;
    for (int i = 0; i < 2; i++) {
        (void)fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        if (nonblock)
            (void)fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    }
#endif
    return 0;
}

/* A close-on-exec copy of `fd` numbered 3 or more. */
static int dup_high(int fd) {
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    return d < 0 ? -errno : d;
}

static void close_fd(int *fd) {
    if (*fd >= 0) {
        int e = errno;
        (void)close(*fd);
        errno = e;
        *fd = -1;
    }
}

static bool fallback_has(const char *what) {
    const char *v = getenv("CIO_PROCESS_FALLBACK");
    return v && strstr(v, what);
}

/* ---- the environment ---- */

static size_t name_len(const char *entry) {
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* The child's environment; *owned is set when the array was allocated. */
static int build_env(const cio_process_options *o, char ***out, bool *owned) {
    *owned = false;
    if (o->env_mode == CIO_ENV_INHERIT) {
        *out = environ;
        return 0;
    }
    if (o->env_mode == CIO_ENV_REPLACE) {
        *out = (char **)(uintptr_t)o->env;
        return 0;
    }
    size_t n_env = 0, n_add = 0;
    for (char **e = environ; e && *e; e++)
        n_env++;
    while (o->env[n_add])
        n_add++;
    char **v = malloc((n_env + n_add + 1) * sizeof *v);
    if (!v)
        return -CIO_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++) {
        const char *e = environ[i];
        size_t len = name_len(e);
        bool replaced = false;
        for (size_t j = 0; j < n_add && !replaced; j++)
            replaced = name_len(o->env[j]) == len && memcmp(o->env[j], e, len) == 0;
        if (!replaced)
            v[k++] = (char *)(uintptr_t)e;
    }
    for (size_t j = 0; j < n_add; j++)
        v[k++] = (char *)(uintptr_t)o->env[j];
    v[k] = NULL;
    *out = v;
    *owned = true;
    return 0;
}

/* ---- the SIGCHLD fallback ---- */

#define CHLD_SLOTS 256

static struct {
    pthread_once_t once;
    int install_error;
    struct sigaction old;
    atomic_int slot[CHLD_SLOTS]; /* write end of a waited child's pipe, or -1 */
    atomic_int busy;             /* handlers between reading a slot and writing to it */
    pthread_mutex_t lock;        /* taking and giving back slots */
} chld = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

static void chld_handler(int sig, siginfo_t *info, void *uctx) {
    int saved = errno;
    atomic_fetch_add(&chld.busy, 1);
    for (int i = 0; i < CHLD_SLOTS; i++) {
        int fd = atomic_load(&chld.slot[i]);
        if (fd >= 0) {
            char b = 0;
            ssize_t w = write(fd, &b, 1); /* a full pipe already says "look" */
            (void)w;
        }
    }
    atomic_fetch_sub(&chld.busy, 1);
    /* The handler we replaced still gets its signal. */
    if (chld.old.sa_flags & SA_SIGINFO) {
        if (chld.old.sa_sigaction)
            chld.old.sa_sigaction(sig, info, uctx);
    } else if (chld.old.sa_handler != SIG_DFL && chld.old.sa_handler != SIG_IGN && chld.old.sa_handler) {
        chld.old.sa_handler(sig);
    }
    errno = saved;
}

static void chld_install(void) {
    for (int i = 0; i < CHLD_SLOTS; i++)
        atomic_init(&chld.slot[i], -1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = chld_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
    sigfillset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, &chld.old) < 0)
        chld.install_error = -errno;
}

/* The pipe that SIGCHLD pokes for `p`. With every slot taken the wait
 * still works, by the periodic re-check alone (slot -1). */
static int chld_attach(cio_process *p) {
    pthread_once(&chld.once, chld_install);
    if (chld.install_error)
        return chld.install_error;
    int fds[2];
    int rc = cloexec_pipe(fds, true);
    if (rc < 0)
        return rc;
    p->internal_.fd = fds[0];
    p->internal_.fd2 = fds[1];
    p->internal_.slot = -1;
    pthread_mutex_lock(&chld.lock);
    for (int i = 0; i < CHLD_SLOTS; i++) {
        if (atomic_load(&chld.slot[i]) < 0) {
            atomic_store(&chld.slot[i], fds[1]);
            p->internal_.slot = i;
            break;
        }
    }
    pthread_mutex_unlock(&chld.lock);
    return 0;
}

static void chld_detach(cio_process *p) {
    if (p->internal_.slot >= 0) {
        pthread_mutex_lock(&chld.lock);
        atomic_store(&chld.slot[p->internal_.slot], -1);
        pthread_mutex_unlock(&chld.lock);
        /* A handler that read the slot before it was cleared may still be
         * about to write to the descriptor: wait until none is inside
         * before closing it (its number could be reused at once). */
        while (atomic_load(&chld.busy) != 0)
            sched_yield();
        p->internal_.slot = -1;
    }
    close_fd(&p->internal_.fd2);
    close_fd(&p->internal_.fd);
}

/* ---- spawning ---- */

/* What the child's stream i is duplicated from (-1: inherit as is). */
typedef struct spawn_plan {
    int src[3];      /* close-on-exec, numbered >= 3, closed by the parent afterwards */
    int parent[3];   /* the parent's pipe ends */
} spawn_plan;

static void plan_close(spawn_plan *pl, bool parent_too) {
    for (int i = 0; i < 3; i++) {
        close_fd(&pl->src[i]);
        if (parent_too)
            close_fd(&pl->parent[i]);
    }
}

static int plan_make(const cio_process_options *o, spawn_plan *pl) {
    for (int i = 0; i < 3; i++)
        pl->src[i] = pl->parent[i] = -1;
    for (int i = 0; i < 3; i++) {
        int rc = 0;
        switch (o->stdio[i].mode) {
        case CIO_STDIO_INHERIT:
            break;
        case CIO_STDIO_NULL: {
            int fd = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
            if (fd < 0) {
                rc = -errno;
                break;
            }
            if (fd < 3) {
                rc = dup_high(fd);
                close_fd(&fd);
                if (rc < 0)
                    break;
                fd = rc;
                rc = 0;
            }
            pl->src[i] = fd;
            break;
        }
        case CIO_STDIO_PIPE: {
            int fds[2];
            rc = cloexec_pipe(fds, false);
            if (rc < 0)
                break;
            /* stdin: the child reads fds[0]; stdout, stderr: it writes fds[1]. */
            int child = i == 0 ? fds[0] : fds[1];
            pl->parent[i] = i == 0 ? fds[1] : fds[0];
            if (child < 3) {
                rc = dup_high(child);
                close_fd(&child);
                if (rc < 0)
                    break;
                child = rc;
                rc = 0;
            }
            pl->src[i] = child;
            break;
        }
        case CIO_STDIO_HANDLE:
            /* Always a copy of our own: the caller's may be one of 0-2 or
             * lack close-on-exec; dup2 from the copy clears it in the child. */
            rc = dup_high((int)o->stdio[i].handle);
            if (rc >= 0) {
                pl->src[i] = rc;
                rc = 0;
            }
            break;
        }
        if (rc < 0) {
            plan_close(pl, true);
            return rc;
        }
    }
    return 0;
}

static void child_sigdefaults(sigset_t *all) {
    sigfillset(all);
    sigdelset(all, SIGKILL);
    sigdelset(all, SIGSTOP);
}

static int spawn_posix(const cio_process_options *o, const spawn_plan *pl, char **envp, pid_t *pid) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc)
        return -rc;
    rc = posix_spawnattr_init(&at);
    if (rc) {
        posix_spawn_file_actions_destroy(&fa);
        return -rc;
    }
    sigset_t none, all;
    sigemptyset(&none);
    child_sigdefaults(&all);
    rc = posix_spawnattr_setsigmask(&at, &none);
    if (!rc)
        rc = posix_spawnattr_setsigdefault(&at, &all);
    if (!rc)
        rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    for (int i = 0; i < 3 && !rc; i++)
        if (pl->src[i] >= 0)
            rc = posix_spawn_file_actions_adddup2(&fa, pl->src[i], i);
#if defined(HAVE_ADDCHDIR)
    if (!rc && o->cwd)
        rc = posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
#endif
    if (!rc) {
        const char *file = o->file ? o->file : o->argv[0];
        char *const *argv = (char *const *)(uintptr_t)o->argv;
        if (strchr(file, '/'))
            rc = posix_spawn(pid, file, &fa, &at, argv, envp);
        else
            rc = posix_spawnp(pid, file, &fa, &at, argv, envp);
    }
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}

/* The files exec would try for `file`, in order (execvp's PATH rule). */
static char **path_candidates(const char *file) {
    if (strchr(file, '/')) {
        char **v = malloc(2 * sizeof *v);
        if (!v)
            return NULL;
        v[0] = strdup(file);
        v[1] = NULL;
        if (!v[0]) {
            free(v);
            return NULL;
        }
        return v;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/bin:/usr/bin";
    size_t n = 1;
    for (const char *s = path; *s; s++)
        n += *s == ':';
    char **v = calloc(n + 1, sizeof *v);
    if (!v)
        return NULL;
    size_t k = 0, flen = strlen(file);
    for (const char *s = path;; ) {
        const char *e = strchr(s, ':');
        size_t dlen = e ? (size_t)(e - s) : strlen(s);
        char *c = malloc(dlen + flen + 3);
        if (!c)
            break;
        if (dlen == 0) { /* an empty entry is the current directory */
            memcpy(c, "./", 2);
            dlen = 2;
        } else {
            memcpy(c, s, dlen);
            c[dlen++] = '/';
        }
        memcpy(c + dlen, file, flen + 1);
        v[k++] = c;
        if (!e)
            break;
        s = e + 1;
    }
    if (k == 0) {
        free(v);
        return NULL;
    }
    return v;
}

static void free_candidates(char **v) {
    for (char **c = v; c && *c; c++)
        free(*c);
    free(v);
}

static int spawn_fork(const cio_process_options *o, const spawn_plan *pl, char **envp, pid_t *pid) {
    char **cand = path_candidates(o->file ? o->file : o->argv[0]);
    if (!cand)
        return -CIO_ENOMEM;
    int ep[2];
    int rc = cloexec_pipe(ep, false);
    if (rc < 0) {
        free_candidates(cand);
        return rc;
    }
    sigset_t all, old;
    sigfillset(&all);
    /* No signal handler may run in the child before exec (it shares
     * nothing with the parent's state it would expect). */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = fork();
    if (child == 0) {
        int err = 0;
        sigset_t defs;
        child_sigdefaults(&defs);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++)
            if (sigismember(&defs, s) == 1)
                (void)sigaction(s, &dfl, NULL);
        for (int i = 0; i < 3 && !err; i++)
            if (pl->src[i] >= 0 && dup2(pl->src[i], i) < 0)
                err = errno;
        if (!err && o->cwd && chdir(o->cwd) < 0)
            err = errno;
        if (!err) {
            sigset_t none;
            sigemptyset(&none);
            pthread_sigmask(SIG_SETMASK, &none, NULL);
            bool eacces = false;
            for (char **c = cand; *c; c++) {
                execve(*c, (char *const *)(uintptr_t)o->argv, envp);
                err = errno;
                if (err == EACCES)
                    eacces = true;
                else if (err != ENOENT && err != ENOTDIR && err != ESTALE && err != ENODEV && err != ETIMEDOUT)
                    break;
            }
            if (eacces && (err == ENOENT || err == ENOTDIR))
                err = EACCES;
        }
        ssize_t w = write(ep[1], &err, sizeof err);
        (void)w;
        _exit(127);
    }
    int fork_err = child < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close_fd(&ep[1]);
    free_candidates(cand);
    if (child < 0) {
        close_fd(&ep[0]);
        return -fork_err;
    }
    int err = 0;
    ssize_t n;
    do
        n = read(ep[0], &err, sizeof err);
    while (n < 0 && errno == EINTR);
    close_fd(&ep[0]);
    if (n == (ssize_t)sizeof err) {
        /* The child failed before or at exec and is exiting: reap it here,
         * it is ours alone and about to go. */
        int st;
        while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
        }
        return -err;
    }
    *pid = child;
    return 0;
}

/* Kill and reap a child whose spawn cannot be completed. */
static void abandon(pid_t pid) {
    int st;
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
}

int cio__proc_spawn(cio_loop *loop, cio_process *p, const cio_process_options *o) {
    (void)loop;
    p->internal_.fd = p->internal_.fd2 = p->internal_.slot = -1;
    spawn_plan pl;
    int rc = plan_make(o, &pl);
    if (rc < 0)
        return rc;
    char **envp;
    bool env_owned;
    rc = build_env(o, &envp, &env_owned);
    if (rc < 0) {
        plan_close(&pl, true);
        return rc;
    }
    bool use_fork = fallback_has("fork");
#if !defined(HAVE_ADDCHDIR)
    if (o->cwd)
        use_fork = true;
#endif
    pid_t pid = -1;
    rc = use_fork ? spawn_fork(o, &pl, envp, &pid) : spawn_posix(o, &pl, envp, &pid);
    if (env_owned)
        free(envp);
    plan_close(&pl, rc < 0);
    if (rc < 0)
        return rc;

    /* How the exit will be seen. */
    bool have = false;
#if defined(HAVE_PIDFD)
    if (!fallback_has("sigchld")) {
        long fd = syscall(SYS_pidfd_open, pid, 0); /* close-on-exec by definition */
        if (fd >= 0) {
            p->internal_.fd = (int)fd;
            have = true;
        }
    }
#endif
    if (!have) {
        rc = chld_attach(p);
        if (rc < 0) {
            abandon(pid);
            plan_close(&pl, true);
            return rc;
        }
        p->internal_.state |= PROC_SIGCHLD;
    }
    p->pid = pid;
    for (int i = 0; i < 3; i++)
        p->pipe[i] = pl.parent[i];
    return 0;
}

int cio__proc_arm(cio_process *p, cio_op *op, uint64_t deadline, uint64_t *recheck_at) {
    cio_prep_poll(op, p->internal_.fd, CIO_POLLIN);
    op->deadline = deadline;
    *recheck_at = 0;
    if (p->internal_.state & PROC_SIGCHLD) {
        uint64_t at = cio_now(p->internal_.loop) + RECHECK_NS;
        if (!deadline || at < deadline)
            op->deadline = at;
        *recheck_at = at;
    }
    return 0;
}

void cio__proc_disarm(cio_process *p, cio_op *op) {
    (void)op;
    if (p->internal_.state & PROC_SIGCHLD) {
        char buf[64];
        while (read(p->internal_.fd, buf, sizeof buf) > 0) {
        }
    }
}

int cio__proc_reap(cio_process *p) {
    if (p->exited)
        return 1;
    int st;
    pid_t r;
    do
        r = waitpid((pid_t)p->pid, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    if (r < 0)
        return errno == ECHILD ? -CIO_ECHILD : -errno;
    if (WIFEXITED(st)) {
        p->exit_code = WEXITSTATUS(st);
        p->term_signal = 0;
    } else if (WIFSIGNALED(st)) {
        p->exit_code = 0;
        p->term_signal = WTERMSIG(st);
    } else {
        return 0; /* stopped or continued: not an exit (WUNTRACED is not asked, so rare) */
    }
    p->exited = true;
    return 1;
}

int cio__proc_kill(cio_process *p, int sig) {
#if defined(HAVE_PIDFD) && defined(SYS_pidfd_send_signal)
    if (!(p->internal_.state & PROC_SIGCHLD)) {
        if (syscall(SYS_pidfd_send_signal, p->internal_.fd, sig, NULL, 0) == 0)
            return 0;
        if (errno != ENOSYS)
            return -errno;
    }
#endif
    /* Not reaped yet (cio_process_kill checked), so the pid is still this
     * child's, a zombie at worst. */
    if (kill((pid_t)p->pid, sig) < 0)
        return -errno;
    return 0;
}

void cio__proc_release(cio_process *p) {
    if (p->internal_.state & PROC_SIGCHLD)
        chld_detach(p);
    else
        close_fd(&p->internal_.fd);
}
