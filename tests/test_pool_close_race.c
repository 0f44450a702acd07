/*
 * tests/test_pool_close_race.c - the blocking pool's hand-back against loop
 * close (issue 7, bug 2).
 *
 * A pool thread hands a finished op back by pushing it on the loop's post
 * queue and then waking the loop. A loop that turns without waiting can
 * take the op off the queue, complete it, return, be closed and be freed
 * before the pool thread's wake: the wake then reads freed memory and
 * writes into a handle number that now belongs to something else.
 *
 * Many short loops, each in its own page: init, a few pool ops (pread of a
 * regular file on epoll/poll; statx everywhere, and on io_uring with
 * CIO_URING_DISABLE=statx so that it takes the pool), turn without
 * waiting until they are done, close, then at once open "victim" files
 * (they take the lowest free numbers: the loop's own just-closed handles)
 * and make the loop's page inaccessible. Oracles: plain fstat() says no
 * byte landed in any victim, no write hit a pipe whose reader is gone (the
 * poll backend's wake pipe: a SIGPIPE handler counts them), and no access
 * to the dead loop (SIGSEGV on the protected page). The natural race is
 * caught in most runs on poll; TSan reports it on every backend.
 *
 * CIO_TEST_PORTABLE: on Windows the hand-back wakes the loop's completion
 * port; the dead loop's page is made PAGE_NOACCESS (an access kills the
 * test), and the victims are files whose size a stray write would change.
 * There is no wake pipe (no SIGPIPE to count).
 */
#include "fs_util.h"

#if !defined(_WIN32)
#include <sys/mman.h>
#endif

enum { ITERS = 4000, OPS = 4, VICTIMS = 3, LEN = 512 };

#if defined(_WIN32)
static volatile int sigpipes; /* no SIGPIPE on Windows: stays 0 */
#else
static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig) {
    (void)sig;
    sigpipes++;
}
#endif

/* The size of the open file `fd`, from the system. */
static long long size_of(cio_fd fd) {
#if defined(_WIN32)
    LARGE_INTEGER n;
    CHECK(GetFileSizeEx((HANDLE)fd, &n));
    return (long long)n.QuadPart;
#else
    struct stat st;
    CHECK_EQ(fstat(fd, &st), 0);
    return (long long)st.st_size;
#endif
}

static int remove_file(const char *path) {
#if defined(_WIN32)
    return DeleteFileA(path) ? 0 : -1; /* the open handles keep it until they close (FILE_SHARE_DELETE) */
#else
    return unlink(path);
#endif
}

static char *region;
static size_t page;

typedef struct victims {
    cio_fd fd[VICTIMS];
    int n;
} victims;

/* Every victim must still be empty: a late wake writes 1 or 8 bytes. */
static void check_victims(victims *v, int iter) {
    for (int i = 0; i < v->n; i++) {
        long long size = size_of(v->fd[i]);
        if (size != 0) {
            fprintf(stderr, "iteration %d: %lld bytes landed in an unrelated file (victim %d)\n", iter, size, i);
            exit(1);
        }
        CHECK_EQ(t_close_handle(v->fd[i]), 0);
    }
    v->n = 0;
}

