/*
 * seccomp_filter: seccomp filters that make calls fail with an errno of their own, checked before
 * READY and after SIGTERM, and, through an inspector child (forked before any filter, so it may
 * ptrace: PTRACE_SECCOMP_GET_FILTER needs a tracer outside seccomp), each thread's chain read
 * back with PTRACE_SECCOMP_GET_FILTER / GET_METADATA and compared with the one read before:
 * the same programs and flags (SECCOMP_FILTER_FLAG_LOG), in the same order.
 *
 *   seccomp_filter            two filters, the second with SECCOMP_FILTER_FLAG_LOG: uname fails
 *                             with EPERM, mincore with 1001
 *   seccomp_filter threads    a filter for all (uname: EPERM), then threads: one adds mincore
 *                             -> 1001, one mincore -> 1002, one adds none
 *   seccomp_filter tsync      a filter for all, then two threads; after the restart the leader
 *                             adds getpriority -> 1003 with SECCOMP_FILTER_FLAG_TSYNC, which the
 *                             kernel allows only if the threads still share its filters
 *   seccomp_filter child      a filter (uname: EPERM), then a child that adds mincore -> 1001
 *   seccomp_filter notify     also a filter that hands getpriority to a supervisor
 *                             (SECCOMP_RET_USER_NOTIF) through the listener it keeps: refused
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define NTHREADS 3

static int filter(int nr, int err, unsigned flags)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD + BPF_W + BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP + BPF_JEQ + BPF_K, nr, 0, 1),
        BPF_STMT(BPF_RET + BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET + BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static void add(int nr, int err, unsigned flags)
{
    CHECK(filter(nr, err, flags) == 0, "seccomp(nr %d -> %d, flags %#x): %s", nr, err, flags, strerror(errno));
}

/* What a call the filters may refuse gives: 0, or the errno. */
static int uname_errno(void)
{
    struct utsname u;
    return syscall(SYS_uname, &u) == 0 ? 0 : errno;
}

static int mincore_errno(void)
{
    unsigned char vec;
    static char page[4096] __attribute__((aligned(4096)));
    return syscall(SYS_mincore, page, 4096, &vec) == 0 ? 0 : errno;
}

static int getpriority_errno(void)
{
    return syscall(SYS_getpriority, PRIO_PROCESS, 0) >= 0 ? 0 : errno;
}

/* ---- the inspector: a child that reads a task's filters as its tracer ---- */

static int to_inspector[2], from_inspector[2];

/* One line per filter: "<instructions> <flags> <checksum>", oldest first. */
static void describe(pid_t tid, char *out, size_t size)
{
    int status;
    out[0] = 0;
    if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0 || ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0
        || waitpid(tid, &status, __WALL) != tid) {
        snprintf(out, size, "seize %d: %s", tid, strerror(errno));
        return;
    }
    for (long i = 0;; i++) {
        struct sock_filter prog[4096];
        long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, i, prog);
        if (n < 0) {
            if (errno != ENOENT && errno != EINVAL)
                snprintf(out + strlen(out), size - strlen(out), "filter %ld: %s", i, strerror(errno));
            break;
        }
        struct { unsigned long long filter_off, flags; } md = {.filter_off = i};
        if (ptrace(PTRACE_SECCOMP_GET_METADATA, tid, sizeof(md), &md) != sizeof(md))
            md.flags = ~0ULL;
        snprintf(out + strlen(out), size - strlen(out), "%ld %#llx %016llx\n", n, (unsigned long long)md.flags,
                 (unsigned long long)checksum(prog, n * sizeof(prog[0])));
    }
    ptrace(PTRACE_DETACH, tid, 0, 0);
}

static void inspector(void)
{
    pid_t tid;
    char text[4096];
    close(to_inspector[1]);
    close(from_inspector[0]);
    while (read(to_inspector[0], &tid, sizeof(tid)) == sizeof(tid)) {
        describe(tid, text, sizeof(text));
        size_t len = strlen(text) + 1;
        if (write(from_inspector[1], &len, sizeof(len)) != sizeof(len) || write(from_inspector[1], text, len) != (ssize_t)len)
            _exit(1);
    }
    _exit(0);
}

/* The filters of task tid as the inspector sees them (malloc'd). */
static char *filters_of(pid_t tid)
{
    size_t len;
    CHECK(write(to_inspector[1], &tid, sizeof(tid)) == sizeof(tid), "write to the inspector: %s", strerror(errno));
    CHECK(read(from_inspector[0], &len, sizeof(len)) == sizeof(len), "read from the inspector: %s", strerror(errno));
    char *text = malloc(len);
    CHECK(read(from_inspector[0], text, len) == (ssize_t)len, "read from the inspector: %s", strerror(errno));
    return text;
}

/* ---- the threads ---- */

struct task {
    pthread_t thread;
    pid_t tid;
    int mincore_nr_err;   /* the errno its own filter gives mincore, 0 for none */
    int uname_err, mincore_err, getpriority_err;   /* what it saw after the restart */
    char *filters;        /* its chain before the checkpoint */
};

