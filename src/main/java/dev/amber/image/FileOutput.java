package dev.amber.image;

import dev.amber.image.proto.ImageFile;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * One file of an image being written, wherever it goes. Bytes pass through in pieces of at most
 * {@link ImageFormat#CHUNK_BYTES}; each piece is checksummed just before it is written, while it is
 * still in cache, so the file is never read back.
 *
 * <p>Invariant: {@link #size()} and the CRC cover exactly the bytes handed to {@link #writeRaw}.
 */
abstract class FileOutput implements AutoCloseable {
    final String name;
    private final CRC32C crc = new CRC32C();
    private long size;
    private ByteBuffer scratch;
    private boolean closed;

    FileOutput(String name) {
        this.name = name;
    }

    /** Writes a piece of at most CHUNK_BYTES completely; the buffer's position is undefined after. */
    abstract void writeRaw(ByteBuffer piece) throws ImageException;

    abstract void closeRaw() throws ImageException;

    final void write(ByteBuffer src) throws ImageException {
        checkOpen();
        while (src.hasRemaining()) {
            int n = Math.min(src.remaining(), ImageFormat.CHUNK_BYTES);
            ByteBuffer piece = src.slice(src.position(), n);
            crc.update(piece.duplicate());
            writeRaw(piece);
            src.position(src.position() + n);
            size += n;
        }
    }

    final void write(MemorySegment src) throws ImageException {
        checkOpen();
        for (long off = 0; off < src.byteSize(); off += ImageFormat.CHUNK_BYTES) {
            MemorySegment piece = src.asSlice(off, Math.min(ImageFormat.CHUNK_BYTES, src.byteSize() - off));
            write(asBuffer(piece));
        }
    }

    /** Native and byte[] segments are viewed in place; other heap arrays are copied once. */
    private ByteBuffer asBuffer(MemorySegment piece) {
        boolean bytes = piece.heapBase().map(base -> base instanceof byte[]).orElse(true);
        if (bytes) {
            return piece.asByteBuffer();
        }
        if (scratch == null) {
            scratch = ByteBuffer.allocateDirect(ImageFormat.CHUNK_BYTES);
        }
        MemorySegment.ofBuffer(scratch.clear()).copyFrom(piece);
        return scratch.limit((int) piece.byteSize());
    }

    final long size() {
        return size;
    }

    final ImageFile entry() {
        return ImageFile.newBuilder().setName(name).setSize(size).setCrc32C((int) crc.getValue()).build();
    }

    final boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("image file " + name + " is already closed");
        }
    }

    @Override
    public final void close() throws ImageException {
        if (!closed) {
            closed = true;
            closeRaw();
        }
    }
}
