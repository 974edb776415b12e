/*
 * deleted_sparse: deleted files with holes. "big" is 3 GiB with 64 KiB of data at 0, 4 KiB at
 * 1 GiB and 100 bytes at its very end; "empty" is 1 GiB of hole only. Both are open, unlinked;
 * a child shares "big" (fork) and opens it again through /proc/self/fd. After restart: the same
 * size, the same allocated blocks, the same data stretches (SEEK_DATA/SEEK_HOLE) and bytes, in
 * the parent and the child; "empty" has no block.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define GIB (1LL << 30)
static const long long offsets[] = {0, GIB, 3 * GIB - 100};
static const long long lengths[] = {64 << 10, 4096, 100};
static char layout[256];

/* "start-end,start-end,..." of the file's data stretches */
static void stretches(int fd, char *out, size_t size)
{
    out[0] = 0;
    off_t at = 0, end;
    while ((at = lseek(fd, at, SEEK_DATA)) >= 0) {
        end = lseek(fd, at, SEEK_HOLE);
        snprintf(out + strlen(out), size - strlen(out), "%lld-%lld,", (long long)at, (long long)end);
        at = end;
    }
}

static void check(int fd, const char *who, long long blocks)
{
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 3 * GIB && st.st_nlink == 0, "%s: size %lld, %lu links", who,
          (long long)st.st_size, (unsigned long)st.st_nlink);
    CHECK(st.st_blocks == blocks, "%s: %lld blocks, were %lld", who, (long long)st.st_blocks, blocks);
    char now[256];
    stretches(fd, now, sizeof(now));
    CHECK(strcmp(now, layout) == 0, "%s: data at %s, was at %s", who, now, layout);
    for (int i = 0; i < 3; i++) {
        char *buf = malloc(lengths[i]);
        CHECK(pread(fd, buf, lengths[i], offsets[i]) == lengths[i], "%s: pread: %s", who, strerror(errno));
        CHECK(pattern_check(buf, lengths[i], i + 1) < 0, "%s: the data at %lld differs", who, offsets[i]);
        free(buf);
    }
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int big = open("big", O_RDWR | O_CREAT | O_EXCL, 0600), empty = open("empty", O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(big >= 0 && empty >= 0, "open: %s", strerror(errno));
    for (int i = 0; i < 3; i++) {
        char *buf = malloc(lengths[i]);
        pattern_fill(buf, lengths[i], i + 1);
        CHECK(pwrite(big, buf, lengths[i], offsets[i]) == lengths[i], "pwrite: %s", strerror(errno));
        free(buf);
    }
    CHECK(ftruncate(empty, GIB) == 0 && unlink("big") == 0 && unlink("empty") == 0, "setup: %s", strerror(errno));
    stretches(big, layout, sizeof(layout));
    struct stat st;
    CHECK(fstat(big, &st) == 0, "fstat: %s", strerror(errno));
    long long blocks = st.st_blocks;
    check(big, "before", blocks);

    int go[2];
    CHECK(pipe(go) == 0, "pipe: %s", strerror(errno));
    pid_t c = fork();
    if (c == 0) {
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(go[1]);
        char path[64], b;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", big);
        int own = open(path, O_RDONLY);
        CHECK(own >= 0, "child: open: %s", strerror(errno));
        CHECK(read(go[0], &b, 1) == 1, "child read: %s", strerror(errno));
        check(big, "child", blocks);
        check(own, "child's own", blocks);
        _exit(0);
    }
    CHECK(c > 0, "fork: %s", strerror(errno));
    close(go[0]);

    test_ready();
    test_waitsig();

    check(big, "parent", blocks);
    CHECK(fstat(empty, &st) == 0 && st.st_size == GIB && st.st_blocks == 0, "empty: size %lld, %lld blocks",
          (long long)st.st_size, (long long)st.st_blocks);
    CHECK(write(go[1], "x", 1) == 1, "write: %s", strerror(errno));
    int ws;
    CHECK(waitpid(c, &ws, 0) == c && WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the child failed (0x%x)", ws);
    pass();
}
