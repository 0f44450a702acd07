/*
 * test_net_addr - cio_addr parsing and formatting (cio/net.h) against the
 * system's inet_pton/inet_ntop as the oracle: every accepted form gives
 * the bytes inet_pton gives, every formatted address is the text
 * inet_ntop gives (brackets, scope and port added by the test itself),
 * and parse(format(a)) == a for thousands of seeded random addresses.
 * Malformed input is -CIO_EINVAL and leaves the address empty. Pure
 * functions: the same on every backend, the mock included.
 * CIO_TEST_PORTABLE
 */
#include "test.h"

#include <stdbool.h>

#include "cio.h"

#if !defined(_WIN32)
#include <arpa/inet.h>
#include <net/if.h>
#endif

static const size_t UN_OFF = offsetof(struct sockaddr_un, sun_path);

static bool empty(const cio_addr *a) {
    static const cio_addr zero;
    return memcmp(a, &zero, sizeof *a) == 0;
}

static void bad(const char *s, int err) {
    cio_addr a;
    memset(&a, 0xa5, sizeof a);
    int r = cio_addr_parse(&a, s);
    if (r != err) fprintf(stderr, "parse(\"%s\") = %d, want %d\n", s ? s : "(null)", r, err);
    CHECK_EQ(r, err);
    CHECK(empty(&a));
}

static void v4(const char *s, const char *ip, unsigned port) {
    cio_addr a;
    CHECK_EQ(cio_addr_parse(&a, s), 0);
    struct in_addr want;
    CHECK_EQ(inet_pton(AF_INET, ip, &want), 1);
    CHECK_EQ(cio_addr_family(&a), AF_INET);
    CHECK_EQ(a.len, sizeof(struct sockaddr_in));
    CHECK_EQ(a.u.in4.sin_family, AF_INET);
    CHECK(memcmp(&a.u.in4.sin_addr, &want, 4) == 0);
    CHECK_EQ(ntohs(a.u.in4.sin_port), port);
    CHECK_EQ(cio_addr_port(&a), (int)port);
}

static void v6(const char *s, const char *ip, uint32_t scope, unsigned port) {
    cio_addr a;
    int r = cio_addr_parse(&a, s);
    if (r) fprintf(stderr, "parse(\"%s\") = %d\n", s, r);
    CHECK_EQ(r, 0);
    struct in6_addr want;
    CHECK_EQ(inet_pton(AF_INET6, ip, &want), 1);
    CHECK_EQ(cio_addr_family(&a), AF_INET6);
    CHECK_EQ(a.len, sizeof(struct sockaddr_in6));
    CHECK(memcmp(&a.u.in6.sin6_addr, &want, 16) == 0);
    CHECK_EQ(a.u.in6.sin6_scope_id, scope);
    CHECK_EQ(a.u.in6.sin6_flowinfo, 0);
    CHECK_EQ(ntohs(a.u.in6.sin6_port), port);
}

/* format(a) is `want`, and parses back to a. */
static void formats(const cio_addr *a, const char *want) {
    char buf[CIO_ADDR_STRLEN];
    int n = cio_addr_format(a, buf, sizeof buf);
    if (n < 0 || strcmp(buf, want) != 0) fprintf(stderr, "format: %d \"%s\", want \"%s\"\n", n, buf, want);
    CHECK_EQ(n, (int)strlen(want));
    CHECK(strcmp(buf, want) == 0);
    /* Too small by one: -CIO_ENOSPC and "". Exactly enough: fits. */
    if (n == 0) return; /* an unnamed AF_UNIX address: nothing to cut, nothing to parse back */
    char small[CIO_ADDR_STRLEN];
    CHECK_EQ(cio_addr_format(a, small, (size_t)n), -CIO_ENOSPC);
    CHECK_EQ(small[0], 0);
    CHECK_EQ(cio_addr_format(a, small, (size_t)n + 1), n);
    cio_addr back;
    CHECK_EQ(cio_addr_parse(&back, buf), 0);
    CHECK(cio_addr_equal(&back, a));
}

