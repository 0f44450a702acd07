/*
 * chat_server - a line-based chat: every line a client sends goes to every
 * other client.
 *
 *   chat_server [ADDR [CLIENTS]]   ADDR defaults to 127.0.0.1:0 (a free port)
 *   chat_server self [N]           the server and N chatting clients of its own (3)
 *
 * Prints "listening on ADDR" and serves until SIGINT or SIGTERM (Ctrl-C on
 * Windows), or until CLIENTS clients (if given) have come and gone. Try it
 * with two terminals running `nc 127.0.0.1 PORT`.
 *
 * What clients get: "* welcome NAME, K online" first, then "NAME: text" for
 * each line another client sends, and "* NAME joined" / "* NAME left";
 * NAME is the client's address ("127.0.0.1:50312").
 *
 * Limits, and why:
 * - A line may hold LINE_MAX (4096) bytes with its "\n". A longer one gets
 *   its sender "* line too long ..." and the connection closed: the reader's
 *   buffer is fixed, so a client cannot make the server hold more.
 * - Slow clients. Each client has two tasks: a reader, which hands each
 *   line to the others, and a writer, which sends what is queued for its
 *   client. A client that reads slower than the others talk would make its
 *   queue grow without bound, or, if the reader waited for room, stall
 *   every other client. Instead the queue is bounded (QUEUE_MAX lines,
 *   after what the socket's own buffers hold), and a client whose queue is
 *   full when a line comes is disconnected ("dropped ...: too slow"): it
 *   loses the rest of the conversation, nobody else waits for it. Lines are
 *   shared, not copied: one allocation per line, counted references.
 *
 * With `self` it starts N clients of its own that connect, wait until all
 * are in, each send a few lines and check that they get every other
 * client's lines, in order; it runs alone on every backend, the mock's
 * simulated sockets included: CIO_BACKEND=mock chat_server self 4
 */
#include <cio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX 4096
#define QUEUE_MAX 4096

/* A line on its way to clients: shared by every queue it is in. */
typedef struct msg {
    uint32_t refs;
    uint32_t len;
    char text[];
} msg;

typedef struct client {
    struct client *prev, *next; /* in chat.clients while linked */
    bool linked;
    bool closing;  /* no more lines come: the writer sends what is queued, then ends */
    bool dropped;  /* too slow: both tasks end at once */
    unsigned refs; /* the reader and the writer: the last one frees */
    cio_fd fd;
    char name[CIO_ADDR_STRLEN];
    char prefix[CIO_ADDR_STRLEN + 2]; /* "NAME: ", before each of its lines */
    msg **queue; /* QUEUE_MAX lines, a ring */
    unsigned head, count;
    cio_event more;                /* set when a line is queued, or at closing */
    cio_task *reader, *writer;     /* while they run, for dropping */
} client;

static struct {
    cio_fd listener;
    cio_group tasks; /* the acceptor, and two tasks per client */
    client *clients; /* the linked ones */
    unsigned online, limit, accepted;
} chat;

/* ---- lines ---- */

static msg *msg_new(const char *prefix, const char *body, uint32_t body_len, const char *suffix) {
    size_t a = strlen(prefix), c = strlen(suffix);
    msg *m = malloc(sizeof *m + a + body_len + c);
    if (!m) return NULL;
    m->refs = 0;
    m->len = (uint32_t)(a + body_len + c);
    memcpy(m->text, prefix, a);
    memcpy(m->text + a, body, body_len); /* a line may hold NUL bytes: not a C string */
    memcpy(m->text + a + body_len, suffix, c);
    return m;
}

static msg *msg_printf(const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return msg_new("", buf, n < 0 ? 0 : n < (int)sizeof buf ? (uint32_t)n : sizeof buf - 1, "");
}

static void msg_unref(msg *m) {
    if (--m->refs == 0) free(m);
}

/* ---- clients ---- */

static bool enqueue(client *c, msg *m) {
    if (c->count == QUEUE_MAX) return false;
    c->queue[(c->head + c->count++) % QUEUE_MAX] = m;
    m->refs++;
    cio_event_set(&c->more);
    return true;
}

static void unlink_client(client *c) {
    if (!c->linked) return;
    if (c->prev) c->prev->next = c->next;
    else chat.clients = c->next;
    if (c->next) c->next->prev = c->prev;
    c->linked = false;
    chat.online--;
}

