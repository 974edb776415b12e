/*
 * kinds: the state of the signal, itimer, thread, credentials and attributes kinds in one
 * process, for the kind tests (dev.amber.kind.KindsTest).
 *
 *   kinds setup   sets every property up (below), prints "ADDR ..." and "READY", waits for SIGTERM
 *   kinds blank   changes nothing but blocks the same signals (the blocked mask is set by the
 *                 restart pipeline, not by a kind), prints "ADDR ..." and "READY", waits
 *   kinds timer   creates one POSIX timer (refused by the itimer kind), prints "READY", waits
 *
 * setup and blank check on SIGTERM that every property has the setup values, so a blank copy
 * that received a setup copy's dumped state through the kinds' restore PASSes too. Both re-exec
 * themselves without address-space randomization, so handlers, the alternate stack, the robust
 * list and the rseq area sit at the same addresses in both; blank runs without glibc's rseq
 * registration (like the restart puppet) and gets the setup copy's through the thread kind.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif
#define SECBIT_NOROOT (1 << 0)
#define SECBIT_NO_SETUID_FIXUP (1 << 2)
#define SECBIT_KEEP_CAPS (1 << 4)
#define SIG_RT2 36 /* SIGRTMIN + 2 with glibc's SIGRTMIN 34 */
#define SIG_RT3 37
#define BIT(n) (1ULL << (n))
#define SIGBIT(s) (1ULL << ((s) - 1))
#define BLOCKED (SIGBIT(SIGUSR1) | SIGBIT(SIGUSR2) | SIGBIT(SIG_RT2) | SIGBIT(SIG_RT3))
#define CAPS_INH (BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE))
#define CAPS_PRM (BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE))
#define CAPS_EFF (BIT(CAP_CHOWN) | BIT(CAP_KILL))
#define PERSONALITY (ADDR_NO_RANDOMIZE | UNAME26)
#define NAME "amber-kinds"

static char altstack[64 * 1024] __attribute__((aligned(16)));
static struct robust_list_head robust = {.list = {&robust.list}};
static int tid_word;

static void on_usr1(int sig, siginfo_t *si, void *uc) { (void)sig; (void)si; (void)uc; }
static void on_usr2(int sig) { (void)sig; }
static void on_winch(int sig) { (void)sig; }
static void on_alrm(int sig) { (void)sig; }
static void on_rt(int sig, siginfo_t *si, void *uc) { (void)sig; (void)si; (void)uc; }

static const struct disp {
    int sig;
    void *handler;
    unsigned flags;
    uint64_t mask;
} disps[] = {
    {SIGUSR1, (void *)on_usr1, SA_SIGINFO | SA_RESTART, SIGBIT(SIGHUP) | SIGBIT(39)},
    {SIGUSR2, (void *)on_usr2, SA_ONSTACK | SA_NODEFER, 0},
    {SIGHUP, (void *)SIG_IGN, 0, 0},
    {SIGWINCH, (void *)on_winch, (unsigned)SA_RESETHAND, SIGBIT(SIGQUIT) | SIGBIT(SIGINT)},
    {SIGALRM, (void *)on_alrm, SA_RESTART, 0},
    {SIG_RT2, (void *)on_rt, SA_SIGINFO, 0},
    {SIG_RT3, (void *)on_rt, SA_SIGINFO, SIGBIT(SIGUSR1)},
    {SIGPIPE, (void *)SIG_IGN, 0, 0},
};
#define NDISPS (sizeof(disps) / sizeof(disps[0]))

static const struct timer {
    int which;
    struct itimerval v;
} timers[] = {
    {ITIMER_REAL, {{500, 250000}, {1000, 0}}},
    {ITIMER_VIRTUAL, {{3, 5000}, {2000, 0}}},
    {ITIMER_PROF, {{7, 0}, {3000, 123}}},
};

static const struct limit {
    int resource;
    struct rlimit v;
} limits[] = {
    {RLIMIT_NOFILE, {100, 200}},
    {RLIMIT_CORE, {1 << 20, 1 << 21}},
    {RLIMIT_MSGQUEUE, {4096, 8192}},
};

static struct rseq *rseq_area(void)
{
    return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

static void sys(long r, const char *what)
{
    if (r == -1)
        fail("%s: %s", what, strerror(errno));
}

static void capset3(uint64_t inh, uint64_t prm, uint64_t eff)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{(uint32_t)eff, (uint32_t)prm, (uint32_t)inh},
                                          {(uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32)}};
    sys(syscall(SYS_capset, &h, d), "capset");
}

