package dev.amber.kind;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Attributes;
import dev.amber.image.proto.Credentials;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.Rlimit;
import dev.amber.image.proto.SigAction;
import dev.amber.image.proto.SignalStack;
import dev.amber.image.proto.Timer;
import dev.amber.kind.attr.AttributesKind;
import dev.amber.kind.creds.CredentialsKind;
import dev.amber.kind.signal.SignalKind;
import dev.amber.kind.thread.ThreadKind;
import dev.amber.kind.timer.ITimerKind;
import dev.amber.proc.Personality;
import dev.amber.proc.ProcStatus;
import dev.amber.sys.Resources;
import dev.amber.trace.Tracer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The signal, itimer, thread, credentials and attributes kinds on kinds.c: the dump reads exactly
 * what the program set up and leaves it untouched; restoring that dump into a fresh copy with
 * default state gives it the same state (the copy checks itself); and the two errors.
 */
class KindsTest {
    /** The restart order: credentials after the rest, attributes after credentials. */
    private static final List<ProcessKind> KINDS = List.of(new SignalKind(), new ITimerKind(), new ThreadKind(),
            new CredentialsKind(), new AttributesKind());
    private static final long SA_SIGINFO = 4, SA_ONSTACK = 0x08000000, SA_RESTART = 0x10000000,
            SA_NODEFER = 0x40000000, SA_RESETHAND = 0x80000000L, SA_RESTORER = 0x04000000;
    private static final int SI_USER = 0, SI_QUEUE = -1, SI_TKILL = -6;

    @Test
    void dumpReadsTheSetUpStateAndLeavesTheProgramUntouched() throws Exception {
        try (Tracer tracer = new Tracer(); KindsProgram a = KindsProgram.start("setup")) {
            var d = KindsHarness.dump(tracer, a.pid(), KINDS);
            assertEquals(List.of(), d.refusals());
            Map<String, Long> at = a.addresses();
            assertSignals(d, at);
            assertTimers(d.process().getItimersList());
            assertCredentials(d.process().getCredentials());
            assertAttributes(d);
            assertEquals(at.get("rseq"), d.leader().getRseq().getAddress());
            assertEquals(32, d.leader().getRseq().getLength());
            assertEquals(0x53053053, d.leader().getRseq().getSignature());
            assertEquals(at.get("robust"), d.leader().getRobustList());
            assertEquals(24, d.leader().getRobustListLen());
            assertEquals(at.get("tid_word"), d.leader().getClearChildTid());
            assertTrue(a.terminate().endsWith("PASS\n"));
        }
    }

    @Test
    void restoreGivesAFreshCopyTheDumpedState() throws Exception {
        try (Tracer tracer = new Tracer(); KindsProgram a = KindsProgram.start("setup");
                KindsProgram b = KindsProgram.start("blank")) {
            var d = KindsHarness.dump(tracer, a.pid(), KINDS);
            assertTrue(a.terminate().endsWith("PASS\n"));
            assertEquals(a.addresses(), b.addresses(), "setup and blank copies must share one address layout");
            KindsHarness.restore(tracer, b.pid(), d.process(), d.leader(), KINDS, t -> {
                long[] rseq = t.rseq();
                assertEquals(d.leader().getRseq().getAddress(), rseq[0]);
                assertEquals(d.leader().getRseq().getLength(), rseq[1]);
            });
            String out = b.terminate();
            assertTrue(out.endsWith("PASS\n"), out);
        }
    }

    @Test
    void restoringAHardLimitAboveTheRestorersIsOneClearLine() throws Exception {
        try (Tracer tracer = new Tracer(); KindsProgram b = KindsProgram.start("blank")) {
            int nofile = 7;
            long hard = Resources.rlimit(b.pid(), nofile).hard();
            assumeTrue(hard != Resources.RLIM_INFINITY, "RLIMIT_NOFILE hard limit is unlimited");
            Process saved = Process.newBuilder().setAttributes(Attributes.newBuilder()
                    .setPersonality(Personality.read(b.pid())).setDumpable(1)
                    .addRlimits(Rlimit.newBuilder().setResource(nofile).setSoft(hard).setHard(hard + 1))).build();
            var thrown = assertThrows(IOException.class, () -> KindsHarness.restore(tracer, b.pid(), saved,
                    dev.amber.image.proto.Thread.getDefaultInstance(), List.of(new AttributesKind()), t -> {}));
            assertEquals("pid " + b.pid() + " rlimit RLIMIT_NOFILE: the saved hard limit " + (hard + 1)
                    + " is above the restoring process's hard limit " + hard + ", and raising a hard limit needs"
                    + " CAP_SYS_RESOURCE (EPERM): run amber with CAP_SYS_RESOURCE, or raise the limit of the shell"
                    + " that runs amber restart (ulimit -H -n " + (hard + 1) + ")", thrown.getMessage());
            assertEquals(hard, Resources.rlimit(b.pid(), nofile).hard());
        }
    }

