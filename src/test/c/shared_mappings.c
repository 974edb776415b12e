/*
 * shared_mappings: one shared memory object mapped by several processes (or twice by one) must
 * stay one object across a checkpoint and restart: what any process writes, every other sees.
 *
 *   shared_mappings MODE
 *
 *   counters   a /dev/shm file, mapped MAP_SHARED, unlinked and closed, then 3 children that
 *              increment their own counter and a total in the shared page with atomics, as test
 *              frameworks keep their result counters; the file is 3 pages, 2 mapped (the third,
 *              unmapped, holds data too), mode 0640
 *   offsets    a deleted file of 6 pages, its descriptor kept open (and inherited): the parent maps
 *              pages 0-3 and again pages 0-1 elsewhere, the child maps pages 2-5 through the fd
 *   linked     a regular file still linked, mapped MAP_SHARED by the parent and 2 children
 *   sysv       a shmget segment attached by the parent, inherited by 2 children
 *   memfd      a memfd of 3 pages, 2 mapped, its descriptor closed, inherited by 2 children
 *   anon       MAP_SHARED|MAP_ANONYMOUS, its last page made read-only (two vmas of one object),
 *              inherited by 2 children
 *   single     a deleted /dev/shm file mapped shared by this one process only
 *
 * The shared "control" page carries the protocol after restart (SIGTERM to the parent): the
 * parent writes its view's dev:inode and a generation; each child checks its own mapping names
 * the same object, acknowledges, and waits for every other child's acknowledgement; the parent
 * waits for all of them. Contents written before the checkpoint are checked everywhere.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAXKIDS 3
#define SEED 7100

struct ctl {
    uint64_t magic;
    uint64_t stop, total, gen, bad;
    uint64_t slot[MAXKIDS];
    uint64_t ack[MAXKIDS];
    char object[64];        /* dev:inode of the parent's mapping, after restart */
};

static const char *mode;
static int kids = 2, fd = -1, shmid = -1, results[2];
static char path[128];
static pid_t child[MAXKIDS], parent;
static struct ctl *ctl;       /* this process's view of the control page */
static char *base;            /* the parent's first mapping */
static size_t base_len;

static uint64_t load(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void store(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }

/* dev:inode and the rest of the /proc/self/maps line of the mapping holding addr. */
static int maps_line(const void *addr, char *object, char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f, "/proc/self/maps: %s", strerror(errno));
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f)) {
        unsigned long s, e, off, ino;
        char dev[32];
        int n = 0;
        if (sscanf(line, "%lx-%lx %*s %lx %31s %lu %n", &s, &e, &off, dev, &ino, &n) < 5)
            continue;
        if ((unsigned long)addr >= s && (unsigned long)addr < e) {
            snprintf(object, 64, "%s:%lu", dev, ino);
            if (name) {
                line[strcspn(line, "\n")] = 0;
                snprintf(name, 256, "%s", line + n);
            }
            found = 1;
        }
    }
    fclose(f);
    return found;
}

/* /proc/self/map_files/START-END of the mapping holding addr (a path to the mapped object). */
static void map_file(const void *addr, char *out)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) == 2 && (unsigned long)addr >= s && (unsigned long)addr < e) {
            snprintf(out, 128, "/proc/self/map_files/%lx-%lx", s, e);
            fclose(f);
            return;
        }
    }
    fail("no mapping at %p", addr);
}

static char *map_fd(int f, size_t pages, off_t page)
{
    char *m = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, f, page * PAGE);
    CHECK(m != MAP_FAILED, "%s: mmap %zu pages at page %ld: %s", mode, pages, (long)page, strerror(errno));
    return m;
}

/* A file of `pages` pages filled with the pattern; its fd. */
static int make_file(const char *where, size_t pages, mode_t perms)
{
    int f = open(where, O_RDWR | O_CREAT | O_EXCL, perms);
    CHECK(f >= 0, "create %s: %s", where, strerror(errno));
    CHECK(fchmod(f, perms) == 0, "fchmod: %s", strerror(errno));
    CHECK(ftruncate(f, pages * PAGE) == 0, "ftruncate: %s", strerror(errno));
    char *m = map_fd(f, pages, 0);
    pattern_fill(m, pages * PAGE, SEED);
    munmap(m, pages * PAGE);
    return f;
}

/* The pattern, from file page `first` on, is at p for `pages` pages (the control page skipped). */
static void check_pattern(const char *what, const char *p, size_t first, size_t pages, size_t ctl_page)
{
    for (size_t i = 0; i < pages; i++) {
        if (first + i == ctl_page)
            continue;
        const char *want = NULL;
        static char buf[PAGE];
        pattern_fill(buf, PAGE, SEED + 1000 + first + i);   /* page-seeded: any page checks alone */
        want = buf;
        CHECK(memcmp(p + i * PAGE, want, PAGE) == 0, "%s: %s: page %zu of the object differs", mode, what, first + i);
    }
}

