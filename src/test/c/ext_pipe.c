/*
 * ext_pipe: standard input and standard output are pipes whose other ends a process outside the
 * tree holds (the test). Usage: ext_pipe INPUT OUTPUT [tree]
 *
 *   INPUT   "ping": after SIGTERM, fd 0 reads "ping\n", then end of file (a pipe the test writes);
 *           "early": fd 0 reads "early\n" (written by the test before the checkpoint and never read
 *           before it), then end of file (a pipe whose writer is gone: --external-closed).
 *   OUTPUT  "open": after SIGTERM, every descriptor on the stdout pipe writes a line the test reads;
 *           "closed": a write gets EPIPE and SIGPIPE (a pipe whose reader went away).
 *   tree    a child shares the stdout pipe: its fd 1 inherited (one open file with the parent's),
 *           a dup of it at fd 5, and fd 6 opened again through /proc/self/fd/1 (another open file
 *           of the same pipe); the parent has a dup at fd 7. The child checks after the restart
 *           that it shares fd 1 with its parent (kcmp) and that all are ends of one pipe (fd 6 is
 *           then fd 1's open file too: the one descriptor given at restart takes every place).
 *
 * Its own messages (READY, PASS, FAIL) go to standard error, the harness's log.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KCMP_FILE 0

static volatile sig_atomic_t sigpipes;
static const char *input, *output;
static ino_t ino_before[2];

static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    dprintf(2, "%s\n", buf);
}

#define BAD(...) do { dprintf(2, "FAIL: "); say(__VA_ARGS__); exit(1); } while (0)

static ino_t ino(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        BAD("pid %d: fstat fd %d: %s", getpid(), fd, strerror(errno));
    if (!S_ISFIFO(st.st_mode))
        BAD("pid %d: fd %d is not a pipe (mode 0%o)", getpid(), fd, st.st_mode);
    return st.st_ino;
}

/* One line through fd, as the OUTPUT mode expects: written, or EPIPE with a SIGPIPE. */
static void put(int fd, const char *who)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "%s fd %d\n", who, fd);
    int before = sigpipes;
    ssize_t w = write(fd, line, n);
    if (strcmp(output, "open") == 0) {
        if (w != n)
            BAD("pid %d: write to fd %d: %zd (%s)", getpid(), fd, w, strerror(errno));
    } else if (w != -1 || errno != EPIPE || sigpipes != before + 1) {
        BAD("pid %d: write to fd %d: %zd (%s), SIGPIPEs %d: expected EPIPE and one SIGPIPE", getpid(), fd, w,
            w < 0 ? strerror(errno) : "written", sigpipes - before);
    }
}

static void check_input(void)
{
    const char *want = strcmp(input, "ping") == 0 ? "ping\n" : "early\n";
    char buf[64];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(0, buf + got, sizeof(buf) - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            BAD("read fd 0: %s", strerror(errno));
        if (r == 0)
            break;
        got += r;
        if (got == sizeof(buf) - 1)
            break;
    }
    buf[got] = 0;
    if (strcmp(buf, want) != 0)
        BAD("fd 0 read \"%s\" before end of file, expected \"%s\"", buf, want);
}

static void child(int ready)
{
    if (dup2(1, 5) != 5)
        BAD("child: dup2(1, 5): %s", strerror(errno));
    int again = open("/proc/self/fd/1", O_WRONLY | O_CLOEXEC);
    if (again < 0 || dup2(again, 6) != 6)
        BAD("child: reopen fd 1: %s", strerror(errno));
    close(again);
    if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, 1, 6) == 0)
        BAD("child: fd 6, opened again, is fd 1's open file");
    if (write(ready, "r", 1) != 1)
        BAD("child: ready: %s", strerror(errno));
    close(ready);
    test_waitsig();
    ino_t pipe1 = ino(1);
    if (ino(5) != pipe1 || ino(6) != pipe1)
        BAD("child: fds 1, 5, 6 are ends of different pipes (%lu %lu %lu)", (unsigned long)pipe1,
            (unsigned long)ino(5), (unsigned long)ino(6));
    long same = syscall(SYS_kcmp, getpid(), getppid(), KCMP_FILE, 1, 1);
    if (same != 0)
        BAD("child: fd 1 is not the parent's fd 1's open file (kcmp %ld: %s)", same, same < 0 ? strerror(errno) : "");
    if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, 1, 5) != 0)
        BAD("child: fd 5 is not fd 1's open file");
    put(1, "child");
    put(5, "child");
    put(6, "child");
    exit(0);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    if (argc < 3)
        BAD("usage: ext_pipe ping|early open|closed [tree]");
    input = argv[1];
    output = argv[2];
    int tree = argc > 3 && strcmp(argv[3], "tree") == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigpipe;
    sigaction(SIGPIPE, &sa, NULL);
    ino_before[0] = ino(0);
    ino_before[1] = ino(1);
    pid_t kid = -1;
    if (tree) {
        int sync[2];
        if (pipe2(sync, O_CLOEXEC) != 0)
            BAD("pipe2: %s", strerror(errno));
        kid = fork();
        if (kid == 0) {
            close(sync[0]);
            child(sync[1]);
        }
        close(sync[1]);
        char c;
        if (read(sync[0], &c, 1) != 1)
            BAD("the child did not get ready");
        close(sync[0]);
        if (dup2(1, 7) != 7)
            BAD("dup2(1, 7): %s", strerror(errno));
    }
    say("READY");
    test_waitsig();
    say(ino(0) == ino_before[0] && ino(1) == ino_before[1] ? "pipes same" : "pipes new");
    if (tree) {
        kill(kid, SIGTERM);
        put(7, "parent");
    }
    put(1, "parent");
    check_input();
    if (tree) {
        int status;
        if (waitpid(kid, &status, 0) != kid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            BAD("child %d ended with status 0x%x", kid, status);
    }
    say("PASS");
    return 0;
}
