/*
 * fifo_tree: a named FIFO between a parent (the writer) and its child (the reader), with bytes
 * in flight, and an anonymous pipe whose writers have all gone (its reader must see the bytes,
 * then end of file). Before READY the parent writes "first half" into the FIFO and "left over"
 * into the pipe, closing its write end. After SIGTERM: the parent writes "second half", the
 * child reads the FIFO until it has both halves in order, reads the pipe to its end, and reports.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    test_init(argc, argv);
    unlink("the.fifo");
    CHECK(mkfifo("the.fifo", 0600) == 0, "mkfifo: %s", strerror(errno));
    int leftover[2], go[2];
    CHECK(pipe(leftover) == 0 && pipe(go) == 0, "pipe");
    pid_t c = fork();
    if (c == 0) {
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(leftover[1]);
        close(go[1]);
        int r = open("the.fifo", O_RDONLY);
        if (r < 0)
            _exit(2);
        char b;
        if (read(go[0], &b, 1) != 1)   /* after the restart */
            _exit(3);
        char got[64] = "";
        size_t have = 0;
        while (have < strlen("first half, second half")) {
            ssize_t n = read(r, got + have, sizeof(got) - 1 - have);
            if (n <= 0)
                _exit(4);
            have += n;
        }
        if (strcmp(got, "first half, second half") != 0)
            _exit(5);
        char rest[64];
        ssize_t n = read(leftover[0], rest, sizeof(rest));
        if (n != 9 || memcmp(rest, "left over", 9) != 0)
            _exit(6);
        if (read(leftover[0], rest, sizeof(rest)) != 0)   /* no writer left anywhere: end of file */
            _exit(7);
        _exit(0);
    }
    close(leftover[0]);
    close(go[0]);
    int w = open("the.fifo", O_WRONLY);
    CHECK(w >= 0, "open fifo: %s", strerror(errno));
    CHECK(write(w, "first half, ", 12) == 12, "write fifo");
    CHECK(write(leftover[1], "left over", 9) == 9, "write pipe");
    close(leftover[1]);
    test_ready();
    test_waitsig();
    CHECK(write(w, "second half", 11) == 11, "write fifo after restart: %s", strerror(errno));
    CHECK(write(go[1], "g", 1) == 1, "go");
    int st;
    CHECK(waitpid(c, &st, 0) == c, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the reader ended with status 0x%x (see fifo_tree.c for the codes)", st);
    unlink("the.fifo");
    pass();
}
