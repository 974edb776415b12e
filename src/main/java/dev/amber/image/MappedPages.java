package dev.amber.image;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * A page file filled in place through a shared mapping of it: what is copied into the mapping
 * is the file's page cache, so nothing is copied twice and nothing is written afterwards. The
 * file is sized up front (and may be resized while it is filled); {@link #finish} cuts it to the
 * bytes actually used and checksums them, reading them where they lie.
 */
public final class MappedPages {
    private final FileChannel channel;
    private final Path file;
    private final FileOutput output;
    private Arena arena;
    private MemorySegment segment;
    private final java.util.function.LongConsumer written;
    private boolean finished;

    MappedPages(String name, FileChannel channel, Path file, java.util.function.LongConsumer written) {
        this.channel = channel;
        this.file = file;
        this.written = written;
        this.output = new FileOutput(name) {
            @Override
            void writeRaw(ByteBuffer piece) {
                // The bytes are in the file already: writing them is only checksumming them.
            }

            @Override
            void closeRaw() throws ImageException {
                unmap();
                try {
                    channel.close();
                } catch (IOException e) {
                    throw new ImageException("cannot close image file " + file + ": " + e.getMessage(), e);
                }
            }
        };
    }

    FileOutput output() {
        return output;
    }

    /** The mapping: the whole file, as large as the last {@link #resize}. */
    public MemorySegment segment() {
        return segment;
    }

    /** Maps the file anew at {@code size} bytes (pages already filled stay in the file). */
    public void resize(long size) throws ImageException {
        unmap();
        try {
            arena = Arena.ofShared();
            segment = channel.map(FileChannel.MapMode.READ_WRITE, 0, Math.max(size, ImageFormat.PAGE_SIZE), arena);
        } catch (IOException e) {
            throw new ImageException("cannot map image file " + file + ": " + e.getMessage(), e);
        }
    }

    /** The file is the first {@code size} bytes of the mapping: cut and checksummed. */
    public void finish(long size) throws ImageException {
        if (finished) {
            throw new IllegalStateException("image file " + output.name + " finished twice");
        }
        output.write(segment.asSlice(0, size));
        unmap();
        try {
            channel.truncate(size);
        } catch (IOException e) {
            throw new ImageException("cannot cut image file " + file + " to " + size + " bytes: " + e.getMessage(), e);
        }
        finished = true;
        written.accept(size);
    }

    private void unmap() {
        if (arena != null) {
            arena.close();
            arena = null;
            segment = null;
        }
    }
}
