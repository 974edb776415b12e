package dev.amber.image;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Credentials;
import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.InterruptedSyscall;
import dev.amber.image.proto.Inventory;
import dev.amber.image.proto.Memory;
import dev.amber.image.proto.PageRun;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.RegularFile;
import dev.amber.image.proto.SigAction;
import dev.amber.image.proto.Signals;
import dev.amber.image.proto.Thread;
import dev.amber.image.proto.Vma;
import dev.amber.image.proto.VmaKind;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/** A small two-process image with page files, written by the real writer. */
final class SampleImage {
    static final int ROOT = 4242;
    static final int CHILD = 4243;
    static final long CREATED = 1_750_000_000_000L;

    private SampleImage() {}

    /** Page contents that differ at every position, so a moved byte shows. */
    static byte[] pages(int count, int seed) {
        byte[] bytes = new byte[count * ImageFormat.PAGE_SIZE];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i * 31 + seed + (i >>> 12));
        }
        return bytes;
    }

    static Process process(int pid, int ppid) {
        ByteBuffer regs = ByteBuffer.allocate(27 * 8).order(ByteOrder.LITTLE_ENDIAN);
        regs.putLong(10 * 8, -512).putLong(16 * 8, 0x401136).putLong(19 * 8, 0x7ffc0000f000L)
                .putLong(21 * 8, 0x7f0000001740L);
        return Process.newBuilder()
                .setPid(pid).setPpid(ppid).setPgid(ROOT).setSid(ROOT).setComm("target")
                .setMemory(Memory.newBuilder().setPagesFile(ImageFormat.pagesFile(pid))
                        .addVmas(Vma.newBuilder().setStart(0x400000).setEnd(0x401000).setProt(5)
                                .setKind(VmaKind.FILE_PRIVATE).setPath("/usr/bin/target"))
                        .addVmas(Vma.newBuilder().setStart(0x7f0000000000L).setEnd(0x7f0000003000L)
                                .setProt(3).setKind(VmaKind.ANON_PRIVATE)
                                .addPages(PageRun.newBuilder().setAddress(0x7f0000000000L).setCount(3))))
                .addThreads(Thread.newBuilder().setTid(pid).setComm("target")
                        .setGpRegs(ByteString.copyFrom(regs.array()))
                        .setXsave(ByteString.copyFrom(new byte[11008]))
                        .setInterrupted(InterruptedSyscall.newBuilder().setNr(230).setResult(-516)
                                .setResumedAs("re-run clock_nanosleep")))
                .setSignals(Signals.newBuilder()
                        .addActions(SigAction.newBuilder().setSigno(2).setHandler(0x401200).setFlags(0x4000000))
                        .addActions(SigAction.newBuilder().setSigno(13).setHandler(1))
                        .addActions(SigAction.newBuilder().setSigno(15)))
                .setCredentials(Credentials.newBuilder().addUids(1000).addUids(1000).addUids(1000)
                        .addUids(1000).addGids(100).addGroups(4).addGroups(27).setCapBounding(0x1ffffffffffL))
                .addDescriptors(Descriptor.newBuilder().setFd(0).setRegular(RegularFile.newBuilder()
                        .setPath("/dev/null").setFlags(02)))
                .addDescriptors(Descriptor.newBuilder().setFd(3).setCloexec(true)
                        .setRegular(RegularFile.newBuilder().setPath("/tmp/log").setFlags(02001 | 0100000)
                                .setPosition(12345)))
                .build();
    }

    static Inventory.Builder header() {
        return Inventory.newBuilder().setToolVersion("amber 0.1.0").setRootPid(ROOT)
                .setKernelRelease("6.18.0-test").setCreatedUnixMillis(CREATED);
    }

    /** Writes the sample through {@code writer}: metadata, then pages (root: 3 + 2, child: none). */
    static long write(ImageWriter writer) throws ImageException {
        writer.writeMessage(ImageFormat.processFile(ROOT), process(ROOT, 1));
        writer.writeMessage(ImageFormat.processFile(CHILD), process(CHILD, ROOT));
        try (PageSink sink = writer.openPages(ImageFormat.pagesFile(ROOT));
                Arena arena = Arena.ofConfined()) {
            MemorySegment native3 = arena.allocate(3L * ImageFormat.PAGE_SIZE, ImageFormat.PAGE_SIZE);
            native3.copyFrom(MemorySegment.ofArray(pages(3, 1)));
            sink.append(native3);
            sink.append(ByteBuffer.wrap(pages(2, 2)));
        }
        writer.openPages(ImageFormat.pagesFile(CHILD)); // empty, left open: finish closes it
        return writer.finish(header());
    }

    static Path create(Path dir) throws ImageException {
        try (ImageWriter writer = ImageWriter.create(dir)) {
            write(writer);
        }
        return dir;
    }

    static byte[] readAll(ImageReader reader, String name) throws ImageException {
        byte[] bytes = new byte[(int) reader.size(name)];
        reader.read(name, 0, MemorySegment.ofArray(bytes));
        return bytes;
    }

    static long sum(MemorySegment segment) {
        long sum = 0;
        for (long i = 0; i < segment.byteSize(); i++) {
            sum += segment.get(ValueLayout.JAVA_BYTE, i);
        }
        return sum;
    }
}
