/*
 * hugetlb: memory in 2 MiB huge pages as a database's buffer pool uses it.
 *
 *   private   MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB of 3 huge pages: the first and the last
 *             written, the middle never touched; inherited by the child, which writes the first
 *             again (its own copy now) and leaves the last shared with the parent
 *   shared    MAP_SHARED|MAP_ANONYMOUS|MAP_HUGETLB of 1 huge page, inherited by the child: one
 *             object, each writes a counter the other reads
 *   memfd     memfd_create(MFD_HUGETLB) of 2 huge pages, its descriptor kept: mapped MAP_SHARED
 *             (first page written) and MAP_PRIVATE (its second page written, a private copy)
 *
 * Before READY each mapping's page size (smaps KernelPageSize) is 2048 kB. After SIGTERM: the
 * same page sizes and devices, every byte as written, untouched pages zero, the private pages
 * private (the parent's first page is the parent's, the child's its own), a write to the shared
 * mapping seen by the other process, and the memfd's shared page read back through its fd.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define HUGE (2UL << 20)

static char *priv, *shared, *mshared, *mpriv;
static int mfd;

/* KernelPageSize of the mapping at p, in kB, from /proc/self/smaps. */
static long page_kb(void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    CHECK(f != NULL, "open smaps: %s", strerror(errno));
    char line[512];
    int in = 0;
    long kb = -1;
    while (fgets(line, sizeof(line), f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx ", &s, &e) == 2)   /* a mapping's header line */
            in = (unsigned long)p >= s && (unsigned long)p < e;
        if (in && sscanf(line, "KernelPageSize: %ld kB", &kb) == 1)
            break;
    }
    fclose(f);
    return kb;
}

static void check_sizes(const char *who)
{
    char *all[] = {priv, shared, mshared, mpriv};
    for (int i = 0; i < 4; i++)
        CHECK(page_kb(all[i]) == 2048, "%s: mapping %d at %p has KernelPageSize %ld kB, want 2048", who, i,
              (void *)all[i], page_kb(all[i]));
}

static void check_zero(const char *p, size_t len, const char *what)
{
    for (size_t i = 0; i < len; i += 512)
        CHECK(p[i] == 0, "%s: byte %zu is %d, want 0 (never written)", what, i, p[i]);
}

static void check_common(const char *who, uint64_t first_seed)
{
    check_sizes(who);
    CHECK(pattern_check(priv, HUGE, first_seed) < 0, "%s: the private first huge page differs", who);
    check_zero(priv + HUGE, HUGE, "the private middle huge page");
    CHECK(pattern_check(priv + 2 * HUGE, HUGE, 3) < 0, "%s: the private last huge page differs", who);
    CHECK(pattern_check(mshared, HUGE, 5) < 0, "%s: the memfd's shared first page differs", who);
    CHECK(pattern_check(mpriv + HUGE, HUGE, 6) < 0, "%s: the memfd's private copy differs", who);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int flags = MAP_ANONYMOUS | MAP_HUGETLB;
    priv = mmap(NULL, 3 * HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | flags, -1, 0);
    shared = mmap(NULL, HUGE, PROT_READ | PROT_WRITE, MAP_SHARED | flags, -1, 0);
    CHECK(priv != MAP_FAILED && shared != MAP_FAILED, "mmap MAP_HUGETLB: %s (huge pages reserved?)", strerror(errno));
    pattern_fill(priv, HUGE, 1);
    pattern_fill(priv + 2 * HUGE, HUGE, 3);
    mfd = memfd_create("amber hugetlb", MFD_HUGETLB | MFD_CLOEXEC);
    CHECK(mfd >= 0, "memfd_create MFD_HUGETLB: %s", strerror(errno));
    CHECK(ftruncate(mfd, 2 * HUGE) == 0, "ftruncate: %s", strerror(errno));
    mshared = mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    mpriv = mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
    CHECK(mshared != MAP_FAILED && mpriv != MAP_FAILED, "mmap memfd: %s", strerror(errno));
    pattern_fill(mshared, HUGE, 5);
    pattern_fill(mpriv + HUGE, HUGE, 6);   /* a private copy: the memfd's second page stays zero */
    volatile uint64_t *counter = (uint64_t *)shared;
    int ready[2];
    CHECK(pipe2(ready, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    pid_t child = fork();
    CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        pattern_fill(priv, HUGE, 2);   /* the child's own copy of the first page */
        counter[1] = 77;
        close(ready[0]);
        close(ready[1]);
        while (!test_stop)
            pause();
        check_common("child", 2);
        while (counter[0] != 42)   /* the parent's write after restart */
            usleep(1000);
        counter[1] = 78;
        _exit(0);
    }
    close(ready[1]);
    char c;
    CHECK(read(ready[0], &c, 1) == 0, "the child's pipe");
    close(ready[0]);
    CHECK(counter[1] == 77, "the child's write to the shared huge page is not seen: %lu", (unsigned long)counter[1]);
    check_sizes("parent");
    test_ready();
    test_waitsig();
    check_common("parent", 1);
    static char back[4096];
    CHECK(pread(mfd, back, sizeof(back), 0) == sizeof(back) && pattern_check(back, sizeof(back), 5) < 0,
          "the memfd read through its descriptor differs");
    CHECK(pread(mfd, back, sizeof(back), HUGE) == sizeof(back) && back[0] == 0 && back[4095] == 0,
          "the memfd's second page is not zero: the private copy leaked into it");
    CHECK(counter[1] == 77, "shared: counter %lu, want the child's 77", (unsigned long)counter[1]);
    kill(child, SIGTERM);
    counter[0] = 42;
    int status;
    CHECK(waitpid(child, &status, 0) == child, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed (status 0x%x)", status);
    CHECK(counter[1] == 78, "shared: the child's write after restart is not seen (%lu)", (unsigned long)counter[1]);
    pass();
}
