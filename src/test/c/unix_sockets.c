/*
 * unix_sockets: unix sockets of every type in their demanding states, in one process.
 *   - stream socketpair a/b: 100000 pattern bytes queued a->b, "pong" b->a; a O_NONBLOCK,
 *     a SO_SNDBUF 65536 and SO_RCVBUF 50000 set, b SO_PEEK_OFF 2
 *   - datagram socketpair c/d: datagrams of 10, 0, 3000 and 100000 bytes c->d, one of 70 bytes d->c
 *   - seqpacket socketpair e/f: records of 5 and 1000 bytes e->f, then shutdown(e, SHUT_WR)
 *   - stream pair p1/p2: "bye" p1->p2, then shutdown(p1, SHUT_WR)
 *   - stream pair q1/q2: "last words" q2->q1, then q2 closed (peer gone)
 *   - datagram pair r1/r2, r2 with SO_PASSCRED and SO_PASSPIDFD: "cred" r1->r2 carries the
 *     sender's credentials
 *   - options pair o1/o2: o1 SO_PASSCRED, SO_RCVTIMEO 2.5 s, SO_SNDTIMEO 1.5 s (multiples of 4 ms: the kernel keeps jiffies)
 *   - a stream listener bound to a path (backlog 4) with one connection queued (k1) and one
 *     accepted (s2/k2, "req" k2->s2 and "resp" s2->k2 unread; both ends keep their names)
 *   - a seqpacket listener on an abstract name (backlog 2) with one connection queued (k3)
 *   - two datagram sockets bound to abstract names (n1, n2) and connected to each other, with
 *     "to-n2" queued n1->n2 and "to-n1" n2->n1: names and peers kept
 *   - a datagram socket bound to a path (g) that an unnamed datagram socket (h) is connected to,
 *     with datagrams "d1" and "dd2" queued h->g
 * After SIGTERM every byte, boundary, name, half and option is checked, and each connection is
 * used once more both ways.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define BIG 100000

static void pair(int type, int *x, int *y)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, type, 0, sv) == 0, "socketpair: %s", strerror(errno));
    *x = sv[0];
    *y = sv[1];
}

static socklen_t addr(struct sockaddr_un *sa, const char *name, int abstract)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (abstract) {
        memcpy(sa->sun_path + 1, name, strlen(name));
        return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
    }
    strcpy(sa->sun_path, name);
    return sizeof(*sa);
}

static void sendn(int fd, const void *p, size_t n)
{
    CHECK(send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n, "send %zu: %s", n, strerror(errno));
}

/* Exactly one message (or n stream bytes) equal to want, without waiting. */
static void expect(int fd, const void *want, size_t n, const char *what)
{
    static char buf[BIG + 16];
    size_t got = 0;
    int type = 0;
    socklen_t len = sizeof(type);
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
    do {
        ssize_t r = recv(fd, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
        CHECK(r >= 0, "%s: recv after %zu of %zu bytes: %s", what, got, n, strerror(errno));
        got += r;
        if (type != SOCK_STREAM || r == 0)
            break;
    } while (got < n);
    CHECK(got == n, "%s: %zu bytes, expected %zu", what, got, n);
    CHECK(memcmp(buf, want, n) == 0, "%s: contents differ", what);
}

static void expect_eof(int fd, const char *what)
{
    char c;
    ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);
    CHECK(r == 0, "%s: expected end of file, got %zd (%s)", what, r, r < 0 ? strerror(errno) : "data");
}

static void expect_empty(int fd, const char *what)
{
    char c;
    ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);
    CHECK(r < 0 && errno == EAGAIN, "%s: expected nothing queued, got %zd", what, r);
}

static int geti(int fd, int opt)
{
    int v = -12345;
    socklen_t len = sizeof(v);
    CHECK(getsockopt(fd, SOL_SOCKET, opt, &v, &len) == 0, "getsockopt %d: %s", opt, strerror(errno));
    return v;
}

