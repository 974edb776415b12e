package dev.amber.cli;

/** Human-readable sizes, durations and rates. */
final class Units {
    private Units() {}

    static String bytes(long b) {
        if (b >= 1L << 30) {
            return String.format("%.2f GiB", b / (double) (1L << 30));
        }
        if (b >= 1L << 20) {
            return String.format("%.1f MiB", b / (double) (1L << 20));
        }
        if (b >= 1L << 10) {
            return String.format("%.1f KiB", b / 1024.0);
        }
        return b + " B";
    }

    static String millis(long nanos) {
        return nanos >= 10_000_000 ? (nanos / 1_000_000) + " ms" : String.format("%.2f ms", nanos / 1e6);
    }

    static String rate(long bytes, long nanos) {
        return String.format("%.0f MiB/s", bytes / (double) (1 << 20) / Math.max(nanos / 1e9, 1e-9));
    }
}
