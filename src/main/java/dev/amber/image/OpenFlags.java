package dev.amber.image;

import java.util.StringJoiner;

/** open(2) flags as `amber show` prints them: access mode, then the status flags set (octal). */
final class OpenFlags {
    private static final String[] ACCESS = {"rdonly", "wronly", "rdwr", "access3"};
    private static final int[] BITS = {0100, 01000, 02000, 04000, 010000, 040000, 0200000, 0400000,
            01000000, 04000000};
    private static final String[] NAMES = {"creat", "trunc", "append", "nonblock", "dsync", "direct",
            "directory", "nofollow", "noatime", "sync"};

    private OpenFlags() {}

    static String describe(int flags) {
        StringJoiner out = new StringJoiner(",");
        out.add(ACCESS[flags & 3]);
        int rest = flags & ~3 & ~0100000; // O_LARGEFILE: always set on 64-bit, says nothing
        for (int i = 0; i < BITS.length; i++) {
            if ((rest & BITS[i]) == BITS[i]) {
                out.add(NAMES[i]);
                rest &= ~BITS[i];
            }
        }
        if (rest != 0) {
            out.add("0" + Integer.toOctalString(rest));
        }
        return out.toString();
    }
}
