package dev.amber.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.amber.image.proto.ImageFile;
import dev.amber.image.proto.Inventory;
import dev.amber.image.proto.Process;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageRoundTripTest {
    @TempDir Path tmp;

    @Test
    void roundTrip() throws Exception {
        Path dir = tmp.resolve("img");
        long total;
        try (ImageWriter writer = ImageWriter.create(dir)) {
            total = SampleImage.write(writer);
        }
        try (ImageReader reader = ImageReader.open(dir)) {
            Inventory inv = reader.inventory();
            assertEquals(ImageFormat.MAJOR, inv.getFormatMajor());
            assertEquals(ImageFormat.MINOR, inv.getFormatMinor());
            assertEquals(ImageFormat.hostArch(), inv.getArch());
            assertEquals("6.18.0-test", inv.getKernelRelease());
            assertEquals("amber 0.1.0", inv.getToolVersion());
            assertEquals(SampleImage.ROOT, inv.getRootPid());
            assertEquals(SampleImage.CREATED, inv.getCreatedUnixMillis());
            assertEquals(List.of("process-4242.pb", "process-4243.pb", "pages-4242.img",
                    "pages-4243.img"), reader.files().stream().map(ImageFile::getName).toList());
            for (ImageFile f : reader.files()) {
                byte[] bytes = Files.readAllBytes(dir.resolve(f.getName()));
                CRC32C crc = new CRC32C();
                crc.update(bytes);
                assertEquals(f.getSize(), bytes.length, f.getName());
                assertEquals((int) crc.getValue(), f.getCrc32C(), f.getName());
            }
            assertEquals(SampleImage.process(SampleImage.ROOT, 1),
                    reader.readMessage("process-4242.pb", Process.parser()));
            assertEquals(List.of(SampleImage.process(SampleImage.ROOT, 1),
                    SampleImage.process(SampleImage.CHILD, SampleImage.ROOT)), reader.processes());

            byte[] expected = new byte[5 * ImageFormat.PAGE_SIZE];
            System.arraycopy(SampleImage.pages(3, 1), 0, expected, 0, 3 * ImageFormat.PAGE_SIZE);
            System.arraycopy(SampleImage.pages(2, 2), 0, expected, 3 * ImageFormat.PAGE_SIZE,
                    2 * ImageFormat.PAGE_SIZE);
            assertArrayEquals(expected, SampleImage.readAll(reader, "pages-4242.img"));
            assertEquals(0, reader.size("pages-4243.img"));
            long files = reader.files().stream().mapToLong(ImageFile::getSize).sum();
            assertEquals(files + Files.size(dir.resolve("inventory.pb")), total);

            try (Arena arena = Arena.ofConfined()) {
                MemorySegment page = arena.allocate(ImageFormat.PAGE_SIZE);
                reader.read("pages-4242.img", 3L * ImageFormat.PAGE_SIZE, page);
                assertArrayEquals(SampleImage.pages(1, 2), page.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                MemorySegment mapped = reader.map("pages-4242.img", arena);
                assertEquals(SampleImage.sum(MemorySegment.ofArray(expected)), SampleImage.sum(mapped));
            }
        }
    }

    @Test
    void appendsStartPageAlignedAndPadTails() throws Exception {
        Path dir = tmp.resolve("img");
        try (ImageWriter writer = ImageWriter.create(dir)) {
            PageSink sink = writer.openPages("pages-1.img");
            assertEquals(0, sink.append(ByteBuffer.wrap(new byte[] {1, 2, 3})));
            assertEquals(4096, sink.append(MemorySegment.ofArray(new long[1000]))); // 8000 bytes
            assertEquals(3 * 4096, sink.append(ByteBuffer.wrap(new byte[4096])));
            assertEquals(4 * 4096, sink.size());
            writer.finish(SampleImage.header());
        }
        try (ImageReader reader = ImageReader.open(dir)) {
            byte[] bytes = SampleImage.readAll(reader, "pages-1.img");
            assertEquals(3, bytes[2]);
            assertEquals(0, bytes[3]);
        }
    }

    @Test
    void largeAppendCrossesChunks() throws Exception {
        Path dir = tmp.resolve("img");
        byte[] expected = SampleImage.pages(600, 7); // 2.3 MiB: three write pieces
        try (ImageWriter writer = ImageWriter.create(dir); Arena arena = Arena.ofConfined()) {
            MemorySegment big = arena.allocate(expected.length);
            big.copyFrom(MemorySegment.ofArray(expected));
            writer.openPages("pages-1.img").append(big);
            writer.finish(SampleImage.header());
        }
        try (ImageReader reader = ImageReader.open(dir)) {
            assertArrayEquals(expected, SampleImage.readAll(reader, "pages-1.img"));
        }
    }

    @Test
    void imageIsPrivateFromCreation() throws Exception {
        Path dir = SampleImage.create(tmp.resolve("img"));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)),
                        f.toString());
            }
        }
        try (var files = Files.list(dir)) {
            assertEquals(5, files.count()); // no temporary inventory left behind
        }
    }

    @Test
    void writerClosedWithoutFinishLeavesNothing() throws Exception {
        Path dir = tmp.resolve("img");
        try (ImageWriter writer = ImageWriter.create(dir)) {
            writer.writeMessage("process-1.pb", SampleImage.process(1, 0));
            writer.openPages("pages-1.img").append(ByteBuffer.wrap(SampleImage.pages(2, 0)));
        }
        assertFalse(Files.exists(dir));
    }

    @Test
    void writerIntoExistingEmptyPrivateDirectoryLeavesTheDirectory() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("img"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try (ImageWriter writer = ImageWriter.create(dir)) {
            writer.writeMessage("process-1.pb", SampleImage.process(1, 0));
        }
        assertTrue(Files.isDirectory(dir));
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count());
        }
        SampleImage.create(dir);
        try (ImageReader reader = ImageReader.open(dir)) {
            assertEquals(4, reader.files().size());
        }
    }

    @Test
    void writerTakesAnEmptyDirectoryOfTheCallersAndMakesItPrivate() throws Exception {
        Path open = Files.createDirectory(tmp.resolve("open"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        try (ImageWriter writer = ImageWriter.create(open)) {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(open)));
            writer.writeMessage("process-1.pb", SampleImage.process(1, 0));
        }
        assertTrue(Files.isDirectory(open));
    }

    @Test
    void writerRefusesUsedOrForeignDirectories() throws IOException {
        Path used = Files.createDirectory(tmp.resolve("used"));
        Files.writeString(used.resolve("x"), "x");
        assertEquals("cannot write an image to " + used
                        + ": directory is not empty: give an empty or a new directory",
                assertThrows(ImageException.class, () -> ImageWriter.create(used)).getMessage());
        Path foreign = Files.createDirectory(tmp.resolve("foreign"));
        Files.setAttribute(foreign, "unix:uid", 4321);
        assertEquals("cannot write an image to " + foreign + ": it belongs to uid 4321, not to the caller"
                        + " (uid 0): an image holds secrets; give a directory of your own or a new one",
                assertThrows(ImageException.class, () -> ImageWriter.create(foreign)).getMessage());
        Path orphan = tmp.resolve("no/such/img");
        assertEquals("cannot create image directory " + orphan + ": its parent does not exist",
                assertThrows(ImageException.class, () -> ImageWriter.create(orphan)).getMessage());
    }

    @Test
    void writerRejectsOurOwnMistakes() throws Exception {
        try (ImageWriter writer = ImageWriter.create(tmp.resolve("img"))) {
            assertThrows(IllegalArgumentException.class, () -> writer.openPages("../escape.img"));
            assertThrows(IllegalArgumentException.class, () -> writer.openPages("inventory.pb"));
            writer.writeMessage("process-1.pb", SampleImage.process(1, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> writer.writeMessage("process-1.pb", SampleImage.process(1, 0)));
        }
    }

    @Test
    void readsOutsideAFileAreRefused() throws Exception {
        Path dir = SampleImage.create(tmp.resolve("img"));
        try (ImageReader reader = ImageReader.open(dir)) {
            MemorySegment page = MemorySegment.ofArray(new byte[ImageFormat.PAGE_SIZE]);
            assertEquals("image file pages-4242.img: read of 4096 bytes at offset 18432 runs past its "
                            + "end (20480 bytes): the image is corrupt",
                    assertThrows(ImageException.class,
                            () -> reader.read("pages-4242.img", 18432, page)).getMessage());
            assertEquals("image file pages-9.img: not in the image at " + dir,
                    assertThrows(ImageException.class,
                            () -> reader.read("pages-9.img", 0, page)).getMessage());
        }
    }
}
