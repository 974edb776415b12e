package dev.amber.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class MapsTest {
    private final List<MapsEntry> maps = Maps.parse(Fixtures.text("maps.txt"));

    @Test
    void parsesEveryLine() {
        assertEquals(16, maps.size());
    }

    @Test
    void fileMapping() {
        var text = maps.get(1);
        assertEquals(new MapsEntry(0x55d0ffe55000L, 0x55d0ffe5b000L, true, false, true, false, 0x2000, 0xfe, 0, 260386,
                "/usr/bin/head"), text);
        assertEquals(0x6000, text.length());
        assertFalse(text.isAnonymous());
        assertFalse(text.isSpecial());
        assertFalse(text.deleted());
    }

    @Test
    void anonymousWithAndWithoutTrailingBlank() {
        var padded = maps.get(3);
        assertEquals("", padded.path());
        assertTrue(padded.isAnonymous());
        assertTrue(padded.read() && padded.write() && !padded.exec() && !padded.shared());
        var guard = maps.get(4);
        assertEquals("", guard.path());
        assertFalse(guard.read() || guard.write() || guard.exec());
        assertEquals(0x7f3b04000000L - 0x7f3b00021000L, guard.length());
    }

    @Test
    void pathWithSpacesAndDeleted() {
        var e = maps.get(5);
        assertEquals("/tmp/my  data file.bin (deleted)", e.path());
        assertTrue(e.deleted());
        assertEquals("/tmp/my  data file.bin", e.pathWithoutDeleted());
        assertTrue(e.shared());
        assertEquals(0, e.devMajor());
        assertEquals(1, e.devMinor());
        assertEquals(1025, e.inode());
    }

    @Test
    void sharedAnonymousMemfdAndSysv() {
        assertEquals("/dev/zero", maps.get(6).pathWithoutDeleted());
        assertEquals("/memfd:x", maps.get(7).pathWithoutDeleted());
        assertEquals("/SYSV00000000", maps.get(8).pathWithoutDeleted());
        for (int i = 6; i <= 8; i++) {
            assertTrue(maps.get(i).deleted());
            assertTrue(maps.get(i).shared());
            assertFalse(maps.get(i).isAnonymous());
            assertFalse(maps.get(i).isSpecial());
        }
    }

    @Test
    void namedAnonymous() {
        var e = maps.get(9);
        assertEquals("[anon:jvm heap]", e.path());
        assertTrue(e.isAnonymous());
        assertTrue(e.isSpecial());
    }

    @Test
    void largeDeviceAndInode() {
        var e = maps.get(10);
        assertEquals(0x103, e.devMajor());
        assertEquals(2, e.devMinor());
        assertEquals(9876543210L, e.inode());
        assertEquals(0x1000, e.offset());
        assertEquals("/opt/app/lib with space/libx.so", e.path());
    }

    @Test
    void threeVdsoMappings() {
        var vvar = maps.get(11);
        var vclock = maps.get(12);
        var vdso = maps.get(13);
        assertEquals("[vvar]", vvar.path());
        assertEquals(4 * 4096, vvar.length());
        assertEquals("[vvar_vclock]", vclock.path());
        assertEquals(2 * 4096, vclock.length());
        assertEquals(vvar.end(), vclock.start());
        assertTrue(vdso.is("[vdso]"));
        assertEquals(2 * 4096, vdso.length());
        assertEquals(vclock.end(), vdso.start());
        assertTrue(vdso.read() && vdso.exec() && !vdso.write());
        assertTrue(vvar.isSpecial() && vclock.isSpecial() && vdso.isSpecial());
        assertFalse(vdso.isAnonymous());
    }

    @Test
    void heapStackAndVsyscallAboveSignedRange() {
        assertTrue(maps.get(2).is("[heap]"));
        assertTrue(maps.get(14).is("[stack]"));
        var vsyscall = maps.get(15);
        assertEquals(0xffffffffff600000L, vsyscall.start());
        assertEquals(4096, vsyscall.length());
        assertTrue(vsyscall.exec() && !vsyscall.read());
    }

    @Test
    void toStringLooksLikeTheKernelLine() {
        assertEquals("7f0675018000-7f067501a000 r-xp 00000000 00:00 0 [vdso]", maps.get(13).toString());
    }

    @Test
    void emptyText() {
        assertEquals(List.of(), Maps.parse(""));
    }

    @Test
    void badPermissionsNameLineAndExpectation() {
        var e = assertThrows(ProcFormatException.class,
                () -> Maps.parse("7f00-7f01 r-xp 0 00:00 0\n7f01-7f02 rwx 0 00:00 0\n"));
        assertEquals("maps line 2: expected permissions like \"rw-p\", found \"7f01-7f02 rwx 0 00:00 0\"", e.getMessage());
        assertEquals(2, e.line());
    }

    @Test
    void badRange() {
        var e = assertThrows(ProcFormatException.class, () -> Maps.parse("zz-7f01 r-xp 0 00:00 0\n"));
        assertEquals("maps line 1: expected \"start-end\" hexadecimal addresses, found \"zz-7f01 r-xp 0 00:00 0\"",
                e.getMessage());
    }

    @Test
    void missingInode() {
        var e = assertThrows(ProcFormatException.class, () -> Maps.parse("7f00-7f01 r-xp 0 00:00\n"));
        assertEquals("maps line 1: expected a decimal inode, found \"7f00-7f01 r-xp 0 00:00\"", e.getMessage());
    }
}
