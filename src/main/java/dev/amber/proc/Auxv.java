package dev.amber.proc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.OptionalLong;

/**
 * {@code /proc/PID/auxv}: the ELF auxiliary vector the kernel gave the program at exec, binary,
 * as (type, value) pairs of native 64-bit words (little-endian on x86-64), ending with AT_NULL:
 *
 * <pre>
 * +--------+--------+--------+--------+-----+--------+--------+
 * | type 0 | value 0| type 1 | value 1| ... | AT_NULL|   0    |
 * +--------+--------+--------+--------+-----+--------+--------+
 *   8 bytes  8 bytes                          type 0
 * </pre>
 *
 * {@code PR_SET_MM_MAP} takes exactly these words back on restart.
 *
 * @param raw the bytes up to and including the AT_NULL pair
 * @param words the same as longs: type, value, type, value, ..., 0, 0
 */
public record Auxv(byte[] raw, long[] words) {
    public static final long AT_NULL = 0;
    public static final long AT_PHDR = 3;
    public static final long AT_PAGESZ = 6;
    public static final long AT_ENTRY = 9;
    public static final long AT_HWCAP = 16;
    public static final long AT_RANDOM = 25;
    public static final long AT_EXECFN = 31;
    public static final long AT_SYSINFO_EHDR = 33;

    public Auxv {
        raw = raw.clone();
        words = words.clone();
    }

    @Override
    public byte[] raw() {
        return raw.clone();
    }

    @Override
    public long[] words() {
        return words.clone();
    }

    /** The value of the first entry of this type, e.g. {@code value(AT_SYSINFO_EHDR)} for the vDSO. */
    public OptionalLong value(long type) {
        for (int i = 0; i + 1 < words.length; i += 2) {
            if (words[i] == type && type != AT_NULL) return OptionalLong.of(words[i + 1]);
        }
        return OptionalLong.empty();
    }

    public static Auxv read(int pid) throws IOException {
        var file = ProcFiles.path(pid, "auxv");
        byte[] bytes = ProcFiles.readBytes(file);
        try {
            return parse(bytes);
        } catch (ProcFormatException e) {
            throw e.withSource(file.toString());
        }
    }

    public static Auxv parse(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
        long[] words = new long[bytes.length / 8];
        int count = 0;
        while (buffer.remaining() >= 16) {
            long type = buffer.getLong();
            long value = buffer.getLong();
            words[count++] = type;
            words[count++] = value;
            if (type == AT_NULL) return new Auxv(Arrays.copyOf(bytes, count * 8), Arrays.copyOf(words, count));
        }
        throw new ProcFormatException("auxv", 0,
                "expected (type, value) pairs of 8-byte words ending with AT_NULL, found " + bytes.length
                        + " bytes without AT_NULL");
    }
}
