/*
 * dead_proc_cwd: working directories inside /proc/PID of a process that has ended (the entry is
 * unhashed). The parent works in /proc/A and its child B in /proc/A/task/A, A being a child that
 * was killed and reaped. After restart, in both: getcwd fails with ENOENT, the link reads
 * "/proc/N (deleted)" (or ".../task/N (deleted)"; N may differ, the old pid's process is gone),
 * and a name looked up in the directory is not found, as before.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a process working in an unhashed /proc directory sees; CHECKs fail the caller. */
static void check_dead(const char *pattern, int lookup_errno)
{
    char buf[PATH_MAX];
    errno = 0;
    CHECK(getcwd(buf, sizeof(buf)) == NULL && errno == ENOENT, "getcwd: %s (errno %d)", buf, errno);
    ssize_t n = readlink("/proc/self/cwd", buf, sizeof(buf) - 1);
    CHECK(n > 0, "readlink cwd: %s", strerror(errno));
    buf[n] = 0;
    regex_t re;
    CHECK(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) == 0, "regcomp");
    CHECK(regexec(&re, buf, 0, NULL, 0) == 0, "cwd links to \"%s\", not %s", buf, pattern);
    regfree(&re);
    int fd = open("status", O_RDONLY);
    CHECK(fd < 0 && errno == lookup_errno, "open status in the dead directory: fd %d, errno %d, want errno %d", fd,
          errno, lookup_errno);
}

static int lookup_errno(void)
{
    int fd = open("status", O_RDONLY);
    CHECK(fd < 0, "status opened in a dead /proc directory");
    return errno;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    pid_t a = fork();
    if (a == 0) {
        for (;;)
            pause();
    }
    CHECK(a > 0, "fork: %s", strerror(errno));
    int go[2];
    CHECK(pipe(go) == 0, "pipe: %s", strerror(errno));
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/task/%d", a, a);
    pid_t b = fork();
    if (b == 0) {
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(go[1]);
        CHECK(chdir(dir) == 0, "chdir %s: %s", dir, strerror(errno));
        char c;
        CHECK(read(go[0], &c, 1) == 1, "read: %s", strerror(errno));   /* A has ended */
        int e = lookup_errno();
        check_dead("^/proc/[0-9]+/task/[0-9]+ \\(deleted\\)$", e);
        CHECK(read(go[0], &c, 1) == 1, "read: %s", strerror(errno));   /* after the restart */
        check_dead("^/proc/[0-9]+/task/[0-9]+ \\(deleted\\)$", e);
        _exit(0);
    }
    CHECK(b > 0, "fork: %s", strerror(errno));
    close(go[0]);
    snprintf(dir, sizeof(dir), "/proc/%d", a);
    CHECK(chdir(dir) == 0, "chdir %s: %s", dir, strerror(errno));
    usleep(100 * 1000);   /* B is in its directory */
    kill(a, SIGKILL);
    CHECK(waitpid(a, NULL, 0) == a, "waitpid: %s", strerror(errno));
    CHECK(write(go[1], "1", 1) == 1, "write: %s", strerror(errno));
    int e = lookup_errno();
    check_dead("^/proc/[0-9]+ \\(deleted\\)$", e);

    test_ready();
    test_waitsig();

    check_dead("^/proc/[0-9]+ \\(deleted\\)$", e);
    CHECK(write(go[1], "2", 1) == 1, "write: %s", strerror(errno));
    int ws;
    CHECK(waitpid(b, &ws, 0) == b, "waitpid b: %s", strerror(errno));
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the child working in /proc/A/task/A failed (status 0x%x)", ws);
    pass();
}
