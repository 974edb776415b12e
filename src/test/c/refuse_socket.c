/*
 * refuse_socket: holds a resource that this milestone cannot save, so checkpoint must refuse and
 * leave it untouched. argv[1]: "tcp" (a TCP connect(2) still in progress, SYN_SENT: its listener
 * over loopback (backlog 0) already has one connection waiting to be accepted, so the kernel
 * drops the SYN until that one is accepted; the default) or "fanotify" (a mark on a file that was
 * then removed, so that the marked inode has no path left, with one FAN_CLOSE_WRITE event queued).
 * Prints "FD n" before READY. After SIGTERM the resource must still work as before.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int tcp = !(argc > 1 && strcmp(argv[1], "fanotify") == 0);
    int fd, peer = -1, listener = -1;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(addr);
    if (tcp) {
        int l = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(l >= 0, "socket: %s", strerror(errno));
        CHECK(bind(l, (struct sockaddr *)&addr, sizeof(addr)) == 0, "bind: %s", strerror(errno));
        CHECK(getsockname(l, (struct sockaddr *)&addr, &alen) == 0, "getsockname: %s", strerror(errno));
        CHECK(listen(l, 0) == 0, "listen: %s", strerror(errno));
        peer = socket(AF_INET, SOCK_STREAM, 0);   /* waits in the accept queue, filling it */
        CHECK(peer >= 0 && connect(peer, (struct sockaddr *)&addr, sizeof(addr)) == 0, "connect: %s", strerror(errno));
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        CHECK(fd >= 0, "socket: %s", strerror(errno));
        CHECK(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 && errno == EINPROGRESS, "connect: %s",
              strerror(errno));
        listener = l;
    } else {
        close(creat("made", 0600));
        fd = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK, O_RDONLY);
        CHECK(fd >= 0, "fanotify_init: %s", strerror(errno));
        CHECK(fanotify_mark(fd, FAN_MARK_ADD, FAN_CLOSE_WRITE, AT_FDCWD, "made") == 0, "fanotify_mark: %s",
              strerror(errno));
        close(open("made", O_WRONLY));
        CHECK(unlink("made") == 0, "unlink: %s", strerror(errno));
    }
    test_msg("FD %d", fd);
    test_ready();
    test_waitsig();

    if (tcp) {
        int first = accept(listener, NULL, NULL), second;
        CHECK(first >= 0, "accept: %s", strerror(errno));
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        CHECK(poll(&p, 1, 15000) == 1, "the connect in progress never finished");
        int err = -1;
        socklen_t elen = sizeof(err);
        CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0, "connect: %s", strerror(err));
        second = accept(listener, NULL, NULL);
        CHECK(second >= 0, "accept: %s", strerror(errno));
        CHECK(write(fd, "again", 5) == 5, "write: %s", strerror(errno));
        char buf[16] = "";
        CHECK(recv(second, buf, sizeof(buf), 0) == 5, "TCP connection does not work: %s", strerror(errno));
        close(peer);
    } else {
        struct fanotify_event_metadata ev[4];
        ssize_t n = read(fd, ev, sizeof(ev));
        CHECK(n >= (ssize_t)sizeof(ev[0]) && (ev[0].mask & FAN_CLOSE_WRITE), "queued fanotify event lost (read %zd)", n);
        close(ev[0].fd);
    }
    pass();
}
