/*
 * src/backend/mock_net.c - the mock's sockets before they connect,
 * listeners on simulated addresses, datagram sockets, and the names and
 * options of every simulated socket (mock_chan.h, cio/mock.h).
 *
 * The world is one host with loopback only, as Linux with no network: its
 * addresses are 127.0.0.0/8 and ::1 (and the wildcards 0.0.0.0 and ::),
 * TCP and UDP ports are two namespaces shared by IPv4 and IPv6 (an IPv6
 * socket without IPV6_V6ONLY takes IPv4 too, with v4-mapped addresses),
 * and AF_UNIX names are a namespace of the mock's: no file is made, and a
 * name goes with its socket.
 *
 * A stream connect finds the listener at once and makes a mock_chan: the
 * connecting handle becomes its end 0 (mock_stream_kind) and end 1 waits
 * in the listener's queue until an accept gives it a handle, as a TCP
 * connection is established before it is accepted. Datagrams are copied
 * into the receiver's queue by the send.
 */
#include <stdlib.h>

#include "mock_chan.h"
#include "../core/bufpool.h"

#if defined(_WIN32)
#include <afunix.h> /* after winsock2.h; sockaddr_in, in6, TCP_NODELAY come with platform.h */
#else
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#endif

/* The size of an address family field (sa_family_t has no name on Windows). */
#define FAMILY_LEN sizeof(((struct sockaddr *)0)->sa_family)
/* A socket length as a size (Windows' is an int; negative ones are refused first). */
#define ULEN(l) ((size_t)(l))

/* Linux's defaults (net.ipv4.ip_local_port_range, net.core.somaxconn,
 * net.core.rmem_max and wmem_max, net.unix.max_dgram_qlen), so that the
 * simulation answers as a stock system does. */
#define PORT_LO 32768u
#define PORT_HI 60999u
#define SOMAXCONN_ 4096
#define BUF_MAX 212992
#define RCVBUF_MIN 2304 /* SOCK_MIN_RCVBUF */
#define SNDBUF_MIN 4608 /* SOCK_MIN_SNDBUF */
#define UNIX_DGRAM_QLEN 10
/* The largest UDP payload over IPv4 and over IPv6 (65535 less the headers). */
#define UDP_MAX4 65507u
#define UDP_MAX6 65527u
/* What a datagram costs in its receiver's buffer beyond its bytes (an
 * sk_buff's truesize, roughly): a queue of small datagrams fills. */
#define DGRAM_OVERHEAD 256u

struct mock_dgram {
    mock_dgram *next;
    mock_addr from; /* the sender's address, in the receiver's family (len 0: unnamed) */
    uint32_t len;
    unsigned char data[];
};

typedef struct mock_net {
    mock_sock *named; /* the sockets that have a name, newest first */
    uint64_t ids;     /* the last mock_sock id */
} mock_net;

static mock_net *net_of(mock *m) {
    if (!m->net) m->net = calloc(1, sizeof(mock_net));
    return m->net;
}

void mock_net_free(mock *m) {
    free(m->net);
    m->net = NULL;
}

/* ---- addresses ---- */

/* An IP endpoint as the simulation compares them: the address in IPv6
 * form (IPv4 as v4-mapped), and the port. */
typedef struct ep {
    unsigned char ip[16];
    uint16_t port;
} ep;

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool ep_v4(const ep *e) { return memcmp(e->ip, v4mapped, 12) == 0; }
static bool ep_any6(const ep *e) {
    static const unsigned char zero[16];
    return memcmp(e->ip, zero, 16) == 0;
}
static bool ep_any4(const ep *e) { return ep_v4(e) && !e->ip[12] && !e->ip[13] && !e->ip[14] && !e->ip[15]; }
static bool ep_loop4(const ep *e) { return ep_v4(e) && e->ip[12] == 127; }
static bool ep_loop6(const ep *e) {
    static const unsigned char one[16] = {[15] = 1};
    return memcmp(e->ip, one, 16) == 0;
}
static bool is_inet(int domain) { return domain == AF_INET || domain == AF_INET6; }

static void ep_of(const mock_addr *a, ep *e) {
    memset(e, 0, sizeof *e);
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
        memcpy(e->ip, v4mapped, 12);
        memcpy(e->ip + 12, &in->sin_addr, 4);
        e->port = ntohs(in->sin_port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
        memcpy(e->ip, &in6->sin6_addr, 16);
        e->port = ntohs(in6->sin6_port);
    }
}

/* `e` as an address of `family` (AF_INET: `e` is IPv4). */
static void addr_of(int family, const ep *e, mock_addr *a) {
    memset(a, 0, sizeof *a);
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(e->port);
        memcpy(&in->sin_addr, e->ip + 12, 4);
        a->len = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(e->port);
        memcpy(&in6->sin6_addr, e->ip, 16);
        a->len = sizeof *in6;
    }
}

/* The name of a socket of `domain` that has none: the family's wildcard
 * and port 0, or an AF_UNIX family alone (as getsockname gives them). */
static void unnamed(int domain, mock_addr *a) {
    memset(a, 0, sizeof *a);
    if (domain == AF_UNIX) {
        a->ss.ss_family = AF_UNIX;
        a->len = FAMILY_LEN;
        return;
    }
    ep e = {{0}, 0};
    if (domain == AF_INET) memcpy(e.ip, v4mapped, 12);
    addr_of(domain, &e, a);
}

/* Copies `a` out as the socket calls do: at most *len bytes, and its full
 * length into *len. */
static void addr_out(const mock_addr *a, void *out, cio_socklen *len) {
    if (!out || !len) return;
    size_t n = *len < a->len ? *len : a->len;
    if (n) memcpy(out, &a->ss, n);
    *len = a->len;
}

/* An IP address given to bind or connect by a socket of `domain`, as
 * inet_bind, inet6_bind and the connects check it: 0 or the error. */
static int parse_ip(int domain, bool v6only, const struct sockaddr *sa, cio_socklen len, bool binding, ep *e) {
    mock_addr a;
    memset(&a, 0, sizeof a);
    if (domain == AF_INET) {
        if (ULEN(len) < sizeof(struct sockaddr_in)) return -CIO_EINVAL;
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        /* Linux takes AF_UNSPEC with INADDR_ANY as AF_INET, for old programs. */
        bool unspec_any = binding && in->sin_family == AF_UNSPEC && in->sin_addr.s_addr == htonl(INADDR_ANY);
        if (in->sin_family != AF_INET && !unspec_any) return -CIO_EAFNOSUPPORT;
        memcpy(&a.ss, in, sizeof *in);
        a.ss.ss_family = AF_INET;
    } else {
        if (len < 24) return -CIO_EINVAL; /* SIN6_LEN_RFC2133: sin6_scope_id may be left out */
        if (sa->sa_family != AF_INET6) return -CIO_EAFNOSUPPORT;
        memcpy(&a.ss, sa, ULEN(len) < sizeof(struct sockaddr_in6) ? ULEN(len) : sizeof(struct sockaddr_in6));
    }
    ep_of(&a, e);
    if (domain == AF_INET6 && ep_v4(e) && v6only) return binding ? -CIO_EINVAL : -CIO_ENETUNREACH;
    return 0;
}

/* Whether a socket may take `e` as its own address: a wildcard or a
 * loopback address (the host has no other). */
