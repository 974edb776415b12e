/*
 * deleted_dirs: directories and a FIFO removed while in use. The working directory "work"
 * (mode 0751, owner 1234:5678, a fixed modification time) is removed, and also held open as a
 * descriptor; "a/b" is held open and removed with its parent "a"; the FIFO "f" (mode 0640) is
 * held open read-only with bytes in it, its read-write opener closed, and removed. After restart:
 * every link reads as before ("PATH (deleted)"), the working directory and its descriptor are one
 * inode, each node has no links and its type, mode, owner and time, the FIFO gives its bytes, and
 * none of the names exists again.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void link_of(const char *proc, char *out)
{
    ssize_t n = readlink(proc, out, PATH_MAX - 1);
    CHECK(n > 0, "readlink %s: %s", proc, strerror(errno));
    out[n] = 0;
}

static void fd_link(int fd, char *out)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    link_of(path, out);
}

static void same_node(int fd, const char *what, mode_t type, mode_t perms)
{
    struct stat st;
    CHECK(fstat(fd, &st) == 0, "fstat %s: %s", what, strerror(errno));
    CHECK((st.st_mode & S_IFMT) == type, "%s: type 0%o, want 0%o", what, st.st_mode & S_IFMT, type);
    CHECK((st.st_mode & 07777) == perms, "%s: mode 0%o, want 0%o", what, st.st_mode & 07777, perms);
    CHECK(type == S_IFIFO || st.st_nlink == 0, "%s: %lu links, want 0", what, (unsigned long)st.st_nlink);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    char top[PATH_MAX], path[PATH_MAX + 16];
    CHECK(getcwd(top, sizeof(top)) != NULL, "getcwd: %s", strerror(errno));
    CHECK(mkdir("work", 0700) == 0 && chmod("work", 0751) == 0 && chown("work", 1234, 5678) == 0, "work: %s",
          strerror(errno));
    struct timespec times[2] = {{.tv_sec = 5000, .tv_nsec = 0}, {.tv_sec = 777777, .tv_nsec = 42}};
    CHECK(utimensat(AT_FDCWD, "work", times, 0) == 0, "utimensat: %s", strerror(errno));
    int work = open("work", O_RDONLY | O_DIRECTORY);
    CHECK(work >= 0 && chdir("work") == 0, "work: %s", strerror(errno));
    snprintf(path, sizeof(path), "%s/work", top);
    CHECK(rmdir(path) == 0, "rmdir %s: %s", path, strerror(errno));

    snprintf(path, sizeof(path), "%s/a", top);
    CHECK(mkdir(path, 0755) == 0, "mkdir a: %s", strerror(errno));
    snprintf(path, sizeof(path), "%s/a/b", top);
    CHECK(mkdir(path, 0705) == 0 && chmod(path, 0705) == 0, "mkdir a/b: %s", strerror(errno));
    int b = open(path, O_RDONLY | O_DIRECTORY);
    CHECK(b >= 0 && rmdir(path) == 0, "a/b: %s", strerror(errno));
    snprintf(path, sizeof(path), "%s/a", top);
    CHECK(rmdir(path) == 0, "rmdir a: %s", strerror(errno));

    snprintf(path, sizeof(path), "%s/f", top);
    CHECK(mkfifo(path, 0600) == 0 && chmod(path, 0640) == 0, "mkfifo: %s", strerror(errno));
    int rw = open(path, O_RDWR), ro = open(path, O_RDONLY | O_NONBLOCK);
    CHECK(rw >= 0 && ro >= 0, "open fifo: %s", strerror(errno));
    CHECK(write(rw, "in the fifo", 11) == 11, "write: %s", strerror(errno));
    CHECK(unlink(path) == 0, "unlink fifo: %s", strerror(errno));
    close(rw);

    char cwd_was[PATH_MAX], work_was[PATH_MAX], b_was[PATH_MAX], ro_was[PATH_MAX];
    link_of("/proc/self/cwd", cwd_was);
    fd_link(work, work_was);
    fd_link(b, b_was);
    fd_link(ro, ro_was);

    test_ready();
    test_waitsig();

    char now[PATH_MAX];
    link_of("/proc/self/cwd", now);
    CHECK(strcmp(now, cwd_was) == 0, "cwd links to \"%s\", was \"%s\"", now, cwd_was);
    fd_link(work, now);
    CHECK(strcmp(now, work_was) == 0, "work links to \"%s\", was \"%s\"", now, work_was);
    fd_link(b, now);
    CHECK(strcmp(now, b_was) == 0, "a/b links to \"%s\", was \"%s\"", now, b_was);
    fd_link(ro, now);
    CHECK(strcmp(now, ro_was) == 0, "fifo links to \"%s\", was \"%s\"", now, ro_was);
    CHECK(strstr(cwd_was, " (deleted)") && strstr(b_was, " (deleted)") && strstr(ro_was, " (deleted)"),
          "links do not say (deleted): %s, %s, %s", cwd_was, b_was, ro_was);

    struct stat cwd, st;
    CHECK(stat("/proc/self/cwd", &cwd) == 0 && fstat(work, &st) == 0, "stat cwd: %s", strerror(errno));
    CHECK(cwd.st_ino == st.st_ino && cwd.st_dev == st.st_dev, "the working directory and its descriptor differ");
    same_node(work, "work", S_IFDIR, 0751);
    CHECK(st.st_uid == 1234 && st.st_gid == 5678, "work: owner %u:%u, want 1234:5678", st.st_uid, st.st_gid);
    CHECK(st.st_mtim.tv_sec == 777777 && st.st_mtim.tv_nsec == 42, "work: mtime %ld.%09ld, want 777777.000000042",
          (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    same_node(b, "a/b", S_IFDIR, 0705);
    same_node(ro, "fifo", S_IFIFO, 0640);
    CHECK(openat(AT_FDCWD, "new", O_CREAT | O_WRONLY, 0600) == -1 && errno == ENOENT,
          "a file could be made in the removed working directory");
    char got[32] = "";
    CHECK(read(ro, got, sizeof(got) - 1) == 11 && strcmp(got, "in the fifo") == 0, "fifo reads '%s'", got);
    const char *names[] = {"work", "a", "f"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", top, names[i]);
        CHECK(access(path, F_OK) == -1 && errno == ENOENT, "%s exists again", path);
    }
    pass();
}
