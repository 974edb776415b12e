package dev.amber.proc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An open {@code /proc/PID/pagemap}, read with one positioned read per range (the kernel walks
 * the page tables once per read, so per-page reads would cost a syscall each). Not thread-safe:
 * it reuses one direct buffer, grown to the largest range read so far.
 */
public final class PagemapReader implements AutoCloseable {
    private static final int ENTRY = 8;

    private final Path file;
    private final FileChannel channel;
    private ByteBuffer buffer = ByteBuffer.allocateDirect(0);

    PagemapReader(int pid) throws IOException {
        this.file = ProcFiles.path(pid, "pagemap");
        try {
            this.channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw ProcFiles.named(file, e);
        }
    }

    /** The entries of {@code pages} pages starting at page-aligned {@code addr}. */
    public long[] read(long addr, int pages) throws IOException {
        if ((addr & (Pagemap.PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("address 0x" + Long.toHexString(addr) + " is not page-aligned");
        }
        if (pages < 0 || pages > Integer.MAX_VALUE / ENTRY) throw new IllegalArgumentException("pages " + pages);
        int bytes = pages * ENTRY;
        if (buffer.capacity() < bytes) buffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
        buffer.clear().limit(bytes);
        long offset = (addr >>> 12) * ENTRY;
        try {
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, offset + buffer.position());
                if (n <= 0) {
                    throw new IOException(file + ": short read at 0x" + Long.toHexString(addr) + ": expected "
                            + bytes + " bytes, got " + buffer.position() + " (range beyond the address space?)");
                }
            }
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(file.toString())) throw e;
            throw ProcFiles.named(file, e);
        }
        buffer.flip();
        long[] entries = new long[pages];
        buffer.asLongBuffer().get(entries);
        return entries;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
