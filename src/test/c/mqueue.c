/*
 * mqueue: POSIX message queues. Queue A (/amber-mq-a-PID, maxmsg 8, msgsize 128, mode 0640) holds
 * six messages of priorities 0 to 31, two of them with equal priority, one empty and one of the
 * full 128 bytes; it is open read-write (blocking) and again write-only non-blocking. Queue B
 * (/amber-mq-b-PID, maxmsg 4, msgsize 16) is empty, open read-only non-blocking, and this process
 * is registered for SIGUSR1 when a message arrives. After restart: both queues have their
 * attributes and mode, A hands out the same messages in the same order with the same priorities,
 * each descriptor has its flags, and a message sent to B raises SIGUSR1. Both queues are removed
 * at the end. With "refuse", B also holds one message while the notification is registered, which
 * a checkpoint must refuse (saving it would fire the notification): the process goes on as if
 * nothing happened. "unlink PID" only removes the queues of target PID (the harness's cleanup, and its
 * restart after the queues are gone); "clash PID" makes PID's queue A again with maxmsg 2.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct msg {
    const char *text;
    unsigned prio;
};

static const struct msg sent[] = {
    { "first, priority 1", 1 }, { "urgent", 31 }, { "", 0 }, { "second, priority 1", 1 }, { "five", 5 }, { NULL, 7 },
};
/* The order mq_receive hands them out: highest priority first, oldest first within one. */
static const int order[] = { 1, 5, 4, 0, 3, 2 };
#define NMSG 6

static char big[128];
static char name_a[64], name_b[64];

static void check_attr(mqd_t q, const char *what, long flags, long maxmsg, long msgsize, long cur)
{
    struct mq_attr a;
    CHECK(mq_getattr(q, &a) == 0, "%s: mq_getattr: %s", what, strerror(errno));
    CHECK(a.mq_flags == flags && a.mq_maxmsg == maxmsg && a.mq_msgsize == msgsize && a.mq_curmsgs == cur,
          "%s: flags 0%lo maxmsg %ld msgsize %ld curmsgs %ld, expected 0%lo %ld %ld %ld", what, a.mq_flags,
          a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs, flags, maxmsg, msgsize, cur);
}

static void check_mode(mqd_t q, const char *what, mode_t mode)
{
    struct stat st;
    CHECK(fstat(q, &st) == 0, "%s: fstat: %s", what, strerror(errno));
    CHECK((st.st_mode & 07777) == mode && st.st_uid == getuid(), "%s: mode 0%o uid %d, expected 0%o uid %d", what,
          st.st_mode & 07777, st.st_uid, mode, getuid());
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    snprintf(name_a, sizeof(name_a), "/amber-mq-a-%d", getpid());
    snprintf(name_b, sizeof(name_b), "/amber-mq-b-%d", getpid());
    int refuse = argc == 2 && strcmp(argv[1], "refuse") == 0;
    if (argc > 2) {   /* unlink PID, clash PID */
        snprintf(name_a, sizeof(name_a), "/amber-mq-a-%s", argv[2]);
        snprintf(name_b, sizeof(name_b), "/amber-mq-b-%s", argv[2]);
        mq_unlink(name_a);
        mq_unlink(name_b);
        if (strcmp(argv[1], "clash") == 0) {
            struct mq_attr small = { .mq_maxmsg = 2, .mq_msgsize = 128 };
            CHECK(mq_open(name_a, O_CREAT | O_EXCL | O_RDWR, 0600, &small) >= 0, "mq_open: %s", strerror(errno));
        }
        return 0;
    }
    for (int i = 0; i < (int)sizeof(big); i++)
        big[i] = (char)(i * 7 + 1);
    struct mq_attr attr_a = { .mq_maxmsg = 8, .mq_msgsize = 128 }, attr_b = { .mq_maxmsg = 4, .mq_msgsize = 16 };
    umask(022);
    mqd_t a = mq_open(name_a, O_CREAT | O_EXCL | O_RDWR, 0640, &attr_a);
    CHECK(a >= 0, "mq_open %s: %s", name_a, strerror(errno));
    mqd_t aw = mq_open(name_a, O_WRONLY | O_NONBLOCK);
    CHECK(aw >= 0, "mq_open %s write-only: %s", name_a, strerror(errno));
    mqd_t b = mq_open(name_b, O_CREAT | O_EXCL | O_RDONLY | O_NONBLOCK, 0600, &attr_b);
    CHECK(b >= 0, "mq_open %s: %s", name_b, strerror(errno));
    for (int i = 0; i < NMSG; i++) {
        const char *p = sent[i].text ? sent[i].text : big;
        size_t n = sent[i].text ? strlen(p) : sizeof(big);
        CHECK(mq_send(i % 2 ? aw : a, p, n, sent[i].prio) == 0, "mq_send %d: %s", i, strerror(errno));
    }
    if (refuse) {
        mqd_t early = mq_open(name_b, O_WRONLY);
        CHECK(early >= 0 && mq_send(early, "early", 5, 3) == 0, "mq_send early to B: %s", strerror(errno));
        close(early);
    }
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
    CHECK(mq_notify(b, &ev) == 0, "mq_notify: %s", strerror(errno));
    int fl[3] = { fcntl(a, F_GETFL), fcntl(aw, F_GETFL), fcntl(b, F_GETFL) };

    test_ready();
    test_waitsig();

    int now[3] = { fcntl(a, F_GETFL), fcntl(aw, F_GETFL), fcntl(b, F_GETFL) };
    for (int i = 0; i < 3; i++)
        CHECK(now[i] == fl[i], "descriptor %d: F_GETFL 0%o, was 0%o", i, now[i], fl[i]);
    check_attr(a, "A", 0, 8, 128, NMSG);
    check_attr(aw, "A write-only", O_NONBLOCK, 8, 128, NMSG);
    check_attr(b, "B", O_NONBLOCK, 4, 16, refuse);
    if (refuse) {
        char early[16];
        CHECK(mq_receive(b, early, sizeof(early), NULL) == 5 && memcmp(early, "early", 5) == 0, "B lost its message");
    }
    check_mode(a, "A", 0640);
    check_mode(b, "B", 0600);
    for (int i = 0; i < NMSG; i++) {
        char buf[128];
        unsigned prio;
        const struct msg *m = &sent[order[i]];
        const char *p = m->text ? m->text : big;
        ssize_t want = m->text ? (ssize_t)strlen(p) : (ssize_t)sizeof(big);
        ssize_t n = mq_receive(a, buf, sizeof(buf), &prio);
        CHECK(n == want && prio == m->prio && memcmp(buf, p, n) == 0,
              "message %d: %zd bytes priority %u, expected %zd bytes priority %u (sent as %d)", i, n, prio, want,
              m->prio, order[i]);
    }
    mqd_t bw = mq_open(name_b, O_WRONLY);
    CHECK(bw >= 0, "mq_open %s write-only: %s", name_b, strerror(errno));
    CHECK(mq_send(bw, "ping", 4, 0) == 0, "mq_send B: %s", strerror(errno));
    struct timespec wait = { 5, 0 };
    siginfo_t si;
    CHECK(sigtimedwait(&usr1, &si, &wait) == SIGUSR1, "no SIGUSR1 from B's notification: %s", strerror(errno));
    CHECK(si.si_code == SI_MESGQ, "SIGUSR1 si_code %d, expected SI_MESGQ", si.si_code);
    mq_unlink(name_a);
    mq_unlink(name_b);
    pass();
}
