/*
 * tree_target N: a tree of N processes, each with up to 10 children (process i's children are
 * 10i+1 .. 10i+10). Before forking, the root fills 256 KiB that every process then shares
 * copy-on-write; each process also fills 64 KiB of its own. "READY" once all N are up. On
 * SIGTERM to the root every process checks both regions, tells its children to do the same, waits
 * for them, and exits 0 only if everything matched; the root prints PASS or FAIL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHARED (256 << 10)
#define OWN (64 << 10)

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }

static void fill(uint64_t *p, size_t n, uint64_t seed) { for (size_t i = 0; i < n / 8; i++) p[i] = seed * 0x9e3779b97f4a7c15ULL + i; }
static int check(const uint64_t *p, size_t n, uint64_t seed) { for (size_t i = 0; i < n / 8; i++) if (p[i] != seed * 0x9e3779b97f4a7c15ULL + i) return 0; return 1; }

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10;
    int up[2];
    if (pipe(up) != 0) return 2;
    uint64_t *shared = malloc(SHARED), *own = malloc(OWN);
    fill(shared, SHARED, 1);
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    int index = 0;
    pid_t kids[10];
    int nkids = 0;
    for (;;) {
        nkids = 0;
        int forked_into = -1;
        for (int c = 10 * index + 1; c <= 10 * index + 10 && c < n; c++) {
            pid_t p = fork();
            if (p == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                forked_into = c;
                break;
            }
            kids[nkids++] = p;
        }
        if (forked_into < 0) break;
        index = forked_into;
    }
    fill(own, OWN, 100 + index);
    if (write(up[1], "u", 1) != 1) return 2;
    if (index == 0) {
        char b;
        for (int i = 0; i < n; i++)
            if (read(up[0], &b, 1) != 1) return 2;
        printf("READY\n");
        fflush(stdout);
    }
    while (!stop) pause();
    int ok = check(shared, SHARED, 1) && check(own, OWN, 100 + index);
    for (int i = 0; i < nkids; i++) kill(kids[i], SIGTERM);
    for (int i = 0; i < nkids; i++) {
        int st;
        while (waitpid(kids[i], &st, 0) < 0 && errno == EINTR) ;
        ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    if (index == 0) {
        printf(ok ? "PASS\n" : "FAIL: a process's memory differed\n");
        fflush(stdout);
    }
    return ok ? 0 : 1;
}
