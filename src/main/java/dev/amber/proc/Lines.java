package dev.amber.proc;

/**
 * The lines of a /proc text, with the current line number for error messages. Splits on
 * {@code '\n'} only: a {@code '\r'} can be part of a file name.
 */
final class Lines {
    private final String source;
    private final String[] lines;
    private int index = -1;

    Lines(String source, String text) {
        this.source = source;
        this.lines = text.isEmpty() ? new String[0] : text.split("\n");
    }

    String source() {
        return source;
    }

    /** Advances to the next line; false at the end. */
    boolean next() {
        if (index + 1 >= lines.length) return false;
        index++;
        return true;
    }

    /** Looks at the next line without advancing, or null at the end. */
    String peek() {
        return index + 1 < lines.length ? lines[index + 1] : null;
    }

    String line() {
        return lines[index];
    }

    /** 1-based number of the current line. */
    int number() {
        return index + 1;
    }

    Cursor cursor() {
        return new Cursor(this, line());
    }

    ProcFormatException error(String expected) {
        return new ProcFormatException(source, number(), "expected " + expected + ", found \"" + line() + "\"");
    }
}
