/*
 * mem_deleted: mappings of a file that has been unlinked since. mapped.dat (64 KiB of pattern)
 * is mapped twice shared and once private, the private copy has a page written (copied on
 * write), one shared mapping has a page written (seen through the other), then the file is
 * unlinked. After restart: every mapping still reads "(deleted)" in /proc/self/maps with its old
 * name, the contents are as left, a write through one shared mapping shows through the other
 * (one file again), and the private mapping still has its own page.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIZE (64 << 10)

static int deleted_in_maps(void *at)
{
    char want[64];
    snprintf(want, sizeof(want), "%lx-", (unsigned long)at);
    char *maps = read_file("/proc/self/maps", NULL);
    char *line = maps ? strstr(maps, want) : NULL;
    int ok = line != NULL;
    if (ok) {
        char *end = strchr(line, '\n');
        if (end)
            *end = 0;
        ok = strstr(line, "/mapped.dat (deleted)") != NULL;
    }
    free(maps);
    return ok;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int fd = open("mapped.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0, "open: %s", strerror(errno));
    char *buf = malloc(SIZE);
    pattern_fill(buf, SIZE, 77);
    CHECK(write(fd, buf, SIZE) == SIZE, "write");
    char *a = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *b = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(a != MAP_FAILED && b != MAP_FAILED && p != MAP_FAILED, "mmap: %s", strerror(errno));
    close(fd);
    memset(p + 4096, 'P', 4096);      /* the private copy's own page */
    memset(a + 8192, 'S', 4096);      /* through a shared mapping: the file's page */
    CHECK(unlink("mapped.dat") == 0, "unlink: %s", strerror(errno));
    test_ready();
    test_waitsig();

    CHECK(deleted_in_maps(a) && deleted_in_maps(b) && deleted_in_maps(p),
          "a mapping no longer reads mapped.dat (deleted) in /proc/self/maps");
    CHECK(access("mapped.dat", F_OK) != 0, "mapped.dat exists again: it was unlinked");
    for (int off = 0; off < SIZE; off += 4096) {
        char *want = buf + off;
        char s[4096], pr[4096];
        memcpy(s, want, 4096);
        memcpy(pr, want, 4096);
        if (off == 8192) {
            memset(s, 'S', 4096);
            memset(pr, 'S', 4096);   /* the private mapping was made before: it saw the file's page */
        }
        if (off == 4096)
            memset(pr, 'P', 4096);
        CHECK(memcmp(a + off, s, 4096) == 0, "shared mapping differs at offset %d", off);
        CHECK(memcmp(b + off, s, 4096) == 0, "second shared mapping differs at offset %d", off);
        CHECK(memcmp(p + off, pr, 4096) == 0, "private mapping differs at offset %d", off);
    }
    a[100] = 'X';
    CHECK(b[100] == 'X', "a write through one shared mapping is not seen through the other");
    pass();
}