/* Fills every page with its own pattern (so a page at the wrong offset shows). */
static void fill_pages(char *p, size_t first, size_t pages)
{
    for (size_t i = 0; i < pages; i++)
        pattern_fill(p + i * PAGE, PAGE, SEED + 1000 + first + i);
}

/* A child whose parent is gone (failed, or killed by the harness) ends too. */
static void orphaned(uint64_t n)
{
    if ((n & 4095) == 0 && getppid() != parent)
        _exit(2);
}

static void child_protocol(int k)
{
    uint64_t mine = 0;
    if (!strcmp(mode, "counters")) {
        while (!load(&ctl->stop)) {
            __atomic_add_fetch(&ctl->slot[k], 1, __ATOMIC_SEQ_CST);
            __atomic_add_fetch(&ctl->total, 1, __ATOMIC_SEQ_CST);
            mine++;
            orphaned(mine);
            if (load(&ctl->gen) == 1 && !load(&ctl->ack[k]))
                break;
        }
    } else {
        while (load(&ctl->gen) != 1) {
            orphaned(0);
            usleep(1000);
        }
    }
    if (!strcmp(mode, "offsets"))
        ((char *)ctl)[3 * PAGE + 17] = 'C';   /* file page 5, which the parent does not map */
    else if (strcmp(mode, "counters") != 0)
        check_pattern("the child's mapping", base, 0, base_len / PAGE, 0);
    char object[64];
    CHECK(maps_line(ctl, object, NULL), "child %d: no mapping of the control page", k);
    if (strcmp(object, ctl->object) != 0) {
        store(&ctl->bad, 1);
        fail("%s: child %d maps %s, the parent %s: not one object", mode, k, object, ctl->object);
    }
    store(&ctl->ack[k], 1);
    for (int i = 0; i < kids; i++) {   /* every other child's write must reach this one */
        int64_t deadline = now_ns(1) + 10000000000LL;
        while (!load(&ctl->ack[i])) {
            CHECK(now_ns(1) < deadline, "%s: child %d never saw child %d's acknowledgement", mode, k, i);
            if (!strcmp(mode, "counters")) {
                __atomic_add_fetch(&ctl->slot[k], 1, __ATOMIC_SEQ_CST);
                __atomic_add_fetch(&ctl->total, 1, __ATOMIC_SEQ_CST);
                mine++;
            } else {
                usleep(1000);
            }
        }
    }
    if (!strcmp(mode, "counters")) {
        while (!load(&ctl->stop)) {
            __atomic_add_fetch(&ctl->slot[k], 1, __ATOMIC_SEQ_CST);
            __atomic_add_fetch(&ctl->total, 1, __ATOMIC_SEQ_CST);
            mine++;
            orphaned(mine);
        }
        CHECK(load(&ctl->slot[k]) == mine, "child %d: its counter reads %lu in the shared page, it counted %lu",
              k, (unsigned long)load(&ctl->slot[k]), (unsigned long)mine);
    }
    uint64_t report[2] = {k, mine};
    CHECK(write(results[1], report, sizeof(report)) == sizeof(report), "child %d: report: %s", k, strerror(errno));
    _exit(0);
}

/* The child's own view, where it differs from the parent's. */
static void child_setup(int k)
{
    if (!strcmp(mode, "offsets")) {
        char *c = map_fd(fd, 4, 2);   /* file pages 2-5; page 2 is the control page */
        munmap(base, base_len);       /* so the control page is reached only through c */
        ctl = (struct ctl *)c;
        check_pattern("child's pages 2-5", c, 2, 4, 2);
    }
    (void)k;
}

static void start_children(void)
{
    CHECK(pipe(results) == 0, "pipe: %s", strerror(errno));
    parent = getpid();
    for (int k = 0; k < kids; k++) {
        child[k] = fork();
        CHECK(child[k] >= 0, "fork: %s", strerror(errno));
        if (child[k] == 0) {
            signal(SIGTERM, SIG_DFL);
            close(results[0]);
            child_setup(k);
            child_protocol(k);
        }
    }
    close(results[1]);
}

