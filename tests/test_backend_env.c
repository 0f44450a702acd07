/*
 * test_backend_env - what a user reads when the environment names no
 * backend cio knows: cio_loop_init() still fails with -CIO_EINVAL, and
 * stderr names the variable and its value (once per process), because
 * "invalid argument" alone does not lead anyone to a variable set in a unit
 * file or a container spec. A known value is taken silently.
 *
 * Also the text of -CIO_ENOENT, checked against the C library's own
 * (the oracle): it once read "no such file, directory or op".
 * CIO_TEST_PORTABLE (stderr captured through the C library's dup2, which Windows' has too).
 */
#include "test.h"

#include <strings.h>
#include <unistd.h> /* dup, dup2: the C library's descriptors, Windows' too */

/* Runs cio_loop_init() with stderr going to a temporary file, and returns
 * what it wrote there (in `out`, NUL-terminated). */
static int init_capturing_stderr(cio_loop *loop, char *out, size_t cap) {
    FILE *tmp = tmpfile();
    CHECK(tmp != NULL);
    fflush(stderr);
    int saved = dup(2);
    CHECK(saved >= 0);
    CHECK(dup2(fileno(tmp), 2) != -1); /* 2 on POSIX, 0 in msvcrt */
    int r = cio_loop_init(loop, NULL);
    fflush(stderr);
    CHECK(dup2(saved, 2) != -1);
    close(saved);
    CHECK(fseek(tmp, 0, SEEK_SET) == 0);
    size_t n = fread(out, 1, cap - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    return r;
}

int main(void) {
    t_watchdog();
    /* ctest names the backend under test; put it back afterwards. */
    const char *given = getenv("CIO_BACKEND");
    char backend[32] = "";
    if (given) snprintf(backend, sizeof backend, "%s", given);

    char err[512];
    cio_loop loop;
    CHECK_EQ(t_setenv("CIO_BACKEND", "foo"), 0);
    CHECK_EQ(init_capturing_stderr(&loop, err, sizeof err), -CIO_EINVAL);
    if (!strstr(err, "CIO_BACKEND=foo")) {
        fprintf(stderr, "stderr after CIO_BACKEND=foo did not name it: \"%s\"\n", err);
        exit(1);
    }
    CHECK(strstr(err, "io_uring") && strstr(err, "epoll") && strstr(err, "poll")); /* what to use */
#if defined(_WIN32)
    CHECK(strstr(err, "iocp") != NULL); /* what to use there */
#endif
    CHECK(strchr(err, '\n') == strrchr(err, '\n'));                               /* one line */
    CHECK_EQ(cio_loop_close(&loop), -CIO_EINVAL); /* left unusable, nothing to close */

    /* Once per process: a program that retries does not fill its log. */
    CHECK_EQ(init_capturing_stderr(&loop, err, sizeof err), -CIO_EINVAL);
    CHECK(strstr(err, "CIO_BACKEND") == NULL);

    /* A known name (the one ctest gave, or auto) sets up and says nothing. */
    if (backend[0])
        CHECK_EQ(t_setenv("CIO_BACKEND", backend), 0);
    else
        CHECK_EQ(t_unsetenv("CIO_BACKEND"), 0);
    CHECK_EQ(init_capturing_stderr(&loop, err, sizeof err), 0);
    CHECK_EQ(strlen(err), 0);
    t_close(&loop);

    const char *libc = strerror(ENOENT); /* "No such file or directory" on glibc and musl */
    if (strcasecmp(cio_strerror(-CIO_ENOENT), libc) != 0) {
        fprintf(stderr, "cio_strerror(-CIO_ENOENT) = \"%s\", the C library says \"%s\"\n",
                cio_strerror(-CIO_ENOENT), libc);
        exit(1);
    }
    printf("ok\n");
    return 0;
}
