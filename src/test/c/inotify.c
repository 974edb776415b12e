/*
 * inotify: one non-blocking instance with watches at wd 1 (a directory), 3 (a file, IN_ONESHOT),
 * 4 (a directory, every event): wd 2 and 5 were added and removed, so the wds have a gap and the
 * next new watch is not simply the highest plus one. Events are queued when the target is ready
 * (a file created in dir a, and the IN_IGNORED of the removed watches): a restart drops them (the
 * checkpoint warns), so they are drained either way. After restart: the fdinfo watch lines (wd,
 * inode, device, mask, handle) are the same, each watch still reports its events under its own
 * wd, the removed one reports nothing, a new watch gets a wd above 4, and the flags are the same.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

static int ifd;

static char *watch_lines(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ifd);
    size_t len;
    char *text = read_file(path, &len);
    CHECK(text != NULL, "read %s: %s", path, strerror(errno));
    char *w = strstr(text, "inotify ");
    char *copy = strdup(w ? w : "");
    free(text);
    return copy;
}

/* Reads every queued event; returns how many bytes there were. */
static int drain(void)
{
    char buf[4096] __attribute__((aligned(8)));
    int total = 0;
    for (;;) {
        ssize_t n = read(ifd, buf, sizeof(buf));
        if (n < 0) {
            CHECK(errno == EAGAIN, "read inotify: %s", strerror(errno));
            return total;
        }
        total += n;
    }
}

/* The next event, from what one read returned: its wd and mask. */
static char evbuf[8192] __attribute__((aligned(8)));
static ssize_t evlen, evat;

static void next_event(int *wd, uint32_t *mask)
{
    if (evat >= evlen) {
        evlen = read(ifd, evbuf, sizeof(evbuf));
        evat = 0;
        CHECK(evlen >= (ssize_t)sizeof(struct inotify_event), "read inotify event: %zd, %s", evlen, strerror(errno));
    }
    struct inotify_event *e = (struct inotify_event *)(evbuf + evat);
    evat += sizeof(*e) + e->len;
    *wd = e->wd;
    *mask = e->mask;
}

static void expect(int wd, uint32_t bit, const char *what)
{
    int got;
    uint32_t mask;
    next_event(&got, &mask);
    CHECK(got == wd && (mask & bit), "%s: event wd %d mask 0x%x, expected wd %d with 0x%x", what, got, mask, wd, bit);
}

static void touch(const char *path)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_APPEND, 0644);
    CHECK(fd >= 0, "create %s: %s", path, strerror(errno));
    CHECK(write(fd, "x", 1) == 1, "write %s: %s", path, strerror(errno));
    close(fd);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    const char *dirs[] = { "ino", "ino/a", "ino/b", "ino/c" };
    for (int i = 0; i < 4; i++)
        CHECK(mkdir(dirs[i], 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dirs[i], strerror(errno));
    touch("ino/f");
    ifd = inotify_init1(IN_NONBLOCK);
    CHECK(ifd >= 0, "inotify_init1: %s", strerror(errno));
    int a = inotify_add_watch(ifd, "ino/a", IN_CREATE | IN_DELETE);
    int b = inotify_add_watch(ifd, "ino/b", IN_CREATE);
    int f = inotify_add_watch(ifd, "ino/f", IN_MODIFY | IN_ONESHOT);
    int c = inotify_add_watch(ifd, "ino/c", IN_ALL_EVENTS | IN_EXCL_UNLINK);
    int e = inotify_add_watch(ifd, "ino", IN_ATTRIB);
    CHECK(a == 1 && b == 2 && f == 3 && c == 4 && e == 5, "wds %d %d %d %d %d, expected 1 to 5", a, b, f, c, e);
    CHECK(inotify_rm_watch(ifd, b) == 0 && inotify_rm_watch(ifd, e) == 0, "inotify_rm_watch: %s", strerror(errno));
    touch("ino/a/queued");
    int fl = fcntl(ifd, F_GETFL);
    char *before = watch_lines();
    test_msg("FD %d", ifd);

    test_ready();
    test_waitsig();

    char *after = watch_lines();
    CHECK(strcmp(before, after) == 0, "fdinfo watches differ:\nbefore:\n%safter:\n%s", before, after);
    CHECK(fcntl(ifd, F_GETFL) == fl, "F_GETFL 0%o, was 0%o", fcntl(ifd, F_GETFL), fl);
    test_msg("%d bytes of events were queued", drain());
    touch("ino/b/new");   /* wd 2 is gone: no event */
    touch("ino/a/new");
    expect(a, IN_CREATE, "create in a");
    touch("ino/f");
    expect(f, IN_MODIFY, "modify f");
    expect(f, IN_IGNORED, "oneshot f removed");
    touch("ino/c/new");
    expect(c, IN_CREATE, "create in c");
    int more = (int)(evlen - evat) + drain();
    CHECK(more > 0, "no open/modify/close events from c");
    int n = inotify_add_watch(ifd, "ino/b", IN_CREATE);
    CHECK(n > c, "a new watch got wd %d, expected above %d", n, c);
    unlink("ino/a/queued");
    unlink("ino/a/new");
    unlink("ino/b/new");
    unlink("ino/c/new");
    unlink("ino/f");
    pass();
}
