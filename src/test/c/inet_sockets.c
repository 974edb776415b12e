/*
 * inet_sockets: inet sockets without connection state, each with options set away from their
 * defaults:
 *   tcp4     TCP listener on 127.0.0.1, ephemeral port, SO_REUSEADDR, TCP_NODELAY, SO_KEEPALIVE,
 *            SO_RCVBUF, backlog 16
 *   tcp6     TCP listener on ::1, IPV6_V6ONLY, IPV6_UNICAST_HOPS, backlog 8
 *   bound    TCP socket bound to 127.0.0.1 (ephemeral port), never listening nor connected
 *   fresh    TCP socket, neither bound nor connected
 *   udp      UDP socket, non-blocking, bound to 127.0.0.1, connected to "peer"; SO_BROADCAST,
 *            IP_TOS, IP_TTL, SO_SNDBUF, SO_RCVTIMEO, SO_SNDTIMEO
 *   peer     UDP socket bound to 127.0.0.1, not connected
 * After restart: addresses, peers, options and status flags read back the same; each listener
 * accepts a connection the target makes to it; the bound socket can listen on its port; the
 * fresh one can connect; the UDP pair exchanges datagrams both ways.
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
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct opt {
    const char *name;
    int level, opt;
};

static const struct opt OPTS[] = {
    { "SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR }, { "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE },
    { "SO_BROADCAST", SOL_SOCKET, SO_BROADCAST }, { "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF },
    { "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF },       { "SO_RCVTIMEO", SOL_SOCKET, SO_RCVTIMEO },
    { "SO_SNDTIMEO", SOL_SOCKET, SO_SNDTIMEO },   { "SO_ACCEPTCONN", SOL_SOCKET, SO_ACCEPTCONN },
};
static const struct opt OPTS_TCP[] = { { "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY } };
static const struct opt OPTS_V4[] = { { "IP_TOS", IPPROTO_IP, IP_TOS }, { "IP_TTL", IPPROTO_IP, IP_TTL } };
static const struct opt OPTS_V6[] = { { "IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY },
                                      { "IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS } };
#define NOPTS 11

struct sock {
    const char *name;
    int fd, family, tcp;
    struct sockaddr_storage local, peer;
    socklen_t llen, plen;
    int fl;
    char opts[NOPTS][16];
    socklen_t olen[NOPTS];
};

static int all_opts(const struct sock *s, struct opt *out)
{
    int n = 0;
    for (size_t i = 0; i < sizeof(OPTS) / sizeof(OPTS[0]); i++)
        out[n++] = OPTS[i];
    if (s->tcp)
        out[n++] = OPTS_TCP[0];
    const struct opt *fam = s->family == AF_INET ? OPTS_V4 : OPTS_V6;
    out[n++] = fam[0];
    out[n++] = fam[1];
    return n;
}

static void record(struct sock *s)
{
    s->llen = sizeof(s->local);
    s->plen = sizeof(s->peer);
    memset(&s->local, 0, sizeof(s->local));
    memset(&s->peer, 0, sizeof(s->peer));
    CHECK(getsockname(s->fd, (struct sockaddr *)&s->local, &s->llen) == 0, "%s: getsockname: %s", s->name, strerror(errno));
    if (getpeername(s->fd, (struct sockaddr *)&s->peer, &s->plen) != 0) {
        CHECK(errno == ENOTCONN, "%s: getpeername: %s", s->name, strerror(errno));
        s->plen = 0;
    }
    s->fl = fcntl(s->fd, F_GETFL);
    struct opt o[NOPTS];
    int n = all_opts(s, o);
    for (int i = 0; i < n; i++) {
        memset(s->opts[i], 0, sizeof(s->opts[i]));
        s->olen[i] = sizeof(s->opts[i]);
        CHECK(getsockopt(s->fd, o[i].level, o[i].opt, s->opts[i], &s->olen[i]) == 0, "%s: getsockopt %s: %s", s->name,
              o[i].name, strerror(errno));
    }
}

static void compare(const struct sock *was)
{
    struct sock now = *was;
    record(&now);
    CHECK(now.llen == was->llen && memcmp(&now.local, &was->local, was->llen) == 0, "%s (fd %d): getsockname differs",
          was->name, was->fd);
    CHECK(now.plen == was->plen && memcmp(&now.peer, &was->peer, was->plen) == 0, "%s (fd %d): getpeername differs",
          was->name, was->fd);
    CHECK(now.fl == was->fl, "%s (fd %d): F_GETFL 0%o, was 0%o", was->name, was->fd, now.fl, was->fl);
    struct opt o[NOPTS];
    int n = all_opts(was, o);
    for (int i = 0; i < n; i++)
        CHECK(now.olen[i] == was->olen[i] && memcmp(now.opts[i], was->opts[i], was->olen[i]) == 0,
              "%s (fd %d): %s is %d, was %d", was->name, was->fd, o[i].name, *(int *)now.opts[i], *(int *)was->opts[i]);
}

static int sock(int family, int type)
{
    int fd = socket(family, type, 0);
    CHECK(fd >= 0, "socket(%d, %d): %s", family, type, strerror(errno));
    return fd;
}

static void set(int fd, int level, int opt, int v, const char *name)
{
    CHECK(setsockopt(fd, level, opt, &v, sizeof(v)) == 0, "setsockopt %s: %s", name, strerror(errno));
}

static void bind_loopback(int fd, int family)
{
    struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    int r = family == AF_INET ? bind(fd, (struct sockaddr *)&a4, sizeof(a4)) : bind(fd, (struct sockaddr *)&a6, sizeof(a6));
    CHECK(r == 0, "bind: %s", strerror(errno));
}

/* A new connection to the listener s: connect, accept, one byte each way. */
static void accepts(const struct sock *s)
{
    int c = sock(s->family, SOCK_STREAM);
    CHECK(connect(c, (struct sockaddr *)&s->local, s->llen) == 0, "%s: connect to own listener: %s", s->name, strerror(errno));
    int a = accept(s->fd, NULL, NULL);
    CHECK(a >= 0, "%s: accept: %s", s->name, strerror(errno));
    char b = 0;
    CHECK(write(c, "x", 1) == 1 && read(a, &b, 1) == 1 && b == 'x', "%s: accepted connection does not carry data", s->name);
    close(a);
    close(c);
}

