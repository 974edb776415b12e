/*
 * tcp_pair: a TCP server and its client, the parent and its child, connected over loopback
 * (argv[1]: "4" IPv4, "6" IPv6, "4v6" an IPv6 socket talking to 127.0.0.1 as ::ffff:127.0.0.1),
 * with data in flight both ways: each end writes without the other reading until its writes
 * no longer fit, so that both receive queues are full and both send queues hold data sent and
 * data never sent. Options set on each end (TCP_NODELAY, keepalive times, SO_SNDBUF,
 * SO_REUSEADDR, TCP_USER_TIMEOUT) must read back the same. argv[2] "half": a second connection,
 * which the child has written "half" to and shut down for writing (FIN_WAIT2), the parent has
 * not read (CLOSE_WAIT): after SIGTERM the parent reads "half" and the end of file, sends "bye"
 * and closes; the client reads "bye" and the end of file.
 *
 * After SIGTERM (the parent passes it on to the child) each end reads everything the other
 * wrote, checks every byte, then they exchange a ping and a pong; the parent checks the child's
 * exit status and says PASS.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned char stream_byte(uint64_t k, unsigned seed)
{
    return (unsigned char)((k ^ (k >> 8) ^ (k >> 17)) * 31 + seed);
}

static int getint(int fd, int level, int opt)
{
    int v = -1;
    socklen_t l = sizeof(v);
    CHECK(getsockopt(fd, level, opt, &v, &l) == 0, "getsockopt(%d, %d): %s", level, opt, strerror(errno));
    return v;
}

static void setint(int fd, int level, int opt, int v)
{
    CHECK(setsockopt(fd, level, opt, &v, sizeof(v)) == 0, "setsockopt(%d, %d): %s", level, opt, strerror(errno));
}

/* Writes the stream (seed) until the kernel takes no more; returns how many bytes it took. */
static uint64_t fill(int fd, unsigned seed)
{
    static unsigned char buf[65536];
    uint64_t total = 0;
    CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0, "fcntl: %s", strerror(errno));
    for (int idle = 0; idle < 20;) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = stream_byte(total + i, seed);
        ssize_t n = write(fd, buf, sizeof(buf));
        if (n < 0) {
            CHECK(errno == EAGAIN, "write: %s", strerror(errno));
            idle++;
            usleep(10000);   /* the peer's window may still open as its buffer grows */
            continue;
        }
        total += n;
    }
    return total;
}

/* Reads exactly `total` bytes of the stream (seed) and checks each. */
static void drain(int fd, uint64_t total, unsigned seed, const char *who)
{
    static unsigned char buf[65536];
    uint64_t got = 0;
    while (got < total) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        CHECK(poll(&p, 1, 20000) == 1, "%s: no data for 20 s after %llu of %llu bytes", who,
              (unsigned long long)got, (unsigned long long)total);
        size_t want = total - got < sizeof(buf) ? total - got : sizeof(buf);
        ssize_t n = read(fd, buf, want);
        CHECK(n > 0, "%s: read after %llu of %llu bytes: %s", who, (unsigned long long)got,
              (unsigned long long)total, n == 0 ? "end of file" : strerror(errno));
        for (ssize_t i = 0; i < n; i++)
            CHECK(buf[i] == stream_byte(got + i, seed), "%s: byte %llu differs", who, (unsigned long long)(got + i));
        got += n;
    }
}

static void exchange(int fd, const char *say, const char *expect, const char *who)
{
    char buf[8] = "";
    CHECK(write(fd, say, 4) == 4, "%s: write %s: %s", who, say, strerror(errno));
    struct pollfd p = { .fd = fd, .events = POLLIN };
    CHECK(poll(&p, 1, 20000) == 1, "%s: no %s within 20 s", who, expect);
    CHECK(read(fd, buf, 4) == 4 && memcmp(buf, expect, 4) == 0, "%s: expected %s, read '%.4s'", who, expect, buf);
}

static int family, half_fd = -1;

