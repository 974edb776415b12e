/*
 * files: regular files in every open mode at various offsets, a dup sharing one offset, a high fd
 * number, a directory, character devices, cwd (a subdirectory) and umask. After restart: flags,
 * fd flags, offsets and identities (dev, ino, rdev) are the same, and reads and writes carry on.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEN 65536

struct fdrec {
    const char *name;
    int fd, fl, fdfl;
    off_t pos;
    struct stat st;
};

static struct fdrec fds[32];
static int nfds;

static int add(const char *name, int fd)
{
    CHECK(fd >= 0, "open %s: %s", name, strerror(errno));
    fds[nfds++] = (struct fdrec){ .name = name, .fd = fd };
    return fd;
}

static void record(struct fdrec *r)
{
    r->fl = fcntl(r->fd, F_GETFL);
    r->fdfl = fcntl(r->fd, F_GETFD);
    r->pos = lseek(r->fd, 0, SEEK_CUR);
    CHECK(fstat(r->fd, &r->st) == 0, "fstat %s (fd %d): %s", r->name, r->fd, strerror(errno));
}

static void make_file(const char *name, uint64_t seed)
{
    static char buf[LEN];
    pattern_fill(buf, LEN, seed);
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    CHECK(fd >= 0 && write(fd, buf, LEN) == LEN, "create %s: %s", name, strerror(errno));
    close(fd);
}

/* the bytes at [off, off+len) of pattern seed */
static int pattern_at(const char *buf, size_t len, uint64_t seed, off_t off)
{
    static char full[LEN];
    pattern_fill(full, LEN, seed);
    return memcmp(buf, full + off, len) == 0;
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    CHECK(mkdir("sub", 0750) == 0, "mkdir sub: %s", strerror(errno));
    CHECK(chdir("sub") == 0, "chdir sub: %s", strerror(errno));
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd: %s", strerror(errno));
    umask(0027);
    make_file("ro.bin", 1);
    make_file("append.bin", 2);
    make_file("rw.bin", 3);
    make_file("nb.bin", 4);

    char buf[LEN];
    int ro = add("ro.bin O_RDONLY", open("ro.bin", O_RDONLY));
    CHECK(read(ro, buf, 1000) == 1000, "read ro: %s", strerror(errno));
    int ro_dup = add("dup of ro.bin", dup2(ro, 50)); /* shares the offset */
    int app = add("append.bin O_WRONLY|O_APPEND", open("append.bin", O_WRONLY | O_APPEND));
    pattern_fill(buf, 512, 20);
    CHECK(write(app, buf, 512) == 512, "write append: %s", strerror(errno));
    int rw = add("rw.bin O_RDWR", open("rw.bin", O_RDWR));
    CHECK(lseek(rw, 1234, SEEK_SET) == 1234, "lseek rw");
    int sparse = add("rw.bin O_RDWR|O_CLOEXEC beyond EOF", open("rw.bin", O_RDWR | O_CLOEXEC));
    CHECK(lseek(sparse, 3 * LEN, SEEK_SET) == 3 * LEN, "lseek sparse");
    int nb = add("nb.bin O_RDONLY|O_NONBLOCK|O_CLOEXEC", open("nb.bin", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    CHECK(lseek(nb, 77, SEEK_SET) == 77, "lseek nb");
    int high = add("nb.bin O_RDONLY|O_NOATIME at fd 200", fcntl(open("nb.bin", O_RDONLY | O_NOATIME), F_DUPFD, 200));
    CHECK(lseek(high, LEN, SEEK_SET) == LEN, "lseek high (at EOF)");
    int dir = add("directory ..", open("..", O_RDONLY | O_DIRECTORY));
    int null = add("/dev/null", open("/dev/null", O_WRONLY));
    int zero = add("/dev/zero", open("/dev/zero", O_RDONLY | O_CLOEXEC));
    int urandom = add("/dev/urandom", open("/dev/urandom", O_RDONLY));
    add("stdin", 0);
    add("stdout", 1);
    add("stderr", 2);
    (void)ro_dup;
    for (int i = 0; i < nfds; i++)
        record(&fds[i]);

    test_ready();
    test_waitsig();

    for (int i = 0; i < nfds; i++) {
        struct fdrec now = fds[i], *was = &fds[i];
        record(&now);
        CHECK(now.fl == was->fl, "fd %d (%s): F_GETFL 0%o, was 0%o", was->fd, was->name, now.fl, was->fl);
        CHECK(now.fdfl == was->fdfl, "fd %d (%s): F_GETFD %d, was %d", was->fd, was->name, now.fdfl, was->fdfl);
        /* stdout and stderr are the harness's log: READY was written to it since */
        CHECK(now.pos == was->pos || was->fd == 1 || was->fd == 2, "fd %d (%s): offset %ld, was %ld", was->fd, was->name, (long)now.pos, (long)was->pos);
        CHECK(now.st.st_dev == was->st.st_dev && now.st.st_ino == was->st.st_ino && now.st.st_rdev == was->st.st_rdev &&
                  now.st.st_mode == was->st.st_mode,
              "fd %d (%s): dev/ino/rdev/mode %lx/%lu/%lx/%o, was %lx/%lu/%lx/%o", was->fd, was->name,
              (unsigned long)now.st.st_dev, (unsigned long)now.st.st_ino, (unsigned long)now.st.st_rdev, now.st.st_mode,
              (unsigned long)was->st.st_dev, (unsigned long)was->st.st_ino, (unsigned long)was->st.st_rdev,
              was->st.st_mode);
    }
    char now_cwd[4096];
    CHECK(getcwd(now_cwd, sizeof(now_cwd)) && strcmp(now_cwd, cwd) == 0, "cwd %s, was %s", now_cwd, cwd);
    mode_t um = umask(0);
    umask(um);
    CHECK(um == 0027, "umask 0%o, was 0027", um);

    /* reads continue where they were; the dup shares the offset */
    CHECK(read(ro, buf, 100) == 100 && pattern_at(buf, 100, 1, 1000), "ro.bin: read after restart not at 1000");
    CHECK(lseek(ro_dup, 0, SEEK_CUR) == 1100, "dup of ro.bin: offset %ld, expected 1100 (no longer shared?)",
          (long)lseek(ro_dup, 0, SEEK_CUR));
    CHECK(read(rw, buf, 10) == 10 && pattern_at(buf, 10, 3, 1234), "rw.bin: read not at 1234");
    CHECK(read(nb, buf, 10) == 10 && pattern_at(buf, 10, 4, 77), "nb.bin: read not at 77");
    CHECK(read(high, buf, 10) == 0, "fd 200: not at EOF");
    /* writes: append goes to the end, O_RDWR writes in place, the sparse fd extends the file */
    pattern_fill(buf, 256, 21);
    CHECK(write(app, buf, 256) == 256, "write append: %s", strerror(errno));
    CHECK(write(sparse, "end", 3) == 3, "write sparse: %s", strerror(errno));
    struct stat st;
    CHECK(fstat(app, &st) == 0 && st.st_size == LEN + 512 + 256, "append.bin size %ld", (long)st.st_size);
    CHECK(fstat(sparse, &st) == 0 && st.st_size == 3 * LEN + 3, "rw.bin size %ld after sparse write", (long)st.st_size);
    int chk = open("append.bin", O_RDONLY);
    CHECK(pread(chk, buf, 512, LEN) == 512 && pattern_at(buf, 512, 20, 0), "append.bin: first append lost");
    CHECK(pread(chk, buf, 256, LEN + 512) == 256 && pattern_at(buf, 256, 21, 0), "append.bin: second append misplaced");
    close(chk);
    CHECK(write(null, buf, 10) == 10, "/dev/null write: %s", strerror(errno));
    CHECK(read(zero, buf, 64) == 64 && checksum(buf, 64) == checksum(memset(buf + 64, 0, 64), 64),
          "/dev/zero read not zero");
    CHECK(read(urandom, buf, 64) == 64, "/dev/urandom read: %s", strerror(errno));
    CHECK(fchdir(dir) == 0 && access("sub/ro.bin", R_OK) == 0, "directory fd does not lead to the test dir");
    pass();
}
