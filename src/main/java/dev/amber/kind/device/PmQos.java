package dev.amber.kind.device;

import dev.amber.image.proto.Device;
import dev.amber.image.proto.PmQosRequest;
import dev.amber.kind.DumpContext;
import dev.amber.kind.FdRef;
import dev.amber.kind.OutsideProcesses;
import dev.amber.kind.Refusal;
import dev.amber.kind.TreeDump;
import dev.amber.proc.FdInfo;
import dev.amber.sys.Arch;
import dev.amber.sys.Syscall;
import dev.amber.trace.Injector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * /dev/cpu_dma_latency (kernel/power/qos.c): opening it adds a CPU latency request at the
 * default (no constraint, {@link #DEFAULT_VALUE}); a write of a 4-byte value sets it; closing the
 * file drops it. A read gives not the file's own request but the target in force, the smallest
 * of all requests, as 4 bytes read once from offset 0.
 *
 * <p>The kernel shows no request by itself (no fdinfo line, no debugfs file since 5.7), so the
 * saved request is what a read gives: the target in force. That is the file's own request when
 * no other open file can hold one: the file is read-only (its request was never written), the
 * target is the default (every request is), or it is the only writable open file of the device
 * on the system. With two or more writable open files and a constraint in force, which of them
 * holds it cannot be told: refused. A request a driver holds inside the kernel cannot be seen
 * either; if it is stricter than the process's own, the restarted request is that stricter one.
 */
final class PmQos {
    /** PM_QOS_CPU_LATENCY_DEFAULT_VALUE: 2000 s in microseconds. */
    static final int DEFAULT_VALUE = 2_000_000_000;
    private static final int KCMP_FILE = 0, O_ACCMODE = 3, O_RDONLY = 0, VALUE_SIZE = 4;

    /** The writable open files of the device in the tree whose target is not the default, for the end check. */
    private final List<Holder> holders = new ArrayList<>();

    private record Holder(FdRef ref, String link, String what, int value) {}

    private PmQos() {}

    /** Saves the request of descriptor {@code fd} into {@code dev}; false when it has refused it. */
    static boolean dump(DumpContext ctx, int fd, String what, Device.Builder dev) throws IOException {
        int value = (dev.getFlags() & O_ACCMODE) == O_RDONLY ? DEFAULT_VALUE : target(ctx.pid(), fd);
        dev.setPmQos(PmQosRequest.newBuilder().setValue(value));
        if (value != DEFAULT_VALUE) {
            PmQos all = ctx.tree().cached(PmQos.class, () -> {
                PmQos made = new PmQos();
                ctx.tree().atEnd(() -> made.check(ctx.tree()));
                return made;
            });
            String link = dev.getDeleted() ? dev.getPath() + DeviceKind.DELETED : dev.getPath();
            all.holders.add(new Holder(new FdRef(ctx.pid(), fd), link, what, value));
        }
        return true;
    }

    /**
     * The target in force, read through a new open file of the same node (a request at the
     * default, which changes nothing), not through the process's: its offset would move.
     */
    private static int target(int pid, int fd) throws IOException {
        try (FileChannel ch = FileChannel.open(Path.of("/proc/" + pid + "/fd/" + fd), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(VALUE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b) > 0) {
                // one read gives all 4 bytes
            }
            if (b.hasRemaining()) {
                throw new IOException("pid " + pid + " fd " + fd + ": read " + b.position() + " of 4 bytes of the"
                        + " CPU latency target");
            }
            return b.getInt(0);
        }
    }

    /** Refuses every holder when some other writable open file of the device may hold the request in force. */
    private List<Refusal> check(TreeDump tree) {
        List<String> outside = outsideWriters(tree);
        List<Refusal> refusals = new ArrayList<>();
        for (Holder h : holders) {
            List<String> rivals = new ArrayList<>(outside);
            holders.stream().filter(o -> o != h).forEach(o -> rivals.add("pid " + o.ref().pid() + " fd " + o.ref().fd()));
            if (!rivals.isEmpty()) {
                refusals.add(new Refusal(h.ref().pid(), "fd " + h.ref().fd(), h.what(), "its PM-QoS request cannot"
                        + " be told apart from that of " + String.join(", ", rivals) + " (the device reads only the"
                        + " strictest request in force, " + h.value() + " us): hold the request through one open"
                        + " file"));
            }
        }
        return refusals;
    }

    /** Writable open files of the tree's nodes held outside the tree, other than the tree's own descriptions. */
    private List<String> outsideWriters(TreeDump tree) {
        List<String> found = new ArrayList<>();
        OutsideProcesses.forEach(tree, (pid, proc) -> OutsideProcesses.forEachFd(proc, (fd, link) -> {
            for (Holder h : holders) {
                if (!h.link().equals(link)
                        || Syscall.raw(Arch.SYS_KCMP, pid, h.ref().pid(), KCMP_FILE, fd, h.ref().fd(), 0) == 0) {
                    continue;
                }
                if ((FdInfo.read(pid, fd).flags() & O_ACCMODE) != O_RDONLY) {
                    found.add(OutsideProcesses.describe(pid, proc) + " fd " + fd);
                }
                return;
            }
        }));
        return found;
    }

    /** Makes the request again on the puppet's new open file {@code fd}, and moves its offset as it was. */
    static void restore(Injector inj, long fd, Device dev, String what) throws IOException {
        int value = dev.getPmQos().getValue();
        if (value != DEFAULT_VALUE) {
            byte[] b = ByteBuffer.allocate(VALUE_SIZE).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
            inj.check("write PM-QoS request " + value + " to " + what, Arch.SYS_WRITE, fd, inj.put(0, b), VALUE_SIZE);
        }
        // Its llseek is noop_llseek: only reads move the offset, up to the 4 bytes of one value.
        long position = Math.min(dev.getPosition(), VALUE_SIZE);
        if (position > 0) {
            inj.check("read " + position + " bytes of " + what, Arch.SYS_READ, fd, inj.scratch(), position);
        }
    }
}
