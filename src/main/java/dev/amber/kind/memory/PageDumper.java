package dev.amber.kind.memory;

import dev.amber.image.ImageException;
import dev.amber.image.PageSink;
import dev.amber.image.proto.Memory;
import dev.amber.image.proto.PageRun;
import dev.amber.image.proto.Vma;
import dev.amber.sys.Arch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Copies the saved pages of a stopped process into the image, in the order {@link PageScanner}
 * gave them offsets. Reads go through {@code /proc/PID/mem}, which (unlike process_vm_readv)
 * also reads pages the process itself may not (PROT_NONE, write-only).
 */
public final class PageDumper {
    private static final int BUFFER = 8 << 20;

    /** Told after each chunk how many bytes are written so far; may throw to stop the dump. */
    public interface Progress {
        void written(long bytes) throws IOException;
    }

    private PageDumper() {}

    /** Writes every saved page of {@code memory}; returns the bytes written. */
    public static long dump(int pid, Memory memory, PageSink sink, Progress progress)
            throws IOException, ImageException {
        Path mem = Path.of("/proc/" + pid + "/mem");
        ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
        long written = 0;
        try (FileChannel in = FileChannel.open(mem, StandardOpenOption.READ)) {
            for (Vma vma : memory.getVmasList()) {
                for (PageRun run : vma.getPagesList()) {
                    if (run.getFileOffset() != written) {
                        throw new IllegalStateException("page run at 0x" + Long.toHexString(run.getAddress())
                                + " expected at offset " + run.getFileOffset() + ", sink is at " + written);
                    }
                    written += copy(in, run.getAddress(), run.getCount() * Arch.PAGE_SIZE, buffer, sink, mem,
                            written, progress);
                }
            }
        }
        return written;
    }

    private static long copy(FileChannel in, long address, long length, ByteBuffer buffer, PageSink sink, Path mem,
            long before, Progress progress) throws IOException, ImageException {
        long done = 0;
        while (done < length) {
            buffer.clear().limit((int) Math.min(BUFFER, length - done));
            while (buffer.hasRemaining()) {
                int n = in.read(buffer, address + done + buffer.position());
                if (n <= 0) {
                    throw new IOException(mem + ": cannot read address 0x"
                            + Long.toHexString(address + done + buffer.position()));
                }
            }
            buffer.flip();
            done += buffer.remaining();
            sink.append(buffer);
            progress.written(before + done);
        }
        return done;
    }
}
