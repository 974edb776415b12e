/*
 * inotify_deleted: a watch on a file that is deleted but still open, reached through an epoll
 * opened before both. The epoll (the lowest descriptor) watches the inotify instance, which
 * watches "gone" (IN_MODIFY, IN_CLOSE_WRITE); the file is opened read-write after the instance
 * and then unlinked. After restart: a write through the descriptor makes the instance readable
 * (epoll says so) with an IN_MODIFY under the same wd, and closing it gives IN_CLOSE_WRITE.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

/* Waits (up to 5 s) for an event with mask bit `want` on wd; fails on anything else but IN_ATTRIB. */
static void expect(int ep, int in, int wd, uint32_t want, const char *what)
{
    struct epoll_event e;
    CHECK(epoll_wait(ep, &e, 1, 5000) == 1 && e.data.u32 == 77, "%s: epoll does not report the instance", what);
    char buf[4096] __attribute__((aligned(8)));
    ssize_t n = read(in, buf, sizeof(buf));
    CHECK(n > 0, "%s: read: %s", what, strerror(errno));
    for (char *p = buf; p < buf + n;) {
        struct inotify_event *ev = (struct inotify_event *)p;
        CHECK(ev->wd == wd, "%s: event 0x%x under wd %d, want %d", what, ev->mask, ev->wd, wd);
        if (ev->mask & want)
            return;
        p += sizeof(*ev) + ev->len;
    }
    fail("%s: no event 0x%x", what, want);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int ep = epoll_create1(0);
    int in = inotify_init1(IN_NONBLOCK);
    CHECK(ep >= 0 && in > ep, "epoll %d, inotify %d: %s", ep, in, strerror(errno));
    int fd = open("gone", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd > in, "open gone: %s", strerror(errno));
    int wd = inotify_add_watch(in, "gone", IN_MODIFY | IN_CLOSE_WRITE);
    CHECK(wd > 0, "inotify_add_watch: %s", strerror(errno));
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = 77};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, in, &e) == 0, "epoll_ctl: %s", strerror(errno));
    CHECK(unlink("gone") == 0, "unlink: %s", strerror(errno));
    char drain[4096];
    while (read(in, drain, sizeof(drain)) > 0) {
    }

    test_ready();
    test_waitsig();

    CHECK(write(fd, "x", 1) == 1, "write: %s", strerror(errno));
    expect(ep, in, wd, IN_MODIFY, "write");
    CHECK(close(fd) == 0, "close: %s", strerror(errno));
    expect(ep, in, wd, IN_CLOSE_WRITE, "close");
    pass();
}
