package dev.amber.proc;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses {@code /proc/PID/maps}, one virtual memory area per line:
 *
 * <pre>
 * start-end    perms offset   dev   inode                      path
 * 7f42c0989000-7f42c098a000 r--p 00000000 fe:00 338944       /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
 * 7f0675012000-7f0675016000 r--p 00000000 00:00 0            [vvar]
 * 7f3b00000000-7f3b00021000 rw-p 00000000 00:00 0
 * 7f3b10000000-7f3b10001000 rw-s 00000000 00:01 1025         /tmp/my file (deleted)
 * </pre>
 *
 * Addresses, offset and device numbers are hexadecimal, the inode decimal. The path starts after
 * the blanks that pad it to a column and runs to the end of the line: it may contain spaces, and
 * is absent (not even padded, on recent kernels) for unnamed anonymous memory.
 */
public final class Maps {
    private Maps() {}

    public static List<MapsEntry> read(int pid) throws IOException {
        return ProcFiles.read(ProcFiles.path(pid, "maps"), Maps::parse);
    }

    public static List<MapsEntry> parse(String text) {
        var lines = new Lines("maps", text);
        var entries = new ArrayList<MapsEntry>();
        while (lines.next()) entries.add(parseLine(lines));
        return List.copyOf(entries);
    }

    /** Parses the current line of {@code lines}; shared with {@link Smaps}, whose headers are maps lines. */
    static MapsEntry parseLine(Lines lines) {
        Cursor c = lines.cursor();
        String range = c.token("\"start-end\" hexadecimal addresses");
        int dash = range.indexOf('-');
        long start;
        long end;
        try {
            start = Long.parseUnsignedLong(range.substring(0, Math.max(dash, 0)), 16);
            end = Long.parseUnsignedLong(range.substring(dash + 1), 16);
        } catch (NumberFormatException e) {
            throw lines.error("\"start-end\" hexadecimal addresses");
        }
        if (Long.compareUnsigned(start, end) > 0) throw lines.error("start <= end");
        String perms = c.token("permissions like \"rw-p\"");
        if (!perms.matches("[r-][w-][x-][sp]")) throw lines.error("permissions like \"rw-p\"");
        long offset = c.hex("a hexadecimal offset");
        String dev = c.token("a device \"major:minor\" in hexadecimal");
        int colon = dev.indexOf(':');
        int major;
        int minor;
        try {
            major = Integer.parseInt(dev.substring(0, Math.max(colon, 0)), 16);
            minor = Integer.parseInt(dev.substring(colon + 1), 16);
        } catch (NumberFormatException e) {
            throw lines.error("a device \"major:minor\" in hexadecimal");
        }
        long inode = c.decimal("a decimal inode");
        String path = c.rest();
        return new MapsEntry(start, end, perms.charAt(0) == 'r', perms.charAt(1) == 'w', perms.charAt(2) == 'x',
                perms.charAt(3) == 's', offset, major, minor, inode, path);
    }
}
