/* sleep_poll: blocked in poll() on no descriptors with a 6 s timeout; returns 0 by itself. */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#define MS 6000

int main(int argc, char **argv)
{
    test_init(argc, argv);
    test_ready();
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    int r = poll(NULL, 0, MS);
    int64_t elapsed = now_ns(CLOCK_MONOTONIC) - t0;
    CHECK(r == 0, "poll returned %d (%s)", r, strerror(errno));
    CHECK(test_sigterms == 0, "a SIGTERM arrived");
    CHECK(elapsed >= MS * 1000000L, "poll slept %ld ns, asked for %d ms", (long)elapsed, MS);
    test_msg("slept %.3f s", elapsed / 1e9);
    pass();
}
