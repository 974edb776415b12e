/*
 * packet_sockets: AF_PACKET sockets as a capture daemon and its worker hold them, all on lo:
 *   ring    SOCK_RAW, ETH_P_ALL, bound; TPACKET_V2, PACKET_AUXDATA, an RX ring (not mapped),
 *           a PROMISC membership
 *   fan1    SOCK_DGRAM, ETH_P_IP, bound; PACKET_RESERVE 8, PACKET_ORIGDEV, a TX ring, a UNICAST
 *           membership added twice, fanout group 77 (hash, rollover)
 *   fan2    SOCK_DGRAM, ETH_P_IP, bound; fanout group 77 too
 *   cap     SOCK_RAW, ETH_P_ALL, bound, PACKET_IGNORE_OUTGOING unset: sees loopback traffic
 *   spkt    SOCK_PACKET, ETH_P_ALL, bound to "lo"; spkt0 SOCK_PACKET not bound
 *   idle    SOCK_RAW, protocol 0, not bound (receives nothing)
 * A worker child inherits them all. After restart the root and the worker check names, options,
 * fanout, that cap and spkt see a UDP datagram sent over lo, and the root drops each membership
 * (the kernel answers 0 to a drop of one that is not there, so the counts are the test's
 * PacketSocketTest's to read, from packet_diag through ss).
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { RING, FAN1, FAN2, CAP, SPKT, SPKT0, IDLE, N };
static const char *NAMES[N] = { "ring", "fan1", "fan2", "cap", "spkt", "spkt0", "idle" };
static int fd[N], lo;

struct mreq_max {
    int ifindex;
    unsigned short type, alen;
    unsigned char addr[32];
};

static void setopt(int s, int opt, int v, const char *name)
{
    CHECK(setsockopt(s, SOL_PACKET, opt, &v, sizeof(v)) == 0, "%s: %s", name, strerror(errno));
}

static int getopt_int(int s, int opt)
{
    int v = -1;
    socklen_t l = sizeof(v);
    CHECK(getsockopt(s, SOL_PACKET, opt, &v, &l) == 0, "getsockopt %d: %s", opt, strerror(errno));
    return v;
}

static void bind_ll(int s, int proto)
{
    struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_protocol = htons(proto), .sll_ifindex = lo };
    CHECK(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind lo: %s", strerror(errno));
}

static void ring(int s, int opt)
{
    struct tpacket_req r = { .tp_block_size = 4096, .tp_block_nr = 2, .tp_frame_size = 1024, .tp_frame_nr = 8 };
    CHECK(setsockopt(s, SOL_PACKET, opt, &r, sizeof(r)) == 0, "ring %d: %s", opt, strerror(errno));
}

static int membership(int s, int op, int type, int alen)
{
    struct mreq_max m = { .ifindex = lo, .type = type, .alen = alen };
    return setsockopt(s, SOL_PACKET, op, &m, sizeof(m));
}

static void make_all(void)
{
    lo = if_nametoindex("lo");
    CHECK(lo > 0, "no lo");
    fd[RING] = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    fd[FAN1] = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    fd[FAN2] = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    fd[CAP] = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
    fd[SPKT] = socket(AF_PACKET, SOCK_PACKET, htons(ETH_P_ALL));
    fd[SPKT0] = socket(AF_PACKET, SOCK_PACKET, htons(ETH_P_ALL));
    fd[IDLE] = socket(AF_PACKET, SOCK_RAW, 0);
    for (int i = 0; i < N; i++)
        CHECK(fd[i] >= 0, "socket %s: %s", NAMES[i], strerror(errno));
    bind_ll(fd[RING], ETH_P_ALL);
    bind_ll(fd[FAN1], ETH_P_IP);
    bind_ll(fd[FAN2], ETH_P_IP);
    bind_ll(fd[CAP], ETH_P_ALL);
    struct sockaddr sa = { .sa_family = AF_PACKET };
    strcpy(sa.sa_data, "lo");
    CHECK(bind(fd[SPKT], &sa, sizeof(sa)) == 0, "bind spkt: %s", strerror(errno));
    setopt(fd[RING], PACKET_VERSION, TPACKET_V2, "PACKET_VERSION");
    setopt(fd[RING], PACKET_AUXDATA, 1, "PACKET_AUXDATA");
    ring(fd[RING], PACKET_RX_RING);
    CHECK(membership(fd[RING], PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC, 0) == 0, "promisc: %s", strerror(errno));
    setopt(fd[FAN1], PACKET_RESERVE, 8, "PACKET_RESERVE");
    setopt(fd[FAN1], PACKET_ORIGDEV, 1, "PACKET_ORIGDEV");
    ring(fd[FAN1], PACKET_TX_RING);
    for (int i = 0; i < 2; i++)
        CHECK(membership(fd[FAN1], PACKET_ADD_MEMBERSHIP, PACKET_MR_UNICAST, 6) == 0, "unicast: %s", strerror(errno));
    int fan = 77 | (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_ROLLOVER) << 16;
    setopt(fd[FAN1], PACKET_FANOUT, fan, "PACKET_FANOUT 1");
    setopt(fd[FAN2], PACKET_FANOUT, fan, "PACKET_FANOUT 2");
}

static void check_all(const char *who)
{
    int protos[N] = { ETH_P_ALL, ETH_P_IP, ETH_P_IP, ETH_P_ALL, 0, 0, 0 };
    for (int i = 0; i < N; i++) {
        if (i == SPKT || i == SPKT0) {
            struct sockaddr sa;
            socklen_t l = sizeof(sa);
            memset(&sa, 0, sizeof(sa));
            CHECK(getsockname(fd[i], &sa, &l) == 0, "%s: getsockname %s", who, NAMES[i]);
            CHECK(strcmp(sa.sa_data, i == SPKT ? "lo" : "") == 0, "%s: %s bound to '%s'", who, NAMES[i], sa.sa_data);
            continue;
        }
        struct sockaddr_ll a;
        socklen_t l = sizeof(a);
        CHECK(getsockname(fd[i], (struct sockaddr *)&a, &l) == 0, "%s: getsockname %s", who, NAMES[i]);
        CHECK(a.sll_protocol == htons(protos[i]), "%s: %s protocol 0x%x", who, NAMES[i], ntohs(a.sll_protocol));
        CHECK(a.sll_ifindex == (i == IDLE ? 0 : lo), "%s: %s on interface %d", who, NAMES[i], a.sll_ifindex);
    }
    CHECK(getopt_int(fd[RING], PACKET_VERSION) == TPACKET_V2, "%s: ring version", who);
    CHECK(getopt_int(fd[RING], PACKET_AUXDATA) == 1, "%s: ring auxdata", who);
    CHECK(getopt_int(fd[FAN1], PACKET_RESERVE) == 8, "%s: fan1 reserve", who);
    CHECK(getopt_int(fd[FAN1], PACKET_ORIGDEV) == 1, "%s: fan1 origdev", who);
    int fan = 77 | (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_ROLLOVER) << 16;
    CHECK(getopt_int(fd[FAN1], PACKET_FANOUT) == fan && getopt_int(fd[FAN2], PACKET_FANOUT) == fan,
          "%s: fanout 0x%x 0x%x", who, getopt_int(fd[FAN1], PACKET_FANOUT), getopt_int(fd[FAN2], PACKET_FANOUT));
    CHECK(getopt_int(fd[RING], PACKET_FANOUT) == 0, "%s: ring in a fanout group", who);
    /* A ring is there: the version cannot change any more. */
    int v = TPACKET_V1;
    CHECK(setsockopt(fd[RING], SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0 && errno == EBUSY,
          "%s: ring has no ring (PACKET_VERSION: %s)", who, strerror(errno));
}

