/*
 * shmem_private: private mappings of a shared memory object, as a program that snapshots a
 * shared buffer copy-on-write does. Shared anonymous memory of 6 pages (page i holds 100 + i) is
 * reopened through /proc/self/map_files and mapped MAP_PRIVATE at offset 1 page (5 pages); the
 * parent writes its private page 1, then forks; the child writes its private page 3. A
 * MAP_DROPPABLE page holds data too, and a MADV_WIPEONFORK page.
 *
 * After SIGTERM (the parent writes page 4 of the object, then tells the child): in each process
 * the private pages it wrote keep their private values, the others show the object's current
 * contents (the new page 4 included), the shared mapping is shared with the other process, the
 * droppable page is zero or its value (the kernel may drop it at any time) and the wipe-on-fork
 * page keeps its value in the parent (zero in the child, which forked after writing it).
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

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif

#define PAGE 4096
#define PAGES 6

static volatile int *shared, *priv;

static int at(volatile int *base, int page) { return base[page * PAGE / sizeof(int)]; }

/* The private mapping starts at object page 1: its page p is object page p + 1. */
static void check(const char *who, int page1, int page3)
{
    int want[] = {101, page1, 103, page3};
    for (int p = 0; p < 4; p++)
        CHECK(at(priv, p) == want[p], "%s: private page %d reads %d, want %d", who, p, at(priv, p), want[p]);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    shared = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED, "mmap shared: %s", strerror(errno));
    for (int i = 0; i < PAGES; i++)
        shared[i * PAGE / sizeof(int)] = 100 + i;
    char path[128];
    snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)shared,
             (unsigned long)shared + PAGES * PAGE);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
    priv = mmap(NULL, (PAGES - 1) * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PAGE);
    CHECK(priv != MAP_FAILED, "mmap private: %s", strerror(errno));
    close(fd);
    priv[1 * PAGE / sizeof(int)] = 1001;   /* the parent's copy of object page 2 */
    volatile int *drop = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0);
    volatile int *wipe = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(drop != MAP_FAILED && wipe != MAP_FAILED, "mmap: %s", strerror(errno));
    CHECK(madvise((void *)wipe, PAGE, MADV_WIPEONFORK) == 0, "madvise: %s", strerror(errno));
    drop[0] = 55;
    wipe[0] = 66;
    pid_t child = fork();
    CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        priv[1 * PAGE / sizeof(int)] = 2002;   /* the child's own copy, over the one it inherited */
        priv[3 * PAGE / sizeof(int)] = 2004;
        while (!test_stop)
            pause();
        while (at(shared, 4) != 444)
            usleep(1000);
        check("child", 2002, 2004);
        CHECK(at(priv, 4) == 105, "child: private page 4 reads %d, want 105", at(priv, 4));
        CHECK(wipe[0] == 0, "child: the wipe-on-fork page reads %d", wipe[0]);
        shared[5 * PAGE / sizeof(int)] = 555;
        _exit(0);
    }
    test_ready();
    test_waitsig();
    CHECK(drop[0] == 55 || drop[0] == 0, "the droppable page reads %d, want 55 or 0", drop[0]);
    CHECK(wipe[0] == 66, "the wipe-on-fork page reads %d, want 66", wipe[0]);
    check("parent before", 1001, 104);
    shared[4 * PAGE / sizeof(int)] = 444;
    check("parent", 1001, 444);
    kill(child, SIGTERM);
    int status;
    CHECK(waitpid(child, &status, 0) == child, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed (status 0x%x)", status);
    CHECK(at(shared, 5) == 555, "the child's write to the shared mapping is not seen");
    CHECK(at(priv, 4) == 555, "private page 4 does not follow the object (%d)", at(priv, 4));
    pass();
}
