package dev.amber.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.amber.image.proto.ImageFile;
import dev.amber.image.proto.Inventory;
import dev.amber.image.proto.Process;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way an image is refused, with the exact message: the wording is part of the contract. */
class ImageReaderRejectionTest {
    @TempDir Path tmp;
    Path dir;

    @BeforeEach
    void image() throws Exception {
        dir = SampleImage.create(tmp.resolve("img"));
    }

    private String refusal() {
        return assertThrows(ImageException.class, () -> ImageReader.open(dir).close()).getMessage();
    }

    private static String other(String arch) {
        return arch.equals("aarch64") ? "x86_64" : "aarch64";
    }

    @Test
    void missingDirectory() {
        dir = tmp.resolve("nothing");
        assertEquals("no image at " + dir + ": directory does not exist", refusal());
    }

    @Test
    void notADirectory() throws Exception {
        dir = Files.writeString(tmp.resolve("file"), "x");
        assertEquals("no image at " + dir + ": not a directory", refusal());
    }

    @Test
    void missingInventory() throws Exception {
        Files.delete(dir.resolve("inventory.pb"));
        assertEquals("no image at " + dir + ": inventory.pb is missing (a checkpoint that did not "
                + "finish leaves none)", refusal());
    }

    @Test
    void garbageInventory() throws Exception {
        Files.write(dir.resolve("inventory.pb"), new byte[] {(byte) 0xff, (byte) 0xff, 1, 2, 3});
        assertTrue(refusal().startsWith("image file inventory.pb: does not parse as an inventory ("),
                refusal());
        assertTrue(refusal().endsWith("): the image is corrupt"), refusal());
        Files.writeString(dir.resolve("inventory.pb"), "");
        assertEquals("image file inventory.pb: has no format version: not an amber image, or corrupt",
                refusal());
    }

    @Test
    void inventoryWithoutItsChecksum() throws Exception {
        byte[] bytes = Files.readAllBytes(dir.resolve("inventory.pb"));
        Files.write(dir.resolve("inventory.pb"), java.util.Arrays.copyOf(bytes, bytes.length - 5));
        assertEquals("image file inventory.pb: does not end with its CRC32C field: the image is corrupt",
                refusal());
    }

    @Test
    void newerMajor() throws Exception {
        ImageFixtures.rewriteInventory(dir, b -> b.setFormatMajor(2).setFormatMinor(0));
        assertEquals("image format 2.0 is newer than this amber reads (1.0): use a newer amber",
                refusal());
    }

    @Test
    void newerMinor() throws Exception {
        ImageFixtures.rewriteInventory(dir, b -> b.setFormatMinor(ImageFormat.MINOR + 1));
        assertEquals("image format 1." + (ImageFormat.MINOR + 1) + " is newer than this amber reads "
                + "(1." + ImageFormat.MINOR + "): use a newer amber", refusal());
    }

    @Test
    void olderMinorIsAcceptedAndOlderMajorIsNot() throws Exception {
        ImageFormat.checkCompatible(1, 2, 1, 3);
        ImageFormat.checkCompatible(1, 3, 1, 3);
        try (ImageReader reader = ImageReader.open(dir, 1, ImageFormat.MINOR + 1,
                ImageFormat.hostArch())) {
            assertEquals(ImageFormat.MINOR, reader.inventory().getFormatMinor());
        }
        assertEquals("image format 1.0 is older than this amber reads (2.0): use the amber release "
                        + "that wrote it",
                assertThrows(ImageException.class, () -> ImageReader.open(dir, 2, 0,
                        ImageFormat.hostArch())).getMessage());
    }

    @Test
    void wrongArch() throws Exception {
        String host = ImageFormat.hostArch();
        ImageFixtures.rewriteInventory(dir, b -> b.setArch(other(host)));
        assertEquals("image is for " + other(host) + ", this machine is " + host, refusal());
    }

    @Test
    void missingListedFile() throws Exception {
        Files.delete(dir.resolve("pages-4242.img"));
        assertEquals("image file pages-4242.img: missing: the image is incomplete", refusal());
    }

