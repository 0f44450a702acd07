/*
 * bench/echo_client.c - the client every echo server of bench/echo.sh is
 * measured with, so that only the server differs between runs.
 *
 * Usage: echo_client PORT CONNS ROUND_TRIPS MSG_SIZE
 *
 * Opens CONNS connections to 127.0.0.1:PORT and keeps one message of
 * MSG_SIZE bytes in flight on each: send it, wait until all of it has come
 * back, check it, send the next, until ROUND_TRIPS replies have arrived in
 * all. Then it closes every connection (which ends the server) and prints
 *     bench=echo impl=client conns=32 rt=200000 ns=... rtt_per_s=...
 * One round trip per connection is made before the clock starts, so that
 * every connection has been accepted and is warm when it does.
 *
 * One connection is served with plain blocking send/recv, the cheapest
 * client there is; several are multiplexed with level-triggered epoll.
 * The client is plain C with no runtime of its own, pinned to another CPU
 * than the server.
 *
 * What the server costs is measured over exactly the timed window, which
 * only the client knows, when the environment asks for it:
 * - ECHO_SERVER_PID=N: the server's CPU time (all its threads) is read from
 *   /proc before and after, and the result line gains
 *   `server_cpu_ns=` (the scheduler's nanoseconds on a CPU, summed over
 *   /proc/N/task/T/schedstat) and `server_user_ns=` `server_sys_ns=` (from
 *   /proc/N/stat, in clock ticks of 10 ms, so coarse), and the client's
 *   own `client_cpu_ns=` (getrusage);
 * - ECHO_PERF_CTL=FIFO ECHO_PERF_ACK=FIFO: `perf stat -D -1 --control
 *   fifo:CTL,ACK` counting the server's system calls is told to enable its
 *   counters right before the window and to disable them right after, so
 *   that connecting and the warm-up are not counted;
 * - ECHO_HOLD=1 (bench/idle_mem.sh): once every connection has made its
 *   warm-up round trip, the client prints `held conns=N` on stdout and
 *   waits, every connection open and idle, until a line (or the end) comes
 *   on its stdin: meanwhile the script reads the server's memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "echo.h"

typedef struct conn {
    int fd;
    uint32_t got; /* bytes of the current reply received */
    char reply[ECHO_BUF];
} conn;

static char msg[ECHO_BUF];
static uint32_t msg_size;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void send_msg(int fd) {
    /* Blocking: a few bytes always fit in an idle socket's send buffer. */
    for (uint32_t off = 0; off < msg_size;) {
        ssize_t n = send(fd, msg + off, msg_size - off, MSG_NOSIGNAL);
        if (n < 0) die("send");
        off += (uint32_t)n;
    }
}

/* Takes what has arrived of the reply; returns 1 once it is complete. */
static int take_reply(conn *c, int flags) {
    ssize_t n = recv(c->fd, c->reply + c->got, msg_size - c->got, flags);
    if (n < 0 && errno == EAGAIN) return 0;
    if (n < 0) die("recv");
    if (n == 0) {
        fprintf(stderr, "echo_client: the server closed a connection\n");
        exit(1);
    }
    c->got += (uint32_t)n;
    if (c->got < msg_size) return 0;
    if (memcmp(c->reply, msg, msg_size) != 0) {
        fprintf(stderr, "echo_client: the reply differs from the message\n");
        exit(1);
    }
    c->got = 0;
    return 1;
}

static void round_trip(conn *c) {
    send_msg(c->fd);
    while (!take_reply(c, 0)) {
    }
}

/* CPU time of a process, as far as /proc tells it. */
typedef struct cpu_sample {
    uint64_t sched_ns;          /* on a CPU, summed over its threads (0: no schedstat) */
    uint64_t user_ns, sys_ns;   /* utime and stime of /proc/PID/stat (clock ticks) */
} cpu_sample;

static cpu_sample sample_cpu(long pid) {
    cpu_sample s = {0};
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/task", pid);
    DIR *d = opendir(path);
    if (!d) die("opendir /proc/PID/task (ECHO_SERVER_PID)");
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char tpath[300];
        snprintf(tpath, sizeof tpath, "/proc/%ld/task/%s/schedstat", pid, e->d_name);
        FILE *f = fopen(tpath, "r");
        if (!f) continue; /* the thread ended meanwhile */
        unsigned long long ns;
        if (fscanf(f, "%llu", &ns) == 1) s.sched_ns += ns;
        fclose(f);
    }
    closedir(d);
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) die("fopen /proc/PID/stat");
    if (!fgets(line, sizeof line, f)) die("read /proc/PID/stat");
    fclose(f);
    /* Fields 14 and 15 (utime, stime) come after the command name, which is
     * in parentheses and may hold spaces: count from the last ')'. */
    char *p = strrchr(line, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        die("parse /proc/PID/stat");
    long hz = sysconf(_SC_CLK_TCK);
    s.user_ns = ut * 1000000000ull / (unsigned long long)hz;
    s.sys_ns = st * 1000000000ull / (unsigned long long)hz;
    return s;
}

