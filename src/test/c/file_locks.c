/*
 * file_locks: an flock LOCK_EX on one file, a POSIX write lock on bytes 10-29 and a read lock on
 * 100-EOF of a second, an OFD write lock on bytes 0-4 of a third. After restart the fdinfo lock
 * lines are the same, and the locks act: F_OFD_GETLK through a new open file description of each
 * file reports each conflict (and none outside the ranges), and flock(LOCK_SH|LOCK_NB) through a
 * new open file description of the first fails with EWOULDBLOCK.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static int open_file(const char *name)
{
    int fd = open(name, O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0, "open %s: %s", name, strerror(errno));
    return fd;
}

static void set_lock(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    CHECK(fcntl(fd, cmd, &l) == 0, "fcntl(%d) fd %d %ld+%ld: %s", cmd, fd, (long)start, (long)len, strerror(errno));
}

/* The fdinfo lock lines of fd, without the "lock:" label. */
static char *locks_of(int fd)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    size_t len;
    char *all = read_file(path, &len);
    CHECK(all != NULL, "read %s", path);
    char *out = calloc(1, len + 1), *line = strtok(all, "\n");
    for (; line != NULL; line = strtok(NULL, "\n")) {
        if (strncmp(line, "lock:", 5) == 0) {
            strcat(out, line);
            strcat(out, "\n");
        }
    }
    free(all);
    return out;
}

/* F_OFD_GETLK for type on [start, start+len) through fd: the conflicting lock's type, start and len. */
static void conflict_is(int fd, short type, off_t start, off_t len, short want_type, off_t want_start, off_t want_len)
{
    struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    CHECK(fcntl(fd, F_OFD_GETLK, &l) == 0, "F_OFD_GETLK: %s", strerror(errno));
    CHECK(l.l_type == want_type, "F_OFD_GETLK type %d on %ld+%ld: type %d, want %d", type, (long)start, (long)len,
          l.l_type, want_type);
    if (want_type != F_UNLCK)
        CHECK(l.l_start == want_start && l.l_len == want_len, "F_OFD_GETLK on %ld+%ld: conflict at %ld+%ld, want %ld+%ld",
              (long)start, (long)len, (long)l.l_start, (long)l.l_len, (long)want_start, (long)want_len);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int fl = open_file("lock-flock"), px = open_file("lock-posix"), ofd = open_file("lock-ofd");
    char zeros[200] = {0};
    CHECK(write(px, zeros, sizeof(zeros)) == sizeof(zeros), "write: %s", strerror(errno));
    CHECK(flock(fl, LOCK_EX) == 0, "flock: %s", strerror(errno));
    set_lock(px, F_SETLK, F_WRLCK, 10, 20);
    set_lock(px, F_SETLK, F_RDLCK, 100, 0);
    set_lock(ofd, F_OFD_SETLK, F_WRLCK, 0, 5);
    char *before[3] = {locks_of(fl), locks_of(px), locks_of(ofd)};
    CHECK(strstr(before[0], "FLOCK") && strstr(before[1], "POSIX") && strstr(before[2], "OFDLCK"),
          "fdinfo lock lines missing:\n%s%s%s", before[0], before[1], before[2]);

    test_ready();
    test_waitsig();

    int fds[3] = {fl, px, ofd};
    for (int i = 0; i < 3; i++) {
        char *after = locks_of(fds[i]);
        CHECK(strcmp(after, before[i]) == 0, "fd %d lock lines:\n%swere:\n%s", fds[i], after, before[i]);
    }
    /* Other open file descriptions: closing them would drop the POSIX locks, so they stay open. */
    int px2 = open("lock-posix", O_RDWR), ofd2 = open("lock-ofd", O_RDWR), fl2 = open("lock-flock", O_RDONLY);
    CHECK(px2 >= 0 && ofd2 >= 0 && fl2 >= 0, "reopen: %s", strerror(errno));
    conflict_is(px2, F_RDLCK, 15, 1, F_WRLCK, 10, 20);
    conflict_is(px2, F_WRLCK, 50, 10, F_UNLCK, 0, 0);
    conflict_is(px2, F_WRLCK, 150, 1, F_RDLCK, 100, 0);
    conflict_is(px2, F_RDLCK, 150, 1, F_UNLCK, 0, 0);
    conflict_is(ofd2, F_RDLCK, 0, 1, F_WRLCK, 0, 5);
    conflict_is(ofd2, F_WRLCK, 5, 10, F_UNLCK, 0, 0);
    CHECK(flock(fl2, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK, "flock LOCK_SH|LOCK_NB through a new open"
          " file description: not EWOULDBLOCK (%s)", strerror(errno));
    pass();
}
