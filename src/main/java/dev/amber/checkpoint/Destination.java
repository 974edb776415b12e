package dev.amber.checkpoint;

import dev.amber.image.ImageException;
import dev.amber.image.ImageReader;
import dev.amber.image.ImageWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a checkpoint writes its image: a directory, or a stream (a pipe to another host, say),
 * which is written in one pass and cannot be read back.
 */
public sealed interface Destination {
    ImageWriter open() throws IOException, ImageException;

    /** Reads the whole image back and checks every checksum, where that is possible. */
    void verify() throws ImageException;

    record Directory(Path dir) implements Destination {
        @Override
        public ImageWriter open() throws IOException, ImageException {
            Path parent = dir.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                throw new IOException("cannot create image directory " + dir + ": " + parent + " does not exist");
            }
            return ImageWriter.create(dir);
        }

        @Override
        public void verify() throws ImageException {
            ImageReader.open(dir).close();
        }

        @Override
        public String toString() {
            return dir.toString();
        }
    }

    record Stream(OutputStream out) implements Destination {
        @Override
        public ImageWriter open() throws ImageException {
            return ImageWriter.toStream(out);
        }

        @Override
        public void verify() {
            // A stream is checked by whoever reads it: every chunk carries its CRC.
        }

        @Override
        public String toString() {
            return "standard output";
        }
    }
}
