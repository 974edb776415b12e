/* mem_anon: private anonymous memory of every shape, heap (malloc and brk) included. */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define BIG (64UL << 20)
#define BIG_STRIDE 37 /* touch every 37th page of the big region */

struct region {
    const char *name;
    size_t len;
    int prot;
    uint64_t seed;
    char *p;
};

static struct region regions[] = {
    { "rw-1page", PAGE, PROT_READ | PROT_WRITE, 11, NULL },
    { "rw-1MiB", 1UL << 20, PROT_READ | PROT_WRITE, 12, NULL },
    { "rw-5pages", 5 * PAGE, PROT_READ | PROT_WRITE, 13, NULL },
    { "ro-3pages", 3 * PAGE, PROT_READ, 14, NULL },
    { "rx-1page", PAGE, PROT_READ | PROT_EXEC, 15, NULL },
};
#define NREGIONS (sizeof(regions) / sizeof(regions[0]))

/* Is [p, p+len) one line of /proc/self/maps with these permissions? */
static int maps_has(const void *p, size_t len, const char *perms)
{
    char *maps = read_file("/proc/self/maps", NULL);
    char want[128];
    snprintf(want, sizeof(want), "%lx-%lx %s ", (unsigned long)p, (unsigned long)p + len, perms);
    int found = 0;
    for (char *line = maps; line && *line;) {
        if (strncmp(line, want, strlen(want)) == 0)
            found = 1;
        char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
    free(maps);
    return found;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);

    for (size_t i = 0; i < NREGIONS; i++) {
        struct region *r = &regions[i];
        r->p = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(r->p != MAP_FAILED, "mmap %s: %s", r->name, strerror(errno));
        pattern_fill(r->p, r->len, r->seed);
        /* data written first, then the protection lowered */
        CHECK(mprotect(r->p, r->len, r->prot) == 0, "mprotect %s: %s", r->name, strerror(errno));
    }

    /* A guard: PROT_NONE between two RW pages (three VMAs from one mmap). */
    char *guarded = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(guarded != MAP_FAILED, "mmap guarded: %s", strerror(errno));
    pattern_fill(guarded, PAGE, 21);
    pattern_fill(guarded + 2 * PAGE, PAGE, 22);
    CHECK(mprotect(guarded + PAGE, PAGE, PROT_NONE) == 0, "mprotect guard: %s", strerror(errno));

    /* A large PROT_NONE reservation never touched. */
    char *reserved = mmap(NULL, 16 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(reserved != MAP_FAILED, "mmap reserved: %s", strerror(errno));

    /* 64 MiB, only some pages touched: the rest must read as zero afterwards. */
    char *big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(big != MAP_FAILED, "mmap big: %s", strerror(errno));
    for (size_t pg = 0; pg < BIG / PAGE; pg += BIG_STRIDE)
        pattern_fill(big + pg * PAGE, PAGE, 1000 + pg);

    /* Heap: small malloc (brk arena) and large malloc (its own mmap). */
    size_t small_len = 3000, large_len = 4UL << 20;
    char *small = malloc(small_len);
    char *large = malloc(large_len);
    CHECK(small && large, "malloc failed");
    pattern_fill(small, small_len, 31);
    pattern_fill(large, large_len, 32);

    /* brk grown by hand. */
    char *brk_area = sbrk(8 * PAGE);
    CHECK(brk_area != (void *)-1, "sbrk: %s", strerror(errno));
    pattern_fill(brk_area, 8 * PAGE, 41);
    void *brk_end = sbrk(0);

    test_ready();
    test_waitsig();

    for (size_t i = 0; i < NREGIONS; i++) {
        struct region *r = &regions[i];
        long off = pattern_check(r->p, r->len, r->seed);
        CHECK(off < 0, "%s at %p: content differs at offset %ld", r->name, (void *)r->p, off);
    }
    CHECK(maps_has(regions[3].p, regions[3].len, "r--p"), "ro-3pages at %p: not r--p in maps", (void *)regions[3].p);
    CHECK(maps_has(regions[4].p, regions[4].len, "r-xp"), "rx-1page at %p: not r-xp in maps", (void *)regions[4].p);
    CHECK(pattern_check(guarded, PAGE, 21) < 0, "guarded page 0 differs");
    CHECK(pattern_check(guarded + 2 * PAGE, PAGE, 22) < 0, "guarded page 2 differs");
    CHECK(maps_has(guarded + PAGE, PAGE, "---p"), "guard page %p: not ---p in maps", (void *)(guarded + PAGE));
    CHECK(maps_has(reserved, 16 * PAGE, "---p"), "reservation %p: not ---p in maps", (void *)reserved);

    /* Untouched pages should still be untouched (not resident): report, do not fail,
     * since a faithful restart may legitimately fault a few in. */
    unsigned char *vec = malloc(BIG / PAGE);
    if (vec && mincore(big, BIG, vec) == 0) {
        size_t resident = 0;
        for (size_t pg = 0; pg < BIG / PAGE; pg++)
            resident += vec[pg] & 1;
        test_msg("big region: %zu of %lu pages resident (touched %lu)", resident, BIG / PAGE,
                 (BIG / PAGE + BIG_STRIDE - 1) / BIG_STRIDE);
    }

    for (size_t pg = 0; pg < BIG / PAGE; pg++) {
        char *page = big + pg * PAGE;
        if (pg % BIG_STRIDE == 0) {
            long off = pattern_check(page, PAGE, 1000 + pg);
            CHECK(off < 0, "big page %zu: content differs at offset %ld", pg, off);
        } else {
            for (size_t b = 0; b < PAGE; b += 8)
                CHECK(*(uint64_t *)(page + b) == 0, "big page %zu (never touched): not zero at %zu", pg, b);
        }
    }
    CHECK(pattern_check(small, small_len & ~7UL, 31) < 0, "malloc(%zu) content differs", small_len);
    CHECK(pattern_check(large, large_len, 32) < 0, "malloc(%zu) content differs", large_len);
    CHECK(pattern_check(brk_area, 8 * PAGE, 41) < 0, "sbrk area content differs");
    CHECK(sbrk(0) == brk_end, "brk moved: %p, was %p", sbrk(0), brk_end);

    /* brk still grows, and the new memory is usable and zero */
    char *more = sbrk(16 * PAGE);
    CHECK(more != (void *)-1, "sbrk after restart: %s", strerror(errno));
    CHECK(more == brk_end, "sbrk returned %p, expected %p", (void *)more, brk_end);
    for (size_t b = 0; b < 16 * PAGE; b++)
        CHECK(more[b] == 0, "new brk memory not zero at %zu", b);
    pattern_fill(more, 16 * PAGE, 42);
    CHECK(pattern_check(more, 16 * PAGE, 42) < 0, "new brk memory does not hold data");
    void *m = malloc(1 << 16);
    CHECK(m != NULL, "malloc after restart failed");
    free(m);
    pass();
}
