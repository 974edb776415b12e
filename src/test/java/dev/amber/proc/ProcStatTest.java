package dev.amber.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ProcStatTest {
    private static final String CAT = "2334 (cat) R 2329 2329 2015 34816 2334 4194304 101 5 2 1 7 3 4 6 20 0 1 0 259686 "
            + "3133440 362 18446744073709551615 94028524593152 94028524613033 140725732535568 0 0 0 0 0 0 0 0 0 17 1 0 0 "
            + "0 0 0 94028524629040 94028524630656 94029450444800 140725732543194 140725732543214 140725732543214 "
            + "140725732544491 0\n";

    @Test
    void everyField() {
        var s = ProcStat.parse(CAT);
        assertEquals(new ProcStat(2334, "cat", 'R', 2329, 2329, 2015, 34816, 2334, 4194304, 101, 5, 2, 1, 7, 3, 4, 6,
                20, 0, 1, 0, 259686, 3133440, 362, -1L, 94028524593152L, 94028524613033L, 140725732535568L, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 17, 1, 0, 0, 0, 0, 0, 94028524629040L, 94028524630656L, 94029450444800L,
                140725732543194L, 140725732543214L, 140725732543214L, 140725732544491L, 0), s);
    }

    @Test
    void commWithParenthesesAndSpaces() {
        var s = ProcStat.parse(CAT.replace("(cat)", "(a) b (c)"));
        assertEquals("a) b (c", s.comm());
        assertEquals('R', s.state());
        assertEquals(2329, s.ppid());
        assertEquals(0, s.exitCode());
    }

    @Test
    void commWithNewlineAndEmptyComm() {
        assertEquals("x\n) y", ProcStat.parse(CAT.replace("(cat)", "(x\n) y)")).comm());
        assertEquals("", ProcStat.parse(CAT.replace("(cat)", "()")).comm());
    }

    @Test
    void signedFields() {
        // a sleeping real-time thread with no terminal: tpgid -1, priority -51, nice 0, policy SCHED_FIFO
        String line = "10 (rt) S 1 10 10 0 -1 4194624 0 0 0 0 0 0 0 0 -51 -5 1 0 100 0 0 18446744073709551615 "
                + "0 0 0 0 0 0 2147483647 0 0 0 0 0 -1 0 50 1 0 0 0 0 0 0 0 0 0 0 9\n";
        var s = ProcStat.parse(line);
        assertEquals(-1, s.tpgid());
        assertEquals(-51, s.priority());
        assertEquals(-5, s.nice());
        assertEquals(2147483647L, s.blocked());
        assertEquals(-1, s.exitSignal());
        assertEquals(50, s.rtPriority());
        assertEquals(1, s.policy());
        assertEquals(9, s.exitCode());
    }

    @Test
    void exitingTasks() {
        assertFalse(ProcStat.parse(CAT).exiting(), "running, PF_RANDOMIZE only");
        // in do_exit, its memory maybe gone already, still R or D: PF_EXITING (0x4) set
        assertTrue(ProcStat.parse(CAT.replace(" 4194304 ", " 4194308 ")).exiting(), "PF_EXITING");
        assertTrue(ProcStat.parse(CAT.replace(") R ", ") Z ")).exiting(), "a zombie");
        assertTrue(ProcStat.parse(CAT.replace(") R ", ") X ")).exiting(), "dead");
    }

    @Test
    void tooFewFields() {
        var e = assertThrows(ProcFormatException.class, () -> ProcStat.parse("1 (init) S 0 1 1 0 -1\n"));
        assertEquals("stat line 1: expected (9) flags, found \"1 (init) S 0 1 1 0 -1\"", e.getMessage());
    }

    @Test
    void tooManyFields() {
        var e = assertThrows(ProcFormatException.class, () -> ProcStat.parse(CAT.replace("\n", " 7\n")));
        assertEquals("stat line 1: expected 52 fields, found \"" + CAT.replace("\n", " 7") + "\"", e.getMessage());
    }

    @Test
    void noComm() {
        var e = assertThrows(ProcFormatException.class, () -> ProcStat.parse("1 init S\n"));
        assertEquals("stat line 1: expected \"pid (comm) state ...\", found \"1 init S\"", e.getMessage());
    }
}
