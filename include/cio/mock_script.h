/*
 * cio/mock_script.h - scripted results: a test says what the ops of a loop
 * on the mock backend (cio/mock.h) complete with.
 *
 *     cio_loop_options o = {.backend = CIO_BACKEND_MOCK};
 *     cio_loop_init(&loop, &o);
 *     cio_mock_script_mode(&loop, CIO_MOCK_SCRIPT_STRICT);
 *     static const char reply[] = "HTTP/1.1 200 OK\r\n\r\n";
 *     cio_mock_script_add(&loop, &(cio_mock_rule){
 *         .match = CIO_MOCK_MATCH_FD | CIO_MOCK_MATCH_OPCODE, .fd = 7,
 *         .opcode = CIO_OP_SEND, .res = 18});                // the request goes out whole
 *     cio_mock_script_add(&loop, &(cio_mock_rule){
 *         .match = CIO_MOCK_MATCH_FD | CIO_MOCK_MATCH_OPCODE, .fd = 7,
 *         .opcode = CIO_OP_RECV, .data = reply, .data_len = sizeof reply - 1,
 *         .latency_ns = 5000000});                            // the reply after 5 ms
 *     cio_mock_script_add(&loop, &(cio_mock_rule){
 *         .match = CIO_MOCK_MATCH_OPCODE, .opcode = CIO_OP_RECV,
 *         .res = -CIO_ECONNRESET});                           // then the peer resets
 *     ... run the code under test ...
 *     assert(cio_mock_script_unused(&loop, NULL, 0) == 0);   // every expectation met
 *
 * A script is a list of rules, taken in the order they were added. When the
 * loop hands an op to the mock, the first rule that matches it (and is due:
 * `order`, `nth`) gives its result, and uses up one of its uses; a rule used
 * up is gone. Such an op is "scripted": it never touches the simulated world
 * (a scripted write moves no byte to the peer; a scripted read takes none
 * from the pipe), it completes after the rule's latency of virtual time
 * with the rule's result, and its handle need not be a simulated one (a
 * script may answer ops on any number: fd 7 above is nobody's). An op no
 * rule matches is "unscripted": in partial mode (the default) it runs in
 * the simulated world as without a script, so that a test can inject one
 * error into a real simulated exchange; in strict mode it fails (below).
 *
 * What reaches the script: every op the loop hands the mock backend, that
 * is every op but timers, timer updates and removals, cancels and posts,
 * which the core runs itself (cio_sleep, deadlines and cancels work as
 * usual under a script). Each op is numbered in that order: 1 for the
 * first op the loop ever handed the mock (ops the mock refused at once
 * before the script existed are not counted), so that with a script made
 * before the first op, the Nth op submitted is number N. A batch's ops
 * are handed over in their order; an op linked behind another is handed
 * over only once the one before it completed (the core follows a link by
 * the result, scripted or not: a scripted error or short count ends a
 * soft link as a real one would, cio/op.h). Scripted ops go into the
 * mock's trace (cio_mock_trace) as every op does: a scripted run with a
 * given seed replays exactly too.
 *
 * All the functions here run on the loop's thread, and fail with
 * -CIO_EINVAL for a loop (or NULL) that does not run on the mock backend,
 * is not set up or is closed. The script belongs to the loop: it is made
 * by the first cio_mock_script_mode() or cio_mock_script_add() and freed
 * by cio_loop_close(), with every rule and copy it holds.
 */
#ifndef CIO_MOCK_SCRIPT_H
#define CIO_MOCK_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The modes of a script (cio_mock_script_mode). */
enum {
    /* An op no rule matches runs in the simulated world. The default. */
    CIO_MOCK_SCRIPT_PARTIAL = 0,
    /* Every op must match a rule. One that matches none completes, at
     * once and exactly once, with -CIO_MOCK_UNSCRIPTED (it never hangs,
     * and never reaches the world), and the mock reports it on stderr:
     *   cio mock script: op #<order> <opcode> on handle <fd> matches no
     *   rule (strict mode, seed <seed>): it fails with -CIO_EPERM
     *   (operation not permitted); rules not used up: <count>
     * (or "(no handle)" for an op that names none), then every rule the
     * script still holds, one a line, as cio_mock_script_report() prints
     * them. The op is counted in cio_mock_script_counts.unscripted. */
    CIO_MOCK_SCRIPT_STRICT = 1
};

/* The error (negated, as a result) of an unscripted op in strict mode:
 * "operation not permitted" by the script. Not -CIO_ENOTSUP, which would
 * ask the core to run the op on the real system. */
#define CIO_MOCK_UNSCRIPTED CIO_EPERM

/* cio_mock_rule.match: which of its `fd` and `opcode` a rule looks at. */
#define CIO_MOCK_MATCH_FD 0x1u     /* the op names the handle `fd` */
#define CIO_MOCK_MATCH_OPCODE 0x2u /* the op's opcode is `opcode` */

