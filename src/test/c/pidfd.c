/*
 * pidfd: pidfds of itself, of a child (PIDFD_NONBLOCK), of one of its own threads (PIDFD_THREAD),
 * two of a child that has exited and been reaped (one shared open file, one opened apart: the
 * same inode) and one of another gone child (another inode). After the restart each names the
 * same process in its fdinfo (or -1), keeps its flags, the live ones signal and wait as before,
 * and the dead ones say ESRCH.
 *
 *   pidfd           the above
 *   pidfd outside   also a pidfd of its parent (outside the tree): prints "FD <n>"; refused
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static int pidfd_open(pid_t pid, unsigned flags)
{
    int fd = syscall(SYS_pidfd_open, pid, flags);
    CHECK(fd >= 0, "pidfd_open(%d, %#x): %s", pid, flags, strerror(errno));
    return fd;
}

/* The Pid: line of a pidfd's fdinfo. */
static long fdinfo_pid(int fd)
{
    char path[64], *text, *line;
    size_t len;
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    CHECK((text = read_file(path, &len)) != NULL, "read %s: %s", path, strerror(errno));
    CHECK((line = strstr(text, "\nPid:")) != NULL, "%s: no Pid line", path);
    long pid = strtol(line + 5, NULL, 10);
    free(text);
    return pid;
}

static ino_t ino(int fd)
{
    struct stat st;
    CHECK(fstat(fd, &st) == 0, "fstat %d: %s", fd, strerror(errno));
    return st.st_ino;
}

static pid_t gone_child(int *shared, int *apart)
{
    pid_t c = fork();
    CHECK(c >= 0, "fork: %s", strerror(errno));
    if (c == 0)
        _exit(0);
    *shared = pidfd_open(c, 0);
    if (apart)
        *apart = pidfd_open(c, 0);
    CHECK(waitpid(c, NULL, 0) == c, "waitpid: %s", strerror(errno));
    return c;
}

static void *idle(void *arg)
{
    (void)arg;
    while (!test_stop)
        usleep(10000);
    return NULL;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int outside = argc > 1 && strcmp(argv[1], "outside") == 0;
    int self = pidfd_open(getpid(), 0);
    pid_t child = fork();
    CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        for (;;)
            pause();
    }
    int of_child = pidfd_open(child, PIDFD_NONBLOCK);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, idle, NULL) == 0, "pthread_create");
    pid_t tid;
    char path[64];
    for (;;) { /* the thread's id: the task that is not the main thread */
        tid = 0;
        for (pid_t t = getpid() + 1; t < getpid() + 1000 && !tid; t++) {
            snprintf(path, sizeof(path), "/proc/self/task/%d", t);
            if (access(path, F_OK) == 0)
                tid = t;
        }
        if (tid)
            break;
        usleep(1000);
    }
    int of_thread = pidfd_open(tid, PIDFD_THREAD);
    int dead_a, dead_a2, dead_b;
    gone_child(&dead_a, &dead_a2);
    int dead_a_dup = dup(dead_a);
    gone_child(&dead_b, NULL);
    CHECK(ino(dead_a) == ino(dead_a2) && ino(dead_a) != ino(dead_b), "gone children's pidfds: inodes");
    if (outside)
        printf("FD %d\n", pidfd_open(getppid(), 0));

    test_ready();
    test_waitsig();

    CHECK(fdinfo_pid(self) == getpid(), "pidfd of itself names %ld", fdinfo_pid(self));
    CHECK(fdinfo_pid(of_child) == child, "pidfd of child %d names %ld", child, fdinfo_pid(of_child));
    CHECK(fdinfo_pid(of_thread) == tid, "pidfd of thread %d names %ld", tid, fdinfo_pid(of_thread));
    CHECK((fcntl(of_child, F_GETFL) & O_NONBLOCK) && (fcntl(of_thread, F_GETFL) & O_EXCL) &&
          !(fcntl(self, F_GETFL) & O_NONBLOCK), "pidfd flags not kept");
    CHECK(fdinfo_pid(dead_a) == -1 && fdinfo_pid(dead_a2) == -1 && fdinfo_pid(dead_b) == -1, "gone pidfds name a process");
    CHECK(ino(dead_a) == ino(dead_a2) && ino(dead_a) == ino(dead_a_dup) && ino(dead_a) != ino(dead_b) &&
          ino(dead_b) != ino(self), "gone children's pidfds: inodes not kept apart as before");
    CHECK(syscall(SYS_pidfd_send_signal, dead_b, 0, NULL, 0) == -1 && errno == ESRCH,
          "signal through a gone child's pidfd: %s", strerror(errno));
    CHECK(syscall(SYS_pidfd_send_signal, of_child, SIGKILL, NULL, 0) == 0, "pidfd_send_signal: %s", strerror(errno));
    siginfo_t info = { 0 };
    int r;
    while ((r = waitid(P_PIDFD, of_child, &info, WEXITED)) != 0 && errno == EAGAIN) /* PIDFD_NONBLOCK */
        usleep(1000);
    CHECK(r == 0 && info.si_pid == child && info.si_status == SIGKILL, "waitid(P_PIDFD) of the child: %s",
          strerror(errno));
    pthread_join(thread, NULL);
    pass();
}
