package dev.amber.kind.memory;

import dev.amber.image.ImageException;
import dev.amber.image.PageSink;
import dev.amber.image.proto.Memory;
import dev.amber.image.proto.PageRun;
import dev.amber.image.proto.Vma;
import dev.amber.sys.Arch;
import dev.amber.sys.ProcessMemory;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Copies the saved pages of a stopped process into the image, in the order {@link PageScanner}
 * gave them offsets, in two steps so the process is frozen no longer than the copy itself:
 * {@link #capture} (while frozen) copies pages into a buffer of the tool's with
 * process_vm_readv, one copy at memory speed; {@link #write} (after the process is released)
 * writes the buffer into the image. Pages that do not fit the buffer are written straight to
 * the image while still frozen. Pages the process itself may not read (PROT_NONE, write-only)
 * are read through {@code /proc/PID/mem}, which ignores protections.
 */
public final class PageDumper {
    private static final long SLICE = 8 << 20;

    /** Told after each slice how many bytes are done; may throw to stop the dump. */
    public interface Progress {
        void written(long bytes) throws IOException;
    }

    private final int pid;
    private final MemorySegment buffer;
    private final List<Run> runs = new ArrayList<>();
    private long captured;
    private int next;
    private long total;

    private record Run(long address, long bytes, boolean readable) {}

    public PageDumper(int pid, Memory memory, MemorySegment buffer) {
        this.pid = pid;
        this.buffer = buffer;
        long offset = 0;
        for (Vma vma : memory.getVmasList()) {
            for (PageRun run : vma.getPagesList()) {
                if (run.getFileOffset() != offset) {
                    throw new IllegalStateException("page run at 0x" + Long.toHexString(run.getAddress())
                            + " expected at offset " + offset + ", found " + run.getFileOffset());
                }
                long bytes = run.getCount() * Arch.PAGE_SIZE;
                runs.add(new Run(run.getAddress(), bytes, (vma.getProt() & 1) != 0));
                offset += bytes;
            }
        }
        total = offset;
    }

    public long totalBytes() {
        return total;
    }

    /**
     * While the process is frozen: copies the leading runs that fit into the buffer. Returns true
     * when every run fits; otherwise {@link #writeRest} must run before the process is released.
     */
    public boolean capture(Progress progress) throws IOException {
        List<long[]> pieces = new ArrayList<>();   // {run index, offset in run, length, buffer offset}
        while (next < runs.size() && captured + runs.get(next).bytes <= buffer.byteSize()) {
            Run r = runs.get(next);
            for (long done = 0; done < r.bytes; done += SLICE) {
                pieces.add(new long[] {next, done, Math.min(SLICE, r.bytes - done), captured + done});
            }
            captured += r.bytes;
            next++;
        }
        copyInParallel(pieces, progress);
        return next == runs.size();
    }

    /**
     * Every CPU copies: process_vm_readv moves about 5 GiB/s on one, about half of what memory
     * can do, and every millisecond here is a millisecond the process is frozen.
     */
    private void copyInParallel(List<long[]> pieces, Progress progress) throws IOException {
        AtomicLong done = new AtomicLong();
        Parallel.forEach(pieces, "copy", pieces.stream().mapToLong(p -> p[2]).sum(), (p, mine) -> {
            read(runs.get((int) p[0]), p[1], buffer.asSlice(p[3], p[2]));
            long sofar = done.addAndGet(p[2]);
            if (mine) {
                progress.written(sofar);
            }
        });
        progress.written(done.get());
    }

    /** Writes what {@link #capture} copied into the buffer. */
    public void writeCaptured(PageSink sink, Progress progress) throws IOException, ImageException {
        for (long done = 0; done < captured; done += SLICE) {
            long n = Math.min(SLICE, captured - done);
            sink.append(buffer.asSlice(done, n));
            progress.written(done + n);
        }
    }

    /** While still frozen: writes the runs the buffer could not hold, through the buffer's first slice. */
    public void writeRest(PageSink sink, Progress progress) throws IOException, ImageException {
        MemorySegment slice = buffer.asSlice(0, Math.min(SLICE, buffer.byteSize()));
        long written = captured;
        for (; next < runs.size(); next++) {
            Run r = runs.get(next);
            for (long done = 0; done < r.bytes; done += slice.byteSize()) {
                MemorySegment piece = slice.asSlice(0, Math.min(slice.byteSize(), r.bytes - done));
                read(r, done, piece);
                sink.append(piece);
                written += piece.byteSize();
                progress.written(written);
            }
        }
    }

    private void read(Run r, long done, MemorySegment dst) throws IOException {
        if (r.readable) {
            ProcessMemory.read(pid, r.address + done, dst);
            return;
        }
        Path mem = Path.of("/proc/" + pid + "/mem");
        try (FileChannel in = FileChannel.open(mem, StandardOpenOption.READ)) {
            ByteBuffer b = dst.asByteBuffer();
            while (b.hasRemaining()) {
                if (in.read(b, r.address + done + b.position()) <= 0) {
                    throw new IOException(mem + ": cannot read address 0x"
                            + Long.toHexString(r.address + done + b.position()));
                }
            }
        }
    }
}
