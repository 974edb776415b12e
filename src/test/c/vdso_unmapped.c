/*
 * vdso_unmapped: a process that unmapped its vDSO and vvar pages (as a kernel booted with
 * vdso=0 gives none): amber injects its calls through a syscall instruction of the process's
 * other code. After restart the areas are still gone and the process runs on. Time is read
 * through the system call only: glibc would jump into the vDSO it found at start-up.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int vdso_areas(int unmap)
{
    char *maps = read_file("/proc/self/maps", NULL);
    CHECK(maps != NULL, "read /proc/self/maps");
    int n = 0;
    for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, "[vdso]") || strstr(line, "[vvar")) {
            unsigned long start, end;
            CHECK(sscanf(line, "%lx-%lx", &start, &end) == 2, "maps line '%s'", line);
            CHECK(!unmap || syscall(SYS_munmap, start, end - start) == 0, "munmap %lx-%lx", start, end);
            n++;
        }
    }
    free(maps);
    return n;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    CHECK(vdso_areas(1) > 0, "no vDSO to unmap");
    CHECK(vdso_areas(0) == 0, "vDSO areas left after munmap");
    struct timespec before, after;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &before);

    test_ready();
    test_waitsig();

    CHECK(vdso_areas(0) == 0, "vDSO areas came back at restart");
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &after);
    CHECK(after.tv_sec > before.tv_sec || (after.tv_sec == before.tv_sec && after.tv_nsec >= before.tv_nsec),
          "CLOCK_MONOTONIC went back");
    pass();
}
