/*
 * socket_options: sockets of every family Amber restores with options set away from their
 * defaults, and states that have no receive queue:
 *   tcp      unconnected TCP socket: TCP_CORK, TCP_KEEPIDLE/INTVL/CNT, TCP_USER_TIMEOUT,
 *            TCP_MAXSEG, SO_LINGER, SO_PRIORITY, SO_MARK, SO_RCVLOWAT, SO_OOBINLINE,
 *            SO_DONTROUTE, SO_BUF_LOCK, SO_BINDTODEVICE "lo"
 *   listener TCP listener on 127.0.0.1 with TCP_DEFER_ACCEPT, TCP_FASTOPEN
 *   udp      UDP socket with IP_PKTINFO, IP_RECVERR, IP_MTU_DISCOVER, IP_MULTICAST_TTL and a
 *            classic BPF filter (SO_ATTACH_FILTER) that lets everything through
 *   free     UDP socket bound to 192.0.2.1 (an address this host does not have) with
 *            IP_FREEBIND, which is then cleared
 *   udp6     UDP6 socket: IPV6_RECVPKTINFO, IPV6_RECVERR, IPV6_FREEBIND
 *   icmp     raw ICMP socket bound to 127.0.0.1 with ICMP_FILTER
 *   rawudp   raw UDP socket with IP_HDRINCL
 *   ustream  unix stream socket, never connected: SO_PASSCRED, SO_PRIORITY, SO_RCVLOWAT
 *   useq     unix seqpacket socket, bound to an abstract name, never connected
 *   nl       NETLINK_USERSOCK socket bound to port id 7000+pid%1000, groups 3 and 31 joined,
 *            NETLINK_NO_ENOBUFS, SO_RCVBUF
 *   nlc      NETLINK_USERSOCK socket connected to nl (port id picked by the kernel)
 * After restart every option, address and filter reads back the same; the listener accepts a
 * connection, the UDP socket still takes a datagram through its filter, nlc's message reaches nl.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/icmp.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
#endif

struct opt {
    const char *name;
    int level, opt, len;
};

#define O(level, name, len) { #name, level, name, len }
static const struct opt COMMON[] = {
    O(SOL_SOCKET, SO_PRIORITY, 4),  O(SOL_SOCKET, SO_MARK, 4),       O(SOL_SOCKET, SO_RCVLOWAT, 4),
    O(SOL_SOCKET, SO_OOBINLINE, 4), O(SOL_SOCKET, SO_DONTROUTE, 4),  O(SOL_SOCKET, SO_BUF_LOCK, 4),
    O(SOL_SOCKET, SO_LINGER, 8),    O(SOL_SOCKET, SO_BINDTODEVICE, 16), O(SOL_SOCKET, SO_SNDBUF, 4),
    O(SOL_SOCKET, SO_RCVBUF, 4),
};
static const struct opt TCP[] = {
    O(IPPROTO_TCP, TCP_CORK, 4),         O(IPPROTO_TCP, TCP_KEEPIDLE, 4),      O(IPPROTO_TCP, TCP_KEEPINTVL, 4),
    O(IPPROTO_TCP, TCP_KEEPCNT, 4),      O(IPPROTO_TCP, TCP_USER_TIMEOUT, 4),  O(IPPROTO_TCP, TCP_MAXSEG, 4),
    O(IPPROTO_TCP, TCP_DEFER_ACCEPT, 4), O(IPPROTO_TCP, TCP_FASTOPEN, 4),      O(IPPROTO_TCP, TCP_NODELAY, 4),
};
static const struct opt IP[] = {
    O(IPPROTO_IP, IP_PKTINFO, 4),       O(IPPROTO_IP, IP_RECVERR, 4),     O(IPPROTO_IP, IP_MTU_DISCOVER, 4),
    O(IPPROTO_IP, IP_MULTICAST_TTL, 4), O(IPPROTO_IP, IP_FREEBIND, 4),    O(IPPROTO_IP, IP_TOS, 4),
    O(IPPROTO_IP, IP_TTL, 4),
};
static const struct opt IP6[] = {
    O(IPPROTO_IPV6, IPV6_RECVPKTINFO, 4), O(IPPROTO_IPV6, IPV6_RECVERR, 4), O(IPPROTO_IPV6, IPV6_FREEBIND, 4),
};
static const struct opt RAW[] = { O(IPPROTO_IP, IP_HDRINCL, 4) };
static const struct opt ICMP[] = { O(SOL_RAW, ICMP_FILTER, 4) };
static const struct opt UNIX[] = { O(SOL_SOCKET, SO_PASSCRED, 4) };
static const struct opt NL[] = { O(SOL_NETLINK, NETLINK_NO_ENOBUFS, 4), O(SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, 16) };

#define MAXOPT 40
struct sock {
    const char *name;
    int fd, family, type;
    const struct opt *extra[3];
    int nextra[3];
    struct sockaddr_storage local, peer;
    socklen_t llen, plen;
    char val[MAXOPT][16];
    socklen_t vlen[MAXOPT];
    struct sock_filter filter[8];
    socklen_t flen;
};

/* Every option of s, in order: the common ones, then its family's and protocol's. */
static int opts(const struct sock *s, struct opt *out)
{
    int n = 0;
    for (size_t i = 0; i < sizeof(COMMON) / sizeof(COMMON[0]); i++)
        out[n++] = COMMON[i];
    for (int e = 0; e < 3; e++)
        for (int i = 0; i < s->nextra[e]; i++)
            out[n++] = s->extra[e][i];
    return n;
}