static bool ip_local(const ep *e) { return ep_any4(e) || ep_loop4(e) || ep_any6(e) || ep_loop6(e); }

/* A destination as Linux routes it on a host with only loopback: the
 * wildcard means this host (127.0.0.1, ::1); any address not the host's
 * is unreachable. */
static int route(ep *e) {
    if (ep_any4(e)) {
        e->ip[12] = 127;
        e->ip[15] = 1;
    }
    if (ep_any6(e)) e->ip[15] = 1;
    return (ep_loop4(e) || ep_loop6(e)) ? 0 : -CIO_ENETUNREACH;
}

/* The source address of a packet to `dest` (routed): the loopback address
 * of its family. */
static void source_for(const ep *dest, ep *src) {
    memset(src, 0, sizeof *src);
    if (ep_v4(dest)) {
        memcpy(src->ip, v4mapped, 12);
        src->ip[12] = 127;
    }
    src->ip[15] = 1;
}

/* An AF_UNIX name given to bind or connect, as unix_validate_addr and
 * unix_mkname check and cut it: 0 or the error. A path ends at its first
 * NUL; an abstract name (sun_path[0] == 0) is all `len` bytes. */
static int parse_unix(const struct sockaddr *sa, cio_socklen len, mock_addr *a) {
    size_t path_at = offsetof(struct sockaddr_un, sun_path);
    if (ULEN(len) <= path_at || ULEN(len) > sizeof(struct sockaddr_un) || sa->sa_family != AF_UNIX) return -CIO_EINVAL;
    memset(a, 0, sizeof *a);
    memcpy(&a->ss, sa, len);
    struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
    if (un->sun_path[0]) {
        size_t n = 0;
        while (path_at + n < ULEN(len) && un->sun_path[n]) n++;
        memset(un->sun_path + n, 0, sizeof un->sun_path - n);
        len = (cio_socklen)(path_at + n + 1);
    }
    a->len = len;
    return 0;
}

