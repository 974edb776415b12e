/*
 * ext_socket: descriptor 3 is a socket connected to a process outside the tree (the test makes
 * it a TCP connection to itself). After SIGTERM, the process writes "hello from PID\n" through
 * it: after a restart with --inherit-fd the line must reach whoever holds the other end of the
 * socket given in its place.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    test_init(argc, argv);
    struct stat st;
    CHECK(fstat(3, &st) == 0 && S_ISSOCK(st.st_mode), "fd 3 is not a socket");
    test_ready();
    test_waitsig();
    CHECK(fstat(3, &st) == 0 && S_ISSOCK(st.st_mode), "fd 3 is not a socket after the restart");
    char line[64];
    int n = snprintf(line, sizeof(line), "hello from %d\n", getpid());
    CHECK(write(3, line, n) == n, "write to fd 3: %s", strerror(errno));
    pass();
}
