/*
 * sigio: signal-driven I/O settings of three descriptors:
 *   an eventfd owned by the process (F_OWNER_PID) with F_SETSIG SIGRTMIN+1 and O_ASYNC requested
 *     (eventfd has no fasync method: the kernel drops O_ASYNC, so none is expected back)
 *   /dev/urandom owned by the main thread (F_OWNER_TID), F_SETSIG SIGRTMIN+3, O_ASYNC (kept:
 *     the random driver has a fasync method)
 *   an eventfd owned by the process group (F_OWNER_PGRP), default signal (SIGIO)
 * After restart the owner, the signal and O_ASYNC of each read back as set. (SIGIO delivery
 * itself needs a file that sends it, a pipe, socket or tty: none of those kinds is restored yet.)
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

struct want {
    const char *name;
    int fd;
    struct f_owner_ex owner;
    int signal;
    int async;
};

static void setup(struct want *w, int async_back)
{
    CHECK(fcntl(w->fd, F_SETOWN_EX, &w->owner) == 0, "%s: F_SETOWN_EX: %s", w->name, strerror(errno));
    CHECK(fcntl(w->fd, F_SETSIG, w->signal) == 0, "%s: F_SETSIG: %s", w->name, strerror(errno));
    if (w->async)
        CHECK(fcntl(w->fd, F_SETFL, fcntl(w->fd, F_GETFL) | O_ASYNC) == 0, "%s: F_SETFL: %s", w->name,
              strerror(errno));
    w->async = async_back;
}

static void verify(const struct want *w)
{
    struct f_owner_ex o;
    CHECK(fcntl(w->fd, F_GETOWN_EX, &o) == 0, "%s: F_GETOWN_EX: %s", w->name, strerror(errno));
    CHECK(o.type == w->owner.type && o.pid == w->owner.pid, "%s: owner type %d id %d, expected type %d id %d",
          w->name, o.type, o.pid, w->owner.type, w->owner.pid);
    int sig = fcntl(w->fd, F_GETSIG);
    CHECK(sig == w->signal, "%s: F_GETSIG %d, expected %d", w->name, sig, w->signal);
    int async = (fcntl(w->fd, F_GETFL) & O_ASYNC) != 0;
    CHECK(async == w->async, "%s: O_ASYNC %d, expected %d", w->name, async, w->async);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
    struct want w[3] = {
        { "eventfd", eventfd(0, EFD_NONBLOCK), { F_OWNER_PID, pid }, SIGRTMIN + 1, 1 },
        { "/dev/urandom", open("/dev/urandom", O_RDONLY), { F_OWNER_TID, tid }, SIGRTMIN + 3, 1 },
        { "eventfd pgrp", eventfd(0, 0), { F_OWNER_PGRP, getpgrp() }, 0, 0 },
    };
    for (int i = 0; i < 3; i++)
        CHECK(w[i].fd >= 0, "%s: %s", w[i].name, strerror(errno));
    setup(&w[0], 0);
    setup(&w[1], 1);
    setup(&w[2], 0);
    for (int i = 0; i < 3; i++)
        verify(&w[i]);

    test_ready();
    test_waitsig();

    for (int i = 0; i < 3; i++)
        verify(&w[i]);
    pass();
}
