package dev.amber.image;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Writes the single-stream encoding of an image, in one pass, to any OutputStream (a pipe, a
 * socket). All integers are little-endian.
 *
 * <pre>
 *   header   +----------+----------+----------+----------+
 *            | AMBERIMG | major u16| minor u16| 0 u32    |                       16 bytes
 *            +----------+----------+----------+----------+
 *   chunk    +-----+---------+--------+-----------+-----------+----------------+
 *   (0..n)   | 'C' | len u8  | name   | size u32  | crc32c u32| data[size]     |  size <= 1 MiB
 *            +-----+---------+--------+-----------+-----------+----------------+
 *   trailer  +-----+-----------+-----------+---------------------+
 *            | 'T' | size u32  | crc32c u32| inventory.pb[size]  |             size <= 64 MiB
 *            +-----+-----------+-----------+---------------------+
 *   abort    +-----+
 *   (instead | 'X' |   the writer gave up: nothing before it is an image
 *   of 'T')  +-----+
 * </pre>
 *
 * A file is the concatenation of its chunks in stream order; chunks of different files may
 * interleave. Every file has at least one chunk (an empty file has one empty chunk). The crc32c of
 * a chunk covers its data only; the trailer is inventory.pb byte for byte, whose entries give each
 * file's total size and CRC32C.
 */
final class StreamEncoder {
    static final byte[] MAGIC = "AMBERIMG".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER_BYTES = 16;
    static final byte CHUNK = 'C';
    static final byte TRAILER = 'T';
    static final byte ABORT = 'X';

    private final OutputStream out;
    private final ByteBuffer head = ByteBuffer.allocate(300).order(ByteOrder.LITTLE_ENDIAN);
    private byte[] copy;
    private long bytes;

    StreamEncoder(OutputStream out) {
        this.out = out;
    }

    long bytes() {
        return bytes;
    }

    void header() throws ImageException {
        head.clear().put(MAGIC).putShort((short) ImageFormat.MAJOR).putShort((short) ImageFormat.MINOR)
                .putInt(0);
        flushHead();
    }

    void chunk(String name, ByteBuffer data) throws ImageException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        head.clear().put(CHUNK).put((byte) nameBytes.length).put(nameBytes).putInt(data.remaining())
                .putInt(Checksums.of(data.duplicate()));
        flushHead();
        put(data);
    }

    void trailer(byte[] inventory) throws ImageException {
        head.clear().put(TRAILER).putInt(inventory.length).putInt(Checksums.of(inventory));
        flushHead();
        put(ByteBuffer.wrap(inventory));
        flush();
    }

    void abort() throws ImageException {
        head.clear().put(ABORT);
        flushHead();
        flush();
    }

    void flush() throws ImageException {
        try {
            out.flush();
        } catch (IOException e) {
            throw failed(e);
        }
    }

    private void flushHead() throws ImageException {
        put(head.flip());
    }

    private void put(ByteBuffer data) throws ImageException {
        try {
            int n = data.remaining();
            if (data.hasArray()) {
                out.write(data.array(), data.arrayOffset() + data.position(), n);
            } else {
                if (copy == null) {
                    copy = new byte[ImageFormat.CHUNK_BYTES];
                }
                data.duplicate().get(copy, 0, n);
                out.write(copy, 0, n);
            }
            bytes += n;
        } catch (IOException e) {
            throw failed(e);
        }
    }

    private static ImageException failed(IOException e) {
        return new ImageException("cannot write the image stream: " + e.getMessage(), e);
    }
}
