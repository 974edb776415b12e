/*
 * attributes: process attributes that prctl or /proc set, each away from its default:
 *   PR_SET_THP_DISABLE   disabled (with PR_THP_DISABLE_EXCEPT_ADVISED where the kernel has it, 6.18)
 *   /proc/self/loginuid  4242 in the leader, 4243 in a second thread (each task has its own)
 * After restart each reads back as set.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED (1 << 1)
#endif

static pthread_barrier_t ready, checked;
static volatile int thread_ok = -1;

static unsigned loginuid(void)
{
    char *text = read_file("/proc/thread-self/loginuid", NULL);
    CHECK(text != NULL, "read /proc/thread-self/loginuid: %s", strerror(errno));
    unsigned v = (unsigned)strtoul(text, NULL, 10);
    free(text);
    return v;
}

static void set_loginuid(unsigned v)
{
    int fd = open("/proc/thread-self/loginuid", O_WRONLY);
    CHECK(fd >= 0, "open /proc/thread-self/loginuid: %s", strerror(errno));
    char buf[16];
    int n = snprintf(buf, sizeof(buf), "%u", v);
    CHECK(write(fd, buf, n) == n, "write loginuid %u: %s", v, strerror(errno));
    close(fd);
}

static void *second(void *arg)
{
    (void)arg;
    set_loginuid(4243);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&checked); /* after restart: the main thread asks */
    thread_ok = loginuid() == 4243;
    return NULL;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int thp = 1 | PR_THP_DISABLE_EXCEPT_ADVISED;
    if (prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED, 0, 0) != 0) {
        CHECK(errno == EINVAL, "PR_SET_THP_DISABLE except advised: %s", strerror(errno));
        thp = 1;
        CHECK(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0, "PR_SET_THP_DISABLE: %s", strerror(errno));
    }
    CHECK(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == thp, "PR_GET_THP_DISABLE before: %d",
          prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
    set_loginuid(4242);
    pthread_barrier_init(&ready, NULL, 2);
    pthread_barrier_init(&checked, NULL, 2);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, second, NULL) == 0, "pthread_create");
    pthread_barrier_wait(&ready);

    test_ready();
    test_waitsig();

    int now = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
    CHECK(now == thp, "PR_GET_THP_DISABLE %d after restart, was %d", now, thp);
    CHECK(loginuid() == 4242, "leader's loginuid %u after restart, was 4242", loginuid());
    pthread_barrier_wait(&checked);
    pthread_join(t, NULL);
    CHECK(thread_ok == 1, "second thread's loginuid not 4243 after restart");
    pass();
}
