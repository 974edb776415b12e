/*
 * threads_blocking: the main thread and one thread in every blocking state when checkpointed:
 *
 *   am-cond     pthread_cond_wait, no timeout                  (futex wait)
 *   am-timed    pthread_cond_timedwait, one hour, CPU 0 only   (futex wait with an absolute timeout)
 *   am-mutex    pthread_mutex_lock on a mutex the main thread holds
 *   am-join     pthread_join of am-cond, itself waiting        (futex on am-cond's clear_child_tid)
 *   am-sleep    nanosleep, one hour                            (clock_nanosleep)
 *   am-sem      sem_wait; its own signal mask and alternate signal stack
 *   am-barrier  pthread_barrier_wait                           (futex wait)
 *   am-spin     busy, counting in a volatile counter           (running in user space)
 *
 * Every thread records its TID before blocking. READY is printed only once every blocking thread
 * sleeps inside its system call (/proc/self/task/TID/syscall), so the checkpoint catches each one
 * in the kernel. After restart (SIGTERM wakes the main thread) the main thread checks what /proc
 * shows of every thread (the set of TIDs, comm, SigBlk, affinity), then releases the threads one
 * by one; each one checks its own TID, name, signal mask, alternate stack and affinity, and how its
 * call returned (0, no EINTR, no timeout), and the main thread joins them all.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { T_COND, T_TIMED, T_MUTEX, T_JOIN, T_SLEEP, T_SEM, T_BARRIER, T_SPIN, NTHREADS };

static const char *const names[NTHREADS] = { "am-cond", "am-timed", "am-mutex", "am-join",
                                             "am-sleep", "am-sem", "am-barrier", "am-spin" };

#define ALTSTACK_SIZE (64 * 1024)
#define SLEEP_SECS 3600

/* What each thread shares with the main thread. */
struct thread {
    pthread_t handle;
    volatile pid_t tid;      /* gettid(), written before blocking */
    volatile int started;    /* about to block */
    volatile int done;       /* returned from its blocking call and checked itself */
    sigset_t mask;           /* the mask the thread set for itself */
    cpu_set_t cpus;          /* its affinity */
    char error[512];         /* "" when every self-check passed */
};

static struct thread threads[NTHREADS];
static pid_t main_tid;

static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int cond_go;
static pthread_mutex_t timed_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timed_cond = PTHREAD_COND_INITIALIZER;
static int timed_go;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER; /* locked by the main thread */
static sem_t sem;
static pthread_barrier_t barrier;
static volatile uint64_t spin_count;
static volatile int spin_stop;
static volatile sig_atomic_t sleep_kicked; /* set by the main thread just before waking am-sleep */
static volatile sig_atomic_t usr1_seen;    /* set by the SIGUSR1 handler, on am-sleep */
static volatile pid_t usr1_tid;
static char *altstack;
static int pinned = -1; /* the CPU am-timed is pinned to, -1 with one CPU */

static void on_usr1(int sig)
{
    (void)sig;
    usr1_seen = 1;
    usr1_tid = gettid();
}

#define SELF_CHECK(t, cond, ...)                                                                                     \
    do {                                                                                                             \
        if (!(cond) && !(t)->error[0])                                                                               \
            snprintf((t)->error, sizeof((t)->error), __VA_ARGS__);                                                   \
    } while (0)

static void set_mask(struct thread *t, int extra)
{
    /* SIGTERM is the main thread's alone: a worker that took it would leave the main thread asleep. */
    sigemptyset(&t->mask);
    sigaddset(&t->mask, SIGTERM);
    if (extra) {
        sigaddset(&t->mask, SIGUSR2);
        sigaddset(&t->mask, SIGHUP);
        sigaddset(&t->mask, SIGRTMIN + 3);
        sigaddset(&t->mask, SIGRTMAX);
    }
    pthread_sigmask(SIG_SETMASK, &t->mask, NULL);
}

static void start(struct thread *t)
{
    t->tid = gettid();
    pthread_getaffinity_np(pthread_self(), sizeof(t->cpus), &t->cpus);
    __atomic_store_n(&t->started, 1, __ATOMIC_SEQ_CST);
}

