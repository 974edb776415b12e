/*
 * unix_tree: unix sockets whose ends are in two processes, a parent and its child.
 *   - a stream socketpair: "from-child" queued child->parent, "from-parent" parent->child
 *   - a seqpacket socketpair: records "r1" and "rec2" child->parent, "p1" parent->child
 *   - a stream listener bound to the relative name tree.sock, held by the parent, with one
 *     connection from the child waiting in its accept queue; after restart a new connection to
 *     tree.sock in the cwd must reach it
 *   - a datagram socketpair whose ends were swapped: the parent holds the end it did not create
 * Prints "CHILD pid" before READY. On SIGTERM the parent tells the child (SIGTERM), both check
 * their side, the parent accepts the queued connection and talks to the child over it, and
 * PASSes if the child exited 0.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void expect(int fd, const char *want, const char *what)
{
    char buf[64];
    size_t n = strlen(want);
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    CHECK(r == (ssize_t)n && memcmp(buf, want, n) == 0, "%s: got %zd bytes (%.*s), expected %s", what, r,
          r > 0 ? (int)r : 0, buf, want);
}

static void sendn(int fd, const char *s)
{
    CHECK(send(fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s), "send %s: %s", s, strerror(errno));
}

static void timeouts(int fd)
{
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int st[2], sq[2], sd[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, st) == 0, "socketpair: %s", strerror(errno));
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq) == 0, "socketpair: %s", strerror(errno));
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sd) == 0, "socketpair: %s", strerror(errno));
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, "tree.sock");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind: %s", strerror(errno));
    CHECK(listen(l, 5) == 0, "listen: %s", strerror(errno));
    pid_t parent = getpid();
    pid_t child = fork();
    CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        close(st[0]);
        close(sq[0]);
        close(sd[1]);
        close(l);
        int k = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(connect(k, (struct sockaddr *)&sa, sizeof(sa)) == 0, "child connect: %s", strerror(errno));
        sendn(st[1], "from-child");
        sendn(sq[1], "r1");
        sendn(sq[1], "rec2");
        sendn(sd[0], "dgram-from-child");
        while (!test_stop)
            pause();
        timeouts(st[1]);
        timeouts(sq[1]);
        timeouts(k);
        timeouts(sd[0]);
        expect(st[1], "from-parent", "child: stream pair");
        expect(sq[1], "p1", "child: seqpacket pair");
        expect(sd[0], "dgram-from-parent", "child: datagram pair");
        expect(k, "hello-k", "child: accepted connection");
        sendn(k, "ok");
        _exit(0);
    }
    close(st[1]);
    close(sq[1]);
    close(sd[0]);
    /* The child sends its datagram last: once it is there, everything of the child's is in place. */
    char peek[32];
    CHECK(recv(sd[1], peek, sizeof(peek), MSG_PEEK) > 0, "child's datagram: %s", strerror(errno));
    sendn(st[0], "from-parent");
    sendn(sq[0], "p1");
    sendn(sd[1], "dgram-from-parent");
    test_msg("CHILD %d", (int)child);
    test_ready();
    test_waitsig();

    kill(child, SIGTERM);
    timeouts(st[0]);
    timeouts(sq[0]);
    timeouts(sd[1]);
    expect(st[0], "from-child", "parent: stream pair");
    expect(sq[0], "r1", "parent: seqpacket record 1");
    expect(sq[0], "rec2", "parent: seqpacket record 2");
    expect(sd[1], "dgram-from-child", "parent: datagram pair");
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0, "accept the child's queued connection: %s", strerror(errno));
    timeouts(s);
    sendn(s, "hello-k");
    expect(s, "ok", "parent: child's answer");
    /* tree.sock is bound in the cwd again (a relative name): a new connection reaches the listener */
    int n = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(n, (struct sockaddr *)&sa, sizeof(sa)) == 0, "new connection to tree.sock: %s", strerror(errno));
    int ns = accept(l, NULL, NULL);
    CHECK(ns >= 0, "accept the new connection: %s", strerror(errno));
    sendn(n, "new");
    expect(ns, "new", "parent: new connection");
    int status;
    CHECK(waitpid(child, &status, 0) == child, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    pass();
}
