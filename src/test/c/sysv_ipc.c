/*
 * sysv_ipc: SysV IPC objects of several kinds, keys derived from the pid.
 *  - segment A (key 0x41xxxxxx, 3 pages + 100 bytes, mode 0640) attached read-write at a fixed
 *    address, its middle page made read-only with mprotect, and attached again read-only where
 *    the kernel likes; filled with a pattern;
 *  - segment B (IPC_PRIVATE, 2 pages) attached read-write, filled, then IPC_RMID: pending removal;
 *  - a set of 4 semaphores (key 0x42xxxxxx, mode 0600) with values 0, 3, 7, 32767, the second
 *    last changed by semop here;
 *  - a message queue (key 0x43xxxxxx, mode 0620, msg_qbytes 4000) with 4 messages of types 1,
 *    2, 1, 5, one empty.
 * A child, forked once all is set up, inherits the attachments, changes semaphore 2 last (with
 * SEM_UNDO, of which a checkpoint can only warn), and
 * waits on a pipe; after SIGTERM the root checks everything, then lets the child check its
 * attachments (and that GETPID of semaphore 2 names it) and reaps it.
 * After restart: the ids are the same and each object has its key, mode, size and contents, the
 * attachments are at their addresses with their protections, B is still pending removal, GETPID
 * of the changed semaphore names this process, so does the queue's last sender, and the messages come out in order by type.
 * Everything is removed at the end. "rm PID SHMB" removes the objects of target PID (the
 * harness's cleanup); "clash PID SEMID" replaces PID's semaphore set by one of 2 semaphores at
 * the same id.
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define ADDR_A ((void *)0x500000000000UL)
#define SIZE_A (3 * 4096 + 100)
#define SIZE_B (2 * 4096)

static const unsigned short semvals[4] = { 0, 3, 8, 32767 };   /* after the semops */
struct amsg {
    long type;
    char text[64];
};
static const struct amsg msgs[4] = { { 1, "one" }, { 2, "two, longer" }, { 1, "" }, { 5, "five" } };

