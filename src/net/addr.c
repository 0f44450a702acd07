/*
 * src/net/addr.c - cio_addr: parsing and formatting socket addresses, the
 * text forms a program takes from its command line or configuration.
 * Pure functions: no loop, no DNS. The system's inet_pton/inet_ntop do the
 * IP text (so "what is an IPv4 literal" is the system's answer, as the
 * tests' oracle says), this file the brackets, ports, scopes and paths.
 */
#include "cio/net.h"

#include <stdio.h>
#include <string.h>

#if defined(_WIN32)
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <net/if.h>
#endif

#include "net_internal.h"

/* Bytes before sun_path: the family. */
#define UN_OFF ((cio_socklen)offsetof(struct sockaddr_un, sun_path))
#define UN_PATH_MAX ((size_t)sizeof(((struct sockaddr_un *)0)->sun_path))

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* A decimal number of at most `maxdigits` digits, no sign or space, not
 * above `max`, filling exactly s[0..n). */
static bool parse_num(const char *s, size_t n, unsigned maxdigits, uint32_t max, uint32_t *out) {
    if (n == 0 || n > maxdigits) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max) return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_port(const char *s, uint16_t *port) {
    uint32_t v;
    if (!parse_num(s, strlen(s), 5, 65535, &v)) return false;
    *port = (uint16_t)v;
    return true;
}

/* An interface: its number, or its name (POSIX: if_nametoindex; Windows
 * has it only in iphlpapi, which cio does not link: numbers only). */
static bool parse_scope(const char *s, size_t n, uint32_t *out) {
    if (n == 0) return false;
    if (parse_num(s, n, 10, UINT32_MAX, out)) return true;
#if defined(_WIN32)
    return false;
#else
    char name[IF_NAMESIZE];
    if (n >= sizeof name) return false;
    memcpy(name, s, n);
    name[n] = 0;
    unsigned idx = if_nametoindex(name);
    if (!idx) return false;
    *out = idx;
    return true;
#endif
}

int cio__unix_addr(cio_addr *out, const char *path, bool allow_abstract) {
    memset(out, 0, sizeof *out);
    if (!path || !*path) return -CIO_EINVAL;
    struct sockaddr_un *un = &out->u.un;
    un->sun_family = AF_UNIX;
    if (allow_abstract && path[0] == '@') {
#if defined(__linux__)
        size_t n = strlen(path + 1);
        if (n + 1 > UN_PATH_MAX) return -CIO_ENAMETOOLONG;
        memcpy(un->sun_path + 1, path + 1, n);
        out->len = (cio_socklen)(UN_OFF + 1 + n);
        return 0;
#else
        return -CIO_EAFNOSUPPORT;
#endif
    }
    size_t n = strlen(path);
    if (n + 1 > UN_PATH_MAX) return -CIO_ENAMETOOLONG;
    memcpy(un->sun_path, path, n);
    out->len = (cio_socklen)(UN_OFF + n + 1);
    return 0;
}

static int parse(cio_addr *out, const char *str) {
    if (!str || !*str) return -CIO_EINVAL;
    if (str[0] == '/' || str[0] == '.' || str[0] == '@') return cio__unix_addr(out, str, true);
    if (strncmp(str, "unix:", 5) == 0) return cio__unix_addr(out, str + 5, false);
    char host[64];
    uint16_t port;
    if (str[0] == '[') {
        const char *close = strchr(str, ']');
        if (!close || close[1] != ':' || !parse_port(close + 2, &port)) return -CIO_EINVAL;
        size_t n = (size_t)(close - (str + 1));
        const char *pct = memchr(str + 1, '%', n);
        size_t alen = pct ? (size_t)(pct - (str + 1)) : n;
        if (alen == 0 || alen >= sizeof host) return -CIO_EINVAL;
        memcpy(host, str + 1, alen);
        host[alen] = 0;
        struct sockaddr_in6 *a = &out->u.in6;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return -CIO_EINVAL;
        if (pct) {
            uint32_t scope;
            if (!parse_scope(pct + 1, n - alen - 1, &scope)) return -CIO_EINVAL;
            a->sin6_scope_id = scope;
        }
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        out->len = (cio_socklen)sizeof *a;
        return 0;
    }
    const char *colon = strchr(str, ':');
    if (!colon || strchr(colon + 1, ':') || !parse_port(colon + 1, &port)) return -CIO_EINVAL;
    size_t n = (size_t)(colon - str);
    if (n == 0 || n >= sizeof host) return -CIO_EINVAL;
    memcpy(host, str, n);
    host[n] = 0;
    struct sockaddr_in *a = &out->u.in4;
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return -CIO_EINVAL;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    out->len = (cio_socklen)sizeof *a;
    return 0;
}

