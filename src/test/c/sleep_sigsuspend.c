/*
 * sleep_sigsuspend: blocked in sigsuspend() with a temporary mask when checkpointed.
 * Outside the call SIGTERM, SIGUSR1 and SIGUSR2 are blocked; the temporary mask lets SIGTERM in
 * only, and a SIGUSR1 is pending all along. After the handler ran, the old mask is back.
 */
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
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGCONT, &sa, NULL);
    sigset_t blocked, during;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGUSR1);
    sigaddset(&blocked, SIGUSR2);
    sigprocmask(SIG_SETMASK, &blocked, NULL);
    kill(getpid(), SIGUSR1); /* stays pending */
    during = blocked;
    sigdelset(&during, SIGTERM);
    test_ready();
    int r = sigsuspend(&during);
    int e = errno;
    CHECK(r == -1 && e == EINTR, "sigsuspend returned %d (%s)", r, strerror(e));
    CHECK(test_sigterms == 1, "sigsuspend returned with %d SIGTERMs handled", (int)test_sigterms);
    CHECK(other_signals == 0, "another handler ran (%d)", (int)other_signals);
    sigset_t now, pending;
    sigprocmask(SIG_SETMASK, NULL, &now);
    for (int s = 1; s < NSIG; s++)
        CHECK(sigismember(&now, s) == sigismember(&blocked, s), "signal %d: blocked %d after sigsuspend, expected %d",
              s, sigismember(&now, s), sigismember(&blocked, s));
    sigpending(&pending);
    CHECK(sigismember(&pending, SIGUSR1), "SIGUSR1 no longer pending");
    for (int s = 1; s < NSIG; s++)
        CHECK(s == SIGUSR1 || !sigismember(&pending, s), "signal %d pending", s);
    pass();
}
