package dev.amber.proc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reads this test JVM's own /proc files. */
class LiveProcTest {
    private final int pid = Fixtures.selfPid();

    /** This thread's TID, from the /proc/thread-self link ("PID/task/TID"). */
    private static int selfTid() throws Exception {
        return Integer.parseInt(Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString());
    }

    @Test
    void mapsHasStackAndVdsoWhereAuxvSaysSo() throws Exception {
        List<MapsEntry> maps = Maps.read(pid);
        assertTrue(maps.stream().anyMatch(e -> e.is("[stack]")));
        MapsEntry vdso = maps.stream().filter(e -> e.is("[vdso]")).findFirst().orElseThrow();
        assertEquals(Auxv.read(pid).value(Auxv.AT_SYSINFO_EHDR).orElseThrow(), vdso.start());
        assertTrue(vdso.read() && vdso.exec() && !vdso.write() && !vdso.shared());
        assertEquals(4096, Auxv.read(pid).value(Auxv.AT_PAGESZ).orElseThrow());
    }

    @Test
    void smapsStackGrowsDown() throws Exception {
        SmapsEntry stack = Smaps.read(pid).stream().filter(e -> e.mapping().is("[stack]")).findFirst().orElseThrow();
        assertTrue(stack.vmFlags().containsAll(List.of("rd", "wr", "gd")), stack.vmFlags().toString());
        assertTrue(SmapsRollup.read(pid).rssKb() > 0);
    }

    @Test
    void statusAndStatOfThisProcessAndThread() throws Exception {
        int tid = selfTid();
        ProcStatus status = ProcStatus.read(pid);
        assertEquals(pid, status.tgid());
        assertEquals(pid, status.pid());
        assertEquals(ProcessHandle.current().parent().orElseThrow().pid(), status.ppid());
        ProcStatus thread = ProcStatus.read(pid, tid);
        assertEquals(pid, thread.tgid());
        assertEquals(tid, thread.pid());
        assertEquals('R', thread.state());

        ProcStat stat = ProcStat.read(pid, tid);
        assertEquals(tid, stat.pid());
        assertEquals('R', stat.state());
        assertEquals(status.ppid(), stat.ppid());
        assertEquals(Comm.read(pid, tid), stat.comm());
        assertEquals(pid, ProcStat.read(pid).pid());
    }

    @Test
    void tasksIncludeThisThread() throws Exception {
        int[] tids = Tasks.list(pid);
        assertTrue(Arrays.binarySearch(tids, pid) >= 0);
        assertTrue(Arrays.binarySearch(tids, selfTid()) >= 0);
        int[] sorted = tids.clone();
        Arrays.sort(sorted);
        assertArrayEquals(sorted, tids);
        Tasks.children(pid, pid); // readable; its content depends on the test runner
    }

    @Test
    void ownThreadIsInRead() throws Exception {
        // The kernel reports the reader's own call: read(2) of this very file.
        var syscall = assertInstanceOf(Syscall.InSyscall.class, Syscall.read(pid, selfTid()));
        assertEquals(0, syscall.nr());
    }

    @Test
    void openFileShowsInFdAndFdinfo(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("amber proc test.bin");
        Files.write(file, new byte[100]);
        try (FileChannel channel = FileChannel.open(file)) {
            channel.read(ByteBuffer.allocate(37));
            int fd = -1;
            for (int candidate : Fds.list(pid)) {
                try {
                    if (Fds.readLink(pid, candidate).equals(file.toString())) fd = candidate;
                } catch (NoSuchFileException closedMeanwhile) {
                    // another thread closed it between list and readlink
                }
            }
            assertTrue(fd >= 0, "fd for " + file);
            FdInfo info = FdInfo.read(pid, fd);
            assertEquals(37, info.pos());
            assertEquals(0, info.flags() & 03); // O_RDONLY
            assertEquals(((Number) Files.getAttribute(file, "unix:ino")).longValue(), info.ino());
        }
    }

    @Test
    void mountinfoHasRootAndProc() throws Exception {
        var mounts = MountInfo.read(pid);
        assertTrue(mounts.stream().anyMatch(m -> m.mountPoint().equals("/")));
        assertTrue(mounts.stream().anyMatch(m -> m.mountPoint().equals("/proc") && m.fsType().equals("proc")));
    }

    @Test
    void personalityIsLinux() throws Exception {
        assertEquals(0, Personality.read(pid) & 0xff); // PER_LINUX
    }

    @Test
    void goneProcessNamesTheFile() {
        int gone = Integer.MAX_VALUE; // above any pid_max
        var e = assertThrows(NoSuchFileException.class, () -> Maps.read(gone));
        assertEquals("/proc/2147483647/maps: No such file or directory (process gone?)", e.getMessage());
        var fds = assertThrows(NoSuchFileException.class, () -> Fds.list(gone));
        assertEquals("/proc/2147483647/fd: No such file or directory (process gone?)", fds.getMessage());
        var link = assertThrows(NoSuchFileException.class, () -> Fds.readLink(pid, 99999));
        assertEquals("/proc/" + pid + "/fd/99999: No such file or directory (process gone?)", link.getMessage());
        var pagemap = assertThrows(NoSuchFileException.class, () -> Pagemap.open(gone));
        assertEquals("/proc/2147483647/pagemap: No such file or directory (process gone?)", pagemap.getMessage());
    }
}
