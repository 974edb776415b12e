/*
 * pipe_reopened: one pipe, each end opened a second time through /proc/self/fd (a new open file
 * description of the same end, as the kernel makes it), and each end dup'ed. The first write end
 * and its dup are O_NONBLOCK, the reopened write end is not; the reopened read end is O_NONBLOCK,
 * the first is not. After restart: the flags are as they were, setting one description's flags
 * leaves the other's alone while a dup follows its original, and the bytes written before are
 * read whole, then end of file once every write end is closed.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int reopen(int fd, int flags)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int r = open(path, flags);
    CHECK(r >= 0, "open %s: %s", path, strerror(errno));
    return r;
}

static int nonblock(int fd)
{
    return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int p[2];
    CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
    int r2 = reopen(p[0], O_RDONLY | O_NONBLOCK), w2 = reopen(p[1], O_WRONLY);
    int rdup = dup(p[0]), wdup = dup(p[1]);
    CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0, "F_SETFL: %s", strerror(errno));
    CHECK(write(p[1], "through the first ", 18) == 18 && write(w2, "and the second", 14) == 14, "write: %s",
          strerror(errno));

    test_ready();
    test_waitsig();

    CHECK(!nonblock(p[0]) && nonblock(r2) && !nonblock(rdup), "read ends: O_NONBLOCK %d %d %d, want 0 1 0",
          nonblock(p[0]), nonblock(r2), nonblock(rdup));
    CHECK(nonblock(p[1]) && !nonblock(w2) && nonblock(wdup), "write ends: O_NONBLOCK %d %d %d, want 1 0 1",
          nonblock(p[1]), nonblock(w2), nonblock(wdup));
    CHECK(fcntl(r2, F_SETFL, 0) == 0 && fcntl(p[0], F_SETFL, O_NONBLOCK) == 0, "F_SETFL: %s", strerror(errno));
    CHECK(nonblock(rdup) && !nonblock(r2), "after F_SETFL on both read ends: dup %d, reopened %d, want 1 0",
          nonblock(rdup), nonblock(r2));
    char got[64] = "";
    CHECK(read(r2, got, sizeof(got) - 1) == 32 && strcmp(got, "through the first and the second") == 0,
          "read '%s'", got);
    close(p[1]);
    close(w2);
    close(wdup);
    CHECK(read(p[0], got, sizeof(got)) == 0, "no end of file once every write end is closed");
    pass();
}
