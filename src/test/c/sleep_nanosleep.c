/* sleep_nanosleep: blocked in nanosleep(6 s) when checkpointed; returns 0 by itself, no EINTR. */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    test_init(argc, argv);
    long secs = argc > 1 ? atol(argv[1]) : 6;
    struct timespec req = { secs, 0 }, rem = { -1, -1 };
    test_ready();
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    int r = nanosleep(&req, &rem);
    int64_t elapsed = now_ns(CLOCK_MONOTONIC) - t0;
    CHECK(r == 0, "nanosleep returned %d (%s), %ld.%09ld s remaining", r, strerror(errno), (long)rem.tv_sec,
          rem.tv_nsec);
    CHECK(test_sigterms == 0, "a SIGTERM arrived");
    CHECK(elapsed >= secs * 1000000000L, "slept %ld ns, asked for %ld s", (long)elapsed, secs);
    test_msg("slept %.3f s", elapsed / 1e9);
    pass();
}