/* cio_mock_rule.times: the rule applies to every op it matches, for ever. */
#define CIO_MOCK_ALWAYS UINT32_MAX

/*
 * One rule. Start from all-zero ({0}, or a compound literal with the
 * fields you need): a zero rule matches every op, once, and completes it
 * with 0 at once.
 *
 * Which ops it matches: all of its conditions must hold.
 * - fd (with CIO_MOCK_MATCH_FD in `match`): the op names this handle: its
 *   fd (read, write, recv, send, poll, accept, connect, ...); the handle a
 *   close closes; a splice's fd_in or fd_out; an *at op's directory
 *   handle (CIO_AT_FDCWD included). An op that names no handle (socket,
 *   nop) never matches a rule with a handle.
 * - opcode (with CIO_MOCK_MATCH_OPCODE): enum cio_opcode. Timers, timer
 *   updates and removals, cancels and posts never reach the mock: a rule
 *   for them is refused (-CIO_EINVAL).
 * - order: 0, or N: the op's number (above) is N or more.
 * - nth: 0, or N: the op is the Nth, or a later one, of the ops that met
 *   the rule's other conditions since the rule was added (whether or not
 *   an earlier rule took them). "The 3rd send on fd 5" is
 *   {.match = CIO_MOCK_MATCH_FD | CIO_MOCK_MATCH_OPCODE, .fd = 5,
 *    .opcode = CIO_OP_SEND, .nth = 3}.
 * With `order` or `nth` and `times` above 1, the rule takes the first op
 * due and the ones after it that match, until used up.
 *
 * What the op gets:
 * - res: its result, a count (>= 0) or a negative error (-CIO_ECONNRESET,
 *   -CIO_EAGAIN, ...; from -1 to -4095). For read, write, readv, writev,
 *   recv and send a count above what the op asked for is cut to it (no
 *   kernel moves more); other ops get `res` as it is (a poll its events,
 *   an accept or socket the number of its new handle: cio_op_fd() reads
 *   it, and ops on that number match rules as any other).
 * - data, data_len: for a rule on CIO_OP_READ, CIO_OP_RECV or CIO_OP_READV
 *   (it must match by opcode) the bytes the op reads: at its completion
 *   the first data_len bytes, at most the op's length, are copied into its
 *   buffer (a readv's buffers in order), and its result is the count
 *   copied; `res` is then not used (nor the op's offset). data_len 0
 *   with data not NULL: end of file (0). The script copies the bytes when the rule is added: the
 *   caller's memory is free at once. No data (NULL): nothing is written.
 * - latency_ns: virtual nanoseconds from the op's submission to its
 *   completion (0: at the loop's next turn, the virtual clock not moving).
 *   The op's deadline, if it comes first, ends it with -CIO_ETIMEDOUT as
 *   usual. Ops due at the same virtual time complete in the order they
 *   were submitted.
 * - times: how many ops the rule applies to: 0 or 1 once, N, or
 *   CIO_MOCK_ALWAYS.
 *
 * A use is taken when the op is submitted, whatever becomes of the op
 * afterwards: each op a rule takes gets exactly one completion, its
 * scripted result or, if it ends first, the end below.
 * - A cancel (cio_cancel, CIO_OP_CANCEL, a task's cancel) ends a scripted
 *   op with -CIO_ECANCELED, and the cancel itself completes with 0; a
 *   deadline with -CIO_ETIMEDOUT; cio_loop_close() with -CIO_ECANCELED.
 *   No byte is copied then, and the rule's use stays taken.
 * - The simulation's faults (cio/mock.h) are the world's: they touch only
 *   the ops the world runs, but for the two that a cancel meets. A cancel
 *   racing the completion (CIO_MOCK_FAULT_CANCEL_RACE) gives a scripted
 *   op its scripted result at once, before its latency is over, and the
 *   cancel -CIO_ENOENT; one that interrupts it (CIO_MOCK_FAULT_INTR) ends
 *   it with -CIO_EINTR, nothing copied, and the cancel -CIO_EALREADY.
 * - A close of a handle (cio_prep_close, cio_close), scripted or not, ends
 *   the scripted ops still in flight that name that handle with
 *   -CIO_ECANCELED before the close completes, as cio_prep_close()
 *   promises of every backend, so that no buffer is written after the
 *   close. A scripted close itself closes nothing in the simulated world:
 *   a simulated handle stays open there, with the world's ops on it (the
 *   loop's close frees it). Script closes of the handles the script
 *   answers for; let the world run the close of a world's handle.
 * - CIO_MSG_WAITALL does not make a scripted recv or send go on: it gets
 *   the count the rule gives, short or not (the core then ends a soft link
 *   behind it, as after a short count of the kernel).
 * - A multishot op (CIO_F_MULTISHOT: accept, poll) that a rule takes gets
 *   one completion, its last (no CIO_F_MORE), as a kernel may end a
 *   multishot op at any time: the caller submits it again, and the new
 *   submission is matched anew. Several shots are several rules, or one
 *   rule with `times`.
 */
