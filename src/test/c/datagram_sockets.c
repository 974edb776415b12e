/*
 * datagram_sockets: datagram sockets as a small network daemon keeps them, shared with a worker.
 *   wr_shut  UDP 127.0.0.1, connected to rd_shut, shutdown(SHUT_WR): it may receive, not send
 *   rd_shut  UDP 127.0.0.1, connected to wr_shut, shutdown(SHUT_RD)
 *   closed   UDP, bound, never connected, shutdown(SHUT_RDWR) (ENOTCONN, but shut all the same)
 *   lite     UDP-Lite 127.0.0.1, UDPLITE_SEND_CSCOV 20, UDPLITE_RECV_CSCOV 12; lite6 on ::1
 *   ping     ping socket (ICMP) bound to 127.0.0.1, echo id 4321; ping6 (ICMPv6) on ::1
 *   udx      unix datagram pair, one end shutdown(SHUT_WR)
 * A worker child inherits them all (the same open file descriptions) and uses them after restart
 * too. Before READY the poll() events of each socket are recorded; after restart they must read
 * the same, wr_shut must fail to send with EPIPE, datagrams must flow rd_shut -> wr_shut and
 * lite6 -> lite, pings must be answered, names and options read back the same.
 *
 * With the argument "queued": only a UDP socket with a datagram waiting in its receive queue,
 * which a checkpoint refuses; the target checks the datagram is still there and passes.
 *
 * Ping sockets need the caller's group in net.ipv4.ping_group_range: when it is not, the target
 * widens the range to its group for the run and puts it back at the end.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef UDPLITE_SEND_CSCOV
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11
#endif

enum { WR_SHUT, RD_SHUT, CLOSED, LITE, LITE6, PING, PING6, UDX0, UDX1, N };
static const char *NAMES[N] = { "wr_shut", "rd_shut", "closed", "lite", "lite6", "ping", "ping6", "udx0", "udx1" };
static int fd[N];
static struct sockaddr_storage names[N];
static short events[N];
static char saved_range[64];

static socklen_t name_of(int s, struct sockaddr_storage *a)
{
    socklen_t l = sizeof(*a);
    memset(a, 0, sizeof(*a));
    CHECK(getsockname(s, (struct sockaddr *)a, &l) == 0, "getsockname: %s", strerror(errno));
    return l;
}

static void bind4(int s, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind 127.0.0.1:%d: %s", port, strerror(errno));
}

static void bind6(int s, int port)
{
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    CHECK(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind [::1]:%d: %s", port, strerror(errno));
}

static void connect_to(int s, int to)
{
    struct sockaddr_storage a;
    socklen_t l = name_of(to, &a);
    CHECK(connect(s, (struct sockaddr *)&a, l) == 0, "connect: %s", strerror(errno));
}

static void ping_range(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (s >= 0) {
        close(s);
        return;
    }
    CHECK(errno == EACCES, "ping socket: %s", strerror(errno));
    FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "r+");
    CHECK(f != NULL && fgets(saved_range, sizeof(saved_range), f) != NULL, "ping_group_range");
    rewind(f);
    fprintf(f, "%d %d\n", getgid(), getgid());
    CHECK(fclose(f) == 0, "ping_group_range: %s", strerror(errno));
}

static void ping_range_back(void)
{
    if (saved_range[0]) {
        FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "w");
        if (f) {
            fputs(saved_range, f);
            fclose(f);
        }
    }
}

static void make_all(void)
{
    fd[WR_SHUT] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDP);
    fd[RD_SHUT] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDP);
    fd[CLOSED] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDP);
    fd[LITE] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDPLITE);
    fd[LITE6] = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDPLITE);
    fd[PING] = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    fd[PING6] = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, &fd[UDX0]) == 0, "socketpair");
    for (int i = 0; i < N; i++)
        CHECK(fd[i] >= 0, "socket %s: %s", NAMES[i], strerror(errno));
    bind4(fd[WR_SHUT], 0);
    bind4(fd[RD_SHUT], 0);
    bind4(fd[CLOSED], 0);
    bind4(fd[LITE], 0);
    bind6(fd[LITE6], 0);
    bind4(fd[PING], 4321);
    bind6(fd[PING6], 4322);
    connect_to(fd[WR_SHUT], fd[RD_SHUT]);
    connect_to(fd[RD_SHUT], fd[WR_SHUT]);
    CHECK(shutdown(fd[WR_SHUT], SHUT_WR) == 0 && shutdown(fd[RD_SHUT], SHUT_RD) == 0, "shutdown");
    CHECK(shutdown(fd[CLOSED], SHUT_RDWR) < 0 && errno == ENOTCONN, "shutdown of an unconnected socket");
    CHECK(shutdown(fd[UDX1], SHUT_WR) == 0, "shutdown udx1");
    int v = 20;
    CHECK(setsockopt(fd[LITE], IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, &v, sizeof(v)) == 0, "SEND_CSCOV");
    v = 12;
    CHECK(setsockopt(fd[LITE], IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV, &v, sizeof(v)) == 0, "RECV_CSCOV");
    v = 8;
    CHECK(setsockopt(fd[LITE6], IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, &v, sizeof(v)) == 0, "SEND_CSCOV 6");
    struct timeval tv = { 2, 0 };
    CHECK(setsockopt(fd[PING], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0, "SO_RCVTIMEO");
    CHECK(setsockopt(fd[PING6], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0, "SO_RCVTIMEO 6");
}

static short poll_events(int s)
{
    struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT | POLLRDHUP };
    CHECK(poll(&p, 1, 0) >= 0, "poll");
    return p.revents;
}

static void record(void)
{
    for (int i = 0; i < N; i++) {
        if (i != UDX0 && i != UDX1)
            name_of(fd[i], &names[i]);
        events[i] = poll_events(fd[i]);
    }
}

static void check_same(const char *who)
{
    for (int i = 0; i < N; i++) {
        struct sockaddr_storage a;
        if (i != UDX0 && i != UDX1) {
            socklen_t l = name_of(fd[i], &a);
            CHECK(memcmp(&a, &names[i], l) == 0, "%s: %s bound elsewhere now", who, NAMES[i]);
        }
        short e = poll_events(fd[i]);
        CHECK(e == events[i], "%s: %s polls 0x%x, was 0x%x", who, NAMES[i], e, events[i]);
    }
    int v = 0;
    socklen_t l = sizeof(v);
    CHECK(getsockopt(fd[LITE], IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, &v, &l) == 0 && v == 20,
          "%s: lite SEND_CSCOV %d", who, v);
    CHECK(getsockopt(fd[LITE], IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV, &v, &l) == 0 && v == 12,
          "%s: lite RECV_CSCOV %d", who, v);
    CHECK(getsockopt(fd[LITE6], IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, &v, &l) == 0 && v == 8,
          "%s: lite6 SEND_CSCOV %d", who, v);
}

static void exchange(const char *who, int from, int to, const void *dest, socklen_t dlen)
{
    char msg[32], got[64];
    int n = snprintf(msg, sizeof(msg), "%s %d", who, from);
    CHECK(sendto(fd[from], msg, n, 0, dest, dlen) == n, "%s: send %s -> %s: %s", who, NAMES[from], NAMES[to],
          strerror(errno));
    struct pollfd p = { .fd = fd[to], .events = POLLIN };
    CHECK(poll(&p, 1, 2000) == 1, "%s: nothing reached %s", who, NAMES[to]);
    CHECK(recv(fd[to], got, sizeof(got), 0) == n && memcmp(got, msg, n) == 0, "%s: %s got something else", who,
          NAMES[to]);
}

static void echo(const char *who, int s, int v6, int seq)
{
    char pkt[64] = { 0 }, reply[128];
    if (v6) {
        struct icmp6_hdr *h = (struct icmp6_hdr *)pkt;
        h->icmp6_type = ICMP6_ECHO_REQUEST;
        h->icmp6_seq = htons(seq);
    } else {
        struct icmphdr *h = (struct icmphdr *)pkt;
        h->type = ICMP_ECHO;
        h->un.echo.sequence = htons(seq);
    }
    struct sockaddr_in a4 = { .sin_family = AF_INET };
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    const struct sockaddr *to = v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4;
    CHECK(sendto(s, pkt, sizeof(pkt), 0, to, v6 ? sizeof(a6) : sizeof(a4)) == sizeof(pkt), "%s: ping: %s", who,
          strerror(errno));
    ssize_t n = recv(s, reply, sizeof(reply), 0);
    CHECK(n >= 8, "%s: no echo reply: %s", who, strerror(errno));
    int type = reply[0] & 0xff;
    CHECK(type == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY), "%s: reply type %d", who, type);
}

/* What the sockets do: the shut-down directions refuse, the rest carry datagrams. */
static void use(const char *who)
{
    char c = 'x';
    CHECK(send(fd[WR_SHUT], &c, 1, MSG_NOSIGNAL) < 0 && errno == EPIPE, "%s: wr_shut sent (or %s)", who,
          strerror(errno));
    struct sockaddr_storage dest;   /* unconnected: an address, or EDESTADDRREQ comes first */
    socklen_t dl = name_of(fd[RD_SHUT], &dest);
    CHECK(sendto(fd[CLOSED], &c, 1, MSG_NOSIGNAL, (struct sockaddr *)&dest, dl) < 0 && errno == EPIPE,
          "%s: closed sent (or %s)", who, strerror(errno));
    CHECK(send(fd[UDX1], &c, 1, MSG_NOSIGNAL) < 0 && errno == EPIPE, "%s: udx1 sent (or %s)", who, strerror(errno));
    exchange(who, RD_SHUT, WR_SHUT, NULL, 0);
    exchange(who, UDX0, UDX1, NULL, 0);
    struct sockaddr_storage lite;
    socklen_t l = name_of(fd[LITE], &lite);
    exchange(who, LITE, LITE, &lite, l);
    echo(who, fd[PING], 0, 1);
    echo(who, fd[PING6], 1, 2);
}

