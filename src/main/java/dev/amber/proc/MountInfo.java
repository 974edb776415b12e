package dev.amber.proc;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Parses {@code /proc/PID/mountinfo} ({@code man 5 proc_pid_mountinfo}), one mount per line:
 *
 * <pre>
 * (1)(2)(3)   (4)   (5)      (6)      (7)      (8) (9)   (10)         (11)
 * 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 * </pre>
 *
 * mount id, parent id, major:minor (decimal), root, mount point, mount options, zero or more
 * optional fields ended by a lone {@code -}, filesystem type, source, super options. Fields are
 * separated by single spaces; space, tab, newline and backslash inside a field are written as
 * octal escapes ({@code \040 \011 \012 \134}), so the text splits unambiguously and an empty
 * source shows as two spaces in a row.
 */
public final class MountInfo {
    private MountInfo() {}

    public static List<MountInfoEntry> read(int pid) throws IOException {
        return ProcFiles.read(ProcFiles.path(pid, "mountinfo"), MountInfo::parse);
    }

    public static List<MountInfoEntry> parse(String text) {
        var lines = new Lines("mountinfo", text);
        var entries = new ArrayList<MountInfoEntry>();
        while (lines.next()) entries.add(parseLine(lines));
        return List.copyOf(entries);
    }

    private static MountInfoEntry parseLine(Lines lines) {
        String[] f = lines.line().split(" ", -1);
        int dash = Arrays.asList(f).indexOf("-");
        if (f.length < 10 || dash < 6 || f.length - dash != 4) {
            throw lines.error("\"id parent major:minor root mountpoint options [optional...] - type source superoptions\"");
        }
        String[] device = f[2].split(":");
        int mountId;
        int parentId;
        int major;
        int minor;
        try {
            mountId = Integer.parseInt(f[0]);
            parentId = Integer.parseInt(f[1]);
            if (device.length != 2) throw new NumberFormatException();
            major = Integer.parseInt(device[0]);
            minor = Integer.parseInt(device[1]);
        } catch (NumberFormatException e) {
            throw lines.error("decimal \"id parent major:minor\"");
        }
        return new MountInfoEntry(mountId, parentId, major, minor, unescape(f[3]), unescape(f[4]), f[5],
                List.of(Arrays.copyOfRange(f, 6, dash)), unescape(f[dash + 1]), unescape(f[dash + 2]),
                unescape(f[dash + 3]));
    }

    /** Decodes the kernel's {@code \ooo} octal escapes. */
    static String unescape(String field) {
        if (field.indexOf('\\') < 0) return field;
        var out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && isOctal(field, i + 1)) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int from) {
        for (int i = from; i < from + 3; i++) {
            if (i >= s.length() || s.charAt(i) < '0' || s.charAt(i) > '7') return false;
        }
        return true;
    }
}
