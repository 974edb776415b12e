/*
 * periodic_timers: periodic timers that must keep their period across a checkpoint, with the
 * original left running or killed, every 50 ms:
 *   ITIMER_REAL            SIGALRM   (re-armed by the kernel only when its SIGALRM is dequeued)
 *   POSIX timer 0          SIGRTMIN, SIGEV_SIGNAL, CLOCK_MONOTONIC (re-armed on delivery too)
 *   POSIX timer 1          SIGUSR2, SIGEV_SIGNAL, CLOCK_MONOTONIC (a standard signal)
 *   timerfd                CLOCK_MONOTONIC (re-armed by read or timerfd_gettime)
 * plus ITIMER_VIRTUAL set with value 0 and a 0.5 s interval (disarmed, the interval kept).
 *
 * "blocked": the three signals are blocked before READY and the timers have all expired, so the
 * checkpoint finds each timer waiting for its signal's dequeue. After restart each signal is
 * still pending exactly once: unblocking delivers one of each, then the period goes on.
 * Otherwise the signals are caught as they come, and the checkpoint may catch any of them.
 *
 * After SIGTERM: every timer ticks again, at most once per period (no doubled signal), and the
 * intervals read back as set.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL
#define PERIOD (50 * MS)

static volatile sig_atomic_t alrm, rt, usr2, bad_info;
static timer_t timers[2];

static void on_alrm(int s) { (void)s; alrm++; }
static void on_timer(int s, siginfo_t *si, void *u)
{
    (void)u;
    int want = s == SIGUSR2;
    if (si->si_code != SI_TIMER || si->si_value.sival_int != 0x100 + want)
        bad_info = s;
    if (s == SIGUSR2)
        usr2++;
    else
        rt++;
}

static void handle(int signo, void (*h)(int), void (*a)(int, siginfo_t *, void *))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_flags = SA_RESTART | (a ? SA_SIGINFO : 0);
    if (a)
        sa.sa_sigaction = a;
    else
        sa.sa_handler = h;
    CHECK(sigaction(signo, &sa, NULL) == 0, "sigaction(%d): %s", signo, strerror(errno));
}

static timer_t posix_timer(int signo, int value)
{
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = signo;
    ev.sigev_value.sival_int = value;
    timer_t t;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "timer_create: %s", strerror(errno));
    struct itimerspec s = { { 0, PERIOD }, { 0, PERIOD } };
    CHECK(timer_settime(t, 0, &s, NULL) == 0, "timer_settime: %s", strerror(errno));
    return t;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = { ns / 1000000000, ns % 1000000000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static uint64_t tfd_ticks(int tfd)
{
    uint64_t n = 0;
    if (read(tfd, &n, sizeof(n)) != sizeof(n))
        CHECK(errno == EAGAIN, "read timerfd: %s", strerror(errno));
    return n;
}

/* The counters a second later: each timer ticked, and at most once per 50 ms (+1 for rounding). */
static void check_period(int tfd)
{
    tfd_ticks(tfd);   /* the expiries so far are not part of the second measured */
    int a0 = alrm, r0 = rt, u0 = usr2;
    uint64_t t = 0;
    int64_t start = now_ns(CLOCK_MONOTONIC);
    while (now_ns(CLOCK_MONOTONIC) - start < 1000 * MS) {
        sleep_ns(10 * MS);
        t += tfd_ticks(tfd);
    }
    int64_t most = (now_ns(CLOCK_MONOTONIC) - start) / PERIOD + 1;
    int counts[4] = { alrm - a0, rt - r0, usr2 - u0, (int)t };
    const char *names[4] = { "ITIMER_REAL", "POSIX timer SIGRTMIN", "POSIX timer SIGUSR2", "timerfd" };
    for (int i = 0; i < 4; i++) {
        CHECK(counts[i] >= 5, "%s ticked %d times in a second, period 50 ms: stopped?", names[i], counts[i]);
        CHECK(counts[i] <= most, "%s ticked %d times in a second, at most %ld expected", names[i], counts[i],
              (long)most);
    }
}

