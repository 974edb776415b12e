/*
 * linked_elsewhere: a file open under a name that was removed while another name (a hard link,
 * "other") remains. The parent holds it read-write at offset 2, its child shares that descriptor
 * (fork), and the child also opens it read-only through /proc/self/fd (an open file description
 * of its own). After restart: one inode, the one "other" names, with one link; the offset is 2 and
 * shared (the parent's write moves the child's offset too), what the parent writes reads back
 * through "other" and through the child's own descriptor, and the removed name stays removed.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct stat before;

static void same_file(int fd, const char *who)
{
    struct stat st, other;
    CHECK(fstat(fd, &st) == 0 && stat("other", &other) == 0, "%s: stat: %s", who, strerror(errno));
    CHECK(st.st_ino == before.st_ino && st.st_dev == before.st_dev, "%s: another file after restart", who);
    CHECK(st.st_ino == other.st_ino && st.st_nlink == 1, "%s: not the file \"other\" names (%lu links)", who,
          (unsigned long)st.st_nlink);
    CHECK(access("name", F_OK) == -1 && errno == ENOENT, "%s: the removed name exists again", who);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int fd = open("name", O_RDWR | O_CREAT | O_EXCL, 0640);
    CHECK(fd >= 0 && write(fd, "hello", 5) == 5, "name: %s", strerror(errno));
    CHECK(link("name", "other") == 0 && unlink("name") == 0, "link/unlink: %s", strerror(errno));
    CHECK(lseek(fd, 2, SEEK_SET) == 2 && fstat(fd, &before) == 0, "lseek: %s", strerror(errno));

    int go[2], done[2];
    CHECK(pipe(go) == 0 && pipe(done) == 0, "pipe: %s", strerror(errno));
    pid_t c = fork();
    if (c == 0) {
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char path[64], b;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        int own = open(path, O_RDONLY);
        CHECK(own >= 0, "child: open %s: %s", path, strerror(errno));
        CHECK(read(go[0], &b, 1) == 1, "child read: %s", strerror(errno));   /* the parent has written */
        same_file(fd, "child");
        same_file(own, "child's own");
        CHECK(lseek(fd, 0, SEEK_CUR) == 4, "child: shared offset %ld, want 4", (long)lseek(fd, 0, SEEK_CUR));
        char got[8] = "";
        CHECK(pread(own, got, 5, 0) == 5 && memcmp(got, "heXYo", 5) == 0, "child reads \"%s\"", got);
        CHECK(lseek(own, 0, SEEK_CUR) == 0, "child: own offset moved");
        CHECK(write(done[1], "y", 1) == 1, "child write: %s", strerror(errno));
        _exit(0);
    }
    CHECK(c > 0, "fork: %s", strerror(errno));

    test_ready();
    test_waitsig();

    same_file(fd, "parent");
    CHECK(lseek(fd, 0, SEEK_CUR) == 2, "parent: offset %ld, want 2", (long)lseek(fd, 0, SEEK_CUR));
    CHECK(write(fd, "XY", 2) == 2, "write: %s", strerror(errno));
    char got[8] = "";
    int other = open("other", O_RDONLY);
    CHECK(other >= 0 && read(other, got, 5) == 5 && memcmp(got, "heXYo", 5) == 0, "\"other\" reads \"%s\"", got);
    CHECK(write(go[1], "x", 1) == 1, "write: %s", strerror(errno));
    char b;
    CHECK(read(done[0], &b, 1) == 1, "read: %s", strerror(errno));
    int ws;
    CHECK(waitpid(c, &ws, 0) == c && WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the child failed (status 0x%x)", ws);
    pass();
}