static void record(struct sock *s)
{
    struct opt o[MAXOPT];
    int n = opts(s, o);
    s->llen = sizeof(s->local);
    memset(&s->local, 0, sizeof(s->local));
    CHECK(getsockname(s->fd, (struct sockaddr *)&s->local, &s->llen) == 0, "%s: getsockname: %s", s->name,
          strerror(errno));
    s->plen = sizeof(s->peer);
    memset(&s->peer, 0, sizeof(s->peer));
    if (getpeername(s->fd, (struct sockaddr *)&s->peer, &s->plen) != 0)
        s->plen = 0;
    for (int i = 0; i < n; i++) {
        memset(s->val[i], 0, sizeof(s->val[i]));
        s->vlen[i] = o[i].len;
        CHECK(getsockopt(s->fd, o[i].level, o[i].opt, s->val[i], &s->vlen[i]) == 0, "%s: getsockopt %s: %s", s->name,
              o[i].name, strerror(errno));
    }
    s->flen = 0;
    CHECK(getsockopt(s->fd, SOL_SOCKET, SO_GET_FILTER, NULL, &s->flen) == 0, "%s: SO_GET_FILTER: %s", s->name,
          strerror(errno));
    CHECK(s->flen <= 8, "%s: filter of %u instructions", s->name, s->flen);
    if (s->flen > 0)
        CHECK(getsockopt(s->fd, SOL_SOCKET, SO_GET_FILTER, s->filter, &s->flen) == 0, "%s: SO_GET_FILTER: %s",
              s->name, strerror(errno));
}

static void compare(const struct sock *was)
{
    struct sock now = *was;
    struct opt o[MAXOPT];
    int n = opts(was, o);
    record(&now);
    CHECK(now.llen == was->llen && memcmp(&now.local, &was->local, was->llen) == 0, "%s: getsockname differs",
          was->name);
    CHECK(now.plen == was->plen && memcmp(&now.peer, &was->peer, was->plen) == 0, "%s: getpeername differs",
          was->name);
    for (int i = 0; i < n; i++)
        CHECK(now.vlen[i] == was->vlen[i] && memcmp(now.val[i], was->val[i], was->vlen[i]) == 0,
              "%s: %s is %d (%u bytes), was %d (%u bytes)", was->name, o[i].name, *(int *)now.val[i], now.vlen[i],
              *(int *)was->val[i], was->vlen[i]);
    CHECK(now.flen == was->flen && memcmp(now.filter, was->filter, was->flen * sizeof(struct sock_filter)) == 0,
          "%s: filter of %u instructions, was %u", was->name, now.flen, was->flen);
}

static void set(int fd, int level, int opt, int v, const char *name)
{
    CHECK(setsockopt(fd, level, opt, &v, sizeof(v)) == 0, "setsockopt %s: %s", name, strerror(errno));
}
#define SET(fd, level, opt, v) set(fd, level, opt, v, #opt)

static int sock(int family, int type, int protocol)
{
    int fd = socket(family, type, protocol);
    CHECK(fd >= 0, "socket(%d, %d, %d): %s", family, type, protocol, strerror(errno));
    return fd;
}

