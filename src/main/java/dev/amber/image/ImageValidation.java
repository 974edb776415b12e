package dev.amber.image;

import dev.amber.image.proto.ImageFile;
import dev.amber.image.proto.Inventory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Checks an image directory against its inventory: cheap checks first (names, presence, sizes,
 * limits, unlisted files), then every file's CRC32C in large reads.
 */
final class ImageValidation {
    private ImageValidation() {}

    static Map<String, ImageFile> check(Path dir, Inventory inventory) throws ImageException {
        Map<String, ImageFile> files = new LinkedHashMap<>();
        for (ImageFile entry : inventory.getFilesList()) {
            String name = entry.getName();
            try {
                ImageFormat.checkName(name);
            } catch (IllegalArgumentException e) {
                throw new ImageException("image file " + ImageFormat.INVENTORY + ": lists a bad file name '"
                        + name + "': the image is corrupt");
            }
            if (files.putIfAbsent(name, entry) != null) {
                throw new ImageException("image file " + ImageFormat.INVENTORY + ": lists " + name
                        + " twice: the image is corrupt");
            }
            checkSize(dir.resolve(name), entry);
        }
        checkNothingUnlisted(dir, files);
        ByteBuffer buffer = ByteBuffer.allocateDirect(ImageFormat.CHUNK_BYTES);
        for (ImageFile entry : files.values()) {
            checkCrc(dir.resolve(entry.getName()), entry, buffer);
        }
        return files;
    }

    static ImageException oversize(String name, long size) {
        return new ImageException("image file " + name + ": size " + size + " exceeds the "
                + ImageFormat.MAX_METADATA_BYTES + "-byte metadata limit: the image is corrupt");
    }

    private static void checkSize(Path file, ImageFile entry) throws ImageException {
        String name = entry.getName();
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new ImageException("image file " + name + ": missing: the image is incomplete");
        }
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new ImageException("image file " + name + ": not a regular file: the image is corrupt");
        }
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new ImageException("cannot read image file " + file + ": " + e.getMessage(), e);
        }
        if (ImageFormat.isMetadata(name) && size > ImageFormat.MAX_METADATA_BYTES) {
            throw oversize(name, size);
        }
        if (size != entry.getSize()) {
            throw new ImageException("image file " + name + ": size " + size + " != expected "
                    + entry.getSize() + ": the image is " + (size < entry.getSize() ? "truncated" : "corrupt"));
        }
    }

    private static void checkNothingUnlisted(Path dir, Map<String, ImageFile> files)
            throws ImageException {
        Optional<String> unlisted;
        try (Stream<Path> entries = Files.list(dir)) {
            unlisted = entries.map(path -> path.getFileName().toString())
                    .filter(name -> ImageFormat.matters(name) && !name.equals(ImageFormat.INVENTORY))
                    .filter(name -> !files.containsKey(name))
                    .sorted()
                    .findFirst();
        } catch (IOException e) {
            throw new ImageException("cannot list image directory " + dir + ": " + e.getMessage(), e);
        }
        if (unlisted.isPresent()) {
            throw new ImageException("image file " + unlisted.get() + ": not listed in "
                    + ImageFormat.INVENTORY + ": the image was altered or mixed with another");
        }
    }

    private static void checkCrc(Path file, ImageFile entry, ByteBuffer buffer)
            throws ImageException {
        int crc;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            crc = Checksums.of(channel, entry.getSize(), buffer);
        } catch (IOException e) {
            throw new ImageException("cannot read image file " + file + ": " + e.getMessage(), e);
        }
        if (crc != entry.getCrc32C()) {
            throw new ImageException(Checksums.mismatch(entry.getName(), crc, entry.getCrc32C()));
        }
    }
}
