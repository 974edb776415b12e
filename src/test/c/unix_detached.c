/*
 * unix_detached: unix sockets bound to path names whose files are not theirs any more, in the
 * current directory D:
 *   gone     datagram socket bound to D/sub/gone, with its file and the directory sub removed;
 *            an unnamed datagram socket (gone_c) connected to it, "queued" waiting in it
 *   fifo     datagram socket bound to D/fifo, whose file was unlinked and a FIFO made there
 *   twin1/2  two stream listeners bound to D/twin: twin1's file moved away and back over
 *            twin2's (so the file at D/twin is twin1's, twin2's is gone); a client connected to
 *            twin2 and accepted (twin2_c / twin2_s), one waiting in twin2's queue (twin2_q)
 *   rel      seqpacket listener bound to the relative name "rel.sock", its file unlinked
 *   live     a datagram socket bound to D/live whose file is still its own
 * After restart: every getsockname is the same, the file system is as it was (no D/sub, a FIFO
 * at D/fifo, twin1's socket file at D/twin, nothing at D/rel.sock, D/live is a socket), the
 * queued datagram is there, the connections carry data, twin2 accepts its queued client, and
 * a new client reaches twin1 (the one whose file is at D/twin) and live through their files.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct named {
    const char *name;
    int fd;
    struct sockaddr_un addr;
    socklen_t len;
};

static struct sockaddr_un addr_of(const char *path, socklen_t *len)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    *len = offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
    return a;
}

static int bound(int type, const char *path)
{
    socklen_t len;
    struct sockaddr_un a = addr_of(path, &len);
    int fd = socket(AF_UNIX, type, 0);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, len) == 0, "bind %s: %s", path, strerror(errno));
    return fd;
}

static int connected(int type, const char *path)
{
    socklen_t len;
    struct sockaddr_un a = addr_of(path, &len);
    int fd = socket(AF_UNIX, type, 0);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, len) == 0, "connect %s: %s", path, strerror(errno));
    return fd;
}

static void record(struct named *n)
{
    n->len = sizeof(n->addr);
    memset(&n->addr, 0, sizeof(n->addr));
    CHECK(getsockname(n->fd, (struct sockaddr *)&n->addr, &n->len) == 0, "%s: getsockname: %s", n->name,
          strerror(errno));
}

static void same_name(const struct named *was)
{
    struct named now = *was;
    record(&now);
    CHECK(now.len == was->len && memcmp(&now.addr, &was->addr, was->len) == 0, "%s: getsockname '%s', was '%s'",
          was->name, now.addr.sun_path, was->addr.sun_path);
}

static void carries(int from, int to, const char *what)
{
    char b[16] = "";
    struct pollfd p = { .fd = to, .events = POLLIN };
    CHECK(write(from, "hey", 3) == 3, "%s: write: %s", what, strerror(errno));
    CHECK(poll(&p, 1, 5000) == 1 && read(to, b, sizeof(b)) == 3 && memcmp(b, "hey", 3) == 0, "%s: no data", what);
}

static mode_t type_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (st.st_mode & S_IFMT) : 0;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    char cwd[200], sub[256], gone[300], fifo[300], twin[300], moved[300], live[300];
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd");
    snprintf(sub, sizeof(sub), "%s/sub", cwd);
    snprintf(gone, sizeof(gone), "%s/gone", sub);
    snprintf(fifo, sizeof(fifo), "%s/fifo", cwd);
    snprintf(twin, sizeof(twin), "%s/twin", cwd);
    snprintf(moved, sizeof(moved), "%s/twin.moved", cwd);
    snprintf(live, sizeof(live), "%s/live", cwd);

    CHECK(mkdir(sub, 0755) == 0, "mkdir: %s", strerror(errno));
    struct named g = { "gone", bound(SOCK_DGRAM, gone) };
    int gone_c = connected(SOCK_DGRAM, gone);
    CHECK(write(gone_c, "queued", 6) == 6, "write queued: %s", strerror(errno));
    CHECK(unlink(gone) == 0 && rmdir(sub) == 0, "remove sub: %s", strerror(errno));

    struct named f = { "fifo", bound(SOCK_DGRAM, fifo) };
    int fifo_c = connected(SOCK_DGRAM, fifo);
    CHECK(unlink(fifo) == 0 && mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));

    struct named t1 = { "twin1", bound(SOCK_STREAM, twin) }, t2;
    CHECK(listen(t1.fd, 4) == 0 && rename(twin, moved) == 0, "twin1: %s", strerror(errno));
    t2 = (struct named){ "twin2", bound(SOCK_STREAM, twin) };
    CHECK(listen(t2.fd, 4) == 0, "listen twin2: %s", strerror(errno));
    int twin2_c = connected(SOCK_STREAM, twin), twin2_s = accept(t2.fd, NULL, NULL);
    int twin2_q = connected(SOCK_STREAM, twin);
    CHECK(twin2_s >= 0 && rename(moved, twin) == 0, "twin: %s", strerror(errno));

    struct named r = { "rel", bound(SOCK_SEQPACKET, "rel.sock") };
    CHECK(listen(r.fd, 2) == 0 && unlink("rel.sock") == 0, "rel: %s", strerror(errno));

    struct named l = { "live", bound(SOCK_DGRAM, live) };
    struct named *all[] = { &g, &f, &t1, &t2, &r, &l };
    for (int i = 0; i < 6; i++)
        record(all[i]);

    test_ready();
    test_waitsig();

    for (int i = 0; i < 6; i++)
        same_name(all[i]);
    CHECK(type_of(sub) == 0, "%s exists after restart", sub);
    CHECK(type_of(fifo) == S_IFIFO, "%s is not the FIFO any more", fifo);
    CHECK(type_of(twin) == S_IFSOCK && type_of(moved) == 0, "%s is not a socket file", twin);
    CHECK(type_of("rel.sock") == 0, "rel.sock exists after restart");
    CHECK(type_of(live) == S_IFSOCK, "%s is not a socket file", live);

    char b[16] = "";
    CHECK(recv(g.fd, b, sizeof(b), MSG_DONTWAIT) == 6 && memcmp(b, "queued", 6) == 0, "gone: queued datagram lost");
    carries(gone_c, g.fd, "gone");
    carries(fifo_c, f.fd, "fifo");
    carries(twin2_c, twin2_s, "twin2 connection");
    carries(twin2_s, twin2_c, "twin2 connection back");
    int q = accept(t2.fd, NULL, NULL);
    CHECK(q >= 0, "twin2: accept the queued client: %s", strerror(errno));
    carries(twin2_q, q, "twin2 queued connection");
    int c = connected(SOCK_STREAM, twin), a = accept(t1.fd, NULL, NULL);
    CHECK(a >= 0, "twin1: a new client at its file is not accepted by it: %s", strerror(errno));
    carries(c, a, "twin1 new connection");
    int lc = connected(SOCK_DGRAM, live);
    carries(lc, l.fd, "live");
    pass();
}
