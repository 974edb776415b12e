/*
 * seccomp_strict: a child in seccomp strict mode (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)),
 * where every call but read, write, exit and rt_sigreturn kills it with SIGKILL. It serves its
 * parent over a socket pair: 'p' is answered with 'P' (it still works), 'x' makes it call
 * getpid (it must die of SIGKILL: strict mode is still on), 'q' makes it exit(0). The parent
 * checks, before READY and after SIGTERM, that the child answers and that its /proc status says
 * "Seccomp: 1", then sends 'x' and expects the child killed by SIGKILL. It prints "CHILD <pid>".
 *
 *   seccomp_strict        the above
 *   seccomp_strict quit   ends the child with 'q' instead (it must exit 0)
 *   seccomp_strict thread the same with a thread of the process in strict mode instead of a child
 *                         (a forbidden call ends that thread alone: do_exit, and the join works)
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Only read, write and exit from here on: no libc call that might make another. */
static void serve(int sk)
{
    char c;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) != 0)
        syscall(SYS_exit, 2);
    c = 'S';
    syscall(SYS_write, sk, &c, 1);
    for (;;) {
        if (syscall(SYS_read, sk, &c, 1) != 1)
            syscall(SYS_exit, 3);
        if (c == 'p') {
            c = 'P';
            syscall(SYS_write, sk, &c, 1);
        } else if (c == 'x') {
            syscall(SYS_getpid);   /* fatal in strict mode */
            syscall(SYS_exit, 4);
        } else if (c == 'q') {
            syscall(SYS_exit, 0);
        }
    }
}

static volatile pid_t server_tid;

static void *serve_thread(void *sk)
{
    server_tid = gettid();   /* before strict mode: gettid is not allowed in it */
    serve((int)(long)sk);
    return NULL;
}

static int thread_mode;   /* a thread, not a child: its pid is a tid of ours */

static int seccomp_mode(pid_t pid)
{
    char path[64], *text, *line;
    size_t len;
    if (thread_mode)
        snprintf(path, sizeof(path), "/proc/self/task/%d/status", pid);
    else
        snprintf(path, sizeof(path), "/proc/%d/status", pid);
    CHECK((text = read_file(path, &len)) != NULL, "read %s: %s", path, strerror(errno));
    CHECK((line = strstr(text, "\nSeccomp:")) != NULL, "%s: no Seccomp line", path);
    int mode = atoi(line + 9);
    free(text);
    return mode;
}

static void ping(int sk, pid_t child)
{
    char c = 'p';
    CHECK(write(sk, &c, 1) == 1, "write to the child: %s", strerror(errno));
    CHECK(read(sk, &c, 1) == 1, "read from the child: %s", strerror(errno));
    CHECK(c == 'P', "the child answered '%c', not 'P'", c);
    CHECK(seccomp_mode(child) == SECCOMP_MODE_STRICT, "child %d: Seccomp %d, not 1 (strict)", child,
          seccomp_mode(child));
}

/* Mode "thread": the server is a thread of this process. */
static int main_thread(int *sk)
{
    pthread_t th;
    char c;
    CHECK(pthread_create(&th, NULL, serve_thread, (void *)(long)sk[1]) == 0, "pthread_create");
    CHECK(read(sk[0], &c, 1) == 1 && c == 'S', "the thread did not enter strict mode");
    pid_t tid = server_tid;
    ping(sk[0], tid);
    test_ready();
    test_waitsig();
    ping(sk[0], tid);
    CHECK(getpid() > 0, "the main thread cannot call getpid");
    c = 'x';
    CHECK(write(sk[0], &c, 1) == 1, "write to the thread: %s", strerror(errno));
    CHECK(pthread_join(th, NULL) == 0, "pthread_join");
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
    CHECK(access(path, F_OK) != 0, "thread %d still there after getpid in strict mode", tid);
    pass();
}

int main(int argc, char **argv)
{
    int sk[2], status;
    char c;
    int quit = argc > 1 && strcmp(argv[1], "quit") == 0;
    thread_mode = argc > 1 && strcmp(argv[1], "thread") == 0;
    test_init(argc, argv);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sk) == 0, "socketpair: %s", strerror(errno));
    if (thread_mode)
        return main_thread(sk);
    pid_t child = fork();
    CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        close(sk[0]);
        serve(sk[1]);
    }
    close(sk[1]);
    CHECK(read(sk[0], &c, 1) == 1 && c == 'S', "the child did not enter strict mode");
    ping(sk[0], child);
    test_msg("CHILD %d", child);
    test_ready();
    test_waitsig();
    ping(sk[0], child);
    c = quit ? 'q' : 'x';
    CHECK(write(sk[0], &c, 1) == 1, "write to the child: %s", strerror(errno));
    CHECK(waitpid(child, &status, 0) == child, "waitpid: %s", strerror(errno));
    if (quit)
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x, not exit 0", status);
    else
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "child status %#x after getpid in strict mode: not killed by SIGKILL", status);
    pass();
}
