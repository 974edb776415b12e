/*
 * fd_table: a descriptor table with no room left, and RLIMIT_NOFILE limits that a restart must
 * give back exactly. Every mode records, for every descriptor number up to the hard limit, whether
 * it is open and, if so, its type, inode (files and devices), status flags, close-on-exec and
 * offset, and the soft and hard limits; after SIGTERM it checks all of that again (nothing extra,
 * nothing missing) and that its pipe, socket pair and eventfd still work.
 *
 *   full N       soft limit N (hard kept): every slot 0..N-1 in use
 *   hardfull N [memfd]  soft = hard = N: every slot 0..N-1 in use, no memfd unless asked (restart
 *                with hard limit N)
 *   below N M    every slot 0..N-1 in use, then the soft limit lowered to M < N
 *   high         soft = hard; a few descriptors and one at hard-1, the highest number there is
 *   tree K N     soft limit N; K children, which share a pipe with the parent, and every one of
 *                them (the parent too) with all of 0..N-1 in use
 *   shared N [memfd]  soft limit N; a child made with clone(CLONE_FILES), so one table for both, all of
 *                0..N-1 in use; after the restart a descriptor the parent closes is closed for
 *                the child too
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct slot {
    int open, type, fdflags, flflags;
    ino_t ino;
    off_t pos;
};

static struct slot *saved;
static long limit_top;          /* every number below is recorded */
static struct rlimit saved_limit;
static int memfd = -1;   /* a new memfd has a new inode */
static int pipe_r = -1, pipe_w = -1, sock_a = -1, sock_b = -1, efd = -1;
static const char *who = "";

static void record(struct slot *s, int fd)
{
    struct stat st;
    memset(s, 0, sizeof(*s));
    s->fdflags = fcntl(fd, F_GETFD);
    if (s->fdflags < 0)
        return;
    s->open = 1;
    s->flflags = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) == 0) {
        s->type = st.st_mode & S_IFMT;
        if ((S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)) && fd != memfd)
            s->ino = st.st_ino;
        if (S_ISREG(st.st_mode) && !(s->flflags & O_APPEND))   /* a log written to moves on */
            s->pos = lseek(fd, 0, SEEK_CUR);
    }
}

static void record_all(void)
{
    CHECK(getrlimit(RLIMIT_NOFILE, &saved_limit) == 0, "getrlimit: %s", strerror(errno));
    limit_top = saved_limit.rlim_max;
    saved = calloc(limit_top, sizeof(*saved));
    CHECK(saved != NULL, "calloc");
    for (long fd = 0; fd < limit_top; fd++)
        record(&saved[fd], fd);
}

static void check_all(void)
{
    struct rlimit now;
    CHECK(getrlimit(RLIMIT_NOFILE, &now) == 0, "%sgetrlimit: %s", who, strerror(errno));
    CHECK(now.rlim_cur == saved_limit.rlim_cur && now.rlim_max == saved_limit.rlim_max,
          "%sRLIMIT_NOFILE soft %lu hard %lu, saved soft %lu hard %lu", who, (unsigned long)now.rlim_cur,
          (unsigned long)now.rlim_max, (unsigned long)saved_limit.rlim_cur, (unsigned long)saved_limit.rlim_max);
    for (long fd = 0; fd < limit_top; fd++) {
        struct slot s, *w = &saved[fd];
        record(&s, fd);
        CHECK(s.open == w->open, "%sfd %ld: %s", who, fd, w->open ? "missing" : "open but was not");
        if (!s.open)
            continue;
        CHECK(s.type == w->type, "%sfd %ld: type 0%o, saved 0%o", who, fd, s.type, w->type);
        CHECK(s.ino == w->ino, "%sfd %ld: inode %lu, saved %lu", who, fd, (unsigned long)s.ino, (unsigned long)w->ino);
        CHECK(s.fdflags == w->fdflags, "%sfd %ld: FD flags %d, saved %d", who, fd, s.fdflags, w->fdflags);
        CHECK(s.flflags == w->flflags, "%sfd %ld: FL flags 0%o, saved 0%o", who, fd, s.flflags, w->flflags);
        CHECK(s.pos == w->pos, "%sfd %ld: offset %ld, saved %ld", who, fd, (long)s.pos, (long)w->pos);
    }
}

