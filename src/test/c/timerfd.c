/*
 * timerfd: a periodic CLOCK_MONOTONIC timer mid-way to its first expiry, an absolute
 * CLOCK_REALTIME timer an hour ahead (TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET), a disarmed
 * CLOCK_BOOTTIME one, a one-shot that expired once and a periodic absolute one that expired twice,
 * neither read. After restart: clocks, flags and intervals are the same, the remaining times are
 * sane (> 0, not more than before, the absolute expiry unchanged), the unread expirations read
 * back 1 and 2, and the periodic timer fires.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SEC 1000000000LL

static int64_t ns(struct timespec t) { return t.tv_sec * SEC + t.tv_nsec; }
static struct timespec ts(int64_t n) { return (struct timespec){ n / SEC, n % SEC }; }

static struct itimerspec get(int fd, const char *name)
{
    struct itimerspec s;
    CHECK(timerfd_gettime(fd, &s) == 0, "timerfd_gettime %s: %s", name, strerror(errno));
    return s;
}

/* The value of "label: " in this descriptor's fdinfo, or -1. */
static long long fdinfo(int fd, const char *label, int base)
{
    char path[64], *text, *at;
    size_t len;
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    CHECK((text = read_file(path, &len)) != NULL, "read %s: %s", path, strerror(errno));
    at = strstr(text, label);
    long long v = at ? strtoll(at + strlen(label), NULL, base) : -1;
    free(text);
    return v;
}

static void set(int fd, int flags, int64_t value, int64_t interval, const char *name)
{
    struct itimerspec s = { ts(interval), ts(value) };
    CHECK(timerfd_settime(fd, flags, &s, NULL) == 0, "timerfd_settime %s: %s", name, strerror(errno));
}

static uint64_t ticks(int fd, const char *name)
{
    uint64_t n = 0;
    ssize_t r = read(fd, &n, sizeof(n));
    CHECK(r == 8 || (r < 0 && errno == EAGAIN), "read %s: %zd %s", name, r, strerror(errno));
    return r == 8 ? n : 0;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int periodic = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    int absolute = timerfd_create(CLOCK_REALTIME, 0);
    int disarmed = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
    int once = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    int twice = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    CHECK(periodic >= 0 && absolute >= 0 && disarmed >= 0 && once >= 0 && twice >= 0, "timerfd_create: %s",
          strerror(errno));

    set(periodic, 0, 5 * SEC, SEC, "periodic");
    int64_t expiry = now_ns(CLOCK_REALTIME) + 3600 * SEC;
    set(absolute, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, expiry, 0, "absolute");
    set(once, 0, 1000000, 0, "once");
    /* Expired 1.5 periods ago: one expiry at once, and timerfd_gettime counts the missed one. */
    set(twice, TFD_TIMER_ABSTIME, now_ns(CLOCK_REALTIME) - 5400 * SEC, 3600 * SEC, "twice");
    usleep(20000);
    struct itimerspec tw = get(twice, "twice");
    CHECK(fdinfo(twice, "ticks: ", 10) == 2, "twice: ticks %lld, expected 2", fdinfo(twice, "ticks: ", 10));
    CHECK(fdinfo(once, "ticks: ", 10) == 1, "once: ticks %lld, expected 1", fdinfo(once, "ticks: ", 10));
    struct itimerspec p = get(periodic, "periodic"), a = get(absolute, "absolute");

    test_ready();
    test_waitsig();

    /* clocks, open flags and settime flags as fdinfo shows them */
    int fds[] = { periodic, absolute, disarmed, once, twice };
    int clocks[] = { CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_MONOTONIC, CLOCK_REALTIME };
    int setflags[] = { 0, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, 0, 0, TFD_TIMER_ABSTIME };
    int flags[] = { O_RDWR | O_NONBLOCK, O_RDWR, O_RDWR | O_NONBLOCK, O_RDWR | O_NONBLOCK, O_RDWR | O_NONBLOCK };
    for (int i = 0; i < 5; i++) {
        CHECK(fdinfo(fds[i], "clockid: ", 10) == clocks[i], "fd %d: clockid %lld, was %d", fds[i],
              fdinfo(fds[i], "clockid: ", 10), clocks[i]);
        CHECK(fdinfo(fds[i], "settime flags: ", 8) == setflags[i], "fd %d: settime flags 0%llo, was 0%o", fds[i],
              fdinfo(fds[i], "settime flags: ", 8), setflags[i]);
        CHECK(fcntl(fds[i], F_GETFL) == flags[i], "fd %d: F_GETFL 0%o, was 0%o", fds[i], fcntl(fds[i], F_GETFL), flags[i]);
    }
    CHECK(fcntl(periodic, F_GETFD) == FD_CLOEXEC && fcntl(once, F_GETFD) == 0, "FD_CLOEXEC not kept");

    /* unread expirations come back; the one-shot stays disarmed, the other keeps its next expiry */
    CHECK(ticks(once, "once") == 1, "once: expected 1 unread expiration");
    CHECK(ticks(twice, "twice") == 2, "twice: expected 2 unread expirations");
    struct itimerspec o = get(once, "once"), t2 = get(twice, "twice");
    CHECK(ns(o.it_value) == 0 && ns(o.it_interval) == 0, "once: rearmed (%lld ns)", (long long)ns(o.it_value));
    CHECK(ns(t2.it_interval) == 3600 * SEC && ns(t2.it_value) > 0 && ns(t2.it_value) <= ns(tw.it_value),
          "twice: value %lld ns, interval %lld ns; was %lld, %lld", (long long)ns(t2.it_value),
          (long long)ns(t2.it_interval), (long long)ns(tw.it_value), (long long)ns(tw.it_interval));

    /* the disarmed timer is still disarmed */
    struct itimerspec d = get(disarmed, "disarmed");
    CHECK(ns(d.it_value) == 0 && ns(d.it_interval) == 0 && ticks(disarmed, "disarmed") == 0, "disarmed: armed");

    /* the absolute timer keeps its expiry */
    struct itimerspec a2 = get(absolute, "absolute");
    int64_t at = now_ns(CLOCK_REALTIME) + ns(a2.it_value);
    CHECK(ns(a2.it_value) > 0 && ns(a2.it_value) <= ns(a.it_value) && ns(a2.it_interval) == 0,
          "absolute: value %lld ns, was %lld", (long long)ns(a2.it_value), (long long)ns(a.it_value));
    CHECK(at > expiry - 50000000 && at < expiry + 50000000, "absolute: expires at %lld, expected %lld (off by %lld ns)",
          (long long)at, (long long)expiry, (long long)(at - expiry));

    /* the periodic timer: 0 < remaining <= what it was (or up to one interval if it expired), then it fires */
    struct itimerspec p2 = get(periodic, "periodic");
    CHECK(ns(p2.it_interval) == SEC, "periodic: interval %lld ns, was 1 s", (long long)ns(p2.it_interval));
    CHECK(ns(p2.it_value) > 0 && ns(p2.it_value) <= ns(p.it_value), "periodic: value %lld ns, was %lld",
          (long long)ns(p2.it_value), (long long)ns(p.it_value));
    struct pollfd pfd = { periodic, POLLIN, 0 };
    CHECK(poll(&pfd, 1, (int)(ns(p2.it_value) / 1000000) + 2000) == 1, "periodic: did not fire");
    uint64_t n = ticks(periodic, "periodic");
    CHECK(n >= 1, "periodic: fired but read %llu expirations", (unsigned long long)n);
    pass();
}
