/*
 * memfd: a named memfd with contents, seals and an offset, mapped MAP_SHARED and reopened
 * read-only through /proc/self/fd; a second memfd only mapped MAP_PRIVATE (its descriptor closed)
 * with one page modified; a third made without MFD_ALLOW_SEALING. After restart: names, contents,
 * seals, offsets and flags are the same, the shared mapping at its address and the descriptor are
 * one memfd (writes through either show in the other), the reopened descriptor is that memfd too,
 * and the private mapping keeps its modified page over the memfd's others.
 *
 * "memfd large" sets up what a checkpoint refuses (a memfd over the image's bound for memfd
 * contents), prints "FD n" and checks that it is intact.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096
#define SHARED_LEN (4 * PAGE + 100) /* not a whole number of pages */
#define PRIVATE_LEN (3 * PAGE)
#define POS 5000
#define RO_POS 123

static void link_is(int fd, const char *want)
{
    char path[64], got[256];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, got, sizeof(got) - 1);
    CHECK(n > 0, "readlink %s: %s", path, strerror(errno));
    got[n] = 0;
    CHECK(strcmp(got, want) == 0, "fd %d links to \"%s\", want \"%s\"", fd, got, want);
}

static void contents_are(int fd, size_t len, uint64_t seed)
{
    static char buf[SHARED_LEN];
    CHECK(pread(fd, buf, len, 0) == (ssize_t)len, "pread fd %d: %s", fd, strerror(errno));
    long bad = pattern_check(buf, len, seed);
    CHECK(bad < 0, "fd %d: contents differ from the pattern at offset %ld", fd, bad);
}

