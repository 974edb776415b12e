/*
 * shell_job: an interactive job for a shell in a terminal, as a person runs one. It puts the
 * terminal in non-canonical mode without echo (as a full-screen program or a REPL does), prints
 * "tick N" twice a second, and answers every line typed with "got: LINE". It keeps its count in
 * memory, so after a restart the ticks go on from where they were.
 * Ctrl-Z, fg and Ctrl-C are the terminal's: it has no handler for them.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int main(void)
{
    struct termios t;
    if (tcgetattr(0, &t) == 0) {
        t.c_lflag &= ~(ICANON | ECHO);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        tcsetattr(0, TCSANOW, &t);
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    char line[256];
    size_t len = 0;
    for (unsigned long n = 0;; n++) {
        printf("tick %lu\r\n", n);
        struct pollfd p = { .fd = 0, .events = POLLIN };
        while (poll(&p, 1, 500) > 0) {
            char c;
            if (read(0, &c, 1) != 1)
                return 0;
            if (c == '\r' || c == '\n') {
                printf("got: %.*s\r\n", (int)len, line);
                len = 0;
            } else if (len < sizeof(line)) {
                line[len++] = c;
            }
        }
    }
}
