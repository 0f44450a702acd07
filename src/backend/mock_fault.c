/*
 * src/backend/mock_fault.c - the mock's faults (which, how often, drawn
 * from the seed) and its reports of violations, each with the seed and the
 * command that replays the run (cio/mock.h).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "mock_sim.h"

static const char *const fault_names[CIO_MOCK_FAULT_COUNT_] = CIO_MOCK_FAULT_NAMES;

/* Violations of every loop of the process, closed ones included. */
static _Atomic uint64_t violations_total;

/* CIO_MOCK_FAULTS: "<ppm>" for every fault, or "name=<ppm>,..." for some. */
static int parse_faults(const char *s, uint32_t ppm[CIO_MOCK_FAULT_COUNT_]) {
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end != s && *end == '\0') {
        if (v > 1000000) return -CIO_EINVAL;
        for (int f = 0; f < CIO_MOCK_FAULT_COUNT_; f++) ppm[f] = (uint32_t)v;
        return 0;
    }
    while (*s) {
        int f = 0;
        size_t n = 0;
        for (; f < CIO_MOCK_FAULT_COUNT_; f++) {
            n = strlen(fault_names[f]);
            if (!strncmp(s, fault_names[f], n) && s[n] == '=') break;
        }
        if (f == CIO_MOCK_FAULT_COUNT_) return -CIO_EINVAL;
        s += n + 1;
        v = strtoul(s, &end, 10);
        if (end == s || v > 1000000 || (*end != ',' && *end != '\0')) return -CIO_EINVAL;
        ppm[f] = (uint32_t)v;
        s = *end ? end + 1 : end;
    }
    return 0;
}

/* A setting from the environment that cio_loop_init() refuses: said once
 * on stderr, as a bad CIO_BACKEND is, so that a run does not fail silent. */
static int bad_env(const char *name, const char *value, const char *want) {
    fprintf(stderr, "cio: %s=%s is not %s\n", name, value, want);
    return -CIO_EINVAL;
}

/* The seed: the option's, else CIO_MOCK_SEED, else 1 (a fixed default, so
 * that a program is deterministic even when nobody chose one). */
static int choose_seed(mock *m, const cio_loop_options *lo) {
    m->seed = 1;
    if (lo && lo->seed) {
        m->seed = lo->seed;
        return 0;
    }
    const char *env = getenv("CIO_MOCK_SEED");
    if (!env || !*env) return 0;
    char *end;
    unsigned long long v = strtoull(env, &end, 0);
    if (*end != '\0' || *env == '-') return bad_env("CIO_MOCK_SEED", env, "a number (0: the default, 1)");
    if (v) m->seed = v;
    return 0;
}

int mock_settings(mock *m, const cio_loop_options *lo) {
    m->world.max = CIO_MOCK_MAX_HANDLES;
    int r = choose_seed(m, lo);
    if (r < 0) return r;
    const cio_mock_options *opts = lo ? lo->backend_options : NULL;
    if (opts) {
        for (unsigned i = 0; i < sizeof opts->reserved_ / sizeof opts->reserved_[0]; i++)
            if (opts->reserved_[i]) return -CIO_EINVAL;
        if (opts->flags & ~CIO_MOCK_POISON) return -CIO_EINVAL;
        for (int f = 0; f < CIO_MOCK_FAULT_COUNT_; f++) {
            if (opts->fault_ppm[f] > 1000000) return -CIO_EINVAL;
            m->faults.ppm[f] = opts->fault_ppm[f];
        }
        m->flags = opts->flags;
        if (opts->max_handles > (1u << 29)) return -CIO_EINVAL; /* the numbers stay below INT_MAX */
        if (opts->max_handles) m->world.max = opts->max_handles;
        return 0;
    }
    const char *env = getenv("CIO_MOCK_FAULTS");
    if (env && *env && parse_faults(env, m->faults.ppm) < 0)
        return bad_env("CIO_MOCK_FAULTS", env,
                       "<ppm> or <fault>=<ppm>,... with ppm at most 1000000 and faults among reset, again, "
                       "nomem, mfile, ring_full, cancel_race, intr, close_race");
    env = getenv("CIO_MOCK_POISON");
    if (env && *env && strcmp(env, "0") != 0) m->flags |= CIO_MOCK_POISON;
    return 0;
}

bool mock_fault(mock *m, cio_mock_fault f) {
    uint32_t ppm = m->faults.ppm[f];
    if (!ppm || mock_random(m) % 1000000 >= ppm) return false;
    m->faults.count[f]++;
    mock_mix(m, 0xfa017000u + (unsigned)f);
    return true;
}

/* A line built piece by piece into a buffer that may be short: `len`
 * counts what the whole line needs, as snprintf does. */
typedef struct line {
    char *buf;
    size_t size;
    size_t len;
} line;

static void put(line *l, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void put(line *l, const char *fmt, ...) {
    size_t at = l->len < l->size ? l->len : l->size;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->buf ? l->buf + at : NULL, l->size - at, fmt, ap);
    va_end(ap);
    if (n > 0) l->len += (size_t)n;
}

#if defined(_WIN32)
/* The process's command line as Windows keeps it (one string, quoted by
 * Windows' rules), in UTF-8. */
