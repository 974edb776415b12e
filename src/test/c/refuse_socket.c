/*
 * refuse_socket: holds a resource that this milestone cannot save, so checkpoint must refuse and
 * leave it untouched. argv[1]: "tcp" (an established TCP connection over loopback to its own
 * listener, both ends kept, data queued; the default) or "fanotify" (a mark on a file that was
 * then removed, so that the marked inode has no path left, with one FAN_CLOSE_WRITE event queued).
 * Prints "FD n" before READY. After SIGTERM the resource must still work as before.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int tcp = !(argc > 1 && strcmp(argv[1], "fanotify") == 0);
    int fd, peer = -1;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(addr);
    if (tcp) {
        int l = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(l >= 0, "socket: %s", strerror(errno));
        CHECK(bind(l, (struct sockaddr *)&addr, sizeof(addr)) == 0, "bind: %s", strerror(errno));
        CHECK(listen(l, 1) == 0, "listen: %s", strerror(errno));
        CHECK(getsockname(l, (struct sockaddr *)&addr, &alen) == 0, "getsockname: %s", strerror(errno));
        fd = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(fd >= 0, "socket: %s", strerror(errno));
        CHECK(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0, "connect: %s", strerror(errno));
        peer = accept(l, NULL, NULL);
        CHECK(peer >= 0, "accept: %s", strerror(errno));
        close(l);
        /* data waiting in the accepted end's receive queue */
        CHECK(write(fd, "queued", 6) == 6, "write: %s", strerror(errno));
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
        struct sockaddr_in now;
        socklen_t nlen = sizeof(now);
        CHECK(getpeername(fd, (struct sockaddr *)&now, &nlen) == 0 && now.sin_port == addr.sin_port,
              "TCP connection lost its peer");
        char buf[16] = "";
        CHECK(recv(peer, buf, sizeof(buf), MSG_DONTWAIT) == 6 && memcmp(buf, "queued", 6) == 0, "queued data lost");
        CHECK(write(peer, "again", 5) == 5, "write: %s", strerror(errno));
        CHECK(recv(fd, buf, sizeof(buf), 0) == 5, "TCP connection does not work: %s", strerror(errno));
    } else {
        struct fanotify_event_metadata ev[4];
        ssize_t n = read(fd, ev, sizeof(ev));
        CHECK(n >= (ssize_t)sizeof(ev[0]) && (ev[0].mask & FAN_CLOSE_WRITE), "queued fanotify event lost (read %zd)", n);
        close(ev[0].fd);
    }
    pass();
}
