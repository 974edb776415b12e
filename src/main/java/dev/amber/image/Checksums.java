package dev.amber.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/** CRC32C (Castagnoli, hardware-assisted on x86-64 and aarch64) over files and buffers. */
final class Checksums {
    private Checksums() {}

    static String hex(int crc) {
        return String.format("0x%08x", crc);
    }

    static String mismatch(String file, int actual, int expected) {
        return "image file " + file + ": CRC32C " + hex(actual) + " != expected " + hex(expected)
                + ": the image is corrupt";
    }

    /** Reads {@code size} bytes from the start of the channel in large reads. */
    static int of(FileChannel channel, long size, ByteBuffer buffer) throws IOException {
        CRC32C crc = new CRC32C();
        long position = 0;
        while (position < size) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), size - position));
            int n = channel.read(buffer, position);
            if (n < 0) {
                throw new IOException("file ended at " + position + " of " + size + " bytes");
            }
            position += n;
            crc.update(buffer.flip());
        }
        return (int) crc.getValue();
    }

    static int of(ByteBuffer data) {
        CRC32C crc = new CRC32C();
        crc.update(data);
        return (int) crc.getValue();
    }

    static int of(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        return (int) crc.getValue();
    }
}