static void put_command_line(line *l) {
    const wchar_t *w = GetCommandLineW();
    int n = w ? WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL) : 0;
    char *s = n > 0 ? malloc((size_t)n) : NULL;
    if (!s || WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
        put(l, "<program>");
    } else {
        put(l, "%s", s);
    }
    free(s);
}
#else
/* The process's command line, each argument quoted for a POSIX shell. */
static void put_command_line(line *l) {
    FILE *f = fopen("/proc/self/cmdline", "r");
    if (!f) {
        put(l, "<program>");
        return;
    }
    bool in_arg = false, first = true;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (c == 0) {
            if (in_arg) put(l, "'");
            in_arg = false;
            continue;
        }
        if (!in_arg) put(l, first ? "'" : " '");
        in_arg = true;
        first = false;
        if (c == '\'') put(l, "'\\''");
        else put(l, "%c", c);
    }
    if (in_arg) put(l, "'");
    fclose(f);
}
#endif

static int replay(const mock *m, char *buf, size_t size) {
    line l = {buf, size, 0};
    if (size) buf[0] = '\0';
    put(&l, "CIO_BACKEND=mock CIO_MOCK_SEED=%llu", (unsigned long long)m->seed);
    const char *sep = " CIO_MOCK_FAULTS=";
    for (int f = 0; f < CIO_MOCK_FAULT_COUNT_; f++) {
        if (!m->faults.ppm[f]) continue;
        put(&l, "%s%s=%u", sep, fault_names[f], m->faults.ppm[f]);
        sep = ",";
    }
    if (m->flags & CIO_MOCK_POISON) put(&l, " CIO_MOCK_POISON=1");
    put(&l, " ");
    put_command_line(&l);
    return l.len > INT32_MAX ? INT32_MAX : (int)l.len;
}

void mock_violation(mock *m, const char *fmt, ...) {
    char what[512], cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    replay(m, cmd, sizeof cmd);
    fprintf(stderr, "cio mock: %s (seed %llu; replay: %s)\n", what, (unsigned long long)m->seed, cmd);
    fflush(stderr);
    m->violations++;
    atomic_fetch_add(&violations_total, 1);
    const char *abort_env = getenv("CIO_MOCK_ABORT");
    if (abort_env && *abort_env && strcmp(abort_env, "0") != 0) {
        /* What a runner reads of a failed run: its output so far and the
         * run's summary (CIO_MOCK_REPORT), which the close will not print. */
        fflush(stdout);
        mock_summary(m);
        abort();
    }
}

void mock_summary(const mock *m) {
    const char *env = getenv("CIO_MOCK_REPORT");
    if (!env || !*env || !strcmp(env, "0")) return;
    uint64_t faults = 0;
    char kinds[256] = "";
    line l = {kinds, sizeof kinds, 0};
    for (int f = 0; f < CIO_MOCK_FAULT_COUNT_; f++) {
        faults += m->faults.count[f];
        if (m->faults.count[f])
            put(&l, "%s%s %llu", l.len ? ", " : " (", fault_names[f], (unsigned long long)m->faults.count[f]);
    }
    if (l.len) put(&l, ")");
    fprintf(stderr, "cio mock: seed %llu: %llu ops, %llu faults%s, %llu violations, %.9f s virtual, trace %016llx\n",
            (unsigned long long)m->seed, (unsigned long long)m->submitted, (unsigned long long)faults, kinds,
            (unsigned long long)m->violations, (double)m->now / 1e9, (unsigned long long)m->trace);
}

/* ---- the public calls ---- */

static mock *mock_of(const cio_loop *loop) {
    if (!loop) return NULL;
    const cio_core *c = cio__ccore(loop);
    if (c->be != &cio__backend_mock) return NULL;
    return (mock *)(uintptr_t)(const void *)c->backend;
}

int cio_mock_set_fault(cio_loop *loop, cio_mock_fault fault, uint32_t ppm) {
    mock *m = mock_of(loop);
    if (!m || (unsigned)fault >= CIO_MOCK_FAULT_COUNT_ || ppm > 1000000) return -CIO_EINVAL;
    m->faults.ppm[fault] = ppm;
    return 0;
}

uint64_t cio_mock_faults(const cio_loop *loop, cio_mock_fault fault) {
    const mock *m = mock_of(loop);
    if (!m || (unsigned)fault > CIO_MOCK_FAULT_COUNT_) return 0;
    if (fault < CIO_MOCK_FAULT_COUNT_) return m->faults.count[fault];
    uint64_t n = 0;
    for (int f = 0; f < CIO_MOCK_FAULT_COUNT_; f++) n += m->faults.count[f];
    return n;
}

uint64_t cio_mock_violations(const cio_loop *loop) {
    if (!loop) return atomic_load(&violations_total);
    const mock *m = mock_of(loop);
    return m ? m->violations : 0;
}

int cio_mock_replay(const cio_loop *loop, char *buf, size_t size) {
    const mock *m = mock_of(loop);
    if (!m || (!buf && size)) return -CIO_EINVAL;
    return replay(m, buf, size);
}

int cio_mock_fail(cio_loop *loop, const char *fmt, ...) {
    mock *m = mock_of(loop);
    if (!m || !fmt) return -CIO_EINVAL;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    mock_violation(m, "%s", what);
    return 0;
}