static void capget3(uint64_t *inh, uint64_t *prm, uint64_t *eff)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    sys(syscall(SYS_capget, &h, d), "capget");
    *inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
    *prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
    *eff = d[0].effective | (uint64_t)d[1].effective << 32;
}

static void block_signals(void)
{
    uint64_t mask = BLOCKED;
    sys(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &mask, NULL, 8), "rt_sigprocmask");
}

static void queue_to_thread(int sig, int value)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = value;
    sys(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), sig, &si), "rt_tgsigqueueinfo");
}

static void setup_signals(void)
{
    for (size_t i = 0; i < NDISPS; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = (void (*)(int))disps[i].handler;
        sa.sa_flags = (int)disps[i].flags;
        memcpy(&sa.sa_mask, &disps[i].mask, 8);
        sys(sigaction(disps[i].sig, &sa, NULL), "sigaction");
    }
    stack_t ss = {.ss_sp = altstack, .ss_flags = SS_AUTODISARM, .ss_size = sizeof(altstack)};
    sys(sigaltstack(&ss, NULL), "sigaltstack");
    block_signals();
    sys(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1), "tgkill");
    queue_to_thread(SIG_RT3, 33);
    queue_to_thread(SIG_RT3, 44);
    sys(kill(getpid(), SIGUSR2), "kill");
    sys(sigqueue(getpid(), SIG_RT2, (union sigval){.sival_int = 11}), "sigqueue");
    sys(sigqueue(getpid(), SIG_RT2, (union sigval){.sival_int = 22}), "sigqueue");
}

static void setup_credentials(void)
{
    gid_t groups[] = {100, 200};
    sys(setgroups(2, groups), "setgroups");
    sys(setresgid(1001, 1002, 1003), "setresgid");
    setfsgid(1004);
    sys(prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT, 0, 0, 0), "PR_CAPBSET_DROP");
    sys(prctl(PR_CAPBSET_DROP, CAP_MKNOD, 0, 0, 0), "PR_CAPBSET_DROP");
    sys(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP, 0, 0, 0), "PR_SET_SECUREBITS");
    sys(setresuid(1001, 1002, 1003), "setresuid");
    setfsuid(1004);
    uint64_t inh, prm, eff;
    capget3(&inh, &prm, &eff);
    capset3(CAPS_INH, prm, eff);
    sys(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0), "PR_CAP_AMBIENT_RAISE");
    sys(prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_KEEP_CAPS, 0, 0, 0), "PR_SET_SECUREBITS");
    capset3(CAPS_INH, CAPS_PRM, CAPS_EFF);
    sys(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS");
}

/* After the credentials: changing ids resets dumpable and the parent-death signal. */
static void setup_attributes(void)
{
    sys(personality(PERSONALITY), "personality");
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
        sys(setrlimit(limits[i].resource, &limits[i].v), "setrlimit");
    sys(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "PR_SET_DUMPABLE");
    sys(prctl(PR_SET_PDEATHSIG, SIGURG, 0, 0, 0), "PR_SET_PDEATHSIG");
    sys(prctl(PR_SET_TIMERSLACK, 123456, 0, 0, 0), "PR_SET_TIMERSLACK");
    sys(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "PR_SET_CHILD_SUBREAPER");
    sys(prctl(PR_SET_NAME, NAME, 0, 0, 0), "PR_SET_NAME");
}

static void setup(void)
{
    setup_signals();
    for (size_t i = 0; i < 3; i++)
        sys(setitimer(timers[i].which, &timers[i].v, NULL), "setitimer");
    sys(syscall(SYS_set_robust_list, &robust, sizeof(robust)), "set_robust_list");
    syscall(SYS_set_tid_address, &tid_word);
    setup_credentials();
    setup_attributes();
}

static uint64_t status_hex(const char *label)
{
    char *text = read_file("/proc/self/status", NULL);
    CHECK(text, "read /proc/self/status: %s", strerror(errno));
    char *at = strstr(text, label);
    CHECK(at, "no %s in /proc/self/status", label);
    uint64_t v = strtoull(at + strlen(label), NULL, 16);
    free(text);
    return v;
}

static void expect_signal(int sig, int code, int value)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    siginfo_t si;
    struct timespec zero = {0, 0};
    int got = sigtimedwait(&set, &si, &zero);
    CHECK(got == sig, "pending signal %d: sigtimedwait returned %d (%s)", sig, got, strerror(errno));
    CHECK(si.si_code == code, "signal %d: si_code %d, expected %d", sig, si.si_code, code);
    if (code == SI_QUEUE)
        CHECK(si.si_value.sival_int == value, "signal %d: value %d, expected %d", sig, si.si_value.sival_int, value);
}