static void cleanup(int pid, int shmb)
{
    int id;
    if ((id = shmget(0x41000000 + pid, 0, 0)) >= 0)
        shmctl(id, IPC_RMID, NULL);
    if ((id = semget(0x42000000 + pid, 0, 0)) >= 0)
        semctl(id, 0, IPC_RMID);
    if ((id = msgget(0x43000000 + pid, 0)) >= 0)
        msgctl(id, IPC_RMID, NULL);
    if (shmb >= 0)
        shmctl(shmb, IPC_RMID, NULL);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    if (argc > 3 && strcmp(argv[1], "rm") == 0) {
        cleanup(atoi(argv[2]), atoi(argv[3]));
        return 0;
    }
    if (argc > 3 && strcmp(argv[1], "clash") == 0) {
        int pid = atoi(argv[2]), semid = atoi(argv[3]);
        int id = semget(0x42000000 + pid, 0, 0);
        CHECK(id == semid, "semget: %d, expected %d: %s", id, semid, strerror(errno));
        semctl(id, 0, IPC_RMID);
        FILE *f = fopen("/proc/sys/kernel/sem_next_id", "w");
        CHECK(f && fprintf(f, "%d", semid) > 0 && fclose(f) == 0, "sem_next_id: %s", strerror(errno));
        id = semget(0x42000000 + pid, 2, IPC_CREAT | 0600);
        CHECK(id == semid, "semget at %d: %d: %s", semid, id, strerror(errno));
        return 0;
    }
    int pid = getpid();
    cleanup(pid, -1);

    int a = shmget(0x41000000 + pid, SIZE_A, IPC_CREAT | IPC_EXCL | 0640);
    CHECK(a >= 0, "shmget A: %s", strerror(errno));
    char *pa = shmat(a, ADDR_A, 0);
    CHECK(pa == ADDR_A, "shmat A at %p: %p, %s", ADDR_A, pa, strerror(errno));
    pattern_fill(pa, SIZE_A, 0xa);
    CHECK(mprotect(pa + 4096, 4096, PROT_READ) == 0, "mprotect: %s", strerror(errno));
    char *ra = shmat(a, NULL, SHM_RDONLY);
    CHECK(ra != (void *)-1, "shmat A read-only: %s", strerror(errno));

    int b = shmget(IPC_PRIVATE, SIZE_B, IPC_CREAT | 0600);
    CHECK(b >= 0, "shmget B: %s", strerror(errno));
    char *pb = shmat(b, NULL, 0);
    CHECK(pb != (void *)-1, "shmat B: %s", strerror(errno));
    pattern_fill(pb, SIZE_B, 0xb);
    CHECK(shmctl(b, IPC_RMID, NULL) == 0, "IPC_RMID B: %s", strerror(errno));
    test_msg("SHMB %d", b);

    int s = semget(0x42000000 + pid, 4, IPC_CREAT | IPC_EXCL | 0600);
    CHECK(s >= 0, "semget: %s", strerror(errno));
    unsigned short init[4] = { 0, 1, 7, 32767 };
    CHECK(semctl(s, 0, SETALL, init) == 0, "SETALL: %s", strerror(errno));
    struct sembuf up = { 1, 2, 0 };
    CHECK(semop(s, &up, 1) == 0, "semop: %s", strerror(errno));
    test_msg("SEMID %d", s);

    int q = msgget(0x43000000 + pid, IPC_CREAT | IPC_EXCL | 0620);
    CHECK(q >= 0, "msgget: %s", strerror(errno));
    struct msqid_ds qs;
    CHECK(msgctl(q, IPC_STAT, &qs) == 0, "IPC_STAT: %s", strerror(errno));
    qs.msg_qbytes = 4000;
    CHECK(msgctl(q, IPC_SET, &qs) == 0, "IPC_SET: %s", strerror(errno));
    for (int i = 0; i < 4; i++)
        CHECK(msgsnd(q, &msgs[i], strlen(msgs[i].text), IPC_NOWAIT) == 0, "msgsnd %d: %s", i, strerror(errno));

    int go[2];
    CHECK(pipe(go) == 0, "pipe: %s", strerror(errno));
    pid_t child = fork();
    CHECK(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        struct sembuf two = { 2, 1, SEM_UNDO };   /* an undo list: the checkpoint warns */
        if (semop(s, &two, 1) != 0)
            _exit(10);
        char c;
        while (read(go[0], &c, 1) < 0 && errno == EINTR)
            ;
        if (semctl(s, 2, GETPID) != getpid())
            _exit(11);
        if (pattern_check(pb, SIZE_B, 0xb) >= 0 || pa[10] != 'x' || ra[10] != 'x')
            _exit(12);
        _exit(0);
    }
    for (int i = 0; i < 100 && semctl(s, 2, GETPID) != child; i++)
        usleep(10000);
    CHECK(semctl(s, 2, GETPID) == child, "the child did not change semaphore 2");
    test_msg("CHILD %d", (int)child);

    struct shmid_ds st;
    CHECK(shmctl(a, IPC_STAT, &st) == 0, "IPC_STAT A: %s", strerror(errno));
    unsigned long nattch_a = st.shm_nattch;   /* one per mapping: the mprotect split counts */
    CHECK(shmctl(b, IPC_STAT, &st) == 0, "IPC_STAT B: %s", strerror(errno));
    unsigned long nattch_b = st.shm_nattch;

    test_ready();
    test_waitsig();

    CHECK(shmctl(a, IPC_STAT, &st) == 0, "IPC_STAT A (id %d): %s", a, strerror(errno));
    CHECK(st.shm_perm.__key == 0x41000000 + pid && st.shm_segsz == SIZE_A && (st.shm_perm.mode & 0777) == 0640
          && st.shm_nattch == nattch_a, "A: key 0x%x size %zu mode 0%o nattch %lu (was %lu)", st.shm_perm.__key,
          st.shm_segsz, st.shm_perm.mode, (unsigned long)st.shm_nattch, nattch_a);
    long off = pattern_check(pa, SIZE_A, 0xa);
    CHECK(off < 0, "A differs at offset %ld", off);
    CHECK(memcmp(pa, ra, SIZE_A) == 0, "A's two attachments differ");
    pa[10] = 'x';
    CHECK(ra[10] == 'x', "A's read-only attachment does not see a write through the other");
    CHECK(mprotect(ra, 4096, PROT_READ | PROT_WRITE) != 0 && errno == EACCES,
          "the read-only attachment could be made writable: %s", strerror(errno));

    CHECK(shmctl(b, IPC_STAT, &st) == 0, "IPC_STAT B (id %d): %s", b, strerror(errno));
    CHECK((st.shm_perm.mode & SHM_DEST) && st.shm_nattch == nattch_b && st.shm_segsz == SIZE_B,
          "B: mode 0%o (expected SHM_DEST) nattch %lu (was %lu) size %zu", st.shm_perm.mode,
          (unsigned long)st.shm_nattch, nattch_b, st.shm_segsz);
    off = pattern_check(pb, SIZE_B, 0xb);
    CHECK(off < 0, "B differs at offset %ld", off);

    unsigned short now[4];
    CHECK(semctl(s, 0, GETALL, now) == 0, "GETALL (id %d): %s", s, strerror(errno));
    CHECK(memcmp(now, semvals, sizeof(now)) == 0, "semaphores %u %u %u %u", now[0], now[1], now[2], now[3]);
    int who = semctl(s, 1, GETPID);
    CHECK(who == pid, "GETPID of semaphore 1: %d, expected %d", who, pid);
    struct semid_ds ss;
    union { struct semid_ds *buf; } arg = { &ss };
    CHECK(semctl(s, 0, IPC_STAT, arg) == 0 && (ss.sem_perm.mode & 0777) == 0600 && ss.sem_nsems == 4,
          "semaphore set: mode 0%o nsems %lu", ss.sem_perm.mode, (unsigned long)ss.sem_nsems);

    CHECK(msgctl(q, IPC_STAT, &qs) == 0, "IPC_STAT queue (id %d): %s", q, strerror(errno));
    CHECK(qs.msg_qbytes == 4000 && qs.msg_qnum == 4 && (qs.msg_perm.mode & 0777) == 0620,
          "queue: qbytes %lu qnum %lu mode 0%o", qs.msg_qbytes, qs.msg_qnum, qs.msg_perm.mode);
    CHECK(qs.msg_lspid == pid, "queue: last sender %d, expected %d", qs.msg_lspid, pid);
    for (int i = 0; i < 4; i++) {
        struct amsg m;
        ssize_t n = msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT);
        CHECK(n == (ssize_t)strlen(msgs[i].text) && m.type == msgs[i].type && memcmp(m.text, msgs[i].text, n) == 0,
              "message %d: %zd bytes type %ld, expected %zu bytes type %ld", i, n, m.type, strlen(msgs[i].text),
              msgs[i].type);
    }
    CHECK(write(go[1], "g", 1) == 1, "write go: %s", strerror(errno));
    int status;
    CHECK(waitpid(child, &status, 0) == child, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status 0x%x (10 semop, 11 GETPID, 12 memory)",
          (int)child, status);
    shmdt(pb);
    cleanup(pid, b);
    pass();
}
