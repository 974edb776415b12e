/* Benchmark target: N MiB of touched anonymous memory with a known pattern; verifies it on SIGTERM. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    size_t len = mib << 20;
    uint64_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    for (size_t i = 0; i < len / 8; i++) p[i] = i * 0x9E3779B97F4A7C15ull;
    signal(SIGTERM, on_term);
    printf("READY\n");
    fflush(stdout);
    while (!stop) pause();
    for (size_t i = 0; i < len / 8; i++)
        if (p[i] != i * 0x9E3779B97F4A7C15ull) { printf("FAIL at word %zu\n", i); return 1; }
    printf("PASS\n");
    return 0;
}
