/*
 * refuse_clone_vm: a child made with clone(CLONE_VM | CLONE_FILES), sharing its parent's address
 * space and descriptor table, as vfork and some spawn helpers do. A restart cannot share them
 * again, so checkpoint refuses the pair, naming both, and leaves them running. Prints "CHILD n".
 * After SIGTERM the parent checks the child still runs, ends it and reaps it.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int child_alive;

static int child_main(void *arg)
{
    (void)arg;
    child_alive = 1;   /* seen by the parent: one address space */
    for (;;)
        pause();
    return 0;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    size_t size = 256 << 10;
    char *stack = malloc(size);
    CHECK(stack != NULL, "malloc");
    pid_t c = clone(child_main, stack + size, CLONE_VM | CLONE_FILES | SIGCHLD, NULL);
    CHECK(c > 0, "clone: %s", strerror(errno));
    while (!child_alive)
        usleep(1000);
    test_msg("CHILD %d", (int)c);
    test_ready();
    test_waitsig();
    CHECK(kill(c, 0) == 0, "child %d is gone", (int)c);
    CHECK(kill(c, SIGKILL) == 0, "kill: %s", strerror(errno));
    int st;
    CHECK(waitpid(c, &st, 0) == c, "waitpid: %s", strerror(errno));
    pass();
}
