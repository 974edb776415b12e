/*
 * pty: a pseudo-terminal pair held by one process, in a demanding state: termios changed
 * (no echo, canonical, VINTR ^A, VEOL '#', 9600 baud, CS7), window size 33x101 (and pixels),
 * packet mode on the master, the slave in exclusive mode, a second slave description at fd 40
 * (non-blocking), and data queued both ways: "line one\npart" written to the master (one full
 * line and a partial one for the slave's canonical reader) and "out put\n" written to the slave
 * (the master reads "out put\r\n": ONLCR). Before READY the data is left unread.
 * After SIGTERM: the same index (ptsname), termios, window size, packet mode, exclusive mode,
 * lock state, status flags; the slave reads "line one\n", then nothing (the partial line waits),
 * then "part#" once '#' (VEOL) arrives; the master reads a packet-mode 0 byte then "out put\r\n";
 * and the pair still carries data both ways.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <asm/termbits.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void get2(int fd, struct termios2 *t)
{
    CHECK(ioctl(fd, TCGETS2, t) == 0, "TCGETS2 fd %d: %s", fd, strerror(errno));
}

/* Reads what is there within ms milliseconds (at most len bytes); -1 with errno on error. */
static ssize_t read_within(int fd, char *buf, size_t len, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = poll(&p, 1, ms);
    if (r <= 0)
        return r == 0 ? 0 : -1;
    return read(fd, buf, len);
}

