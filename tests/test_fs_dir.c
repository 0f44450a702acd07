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
        } else { /* the longest name POSIX allows; Windows: 255 UTF-16 units too */
            memset(names[i], 'n', 255);
            names[i][255] = 0;
        }
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
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
            t_stat o;
            snprintf(p, sizeof p, "%s/%s", tree, e->name);
            CHECK_EQ(t_sys_stat(p, 0, &o), 0);
            CHECK_EQ(e->ino, o.ino);
        }
    }
    CHECK_EQ(r, 0);
    CHECK_EQ(count, N);
    CHECK_EQ(cio_dir_next(&d, &e), 0); /* the end stays the end */
    CHECK(e == NULL);
    CHECK_EQ(cio_dir_close(&d), 0);
    CHECK_EQ(cio_dir_next(&d, &e), -CIO_EINVAL); /* closed */
    CHECK_EQ(cio_dir_close(&d), 0);              /* twice: nothing to do */
}

static intptr_t main_task(void) {
    if (fs_E.mock) CHECK_EQ(cio_fs_mkdir(empty, 0755), 0);
    list_tree(CIO_DIR_BUF_MIN); /* many refills */
    list_tree(4096);
    list_tree(65536); /* one or two */

    static uint64_t buf[4096 / 8];
    cio_dir d;
    const cio_dirent *e;
    CHECK_EQ(cio_dir_open(&d, empty, buf, sizeof buf), 0);
    CHECK_EQ(cio_dir_next(&d, &e), 0);
    CHECK_EQ(cio_dir_close(&d), 0);

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

    /* a listing may stop early; its handle is closed all the same */
    int before_count = fs_E.mock ? 0 : t_handle_count();
    CHECK_EQ(cio_dir_open(&d, tree, buf, sizeof buf), 0);
    CHECK_EQ(cio_dir_next(&d, &e), 1);
    CHECK_EQ(cio_dir_next(&d, NULL), -CIO_EINVAL);
    CHECK_EQ(cio_dir_close(&d), 0);
    if (!fs_E.mock) CHECK_EQ(t_handle_count(), before_count);
    return 0;
}

int main(void) {
    fs_run_main(main_task, before, 60.0);
    printf("ok\n");
    return 0;
}