static void exchange(int from, int to, const char *msg)
{
    struct pollfd p = { .fd = to, .events = POLLIN };
    char buf[32] = "";
    CHECK(send(from, msg, strlen(msg), 0) == (ssize_t)strlen(msg), "send %s: %s", msg, strerror(errno));
    CHECK(poll(&p, 1, 5000) == 1, "datagram %s did not arrive", msg);
    CHECK(recv(to, buf, sizeof(buf), MSG_DONTWAIT) == (ssize_t)strlen(msg) && strcmp(buf, msg) == 0,
          "datagram %s: received '%s'", msg, buf);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    struct sock s[6] = {
        { "tcp4 listener", sock(AF_INET, SOCK_STREAM), AF_INET, 1 },
        { "tcp6 listener", sock(AF_INET6, SOCK_STREAM), AF_INET6, 1 },
        { "bound tcp", sock(AF_INET, SOCK_STREAM), AF_INET, 1 },
        { "fresh tcp", sock(AF_INET, SOCK_STREAM), AF_INET, 1 },
        { "udp", sock(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK), AF_INET, 0 },
        { "udp peer", sock(AF_INET, SOCK_DGRAM), AF_INET, 0 },
    };
    struct sock *l4 = &s[0], *l6 = &s[1], *bound = &s[2], *fresh = &s[3], *udp = &s[4], *peer = &s[5];

    set(l4->fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
    set(l4->fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
    set(l4->fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
    set(l4->fd, SOL_SOCKET, SO_RCVBUF, 50000, "SO_RCVBUF");
    bind_loopback(l4->fd, AF_INET);
    CHECK(listen(l4->fd, 16) == 0, "listen: %s", strerror(errno));

    set(l6->fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
    set(l6->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 7, "IPV6_UNICAST_HOPS");
    bind_loopback(l6->fd, AF_INET6);
    CHECK(listen(l6->fd, 8) == 0, "listen6: %s", strerror(errno));

    bind_loopback(bound->fd, AF_INET);

    bind_loopback(peer->fd, AF_INET);
    bind_loopback(udp->fd, AF_INET);
    set(udp->fd, SOL_SOCKET, SO_BROADCAST, 1, "SO_BROADCAST");
    set(udp->fd, IPPROTO_IP, IP_TOS, 0x10, "IP_TOS");
    set(udp->fd, IPPROTO_IP, IP_TTL, 33, "IP_TTL");
    set(udp->fd, SOL_SOCKET, SO_SNDBUF, 40000, "SO_SNDBUF");
    struct timeval rt = { 2, 500000 }, st = { 0, 250000 };
    CHECK(setsockopt(udp->fd, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof(rt)) == 0, "SO_RCVTIMEO: %s", strerror(errno));
    CHECK(setsockopt(udp->fd, SOL_SOCKET, SO_SNDTIMEO, &st, sizeof(st)) == 0, "SO_SNDTIMEO: %s", strerror(errno));
    for (int i = 0; i < 6; i++)
        record(&s[i]);
    CHECK(connect(udp->fd, (struct sockaddr *)&peer->local, peer->llen) == 0, "connect udp: %s", strerror(errno));
    record(udp);
    CHECK(udp->plen > 0 && (udp->fl & O_NONBLOCK) && *(int *)l6->opts[9] == 1 /* IPV6_V6ONLY */, "set-up not as expected");
    test_msg("PORTS tcp4 %d tcp6 %d bound %d udp %d peer %d", ntohs(((struct sockaddr_in *)&l4->local)->sin_port),
             ntohs(((struct sockaddr_in6 *)&l6->local)->sin6_port), ntohs(((struct sockaddr_in *)&bound->local)->sin_port),
             ntohs(((struct sockaddr_in *)&udp->local)->sin_port), ntohs(((struct sockaddr_in *)&peer->local)->sin_port));

    test_ready();
    test_waitsig();

    for (int i = 0; i < 6; i++)
        compare(&s[i]);
    accepts(l4);
    accepts(l6);
    /* V6ONLY: the v6 listener must not take an IPv4-mapped connection */
    struct sockaddr_in6 mapped = *(struct sockaddr_in6 *)&l6->local;
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr);
    int m = sock(AF_INET6, SOCK_STREAM);
    CHECK(connect(m, (struct sockaddr *)&mapped, sizeof(mapped)) != 0, "IPV6_V6ONLY listener took an IPv4 connection");
    close(m);
    CHECK(listen(bound->fd, 1) == 0, "bound tcp: listen on its port: %s", strerror(errno));
    CHECK(connect(fresh->fd, (struct sockaddr *)&bound->local, bound->llen) == 0, "fresh tcp: connect: %s", strerror(errno));
    exchange(udp->fd, peer->fd, "to peer");
    CHECK(sendto(peer->fd, "to udp", 6, 0, (struct sockaddr *)&udp->local, udp->llen) == 6, "sendto udp: %s", strerror(errno));
    struct pollfd p = { .fd = udp->fd, .events = POLLIN };
    char buf[16] = "";
    CHECK(poll(&p, 1, 5000) == 1 && recv(udp->fd, buf, sizeof(buf), 0) == 6 && memcmp(buf, "to udp", 6) == 0,
          "udp: datagram from peer lost ('%s')", buf);
    CHECK(recv(udp->fd, buf, sizeof(buf), 0) == -1 && errno == EAGAIN, "udp: not non-blocking any more");
    pass();
}