/* After waking: still the same thread with the same per-thread state. */
static void check_self(struct thread *t, int idx)
{
    SELF_CHECK(t, gettid() == t->tid, "%s: gettid %d, was %d", names[idx], gettid(), t->tid);
    char name[16] = "";
    pthread_getname_np(pthread_self(), name, sizeof(name));
    SELF_CHECK(t, strcmp(name, names[idx]) == 0, "%s: name \"%s\"", names[idx], name);
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    for (int s = 1; s < NSIG; s++)
        SELF_CHECK(t, sigismember(&now, s) == sigismember(&t->mask, s), "%s: signal mask bit %d is %d, was %d",
                   names[idx], s, sigismember(&now, s), sigismember(&t->mask, s));
    stack_t ss;
    sigaltstack(NULL, &ss);
    if (idx == T_SEM)
        SELF_CHECK(t, ss.ss_sp == altstack && ss.ss_size == ALTSTACK_SIZE && ss.ss_flags == 0,
                   "%s: sigaltstack sp %p size %zu flags 0x%x, was %p %d 0", names[idx], ss.ss_sp, ss.ss_size,
                   ss.ss_flags, (void *)altstack, ALTSTACK_SIZE);
    else
        SELF_CHECK(t, ss.ss_flags == SS_DISABLE, "%s: sigaltstack flags 0x%x, expected SS_DISABLE", names[idx],
                   ss.ss_flags);
    cpu_set_t cpus;
    pthread_getaffinity_np(pthread_self(), sizeof(cpus), &cpus);
    SELF_CHECK(t, CPU_EQUAL(&cpus, &t->cpus), "%s: affinity %d CPUs, was %d", names[idx], CPU_COUNT(&cpus),
               CPU_COUNT(&t->cpus));
    if (idx == T_TIMED && pinned >= 0)
        SELF_CHECK(t, CPU_COUNT(&cpus) == 1 && CPU_ISSET(pinned, &cpus), "%s: not pinned to CPU %d any more",
                   names[idx], pinned);
    __atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
}

static void *cond_main(void *arg)
{
    struct thread *t = arg;
    set_mask(t, 0);
    pthread_mutex_lock(&cond_lock);
    start(t);
    int r = 0;
    while (!cond_go && r == 0)
        r = pthread_cond_wait(&cond, &cond_lock);
    pthread_mutex_unlock(&cond_lock);
    SELF_CHECK(t, r == 0, "am-cond: pthread_cond_wait returned %d (%s)", r, strerror(r));
    check_self(t, T_COND);
    return (void *)0xc0dd;
}

