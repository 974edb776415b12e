package dev.amber.proc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Function;

/**
 * Reads {@code /proc} files and turns every failure into an exception whose message starts with
 * the file: {@code /proc/4242/maps: No such file or directory (process gone?)}.
 */
final class ProcFiles {
    private ProcFiles() {}

    static Path path(int pid, String name) {
        return Path.of("/proc", Integer.toString(pid), name);
    }

    static Path taskPath(int pid, int tid, String name) {
        return Path.of("/proc", Integer.toString(pid), "task", Integer.toString(tid), name);
    }

    /** Whole file. /proc files report size 0; readAllBytes then reads to end of file. */
    static byte[] readBytes(Path file) throws IOException {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw named(file, e);
        }
    }

    static String readString(Path file) throws IOException {
        return new String(readBytes(file), StandardCharsets.UTF_8);
    }

    /** Reads {@code file} and parses it, naming the real file in a format error. */
    static <T> T read(Path file, Function<String, T> parser) throws IOException {
        String text = readString(file);
        try {
            return parser.apply(text);
        } catch (ProcFormatException e) {
            throw e.withSource(file.toString());
        }
    }

    static String readLink(Path link) throws IOException {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
            throw named(link, e);
        }
    }

    /** The numeric entries of a directory such as {@code fd} or {@code task}, sorted. */
    static int[] listNumbers(Path dir) throws IOException {
        int[] numbers = new int[16];
        int count = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (count == numbers.length) numbers = Arrays.copyOf(numbers, count * 2);
                try {
                    numbers[count++] = Integer.parseInt(name);
                } catch (NumberFormatException e) {
                    throw new ProcFormatException(dir.toString(), 0,
                            "expected numeric entries, found \"" + name + "\"");
                }
            }
        } catch (IOException e) {
            throw named(dir, e);
        }
        int[] sorted = Arrays.copyOf(numbers, count);
        Arrays.sort(sorted);
        return sorted;
    }

    static IOException named(Path file, IOException e) {
        String name = file.toString();
        IOException named = switch (e) {
            // A /proc/PID directory vanishes when the process is reaped.
            case NoSuchFileException _ ->
                    new NoSuchFileException(name, null, "No such file or directory (process gone?)");
            case AccessDeniedException _ -> new AccessDeniedException(name, null, "Permission denied");
            default -> new IOException(name + ": " + reason(e));
        };
        named.initCause(e);
        return named;
    }

    private static String reason(IOException e) {
        String message = e.getMessage();
        return message == null ? e.getClass().getSimpleName() : message;
    }
}
