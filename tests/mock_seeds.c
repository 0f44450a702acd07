/*
 * mock_seeds - runs a program unchanged on the mock backend under many
 * seeds, each in a child process, and checks what cio/mock.h promises:
 *
 *   mock_seeds <seeds> <fault ppm> [--same-output] -- <program> [args...]
 *
 * Seed s runs with CIO_BACKEND=mock CIO_MOCK_SEED=s, every invariant
 * armed (CIO_MOCK_POISON=1, CIO_MOCK_ABORT=1: a violation kills the child
 * with SIGABRT after its report) and CIO_MOCK_REPORT=1, whose closing
 * lines say how many faults struck. With <fault ppm> > 0 every fault is
 * injected at that rate (CIO_MOCK_FAULTS).
 * A run passes when the child ended by itself (no signal, within 60 s),
 * reported no violation, and, when no fault struck, exited with 0 (the
 * program's own check of its output) and, with --same-output, printed
 * exactly what the first such run printed. A run a fault struck may fail
 * (exit status not 0), but cleanly. Failures print the child's stderr,
 * which holds the replay command. The summary says how many seeds ran,
 * how many met a fault, and the seeds per minute. CIO_MOCK_SEEDS_CAP in the
 * environment caps <seeds> (the sanitizer configuration of CI sets 200).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *slurp(FILE *f) {
    fflush(f);
    long n = ftell(f);
    char *s = malloc((size_t)n + 1);
    if (!s) exit(2);
    rewind(f);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    return s;
}

/* Sums the "N faults, V violations" of the closing report lines; returns
 * how many lines there were. */
static int reports(const char *err, unsigned long long *faults, unsigned long long *violations) {
    int lines = 0;
    *faults = *violations = 0;
    /* cio mock: seed S: N ops, F faults[ (kind n, ...)], V violations, ... */
    for (const char *p = err; (p = strstr(p, "cio mock: seed ")); p++) {
        unsigned long long seed, ops, f;
        const char *v = strstr(p, " violations, ");
        const char *eol = strchr(p, '\n');
        if (sscanf(p, "cio mock: seed %llu: %llu ops, %llu faults", &seed, &ops, &f) != 3 || !v || (eol && v > eol))
            continue;
        while (v > p && v[-1] != ' ') v--; /* back to the count before " violations" */
        *faults += f;
        *violations += strtoull(v, NULL, 10);
        lines++;
    }
    return lines;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s <seeds> <fault ppm> [--same-output] -- <program> [args...]\n", argv[0]);
        return 2;
    }
    unsigned long seeds = strtoul(argv[1], NULL, 10);
    /* A sanitizer build starts each process slowly: its CI configuration
     * caps the count (the full count runs in the plain configurations). */
    const char *cap = getenv("CIO_MOCK_SEEDS_CAP");
    if (cap && *cap && strtoul(cap, NULL, 10) < seeds) seeds = strtoul(cap, NULL, 10);
    const char *ppm = argv[2];
    int at = 3, same_output = 0;
    if (!strcmp(argv[at], "--same-output")) {
        same_output = 1;
        at++;
    }
    if (at >= argc || strcmp(argv[at], "--")) return 2;
    char **cmd = argv + at + 1;
    if (!*cmd) return 2;

    char *first_out = NULL;
    unsigned long faulted = 0, failures = 0, ran = 0;
    double t0 = now_s();
    for (unsigned long seed = 1; seed <= seeds && failures < 5; seed++) {
        FILE *out = tmpfile(), *err = tmpfile();
        if (!out || !err) return 2;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) return 2;
        if (pid == 0) {
            char s[32];
            snprintf(s, sizeof s, "%lu", seed);
            setenv("CIO_BACKEND", "mock", 1);
            setenv("CIO_MOCK_SEED", s, 1);
            setenv("CIO_MOCK_POISON", "1", 1);
            setenv("CIO_MOCK_ABORT", "1", 1);
            setenv("CIO_MOCK_REPORT", "1", 1);
            if (strcmp(ppm, "0"))
                setenv("CIO_MOCK_FAULTS", ppm, 1);
            else
                unsetenv("CIO_MOCK_FAULTS");
            dup2(fileno(out), 1);
            dup2(fileno(err), 2);
            alarm(60);
            execv(cmd[0], cmd);
            _exit(127);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid) return 2;
        char *o = slurp(out), *e = slurp(err);
        fclose(out);
        fclose(err);
        unsigned long long f, v;
        int lines = reports(e, &f, &v);
        const char *why = NULL;
        if (WIFSIGNALED(st))
            why = WTERMSIG(st) == SIGABRT ? "aborted (a violation?)" : WTERMSIG(st) == SIGALRM ? "hung" : "killed";
        else if (!lines)
            why = "did not run on the mock (no closing report)";
        else if (v)
            why = "reported violations";
        else if (!f && WEXITSTATUS(st) != 0)
            why = "failed with no fault injected";
        else if (!f && same_output && first_out && strcmp(first_out, o))
            why = "printed other output than the first run";
        ran++;
        if (f) faulted++;
        if (!f && !first_out) first_out = strdup(o);
        if (why) {
            failures++;
            fprintf(stderr, "seed %lu %s (status %d); its stderr:\n%s", seed, why, st, e);
            fprintf(stderr, "replay: CIO_BACKEND=mock CIO_MOCK_SEED=%lu CIO_MOCK_POISON=1", seed);
            if (strcmp(ppm, "0")) fprintf(stderr, " CIO_MOCK_FAULTS=%s", ppm);
            for (char **a = cmd; *a; a++) fprintf(stderr, " '%s'", *a);
            fprintf(stderr, "\n\n");
        }
        free(o);
        free(e);
    }
    double took = now_s() - t0;
    printf("%lu seeds of %s at %s ppm: %lu met a fault, %lu failed%s; %.1f s, %.0f seeds/min\n", ran, cmd[0], ppm,
           faulted, failures, ran < seeds ? " (stopped early)" : "", took, took > 0 ? (double)ran * 60 / took : 0);
    free(first_out);
    return failures ? 1 : 0;
}
