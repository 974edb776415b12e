package dev.amber.image;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * A page file being written: raw page contents, appended in large sequential writes. Every
 * {@link #append} starts at a page-aligned offset (a tail shorter than a page is zero-padded), so
 * a restart can map or read the pages in place. Closing is optional: {@link ImageWriter#finish}
 * closes sinks still open.
 */
public final class PageSink implements AutoCloseable {
    private static final ByteBuffer ZEROS =
            ByteBuffer.allocateDirect(ImageFormat.PAGE_SIZE).asReadOnlyBuffer();

    private final FileOutput out;

    PageSink(FileOutput out) {
        this.out = out;
    }

    public String name() {
        return out.name;
    }

    /** Bytes written so far, padding included: the offset of the next append. */
    public long size() {
        return out.size();
    }

    /** Writes all of {@code data}; returns the offset in the file where it starts. */
    public long append(MemorySegment data) throws ImageException {
        long offset = out.size();
        out.write(data);
        pad();
        return offset;
    }

    /** Writes the remaining bytes of {@code data}; returns the offset where they start. */
    public long append(ByteBuffer data) throws ImageException {
        long offset = out.size();
        out.write(data);
        pad();
        return offset;
    }

    private void pad() throws ImageException {
        int tail = (int) (out.size() % ImageFormat.PAGE_SIZE);
        if (tail != 0) {
            out.write(ZEROS.duplicate().limit(ImageFormat.PAGE_SIZE - tail));
        }
    }

    @Override
    public void close() throws ImageException {
        out.close();
    }
}