static uint64_t rng = 88172645463325252ull;
static uint32_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void random_round_trips(void) {
    for (int i = 0; i < 4000; i++) {
        cio_addr a;
        char want[CIO_ADDR_STRLEN], ip[64];
        memset(&a, 0, sizeof a);
        unsigned port = next_rand() % 65536;
        if (i % 2 == 0) {
            a.u.in4.sin_family = AF_INET;
            uint32_t x = next_rand();
            memcpy(&a.u.in4.sin_addr, &x, 4);
            a.u.in4.sin_port = htons((uint16_t)port);
            a.len = sizeof a.u.in4;
            CHECK(inet_ntop(AF_INET, &a.u.in4.sin_addr, ip, sizeof ip) != NULL);
            snprintf(want, sizeof want, "%s:%u", ip, port);
        } else {
            a.u.in6.sin6_family = AF_INET6;
            unsigned char *b = (unsigned char *)&a.u.in6.sin6_addr;
            for (int k = 0; k < 16; k++) {
                /* Runs of zeros and v4-mapped forms often, so "::" and dotted tails come up. */
                uint32_t r = next_rand();
                b[k] = (r % 3 == 0) ? 0 : (unsigned char)(r >> 8);
            }
            if (i % 10 == 1) {
                memset(b, 0, 10);
                b[10] = b[11] = 0xff;
            }
            a.u.in6.sin6_port = htons((uint16_t)port);
            a.len = sizeof a.u.in6;
            /* A numeric scope that names no interface stays numeric. */
            uint32_t scope = (i % 7 == 0) ? 100000u + next_rand() % 1000000u : 0;
            a.u.in6.sin6_scope_id = scope;
            CHECK(inet_ntop(AF_INET6, &a.u.in6.sin6_addr, ip, sizeof ip) != NULL);
            if (scope)
                snprintf(want, sizeof want, "[%s%%%u]:%u", ip, (unsigned)scope, port);
            else
                snprintf(want, sizeof want, "[%s]:%u", ip, port);
        }
        formats(&a, want);
    }
}

static void unix_paths(void) {
    cio_addr a;
    CHECK_EQ(cio_addr_parse(&a, "/run/x.sock"), 0);
    CHECK_EQ(cio_addr_family(&a), AF_UNIX);
    CHECK_EQ(a.len, UN_OFF + strlen("/run/x.sock") + 1);
    CHECK(strcmp(a.u.un.sun_path, "/run/x.sock") == 0);
    CHECK_EQ(cio_addr_port(&a), -CIO_EAFNOSUPPORT);
    CHECK_EQ(cio_addr_set_port(&a, 1), -CIO_EAFNOSUPPORT);
    formats(&a, "/run/x.sock");
    CHECK_EQ(cio_addr_parse(&a, "./rel.sock"), 0);
    formats(&a, "./rel.sock");
    CHECK_EQ(cio_addr_parse(&a, "unix:plain.sock"), 0);
    CHECK(strcmp(a.u.un.sun_path, "plain.sock") == 0);
    formats(&a, "unix:plain.sock");
    /* A path that would read as something else gets the prefix back. */
    CHECK_EQ(cio_addr_parse(&a, "unix:@notabstract"), 0);
    CHECK_EQ(a.u.un.sun_path[0], '@');
    formats(&a, "unix:@notabstract");

    /* The longest path sun_path holds with its NUL, and one byte more. */
    char path[sizeof a.u.un.sun_path + 8];
    size_t room = sizeof a.u.un.sun_path;
    memset(path, 'p', sizeof path);
    path[0] = '/';
    path[room - 1] = 0;
    CHECK_EQ(cio_addr_parse(&a, path), 0);
    CHECK_EQ(a.len, UN_OFF + room);
    formats(&a, path);
    path[room - 1] = 'p';
    path[room] = 0;
    bad(path, -CIO_ENAMETOOLONG);

    /* Unnamed (the family alone): "" and nothing to parse. */
    cio_addr un;
    memset(&un, 0, sizeof un);
    un.u.un.sun_family = AF_UNIX;
    un.len = (cio_socklen)UN_OFF;
    formats(&un, "");

#if defined(__linux__)
    CHECK_EQ(cio_addr_parse(&a, "@abs"), 0);
    CHECK_EQ(a.len, UN_OFF + 4);
    CHECK_EQ(a.u.un.sun_path[0], 0);
    CHECK(memcmp(a.u.un.sun_path + 1, "abs", 3) == 0);
    formats(&a, "@abs");
    /* An abstract name with a NUL byte has no text. */
    cio_addr z = a;
    z.u.un.sun_path[2] = 0;
    char buf[CIO_ADDR_STRLEN];
    CHECK_EQ(cio_addr_format(&z, buf, sizeof buf), -CIO_EINVAL);
    CHECK(!cio_addr_equal(&z, &a));
#else
    bad("@abs", -CIO_EAFNOSUPPORT);
#endif
}

