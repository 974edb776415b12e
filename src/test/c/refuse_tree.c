/*
 * refuse_tree: a process with a child, which this milestone cannot save, so checkpoint must refuse
 * and leave both untouched. The child sleeps in pause() with SIGTERM at its default action and
 * dies with its parent (PR_SET_PDEATHSIG), so a killed test leaves nothing behind.
 * Prints "CHILD m" before READY. After SIGTERM the child must still be the same, running child:
 * not exited, not stopped, still ours; the parent then ends it with SIGTERM and reaps it.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* The state letter of /proc/PID/stat, or 0 when unreadable. */
static char proc_state(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *stat = read_file(path, NULL);
    if (stat == NULL)
        return 0;
    char *paren = strrchr(stat, ')');
    return paren && paren[1] == ' ' ? paren[2] : 0;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    pid_t parent = getpid();
    int up[2];
    CHECK(pipe(up) == 0, "pipe: %s", strerror(errno));
    pid_t child = fork();
    CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(2); /* the parent died before PDEATHSIG was armed */
        close(up[0]);
        close(up[1]);   /* set up: the parent's read sees end of file */
        for (;;)
            pause();
    }
    close(up[1]);
    char b;
    CHECK(read(up[0], &b, 1) == 0, "the child's set-up pipe");   /* READY only once the child is as it stays */
    close(up[0]);
    test_msg("CHILD %d", (int)child);
    test_ready();
    test_waitsig();

    int status;
    pid_t r = waitpid(child, &status, WNOHANG | WUNTRACED);
    CHECK(r == 0, "child %d changed state (waitpid %d, status 0x%x) before the parent's SIGTERM", (int)child,
          (int)r, r > 0 ? status : 0);
    char state = proc_state(child);
    CHECK(state == 'S', "child %d is in state '%c', expected 'S' (sleeping in pause)", (int)child, state ? state : '?');
    CHECK(kill(child, SIGTERM) == 0, "kill(%d, SIGTERM): %s", (int)child, strerror(errno));
    CHECK(waitpid(child, &status, 0) == child, "waitpid(%d): %s", (int)child, strerror(errno));
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "child %d ended with status 0x%x, not by SIGTERM",
          (int)child, status);
    pass();
}
