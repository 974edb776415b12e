/*
 * sleep_clock_nanosleep: blocked in clock_nanosleep(CLOCK_MONOTONIC) when checkpointed; returns 0
 * by itself. argv[1]: "rel" (relative 6 s, the default) or "abs" (TIMER_ABSTIME, now + 6 s).
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <string.h>
#include <time.h>

#define SECS 6

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int abs = argc > 1 && strcmp(argv[1], "abs") == 0;
    test_ready();
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    int64_t deadline = t0 + SECS * 1000000000L;
    struct timespec req, rem = { -1, -1 };
    if (abs) {
        req.tv_sec = deadline / 1000000000L;
        req.tv_nsec = deadline % 1000000000L;
    } else {
        req.tv_sec = SECS;
        req.tv_nsec = 0;
    }
    int r = clock_nanosleep(CLOCK_MONOTONIC, abs ? TIMER_ABSTIME : 0, &req, &rem);
    int64_t t1 = now_ns(CLOCK_MONOTONIC);
    CHECK(r == 0, "clock_nanosleep(%s) returned %d (%s)", abs ? "abs" : "rel", r, strerror(r));
    CHECK(test_sigterms == 0, "a SIGTERM arrived");
    CHECK(t1 >= deadline, "woke %ld ns before the deadline", (long)(deadline - t1));
    test_msg("slept %.3f s (%s)", (t1 - t0) / 1e9, abs ? "abs" : "rel");
    pass();
}