static void bind4(int fd, const char *addr)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    inet_pton(AF_INET, addr, &a.sin_addr);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind %s: %s", addr, strerror(errno));
}

static void setup_tcp(int fd)
{
    struct linger l = { 1, 7 };
    SET(fd, IPPROTO_TCP, TCP_CORK, 1);
    SET(fd, IPPROTO_TCP, TCP_KEEPIDLE, 111);
    SET(fd, IPPROTO_TCP, TCP_KEEPINTVL, 22);
    SET(fd, IPPROTO_TCP, TCP_KEEPCNT, 9);
    SET(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 12345);
    SET(fd, IPPROTO_TCP, TCP_MAXSEG, 1200);
    CHECK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) == 0, "SO_LINGER: %s", strerror(errno));
    SET(fd, SOL_SOCKET, SO_PRIORITY, 5);
    SET(fd, SOL_SOCKET, SO_MARK, 77);
    SET(fd, SOL_SOCKET, SO_RCVLOWAT, 3);
    SET(fd, SOL_SOCKET, SO_OOBINLINE, 1);
    SET(fd, SOL_SOCKET, SO_DONTROUTE, 1);
    SET(fd, SOL_SOCKET, SO_SNDBUF, 30000);   /* locks the send buffer ... */
    SET(fd, SOL_SOCKET, SO_BUF_LOCK, 2);     /* ... then only the receive one is locked */
    CHECK(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) == 0, "SO_BINDTODEVICE: %s", strerror(errno));
}

static void setup_udp(int fd)
{
    static struct sock_filter accept_all[] = { { 0x6, 0, 0, 0x0000ffff } };   /* ret #65535 */
    struct sock_fprog prog = { 1, accept_all };
    SET(fd, IPPROTO_IP, IP_PKTINFO, 1);
    SET(fd, IPPROTO_IP, IP_RECVERR, 1);
    SET(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE);
    SET(fd, IPPROTO_IP, IP_MULTICAST_TTL, 9);
    CHECK(setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) == 0, "SO_ATTACH_FILTER: %s",
          strerror(errno));
    bind4(fd, "127.0.0.1");
}

static void unix_sockets(struct sock *ustream, struct sock *useq)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "amber-socket-options-%d", getpid());
    SET(ustream->fd, SOL_SOCKET, SO_PASSCRED, 1);
    SET(ustream->fd, SOL_SOCKET, SO_PRIORITY, 3);
    SET(ustream->fd, SOL_SOCKET, SO_RCVLOWAT, 5);
    CHECK(bind(useq->fd, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1))
                  == 0, "bind abstract: %s", strerror(errno));
}