static int ival(int fd, unsigned long req, const char *what)
{
    int v = -1;
    CHECK(ioctl(fd, req, &v) == 0, "%s fd %d: %s", what, fd, strerror(errno));
    return v;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(m >= 0, "posix_openpt: %s", strerror(errno));
    CHECK(grantpt(m) == 0 && unlockpt(m) == 0, "grantpt/unlockpt: %s", strerror(errno));
    char name[64];
    CHECK(ptsname_r(m, name, sizeof(name)) == 0, "ptsname_r: %s", strerror(errno));
    int s = open(name, O_RDWR | O_NOCTTY);
    CHECK(s >= 0, "open %s: %s", name, strerror(errno));
    int s2 = open(name, O_RDWR | O_NOCTTY | O_NONBLOCK);
    CHECK(s2 >= 0 && dup2(s2, 40) == 40, "open %s again at fd 40: %s", name, strerror(errno));
    close(s2);
    s2 = 40;

    struct termios2 t;
    get2(s, &t);
    t.c_lflag &= ~(ECHO | ECHOE | ECHOK);
    t.c_lflag |= ICANON;
    t.c_cc[VINTR] = 1;
    t.c_cc[VEOL] = '#';
    t.c_cflag = (t.c_cflag & ~(CBAUD | CSIZE)) | B9600 | CS7;
    t.c_ispeed = t.c_ospeed = 9600;
    CHECK(ioctl(s, TCSETS2, &t) == 0, "TCSETS2: %s", strerror(errno));
    struct winsize ws = { .ws_row = 33, .ws_col = 101, .ws_xpixel = 808, .ws_ypixel = 660 };
    CHECK(ioctl(m, TIOCSWINSZ, &ws) == 0, "TIOCSWINSZ: %s", strerror(errno));
    int one = 1;
    CHECK(ioctl(m, TIOCPKT, &one) == 0, "TIOCPKT: %s", strerror(errno));
    CHECK(ioctl(s, TIOCEXCL) == 0, "TIOCEXCL: %s", strerror(errno));

    const char *in = "line one\npart", *out = "out put\n";
    CHECK(write(m, in, strlen(in)) == (ssize_t)strlen(in), "write to master: %s", strerror(errno));
    CHECK(write(s, out, strlen(out)) == (ssize_t)strlen(out), "write to slave: %s", strerror(errno));
    usleep(100 * 1000); /* the flip buffers reach the line disciplines */

    struct termios2 before;
    get2(s, &before);
    int mfl = fcntl(m, F_GETFL), sfl = fcntl(s, F_GETFL), s2fl = fcntl(s2, F_GETFL);
    test_msg("PTS %s", name);
    test_ready();
    test_waitsig();

    char now[64];
    CHECK(ptsname_r(m, now, sizeof(now)) == 0 && strcmp(now, name) == 0, "ptsname %s, was %s", now, name);
    struct termios2 after;
    get2(s, &after);
    CHECK(memcmp(&before, &after, sizeof(before)) == 0,
          "termios differs: iflag 0%o/0%o oflag 0%o/0%o cflag 0%o/0%o lflag 0%o/0%o speed %u/%u", before.c_iflag,
          after.c_iflag, before.c_oflag, after.c_oflag, before.c_cflag, after.c_cflag, before.c_lflag, after.c_lflag,
          before.c_ospeed, after.c_ospeed);
    struct winsize w2;
    CHECK(ioctl(s, TIOCGWINSZ, &w2) == 0, "TIOCGWINSZ: %s", strerror(errno));
    CHECK(w2.ws_row == 33 && w2.ws_col == 101 && w2.ws_xpixel == 808 && w2.ws_ypixel == 660,
          "window size %ux%u (%ux%u px), expected 33x101 (808x660)", w2.ws_row, w2.ws_col, w2.ws_xpixel, w2.ws_ypixel);
    CHECK(ival(m, TIOCGPKT, "TIOCGPKT") == 1, "packet mode is off");
    CHECK(ival(s, TIOCGEXCL, "TIOCGEXCL") == 1, "slave not in exclusive mode");
    CHECK(ival(m, TIOCGPTLCK, "TIOCGPTLCK") == 0, "slave locked");
    CHECK(fcntl(m, F_GETFL) == mfl && fcntl(s, F_GETFL) == sfl && fcntl(s2, F_GETFL) == s2fl,
          "status flags master 0%o/0%o slave 0%o/0%o fd 40 0%o/0%o", mfl, fcntl(m, F_GETFL), sfl, fcntl(s, F_GETFL),
          s2fl, fcntl(s2, F_GETFL));

    char buf[256];
    ssize_t n = read_within(s, buf, sizeof(buf), 2000);
    CHECK(n == 9 && memcmp(buf, "line one\n", 9) == 0, "slave read %zd bytes '%.*s', expected 'line one\\n'", n,
          (int)(n > 0 ? n : 0), buf);
    n = read(s2, buf, sizeof(buf));
    CHECK(n == -1 && errno == EAGAIN, "slave read of a partial line returned %zd, expected EAGAIN (errno %s)", n,
          strerror(errno));
    CHECK(write(m, "#", 1) == 1, "write # to master: %s", strerror(errno));
    n = read_within(s, buf, sizeof(buf), 2000);
    CHECK(n == 5 && memcmp(buf, "part#", 5) == 0, "slave read %zd bytes '%.*s', expected 'part#'", n,
          (int)(n > 0 ? n : 0), buf);
    n = read_within(m, buf, sizeof(buf), 2000);
    CHECK(n == 10 && buf[0] == 0 && memcmp(buf + 1, "out put\r\n", 9) == 0,
          "master read %zd bytes (first 0x%02x), expected a 0 packet byte and 'out put\\r\\n'", n,
          n > 0 ? (unsigned char)buf[0] : 0);
    /* Still a working pair: no echo (ECHO off), both ways. */
    CHECK(write(m, "again\n", 6) == 6, "write again: %s", strerror(errno));
    n = read_within(s, buf, sizeof(buf), 2000);
    CHECK(n == 6 && memcmp(buf, "again\n", 6) == 0, "slave read %zd bytes after restart, expected 'again\\n'", n);
    CHECK(write(s, "x", 1) == 1, "write x to slave: %s", strerror(errno));
    n = read_within(m, buf, sizeof(buf), 2000);
    CHECK(n == 2 && buf[0] == 0 && buf[1] == 'x', "master read %zd bytes, expected packet 0 and 'x'", n);
    n = read_within(m, buf, sizeof(buf), 200);
    CHECK(n == 0, "master has %zd more bytes (an echo?)", n);
    pass();
}
