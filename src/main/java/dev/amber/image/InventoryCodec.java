package dev.amber.image;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.amber.image.proto.Inventory;
import java.util.zip.CRC32C;

/**
 * Encodes and decodes inventory.pb, the one file that has no entry of its own to hold its
 * checksum. Its CRC32C is its last field, appended after the rest is encoded:
 *
 * <pre>
 *   inventory.pb
 *   +---------------------------------------+------+-------------------+
 *   | Inventory fields 1..8 (protobuf)      | 0x7d | crc32c (u32 LE)   |
 *   +---------------------------------------+------+-------------------+
 *   |<-------- covered by the crc -------->|  field 15, fixed32
 * </pre>
 *
 * Protobuf merges concatenated encodings, so the whole file still parses as one {@code Inventory}.
 * Decoding checks the version before the checksum, so a newer major whose layout moved is reported
 * as "newer", not as "corrupt".
 */
final class InventoryCodec {
    static final String FILE = ImageFormat.INVENTORY;
    private static final int CRC_TAG = (Inventory.INVENTORY_CRC32C_FIELD_NUMBER << 3) | 5;
    private static final int TRAILER = 5;

    private InventoryCodec() {}

    static byte[] encode(Inventory inventory) {
        byte[] body = inventory.toBuilder().clearInventoryCrc32C().build().toByteArray();
        CRC32C crc = new CRC32C();
        crc.update(body);
        int value = (int) crc.getValue();
        byte[] out = new byte[body.length + TRAILER];
        System.arraycopy(body, 0, out, 0, body.length);
        out[body.length] = (byte) CRC_TAG;
        for (int i = 0; i < 4; i++) {
            out[body.length + 1 + i] = (byte) (value >>> (8 * i));
        }
        return out;
    }

    /**
     * Parses and checks the version, then the checksum ({@code readerMajor/Minor} is the rule). A
     * file that does not parse but carries a checksum that does not match is reported as a checksum
     * mismatch: that is the more precise diagnosis.
     */
    static Inventory decode(byte[] bytes, int readerMajor, int readerMinor) throws ImageException {
        Inventory inventory;
        try {
            inventory = parse(bytes);
        } catch (ImageException e) {
            checkCrc(bytes, storedCrc(bytes));
            throw e;
        }
        ImageFormat.checkCompatible(
                inventory.getFormatMajor(), inventory.getFormatMinor(), readerMajor, readerMinor);
        if (storedCrc(bytes) == null) {
            throw new ImageException(
                    "image file " + FILE + ": does not end with its CRC32C field: the image is corrupt");
        }
        checkCrc(bytes, inventory.getInventoryCrc32C());
        return inventory;
    }

    /** The value of the trailing CRC field, or null if the file does not end with one. */
    private static Integer storedCrc(byte[] bytes) {
        int n = bytes.length - TRAILER;
        if (n < 0 || (bytes[n] & 0xff) != CRC_TAG) {
            return null;
        }
        int value = 0;
        for (int i = 0; i < 4; i++) {
            value |= (bytes[n + 1 + i] & 0xff) << (8 * i);
        }
        return value;
    }

    private static void checkCrc(byte[] bytes, Integer expected) throws ImageException {
        if (expected == null) {
            return;
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - TRAILER);
        int actual = (int) crc.getValue();
        if (actual != expected) {
            throw new ImageException(Checksums.mismatch(FILE, actual, expected));
        }
    }

    /** Parses without checking the checksum: for tools that forge or repair images. */
    static Inventory parse(byte[] bytes) throws ImageException {
        Inventory inventory;
        try {
            inventory = Inventory.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new ImageException(
                    "image file " + FILE + ": does not parse as an inventory (" + e.getMessage()
                            + "): the image is corrupt", e);
        }
        if (inventory.getFormatMajor() == 0) {
            throw new ImageException(
                    "image file " + FILE + ": has no format version: not an amber image, or corrupt");
        }
        return inventory;
    }
}
