/* mem_shared_anon: MAP_SHARED|MAP_ANONYMOUS memory (shmem behind it) holding data. */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096UL
#define LEN (1UL << 20)

int main(int argc, char **argv)
{
    test_init(argc, argv);
    char *m = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
    /* first half written, second half untouched */
    pattern_fill(m, LEN / 2, 400);
    char *ro = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(ro != MAP_FAILED, "mmap: %s", strerror(errno));
    pattern_fill(ro, 4 * PAGE, 401);
    CHECK(mprotect(ro, 4 * PAGE, PROT_READ) == 0, "mprotect: %s", strerror(errno));

    test_ready();
    test_waitsig();

    long off = pattern_check(m, LEN / 2, 400);
    CHECK(off < 0, "shared anon: differs at offset %ld", off);
    for (size_t b = LEN / 2; b < LEN; b++)
        CHECK(m[b] == 0, "shared anon: untouched half not zero at %zu", b);
    CHECK(pattern_check(ro, 4 * PAGE, 401) < 0, "read-only shared anon differs");
    pattern_fill(m + LEN / 2, LEN / 2, 402);
    CHECK(pattern_check(m + LEN / 2, LEN / 2, 402) < 0, "shared anon not writable after restart");
    pass();
}