/* A datagram over lo reaches cap (and spkt, bound to lo). */
static void traffic(const char *who)
{
    for (int s = CAP; s <= SPKT; s++) {
        char buf[2048];
        while (recv(fd[s], buf, sizeof(buf), MSG_DONTWAIT) > 0)
            ;
    }
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char msg[64];
    int n = snprintf(msg, sizeof(msg), "packet_sockets %s %d", who, getpid());
    CHECK(sendto(u, msg, n, 0, (struct sockaddr *)&a, sizeof(a)) == n, "%s: send: %s", who, strerror(errno));
    close(u);
    for (int s = CAP; s <= SPKT; s++) {
        int seen = 0;
        for (int tries = 0; tries < 50 && !seen; tries++) {
            struct pollfd p = { .fd = fd[s], .events = POLLIN };
            if (poll(&p, 1, 100) <= 0)
                continue;
            char buf[2048];
            ssize_t got = recv(fd[s], buf, sizeof(buf), MSG_DONTWAIT);
            seen = got > n && memmem(buf, got, msg, n) != NULL;
        }
        CHECK(seen, "%s: %s did not see the datagram", who, NAMES[s]);
    }
}

/* "mapped": one socket whose RX ring is mapped, as a capture with PACKET_MMAP has it. */
static void mapped(void)
{
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    CHECK(s >= 0, "socket: %s", strerror(errno));
    ring(s, PACKET_RX_RING);
    void *m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
    CHECK(m != MAP_FAILED, "mmap ring: %s", strerror(errno));
    test_ready();
    test_waitsig();
    CHECK(getopt_int(s, PACKET_VERSION) == TPACKET_V1, "version");
    pass();
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    if (argc > 1 && strcmp(argv[1], "mapped") == 0)
        mapped();
    make_all();
    check_all("before");
    int go[2];
    CHECK(pipe(go) == 0, "pipe");
    pid_t worker = fork();
    if (worker == 0) {
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* a root that failed takes its worker along */
        close(go[1]);
        char b;
        if (read(go[0], &b, 1) != 1)
            _exit(4);
        check_all("worker");
        traffic("worker");
        _exit(0);
    }
    test_ready();
    test_waitsig();
    check_all("after");
    traffic("after");
    CHECK(write(go[1], "g", 1) == 1, "go");
    int st;
    CHECK(waitpid(worker, &st, 0) == worker && WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker: status 0x%x", st);
    CHECK(membership(fd[RING], PACKET_DROP_MEMBERSHIP, PACKET_MR_PROMISC, 0) == 0, "drop promisc: %s", strerror(errno));
    for (int i = 0; i < 2; i++)
        CHECK(membership(fd[FAN1], PACKET_DROP_MEMBERSHIP, PACKET_MR_UNICAST, 6) == 0, "drop unicast %d: %s", i,
              strerror(errno));
    pass();
}
