/*
 * tests/test_fs_trunc_blocks.c - space that fallocate's KEEP_SIZE placed
 * past a file's end is freed by a truncate that does not grow the file
 * (ftruncate to the same size, O_TRUNC of an empty file), as tmpfs and ext4
 * do (shmem_setattr frees from the new size on whenever it is not larger).
 * The mock used to keep those pages when the size did not change, so its
 * capacity stayed taken.
 *
 * Oracles: fstat(2)'s st_blocks on the real backends (Linux: POSIX has no
 * KEEP_SIZE, the test skips where the file system refuses it); on the
 * mock, Linux's tmpfs answer (0 blocks) against its statx, which counts
 * blocks as tmpfs does.
 *
 * CIO_TEST_SEEDS_EXACT: the mock runs it under the seeds (it checks exact counts).
 */
#include "fs_util.h"

#include <sys/stat.h>

static cio_loop L;
static bool mock;

static uint64_t blocks(cio_fd fd) {
    if (!mock) {
        struct stat st;
        CHECK_EQ(fstat((int)fd, &st), 0);
        return (uint64_t)st.st_blocks;
    }
    cio_statx sx;
    t_op t;
    cio_prep_statx(&t.op, fd, "", CIO_AT_EMPTY_PATH, CIO_STATX_BASIC_STATS, &sx);
    CHECK_EQ(fs_do(&L, &t), 0);
    return sx.blocks;
}

/* Reserves 64 KiB past the end of the empty file `fd`; false: the file
 * system cannot. */
static bool reserve(cio_fd fd) {
    t_op t;
    cio_prep_fallocate(&t.op, fd, CIO_FALLOCATE_KEEP_SIZE, 0, 65536);
    int32_t r = fs_do(&L, &t);
    if (r == -CIO_ENOTSUP) return false;
    CHECK_EQ(r, 0);
    CHECK(blocks(fd) >= 65536 / 512);
    return true;
}

int main(void) {
#if !defined(__linux__)
    printf("SKIP test_fs_trunc_blocks: KEEP_SIZE is Linux's\n");
    return 0;
#endif
    t_loop_init(&L, 16);
    mock = cio_loop_backend(&L) == CIO_BACKEND_MOCK;
    char base[600], path[700];
    if (mock) {
        snprintf(base, sizeof base, "/t");
        t_op t;
        cio_prep_mkdirat(&t.op, CIO_AT_FDCWD, base, 0755);
        CHECK_EQ(fs_do(&L, &t), 0);
    } else {
        snprintf(base, sizeof base, "%s", fs_mkdtemp());
    }
    fs_path(path, sizeof path, base, "kept");
    cio_fd fd = fs_open_ok(&L, path, CIO_O_RDWR | CIO_O_CREAT | CIO_O_TRUNC);
    if (!reserve(fd)) {
        printf("SKIP test_fs_trunc_blocks: the file system of %s has no KEEP_SIZE\n", base);
        fs_close_ok(&L, fd);
        t_close(&L);
        return 0;
    }
    /* ftruncate to the size it has (0): the reservation goes. */
    t_op t;
    cio_prep_ftruncate(&t.op, fd, 0);
    CHECK_EQ(fs_do(&L, &t), 0);
    CHECK_EQ(blocks(fd), 0);
    /* O_TRUNC of the (still empty) file: the same. */
    CHECK(reserve(fd));
    cio_fd again = fs_open_ok(&L, path, CIO_O_RDWR | CIO_O_TRUNC);
    CHECK_EQ(blocks(fd), 0);
    fs_close_ok(&L, again);
    fs_close_ok(&L, fd);
    t_close(&L);
    printf("test_fs_trunc_blocks: ok (%s)\n", mock ? "mock" : "real");
    return 0;
}
