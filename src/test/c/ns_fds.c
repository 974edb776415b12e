/*
 * ns_fds: descriptors of the process's own namespaces, as setns(2) takes them: /proc/self/ns/
 * net, uts, ipc, mnt, pid, pid_for_children, user, cgroup, time and time_for_children, one of
 * them (net) also dup'ed and shared with a child. After restart each names the same namespace as
 * the process's own file of that name, with its flags, and setns(2) into it works.
 * With "foreign": the process also holds a network namespace it made and left (unshare, then
 * setns back), which no process is in: a checkpoint must refuse it and leave the process running.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *names[] = {"net", "uts", "ipc", "mnt", "pid", "pid_for_children", "user", "cgroup", "time",
                              "time_for_children"};
#define N (int)(sizeof(names) / sizeof(names[0]))
static int fds[N];

static void link_of(const char *path, char *out)
{
    ssize_t n = readlink(path, out, PATH_MAX - 1);
    CHECK(n > 0, "readlink %s: %s", path, strerror(errno));
    out[n] = 0;
}

static void check_all(const char *who)
{
    for (int i = 0; i < N; i++) {
        char want[PATH_MAX], got[PATH_MAX], path[64];
        snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
        link_of(path, want);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
        link_of(path, got);
        CHECK(strcmp(want, got) == 0, "%s: fd %d (%s) links to %s, the process's is %s", who, fds[i], names[i], got,
              want);
        int fl = fcntl(fds[i], F_GETFD);
        CHECK(fl == (i % 2 ? FD_CLOEXEC : 0), "%s: %s: close-on-exec %d", who, names[i], fl);
    }
    CHECK(setns(fds[0], CLONE_NEWNET) == 0, "%s: setns net: %s", who, strerror(errno));
    CHECK(setns(fds[1], CLONE_NEWUTS) == 0, "%s: setns uts: %s", who, strerror(errno));
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    for (int i = 0; i < N; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
        fds[i] = open(path, O_RDONLY | (i % 2 ? O_CLOEXEC : 0));
        CHECK(fds[i] >= 0, "open %s: %s", path, strerror(errno));
    }
    int shared = dup(fds[0]);
    CHECK(shared >= 0, "dup: %s", strerror(errno));
    if (argc > 1 && strcmp(argv[1], "foreign") == 0) {
        int orig = open("/proc/self/ns/net", O_RDONLY);
        CHECK(unshare(CLONE_NEWNET) == 0, "unshare: %s", strerror(errno));
        int foreign = open("/proc/self/ns/net", O_RDONLY);
        CHECK(foreign >= 0 && setns(orig, CLONE_NEWNET) == 0, "setns back: %s", strerror(errno));
        close(orig);
        printf("FOREIGN %d\n", foreign);
        fflush(stdout);
    }
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
        CHECK(setns(shared, CLONE_NEWNET) == 0, "child: setns shared: %s", strerror(errno));
        _exit(0);
    }
    CHECK(c > 0, "fork: %s", strerror(errno));
    close(go[0]);

    test_ready();
    test_waitsig();

    check_all("parent");
    CHECK(write(go[1], "x", 1) == 1, "write: %s", strerror(errno));
    int ws;
    CHECK(waitpid(c, &ws, 0) == c && WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the child failed (0x%x)", ws);
    pass();
}
