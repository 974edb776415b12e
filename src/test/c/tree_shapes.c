/*
 * tree_shapes: a process tree in several shapes, with what its processes share.
 *
 *   root R (a child subreaper, so orphans stay in the tree)
 *   +-- A   own process group;            +-- A1  in A's group
 *   +-- B   own session (setsid), b_only.dat open; +-- B1  own group in B's session
 *   +-- C2  group whose leader C1 exited (C1 was C's child; C2 came to R)
 *   +-- C   reaped C1
 *   +-- D2  session and group whose leader D1 exited (D1 was D's child)
 *   +-- D   reaped D1
 *   +-- Z1  zombie: exited with code 7, not reaped
 *   +-- Z2  zombie: killed by SIGUSR1, not reaped
 *
 * Shared: a MAP_SHARED|MAP_ANONYMOUS page and a memfd page (its descriptor closed) made before
 * the forks, an open file description
 * (one offset) inherited by every child, a pipe R->A with bytes in flight, and a pipe every child
 * writes its result to. Every live child records its pid, parent, group and session before READY;
 * after the harness's SIGTERM, R lets them go (one byte each on the "go" pipe): A reads the bytes
 * in flight and writes to the shared page and the shared file, everyone checks its ids and reports.
 * R then checks the page, the file offset, the zombies' statuses, every report, and reaps all.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIVE 8
static const char IN_FLIGHT[] = "ping, still in the pipe";

static int go[2], results[2], r2a[2], shared_fd;
static char *page, *mpage;
static pid_t root;

struct ids { pid_t pid, ppid, pgid, sid; };

/*
 * This process's ids. A group or session the root is in but does not lead was made outside the
 * tree (by whoever started the root) and is the restart's own afterwards (or, in a new pid
 * namespace, the root's own): it reads -1, "the root's", so that only what the tree itself made
 * must keep its number.
 */
static int root_led_group, root_led_session;   /* as the root was started */

static struct ids ids_now(void)
{
    struct ids i = {getpid(), getppid(), getpgid(0), getsid(0)};
    if (!root_led_group && i.pgid == getpgid(root))
        i.pgid = -1;
    if (!root_led_session && i.sid == getsid(root))
        i.sid = -1;
    return i;
}

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    line[n++] = '\n';
    if (write(results[1], line, n) != n)
        _exit(3);
}

/* A live child, once set up: say so, wait for the go byte, check, report, end. */
static void child_main(const char *name, int (*work)(char *why, size_t len))
{
    signal(SIGTERM, SIG_DFL);
    struct ids before = ids_now();
    report("UP %s", name);
    char b;
    if (read(go[0], &b, 1) != 1)
        _exit(4);
    struct ids after = ids_now();
    char why[160] = "";
    if (memcmp(&before, &after, sizeof(before)) != 0)
        snprintf(why, sizeof(why), "ids were pid %d ppid %d pgid %d sid %d, now %d %d %d %d", before.pid, before.ppid,
                 before.pgid, before.sid, after.pid, after.ppid, after.pgid, after.sid);
    else if (work != NULL && !work(why, sizeof(why)))
        ;
    if (why[0])
        report("BAD %s %s", name, why);
    else
        report("OK %s", name);
}

static int a_work(char *why, size_t len)
{
    char buf[sizeof(IN_FLIGHT)];
    ssize_t n = read(r2a[0], buf, sizeof(buf) - 1);
    if (n != (ssize_t)sizeof(IN_FLIGHT) - 1 || memcmp(buf, IN_FLIGHT, n) != 0) {
        snprintf(why, len, "pipe from R gave %zd bytes, not the %zu in flight", n, sizeof(IN_FLIGHT) - 1);
        return 0;
    }
    strcpy(page + 64, "A was here");
    strcpy(mpage + 64, "A was in the memfd");
    if (write(shared_fd, "AAAA", 4) != 4) {
        snprintf(why, len, "write to the shared file: %s", strerror(errno));
        return 0;
    }
    return 1;
}

static void wait_child(pid_t c)
{
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR)
        ;
}

