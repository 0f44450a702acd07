/*
 * mock_script - testing a protocol function with scripted results
 * (cio/mock_script.h), no peer and no network needed.
 *
 * greet() sends "HELLO\n" and reads the server's one-line answer. A real
 * socket may hand the answer over in pieces, interrupt a read, or reset
 * the connection; a script makes each of them happen, on purpose and at
 * once, in virtual time. Three runs, each on a fresh mock loop in strict
 * mode (an op the script did not expect fails and is reported):
 *   1. the answer in two pieces, with an interrupted read between them;
 *   2. the connection reset in the middle of the answer;
 *   3. the send cut short: greet() must send the rest.
 * Each checks greet()'s result and that every scripted op was asked for
 * (cio_mock_script_unused). Exit status 1 if one fails.
 */
#include <cio.h>
#include <stdio.h>
#include <string.h>

#define FD 5 /* a number the script answers for: no socket behind it */

/* The code under test, as a task would run it over a real socket. */
static int32_t greet(cio_fd fd, char *line, uint32_t cap) {
    static const char hello[] = "HELLO\n";
    uint32_t sent = 0, got = 0;
    while (sent < sizeof hello - 1) {
        int32_t n = cio_send(fd, hello + sent, (uint32_t)(sizeof hello - 1 - sent), 0);
        if (n == -CIO_EINTR) continue;
        if (n < 0) return n;
        sent += (uint32_t)n;
    }
    while (got < cap - 1) {
        int32_t n = cio_recv(fd, line + got, 1, 0); /* a byte at a time: stop at the newline */
        if (n == -CIO_EINTR) continue;
        if (n < 0) return n;
        if (n == 0) return -CIO_ECONNRESET; /* closed before the line ended */
        if (line[got] == '\n') break;
        got++;
    }
    line[got] = '\0';
    return (int32_t)got;
}

enum { PIECES, RESET, SHORT_SEND };

typedef struct scenario {
    int kind;
    const char *name;
    int32_t want;     /* greet()'s result */
    const char *line; /* the line it reads, when it succeeds */
} scenario;

/* A rule for the next op `op` on FD: the rules are taken in order. */
#define RULE(op, ...)                                                                                          \
    cio_mock_script_add(loop, &(cio_mock_rule){.match = CIO_MOCK_MATCH_FD | CIO_MOCK_MATCH_OPCODE, .fd = FD, \
                                               .opcode = (op), __VA_ARGS__})

static intptr_t run(void *arg) {
    const scenario *sc = arg;
    cio_loop *loop = cio_task_loop();
    cio_mock_script_mode(loop, CIO_MOCK_SCRIPT_STRICT);
    switch (sc->kind) { /* greet() receives a byte at a time: one recv rule a byte */
    case PIECES:
        RULE(CIO_OP_SEND, .res = 6);
        RULE(CIO_OP_RECV, .data = "W", .data_len = 1);
        RULE(CIO_OP_RECV, .data = "E", .data_len = 1);
        RULE(CIO_OP_RECV, .res = -CIO_EINTR);
        RULE(CIO_OP_RECV, .data = "L", .data_len = 1, .latency_ns = 2000000); /* 2 ms later */
        RULE(CIO_OP_RECV, .data = "\n", .data_len = 1);
        break;
    case RESET:
        RULE(CIO_OP_SEND, .res = 6);
        RULE(CIO_OP_RECV, .data = "W", .data_len = 1);
        RULE(CIO_OP_RECV, .res = -CIO_ECONNRESET);
        break;
    case SHORT_SEND:
        RULE(CIO_OP_SEND, .res = 2); /* "HE" went out */
        RULE(CIO_OP_SEND, .res = 4); /* "LLO\n": only if greet() sends the rest */
        RULE(CIO_OP_RECV, .data = "O", .data_len = 1);
        RULE(CIO_OP_RECV, .data = "K", .data_len = 1);
        RULE(CIO_OP_RECV, .data = "\n", .data_len = 1);
        break;
    }
    char line[64];
    int32_t r = greet(FD, line, sizeof line);
    int ok = r == sc->want && (r < 0 || strcmp(line, sc->line) == 0);
    int unused = cio_mock_script_unused(loop, NULL, 0);
    if (unused) cio_mock_script_report(loop);
    printf("%-12s greet() = %d%s%s%s: %s\n", sc->name, (int)r, r >= 0 ? " \"" : "", r >= 0 ? line : "",
           r >= 0 ? "\"" : "", ok && !unused ? "ok" : "FAILED");
    return ok && !unused ? 0 : 1;
}

int main(void) {
    static const scenario scenarios[] = {
        {PIECES, "pieces", 3, "WEL"},
        {RESET, "reset", -CIO_ECONNRESET, NULL},
        {SHORT_SEND, "short send", 2, "OK"},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        cio_loop_options o = {.backend = CIO_BACKEND_MOCK};
        intptr_t result = 1;
        if (cio_main(run, (void *)&scenarios[i], &o, &result) != 0 || result != 0) failed = 1;
    }
    return failed;
}