/* Too slow: out of the chat at once; its tasks are cancelled and clean up. */
static void drop(client *c) {
    printf("dropped %s: too slow (%u lines waiting)\n", c->name, c->count);
    fflush(stdout);
    unlink_client(c);
    c->dropped = true;
    if (c->reader) cio_task_cancel(c->reader);
    if (c->writer) cio_task_cancel(c->writer);
}

/* `m` to every linked client but `from` (NULL: to all). Frees `m` if
 * nobody took it. */
static void broadcast(client *from, msg *m) {
    if (!m) return; /* out of memory: the line is lost, the chat goes on */
    m->refs++;      /* ours while we go through the list */
    for (client *c = chat.clients, *next; c; c = next) {
        next = c->next; /* drop() unlinks c */
        if (c != from && !enqueue(c, m)) drop(c);
    }
    msg_unref(m);
}

/* The reader and the writer each let go once; the last one closes and frees. */
static void release(client *c) {
    if (--c->refs > 0) return;
    cio_close(c->fd); /* still closes in a cancelled task */
    while (c->count) {
        msg_unref(c->queue[c->head]);
        c->head = (c->head + 1) % QUEUE_MAX;
        c->count--;
    }
    free(c->queue);
    free(c);
}

/* Sends what is queued for its client, as it comes. */
static intptr_t writer(void *arg) {
    client *c = arg;
    c->writer = cio_task_current();
    cio_stream s;
    cio_stream_socket(&s, c->fd);
    char buf[16384];
    cio_bufwriter w; /* gathers the lines that are queued together into few sends */
    cio_bufwriter_init(&w, &s, buf, sizeof buf);
    bool bounded = false;
    uint64_t outer = 0;
    int32_t r = 0;
    while (r >= 0 && !c->dropped) {
        if (c->closing && !bounded) { /* it has gone: 5 s to take the rest, no more */
            outer = cio_deadline_push(cio_now(cio_task_loop()) + 5000000000u);
            bounded = true;
        }
        if (c->count == 0) {
            if ((r = cio_bufwriter_flush(&w)) < 0) break;
            if (c->count > 0) continue; /* lines came while the flush waited */
            if (c->closing) break;
            cio_event_reset(&c->more);
            r = cio_event_wait(&c->more); /* a line, or the end */
            continue;
        }
        msg *m = c->queue[c->head];
        c->head = (c->head + 1) % QUEUE_MAX;
        c->count--;
        r = cio_bufwriter_write(&w, m->text, m->len);
        msg_unref(m);
    }
    if (bounded) cio_deadline_pop(outer);
    if (r < 0 && c->reader) cio_task_cancel(c->reader); /* it cannot be written to: out with it */
    c->writer = NULL;
    release(c);
    return 0; /* a client's trouble is not the server's */
}

/* Reads its client's lines and hands each to the others. */
static intptr_t reader(void *arg) {
    client *c = arg;
    c->reader = cio_task_current();
    cio_stream s;
    cio_stream_socket(&s, c->fd);
    char buf[LINE_MAX + 1]; /* the reader keeps one byte spare */
    cio_bufreader rd;
    cio_bufreader_init(&rd, &s, buf, sizeof buf);
    char *line;
    uint32_t len;
    int r = 0;
    while (!c->dropped && (r = cio_bufreader_read_line(&rd, LINE_MAX, &line, &len)) > 0)
        broadcast(c, msg_new(c->prefix, line, len, "\n"));
    if (r == -CIO_EMSGSIZE) {
        msg *m = msg_printf("* line too long (the limit is %d bytes), bye\n", LINE_MAX);
        if (m && !enqueue(c, m)) free(m);
        /* Skip the rest of the line (5 s at most): a socket closed with bytes
         * unread sends a reset, which could overtake the message. */
        uint64_t outer = cio_deadline_push(cio_now(cio_task_loop()) + 5000000000u);
        cio_bufreader_skip_until(&rd, '\n');
        cio_deadline_pop(outer);
    }
    bool was_in = c->linked || c->dropped;
    unlink_client(c);
    if (was_in) broadcast(NULL, msg_printf("* %s left\n", c->name));
    c->closing = true;
    cio_event_set(&c->more); /* the writer sends the rest and ends */
    c->reader = NULL;
    release(c);
    return 0;
}

/* Takes connections: each client is in the chat before its tasks start, so
 * its welcome is the first thing it gets. */