static bool same_addr(const mock_addr *a, const mock_addr *b) {
    return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* ---- sockets and their names ---- */

static void name_add(mock_net *n, mock_sock *s) {
    s->named = true;
    s->named_prev = NULL;
    s->named_next = n->named;
    if (n->named) n->named->named_prev = s;
    n->named = s;
}

static void name_drop(mock *m, mock_sock *s) {
    if (!s->named) return;
    if (s->named_prev)
        s->named_prev->named_next = s->named_next;
    else
        m->net->named = s->named_next;
    if (s->named_next) s->named_next->named_prev = s->named_prev;
    s->named = false;
}

static mock_sock *sock_new(mock *m, int domain, int type, int protocol) {
    mock_net *n = net_of(m);
    mock_sock *s = n ? calloc(1, sizeof *s) : NULL;
    if (!s) return NULL;
    s->id = ++n->ids;
    s->domain = domain;
    s->type = type;
    s->protocol = protocol;
    s->fd = CIO_FD_INVALID;
    unnamed(domain, &s->name);
    /* Linux's defaults, doubled as getsockopt reads them: TCP's from
     * tcp_rmem and tcp_wmem, the others' from rmem_default, wmem_default. */
    bool tcp = is_inet(domain) && type == SOCK_STREAM;
    s->rcvbuf = tcp ? 131072 : BUF_MAX;
    s->sndbuf = tcp ? 16384 : BUF_MAX;
    return s;
}

int mock_sock_pair(mock *m, mock_sock *s[2]) {
    s[0] = sock_new(m, AF_UNIX, SOCK_STREAM, 0);
    s[1] = s[0] ? sock_new(m, AF_UNIX, SOCK_STREAM, 0) : NULL;
    if (!s[1]) {
        free(s[0]);
        return -CIO_ENOMEM;
    }
    for (int i = 0; i < 2; i++) {
        s[i]->connected = true;
        unnamed(AF_UNIX, &s[i]->peer);
    }
    return 0;
}

bool mock_sock_aborts(const mock_sock *s) { return s && s->linger && s->linger_s == 0; }

static void drop_dgrams(mock_sock *s) {
    while (s->dq) {
        mock_dgram *d = s->dq;
        s->dq = d->next;
        free(d);
    }
    s->dq_tail = NULL;
    s->dq_count = 0;
    s->dq_bytes = 0;
}

/* Room came in socket `id` (a listener's queue, an AF_UNIX datagram
 * receiver's): every socket with parked ops tries them again (a connect,
 * a send, a poll for POLLOUT, each maybe waiting for another socket, or
 * several), and parks again if there is still none. By handle number: a
 * seed gives the same order. */
static void wake_waiters(mock *m, uint64_t id) {
    (void)id;
    for (uint32_t i = 0; i < m->world.cap; i++) {
        mock_handle *h = &m->world.handles[i];
        if (h->kind == &mock_socket_kind && h->ops.head) mock_wake(m, mock_handle_fd(&m->world, h));
    }
}

/* A listener stops: the connections it never accepted are reset, and the
 * connects waiting for room in its queue try again (and find none). */
static void stop_listening(mock *m, mock_sock *s) {
    while (s->pending) {
        mock_chan *c = s->pending;
        s->pending = c->next;
        mock_chan_abort(m, c, 1);
    }
    s->pending_tail = NULL;
    s->npending = 0;
    s->listening = false;
    wake_waiters(m, s->id);
}

void mock_sock_free(mock *m, mock_sock *s) {
    if (!s) return;
    name_drop(m, s);
    if (s->listening) stop_listening(m, s);
    drop_dgrams(s);
    free(s);
}

/* ---- finding sockets by address ---- */

/* Whether two IP sockets' own addresses `ea`, `eb` share an address: a
 * wildcard shares all of its family (:: both families, unless
 * IPV6_V6ONLY). */
static bool overlaps(const mock_sock *a, const ep *ea, const mock_sock *b, const ep *eb) {
    bool a6 = ep_any6(ea), b6 = ep_any6(eb);
    bool a4 = ep_any4(ea) || (a6 && !a->v6only), b4 = ep_any4(eb) || (b6 && !b->v6only);
    if ((a6 && !ep_v4(eb)) || (b6 && !ep_v4(ea))) return true;
    if ((a4 && ep_v4(eb)) || (b4 && ep_v4(ea))) return true;
    return memcmp(ea->ip, eb->ip, 16) == 0;
}

/* Whether socket `s` (named) takes what is sent to `dest` (routed): `exact`
 * asks for its own address, else a wildcard that covers it. */
static bool takes(const mock_sock *s, const ep *dest, bool exact) {
    ep own;
    ep_of(&s->name, &own);
    if (own.port != dest->port) return false;
    if (s->domain == AF_INET && !ep_v4(dest)) return false;
    if (s->domain == AF_INET6 && ep_v4(dest) && s->v6only) return false;
    if (exact) return memcmp(own.ip, dest->ip, 16) == 0;
    return ep_any6(&own) || (ep_any4(&own) && ep_v4(dest));
}

/* Whether `a` and `b` share their ports' namespace: TCP or UDP over IP, or
 * AF_UNIX names. */
static bool same_space(const mock_sock *a, const mock_sock *b) {
    if (is_inet(a->domain)) return is_inet(b->domain) && a->type == b->type;
    return b->domain == AF_UNIX;
}

/* The socket of `type` that takes what is sent to `dest` (routed; for a
 * stream, the listener), exact addresses before wildcards; NULL: none. */
static mock_sock *find_ip(mock *m, int type, const ep *dest) {
    for (int exact = 1; exact >= 0; exact--)
        for (mock_sock *s = m->net ? m->net->named : NULL; s; s = s->named_next)
            if (is_inet(s->domain) && s->type == type && (type != SOCK_STREAM || s->listening) &&
                takes(s, dest, exact))
                return s;
    return NULL;
}

static bool abstract_name(const mock_addr *a) { return ((const struct sockaddr_un *)&a->ss)->sun_path[0] == 0; }

/* The AF_UNIX socket named `a`, else NULL. A path is one name whatever
 * the type (a file); an abstract name is one per type, as Linux hashes
 * them: then only a socket of `type` has it. */
static mock_sock *find_unix(mock *m, const mock_addr *a, int type) {
    for (mock_sock *s = m->net ? m->net->named : NULL; s; s = s->named_next)
        if (s->domain == AF_UNIX && same_addr(&s->name, a) && (!abstract_name(a) || s->type == type)) return s;
    return NULL;
}

/* Whether `old` keeps `s` from its address: Linux's rules for
 * SO_REUSEADDR (TCP: not with a listener; UDP: both set) and
 * SO_REUSEPORT (both set). At listen, only another listener does. */
static bool conflicts(const mock_sock *old, const mock_sock *s, bool at_listen) {
    if (old->reuseport && s->reuseport) return false;
    if (at_listen) return old->listening;
    if (!(old->reuseaddr && s->reuseaddr)) return true;
    return s->type == SOCK_STREAM && old->listening;
}

/* Whether `s` may have the IP address `e`: no other socket of its
 * namespace has an overlapping one on that port that keeps it. */
static bool ip_free(mock *m, const mock_sock *s, const ep *e, bool at_listen) {
    for (mock_sock *o = m->net->named; o; o = o->named_next) {
        if (o == s || !same_space(o, s) || !is_inet(o->domain)) continue;
        ep oe;
        ep_of(&o->name, &oe);
        if (oe.port == e->port && overlaps(o, &oe, s, e) && conflicts(o, s, at_listen)) return false;
    }
    return true;
}

/* Whether any socket of `s`'s namespace has port `port`. */
static bool port_used(mock *m, const mock_sock *s, uint16_t port) {
    for (mock_sock *o = m->net->named; o; o = o->named_next) {
        if (!same_space(o, s) || !is_inet(o->domain)) continue;
        ep oe;
        ep_of(&o->name, &oe);
        if (oe.port == port) return true;
    }
    return false;
}

/* An ephemeral port for `s`, from a seeded place in Linux's range on (as
 * Linux starts from a random one): the port, or -CIO_EADDRINUSE when all
 * are taken. */
static int ephemeral_port(mock *m, const mock_sock *s) {
    uint32_t range = PORT_HI - PORT_LO + 1, start = (uint32_t)(mock_random(m) % range);
    for (uint32_t i = 0; i < range; i++) {
        uint16_t port = (uint16_t)(PORT_LO + (start + i) % range);
        if (!port_used(m, s, port)) return port;
    }
    return -CIO_EADDRINUSE;
}

/* Names IP socket `s` `e` (port 0: an ephemeral one), if it may have it. */
static int name_ip(mock *m, mock_sock *s, ep *e) {
    if (!e->port) {
        int port = ephemeral_port(m, s);
        if (port < 0) return port;
        e->port = (uint16_t)port;
    } else if (!ip_free(m, s, e, false)) {
        return -CIO_EADDRINUSE;
    }
    addr_of(s->domain, e, &s->name);
    name_add(m->net, s);
    return 0;
}

/* Names AF_UNIX socket `s` with a seeded abstract name of five hex digits,
 * as Linux's autobind does. */
static int autobind_unix(mock *m, mock_sock *s) {
    for (int tries = 0; tries < (1 << 20); tries++) {
        mock_addr a;
        memset(&a, 0, sizeof a);
        struct sockaddr_un *un = (struct sockaddr_un *)&a.ss;
        un->sun_family = AF_UNIX;
        uint32_t r = (uint32_t)(mock_random(m) & 0xfffff);
        for (int i = 0; i < 5; i++) un->sun_path[1 + i] = "0123456789abcdef"[(r >> (4 * (4 - i))) & 15];
        a.len = (cio_socklen)(offsetof(struct sockaddr_un, sun_path) + 6);
        if (find_unix(m, &a, s->type)) continue;
        s->name = a;
        name_add(m->net, s);
        return 0;
    }
    return -CIO_EADDRINUSE;
}

/* Names an unnamed IP socket `s` for sending to `dest` (routed): an
 * ephemeral port on the wildcard, as an implicit bind does. */
static int autobind_ip(mock *m, mock_sock *s) {
    if (s->named) return 0;
    ep any = {{0}, 0};
    if (s->domain == AF_INET) memcpy(any.ip, v4mapped, 12);
    return name_ip(m, s, &any);
}

/* ---- the ops ---- */

/* socket(2): a new handle, or the error as Linux gives it for what the
 * simulation does not have. */
static int32_t do_socket(mock *m, cio_op *op) {
    int domain = op->args.socket.domain, type = op->args.socket.type, protocol = op->args.socket.protocol;
    int flags = type & (CIO_SOCK_NONBLOCK | CIO_SOCK_CLOEXEC);
    type &= ~flags;
    if (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX) return -CIO_EAFNOSUPPORT;
    if (type < 0 || type > 10 /* SOCK_PACKET: the last */) return -CIO_EINVAL;
    if (type != SOCK_STREAM && type != SOCK_DGRAM) return -CIO_EPROTONOSUPPORT; /* not simulated */
    if (domain == AF_UNIX) {
        if (protocol != 0 && protocol != AF_UNIX) return -CIO_EPROTONOSUPPORT;
        protocol = 0;
    } else {
        int own = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
        if (protocol != 0 && protocol != own) return -CIO_EPROTONOSUPPORT;
        protocol = own;
    }
    mock_sock *s = sock_new(m, domain, type, protocol);
    if (!s) return -CIO_ENOMEM;
    int32_t fd = mock_handle_open(&m->world, &mock_socket_kind, s, 0);
    if (fd < 0) {
        free(s);
        return (int32_t)fd;
    }
    s->fd = (cio_fd)fd;
    return cio__fd_result(op, (cio_fd)fd);
}

static int32_t do_bind(mock *m, const cio_op *op, mock_sock *s) {
    const struct sockaddr *sa = op->args.addr.addr;
    cio_socklen len = op->args.addr.addrlen;
    if (!net_of(m)) return -CIO_ENOMEM;
    if (s->domain == AF_UNIX) {
        if (len == offsetof(struct sockaddr_un, sun_path) && sa->sa_family == AF_UNIX)
            return s->named ? -CIO_EINVAL : autobind_unix(m, s);
        mock_addr a;
        int r = parse_unix(sa, len, &a);
        if (r < 0) return r;
        if (s->named) return -CIO_EINVAL;
        if (find_unix(m, &a, s->type)) return -CIO_EADDRINUSE;
        s->name = a;
        name_add(m->net, s);
        return 0;
    }
    ep e;
    int r = parse_ip(s->domain, s->v6only, sa, len, true, &e);
    if (r < 0) return r;
    if (s->named) return -CIO_EINVAL;
    if (!ip_local(&e)) return -CIO_EADDRNOTAVAIL;
    return name_ip(m, s, &e);
}

static int32_t do_listen(mock *m, const cio_op *op, mock_sock *s) {
    if (s->type != SOCK_STREAM) return -CIO_ENOTSUP; /* EOPNOTSUPP, as Linux */
    if (!s->named) {
        /* An IP socket gets an ephemeral port; an AF_UNIX one must be bound. */
        if (s->domain == AF_UNIX) return -CIO_EINVAL;
        if (!net_of(m)) return -CIO_ENOMEM;
        int r = autobind_ip(m, s);
        if (r < 0) return r;
    }
    if (!s->listening && is_inet(s->domain)) {
        ep e;
        ep_of(&s->name, &e);
        if (!ip_free(m, s, &e, true)) return -CIO_EADDRINUSE;
    }
    int backlog = op->args.listen.backlog;
    /* As Linux: the backlog is capped at somaxconn (a negative one too). */
    s->backlog = (backlog < 0 || backlog > SOMAXCONN_) ? SOMAXCONN_ : backlog;
    s->listening = true;
    wake_waiters(m, s->id); /* a larger backlog may have room */
    return 0;
}

/* What an accepted socket takes from its listener (Linux copies them). */
static void copy_options(mock_sock *acc, const mock_sock *l) {
    acc->reuseaddr = l->reuseaddr;
    acc->reuseport = l->reuseport;
    acc->keepalive = l->keepalive;
    acc->nodelay = l->nodelay;
    acc->v6only = l->v6only;
    acc->linger = l->linger;
    acc->linger_s = l->linger_s;
    acc->rcvbuf = l->rcvbuf;
    acc->sndbuf = l->sndbuf;
}

/* Fills a new connection's names: the accepted end `acc` has the address
 * the client reached (`dest`, routed) and the client's as its peer; the
 * client `s` has `dest` as its peer, in its own family. */
static void connection_names(mock_sock *s, mock_sock *l, mock_sock *acc, const ep *dest) {
    if (s->domain == AF_UNIX) {
        acc->name = l->name;
        acc->peer = s->name;
        s->peer = l->name;
        return;
    }
    ep own;
    ep_of(&s->name, &own);
    addr_of(l->domain, dest, &acc->name);
    addr_of(l->domain, &own, &acc->peer);
    addr_of(s->domain, dest, &s->peer);
}

/* Gives an IP socket connecting to `dest` its name: an ephemeral port if
 * it has none, and the source address in place of a wildcard. */
static int name_for(mock *m, mock_sock *s, const ep *dest) {
    int r = autobind_ip(m, s);
    if (r < 0) return r;
    ep own, src;
    ep_of(&s->name, &own);
    if (ep_any6(&own) || ep_any4(&own)) {
        source_for(dest, &src);
        src.port = own.port;
        addr_of(s->domain, &src, &s->name);
    }
    return 0;
}

/* The listener that a stream connect of `s` to `sa` reaches, into *l (and
 * the destination routed into *dest): 0 or the error. */
static int find_listener(mock *m, mock_sock *s, const struct sockaddr *sa, cio_socklen len, mock_sock **l, ep *dest) {
    if (s->domain == AF_UNIX) {
        mock_addr a;
        int r = parse_unix(sa, len, &a);
        if (r < 0) return r;
        *l = find_unix(m, &a, SOCK_STREAM);
        /* A path nobody holds is a file that does not exist; an abstract
         * name nobody holds is refused. */
        if (!*l) return abstract_name(&a) ? -CIO_ECONNREFUSED : -CIO_ENOENT;
        if ((*l)->type != SOCK_STREAM) return -CIO_EPROTOTYPE;
        return (*l)->listening ? 0 : -CIO_ECONNREFUSED;
    }
    int r = parse_ip(s->domain, s->v6only, sa, len, false, dest);
    if (r < 0) return r;
    if ((r = route(dest)) < 0) return r;
    *l = find_ip(m, SOCK_STREAM, dest);
    return *l ? 0 : -CIO_ECONNREFUSED;
}

/* A stream connect: the connection is made at once when the listener has
 * room in its queue (as TCP's handshake completes before the accept), and
 * waits for room otherwise (Linux retries its SYN). */
static int32_t stream_connect(mock *m, const cio_op *op, mock_handle *h, mock_sock *s) {
    const struct sockaddr *sa = op->args.addr.addr;
    cio_socklen len = op->args.addr.addrlen;
    if (s->listening) return -CIO_EISCONN;
    if (ULEN(len) >= FAMILY_LEN && sa->sa_family == AF_UNSPEC) return 0; /* no connection to dissolve */
    if (!net_of(m)) return -CIO_ENOMEM;
    mock_sock *l;
    ep dest;
    int r = find_listener(m, s, sa, len, &l, &dest);
    if (r < 0) return r;
    if (l->npending > (uint32_t)l->backlog) {
        return MOCK_PARK;
    }
    if (is_inet(s->domain) && (r = name_for(m, s, &dest)) < 0) return r;
    mock_sock *acc = sock_new(m, l->domain, SOCK_STREAM, l->protocol);
    mock_chan *c = acc ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        free(acc);
        return -CIO_ENOMEM;
    }
    /* The accepted socket holds its port while it lives (Linux: a bind
     * without SO_REUSEADDR fails until it is gone). */
    copy_options(acc, l);
    acc->connected = true;
    connection_names(s, l, acc, &dest);
    if (is_inet(acc->domain)) name_add(m->net, acc);
    s->connected = true;
    c->socket = true;
    c->open[0] = c->open[1] = true;
    c->fd[0] = s->fd;
    c->fd[1] = CIO_FD_INVALID;
    c->sock[0] = s;
    c->sock[1] = acc;
    if (l->pending_tail)
        l->pending_tail->next = c;
    else
        l->pending = c;
    l->pending_tail = c;
    l->npending++;
    h->kind = &mock_stream_kind; /* the same number, connected now */
    h->obj = c;
    h->end = 0;
    mock_wake(m, l->fd);
    return 0;
}