static void check_intervals(int tfd)
{
    struct itimerval r, v;
    CHECK(getitimer(ITIMER_REAL, &r) == 0 && getitimer(ITIMER_VIRTUAL, &v) == 0, "getitimer: %s", strerror(errno));
    CHECK(r.it_interval.tv_sec == 0 && r.it_interval.tv_usec == 50000, "ITIMER_REAL interval %ld.%06ld",
          (long)r.it_interval.tv_sec, (long)r.it_interval.tv_usec);
    CHECK(v.it_interval.tv_sec == 0 && v.it_interval.tv_usec == 500000 && v.it_value.tv_sec == 0
              && v.it_value.tv_usec == 0,
          "ITIMER_VIRTUAL value %ld.%06ld interval %ld.%06ld, set disarmed with interval 0.5 s",
          (long)v.it_value.tv_sec, (long)v.it_value.tv_usec, (long)v.it_interval.tv_sec, (long)v.it_interval.tv_usec);
    for (int i = 0; i < 2; i++) {
        struct itimerspec s;
        CHECK(timer_gettime(timers[i], &s) == 0, "timer_gettime(%d): %s", i, strerror(errno));
        CHECK(s.it_interval.tv_sec == 0 && s.it_interval.tv_nsec == PERIOD, "POSIX timer %d interval %ld ns", i,
              (long)s.it_interval.tv_nsec);
    }
    struct itimerspec s;
    CHECK(timerfd_gettime(tfd, &s) == 0, "timerfd_gettime: %s", strerror(errno));
    CHECK(s.it_interval.tv_sec == 0 && s.it_interval.tv_nsec == PERIOD, "timerfd interval %ld ns",
          (long)s.it_interval.tv_nsec);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int blocked = argc > 1 && strcmp(argv[1], "blocked") == 0;
    sigset_t three;
    sigemptyset(&three);
    sigaddset(&three, SIGALRM);
    sigaddset(&three, SIGRTMIN);
    sigaddset(&three, SIGUSR2);
    if (blocked)
        sigprocmask(SIG_BLOCK, &three, NULL);
    handle(SIGALRM, on_alrm, NULL);
    handle(SIGRTMIN, NULL, on_timer);
    handle(SIGUSR2, NULL, on_timer);
    timers[0] = posix_timer(SIGRTMIN, 0x100);
    timers[1] = posix_timer(SIGUSR2, 0x101);
    struct itimerval real = { { 0, 50000 }, { 0, 50000 } }, virt = { { 0, 500000 }, { 0, 0 } };
    CHECK(setitimer(ITIMER_REAL, &real, NULL) == 0, "setitimer REAL: %s", strerror(errno));
    CHECK(setitimer(ITIMER_VIRTUAL, &virt, NULL) == 0, "setitimer VIRTUAL: %s", strerror(errno));
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    CHECK(tfd >= 0, "timerfd_create: %s", strerror(errno));
    struct itimerspec ts = { { 0, PERIOD }, { 0, PERIOD } };
    CHECK(timerfd_settime(tfd, 0, &ts, NULL) == 0, "timerfd_settime: %s", strerror(errno));
    sleep_ns(200 * MS);   /* every timer expires at least once (blocked: and then waits) */
    check_intervals(tfd);

    test_ready();
    test_waitsig();

    check_intervals(tfd);
    if (blocked) {
        sigset_t pending;
        sigpending(&pending);
        CHECK(sigismember(&pending, SIGALRM) && sigismember(&pending, SIGRTMIN) && sigismember(&pending, SIGUSR2),
              "pending: SIGALRM %d SIGRTMIN %d SIGUSR2 %d, all three expected", sigismember(&pending, SIGALRM),
              sigismember(&pending, SIGRTMIN), sigismember(&pending, SIGUSR2));
        sigprocmask(SIG_UNBLOCK, &three, NULL);
        CHECK(alrm == 1 && rt == 1 && usr2 == 1, "unblocking delivered SIGALRM %d, SIGRTMIN %d, SIGUSR2 %d times,"
              " once each expected", (int)alrm, (int)rt, (int)usr2);
    }
    check_period(tfd);
    CHECK(!bad_info, "signal %d came without its timer's SI_TIMER and sigev_value", (int)bad_info);
    pass();
}
