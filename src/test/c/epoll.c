/*
 * epoll: an outer epoll (fd 3 or so) watching, with distinct events and data, a timerfd that
 * has expired (ready), one an hour away, an inner epoll at fd 100 (higher than its watcher) that
 * watches the ready timerfd, and a dup (fd 120) of a middle epoll at fd 50 that watches a timer
 * due 3 s after restart. After restart: every epoll's watches (fdinfo tfd/events/data) are the
 * same, epoll_wait returns the right data for the ready ones, and the middle epoll becomes ready
 * through the outer one when its timer fires.
 *
 *   epoll          the above
 *   epoll closed   also a watch whose descriptor was closed while a dup keeps the file open, and
 *                  one whose descriptor number names another file (a pipe) since: both come back
 *                  with their numbers (fdinfo tfd lines the same)
 *   epoll elsewhere  also a watch of a pipe that only a child holds once the parent closed its
 *                  descriptor: the checkpoint refuses it; prints "FD <epoll fd>"
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SEC 1000000000LL
#define D_READY 0x1122334455667788ULL
#define D_LATER 0xffffffffffffffffULL
#define D_INNER 0x8000000000000001ULL
#define D_MID 0x50ULL
#define D_INNER_READY 0xdeadbeefcafef00dULL

static int timer(int64_t value)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec s = { { 0, 0 }, { value / SEC, value % SEC } };
    CHECK(fd >= 0 && timerfd_settime(fd, 0, &s, NULL) == 0, "timerfd: %s", strerror(errno));
    return fd;
}

static void watch(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = { .events = events, .data.u64 = data };
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl(%d, ADD, %d): %s", ep, fd, strerror(errno));
}

static int move_to(int fd, int to)
{
    CHECK(dup3(fd, to, O_CLOEXEC) == to && close(fd) == 0, "dup3 %d to %d: %s", fd, to, strerror(errno));
    return to;
}

/* The "tfd: N events: X data: Y" part of every watch line of this epoll's fdinfo, sorted. */
static char *watches(int ep)
{
    char path[64], *text, *out, *line, *save;
    size_t len;
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
    CHECK((text = read_file(path, &len)) != NULL, "read %s: %s", path, strerror(errno));
    char *lines[64];
    int n = 0;
    for (line = strtok_r(text, "\n", &save); line && n < 64; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "tfd:", 4) != 0)
            continue;
        char *pos = strstr(line, " pos:");
        if (pos)
            *pos = 0;
        lines[n++] = line;
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(lines[j], lines[i]) < 0) {
                char *t = lines[i];
                lines[i] = lines[j];
                lines[j] = t;
            }
    out = calloc(1, len + 1);
    for (int i = 0; i < n; i++) {
        strcat(out, lines[i]);
        strcat(out, "\n");
    }
    free(text);
    return out;
}