static int32_t do_accept(mock *m, cio_op *op, mock_sock *l) {
    if (l->type != SOCK_STREAM) return -CIO_ENOTSUP;
    if (!l->listening) return -CIO_EINVAL;
    if (op->args.accept.flags & ~(CIO_SOCK_NONBLOCK | CIO_SOCK_CLOEXEC)) return -CIO_EINVAL;
    mock_chan *c = l->pending;
    if (!c) return MOCK_PARK;
    int32_t fd = mock_handle_open(&m->world, &mock_stream_kind, c, 1);
    if (fd < 0) return fd; /* the connection stays queued */
    bool was_full = l->npending > (uint32_t)l->backlog;
    l->pending = c->next;
    if (!l->pending) l->pending_tail = NULL;
    l->npending--;
    c->next = NULL;
    c->fd[1] = (cio_fd)fd;
    c->sock[1]->fd = (cio_fd)fd;
    addr_out(&c->sock[1]->peer, op->args.accept.addr, op->args.accept.addrlen);
    if (was_full) wake_waiters(m, l->id); /* only then can a connect wait */
    if (op->flags & CIO_F_MULTISHOT) op->internal_.bflags |= MB_MORE;
    return cio__fd_result(op, (cio_fd)fd);
}

/* ---- datagrams ---- */

