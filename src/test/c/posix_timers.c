/*
 * posix_timers: timer_create timers, ids 0 to 3 with id 1 deleted (a gap):
 *   0  CLOCK_MONOTONIC, SIGEV_SIGNAL SIGRTMIN with sigev_value 0x5eed, first expiry 1.5 s, every 0.3 s
 *   2  CLOCK_REALTIME, SIGEV_THREAD_ID SIGRTMIN+2 to the main thread, one-shot in 60 s
 *   3  CLOCK_BOOTTIME, SIGEV_NONE, one-shot in 100 s
 * After restart: the same ids (timer_gettime works on 0, 2 and 3, fails with EINVAL on 1), the
 * remaining times sane (> 0, not above what was set), intervals exact, the periodic timer keeps
 * delivering SIGRTMIN with its sigev_value and SI_TIMER, and the next timer_create gets id 4.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SEC 1000000000LL

static volatile sig_atomic_t ticks, bad_value, bad_code;
static void on_tick(int s, siginfo_t *si, void *u)
{
    (void)s, (void)u;
    if (si->si_value.sival_int != 0x5eed)
        bad_value = si->si_value.sival_int ? si->si_value.sival_int : -1;
    if (si->si_code != SI_TIMER)
        bad_code = si->si_code ? si->si_code : -1;
    ticks++;
}

static int64_t ns(struct timespec t) { return t.tv_sec * SEC + t.tv_nsec; }
static struct timespec ts(int64_t n) { return (struct timespec){ n / SEC, n % SEC }; }

static timer_t make(clockid_t clock, int notify, int signo, int value, int64_t first, int64_t interval)
{
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = notify;
    ev.sigev_signo = signo;
    ev.sigev_value.sival_int = value;
    ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    timer_t t;
    CHECK(timer_create(clock, &ev, &t) == 0, "timer_create: %s", strerror(errno));
    struct itimerspec s = { ts(interval), ts(first) };
    CHECK(first == 0 || timer_settime(t, 0, &s, NULL) == 0, "timer_settime: %s", strerror(errno));
    return t;
}

static struct itimerspec get(timer_t t)
{
    struct itimerspec s;
    CHECK(timer_gettime(t, &s) == 0, "timer_gettime(%ld): %s", (long)(intptr_t)t, strerror(errno));
    return s;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sa.sa_sigaction = on_tick;
    sigaction(SIGRTMIN, &sa, NULL);

    timer_t periodic = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN, 0x5eed, 1500000000, 300000000);
    timer_t gap = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0, 0);
    timer_t thread = make(CLOCK_REALTIME, SIGEV_THREAD_ID, SIGRTMIN + 2, 7, 60 * SEC, 0);
    timer_t none = make(CLOCK_BOOTTIME, SIGEV_NONE, 0, 0, 100 * SEC, 0);
    CHECK((intptr_t)periodic == 0 && (intptr_t)gap == 1 && (intptr_t)thread == 2 && (intptr_t)none == 3,
          "ids %ld %ld %ld %ld, expected 0 1 2 3", (long)(intptr_t)periodic, (long)(intptr_t)gap,
          (long)(intptr_t)thread, (long)(intptr_t)none);
    CHECK(timer_delete(gap) == 0, "timer_delete: %s", strerror(errno));

    test_ready();
    test_waitsig();

    struct itimerspec p = get(periodic), t = get(thread), n = get(none), g;
    CHECK(timer_gettime(gap, &g) == -1 && errno == EINVAL, "timer_gettime on the deleted id 1: %s",
          strerror(errno));
    CHECK(ns(p.it_interval) == 300000000, "periodic interval %lld ns, was 0.3 s", (long long)ns(p.it_interval));
    CHECK(ns(p.it_value) > 0 && ns(p.it_value) <= 1500000000, "periodic remaining %lld ns",
          (long long)ns(p.it_value));
    CHECK(ns(t.it_interval) == 0 && ns(t.it_value) > 0 && ns(t.it_value) <= 60 * SEC,
          "thread timer: remaining %lld ns, interval %lld ns", (long long)ns(t.it_value), (long long)ns(t.it_interval));
    CHECK(ns(n.it_interval) == 0 && ns(n.it_value) > 0 && ns(n.it_value) <= 100 * SEC,
          "SIGEV_NONE timer: remaining %lld ns, interval %lld ns", (long long)ns(n.it_value),
          (long long)ns(n.it_interval));

    /* The periodic timer keeps delivering its signal and value: three more within 3 s. */
    int target = ticks + 3;
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    while (ticks < target && now_ns(CLOCK_MONOTONIC) - t0 < 3 * SEC) {
        struct timespec tick = { 0, 20000000 };
        nanosleep(&tick, NULL);
    }
    CHECK(ticks >= target, "SIGRTMIN stopped arriving (%d ticks)", (int)ticks);
    CHECK(bad_value == 0, "a tick carried sigev_value %d, expected 0x5eed", (int)bad_value);
    CHECK(bad_code == 0, "a tick carried si_code %d, expected SI_TIMER", (int)bad_code);

    timer_t next = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0, 0);
    CHECK((intptr_t)next == 4, "the next timer got id %ld, expected 4", (long)(intptr_t)next);
    pass();
}