int cio_addr_parse(cio_addr *out, const char *str) {
    if (!out) return -CIO_EINVAL;
    memset(out, 0, sizeof *out);
    int r = parse(out, str);
    if (r < 0) memset(out, 0, sizeof *out);
    return r;
}

/* Appends formatted text at buf + *at, keeping the NUL; false when it
 * does not fit. */
static bool put(char *buf, size_t size, size_t *at, const char *s, size_t n) {
    if (*at + n + 1 > size) return false;
    memcpy(buf + *at, s, n);
    *at += n;
    buf[*at] = 0;
    return true;
}

static bool put_str(char *buf, size_t size, size_t *at, const char *s) { return put(buf, size, at, s, strlen(s)); }

static int format(const cio_addr *a, char *buf, size_t size) {
    size_t at = 0;
    char tmp[64];
    switch (a->u.sa.sa_family) {
    case AF_INET: {
        if (a->len < (cio_socklen)sizeof a->u.in4) return -CIO_EINVAL;
        if (!inet_ntop(AF_INET, (void *)&a->u.in4.sin_addr, tmp, sizeof tmp)) return -CIO_EINVAL;
        if (!put_str(buf, size, &at, tmp)) return -CIO_ENOSPC;
        snprintf(tmp, sizeof tmp, ":%u", (unsigned)ntohs(a->u.in4.sin_port));
        return put_str(buf, size, &at, tmp) ? (int)at : -CIO_ENOSPC;
    }
    case AF_INET6: {
        if (a->len < (cio_socklen)sizeof a->u.in6) return -CIO_EINVAL;
        if (!inet_ntop(AF_INET6, (void *)&a->u.in6.sin6_addr, tmp, sizeof tmp)) return -CIO_EINVAL;
        if (!put_str(buf, size, &at, "[") || !put_str(buf, size, &at, tmp)) return -CIO_ENOSPC;
        uint32_t scope = a->u.in6.sin6_scope_id;
        if (scope) {
#if defined(_WIN32)
            snprintf(tmp, sizeof tmp, "%%%u", (unsigned)scope);
#else
            char name[IF_NAMESIZE];
            /* A name that is all digits would read back as a number: keep those numeric. */
            if (if_indextoname(scope, name) && !parse_num(name, strlen(name), 10, UINT32_MAX, &(uint32_t){0}))
                snprintf(tmp, sizeof tmp, "%%%s", name);
            else
                snprintf(tmp, sizeof tmp, "%%%u", (unsigned)scope);
#endif
            if (!put_str(buf, size, &at, tmp)) return -CIO_ENOSPC;
        }
        snprintf(tmp, sizeof tmp, "]:%u", (unsigned)ntohs(a->u.in6.sin6_port));
        return put_str(buf, size, &at, tmp) ? (int)at : -CIO_ENOSPC;
    }
    case AF_UNIX: {
        if (a->len < UN_OFF || a->len > (cio_socklen)sizeof a->u) return -CIO_EINVAL;
        size_t n = (size_t)(a->len - UN_OFF);
        const char *p = a->u.un.sun_path;
        if (n == 0) return 0; /* unnamed */
        if (p[0] == 0) { /* abstract: every byte of the length is the name */
            if (memchr(p + 1, 0, n - 1)) return -CIO_EINVAL;
            if (!put_str(buf, size, &at, "@") || !put(buf, size, &at, p + 1, n - 1)) return -CIO_ENOSPC;
            return (int)at;
        }
        const char *nul = memchr(p, 0, n);
        if (nul) n = (size_t)(nul - p);
        /* What parse would not take as a path as it stands gets the explicit prefix. */
        if (p[0] != '/' && p[0] != '.' && !put_str(buf, size, &at, "unix:")) return -CIO_ENOSPC;
        return put(buf, size, &at, p, n) ? (int)at : -CIO_ENOSPC;
    }
    default:
        return -CIO_EAFNOSUPPORT;
    }
}