static void queued(void)
{
    int a = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDP);
    bind4(a, 0);
    struct sockaddr_storage to;
    socklen_t l = name_of(a, &to);
    CHECK(sendto(a, "waiting", 7, 0, (struct sockaddr *)&to, l) == 7, "send to self");
    usleep(10000);
    printf("QUEUED %d\n", a);
    test_ready();
    test_waitsig();
    char buf[16];
    CHECK(recv(a, buf, sizeof(buf), 0) == 7 && memcmp(buf, "waiting", 7) == 0, "the queued datagram is gone");
    pass();
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    if (argc > 1 && strcmp(argv[1], "queued") == 0)
        queued();
    ping_range();
    make_all();
    record();
    int go[2], res[2];
    CHECK(pipe(go) == 0 && pipe(res) == 0, "pipe");
    pid_t worker = fork();
    if (worker == 0) {
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* a root that failed takes its worker along */
        close(go[1]);
        char b;
        if (read(go[0], &b, 1) != 1)
            _exit(4);
        check_same("worker");
        use("worker");
        _exit(0);
    }
    check_same("before");
    test_ready();
    test_waitsig();
    check_same("after");
    use("after");
    CHECK(write(go[1], "g", 1) == 1, "go");
    int st;
    CHECK(waitpid(worker, &st, 0) == worker, "waitpid");
    ping_range_back();
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker: status 0x%x", st);
    pass();
}
