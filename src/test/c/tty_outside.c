/*
 * tty_outside: a job on a terminal that belongs to a process outside the checkpointed tree, as a
 * program started from a shell in a terminal emulator is. The outer process (the "emulator")
 * holds the master of a pty pair and relays what the slave writes to its own stdout (the log),
 * without the carriage returns ONLCR adds; the inner process (the "job", the one checkpointed)
 * is a session leader with the slave as controlling terminal and as fd 0, 1 and 2.
 * The outer prints "INNER pid" before the inner prints READY. On SIGTERM the outer passes it to
 * the inner and exits with the inner's status once the inner is gone.
 * The inner, after SIGTERM: fd 0, 1 and 2 are still that terminal, it is still the controlling
 * terminal (tty_nr), its termios are as before; then PASS.
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

static int stat_tty_nr(void)
{
    char *stat = read_file("/proc/self/stat", NULL);
    CHECK(stat != NULL, "read /proc/self/stat");
    char *p = strrchr(stat, ')');
    int ppid, pgrp, sid, tty;
    char state;
    CHECK(p && sscanf(p + 2, "%c %d %d %d %d", &state, &ppid, &pgrp, &sid, &tty) == 5, "parse /proc/self/stat");
    free(stat);
    return tty;
}

static void inner(const char *name)
{
    CHECK(setsid() == getpid(), "setsid: %s", strerror(errno));
    int s = open(name, O_RDWR);
    CHECK(s >= 0, "open %s: %s", name, strerror(errno));
    for (int fd = 0; fd < 3; fd++)
        CHECK(dup2(s, fd) == fd, "dup2 %d: %s", fd, strerror(errno));
    if (s > 2)
        close(s);
    setvbuf(stdout, NULL, _IONBF, 0);
    struct stat st;
    CHECK(fstat(0, &st) == 0, "fstat: %s", strerror(errno));
    struct termios before;
    CHECK(tcgetattr(0, &before) == 0, "tcgetattr: %s", strerror(errno));
    int tty = stat_tty_nr();
    test_ready();
    test_waitsig();
    for (int fd = 0; fd < 3; fd++) {
        struct stat now;
        CHECK(fstat(fd, &now) == 0 && now.st_rdev == st.st_rdev && isatty(fd), "fd %d is no longer %s", fd, name);
    }
    CHECK(stat_tty_nr() == tty, "tty_nr %d, was %d", stat_tty_nr(), tty);
    struct termios after;
    CHECK(tcgetattr(0, &after) == 0, "tcgetattr: %s", strerror(errno));
    CHECK(before.c_lflag == after.c_lflag && before.c_iflag == after.c_iflag && before.c_oflag == after.c_oflag,
          "termios changed");
    pass();
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "posix_openpt: %s", strerror(errno));
    char name[64];
    CHECK(ptsname_r(m, name, sizeof(name)) == 0, "ptsname_r: %s", strerror(errno));
    pid_t parent = getpid();
    pid_t child = fork();
    CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        close(m);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(2);
        inner(name);
    }
    test_msg("INNER %d", (int)child);
    test_msg("PTS %s", name);
    int forwarded = 0, status = 0;
    for (;;) {
        if (test_stop && !forwarded) {
            kill(child, SIGTERM);
            forwarded = 1;
        }
        struct pollfd p = { .fd = m, .events = POLLIN };
        if (poll(&p, 1, 50) > 0) {
            char buf[512];
            ssize_t n = read(m, buf, sizeof(buf));
            if (n > 0) {
                for (ssize_t i = 0; i < n; i++)
                    if (buf[i] != '\r')
                        putchar(buf[i]);
                fflush(stdout);
                continue;
            }
        }
        pid_t r = waitpid(child, &status, WNOHANG);
        if (r == child)
            break;
    }
    /* What the inner wrote last may still wait in the master. */
    for (;;) {
        struct pollfd p = { .fd = m, .events = POLLIN };
        char buf[512];
        ssize_t n = poll(&p, 1, 100) > 0 ? read(m, buf, sizeof(buf)) : 0;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != '\r')
                putchar(buf[i]);
    }
    fflush(stdout);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