static void *timed_main(void *arg)
{
    struct thread *t = arg;
    set_mask(t, 0);
    if (pinned >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(pinned, &one);
        int e = pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
        SELF_CHECK(t, e == 0, "am-timed: pthread_setaffinity_np: %s", strerror(e));
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SLEEP_SECS;
    pthread_mutex_lock(&timed_lock);
    start(t);
    int r = 0;
    while (!timed_go && r == 0)
        r = pthread_cond_timedwait(&timed_cond, &timed_lock, &deadline);
    pthread_mutex_unlock(&timed_lock);
    SELF_CHECK(t, r == 0, "am-timed: pthread_cond_timedwait returned %d (%s)", r, strerror(r));
    check_self(t, T_TIMED);
    return NULL;
}

static void *mutex_main(void *arg)
{
    struct thread *t = arg;
    set_mask(t, 0);
    start(t);
    int r = pthread_mutex_lock(&held);
    SELF_CHECK(t, r == 0, "am-mutex: pthread_mutex_lock returned %d (%s)", r, strerror(r));
    if (r == 0)
        pthread_mutex_unlock(&held);
    check_self(t, T_MUTEX);
    return NULL;
}

static void *join_main(void *arg)
{
    struct thread *t = arg;
    set_mask(t, 0);
    start(t);
    void *ret = NULL;
    int r = pthread_join(threads[T_COND].handle, &ret);
    SELF_CHECK(t, r == 0, "am-join: pthread_join returned %d (%s)", r, strerror(r));
    SELF_CHECK(t, ret == (void *)0xc0dd, "am-join: am-cond returned %p, expected 0xc0dd", ret);
    check_self(t, T_JOIN);
    return NULL;
}

static void *sleep_main(void *arg)
{
    struct thread *t = arg;
    set_mask(t, 0);
    start(t);
    struct timespec req = { SLEEP_SECS, 0 }, rem = { -1, -1 };
    int r = nanosleep(&req, &rem);
    int e = errno;
    /* Only the main thread's SIGUSR1 may end the sleep: an EINTR without it is a lost restart. */
    SELF_CHECK(t, r == -1 && e == EINTR && sleep_kicked && usr1_seen && usr1_tid == t->tid,
               "am-sleep: nanosleep returned %d (%s) with %ld s left; woken by SIGUSR1: sent %d, handled %d on %d",
               r, r ? strerror(e) : "ok", (long)rem.tv_sec, (int)sleep_kicked, (int)usr1_seen, (int)usr1_tid);
    SELF_CHECK(t, rem.tv_sec >= 0 && rem.tv_sec < SLEEP_SECS, "am-sleep: %ld.%09ld s left of %d", (long)rem.tv_sec,
               rem.tv_nsec, SLEEP_SECS);
    check_self(t, T_SLEEP);
    return NULL;
}

static void *sem_main(void *arg)
{
    struct thread *t = arg;
    set_mask(t, 1);
    stack_t ss = { .ss_sp = altstack, .ss_size = ALTSTACK_SIZE, .ss_flags = 0 };
    SELF_CHECK(t, sigaltstack(&ss, NULL) == 0, "am-sem: sigaltstack: %s", strerror(errno));
    start(t);
    int r = sem_wait(&sem);
    SELF_CHECK(t, r == 0, "am-sem: sem_wait returned %d (%s)", r, strerror(errno));
    check_self(t, T_SEM);
    return NULL;
}

static void *barrier_main(void *arg)
{
    struct thread *t = arg;
    set_mask(t, 0);
    start(t);
    int r = pthread_barrier_wait(&barrier);
    SELF_CHECK(t, r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD, "am-barrier: pthread_barrier_wait returned %d (%s)",
               r, strerror(r));
    check_self(t, T_BARRIER);
    return NULL;
}

static void *spin_main(void *arg)
{
    struct thread *t = arg;
    set_mask(t, 0);
    start(t);
    while (!spin_stop)
        spin_count++;
    check_self(t, T_SPIN);
    return NULL;
}

static void *(*const mains[NTHREADS])(void *) = { cond_main, timed_main, mutex_main, join_main,
                                                 sleep_main, sem_main, barrier_main, spin_main };

/* The system call number a thread is in (first field of /proc/self/task/TID/syscall), -2 if running. */
static long syscall_of(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
    char *text = read_file(path, NULL);
    if (!text)
        return -3;
    long nr = strncmp(text, "running", 7) == 0 ? -2 : strtol(text, NULL, 10);
    free(text);
    return nr;
}

static char task_state(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
    char *text = read_file(path, NULL);
    if (!text)
        return 0;
    char *paren = strrchr(text, ')');
    char s = paren ? paren[2] : 0;
    free(text);
    return s;
}

/* Every blocking thread asleep in its call, so the checkpoint finds each one in the kernel. */
static void await_blocked(void)
{
    int64_t deadline = now_ns(CLOCK_MONOTONIC) + 5000000000LL;
    for (int i = 0; i < NTHREADS; i++) {
        if (i == T_SPIN)
            continue;
        for (;;) {
            long nr = syscall_of(threads[i].tid);
            int in_call = i == T_SLEEP ? nr == SYS_clock_nanosleep || nr == SYS_nanosleep : nr == SYS_futex;
            if (in_call && task_state(threads[i].tid) == 'S')
                break;
            CHECK(now_ns(CLOCK_MONOTONIC) < deadline, "%s (tid %d) not asleep in its call: syscall %ld, state %c",
                  names[i], threads[i].tid, nr, task_state(threads[i].tid));
            usleep(1000);
        }
    }
}

static int cmp_pid(const void *a, const void *b)
{
    return *(const pid_t *)a - *(const pid_t *)b;
}

static void check_task_set(void)
{
    pid_t expect[NTHREADS + 1], found[64];
    int n = 0;
    expect[0] = main_tid;
    for (int i = 0; i < NTHREADS; i++)
        expect[i + 1] = threads[i].tid;
    DIR *d = opendir("/proc/self/task");
    CHECK(d != NULL, "opendir /proc/self/task: %s", strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && n < 64)
            found[n++] = atoi(e->d_name);
    closedir(d);
    qsort(expect, NTHREADS + 1, sizeof(pid_t), cmp_pid);
    qsort(found, n, sizeof(pid_t), cmp_pid);
    char list[512] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), " %d", found[i]);
    CHECK(n == NTHREADS + 1, "/proc/self/task holds %d tasks, expected %d:%s", n, NTHREADS + 1, list);
    for (int i = 0; i < n; i++)
        CHECK(found[i] == expect[i], "/proc/self/task:%s; tid %d missing", list, expect[i]);
}

