package dev.amber.image;

import com.google.protobuf.Message;
import dev.amber.image.proto.Inventory;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes one image: metadata messages and page files in any order, then {@link #finish} writes the
 * inventory, which lists every file with its size and CRC32C. Until then nothing is an image: a
 * writer closed without finish removes what it wrote (to a stream it sends an abort record), so a
 * failed checkpoint never leaves something that looks valid. Nothing is fsync'ed: the page cache
 * is enough for a restart on the same host, and a copy to another one goes through a stream.
 *
 * <p>Not thread-safe: one thread writes an image.
 */
public final class ImageWriter implements AutoCloseable {
    private final ImageTarget target;
    private final Map<String, FileOutput> files = new LinkedHashMap<>();
    private boolean done;

    private ImageWriter(ImageTarget target) {
        this.target = target;
    }

    /** Writes a new image directory {@code dir}; it must not exist, or be empty and 0700. */
    public static ImageWriter create(Path dir) throws ImageException {
        return new ImageWriter(new DirectoryTarget(ImageDirectory.create(dir)));
    }

    /** Writes the image as one stream (see {@link ImageStream}); {@code out} is not closed. */
    public static ImageWriter toStream(OutputStream out) throws ImageException {
        return new ImageWriter(new StreamTarget(new StreamEncoder(out)));
    }

    /** Writes {@code message} as the whole of file {@code name} (for example process-4242.pb). */
    public void writeMessage(String name, Message message) throws ImageException {
        byte[] bytes = message.toByteArray();
        if (ImageFormat.isMetadata(name) && bytes.length > ImageFormat.MAX_METADATA_BYTES) {
            throw new ImageException("image file " + name + ": " + bytes.length + " bytes exceeds the "
                    + ImageFormat.MAX_METADATA_BYTES + "-byte metadata limit: move bulk data to a page file");
        }
        try (FileOutput out = newFile(name)) {
            out.write(ByteBuffer.wrap(bytes));
        }
    }

    /** Starts page file {@code name} (for example pages-4242.img). */
    public PageSink openPages(String name) throws ImageException {
        return new PageSink(newFile(name));
    }

    /**
     * Starts page file {@code name} to be filled in place through a mapping of {@code size}
     * bytes (no copy through the writer), or empty when the image goes to a stream.
     */
    public java.util.Optional<MappedPages> mapPages(String name, long size) throws ImageException {
        if (!(target instanceof DirectoryTarget directory)) {
            return java.util.Optional.empty();
        }
        ImageFormat.checkName(name);
        if (done || files.containsKey(name)) {
            throw new IllegalStateException("image file " + name + " cannot be started now");
        }
        MappedPages pages = directory.createMapped(name);
        files.put(name, pages.output());
        pages.resize(size);
        return java.util.Optional.of(pages);
    }

    private FileOutput newFile(String name) throws ImageException {
        ImageFormat.checkName(name);
        if (done) {
            throw new IllegalStateException("image already finished or closed");
        }
        if (files.containsKey(name)) {
            throw new IllegalArgumentException("image file " + name + " written twice");
        }
        FileOutput out = target.create(name);
        files.put(name, out);
        return out;
    }

    /**
     * Closes every file, fills in {@code header} (format version, the file list, and arch, kernel
     * and creation time where the caller left them unset) and writes the inventory last. Returns
     * the total bytes written: all files for a directory, the whole stream for a stream.
     */
    public long finish(Inventory.Builder header) throws ImageException {
        if (done) {
            throw new IllegalStateException("image already finished or closed");
        }
        for (FileOutput out : files.values()) {
            out.close();
        }
        header.setFormatMajor(ImageFormat.MAJOR).setFormatMinor(ImageFormat.MINOR).clearFiles();
        files.values().forEach(out -> header.addFiles(out.entry()));
        if (header.getArch().isEmpty()) {
            header.setArch(ImageFormat.hostArch());
        }
        if (header.getKernelRelease().isEmpty()) {
            header.setKernelRelease(System.getProperty("os.version")); // uname -r on Linux
        }
        if (header.getCreatedUnixMillis() == 0) {
            header.setCreatedUnixMillis(System.currentTimeMillis());
        }
        long total = target.commit(InventoryCodec.encode(header.build()));
        done = true;
        return total;
    }

    /** After {@link #finish}, does nothing; before it, removes (or aborts) what was written. */
    @Override
    public void close() {
        if (done) {
            return;
        }
        done = true;
        for (FileOutput out : files.values()) {
            try {
                out.close();
            } catch (ImageException e) {
                // Being undone anyway.
            }
        }
        target.abort();
    }
}
