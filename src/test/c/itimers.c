/*
 * itimers: ITIMER_REAL (first expiry 4 s, then every 1 s), ITIMER_VIRTUAL (60 s of user CPU, never
 * expires here) and ITIMER_PROF (0.6 s of CPU then every 0.2 s, with 0.3 s burnt before the
 * checkpoint). After restart: remaining times sane (below what was set, > 0), intervals exact,
 * and the signals keep arriving. alarm() reads the same timer as ITIMER_REAL.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alrm, vtalrm, prof;
static void on_alrm(int s) { (void)s; alrm++; }
static void on_vtalrm(int s) { (void)s; vtalrm++; }
static void on_prof(int s) { (void)s; prof++; }

static int64_t tv_ns(struct timeval tv) { return (int64_t)tv.tv_sec * 1000000000 + tv.tv_usec * 1000; }

static void burn_cpu(int64_t ns)
{
    int64_t end = now_ns(CLOCK_PROCESS_CPUTIME_ID) + ns;
    volatile uint64_t x = 0;
    while (now_ns(CLOCK_PROCESS_CPUTIME_ID) < end)
        for (int i = 0; i < 10000; i++)
            x += i;
}

static struct itimerval get(int which)
{
    struct itimerval it;
    CHECK(getitimer(which, &it) == 0, "getitimer(%d): %s", which, strerror(errno));
    return it;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on_vtalrm;
    sigaction(SIGVTALRM, &sa, NULL);
    sa.sa_handler = on_prof;
    sigaction(SIGPROF, &sa, NULL);

    struct itimerval real = { { 1, 0 }, { 4, 0 } }, virt = { { 0, 0 }, { 60, 0 } },
                     profv = { { 0, 200000 }, { 0, 600000 } };
    CHECK(setitimer(ITIMER_VIRTUAL, &virt, NULL) == 0, "setitimer VIRTUAL: %s", strerror(errno));
    CHECK(setitimer(ITIMER_PROF, &profv, NULL) == 0, "setitimer PROF: %s", strerror(errno));
    burn_cpu(300000000); /* 0.3 s of CPU against VIRTUAL and PROF */
    CHECK(setitimer(ITIMER_REAL, &real, NULL) == 0, "setitimer REAL: %s", strerror(errno));
    int64_t real_set = now_ns(CLOCK_MONOTONIC);
    struct itimerval v0 = get(ITIMER_VIRTUAL), p0 = get(ITIMER_PROF);
    CHECK(prof == 0 && vtalrm == 0, "a CPU timer fired too early");
    struct timespec ts = { 0, 200000000 };
    nanosleep(&ts, NULL); /* REAL runs down 0.2 s before the checkpoint can happen */

    test_ready();
    test_waitsig();

    int64_t since_set = now_ns(CLOCK_MONOTONIC) - real_set;
    struct itimerval r = get(ITIMER_REAL), v = get(ITIMER_VIRTUAL), p = get(ITIMER_PROF);
    int64_t slack = 10000000; /* 10 ms: a jiffy or two of rounding */
    CHECK(tv_ns(r.it_interval) == 1000000000, "ITIMER_REAL interval %ld ns, was 1 s", (long)tv_ns(r.it_interval));
    CHECK(tv_ns(r.it_value) > 0, "ITIMER_REAL disarmed");
    if (alrm == 0)
        CHECK(tv_ns(r.it_value) <= 4000000000L - 200000000L + slack,
              "ITIMER_REAL remaining %ld ns after %ld ns: reset to full?", (long)tv_ns(r.it_value), (long)since_set);
    else
        CHECK(tv_ns(r.it_value) <= 1000000000L + slack, "ITIMER_REAL remaining %ld ns, above its 1 s interval",
              (long)tv_ns(r.it_value));
    CHECK(tv_ns(v.it_interval) == 0 && tv_ns(p.it_interval) == 200000000, "CPU timer intervals changed: %ld, %ld",
          (long)tv_ns(v.it_interval), (long)tv_ns(p.it_interval));
    CHECK(tv_ns(v.it_value) > 0 && tv_ns(v.it_value) <= tv_ns(v0.it_value) + slack,
          "ITIMER_VIRTUAL remaining %ld ns, was %ld before the checkpoint", (long)tv_ns(v.it_value),
          (long)tv_ns(v0.it_value));
    CHECK(tv_ns(p.it_value) > 0 && tv_ns(p.it_value) <= tv_ns(p0.it_value) + slack,
          "ITIMER_PROF remaining %ld ns, was %ld before the checkpoint", (long)tv_ns(p.it_value),
          (long)tv_ns(p0.it_value));
    CHECK(prof == 0 && vtalrm == 0, "a CPU timer fired while the process slept (prof %d, vtalrm %d)", (int)prof,
          (int)vtalrm);
    unsigned left = alarm(0); /* the same timer, rounded up to seconds */
    CHECK(left >= 1 && left <= 4, "alarm(0) returned %u", left);
    CHECK(setitimer(ITIMER_REAL, &r, NULL) == 0, "setitimer REAL again: %s", strerror(errno));

    /* the CPU timer still counts: PROF fires after at most ~0.3 s more CPU, then every 0.2 s */
    int64_t cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    while (prof < 2 && now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0 < 3000000000L)
        burn_cpu(10000000);
    CHECK(prof >= 2, "SIGPROF: %d after %ld ns of CPU", (int)prof, (long)(now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0));
    struct itimerval v2 = get(ITIMER_VIRTUAL);
    CHECK(tv_ns(v2.it_value) < tv_ns(v.it_value), "ITIMER_VIRTUAL does not count down");

    /* and REAL keeps its period: two more SIGALRMs within 5.5 s */
    int target = alrm + 2;
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    while (alrm < target && now_ns(CLOCK_MONOTONIC) - t0 < 5500000000L) {
        struct timespec tick = { 0, 20000000 };
        nanosleep(&tick, NULL);
    }
    CHECK(alrm >= target, "SIGALRM stopped arriving (%d)", (int)alrm);
    pass();
}
