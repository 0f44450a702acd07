/*
 * tests/test_fs_dir.c - listing a directory with cio_dir_open/next/close:
 * every entry exactly once ("." and ".." never), with its type and inode,
 * across many refills of a small buffer; an empty directory; names up to
 * 255 bytes; bad input (buffer too small or misaligned, not a directory,
 * missing, use after close).
 *
 * Oracle: the set of names the test made with plain system calls
 * (tests/port.h: open, mkdir) in a fresh directory, and their stat(2)
 * inode numbers; on the mock the files are made through the mock's own
 * cio_mock_file_put (a subdirectory is made by putting a file into it).
 *
 * CIO_TEST_PORTABLE
 *
 * CIO_TEST_SEEDS_EXACT: it also runs under 1,000 mock seeds, without faults (tests/CMakeLists.txt).
 */
#include "fs_l3.h"

#define NFILES 150
#define NDIRS 20
#define N (NFILES + NDIRS + 1)

static char names[N][260];
static int seen[N];
static int is_dir[N];

static void make_tree(const char *dir) {
    for (int i = 0; i < N; i++) {
        char p[900];
        if (i < NFILES) {
            snprintf(names[i], sizeof names[i], "file_%03d", i);
        } else if (i < NFILES + NDIRS) {
            snprintf(names[i], sizeof names[i], "dir_%03d", i);
            is_dir[i] = 1;
        } else { /* the longest name POSIX allows (NAME_MAX); on Windows as long as
                    the oracle's ANSI calls take (MAX_PATH for the whole path) */
            size_t l = 255;
            if (t_on_windows() && strlen(dir) + 1 + l > 259) l = 259 - strlen(dir) - 1;
            memset(names[i], 'n', l);
            names[i][l] = 0;
        }
        CHECK(snprintf(p, sizeof p, "%s/%s", dir, names[i]) < (int)sizeof p);
        if (fs_E.mock) {
            if (is_dir[i]) {
                char q[1000];
                snprintf(q, sizeof q, "%s/inner", p);
                CHECK_EQ(cio_mock_file_put(&fs_E.loop, q, "x", 1), 0);
            } else {
                CHECK_EQ(cio_mock_file_put(&fs_E.loop, p, "x", 1), 0);
            }
        } else if (is_dir[i]) {
            CHECK_EQ(t_sys_mkdir(p, 0755), 0);
        } else {
            cio_fd fd = t_sys_open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
            CHECK(fd != T_FD_NONE);
            CHECK_EQ(t_close_handle(fd), 0);
        }
    }
}

static char tree[600], empty[600];

static void before(void) {
    fs_p(tree, sizeof tree, "tree");
    fs_p(empty, sizeof empty, "empty");
    if (!fs_E.mock) {
        CHECK_EQ(t_sys_mkdir(tree, 0755), 0);
        CHECK_EQ(t_sys_mkdir(empty, 0755), 0);
        make_tree(tree);
    } else {
        make_tree("/fsbase/tree"); /* makes /fsbase and /fsbase/tree too */
    }
}

/* Lists `dir` with a buffer of `cap` bytes and checks it against the tree. */
static void list_tree(uint32_t cap) {
    static uint64_t storage[65536 / 8];
    CHECK(cap <= sizeof storage);
    memset(seen, 0, sizeof seen);
    cio_dir d;
    CHECK_EQ(cio_dir_open(&d, tree, storage, cap), 0);
    const cio_dirent *e;
    int32_t r;
    int count = 0;
    while ((r = cio_dir_next(&d, &e)) == 1) {
        CHECK(count++ < N);
        CHECK(strcmp(e->name, ".") != 0 && strcmp(e->name, "..") != 0);
        int i;
        for (i = 0; i < N; i++)
            if (strcmp(names[i], e->name) == 0) break;
        if (i == N) {
            fprintf(stderr, "unexpected entry '%s'\n", e->name);
            exit(1);
        }
        CHECK_EQ(seen[i], 0);
        seen[i] = 1;
        if (e->type != CIO_DT_UNKNOWN) CHECK_EQ(e->type, is_dir[i] ? CIO_DT_DIR : CIO_DT_REG);
        CHECK_EQ((uintptr_t)e & 7u, 0);
        if (!fs_E.mock && e->ino) {
            char p[900];
            t_stat o = {0};
            snprintf(p, sizeof p, "%s/%s", tree, e->name);
            CHECK_EQ(t_sys_stat(p, 0, &o), 0);
            CHECK_EQ(e->ino, o.ino);
        }
    }
    if (r != 0) fprintf(stderr, "listing with a %u-byte buffer: %s after %d entries\n", cap, cio_strerror(r), count);
    CHECK_EQ(r, 0);
    CHECK_EQ(count, N);
    CHECK_EQ(cio_dir_next(&d, &e), 0); /* the end stays the end */
    CHECK(e == NULL);
    CHECK_EQ(cio_dir_close(&d), 0);
    CHECK_EQ(cio_dir_next(&d, &e), -CIO_EINVAL); /* closed */
    CHECK_EQ(cio_dir_close(&d), 0);              /* twice: nothing to do */
}

