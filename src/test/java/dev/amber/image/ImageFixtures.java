package dev.amber.image;

import dev.amber.image.proto.ImageFile;
import dev.amber.image.proto.Inventory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.UnaryOperator;

/** Helpers for tests that forge or damage images. */
public final class ImageFixtures {
    private ImageFixtures() {}

    /**
     * Rewrites inventory.pb of the image in {@code dir}: first refreshes the size and CRC32C of every
     * listed file from disk (so files edited by a test stay consistent), then applies {@code edit}
     * (which may forge the version, the arch, or even the file entries), then writes the result with
     * a correct inventory checksum. No validation: the point is to make images a reader refuses.
     */
    public static Inventory rewriteInventory(Path dir, UnaryOperator<Inventory.Builder> edit)
            throws IOException {
        Path file = dir.resolve(ImageFormat.INVENTORY);
        Inventory inventory;
        try {
            inventory = InventoryCodec.parse(Files.readAllBytes(file));
        } catch (ImageException e) {
            throw new IOException(e.getMessage(), e);
        }
        Inventory.Builder builder = inventory.toBuilder().clearFiles();
        ByteBuffer buffer = ByteBuffer.allocateDirect(ImageFormat.CHUNK_BYTES);
        for (ImageFile entry : inventory.getFilesList()) {
            Path path = dir.resolve(entry.getName());
            if (!Files.exists(path)) {
                builder.addFiles(entry);
                continue;
            }
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
                long size = channel.size();
                builder.addFiles(entry.toBuilder().setSize(size)
                        .setCrc32C(Checksums.of(channel, size, buffer)));
            }
        }
        Inventory result = edit.apply(builder).build();
        Files.write(file, InventoryCodec.encode(result), StandardOpenOption.TRUNCATE_EXISTING);
        return result;
    }

    /** Overwrites file {@code name} and lists it with its new size and CRC, as a writer would. */
    public static void replaceFile(Path dir, String name, byte[] contents) throws IOException {
        Files.write(dir.resolve(name), contents, StandardOpenOption.TRUNCATE_EXISTING);
        rewriteInventory(dir, b -> b);
    }

    /** Flips every bit of the byte at {@code offset} of file {@code name}, size unchanged. */
    public static void flipByte(Path dir, String name, long offset) throws IOException {
        try (FileChannel channel = FileChannel.open(dir.resolve(name), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            channel.read(b, offset);
            b.flip().put(0, (byte) ~b.get(0));
            channel.write(b, offset);
        }
    }
}
