package dev.amber.proc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class AuxvTest {

    private static byte[] words(long... words) {
        var buffer = ByteBuffer.allocate(words.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long w : words) buffer.putLong(w);
        return buffer.array();
    }

    @Test
    void pairsUpToAtNull() {
        long[] expected = {Auxv.AT_SYSINFO_EHDR, 0x7f0675018000L, Auxv.AT_PAGESZ, 4096, Auxv.AT_ENTRY, 0x55d0ffe55040L, 0, 0};
        // Bytes after AT_NULL are not part of the vector.
        byte[] bytes = words(Auxv.AT_SYSINFO_EHDR, 0x7f0675018000L, Auxv.AT_PAGESZ, 4096, Auxv.AT_ENTRY, 0x55d0ffe55040L,
                0, 0, 0xdead, 0xbeef);
        var auxv = Auxv.parse(bytes);
        assertArrayEquals(expected, auxv.words());
        assertArrayEquals(words(expected), auxv.raw());
        assertEquals(OptionalLong.of(0x7f0675018000L), auxv.value(Auxv.AT_SYSINFO_EHDR));
        assertEquals(OptionalLong.of(4096), auxv.value(Auxv.AT_PAGESZ));
        assertEquals(OptionalLong.empty(), auxv.value(Auxv.AT_RANDOM));
    }

    @Test
    void onlyAtNull() {
        assertArrayEquals(new long[] {0, 0}, Auxv.parse(new byte[16]).words());
    }

    @Test
    void missingAtNull() {
        var e = assertThrows(ProcFormatException.class, () -> Auxv.parse(words(6, 4096, 9)));
        assertEquals("auxv: expected (type, value) pairs of 8-byte words ending with AT_NULL, found 24 bytes without AT_NULL",
                e.getMessage());
    }
}
