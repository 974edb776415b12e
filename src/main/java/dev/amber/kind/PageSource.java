package dev.amber.kind;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/** Page contents of an image, by page file and offset. */
public interface PageSource {
    /** The bytes of {@code file} at [offset, offset + length), mapped or read. */
    MemorySegment slice(String file, long offset, long length) throws IOException;
}
