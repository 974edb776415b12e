/*
 * counter: counts every 50 ms and writes each value as a line to counter.txt at the fd's own
 * offset (not O_APPEND, so the offset must carry over). At the end the file must hold exactly
 * 1..N, one per line: no gap, no repeat, whatever checkpoints and restarts happened meanwhile.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int fd = open("counter.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0, "open counter.txt: %s", strerror(errno));
    long count = 0;
    test_ready();
    while (!test_stop) {
        char line[32];
        int n = snprintf(line, sizeof(line), "%ld\n", ++count);
        CHECK(write(fd, line, n) == n, "write counter.txt: %s", strerror(errno));
        struct timespec ts = { 0, 50000000 };
        nanosleep(&ts, NULL); /* EINTR when SIGTERM arrives: the loop ends */
    }
    size_t len;
    char *text = read_file("counter.txt", &len);
    CHECK(text != NULL, "read counter.txt: %s", strerror(errno));
    long expect = 1;
    for (char *line = text; *line; expect++) {
        char *end;
        long v = strtol(line, &end, 10);
        CHECK(*end == '\n', "counter.txt: line %ld malformed", expect);
        CHECK(v == expect, "counter.txt: line %ld holds %ld (gap or repeat)", expect, v);
        line = end + 1;
    }
    CHECK(expect - 1 == count, "counter.txt ends at %ld, the counter is %ld", expect - 1, count);
    test_msg("counted to %ld", count);
    pass();
}
