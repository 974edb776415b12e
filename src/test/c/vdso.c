/* vdso: the vDSO and its data pages stay where they were and keep telling the time. */
#define _GNU_SOURCE
#include "amtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

/* The [vdso], [vvar] and [vvar_vclock] lines of /proc/self/maps, concatenated. */
static char *vdso_lines(void)
{
    char *maps = read_file("/proc/self/maps", NULL);
    CHECK(maps != NULL, "read /proc/self/maps");
    char *out = calloc(1, strlen(maps) + 1);
    for (char *line = maps; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
        if (memmem(line, len, "[vdso]", 6) || memmem(line, len, "[vvar", 5))
            strncat(out, line, len);
        line += len;
    }
    free(maps);
    return out;
}

static void check_clocks(const char *when)
{
    static const int clocks[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW };
    for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
        int64_t a = now_ns(clocks[i]), b = now_ns(clocks[i]);
        CHECK(a > 0 && b >= a, "%s: clock %d went back: %ld then %ld", when, clocks[i], (long)a, (long)b);
    }
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    unsigned long ehdr = getauxval(AT_SYSINFO_EHDR);
    CHECK(ehdr != 0, "no AT_SYSINFO_EHDR");
    char *before = vdso_lines();
    CHECK(strstr(before, "[vdso]") != NULL, "no [vdso] in maps");
    check_clocks("before");
    int64_t mono0 = now_ns(CLOCK_MONOTONIC), real0 = now_ns(CLOCK_REALTIME);
    struct timeval tv0;
    gettimeofday(&tv0, NULL);
    time_t t0 = time(NULL);

    test_ready();
    test_waitsig();

    CHECK(getauxval(AT_SYSINFO_EHDR) == ehdr, "AT_SYSINFO_EHDR %lx, was %lx", getauxval(AT_SYSINFO_EHDR), ehdr);
    char *after = vdso_lines();
    CHECK(strcmp(before, after) == 0, "vdso maps lines changed:\n--- before\n%s--- after\n%s", before, after);
    check_clocks("after");
    int64_t mono1 = now_ns(CLOCK_MONOTONIC), real1 = now_ns(CLOCK_REALTIME);
    struct timeval tv1;
    gettimeofday(&tv1, NULL);
    CHECK(mono1 > mono0, "CLOCK_MONOTONIC did not move forward");
    CHECK(real1 > real0, "CLOCK_REALTIME did not move forward");
    CHECK(tv1.tv_sec > tv0.tv_sec || (tv1.tv_sec == tv0.tv_sec && tv1.tv_usec > tv0.tv_usec),
          "gettimeofday did not move forward");
    CHECK(time(NULL) >= t0, "time() went back");
    int64_t r = now_ns(CLOCK_REALTIME) / 1000 - ((int64_t)tv1.tv_sec * 1000000 + tv1.tv_usec);
    CHECK(r >= 0 && r < 1000000, "gettimeofday and CLOCK_REALTIME disagree by %ld us", (long)r);
    /* the clock ticks: a 20 ms sleep shows as at least 20 ms */
    int64_t a = now_ns(CLOCK_MONOTONIC);
    struct timespec ts = { 0, 20000000 };
    nanosleep(&ts, NULL);
    CHECK(now_ns(CLOCK_MONOTONIC) - a >= 20000000, "CLOCK_MONOTONIC does not tick");
    pass();
}
