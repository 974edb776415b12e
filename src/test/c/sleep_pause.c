/* sleep_pause: blocked in pause() when checkpointed; only the SIGTERM handler may wake it. */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t other_signals;
static void on_other(int sig) { (void)sig; other_signals++; }

int main(int argc, char **argv)
{
    test_init(argc, argv);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_other;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGCONT, &sa, NULL); /* a SIGCONT from a sloppy restart would show here */
    test_ready();
    int r = pause();
    int e = errno;
    CHECK(r == -1 && e == EINTR, "pause returned %d (%s)", r, strerror(e));
    CHECK(other_signals == 0, "woken by another signal (%d handled)", (int)other_signals);
    CHECK(test_sigterms == 1, "pause returned with %d SIGTERMs handled", (int)test_sigterms);
    pass();
}
