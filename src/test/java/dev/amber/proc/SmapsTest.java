package dev.amber.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SmapsTest {
    private final List<SmapsEntry> smaps = Smaps.parse(Fixtures.text("smaps.txt"));

    @Test
    void areasWithCountersAndFlags() {
        assertEquals(3, smaps.size());
        var head = smaps.get(0);
        assertEquals(0x55832cca2000L, head.start());
        assertEquals(0x55832cca4000L, head.end());
        assertEquals("/usr/bin/head", head.mapping().path());
        assertEquals(8, head.rssKb());
        assertEquals(6, head.pssKb());
        assertEquals(0, head.swapKb());
        assertEquals(0, head.anonymousKb());
        assertEquals(Set.of("rd", "mr", "mw", "me"), head.vmFlags());
        assertEquals(8L, head.fields().get("Size"));
        assertEquals(0L, head.fields().get("ProtectionKey"));
    }

    @Test
    void sharedLockedDeleted() {
        var shm = smaps.get(1);
        assertEquals("/tmp/my  data file.bin (deleted)", shm.mapping().path());
        assertEquals(Set.of("rd", "wr", "sh", "mr", "mw", "me", "ms", "lo", "sd"), shm.vmFlags());
        assertTrue(shm.hasFlag("lo"));
        assertEquals(4L, shm.fields().get("Locked"));
        assertEquals(2, shm.pssKb());
    }

    @Test
    void stackWithSwap() {
        var stack = smaps.get(2);
        assertTrue(stack.mapping().is("[stack]"));
        assertEquals(112, stack.rssKb());
        assertEquals(112, stack.anonymousKb());
        assertEquals(16, stack.swapKb());
        assertEquals(Set.of("rd", "wr", "mr", "mw", "me", "gd", "ac", "um", "uw", "ss"), stack.vmFlags());
        assertEquals(1L, stack.fields().get("THPeligible"));
    }

    @Test
    void missingCounterNamesTheArea() {
        var e = assertThrows(ProcFormatException.class, () -> Smaps.parse(
                "7f00-7f01 r-xp 0 00:00 0\nRss: 4 kB\nPss: 4 kB\nSwap: 0 kB\nAnonymous: 4 kB\nVmFlags: rd\n"
                        + "7f01-7f02 r-xp 0 00:00 0\nRss: 4 kB\nVmFlags: rd\n"));
        assertEquals("smaps line 7: expected a \"Pss:\" line in this area, found none", e.getMessage());
    }

    @Test
    void fieldBeforeAnyArea() {
        var e = assertThrows(ProcFormatException.class, () -> Smaps.parse("Rss: 4 kB\n"));
        assertEquals("smaps line 1: expected a maps line starting an area, found \"Rss: 4 kB\"", e.getMessage());
    }

    @Test
    void rollup() {
        assertEquals(new SmapsRollup(1664, 612, 112, 24), SmapsRollup.parse(Fixtures.text("smaps_rollup.txt")));
    }

    @Test
    void rollupWithoutHeader() {
        var e = assertThrows(ProcFormatException.class, () -> SmapsRollup.parse("Rss: 4 kB\n"));
        assertEquals("smaps_rollup line 1: expected a header ending in \"[rollup]\", found \"Rss: 4 kB\"", e.getMessage());
    }

    @Test
    void rollupBadUnit() {
        var e = assertThrows(ProcFormatException.class,
                () -> SmapsRollup.parse("0-1 ---p 0 00:00 0 [rollup]\nRss: 4 MB\nPss: 1 kB\nAnonymous: 0 kB\nSwap: 0 kB\n"));
        assertEquals("smaps_rollup line 2: expected Rss as \"<n> kB\", found \"Rss: 4 MB\"", e.getMessage());
    }
}
