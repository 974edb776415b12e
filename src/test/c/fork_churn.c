/*
 * fork_churn: a tree that never holds still, for the freeze. The root keeps four workers alive,
 * replacing each as it is reaped; a worker sleeps a few milliseconds, sometimes forks a child of
 * its own and waits for it, and exits 0. A thread of the root keeps starting and joining short
 * threads. So at any moment a checkpoint finds processes being forked, exiting (zombies not yet
 * reaped) and threads starting. READY after 50 workers were reaped; after SIGTERM the root goes
 * on until 50 more were, and checks every status was 0 and the thread churn went on.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 4

static atomic_long threads_done;

static void *short_thread(void *arg) { (void)arg; return NULL; }

static void *thread_churn(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_t t;
        if (pthread_create(&t, NULL, short_thread, NULL) == 0) {
            pthread_join(t, NULL);
            atomic_fetch_add(&threads_done, 1);
        }
        usleep(500);
    }
    return NULL;
}

static pid_t worker(unsigned seed)
{
    pid_t p = fork();
    if (p != 0)
        return p;
    signal(SIGTERM, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    usleep(1000 + seed % 8000);
    if (seed % 3 == 0) {
        pid_t g = fork();
        if (g == 0) {
            usleep(1000 + seed % 3000);
            _exit(0);
        }
        int st;
        while (waitpid(g, &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            _exit(3);
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    pthread_t churn;
    CHECK(pthread_create(&churn, NULL, thread_churn, NULL) == 0, "pthread_create");
    unsigned seed = 12345;
    for (int i = 0; i < WORKERS; i++)
        worker(seed += 7919);
    long reaped = 0, bad = 0, at_ready = -1, threads_at_ready = 0;
    while (at_ready < 0 || reaped < at_ready + 50) {
        int st;
        pid_t p = waitpid(-1, &st, 0);
        if (p < 0) {
            if (errno == EINTR)
                continue;
            fail("waitpid: %s after %ld reaped", strerror(errno), reaped);
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            if (bad++ == 0)
                test_msg("worker %d ended with status 0x%x (reaped %ld, at_ready %ld)", (int)p, st, reaped, at_ready);
        }
        reaped++;
        worker(seed += 7919);
        if (at_ready < 0 && reaped == 50) {
            test_ready();
        }
        if (at_ready < 0 && test_stop) {
            at_ready = reaped;
            threads_at_ready = atomic_load(&threads_done);
        }
    }
    CHECK(bad == 0, "%ld workers ended badly", bad);
    CHECK(atomic_load(&threads_done) > threads_at_ready, "the thread churn stopped");
    pass();
}
