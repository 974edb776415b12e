/*
 * server_tree: a small event-driven server and its client, in one tree, mid-conversation.
 *
 * The server (the root) runs one epoll loop over a unix listening socket (server.sock in the cwd),
 * the connections it accepts, an eventfd it signals itself with after every reply (counted), and
 * a periodic timerfd (every 20 ms). The client (its child) connects and keeps one request in
 * flight: it sends "ping N", waits for "pong N", sends "ping N+1", forever; it checks that every
 * reply is the one it waited for. READY once 20 round trips are done. On SIGTERM the server tells
 * the client to stop (SIGUSR1), the client reports how many round trips it did and whether any was
 * wrong, and the server checks that the count it served, the eventfd's count and the timer's ticks
 * all went on past their values at READY.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t client_stop;
static void on_usr1(int s) { (void)s; client_stop = 1; }

static int client(int report)
{
    signal(SIGTERM, SIG_DFL);
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, "server.sock");
    while (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
        usleep(1000);
    long n = 0, bad = 0;
    char buf[64];
    while (!client_stop) {
        int len = snprintf(buf, sizeof(buf), "ping %ld\n", n);
        if (write(s, buf, len) != len) {
            if (errno == EINTR) continue;
            bad++;
            break;
        }
        char in[64];
        int got = 0;
        while (got == 0 || in[got - 1] != '\n') {
            ssize_t r = read(s, in + got, sizeof(in) - 1 - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                bad++;
                goto out;
            }
            got += r;
        }
        in[got] = 0;
        char want[64];
        snprintf(want, sizeof(want), "pong %ld\n", n);
        if (strcmp(in, want) != 0)
            bad++;
        n++;
    }
out:
    dprintf(report, "%ld %ld\n", n, bad);
    return 0;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    unlink("server.sock");
    int lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, "server.sock");
    CHECK(bind(lsock, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lsock, 8) == 0, "listen: %s", strerror(errno));
    int efd = eventfd(0, EFD_NONBLOCK);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec its = {.it_interval = {0, 20000000}, .it_value = {0, 20000000}};
    CHECK(efd >= 0 && tfd >= 0 && timerfd_settime(tfd, 0, &its, NULL) == 0, "eventfd/timerfd: %s", strerror(errno));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = lsock; epoll_ctl(ep, EPOLL_CTL_ADD, lsock, &ev);
    ev.data.fd = efd; epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    ev.data.fd = tfd; epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    int rep[2];
    CHECK(pipe(rep) == 0, "pipe");
    pid_t c = fork();
    if (c == 0) {
        close(rep[0]);
        _exit(client(rep[1]));
    }
    close(rep[1]);

    long served = 0, events = 0, ticks = 0, at_ready[3] = {0};
    int conn = -1, ready = 0;
    char buf[256];
    int have = 0;
    while (!test_stop) {
        struct epoll_event out[8];
        int n = epoll_wait(ep, out, 8, 100);
        for (int i = 0; i < n; i++) {
            int fd = out[i].data.fd;
            if (fd == lsock) {
                conn = accept4(lsock, NULL, NULL, SOCK_NONBLOCK);
                struct epoll_event e = {.events = EPOLLIN, .data.fd = conn};
                epoll_ctl(ep, EPOLL_CTL_ADD, conn, &e);
            } else if (fd == efd) {
                uint64_t v;
                if (read(efd, &v, 8) == 8) events += v;
            } else if (fd == tfd) {
                uint64_t v;
                if (read(tfd, &v, 8) == 8) ticks += v;
            } else if (fd == conn) {
                ssize_t r = read(conn, buf + have, sizeof(buf) - 1 - have);
                if (r <= 0) continue;
                have += r;
                char *nl;
                while ((nl = memchr(buf, '\n', have)) != NULL) {
                    long k;
                    *nl = 0;
                    CHECK(sscanf(buf, "ping %ld", &k) == 1 && k == served, "request '%s', expected ping %ld", buf, served);
                    char reply[64];
                    int len = snprintf(reply, sizeof(reply), "pong %ld\n", k);
                    CHECK(write(conn, reply, len) == len, "reply: %s", strerror(errno));
                    served++;
                    uint64_t one = 1;
                    CHECK(write(efd, &one, 8) == 8, "eventfd write");
                    int rest = have - (int)(nl + 1 - buf);
                    memmove(buf, nl + 1, rest);
                    have = rest;
                }
            }
        }
        if (!ready && served >= 20 && ticks >= 3) {
            at_ready[0] = served; at_ready[1] = events; at_ready[2] = ticks;
            ready = 1;
            test_ready();
        }
    }
    kill(c, SIGUSR1);
    /* serve until the client has stopped and reported */
    FILE *in = fdopen(rep[0], "r");
    long n = -1, bad = -1;
    int64_t deadline = now_ns(CLOCK_MONOTONIC) + 10000000000LL;
    while (now_ns(CLOCK_MONOTONIC) < deadline) {
        struct epoll_event out[8];
        int k = epoll_wait(ep, out, 8, 5);
        for (int i = 0; i < k; i++) {
            if (out[i].data.fd == conn) {
                ssize_t r = read(conn, buf + have, sizeof(buf) - 1 - have);
                if (r <= 0) continue;
                have += r;
                char *nl;
                while ((nl = memchr(buf, '\n', have)) != NULL) {
                    long q;
                    *nl = 0;
                    if (sscanf(buf, "ping %ld", &q) == 1) {
                        char reply[64];
                        int len = snprintf(reply, sizeof(reply), "pong %ld\n", q);
                        if (write(conn, reply, len) == len) served++;
                    }
                    int rest = have - (int)(nl + 1 - buf);
                    memmove(buf, nl + 1, rest);
                    have = rest;
                }
            } else if (out[i].data.fd == tfd) {
                uint64_t v;
                if (read(tfd, &v, 8) == 8) ticks += v;
            }
        }
        int st;
        if (waitpid(c, &st, WNOHANG) == c) {
            CHECK(fscanf(in, "%ld %ld", &n, &bad) == 2, "no report from the client");
            break;
        }
    }
    if (n < 0) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/wchan", (int)c);
        char *wchan = read_file(path, NULL);
        fail("the client did not stop within 10 s of SIGUSR1 (served %ld, client in %s)", served, wchan ? wchan : "?");
    }
    CHECK(bad == 0, "the client saw %ld wrong or missing replies", bad);
    CHECK(n > at_ready[0], "round trips did not go on after READY (%ld, then %ld)", at_ready[0], n);
    CHECK(served >= n, "served %ld, client counted %ld", served, n);
    CHECK(events > at_ready[1], "eventfd count did not go on (%ld, then %ld)", at_ready[1], events);
    CHECK(ticks > at_ready[2], "timerfd did not go on ticking (%ld, then %ld)", at_ready[2], ticks);
    unlink("server.sock");
    pass();
}
