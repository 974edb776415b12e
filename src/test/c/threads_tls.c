/*
 * threads_tls: thread-local storage of every thread, reached through its fs base.
 *
 * Each thread (and the main thread) gives its __thread variables distinct values (an initialised
 * one in .tdata, a 4 KiB patterned array in .tbss), its errno, and a pthread_key value pointing at
 * a patterned block of its own. am-tls0..3 wait on a condition; am-tls-spin keeps running in user
 * space, reading and writing its TLS all the time, so a wrong fs base after restart shows at once.
 * After restart the main thread checks every thread's TLS through the addresses recorded before,
 * then releases them, and each one checks through its own fs base that the same addresses and
 * values come back (&var, pthread_self, __builtin_thread_pointer, errno, pthread_getspecific), and
 * that the key's destructor runs once per thread at exit.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NWAIT 4
#define SPIN NWAIT /* index of am-tls-spin */
#define NTHREADS (NWAIT + 1)
#define WORDS 512
#define BLOCK 4096

static __thread uint64_t tls_init = 0x5eed5eed5eed5eedULL; /* .tdata */
static __thread uint64_t tls_words[WORDS];                 /* .tbss */
static __thread volatile uint64_t tls_spins;

struct thread {
    pthread_t handle;
    volatile pid_t tid;
    volatile int started;
    volatile int done;
    char name[16];
    uint64_t seed;
    /* as seen from the thread itself before the checkpoint */
    uint64_t *init_addr;
    uint64_t *words_addr;
    void *tp; /* __builtin_thread_pointer(): the TCB, at the fs base */
    pthread_t self;
    void *specific;
    volatile uint64_t *spins_addr;
    char error[512];
};

static struct thread threads[NTHREADS];
static struct thread main_thread = { .name = "main", .seed = 0x1000 };
static pthread_key_t key;
static volatile int destructor_runs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int go;
static volatile int spin_stop;

#define SELF_CHECK(t, cond, ...)                                                                                     \
    do {                                                                                                             \
        if (!(cond) && !(t)->error[0])                                                                               \
            snprintf((t)->error, sizeof((t)->error), __VA_ARGS__);                                                   \
    } while (0)

static void destructor(void *block)
{
    __atomic_add_fetch(&destructor_runs, 1, __ATOMIC_SEQ_CST);
    free(block);
}

static int errno_value(const struct thread *t)
{
    return 1000 + (int)(t->seed & 0xff);
}

/* Gives this thread's TLS its values and records where they are. */
static void setup(struct thread *t)
{
    tls_init = t->seed * 0x9e3779b97f4a7c15ULL;
    pattern_fill(tls_words, sizeof(tls_words), t->seed);
    void *block = malloc(BLOCK);
    pattern_fill(block, BLOCK, t->seed + 0x100);
    CHECK(pthread_setspecific(key, block) == 0, "%s: pthread_setspecific", t->name);
    t->tid = gettid();
    t->init_addr = &tls_init;
    t->words_addr = tls_words;
    t->spins_addr = &tls_spins;
    t->tp = __builtin_thread_pointer();
    t->self = pthread_self();
    t->specific = block;
    errno = errno_value(t);
}

/* This thread's TLS through its own fs base: same addresses, same values. */
static void check_self(struct thread *t)
{
    int e = errno; /* first: the checks below may set it */
    SELF_CHECK(t, gettid() == t->tid, "%s: gettid %d, was %d", t->name, gettid(), t->tid);
    SELF_CHECK(t, __builtin_thread_pointer() == t->tp, "%s: thread pointer %p, was %p", t->name,
               __builtin_thread_pointer(), t->tp);
    SELF_CHECK(t, pthread_equal(pthread_self(), t->self), "%s: pthread_self %#lx, was %#lx", t->name,
               (unsigned long)pthread_self(), (unsigned long)t->self);
    SELF_CHECK(t, &tls_init == t->init_addr && tls_words == t->words_addr, "%s: TLS at %p/%p, was %p/%p", t->name,
               (void *)&tls_init, (void *)tls_words, (void *)t->init_addr, (void *)t->words_addr);
    SELF_CHECK(t, tls_init == t->seed * 0x9e3779b97f4a7c15ULL, "%s: tls_init %#llx", t->name,
               (unsigned long long)tls_init);
    long off = pattern_check(tls_words, sizeof(tls_words), t->seed);
    SELF_CHECK(t, off < 0, "%s: tls_words differ at byte %ld", t->name, off);
    SELF_CHECK(t, e == errno_value(t), "%s: errno %d, was %d", t->name, e, errno_value(t));
    void *block = pthread_getspecific(key);
    SELF_CHECK(t, block == t->specific, "%s: pthread_getspecific %p, was %p", t->name, block, t->specific);
    if (block == t->specific) {
        off = pattern_check(block, BLOCK, t->seed + 0x100);
        SELF_CHECK(t, off < 0, "%s: key block differs at byte %ld", t->name, off);
    }
}