static void setup(void)
{
    if (!strcmp(mode, "counters") || !strcmp(mode, "single")) {
        snprintf(path, sizeof(path), "/dev/shm/amber-%s-%d", mode, getpid());
        int f = make_file(path, 3, 0640);
        base_len = 2 * PAGE;
        base = map_fd(f, 2, 0);
        fill_pages(base, 0, 2);
        char *rest = map_fd(f, 1, 2);
        fill_pages(rest, 2, 1);
        munmap(rest, PAGE);
        CHECK(unlink(path) == 0, "unlink: %s", strerror(errno));
        close(f);
        kids = !strcmp(mode, "counters") ? 3 : 0;
    } else if (!strcmp(mode, "offsets")) {
        snprintf(path, sizeof(path), "%s/amber-offsets-%d", getcwd((char[256]){0}, 256), getpid());
        fd = make_file(path, 6, 0600);
        base_len = 4 * PAGE;
        base = map_fd(fd, 4, 0);
        fill_pages(base, 0, 4);
        char *rest = map_fd(fd, 2, 4);
        fill_pages(rest, 4, 2);
        munmap(rest, 2 * PAGE);
        CHECK(unlink(path) == 0, "unlink: %s", strerror(errno));
        kids = 1;
    } else if (!strcmp(mode, "linked")) {
        snprintf(path, sizeof(path), "shared.dat");
        int f = make_file(path, 4, 0600);
        base_len = 4 * PAGE;
        base = map_fd(f, 4, 0);
        fill_pages(base, 0, 4);
        close(f);
    } else if (!strcmp(mode, "sysv")) {
        shmid = shmget(IPC_PRIVATE, 3 * PAGE, IPC_CREAT | 0600);
        CHECK(shmid >= 0, "shmget: %s", strerror(errno));
        base = shmat(shmid, NULL, 0);
        CHECK(base != (void *)-1, "shmat: %s", strerror(errno));
        base_len = 3 * PAGE;
        fill_pages(base, 0, 3);
    } else if (!strcmp(mode, "memfd")) {
        int f = memfd_create("amber-shared", 0);
        CHECK(f >= 0, "memfd_create: %s", strerror(errno));
        CHECK(ftruncate(f, 3 * PAGE) == 0, "ftruncate: %s", strerror(errno));
        char *all = map_fd(f, 3, 0);
        fill_pages(all, 0, 3);
        munmap(all, 3 * PAGE);
        base_len = 2 * PAGE;
        base = map_fd(f, 2, 0);
        close(f);
    } else if (!strcmp(mode, "anon")) {
        base_len = 3 * PAGE;
        base = mmap(NULL, base_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        CHECK(base != MAP_FAILED, "mmap: %s", strerror(errno));
        fill_pages(base, 0, 3);
        CHECK(mprotect(base + 2 * PAGE, PAGE, PROT_READ) == 0, "mprotect: %s", strerror(errno));
    } else {
        fail("unknown mode %s", mode);
    }
}

/* The control page is the object's page 0, or page 2 for offsets (the one every mapping shares). */
static size_t ctl_page(void) { return !strcmp(mode, "offsets") ? 2 : 0; }

static void check_deleted(const char *name, mode_t perms, off_t size)
{
    char want[200], mf[128];
    snprintf(want, sizeof(want), "%s (deleted)", path);
    CHECK(!strcmp(name, want), "%s: maps names \"%s\", expected \"%s\"", mode, name, want);
    map_file(ctl, mf);
    struct stat st;
    CHECK(stat(mf, &st) == 0, "stat %s: %s", mf, strerror(errno));
    CHECK(st.st_nlink == 0, "%s: the file has %lu links, expected 0 (unlinked)", mode, (unsigned long)st.st_nlink);
    CHECK(st.st_size == size, "%s: the file is %ld bytes, expected %ld", mode, (long)st.st_size, (long)size);
    CHECK((st.st_mode & 07777) == perms, "%s: the file has mode 0%o, expected 0%o", mode, st.st_mode & 07777, perms);
    int f = open(mf, O_RDONLY);
    CHECK(f >= 0, "open %s: %s", mf, strerror(errno));
    static char all[6 * PAGE];
    CHECK(pread(f, all, size, 0) == size, "%s: read the file: %s", mode, strerror(errno));
    close(f);
    check_pattern("the whole file", all, 0, size / PAGE, ctl_page());
}

/* What the parent checks of the object itself, after restart. */
static void parent_checks(const char *name)
{
    if (!strcmp(mode, "counters") || !strcmp(mode, "single")) {
        check_deleted(name, 0640, 3 * PAGE);
        check_pattern("the parent's mapping", base, 0, 2, 0);
    } else if (!strcmp(mode, "offsets")) {
        check_deleted(name, 0600, 6 * PAGE);
        struct stat st;
        char object[64];
        CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0, "offsets: fstat of the open fd: nlink %lu",
              (unsigned long)st.st_nlink);
        snprintf(object, sizeof(object), "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
        CHECK(!strcmp(object, ctl->object), "offsets: the open fd is %s, the mapping %s: not one file", object, ctl->object);
    } else if (!strcmp(mode, "linked")) {
        struct stat st;
        char object[64];
        CHECK(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
        snprintf(object, sizeof(object), "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
        CHECK(!strcmp(object, ctl->object), "linked: the mapping is %s, the file %s", ctl->object, object);
        check_pattern("the parent's mapping", base, 0, 4, 0);
    } else {
        check_pattern("the parent's mapping", base, 0, base_len / PAGE, 0);
    }
    if (!strcmp(mode, "anon")) {   /* the read-only page is a vma of its own, of the same object */
        char object[64];
        CHECK(maps_line(base + 2 * PAGE, object, NULL) && !strcmp(object, ctl->object),
              "anon: the read-only part maps %s, the rest %s: not one object", object, ctl->object);
    }
}

static char *second;   /* offsets: the parent's second mapping of pages 0-1 */

int main(int argc, char **argv)
{
    test_init(argc, argv);
    CHECK(argc == 2, "usage: shared_mappings MODE");
    mode = argv[1];
    setup();
    ctl = (struct ctl *)(base + ctl_page() * PAGE);
    memset(ctl, 0, PAGE);
    ctl->magic = 0xa4be7;
    if (!strcmp(mode, "offsets")) {
        second = map_fd(fd, 2, 0);
        CHECK(second[5] == base[5], "offsets: the second mapping differs");
    }
    start_children();
    if (!strcmp(mode, "counters"))
        while (load(&ctl->total) < 100000)
            usleep(1000);
    test_ready();
    test_waitsig();

    char name[256];
    CHECK(maps_line(ctl, ctl->object, name), "no mapping of the control page");
    parent_checks(name);
    uint64_t before[MAXKIDS];
    for (int k = 0; k < kids; k++)
        before[k] = load(&ctl->slot[k]);
    store(&ctl->gen, 1);
    for (int k = 0; k < kids; k++) {
        int64_t deadline = now_ns(1) + 10000000000LL;
        while (!load(&ctl->ack[k])) {
            CHECK(!load(&ctl->bad), "%s: a child maps another object (see its line)", mode);
            CHECK(now_ns(1) < deadline, "%s: no acknowledgement from child %d: its writes do not reach the parent",
                  mode, k);
            usleep(1000);
        }
    }
    if (!strcmp(mode, "counters")) {
        usleep(100000);
        for (int k = 0; k < kids; k++)
            CHECK(load(&ctl->slot[k]) > before[k], "counters: child %d's counter stays at %lu in the parent's view",
                  k, (unsigned long)before[k]);
    }
    if (!strcmp(mode, "offsets")) {
        base[100] = 'P';
        CHECK(second[100] == 'P', "offsets: a write at one address of the parent is not seen at the other");
        char c;
        CHECK(pread(fd, &c, 1, 5 * PAGE + 17) == 1 && c == 'C', "offsets: the child's write to page 5 is not in the file");
        CHECK(pwrite(fd, "F", 1, 2 * PAGE + 1000) == 1, "pwrite: %s", strerror(errno));
        CHECK(((char *)ctl)[1000] == 'F', "offsets: a write through the fd is not seen in the mapping");
    }
    store(&ctl->stop, 1);
    uint64_t sum = 0, report[2];
    for (int k = 0; k < kids; k++) {
        CHECK(read(results[0], report, sizeof(report)) == sizeof(report), "%s: child report missing", mode);
        CHECK(report[0] < (uint64_t)kids, "bad report");
        if (!strcmp(mode, "counters"))
            CHECK(load(&ctl->slot[report[0]]) == report[1], "counters: child %lu counted %lu, the parent reads %lu",
                  (unsigned long)report[0], (unsigned long)report[1], (unsigned long)load(&ctl->slot[report[0]]));
        sum += load(&ctl->slot[report[0]]);
    }
    for (int k = 0; k < kids; k++) {
        int status;
        CHECK(waitpid(child[k], &status, 0) == child[k], "waitpid: %s", strerror(errno));
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child %d ended with status 0x%x", mode, k, status);
    }
    if (!strcmp(mode, "counters"))
        CHECK(load(&ctl->total) == sum, "counters: total %lu, sum of the children's counters %lu",
              (unsigned long)load(&ctl->total), (unsigned long)sum);
    if (!strcmp(mode, "linked")) {
        int f = open(path, O_RDONLY);
        struct ctl inside;
        CHECK(f >= 0 && pread(f, &inside, sizeof(inside), 0) == sizeof(inside), "read %s", path);
        CHECK(inside.stop == 1 && inside.ack[0] == 1, "linked: the writes through the mapping are not in the file");
        close(f);
        unlink(path);
    }
    if (shmid >= 0)
        shmctl(shmid, IPC_RMID, NULL);
    pass();
}
