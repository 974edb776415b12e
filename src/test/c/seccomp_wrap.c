/*
 * seccomp_wrap: runs a command under seccomp, a filter that allows everything (with
 * no_new_privs, so that no privilege is needed): `seccomp_wrap COMMAND [ARG...]` execs COMMAND.
 * To run amber itself under seccomp, as in a container with a seccomp profile.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sock_filter allow[] = {BPF_STMT(BPF_RET + BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {1, allow};
    if (argc < 2 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
        || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        fprintf(stderr, "seccomp_wrap: %s\n", argc < 2 ? "no command" : strerror(errno));
        return 127;
    }
    execvp(argv[1], argv + 1);
    fprintf(stderr, "seccomp_wrap: exec %s: %s\n", argv[1], strerror(errno));
    return 127;
}
