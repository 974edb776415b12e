/*
 * device: device nodes held open across checkpoint and restart. Each mode sets up one case,
 * prints what the harness needs ("FD name n", "LOOP /dev/loopN"), says READY, and after SIGTERM
 * checks every property it set up.
 *
 *   stateless  /dev/null (O_WRONLY|O_APPEND), /dev/zero, /dev/full (O_RDWR|O_NONBLOCK),
 *              /dev/urandom, /dev/kmsg write-only, /dev/loop-control, and a node of /dev/null
 *              made with mknod in the cwd: flags, st_rdev, a read or write that works.
 *   deleted    nodes made with mknod and unlinked while open: 1:5 (zero) mode 0640 opened twice
 *              and dup'ed, 1:3 (null) mode 0600: st_rdev, st_mode, no link, the link's name,
 *              one inode for both opens of the first, the name free again.
 *   block      a loop device bound to a file of the cwd, opened read-only at an offset: the
 *              offset and the bytes read from there.
 *   pmqos      /dev/cpu_dma_latency O_RDWR with 33 us written and the value read once (offset
 *              4), and a read-only open: a new open reads 33 again, the offsets are as they were.
 *   terminal   /dev/tty63 (a virtual console) with a termios and window size of its own: both
 *              as set after restart, even if the harness changed them meanwhile.
 *   refuse     /dev/kvm, /dev/fuse, /dev/net/tun, /dev/kmsg read-only, and a shared mapping of
 *              a loop device: all untouched after the refused checkpoint.
 *   hungup     two opens of a pseudo-terminal slave whose master was then closed: still hung up
 *              (end of file, EIO on write), flags as they were, links "/dev/pts/N (deleted)".
 *   pmqos2     two writable opens of /dev/cpu_dma_latency, one holding 44 us: refused.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#define LOOP_SIZE (64 * 1024)
#define LOOP_POS (4096 + 77)

static int open_or_die(const char *path, int flags)
{
    int fd = open(path, flags);
    CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
    test_msg("FD %s %d", path, fd);
    return fd;
}

static void check_node(int fd, const char *what, mode_t mode, dev_t rdev, nlink_t links)
{
    struct stat st;
    CHECK(fstat(fd, &st) == 0, "fstat %s: %s", what, strerror(errno));
    CHECK(st.st_rdev == rdev, "%s is device %u:%u, want %u:%u", what, major(st.st_rdev), minor(st.st_rdev),
          major(rdev), minor(rdev));
    CHECK(mode == 0 || st.st_mode == mode, "%s mode 0%o, want 0%o", what, st.st_mode, mode);
    CHECK(st.st_nlink == links, "%s has %lu links, want %lu", what, (unsigned long)st.st_nlink, (unsigned long)links);
}

static void check_flags(int fd, int want, const char *what)
{
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl == want, "%s F_GETFL 0%o, was 0%o", what, fl, want);
}

static void link_of(int fd, char *out, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, out, size - 1);
    CHECK(n > 0, "readlink %s: %s", path, strerror(errno));
    out[n] = 0;
}

static void stateless(void)
{
    int null = open_or_die("/dev/null", O_WRONLY | O_APPEND), zero = open_or_die("/dev/zero", O_RDONLY);
    int full = open_or_die("/dev/full", O_RDWR | O_NONBLOCK), urandom = open_or_die("/dev/urandom", O_RDONLY);
    int kmsg = open_or_die("/dev/kmsg", O_WRONLY), ctl = open_or_die("/dev/loop-control", O_RDWR);
    unlink("null.node");
    CHECK(mknod("null.node", S_IFCHR | 0600, makedev(1, 3)) == 0, "mknod null.node: %s", strerror(errno));
    int node = open_or_die("null.node", O_RDWR);
    int fl[] = {fcntl(null, F_GETFL), fcntl(zero, F_GETFL), fcntl(full, F_GETFL), fcntl(urandom, F_GETFL),
                fcntl(kmsg, F_GETFL), fcntl(ctl, F_GETFL), fcntl(node, F_GETFL)};
    test_ready();
    test_waitsig();

    check_flags(null, fl[0], "/dev/null");
    check_flags(zero, fl[1], "/dev/zero");
    check_flags(full, fl[2], "/dev/full");
    check_flags(urandom, fl[3], "/dev/urandom");
    check_flags(kmsg, fl[4], "/dev/kmsg");
    check_flags(ctl, fl[5], "/dev/loop-control");
    check_flags(node, fl[6], "null.node");
    check_node(null, "/dev/null", 0, makedev(1, 3), 1);
    check_node(node, "null.node", S_IFCHR | 0600, makedev(1, 3), 1);
    char buf[64];
    memset(buf, 7, sizeof(buf));
    CHECK(read(zero, buf, sizeof(buf)) == sizeof(buf) && buf[0] == 0 && buf[63] == 0, "/dev/zero reads no zeros");
    CHECK(write(full, "x", 1) == -1 && errno == ENOSPC, "/dev/full accepts a write");
    CHECK(read(urandom, buf, 16) == 16, "read /dev/urandom: %s", strerror(errno));
    CHECK(write(null, buf, 16) == 16 && write(node, buf, 16) == 16, "write to null: %s", strerror(errno));
    CHECK(write(kmsg, "amber device test\n", 18) == 18, "write /dev/kmsg: %s", strerror(errno));
    CHECK(ioctl(ctl, LOOP_CTL_GET_FREE) >= 0, "LOOP_CTL_GET_FREE: %s", strerror(errno));
    CHECK(unlink("null.node") == 0, "unlink null.node: %s", strerror(errno));
    pass();
}

static void deleted(void)
{
    unlink("zero.node");
    unlink("null.node");
    umask(077);   /* mknod applies it: the restart must not */
    CHECK(mknod("zero.node", S_IFCHR | 0640, makedev(1, 5)) == 0 && chmod("zero.node", 0640) == 0,
          "mknod zero.node: %s", strerror(errno));
    CHECK(mknod("null.node", S_IFCHR | 0600, makedev(1, 3)) == 0, "mknod null.node: %s", strerror(errno));
    int z1 = open_or_die("zero.node", O_RDONLY), z2 = open_or_die("zero.node", O_RDWR | O_NONBLOCK);
    int n = open_or_die("null.node", O_WRONLY);
    int zdup = dup(z1);
    CHECK(unlink("zero.node") == 0 && unlink("null.node") == 0, "unlink: %s", strerror(errno));
    char l1[512], l2[512], ln[512], now[512];
    link_of(z1, l1, sizeof(l1));
    link_of(z2, l2, sizeof(l2));
    link_of(n, ln, sizeof(ln));
    int f1 = fcntl(z1, F_GETFL), f2 = fcntl(z2, F_GETFL), fn = fcntl(n, F_GETFL);
    test_ready();
    test_waitsig();

    check_node(z1, "zero.node", S_IFCHR | 0640, makedev(1, 5), 0);
    check_node(z2, "zero.node (second open)", S_IFCHR | 0640, makedev(1, 5), 0);
    check_node(n, "null.node", S_IFCHR | 0600, makedev(1, 3), 0);
    check_flags(z1, f1, "zero.node");
    check_flags(z2, f2, "zero.node (second open)");
    check_flags(n, fn, "null.node");
    link_of(z1, now, sizeof(now));
    CHECK(strcmp(now, l1) == 0, "zero.node links to \"%s\", was \"%s\"", now, l1);
    link_of(z2, now, sizeof(now));
    CHECK(strcmp(now, l2) == 0, "zero.node (second) links to \"%s\", was \"%s\"", now, l2);
    link_of(n, now, sizeof(now));
    CHECK(strcmp(now, ln) == 0, "null.node links to \"%s\", was \"%s\"", now, ln);
    struct stat a, b, c;
    CHECK(fstat(z1, &a) == 0 && fstat(z2, &b) == 0 && fstat(zdup, &c) == 0, "fstat: %s", strerror(errno));
    CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "the two opens of zero.node are inodes %lu and %lu",
          (unsigned long)a.st_ino, (unsigned long)b.st_ino);
    CHECK(fcntl(zdup, F_GETFL) == f1 && c.st_ino == a.st_ino, "the dup is not of the first open");
    CHECK(access("zero.node", F_OK) == -1 && errno == ENOENT, "zero.node exists again");
    CHECK(access("null.node", F_OK) == -1 && errno == ENOENT, "null.node exists again");
    char buf[8] = {1};
    CHECK(read(z2, buf, 8) == 8 && buf[0] == 0, "zero.node reads no zeros");
    CHECK(write(n, buf, 8) == 8, "write null.node: %s", strerror(errno));
    pass();
}

