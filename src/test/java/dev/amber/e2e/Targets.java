package dev.amber.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Builds the C target programs of src/test/c into target/c-targets with gcc, once per JVM and
 * only when a source (the target's .c, amtest.c or amtest.h) is newer than the binary.
 */
final class Targets {
    private static final Path BASE = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
    private static final Path SOURCES = BASE.resolve("src/test/c");
    private static final Path OUT = BASE.resolve("target/c-targets");
    private static final Set<String> built = new HashSet<>();

    private Targets() {}

    /** The absolute, real path of the built target program {@code name}. */
    static synchronized Path binary(String name) throws IOException, InterruptedException {
        Path bin = OUT.resolve(name);
        if (built.contains(name))
            return bin.toRealPath();
        Path src = SOURCES.resolve(name + ".c");
        if (!Files.exists(src))
            throw new AssertionError("no target source " + src);
        List<Path> inputs = List.of(src, SOURCES.resolve("amtest.c"), SOURCES.resolve("amtest.h"));
        if (!Files.exists(bin) || newest(inputs).compareTo(Files.getLastModifiedTime(bin)) > 0)
            compile(name, src, bin);
        built.add(name);
        return bin.toRealPath();
    }

    private static FileTime newest(List<Path> paths) throws IOException {
        FileTime newest = FileTime.fromMillis(0);
        for (Path p : paths) {
            FileTime t = Files.getLastModifiedTime(p);
            if (t.compareTo(newest) > 0)
                newest = t;
        }
        return newest;
    }

    private static void compile(String name, Path src, Path bin) throws IOException, InterruptedException {
        Files.createDirectories(OUT);
        Path log = OUT.resolve(name + ".gcc.log");
        Path tmp = OUT.resolve(name + ".tmp");
        Process gcc = new ProcessBuilder("gcc", "-O1", "-g", "-Wall", "-o", tmp.toString(), src.toString(),
                SOURCES.resolve("amtest.c").toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        if (!gcc.waitFor(120, TimeUnit.SECONDS)) {
            gcc.destroyForcibly();
            throw new AssertionError("gcc " + name + ": timed out");
        }
        if (gcc.exitValue() != 0)
            throw new AssertionError("gcc " + name + " failed:\n" + Files.readString(log));
        Files.move(tmp, bin, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** Every process whose /proc/PID/exe is this binary. */
    static List<Long> running(Path binary) throws IOException {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
                    .filter(p -> binary.toString().equals(Procs.exe(Long.parseLong(p.getFileName().toString()))))
                    .map(p -> Long.parseLong(p.getFileName().toString()))
                    .toList();
        }
    }
}
