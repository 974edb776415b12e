/*
 * signals: dispositions with every flag, masks, SIG_IGN, a blocked mask, pending signals (standard
 * and queued realtime, per-thread and process-wide, with sigqueue values) and sigaltstack.
 * After restart: all read back equal, the pending signals come out of sigwaitinfo in the same
 * order with the same values, and the handlers behave as their flags say.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ALTSTACK_SIZE (64 * 1024)
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31) /* linux/signal.h; glibc does not export it */
#endif

static char *altstack;
static volatile sig_atomic_t usr1_count, usr1_code, usr2_on_altstack, usr2_count, hup_count, winch_count, rt_count;
static volatile int usr1_pid;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    usr1_count++;
    usr1_code = si->si_code;
    usr1_pid = si->si_pid;
}
static void on_usr2(int sig)
{
    (void)sig;
    char here;
    usr2_on_altstack = &here >= altstack && &here < altstack + ALTSTACK_SIZE;
    usr2_count++;
}
static void on_hup(int sig) { (void)sig; hup_count++; }
static void on_winch(int sig) { (void)sig; winch_count++; }
static void on_rt(int sig, siginfo_t *si, void *uc) { (void)sig; (void)si; (void)uc; rt_count++; }

struct disp {
    int sig;
    void *handler; /* or SIG_IGN */
    int flags;
    int mask[3];
};

static struct disp disps[6];
static struct sigaction before[NSIG];
static int ndisps;

static void set(int sig, void *handler, int flags, int m0, int m1, int m2)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_flags = flags;
    if (flags & SA_SIGINFO)
        sa.sa_sigaction = handler;
    else
        sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    int m[3] = { m0, m1, m2 };
    for (int i = 0; i < 3; i++)
        if (m[i])
            sigaddset(&sa.sa_mask, m[i]);
    CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction(%d): %s", sig, strerror(errno));
    disps[ndisps++] = (struct disp){ sig, handler, flags, { m0, m1, m2 } };
}

static int queue(int sig, int value)
{
    return sigqueue(getpid(), sig, (union sigval){ .sival_int = value });
}

/* rt_tgsigqueueinfo: a realtime signal with a value queued on this thread only */
static int queue_thread(int sig, int value)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = value;
    return (int)syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), sig, &si);
}

