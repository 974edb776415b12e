/*
 * pty_ctty: a session leader (setsid) whose controlling terminal is the slave of a pty pair it
 * holds, opened without O_NOCTTY, its own group made the foreground group with tcsetpgrp; the
 * slave stays open only as fd 0, and /dev/tty is open at fd 5.
 * After SIGTERM: /proc/self/stat tty_nr is the slave's device, tcgetpgrp and TIOCGSID on the
 * master name us, /dev/tty opens (the kernel resolves it to the controlling terminal) and belongs to
 * our session, what fd 5 (/dev/tty opened before) writes reaches the master, and a VINTR byte written to the master raises SIGINT in us (the terminal's
 * foreground group), which only a controlling terminal does.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_sigint;

static void on_sigint(int sig)
{
    (void)sig;
    got_sigint = 1;
}

/* Field 7 of /proc/self/stat. */
static int stat_tty_nr(void)
{
    char *stat = read_file("/proc/self/stat", NULL);
    CHECK(stat != NULL, "read /proc/self/stat");
    char *p = strrchr(stat, ')');
    int pid, ppid, pgrp, sid, tty;
    char state;
    CHECK(p && sscanf(p + 2, "%c %d %d %d %d", &state, &ppid, &pgrp, &sid, &tty) == 5, "parse /proc/self/stat");
    (void)pid;
    free(stat);
    return tty;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    CHECK(setsid() == getpid(), "setsid: %s", strerror(errno));
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "posix_openpt: %s", strerror(errno));
    char name[64];
    CHECK(ptsname_r(m, name, sizeof(name)) == 0, "ptsname_r: %s", strerror(errno));
    int s = open(name, O_RDWR); /* a session leader without a terminal: this one becomes it */
    CHECK(s >= 0, "open %s: %s", name, strerror(errno));
    CHECK(dup2(s, 0) == 0, "dup2 to 0: %s", strerror(errno));
    close(s);
    CHECK(tcsetpgrp(0, getpgrp()) == 0, "tcsetpgrp: %s", strerror(errno));
    struct stat st;
    CHECK(fstat(0, &st) == 0, "fstat: %s", strerror(errno));
    int want = (int)(major(st.st_rdev) << 8 | minor(st.st_rdev));
    CHECK(stat_tty_nr() == want, "tty_nr %d before checkpoint, expected %d", stat_tty_nr(), want);
    int devtty = open("/dev/tty", O_RDWR | O_NOCTTY);
    CHECK(devtty >= 0 && dup2(devtty, 5) == 5, "open /dev/tty at fd 5: %s", strerror(errno));
    close(devtty);
    struct sigaction sa = { .sa_handler = on_sigint };
    sigaction(SIGINT, &sa, NULL);
    test_msg("PTS %s", name);
    test_ready();
    test_waitsig();

    CHECK(stat_tty_nr() == want, "tty_nr %d after restart, expected %d (%s)", stat_tty_nr(), want, name);
    CHECK(tcgetpgrp(m) == getpgrp(), "tcgetpgrp %d, expected our group %d", (int)tcgetpgrp(m), (int)getpgrp());
    pid_t sid = -1;
    CHECK(ioctl(m, TIOCGSID, &sid) == 0 && sid == getpid(), "TIOCGSID %d, expected %d: %s", (int)sid, (int)getpid(),
          strerror(errno));
    int t = open("/dev/tty", O_RDWR | O_NOCTTY);
    CHECK(t >= 0, "open /dev/tty: %s", strerror(errno));
    sid = -1;
    CHECK(ioctl(t, TIOCGSID, &sid) == 0 && sid == getpid(), "/dev/tty: TIOCGSID %d, expected %d: %s", (int)sid,
          (int)getpid(), strerror(errno));
    CHECK(write(5, "T", 1) == 1, "write to /dev/tty (fd 5): %s", strerror(errno));
    char c = 0;
    CHECK(read(m, &c, 1) == 1 && c == 'T', "master read '%c' for what was written to /dev/tty", c);
    struct termios tio;
    CHECK(tcgetattr(0, &tio) == 0, "tcgetattr: %s", strerror(errno));
    CHECK(write(m, &tio.c_cc[VINTR], 1) == 1, "write VINTR: %s", strerror(errno));
    for (int i = 0; i < 200 && !got_sigint; i++)
        usleep(10 * 1000);
    CHECK(got_sigint, "no SIGINT from VINTR typed on the terminal");
    pass();
}
