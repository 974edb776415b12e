package dev.amber.image;

import dev.amber.image.proto.ImageFile;
import dev.amber.image.proto.Inventory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * Converts between an image directory and the single-stream encoding drawn in
 * {@link StreamEncoder}, in one pass each way, so that an image can cross a pipe or a socket.
 * {@link ImageWriter#toStream} writes the same encoding directly during a checkpoint.
 */
public final class ImageStream {
    private ImageStream() {}

    /** Validates the image in {@code dir} and writes it to {@code out}; returns the bytes written. */
    public static long pack(Path dir, OutputStream out) throws ImageException {
        try (ImageReader reader = ImageReader.open(dir)) {
            StreamEncoder encoder = new StreamEncoder(out);
            encoder.header();
            ByteBuffer buffer = ByteBuffer.allocateDirect(ImageFormat.CHUNK_BYTES);
            for (ImageFile entry : reader.files()) {
                packFile(reader, entry, encoder, buffer);
            }
            encoder.trailer(InventoryCodec.encode(reader.inventory()));
            return encoder.bytes();
        }
    }

    private static void packFile(ImageReader reader, ImageFile entry, StreamEncoder encoder,
            ByteBuffer buffer) throws ImageException {
        String name = entry.getName();
        FileChannel channel = reader.channel(name);
        CRC32C crc = new CRC32C();
        long position = 0;
        do {
            buffer.clear().limit((int) Math.min(ImageFormat.CHUNK_BYTES, entry.getSize() - position));
            try {
                while (buffer.hasRemaining()) {
                    if (channel.read(buffer, position + buffer.position()) < 0) {
                        throw new ImageException("image file " + name + ": size " + (position
                                + buffer.position()) + " != expected " + entry.getSize()
                                + ": the image is truncated");
                    }
                }
            } catch (IOException e) {
                throw new ImageException("cannot read image file " + reader.directory().resolve(name)
                        + ": " + e.getMessage(), e);
            }
            buffer.flip();
            crc.update(buffer.duplicate());
            encoder.chunk(name, buffer);
            position += buffer.limit();
        } while (position < entry.getSize());
        if ((int) crc.getValue() != entry.getCrc32C()) { // changed since it was validated
            throw new ImageException(Checksums.mismatch(name, (int) crc.getValue(), entry.getCrc32C()));
        }
    }

    /**
     * Reads one image from {@code in} into the new directory {@code dir}, checking every chunk's
     * CRC32C as it arrives and every file against the trailer. On any problem, what was written is
     * removed and nothing that looks like an image is left. Reads nothing after the trailer.
     */
    public static Inventory unpack(InputStream in, Path dir) throws ImageException {
        ImageDirectory target = ImageDirectory.create(dir);
        StreamDecoder decoder = new StreamDecoder(in, target);
        boolean done = false;
        try {
            Inventory inventory = decoder.decode();
            done = true;
            return inventory;
        } finally {
            decoder.closeQuietly();
            if (!done) {
                target.abort();
            }
        }
    }
}
