/*
 * pty_session: a terminal session as a terminal emulator makes one, across three processes. The
 * root holds the master of a pty pair; its child A leads a new session whose controlling terminal
 * is the slave (fd 0, 1, 2), as a shell does; A's child B is a job in a process group of its own,
 * made the terminal's foreground group by A. B prints "B READY".
 * After SIGTERM the root types VINTR (^C) on the master and sends B SIGUSR1. B then checks that it
 * got SIGINT from the terminal (it is the foreground group), that its controlling terminal
 * (tty_nr) is the slave, that /dev/tty opens, that tcgetpgrp names its group and that A is its
 * session's leader; it prints "B PASS" or "B FAIL: ...", which the root reads from the master.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t got_int, got_usr1;

static void on_int(int s) { (void)s; got_int = 1; }
static void on_usr1(int s) { (void)s; got_usr1 = 1; }

static int tty_nr(void)
{
    char *stat = read_file("/proc/self/stat", NULL);
    char *p = stat ? strrchr(stat, ')') : NULL;
    int ppid, pgrp, sid, tty = -1;
    char state;
    if (p)
        sscanf(p + 2, "%c %d %d %d %d", &state, &ppid, &pgrp, &sid, &tty);
    free(stat);
    return tty;
}

#define BFAIL(...) do { printf("B FAIL: " __VA_ARGS__); printf("\n"); _exit(1); } while (0)

static void job_b(pid_t leader)
{
    struct sigaction sa = { .sa_handler = on_int };
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    printf("B READY %d\n", (int)getpid());
    while (!got_usr1)
        sigsuspend(&old);
    for (int i = 0; i < 100 && !got_int; i++)
        usleep(10 * 1000);
    struct stat st;
    if (fstat(0, &st) != 0)
        BFAIL("fstat 0: %s", strerror(errno));
    if (!got_int)
        BFAIL("no SIGINT from ^C typed on the terminal (foreground group %d, ours %d)", (int)tcgetpgrp(0),
              (int)getpgrp());
    int want = (int)(((st.st_rdev >> 8) & 0xfff) << 8 | (st.st_rdev & 0xff));
    if (tty_nr() != want)
        BFAIL("tty_nr %d, expected %d: no controlling terminal", tty_nr(), want);
    int t = open("/dev/tty", O_RDWR | O_NOCTTY);
    if (t < 0)
        BFAIL("open /dev/tty: %s", strerror(errno));
    if (tcgetpgrp(t) != getpgrp())
        BFAIL("tcgetpgrp %d, our group %d", (int)tcgetpgrp(t), (int)getpgrp());
    if (getsid(0) != leader)
        BFAIL("session %d, expected A's %d", (int)getsid(0), (int)leader);
    printf("B PASS\n");
    _exit(0);
}

static void leader_a(const char *name)
{
    signal(SIGTERM, SIG_DFL);
    if (setsid() < 0)
        _exit(3);
    int s = open(name, O_RDWR); /* the session leader's first terminal: its controlling terminal */
    if (s < 0)
        _exit(4);
    for (int fd = 0; fd < 3; fd++)
        dup2(s, fd);
    if (s > 2)
        close(s);
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t b = fork();
    if (b == 0) {
        setpgid(0, 0);
        job_b(getppid());
    }
    setpgid(b, b);
    signal(SIGTTOU, SIG_IGN);
    if (tcsetpgrp(0, b) != 0)
        _exit(5);
    int status;
    while (waitpid(b, &status, 0) < 0 && errno == EINTR)
        ;
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 100);
}

/* Reads the master until a line holding prefix; returns what follows it (static buffer). */
static char *await_line(int m, const char *prefix, int ms)
{
    static char buf[4096];
    static size_t len;
    for (int waited = 0; waited < ms; waited += 50) {
        char *nl;
        while ((nl = memchr(buf, '\n', len)) != NULL) {
            *nl = 0;
            if (nl > buf && nl[-1] == '\r')
                nl[-1] = 0;
            static char line[4096];
            strcpy(line, buf);
            size_t used = (size_t)(nl - buf) + 1;
            memmove(buf, nl + 1, len - used);
            len -= used;
            char *at = strstr(line, prefix); /* after an echoed ^C, say */
            if (at != NULL)
                return at + strlen(prefix);
            test_msg("pty: %s", line);
        }
        struct pollfd p = { .fd = m, .events = POLLIN };
        if (poll(&p, 1, 50) > 0) {
            ssize_t n = read(m, buf + len, sizeof(buf) - 1 - len);
            if (n > 0)
                len += (size_t)n;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "posix_openpt: %s", strerror(errno));
    char name[64];
    CHECK(ptsname_r(m, name, sizeof(name)) == 0, "ptsname_r: %s", strerror(errno));
    pid_t a = fork();
    CHECK(a >= 0, "fork: %s", strerror(errno));
    if (a == 0) {
        close(m);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        leader_a(name);
    }
    char *ready = await_line(m, "B READY ", 5000);
    CHECK(ready != NULL, "no B READY from the session");
    pid_t b = (pid_t)atoi(ready);
    test_msg("A %d B %d PTS %s", (int)a, (int)b, name);
    test_ready();
    test_waitsig();

    struct termios t;
    CHECK(tcgetattr(m, &t) == 0, "tcgetattr master: %s", strerror(errno));
    CHECK(write(m, &t.c_cc[VINTR], 1) == 1, "write ^C: %s", strerror(errno));
    CHECK(kill(b, SIGUSR1) == 0, "kill B %d: %s", (int)b, strerror(errno));
    char *verdict = await_line(m, "B ", 5000);
    CHECK(verdict != NULL, "no verdict from B");
    CHECK(strcmp(verdict, "PASS") == 0, "B: %s", verdict);
    int status;
    CHECK(waitpid(a, &status, 0) == a && WIFEXITED(status) && WEXITSTATUS(status) == 0, "A ended with status 0x%x",
          status);
    pass();
}