/* Under Wine 8 CIO_OP_READDIR fails at once: its NtQueryDirectoryFile
 * answers STATUS_NOT_IMPLEMENTED when given an event, which the IOCP
 * backend's readdir passes (work for the ops helper, issue 11). Only
 * that exact failure under Wine skips the listing cases. */
static int wine_no_readdir = -1;
static bool readdir_missing_under_wine(void) {
    if (wine_no_readdir >= 0) return wine_no_readdir;
    wine_no_readdir = 0;
    if (!t_under_wine()) return false;
    static uint64_t buf[4096 / 8];
    cio_dir d;
    const cio_dirent *e;
    CHECK_EQ(cio_dir_open(&d, tree, buf, sizeof buf), 0);
    int32_t r = cio_dir_next(&d, &e);
    CHECK_EQ(cio_dir_close(&d), 0);
    wine_no_readdir = r == -CIO_EINVAL;
    return wine_no_readdir;
}

static intptr_t main_task(void) {
    static uint64_t buf[4096 / 8];
    cio_dir d;
    const cio_dirent *e;
    if (fs_E.mock) CHECK_EQ(cio_fs_mkdir(empty, 0755), 0);
    if (readdir_missing_under_wine()) {
        t_skip_case_(__FILE__, "listing",
                     "Wine 8: NtQueryDirectoryFile with an event is STATUS_NOT_IMPLEMENTED (READDIR fails "
                     "with -CIO_EINVAL; /work/notes/fs-to-ops.md)");
    } else {
        list_tree(CIO_DIR_BUF_MIN); /* many refills */
        list_tree(4096);
        list_tree(65536); /* one or two */
        CHECK_EQ(cio_dir_open(&d, empty, buf, sizeof buf), 0);
        CHECK_EQ(cio_dir_next(&d, &e), 0);
        CHECK_EQ(cio_dir_close(&d), 0);
    }

    /* bad input: nothing is left open */
    char f[900], m[600];
    snprintf(f, sizeof f, "%s/%s", tree, names[0]);
    fs_p(m, sizeof m, "missing");
    CHECK_EQ(cio_dir_open(&d, tree, buf, CIO_DIR_BUF_MIN - 1), -CIO_EINVAL);
    CHECK_EQ(cio_dir_open(&d, tree, (char *)buf + 4, 2048), -CIO_EINVAL);
    CHECK_EQ(cio_dir_open(&d, tree, NULL, 2048), -CIO_EINVAL);
    CHECK_EQ(cio_dir_open(&d, NULL, buf, 2048), -CIO_EINVAL);
    CHECK_EQ(cio_dir_open(NULL, tree, buf, 2048), -CIO_EINVAL);
    CHECK_EQ(cio_dir_open(&d, f, buf, sizeof buf), -CIO_ENOTDIR);
    CHECK_EQ(cio_dir_open(&d, m, buf, sizeof buf), -CIO_ENOENT);
    CHECK_EQ(cio_dir_next(&d, &e), -CIO_EINVAL);
    CHECK_EQ(cio_dir_close(&d), 0);
    CHECK_EQ(cio_dir_next(NULL, &e), -CIO_EINVAL);
    CHECK_EQ(cio_dir_close(NULL), -CIO_EINVAL);

    /* A listing may stop early; its handle is closed all the same. Many listings, so that a leak of one
     * handle each stands out: on Windows the process's handle count also holds the thread pool's and Wine's
     * own handles, which come and go (one more was seen in CI), so there a few may differ. */
    enum { EARLY_STOPS = 32 };
    int before_count = fs_E.mock ? 0 : t_handle_count();
    for (int i = 0; i < EARLY_STOPS; i++) {
        CHECK_EQ(cio_dir_open(&d, tree, buf, sizeof buf), 0);
        if (!readdir_missing_under_wine()) CHECK_EQ(cio_dir_next(&d, &e), 1);
        CHECK_EQ(cio_dir_next(&d, NULL), -CIO_EINVAL);
        CHECK_EQ(cio_dir_close(&d), 0);
    }
#if defined(_WIN32)
    if (!fs_E.mock) CHECK(t_handle_count() <= before_count + 4);
#else
    if (!fs_E.mock) CHECK_EQ(t_handle_count(), before_count);
#endif
    return 0;
}

int main(void) {
    fs_run_main(main_task, before, 60.0);
    printf("ok\n");
    return 0;
}