/* The SigBlk line of /proc/self/task/TID/status as a mask of signals 1..64. */
static uint64_t sigblk_of(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
    char *text = read_file(path, NULL);
    CHECK(text != NULL, "read %s: %s", path, strerror(errno));
    char *line = strstr(text, "\nSigBlk:");
    CHECK(line != NULL, "%s: no SigBlk", path);
    uint64_t v = strtoull(line + 8, NULL, 16);
    free(text);
    return v;
}

static uint64_t mask_bits(const sigset_t *set)
{
    uint64_t v = 0;
    for (int s = 1; s <= 64; s++)
        if (sigismember(set, s) == 1)
            v |= 1ULL << (s - 1);
    return v;
}

/* What the main thread can see of every thread from outside, before releasing any. */
static void check_from_outside(void)
{
    CHECK(gettid() == main_tid && getpid() == main_tid, "main thread: tid %d pid %d, was %d", gettid(), getpid(),
          main_tid);
    check_task_set();
    for (int i = 0; i < NTHREADS; i++) {
        struct thread *t = &threads[i];
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/task/%d/comm", t->tid);
        char *comm = read_file(path, NULL);
        CHECK(comm != NULL, "read %s: %s", path, strerror(errno));
        comm[strcspn(comm, "\n")] = 0;
        CHECK(strcmp(comm, names[i]) == 0, "tid %d: comm \"%s\", expected \"%s\"", t->tid, comm, names[i]);
        free(comm);
        uint64_t blk = sigblk_of(t->tid);
        CHECK(blk == mask_bits(&t->mask), "%s (tid %d): SigBlk %016llx, expected %016llx", names[i], t->tid,
              (unsigned long long)blk, (unsigned long long)mask_bits(&t->mask));
        cpu_set_t cpus;
        CHECK(sched_getaffinity(t->tid, sizeof(cpus), &cpus) == 0, "sched_getaffinity(%d): %s", t->tid,
              strerror(errno));
        CHECK(CPU_EQUAL(&cpus, &t->cpus), "%s (tid %d): affinity %d CPUs, was %d", names[i], t->tid,
              CPU_COUNT(&cpus), CPU_COUNT(&t->cpus));
        CHECK(!t->done, "%s returned before being released", names[i]);
    }
}

static void await_done(int idx)
{
    int64_t deadline = now_ns(CLOCK_MONOTONIC) + 10000000000LL;
    while (!__atomic_load_n(&threads[idx].done, __ATOMIC_SEQ_CST)) {
        CHECK(now_ns(CLOCK_MONOTONIC) < deadline, "%s (tid %d) did not wake within 10 s of its release (state %c)",
              names[idx], threads[idx].tid, task_state(threads[idx].tid));
        usleep(1000);
    }
    CHECK(!threads[idx].error[0], "%s", threads[idx].error);
}

