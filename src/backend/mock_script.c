/*
 * src/backend/mock_script.c - scripted results for the mock's ops
 * (cio/mock_script.h).
 *
 * The script is a list of rules in the order they were added. Each op the
 * engine is handed passes through mock_script_claim() first: it is
 * numbered, every rule it meets counts it (for `nth`), and the first rule
 * due takes it and one of its uses. The engine then schedules a taken op
 * after the rule's latency and, at its due time, asks for its result; or
 * it ends the op early (cancel, deadline, loop close) and says so with
 * mock_script_drop(). A claim record remembers which rule took each op in
 * flight, so that a rule used up (gone from the list) still gives its
 * data to the ops it took: rules are counted references, freed when they
 * are out of the list and no op in flight holds them.
 *
 * The records are found by op through a small open-addressing table
 * rather than through a field of the op: the op's bookkeeping belongs to
 * the engine and the core, and this keeps the script out of it. They are
 * also kept in a list in the order the ops were taken, so that a close
 * ends the ops of its handle in a deterministic order (the table's order
 * depends on addresses, which differ from run to run).
 */
#include <stdio.h>
#include <stdlib.h>

#include "mock_sim.h"

typedef struct rule {
    struct rule *next; /* in the script's list, while it is in it */
    cio_mock_rule r;   /* as added; r.data is the script's copy */
    bool has_data;
    int id;
    uint32_t left;  /* uses left, or CIO_MOCK_ALWAYS */
    uint64_t seen;  /* ops that met its conditions (for nth) */
    uint64_t took;  /* ops it took */
    uint32_t refs;  /* 1 while listed, plus one per op in flight it took */
} rule;

typedef struct claim {
    struct claim *prev, *next; /* in flight, oldest first */
    cio_op *op;
    rule *rule;
} claim;

struct mock_script {
    rule *head, *tail; /* rules with uses left, in the order added */
    claim *first, *last;
    claim *spare; /* one free record, so that a claim never fails after it matched */
    claim **slots; /* claims by op; `cap` a power of two, at most half full */
    uint32_t cap, count;
    int mode;
    int next_id;
    uint64_t order; /* the number of the last op numbered */
    uint64_t scripted, unscripted, ended;
};

static mock *state(cio_loop *loop) { return CIO_BACKEND_STATE(loop, mock); }

/* ---- the table of claims by op ---- */

