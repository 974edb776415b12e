package dev.amber.proc;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code /proc/PID/fdinfo/N}: four common lines, then lines that depend on the kind of file.
 *
 * <pre>
 * pos:	0
 * flags:	02004002
 * mnt_id:	15
 * ino:	1057
 * eventfd-count:                0
 * tfd:        5 events:       19 data:                5  pos:0 ino:3 sdev:f
 * inotify wd:1 ino:2a sdev:800001 mask:fff ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:2a00
 * lock:	1: FLOCK  ADVISORY  WRITE 3053 00:13:1234 0 EOF
 * </pre>
 *
 * {@code flags} is octal ({@code O_*} bits, {@code O_CLOEXEC} included); {@code ino} appeared in
 * kernel 5.14. Every other line is kept by label, in file order, for the kinds to read.
 *
 * @param ino inode number, or -1 when the kernel prints no {@code ino:} line
 * @param others every line but pos, flags, mnt_id and ino: label to values (blanks stripped),
 *     e.g. {@code "tfd" -> ["5 events: 19 ...", "6 events: ..."]}
 */
public record FdInfo(long pos, int flags, int mntId, long ino, Map<String, List<String>> others) {

    private static final List<String> COMMON = List.of("pos", "flags", "mnt_id", "ino");

    public FdInfo {
        var copy = new LinkedHashMap<String, List<String>>();
        others.forEach((label, values) -> copy.put(label, List.copyOf(values)));
        others = Collections.unmodifiableMap(copy);
    }

    /** The values of one label, or an empty list. */
    public List<String> values(String label) {
        return others.getOrDefault(label, List.of());
    }

    public static FdInfo read(int pid, int fd) throws IOException {
        return ProcFiles.read(ProcFiles.path(pid, "fdinfo/" + fd), FdInfo::parse);
    }

    public static FdInfo parse(String text) {
        var v = KeyValues.parse("fdinfo", text);
        var flagsLine = v.require("flags");
        int flags;
        try {
            flags = Integer.parseInt(flagsLine.value(), 8);
        } catch (NumberFormatException e) {
            throw v.error(flagsLine, "flags as octal");
        }
        var others = new LinkedHashMap<String, List<String>>();
        v.all().forEach((label, lines) -> {
            if (COMMON.contains(label)) return;
            var values = new ArrayList<String>(lines.size());
            for (var line : lines) values.add(line.value());
            others.put(label, values);
        });
        return new FdInfo(v.decimal("pos"), flags, v.decimalInt("mnt_id"), v.decimal("ino", -1), others);
    }
}
