/*
 * tcp_server: an echo server whose client is outside the tree (the test). It listens on
 * 127.0.0.1 (argv[1] "6": ::1), prints "PORT n", accepts one connection, says READY, and sends
 * back every byte it reads, counting them, until the client closes; then PASS if it echoed at
 * least argv[2] bytes (default 1). The connection must survive a checkpoint --kill and a
 * restart: the client's packets meanwhile must be dropped (the network lock), never answered
 * with a reset.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int v6 = argc > 1 && strcmp(argv[1], "6") == 0;
    long least = argc > 2 ? atol(argv[2]) : 1;
    struct sockaddr_storage a = { 0 };
    socklen_t len;
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*s4);
    }
    int l = socket(a.ss_family, SOCK_STREAM, 0);
    CHECK(l >= 0, "socket: %s", strerror(errno));
    CHECK(bind(l, (struct sockaddr *)&a, len) == 0, "bind: %s", strerror(errno));
    CHECK(listen(l, 1) == 0, "listen: %s", strerror(errno));
    CHECK(getsockname(l, (struct sockaddr *)&a, &len) == 0, "getsockname: %s", strerror(errno));
    test_msg("PORT %d", ntohs(((struct sockaddr_in *)&a)->sin_port));
    int c = accept(l, NULL, NULL);
    CHECK(c >= 0, "accept: %s", strerror(errno));
    close(l);
    test_ready();
    long echoed = 0;
    char buf[4096];
    for (;;) {
        ssize_t n = read(c, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        CHECK(n >= 0, "read after %ld bytes: %s", echoed, strerror(errno));
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(c, buf + done, n - done);
            CHECK(w > 0, "write after %ld bytes: %s", echoed, strerror(errno));
            done += w;
        }
        echoed += n;
    }
    CHECK(echoed >= least, "echoed %ld bytes, expected at least %ld", echoed, least);
    test_msg("ECHOED %ld", echoed);
    pass();
}
