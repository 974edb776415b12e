/*
 * thread_creds: threads whose credentials differ from the main thread's, as raw system calls
 * (not glibc's setxid broadcast) leave them: one thread with other uids, one with other gids and
 * supplementary groups, the main thread root. Each records the Uid/Gid/Groups/Cap lines of its
 * /proc/self/task/TID/status before READY and compares them after the restart.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct worker {
    pthread_t thread;
    int kind;
    pid_t tid;
    char creds[1024];
    volatile int ready;
};

/* The credential lines of one thread's status, in order. */
static void creds_of(pid_t tid, char *out, size_t size)
{
    char path[64], *text, *line, *save;
    size_t len;
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
    CHECK((text = read_file(path, &len)) != NULL, "read %s: %s", path, strerror(errno));
    out[0] = 0;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) || !strncmp(line, "Groups:", 7) ||
            !strncmp(line, "Cap", 3)) {
            strncat(out, line, size - strlen(out) - 2);
            strcat(out, "\n");
        }
    free(text);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    w->tid = gettid();
    if (w->kind == 1) {
        CHECK(syscall(SYS_setresuid, 1001, 1002, 1003) == 0, "setresuid: %s", strerror(errno));
    } else {
        gid_t groups[] = { 3001, 3002 };
        CHECK(syscall(SYS_setgroups, 2, groups) == 0, "setgroups: %s", strerror(errno));
        CHECK(syscall(SYS_setresgid, 2001, 2002, 2003) == 0, "setresgid: %s", strerror(errno));
    }
    creds_of(w->tid, w->creds, sizeof(w->creds));
    w->ready = 1;
    while (!test_stop)
        usleep(10000);
    char now[1024];
    creds_of(w->tid, now, sizeof(now));
    CHECK(strcmp(now, w->creds) == 0, "thread %d credentials:\n%s, were:\n%s", w->tid, now, w->creds);
    return NULL;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    struct worker w[2] = { { .kind = 1 }, { .kind = 2 } };
    char main_was[1024], main_now[1024];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&w[i].thread, NULL, work, &w[i]) == 0, "pthread_create");
    while (!w[0].ready || !w[1].ready)
        usleep(1000);
    creds_of(gettid(), main_was, sizeof(main_was));
    CHECK(strcmp(main_was, w[0].creds) != 0 && strcmp(main_was, w[1].creds) != 0, "threads' credentials not distinct");
    test_ready();
    test_waitsig();
    for (int i = 0; i < 2; i++)
        pthread_join(w[i].thread, NULL);
    creds_of(gettid(), main_now, sizeof(main_now));
    CHECK(strcmp(main_now, main_was) == 0, "main thread credentials:\n%s, were:\n%s", main_now, main_was);
    pass();
}
