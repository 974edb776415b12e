package dev.amber.kind.ipc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** /proc/sysvipc/{shm,sem,msg} as Linux 6.18 prints them. */
class SysvTableTest {
    private static final String SHM = """
                   key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap
             305441741          1   640                 10000 25226 25226      1     0     0     0     0 1795700002          0 1795700002                     0                     0
                     0          2  1600                  4096 25226 25226      1  1000   100     0     0 1795700002          0 1795700002                  4096                     0
            """;
    private static final String SEM = """
                   key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime
                  9029          0   600          3     0     0     0     0 1795700002 1795700002
            """;
    private static final String MSG = """
                   key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime
                 13398          0   600           6          1 25226     0     0     0     0     0 1795700002          0 1795700002
            """;

    @Test
    void sharedMemory() {
        List<SysvTable.Row> rows = SysvTable.parse(SHM).rows();
        assertEquals(2, rows.size());
        assertEquals(0x1234abcd, rows.get(0).decimal("key"));
        assertEquals(1, rows.get(0).decimal("shmid"));
        assertEquals(0640, rows.get(0).octal("perms"));
        assertEquals(10000, rows.get(0).decimal("size"));
        assertEquals(25226, rows.get(0).decimal("cpid"));
        assertEquals(SysvTable.SHM_DEST | 0600, rows.get(1).octal("perms"));   // IPC_RMID pending
        assertEquals(1000, rows.get(1).decimal("uid"));
    }

    @Test
    void semaphoresAndMessages() {
        SysvTable.Row sem = SysvTable.parse(SEM).rows().getFirst();
        assertEquals(9029, sem.decimal("key"));
        assertEquals(3, sem.decimal("nsems"));
        SysvTable.Row msg = SysvTable.parse(MSG).rows().getFirst();
        assertEquals(6, msg.decimal("cbytes"));
        assertEquals(1, msg.decimal("qnum"));
        assertEquals(25226, msg.decimal("lspid"));
        assertEquals(0, msg.decimal("lrpid"));
    }

    @Test
    void emptyTableHasNoRows() {
        assertEquals(List.of(), SysvTable.parse(SEM.lines().findFirst().orElseThrow() + "\n").rows());
    }

    @Test
    void refusesMalformedText() {
        var e = assertThrows(IllegalArgumentException.class, () -> SysvTable.parse("key semid perms\n1 2\n"));
        assertEquals("sysvipc: line 2 has 2 columns, the header 3: '1 2'", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SysvTable.parse("key semid perms\n1 2 9\n").rows()
                .getFirst().octal("perms"));
        assertEquals("sysvipc: perms '9' is not octal", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SysvTable.parse("key semid perms\n1 2 7\n").rows()
                .getFirst().decimal("nsems"));
        assertEquals("sysvipc: no column nsems in {key=1, semid=2, perms=7}", e.getMessage());
    }
}
