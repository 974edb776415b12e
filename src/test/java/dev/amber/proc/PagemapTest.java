package dev.amber.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class PagemapTest {

    @Test
    void presentFilePageWithPfn() {
        long entry = 1L << 63 | 1L << 61 | 1L << 56 | 0x12345L;
        assertTrue(Pagemap.present(entry));
        assertFalse(Pagemap.swapped(entry));
        assertTrue(Pagemap.fileOrSharedAnon(entry));
        assertTrue(Pagemap.exclusive(entry));
        assertFalse(Pagemap.softDirty(entry));
        assertFalse(Pagemap.uffdWriteProtected(entry));
        assertEquals(0x12345L, Pagemap.pfn(entry));
    }

    @Test
    void swappedSoftDirtyWriteProtected() {
        long entry = 1L << 62 | 1L << 57 | 1L << 55 | (1L << 55) - 1;
        assertFalse(Pagemap.present(entry));
        assertTrue(Pagemap.swapped(entry));
        assertTrue(Pagemap.uffdWriteProtected(entry));
        assertTrue(Pagemap.softDirty(entry));
        assertFalse(Pagemap.exclusive(entry));
        assertEquals((1L << 55) - 1, Pagemap.pfn(entry));
        assertFalse(Pagemap.present(0));
    }

    /** Live: a page this JVM has written is present, and a reserved page nobody touched is not. */
    @Test
    void touchedPageIsPresentUntouchedIsNot() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            var segment = arena.allocate(4 * 4096L, 4096);
            segment.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            long addr = segment.address();
            try (var reader = Pagemap.open(Fixtures.selfPid())) {
                long[] entries = reader.read(addr, 4);
                assertEquals(4, entries.length);
                assertTrue(Pagemap.present(entries[0]), "written page present");
                // second read through the same open file, a different range
                assertTrue(Pagemap.present(reader.read(addr, 1)[0]));
            }
            assertTrue(Pagemap.present(Pagemap.read(Fixtures.selfPid(), addr, 1)[0]));
        }
    }

    @Test
    void unalignedAddressIsOurBug() throws Exception {
        try (var reader = Pagemap.open(Fixtures.selfPid())) {
            var e = assertThrows(IllegalArgumentException.class, () -> reader.read(0x1001, 1));
            assertEquals("address 0x1001 is not page-aligned", e.getMessage());
            assertEquals(0, reader.read(0x1000, 0).length);
        }
    }
}
