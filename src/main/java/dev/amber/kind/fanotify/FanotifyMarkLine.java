package dev.amber.kind.fanotify;

import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * One line of a fanotify descriptor's fdinfo (fs/notify/fdinfo.c), every number hex:
 *
 * <pre>
 * fanotify flags:10 event-flags:8000
 * fanotify ino:3f7e8 sdev:fe00000 mflags:0 mask:3b ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e8f7030000000000
 * fanotify mnt_id:1b mflags:0 mask:30 ignored_mask:0
 * fanotify sdev:fe00000 mflags:0 mask:30 ignored_mask:0
 * </pre>
 *
 * The first is the group (fanotify_init's flags and event_f_flags), then one per mark: an inode
 * mark (with the inode's file handle), a mount mark, a file system mark. {@code sdev} is the
 * kernel's dev_t (major in the top 12 bits); {@code mflags} are the mark's user FAN_MARK_* flags.
 */
record FanotifyMarkLine(Map<String, String> fields, String line) {

    static FanotifyMarkLine parse(String line) {
        Map<String, String> f = new HashMap<>();
        for (String part : line.trim().split("\\s+")) {
            int colon = part.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("fanotify fdinfo: '" + part + "' in '" + line + "' is not name:value");
            }
            f.put(part.substring(0, colon), part.substring(colon + 1));
        }
        return new FanotifyMarkLine(f, line);
    }

    boolean group() {
        return fields.containsKey("flags");
    }

    boolean inode() {
        return fields.containsKey("ino");
    }

    boolean mount() {
        return fields.containsKey("mnt_id");
    }

    long hex(String name) {
        String v = fields.get(name);
        if (v == null) {
            throw new IllegalArgumentException("fanotify fdinfo: no " + name + " in '" + line + "'");
        }
        try {
            return Long.parseUnsignedLong(v, 16);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("fanotify fdinfo: " + name + " is not hex in '" + line + "'");
        }
    }

    int major() {
        return (int) (hex("sdev") >>> 20);
    }

    int minor() {
        return (int) (hex("sdev") & 0xfffff);
    }

    byte[] handle() {
        byte[] h = HexFormat.of().parseHex(fields.getOrDefault("f_handle", ""));
        if (h.length != hex("fhandle-bytes")) {
            throw new IllegalArgumentException("fanotify fdinfo: f_handle has " + h.length + " bytes, fhandle-bytes says "
                    + hex("fhandle-bytes") + ": '" + line + "'");
        }
        return h;
    }
}