    @Test
    void truncatedFile() throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("pages-4242.img").toFile(), "rw")) {
            f.setLength(100);
        }
        assertEquals("image file pages-4242.img: size 100 != expected 20480: the image is truncated",
                refusal());
    }

    @Test
    void grownFile() throws Exception {
        Files.write(dir.resolve("process-4243.pb"), new byte[] {0},
                java.nio.file.StandardOpenOption.APPEND);
        long size = Files.size(dir.resolve("process-4243.pb"));
        assertEquals("image file process-4243.pb: size " + size + " != expected " + (size - 1)
                + ": the image is corrupt", refusal());
    }

    @Test
    void flippedByteInEveryFileAtSeveralPlaces() throws Exception {
        Inventory inventory;
        try (ImageReader reader = ImageReader.open(dir)) {
            inventory = reader.inventory();
        }
        List<ImageFile> files = new ArrayList<>(inventory.getFilesList());
        files.add(ImageFile.newBuilder().setName("inventory.pb")
                .setSize(Files.size(dir.resolve("inventory.pb"))).build());
        int checked = 0;
        for (ImageFile file : files) {
            for (long at : new long[] {0, file.getSize() / 2, file.getSize() - 1, file.getSize() / 3}) {
                if (file.getSize() == 0) {
                    continue;
                }
                ImageFixtures.flipByte(dir, file.getName(), at);
                String message = refusal();
                String where = file.getName() + " byte " + at + ": " + message;
                if (file.getName().equals("inventory.pb")) {
                    // A flip may break the encoding, the version or the checksum: all say "corrupt" or "newer".
                    assertTrue(message.startsWith("image file inventory.pb: ")
                            || message.startsWith("image format ") || message.startsWith("image is for ")
                            || message.startsWith("image file "), where);
                } else {
                    assertTrue(message.matches("image file " + file.getName()
                            + ": CRC32C 0x[0-9a-f]{8} != expected 0x[0-9a-f]{8}: the image is corrupt"), where);
                    assertTrue(message.endsWith(String.format("expected 0x%08x: the image is corrupt",
                            file.getCrc32C())), where);
                }
                ImageFixtures.flipByte(dir, file.getName(), at);
                ImageReader.open(dir).close(); // flipped back: valid again
                checked++;
            }
        }
        assertTrue(checked >= 16, "positions checked: " + checked);
    }

    @Test
    void flippedInventoryByteIsCaughtByItsChecksum() throws Exception {
        // tool_version sits in the middle of the inventory: a flip there still parses.
        byte[] bytes = Files.readAllBytes(dir.resolve("inventory.pb"));
        int at = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf("amber 0.1.0");
        ImageFixtures.flipByte(dir, "inventory.pb", at + 2);
        assertTrue(refusal().matches("image file inventory.pb: CRC32C 0x[0-9a-f]{8} != expected "
                + "0x[0-9a-f]{8}: the image is corrupt"), refusal());
    }

    @Test
    void unlistedFile() throws Exception {
        Files.write(dir.resolve("process-99.pb"), new byte[0]);
        assertEquals("image file process-99.pb: not listed in inventory.pb: the image was altered "
                + "or mixed with another", refusal());
    }

    @Test
    void unrelatedFilesAreIgnored() throws Exception {
        Files.writeString(dir.resolve("dump.log"), "notes");
        ImageReader.open(dir).close();
    }

    @Test
    void oversizeMetadataFile() throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("process-4243.pb").toFile(), "rw")) {
            f.setLength(ImageFormat.MAX_METADATA_BYTES + 1); // sparse: costs nothing
        }
        ImageFixtures.rewriteInventory(dir, b -> b);
        assertEquals("image file process-4243.pb: size 67108865 exceeds the 67108864-byte metadata "
                + "limit: the image is corrupt", refusal());
    }

    @Test
    void oversizeInventory() throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("inventory.pb").toFile(), "rw")) {
            f.setLength(ImageFormat.MAX_METADATA_BYTES + 1);
        }
        assertEquals("image file inventory.pb: size 67108865 exceeds the 67108864-byte metadata "
                + "limit: the image is corrupt", refusal());
    }

    @Test
    void badNameInInventory() throws Exception {
        ImageFixtures.rewriteInventory(dir, b -> b.addFiles(
                ImageFile.newBuilder().setName("../../etc/passwd")));
        assertEquals("image file inventory.pb: lists a bad file name '../../etc/passwd': the image "
                + "is corrupt", refusal());
    }

    @Test
    void metadataThatDoesNotParse() throws Exception {
        ImageFixtures.replaceFile(dir, "process-4243.pb", new byte[] {(byte) 0xff, (byte) 0xff});
        try (ImageReader reader = ImageReader.open(dir)) {
            String message = assertThrows(ImageException.class,
                    () -> reader.readMessage("process-4243.pb", Process.parser())).getMessage();
            assertTrue(message.startsWith("image file process-4243.pb: does not parse ("), message);
            assertTrue(message.endsWith("): the image is corrupt"), message);
        }
    }

    @Test
    void metadataChangedAfterOpenIsCaughtOnRead() throws Exception {
        try (ImageReader reader = ImageReader.open(dir)) {
            ImageFixtures.flipByte(dir, "process-4242.pb", 3);
            String message = assertThrows(ImageException.class,
                    () -> reader.readMessage("process-4242.pb", Process.parser())).getMessage();
            assertTrue(message.startsWith("image file process-4242.pb: CRC32C 0x"), message);
        }
    }
}