int cio_addr_format(const cio_addr *a, char *buf, size_t size) {
    if (!a || !buf || size == 0) return -CIO_EINVAL;
    buf[0] = 0;
    int r = format(a, buf, size);
    if (r < 0) buf[0] = 0;
    return r;
}

int cio_addr_from(cio_addr *out, const struct sockaddr *sa, cio_socklen len) {
    if (!out || !sa || len < (cio_socklen)sizeof(sa->sa_family) || len > (cio_socklen)sizeof out->u)
        return -CIO_EINVAL;
    if ((sa->sa_family == AF_INET && len < (cio_socklen)sizeof(struct sockaddr_in)) ||
        (sa->sa_family == AF_INET6 && len < (cio_socklen)sizeof(struct sockaddr_in6)))
        return -CIO_EINVAL;
    memset(out, 0, sizeof *out);
    memcpy(&out->u, sa, (size_t)len);
    out->len = len;
    return 0;
}

int cio_addr_family(const cio_addr *a) {
    if (!a || a->len < (cio_socklen)sizeof(a->u.sa.sa_family)) return AF_UNSPEC;
    return a->u.sa.sa_family;
}

int cio_addr_port(const cio_addr *a) {
    if (!a) return -CIO_EINVAL;
    switch (cio_addr_family(a)) {
    case AF_INET:
        return ntohs(a->u.in4.sin_port);
    case AF_INET6:
        return ntohs(a->u.in6.sin6_port);
    default:
        return -CIO_EAFNOSUPPORT;
    }
}

int cio_addr_set_port(cio_addr *a, uint16_t port) {
    if (!a) return -CIO_EINVAL;
    switch (cio_addr_family(a)) {
    case AF_INET:
        a->u.in4.sin_port = htons(port);
        return 0;
    case AF_INET6:
        a->u.in6.sin6_port = htons(port);
        return 0;
    default:
        return -CIO_EAFNOSUPPORT;
    }
}

bool cio_addr_equal(const cio_addr *a, const cio_addr *b) {
    if (!a || !b) return a == b;
    int f = cio_addr_family(a);
    if (f != cio_addr_family(b)) return false;
    switch (f) {
    case AF_UNSPEC:
        return true;
    case AF_INET:
        return a->u.in4.sin_port == b->u.in4.sin_port &&
               memcmp(&a->u.in4.sin_addr, &b->u.in4.sin_addr, sizeof a->u.in4.sin_addr) == 0;
    case AF_INET6:
        return a->u.in6.sin6_port == b->u.in6.sin6_port && a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id &&
               memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, sizeof a->u.in6.sin6_addr) == 0;
    case AF_UNIX: {
        size_t na = a->len > UN_OFF ? (size_t)(a->len - UN_OFF) : 0;
        size_t nb = b->len > UN_OFF ? (size_t)(b->len - UN_OFF) : 0;
        const char *pa = a->u.un.sun_path, *pb = b->u.un.sun_path;
        if (na && nb && pa[0] && pb[0]) { /* paths: up to their NUL, which a length may count or not */
            const char *za = memchr(pa, 0, na), *zb = memchr(pb, 0, nb);
            if (za) na = (size_t)(za - pa);
            if (zb) nb = (size_t)(zb - pb);
        }
        return na == nb && memcmp(pa, pb, na) == 0;
    }
    default:
        return a->len == b->len && memcmp(&a->u, &b->u, (size_t)a->len) == 0;
    }
}

int cio_addr_split(const char *hostport, char *host, size_t hostsize, uint16_t *port) {
    if (!hostport || !host || hostsize == 0 || !port) return -CIO_EINVAL;
    host[0] = 0;
    const char *h = hostport, *colon;
    size_t n;
    if (h[0] == '[') {
        const char *close = strchr(h, ']');
        if (!close || close[1] != ':') return -CIO_EINVAL;
        h++;
        n = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(h, ':');
        if (!colon || memchr(h, ':', (size_t)(colon - h)) || strchr(h, ']')) return -CIO_EINVAL;
        n = (size_t)(colon - h);
    }
    if (n == 0 || !parse_port(colon + 1, port)) return -CIO_EINVAL;
    if (n >= hostsize) return -CIO_ENAMETOOLONG;
    memcpy(host, h, n);
    host[n] = 0;
    return 0;
}
