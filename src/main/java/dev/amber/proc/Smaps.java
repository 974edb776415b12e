package dev.amber.proc;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses {@code /proc/PID/smaps}: each area is a maps line followed by {@code Label: value} lines,
 * the last of which is VmFlags:
 *
 * <pre>
 * 55832cca2000-55832cca4000 r--p 00000000 fe:00 260386      /usr/bin/head
 * Size:                  8 kB
 * Rss:                   8 kB
 * Pss:                   8 kB
 * Anonymous:             0 kB
 * Swap:                  0 kB
 * THPeligible:           0
 * VmFlags: rd mr mw me
 * </pre>
 *
 * A line whose first word ends with {@code ':'} is a field; any other line starts a new area.
 */
public final class Smaps {
    private Smaps() {}

    public static List<SmapsEntry> read(int pid) throws IOException {
        return ProcFiles.read(ProcFiles.path(pid, "smaps"), Smaps::parse);
    }

    public static List<SmapsEntry> parse(String text) {
        var lines = new Lines("smaps", text);
        var entries = new ArrayList<SmapsEntry>();
        while (lines.next()) {
            if (isField(lines.line())) throw lines.error("a maps line starting an area");
            entries.add(parseArea(lines));
        }
        return List.copyOf(entries);
    }

    private static SmapsEntry parseArea(Lines lines) {
        int headerLine = lines.number();
        MapsEntry mapping = Maps.parseLine(lines);
        Map<String, Long> fields = new HashMap<>();
        Set<String> flags = null;
        while (lines.peek() != null && isField(lines.peek())) {
            lines.next();
            Cursor c = lines.cursor();
            String label = c.token("\"Label:\"");
            label = label.substring(0, label.length() - 1);
            if (label.equals("VmFlags")) {
                String rest = c.rest().strip();
                flags = rest.isEmpty() ? Set.of() : Set.of(rest.split("[ \t]+"));
            } else {
                fields.put(label, c.decimal(label + " as a number"));
            }
        }
        return new SmapsEntry(mapping, require(lines, headerLine, fields, "Rss"), require(lines, headerLine, fields, "Pss"),
                require(lines, headerLine, fields, "Swap"), require(lines, headerLine, fields, "Anonymous"),
                flags == null ? Set.of() : flags, fields);
    }

    private static long require(Lines lines, int headerLine, Map<String, Long> fields, String label) {
        Long value = fields.get(label);
        if (value == null) {
            throw new ProcFormatException(lines.source(), headerLine, "expected a \"" + label + ":\" line in this area, found none");
        }
        return value;
    }

    private static boolean isField(String line) {
        int end = 0;
        while (end < line.length() && line.charAt(end) != ' ' && line.charAt(end) != '\t') end++;
        return end > 0 && line.charAt(end - 1) == ':';
    }
}
