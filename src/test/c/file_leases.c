/*
 * file_leases: leases (F_SETLEASE), held by open file descriptions. "rd" is open read-only with
 * a read lease, "wr" read-write with a write lease, and "breaking" read-write with a write lease
 * that another opener (a non-blocking O_WRONLY open) has begun to break: F_GETLEASE says F_UNLCK
 * until the break time passes. Each has F_SETSIG set to SIGRTMIN+1, whose handler counts the
 * signals by descriptor; a child shares "rd" (fork). Checkpoints must not open a leased file
 * (that would break its lease and signal again). After restart: the same lease types in the
 * parent and child, one signal so far (the first break's) and none more, the owner is the parent,
 * and a new conflicting open breaks "rd"'s lease and signals the parent for its descriptor.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t signals[64];

static void on_break(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    if (si->si_fd >= 0 && si->si_fd < 64)
        signals[si->si_fd]++;
}

static int leased(const char *name, int flags, int type)
{
    int fd = open(name, flags | O_CREAT, 0644);
    CHECK(fd >= 0, "open %s: %s", name, strerror(errno));
    CHECK(fcntl(fd, F_SETSIG, SIGRTMIN + 1) == 0, "F_SETSIG %s: %s", name, strerror(errno));
    CHECK(fcntl(fd, F_SETLEASE, type) == 0, "F_SETLEASE %s: %s", name, strerror(errno));
    return fd;
}

static void check_leases(const char *who, int rd, int wr, int breaking)
{
    CHECK(fcntl(rd, F_GETLEASE) == F_RDLCK, "%s: rd lease %d", who, fcntl(rd, F_GETLEASE));
    CHECK(fcntl(wr, F_GETLEASE) == F_WRLCK, "%s: wr lease %d", who, fcntl(wr, F_GETLEASE));
    CHECK(fcntl(breaking, F_GETLEASE) == F_UNLCK, "%s: breaking lease %d", who, fcntl(breaking, F_GETLEASE));
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    struct sigaction sa = {.sa_sigaction = on_break, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGRTMIN + 1, &sa, NULL) == 0, "sigaction: %s", strerror(errno));
    int rd = leased("rd", O_RDONLY, F_RDLCK);
    int wr = leased("wr", O_RDWR, F_WRLCK);
    int breaking = leased("breaking", O_RDWR, F_WRLCK);
    CHECK(open("breaking", O_WRONLY | O_NONBLOCK) == -1 && errno == EWOULDBLOCK, "the lease did not block an open");
    for (int i = 0; i < 100 && signals[breaking] == 0; i++)
        usleep(1000);
    CHECK(signals[breaking] == 1, "%d signals for the first break", signals[breaking]);
    check_leases("before", rd, wr, breaking);

    int go[2];
    CHECK(pipe(go) == 0, "pipe: %s", strerror(errno));
    pid_t c = fork();
    if (c == 0) {
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(go[1]);
        char b;
        CHECK(read(go[0], &b, 1) == 1, "child read: %s", strerror(errno));
        CHECK(fcntl(rd, F_GETLEASE) == F_RDLCK, "child: rd lease %d", fcntl(rd, F_GETLEASE));
        _exit(0);
    }
    CHECK(c > 0, "fork: %s", strerror(errno));
    close(go[0]);

    test_ready();
    test_waitsig();

    check_leases("parent", rd, wr, breaking);
    CHECK(write(go[1], "x", 1) == 1, "write: %s", strerror(errno));
    int ws;
    CHECK(waitpid(c, &ws, 0) == c && WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the child failed (0x%x)", ws);
    usleep(20 * 1000);
    CHECK(signals[breaking] == 1 && signals[rd] == 0 && signals[wr] == 0, "signals after restart: %d %d %d",
          signals[breaking], signals[rd], signals[wr]);
    struct f_owner_ex owner;
    CHECK(fcntl(rd, F_GETOWN_EX, &owner) == 0 && owner.pid == getpid(), "rd's owner is %d, not %d", owner.pid,
          getpid());
    CHECK(open("rd", O_WRONLY | O_NONBLOCK) == -1 && errno == EWOULDBLOCK, "rd's lease did not block an open");
    for (int i = 0; i < 1000 && signals[rd] == 0; i++)
        usleep(1000);
    CHECK(signals[rd] == 1, "%d signals for breaking rd's lease after restart", signals[rd]);
    pass();
}
