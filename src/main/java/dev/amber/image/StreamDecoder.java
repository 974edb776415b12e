package dev.amber.image;

import dev.amber.image.proto.ImageFile;
import dev.amber.image.proto.Inventory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Reads the stream encoding drawn in {@link StreamEncoder} into an {@link ImageDirectory}. One
 * output file is open at a time (a tree of a thousand processes must not need two thousand
 * descriptors): when chunks of another file arrive, the current one is closed and that one is
 * created or reopened for append.
 */
final class StreamDecoder {
    private final InputStream in;
    private final ImageDirectory target;
    private final Map<String, Received> received = new LinkedHashMap<>();
    private final byte[] data = new byte[ImageFormat.CHUNK_BYTES];
    private final ByteBuffer small = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    private long offset;
    private long chunks;
    private String current;
    private FileChannel channel;

    /** What arrived of one file so far. */
    private static final class Received {
        final CRC32C crc = new CRC32C();
        long size;
        boolean created;
    }

    StreamDecoder(InputStream in, ImageDirectory target) {
        this.in = in;
        this.target = target;
    }

    Inventory decode() throws ImageException {
        header();
        while (true) {
            int tag = fill(small, 1, "before the inventory trailer").get();
            switch (tag) {
                case StreamEncoder.CHUNK -> chunk();
                case StreamEncoder.TRAILER -> {
                    return trailer();
                }
                case StreamEncoder.ABORT -> throw new ImageException("image stream: the writer abandoned "
                        + "the checkpoint (abort record at byte " + (offset - 1) + "): there is no image");
                default -> throw corrupt(String.format("unknown record 0x%02x at byte %d", tag, offset - 1));
            }
        }
    }

    private void header() throws ImageException {
        ByteBuffer head = fill(small, StreamEncoder.HEADER_BYTES, "inside the header");
        byte[] magic = new byte[StreamEncoder.MAGIC.length];
        head.get(magic);
        if (!Arrays.equals(magic, StreamEncoder.MAGIC)) {
            throw new ImageException("image stream: starts with "
                    + new String(magic, StandardCharsets.ISO_8859_1).replaceAll("\\P{Print}", "?")
                    + ", not AMBERIMG: not an amber image stream");
        }
        ImageFormat.checkCompatible(
                Short.toUnsignedInt(head.getShort()), Short.toUnsignedInt(head.getShort()),
                ImageFormat.MAJOR, ImageFormat.MINOR);
    }

    private void chunk() throws ImageException {
        int nameLength = fill(small, 1, "inside a chunk header").get() & 0xff;
        byte[] nameBytes = readFully(new byte[nameLength], nameLength, "inside a chunk header");
        String name = new String(nameBytes, StandardCharsets.UTF_8);
        try {
            ImageFormat.checkName(name);
        } catch (IllegalArgumentException e) {
            throw corrupt("chunk " + chunks + " names a bad file '" + name + "'");
        }
        ByteBuffer head = fill(small, 8, "inside the chunk header of " + name);
        int size = head.getInt();
        int expected = head.getInt();
        if (size < 0 || size > ImageFormat.CHUNK_BYTES) {
            throw corrupt("chunk " + chunks + " of " + name + " claims " + Integer.toUnsignedLong(size)
                    + " bytes, over the " + ImageFormat.CHUNK_BYTES + "-byte chunk limit");
        }
        Received file = received.computeIfAbsent(name, n -> new Received());
        readFully(data, size, "inside chunk " + chunks + " of " + name);
        int crc = Checksums.of(ByteBuffer.wrap(data, 0, size));
        if (crc != expected) {
            throw corrupt("chunk " + chunks + " of " + name + " at file offset " + file.size
                    + ": CRC32C " + Checksums.hex(crc) + " != expected " + Checksums.hex(expected));
        }
        switchTo(name, !file.created);
        file.created = true;
        ImageDirectory.writeFully(channel, ByteBuffer.wrap(data, 0, size), target.path().resolve(name));
        file.crc.update(data, 0, size);
        file.size += size;
        chunks++;
    }

    private void switchTo(String name, boolean create) throws ImageException {
        if (name.equals(current)) {
            return;
        }
        closeQuietly();
        channel = create ? target.createFile(name) : target.appendTo(name);
        current = name;
    }

    private Inventory trailer() throws ImageException {
        ByteBuffer head = fill(small, 8, "inside the trailer header");
        long size = Integer.toUnsignedLong(head.getInt());
        int expected = head.getInt();
        if (size > ImageFormat.MAX_METADATA_BYTES) {
            throw corrupt("the trailer claims " + size + " bytes, over the "
                    + ImageFormat.MAX_METADATA_BYTES + "-byte metadata limit");
        }
        byte[] bytes = readFully(new byte[(int) size], (int) size, "inside the inventory trailer");
        int crc = Checksums.of(bytes);
        if (crc != expected) {
            throw corrupt("the inventory trailer: CRC32C " + Checksums.hex(crc) + " != expected "
                    + Checksums.hex(expected));
        }
        Inventory inventory = InventoryCodec.decode(bytes, ImageFormat.MAJOR, ImageFormat.MINOR);
        checkAgainst(inventory);
        closeQuietly();
        target.commit(bytes);
        return inventory;
    }

    private void checkAgainst(Inventory inventory) throws ImageException {
        Map<String, Received> unlisted = new LinkedHashMap<>(received);
        for (ImageFile entry : inventory.getFilesList()) {
            Received file = unlisted.remove(entry.getName());
            if (file == null) {
                throw corrupt("the inventory lists " + entry.getName() + " but no chunk of it came");
            }
            if (file.size != entry.getSize()) {
                throw corrupt(entry.getName() + " came with " + file.size + " bytes, the inventory says "
                        + entry.getSize());
            }
            if ((int) file.crc.getValue() != entry.getCrc32C()) {
                throw corrupt(entry.getName() + ": CRC32C " + Checksums.hex((int) file.crc.getValue())
                        + " != expected " + Checksums.hex(entry.getCrc32C()));
            }
        }
        if (!unlisted.isEmpty()) {
            throw corrupt(unlisted.keySet().iterator().next() + " came but the inventory does not list it");
        }
    }

    void closeQuietly() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // A write error already surfaced through writeFully.
            }
            channel = null;
            current = null;
        }
    }

    private ByteBuffer fill(ByteBuffer buffer, int n, String where) throws ImageException {
        readFully(buffer.array(), n, where);
        return buffer.clear().limit(n);
    }

    private byte[] readFully(byte[] into, int n, String where) throws ImageException {
        int got;
        try {
            got = in.readNBytes(into, 0, n);
        } catch (IOException e) {
            throw new ImageException("cannot read the image stream at byte " + offset + ": "
                    + e.getMessage(), e);
        }
        offset += got;
        if (got < n) {
            throw new ImageException("image stream truncated: it ended at byte " + offset + " " + where
                    + ": the sender stopped early or the transfer was cut");
        }
        return into;
    }

    private static ImageException corrupt(String what) {
        return new ImageException("image stream: " + what + ": the stream is corrupt");
    }
}
