/*
 * eventfd: a blocking eventfd whose count is beyond what eventfd2 can set (> UINT_MAX), a
 * non-blocking one in semaphore mode with a dup at fd 40, and a close-on-exec one with O_APPEND
 * set by F_SETFL. After restart: the counts read back exactly, the semaphore one hands out 1 at a
 * time until EAGAIN, the dup shares its counter (written through one, read through the other),
 * and status and descriptor flags are the same.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BIG 0x123456789abcdef0ULL

struct fdrec {
    const char *name;
    int fd, fl, fdfl;
};

static void record(struct fdrec *r)
{
    r->fl = fcntl(r->fd, F_GETFL);
    r->fdfl = fcntl(r->fd, F_GETFD);
}

static uint64_t take(int fd, const char *name)
{
    uint64_t v = 0;
    ssize_t n = read(fd, &v, 8);
    CHECK(n == 8, "%s (fd %d): read returned %zd: %s", name, fd, n, strerror(errno));
    return v;
}

static void put(int fd, const char *name, uint64_t v)
{
    CHECK(write(fd, &v, 8) == 8, "%s (fd %d): write %llu: %s", name, fd, (unsigned long long)v, strerror(errno));
}

static void empty(int fd, const char *name)
{
    uint64_t v = 0;
    ssize_t n = read(fd, &v, 8);
    CHECK(n == -1 && errno == EAGAIN, "%s (fd %d): read of an empty counter returned %zd (value %llu), expected EAGAIN",
          name, fd, n, (unsigned long long)v);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int big = eventfd(0, 0);
    CHECK(big >= 0, "eventfd big: %s", strerror(errno));
    put(big, "big", BIG);
    int sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK(sem >= 0, "eventfd sem: %s", strerror(errno));
    int dup = dup2(sem, 40);
    CHECK(dup == 40, "dup2 sem to 40: %s", strerror(errno));
    int small = eventfd(7, EFD_CLOEXEC);
    CHECK(small >= 0, "eventfd small: %s", strerror(errno));
    CHECK(fcntl(small, F_SETFL, O_APPEND) == 0, "F_SETFL O_APPEND: %s", strerror(errno));

    struct fdrec fds[] = {
        { "big", big }, { "semaphore, non-blocking", sem }, { "dup of semaphore", dup }, { "small, O_APPEND", small },
    };
    int nfds = sizeof(fds) / sizeof(fds[0]);
    for (int i = 0; i < nfds; i++)
        record(&fds[i]);
    CHECK((fds[1].fl & O_NONBLOCK) && !(fds[0].fl & O_NONBLOCK) && (fds[3].fl & O_APPEND) && fds[3].fdfl == FD_CLOEXEC,
          "flags not as set up: big 0%o, sem 0%o, small 0%o/%d", fds[0].fl, fds[1].fl, fds[3].fl, fds[3].fdfl);

    test_ready();
    test_waitsig();

    for (int i = 0; i < nfds; i++) {
        struct fdrec now = fds[i], *was = &fds[i];
        record(&now);
        CHECK(now.fl == was->fl, "fd %d (%s): F_GETFL 0%o, was 0%o", was->fd, was->name, now.fl, was->fl);
        CHECK(now.fdfl == was->fdfl, "fd %d (%s): F_GETFD %d, was %d", was->fd, was->name, now.fdfl, was->fdfl);
    }
    uint64_t v = take(big, "big");
    CHECK(v == BIG, "big: count 0x%llx, was 0x%llx", (unsigned long long)v, BIG);
    put(big, "big", 1);
    CHECK((v = take(big, "big")) == 1, "big: count %llu after writing 1", (unsigned long long)v);

    /* semaphore mode: 3 reads of 1, through either descriptor, then EAGAIN */
    for (int i = 0; i < 3; i++) {
        int fd = i == 1 ? dup : sem;
        CHECK((v = take(fd, "semaphore")) == 1, "semaphore (fd %d): read %llu on read %d of 3, expected 1", fd,
              (unsigned long long)v, i + 1);
    }
    empty(sem, "semaphore");
    empty(dup, "dup of semaphore");
    /* one counter: written through the dup, read through the original */
    put(dup, "dup of semaphore", 2);
    CHECK(take(sem, "semaphore") == 1 && take(sem, "semaphore") == 1, "semaphore: 2 written via the dup, not read back 1 + 1");
    empty(sem, "semaphore");

    CHECK((v = take(small, "small")) == 7, "small: count %llu, was 7", (unsigned long long)v);
    pass();
}