/* A memfd a checkpoint must refuse; checked intact after the refusal. */
static void refused(const char *what)
{
    int fd = memfd_create("amber large", 0);
    CHECK(fd >= 0, "memfd_create %s: %s", what, strerror(errno));
    off_t size = 40 << 20; /* sparse: over the bound without using the memory */
    CHECK(ftruncate(fd, size) == 0, "ftruncate %s: %s", what, strerror(errno));
    test_msg("FD %d", fd);
    test_ready();
    test_waitsig();
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == size, "%s memfd: size %ld, was %ld", what, (long)st.st_size, (long)size);
    pass();
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    if (argc > 1)
        refused(argv[1]);
    static char buf[SHARED_LEN];

    int fd = memfd_create("amber test memfd", MFD_ALLOW_SEALING);
    CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
    pattern_fill(buf, SHARED_LEN, 7);
    CHECK(write(fd, buf, SHARED_LEN) == SHARED_LEN, "write memfd: %s", strerror(errno));
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) == 0, "F_ADD_SEALS: %s", strerror(errno));
    CHECK(lseek(fd, POS, SEEK_SET) == POS, "lseek: %s", strerror(errno));
    char *shared = mmap(NULL, SHARED_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(shared != MAP_FAILED, "mmap shared: %s", strerror(errno));
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    int ro = open(self, O_RDONLY | O_NONBLOCK);
    CHECK(ro >= 0, "reopen %s: %s", self, strerror(errno));
    CHECK(lseek(ro, RO_POS, SEEK_SET) == RO_POS, "lseek ro: %s", strerror(errno));
    int fl = fcntl(fd, F_GETFL), ro_fl = fcntl(ro, F_GETFL);

    int pfd = memfd_create("amber private", 0);
    CHECK(pfd >= 0, "memfd_create private: %s", strerror(errno));
    pattern_fill(buf, PRIVATE_LEN, 9);
    CHECK(write(pfd, buf, PRIVATE_LEN) == PRIVATE_LEN, "write private memfd: %s", strerror(errno));
    char *priv = mmap(NULL, PRIVATE_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, pfd, 0);
    CHECK(priv != MAP_FAILED, "mmap private: %s", strerror(errno));
    close(pfd);
    pattern_fill(priv + PAGE, PAGE, 11); /* copied on write: the memfd keeps pattern 9 */

    int unsealable = memfd_create("amber no sealing", MFD_CLOEXEC);
    CHECK(unsealable >= 0, "memfd_create no sealing: %s", strerror(errno));

    test_msg("shared at %p, private at %p", shared, priv);
    test_ready();
    test_waitsig();

    link_is(fd, "/memfd:amber test memfd (deleted)");
    link_is(ro, "/memfd:amber test memfd (deleted)");
    link_is(unsealable, "/memfd:amber no sealing (deleted)");
    struct stat st, ro_st;
    CHECK(fstat(fd, &st) == 0 && fstat(ro, &ro_st) == 0, "fstat: %s", strerror(errno));
    CHECK(st.st_size == SHARED_LEN, "size %ld, was %d", (long)st.st_size, SHARED_LEN);
    CHECK(st.st_ino == ro_st.st_ino, "the reopened fd is inode %lu, the memfd %lu", (unsigned long)ro_st.st_ino,
          (unsigned long)st.st_ino);
    contents_are(fd, SHARED_LEN, 7);
    int seals = fcntl(fd, F_GET_SEALS);
    CHECK(seals == (F_SEAL_GROW | F_SEAL_SHRINK), "seals 0x%x, want 0x%x", seals, F_SEAL_GROW | F_SEAL_SHRINK);
    CHECK(ftruncate(fd, 2 * SHARED_LEN) == -1 && errno == EPERM, "ftruncate past F_SEAL_GROW: not EPERM");
    seals = fcntl(unsealable, F_GET_SEALS);
    CHECK(seals == F_SEAL_SEAL, "no-sealing memfd: seals 0x%x, want F_SEAL_SEAL", seals);
    CHECK(fcntl(unsealable, F_GETFD) == FD_CLOEXEC, "no-sealing memfd: FD_CLOEXEC lost");
    CHECK(lseek(fd, 0, SEEK_CUR) == POS, "offset %ld, was %d", (long)lseek(fd, 0, SEEK_CUR), POS);
    CHECK(lseek(ro, 0, SEEK_CUR) == RO_POS, "ro offset %ld, was %d", (long)lseek(ro, 0, SEEK_CUR), RO_POS);
    CHECK(fcntl(fd, F_GETFL) == fl, "F_GETFL 0%o, was 0%o", fcntl(fd, F_GETFL), fl);
    CHECK(fcntl(ro, F_GETFL) == ro_fl, "ro F_GETFL 0%o, was 0%o", fcntl(ro, F_GETFL), ro_fl);
    CHECK(write(ro, "x", 1) == -1 && errno == EBADF, "write to the read-only reopen did not fail with EBADF");

    long bad = pattern_check(shared, SHARED_LEN, 7);
    CHECK(bad < 0, "shared mapping at %p differs from the pattern at offset %ld", shared, bad);
    CHECK(pwrite(fd, "through fd", 10, PAGE) == 10, "pwrite: %s", strerror(errno));
    CHECK(memcmp(shared + PAGE, "through fd", 10) == 0, "a write through the fd does not show in the mapping");
    memcpy(shared + 2 * PAGE, "through map", 11);
    char back[11];
    CHECK(pread(ro, back, 11, 2 * PAGE) == 11 && memcmp(back, "through map", 11) == 0,
          "a write into the mapping does not show through the reopened fd");

    bad = pattern_check(priv, PAGE, 9);
    CHECK(bad < 0, "private mapping page 0 differs from the memfd at %ld", bad);
    bad = pattern_check(priv + PAGE, PAGE, 11);
    CHECK(bad < 0, "private mapping page 1 lost its modification at %ld", bad);
    pattern_fill(buf, PRIVATE_LEN, 9);
    CHECK(memcmp(priv + 2 * PAGE, buf + 2 * PAGE, PAGE) == 0, "private mapping page 2 differs from the memfd");
    memset(priv, 0, PAGE); /* still writable and private */
    pass();
}
