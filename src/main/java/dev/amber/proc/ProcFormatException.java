package dev.amber.proc;

/**
 * Text read from {@code /proc} did not have the shape the kernel documents.
 *
 * <p>The message names the source (the file, or its short name when parsing fixture text), the
 * 1-based line when there is one, and what was expected and found:
 * {@code /proc/4242/maps line 3: expected permissions like "rw-p", found "7f00-7f01 rwx 0 ..."}.
 * Unchecked: either the kernel changed a format or our parser is wrong; neither is the user's to
 * fix.
 */
public final class ProcFormatException extends RuntimeException {
    private final String source;
    private final int line;
    private final String detail;

    /** {@code line} is 1-based, or 0 when the problem is not on one line (a missing line). */
    public ProcFormatException(String source, int line, String detail) {
        super(message(source, line, detail));
        this.source = source;
        this.line = line;
        this.detail = detail;
    }

    private static String message(String source, int line, String detail) {
        return line > 0 ? source + " line " + line + ": " + detail : source + ": " + detail;
    }

    /** The same problem, with the source replaced by the real file it was read from. */
    public ProcFormatException withSource(String file) {
        var e = new ProcFormatException(file, line, detail);
        e.initCause(this);
        return e;
    }

    public String source() {
        return source;
    }

    /** 1-based line number, or 0 when the problem is not on one line. */
    public int line() {
        return line;
    }

    /** The message without source and line: {@code expected ..., found ...}. */
    public String detail() {
        return detail;
    }
}