    @Test
    void restoringCredentialsAndAttributesAsTheyAreChangesNothing() throws Exception {
        try (Tracer tracer = new Tracer(); KindsProgram a = KindsProgram.start("blank");
                KindsProgram b = KindsProgram.start("blank")) {
            List<ProcessKind> kinds = List.of(new CredentialsKind(), new AttributesKind());
            var d = KindsHarness.dump(tracer, a.pid(), kinds);
            String before = Files.readString(Path.of("/proc/" + b.pid() + "/status"));
            KindsHarness.restore(tracer, b.pid(), d.process(), d.leader(), kinds, t -> {});
            assertEquals(d.process().getCredentials(), KindsHarness.dump(tracer, b.pid(), kinds).process().getCredentials());
            assertEquals(credentialLines(before), credentialLines(Files.readString(Path.of("/proc/" + b.pid() + "/status"))));
        }
    }

    private static List<String> credentialLines(String status) {
        return status.lines().filter(l -> l.matches("(Uid|Gid|Groups|Cap\\w+|NoNewPrivs):.*")).toList();
    }

    @Test
    void posixTimersAreSaved() throws Exception {
        try (Tracer tracer = new Tracer(); KindsProgram p = KindsProgram.start("timer")) {
            var d = KindsHarness.dump(tracer, p.pid(), List.of(new ITimerKind()));
            assertEquals(List.of(), d.refusals().stream().map(Refusal::toString).toList());
            assertEquals(1, d.process().getPosixTimersCount());
            var t = d.process().getPosixTimers(0);   // id 0, CLOCK_MONOTONIC, SIGEV_NONE, disarmed
            assertEquals(List.of(0, 1, 1, 0L), List.of(t.getId(), t.getClockid(), t.getNotify(), t.getValueNanos()));
            assertTrue(p.terminate().endsWith("PASS\n"));
        }
    }

    private static void assertSignals(KindsHarness.Dumped d, Map<String, Long> at) {
        Map<Integer, SigAction> actions = d.process().getSignals().getActionsList().stream()
                .collect(Collectors.toMap(SigAction::getSigno, x -> x));
        assertEquals(62, actions.size());
        long r = at.get("restorer");
        assertAction(actions.get(10), at.get("on_usr1"), SA_SIGINFO | SA_RESTART | SA_RESTORER, r, bit(1) | bit(39));
        assertAction(actions.get(12), at.get("on_usr2"), SA_ONSTACK | SA_NODEFER | SA_RESTORER, r, 0);
        assertAction(actions.get(1), 1, SA_RESTORER, r, 0);
        assertAction(actions.get(28), at.get("on_winch"), SA_RESETHAND | SA_RESTORER, r, bit(3) | bit(2));
        assertAction(actions.get(14), at.get("on_alrm"), SA_RESTART | SA_RESTORER, r, 0);
        assertAction(actions.get(36), at.get("on_rt"), SA_SIGINFO | SA_RESTORER, r, 0);
        assertAction(actions.get(37), at.get("on_rt"), SA_SIGINFO | SA_RESTORER, r, bit(10));
        assertAction(actions.get(13), 1, SA_RESTORER, r, 0);
        assertNotEquals(0, actions.get(15).getHandler());
        assertAction(actions.get(2), 0, 0, 0, 0);
        assertAction(actions.get(64), 0, 0, 0, 0);
        // SIGTERM too: the program waits in sigsuspend with SIGTERM blocked outside it (amtest.c).
        assertEquals(bit(10) | bit(12) | bit(15) | bit(36) | bit(37), d.leader().getBlocked());
        // tgkill queues SI_TKILL (glibc's sigtimedwait shows it as SI_USER).
        assertEquals(List.of("10 -6 0", "37 -1 33", "37 -1 44"), describe(d.leader().getPendingList()));
        assertEquals(List.of("12 0 0", "36 -1 11", "36 -1 22"), describe(d.process().getSignals().getSharedPendingList()));
        assertEquals(SignalStack.newBuilder().setSp(at.get("altstack")).setSize(65536).setFlags(0x80000000).build(),
                d.leader().getAltstack());
    }

