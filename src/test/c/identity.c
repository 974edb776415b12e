/*
 * identity: per-process kernel attributes set through prctl and friends: comm, personality,
 * lowered rlimits, no_new_privs, dumpable, pdeathsig, timer slack, child subreaper, nice, CPU
 * affinity, and what glibc registered for the thread: rseq area, robust futex list, clear_child_tid.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define PERSONA (PER_LINUX | UNAME26 | ADDR_COMPAT_LAYOUT)
#define SLACK_NS 123456UL

static const struct { int res; const char *name; rlim_t soft, hard; } limits[] = {
    { RLIMIT_NOFILE, "NOFILE", 256, 512 },
    { RLIMIT_CORE, "CORE", 1 << 20, 2 << 20 },
    { RLIMIT_MSGQUEUE, "MSGQUEUE", 400000, 500000 },
    { RLIMIT_NPROC, "NPROC", 5000, 6000 },
    { RLIMIT_FSIZE, "FSIZE", 1UL << 40, 1UL << 41 },
};
#define NLIMITS (sizeof(limits) / sizeof(limits[0]))

static struct rseq *rseq_area(void) { return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset); }

/* The rseq registration length that the kernel holds: registering again with exactly the same
 * area, length and signature gives EBUSY (anything else gives EINVAL or EPERM). 0: not found. */
static int rseq_registered_len(void)
{
    static const int lens[] = { 32, 20, 64, 128 };
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        if (syscall(SYS_rseq, rseq_area(), lens[i], 0, RSEQ_SIG) == -1 && errno == EBUSY)
            return lens[i];
    return 0;
}