static void check_sigaction_same(int sig)
{
    struct sigaction now;
    CHECK(sigaction(sig, NULL, &now) == 0, "sigaction(%d) readback: %s", sig, strerror(errno));
    const struct sigaction *b = &before[sig];
    CHECK(now.sa_handler == b->sa_handler, "signal %d: handler %p, was %p", sig, (void *)now.sa_handler,
          (void *)b->sa_handler);
    CHECK(now.sa_flags == b->sa_flags, "signal %d: flags 0x%x, was 0x%x", sig, now.sa_flags, b->sa_flags);
    CHECK(now.sa_restorer == b->sa_restorer, "signal %d: restorer %p, was %p", sig, (void *)now.sa_restorer,
          (void *)b->sa_restorer);
    for (int s = 1; s < NSIG; s++)
        CHECK(sigismember(&now.sa_mask, s) == sigismember(&b->sa_mask, s), "signal %d: sa_mask bit %d differs", sig,
              s);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    const int RT1 = SIGRTMIN + 1, RT2 = SIGRTMIN + 2, RT3 = SIGRTMIN + 3;

    altstack = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(altstack != MAP_FAILED, "mmap altstack: %s", strerror(errno));
    stack_t ss = { .ss_sp = altstack, .ss_size = ALTSTACK_SIZE, .ss_flags = SS_AUTODISARM };
    CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack: %s", strerror(errno));

    set(SIGUSR1, on_usr1, SA_SIGINFO | SA_RESTART, SIGUSR2, SIGHUP, 0);
    set(SIGUSR2, on_usr2, SA_ONSTACK | SA_NODEFER, 0, 0, 0);
    set(SIGHUP, on_hup, SA_RESETHAND, SIGWINCH, 0, 0);
    set(SIGWINCH, on_winch, SA_RESTART | SA_NOCLDSTOP, 0, 0, 0);
    set(SIGPIPE, SIG_IGN, 0, 0, 0, 0);
    set(RT2, on_rt, SA_SIGINFO, RT1, SIGQUIT, 0);
    for (int s = 1; s < NSIG; s++)
        sigaction(s, NULL, &before[s]);

    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGQUIT);
    sigaddset(&blocked, SIGALRM);
    sigaddset(&blocked, SIGPROF);
    sigaddset(&blocked, RT1);
    sigaddset(&blocked, RT3);
    CHECK(sigprocmask(SIG_SETMASK, &blocked, NULL) == 0, "sigprocmask: %s", strerror(errno));

    /* Pending: process-wide (kill, sigqueue) and this thread's own (tgkill, rt_tgsigqueueinfo). */
    CHECK(kill(getpid(), SIGALRM) == 0, "kill: %s", strerror(errno));
    CHECK(queue(RT1, 101) == 0 && queue(RT1, 102) == 0 && queue(RT3, 301) == 0 && queue(RT1, 103) == 0,
          "sigqueue: %s", strerror(errno));
    CHECK(tgkill(getpid(), gettid(), SIGPROF) == 0, "tgkill: %s", strerror(errno));
    CHECK(queue_thread(RT3, 302) == 0 && queue_thread(RT1, 104) == 0, "rt_tgsigqueueinfo: %s", strerror(errno));
    sigset_t pending_before;
    sigpending(&pending_before);

    test_ready();
    test_waitsig();

    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP && (s < 32 || s >= SIGRTMIN)) /* glibc hides 32..SIGRTMIN-1 */
            check_sigaction_same(s);
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    for (int s = 1; s < NSIG; s++)
        CHECK(sigismember(&now, s) == sigismember(&blocked, s), "blocked mask: signal %d is %d, was %d", s,
              sigismember(&now, s), sigismember(&blocked, s));
    sigset_t pending;
    sigpending(&pending);
    for (int s = 1; s < NSIG; s++)
        CHECK(sigismember(&pending, s) == sigismember(&pending_before, s), "pending: signal %d is %d, was %d", s,
              sigismember(&pending, s), sigismember(&pending_before, s));
    stack_t cur;
    CHECK(sigaltstack(NULL, &cur) == 0, "sigaltstack readback: %s", strerror(errno));
    CHECK(cur.ss_sp == altstack && cur.ss_size == ALTSTACK_SIZE && cur.ss_flags == SS_AUTODISARM,
          "sigaltstack: sp %p size %zu flags 0x%x, was %p %d 0x%x", cur.ss_sp, cur.ss_size, cur.ss_flags,
          (void *)altstack, ALTSTACK_SIZE, SS_AUTODISARM);

    /* The kernel dequeues this thread's queue first, then the process's; lowest number first
     * (standard before realtime), and a realtime signal's instances in the order queued. */
    struct { int sig, value; } expect[] = {
        { SIGPROF, 0 }, { RT1, 104 }, { RT3, 302 },           /* thread */
        { SIGALRM, 0 }, { RT1, 101 }, { RT1, 102 }, { RT1, 103 }, { RT3, 301 }, /* process */
    };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        siginfo_t si;
        struct timespec zero = { 0, 0 };
        int sig = sigtimedwait(&blocked, &si, &zero);
        CHECK(sig == expect[i].sig, "pending #%zu: got signal %d, expected %d", i, sig, expect[i].sig);
        if (expect[i].value) {
            CHECK(si.si_code == SI_QUEUE, "pending #%zu (signal %d): si_code %d, expected SI_QUEUE", i, sig, si.si_code);
            CHECK(si.si_value.sival_int == expect[i].value, "pending #%zu (signal %d): value %d, expected %d", i, sig,
                  si.si_value.sival_int, expect[i].value);
            CHECK(si.si_pid == getpid(), "pending #%zu: si_pid %d, expected %d", i, si.si_pid, getpid());
        }
    }
    struct timespec zero = { 0, 0 };
    CHECK(sigtimedwait(&blocked, NULL, &zero) == -1 && errno == EAGAIN, "more signals were pending");

    /* handlers behave as their flags say */
    raise(SIGUSR1);
    CHECK(usr1_count == 1 && usr1_code == SI_TKILL && usr1_pid == getpid(), "SIGUSR1 handler: count %d code %d pid %d",
          (int)usr1_count, (int)usr1_code, (int)usr1_pid);
    raise(SIGUSR2);
    CHECK(usr2_count == 1, "SIGUSR2 handler did not run");
    CHECK(usr2_on_altstack, "SIGUSR2 handler (SA_ONSTACK) did not run on the alternate stack");
    raise(SIGHUP);
    CHECK(hup_count == 1, "SIGHUP handler did not run");
    struct sigaction hup;
    sigaction(SIGHUP, NULL, &hup);
    CHECK(hup.sa_handler == SIG_DFL, "SIGHUP (SA_RESETHAND) not reset to SIG_DFL after delivery");
    raise(SIGPIPE); /* ignored: we survive */
    raise(SIGWINCH);
    CHECK(winch_count == 1, "SIGWINCH handler did not run");
    raise(RT2);
    CHECK(rt_count == 1, "SIGRTMIN+2 handler did not run");
    pass();
}