static int tcp_state(int fd)
{
    struct tcp_info ti;
    socklen_t l = sizeof(ti);
    CHECK(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0, "TCP_INFO: %s", strerror(errno));
    return ti.tcpi_state;
}

static void read_exactly(int fd, const char *expect, const char *who)
{
    char buf[16] = "";
    size_t n = strlen(expect);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    CHECK(poll(&p, 1, 20000) == 1, "%s: nothing to read within 20 s", who);
    CHECK(read(fd, buf, n) == (ssize_t)n && memcmp(buf, expect, n) == 0, "%s: expected '%s', read '%s'", who,
          expect, buf);
    CHECK(poll(&p, 1, 20000) == 1 && read(fd, buf, sizeof(buf)) == 0, "%s: no end of file after '%s'", who, expect);
}
static struct sockaddr_storage server;
static socklen_t server_len;

static int client_socket(void)
{
    int c = socket(family, SOCK_STREAM, 0);
    CHECK(c >= 0, "socket: %s", strerror(errno));
    CHECK(connect(c, (struct sockaddr *)&server, server_len) == 0, "connect: %s", strerror(errno));
    return c;
}

static void child(int l, int to_parent, int from_parent, int half)
{
    close(l);
    int c = client_socket();
    setint(c, IPPROTO_TCP, TCP_NODELAY, 1);
    setint(c, SOL_SOCKET, SO_KEEPALIVE, 1);
    setint(c, IPPROTO_TCP, TCP_KEEPIDLE, 77);
    setint(c, IPPROTO_TCP, TCP_KEEPINTVL, 13);
    if (half) {
        half_fd = client_socket();
        CHECK(write(half_fd, "half", 4) == 4, "write: %s", strerror(errno));
        CHECK(shutdown(half_fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
    }
    uint64_t mine = fill(c, 7), theirs = 0;
    CHECK(write(to_parent, &mine, sizeof(mine)) == sizeof(mine), "pipe: %s", strerror(errno));
    CHECK(read(from_parent, &theirs, sizeof(theirs)) == sizeof(theirs), "pipe: %s", strerror(errno));
    close(to_parent);
    close(from_parent);
    test_waitsig();
    CHECK(fcntl(c, F_SETFL, 0) == 0, "fcntl: %s", strerror(errno));
    drain(c, theirs, 11, "client");
    CHECK(getint(c, IPPROTO_TCP, TCP_NODELAY) == 1, "client: TCP_NODELAY lost");
    CHECK(getint(c, SOL_SOCKET, SO_KEEPALIVE) == 1, "client: SO_KEEPALIVE lost");
    CHECK(getint(c, IPPROTO_TCP, TCP_KEEPIDLE) == 77, "client: TCP_KEEPIDLE lost");
    CHECK(getint(c, IPPROTO_TCP, TCP_KEEPINTVL) == 13, "client: TCP_KEEPINTVL lost");
    /* Before the ping: the server reads the half-closed connection and closes it after the pong. */
    if (half)
        CHECK(tcp_state(half_fd) == TCP_FIN_WAIT2, "client: half-closed connection in state %d, not FIN_WAIT2",
              tcp_state(half_fd));
    exchange(c, "ping", "pong", "client");
    if (half)
        read_exactly(half_fd, "bye", "client (half closed)");
    exit(0);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    const char *mode = argc > 1 ? argv[1] : "4";
    int half = argc > 2 && strcmp(argv[2], "half") == 0;
    family = strcmp(mode, "4") == 0 ? AF_INET : AF_INET6;
    int l = socket(family, SOCK_STREAM, 0);
    CHECK(l >= 0, "socket: %s", strerror(errno));
    setint(l, SOL_SOCKET, SO_REUSEADDR, 1);
    memset(&server, 0, sizeof(server));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&server;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        server_len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&server;
        a->sin6_family = AF_INET6;
        if (strcmp(mode, "4v6") == 0)
            inet_pton(AF_INET6, "::ffff:127.0.0.1", &a->sin6_addr);
        else
            a->sin6_addr = in6addr_loopback;
        server_len = sizeof(*a);
    }
    if (strcmp(mode, "4v6") == 0) {   /* the listener on 0.0.0.0 too, through its IPv6 socket */
        setint(l, IPPROTO_IPV6, IPV6_V6ONLY, 0);
        ((struct sockaddr_in6 *)&server)->sin6_addr = in6addr_any;
    }
    CHECK(bind(l, (struct sockaddr *)&server, server_len) == 0, "bind: %s", strerror(errno));
    CHECK(listen(l, 4) == 0, "listen: %s", strerror(errno));
    socklen_t len = server_len;
    CHECK(getsockname(l, (struct sockaddr *)&server, &len) == 0, "getsockname: %s", strerror(errno));
    if (strcmp(mode, "4v6") == 0)
        inet_pton(AF_INET6, "::ffff:127.0.0.1", &((struct sockaddr_in6 *)&server)->sin6_addr);

    int up[2], down[2];
    CHECK(pipe(up) == 0 && pipe(down) == 0, "pipe: %s", strerror(errno));
    pid_t kid = fork();
    CHECK(kid >= 0, "fork: %s", strerror(errno));
    if (kid == 0) {
        close(up[0]);
        close(down[1]);
        child(l, up[1], down[0], half);
    }
    close(up[1]);
    close(down[0]);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0, "accept: %s", strerror(errno));
    if (half) {
        half_fd = accept(l, NULL, NULL);
        CHECK(half_fd >= 0, "accept: %s", strerror(errno));
    }
    setint(s, SOL_SOCKET, SO_SNDBUF, 1 << 20);
    int sndbuf = getint(s, SOL_SOCKET, SO_SNDBUF);
    setint(s, IPPROTO_TCP, TCP_USER_TIMEOUT, 45000);
    uint64_t mine = fill(s, 11), theirs = 0;
    CHECK(read(up[0], &theirs, sizeof(theirs)) == sizeof(theirs), "pipe: %s", strerror(errno));
    CHECK(write(down[1], &mine, sizeof(mine)) == sizeof(mine), "pipe: %s", strerror(errno));
    close(up[0]);
    close(down[1]);
    test_msg("IN FLIGHT %llu %llu", (unsigned long long)mine, (unsigned long long)theirs);
    test_ready();
    test_waitsig();
    kill(kid, SIGTERM);
    CHECK(fcntl(s, F_SETFL, 0) == 0, "fcntl: %s", strerror(errno));
    drain(s, theirs, 7, "server");
    CHECK(getint(s, SOL_SOCKET, SO_SNDBUF) == sndbuf, "server: SO_SNDBUF %d, set %d", getint(s, SOL_SOCKET,
          SO_SNDBUF), sndbuf);
    CHECK(getint(s, IPPROTO_TCP, TCP_USER_TIMEOUT) == 45000, "server: TCP_USER_TIMEOUT lost");
    CHECK(getint(l, SOL_SOCKET, SO_REUSEADDR) == 1, "listener: SO_REUSEADDR lost");
    char buf[8] = "";
    struct pollfd p = { .fd = s, .events = POLLIN };
    CHECK(poll(&p, 1, 20000) == 1 && read(s, buf, 4) == 4 && memcmp(buf, "ping", 4) == 0, "server: no ping");
    CHECK(write(s, "pong", 4) == 4, "server: write pong: %s", strerror(errno));
    if (half) {
        for (int i = 0; i < 100 && tcp_state(half_fd) != TCP_CLOSE_WAIT; i++)
            usleep(10000);
        CHECK(tcp_state(half_fd) == TCP_CLOSE_WAIT, "server: half-closed connection in state %d, not CLOSE_WAIT",
              tcp_state(half_fd));
        read_exactly(half_fd, "half", "server (half closed)");
        CHECK(write(half_fd, "bye", 3) == 3, "server: write bye: %s", strerror(errno));
        close(half_fd);
    }
    int status;
    CHECK(waitpid(kid, &status, 0) == kid, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client ended with status 0x%x", status);
    pass();
}