static void verify_signals(void)
{
    for (size_t i = 0; i < NDISPS; i++) {
        struct sigaction sa;
        sys(sigaction(disps[i].sig, NULL, &sa), "sigaction");
        uint64_t mask;
        memcpy(&mask, &sa.sa_mask, 8);
        CHECK((void *)sa.sa_handler == disps[i].handler, "signal %d: handler %p, expected %p", disps[i].sig,
              (void *)sa.sa_handler, disps[i].handler);
        unsigned flags = (unsigned)sa.sa_flags & ~0x04000000U; /* SA_RESTORER, which glibc adds */
        CHECK(flags == disps[i].flags, "signal %d: flags %#x, expected %#x", disps[i].sig, flags, disps[i].flags);
        CHECK(mask == disps[i].mask, "signal %d: mask %#llx, expected %#llx", disps[i].sig,
              (unsigned long long)mask, (unsigned long long)disps[i].mask);
    }
    stack_t ss;
    sys(sigaltstack(NULL, &ss), "sigaltstack");
    CHECK(ss.ss_sp == altstack && ss.ss_size == sizeof(altstack) && (unsigned)ss.ss_flags == SS_AUTODISARM,
          "altstack %p size %zu flags %#x, expected %p %zu %#x", ss.ss_sp, ss.ss_size, ss.ss_flags,
          (void *)altstack, sizeof(altstack), SS_AUTODISARM);
    uint64_t blocked;
    sys(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &blocked, 8), "rt_sigprocmask");
    CHECK(blocked == BLOCKED, "blocked %#llx, expected %#llx", (unsigned long long)blocked, (unsigned long long)BLOCKED);
    uint64_t thread = status_hex("SigPnd:\t"), shared = status_hex("ShdPnd:\t");
    CHECK(thread == (SIGBIT(SIGUSR1) | SIGBIT(SIG_RT3)), "thread-directed pending %#llx", (unsigned long long)thread);
    CHECK(shared == (SIGBIT(SIGUSR2) | SIGBIT(SIG_RT2)), "process-directed pending %#llx", (unsigned long long)shared);
    expect_signal(SIG_RT3, SI_QUEUE, 33);
    expect_signal(SIG_RT3, SI_QUEUE, 44);
    expect_signal(SIG_RT2, SI_QUEUE, 11);
    expect_signal(SIG_RT2, SI_QUEUE, 22);
    expect_signal(SIGUSR1, SI_USER, 0); /* queued as SI_TKILL; glibc's sigtimedwait reports SI_USER */
    expect_signal(SIGUSR2, SI_USER, 0);
    CHECK(status_hex("SigPnd:\t") == 0 && status_hex("ShdPnd:\t") == 0, "signals left pending");
}

static void verify_timers(void)
{
    for (size_t i = 0; i < 3; i++) {
        struct itimerval v;
        sys(getitimer(timers[i].which, &v), "getitimer");
        const struct itimerval *want = &timers[i].v;
        CHECK(v.it_interval.tv_sec == want->it_interval.tv_sec && v.it_interval.tv_usec == want->it_interval.tv_usec,
              "itimer %d: interval %ld.%06ld, expected %ld.%06ld", timers[i].which, v.it_interval.tv_sec,
              v.it_interval.tv_usec, want->it_interval.tv_sec, want->it_interval.tv_usec);
        long long left = v.it_value.tv_sec * 1000000LL + v.it_value.tv_usec;
        long long set = want->it_value.tv_sec * 1000000LL + want->it_value.tv_usec;
        /* The kernel adds one tick (4 ms at HZ 250) to a CPU-time itimer so it never fires early. */
        CHECK(left <= set + 10000 && left > set - 120 * 1000000LL, "itimer %d: %lld us left of %lld", timers[i].which, left, set);
    }
}

static void verify_thread(void)
{
    struct robust_list_head *head;
    size_t len;
    sys(syscall(SYS_get_robust_list, 0, &head, &len), "get_robust_list");
    CHECK(head == &robust && len == sizeof(robust), "robust list %p %zu, expected %p %zu", (void *)head, len,
          (void *)&robust, sizeof(robust));
    int *tid_address;
    sys(prctl(PR_GET_TID_ADDRESS, &tid_address, 0, 0, 0), "PR_GET_TID_ADDRESS");
    CHECK(tid_address == &tid_word, "clear_child_tid %p, expected %p", (void *)tid_address, (void *)&tid_word);
    CHECK((int)rseq_area()->cpu_id >= 0, "rseq cpu_id %d: no rseq registered", (int)rseq_area()->cpu_id);
}

