package dev.amber.kind.inotify;

import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * One watch of an inotify instance as its fdinfo shows it (fs/notify/fdinfo.c), every number hex:
 *
 * <pre>
 * inotify wd:4 ino:2e3 sdev:fe00000 mask:20 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e302000000000000
 * </pre>
 *
 * {@code sdev} is the kernel's own dev_t (major in the top 12 bits, minor in the low 20), not the
 * user-space encoding; {@code mask} is the watch's user mask with IN_ONESHOT, IN_EXCL_UNLINK…;
 * the handle is what name_to_handle_at would give for the watched inode.
 */
record InotifyMark(int wd, long ino, long sdev, int mask, int handleType, byte[] handle) {

    int major() {
        return (int) (sdev >>> 20);
    }

    int minor() {
        return (int) (sdev & 0xfffff);
    }

    /** Parses the value of an {@code inotify} fdinfo line (everything after the label). */
    static InotifyMark parse(String line) {
        Map<String, String> f = new HashMap<>();
        for (String part : line.trim().split("\\s+")) {
            int colon = part.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("inotify fdinfo: '" + part + "' in '" + line + "' is not name:value");
            }
            f.put(part.substring(0, colon), part.substring(colon + 1));
        }
        try {
            int bytes = Integer.parseInt(need(f, "fhandle-bytes", line), 16);
            byte[] handle = HexFormat.of().parseHex(need(f, "f_handle", line));
            if (handle.length != bytes) {
                throw new IllegalArgumentException("inotify fdinfo: f_handle has " + handle.length
                        + " bytes, fhandle-bytes says " + bytes + ": '" + line + "'");
            }
            return new InotifyMark(Integer.parseInt(need(f, "wd", line), 16), Long.parseLong(need(f, "ino", line), 16),
                    Long.parseLong(need(f, "sdev", line), 16), (int) Long.parseLong(need(f, "mask", line), 16),
                    Integer.parseInt(need(f, "fhandle-type", line), 16), handle);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("inotify fdinfo: a number is not hex in '" + line + "'", e);
        }
    }

    private static String need(Map<String, String> f, String name, String line) {
        String v = f.get(name);
        if (v == null) {
            throw new IllegalArgumentException("inotify fdinfo: no " + name + " in '" + line + "'");
        }
        return v;
    }
}
