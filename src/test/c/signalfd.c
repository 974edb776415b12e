/*
 * signalfd: a non-blocking signalfd for SIGUSR1 and SIGRTMIN+2, both blocked (and SIGUSR2, which
 * it does not read), with one SIGUSR1 pending, queued with a value. After restart: the signalfd
 * reads that SIGUSR1 with its siginfo (code, pid, uid, value) and then EAGAIN, its flags are the
 * same, a SIGUSR2 does not come through it, and a new SIGRTMIN+2 sigqueue'd does.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

static void expect(int sfd, int signo, int value)
{
    struct signalfd_siginfo si;
    memset(&si, 0, sizeof(si));
    ssize_t n = read(sfd, &si, sizeof(si));
    CHECK(n == sizeof(si), "signalfd (fd %d): read returned %zd, expected signal %d: %s", sfd, n, signo, strerror(errno));
    CHECK(si.ssi_signo == (uint32_t)signo, "signalfd: read signal %u, expected %d", si.ssi_signo, signo);
    CHECK(si.ssi_code == SI_QUEUE, "signal %d: si_code %d, expected SI_QUEUE (%d)", signo, si.ssi_code, SI_QUEUE);
    CHECK(si.ssi_pid == (uint32_t)getpid() && si.ssi_uid == getuid(), "signal %d: from pid %u uid %u, expected %d %d",
          signo, si.ssi_pid, si.ssi_uid, getpid(), getuid());
    CHECK(si.ssi_int == value, "signal %d: value %d, expected %d", signo, si.ssi_int, value);
}

static void empty(int sfd)
{
    struct signalfd_siginfo si;
    ssize_t n = read(sfd, &si, sizeof(si));
    CHECK(n == -1 && errno == EAGAIN, "signalfd (fd %d): read returned %zd (signal %u), expected EAGAIN", sfd, n,
          n > 0 ? si.ssi_signo : 0);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    sigset_t blocked, reads;
    sigemptyset(&reads);
    sigaddset(&reads, SIGUSR1);
    sigaddset(&reads, SIGRTMIN + 2);
    blocked = reads;
    sigaddset(&blocked, SIGUSR2);
    CHECK(sigprocmask(SIG_BLOCK, &blocked, NULL) == 0, "sigprocmask: %s", strerror(errno));
    int sfd = signalfd(-1, &reads, SFD_NONBLOCK);
    CHECK(sfd >= 0, "signalfd: %s", strerror(errno));
    CHECK(sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 4242 }) == 0, "sigqueue SIGUSR1: %s", strerror(errno));
    int fl = fcntl(sfd, F_GETFL), fdfl = fcntl(sfd, F_GETFD);
    CHECK(fl & O_NONBLOCK, "signalfd F_GETFL 0%o without O_NONBLOCK", fl);

    test_ready();
    test_waitsig();

    CHECK(fcntl(sfd, F_GETFL) == fl, "signalfd (fd %d): F_GETFL 0%o, was 0%o", sfd, fcntl(sfd, F_GETFL), fl);
    CHECK(fcntl(sfd, F_GETFD) == fdfl, "signalfd (fd %d): F_GETFD %d, was %d", sfd, fcntl(sfd, F_GETFD), fdfl);
    expect(sfd, SIGUSR1, 4242);
    empty(sfd);
    /* SIGUSR2 is blocked but not in the signalfd's mask: it stays pending, unread */
    CHECK(sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 2 }) == 0, "sigqueue SIGUSR2: %s", strerror(errno));
    empty(sfd);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    struct timespec zero = { 0, 0 };
    CHECK(sigtimedwait(&usr2, NULL, &zero) == SIGUSR2, "SIGUSR2 not pending: %s", strerror(errno));
    CHECK(sigqueue(getpid(), SIGRTMIN + 2, (union sigval){ .sival_int = 77 }) == 0, "sigqueue SIGRTMIN+2: %s",
          strerror(errno));
    expect(sfd, SIGRTMIN + 2, 77);
    empty(sfd);
    pass();
}
