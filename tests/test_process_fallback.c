/*
 * tests/test_process_fallback.c - test_process.c's cases through the POSIX
 * fallbacks: the fork/exec path with its error pipe (where
 * posix_spawn_file_actions_addchdir_np is missing) and the SIGCHLD-driven
 * wait (where there is no pidfd), forced with CIO_PROCESS_FALLBACK.
 * CIO_TEST_PORTABLE (skips itself on Windows, which has neither)
 */
#define PROC_FALLBACK "fork,sigchld"
#include "test_process.c"