static void *wait_main(void *arg)
{
    struct thread *t = arg;
    pthread_setname_np(pthread_self(), t->name);
    setup(t);
    __atomic_store_n(&t->started, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&lock);
    while (!go)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    check_self(t);
    __atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *spin_main(void *arg)
{
    struct thread *t = arg;
    pthread_setname_np(pthread_self(), t->name);
    setup(t);
    __atomic_store_n(&t->started, 1, __ATOMIC_SEQ_CST);
    uint64_t expect = t->seed * 0x9e3779b97f4a7c15ULL;
    while (!spin_stop) {
        tls_spins++;
        SELF_CHECK(t, tls_init == expect, "%s: tls_init %#llx while spinning", t->name, (unsigned long long)tls_init);
        tls_words[tls_spins % WORDS] ^= 0; /* a store through fs, same value */
    }
    check_self(t);
    __atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Another thread's TLS read through the addresses it recorded. */
static void check_from_outside(const struct thread *t)
{
    CHECK(*t->init_addr == t->seed * 0x9e3779b97f4a7c15ULL, "%s: tls_init at %p holds %#llx", t->name,
          (void *)t->init_addr, (unsigned long long)*t->init_addr);
    long off = pattern_check(t->words_addr, WORDS * sizeof(uint64_t), t->seed);
    CHECK(off < 0, "%s: tls_words at %p differ at byte %ld", t->name, (void *)t->words_addr, off);
    off = pattern_check(t->specific, BLOCK, t->seed + 0x100);
    CHECK(off < 0, "%s: key block at %p differs at byte %ld", t->name, t->specific, off);
    /* glibc's TCB starts with a pointer to itself (tcbhead_t.tcb) */
    CHECK(*(void **)t->tp == t->tp, "%s: TCB at %p points at %p", t->name, t->tp, *(void **)t->tp);
}

static void await_flag(volatile int *flag, const char *name, const char *what)
{
    int64_t deadline = now_ns(CLOCK_MONOTONIC) + 10000000000LL;
    while (!__atomic_load_n(flag, __ATOMIC_SEQ_CST)) {
        CHECK(now_ns(CLOCK_MONOTONIC) < deadline, "%s did not %s within 10 s", name, what);
        usleep(1000);
    }
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    CHECK(pthread_key_create(&key, destructor) == 0, "pthread_key_create");
    for (int i = 0; i < NTHREADS; i++) {
        struct thread *t = &threads[i];
        t->seed = 0x2000 + (uint64_t)i;
        if (i == SPIN)
            snprintf(t->name, sizeof(t->name), "am-tls-spin");
        else
            snprintf(t->name, sizeof(t->name), "am-tls%d", i);
        int r = pthread_create(&t->handle, NULL, i == SPIN ? spin_main : wait_main, t);
        CHECK(r == 0, "pthread_create(%s): %s", t->name, strerror(r));
        await_flag(&t->started, t->name, "start");
    }
    setup(&main_thread);
    for (int i = 0; i < NTHREADS; i++)
        for (int j = 0; j < i; j++)
            CHECK(threads[i].tp != threads[j].tp && threads[i].init_addr != threads[j].init_addr,
                  "%s and %s share their TLS", threads[i].name, threads[j].name);
    uint64_t s0 = *threads[SPIN].spins_addr;
    usleep(20000);
    CHECK(*threads[SPIN].spins_addr != s0, "am-tls-spin does not spin");

    test_ready();
    test_waitsig();
    errno = errno_value(&main_thread); /* test_waitsig's sigsuspend set it to EINTR */

    for (int i = 0; i < NTHREADS; i++)
        check_from_outside(&threads[i]);
    check_from_outside(&main_thread);
    s0 = *threads[SPIN].spins_addr;
    usleep(50000);
    CHECK(*threads[SPIN].spins_addr != s0, "am-tls-spin: TLS counter stays at %llu", (unsigned long long)s0);
    CHECK(!threads[SPIN].error[0], "%s", threads[SPIN].error);

    pthread_mutex_lock(&lock);
    go = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    spin_stop = 1;
    for (int i = 0; i < NTHREADS; i++) {
        await_flag(&threads[i].done, threads[i].name, "check its TLS");
        CHECK(!threads[i].error[0], "%s", threads[i].error);
        CHECK(pthread_join(threads[i].handle, NULL) == 0, "pthread_join(%s)", threads[i].name);
    }
    CHECK(destructor_runs == NTHREADS, "key destructor ran %d times for %d threads", destructor_runs, NTHREADS);
    check_self(&main_thread);
    CHECK(!main_thread.error[0], "%s", main_thread.error);
    pass();
}