/* Binds a free loop device to a file of the cwd filled with the pattern; returns its number. */
static int loop_setup(void)
{
    int backing = open("loop.img", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(backing >= 0, "open loop.img: %s", strerror(errno));
    static char data[LOOP_SIZE];
    pattern_fill(data, LOOP_SIZE, 11);
    CHECK(write(backing, data, LOOP_SIZE) == LOOP_SIZE, "write loop.img: %s", strerror(errno));
    int ctl = open("/dev/loop-control", O_RDWR);
    CHECK(ctl >= 0, "open /dev/loop-control: %s", strerror(errno));
    for (int tries = 0; tries < 10; tries++) {
        int n = ioctl(ctl, LOOP_CTL_GET_FREE);
        CHECK(n >= 0, "LOOP_CTL_GET_FREE: %s", strerror(errno));
        char name[32];
        snprintf(name, sizeof(name), "/dev/loop%d", n);
        int lfd = open(name, O_RDWR);
        CHECK(lfd >= 0, "open %s: %s", name, strerror(errno));
        if (ioctl(lfd, LOOP_SET_FD, backing) == 0) {
            test_msg("LOOP %s", name);
            close(lfd);
            close(ctl);
            close(backing);
            return n;
        }
        CHECK(errno == EBUSY, "LOOP_SET_FD %s: %s", name, strerror(errno));
        close(lfd);   /* taken meanwhile by someone else: the next free one */
    }
    fail("no free loop device in 10 tries");
}

static void loop_detach(int n)
{
    char name[32];
    snprintf(name, sizeof(name), "/dev/loop%d", n);
    int lfd = open(name, O_RDONLY);
    CHECK(lfd >= 0 && ioctl(lfd, LOOP_CLR_FD) == 0, "LOOP_CLR_FD %s: %s", name, strerror(errno));
    close(lfd);
    unlink("loop.img");
}

static void block(void)
{
    int n = loop_setup();
    char name[32], buf[64];
    snprintf(name, sizeof(name), "/dev/loop%d", n);
    int fd = open_or_die(name, O_RDONLY);
    CHECK(lseek(fd, LOOP_POS, SEEK_SET) == LOOP_POS, "lseek %s: %s", name, strerror(errno));
    int fl = fcntl(fd, F_GETFL);
    test_ready();
    test_waitsig();

    check_node(fd, name, 0, makedev(7, n), 1);
    check_flags(fd, fl, name);
    CHECK(lseek(fd, 0, SEEK_CUR) == LOOP_POS, "%s offset %ld, was %d", name, (long)lseek(fd, 0, SEEK_CUR), LOOP_POS);
    CHECK(read(fd, buf, sizeof(buf)) == sizeof(buf), "read %s: %s", name, strerror(errno));
    static char data[LOOP_SIZE];
    pattern_fill(data, LOOP_SIZE, 11);
    CHECK(memcmp(buf, data + LOOP_POS, sizeof(buf)) == 0, "%s reads other bytes at %d", name, LOOP_POS);
    CHECK(write(fd, "x", 1) == -1 && errno == EBADF, "%s read-only accepts a write", name);
    close(fd);
    loop_detach(n);
    pass();
}

static int32_t latency_target(void)
{
    int fd = open("/dev/cpu_dma_latency", O_RDONLY);
    CHECK(fd >= 0, "open /dev/cpu_dma_latency: %s", strerror(errno));
    int32_t v = 0;
    CHECK(read(fd, &v, 4) == 4, "read /dev/cpu_dma_latency: %s", strerror(errno));
    close(fd);
    return v;
}

static void pmqos(void)
{
    int rw = open_or_die("/dev/cpu_dma_latency", O_RDWR), ro = open_or_die("/dev/cpu_dma_latency", O_RDONLY);
    int32_t v = 33, got = 0;
    int fl = fcntl(rw, F_GETFL);
    CHECK(write(rw, &v, 4) == 4, "write 33: %s", strerror(errno));
    CHECK(read(rw, &got, 4) == 4 && got == 33, "the target in force is %d, want 33", got);
    test_ready();
    test_waitsig();

    CHECK(latency_target() == 33, "the target in force is %d after restart, want 33", latency_target());
    CHECK(read(rw, &got, 4) == 0, "the request's open file is not at offset 4 any more");
    CHECK(read(ro, &got, 4) == 4 && got == 33, "the read-only open reads %d, want 33", got);
    check_flags(rw, fl, "rw");
    v = 2000000000;   /* the default: the request gone, as at close */
    CHECK(write(rw, &v, 4) == 4 && latency_target() == 2000000000, "after withdrawing ours the target is %d: a"
          " second request of 33 is in force", latency_target());
    pass();
}

static void pmqos2(void)
{
    int a = open_or_die("/dev/cpu_dma_latency", O_RDWR), b = open_or_die("/dev/cpu_dma_latency", O_WRONLY);
    int32_t v = 44;
    CHECK(write(a, &v, 4) == 4, "write 44: %s", strerror(errno));
    (void)b;
    test_ready();
    test_waitsig();
    CHECK(latency_target() == 44, "the target in force is %d, want 44", latency_target());
    pass();
}

static void terminal(void)
{
    int fd = open("/dev/tty63", O_RDWR | O_NOCTTY);
    CHECK(fd >= 0, "open /dev/tty63: %s", strerror(errno));
    test_msg("FD /dev/tty63 %d", fd);
    struct termios orig, t, now;
    struct winsize orig_ws, ws = {.ws_row = 33, .ws_col = 77}, ws_now;
    CHECK(tcgetattr(fd, &orig) == 0 && ioctl(fd, TIOCGWINSZ, &orig_ws) == 0, "tcgetattr: %s", strerror(errno));
    t = orig;
    t.c_lflag &= ~(ICANON | ECHO);
    t.c_cc[VMIN] = 3;
    t.c_cc[VTIME] = 9;
    t.c_iflag |= IGNCR;
    CHECK(tcsetattr(fd, TCSANOW, &t) == 0 && ioctl(fd, TIOCSWINSZ, &ws) == 0, "tcsetattr: %s", strerror(errno));
    CHECK(tcgetattr(fd, &t) == 0, "tcgetattr: %s", strerror(errno));
    int fl = fcntl(fd, F_GETFL);
    test_ready();
    test_waitsig();

    CHECK(tcgetattr(fd, &now) == 0 && ioctl(fd, TIOCGWINSZ, &ws_now) == 0, "tcgetattr: %s", strerror(errno));
    int same = now.c_iflag == t.c_iflag && now.c_oflag == t.c_oflag && now.c_cflag == t.c_cflag
               && now.c_lflag == t.c_lflag && memcmp(now.c_cc, t.c_cc, sizeof(t.c_cc)) == 0;
    tcsetattr(fd, TCSANOW, &orig);
    ioctl(fd, TIOCSWINSZ, &orig_ws);
    CHECK(same, "termios of /dev/tty63 differs: lflag 0%o, was 0%o; VMIN %d, was %d", now.c_lflag, t.c_lflag,
          now.c_cc[VMIN], t.c_cc[VMIN]);
    CHECK(ws_now.ws_row == 33 && ws_now.ws_col == 77, "window %dx%d, want 33x77", ws_now.ws_row, ws_now.ws_col);
    check_node(fd, "/dev/tty63", 0, makedev(4, 63), 1);
    check_flags(fd, fl, "/dev/tty63");
    pass();
}

static void hungup(void)
{
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
    CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "open /dev/ptmx: %s", strerror(errno));
    const char *name = ptsname(m);
    int s1 = open(name, O_RDWR | O_NOCTTY), s2 = open(name, O_WRONLY | O_NOCTTY | O_NONBLOCK);
    CHECK(s1 >= 0 && s2 >= 0, "open %s: %s", name, strerror(errno));
    close(m);
    int f1 = fcntl(s1, F_GETFL), f2 = fcntl(s2, F_GETFL);
    test_ready();
    test_waitsig();

    int fds[] = {s1, s2}, fl[] = {f1, f2};
    for (int i = 0; i < 2; i++) {
        char link[512];
        link_of(fds[i], link, sizeof(link));
        CHECK(strncmp(link, "/dev/pts/", 9) == 0 && strstr(link, " (deleted)") != NULL, "fd %d links to %s",
              fds[i], link);
        check_flags(fds[i], fl[i], link);
        struct stat st;
        CHECK(fstat(fds[i], &st) == 0 && major(st.st_rdev) == 136, "fd %d: fstat or major %u", fds[i],
              major(st.st_rdev));
        CHECK(write(fds[i], "x", 1) == -1 && errno == EIO, "fd %d: a write to a hung-up slave gives %s", fds[i],
              strerror(errno));
    }
    char buf[8];
    CHECK(read(s1, buf, sizeof(buf)) == 0, "a read of the hung-up slave gives no end of file");
    pass();
}

