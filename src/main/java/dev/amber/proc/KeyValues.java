package dev.amber.proc;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code Label:<blanks>value} lines of {@code status}, {@code smaps_rollup} and {@code fdinfo},
 * kept in file order with their line numbers so errors can point at them. A label may repeat
 * ({@code tfd:} in an epoll fdinfo, {@code lock:}).
 *
 * <p>The label is the text before the first {@code ':'} ("settime flags" is one label), except for
 * the inotify and fanotify fdinfo lines, whose label is the first word and has no colon:
 * {@code inotify wd:1 ino:2a sdev:800001 mask:fff ignored_mask:0}.
 */
final class KeyValues {
    /** One line: its number, its label, the value with surrounding blanks removed, and the raw value. */
    record Line(int number, String text, String label, String value, String raw) {}

    private final String source;
    private final Map<String, List<Line>> byLabel = new LinkedHashMap<>();

    private KeyValues(String source) {
        this.source = source;
    }

    static KeyValues parse(String source, String text) {
        var values = new KeyValues(source);
        var lines = new Lines(source, text);
        while (lines.next()) {
            String line = lines.line();
            if (line.isBlank()) continue;
            Line parsed = split(lines, line);
            values.byLabel.computeIfAbsent(parsed.label(), _ -> new ArrayList<>()).add(parsed);
        }
        return values;
    }

    private static Line split(Lines lines, String line) {
        for (String word : new String[] {"inotify ", "fanotify "}) {
            if (line.startsWith(word)) {
                String raw = line.substring(word.length());
                return new Line(lines.number(), line, word.strip(), raw.strip(), raw);
            }
        }
        int colon = line.indexOf(':');
        if (colon <= 0) throw lines.error("\"Label: value\"");
        String raw = line.substring(colon + 1);
        return new Line(lines.number(), line, line.substring(0, colon), raw.strip(), raw);
    }

    boolean has(String label) {
        return byLabel.containsKey(label);
    }

    /** The first line with this label, or a format error naming the missing label. */
    Line require(String label) {
        List<Line> found = byLabel.get(label);
        if (found == null) throw new ProcFormatException(source, 0, "expected a \"" + label + ":\" line, found none");
        return found.getFirst();
    }

    /** Every line in file order, grouped by label (insertion order of first appearance). */
    Map<String, List<Line>> all() {
        return Collections.unmodifiableMap(byLabel);
    }

    ProcFormatException error(Line line, String expected) {
        return new ProcFormatException(source, line.number(), "expected " + expected + ", found \"" + line.text() + "\"");
    }

    long hex(String label) {
        Line line = require(label);
        try {
            return Long.parseUnsignedLong(line.value(), 16);
        } catch (NumberFormatException e) {
            throw error(line, label + " as hexadecimal");
        }
    }

    long hex(String label, long absent) {
        return has(label) ? hex(label) : absent;
    }

    long decimal(String label) {
        Line line = require(label);
        try {
            return Long.parseLong(line.value());
        } catch (NumberFormatException e) {
            throw error(line, label + " as a decimal number");
        }
    }

    long decimal(String label, long absent) {
        return has(label) ? decimal(label) : absent;
    }

    int decimalInt(String label) {
        long value = decimal(label);
        if (value != (int) value) throw error(require(label), label + " as a 32-bit number");
        return (int) value;
    }

    int decimalInt(String label, int absent) {
        return has(label) ? decimalInt(label) : absent;
    }

    /** A {@code "123 kB"} size, in kB. */
    long kilobytes(String label) {
        Line line = require(label);
        String value = line.value();
        if (!value.endsWith(" kB")) throw error(line, label + " as \"<n> kB\"");
        try {
            return Long.parseLong(value.substring(0, value.length() - 3).strip());
        } catch (NumberFormatException e) {
            throw error(line, label + " as \"<n> kB\"");
        }
    }

    /** Blank-separated unsigned decimal numbers (possibly none), as ints. */
    int[] ints(String label) {
        return has(label) ? ints(require(label)) : new int[0];
    }

    int[] ints(Line line) {
        if (line.value().isEmpty()) return new int[0];
        String[] words = line.value().split("[ \t]+");
        int[] numbers = new int[words.length];
        for (int i = 0; i < words.length; i++) {
            try {
                numbers[i] = Integer.parseUnsignedInt(words[i]);
            } catch (NumberFormatException e) {
                throw error(line, line.label() + " as decimal numbers");
            }
        }
        return numbers;
    }
}
