/*
 * aio: kernel AIO contexts (io_setup) as a program that writes its log with io_submit uses them.
 * The parent has a context of 64 whose ring has gone round (head and tail near the end, then
 * wrapped) with 10 completed writes not yet reaped, and a second context of 1 never used; its
 * child (forked before either, so not sharing them) has a context of 8 with 3 unreaped. Each
 * process writes the unreaped events' data and obj down before READY.
 *
 * After the checkpoint (and restart): every ring is at its address with the same nr, head and
 * tail; io_getevents reaps exactly the saved events, in order; a new write submitted completes,
 * lands in the file, and moves the tail by one. The child reports to the parent through its exit
 * status.
 *
 * "aio inherited": the child is forked after io_setup and so maps its parent's ring, which is no
 * context of its own, and sees the parent's completions in it. "aio uring": an io_uring instance,
 * which prints "RING start-end" (the mapping a checkpoint must refuse) and checks itself untouched.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct ring {
    unsigned id, nr, head, tail, magic, compat, incompat, header_length;
    struct io_event events[];
};

struct saved {
    unsigned nr, head, tail;
    int unreaped;
    struct io_event events[16];
};

static int logfd;
static long written;   /* bytes submitted to the log file so far */
static char block[64];

static void submit(aio_context_t ctx, unsigned long long data)
{
    struct iocb cb = {0}, *cbp = &cb;
    cb.aio_data = data;
    cb.aio_lio_opcode = IOCB_CMD_PWRITE;
    cb.aio_fildes = logfd;
    memset(block, 'a' + (int)(data % 26), sizeof(block));
    cb.aio_buf = (unsigned long)block;
    cb.aio_nbytes = sizeof(block);
    cb.aio_offset = written;
    written += sizeof(block);
    long r = syscall(__NR_io_submit, ctx, 1, &cbp);
    CHECK(r == 1, "io_submit: %ld %s", r, strerror(errno));
}

static void reap(aio_context_t ctx, int n, struct io_event *out)
{
    long r = syscall(__NR_io_getevents, ctx, n, n, out, NULL);
    CHECK(r == n, "io_getevents %d: %ld %s", n, r, strerror(errno));
}

/* Goes round the ring `rounds` times one write at a time, then leaves `unreaped` writes in it. */
static aio_context_t context(unsigned nr_events, int rounds, int unreaped, struct saved *s)
{
    aio_context_t ctx = 0;
    CHECK(syscall(__NR_io_setup, nr_events, &ctx) == 0, "io_setup %u: %s", nr_events, strerror(errno));
    struct ring *r = (struct ring *)ctx;
    struct io_event ev;
    for (int i = 0; i < rounds; i++) {
        submit(ctx, 1000 + i);
        reap(ctx, 1, &ev);
        CHECK(ev.data == 1000u + i && ev.res == sizeof(block), "event %d: data %llu res %lld", i, ev.data, ev.res);
    }
    for (int i = 0; i < unreaped; i++)
        submit(ctx, 5000 + i);
    s->nr = r->nr, s->head = r->head, s->tail = r->tail, s->unreaped = unreaped;
    for (int i = 0; i < unreaped; i++)
        s->events[i] = r->events[(s->head + i) % r->nr];
    unsigned long bytes = (sizeof(struct ring) + s->nr * sizeof(struct io_event) + 4095) & ~4095ul;
    test_msg("RING %lx-%lx nr %u head %u tail %u", (unsigned long)ctx, (unsigned long)ctx + bytes, s->nr, s->head, s->tail);
    return ctx;
}

static void verify(aio_context_t ctx, const struct saved *s, const char *who)
{
    volatile struct ring *r = (struct ring *)ctx;
    CHECK(r->nr == s->nr && r->head == s->head && r->tail == s->tail, "%s ring 0x%lx: nr %u head %u tail %u, was %u %u %u",
          who, (unsigned long)ctx, r->nr, r->head, r->tail, s->nr, s->head, s->tail);
    struct io_event ev[16], none;
    if (s->unreaped)
        reap(ctx, s->unreaped, ev);
    for (int i = 0; i < s->unreaped; i++)
        CHECK(ev[i].data == s->events[i].data && ev[i].obj == s->events[i].obj && ev[i].res == s->events[i].res,
              "%s event %d: data %llu obj %llx res %lld, was %llu %llx %lld", who, i, ev[i].data, ev[i].obj, ev[i].res,
              s->events[i].data, s->events[i].obj, s->events[i].res);
    struct timespec zero = {0, 0};
    CHECK(syscall(__NR_io_getevents, ctx, 0, 1, &none, &zero) == 0, "%s: more events than were saved", who);
    unsigned tail = r->tail;
    submit(ctx, 9999);
    CHECK(r->tail == (tail + 1) % r->nr, "%s: tail %u after one more write, was %u", who, r->tail, tail);
    reap(ctx, 1, ev);
    CHECK(ev[0].data == 9999 && ev[0].res == sizeof(block), "%s: new write: data %llu res %lld", who, ev[0].data, ev[0].res);
    char back[sizeof(block)];
    CHECK(pread(logfd, back, sizeof(back), written - sizeof(block)) == sizeof(back) && back[0] == block[0],
          "%s: the new write is not in the log file", who);
}

