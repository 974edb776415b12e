/*
 * unix_peer: the two ends of one unix stream connection in two unrelated processes, for the
 * refusal of a peer outside the checkpointed tree.
 *   unix_peer server        binds peer.sock in its cwd, accepts one connection, READY; after
 *                           SIGTERM reads until end of file and expects "hibye"
 *   unix_peer reconnect     the same, but expects "hi" on that connection (its client was
 *                           checkpointed with --external-unix, killed and restarted), then
 *                           accepts the restarted client's new connection and expects "bye"
 *   unix_peer rights        a stream socketpair with a socket (one end of another socketpair) in
 *                           flight (SCM_RIGHTS) from one end to the other, which checkpoint
 *                           refuses; prints "FD n" (the receiving end), READY; after SIGTERM
 *                           receives the socket and reads "x" through it
 *   unix_peer oob           a stream socketpair with "ab" and then an out-of-band "c" queued,
 *                           which checkpoint refuses; prints "FD n" (the receiving end), READY;
 *                           after SIGTERM reads the out-of-band byte, then "ab"
 *   unix_peer peercred      drops its effective ids to 65534 (real and saved stay 0), then makes
 *                           a stream socketpair and a listener on an abstract name with a queued
 *                           connection; READY; after SIGTERM SO_PEERCRED must name 65534 on
 *                           every end, as before
 *   unix_peer dgram-server  binds a datagram socket to peer.sock in its cwd, READY; after SIGTERM
 *                           expects the datagrams "hi" then "bye" queued
 *   unix_peer dgram-client PATH  connects a datagram socket to PATH, sends "hi", prints "FD n",
 *                           READY; after SIGTERM checks its peer's name and sends "bye"
 *   unix_peer unaccepted    a listener on an abstract name and a client whose connection it has
 *                           not accepted, with "x" written into it, which checkpoint refuses;
 *                           prints "FD n" (the client), READY; after SIGTERM accepts and reads "x"
 *   unix_peer client PATH   connects to PATH, writes "hi", prints "FD n", READY; after SIGTERM
 *                           checks its peer's name (peer.sock, as the server bound it) and
 *                           writes "bye"
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    test_init(argc, argv);
    CHECK(argc >= 2, "usage: unix_peer server | client PATH");
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strcmp(argv[1], "server") == 0 || strcmp(argv[1], "reconnect") == 0) {
        int reconnect = strcmp(argv[1], "reconnect") == 0;
        strcpy(sa.sun_path, "peer.sock");
        int l = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind: %s", strerror(errno));
        CHECK(listen(l, 1) == 0, "listen: %s", strerror(errno));
        test_ready();
        int s = accept(l, NULL, NULL);
        CHECK(s >= 0, "accept: %s", strerror(errno));
        test_waitsig();
        const char *want = reconnect ? "hi" : "hibye";
        for (int round = 0; round < 1 + reconnect; round++) {
            if (round == 1) {
                want = "bye";
                s = accept(l, NULL, NULL);
                CHECK(s >= 0, "accept the restarted client: %s", strerror(errno));
            }
            char buf[64];
            size_t got = 0;
            ssize_t r;
            while ((r = recv(s, buf + got, sizeof(buf) - got, 0)) > 0)
                got += r;
            CHECK(got == strlen(want) && memcmp(buf, want, got) == 0, "server read %zu bytes: %.*s, expected %s", got,
                  (int)got, buf, want);
        }
        pass();
    }
    if (strcmp(argv[1], "rights") == 0) {
        int sv[2], p[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, p) == 0,
              "socketpair: %s", strerror(errno));
        CHECK(write(p[1], "x", 1) == 1, "write: %s", strerror(errno));
        union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } ctl;
        memset(&ctl, 0, sizeof(ctl));
        char one = '1';
        struct iovec iov = { &one, 1 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &p[0], sizeof(int));
        CHECK(sendmsg(sv[0], &m, 0) == 1, "sendmsg: %s", strerror(errno));
        close(p[0]);
        test_msg("FD %d", sv[1]);
        test_ready();
        test_waitsig();
        memset(&ctl, 0, sizeof(ctl));
        m.msg_controllen = sizeof(ctl);
        CHECK(recvmsg(sv[1], &m, MSG_DONTWAIT) == 1 && one == '1', "the message carrying the descriptor is lost");
        c = CMSG_FIRSTHDR(&m);
        CHECK(c && c->cmsg_type == SCM_RIGHTS, "the descriptor in flight is lost");
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        char got = 0;
        CHECK(read(fd, &got, 1) == 1 && got == 'x', "the socket received does not read its pair");
        pass();
    }
    if (strcmp(argv[1], "unaccepted") == 0) {
        struct sockaddr_un ab = { .sun_family = AF_UNIX };
        socklen_t al = offsetof(struct sockaddr_un, sun_path) + 1 + snprintf(ab.sun_path + 1, 64, "amber-unaccepted-%d", getpid());
        int l = socket(AF_UNIX, SOCK_STREAM, 0), k = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(bind(l, (struct sockaddr *)&ab, al) == 0 && listen(l, 1) == 0, "listen: %s", strerror(errno));
        CHECK(connect(k, (struct sockaddr *)&ab, al) == 0, "connect: %s", strerror(errno));
        CHECK(write(k, "x", 1) == 1, "write: %s", strerror(errno));
        test_msg("FD %d", k);
        test_ready();
        test_waitsig();
        int s = accept(l, NULL, NULL);
        char c = 0;
        CHECK(s >= 0 && read(s, &c, 1) == 1 && c == 'x', "the unaccepted connection or its data is lost");
        pass();
    }
    if (strcmp(argv[1], "dgram-server") == 0) {
        strcpy(sa.sun_path, "peer.sock");
        int g = socket(AF_UNIX, SOCK_DGRAM, 0);
        CHECK(bind(g, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind: %s", strerror(errno));
        test_ready();
        test_waitsig();
        char buf[16];
        CHECK(recv(g, buf, sizeof(buf), MSG_DONTWAIT) == 2 && memcmp(buf, "hi", 2) == 0, "datagram \"hi\" lost");
        CHECK(recv(g, buf, sizeof(buf), MSG_DONTWAIT) == 3 && memcmp(buf, "bye", 3) == 0, "datagram \"bye\" lost");
        pass();
    }
    if (strcmp(argv[1], "dgram-client") == 0) {
        CHECK(argc >= 3, "usage: unix_peer dgram-client PATH");
        strncpy(sa.sun_path, argv[2], sizeof(sa.sun_path) - 1);
        int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
        CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s", argv[2], strerror(errno));
        CHECK(send(fd, "hi", 2, 0) == 2, "send: %s", strerror(errno));
        test_msg("FD %d", fd);
        test_ready();
        test_waitsig();
        struct sockaddr_un got;
        socklen_t gl = sizeof(got);
        CHECK(getpeername(fd, (struct sockaddr *)&got, &gl) == 0 && strcmp(got.sun_path, "peer.sock") == 0,
              "peer name lost");
        CHECK(send(fd, "bye", 3, 0) == 3, "send: %s", strerror(errno));
        pass();
    }
    if (strcmp(argv[1], "peercred") == 0) {
        CHECK(setresgid(-1, 65534, -1) == 0 && setresuid(-1, 65534, -1) == 0, "setres[ug]id: %s", strerror(errno));
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s", strerror(errno));
        struct sockaddr_un ab = { .sun_family = AF_UNIX };
        socklen_t al = offsetof(struct sockaddr_un, sun_path) + 1 + snprintf(ab.sun_path + 1, 64, "amber-peercred-%d", getpid());
        int l = socket(AF_UNIX, SOCK_STREAM, 0), k = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(bind(l, (struct sockaddr *)&ab, al) == 0 && listen(l, 1) == 0, "listen: %s", strerror(errno));
        CHECK(connect(k, (struct sockaddr *)&ab, al) == 0, "connect: %s", strerror(errno));
        test_ready();
        test_waitsig();
        int s = accept(l, NULL, NULL);
        CHECK(s >= 0, "accept: %s", strerror(errno));
        int fds[] = {sv[0], sv[1], k, s};
        for (int i = 0; i < 4; i++) {
            struct ucred u;
            socklen_t ul = sizeof(u);
            CHECK(getsockopt(fds[i], SOL_SOCKET, SO_PEERCRED, &u, &ul) == 0, "SO_PEERCRED: %s", strerror(errno));
            CHECK(u.uid == 65534 && u.gid == 65534, "end %d: SO_PEERCRED uid %d gid %d, expected 65534", i, (int)u.uid,
                  (int)u.gid);
        }
        pass();
    }
    if (strcmp(argv[1], "oob") == 0) {
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s", strerror(errno));
        CHECK(send(sv[0], "ab", 2, 0) == 2, "send: %s", strerror(errno));
        CHECK(send(sv[0], "c", 1, MSG_OOB) == 1, "send(MSG_OOB): %s", strerror(errno));
        test_msg("FD %d", sv[1]);
        test_ready();
        test_waitsig();
        char buf[8];
        CHECK(recv(sv[1], buf, 1, MSG_OOB | MSG_DONTWAIT) == 1 && buf[0] == 'c', "out-of-band byte lost");
        CHECK(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) == 2 && memcmp(buf, "ab", 2) == 0, "data lost");
        pass();
    }
    CHECK(argc >= 3, "usage: unix_peer client PATH");
    strncpy(sa.sun_path, argv[2], sizeof(sa.sun_path) - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s", argv[2], strerror(errno));
    CHECK(write(fd, "hi", 2) == 2, "write: %s", strerror(errno));
    test_msg("FD %d", fd);
    test_ready();
    test_waitsig();
    struct sockaddr_un got;
    socklen_t gl = sizeof(got);
    CHECK(getpeername(fd, (struct sockaddr *)&got, &gl) == 0 && strcmp(got.sun_path, "peer.sock") == 0, "peer name lost: %s", got.sun_path);
    CHECK(write(fd, "bye", 3) == 3, "write: %s", strerror(errno));
    pass();
}