typedef struct cio_mock_rule {
    uint32_t match;       /* CIO_MOCK_MATCH_FD, CIO_MOCK_MATCH_OPCODE */
    cio_fd fd;            /* with CIO_MOCK_MATCH_FD */
    int opcode;           /* with CIO_MOCK_MATCH_OPCODE: enum cio_opcode */
    uint64_t order;       /* 0: any; N: the op's number is N or more */
    uint64_t nth;         /* 0: any; N: from the Nth op meeting the rest on */
    int32_t res;          /* the result, when no data */
    uint32_t times;       /* 0, 1: once; N; CIO_MOCK_ALWAYS */
    const void *data;     /* what a read, recv or readv reads; NULL: none */
    size_t data_len;      /* at most INT32_MAX */
    uint64_t latency_ns;  /* virtual time to the completion */
    uint64_t reserved_[2]; /* must be 0 */
} cio_mock_rule;

/*
 * cio_mock_script_mode - sets the script's mode, CIO_MOCK_SCRIPT_PARTIAL
 * or CIO_MOCK_SCRIPT_STRICT, for the ops submitted from now on. 0,
 * -CIO_EINVAL (a bad mode, or a loop not on the mock), -CIO_ENOMEM.
 */
CIO_API int cio_mock_script_mode(cio_loop *loop, int mode);

/*
 * cio_mock_script_add - adds `rule` after the rules the script holds, for
 * the ops submitted from now on. Copies the rule and its data: the
 * caller's memory is free when this returns. Returns the rule's id (1 for
 * the first rule of the loop, then 2, 3, ...: the ids that
 * cio_mock_script_unused() and the reports name), or -CIO_EINVAL (NULL, a
 * loop not on the mock, unknown bits in `match`, an opcode that is none or
 * never reaches the mock, data on a rule that does not match by opcode
 * read, recv or readv, data_len above INT32_MAX, data_len with no data, a
 * `res` below -4095, reserved_ not 0), or -CIO_ENOMEM.
 */
CIO_API int cio_mock_script_add(cio_loop *loop, const cio_mock_rule *rule);

/*
 * cio_mock_script_unused - the rules not used up: a rule with uses left,
 * or a CIO_MOCK_ALWAYS rule that never took an op. Returns how many there
 * are (0: every expectation of the script was met), and writes the ids of
 * the first `cap` of them, in the order they were added, into `ids` (NULL
 * when `cap` is 0). -CIO_EINVAL for a loop not on the mock.
 */
CIO_API int cio_mock_script_unused(const cio_loop *loop, int *ids, int cap);

/* What the script did, since the loop started. */
typedef struct cio_mock_script_counts {
    uint64_t ops;        /* ops numbered: the number the last op got */
    uint64_t scripted;   /* ops a rule took */
    uint64_t unscripted; /* ops no rule matched (since the script was made): run by the world
                            in partial mode, failed with -CIO_MOCK_UNSCRIPTED in strict mode */
    uint64_t ended;      /* scripted ops ended before their result (cancel, deadline, close) */
    uint32_t rules_left; /* as cio_mock_script_unused() counts them */
    uint32_t mode;       /* CIO_MOCK_SCRIPT_PARTIAL or CIO_MOCK_SCRIPT_STRICT */
} cio_mock_script_counts;

/* cio_mock_script_stats - fills `*out`. 0, or -CIO_EINVAL (NULL, a loop
 * not on the mock). With no script yet: every count 0 but `ops`, the ops
 * the mock has taken so far. */
CIO_API int cio_mock_script_stats(const cio_loop *loop, cio_mock_script_counts *out);

/*
 * cio_mock_script_report - prints on stderr a line of the script's counts,
 * then every rule it still holds (a rule used up is gone; a
 * CIO_MOCK_ALWAYS rule stays), one a line:
 *   cio mock script:   rule #<id> <opcode, or "any op">[ on handle <fd>]
 *   [ order >= N][ nth N (M seen)] -> <res (its description), or
 *   "N bytes">[ after N ns]: <"N left", or "always"> (took K)
 * for a test that failed to say why. Returns cio_mock_script_unused()'s
 * count, or -CIO_EINVAL.
 */
CIO_API int cio_mock_script_report(const cio_loop *loop);

/*
 * cio_mock_script_clear - removes every rule (their ids are not used
 * again), for a test that goes on to a new phase. The ops the removed
 * rules took still complete with their scripted results. The mode and
 * the counts stay. 0 or -CIO_EINVAL.
 */
CIO_API int cio_mock_script_clear(cio_loop *loop);

#ifdef __cplusplus
}
#endif

#endif /* CIO_MOCK_SCRIPT_H */
