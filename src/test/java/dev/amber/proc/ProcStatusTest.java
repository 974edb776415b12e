package dev.amber.proc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ProcStatusTest {

    @Test
    void threadOfAJavaProcess() {
        var s = ProcStatus.parse(Fixtures.text("status-java.txt"));
        assertEquals("java", s.name());
        assertEquals(0027, s.umask());
        assertEquals('S', s.state());
        assertEquals(4242, s.tgid());
        assertEquals(4250, s.pid());
        assertEquals(4200, s.ppid());
        assertEquals(4100, s.tracerPid());
        assertEquals(new ProcStatus.Ids(1000, 1001, 1002, 1003), s.uid());
        assertEquals(new ProcStatus.Ids(100, 101, 102, 103), s.gid());
        assertArrayEquals(new int[] {4, 24, 27, (int) 4294967294L}, s.groups());
        assertArrayEquals(new int[] {4242}, s.nstgid());
        assertArrayEquals(new int[] {4250}, s.nspid());
        assertArrayEquals(new int[] {4200}, s.nspgid());
        assertArrayEquals(new int[] {4000}, s.nssid());
        assertEquals(23, s.threads());
        assertEquals(2, s.sigQueued());
        assertEquals(96551, s.sigQueueLimit());
        assertEquals(1L << (9 - 1), s.sigPnd()); // SIGKILL
        assertEquals(1L << (15 - 1), s.shdPnd()); // SIGTERM
        assertEquals(1L << (3 - 1), s.sigBlk()); // SIGQUIT
        assertEquals(1L << (13 - 1), s.sigIgn()); // SIGPIPE
        assertEquals(0xfffffffe2c004effL, s.sigCgt());
        assertEquals(0, s.capInh());
        assertEquals(0x1fffeffffffL, s.capPrm());
        assertEquals(0x1fffeffffffL, s.capEff());
        assertEquals(0x1ffffffffffL, s.capBnd());
        assertEquals(0x20, s.capAmb());
        assertTrue(s.noNewPrivs());
        assertEquals(2, s.seccomp());
        assertFalse(s.coreDumping());
        assertFalse(s.kernelThread());
    }

    @Test
    void kernelThread() {
        var s = ProcStatus.parse(Fixtures.text("status-kthread.txt"));
        assertEquals("kworker/0:1-events", s.name());
        assertEquals(0, s.umask());
        assertEquals('I', s.state());
        assertEquals(57, s.tgid());
        assertEquals(2, s.ppid());
        assertArrayEquals(new int[0], s.groups());
        assertArrayEquals(new int[] {0}, s.nspgid());
        assertEquals(-1L, s.sigIgn());
        assertEquals(0x1ffffffffffL, s.capEff());
        assertTrue(s.kernelThread());
    }

    @Test
    void zombieWithoutUmaskInNestedPidNamespaces() {
        var s = ProcStatus.parse(Fixtures.text("status-zombie-nested.txt"));
        assertEquals("a) b\\c\nd ", s.name());
        assertEquals(-1, s.umask());
        assertEquals('Z', s.state());
        assertArrayEquals(new int[0], s.groups());
        assertArrayEquals(new int[] {7001, 301, 1}, s.nstgid());
        assertArrayEquals(new int[] {7001, 301, 1}, s.nspid());
        assertArrayEquals(new int[] {7000, 300, 0}, s.nspgid());
        assertArrayEquals(new int[] {6990, 290, 0}, s.nssid());
        assertFalse(s.kernelThread());
        assertFalse(s.coreDumping());
    }

    @Test
    void arraysAreCopies() {
        var s = ProcStatus.parse(Fixtures.text("status-java.txt"));
        s.groups()[0] = 99;
        assertEquals(4, s.groups()[0]);
    }

    @Test
    void missingLineIsNamed() {
        String text = Fixtures.text("status-java.txt").replace("Tgid:\t4242\n", "");
        var e = assertThrows(ProcFormatException.class, () -> ProcStatus.parse(text));
        assertEquals("status: expected a \"Tgid:\" line, found none", e.getMessage());
    }

    @Test
    void threeUidsAreAnError() {
        String text = Fixtures.text("status-java.txt").replace("Uid:\t1000\t1001\t1002\t1003", "Uid:\t1000\t1001\t1002");
        var e = assertThrows(ProcFormatException.class, () -> ProcStatus.parse(text));
        assertEquals("status line 9: expected Uid as 4 ids (real, effective, saved, fs), found \"Uid:\t1000\t1001\t1002\"",
                e.getMessage());
    }

    @Test
    void badMask() {
        String text = Fixtures.text("status-java.txt").replace("SigBlk:\t0000000000000004", "SigBlk:\txyz");
        var e = assertThrows(ProcFormatException.class, () -> ProcStatus.parse(text));
        assertEquals("status line 27: expected SigBlk as hexadecimal, found \"SigBlk:\txyz\"", e.getMessage());
    }
}
