package dev.amber.cli;

import dev.amber.image.ImageException;
import dev.amber.image.ImageStream;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * An image stream read in one pass into a private directory (in memory, /dev/shm, when the
 * machine has it), every chunk checked on the way; a restart then validates it as a whole
 * before it creates anything. The directory is removed after the restart: the restored process
 * keeps nothing open in it.
 */
final class StreamSpool {
    private StreamSpool() {}

    static Path unpack(InputStream in) throws IOException, ImageException {
        Path base = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        Path dir = Files.createTempDirectory(base, "amber-stream-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path image = dir.resolve("image");
        try {
            ImageStream.unpack(new BufferedInputStream(in, 1 << 20), image);
            return image;
        } catch (ImageException | RuntimeException e) {
            remove(image);
            throw e;
        }
    }

    static void remove(Path image) {
        if (image == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(image.getParent())) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Best effort: it is a temporary directory.
        }
    }
}
