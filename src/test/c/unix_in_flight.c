/*
 * unix_in_flight: descriptors in flight (SCM_RIGHTS) in unix sockets' receive queues, with their
 * messages:
 *   datagram pair d0 -> d1   "pipe" carrying the read end of a pipe (its only descriptor; "data"
 *                            buffered in the pipe, the write end kept); "two" carrying a regular
 *                            file at offset 3 and a second pipe's read end; "none" carrying nothing
 *   stream pair s0 -> s1     "abc" carrying an eventfd with count 5, then "def"
 *   seqpacket pair q0 -> q1  "rec" carrying a pipe's write end whose read end is kept
 * After restart every message comes in order with its descriptors, and each works: the pipe
 * reads "data", the file is at offset 3 and reads "3456", the second pipe reads "pipe2", the eventfd
 * reads 5, a write through the write end reaches the kept read end.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

static void send_fds(int via, const char *msg, const int *fds, int n)
{
    union { struct cmsghdr h; char b[CMSG_SPACE(2 * sizeof(int))]; } ctl;
    struct iovec iov = { (void *)msg, strlen(msg) };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    memset(&ctl, 0, sizeof(ctl));
    if (n > 0) {
        m.msg_control = &ctl;
        m.msg_controllen = CMSG_SPACE(n * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(n * sizeof(int));
        memcpy(CMSG_DATA(c), fds, n * sizeof(int));
    }
    CHECK(sendmsg(via, &m, 0) == (ssize_t)strlen(msg), "sendmsg %s: %s", msg, strerror(errno));
}

/* Receives the message expected (its length exactly) and the descriptors with it; their count. */
static int recv_fds(int via, const char *want, int *fds)
{
    union { struct cmsghdr h; char b[CMSG_SPACE(4 * sizeof(int))]; } ctl;
    char buf[16] = "";
    struct iovec iov = { buf, strlen(want) };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl) };
    ssize_t got = recvmsg(via, &m, MSG_DONTWAIT);
    CHECK(got == (ssize_t)strlen(want) && memcmp(buf, want, got) == 0, "expected '%s', got %zd bytes '%s' (%s)", want,
          got, buf, strerror(errno));
    int n = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds, CMSG_DATA(c), n * sizeof(int));
        }
    return n;
}

static void reads(int fd, const char *want, const char *what)
{
    char buf[16] = "";
    CHECK(read(fd, buf, strlen(want)) == (ssize_t)strlen(want) && memcmp(buf, want, strlen(want)) == 0,
          "%s: expected '%s', read '%s'", what, want, buf);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int d[2], s[2], q[2], p[2], w[2], fds[4];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, d) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0
                  && socketpair(AF_UNIX, SOCK_SEQPACKET, 0, q) == 0 && pipe(p) == 0 && pipe(w) == 0,
          "socketpair, pipe: %s", strerror(errno));
    CHECK(write(p[1], "data", 4) == 4, "write pipe: %s", strerror(errno));
    send_fds(d[0], "pipe", &p[0], 1);
    close(p[0]);

    int file = open("in_flight.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
    int p2[2];
    CHECK(pipe(p2) == 0 && write(p2[1], "pipe2", 5) == 5, "pipe2: %s", strerror(errno));
    int mem = p2[0];
    close(p2[1]);
    CHECK(file >= 0 && write(file, "0123456", 7) == 7 && lseek(file, 3, SEEK_SET) == 3, "file: %s", strerror(errno));
    int two[2] = { file, mem };
    send_fds(d[0], "two", two, 2);
    close(file);
    close(mem);
    send_fds(d[0], "none", NULL, 0);

    int ev = eventfd(5, 0);
    CHECK(ev >= 0, "eventfd: %s", strerror(errno));
    send_fds(s[0], "abc", &ev, 1);
    close(ev);
    send_fds(s[0], "def", NULL, 0);

    send_fds(q[0], "rec", &w[1], 1);
    close(w[1]);

    test_ready();
    test_waitsig();

    CHECK(recv_fds(d[1], "pipe", fds) == 1, "pipe: no descriptor");
    reads(fds[0], "data", "pipe in flight");
    CHECK(recv_fds(d[1], "two", fds) == 2, "two: not two descriptors");
    CHECK(lseek(fds[0], 0, SEEK_CUR) == 3, "file in flight: offset %ld", (long)lseek(fds[0], 0, SEEK_CUR));
    reads(fds[0], "3456", "file in flight");
    reads(fds[1], "pipe2", "second pipe in flight");
    CHECK(recv_fds(d[1], "none", fds) == 0, "none: descriptors came with it");
    CHECK(recv_fds(s[1], "abc", fds) == 1, "abc: no descriptor");
    uint64_t count = 0;
    CHECK(read(fds[0], &count, 8) == 8 && count == 5, "eventfd in flight: count %llu", (unsigned long long)count);
    CHECK(recv_fds(s[1], "def", fds) == 0, "def: descriptors came with it");
    CHECK(recv_fds(q[1], "rec", fds) == 1, "rec: no descriptor");
    CHECK(write(fds[0], "w", 1) == 1, "write end in flight: %s", strerror(errno));
    reads(w[0], "w", "pipe through the write end in flight");
    pass();
}