static void arm_death(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    root = getpid();
    root_led_group = getpgid(0) == root;
    root_led_session = getsid(0) == root;
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED, "mmap: %s", strerror(errno));
    strcpy(page, "made by R");
    int mfd = memfd_create("tree-shared", 0);   /* mapped by every process; no descriptor left */
    CHECK(mfd >= 0 && ftruncate(mfd, 4096) == 0, "memfd: %s", strerror(errno));
    mpage = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    CHECK(mpage != MAP_FAILED, "mmap memfd: %s", strerror(errno));
    close(mfd);
    strcpy(mpage, "memfd made by R");
    shared_fd = open("tree_shared.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(shared_fd >= 0, "open: %s", strerror(errno));
    CHECK(write(shared_fd, "0123456789", 10) == 10, "write");
    CHECK(pipe(go) == 0 && pipe(results) == 0 && pipe(r2a) == 0, "pipe: %s", strerror(errno));

    pid_t a = fork();
    if (a == 0) {
        arm_death();
        setpgid(0, 0);
        pid_t a1 = fork();
        if (a1 == 0) {
            arm_death();
            child_main("A1", NULL);
            _exit(0);
        }
        child_main("A", a_work);
        wait_child(a1);
        _exit(0);
    }
    pid_t b = fork();
    if (b == 0) {
        arm_death();
        setsid();
        int own = open("b_only.dat", O_RDWR | O_CREAT, 0600);   /* B's alone (and B1's) */
        if (own < 0)
            _exit(5);
        pid_t b1 = fork();
        if (b1 == 0) {
            arm_death();
            setpgid(0, 0);
            child_main("B1", NULL);
            _exit(0);
        }
        child_main("B", NULL);
        wait_child(b1);
        _exit(0);
    }
    for (int ghost_session = 0; ghost_session <= 1; ghost_session++) {
        pid_t c = fork();
        if (c == 0) {
            arm_death();
            pid_t c1 = fork();
            if (c1 == 0) {
                if (ghost_session)
                    setsid();
                else
                    setpgid(0, 0);
                pid_t c2 = fork();
                if (c2 == 0) {
                    while (getppid() != root)   /* wait to be orphaned to R */
                        usleep(1000);
                    arm_death();
                    child_main(ghost_session ? "D2" : "C2", NULL);
                    _exit(0);
                }
                _exit(0);
            }
            wait_child(c1);
            child_main(ghost_session ? "D" : "C", NULL);
            _exit(0);
        }
    }
    pid_t z1 = fork();
    if (z1 == 0)
        _exit(7);
    pid_t z2 = fork();
    if (z2 == 0) {
        signal(SIGUSR1, SIG_DFL);
        raise(SIGUSR1);
        _exit(9);
    }
    CHECK(write(r2a[1], IN_FLIGHT, sizeof(IN_FLIGHT) - 1) == (ssize_t)sizeof(IN_FLIGHT) - 1, "write r2a");

    FILE *in = fdopen(results[0], "r");
    char line[256];
    for (int up = 0; up < LIVE; up++) {
        CHECK(fgets(line, sizeof(line), in) != NULL, "results pipe closed after %d children were up", up);
        CHECK(strncmp(line, "UP ", 3) == 0, "expected UP, got %s", line);
    }
    for (int i = 0; i < 200; i++) {   /* both zombies exited */
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)z2);
        char *s = read_file(path, NULL);
        char *p = s ? strrchr(s, ')') : NULL;
        int zombie = p && p[2] == 'Z';
        free(s);
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)z1);
        s = read_file(path, NULL);
        p = s ? strrchr(s, ')') : NULL;
        zombie &= p && p[2] == 'Z';
        free(s);
        if (zombie)
            break;
        usleep(5000);
    }
    test_msg("TREE a %d b %d z1 %d z2 %d", (int)a, (int)b, (int)z1, (int)z2);
    test_ready();
    test_waitsig();

    CHECK(strcmp(page, "made by R") == 0, "shared page reads '%s'", page);
    char ones[LIVE];
    memset(ones, 'g', sizeof(ones));
    CHECK(write(go[1], ones, LIVE) == LIVE, "write go");
    int ok = 0;
    for (int i = 0; i < LIVE; i++) {
        CHECK(fgets(line, sizeof(line), in) != NULL, "results pipe closed after %d reports", i);
        CHECK(strncmp(line, "OK ", 3) == 0, "child reported: %s", line);
        ok++;
    }
    CHECK(strcmp(page + 64, "A was here") == 0, "A's write to the shared page is not seen: '%s'", page + 64);
    CHECK(strcmp(mpage, "memfd made by R") == 0, "the memfd reads '%s'", mpage);
    CHECK(strcmp(mpage + 64, "A was in the memfd") == 0, "A's write to the shared memfd is not seen: '%s'", mpage + 64);
    off_t at = lseek(shared_fd, 0, SEEK_CUR);
    CHECK(at == 14, "shared file offset is %ld, not 14 (A wrote 4 bytes through the shared description)", (long)at);
    int st;
    CHECK(waitpid(z1, &st, WNOHANG) == z1, "zombie %d not reapable: %s", (int)z1, strerror(errno));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "zombie %d status 0x%x, not exit 7", (int)z1, st);
    CHECK(waitpid(z2, &st, WNOHANG) == z2, "zombie %d not reapable: %s", (int)z2, strerror(errno));
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1, "zombie %d status 0x%x, not SIGUSR1", (int)z2, st);
    for (int left = 6; left > 0; left--) {   /* A, B, C, D, C2, D2 are R's children now */
        pid_t r = waitpid(-1, &st, 0);
        CHECK(r > 0, "waitpid: %s with %d children left", strerror(errno), left);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d ended with status 0x%x", (int)r, st);
    }
    unlink("tree_shared.dat");
    (void)ok;
    pass();
}