static void refuse(void)
{
    int kvm = open_or_die("/dev/kvm", O_RDWR), fuse = open_or_die("/dev/fuse", O_RDWR);
    int tun = open_or_die("/dev/net/tun", O_RDWR), kmsg = open_or_die("/dev/kmsg", O_RDONLY | O_NONBLOCK);
    int n = loop_setup();
    char name[32];
    snprintf(name, sizeof(name), "/dev/loop%d", n);
    int lfd = open(name, O_RDONLY);
    CHECK(lfd >= 0, "open %s: %s", name, strerror(errno));
    char *map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, lfd, 0);
    CHECK(map != MAP_FAILED, "mmap %s: %s", name, strerror(errno));
    close(lfd);
    test_msg("MAP %lx-%lx", (unsigned long)map, (unsigned long)map + 4096);
    test_ready();
    test_waitsig();

    CHECK(ioctl(kvm, 0xAE00 /* KVM_GET_API_VERSION */, 0) == 12, "/dev/kvm: %s", strerror(errno));
    int fds[] = {fuse, tun, kmsg};
    for (int i = 0; i < 3; i++)
        CHECK(fcntl(fds[i], F_GETFD) >= 0, "fd %d closed", fds[i]);
    static char data[LOOP_SIZE];
    pattern_fill(data, LOOP_SIZE, 11);
    CHECK(memcmp(map, data, 4096) == 0, "the mapping of %s reads other bytes", name);
    munmap(map, 4096);
    loop_detach(n);
    pass();
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    const char *mode = argc > 1 ? argv[1] : "stateless";
    if (strcmp(mode, "stateless") == 0)
        stateless();
    if (strcmp(mode, "deleted") == 0)
        deleted();
    if (strcmp(mode, "block") == 0)
        block();
    if (strcmp(mode, "pmqos") == 0)
        pmqos();
    if (strcmp(mode, "pmqos2") == 0)
        pmqos2();
    if (strcmp(mode, "terminal") == 0)
        terminal();
    if (strcmp(mode, "hungup") == 0)
        hungup();
    if (strcmp(mode, "refuse") == 0)
        refuse();
    fail("unknown mode %s", mode);
}
