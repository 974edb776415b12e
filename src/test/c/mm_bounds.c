/* mm_bounds: what the kernel keeps about the address space layout: argv/env areas, exe, auxv, brk. */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct snap {
    char *cmdline, *environ, *auxv, exe[4096], stat_fields[512];
    size_t cmdline_len, environ_len, auxv_len;
    void *brk;
};

/* The mm fields of /proc/self/stat: 26-28 (start_code end_code start_stack), 45-51 (data, brk, arg, env). */
static void stat_fields(char *out, size_t cap)
{
    char *stat = read_file("/proc/self/stat", NULL);
    CHECK(stat != NULL, "read /proc/self/stat");
    char *p = strrchr(stat, ')') + 2; /* field 3 onwards */
    int field = 3;
    out[0] = 0;
    for (char *tok = strtok(p, " \n"); tok; tok = strtok(NULL, " \n"), field++)
        if ((field >= 26 && field <= 28) || (field >= 45 && field <= 51)) {
            char item[64];
            snprintf(item, sizeof(item), "%d=%s ", field, tok);
            strncat(out, item, cap - strlen(out) - 1);
        }
    free(stat);
}

static void take(struct snap *s)
{
    s->cmdline = read_file("/proc/self/cmdline", &s->cmdline_len);
    s->environ = read_file("/proc/self/environ", &s->environ_len);
    s->auxv = read_file("/proc/self/auxv", &s->auxv_len);
    CHECK(s->cmdline && s->environ && s->auxv, "read /proc/self: %s", strerror(errno));
    ssize_t n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1);
    CHECK(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
    s->exe[n] = 0;
    stat_fields(s->stat_fields, sizeof(s->stat_fields));
    s->brk = sbrk(0);
}

static void same(const char *what, const char *a, size_t alen, const char *b, size_t blen)
{
    CHECK(alen == blen, "%s: %zu bytes, was %zu", what, blen, alen);
    CHECK(memcmp(a, b, alen) == 0, "%s: content changed", what);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    /* grow brk a little so that brk != start_brk */
    CHECK(sbrk(3 * 4096) != (void *)-1, "sbrk: %s", strerror(errno));
    setenv("AMBER_MM_BOUNDS", "set after start: lives on the heap, not in the env area", 1);
    struct snap before;
    take(&before);

    test_ready();
    test_waitsig();

    struct snap after;
    take(&after);
    same("/proc/self/cmdline", before.cmdline, before.cmdline_len, after.cmdline, after.cmdline_len);
    same("/proc/self/environ", before.environ, before.environ_len, after.environ, after.environ_len);
    same("/proc/self/auxv", before.auxv, before.auxv_len, after.auxv, after.auxv_len);
    CHECK(strcmp(before.exe, after.exe) == 0, "exe is %s, was %s", after.exe, before.exe);
    CHECK(strcmp(before.stat_fields, after.stat_fields) == 0, "/proc/self/stat mm fields:\n  was %s\n  now %s",
          before.stat_fields, after.stat_fields);
    CHECK(before.brk == after.brk, "sbrk(0) is %p, was %p", after.brk, before.brk);
    CHECK(argc >= 1 && strcmp(getenv("AMBER_MM_BOUNDS") ? "ok" : "", "ok") == 0, "environment variable lost");
    pass();
}
