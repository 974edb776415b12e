package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Programs from Debian's packages run as their users run them (python3, sqlite3, make with gcc,
 * sort, gzip, bash) and a small C program sharing a page with its children: each is run once
 * straight through and once checkpointed with --kill mid-work, restarted and left to finish
 * ({@link TwinRuns}), and what the second run leaves behind must equal the first's, byte for byte.
 * The programs and their inputs are in src/test/programs or made here; scripts/setup installs
 * the packages.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class RealProgramsTest {
    private static final Path PROGRAMS = Path.of(System.getProperty("basedir", System.getProperty("user.dir")))
            .resolve("src/test/programs");
    /** Debian's python3, not another one first on PATH (a pyenv's, say): scripts/setup installs it. */
    private static final String PYTHON = "/usr/bin/python3";
    private static final int BIG_CHUNK = 512 << 10;

    @TempDir
    Path tmp;

    /** A generator and dicts, a line per prime printed as it goes. */
    @Test
    void python_prints_a_sequence() throws Exception {
        requirePackage(PYTHON, "python3");
        TwinRuns runs = TwinRuns.run(tmp, new TwinRuns.Program("sequence",
                List.of(PYTHON, "-I", "sequence.py", "300"), copy("sequence.py"),
                dir -> TwinRuns.lines(dir.resolve("sequence.log")).size() >= 40,
                dir -> TwinRuns.lines(dir.resolve("sequence.log")).size()));
        runs.assertSameLog();
    }

    /** A transaction open in sqlite3 (a rollback journal beside the database) when checkpointed. */
    @Test
    void sqlite3_transaction_with_a_rollback_journal() throws Exception {
        sqlite3Transaction("delete");
    }

    /** The same with a write-ahead log, whose index sqlite3 maps shared (the -shm file). */
    @Test
    void sqlite3_transaction_with_a_write_ahead_log() throws Exception {
        sqlite3Transaction("wal");
    }

    private void sqlite3Transaction(String journalMode) throws Exception {
        requirePackage("/usr/bin/sqlite3", "sqlite3");
        TwinRuns runs = TwinRuns.run(tmp, new TwinRuns.Program("sqlite3",
                List.of("/bin/bash", "-c", "./squares.sh " + journalMode + " 250 | sqlite3 -batch squares.db"),
                copy("squares.sh"),
                dir -> TwinRuns.lines(dir.resolve("sqlite3.log")).size() >= 6,
                dir -> TwinRuns.lines(dir.resolve("sqlite3.log")).size()));
        runs.assertSameLog();
        // sqlite3 writes the same pages in the same order whether it was interrupted or not, and
        // folds the journal or log back into the database when it closes it.
        runs.assertSame("cwd/squares.db");
        assertEquals(List.of("squares.db", "squares.sh"), files(runs.restored.resolve("cwd")), "no journal left behind");
        assertEquals(dump(runs.reference), dump(runs.restored), "sqlite3 .dump");
    }

    /**
     * make -j2 building a generated C project, checkpointed with two compilers at work. Which of
     * two parallel jobs make starts or finishes first is up to the scheduler, in either run, so
     * its log is compared as a set of lines; the objects and binaries must be the same byte for
     * byte, and the program must print the same.
     */
    @Test
    void make_j2_builds_a_c_project() throws Exception {
        requirePackage("/usr/bin/make", "make");
        TwinRuns runs = TwinRuns.run(tmp, new TwinRuns.Program("make", List.of("/usr/bin/make", "-j2"), CProject::write,
                dir -> objects(dir) >= 3, RealProgramsTest::objects));
        assertEquals(sortedLines(runs.reference.resolve("make.log")), sortedLines(runs.restored.resolve("make.log")),
                "the lines make printed");
        assertEquals(CProject.UNITS + 1, objects(runs.restored), "objects built");
        for (String f : files(runs.reference.resolve("cwd")))
            if (f.endsWith(".o") || f.startsWith("prog"))
                runs.assertSame("cwd/" + f);
        String want = runOutput(runs.reference.resolve("cwd/prog"));
        assertEquals(CProject.UNITS, want.lines().count(), "prog's output\n" + want);
        assertEquals(want, runOutput(runs.restored.resolve("cwd/prog")), "what the restarted build's prog prints");
        assertEquals(want, runOutput(runs.restored.resolve("cwd/prog2")), "what the restarted build's prog2 prints");
    }

    /**
     * sort of a large file fed to it through a pipe at a measured pace, with a small buffer, so
     * that it has sorted runs in temporary files when it is checkpointed.
     */
    @Test
    void sort_a_large_file() throws Exception {
        TwinRuns runs = TwinRuns.run(tmp, new TwinRuns.Program("sort",
                List.of("/bin/bash", "-c", slowly("big.txt") + " | LC_ALL=C sort -S 1M -T sorttmp > sorted.txt"),
                cwd -> {
                    bigFile(cwd);
                    Files.createDirectory(cwd.resolve("sorttmp"));
                },
                dir -> files(dir.resolve("cwd/sorttmp")).size() >= 4,
                dir -> TwinRuns.size(dir.resolve("cwd/sorted.txt"))));
        runs.assertSameLog();
        runs.assertSame("cwd/sorted.txt");
        assertEquals(TwinRuns.size(runs.restored.resolve("cwd/big.txt")), TwinRuns.size(runs.restored.resolve("cwd/sorted.txt")),
                "sorted.txt has every byte of big.txt");
        assertEquals(List.of(), files(runs.restored.resolve("cwd/sorttmp")), "sort's temporary files removed");
    }

    /**
     * gzip of a stream fed to it at a measured pace. Reading a pipe, gzip stores neither a name
     * nor a time in the header (mtime 0), so the .gz itself must be the reference's, and it must
     * decompress to the input.
     */
    @Test
    void gzip_a_stream() throws Exception {
        TwinRuns runs = TwinRuns.run(tmp, new TwinRuns.Program("gzip",
                List.of("/bin/bash", "-c", slowly("big.txt") + " | gzip -c > big.txt.gz"),
                RealProgramsTest::bigFile,
                dir -> TwinRuns.size(dir.resolve("cwd/big.txt.gz")) >= 2 << 20,
                dir -> TwinRuns.size(dir.resolve("cwd/big.txt.gz"))));
        runs.assertSameLog();
        runs.assertSame("cwd/big.txt.gz");
        Path cwd = runs.restored.resolve("cwd");
        Process gunzip = new ProcessBuilder("gzip", "-d", "-c", "big.txt.gz").directory(cwd.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(cwd.resolve("unzipped.txt").toFile()).redirectErrorStream(false).start();
        assertTrue(gunzip.waitFor(60, TimeUnit.SECONDS), "gzip -d within 60 s");
        assertEquals(0, gunzip.exitValue(), "gzip -d exit status");
        assertEquals(-1, Files.mismatch(cwd.resolve("big.txt"), cwd.resolve("unzipped.txt")), "big.txt.gz decompressed");
    }

    /** bash with traps on USR1 and EXIT, a subshell pipeline per round, background jobs and wait. */
    @Test
    void bash_traps_subshells_and_jobs() throws Exception {
        TwinRuns runs = TwinRuns.run(tmp, new TwinRuns.Program("traps", List.of("/bin/bash", "traps.sh", "45"), copy("traps.sh"),
                dir -> TwinRuns.lines(dir.resolve("traps.log")).size() >= 12,
                dir -> TwinRuns.lines(dir.resolve("traps.log")).size()));
        runs.assertSameLog();
    }

    /** A parent and two children taking turns on counters in a MAP_SHARED|MAP_ANONYMOUS page. */
    @Test
    void counters_in_a_shared_anonymous_page() throws Exception {
        sharedCounters("anon");
    }

    /** The same in a /dev/shm file mapped shared and unlinked at once: only the mappings hold it. */
    @Test
    void counters_in_an_unlinked_shm_file() throws Exception {
        sharedCounters("shm-file");
    }

    private void sharedCounters(String page) throws Exception {
        String binary = Targets.binary("shared_counters").toString();
        TwinRuns runs = TwinRuns.run(tmp, new TwinRuns.Program("shared_counters", List.of(binary, page, "150"), cwd -> {},
                dir -> TwinRuns.lines(dir.resolve("shared_counters.log")).size() >= 25,
                dir -> TwinRuns.lines(dir.resolve("shared_counters.log")).size()));
        runs.assertSameLog();
    }

    /** A bash loop that hands the file on in chunks of 512 KiB, a pause after each (about 2.4 s in all). */
    private static String slowly(String file) {
        return "for ((i = 0; i < 48; i++)); do dd if=" + file + " bs=" + BIG_CHUNK + " skip=$i count=1 status=none; sleep 0.05; done";
    }

    /**
     * big.txt: just under 48 chunks (24 MiB) of lines of random-looking hex and letters with a
     * line number, the same every time (a fixed-seed generator), few of them alike.
     */
    private static void bigFile(Path cwd) throws IOException {
        var random = new java.util.SplittableRandom(20261202);
        char[] word = new char[20];
        long written = 0;
        try (BufferedWriter w = Files.newBufferedWriter(cwd.resolve("big.txt"))) {
            for (int n = 0; written < 48L * BIG_CHUNK - 100; n++) {
                for (int i = 0; i < word.length; i++)
                    word[i] = (char) ('a' + random.nextInt(10));
                String line = "%08x %s %d\n".formatted(random.nextInt() & 0xffffffffL, new String(word), n);
                w.write(line);
                written += line.length();
            }
        }
    }

    private static TwinRuns.Setup copy(String program) {
        return cwd -> Files.copy(PROGRAMS.resolve(program), cwd.resolve(program), StandardCopyOption.COPY_ATTRIBUTES);
    }

    private static void requirePackage(String binary, String pkg) {
        assertTrue(Files.isExecutable(Path.of(binary)), binary + " is missing: install Debian's " + pkg + " (scripts/setup does)");
    }

    /** The .o files in DIR/cwd. */
    private static long objects(Path dir) {
        return files(dir.resolve("cwd")).stream().filter(f -> f.endsWith(".o")).count();
    }

    /** The names in a directory, sorted; none while it does not exist. */
    private static List<String> files(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static List<String> sortedLines(Path file) throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.sort(null);
        return lines;
    }

    private static String dump(Path dir) throws IOException, InterruptedException {
        return runOutput(Path.of("/usr/bin/sqlite3"), dir.resolve("cwd/squares.db").toString(), ".dump");
    }

    /** What a command prints (stdout and stderr), after checking it exits 0. */
    private static String runOutput(Path binary, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(binary.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), binary + " within 30 s");
        assertEquals(0, p.exitValue(), binary + " exit status\n" + out);
        return out;
    }
}