/* The largest datagram `s` sends. */
static uint32_t dgram_max(const mock_sock *s) {
    if (s->domain == AF_UNIX) return (uint32_t)s->sndbuf - 32; /* unix_dgram_sendmsg */
    return s->domain == AF_INET ? UDP_MAX4 : UDP_MAX6;
}

/* Whether `r`'s queue has no room for another datagram: AF_UNIX counts
 * datagrams (its sender then waits), UDP bytes against SO_RCVBUF (the
 * datagram is then dropped), both as Linux. */
static bool queue_full(const mock_sock *r) {
    if (r->domain == AF_UNIX) return r->dq_count > UNIX_DGRAM_QLEN;
    return r->dq_bytes > (size_t)r->rcvbuf;
}

/* Queues a copy of the bytes of `io` in `r`, from `from`: 0 or -CIO_ENOMEM. */
static int enqueue(mock *m, mock_sock *r, const mock_io *io, const mock_addr *from) {
    mock_dgram *d = malloc(sizeof *d + (size_t)io->want);
    if (!d) return -CIO_ENOMEM;
    d->next = NULL;
    d->from = *from;
    d->len = (uint32_t)io->want;
    size_t at = 0;
    for (unsigned i = 0; i < io->cnt; i++) {
        if (io->iov[i].iov_len) memcpy(d->data + at, io->iov[i].iov_base, io->iov[i].iov_len);
        at += io->iov[i].iov_len;
    }
    if (r->dq_tail)
        r->dq_tail->next = d;
    else
        r->dq = d;
    r->dq_tail = d;
    r->dq_count++;
    r->dq_bytes += d->len + DGRAM_OVERHEAD;
    mock_wake(m, r->fd);
    return 0;
}

/* Where a datagram of `s` goes: the message's address, else the peer. */
static int dgram_dest(const mock_sock *s, const mock_io *io, const struct sockaddr **sa, cio_socklen *len) {
    if (io->msg && CIO__MSG_NAME(io->msg) && CIO__MSG_NAMELEN(io->msg)) {
        *sa = CIO__MSG_NAME(io->msg);
        *len = CIO__MSG_NAMELEN(io->msg);
        return 0;
    }
    if (!s->connected) return s->domain == AF_UNIX ? -CIO_ENOTCONN : -CIO_EDESTADDRREQ;
    *sa = (const struct sockaddr *)&s->peer.ss;
    *len = s->peer.len;
    return 0;
}

/* A UDP datagram: to the socket that takes its address, else lost (a
 * connected sender learns of it as from ICMP: its next op fails with
 * -CIO_ECONNREFUSED); lost too when the receiver's queue is full. */
static int32_t udp_send(mock *m, mock_sock *s, const mock_io *io, const struct sockaddr *sa, cio_socklen len) {
    ep dest;
    int r = parse_ip(s->domain, s->v6only, sa, len, false, &dest);
    if (r < 0) return r;
    if ((r = route(&dest)) < 0) return r;
    if (!dest.port) return -CIO_EINVAL;
    if ((r = autobind_ip(m, s)) < 0) return r;
    ep own, src;
    ep_of(&s->name, &own);
    src = own;
    if (ep_any6(&own) || ep_any4(&own)) {
        source_for(&dest, &src);
        src.port = own.port;
    }
    mock_sock *rcv = find_ip(m, SOCK_DGRAM, &dest);
    mock_addr from;
    if (rcv) addr_of(rcv->domain, &src, &from);
    /* A connected receiver takes only its peer's datagrams. */
    if (rcv && rcv->connected && !same_addr(&rcv->peer, &from)) rcv = NULL;
    if (!rcv) {
        mock_addr to;
        addr_of(s->domain, &dest, &to);
        if (s->connected && same_addr(&to, &s->peer)) {
            s->error = CIO_ECONNREFUSED;
            mock_wake(m, s->fd);
        }
        return (int32_t)io->want;
    }
    if (queue_full(rcv)) return (int32_t)io->want;
    r = enqueue(m, rcv, io, &from);
    return r < 0 ? r : (int32_t)io->want;
}

/* An AF_UNIX datagram: to the socket of that name, at once, or an error
 * now (no ICMP here); waits while the receiver's queue is full. */
static int32_t unix_send(mock *m, cio_op *op, mock_sock *s, const mock_io *io, const struct sockaddr *sa,
                         cio_socklen len) {
    mock_addr a;
    int r = parse_unix(sa, len, &a);
    if (r < 0) return r;
    mock_sock *rcv = find_unix(m, &a, SOCK_DGRAM);
    if (!rcv) {
        if (s->connected && same_addr(&a, &s->peer)) return -CIO_ECONNREFUSED; /* the peer is gone */
        return abstract_name(&a) ? -CIO_ECONNREFUSED : -CIO_ENOENT;
    }
    if (rcv->type != SOCK_DGRAM) return -CIO_EPROTOTYPE;
    if (rcv->connected && rcv != s && !same_addr(&rcv->peer, &s->name)) return -CIO_EPERM;
    if (queue_full(rcv)) {
        if (io->flags & CIO_MSG_DONTWAIT) return -CIO_EAGAIN;
        return MOCK_PARK;
    }
    (void)op;
    mock_addr none = {0};
    r = enqueue(m, rcv, io, s->named ? &s->name : &none); /* unnamed: recvfrom gives length 0 */
    return r < 0 ? r : (int32_t)io->want;
}

static int32_t dgram_send(mock *m, cio_op *op, mock_sock *s, const mock_io *io) {
    if (s->error) {
        int e = s->error;
        s->error = 0;
        return -e;
    }
    if (s->shut_wr) return -CIO_EPIPE;
    if (io->msg && CIO__MSG_CONTROLLEN(io->msg)) return -CIO_ENOTSUP; /* ancillary data is not simulated */
    if (io->want > dgram_max(s)) return -CIO_EMSGSIZE;
    if (!net_of(m)) return -CIO_ENOMEM;
    const struct sockaddr *sa;
    cio_socklen len;
    int r = dgram_dest(s, io, &sa, &len);
    if (r < 0) return r;
    if (s->domain == AF_UNIX) return unix_send(m, op, s, io, sa, len);
    return udp_send(m, s, io, sa, len);
}

/* Copies datagram `d` into the buffers of `io`: the bytes copied. */
static uint32_t copy_out(const mock_dgram *d, const mock_io *io) {
    uint32_t at = 0;
    for (unsigned i = 0; i < io->cnt && at < d->len; i++) {
        size_t n = d->len - at < io->iov[i].iov_len ? d->len - at : io->iov[i].iov_len;
        if (n) memcpy(io->iov[i].iov_base, d->data + at, n);
        at += (uint32_t)n;
    }
    return at;
}

/* A receive takes the oldest datagram whole: what does not fit is lost
 * (MSG_TRUNC in the message's flags); with MSG_TRUNC in the op's flags the
 * result is the datagram's full length; MSG_PEEK leaves it queued. */