    private static void assertAction(SigAction a, long handler, long flags, long restorer, long mask) {
        String s = "signal " + a.getSigno();
        assertEquals(handler, a.getHandler(), s + " handler");
        assertEquals(flags, a.getFlags(), s + " flags");
        assertEquals(restorer, a.getRestorer(), s + " restorer");
        assertEquals(mask, a.getMask(), s + " mask");
    }

    /** "signo code value" of each siginfo; value only for SI_QUEUE. */
    private static List<String> describe(List<ByteString> infos) {
        return infos.stream().map(i -> {
            ByteBuffer b = ByteBuffer.wrap(i.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
            int code = b.getInt(8);
            assertTrue(code == SI_USER || code == SI_QUEUE || code == SI_TKILL, "si_code " + code);
            return b.getInt(0) + " " + code + " " + (code == SI_QUEUE ? b.getInt(24) : 0);
        }).toList();
    }

    private static void assertTimers(List<Timer> timers) {
        assertEquals(List.of(0, 1, 2), timers.stream().map(Timer::getWhich).toList());
        long[][] want = {{500_250_000, 1_000_000_000L}, {3_005_000, 2_000_000_000L}, {7_000_000, 3_000_000_123L}};
        for (int i = 0; i < 3; i++) {
            assertEquals(want[i][0], timers.get(i).getIntervalMicros(), "itimer " + i + " interval");
            long left = timers.get(i).getValueMicros();
            // CPU-time timers carry one tick (4 ms at HZ 250) more than set, so they never fire early.
            assertTrue(left <= want[i][1] + 10_000 && left > want[i][1] - 60_000_000, "itimer " + i + ": " + left);
        }
    }

    private static void assertCredentials(Credentials c) throws IOException {
        long bounding = ProcStatus.read((int) ProcessHandle.current().pid()).capBnd();
        assertEquals(Credentials.newBuilder().addAllUids(List.of(1001, 1002, 1003, 1004))
                .addAllGids(List.of(1001, 1002, 1003, 1004)).addAllGroups(List.of(100, 200))
                .setCapInheritable(0x420).setCapPermitted(0x421).setCapEffective(0x21).setCapAmbient(0x400)
                .setCapBounding(bounding & ~(1L << 22 | 1L << 27)).setSecurebits(0x11).setNoNewPrivs(true).build(), c);
    }

    private static void assertAttributes(KindsHarness.Dumped d) throws IOException {
        Attributes a = d.process().getAttributes();
        assertEquals(0x0040000 | 0x0020000, a.getPersonality());
        assertEquals(0, a.getDumpable());
        assertEquals(23, a.getPdeathSignal());
        assertEquals(123456, a.getTimerSlackNanos());
        assertTrue(a.getChildSubreaper());
        assertEquals("amber-kinds", d.leader().getComm());
        assertEquals(16, a.getRlimitsCount());
        int self = (int) ProcessHandle.current().pid();
        for (Rlimit r : a.getRlimitsList()) {
            long[] want = switch (r.getResource()) {
                case 4 -> new long[] {1 << 20, 1 << 21};
                case 7 -> new long[] {100, 200};
                case 12 -> new long[] {4096, 8192};
                default -> {
                    var mine = Resources.rlimit(self, r.getResource());
                    yield new long[] {mine.soft(), mine.hard()};
                }
            };
            assertEquals(want[0] + "/" + want[1], r.getSoft() + "/" + r.getHard(), "rlimit " + r.getResource());
        }
    }

    private static long bit(int signo) {
        return 1L << (signo - 1);
    }
}