/* The pipe, socket pair and eventfd made by fill() still carry data. */
static void check_objects(void)
{
    char b = 0;
    uint64_t v = 0;
    if (pipe_r >= 0) {
        CHECK(read(pipe_r, &b, 1) == 1 && b == 'p', "%spipe: lost its byte", who);
        CHECK(write(pipe_w, "q", 1) == 1 && read(pipe_r, &b, 1) == 1 && b == 'q', "%spipe: no round trip", who);
    }
    if (sock_a >= 0) {
        CHECK(read(sock_b, &b, 1) == 1 && b == 's', "%ssocket pair: lost its byte", who);
        CHECK(write(sock_b, "t", 1) == 1 && read(sock_a, &b, 1) == 1 && b == 't', "%ssocket pair: no round trip",
              who);
    }
    if (efd >= 0)
        CHECK(read(efd, &v, 8) == 8 && v == 42, "%seventfd: count %lu, expected 42", who, (unsigned long)v);
}

static int next_free(void)
{
    int fd = dup(0);
    if (fd >= 0)
        close(fd);
    return fd;
}

/* Fills every free slot below the soft limit: one of each kind, then files and their duplicates. */
static void fill(int with_memfd)
{
    int fds[2];
    if (next_free() >= 0) {
        int data = open("fd_table.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
        CHECK(data >= 0, "%sopen fd_table.dat: %s", who, strerror(errno));
        CHECK(write(data, "0123456789", 10) == 10 && lseek(data, 3, SEEK_SET) == 3, "%sfd_table.dat", who);
    }
    if (next_free() >= 0 && pipe2(fds, O_NONBLOCK) == 0) {
        pipe_r = fds[0];
        pipe_w = fds[1];
        CHECK(write(pipe_w, "p", 1) == 1, "%spipe write", who);
    }
    if (next_free() >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0) {
        sock_a = fds[0];
        sock_b = fds[1];
        CHECK(write(sock_a, "s", 1) == 1, "%ssocket write", who);
    }
    if (next_free() >= 0)
        efd = eventfd(42, EFD_CLOEXEC);
    if (next_free() >= 0 && efd >= 0) {
        int ep = epoll_create1(0);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
        CHECK(ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0, "%sepoll_ctl: %s", who, strerror(errno));
    }
    if (next_free() >= 0)
        timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    if (with_memfd && next_free() >= 0) {
        memfd = memfd_create("fd_table", MFD_CLOEXEC);
        CHECK(memfd >= 0 && write(memfd, "memfd", 5) == 5, "%smemfd", who);
    }
    int null = open("/dev/null", O_RDONLY);
    for (int i = 0; null >= 0; i++) {   /* until EMFILE: every slot is in use */
        if (i % 3 == 0)
            null = open("/dev/null", i % 2 ? O_WRONLY : O_RDONLY | O_CLOEXEC);
        else
            null = i % 2 ? dup(null) : fcntl(null, F_DUPFD_CLOEXEC, 0);
    }
    CHECK(errno == EMFILE, "%sfilling the table: %s", who, strerror(errno));
}

static void set_limit(rlim_t soft, rlim_t hard)
{
    struct rlimit r = {soft, hard};
    CHECK(setrlimit(RLIMIT_NOFILE, &r) == 0, "setrlimit(%lu, %lu): %s", (unsigned long)soft, (unsigned long)hard,
          strerror(errno));
}

static void current(struct rlimit *r)
{
    CHECK(getrlimit(RLIMIT_NOFILE, r) == 0, "getrlimit: %s", strerror(errno));
}

static void tree(int children, int n)
{
    struct rlimit r;
    current(&r);
    set_limit(n, r.rlim_max);
    int shared[2];
    CHECK(pipe(shared) == 0, "pipe");
    pid_t pids[16];
    for (int i = 0; i < children && i < 16; i++) {
        pids[i] = fork();
        CHECK(pids[i] >= 0, "fork: %s", strerror(errno));
        if (pids[i] == 0) {
            static char name[32];
            snprintf(name, sizeof(name), "child %d: ", i);
            who = name;
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            fill(i % 2 == 0);
            record_all();
            CHECK(write(shared[1], "r", 1) == 1, "%sshared pipe: %s", who, strerror(errno));
            test_waitsig();
            check_all();
            check_objects();
            /* Writes to the shared pipe go to the parent, which reads one byte per child. */
            CHECK(write(shared[1], "c", 1) == 1, "%sshared pipe: %s", who, strerror(errno));
            _exit(0);
        }
    }
    char b;
    for (int i = 0; i < children; i++)   /* every child has filled and recorded its table */
        CHECK(read(shared[0], &b, 1) == 1 && b == 'r', "shared pipe: child %d not ready", i);
    fill(1);
    record_all();
    test_ready();
    test_waitsig();
    check_all();
    check_objects();
    for (int i = 0; i < children; i++)
        kill(pids[i], SIGTERM);
    int failed = 0;
    for (int i = 0; i < children; i++) {
        int status;
        CHECK(waitpid(pids[i], &status, 0) == pids[i], "waitpid: %s", strerror(errno));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    CHECK(failed == 0, "%d of %d children failed", failed, children);
    for (int i = 0; i < children; i++)
        CHECK(read(shared[0], &b, 1) == 1 && b == 'c', "shared pipe: byte %d of %d missing", i, children);
    pass();
}

static void shared_table(int n, int with_memfd)
{
    struct rlimit r;
    current(&r);
    set_limit(n, r.rlim_max);
    int go[2];
    CHECK(pipe(go) == 0, "pipe");
    /* clone without a stack: a copy of the memory, as fork, but one descriptor table. */
    pid_t child = syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, 0);
    CHECK(child >= 0, "clone(CLONE_FILES): %s", strerror(errno));
    if (child > 0)
        test_msg("CHILD %d", (int)child);
    if (child == 0) {
        who = "child: ";
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char b;
        CHECK(read(go[0], &b, 1) == 1, "child: no word from the parent");   /* the table is full */
        test_waitsig();
        /* The parent closed go[1] before sending SIGTERM: in the one table they share. */
        CHECK(fcntl(go[1], F_GETFD) == -1 && errno == EBADF, "child: fd %d still open: the table is not shared",
              go[1]);
        _exit(0);
    }
    fill(with_memfd);   /* a memfd is refused: its restore needs a temporary in the table both see */
    record_all();
    CHECK(write(go[1], "f", 1) == 1, "pipe write");
    test_ready();
    test_waitsig();
    check_all();
    check_objects();
    close(go[1]);
    kill(child, SIGTERM);
    int status;
    CHECK(waitpid(child, &status, 0) == child, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
    pass();
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    const char *mode = argc > 1 ? argv[1] : "full";
    struct rlimit r;
    current(&r);
    if (strcmp(mode, "tree") == 0) {
        tree(argc > 2 ? atoi(argv[2]) : 2, argc > 3 ? atoi(argv[3]) : 64);
    } else if (strcmp(mode, "shared") == 0) {
        shared_table(argc > 2 ? atoi(argv[2]) : 64, argc > 3 && strcmp(argv[3], "memfd") == 0);
    } else if (strcmp(mode, "full") == 0) {
        set_limit(argc > 2 ? atoi(argv[2]) : 100, r.rlim_max);
        fill(1);
    } else if (strcmp(mode, "hardfull") == 0) {
        int n = argc > 2 ? atoi(argv[2]) : 100;
        set_limit(n, n);
        fill(argc > 3 && strcmp(argv[3], "memfd") == 0);
    } else if (strcmp(mode, "below") == 0) {
        set_limit(argc > 2 ? atoi(argv[2]) : 200, r.rlim_max);
        fill(1);
        set_limit(argc > 3 ? atoi(argv[3]) : 50, r.rlim_max);
    } else if (strcmp(mode, "high") == 0) {
        set_limit(r.rlim_max, r.rlim_max);
        int data = open("fd_table.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
        CHECK(data >= 0 && write(data, "abc", 3) == 3, "open fd_table.dat: %s", strerror(errno));
        CHECK(dup2(data, r.rlim_max - 1) == (int)(r.rlim_max - 1), "dup2 to %lu: %s", (unsigned long)r.rlim_max - 1,
              strerror(errno));
        CHECK(dup2(data, r.rlim_max / 2) == (int)(r.rlim_max / 2), "dup2: %s", strerror(errno));
    } else {
        fail("unknown mode %s", mode);
    }
    record_all();
    test_msg("LIMIT %lu %lu", (unsigned long)saved_limit.rlim_cur, (unsigned long)saved_limit.rlim_max);
    test_ready();
    test_waitsig();
    check_all();
    check_objects();
    pass();
}
