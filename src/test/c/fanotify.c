/*
 * fanotify: a fanotify group (FAN_CLASS_NOTIF | FAN_UNLIMITED_QUEUE, non-blocking, events opened
 * O_RDONLY) with an inode mark on "watched" (FAN_MODIFY | FAN_CLOSE_WRITE), a mount mark on the
 * working directory's mount with an ignore mask that survives modification, and a file system
 * mark on the same file system; a child shares the group. After restart: the marks as fdinfo
 * shows them are the same (mount ids aside), no event is queued, and when the child writes
 * "watched" the parent reads its FAN_MODIFY event, with the child's pid and a descriptor of the
 * file.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The group's fdinfo lines, with each mount mark's mnt_id left out. */
static void marks(int fd, char *out, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    size_t n = 0;
    char *text = read_file(path, &n);
    CHECK(text != NULL, "read %s: %s", path, strerror(errno));
    out[0] = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "fanotify ", 9) != 0)
            continue;
        char *mnt = strstr(line, "mnt_id:");
        if (mnt)
            line = strchr(mnt, ' ') + 1;
        strncat(out, line, size - strlen(out) - 2);
        strcat(out, "\n");
    }
    free(text);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    int file = open("watched", O_CREAT | O_RDWR, 0644);
    CHECK(file >= 0, "open watched: %s", strerror(errno));
    close(file);
    int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_UNLIMITED_QUEUE | FAN_NONBLOCK, O_RDONLY);
    CHECK(fan >= 0, "fanotify_init: %s", strerror(errno));
    CHECK(fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY | FAN_CLOSE_WRITE, AT_FDCWD, "watched") == 0,
          "inode mark: %s", strerror(errno));
    CHECK(fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY,
                        FAN_ACCESS, AT_FDCWD, ".") == 0, "mount mark: %s", strerror(errno));
    CHECK(fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_CLOSE_NOWRITE, AT_FDCWD, ".") == 0,
          "file system mark: %s", strerror(errno));
    char before[4096], after[4096];
    marks(fan, before, sizeof(before));
    char buf[4096];
    while (read(fan, buf, sizeof(buf)) > 0) { /* events of the setup */
    }

    int go[2];
    CHECK(pipe(go) == 0, "pipe: %s", strerror(errno));
    pid_t c = fork();
    if (c == 0) {
        signal(SIGTERM, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(go[1]);
        char b;
        CHECK(read(go[0], &b, 1) == 1, "child read: %s", strerror(errno));
        int w = open("watched", O_WRONLY);
        CHECK(w >= 0 && write(w, "x", 1) == 1, "child write: %s", strerror(errno));
        _exit(0);
    }
    CHECK(c > 0, "fork: %s", strerror(errno));
    close(go[0]);

    test_ready();
    test_waitsig();

    marks(fan, after, sizeof(after));
    CHECK(strcmp(before, after) == 0, "marks before:\n%safter:\n%s", before, after);
    int queued = -1;
    CHECK(ioctl(fan, FIONREAD, &queued) == 0, "FIONREAD: %s", strerror(errno));
    while (read(fan, buf, sizeof(buf)) > 0) { /* what the checkpoint's own reading caused */
    }
    CHECK(write(go[1], "x", 1) == 1, "write: %s", strerror(errno));
    int ws;
    CHECK(waitpid(c, &ws, 0) == c && WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the child failed (0x%x)", ws);
    int got = 0;
    for (int tries = 0; tries < 100 && !got; tries++) {
        ssize_t n = read(fan, buf, sizeof(buf));
        for (struct fanotify_event_metadata *m = (void *)buf; n > 0 && FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
            if ((m->mask & FAN_MODIFY) && m->pid == c) {
                struct stat a, b;
                CHECK(fstat(m->fd, &a) == 0 && stat("watched", &b) == 0 && a.st_ino == b.st_ino,
                      "the event's descriptor is not the watched file");
                got = 1;
            }
            if (m->fd >= 0)
                close(m->fd);
        }
        if (!got)
            usleep(10000);
    }
    CHECK(got, "no FAN_MODIFY event from the child after restart");
    pass();
}
