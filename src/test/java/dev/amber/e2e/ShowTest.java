package dev.amber.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import dev.amber.image.ImageFixtures;
import dev.amber.image.ImageFormat;
import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.ImageDescription;
import dev.amber.image.proto.Process;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code amber show} of a real image (mem_anon, checkpointed without --kill, so /proc of the
 * still running original is the reference): the text names the pid, lists every area of the
 * memory map, the registers and the descriptors; the JSON parses back into ImageDescription; a
 * missing or damaged image is one line on stderr.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ShowTest {
    /** "    7ffe1d485000-7ffe1d4a6000  rw-p  ANON_PRIVATE  4  [stack]" */
    private static final Pattern MAPS = Pattern.compile("^([0-9a-f]+)-([0-9a-f]+) (\\S{4}) \\S+ \\S+ \\S+\\s*(.*)$");
    private static final Pattern REGS = Pattern.compile("rip 0x([0-9a-f]+) rsp 0x([0-9a-f]+) ");

    @TempDir
    Path tmp;

    @BeforeEach
    void needsEngine() {
        Assumptions.assumeFalse(Amber.nocr(), "needs the engine: show (AMBER_TEST_NOCR=1)");
    }

    /** One area of /proc/PID/maps. */
    private record Area(long start, long end, String perms, String path) {
        boolean contains(long address) {
            return Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0;
        }

        /** The row show prints for it: address range, prot, (kind, pages,) path. */
        Pattern row() {
            return Pattern.compile("(?m)^    " + String.format("%012x-%012x", start, end) + "\\s+" + Pattern.quote(perms)
                    + "\\s+[A-Z_]+\\s+\\d+" + (path.isEmpty() ? "" : "\\s+" + Pattern.quote(path)) + "$");
        }
    }

    private static List<Area> maps(ProcSnapshot snapshot) {
        List<Area> areas = new ArrayList<>();
        for (String line : snapshot.maps()) {
            Matcher m = MAPS.matcher(line);
            if (!m.matches())
                throw new AssertionError("unexpected /proc maps line: " + line);
            areas.add(new Area(Long.parseUnsignedLong(m.group(1), 16), Long.parseUnsignedLong(m.group(2), 16), m.group(3),
                    m.group(4).strip()));
        }
        return areas;
    }

    /** Checkpoints mem_anon without --kill; returns the image; the target keeps running. */
    private static Path checkpoint(Target t, Path image) throws Exception {
        Amber.Result c = t.run("checkpoint", Long.toString(t.pid), "-D", image.toString());
        assertEquals(0, c.exit(), c.describe());
        Target.assertImage(image, c);
        Procs.await(() -> Procs.runsFree(t.pid), Duration.ofSeconds(5), "pid " + t.pid + " to run free");
        return image;
    }

    @Test
    void show_text_and_json() throws Exception {
        try (Target t = Target.start(tmp, "mem_anon")) {
            t.awaitReady();
            ProcSnapshot before = t.snapshot();
            Path image = checkpoint(t, tmp.resolve("image"));
            List<Area> areas = maps(before);
            Path log = t.log.toRealPath();

            Amber.Result show = t.run("show", image.toString());
            assertEquals(0, show.exit(), show.describe());
            assertEquals("", show.stderr(), show.describe());
            String text = show.stdout();
            assertTrue(text.startsWith("image " + image + "\n"), show.describe());
            assertTrue(text.contains("\n  format    " + ImageFormat.version() + "\n"), show.describe());
            assertTrue(text.contains("\n  arch      " + ImageFormat.hostArch() + "\n"), show.describe());
            assertTrue(text.contains("\n  root pid  " + t.pid + "\n"), show.describe());
            assertTrue(text.contains("\nprocess " + t.pid + "  ppid " + ProcessHandle.current().pid() + "  "),
                    "process line with pid and the test JVM as parent\n" + show.describe());
            assertTrue(text.contains("  comm mem_anon\n"), show.describe());

            // Every area of /proc/PID/maps is a row, [heap], [stack] and [vdso] among them.
            assertTrue(text.contains("\n  memory: " + areas.size() + " areas, "), areas.size() + " areas\n" + show.describe());
            List<String> missing = areas.stream().filter(a -> !a.row().matcher(text).find()).map(Area::toString).toList();
            assertEquals(List.of(), missing, "areas of /proc/" + t.pid + "/maps without their row in show\n" + show.describe());
            for (String special : List.of("[heap]", "[stack]", "[vdso]"))
                assertTrue(areas.stream().anyMatch(a -> a.path().equals(special)), "mem_anon has no " + special + " area");

            // The one thread: in a syscall (sigsuspend), so rip is in executable code, rsp in [stack].
            Matcher regs = REGS.matcher(text);
            assertTrue(regs.find(), "no rip/rsp\n" + show.describe());
            long rip = Long.parseUnsignedLong(regs.group(1), 16);
            long rsp = Long.parseUnsignedLong(regs.group(2), 16);
            assertTrue(areas.stream().anyMatch(a -> a.contains(rip) && a.perms().charAt(2) == 'x'),
                    String.format("rip 0x%x in no executable area\n%s", rip, show.describe()));
            Area stack = areas.stream().filter(a -> a.path().equals("[stack]")).findFirst().orElseThrow();
            assertTrue(stack.contains(rsp), String.format("rsp 0x%x outside [stack] %s\n%s", rsp, stack, show.describe()));
            assertTrue(Pattern.compile("(?m)^\\s+" + t.pid + "\\s+mem_anon\\s+rip 0x").matcher(text).find(),
                    "thread row for tid " + t.pid + "\n" + show.describe());

            // Descriptors: /dev/null (a device) on 0, the log on 1 (O_APPEND: ProcessBuilder appendTo), 2 shares 1.
            assertTrue(text.contains("\n  descriptors: 3\n"), show.describe());
            // /dev/null is a device (kind.device); show does not detail device rows yet.
            assertTrue(Pattern.compile("(?m)^\\s+0\\s+device\\s").matcher(text).find(),
                    "fd 0 row\n" + show.describe());
            assertTrue(Pattern.compile("(?m)^\\s+1\\s+file\\s+wronly,append\\s+\\d+\\s+" + Pattern.quote(log.toString()) + "$")
                    .matcher(text).find(), "fd 1 row\n" + show.describe());

            Amber.Result json = t.run("show", image.toString(), "--json");
            assertEquals(0, json.exit(), json.describe());
            assertEquals("", json.stderr(), json.describe());
            ImageDescription.Builder parsed = ImageDescription.newBuilder();
            JsonFormat.parser().merge(json.stdout(), parsed);
            ImageDescription d = parsed.build();
            assertEquals(image.toString(), d.getDirectory());
            assertEquals(t.pid, d.getInventory().getRootPid());
            assertEquals(ImageFormat.MAJOR, d.getInventory().getFormatMajor());
            assertEquals(ImageFormat.MINOR, d.getInventory().getFormatMinor());
            assertEquals(ImageFormat.hostArch(), d.getInventory().getArch());
            assertEquals(1, d.getProcessesCount(), json.describe());
            Process p = d.getProcesses(0);
            assertEquals(t.pid, p.getPid());
            assertEquals("mem_anon", p.getComm());
            assertEquals(areas.size(), p.getMemory().getVmasCount(), "vmas in JSON");
            for (int i = 0; i < areas.size(); i++) {
                assertEquals(areas.get(i).start(), p.getMemory().getVmas(i).getStart(), "vma " + i + " start");
                assertEquals(areas.get(i).end(), p.getMemory().getVmas(i).getEnd(), "vma " + i + " end");
            }
            assertEquals(1, p.getThreadsCount());
            assertEquals(t.pid, p.getThreads(0).getTid());
            assertEquals(List.of(0, 1, 2), p.getDescriptorsList().stream().map(Descriptor::getFd).toList());
            assertEquals("/dev/null", p.getDescriptors(0).getDevice().getPath());
            assertEquals(1, p.getDescriptors(0).getDevice().getMajor());
            assertEquals(3, p.getDescriptors(0).getDevice().getMinor());
            assertEquals(log.toString(), p.getDescriptors(1).getRegular().getPath());
            Descriptor fd2 = p.getDescriptors(2);
            assertTrue(fd2.getShares() && fd2.getSameAs() == 1, "fd 2 shares fd 1's open file description: " + fd2);

            // show only reads: the original runs on as it was and passes.
            CheckpointRestartTest.assertSame(before, t);
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /**
     * A descriptor that shares an earlier one's open file description (fd 2 of a target whose
     * stdout and stderr are one file) is shown as such, naming that fd, not by an internal enum
     * name ("kind_not_set").
     */
    @Test
    void show_names_shared_descriptor() throws Exception {
        try (Target t = Target.start(tmp, "mem_anon")) {
            t.awaitReady();
            Path image = checkpoint(t, tmp.resolve("image"));
            Amber.Result show = t.run("show", image.toString());
            assertEquals(0, show.exit(), show.describe());
            String row = show.stdout().lines().filter(l -> l.matches("^\\s+2\\s+.*")).findFirst()
                    .orElseThrow(() -> new AssertionError("no fd 2 row\n" + show.describe()));
            assertTrue(!row.contains("kind_not_set") && row.matches(".*\\b1\\b.*"),
                    "fd 2 row should say it shares fd 1: '" + row + "'\n" + show.describe());
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    @Test
    void show_missing_directory() throws Exception {
        Path missing = tmp.resolve("no-such-image");
        Amber.Result r = Amber.run(Target.TOOL_TIMEOUT, tmp.resolve("tool"), "show", missing.toString());
        BadInputTest.assertOneLineFailure(r);
        assertEquals("amber: no image at " + missing + ": directory does not exist", r.stderrLines().getFirst());
        assertEquals("", r.stdout(), r.describe());
    }

    /** Damage to the inventory or to a listed file: one line naming the file, nothing on stdout. */
    @Test
    void show_corrupt_images() throws Exception {
        try (Target t = Target.start(tmp, "mem_anon")) {
            t.awaitReady();
            Path image = checkpoint(t, tmp.resolve("image"));
            String process = ImageFormat.processFile((int) t.pid);
            String pages = ImageFormat.pagesFile((int) t.pid);
            for (String victim : List.of(ImageFormat.INVENTORY, process, pages)) {
                Path copy = copy(image, tmp.resolve("flip-" + victim));
                ImageFixtures.flipByte(copy, victim, Files.size(copy.resolve(victim)) / 2);
                for (String mode : List.of("text", "json")) {
                    Amber.Result r = mode.equals("text") ? t.run("show", copy.toString())
                            : t.run("show", copy.toString(), "--json");
                    BadInputTest.assertOneLineFailure(r);
                    assertTrue(r.stderrLines().getFirst().startsWith("amber: ") && r.stderrLines().getFirst().contains(victim),
                            "the line names " + victim + " (" + mode + ")\n" + r.describe());
                    assertEquals("", r.stdout(), r.describe());
                }
            }
            t.sigterm();
            t.assertPassed(t.awaitExit(Duration.ofSeconds(30)));
        }
    }

    private static Path copy(Path from, Path to) throws java.io.IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : files.toList())
                Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }
}