static void verify_credentials(void)
{
    uid_t r, e, s;
    sys(getresuid(&r, &e, &s), "getresuid");
    CHECK(r == 1001 && e == 1002 && s == 1003, "uids %u %u %u", r, e, s);
    CHECK(setfsuid(-1) == 1004, "fsuid %d", setfsuid(-1));
    gid_t gr, ge, gs;
    sys(getresgid(&gr, &ge, &gs), "getresgid");
    CHECK(gr == 1001 && ge == 1002 && gs == 1003, "gids %u %u %u", gr, ge, gs);
    CHECK(setfsgid(-1) == 1004, "fsgid %d", setfsgid(-1));
    gid_t groups[8];
    int n = getgroups(8, groups);
    CHECK(n == 2 && groups[0] == 100 && groups[1] == 200, "%d groups, expected 100 200", n);
    uint64_t inh, prm, eff;
    capget3(&inh, &prm, &eff);
    CHECK(inh == CAPS_INH && prm == CAPS_PRM && eff == CAPS_EFF, "caps inh %#llx prm %#llx eff %#llx",
          (unsigned long long)inh, (unsigned long long)prm, (unsigned long long)eff);
    CHECK(prctl(PR_CAPBSET_READ, CAP_SYS_BOOT, 0, 0, 0) == 0 && prctl(PR_CAPBSET_READ, CAP_MKNOD, 0, 0, 0) == 0
          && prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0) == 1, "bounding set");
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) == 1
          && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0) == 0, "ambient set");
    int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    CHECK(bits == (SECBIT_NOROOT | SECBIT_KEEP_CAPS), "securebits %#x", bits);
    CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs not set");
}

static void verify_attributes(void)
{
    int p = personality(0xffffffff);
    CHECK(p == PERSONALITY, "personality %#x, expected %#x", p, PERSONALITY);
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        struct rlimit v;
        sys(getrlimit(limits[i].resource, &v), "getrlimit");
        CHECK(v.rlim_cur == limits[i].v.rlim_cur && v.rlim_max == limits[i].v.rlim_max, "rlimit %d: %lu %lu",
              limits[i].resource, v.rlim_cur, v.rlim_max);
    }
    CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, "dumpable");
    int sig = 0;
    sys(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0), "PR_GET_PDEATHSIG");
    CHECK(sig == SIGURG, "pdeathsig %d", sig);
    CHECK(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 123456, "timer slack");
    int subreaper = 0;
    sys(prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0), "PR_GET_CHILD_SUBREAPER");
    CHECK(subreaper == 1, "child subreaper %d", subreaper);
    char name[17] = {0};
    sys(prctl(PR_GET_NAME, name, 0, 0, 0), "PR_GET_NAME");
    CHECK(strcmp(name, NAME) == 0, "name \"%s\"", name);
}

/* Same layout in setup and blank: the GLIBC_TUNABLES strings have the same length. */
static void reexec_without_aslr(char **argv, int blank)
{
    int p = personality(0xffffffff);
    if (p & ADDR_NO_RANDOMIZE)
        return;
    sys(personality(p | ADDR_NO_RANDOMIZE), "personality");
    setenv("GLIBC_TUNABLES", blank ? "glibc.pthread.rseq=0" : "glibc.pthread.rseq=1", 1);
    execv("/proc/self/exe", argv);
    fail("execv: %s", strerror(errno));
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "timer") == 0) {
        test_init(argc, argv);
        timer_t id;
        struct sigevent ev = {.sigev_notify = SIGEV_NONE};
        sys(timer_create(CLOCK_MONOTONIC, &ev, &id), "timer_create");
        test_ready();
        test_waitsig();
        pass();
    }
    int blank = strcmp(mode, "blank") == 0;
    CHECK(blank || strcmp(mode, "setup") == 0, "usage: kinds setup|blank|timer");
    reexec_without_aslr(argv, blank);
    test_init(argc, argv);
    CHECK(SIGRTMIN == 34, "SIGRTMIN %d, expected 34", SIGRTMIN);
    if (blank)
        block_signals();
    else
        setup();
    struct sigaction term; /* set by test_init in both modes */
    sys(sigaction(SIGTERM, NULL, &term), "sigaction");
    printf("ADDR on_usr1=%p on_usr2=%p on_winch=%p on_alrm=%p on_rt=%p restorer=%p altstack=%p robust=%p tid_word=%p"
           " rseq=%p\n", (void *)on_usr1, (void *)on_usr2, (void *)on_winch, (void *)on_alrm, (void *)on_rt,
           (void *)term.sa_restorer, (void *)altstack, (void *)&robust, (void *)&tid_word, (void *)rseq_area());
    test_ready();
    test_waitsig();
    verify_signals();
    verify_timers();
    verify_thread();
    verify_credentials();
    verify_attributes();
    pass();
}
