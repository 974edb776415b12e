/*
 * shared_counters [anon|shm-file] ROUNDS: a parent and two children take turns on counters
 * kept in one shared page, handing the turn on with process-shared semaphores (futexes in
 * the page), and each prints what it saw. The page is MAP_SHARED|MAP_ANONYMOUS, or a
 * /dev/shm file mapped MAP_SHARED and then unlinked (only the mapping holds it). Not a
 * self-checking target: its output is compared with that of a run without a checkpoint.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROCS 3

struct shared {
    sem_t turn[PROCS];
    long counter[PROCS];
    long total;
};

static void die(const char *what)
{
    fprintf(stderr, "shared_counters: %s: %s\n", what, strerror(errno));
    exit(2);
}

static struct shared *map_page(const char *how)
{
    void *p;
    if (strcmp(how, "anon") == 0) {
        p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    } else if (strcmp(how, "shm-file") == 0) {
        char path[64];
        snprintf(path, sizeof path, "/dev/shm/shared_counters.%d", getpid());
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || ftruncate(fd, 4096) != 0)
            die(path);
        p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        /* from here on only the mapping holds the file */
        if (close(fd) != 0 || unlink(path) != 0)
            die(path);
    } else {
        fprintf(stderr, "usage: shared_counters anon|shm-file ROUNDS\n");
        exit(2);
    }
    if (p == MAP_FAILED)
        die("mmap");
    return p;
}

/* Process k's part of every round: wait for its turn, count, print, pass the turn on. */
static void take_turns(struct shared *s, int k, long rounds)
{
    for (long r = 1; r <= rounds; r++) {
        while (sem_wait(&s->turn[k]) != 0)
            if (errno != EINTR)
                die("sem_wait");
        s->counter[k] += r * (k + 1);
        s->total += s->counter[k];
        if (k == 0)
            printf("round %ld:", r);
        printf(" p%d=%ld", k, s->counter[k]);
        if (k == PROCS - 1)
            printf(" total=%ld\n", s->total);
        fflush(stdout);
        if (k == PROCS - 1)
            usleep(20000);
        if (sem_post(&s->turn[(k + 1) % PROCS]) != 0)
            die("sem_post");
    }
}

int main(int argc, char **argv)
{
    if (argc != 3)
        map_page("");
    struct shared *s = map_page(argv[1]);
    long rounds = atol(argv[2]);
    for (int k = 0; k < PROCS; k++)
        if (sem_init(&s->turn[k], 1, k == 0) != 0)
            die("sem_init");
    pid_t child[PROCS];
    for (int k = 1; k < PROCS; k++) {
        child[k] = fork();
        if (child[k] < 0)
            die("fork");
        if (child[k] == 0) {
            take_turns(s, k, rounds);
            _exit(k);
        }
    }
    take_turns(s, 0, rounds);
    for (int k = 1; k < PROCS; k++) {
        int status;
        if (waitpid(child[k], &status, 0) != child[k])
            die("waitpid");
        printf("child p%d exited %d\n", k, WEXITSTATUS(status));
    }
    printf("final total=%ld p0=%ld p1=%ld p2=%ld\n", s->total, s->counter[0], s->counter[1], s->counter[2]);
    return 0;
}
