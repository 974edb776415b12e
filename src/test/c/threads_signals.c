/*
 * threads_signals: pending signals of a multi-threaded process, each in the queue it was sent to.
 *
 *   am-sig0..2  each has its own pending signals: a standard one (pthread_kill) and realtime ones
 *               with values (pthread_sigqueue), queued out of number order; waits on a condition
 *   am-sigwait  asleep in sigwaitinfo(SIGRTMIN+6) when checkpointed, with a pending signal of its own
 *   main        its own pending signals, and the process-directed ones (kill, sigqueue)
 *
 * Every thread blocks every test signal (and the workers SIGTERM, which is the main thread's), so
 * all stay pending. After restart (SIGTERM) the main thread compares what /proc shows of each
 * thread's queue (SigPnd, ShdPnd, SigBlk) with before, releases the workers, which take their own
 * signals with sigwaitinfo, checking number, order, si_code, si_pid and value; then wakes
 * am-sigwait with pthread_sigqueue, which must return that signal (not EINTR); then takes its own
 * and the process-directed ones, and checks that nothing else is pending.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NWORKERS 3
#define W_SIGWAIT NWORKERS /* index of am-sigwait */
#define NTHREADS (NWORKERS + 1)

struct expect {
    int sig, code, value; /* value only for SI_QUEUE */
};

struct thread {
    pthread_t handle;
    volatile pid_t tid;
    volatile int started;
    volatile int done;
    char name[16];
    struct expect own[4]; /* its own pending signals in the order sigwaitinfo must return them */
    int nown;
    char error[512];
};

static struct thread threads[NTHREADS];
static pid_t main_tid;
static sigset_t test_set; /* every test signal */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int go;
static int RT1, RT2, RT3, RT6;

#define SELF_CHECK(t, cond, ...)                                                                                     \
    do {                                                                                                             \
        if (!(cond) && !(t)->error[0])                                                                               \
            snprintf((t)->error, sizeof((t)->error), __VA_ARGS__);                                                   \
    } while (0)

/* A field ("SigPnd") of /proc/self/task/TID/status as a 64-bit mask. */
static uint64_t status_mask(pid_t tid, const char *field)
{
    char path[64], key[32];
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
    snprintf(key, sizeof(key), "\n%s:", field);
    char *text = read_file(path, NULL);
    CHECK(text != NULL, "read %s: %s", path, strerror(errno));
    char *line = strstr(text, key);
    CHECK(line != NULL, "%s: no %s", path, field);
    uint64_t v = strtoull(line + strlen(key), NULL, 16);
    free(text);
    return v;
}

/*
 * sigwaitinfo(2) itself: glibc's wrapper folds SI_TKILL into SI_USER, and the code tells a
 * thread-directed standard signal (tgkill: SI_TKILL) from a process-directed one (kill: SI_USER).
 */
static int sigwaitinfo_raw(const sigset_t *set, siginfo_t *si)
{
    return (int)syscall(SYS_rt_sigtimedwait, set, si, NULL, sizeof(uint64_t)); /* the kernel's sigset: 64 signals */
}

/* sigwaitinfo for one expected signal; the first difference goes to *t's error. */
static void take(struct thread *t, const sigset_t *set, const struct expect *e, int i)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    int sig = sigwaitinfo_raw(set, &si);
    SELF_CHECK(t, sig == e->sig, "%s: pending #%d: sigwaitinfo returned %d (%s), expected signal %d", t->name, i, sig,
               sig < 0 ? strerror(errno) : "ok", e->sig);
    if (sig != e->sig)
        return;
    SELF_CHECK(t, si.si_code == e->code, "%s: pending #%d (signal %d): si_code %d, expected %d", t->name, i, sig,
               si.si_code, e->code);
    SELF_CHECK(t, si.si_pid == getpid() && si.si_uid == getuid(), "%s: pending #%d (signal %d): si_pid %d si_uid %d",
               t->name, i, sig, si.si_pid, si.si_uid);
    if (e->code == SI_QUEUE)
        SELF_CHECK(t, si.si_value.sival_int == e->value, "%s: pending #%d (signal %d): value %d, expected %d",
                   t->name, i, sig, si.si_value.sival_int, e->value);
}

static void wait_go(void)
{
    pthread_mutex_lock(&lock);
    while (!go)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
}

