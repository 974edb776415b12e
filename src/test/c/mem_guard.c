/*
 * mem_guard: guard regions (madvise MADV_GUARD_INSTALL, Linux 6.13) in an anonymous mapping of
 * six written pages: pages 1 and 4-5 are guards. The checkpoint must not try to read them, and
 * after restart they must still fault on access while the other pages keep their data.
 * Without guard regions in the kernel the target just checks the data.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define MADV_GUARD_INSTALL_ 102

static sigjmp_buf jump;

static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(jump, 1);
}

static int faults(volatile char *p)
{
    if (sigsetjmp(jump, 1))
        return 1;
    (void)*p;
    return 0;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    char *m = mmap(NULL, 6 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
    for (int pg = 0; pg < 6; pg++)
        pattern_fill(m + pg * PAGE, PAGE, 40 + pg);
    int guards = madvise(m + PAGE, PAGE, MADV_GUARD_INSTALL_) == 0
                 && madvise(m + 4 * PAGE, 2 * PAGE, MADV_GUARD_INSTALL_) == 0;
    CHECK(guards || errno == EINVAL, "madvise(MADV_GUARD_INSTALL): %s", strerror(errno));
    signal(SIGSEGV, on_segv);

    test_ready();
    test_waitsig();

    for (int pg = 0; pg < 6; pg++) {
        int guard = guards && (pg == 1 || pg >= 4);
        CHECK(faults(m + pg * PAGE) == guard, "page %d: %s", pg, guard ? "the guard is gone" : "faults");
        if (!guard)
            CHECK(pattern_check(m + pg * PAGE, PAGE, 40 + pg) < 0, "page %d lost its data", pg);
    }
    pass();
}
