/*
 * deleted_file: a file written, opened twice (O_RDWR at one offset, O_RDONLY|O_NONBLOCK at
 * another), the first descriptor dup'ed, then unlinked. After restart: contents, offsets, flags
 * and permissions are the same, the file is still unlinked (its name free, its links reading
 * "PATH (deleted)"), both opens are one inode (fstat), the dup shares the first's offset, and a
 * write through one is read through the other. Its times (set to fixed ones) and owner are the
 * same too: remaking it must not leave the restart's time on it.
 *
 * "deleted_file large" unlinks a file over the image's bound for deleted-file contents, prints
 * "FD n" and checks that it is intact after the refused checkpoint.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEN (3 * 4096 + 321)
#define RW_POS 1234
#define RO_POS 77
#define NAME "sub/amber-deleted.bin"

static void link_of(int fd, char *out, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, out, size - 1);
    CHECK(n > 0, "readlink %s: %s", path, strerror(errno));
    out[n] = 0;
}

static void refused(void)
{
    int fd = open("large.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0, "open large.bin: %s", strerror(errno));
    off_t size = 40 << 20; /* data over the bound (holes would not count) */
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof(chunk));
    for (off_t at = 0; at < size; at += sizeof(chunk))
        CHECK(write(fd, chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk), "write: %s", strerror(errno));
    CHECK(unlink("large.bin") == 0, "unlink: %s", strerror(errno));
    test_msg("FD %d", fd);
    test_ready();
    test_waitsig();
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == size && st.st_nlink == 0, "large file: size %ld, links %lu",
          (long)st.st_size, (unsigned long)st.st_nlink);
    pass();
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    if (argc > 1)
        refused();
    static char buf[LEN], got[LEN];

    CHECK(mkdir("sub", 0755) == 0 || errno == EEXIST, "mkdir sub: %s", strerror(errno));
    int rw = open(NAME, O_RDWR | O_CREAT | O_TRUNC, 0640);
    CHECK(rw >= 0, "open %s: %s", NAME, strerror(errno));
    CHECK(fchmod(rw, 0640) == 0, "fchmod: %s", strerror(errno));
    pattern_fill(buf, LEN, 5);
    CHECK(write(rw, buf, LEN) == LEN, "write: %s", strerror(errno));
    CHECK(lseek(rw, RW_POS, SEEK_SET) == RW_POS, "lseek rw: %s", strerror(errno));
    int ro = open(NAME, O_RDONLY | O_NONBLOCK);
    CHECK(ro >= 0, "open ro: %s", strerror(errno));
    CHECK(lseek(ro, RO_POS, SEEK_SET) == RO_POS, "lseek ro: %s", strerror(errno));
    struct timespec times[2] = {{.tv_sec = 1000000, .tv_nsec = 0}, {.tv_sec = 123456, .tv_nsec = 789}};
    CHECK(futimens(rw, times) == 0, "futimens: %s", strerror(errno));
    CHECK(fchown(rw, 1234, 5678) == 0, "fchown: %s", strerror(errno));
    CHECK(fchmod(rw, 0640) == 0, "fchmod: %s", strerror(errno));
    int dup_rw = dup(rw);
    CHECK(dup_rw >= 0, "dup: %s", strerror(errno));
    CHECK(unlink(NAME) == 0, "unlink: %s", strerror(errno));
    char rw_link[512], ro_link[512];
    link_of(rw, rw_link, sizeof(rw_link));
    link_of(ro, ro_link, sizeof(ro_link));
    int rw_fl = fcntl(rw, F_GETFL), ro_fl = fcntl(ro, F_GETFL);

    test_ready();
    test_waitsig();

    char now[512];
    link_of(rw, now, sizeof(now));
    CHECK(strcmp(now, rw_link) == 0, "rw links to \"%s\", was \"%s\"", now, rw_link);
    link_of(ro, now, sizeof(now));
    CHECK(strcmp(now, ro_link) == 0, "ro links to \"%s\", was \"%s\"", now, ro_link);
    CHECK(strstr(now, " (deleted)") != NULL, "link \"%s\" does not say (deleted)", now);
    CHECK(access(NAME, F_OK) == -1 && errno == ENOENT, "%s exists again", NAME);
    struct stat st, ro_st;
    CHECK(fstat(rw, &st) == 0 && fstat(ro, &ro_st) == 0, "fstat: %s", strerror(errno));
    CHECK(st.st_ino == ro_st.st_ino && st.st_dev == ro_st.st_dev, "rw is inode %lu, ro %lu",
          (unsigned long)st.st_ino, (unsigned long)ro_st.st_ino);
    CHECK(st.st_nlink == 0, "links %lu, want 0", (unsigned long)st.st_nlink);
    CHECK(st.st_size == LEN, "size %ld, was %d", (long)st.st_size, LEN);
    CHECK((st.st_mode & 07777) == 0640, "mode 0%o, was 0640", st.st_mode & 07777);
    CHECK(st.st_mtim.tv_sec == 123456 && st.st_mtim.tv_nsec == 789, "mtime %ld.%09ld, was 123456.000000789",
          (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    CHECK(st.st_uid == 1234 && st.st_gid == 5678, "owner %u:%u, was 1234:5678", st.st_uid, st.st_gid);
    CHECK(lseek(rw, 0, SEEK_CUR) == RW_POS, "rw offset %ld, was %d", (long)lseek(rw, 0, SEEK_CUR), RW_POS);
    CHECK(lseek(ro, 0, SEEK_CUR) == RO_POS, "ro offset %ld, was %d", (long)lseek(ro, 0, SEEK_CUR), RO_POS);
    CHECK(fcntl(rw, F_GETFL) == rw_fl, "rw F_GETFL 0%o, was 0%o", fcntl(rw, F_GETFL), rw_fl);
    CHECK(fcntl(ro, F_GETFL) == ro_fl, "ro F_GETFL 0%o, was 0%o", fcntl(ro, F_GETFL), ro_fl);
    CHECK(pread(ro, got, LEN, 0) == LEN, "pread ro: %s", strerror(errno));
    long bad = pattern_check(got, LEN, 5);
    CHECK(bad < 0, "contents differ from the pattern at offset %ld", bad);
    CHECK(write(ro, "x", 1) == -1 && errno == EBADF, "ro accepts writes");
    CHECK(lseek(dup_rw, 10, SEEK_CUR) == RW_POS + 10 && lseek(rw, 0, SEEK_CUR) == RW_POS + 10,
          "the dup does not share rw's offset");
    CHECK(pwrite(rw, "amber", 5, 100) == 5, "pwrite rw: %s", strerror(errno));
    CHECK(pread(ro, got, 5, 100) == 5 && memcmp(got, "amber", 5) == 0, "a write through rw is not read through ro");
    pass();
}