int main(void) {
#if !defined(_WIN32)
    /* Read at each cio_loop_init(): statx then takes the pool on io_uring too. */
    CHECK_EQ(setenv("CIO_URING_DISABLE", "statx,openat,fsync", 1), 0);
    /* A handler of the program's own: cio then leaves SIGPIPE alone. */
    signal(SIGPIPE, on_sigpipe);
#endif
    const char *dir = fs_mkdtemp();
    char data_path[320], victim_path[320];
    fs_path(data_path, sizeof data_path, dir, "data");
    fs_path(victim_path, sizeof victim_path, dir, "victim");
    cio_fd data = t_sys_open(data_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(data != T_FD_NONE);
    unsigned char pattern[LEN * OPS];
    for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (unsigned char)(i * 7 + 3);
    fs_write_all(data, pattern, sizeof pattern, 0);

#if defined(_WIN32)
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    page = si.dwPageSize;
    CHECK(sizeof(cio_loop) <= page);
    region = VirtualAlloc(NULL, page * ITERS, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    CHECK(region != NULL);
#else
    page = (size_t)sysconf(_SC_PAGESIZE);
    CHECK(sizeof(cio_loop) <= page);
    region = mmap(NULL, page * ITERS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(region != MAP_FAILED);
#endif

    victims prev = {{0}, 0};
    double end = t_seconds() + 4.0;
    int iters = 0;
    /* At least 50 loops however slow the machine (under Wine on a loaded
     * host 4 s gave fewer), then as many as 4 s allow. */
    for (; iters < ITERS && (iters < 50 || t_seconds() < end); iters++) {
        cio_loop *loop = (cio_loop *)(void *)(region + (size_t)iters * page);
        t_loop_init(loop, 16);
        bool readiness = cio_loop_backend(loop) != CIO_BACKEND_URING;
        t_op ops[OPS];
        unsigned char bufs[OPS][LEN];
        cio_statx stx[OPS];
        for (int k = 0; k < OPS; k++) {
            /* On io_uring a read is the kernel's: use statx there. */
            if (readiness && k % 2 == 0)
                cio_prep_read(&ops[k].op, data, bufs[k], LEN, (uint64_t)k * LEN);
            else
                cio_prep_statx(&ops[k].op, CIO_AT_FDCWD, data_path, 0, CIO_STATX_BASIC_STATS, &stx[k]);
            t_arm(&ops[k]);
            CHECK_EQ(cio_submit(loop, &ops[k].op), 0);
        }
        /* Turn without waiting: the loop then finds the hand-back on its
         * queue before the pool thread's wake. */
        double limit = t_seconds() + 10.0;
        while (cio_loop_active(loop) > 0) {
            CHECK(cio_loop_run(loop, CIO_RUN_NOWAIT) >= 0);
            CHECK(t_seconds() < limit);
        }
        t_close(loop);
        victims now = {{0}, 0};
        for (int i = 0; i < VICTIMS; i++) {
            /* A name of its own: on Windows a removed file keeps its name until its last handle closes. */
            char path[340];
            snprintf(path, sizeof path, "%s-%d-%d", victim_path, iters, i);
            now.fd[i] = t_sys_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
            CHECK(now.fd[i] != T_FD_NONE);
            now.n++;
            CHECK_EQ(remove_file(path), 0);
        }
#if defined(_WIN32)
        DWORD old;
        CHECK(VirtualProtect(loop, page, PAGE_NOACCESS, &old));
#else
        CHECK_EQ(mprotect(loop, page, PROT_NONE), 0);
#endif

        for (int k = 0; k < OPS; k++) {
            CHECK_EQ(ops[k].finals, 1);
            if (ops[k].op.opcode == CIO_OP_READ) {
                CHECK_EQ(ops[k].res, LEN);
                CHECK_EQ(memcmp(bufs[k], pattern + k * LEN, LEN), 0);
            } else {
                CHECK_EQ(ops[k].res, 0);
                CHECK_EQ(stx[k].size, sizeof pattern);
            }
        }
        /* The previous round's victims had a whole round for a late wake to land. */
        check_victims(&prev, iters - 1);
        prev = now;
        if (sigpipes) {
            fprintf(stderr, "iteration %d: a write hit the closed loop's wake pipe (SIGPIPE)\n", iters);
            exit(1);
        }
    }
    check_victims(&prev, iters - 1);
    CHECK(iters >= 50);
#if defined(_WIN32)
    CHECK(VirtualFree(region, 0, MEM_RELEASE));
#else
    CHECK_EQ(munmap(region, page * ITERS), 0);
#endif
    CHECK_EQ(t_close_handle(data), 0);
    printf("pool_close_race: %d loops closed with no late hand-back\n", iters);
    return 0;
}