static intptr_t acceptor(void *arg) {
    (void)arg;
    while (chat.limit == 0 || chat.accepted < chat.limit) {
        cio_fd fd;
        cio_addr peer;
        int r = cio_tcp_accept(chat.listener, &fd, &peer);
        if (r == -CIO_ECANCELED) return 0;
        if (r < 0) {
            fprintf(stderr, "chat_server: accept: %s\n", cio_strerror(r));
            continue;
        }
        chat.accepted++;
        client *c = calloc(1, sizeof *c);
        if (c) c->queue = malloc(QUEUE_MAX * sizeof *c->queue);
        if (!c || !c->queue) {
            free(c);
            cio_close(fd);
            continue;
        }
        /* Lines are small and wanted at once: no Nagle delay behind an unacknowledged one. */
        cio_tcp_set_nodelay(cio_task_loop(), fd, true);
        c->fd = fd;
        c->refs = 2;
        cio_event_init(&c->more, false);
        cio_addr_format(&peer, c->name, sizeof c->name);
        snprintf(c->prefix, sizeof c->prefix, "%s: ", c->name);
        broadcast(NULL, msg_printf("* %s joined\n", c->name));
        c->next = chat.clients; /* in the chat: lines from now on reach it */
        if (c->next) c->next->prev = c;
        chat.clients = c;
        c->linked = true;
        chat.online++;
        msg *welcome = msg_printf("* welcome %s, %u online\n", c->name, chat.online);
        if (welcome) enqueue(c, welcome);
        if (cio_group_spawn(&chat.tasks, reader, c, NULL) < 0) {
            /* no reader: it can never leave. Take it out and let the writer end it. */
            unlink_client(c);
            c->closing = true;
            c->refs--;
        }
        if (cio_group_spawn(&chat.tasks, writer, c, NULL) < 0) {
            c->dropped = true; /* the reader ends at its next line */
            release(c);
        }
    }
    return 0;
}

/* Waits for a signal on the watcher that the main task set up, and cancels
 * every task of the server; cancelled itself when they finish first. */
static intptr_t stop_on_signal(void *arg) {
    cio_signal *sig = arg;
    int signo = cio_signal_wait(sig, 0, NULL); /* > 0, or -CIO_ECANCELED */
    if (signo > 0) {
        printf("signal %d: shutting down\n", signo);
        fflush(stdout);
        cio_group_cancel(&chat.tasks);
    }
    return 0;
}

/* Watches SIGINT and SIGTERM from now on (before we say we listen, so that
 * a signal sent right after that finds cio's handler in place). 0, or an
 * error and the server runs without. */
static int watch_signals(cio_signal *sig) {
    int r = cio_signal_init(sig, cio_task_loop());
    if (r < 0) return r;
    if ((r = cio_signal_add(sig, CIO_SIGINT)) < 0 || (r = cio_signal_add(sig, CIO_SIGTERM)) < 0) {
        cio_signal_close(sig);
        return r;
    }
    return 0;
}

/* ---- self: chatting clients of our own ---- */

#define OWN_LINES 5
#define OWN_MAX 16
static unsigned own_ready, own_count;
static cio_event own_all_in;

static intptr_t own_client(void *arg) {
    const char *where = arg;
    cio_loop *loop = cio_task_loop();
    /* 30 s for the whole conversation: lines that never come (a connection
     * the server lost) end it with -CIO_ETIMEDOUT rather than a wait for ever. */
    uint64_t outer = cio_deadline_push(cio_now(loop) + 30000000000u);
    cio_fd fd;
    int r = cio_tcp_connect(where, 0, &fd, NULL);
    if (r < 0) {
        cio_deadline_pop(outer);
        return r;
    }
    cio_addr me;
    char name[CIO_ADDR_STRLEN], out[128], senders[OWN_MAX][CIO_ADDR_STRLEN];
    unsigned got[OWN_MAX] = {0}, nsenders = 0, lines = 0;
    cio_socket_local_addr(loop, fd, &me);
    cio_addr_format(&me, name, sizeof name); /* what the server calls us */
    cio_stream s;
    cio_stream_socket(&s, fd);
    char buf[1024];
    cio_bufreader rd;
    cio_bufreader_init(&rd, &s, buf, sizeof buf);
    char *line;
    uint32_t len;
    if ((r = cio_bufreader_read_line(&rd, 0, &line, &len)) > 0 && strncmp(line, "* welcome ", 10) != 0) r = -CIO_EIO;
    if (r > 0 && ++own_ready == own_count) cio_event_set(&own_all_in);
    if (r > 0) r = cio_event_wait(&own_all_in); /* everyone is in: every line reaches all */
    for (int i = 0; i < OWN_LINES && r >= 0; i++) {
        int n = snprintf(out, sizeof out, "line %d of %s\n", i, name);
        r = cio_stream_write_all(&s, out, (uint32_t)n, NULL);
    }
    while (r >= 0 && lines < (own_count - 1) * OWN_LINES) {
        if ((r = cio_bufreader_read_line(&rd, 0, &line, &len)) <= 0) {
            r = r == 0 ? -CIO_ECONNRESET : r; /* closed early */
            break;
        }
        if (line[0] == '*') continue; /* joins and leaves */
        char *sep = strstr(line, ": ");
        if (!sep) {
            r = -CIO_EIO;
            break;
        }
        *sep = 0;
        unsigned k = 0;
        while (k < nsenders && strcmp(senders[k], line) != 0) k++;
        if (k == nsenders && nsenders < OWN_MAX) snprintf(senders[nsenders++], sizeof senders[0], "%s", line);
        snprintf(out, sizeof out, "line %u of %s", got[k]++, line); /* in order, from that sender */
        if (k == OWN_MAX || !strcmp(line, name) || strcmp(sep + 2, out) != 0) r = -CIO_EIO;
        lines++;
    }
    cio_close(fd);
    cio_deadline_pop(outer);
    if (r < 0) fprintf(stderr, "chat_server: own client %s: %s\n", name, cio_strerror(r));
    return r < 0 ? r : 0;
}

