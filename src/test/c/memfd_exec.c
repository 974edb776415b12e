/*
 * memfd_exec: a program that runs code from a memfd, as sandboxes and self-extracting tools do:
 * a script written into a memfd (MFD_CLOEXEC off), also reopened read-only through /proc/self/fd
 * and mapped MAP_PRIVATE through that and MAP_SHARED writable through the memfd; a child shares
 * the descriptor. A second memfd is made with MFD_NOEXEC_SEAL (mode 0666, F_SEAL_EXEC).
 *
 * Before READY and after SIGTERM: execveat(fd, "", AT_EMPTY_PATH) of the script runs it (its exit
 * status 7), in the parent and in the child; the read-only descriptor cannot be written; the
 * no-exec memfd still cannot be executed (EACCES), made executable (EPERM), and keeps its seal.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

static const char script[] = "#!/bin/sh\nexit 7\n";

/* The exit status of the memfd run with execveat, or -errno if execveat failed. */
static int run(int fd)
{
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        char *argv[] = {"memfd-script", NULL}, *envp[] = {"PATH=/usr/bin:/bin", NULL};
        syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
        _exit(200 + errno);   /* errno values of interest are small */
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status), "the exec'd child ended with status 0x%x", status);
    int code = WEXITSTATUS(status);
    return code >= 200 ? -(code - 200) : code;
}

static void check(const char *who, int fd, int rofd, int noexec, char *shared)
{
    int r = run(fd);
    CHECK(r == 7, "%s: execveat of the memfd: %s", who, r < 0 ? strerror(-r) : "wrong exit status");
    CHECK(write(rofd, "x", 1) < 0 && errno == EBADF, "%s: the read-only descriptor can be written", who);
    CHECK(memcmp(shared, script, sizeof(script) - 1) == 0, "%s: the shared mapping differs", who);
    if (noexec >= 0) {
        r = run(noexec);
        CHECK(r == -EACCES, "%s: execveat of the MFD_NOEXEC_SEAL memfd: %d, want -EACCES", who, r);
        CHECK(fchmod(noexec, 0755) < 0 && errno == EPERM, "%s: the no-exec memfd could be made executable", who);
        int seals = fcntl(noexec, F_GET_SEALS);
        CHECK(seals >= 0 && (seals & F_SEAL_EXEC), "%s: seals 0x%x, want F_SEAL_EXEC", who, seals);
    }
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int fd = memfd_create("amber script", 0);
    CHECK(fd >= 0, "memfd_create: %s", strerror(errno));
    CHECK(write(fd, script, sizeof(script) - 1) == sizeof(script) - 1, "write: %s", strerror(errno));
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int rofd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(rofd >= 0, "reopen read-only: %s", strerror(errno));
    char *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, rofd, 0);
    char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(priv != MAP_FAILED && shared != MAP_FAILED, "mmap: %s", strerror(errno));
    priv[100] = 'p';
    int noexec = memfd_create("amber noexec", MFD_NOEXEC_SEAL | MFD_CLOEXEC);
    if (noexec < 0 && errno == EINVAL)
        test_msg("no MFD_NOEXEC_SEAL on this kernel");
    check("before", fd, rofd, noexec, shared);
    pid_t child = fork();
    CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        while (!test_stop)
            pause();
        check("child", fd, rofd, noexec, shared);
        _exit(0);
    }
    test_ready();
    test_waitsig();
    check("parent", fd, rofd, noexec, shared);
    CHECK(priv[100] == 'p', "the private mapping lost its copy");
    kill(child, SIGTERM);
    int status;
    CHECK(waitpid(child, &status, 0) == child, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed (status 0x%x)", status);
    pass();
}