static uint32_t hash_op(const cio_op *op) {
    uint64_t x = (uint64_t)(uintptr_t)op;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* Room for one more claim: 0 or -CIO_ENOMEM. */
static int table_reserve(struct mock_script *s) {
    if ((s->count + 1) * 2 <= s->cap) return 0;
    uint32_t cap = s->cap ? s->cap * 2 : 16;
    claim **slots = calloc(cap, sizeof *slots);
    if (!slots) return -CIO_ENOMEM;
    for (uint32_t i = 0; i < s->cap; i++) {
        claim *c = s->slots[i];
        if (!c) continue;
        uint32_t j = hash_op(c->op) & (cap - 1);
        while (slots[j]) j = (j + 1) & (cap - 1);
        slots[j] = c;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

static void table_put(struct mock_script *s, claim *c) {
    uint32_t mask = s->cap - 1, i = hash_op(c->op) & mask;
    while (s->slots[i]) i = (i + 1) & mask;
    s->slots[i] = c;
    s->count++;
}

/* Takes the claim of `op` out of the table (linear probing, with the
 * entries after it shifted back so that no search stops early). */
static claim *table_take(struct mock_script *s, const cio_op *op) {
    if (!s->cap) return NULL;
    uint32_t mask = s->cap - 1, i = hash_op(op) & mask;
    while (s->slots[i] && s->slots[i]->op != op) i = (i + 1) & mask;
    claim *c = s->slots[i];
    if (!c) return NULL;
    for (uint32_t j = i;;) {
        j = (j + 1) & mask;
        if (!s->slots[j]) break;
        uint32_t k = hash_op(s->slots[j]->op) & mask;
        /* Entry j stays unless its home k lies cyclically outside (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        s->slots[i] = s->slots[j];
        i = j;
    }
    s->slots[i] = NULL;
    s->count--;
    return c;
}

/* ---- rules ---- */

static void rule_unref(rule *r) {
    if (--r->refs) return;
    free((void *)(uintptr_t)r->r.data);
    free(r);
}

/* Takes `r` out of the list (used up, or cleared); `prev` is the rule
 * before it, or NULL. */
static void rule_unlist(struct mock_script *s, rule *prev, rule *r) {
    if (prev)
        prev->next = r->next;
    else
        s->head = r->next;
    if (s->tail == r) s->tail = prev;
    r->next = NULL;
    rule_unref(r);
}

static bool rule_unused(const rule *r) { return r->left == CIO_MOCK_ALWAYS ? r->took == 0 : r->left > 0; }

static int count_unused(const struct mock_script *s, int *ids, int cap) {
    int n = 0;
    if (!s) return 0;
    for (const rule *r = s->head; r; r = r->next) {
        if (!rule_unused(r)) continue;
        if (n < cap) ids[n] = r->id;
        n++;
    }
    return n;
}

/* The handle `op` is shown with in reports: the one it does its IO on,
 * the one a close closes, else the first other one it names. */
static bool op_handle(const cio_op *op, cio_fd *fd) {
    if (op->opcode == CIO_OP_CLOSE) {
        *fd = op->args.close.fd;
        return true;
    }
    const cio_opdef *d = cio__opdef(op);
    unsigned at = d->file ? d->file : d->also[0];
    if (!at) return false;
    *fd = cio__handle_at(op, at);
    return true;
}

/* Whether `op` names `fd` for a rule (cio/mock_script.h): any handle it
 * names, and the one a close closes. */
static bool names(const cio_op *op, cio_fd fd) {
    if (op->opcode == CIO_OP_CLOSE) return op->args.close.fd == fd;
    return cio__op_uses(op, fd);
}

static bool meets(const rule *r, const cio_op *op, uint64_t order) {
    if ((r->r.match & CIO_MOCK_MATCH_OPCODE) && op->opcode != r->r.opcode) return false;
    if ((r->r.match & CIO_MOCK_MATCH_FD) && !names(op, r->r.fd)) return false;
    return order >= r->r.order;
}

static long long fd_num(cio_fd fd) { return (long long)(intptr_t)fd; }

static void describe(FILE *f, const rule *r) {
    fprintf(f, "cio mock script:   rule #%d %s", r->id,
            (r->r.match & CIO_MOCK_MATCH_OPCODE) ? cio_op_name(r->r.opcode) : "any op");
    if (r->r.match & CIO_MOCK_MATCH_FD) fprintf(f, " on handle %lld", fd_num(r->r.fd));
    if (r->r.order) fprintf(f, " order >= %llu", (unsigned long long)r->r.order);
    if (r->r.nth) fprintf(f, " nth %llu (%llu seen)", (unsigned long long)r->r.nth, (unsigned long long)r->seen);
    if (r->has_data)
        fprintf(f, " -> %zu bytes", r->r.data_len);
    else if (r->r.res < 0)
        fprintf(f, " -> %d (%s)", (int)r->r.res, cio_strerror(r->r.res));
    else
        fprintf(f, " -> %d", (int)r->r.res);
    if (r->r.latency_ns) fprintf(f, " after %llu ns", (unsigned long long)r->r.latency_ns);
    if (r->left == CIO_MOCK_ALWAYS)
        fprintf(f, ": always (took %llu)\n", (unsigned long long)r->took);
    else
        fprintf(f, ": %u left (took %llu)\n", r->left, (unsigned long long)r->took);
}

static void describe_all(FILE *f, const struct mock_script *s) {
    int n = 0;
    for (const rule *r = s->head; r; r = r->next, n++) describe(f, r);
    if (!n) fprintf(f, "cio mock script:   (none)\n");
}

/* ---- what the engine calls ---- */

/* Ends, with -CIO_ECANCELED, the scripted ops in flight that name `fd`, in
 * the order they were taken: a close of it is on its way (op.h). */
static void end_on_close(mock *m, struct mock_script *s, cio_fd fd) {
    claim *c = s->first;
    while (c) {
        claim *next = c->next;
        cio_op *op = c->op;
        if (cio__op_uses(op, fd)) mock_end(m, op, -CIO_ECANCELED); /* drops its claim */
        c = next;
    }
}

static void report_unscripted(mock *m, struct mock_script *s, const cio_op *op, uint64_t order) {
    cio_fd fd;
    char where[48];
    if (op_handle(op, &fd))
        snprintf(where, sizeof where, "on handle %lld", fd_num(fd));
    else
        snprintf(where, sizeof where, "(no handle)");
    fprintf(stderr,
            "cio mock script: op #%llu %s %s matches no rule (strict mode, seed %llu): it fails with "
            "-CIO_EPERM (%s); rules not used up: %d\n",
            (unsigned long long)order, cio_op_name(op->opcode), where, (unsigned long long)m->seed,
            cio_strerror(-CIO_MOCK_UNSCRIPTED), count_unused(s, NULL, 0));
    describe_all(stderr, s);
}

int mock_script_claim(mock *m, cio_op *op, uint64_t *latency_ns) {
    struct mock_script *s = m->script;
    /* What a taken op needs, before anything changes: so that running out
     * of memory fails the op and leaves the script as it was. */
    if (!s->spare && !(s->spare = malloc(sizeof *s->spare))) return -CIO_ENOMEM;
    if (table_reserve(s) < 0) return -CIO_ENOMEM;
    uint64_t order = ++s->order;
    if (op->opcode == CIO_OP_CLOSE) end_on_close(m, s, op->args.close.fd);
    rule *took = NULL, *took_prev = NULL, *prev = NULL;
    for (rule *r = s->head; r; prev = r, r = r->next) {
        if (!meets(r, op, order)) continue;
        r->seen++;
        if (!took && r->seen >= r->r.nth) {
            took = r;
            took_prev = prev;
        }
    }
    if (!took) {
        s->unscripted++;
        if (s->mode != CIO_MOCK_SCRIPT_STRICT) return 0;
        report_unscripted(m, s, op, order);
        return -CIO_MOCK_UNSCRIPTED;
    }
    claim *c = s->spare;
    s->spare = NULL;
    c->op = op;
    c->rule = took;
    c->next = NULL;
    c->prev = s->last;
    if (s->last)
        s->last->next = c;
    else
        s->first = c;
    s->last = c;
    table_put(s, c);
    took->refs++;
    took->took++;
    s->scripted++;
    if (took->left != CIO_MOCK_ALWAYS && --took->left == 0) rule_unlist(s, took_prev, took);
    *latency_ns = c->rule->r.latency_ns;
    return 1;
}

/* Takes the claim of `op` out of the script; NULL (and a report) if the
 * script holds none, which would be the engine's mistake: a result or a
 * drop for an op the script did not take, or a second one. */
static claim *unclaim(mock *m, cio_op *op, const char *what) {
    struct mock_script *s = m->script;
    claim *c = s ? table_take(s, op) : NULL;
    if (!c) {
        fprintf(stderr, "cio mock script: %s of op %s at %p, which the script does not hold (seed %llu)\n", what,
                cio_op_name(op->opcode), (void *)op, (unsigned long long)m->seed);
        return NULL;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->first = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->last = c->prev;
    return c;
}

static void claim_release(struct mock_script *s, claim *c) {
    rule_unref(c->rule);
    if (!s->spare)
        s->spare = c;
    else
        free(c);
}

/* The length an op asks for, for the ops whose count is cut to it. */
static bool op_length(const cio_op *op, uint64_t *len) {
    switch (op->opcode) {
    case CIO_OP_READ:
    case CIO_OP_WRITE:
        *len = op->args.rw.len;
        return true;
    case CIO_OP_RECV:
    case CIO_OP_SEND:
        *len = op->args.sr.len;
        return true;
    case CIO_OP_READV:
    case CIO_OP_WRITEV:
        *len = 0;
        for (uint32_t i = 0; i < op->args.rwv.iovcnt; i++) *len += op->args.rwv.iov[i].iov_len;
        return true;
    default:
        return false;
    }
}

static void *dest_at(cio_op *op, uint32_t i, size_t *room) {
    *room = op->args.rwv.iov[i].iov_len;
    return op->args.rwv.iov[i].iov_base;
}

/* Copies a rule's data into the buffer of the read, recv or readv `op`:
 * the count copied. */
static int32_t copy_data(cio_op *op, const rule *r) {
    const unsigned char *src = r->r.data;
    size_t left = r->r.data_len, done = 0;
    if (op->opcode == CIO_OP_READV) {
        for (uint32_t i = 0; i < op->args.rwv.iovcnt && left; i++) {
            size_t room;
            void *dst = dest_at(op, i, &room);
            size_t n = room < left ? room : left;
            if (n) memcpy(dst, src + done, n);
            done += n;
            left -= n;
        }
        return (int32_t)done;
    }
    void *dst = op->opcode == CIO_OP_READ ? op->args.rw.buf : op->args.sr.buf;
    size_t room = op->opcode == CIO_OP_READ ? op->args.rw.len : op->args.sr.len;
    done = room < left ? room : left;
    if (done) memcpy(dst, src, done);
    return (int32_t)done;
}

int32_t mock_script_result(mock *m, cio_op *op) {
    claim *c = unclaim(m, op, "a result");
    if (!c) return -CIO_EIO;
    const rule *r = c->rule;
    int32_t res = r->r.res;
    uint64_t len;
    if (r->has_data)
        res = copy_data(op, r);
    else if (res > 0 && op_length(op, &len) && (uint64_t)res > len)
        res = (int32_t)len;
    claim_release(m->script, c);
    return res;
}

void mock_script_drop(mock *m, cio_op *op) {
    claim *c = unclaim(m, op, "an end");
    if (!c) return;
    m->script->ended++;
    claim_release(m->script, c);
}

void mock_script_free(mock *m) {
    struct mock_script *s = m->script;
    if (!s) return;
    /* The loop's close cancelled every op first: no claim is left, unless
     * the engine lost one (then its rule is freed with it). */
    while (s->first) {
        claim *c = s->first;
        s->first = c->next;
        rule_unref(c->rule);
        free(c);
    }
    while (s->head) rule_unlist(s, NULL, s->head);
    free(s->spare);
    free(s->slots);
    free(s);
    m->script = NULL;
}

/* ---- the public functions (cio/mock_script.h) ---- */

static mock *mock_of(const cio_loop *loop) {
    if (!loop || !cio__usable(loop) || cio__ccore(loop)->be != &cio__backend_mock) return NULL;
    return state((cio_loop *)(uintptr_t)loop);
}

static struct mock_script *script_of(cio_loop *loop) {
    mock *m = mock_of(loop);
    if (!m) return NULL;
    if (!m->script) {
        m->script = calloc(1, sizeof *m->script);
        if (m->script) m->script->order = m->submitted; /* numbers go on from the ops taken so far */
    }
    return m->script;
}

static int script_error(const cio_loop *loop) { return mock_of(loop) ? -CIO_ENOMEM : -CIO_EINVAL; }

int cio_mock_script_mode(cio_loop *loop, int mode) {
    if (mode != CIO_MOCK_SCRIPT_PARTIAL && mode != CIO_MOCK_SCRIPT_STRICT) return -CIO_EINVAL;
    struct mock_script *s = script_of(loop);
    if (!s) return script_error(loop);
    s->mode = mode;
    return 0;
}

static bool rule_valid(const cio_mock_rule *r) {
    if (r->match & ~(CIO_MOCK_MATCH_FD | CIO_MOCK_MATCH_OPCODE)) return false;
    if (r->reserved_[0] || r->reserved_[1]) return false;
    if (r->match & CIO_MOCK_MATCH_OPCODE) {
        if (r->opcode <= 0 || r->opcode >= CIO_OP_COUNT_) return false;
        /* The core runs these itself: a rule for them would never match. */
        if (cio__opdefs[r->opcode].run == OPD_RUN_CORE || r->opcode == CIO_OP_POST) return false;
    }
    if (r->res < -4095) return false;
    if (r->data_len && !r->data) return false;
    if (r->data) {
        if (!(r->match & CIO_MOCK_MATCH_OPCODE)) return false;
        if (r->opcode != CIO_OP_READ && r->opcode != CIO_OP_RECV && r->opcode != CIO_OP_READV) return false;
        if (r->data_len > INT32_MAX) return false;
    }
    return true;
}

int cio_mock_script_add(cio_loop *loop, const cio_mock_rule *rule_in) {
    if (!mock_of(loop) || !rule_in || !rule_valid(rule_in)) return -CIO_EINVAL;
    struct mock_script *s = script_of(loop);
    if (!s) return -CIO_ENOMEM;
    rule *r = calloc(1, sizeof *r);
    if (!r) return -CIO_ENOMEM;
    r->r = *rule_in;
    r->r.data = NULL;
    if (rule_in->data) {
        /* One byte at least, so that "data of 0 bytes" (end of file) has a copy too. */
        void *copy = malloc(rule_in->data_len ? rule_in->data_len : 1);
        if (!copy) {
            free(r);
            return -CIO_ENOMEM;
        }
        if (rule_in->data_len) memcpy(copy, rule_in->data, rule_in->data_len);
        r->r.data = copy;
        r->has_data = true;
    }
    r->left = rule_in->times ? rule_in->times : 1;
    r->id = ++s->next_id;
    r->refs = 1;
    if (s->tail)
        s->tail->next = r;
    else
        s->head = r;
    s->tail = r;
    return r->id;
}

int cio_mock_script_unused(const cio_loop *loop, int *ids, int cap) {
    mock *m = mock_of(loop);
    if (!m || cap < 0 || (cap && !ids)) return -CIO_EINVAL;
    return count_unused(m->script, ids, cap);
}

int cio_mock_script_stats(const cio_loop *loop, cio_mock_script_counts *out) {
    mock *m = mock_of(loop);
    if (!m || !out) return -CIO_EINVAL;
    memset(out, 0, sizeof *out);
    const struct mock_script *s = m->script;
    if (!s) {
        out->ops = m->submitted;
        return 0;
    }
    out->ops = s->order;
    out->scripted = s->scripted;
    out->unscripted = s->unscripted;
    out->ended = s->ended;
    out->rules_left = (uint32_t)count_unused(s, NULL, 0);
    out->mode = (uint32_t)s->mode;
    return 0;
}

int cio_mock_script_report(const cio_loop *loop) {
    mock *m = mock_of(loop);
    if (!m) return -CIO_EINVAL;
    const struct mock_script *s = m->script;
    if (!s) {
        fprintf(stderr, "cio mock script: no script (seed %llu)\n", (unsigned long long)m->seed);
        return 0;
    }
    int unused = count_unused(s, NULL, 0);
    fprintf(stderr,
            "cio mock script: %s mode, seed %llu: %llu ops, %llu scripted (%llu ended early), %llu unscripted; "
            "%d rules not used up\n",
            s->mode == CIO_MOCK_SCRIPT_STRICT ? "strict" : "partial", (unsigned long long)m->seed,
            (unsigned long long)s->order, (unsigned long long)s->scripted, (unsigned long long)s->ended,
            (unsigned long long)s->unscripted, unused);
    describe_all(stderr, s);
    return unused;
}

int cio_mock_script_clear(cio_loop *loop) {
    mock *m = mock_of(loop);
    if (!m) return -CIO_EINVAL;
    struct mock_script *s = m->script;
    while (s && s->head) rule_unlist(s, NULL, s->head);
    return 0;
}