static int32_t dgram_recv(mock *m, mock_sock *s, const mock_io *io) {
    if (s->error) {
        int e = s->error;
        s->error = 0;
        return -e;
    }
    mock_dgram *d = s->dq;
    if (!d) {
        if (s->shut_rd) return 0;
        return (io->flags & CIO_MSG_DONTWAIT) ? -CIO_EAGAIN : MOCK_PARK;
    }
    uint32_t n = copy_out(d, io);
    if (io->msg) {
        if (CIO__MSG_NAME(io->msg))
            addr_out(&d->from, CIO__MSG_NAME(io->msg), &CIO__MSG_NAMELEN(io->msg));
        else
            CIO__MSG_NAMELEN(io->msg) = 0;
        CIO__MSG_CONTROLLEN(io->msg) = 0;
        CIO__MSG_FLAGS(io->msg) = n < d->len ? CIO_MSG_TRUNC : 0;
    }
    int32_t res = (io->flags & CIO_MSG_TRUNC) ? (int32_t)d->len : (int32_t)n;
    if (io->flags & CIO_MSG_PEEK) return res;
    bool was_full = queue_full(s);
    s->dq = d->next;
    if (!s->dq) s->dq_tail = NULL;
    s->dq_count--;
    s->dq_bytes -= d->len + DGRAM_OVERHEAD;
    free(d);
    if (was_full && s->domain == AF_UNIX) wake_waiters(m, s->id);
    return res;
}

/* A datagram connect sets the default peer (AF_UNSPEC: none), and
 * filters what comes in; UDP finds nobody, AF_UNIX needs the socket. */
static int32_t dgram_connect(mock *m, const cio_op *op, mock_sock *s) {
    const struct sockaddr *sa = op->args.addr.addr;
    cio_socklen len = op->args.addr.addrlen;
    if (ULEN(len) >= FAMILY_LEN && sa->sa_family == AF_UNSPEC) {
        s->connected = false;
        s->peer.len = 0;
        return 0;
    }
    if (!net_of(m)) return -CIO_ENOMEM;
    if (s->domain == AF_UNIX) {
        mock_addr a;
        int r = parse_unix(sa, len, &a);
        if (r < 0) return r;
        mock_sock *p = find_unix(m, &a, SOCK_DGRAM);
        if (!p) return abstract_name(&a) ? -CIO_ECONNREFUSED : -CIO_ENOENT;
        if (p->type != SOCK_DGRAM) return -CIO_EPROTOTYPE;
        s->peer = a;
        s->connected = true;
        return 0;
    }
    ep dest;
    int r = parse_ip(s->domain, s->v6only, sa, len, false, &dest);
    if (r < 0) return r;
    if ((r = route(&dest)) < 0) return r;
    if ((r = name_for(m, s, &dest)) < 0) return r;
    addr_of(s->domain, &dest, &s->peer);
    s->connected = true;
    return 0;
}

/* ---- shutdown and poll ---- */

static int32_t do_shutdown(mock *m, const cio_op *op, mock_sock *s) {
    int how = op->args.shutdown.how;
    if (s->listening) {
        /* A listener's receiving half is its queue: it stops listening. */
        if (how != CIO_SHUT_WR) {
            stop_listening(m, s);
            mock_wake(m, s->fd);
        }
        return 0;
    }
    if (how != CIO_SHUT_WR) s->shut_rd = true;
    if (how != CIO_SHUT_RD) s->shut_wr = true;
    mock_wake(m, s->fd);
    /* As inet_shutdown: an IP socket with no peer says so (its halves are
     * shut all the same); AF_UNIX does not. */
    return (is_inet(s->domain) && !s->connected) ? -CIO_ENOTCONN : 0;
}

/* The CIO_POLL* events of a socket that is not a connected stream: as
 * tcp_poll for one that never connected (OUT and HUP), a listener (IN
 * while a connection waits), and datagram_poll for datagrams. */
static uint32_t sock_events(mock *m, const mock_sock *s) {
    if (s->listening) return s->pending ? CIO_POLLIN : 0;
    if (s->type == SOCK_STREAM) return CIO_POLLOUT | CIO_POLLHUP;
    uint32_t ev = 0;
    if (s->error) ev |= CIO_POLLERR;
    if (s->dq) ev |= CIO_POLLIN;
    if (s->shut_rd) ev |= CIO_POLLIN | CIO_POLLRDHUP;
    if (s->shut_rd && s->shut_wr) ev |= CIO_POLLHUP;
    bool room = true;
    if (s->domain == AF_UNIX && s->connected) {
        const mock_sock *p = find_unix(m, &s->peer, SOCK_DGRAM);
        room = !p || !queue_full(p);
    }
    if (room) ev |= CIO_POLLOUT;
    return ev;
}

/* ---- receives into a buffer pool (cio/bufpool.h) ---- */

/* As on io_uring: a receive submitted on a dry pool ends at once. */
int mock_recv_pool_check(cio_op *op) {
    return cio__bufpool_empty(op->args.recv_pool.pool) ? -CIO_ENOBUFS : 0;
}

/* A try that found something to report (`res`, > 0 with the bytes in
 * buffer `id`): hands the buffer out, or gives it back. A multishot op
 * stays held for the next arrival (MB_MORE), until its end. */
static int32_t pool_result(cio_op *op, uint32_t id, int32_t res) {
    cio_bufpool *p = op->args.recv_pool.pool;
    if (res <= 0) {
        cio__bufpool_untake(p, id);
        return res;
    }
    cio__bufpool_hand_out(p, op, id);
    if (op->flags & CIO_F_MULTISHOT) op->internal_.bflags |= MB_MORE;
    return res;
}

/* A recv_pool on a connected stream end. It waits holding no buffer; a
 * buffer is taken only when there is something to report (bytes, the end
 * of the stream, a reset), and a dry pool then ends the op, leaving the
 * bytes in the ring (io_uring's rule). */
int32_t mock_recv_pool_chan(mock *m, cio_op *op, mock_chan *c, int end) {
    cio_bufpool *p = op->args.recv_pool.pool;
    mock_ring *r = mock_rx(c, end);
    if (!r->len && !c->reset[end] && !mock_rx_done(c, end)) return MOCK_PARK;
    uint32_t id;
    if (!cio__bufpool_take(p, &id)) return -CIO_ENOBUFS;
    if (!r->len) {
        /* As transfer(): a reset once, after the bytes before it; then the end. */
        if (c->reset[end]) {
            c->reset[end] = false;
            return pool_result(op, id, -CIO_ECONNRESET);
        }
        return pool_result(op, id, 0);
    }
    cio_iovec one;
    one.iov_base = (void *)cio__bufpool_at(p, id);
    one.iov_len = p->size;
    uint32_t n = mock_transfer_size(m, r->len < p->size ? r->len : p->size);
    n = mock_ring_take(r, &one, 1, 0, n, true);
    mock_chan_wake(m, c); /* room again: the writer may go on */
    return pool_result(op, id, (int32_t)n);
}

/* A recv_pool on a socket that is not a connected stream: datagrams, one
 * per result (cut to the buffer size), as dgram_recv takes them. */
