/*
 * job_states: children in the states a shell's jobs and a sloppy parent leave them in.
 *
 *   root R (its own group, as a shell's job is)
 *   +-- T   own group, two threads, stopped by SIGTSTP (Ctrl-Z); R looked with WNOWAIT only
 *   +-- S   own group, stopped by SIGSTOP, with one more SIGSTOP pending for the process and
 *           one for its thread (tkill) while stopped
 *   +-- I   own group, stopped by SIGTTIN, its stop collected by R's waitpid(WUNTRACED)
 *   +-- Z   zombie, exited with 5, in the group of G, which made it (CLONE_PARENT: R is its
 *           parent) and exited, reaped by R: a group whose leader is gone
 * R counts the SIGCHLDs it gets (a handler without SA_NOCLDSTOP).
 *
 * After the harness's SIGTERM, R checks: T and S are still stopped (state T), waitid(WSTOPPED)
 * reports each one's own stop signal but I's, which R had collected; no SIGCHLD came meanwhile;
 * SIGCONT lets them run on: T's second thread counts on, they exit with their codes; Z's group
 * is G's id and it is reaped with status 5.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile unsigned long ticks;
static volatile sig_atomic_t sigchlds;

static void on_sigchld(int sig)
{
    (void)sig;
    sigchlds++;
}

static void *ticker(void *arg)
{
    (void)arg;
    for (;;) {
        ticks++;
        usleep(1000);
    }
    return NULL;
}

/* T: two threads; once continued, it waits for the ticker to move, then exits 11. */
static void t_main(void)
{
    pthread_t th;
    if (pthread_create(&th, NULL, ticker, NULL) != 0)
        _exit(2);
    for (;;) {
        unsigned long before = ticks;
        usleep(20000);
        if (test_stop || ticks == before)
            continue;
        /* The ticker runs: leave once R said (SIGCONT comes after the checks). */
        if (access(".t_may_exit", F_OK) == 0)
            _exit(11);
    }
}

static char state_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    size_t len;
    char *s = read_file(path, &len);
    if (s == NULL)
        return '?';
    char *p = strrchr(s, ')');
    char c = p && p[1] ? p[2] : '?';
    free(s);
    return c;
}

static void await_state(pid_t pid, char want)
{
    for (int i = 0; i < 2000 && state_of(pid) != want; i++)
        usleep(1000);
    CHECK(state_of(pid) == want, "pid %d is in state %c, not %c", pid, state_of(pid), want);
}

static int stop_signal(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT | WNOHANG) < 0)
        fail("waitid(%d, WSTOPPED): %s", pid, strerror(errno));
    if (si.si_pid != pid)
        return -1;
    CHECK(si.si_code == CLD_STOPPED, "waitid(%d): si_code %d, not CLD_STOPPED", pid, si.si_code);
    return si.si_status;
}

static pid_t make_zombie_in_gone_group(pid_t *group)
{
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    pid_t g = fork();
    if (g == 0) {
        setpgid(0, 0);
        pid_t z = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
        if (z == 0)
            _exit(5);
        if (write(p[1], &z, sizeof(z)) != sizeof(z))
            _exit(3);
        _exit(0);
    }
    pid_t z;
    CHECK(read(p[0], &z, sizeof(z)) == sizeof(z), "zombie pid");
    int st;
    CHECK(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0, "group maker G");
    siginfo_t si;
    CHECK(waitid(P_PID, z, &si, WEXITED | WNOWAIT) == 0, "zombie %d", z);
    close(p[0]);
    close(p[1]);
    *group = g;
    return z;
}

static void expect_exit(pid_t pid, int code)
{
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    CHECK(r == pid, "waitpid(%d): %s", pid, strerror(errno));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == code, "pid %d: status 0x%x, expected exit %d", pid, st, code);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    unlink(".t_may_exit");
    setpgid(0, 0);

    pid_t t = fork();
    if (t == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        t_main();
    }
    setpgid(t, t);
    pid_t s = fork();
    if (s == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* a root that failed takes it along */
        for (;;)
            pause();
    }
    setpgid(s, s);
    usleep(50000);   /* T's ticker is up */

    CHECK(kill(t, SIGTSTP) == 0, "kill T");
    await_state(t, 'T');
    CHECK(kill(s, SIGSTOP) == 0, "kill S");
    await_state(s, 'T');
    CHECK(kill(s, SIGSTOP) == 0 && syscall(SYS_tgkill, s, s, SIGSTOP) == 0, "SIGSTOP again to S");
    CHECK(stop_signal(t) == SIGTSTP, "T stopped by %d before", stop_signal(t));
    CHECK(stop_signal(s) == SIGSTOP, "S stopped by %d before", stop_signal(s));

    pid_t in = fork();
    if (in == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* a root that failed takes it along */
        for (;;)
            pause();
    }
    setpgid(in, in);
    CHECK(kill(in, SIGTTIN) == 0, "kill I");
    int st;
    CHECK(waitpid(in, &st, WUNTRACED) == in && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTTIN, "I: status 0x%x", st);
    CHECK(stop_signal(in) == -1, "I's stop reported twice before");

    pid_t group;
    pid_t z = make_zombie_in_gone_group(&group);
    struct sigaction sa = { .sa_handler = on_sigchld };
    sigaction(SIGCHLD, &sa, NULL);
    printf("PIDS %d %d %d %d\n", t, s, z, in);
    test_ready();
    test_waitsig();
    int chlds = sigchlds;

    CHECK(state_of(t) == 'T' && state_of(s) == 'T', "T is %c, S is %c: not stopped", state_of(t), state_of(s));
    CHECK(stop_signal(t) == SIGTSTP, "T: waitid reports stop signal %d, not SIGTSTP", stop_signal(t));
    CHECK(stop_signal(s) == SIGSTOP, "S: waitid reports stop signal %d, not SIGSTOP", stop_signal(s));
    CHECK(state_of(in) == 'T', "I is %c: not stopped", state_of(in));
    CHECK(stop_signal(in) == -1, "I: its collected stop is reported again (signal %d)", stop_signal(in));
    CHECK(chlds == 0, "%d SIGCHLD(s) while nothing changed", chlds);
    CHECK(getpgid(z) == group, "zombie %d: group %d, not %d (its gone leader's)", z, getpgid(z), group);
    CHECK(state_of(z) == 'Z', "zombie %d is in state %c", z, state_of(z));

    FILE *f = fopen(".t_may_exit", "w");
    CHECK(f != NULL, "flag file");
    fclose(f);
    CHECK(kill(t, SIGCONT) == 0 && kill(s, SIGCONT) == 0, "SIGCONT");
    /* S ran on: the SIGSTOPs that were pending went with SIGCONT, as the kernel discards them. */
    usleep(100000);
    CHECK(state_of(s) != 'T', "S is still stopped after SIGCONT");
    kill(s, SIGKILL);
    kill(in, SIGKILL);
    expect_exit(t, 11);
    CHECK(waitpid(in, &st, 0) == in && WIFSIGNALED(st), "I: status 0x%x", st);
    CHECK(waitpid(s, &st, 0) == s && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "S: status 0x%x", st);
    expect_exit(z, 5);
    unlink(".t_may_exit");
    pass();
}