static void *worker_main(void *arg)
{
    struct thread *t = arg;
    pthread_setname_np(pthread_self(), t->name);
    t->tid = gettid();
    __atomic_store_n(&t->started, 1, __ATOMIC_SEQ_CST);
    wait_go();
    SELF_CHECK(t, gettid() == t->tid, "%s: gettid %d, was %d", t->name, gettid(), t->tid);
    /* Its own queue comes first: exactly nown calls, so it never takes a process-directed one. */
    for (int i = 0; i < t->nown; i++)
        take(t, &test_set, &t->own[i], i);
    SELF_CHECK(t, status_mask(t->tid, "SigPnd") == 0, "%s: SigPnd %016llx after taking its own signals", t->name,
               (unsigned long long)status_mask(t->tid, "SigPnd"));
    __atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *sigwait_main(void *arg)
{
    struct thread *t = arg;
    pthread_setname_np(pthread_self(), t->name);
    t->tid = gettid();
    sigset_t rt6;
    sigemptyset(&rt6);
    sigaddset(&rt6, RT6);
    __atomic_store_n(&t->started, 1, __ATOMIC_SEQ_CST);
    /*
     * Asleep here when checkpointed. The kernel ends rt_sigtimedwait with -EINTR (not a restart
     * code) when the tracer interrupts it, so an EINTR here means the restart did not re-run it.
     */
    struct expect woken = { RT6, SI_QUEUE, 606 };
    take(t, &rt6, &woken, 0);
    sigset_t rt1;
    sigemptyset(&rt1);
    sigaddset(&rt1, RT1);
    take(t, &rt1, &t->own[0], 1); /* its own RT1, before any process-directed one */
    SELF_CHECK(t, gettid() == t->tid, "%s: gettid %d, was %d", t->name, gettid(), t->tid);
    SELF_CHECK(t, status_mask(t->tid, "SigPnd") == 0, "%s: SigPnd %016llx after taking its own signals", t->name,
               (unsigned long long)status_mask(t->tid, "SigPnd"));
    __atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void queue_to(struct thread *t, int sig, int value)
{
    int r = pthread_sigqueue(t->handle, sig, (union sigval){ .sival_int = value });
    CHECK(r == 0, "pthread_sigqueue(%s, %d): %s", t->name, sig, strerror(r));
    t->own[t->nown++] = (struct expect){ sig, SI_QUEUE, value };
}

static void kill_to(struct thread *t, int sig)
{
    int r = pthread_kill(t->handle, sig);
    CHECK(r == 0, "pthread_kill(%s, %d): %s", t->name, sig, strerror(r));
    t->own[t->nown++] = (struct expect){ sig, SI_TKILL, 0 };
}

static void await_flag(volatile int *flag, const char *name, const char *what)
{
    int64_t deadline = now_ns(CLOCK_MONOTONIC) + 10000000000LL;
    while (!__atomic_load_n(flag, __ATOMIC_SEQ_CST)) {
        CHECK(now_ns(CLOCK_MONOTONIC) < deadline, "%s did not %s within 10 s", name, what);
        usleep(1000);
    }
}

/* A thread asleep in system call nr (/proc/self/task/TID/syscall, state S). */
static int asleep_in(pid_t tid, long nr)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
    char *text = read_file(path, NULL);
    int in = text && strncmp(text, "running", 7) != 0 && strtol(text, NULL, 10) == nr;
    free(text);
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
    text = read_file(path, NULL);
    char *paren = text ? strrchr(text, ')') : NULL;
    in = in && paren && paren[2] == 'S';
    free(text);
    return in;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    main_tid = gettid();
    RT1 = SIGRTMIN + 1;
    RT2 = SIGRTMIN + 2;
    RT3 = SIGRTMIN + 3;
    RT6 = SIGRTMIN + 6;
    sigemptyset(&test_set);
    int sigs[] = { SIGUSR1, SIGUSR2, SIGHUP, SIGALRM, RT1, RT2, RT3, RT6 };
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&test_set, sigs[i]);

    /* Workers inherit test_set + SIGTERM; the main thread keeps test_set and waits for SIGTERM. */
    sigset_t worker_mask = test_set;
    sigaddset(&worker_mask, SIGTERM);
    CHECK(pthread_sigmask(SIG_SETMASK, &worker_mask, NULL) == 0, "pthread_sigmask");
    for (int i = 0; i < NTHREADS; i++) {
        struct thread *t = &threads[i];
        if (i == W_SIGWAIT)
            snprintf(t->name, sizeof(t->name), "am-sigwait");
        else
            snprintf(t->name, sizeof(t->name), "am-sig%d", i);
        int r = pthread_create(&t->handle, NULL, i == W_SIGWAIT ? sigwait_main : worker_main, t);
        CHECK(r == 0, "pthread_create(%s): %s", t->name, strerror(r));
        await_flag(&t->started, t->name, "start");
    }
    CHECK(pthread_sigmask(SIG_SETMASK, &test_set, NULL) == 0, "pthread_sigmask");

    /* Thread-directed: realtime ones queued before the standard one, which still comes out first. */
    const int std[NWORKERS] = { SIGUSR1, SIGUSR2, SIGHUP };
    for (int i = 0; i < NWORKERS; i++) {
        struct thread *t = &threads[i];
        int base = 100 * (i + 1);
        pthread_sigqueue(t->handle, RT3, (union sigval){ .sival_int = base + 3 }); /* recorded below, last */
        kill_to(t, std[i]);
        queue_to(t, RT1, base + 1);
        queue_to(t, RT1, base + 2);
        t->own[t->nown++] = (struct expect){ RT3, SI_QUEUE, base + 3 };
    }
    queue_to(&threads[W_SIGWAIT], RT1, 351);

    /* The main thread's own, then the process-directed ones (SIGUSR1 both in a worker's queue and the process's). */
    struct expect mine[16];
    int nmine = 0;
    CHECK(pthread_kill(pthread_self(), SIGUSR2) == 0, "pthread_kill(self)");
    mine[nmine++] = (struct expect){ SIGUSR2, SI_TKILL, 0 };
    for (int v = 900; v <= 901; v++) {
        CHECK(pthread_sigqueue(pthread_self(), RT2, (union sigval){ .sival_int = v }) == 0, "pthread_sigqueue(self)");
        mine[nmine++] = (struct expect){ RT2, SI_QUEUE, v };
    }
    CHECK(kill(getpid(), SIGUSR1) == 0 && kill(getpid(), SIGALRM) == 0, "kill: %s", strerror(errno));
    CHECK(sigqueue(getpid(), RT1, (union sigval){ .sival_int = 501 }) == 0 &&
              sigqueue(getpid(), RT3, (union sigval){ .sival_int = 502 }) == 0 &&
              sigqueue(getpid(), RT1, (union sigval){ .sival_int = 503 }) == 0 &&
              sigqueue(getpid(), RT2, (union sigval){ .sival_int = 504 }) == 0,
          "sigqueue: %s", strerror(errno));
    /* dequeued lowest number first, a realtime signal's instances in the order queued */
    mine[nmine++] = (struct expect){ SIGUSR1, SI_USER, 0 };
    mine[nmine++] = (struct expect){ SIGALRM, SI_USER, 0 };
    mine[nmine++] = (struct expect){ RT1, SI_QUEUE, 501 };
    mine[nmine++] = (struct expect){ RT1, SI_QUEUE, 503 };
    mine[nmine++] = (struct expect){ RT2, SI_QUEUE, 504 };
    mine[nmine++] = (struct expect){ RT3, SI_QUEUE, 502 };

    /* Every worker asleep in its call, so the checkpoint interrupts each one there. */
    int64_t deadline = now_ns(CLOCK_MONOTONIC) + 5000000000LL;
    for (int i = 0; i < NTHREADS; i++)
        while (!asleep_in(threads[i].tid, i == W_SIGWAIT ? SYS_rt_sigtimedwait : SYS_futex)) {
            CHECK(now_ns(CLOCK_MONOTONIC) < deadline, "%s not asleep in its call", threads[i].name);
            usleep(1000);
        }

    uint64_t pnd[NTHREADS + 1], blk[NTHREADS + 1], shd = status_mask(main_tid, "ShdPnd");
    pid_t tids[NTHREADS + 1];
    for (int i = 0; i <= NTHREADS; i++) {
        tids[i] = i == NTHREADS ? main_tid : threads[i].tid;
        pnd[i] = status_mask(tids[i], "SigPnd");
        blk[i] = status_mask(tids[i], "SigBlk");
    }

    test_ready();
    test_waitsig();

    CHECK(gettid() == main_tid, "main thread: tid %d, was %d", gettid(), main_tid);
    CHECK(status_mask(main_tid, "ShdPnd") == shd, "ShdPnd %016llx, was %016llx",
          (unsigned long long)status_mask(main_tid, "ShdPnd"), (unsigned long long)shd);
    for (int i = 0; i <= NTHREADS; i++) {
        const char *name = i == NTHREADS ? "main" : threads[i].name;
        uint64_t p = status_mask(tids[i], "SigPnd"), b = status_mask(tids[i], "SigBlk");
        CHECK(p == pnd[i], "%s (tid %d): SigPnd %016llx, was %016llx", name, tids[i], (unsigned long long)p,
              (unsigned long long)pnd[i]);
        CHECK(b == blk[i], "%s (tid %d): SigBlk %016llx, was %016llx", name, tids[i], (unsigned long long)b,
              (unsigned long long)blk[i]);
    }

    pthread_mutex_lock(&lock);
    go = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < NWORKERS; i++) {
        await_flag(&threads[i].done, threads[i].name, "take its signals");
        CHECK(!threads[i].error[0], "%s", threads[i].error);
    }
    struct thread *w = &threads[W_SIGWAIT];
    CHECK(!w->done, "%s: sigwaitinfo returned before being sent SIGRTMIN+6: %s", w->name,
          w->error[0] ? w->error : "(no error)");
    CHECK(pthread_sigqueue(w->handle, RT6, (union sigval){ .sival_int = 606 }) == 0, "pthread_sigqueue(%s)", w->name);
    await_flag(&w->done, w->name, "wake from sigwaitinfo");
    CHECK(!w->error[0], "%s", w->error);
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_join(threads[i].handle, NULL) == 0, "pthread_join(%s)", threads[i].name);

    struct thread self = { .name = "main" };
    for (int i = 0; i < nmine; i++)
        take(&self, &test_set, &mine[i], i);
    CHECK(!self.error[0], "%s", self.error);
    struct timespec zero = { 0, 0 };
    siginfo_t si;
    int extra = sigtimedwait(&test_set, &si, &zero);
    CHECK(extra == -1 && errno == EAGAIN, "signal %d was pending as well (si_code %d, value %d)", extra, si.si_code,
          si.si_value.sival_int);
    pass();
}