static int last_cpu(void)
{
    cpu_set_t set;
    sched_getaffinity(0, sizeof(set), &set);
    int last = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            last = c;
    return last;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    CHECK(prctl(PR_SET_NAME, "amb-identity") == 0, "PR_SET_NAME: %s", strerror(errno));
    CHECK(personality(PERSONA) != -1, "personality: %s", strerror(errno));
    for (size_t i = 0; i < NLIMITS; i++) {
        struct rlimit old, rl = { limits[i].soft, limits[i].hard };
        getrlimit(limits[i].res, &old);
        if (old.rlim_max != RLIM_INFINITY && rl.rlim_max > old.rlim_max) /* only lower: no CAP_SYS_RESOURCE */
            rl.rlim_max = old.rlim_max;
        if (rl.rlim_cur > rl.rlim_max)
            rl.rlim_cur = rl.rlim_max;
        CHECK(setrlimit(limits[i].res, &rl) == 0, "setrlimit %s: %s", limits[i].name, strerror(errno));
    }
    struct rlimit rl_before[NLIMITS];
    for (size_t i = 0; i < NLIMITS; i++)
        getrlimit(limits[i].res, &rl_before[i]);
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    CHECK(prctl(PR_SET_DUMPABLE, 0) == 0, "PR_SET_DUMPABLE: %s", strerror(errno));
    /* SIGWINCH: ignored by default, so a parent change during restart cannot kill the target */
    CHECK(prctl(PR_SET_PDEATHSIG, SIGWINCH) == 0, "PR_SET_PDEATHSIG: %s", strerror(errno));
    CHECK(prctl(PR_SET_TIMERSLACK, SLACK_NS) == 0, "PR_SET_TIMERSLACK: %s", strerror(errno));
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
    CHECK(setpriority(PRIO_PROCESS, 0, 7) == 0, "setpriority: %s", strerror(errno));
    int cpu = last_cpu();
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    CHECK(sched_setaffinity(0, sizeof(one), &one) == 0, "sched_setaffinity: %s", strerror(errno));

    int rseq_len = __rseq_size > 0 ? rseq_registered_len() : 0;
    if (__rseq_size > 0)
        CHECK(rseq_len > 0, "glibc says rseq is registered (size %u) but the kernel does not confirm it", __rseq_size);
    else
        test_msg("rseq not registered by glibc: rseq checks skipped");
    void *robust_head;
    size_t robust_len;
    CHECK(syscall(SYS_get_robust_list, 0, &robust_head, &robust_len) == 0, "get_robust_list: %s", strerror(errno));
    int *tid_addr;
    CHECK(prctl(PR_GET_TID_ADDRESS, &tid_addr) == 0, "PR_GET_TID_ADDRESS: %s", strerror(errno));

    test_ready();
    test_waitsig();

    char comm[32] = "";
    prctl(PR_GET_NAME, comm);
    CHECK(strcmp(comm, "amb-identity") == 0, "comm %s, was amb-identity", comm);
    int pers = personality(0xffffffff);
    CHECK(pers == PERSONA, "personality 0x%x, was 0x%x", pers, PERSONA);
    struct utsname u;
    uname(&u);
    CHECK(strncmp(u.release, "2.6.", 4) == 0, "UNAME26 in effect but uname release is %s", u.release);
    for (size_t i = 0; i < NLIMITS; i++) {
        struct rlimit rl;
        getrlimit(limits[i].res, &rl);
        CHECK(rl.rlim_cur == rl_before[i].rlim_cur && rl.rlim_max == rl_before[i].rlim_max,
              "RLIMIT_%s %lu/%lu, was %lu/%lu", limits[i].name, (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max,
              (unsigned long)rl_before[i].rlim_cur, (unsigned long)rl_before[i].rlim_max);
    }
    CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs lost");
    CHECK(prctl(PR_GET_DUMPABLE) == 0, "dumpable is %d, was 0", prctl(PR_GET_DUMPABLE));
    int pdeath = -1;
    prctl(PR_GET_PDEATHSIG, &pdeath);
    CHECK(pdeath == SIGWINCH, "pdeathsig %d, was SIGWINCH", pdeath);
    CHECK((unsigned long)prctl(PR_GET_TIMERSLACK) == SLACK_NS, "timer slack %d, was %lu", prctl(PR_GET_TIMERSLACK),
          SLACK_NS);
    int subreaper = -1;
    prctl(PR_GET_CHILD_SUBREAPER, &subreaper);
    CHECK(subreaper == 1, "child subreaper %d, was 1", subreaper);
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    CHECK(nice == 7, "nice %d, was 7", nice);
    cpu_set_t set;
    sched_getaffinity(0, sizeof(set), &set);
    CHECK(CPU_COUNT(&set) == 1 && CPU_ISSET(cpu, &set), "CPU affinity changed (was CPU %d only)", cpu);

    void *head_now;
    size_t len_now;
    CHECK(syscall(SYS_get_robust_list, 0, &head_now, &len_now) == 0, "get_robust_list: %s", strerror(errno));
    CHECK(head_now == robust_head && len_now == robust_len, "robust list %p/%zu, was %p/%zu", head_now, len_now,
          robust_head, robust_len);
    int *tid_now;
    prctl(PR_GET_TID_ADDRESS, &tid_now);
    CHECK(tid_now == tid_addr, "clear_child_tid %p, was %p", (void *)tid_now, (void *)tid_addr);

    if (rseq_len > 0) {
        int len_now = rseq_registered_len();
        CHECK(len_now == rseq_len, "rseq: area %p length %d with RSEQ_SIG is not registered (found length %d)",
              (void *)rseq_area(), rseq_len, len_now);
        volatile struct rseq *rs = rseq_area();
        CHECK((int)rs->cpu_id == sched_getcpu(), "rseq cpu_id %d, running on CPU %d", (int)rs->cpu_id, sched_getcpu());
        /* move to another CPU: the kernel must update the area */
        int other = cpu == 0 ? 1 : 0;
        CPU_ZERO(&one);
        CPU_SET(other, &one);
        if (sched_setaffinity(0, sizeof(one), &one) == 0) {
            sched_yield();
            CHECK((int)rs->cpu_id == other && sched_getcpu() == other,
                  "rseq cpu_id %d after moving to CPU %d: the kernel does not update the area", (int)rs->cpu_id, other);
        }
    }
    pass();
}