static void accessors(void) {
    cio_addr a, b;
    CHECK_EQ(cio_addr_parse(&a, "10.1.2.3:80"), 0);
    CHECK_EQ(cio_addr_set_port(&a, 65535), 0);
    CHECK_EQ(cio_addr_port(&a), 65535);
    CHECK_EQ(a.u.in4.sin_port, htons(65535));
    formats(&a, "10.1.2.3:65535");
    CHECK_EQ(cio_addr_parse(&b, "10.1.2.3:65535"), 0);
    CHECK(cio_addr_equal(&a, &b));
    CHECK_EQ(cio_addr_set_port(&b, 1), 0);
    CHECK(!cio_addr_equal(&a, &b));
    CHECK(!cio_addr_equal(&a, NULL));
    CHECK(cio_addr_equal(NULL, NULL));
    CHECK_EQ(cio_addr_family(NULL), AF_UNSPEC);
    CHECK_EQ(cio_addr_port(NULL), -CIO_EINVAL);
    CHECK_EQ(cio_addr_set_port(NULL, 1), -CIO_EINVAL);
    cio_addr_clear(&b);
    CHECK_EQ(b.len, sizeof b.u);
    CHECK_EQ(cio_addr_family(&b), AF_UNSPEC);
    CHECK_EQ(cio_addr_port(&b), -CIO_EAFNOSUPPORT);

    /* from: a sockaddr the oracle built. */
    struct sockaddr_in6 s6;
    memset(&s6, 0, sizeof s6);
    s6.sin6_family = AF_INET6;
    s6.sin6_port = htons(443);
    CHECK_EQ(inet_pton(AF_INET6, "2001:db8::7", &s6.sin6_addr), 1);
    CHECK_EQ(cio_addr_from(&b, (const struct sockaddr *)&s6, sizeof s6), 0);
    formats(&b, "[2001:db8::7]:443");
    CHECK_EQ(cio_addr_from(&b, (const struct sockaddr *)&s6, sizeof(struct sockaddr_in)), -CIO_EINVAL);
    CHECK_EQ(cio_addr_from(&b, (const struct sockaddr *)&s6, (cio_socklen)sizeof b.u + 1), -CIO_EINVAL);
    CHECK_EQ(cio_addr_from(&b, NULL, 16), -CIO_EINVAL);
    CHECK_EQ(cio_addr_from(NULL, (const struct sockaddr *)&s6, sizeof s6), -CIO_EINVAL);

    char buf[CIO_ADDR_STRLEN];
    CHECK_EQ(cio_addr_format(NULL, buf, sizeof buf), -CIO_EINVAL);
    CHECK_EQ(cio_addr_format(&a, NULL, 10), -CIO_EINVAL);
    CHECK_EQ(cio_addr_format(&a, buf, 0), -CIO_EINVAL);
    cio_addr_clear(&b);
    b.len = 0;
    CHECK_EQ(cio_addr_format(&b, buf, sizeof buf), -CIO_EAFNOSUPPORT);
    /* A length too short for its family. */
    b = a;
    b.len = 4;
    CHECK_EQ(cio_addr_format(&b, buf, sizeof buf), -CIO_EINVAL);
}

static void split(void) {
    char host[64];
    uint16_t port = 0;
    CHECK_EQ(cio_addr_split("example.com:80", host, sizeof host, &port), 0);
    CHECK(strcmp(host, "example.com") == 0);
    CHECK_EQ(port, 80);
    CHECK_EQ(cio_addr_split("[::1]:443", host, sizeof host, &port), 0);
    CHECK(strcmp(host, "::1") == 0);
    CHECK_EQ(port, 443);
    CHECK_EQ(cio_addr_split("[fe80::1%eth0]:0", host, sizeof host, &port), 0);
    CHECK(strcmp(host, "fe80::1%eth0") == 0);
    CHECK_EQ(port, 0);
    CHECK_EQ(cio_addr_split("1.2.3.4:65535", host, sizeof host, &port), 0);
    CHECK(strcmp(host, "1.2.3.4") == 0);
    CHECK_EQ(port, 65535);
    const char *bads[] = {"example.com", "example.com:", ":80", "::1:80", "[::1]", "[::1]:x", "[]:80", "a:65536",
                          "a:-1", "a:+1", "a: 1", "a:1 ", "[::1:80", "a]:80"};
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        int r = cio_addr_split(bads[i], host, sizeof host, &port);
        if (r != -CIO_EINVAL) fprintf(stderr, "split(\"%s\") = %d\n", bads[i], r);
        CHECK_EQ(r, -CIO_EINVAL);
    }
    CHECK_EQ(cio_addr_split("abcdef:1", host, 6, &port), -CIO_ENAMETOOLONG);
    CHECK_EQ(cio_addr_split("abcde:1", host, 6, &port), 0);
    CHECK_EQ(cio_addr_split(NULL, host, sizeof host, &port), -CIO_EINVAL);
}

