package dev.amber.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** Writes an image as a directory: one file per name, through a FileChannel in large writes. */
final class DirectoryTarget implements ImageTarget {
    private final ImageDirectory dir;
    private long bytes;

    DirectoryTarget(ImageDirectory dir) {
        this.dir = dir;
    }

    @Override
    public FileOutput create(String name) throws ImageException {
        FileChannel channel = dir.createFile(name);
        Path file = dir.path().resolve(name);
        return new FileOutput(name) {
            @Override
            void writeRaw(ByteBuffer piece) throws ImageException {
                bytes += piece.remaining();
                ImageDirectory.writeFully(channel, piece, file);
            }

            @Override
            void closeRaw() throws ImageException {
                try {
                    channel.close();
                } catch (IOException e) {
                    throw new ImageException("cannot close image file " + file + ": " + e.getMessage(), e);
                }
            }
        };
    }

    /** A page file to be filled through a mapping; see {@link MappedPages}. */
    MappedPages createMapped(String name) throws ImageException {
        FileChannel channel = dir.createMappableFile(name);
        return new MappedPages(name, channel, dir.path().resolve(name), size -> bytes += size);
    }

    @Override
    public long commit(byte[] inventory) throws ImageException {
        return bytes + dir.commit(inventory);
    }

    @Override
    public void abort() {
        dir.abort();
    }
}
