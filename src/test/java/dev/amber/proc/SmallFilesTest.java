package dev.amber.proc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Personality, comm and children: one value each. */
class SmallFilesTest {

    @Test
    void personality() {
        assertEquals(0x0040000, Personality.parse("00040000\n"));
        assertEquals(0xffffffff, Personality.parse("ffffffff\n"));
        var e = assertThrows(ProcFormatException.class, () -> Personality.parse("linux\n"));
        assertEquals("personality line 1: expected a hexadecimal value, found \"linux\"", e.getMessage());
    }

    @Test
    void comm() {
        assertEquals("a) b (c", Comm.parse("a) b (c\n"));
        assertEquals(" x ", Comm.parse(" x \n"));
        var e = assertThrows(ProcFormatException.class, () -> Comm.parse("java"));
        assertEquals("comm line 1: expected a line ending in a newline, found \"java\"", e.getMessage());
    }

    @Test
    void children() {
        assertArrayEquals(new int[] {4243, 4250, 12}, Tasks.parseChildren("4243 4250 12 "));
        assertArrayEquals(new int[0], Tasks.parseChildren(""));
        var e = assertThrows(ProcFormatException.class, () -> Tasks.parseChildren("12 x "));
        assertEquals("children line 1: expected decimal pids, found \"12 x \"", e.getMessage());
    }
}
