/*
 * proc_files: descriptors of procfs files that name processes of the tree. The parent opens its
 * child's /proc/CHILD/stat and /proc/CHILD/task/CHILD/comm, its own /proc/self/status (read
 * partly: an offset into it), the directory /proc/self, and /proc/meminfo, which names no
 * process. After restart each must still name the same process (the restored one, at the same
 * pid), keep its offset and flags, and be a procfs file; the directory must resolve "stat" to
 * the parent.
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
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROC_SUPER_MAGIC 0x9fa0

static int open_checked(const char *path, int flags)
{
    int fd = open(path, flags);
    CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
    return fd;
}

/* The first field of a stat file read from its start: the pid it describes. */
static int stat_pid(int fd)
{
    char buf[256];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    CHECK(n > 0, "pread stat: %s", strerror(errno));
    buf[n] = 0;
    return atoi(buf);
}

static void on_proc(int fd, const char *what)
{
    struct statfs s;
    CHECK(fstatfs(fd, &s) == 0 && s.f_type == PROC_SUPER_MAGIC, "%s is not on procfs", what);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    pid_t c = fork();
    if (c == 0) {
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        CHECK(prctl(PR_SET_NAME, "proc-child") == 0, "PR_SET_NAME");
        for (;;)
            pause();
    }
    CHECK(c > 0, "fork: %s", strerror(errno));
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", c);
    int child_stat = open_checked(path, O_RDONLY);
    snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", c, c);
    int child_comm = -1;
    for (int i = 0; i < 100; i++) {   /* until the child has named itself */
        child_comm = open_checked(path, O_RDONLY | O_NONBLOCK);
        char name[32] = "";
        if (read(child_comm, name, sizeof(name) - 1) > 0 && strcmp(name, "proc-child\n") == 0)
            break;
        close(child_comm);
        child_comm = -1;
        usleep(10000);
    }
    CHECK(child_comm >= 0, "the child never named itself");
    CHECK(lseek(child_comm, 0, SEEK_SET) == 0, "lseek comm: %s", strerror(errno));
    int status = open_checked("/proc/self/status", O_RDONLY);
    char head[16];
    CHECK(read(status, head, sizeof(head)) == sizeof(head), "read status: %s", strerror(errno));
    int self = open_checked("/proc/self", O_RDONLY | O_DIRECTORY);
    int meminfo = open_checked("/proc/meminfo", O_RDONLY);

    test_ready();
    test_waitsig();

    on_proc(child_stat, "child stat");
    on_proc(status, "status");
    on_proc(self, "/proc/self");
    on_proc(meminfo, "meminfo");
    CHECK(stat_pid(child_stat) == c, "/proc/%d/stat names pid %d", c, stat_pid(child_stat));
    char name[32] = "";
    CHECK(read(child_comm, name, sizeof(name) - 1) > 0 && strcmp(name, "proc-child\n") == 0,
          "child's comm reads '%s'", name);
    CHECK((fcntl(child_comm, F_GETFL) & O_NONBLOCK) != 0, "comm lost O_NONBLOCK");
    CHECK(lseek(status, 0, SEEK_CUR) == sizeof(head), "status offset %ld", (long)lseek(status, 0, SEEK_CUR));
    char rest[4096];
    ssize_t n = read(status, rest, sizeof(rest) - 1);
    CHECK(n > 0, "read status: %s", strerror(errno));
    rest[n] = 0;
    char want[32];
    snprintf(want, sizeof(want), "\nPid:\t%d\n", getpid());
    CHECK(strstr(rest, want) != NULL, "status does not say%s", want);
    int st = openat(self, "stat", O_RDONLY);
    CHECK(st >= 0, "openat /proc/self stat: %s", strerror(errno));
    CHECK(stat_pid(st) == getpid(), "/proc/self/stat names pid %d", stat_pid(st));
    CHECK(pread(meminfo, rest, 9, 0) == 9 && memcmp(rest, "MemTotal:", 9) == 0, "meminfo reads otherwise");
    kill(c, SIGKILL);
    int ws;
    CHECK(waitpid(c, &ws, 0) == c, "waitpid: %s", strerror(errno));
    pass();
}
