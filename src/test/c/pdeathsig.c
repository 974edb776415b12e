/*
 * pdeathsig: parent-death signals, PR_SET_PDEATHSIG, in a tree root -> middle -> leaf:
 *   root    SIGUSR1; its parent (the harness) is outside the tree
 *   middle  none; ends when the root asks, after the restart
 *   leaf    SIGUSR2, relative to middle; a handler that reports it through a pipe to the root
 * The root is a child subreaper, so the leaf comes to it when middle ends.
 *
 * After SIGTERM the root prints "root pdeathsig N" (what its prctl reads: the harness knows what
 * the restart mode should give), asks the leaf to check itself (SIGUSR1: pdeathsig SIGUSR2 and
 * middle still its parent), ends middle and expects the leaf's SIGUSR2 as middle's death, then
 * the leaf's exit under the root. Each step reports through the pipe.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int report[2];
static pid_t middle_pid;

static void say(char c)
{
    if (write(report[1], &c, 1) != 1)
        _exit(3);
}

static void leaf_check(int s)
{
    (void)s;
    int sig = 0;
    prctl(PR_GET_PDEATHSIG, &sig);
    say(sig == SIGUSR2 && getppid() == middle_pid ? 'c' : 'C');
}

static void leaf_pdeath(int s)
{
    (void)s;
    say(getppid() != middle_pid ? 'd' : 'D');
    _exit(0);
}

static void leaf(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = leaf_check;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = leaf_pdeath;
    sigaction(SIGUSR2, &sa, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGUSR2) != 0)
        _exit(2);
    if (getppid() != middle_pid) /* middle ended before the prctl */
        _exit(2);
    say('r');
    for (;;)
        pause();
}

static void middle(void)
{
    signal(SIGTERM, SIG_DFL);
    middle_pid = getpid();
    pid_t l = fork();
    if (l == 0)
        leaf();
    for (;;)
        pause();
}

static char hear(const char *what)
{
    struct pollfd p = { report[0], POLLIN, 0 };
    CHECK(poll(&p, 1, 5000) == 1, "no word from the leaf within 5 s: %s", what);
    char c;
    CHECK(read(report[0], &c, 1) == 1, "read report: %s", strerror(errno));
    return c;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    CHECK(pipe(report) == 0, "pipe: %s", strerror(errno));
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
    CHECK(prctl(PR_SET_PDEATHSIG, SIGUSR1) == 0, "PR_SET_PDEATHSIG: %s", strerror(errno));
    pid_t m = fork();
    if (m == 0)
        middle();
    CHECK(hear("set up") == 'r', "leaf not set up");
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", m, m);
    size_t len;
    char *kids = read_file(path, &len);
    CHECK(kids && len > 0, "middle %d has no child", m);
    pid_t l = atoi(kids);
    kill(l, SIGUSR1);
    CHECK(hear("the check before READY") == 'c', "leaf pdeathsig not set up");

    test_ready();
    test_waitsig();

    int sig = -1;
    prctl(PR_GET_PDEATHSIG, &sig);
    test_msg("root pdeathsig %d", sig);
    kill(l, SIGUSR1);
    CHECK(hear("its check of pdeathsig and parent") == 'c', "leaf: pdeathsig not SIGUSR2, or middle not its parent");
    kill(m, SIGKILL);
    int st;
    CHECK(waitpid(m, &st, 0) == m, "waitpid(middle): %s", strerror(errno));
    CHECK(hear("SIGUSR2 once middle died") == 'd', "leaf: SIGUSR2 came, but middle still its parent");
    CHECK(waitpid(l, &st, 0) == l && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "leaf did not come to the root (its subreaper) and exit 0: status 0x%x", st);
    pass();
}