static void roundtrip(int x, int y, const char *what)
{
    char buf[8];
    sendn(x, "ping", 4);
    CHECK(recv(y, buf, sizeof(buf), 0) == 4 && memcmp(buf, "ping", 4) == 0, "%s: ping lost", what);
    sendn(y, "ack", 3);
    CHECK(recv(x, buf, sizeof(buf), 0) == 3 && memcmp(buf, "ack", 3) == 0, "%s: ack lost", what);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    static char big[BIG], d3000[3000], d70[70], r1000[1000];
    pattern_fill(big, sizeof(big), 1);
    pattern_fill(d3000, sizeof(d3000), 2);
    pattern_fill(d70, sizeof(d70), 3);
    pattern_fill(r1000, sizeof(r1000), 4);
    char cwd[200], lpath[300], gpath[300], abstract[64];
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd");
    snprintf(lpath, sizeof(lpath), "%s/listen.sock", cwd);
    snprintf(gpath, sizeof(gpath), "%s/dgram.sock", cwd);
    snprintf(abstract, sizeof(abstract), "amber-unix-test-%d", getpid());

    int a, b, c, d, e, f, p1, p2, q1, q2, o1, o2;
    pair(SOCK_STREAM, &a, &b);
    sendn(a, big, BIG);
    sendn(b, "pong", 4);
    int v = 65536;
    CHECK(setsockopt(a, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) == 0, "SO_SNDBUF");
    v = 50000;
    CHECK(setsockopt(a, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) == 0, "SO_RCVBUF");
    v = 2;
    CHECK(setsockopt(b, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)) == 0, "SO_PEEK_OFF");
    CHECK(fcntl(a, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
    int a_snd = geti(a, SO_SNDBUF), a_rcv = geti(a, SO_RCVBUF);

    pair(SOCK_DGRAM, &c, &d);
    sendn(c, "ten bytes!", 10);
    sendn(c, "", 0);
    sendn(c, d3000, sizeof(d3000));
    sendn(c, big, BIG);
    sendn(d, d70, sizeof(d70));

    pair(SOCK_SEQPACKET, &e, &f);
    sendn(e, "five!", 5);
    sendn(e, r1000, sizeof(r1000));
    CHECK(shutdown(e, SHUT_WR) == 0, "shutdown e");

    pair(SOCK_STREAM, &p1, &p2);
    sendn(p1, "bye", 3);
    CHECK(shutdown(p1, SHUT_WR) == 0, "shutdown p1");

    pair(SOCK_STREAM, &q1, &q2);
    sendn(q2, "last words", 10);
    close(q2);

    int r1, r2;
    pair(SOCK_DGRAM, &r1, &r2);
    v = 1;
    CHECK(setsockopt(r2, SOL_SOCKET, SO_PASSCRED, &v, sizeof(v)) == 0, "SO_PASSCRED r2");
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
    /* A peek of a queue for a SO_PASSPIDFD receiver makes a pidfd: the checkpoint must close it again. */
    CHECK(setsockopt(r2, SOL_SOCKET, SO_PASSPIDFD, &v, sizeof(v)) == 0, "SO_PASSPIDFD r2");
    sendn(r1, "cred", 4);

    pair(SOCK_STREAM, &o1, &o2);
    v = 1;
    CHECK(setsockopt(o1, SOL_SOCKET, SO_PASSCRED, &v, sizeof(v)) == 0, "SO_PASSCRED");
    struct timeval rt = {2, 500000}, st = {1, 500000};
    CHECK(setsockopt(o1, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof(rt)) == 0, "SO_RCVTIMEO");
    CHECK(setsockopt(o1, SOL_SOCKET, SO_SNDTIMEO, &st, sizeof(st)) == 0, "SO_SNDTIMEO");

    struct sockaddr_un sa;
    socklen_t sl;
    int l1 = socket(AF_UNIX, SOCK_STREAM, 0);
    sl = addr(&sa, lpath, 0);
    CHECK(bind(l1, (struct sockaddr *)&sa, sl) == 0, "bind %s: %s", lpath, strerror(errno));
    CHECK(chmod(lpath, 0640) == 0, "chmod");
    CHECK(listen(l1, 4) == 0, "listen");
    int k2 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(k2, (struct sockaddr *)&sa, sl) == 0, "connect k2: %s", strerror(errno));
    int s2 = accept(l1, NULL, NULL);
    CHECK(s2 >= 0, "accept: %s", strerror(errno));
    int k1 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(k1, (struct sockaddr *)&sa, sl) == 0, "connect k1: %s", strerror(errno));
    sendn(k2, "req", 3);
    sendn(s2, "resp", 4);

    int l2 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    sl = addr(&sa, abstract, 1);
    CHECK(bind(l2, (struct sockaddr *)&sa, sl) == 0, "bind @%s: %s", abstract, strerror(errno));
    CHECK(listen(l2, 2) == 0, "listen");
    int k3 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    CHECK(connect(k3, (struct sockaddr *)&sa, sl) == 0, "connect k3: %s", strerror(errno));

    char n1name[64], n2name[64];
    snprintf(n1name, sizeof(n1name), "amber-n1-%d", getpid());
    snprintf(n2name, sizeof(n2name), "amber-n2-%d", getpid());
    struct sockaddr_un sa1, sa2;
    socklen_t sl1 = addr(&sa1, n1name, 1), sl2 = addr(&sa2, n2name, 1);
    int n1 = socket(AF_UNIX, SOCK_DGRAM, 0), n2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind(n1, (struct sockaddr *)&sa1, sl1) == 0 && bind(n2, (struct sockaddr *)&sa2, sl2) == 0, "bind n1/n2: %s",
          strerror(errno));
    CHECK(connect(n1, (struct sockaddr *)&sa2, sl2) == 0 && connect(n2, (struct sockaddr *)&sa1, sl1) == 0,
          "connect n1/n2: %s", strerror(errno));
    sendn(n1, "to-n2", 5);
    sendn(n2, "to-n1", 5);

    int g = socket(AF_UNIX, SOCK_DGRAM, 0);
    sl = addr(&sa, gpath, 0);
    CHECK(bind(g, (struct sockaddr *)&sa, sl) == 0, "bind %s: %s", gpath, strerror(errno));
    int h = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(connect(h, (struct sockaddr *)&sa, sl) == 0, "connect h: %s", strerror(errno));
    sendn(h, "d1", 2);
    sendn(h, "dd2", 3);

    test_ready();
    test_waitsig();

    /* stream pair */
    CHECK(geti(b, SO_PEEK_OFF) == 2, "b SO_PEEK_OFF %d, expected 2", geti(b, SO_PEEK_OFF));
    CHECK(geti(a, SO_SNDBUF) == a_snd, "a SO_SNDBUF %d, expected %d", geti(a, SO_SNDBUF), a_snd);
    CHECK(geti(a, SO_RCVBUF) == a_rcv, "a SO_RCVBUF %d, expected %d", geti(a, SO_RCVBUF), a_rcv);
    CHECK((fcntl(a, F_GETFL) & O_NONBLOCK) && !(fcntl(b, F_GETFL) & O_NONBLOCK), "O_NONBLOCK lost or added");
    CHECK(geti(a, SO_TYPE) == SOCK_STREAM && geti(c, SO_TYPE) == SOCK_DGRAM && geti(e, SO_TYPE) == SOCK_SEQPACKET,
          "socket types changed");
    expect(b, big, BIG, "a->b stream");
    expect_empty(b, "a->b after data");
    expect(a, "pong", 4, "b->a stream");
    expect_empty(a, "b->a after data");
    roundtrip(a, b, "a/b");

    /* datagram pair */
    expect(d, "ten bytes!", 10, "c->d datagram 1");
    expect(d, "", 0, "c->d datagram 2 (empty)");
    expect(d, d3000, sizeof(d3000), "c->d datagram 3");
    expect(d, big, BIG, "c->d datagram 4 (100000 bytes)");
    expect_empty(d, "c->d after data");
    expect(c, d70, sizeof(d70), "d->c datagram");
    expect_empty(c, "d->c after data");
    roundtrip(c, d, "c/d");

    /* seqpacket pair, e's sending half shut */
    expect(f, "five!", 5, "e->f record 1");
    expect(f, r1000, sizeof(r1000), "e->f record 2");
    expect_eof(f, "e->f after shutdown(SHUT_WR)");
    CHECK(send(e, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE, "e can still send after shutdown(SHUT_WR)");
    sendn(f, "back", 4);
    expect(e, "back", 4, "f->e record");

    /* p1 shut its sending half after "bye" */
    expect(p2, "bye", 3, "p1->p2");
    expect_eof(p2, "p1->p2 after shutdown(SHUT_WR)");
    CHECK(send(p1, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE, "p1 can still send after shutdown(SHUT_WR)");
    sendn(p2, "ok", 2);
    expect(p1, "ok", 2, "p2->p1");

    /* q2 closed after writing */
    expect(q1, "last words", 10, "q2->q1 before close");
    expect_eof(q1, "q1 after its peer closed");

    /* credentials in flight */
    {
        char data[8];
        union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))]; } ctl;
        struct iovec iov = { data, sizeof(data) };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl) };
        ssize_t n = recvmsg(r2, &m, MSG_DONTWAIT);
        CHECK(n == 4 && memcmp(data, "cred", 4) == 0, "r1->r2 datagram with credentials: %zd", n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        CHECK(c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS, "no SCM_CREDENTIALS with it");
        struct ucred u;
        memcpy(&u, CMSG_DATA(c), sizeof(u));
        CHECK(u.pid == getpid() && u.uid == getuid() && u.gid == getgid(), "credentials pid %d uid %d gid %d",
              (int)u.pid, (int)u.uid, (int)u.gid);
        expect_empty(r2, "r1->r2 after data");
    }

    /* options */
    CHECK(geti(o1, SO_PASSCRED) == 1 && geti(o2, SO_PASSCRED) == 0, "SO_PASSCRED");
    struct timeval tv;
    socklen_t tl = sizeof(tv);
    CHECK(getsockopt(o1, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl) == 0 && tv.tv_sec == 2 && tv.tv_usec == 500000,
          "SO_RCVTIMEO %ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
    tl = sizeof(tv);
    CHECK(getsockopt(o1, SOL_SOCKET, SO_SNDTIMEO, &tv, &tl) == 0 && tv.tv_sec == 1 && tv.tv_usec == 500000,
          "SO_SNDTIMEO %ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
    roundtrip(o1, o2, "o1/o2");

    /* path listener: accepted connection, then the queued one */
    struct sockaddr_un got;
    socklen_t gl = sizeof(got);
    CHECK(getsockname(l1, (struct sockaddr *)&got, &gl) == 0 && strcmp(got.sun_path, lpath) == 0,
          "listener name %s, expected %s", got.sun_path, lpath);
    struct stat stt;
    CHECK(stat(lpath, &stt) == 0 && S_ISSOCK(stt.st_mode) && (stt.st_mode & 0777) == 0640,
          "socket file %s mode %o", lpath, stt.st_mode);
    gl = sizeof(got);
    CHECK(getsockname(s2, (struct sockaddr *)&got, &gl) == 0 && strcmp(got.sun_path, lpath) == 0,
          "accepted end's name %s, expected %s", got.sun_path, lpath);
    gl = sizeof(got);
    CHECK(getpeername(k2, (struct sockaddr *)&got, &gl) == 0 && strcmp(got.sun_path, lpath) == 0,
          "connecting end's peer name %s, expected %s", got.sun_path, lpath);
    expect(s2, "req", 3, "k2->s2");
    expect(k2, "resp", 4, "s2->k2");
    roundtrip(k2, s2, "k2/s2");
    CHECK(fcntl(l1, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK l1");
    int s1 = accept(l1, NULL, NULL);
    CHECK(s1 >= 0, "queued connection on %s lost: %s", lpath, strerror(errno));
    CHECK(accept(l1, NULL, NULL) < 0 && errno == EAGAIN, "more than one queued connection on %s", lpath);
    roundtrip(k1, s1, "k1/s1");
    int k4 = socket(AF_UNIX, SOCK_STREAM, 0);
    sl = addr(&sa, lpath, 0);
    CHECK(connect(k4, (struct sockaddr *)&sa, sl) == 0, "new connection to %s: %s", lpath, strerror(errno));

    /* abstract seqpacket listener with its queued connection */
    gl = sizeof(got);
    CHECK(getsockname(l2, (struct sockaddr *)&got, &gl) == 0 && got.sun_path[0] == 0
          && memcmp(got.sun_path + 1, abstract, strlen(abstract)) == 0, "abstract listener name lost");
    int s3 = accept(l2, NULL, NULL);
    CHECK(s3 >= 0, "queued connection on @%s lost: %s", abstract, strerror(errno));
    CHECK(geti(s3, SO_TYPE) == SOCK_SEQPACKET, "accepted seqpacket type");
    roundtrip(k3, s3, "k3/s3");

    /* named datagram sockets connected to each other */
    expect(n2, "to-n2", 5, "n1->n2");
    expect(n1, "to-n1", 5, "n2->n1");
    gl = sizeof(got);
    CHECK(getpeername(n1, (struct sockaddr *)&got, &gl) == 0 && gl == sl2 && memcmp(&got, &sa2, sl2) == 0,
          "n1's peer is not n2's name");
    gl = sizeof(got);
    CHECK(getsockname(n2, (struct sockaddr *)&got, &gl) == 0 && gl == sl2 && memcmp(&got, &sa2, sl2) == 0,
          "n2's name lost");
    roundtrip(n1, n2, "n1/n2");

    /* named datagram socket */
    expect(g, "d1", 2, "h->g datagram 1");
    expect(g, "dd2", 3, "h->g datagram 2");
    expect_empty(g, "h->g after data");
    sendn(h, "d3", 2);
    expect(g, "d3", 2, "h->g after restart");
    gl = sizeof(got);
    CHECK(getpeername(h, (struct sockaddr *)&got, &gl) == 0 && strcmp(got.sun_path, gpath) == 0, "h's peer lost");
    pass();
}