static intptr_t run_chat(void *arg) {
    const char **cfg = arg; /* address, clients, self */
    cio_loop *loop = cio_task_loop();
    chat.limit = (unsigned)strtoul(cfg[1], NULL, 10);
    int r = cio_tcp_listen(loop, cfg[0], NULL, &chat.listener);
    if (r < 0) {
        fprintf(stderr, "chat_server: listen on %s: %s\n", cfg[0], cio_strerror(r));
        return r;
    }
    cio_addr local;
    char name[CIO_ADDR_STRLEN];
    cio_socket_local_addr(loop, chat.listener, &local);
    cio_addr_format(&local, name, sizeof name);
    cio_signal sig;
    int sr = watch_signals(&sig);
    if (sr < 0) fprintf(stderr, "chat_server: no signal handling: %s\n", cio_strerror(sr));
    printf("listening on %s (backend %s)\n", name, cio_backend_name(cio_loop_backend(loop)));
    fflush(stdout);

    cio_group_init(&chat.tasks, loop, 0);
    cio_task *stopper = NULL;
    if (sr == 0) cio_task_spawn(loop, stop_on_signal, &sig, NULL, &stopper);
    cio_group_spawn(&chat.tasks, acceptor, NULL, NULL);

    cio_group own;
    cio_group_init(&own, loop, CIO_GROUP_CANCEL_ON_ERROR);
    cio_event_init(&own_all_in, false);
    own_count = cfg[2] ? chat.limit : 0;
    for (unsigned i = 0; i < own_count; i++) cio_group_spawn(&own, own_client, name, NULL);
    int own_err = cio_group_wait(&own);
    if (own_err < 0) cio_group_cancel(&chat.tasks); /* the clients that failed never come or go */

    int err = cio_group_wait(&chat.tasks);
    if (stopper) {
        cio_task_cancel(stopper);
        cio_task_join(stopper, NULL);
    }
    if (sr == 0) cio_signal_close(&sig); /* the signals get their old disposition back */
    cio_close(chat.listener);
    printf("%u clients served\n", chat.accepted);
    if (cfg[2] && own_err >= 0) printf("self: %u clients each got the %u lines of the others, in order\n", own_count,
                                       (own_count - 1) * OWN_LINES);
    return own_err < 0 ? own_err : err;
}

int main(int argc, char **argv) {
    int self = argc > 1 && !strcmp(argv[1], "self");
    const char *cfg[3] = {self ? "127.0.0.1:0" : argc > 1 ? argv[1] : "127.0.0.1:0",
                          self ? (argc > 2 ? argv[2] : "3") : argc > 2 ? argv[2] : "0", self ? "self" : NULL};
    unsigned n = (unsigned)strtoul(cfg[1], NULL, 10);
    if (argc > 3 || (self && (n < 2 || n > OWN_MAX))) {
        fprintf(stderr, "usage: chat_server [ADDR [CLIENTS]] | chat_server self [N: 2..%d]\n", OWN_MAX);
        return 2;
    }
    intptr_t result = -1;
    int r = cio_main(run_chat, cfg, NULL, &result);
    if (r < 0) fprintf(stderr, "chat_server: %s\n", cio_strerror(r));
    return r == 0 && result == 0 ? 0 : 1;
}
