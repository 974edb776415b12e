/*
 * mem_file_shared: a file mapped MAP_SHARED and written through the mapping; and a read-only
 * shared mapping of a file opened read-write, which may become writable with mprotect after
 * the restart as before it.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define NPAGES 8

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int fd = open("shared.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0, "open shared.bin: %s", strerror(errno));
    CHECK(ftruncate(fd, NPAGES * PAGE) == 0, "ftruncate: %s", strerror(errno));
    char *m = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
    char *ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(ro != MAP_FAILED, "mmap read-only: %s", strerror(errno));
    close(fd);
    /* pages 0..5 written through the mapping (not msync'ed), 6..7 left as the file's zeros */
    for (int pg = 0; pg < 6; pg++)
        pattern_fill(m + pg * PAGE, PAGE, 200 + pg);

    test_ready();
    test_waitsig();

    fd = open("shared.bin", O_RDWR);
    CHECK(fd >= 0, "reopen shared.bin: %s", strerror(errno));
    char buf[PAGE];
    for (int pg = 0; pg < NPAGES; pg++) {
        CHECK(pread(fd, buf, PAGE, pg * PAGE) == (ssize_t)PAGE, "pread page %d: %s", pg, strerror(errno));
        CHECK(memcmp(buf, m + pg * PAGE, PAGE) == 0, "page %d: mapping and file disagree", pg);
        if (pg < 6)
            CHECK(pattern_check(buf, PAGE, 200 + pg) < 0, "page %d: lost the data written before", pg);
    }
    for (size_t b = 6 * PAGE; b < NPAGES * PAGE; b++)
        CHECK(m[b] == 0, "untouched page not zero at %zu", b);

    /* new writes reach the file, both ways */
    pattern_fill(m + 6 * PAGE, PAGE, 300);
    CHECK(msync(m, NPAGES * PAGE, MS_SYNC) == 0, "msync: %s", strerror(errno));
    CHECK(pread(fd, buf, PAGE, 6 * PAGE) == (ssize_t)PAGE, "pread: %s", strerror(errno));
    CHECK(pattern_check(buf, PAGE, 300) < 0, "write through the mapping after restart did not reach the file");
    pattern_fill(buf, PAGE, 301);
    CHECK(pwrite(fd, buf, PAGE, 1 * PAGE) == (ssize_t)PAGE, "pwrite: %s", strerror(errno));
    CHECK(pattern_check(m + PAGE, PAGE, 301) < 0, "write to the file after restart does not show in the mapping");
    CHECK(mprotect(ro, PAGE, PROT_READ | PROT_WRITE) == 0, "mprotect(PROT_WRITE) of the read-only shared"
          " mapping of a file opened read-write: %s", strerror(errno));
    ro[7] = 'x';
    CHECK(msync(ro, PAGE, MS_SYNC) == 0 && pread(fd, buf, 8, 0) == 8 && buf[7] == 'x',
          "a write through the mapping made writable did not reach the file");
    pass();
}
