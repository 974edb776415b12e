/* mem_file_private: a file mapped MAP_PRIVATE, some pages copied-on-write, others still the file's. */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define NPAGES 16
#define FILE_SEED(pg) (100 + (pg))
#define COW_SEED(pg) (500 + (pg))

static int is_cow(int pg) { return pg % 3 == 1; } /* pages 1, 4, 7, 10, 13 */

static void check_file(int fd, const char *when)
{
    char buf[PAGE];
    for (int pg = 0; pg < NPAGES; pg++) {
        CHECK(pread(fd, buf, PAGE, pg * PAGE) == (ssize_t)PAGE, "pread page %d: %s", pg, strerror(errno));
        CHECK(pattern_check(buf, PAGE, FILE_SEED(pg)) < 0, "%s: data.bin page %d on disk changed", when, pg);
    }
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int fd = open("data.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0, "open data.bin: %s", strerror(errno));
    char buf[PAGE];
    for (int pg = 0; pg < NPAGES; pg++) {
        pattern_fill(buf, PAGE, FILE_SEED(pg));
        CHECK(write(fd, buf, PAGE) == (ssize_t)PAGE, "write: %s", strerror(errno));
    }
    fsync(fd);

    /* Writable private mapping at an offset (pages 2..), and a read-only one of the whole file. */
    char *rw = mmap(NULL, (NPAGES - 2) * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 2 * PAGE);
    CHECK(rw != MAP_FAILED, "mmap rw: %s", strerror(errno));
    char *ro = mmap(NULL, NPAGES * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(ro != MAP_FAILED, "mmap ro: %s", strerror(errno));
    for (int pg = 2; pg < NPAGES; pg++) {
        volatile char c = rw[(pg - 2) * PAGE]; /* fault every page in, COW or not */
        (void)c;
        if (is_cow(pg))
            pattern_fill(rw + (pg - 2) * PAGE, PAGE, COW_SEED(pg));
    }
    close(fd); /* the mappings alone keep the file */

    test_ready();
    test_waitsig();

    for (int pg = 2; pg < NPAGES; pg++) {
        uint64_t seed = is_cow(pg) ? COW_SEED(pg) : FILE_SEED(pg);
        long off = pattern_check(rw + (pg - 2) * PAGE, PAGE, seed);
        CHECK(off < 0, "rw mapping, file page %d (%s): differs at %ld", pg, is_cow(pg) ? "copied" : "file", off);
    }
    for (int pg = 0; pg < NPAGES; pg++)
        CHECK(pattern_check(ro + pg * PAGE, PAGE, FILE_SEED(pg)) < 0, "ro mapping page %d differs", pg);
    fd = open("data.bin", O_RDWR);
    CHECK(fd >= 0, "reopen data.bin: %s", strerror(errno));
    check_file(fd, "after restart");

    /* A page never written is still backed by the file: a write to the file shows through
     * (Linux behaviour for MAP_PRIVATE pages not yet copied), while copied pages stay private. */
    pattern_fill(buf, PAGE, 999);
    CHECK(pwrite(fd, buf, PAGE, 3 * PAGE) == (ssize_t)PAGE, "pwrite: %s", strerror(errno));
    CHECK(pwrite(fd, buf, PAGE, 4 * PAGE) == (ssize_t)PAGE, "pwrite: %s", strerror(errno));
    CHECK(pattern_check(rw + 1 * PAGE, PAGE, 999) < 0, "rw mapping file page 3 (never written) no longer follows the file");
    CHECK(pattern_check(ro + 3 * PAGE, PAGE, 999) < 0, "ro mapping page 3 no longer follows the file");
    CHECK(pattern_check(rw + 2 * PAGE, PAGE, COW_SEED(4)) < 0, "rw mapping file page 4 (copied) changed with the file");
    /* COW still works after restart */
    pattern_fill(rw + 5 * PAGE, PAGE, 777);
    char back[PAGE];
    CHECK(pread(fd, back, PAGE, 7 * PAGE) == (ssize_t)PAGE, "pread: %s", strerror(errno));
    CHECK(pattern_check(back, PAGE, FILE_SEED(7)) < 0, "write to private mapping reached the file");
    pass();
}