static struct task tasks[NTHREADS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int ready, go;

static void *thread_main(void *arg)
{
    struct task *t = arg;
    t->tid = gettid();
    if (t->mincore_nr_err)
        add(SYS_mincore, t->mincore_nr_err, 0);
    pthread_mutex_lock(&lock);
    ready++;
    pthread_cond_broadcast(&changed);
    while (!go)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    t->uname_err = uname_errno();
    t->mincore_err = mincore_errno();
    t->getpriority_err = getpriority_errno();
    return NULL;
}

static void start_threads(const int *mincore_errs)
{
    for (int i = 0; i < NTHREADS; i++) {
        tasks[i].mincore_nr_err = mincore_errs[i];
        CHECK(pthread_create(&tasks[i].thread, NULL, thread_main, &tasks[i]) == 0, "pthread_create");
    }
    pthread_mutex_lock(&lock);
    while (ready < NTHREADS)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}

static void finish_threads(int getpriority_err)
{
    pthread_mutex_lock(&lock);
    go = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < NTHREADS; i++) {
        struct task *t = &tasks[i];
        CHECK(pthread_join(t->thread, NULL) == 0, "pthread_join");
        CHECK(t->uname_err == EPERM, "thread %d: uname gave errno %d, not EPERM", t->tid, t->uname_err);
        CHECK(t->mincore_err == t->mincore_nr_err, "thread %d: mincore gave errno %d, not %d", t->tid, t->mincore_err,
              t->mincore_nr_err);
        CHECK(t->getpriority_err == getpriority_err, "thread %d: getpriority gave errno %d, not %d", t->tid,
              t->getpriority_err, getpriority_err);
    }
}

static void expect_filters(const char *who, pid_t tid, const char *before)
{
    char *now = filters_of(tid);
    CHECK(strcmp(now, before) == 0, "%s %d: filters\n%s-> now\n%s", who, tid, before, now);
    free(now);
}

static void expect_errnos(const char *who, int uname_err, int mincore_err)
{
    CHECK(uname_errno() == uname_err, "%s: uname gave errno %d, not %d", who, uname_errno(), uname_err);
    CHECK(mincore_errno() == mincore_err, "%s: mincore gave errno %d, not %d", who, mincore_errno(), mincore_err);
}

/* The child of mode "child": adds a filter to the one it inherited, checks itself when told to. */
static pid_t start_child(int *to_child)
{
    int p[2];
    char c;
    CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(p[1]);
        add(SYS_mincore, 1001, SECCOMP_FILTER_FLAG_LOG);
        if (read(p[0], &c, 1) != 1)
            _exit(10);
        _exit(uname_errno() != EPERM ? 11 : mincore_errno() != 1001 ? 12 : 0);
    }
    close(p[0]);
    *to_child = p[1];
    return pid;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "errno";
    int threads = !strcmp(mode, "threads"), tsync = !strcmp(mode, "tsync"), child = !strcmp(mode, "child");
    int to_child = -1, status;
    pid_t kid = 0;
    char *main_before, *kid_before = NULL;
    test_init(argc, argv);
    CHECK(pipe(to_inspector) == 0 && pipe(from_inspector) == 0, "pipe: %s", strerror(errno));
    pid_t insp = fork();
    CHECK(insp >= 0, "fork: %s", strerror(errno));
    if (insp == 0)
        inspector();
    close(to_inspector[0]);
    close(from_inspector[1]);
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));

    add(SYS_uname, EPERM, 0);
    int main_mincore = 0;
    if (!threads && !tsync && !child) {
        add(SYS_mincore, 1001, SECCOMP_FILTER_FLAG_LOG);
        main_mincore = 1001;
    }
    if (threads)
        start_threads((int[]){1001, 1002, 0});
    if (tsync)
        start_threads((int[]){0, 0, 0});
    if (!strcmp(mode, "notify")) {
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD + BPF_W + BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP + BPF_JEQ + BPF_K, SYS_getpriority, 0, 1),
            BPF_STMT(BPF_RET + BPF_K, SECCOMP_RET_USER_NOTIF),
            BPF_STMT(BPF_RET + BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
        int listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
        CHECK(listener >= 0, "seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER): %s", strerror(errno));
    }
    if (child) {
        kid = start_child(&to_child);
        usleep(100 * 1000);
        kid_before = filters_of(kid);
        CHECK(strchr(kid_before, '\n') != strrchr(kid_before, '\n'), "child: not two filters:\n%s", kid_before);
    }
    main_before = filters_of(getpid());
    for (int i = 0; (threads || tsync) && i < NTHREADS; i++)
        tasks[i].filters = filters_of(tasks[i].tid);
    test_msg("pid %d filters (instructions, flags, checksum):\n%s", getpid(), main_before);
    expect_errnos("before", EPERM, main_mincore);
    test_ready();
    test_waitsig();

    expect_filters("pid", getpid(), main_before);
    for (int i = 0; (threads || tsync) && i < NTHREADS; i++)
        expect_filters("thread", tasks[i].tid, tasks[i].filters);
    if (child)
        expect_filters("child", kid, kid_before);
    expect_errnos("after", EPERM, main_mincore);
    CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs lost");
    if (tsync)
        add(SYS_getpriority, 1003, SECCOMP_FILTER_FLAG_TSYNC);
    if (threads || tsync)
        finish_threads(tsync ? 1003 : 0);
    if (child) {
        CHECK(write(to_child, "g", 1) == 1, "write to the child: %s", strerror(errno));
        CHECK(waitpid(kid, &status, 0) == kid, "waitpid: %s", strerror(errno));
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    }
    close(to_inspector[1]);
    CHECK(waitpid(insp, &status, 0) == insp && status == 0, "inspector status %#x", status);
    pass();
}