static int32_t net_recv_pool(mock *m, cio_op *op, mock_sock *s) {
    cio_bufpool *p = op->args.recv_pool.pool;
    if (s->type != SOCK_DGRAM) return s->domain == AF_UNIX ? -CIO_EINVAL : -CIO_ENOTCONN;
    if (!s->error && !s->dq && !s->shut_rd) return MOCK_PARK;
    uint32_t id;
    if (!cio__bufpool_take(p, &id)) return -CIO_ENOBUFS;
    mock_io io;
    memset(&io, 0, sizeof io);
    io.one.iov_base = (void *)cio__bufpool_at(p, id);
    io.one.iov_len = p->size;
    io.iov = &io.one;
    io.cnt = 1;
    io.reading = true;
    io.want = p->size;
    return pool_result(op, id, dgram_recv(m, s, &io));
}

/* ---- the kind ---- */

static int net_check(mock *m, cio_op *op, mock_handle *h) {
    (void)m;
    if (!h) return 0; /* socket(2): all is decided at its try */
    mock_sock *s = h->obj;
    switch (op->opcode) {
    case CIO_OP_BIND:
    case CIO_OP_LISTEN:
    case CIO_OP_ACCEPT:
    case CIO_OP_CONNECT:
    case CIO_OP_SHUTDOWN:
    case CIO_OP_POLL:
        return 0;
    case CIO_OP_RECV_POOL:
        return mock_recv_pool_check(op);
    default:
        break;
    }
    mock_io io;
    if (!mock_io_of(op, &io)) return -CIO_EINVAL; /* fsync: a socket has nothing to flush (Linux: EINVAL) */
    return mock_io_check(op, s->type == SOCK_STREAM);
}

/* A read, write, recv, send, recvmsg or sendmsg on a socket that is not a
 * connected stream. */
static int32_t net_transfer(mock *m, cio_op *op, mock_sock *s) {
    mock_io io;
    mock_io_of(op, &io);
    if (s->type == SOCK_DGRAM) return io.reading ? dgram_recv(m, s, &io) : dgram_send(m, op, s, &io);
    /* As Linux for a stream with no connection: tcp_recvmsg ENOTCONN,
     * tcp_sendmsg EPIPE, an AF_UNIX stream EINVAL resp. ENOTCONN. */
    if (s->domain == AF_UNIX) return io.reading ? -CIO_EINVAL : -CIO_ENOTCONN;
    return io.reading ? -CIO_ENOTCONN : -CIO_EPIPE;
}

static int32_t net_try(mock *m, cio_op *op, mock_handle *h) {
    if (op->opcode == CIO_OP_SOCKET) return do_socket(m, op);
    mock_sock *s = h->obj;
    switch (op->opcode) {
    case CIO_OP_BIND:
        return do_bind(m, op, s);
    case CIO_OP_LISTEN:
        return do_listen(m, op, s);
    case CIO_OP_ACCEPT:
        return do_accept(m, op, s);
    case CIO_OP_CONNECT:
        return s->type == SOCK_STREAM ? stream_connect(m, op, h, s) : dgram_connect(m, op, s);
    case CIO_OP_SHUTDOWN:
        return do_shutdown(m, op, s);
    case CIO_OP_POLL:
        return mock_poll_answer(op, sock_events(m, s));
    case CIO_OP_RECV_POOL:
        return net_recv_pool(m, op, s);
    default:
        return net_transfer(m, op, s);
    }
}

static void net_close(mock *m, mock_handle *h) {
    mock_sock *s = h->obj;
    uint64_t id = s->id;
    bool waited_on = s->type == SOCK_DGRAM && s->domain == AF_UNIX;
    mock_sock_free(m, s);
    if (waited_on) wake_waiters(m, id); /* their sends now fail */
}

const mock_kind mock_socket_kind = {.name = "socket", .check = net_check, .try_op = net_try, .close = net_close};

void mock_sock_sender(const mock_sock *s, cio_msghdr *msg) {
    if (s && s->domain == AF_UNIX && ULEN(s->peer.len) > FAMILY_LEN && CIO__MSG_NAME(msg))
        addr_out(&s->peer, CIO__MSG_NAME(msg), &CIO__MSG_NAMELEN(msg));
    else
        CIO__MSG_NAMELEN(msg) = 0;
}

/* ---- names and options (cio/socket.h) ---- */

/* The socket behind handle `fd`, into *s: 0, -CIO_EBADF (not a simulated
 * handle that is open) or -CIO_ENOTSOCK. For a connected stream, *c is its
 * channel and *end the handle's end. */
static int sock_at(mock *m, cio_fd fd, mock_sock **s, mock_chan **c, int *end) {
    mock_handle *h = mock_handle_at(&m->world, fd);
    *c = NULL;
    if (!h) return -CIO_EBADF;
    if (h->kind == &mock_socket_kind) {
        *s = h->obj;
        return 0;
    }
    if (h->kind != &mock_stream_kind) return -CIO_ENOTSOCK;
    *c = h->obj;
    *end = (int)h->end;
    *s = (*c)->sock[*end];
    return *s ? 0 : -CIO_ENOTSOCK;
}

static int int_in(const void *value, cio_socklen len, int *v) {
    if (ULEN(len) < sizeof(int)) return -CIO_EINVAL;
    memcpy(v, value, sizeof *v);
    return 0;
}

static int int_out(int v, void *value, cio_socklen *len) {
    if (ULEN(*len) < sizeof(int)) return -CIO_EINVAL;
    memcpy(value, &v, sizeof v);
    *len = sizeof v;
    return 0;
}

/* What SO_RCVBUF and SO_SNDBUF keep of `v`: doubled (for the kernel's own
 * overhead, socket(7)), within Linux's bounds. */
static int buf_size(int v, int min) {
    if (v < 0) v = 0;
    if (v > BUF_MAX) v = BUF_MAX;
    return 2 * v < min ? min : 2 * v;
}

/* The error a socket's next op would report (SO_ERROR reads and clears it). */
static int take_error(mock_sock *s, mock_chan *c, int end) {
    if (c && c->reset[end]) {
        c->reset[end] = false;
        return CIO_ECONNRESET;
    }
    int e = s->error;
    s->error = 0;
    return e;
}

static int set_socket_level(mock_sock *s, int name, const void *value, cio_socklen len) {
    if (name == SO_LINGER) {
        struct linger l;
        if (ULEN(len) < sizeof l) return -CIO_EINVAL;
        memcpy(&l, value, sizeof l);
        s->linger = l.l_onoff != 0;
        if (l.l_onoff) s->linger_s = l.l_linger; /* as Linux: the time stays when turned off */
        return 0;
    }
    int v, r = int_in(value, len, &v);
    switch (name) {
    case SO_REUSEADDR:
        if (!r) s->reuseaddr = v != 0;
        return r;
#ifdef SO_REUSEPORT
    case SO_REUSEPORT:
        if (!r) s->reuseport = v != 0;
        return r;
#endif
    case SO_KEEPALIVE:
        if (!r) s->keepalive = v != 0;
        return r;
    case SO_RCVBUF:
        if (!r) s->rcvbuf = buf_size(v, RCVBUF_MIN);
        return r;
    case SO_SNDBUF:
        if (!r) s->sndbuf = buf_size(v, SNDBUF_MIN);
        return r;
    default:
        return -CIO_ENOPROTOOPT; /* read only (SO_TYPE, SO_ERROR...), or not simulated */
    }
}

