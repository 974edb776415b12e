package dev.amber.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.amber.image.proto.ImageFile;
import dev.amber.image.proto.Inventory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageStreamTest {
    @TempDir Path tmp;
    Path source;
    Path target;

    @BeforeEach
    void image() throws Exception {
        source = tmp.resolve("src");
        target = tmp.resolve("dst");
        try (ImageWriter writer = ImageWriter.create(source)) {
            SampleImage.write(writer);
        }
    }

    private byte[] packed() throws ImageException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long n = ImageStream.pack(source, out);
        assertEquals(out.size(), n);
        return out.toByteArray();
    }

    private String unpackFails(byte[] stream) {
        String message = assertThrows(ImageException.class,
                () -> ImageStream.unpack(new ByteArrayInputStream(stream), target)).getMessage();
        assertFalse(Files.exists(target), "a failed unpack leaves nothing: " + message);
        return message;
    }

    private void assertSameImage(Path a, Path b) throws Exception {
        try (ImageReader x = ImageReader.open(a); ImageReader y = ImageReader.open(b)) {
            assertEquals(x.inventory(), y.inventory());
            for (ImageFile f : x.files()) {
                assertArrayEquals(Files.readAllBytes(a.resolve(f.getName())),
                        Files.readAllBytes(b.resolve(f.getName())), f.getName());
            }
        }
    }

    @Test
    void packUnpackRoundTrip() throws Exception {
        byte[] stream = packed();
        assertArrayEquals("AMBERIMG".getBytes(StandardCharsets.US_ASCII), Arrays.copyOf(stream, 8));
        Inventory inventory = ImageStream.unpack(new ByteArrayInputStream(stream), target);
        assertEquals(4, inventory.getFilesCount());
        assertSameImage(source, target);
        assertEquals(Files.size(source.resolve("inventory.pb")), Files.size(target.resolve("inventory.pb")));
    }

    @Test
    void unpackStopsAtTheTrailer() throws Exception {
        byte[] stream = packed();
        ByteArrayInputStream in = new ByteArrayInputStream(
                Arrays.copyOf(stream, stream.length + 3)); // whatever follows belongs to someone else
        ImageStream.unpack(in, target);
        assertEquals(3, in.available());
    }

    @Test
    void truncatedStream() throws Exception {
        byte[] stream = packed();
        assertEquals("image stream truncated: it ended at byte 10 inside the header: the sender "
                + "stopped early or the transfer was cut", unpackFails(Arrays.copyOf(stream, 10)));
        assertEquals("image stream truncated: it ended at byte 16 before the inventory trailer: the "
                + "sender stopped early or the transfer was cut", unpackFails(Arrays.copyOf(stream, 16)));
        for (int cut : new int[] {30, stream.length / 2, stream.length - 1}) {
            String message = unpackFails(Arrays.copyOf(stream, cut));
            assertTrue(message.startsWith("image stream truncated: it ended at byte " + cut + " "),
                    message);
        }
    }

    @Test
    void corruptedChunk() throws Exception {
        byte[] stream = packed();
        // The first chunk: process-4242.pb; its data starts after 'C', name length, name, size, crc.
        int data = 16 + 1 + 1 + "process-4242.pb".length() + 8;
        stream[data + 5] ^= 0x40;
        String message = unpackFails(stream);
        assertTrue(message.matches("image stream: chunk 0 of process-4242.pb at file offset 0: CRC32C "
                + "0x[0-9a-f]{8} != expected 0x[0-9a-f]{8}: the stream is corrupt"), message);
    }

    @Test
    void corruptedTrailerOrHeader() throws Exception {
        byte[] stream = packed();
        byte[] trailer = stream.clone();
        trailer[trailer.length - 9] ^= 1;
        assertTrue(unpackFails(trailer).startsWith("image stream: the inventory trailer: CRC32C 0x"));
        byte[] magic = stream.clone();
        magic[0] = 'X';
        assertEquals("image stream: starts with XMBERIMG, not AMBERIMG: not an amber image stream",
                unpackFails(magic));
        byte[] newer = stream.clone();
        newer[8] = 2;
        assertEquals("image format 2.0 is newer than this amber reads (1.0): use a newer amber",
                unpackFails(newer));
    }

    @Test
    void directStreamingWriteThenUnpack() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long n;
        try (ImageWriter writer = ImageWriter.toStream(out)) {
            n = SampleImage.write(writer);
        }
        assertEquals(out.size(), n);
        ImageStream.unpack(new ByteArrayInputStream(out.toByteArray()), target);
        assertSameImage(source, target);
    }

    @Test
    void directStreamingThroughAPipeWithInterleavedFiles() throws Exception {
        PipedInputStream in = new PipedInputStream(1 << 16);
        PipedOutputStream pipe = new PipedOutputStream(in);
        byte[] big = SampleImage.pages(700, 3); // several chunks
        CompletableFuture<Inventory> reader = CompletableFuture.supplyAsync(() -> {
            try {
                return ImageStream.unpack(in, target);
            } catch (ImageException e) {
                throw new RuntimeException(e);
            }
        });
        try (ImageWriter writer = ImageWriter.toStream(pipe)) {
            PageSink a = writer.openPages("pages-1.img");
            PageSink b = writer.openPages("pages-2.img");
            a.append(ByteBuffer.wrap(big));
            writer.writeMessage("process-1.pb", SampleImage.process(1, 0));
            b.append(ByteBuffer.wrap(big, 0, 8192));
            a.append(ByteBuffer.wrap(big, 0, 4096));
            writer.finish(SampleImage.header().setRootPid(1));
        }
        assertEquals(3, reader.get().getFilesCount());
        try (ImageReader image = ImageReader.open(target)) {
            byte[] pages = SampleImage.readAll(image, "pages-1.img");
            assertEquals(big.length + 4096, pages.length);
            assertArrayEquals(big, Arrays.copyOf(pages, big.length));
            assertEquals(8192, image.size("pages-2.img"));
        }
    }

    @Test
    void streamingWriterClosedWithoutFinishSendsAbort() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageWriter writer = ImageWriter.toStream(out)) {
            writer.writeMessage("process-1.pb", SampleImage.process(1, 0));
        }
        String message = unpackFails(out.toByteArray());
        assertTrue(message.startsWith("image stream: the writer abandoned the checkpoint (abort "
                + "record at byte "), message);
        assertTrue(message.endsWith("): there is no image"), message);
    }

    @Test
    void packRefusesADamagedImage() throws Exception {
        ImageFixtures.flipByte(source, "pages-4242.img", 7);
        String message = assertThrows(ImageException.class,
                () -> ImageStream.pack(source, new ByteArrayOutputStream())).getMessage();
        assertTrue(message.startsWith("image file pages-4242.img: CRC32C 0x"), message);
    }
}