static void join(int idx)
{
    int r = pthread_join(threads[idx].handle, NULL);
    CHECK(r == 0, "pthread_join(%s): %s", names[idx], strerror(r));
}

static void release_all(void)
{
    /* the spinner still runs */
    uint64_t c0 = spin_count;
    usleep(50000);
    CHECK(spin_count > c0, "am-spin: counter stays at %llu", (unsigned long long)c0);
    spin_stop = 1;
    await_done(T_SPIN);
    join(T_SPIN);

    pthread_mutex_lock(&cond_lock);
    cond_go = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&cond_lock);
    await_done(T_COND);
    await_done(T_JOIN); /* am-join's join of am-cond returns */
    join(T_JOIN);

    pthread_mutex_lock(&timed_lock);
    timed_go = 1;
    pthread_cond_signal(&timed_cond);
    pthread_mutex_unlock(&timed_lock);
    await_done(T_TIMED);
    join(T_TIMED);

    CHECK(pthread_mutex_unlock(&held) == 0, "pthread_mutex_unlock: %s", strerror(errno));
    await_done(T_MUTEX);
    join(T_MUTEX);

    sleep_kicked = 1;
    CHECK(pthread_kill(threads[T_SLEEP].handle, SIGUSR1) == 0, "pthread_kill(am-sleep)");
    await_done(T_SLEEP);
    join(T_SLEEP);

    CHECK(sem_post(&sem) == 0, "sem_post: %s", strerror(errno));
    await_done(T_SEM);
    join(T_SEM);

    int r = pthread_barrier_wait(&barrier);
    CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD, "main: pthread_barrier_wait returned %d", r);
    await_done(T_BARRIER);
    join(T_BARRIER);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    main_tid = gettid();
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1; /* no SA_RESTART: SIGUSR1 ends am-sleep's nanosleep with EINTR */
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction(SIGUSR1): %s", strerror(errno));

    cpu_set_t all;
    CHECK(sched_getaffinity(0, sizeof(all), &all) == 0, "sched_getaffinity: %s", strerror(errno));
    if (CPU_COUNT(&all) > 1)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &all)) {
                pinned = c; /* CPU 0 wherever the process may run there */
                break;
            }
    altstack = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(altstack != MAP_FAILED, "mmap altstack: %s", strerror(errno));
    CHECK(sem_init(&sem, 0, 0) == 0, "sem_init: %s", strerror(errno));
    CHECK(pthread_barrier_init(&barrier, NULL, 2) == 0, "pthread_barrier_init");
    CHECK(pthread_mutex_lock(&held) == 0, "pthread_mutex_lock(held)");

    /* am-cond first: am-join joins it */
    for (int i = 0; i < NTHREADS; i++) {
        int r = pthread_create(&threads[i].handle, NULL, mains[i], &threads[i]);
        CHECK(r == 0, "pthread_create(%s): %s", names[i], strerror(r));
        r = pthread_setname_np(threads[i].handle, names[i]);
        CHECK(r == 0, "pthread_setname_np(%s): %s", names[i], strerror(r));
        int64_t deadline = now_ns(CLOCK_MONOTONIC) + 5000000000LL;
        while (!__atomic_load_n(&threads[i].started, __ATOMIC_SEQ_CST)) {
            CHECK(now_ns(CLOCK_MONOTONIC) < deadline, "%s did not start", names[i]);
            usleep(1000);
        }
    }
    for (int i = 0; i < NTHREADS; i++)
        CHECK(!threads[i].error[0], "%s", threads[i].error);
    await_blocked();
    CHECK(task_state(threads[T_SPIN].tid) == 'R', "am-spin: state %c, expected R", task_state(threads[T_SPIN].tid));

    test_ready();
    test_waitsig();

    check_from_outside();
    release_all();
    CHECK(usr1_seen, "SIGUSR1 was not handled");
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    CHECK(n == 1, "%d tasks left after joining every thread", n);
    test_msg("am-spin counted to %llu", (unsigned long long)spin_count);
    pass();
}