static int get_socket_level(mock_sock *s, mock_chan *c, int end, int name, void *value, cio_socklen *len) {
    switch (name) {
    case SO_LINGER: {
        struct linger l = {.l_onoff = s->linger, .l_linger = s->linger_s};
        if (ULEN(*len) < sizeof l) return -CIO_EINVAL;
        memcpy(value, &l, sizeof l);
        *len = sizeof l;
        return 0;
    }
    case SO_REUSEADDR:
        return int_out(s->reuseaddr, value, len);
#ifdef SO_REUSEPORT
    case SO_REUSEPORT:
        return int_out(s->reuseport, value, len);
#endif
    case SO_KEEPALIVE:
        return int_out(s->keepalive, value, len);
    case SO_RCVBUF:
        return int_out(s->rcvbuf, value, len);
    case SO_SNDBUF:
        return int_out(s->sndbuf, value, len);
    case SO_TYPE:
        return int_out(s->type, value, len);
    case SO_ACCEPTCONN:
        return int_out(s->listening, value, len);
#ifdef SO_DOMAIN
    case SO_DOMAIN:
        return int_out(s->domain, value, len);
#endif
#ifdef SO_PROTOCOL
    case SO_PROTOCOL:
        return int_out(s->protocol, value, len);
#endif
    case SO_ERROR:
        if (ULEN(*len) < sizeof(int)) return -CIO_EINVAL;
        return int_out(take_error(s, c, end), value, len);
    default:
        return -CIO_ENOPROTOOPT;
    }
}

/* Whether an IP socket `s` has options at `level`: its protocol's, and
 * its family's. */
static bool has_level(const mock_sock *s, int level) {
    if (level == (s->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP) || level == IPPROTO_IP) return true;
    return level == IPPROTO_IPV6 && s->domain == AF_INET6;
}

/* Options of the other levels: TCP_NODELAY on a TCP socket, IPV6_V6ONLY
 * on an IPv6 one (before it has a name, as Linux). Any other:
 * -CIO_ENOPROTOOPT; but as Linux's getsockopt, a level an IPv4 socket does
 * not have is -CIO_ENOTSUP (ip_getsockopt's EOPNOTSUPP), and an AF_UNIX
 * socket has no other level at all (EOPNOTSUPP). */
static int other_level(mock_sock *s, bool set, int level, int name, void *value, cio_socklen *len) {
    if (s->domain == AF_UNIX) return -CIO_ENOTSUP;
    bool *flag = NULL;
    if (level == IPPROTO_TCP && name == TCP_NODELAY && s->type == SOCK_STREAM) flag = &s->nodelay;
    if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && s->domain == AF_INET6) flag = &s->v6only;
    if (!flag) return (!set && s->domain == AF_INET && !has_level(s, level)) ? -CIO_ENOTSUP : -CIO_ENOPROTOOPT;
    if (!set) return int_out(*flag, value, len);
    int v, r = int_in(value, *len, &v);
    if (r < 0) return r;
    if (flag == &s->v6only && s->named) return -CIO_EINVAL;
    *flag = v != 0;
    return 0;
}

int mock_net_socket_call(cio_loop *loop, int call, cio_fd fd, int level, int name, void *value, cio_socklen *len) {
    mock *m = CIO_BACKEND_STATE(loop, mock);
    mock_sock *s;
    mock_chan *c;
    int end = 0;
    int r = sock_at(m, fd, &s, &c, &end);
    if (r < 0) return r;
    switch (call) {
    case CIO__SOCK_NAME:
        addr_out(&s->name, value, len);
        return 0;
    case CIO__SOCK_PEER:
        if (!s->connected || !s->peer.len) return -CIO_ENOTCONN;
        addr_out(&s->peer, value, len);
        return 0;
    case CIO__SOCK_SET:
        if (level == SOL_SOCKET) return set_socket_level(s, name, value, *len);
        return other_level(s, true, level, name, value, len);
    default:
        if (level == SOL_SOCKET) return get_socket_level(s, c, end, name, value, len);
        return other_level(s, false, level, name, value, len);
    }
}

/* ---- the quick setup calls of cio/net.h (backend.h: setup_op, pair) ---- */

/* Runs a socket, bind, listen or close now, as its try would at the end of
 * its latency: the same code, so the same answers; no latency, no fault. */
int32_t mock_net_setup_op(cio_loop *loop, cio_op *op) {
    mock *m = CIO_BACKEND_STATE(loop, mock);
    const cio_op *was = m->world.trying;
    int32_t r;
    if (op->opcode == CIO_OP_SOCKET) {
        m->world.trying = op; /* the handle is made by a socket op, for the leak report */
        r = do_socket(m, op);
        m->world.trying = was;
        return r;
    }
    cio_fd fd = op->opcode == CIO_OP_CLOSE    ? op->args.close.fd
                : op->opcode == CIO_OP_LISTEN ? op->args.listen.fd
                                              : op->args.addr.fd;
    mock_handle *h = mock_handle_at(&m->world, fd);
    if (!h) return -CIO_EBADF;
    switch (op->opcode) {
    case CIO_OP_CLOSE:
        if (h->ops.head) return -CIO_EBUSY; /* ops wait on it: a close op must end them */
        h->kind->close(m, h);
        mock_handle_free(&m->world, fd);
        return 0;
    case CIO_OP_BIND:
    case CIO_OP_LISTEN:
        if (h->kind == &mock_stream_kind) return -CIO_EINVAL; /* connected already, as Linux says */
        if (h->kind != &mock_socket_kind) return -CIO_ENOTSOCK;
        return net_try(m, op, h);
    default:
        return -CIO_EINVAL;
    }
}

/* A datagram socketpair: two simulated AF_UNIX datagram sockets, each
 * connected to the other. Sends find their receiver by name, so each gets
 * an autobound one (where Linux leaves a pair unnamed: getsockname and a
 * received datagram's source show "@xxxxx" here, not an empty name). */
static int dgram_pair(cio_loop *loop, mock *m, cio_fd fds[2]) {
    mock_sock *s[2] = {NULL, NULL};
    int r = 0;
    for (int i = 0; i < 2 && r == 0; i++) {
        cio_op op;
        cio_prep_socket(&op, AF_UNIX, SOCK_DGRAM | CIO_SOCK_CLOEXEC, 0);
        op.res = r = mock_net_setup_op(loop, &op); /* as a completion leaves it, for cio_op_fd */
        if (r < 0) break;
        fds[i] = cio_op_fd(&op);
        s[i] = mock_handle_at(&m->world, fds[i])->obj;
        r = autobind_unix(m, s[i]);
    }
    if (r == 0) {
        for (int i = 0; i < 2; i++) {
            s[i]->peer = s[1 - i]->name;
            s[i]->connected = true;
        }
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        if (!s[i]) continue;
        mock_handle *h = mock_handle_at(&m->world, fds[i]);
        h->kind->close(m, h);
        mock_handle_free(&m->world, fds[i]);
    }
    return r;
}

int mock_net_pair(cio_loop *loop, int type, cio_fd fds[2]) {
    mock *m = CIO_BACKEND_STATE(loop, mock);
    if (type == SOCK_DGRAM) return net_of(m) ? dgram_pair(loop, m, fds) : -CIO_ENOMEM;
    return mock_chan_make(m, type == SOCK_STREAM, fds);
}
