/*
 * credentials: non-root real/effective/saved uids and gids, supplementary groups, capabilities kept
 * across setresuid (PR_SET_KEEPCAPS) with some dropped: permitted, effective, inheritable, ambient
 * and bounding sets all different, securebits. fsuid/fsgid follow the effective ids.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BIT(c) (1ULL << (c))

struct creds {
    uid_t ruid, euid, suid, fsuid;
    gid_t rgid, egid, sgid, fsgid;
    int ngroups;
    gid_t groups[64];
    unsigned long long eff, prm, inh, bnd, amb;
    int securebits, keepcaps;
};

static int cap_last(void)
{
    char *s = read_file("/proc/sys/kernel/cap_last_cap", NULL);
    int last = s ? atoi(s) : 40;
    free(s);
    return last;
}

static void caps_get(unsigned long long *eff, unsigned long long *prm, unsigned long long *inh)
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    CHECK(syscall(SYS_capget, &h, d) == 0, "capget: %s", strerror(errno));
    *eff = d[0].effective | (unsigned long long)d[1].effective << 32;
    *prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
    *inh = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
}

static void caps_set(unsigned long long eff, unsigned long long prm, unsigned long long inh)
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2] = {
        { (unsigned)eff, (unsigned)prm, (unsigned)inh },
        { (unsigned)(eff >> 32), (unsigned)(prm >> 32), (unsigned)(inh >> 32) },
    };
    CHECK(syscall(SYS_capset, &h, d) == 0, "capset: %s", strerror(errno));
}

static void take(struct creds *c)
{
    memset(c, 0, sizeof(*c));
    getresuid(&c->ruid, &c->euid, &c->suid);
    getresgid(&c->rgid, &c->egid, &c->sgid);
    c->fsuid = setfsuid(-1);
    c->fsgid = setfsgid(-1);
    c->ngroups = getgroups(64, c->groups);
    caps_get(&c->eff, &c->prm, &c->inh);
    for (int cap = 0; cap <= cap_last(); cap++) {
        if (prctl(PR_CAPBSET_READ, cap) == 1)
            c->bnd |= BIT(cap);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
            c->amb |= BIT(cap);
    }
    c->securebits = prctl(PR_GET_SECUREBITS);
    c->keepcaps = prctl(PR_GET_KEEPCAPS);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    CHECK(geteuid() == 0, "must start as root (euid %d)", geteuid());
    /* as root: shrink the bounding set, then switch ids keeping capabilities */
    CHECK(prctl(PR_CAPBSET_DROP, CAP_SYS_MODULE) == 0 && prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT) == 0 &&
              prctl(PR_CAPBSET_DROP, CAP_MKNOD) == 0,
          "PR_CAPBSET_DROP: %s", strerror(errno));
    gid_t groups[] = { 1004, 1005, 1006 };
    CHECK(setgroups(3, groups) == 0, "setgroups: %s", strerror(errno));
    CHECK(setresgid(1001, 1002, 1003) == 0, "setresgid: %s", strerror(errno));
    CHECK(prctl(PR_SET_KEEPCAPS, 1) == 0, "PR_SET_KEEPCAPS: %s", strerror(errno));
    CHECK(setresuid(2001, 2002, 2003) == 0, "setresuid: %s", strerror(errno));
    unsigned long long prm = BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) |
                             BIT(CAP_SYS_PTRACE);
    unsigned long long eff = BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);
    unsigned long long inh = BIT(CAP_KILL) | BIT(CAP_CHOWN);
    caps_set(eff, prm, inh);
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0) == 0, "PR_CAP_AMBIENT_RAISE: %s",
          strerror(errno));
    struct creds before;
    take(&before);
    CHECK(before.euid == 2002 && before.eff == eff && before.prm == prm && before.amb == BIT(CAP_KILL),
          "set-up did not take: euid %d eff %llx prm %llx amb %llx", before.euid, before.eff, before.prm, before.amb);

    test_ready();
    test_waitsig();

    struct creds now;
    take(&now);
    CHECK(now.ruid == before.ruid && now.euid == before.euid && now.suid == before.suid && now.fsuid == before.fsuid,
          "uids %d/%d/%d fs %d, were %d/%d/%d fs %d", now.ruid, now.euid, now.suid, now.fsuid, before.ruid, before.euid,
          before.suid, before.fsuid);
    CHECK(now.rgid == before.rgid && now.egid == before.egid && now.sgid == before.sgid && now.fsgid == before.fsgid,
          "gids %d/%d/%d fs %d, were %d/%d/%d fs %d", now.rgid, now.egid, now.sgid, now.fsgid, before.rgid, before.egid,
          before.sgid, before.fsgid);
    CHECK(now.ngroups == before.ngroups && memcmp(now.groups, before.groups, sizeof(gid_t) * now.ngroups) == 0,
          "supplementary groups changed (%d, were %d)", now.ngroups, before.ngroups);
    CHECK(now.eff == before.eff, "CapEff %llx, was %llx", now.eff, before.eff);
    CHECK(now.prm == before.prm, "CapPrm %llx, was %llx", now.prm, before.prm);
    CHECK(now.inh == before.inh, "CapInh %llx, was %llx", now.inh, before.inh);
    CHECK(now.bnd == before.bnd, "CapBnd %llx, was %llx", now.bnd, before.bnd);
    CHECK(now.amb == before.amb, "CapAmb %llx, was %llx", now.amb, before.amb);
    CHECK(now.securebits == before.securebits, "securebits 0x%x, was 0x%x", now.securebits, before.securebits);
    CHECK(now.keepcaps == before.keepcaps, "keepcaps %d, was %d", now.keepcaps, before.keepcaps);
    /* the capabilities work: CAP_KILL lets us signal a root process (pid 1, signal 0) */
    CHECK(kill(1, 0) == 0, "kill(1, 0) with CAP_KILL: %s", strerror(errno));
    pass();
}
