/*
 * mem_large: argv[1] MiB (default 1024) of private anonymous memory, every page written, so that
 * a checkpoint takes long enough to be interrupted. Verifies the content after SIGTERM.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096UL

int main(int argc, char **argv)
{
    test_init(argc, argv);
    size_t len = (size_t)(argc > 1 ? atol(argv[1]) : 1024) << 20;
    uint64_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED, "mmap %zu: %s", len, strerror(errno));
    /* one distinct word per page is enough to catch a lost or misplaced page, and is quick */
    for (size_t pg = 0; pg < len / PAGE; pg++) {
        memset((char *)m + pg * PAGE, (int)(pg & 0xff), PAGE);
        m[pg * PAGE / 8] = pattern_word(7, pg);
    }
    test_ready();
    test_waitsig();
    for (size_t pg = 0; pg < len / PAGE; pg++) {
        CHECK(m[pg * PAGE / 8] == pattern_word(7, pg), "page %zu: first word differs", pg);
        const unsigned char *b = (const unsigned char *)m + pg * PAGE;
        CHECK(b[PAGE - 1] == (pg & 0xff) && b[PAGE / 2] == (pg & 0xff), "page %zu: content differs", pg);
    }
    pass();
}
