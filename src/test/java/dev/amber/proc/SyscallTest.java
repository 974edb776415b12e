package dev.amber.proc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SyscallTest {

    @Test
    void running() {
        assertEquals(new Syscall.Running(), Syscall.parse("running\n"));
    }

    @Test
    void stoppedOutsideASyscall() {
        assertEquals(new Syscall.NotInSyscall(0x7ffd5c2a1e48L, 0x7f3bf581b2adL),
                Syscall.parse("-1 0x7ffd5c2a1e48 0x7f3bf581b2ad\n"));
    }

    @Test
    void inRead() {
        var s = (Syscall.InSyscall) Syscall.parse(
                "0 0x3 0x7f3bf569f000 0x20000 0x7f3bf5732b60 0xffffffff 0x0 0x7ffdfd9aa798 0x7f3bf581b2ad\n");
        assertEquals(0, s.nr());
        assertArrayEquals(new long[] {3, 0x7f3bf569f000L, 0x20000, 0x7f3bf5732b60L, 0xffffffffL, 0}, s.args());
        assertEquals(0x7f3bf569f000L, s.arg(1));
        assertEquals(0x7ffdfd9aa798L, s.sp());
        assertEquals(0x7f3bf581b2adL, s.pc());
    }

    @Test
    void argumentAboveSignedRange() {
        var s = (Syscall.InSyscall) Syscall.parse("202 0xffffffffffffff9c 0x0 0x0 0x0 0x0 0x0 0x1 0x2\n");
        assertEquals(202, s.nr());
        assertEquals(-100, s.arg(0));
    }

    @Test
    void truncated() {
        var e = assertThrows(ProcFormatException.class, () -> Syscall.parse("0 0x3 0x4\n"));
        assertEquals("syscall line 1: expected argument 3 in hexadecimal, found \"0 0x3 0x4\"", e.getMessage());
    }
}
