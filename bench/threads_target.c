/* Benchmark target: N threads (default 100) waiting on a condition variable; on SIGTERM the main
 * thread wakes them all, joins them and prints PASS if every one returned normally. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int released, waiting;

static void *waiter(void *arg) {
    pthread_mutex_lock(&lock);
    waiting++;
    while (!released) pthread_cond_wait(&go, &lock);
    pthread_mutex_unlock(&lock);
    return arg;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 100;
    pthread_t *t = calloc(n, sizeof(*t));
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, NULL);
    for (long i = 0; i < n; i++) pthread_create(&t[i], NULL, waiter, (void *)i);
    for (;;) { pthread_mutex_lock(&lock); int w = waiting; pthread_mutex_unlock(&lock); if (w == n) break; usleep(1000); }
    printf("READY\n");
    fflush(stdout);
    int sig;
    sigwait(&term, &sig);
    pthread_mutex_lock(&lock);
    released = 1;
    pthread_cond_broadcast(&go);
    pthread_mutex_unlock(&lock);
    for (long i = 0; i < n; i++) {
        void *r;
        if (pthread_join(t[i], &r) != 0 || r != (void *)i) { printf("FAIL: thread %ld\n", i); return 1; }
    }
    printf("PASS\n");
    return 0;
}