static uint64_t self_cpu_ns(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

/* Sends CMD to perf stat's control fifo and waits for its "ack". */
static void perf_control(const char *cmd) {
    const char *ctl = getenv("ECHO_PERF_CTL"), *ack = getenv("ECHO_PERF_ACK");
    if (!ctl || !ack) return;
    int fd = open(ctl, O_WRONLY | O_CLOEXEC);
    if (fd < 0) die("open ECHO_PERF_CTL");
    if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) die("write ECHO_PERF_CTL");
    close(fd);
    fd = open(ack, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open ECHO_PERF_ACK");
    char buf[16];
    if (read(fd, buf, sizeof buf) <= 0) die("read ECHO_PERF_ACK");
    close(fd);
}

/* CONNS > 1: one message in flight on each connection, replies taken as
 * epoll reports them, the next message sent as soon as a reply is whole. */
static void run_many(conn *cs, unsigned nconns, uint64_t total) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    uint64_t sent = 0, done = 0;
    for (unsigned i = 0; i < nconns && sent < total; i++, sent++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) die("epoll_ctl");
        send_msg(cs[i].fd);
    }
    struct epoll_event events[256];
    while (done < total) {
        int n = epoll_wait(ep, events, 256, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            conn *c = events[i].data.ptr;
            if (!take_reply(c, MSG_DONTWAIT)) continue;
            done++;
            if (sent < total) {
                sent++;
                send_msg(c->fd);
            }
        }
    }
    close(ep);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s PORT CONNS ROUND_TRIPS MSG_SIZE\n", argv[0]);
        return 2;
    }
    uint64_t port = bench_arg(argv[0], argv[1], "port");
    unsigned nconns = echo_conns_arg(argv[0], argv[2], "PORT CONNS ROUND_TRIPS MSG_SIZE");
    uint64_t total = bench_arg(argv[0], argv[3], "round trip count");
    uint64_t size = bench_arg(argv[0], argv[4], "message size");
    if (port > 65535 || size > ECHO_BUF) {
        fprintf(stderr, "%s: port at most 65535, message size at most %d\n", argv[0], ECHO_BUF);
        return 2;
    }
    msg_size = (uint32_t)size;
    for (uint32_t i = 0; i < msg_size; i++) msg[i] = (char)('a' + i % 26);

    conn *cs = calloc(nconns, sizeof *cs);
    if (!cs) die("calloc");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (unsigned i = 0; i < nconns; i++) {
        cs[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (cs[i].fd < 0) die("socket");
        if (connect(cs[i].fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
        echo_nodelay(cs[i].fd);
    }
    for (unsigned i = 0; i < nconns; i++) round_trip(&cs[i]); /* warm-up, untimed */
    const char *hold = getenv("ECHO_HOLD");
    if (hold && *hold && strcmp(hold, "0") != 0) {
        printf("held conns=%u\n", nconns);
        fflush(stdout);
        char go[16];
        while (read(0, go, sizeof go) < 0 && errno == EINTR) {
        }
    }

    const char *spid = getenv("ECHO_SERVER_PID");
    long server_pid = spid ? strtol(spid, NULL, 10) : 0;
    cpu_sample s0 = {0}, s1 = {0};
    perf_control("enable\n");
    if (server_pid > 0) s0 = sample_cpu(server_pid);
    uint64_t c0 = self_cpu_ns();
    uint64_t t0 = bench_now_ns();
    if (nconns == 1)
        for (uint64_t i = 0; i < total; i++) round_trip(&cs[0]);
    else
        run_many(cs, nconns, total);
    uint64_t ns = bench_now_ns() - t0;
    uint64_t client_ns = self_cpu_ns() - c0;
    if (server_pid > 0) s1 = sample_cpu(server_pid);
    perf_control("disable\n");

    for (unsigned i = 0; i < nconns; i++) close(cs[i].fd);
    free(cs);
    printf("bench=echo impl=client conns=%u rt=%llu ns=%llu rtt_per_s=%.0f", nconns, (unsigned long long)total,
           (unsigned long long)ns, ns ? (double)total * 1e9 / (double)ns : 0.0);
    if (server_pid > 0)
        printf(" server_cpu_ns=%llu server_user_ns=%llu server_sys_ns=%llu client_cpu_ns=%llu",
               (unsigned long long)(s1.sched_ns - s0.sched_ns), (unsigned long long)(s1.user_ns - s0.user_ns),
               (unsigned long long)(s1.sys_ns - s0.sys_ns), (unsigned long long)client_ns);
    printf("\n");
    return 0;
}