static void netlink_sockets(struct sock *nl, struct sock *nlc)
{
    struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_pid = 7000 + getpid() % 1000 };
    CHECK(bind(nl->fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind netlink: %s", strerror(errno));
    SET(nl->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 3);
    SET(nl->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 31);
    SET(nl->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, 1);
    SET(nl->fd, SOL_SOCKET, SO_RCVBUF, 70000);
    CHECK(connect(nlc->fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect netlink: %s", strerror(errno));
}

static void netlink_message(const struct sock *nl, const struct sock *nlc)
{
    struct nlmsghdr h = { .nlmsg_len = sizeof(h), .nlmsg_type = 0x1234, .nlmsg_seq = 42 }, got = { 0 };
    struct pollfd p = { .fd = nl->fd, .events = POLLIN };
    CHECK(send(nlc->fd, &h, sizeof(h), 0) == sizeof(h), "netlink send: %s", strerror(errno));
    CHECK(poll(&p, 1, 5000) == 1 && recv(nl->fd, &got, sizeof(got), 0) == sizeof(got) && got.nlmsg_seq == 42,
          "netlink: the message did not arrive");
}

static void datagram_through_filter(const struct sock *udp)
{
    int c = sock(AF_INET, SOCK_DGRAM, 0);
    char b[8] = "";
    struct pollfd p = { .fd = udp->fd, .events = POLLIN };
    CHECK(sendto(c, "ping", 4, 0, (struct sockaddr *)&udp->local, udp->llen) == 4, "sendto: %s", strerror(errno));
    CHECK(poll(&p, 1, 5000) == 1 && recv(udp->fd, b, sizeof(b), 0) == 4 && memcmp(b, "ping", 4) == 0,
          "udp: the datagram did not come through its filter");
    close(c);
}

static void accepts(const struct sock *l)
{
    int c = sock(AF_INET, SOCK_STREAM, 0), a;
    CHECK(connect(c, (struct sockaddr *)&l->local, l->llen) == 0, "connect to the listener: %s", strerror(errno));
    CHECK(write(c, "x", 1) == 1, "write: %s", strerror(errno));   /* TCP_DEFER_ACCEPT waits for data */
    a = accept(l->fd, NULL, NULL);
    CHECK(a >= 0, "accept: %s", strerror(errno));
    close(a);
    close(c);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    struct sock s[] = {
        { "tcp", sock(AF_INET, SOCK_STREAM, 0), AF_INET, SOCK_STREAM, { TCP, IP }, { 9, 7 } },
        { "listener", sock(AF_INET, SOCK_STREAM, 0), AF_INET, SOCK_STREAM, { TCP, IP }, { 9, 7 } },
        { "udp", sock(AF_INET, SOCK_DGRAM, 0), AF_INET, SOCK_DGRAM, { IP }, { 7 } },
        { "free", sock(AF_INET, SOCK_DGRAM, 0), AF_INET, SOCK_DGRAM, { IP }, { 7 } },
        { "udp6", sock(AF_INET6, SOCK_DGRAM, 0), AF_INET6, SOCK_DGRAM, { IP6 }, { 3 } },
        { "icmp", sock(AF_INET, SOCK_RAW, IPPROTO_ICMP), AF_INET, SOCK_RAW, { IP, ICMP }, { 7, 1 } },
        { "rawudp", sock(AF_INET, SOCK_RAW, IPPROTO_UDP), AF_INET, SOCK_RAW, { IP, RAW }, { 7, 1 } },
        { "ustream", sock(AF_UNIX, SOCK_STREAM, 0), AF_UNIX, SOCK_STREAM, { UNIX }, { 1 } },
        { "useq", sock(AF_UNIX, SOCK_SEQPACKET, 0), AF_UNIX, SOCK_SEQPACKET, { UNIX }, { 1 } },
        { "nl", sock(AF_NETLINK, SOCK_RAW, NETLINK_USERSOCK), AF_NETLINK, SOCK_RAW, { NL }, { 2 } },
        { "nlc", sock(AF_NETLINK, SOCK_DGRAM, NETLINK_USERSOCK), AF_NETLINK, SOCK_DGRAM, { NL }, { 2 } },
    };
    const int n = sizeof(s) / sizeof(s[0]);
    struct icmp_filter f = { 1 << ICMP_TIMESTAMP };

    setup_tcp(s[0].fd);
    SET(s[1].fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 10);
    SET(s[1].fd, IPPROTO_TCP, TCP_FASTOPEN, 5);
    bind4(s[1].fd, "127.0.0.1");
    CHECK(listen(s[1].fd, 4) == 0, "listen: %s", strerror(errno));
    setup_udp(s[2].fd);
    SET(s[3].fd, IPPROTO_IP, IP_FREEBIND, 1);
    bind4(s[3].fd, "192.0.2.1");
    SET(s[3].fd, IPPROTO_IP, IP_FREEBIND, 0);
    SET(s[4].fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    SET(s[4].fd, IPPROTO_IPV6, IPV6_RECVERR, 1);
    SET(s[4].fd, IPPROTO_IPV6, IPV6_FREEBIND, 1);
    CHECK(setsockopt(s[5].fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f)) == 0, "ICMP_FILTER: %s", strerror(errno));
    bind4(s[5].fd, "127.0.0.1");
    SET(s[6].fd, IPPROTO_IP, IP_HDRINCL, 1);
    unix_sockets(&s[7], &s[8]);
    netlink_sockets(&s[9], &s[10]);
    for (int i = 0; i < n; i++)
        record(&s[i]);
    CHECK(s[2].flen == 1 && *(int *)s[0].val[5] == 2 /* SO_BUF_LOCK */, "set-up not as expected");

    test_ready();
    test_waitsig();

    for (int i = 0; i < n; i++)
        compare(&s[i]);
    accepts(&s[1]);
    datagram_through_filter(&s[2]);
    netlink_message(&s[9], &s[10]);
    pass();
}