int main(void) {
    /* No loop is needed; one is made so that a run on the mock is one (mock_seeds checks it). */
    cio_loop loop;
    t_loop_init(&loop, 8);
    v4("127.0.0.1:8080", "127.0.0.1", 8080);
    v4("127.0.0.1:0", "127.0.0.1", 0);
    v4("0.0.0.0:65535", "0.0.0.0", 65535);
    v4("255.255.255.255:1", "255.255.255.255", 1);
    v4("10.0.0.1:00080", "10.0.0.1", 80);
    v6("[::1]:8080", "::1", 0, 8080);
    v6("[::]:0", "::", 0, 0);
    v6("[2001:db8::1:2]:443", "2001:db8::1:2", 0, 443);
    v6("[::ffff:127.0.0.1]:9", "::ffff:127.0.0.1", 0, 9);
    v6("[fe80::1%2]:80", "fe80::1", 2, 80);
    v6("[fe80::1%4294967295]:80", "fe80::1", 4294967295u, 80);
#if !defined(_WIN32)
    {
        /* By name: the oracle is if_nametoindex of the first interface the system lists. */
        struct if_nameindex *ifs = if_nameindex();
        CHECK(ifs != NULL);
        if (ifs[0].if_name) {
            char s[96];
            snprintf(s, sizeof s, "[fe80::1%%%s]:80", ifs[0].if_name);
            v6(s, "fe80::1", if_nametoindex(ifs[0].if_name), 80);
            cio_addr a;
            CHECK_EQ(cio_addr_parse(&a, s), 0);
            formats(&a, s); /* an index the system names formats as its name */
        }
        if_freenameindex(ifs);
        bad("[fe80::1%cio-no-such-if0]:80", -CIO_EINVAL);
    }
#else
    bad("[fe80::1%eth0]:80", -CIO_EINVAL); /* names need iphlpapi, which cio does not link */
#endif

    const char *bads[] = {"",
                          "127.0.0.1",
                          "127.0.0.1:",
                          ":80",
                          "127.0.0.1:65536",
                          "127.0.0.1:99999",
                          "127.0.0.1:123456",
                          "127.0.0.1:-1",
                          "127.0.0.1:+1",
                          "127.0.0.1: 80",
                          "127.0.0.1:80 ",
                          " 127.0.0.1:80",
                          "127.0.0.1:0x50",
                          "::1:80",
                          "::1",
                          "[::1]",
                          "[::1]80",
                          "[::1]:",
                          "[::1:80",
                          "::1]:80",
                          "[1.2.3.4]:80",
                          "1.2.3.4%1:80",
                          "256.1.1.1:80",
                          "1.2.3:80",
                          "1.2.3.4.5:80",
                          "[fe80::1%]:80",
                          "[%1]:80",
                          "[]:80",
                          "[::g]:80",
                          "localhost:80",
                          "example.com:80",
                          "unix:"};
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) bad(bads[i], -CIO_EINVAL);
    bad(NULL, -CIO_EINVAL);
    CHECK_EQ(cio_addr_parse(NULL, "127.0.0.1:1"), -CIO_EINVAL);

    cio_addr a;
    CHECK_EQ(cio_addr_parse(&a, "[2001:0db8:0000:0000:0000:0000:0000:0001]:80"), 0);
    formats(&a, "[2001:db8::1]:80"); /* the shortest form, as inet_ntop writes it */
    CHECK_EQ(cio_addr_parse(&a, "[fe80::1%7]:80"), 0);

    unix_paths();
    accessors();
    split();
    random_round_trips();
    t_close(&loop);
    printf("ok\n");
    return 0;
}
