package dev.amber.proc;

/**
 * Reads space-separated tokens from one line; every failure names the line and what was expected.
 */
final class Cursor {
    private final Lines lines;
    private final String text;
    private int pos;

    Cursor(Lines lines, String text) {
        this.lines = lines;
        this.text = text;
    }

    boolean atEnd() {
        skipBlanks();
        return pos >= text.length();
    }

    /** The next run of non-blank characters. */
    String token(String expected) {
        skipBlanks();
        int start = pos;
        while (pos < text.length() && !isBlank(text.charAt(pos))) pos++;
        if (start == pos) throw error(expected);
        return text.substring(start, pos);
    }

    /** Everything after the blanks that follow the last token (trailing blanks kept). */
    String rest() {
        skipBlanks();
        String rest = text.substring(pos);
        pos = text.length();
        return rest;
    }

    /** Unsigned hexadecimal, with or without a leading {@code 0x}. */
    long hex(String expected) {
        String token = token(expected);
        if (token.startsWith("0x")) token = token.substring(2);
        try {
            return Long.parseUnsignedLong(token, 16);
        } catch (NumberFormatException e) {
            throw error(expected);
        }
    }

    /** Signed decimal; also accepts unsigned values up to 2^64-1 (as their two's complement). */
    long decimal(String expected) {
        String token = token(expected);
        try {
            return token.startsWith("-") ? Long.parseLong(token) : Long.parseUnsignedLong(token);
        } catch (NumberFormatException e) {
            throw error(expected);
        }
    }

    int decimalInt(String expected) {
        long value = decimal(expected);
        if (value < Integer.MIN_VALUE || value > 0xffff_ffffL) throw error(expected);
        return (int) value;
    }

    ProcFormatException error(String expected) {
        return lines.error(expected);
    }

    private void skipBlanks() {
        while (pos < text.length() && isBlank(text.charAt(pos))) pos++;
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }
}