static void uring(void)
{
    struct io_uring_params p = {0};
    int fd = syscall(__NR_io_uring_setup, 4, &p);
    CHECK(fd >= 0, "io_uring_setup: %s", strerror(errno));
    void *sq = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    CHECK(sq != MAP_FAILED, "mmap sq ring: %s", strerror(errno));
    test_msg("RING %lx-%lx FD %d", (unsigned long)sq, (unsigned long)sq + 4096, fd);
    test_ready();
    test_waitsig();
    CHECK(fcntl(fd, F_GETFD) >= 0, "the io_uring descriptor is gone");
    pass();
}

/*
 * A child forked after io_setup maps its parent's ring (no context of its own: io_getevents
 * fails with EINVAL there) and sees the parent's completions in it.
 */
static void inherited(void)
{
    struct saved s;
    aio_context_t ctx = context(4, 3, 2, &s);
    volatile struct ring *r = (struct ring *)ctx;
    int done[2], checked[2];
    CHECK(pipe2(done, O_CLOEXEC) == 0 && pipe2(checked, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    pid_t child = fork();
    CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        close(done[1]);
        close(checked[0]);
        while (!test_stop)
            pause();
        CHECK(r->nr == s.nr && r->head == s.head && r->tail == s.tail, "child: ring nr %u head %u tail %u, was %u %u %u",
              r->nr, r->head, r->tail, s.nr, s.head, s.tail);
        struct io_event ev;
        CHECK(syscall(__NR_io_getevents, ctx, 0, 1, &ev, NULL) < 0 && errno == EINVAL,
              "child: io_getevents on its parent's ring: %s, want EINVAL", strerror(errno));
        char c = 'c';
        CHECK(write(checked[1], &c, 1) == 1 && read(done[0], &c, 1) == 1, "child: the parent's pipes");
        /* The parent reaped the saved events, then wrote once and reaped that too. */
        CHECK(r->head == (s.tail + 1) % s.nr && r->tail == (s.tail + 1) % s.nr,
              "child: head %u tail %u after the parent's reaping and write, want %u %u", r->head, r->tail,
              (s.tail + 1) % s.nr, (s.tail + 1) % s.nr);
        _exit(0);
    }
    close(done[0]);
    close(checked[1]);
    test_ready();
    test_waitsig();
    kill(child, SIGTERM);
    char c;
    CHECK(read(checked[0], &c, 1) == 1, "the child did not check the ring");
    verify(ctx, &s, "parent");   /* reaps the saved events and completes one more write */
    CHECK(write(done[1], "x", 1) == 1, "write pipe: %s", strerror(errno));
    int status;
    CHECK(waitpid(child, &status, 0) == child, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed (status 0x%x)", status);
    pass();
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    logfd = open("aio.log", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(logfd >= 0, "open aio.log: %s", strerror(errno));
    if (argc > 1 && strcmp(argv[1], "uring") == 0)
        uring();
    if (argc > 1 && strcmp(argv[1], "inherited") == 0)
        inherited();
    int ready[2];
    CHECK(pipe2(ready, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    pid_t child = fork();
    CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        written = 1 << 20;   /* its own part of the file */
        struct saved s;
        aio_context_t ctx = context(8, 20, 3, &s);
        close(ready[0]);
        close(ready[1]);   /* the parent's read sees the end: set up */
        while (!test_stop)
            pause();
        verify(ctx, &s, "child");
        _exit(0);
    }
    close(ready[1]);
    char c;
    CHECK(read(ready[0], &c, 1) == 0, "the child's pipe");
    close(ready[0]);
    struct saved a, b;
    aio_context_t big = context(64, 250, 10, &a);   /* nr 255: 250 + 10 wraps round */
    aio_context_t small = context(1, 0, 0, &b);
    test_ready();
    test_waitsig();
    kill(child, SIGTERM);
    int status;
    CHECK(waitpid(child, &status, 0) == child, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed (status 0x%x)", status);
    verify(big, &a, "parent ctx 64");
    verify(small, &b, "parent ctx 1");
    pass();
}
