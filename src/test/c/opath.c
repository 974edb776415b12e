/*
 * opath: O_PATH descriptors, which hold a name without opening what it names. The parent holds
 * a symbolic link (O_NOFOLLOW), a dangling symbolic link, a symbolic link that it then removes
 * (owner 1234:5678, a fixed modification time), a FIFO, a directory and a regular file, all by
 * O_PATH; a child it forks shares them. After restart, in both: each descriptor is O_PATH, names
 * a node of its type, the links read as before, the removed link has no name and its owner and
 * time, its name does not exist again, and the FIFO (never opened) has no reader or writer.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { LINK, DANGLING, REMOVED, FIFO, DIR_, FILE_, N };
static const char *names[N] = {"link", "dangling", "removed", "fifo", "dir", "file"};
static const mode_t types[N] = {S_IFLNK, S_IFLNK, S_IFLNK, S_IFIFO, S_IFDIR, S_IFREG};
static const char *targets[N] = {"file", "nowhere/at/all", "dir/../file"};
static int fds[N];

static void check_all(const char *who)
{
    for (int i = 0; i < N; i++) {
        int fl = fcntl(fds[i], F_GETFL);
        CHECK(fl >= 0 && (fl & O_PATH), "%s: %s: flags 0%o, not O_PATH", who, names[i], fl);
        struct stat st;
        CHECK(fstatat(fds[i], "", &st, AT_EMPTY_PATH) == 0, "%s: fstat %s: %s", who, names[i], strerror(errno));
        CHECK((st.st_mode & S_IFMT) == types[i], "%s: %s: type 0%o, want 0%o", who, names[i], st.st_mode & S_IFMT,
              types[i]);
        if (types[i] == S_IFLNK) {
            char buf[PATH_MAX];
            ssize_t n = readlinkat(fds[i], "", buf, sizeof(buf) - 1);
            CHECK(n > 0, "%s: readlinkat %s: %s", who, names[i], strerror(errno));
            buf[n] = 0;
            CHECK(strcmp(buf, targets[i]) == 0, "%s: %s points to \"%s\", want \"%s\"", who, names[i], buf, targets[i]);
        }
        if (i == REMOVED) {
            CHECK(st.st_nlink == 0, "%s: the removed link has %lu links", who, (unsigned long)st.st_nlink);
            CHECK(st.st_uid == 1234 && st.st_gid == 5678, "%s: removed link owner %u:%u", who, st.st_uid, st.st_gid);
            CHECK(st.st_mtim.tv_sec == 777777, "%s: removed link mtime %ld", who, (long)st.st_mtim.tv_sec);
        }
    }
    CHECK(access("removed", F_OK) == -1 && errno == ENOENT, "%s: the removed link's name exists again", who);
    /* a FIFO held by O_PATH only: opening it for writing without blocking finds no reader */
    CHECK(open("fifo", O_WRONLY | O_NONBLOCK) == -1 && errno == ENXIO, "%s: the FIFO has a reader", who);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    CHECK(close(open("file", O_CREAT | O_WRONLY, 0640)) == 0, "file: %s", strerror(errno));
    CHECK(mkdir("dir", 0750) == 0 && mkfifo("fifo", 0600) == 0, "mkdir/mkfifo: %s", strerror(errno));
    for (int i = 0; i < 3; i++)
        CHECK(symlink(targets[i], names[i]) == 0, "symlink %s: %s", names[i], strerror(errno));
    CHECK(lchown("removed", 1234, 5678) == 0, "lchown: %s", strerror(errno));
    struct timespec times[2] = {{.tv_sec = 5000}, {.tv_sec = 777777}};
    CHECK(utimensat(AT_FDCWD, "removed", times, AT_SYMLINK_NOFOLLOW) == 0, "utimensat: %s", strerror(errno));
    for (int i = 0; i < N; i++) {
        fds[i] = open(names[i], O_PATH | O_NOFOLLOW);
        CHECK(fds[i] >= 0, "open %s: %s", names[i], strerror(errno));
    }
    CHECK(unlink("removed") == 0, "unlink: %s", strerror(errno));
    check_all("before");

    int go[2];
    CHECK(pipe(go) == 0, "pipe: %s", strerror(errno));
    pid_t c = fork();
    if (c == 0) {
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(go[1]);
        char b;
        CHECK(read(go[0], &b, 1) == 1, "child read: %s", strerror(errno));
        check_all("child");
        _exit(0);
    }
    CHECK(c > 0, "fork: %s", strerror(errno));
    close(go[0]);

    test_ready();
    test_waitsig();

    check_all("parent");
    CHECK(write(go[1], "x", 1) == 1, "write: %s", strerror(errno));
    int ws;
    CHECK(waitpid(c, &ws, 0) == c && WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the child failed (status 0x%x)", ws);
    pass();
}