/* Every event epoll_wait reports within timeout_ms; fails on anything else than want. */
static int wait_for(int ep, uint64_t want, int timeout_ms, const char *name)
{
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, 8, timeout_ms);
    CHECK(n >= 0, "epoll_wait %s: %s", name, strerror(errno));
    int found = 0;
    for (int i = 0; i < n; i++) {
        CHECK(ev[i].data.u64 == want || ev[i].data.u64 == D_READY || ev[i].data.u64 == D_INNER,
              "epoll_wait %s: unexpected data 0x%llx (events 0x%x)", name, (unsigned long long)ev[i].data.u64,
              ev[i].events);
        found |= ev[i].data.u64 == want;
    }
    return found;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int closed = argc > 1 && strcmp(argv[1], "closed") == 0;
    int elsewhere = argc > 1 && strcmp(argv[1], "elsewhere") == 0;
    pid_t child = -1;
    int outer = epoll_create1(EPOLL_CLOEXEC);
    CHECK(outer >= 0, "epoll_create1: %s", strerror(errno));
    int ready = timer(1000000);
    int later = timer(3600 * SEC);
    usleep(20000); /* ready has expired */
    int inner = move_to(epoll_create1(0), 100);
    int mid = move_to(epoll_create1(0), 50);
    int mid_dup = dup2(mid, 120);
    int soon = -1;

    watch(outer, ready, EPOLLIN | EPOLLET, D_READY);
    watch(outer, later, EPOLLIN | EPOLLPRI, D_LATER);
    watch(outer, inner, EPOLLIN, D_INNER);
    watch(outer, mid_dup, EPOLLIN | EPOLLRDHUP, D_MID);
    watch(inner, ready, EPOLLIN, D_INNER_READY);
    if (closed) {
        int gone = fcntl(later, F_DUPFD, 200); /* high: not reused by the timer made after READY */
        watch(outer, gone, EPOLLIN, 7);
        close(gone);
        int other = eventfd(0, 0);
        CHECK(other >= 0, "eventfd: %s", strerror(errno));
        int replaced = fcntl(later, F_DUPFD, 201);
        watch(outer, replaced, EPOLLIN | EPOLLPRI, 8);
        CHECK(dup2(other, replaced) == replaced, "dup2: %s", strerror(errno));
        close(other);
    }
    if (elsewhere) {
        int p[2];
        CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
        watch(outer, p[0], EPOLLIN, 9);
        child = fork();
        CHECK(child >= 0, "fork: %s", strerror(errno));
        if (child == 0) {
            for (;;)
                pause();
        }
        close(p[0]);
        printf("FD %d\n", outer);
    }
    char *outer_was = watches(outer), *inner_was = watches(inner), *mid_was;

    test_ready();
    /* armed only now: it must fire after the restart (the harness checkpoints within a few seconds) */
    soon = timer(3 * SEC);
    watch(mid, soon, EPOLLIN, 0x5005);
    mid_was = watches(mid);
    test_waitsig();

    char *outer_now = watches(outer), *inner_now = watches(inner), *mid_now = watches(mid);
    CHECK(strcmp(outer_now, outer_was) == 0, "outer epoll fd %d watches:\n%s, was:\n%s", outer, outer_now, outer_was);
    CHECK(strcmp(inner_now, inner_was) == 0, "inner epoll fd %d watches:\n%s, was:\n%s", inner, inner_now, inner_was);
    CHECK(strcmp(mid_now, mid_was) == 0, "middle epoll fd %d watches:\n%s, was:\n%s", mid, mid_now, mid_was);
    CHECK(fcntl(outer, F_GETFD) == FD_CLOEXEC && fcntl(inner, F_GETFD) == FD_CLOEXEC && fcntl(mid_dup, F_GETFD) == 0,
          "FD_CLOEXEC not kept");

    /* the ready timer, directly and through the inner epoll */
    struct epoll_event ev[8];
    int n = epoll_wait(inner, ev, 8, 0);
    CHECK(n == 1 && ev[0].data.u64 == D_INNER_READY && (ev[0].events & EPOLLIN),
          "inner epoll: %d events, data 0x%llx, expected 1 with 0x%llx", n, n > 0 ? (unsigned long long)ev[0].data.u64 : 0,
          D_INNER_READY);
    n = epoll_wait(outer, ev, 8, 0);
    int got_ready = 0, got_inner = 0;
    for (int i = 0; i < n; i++) {
        got_ready |= ev[i].data.u64 == D_READY;
        got_inner |= ev[i].data.u64 == D_INNER;
        CHECK(ev[i].data.u64 == D_READY || ev[i].data.u64 == D_INNER || ev[i].data.u64 == D_MID,
              "outer epoll: unexpected data 0x%llx", (unsigned long long)ev[i].data.u64);
    }
    CHECK(got_ready && got_inner, "outer epoll: ready timer %s, inner epoll %s", got_ready ? "reported" : "missing",
          got_inner ? "reported" : "missing");

    /* the middle epoll (watched through its dup) becomes ready when its timer fires */
    int found = 0;
    for (int64_t end = now_ns(CLOCK_MONOTONIC) + 10 * SEC; !found && now_ns(CLOCK_MONOTONIC) < end;)
        found = wait_for(outer, D_MID, 500, "outer");
    CHECK(found, "outer epoll: the middle epoll never became ready");
    n = epoll_wait(mid, ev, 8, 0);
    CHECK(n == 1 && ev[0].data.u64 == 0x5005, "middle epoll: %d events, expected its timer", n);
    uint64_t t;
    CHECK(read(soon, &t, 8) == 8 && t == 1, "timer of the middle epoll: read %llu", (unsigned long long)t);
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    pass();
}
