package dev.amber.image;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import dev.amber.image.proto.ImageFile;
import dev.amber.image.proto.Inventory;
import dev.amber.image.proto.Process;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A validated image. {@link #open} checks everything that can be checked without interpreting the
 * processes, before anything else uses the image: the directory, the inventory and its checksum,
 * the format version, the arch, and every file's presence, size and CRC32C; files that look like
 * image files but are not listed are refused too. Reads after that are bounded by the inventory
 * and re-check metadata checksums, so a file changed since open is still caught.
 */
public final class ImageReader implements AutoCloseable {
    private static final long READ_PIECE = 64L << 20;

    private final Path dir;
    private final Inventory inventory;
    private final Map<String, ImageFile> files;
    private final Map<String, FileChannel> channels = new HashMap<>();

    private ImageReader(Path dir, Inventory inventory, Map<String, ImageFile> files) {
        this.dir = dir;
        this.inventory = inventory;
        this.files = files;
    }

    /** Opens and validates the image in {@code dir} for this amber and this machine. */
    public static ImageReader open(Path dir) throws ImageException {
        return open(dir, ImageFormat.MAJOR, ImageFormat.MINOR, ImageFormat.hostArch());
    }

    static ImageReader open(Path dir, int major, int minor, String arch) throws ImageException {
        if (!Files.exists(dir)) {
            throw new ImageException("no image at " + dir + ": directory does not exist");
        }
        if (!Files.isDirectory(dir)) {
            throw new ImageException("no image at " + dir + ": not a directory");
        }
        Path inventoryFile = dir.resolve(ImageFormat.INVENTORY);
        if (!Files.exists(inventoryFile, LinkOption.NOFOLLOW_LINKS)) {
            throw new ImageException("no image at " + dir + ": " + ImageFormat.INVENTORY
                    + " is missing (a checkpoint that did not finish leaves none)");
        }
        Inventory inventory =
                InventoryCodec.decode(readBounded(inventoryFile, ImageFormat.INVENTORY), major, minor);
        if (!inventory.getArch().equals(arch)) {
            throw new ImageException(
                    "image is for " + inventory.getArch() + ", this machine is " + arch);
        }
        Map<String, ImageFile> files = ImageValidation.check(dir, inventory);
        return new ImageReader(dir, inventory, files);
    }

    public Path directory() {
        return dir;
    }

    public Inventory inventory() {
        return inventory;
    }

    /** Every file except the inventory, in writing order. */
    public List<ImageFile> files() {
        return List.copyOf(files.values());
    }

    public boolean contains(String name) {
        return files.containsKey(name);
    }

    public long size(String name) throws ImageException {
        return entry(name).getSize();
    }

    /** Reads and parses a whole metadata file, checking its size and CRC32C again. */
    public <T extends Message> T readMessage(String name, Parser<T> parser) throws ImageException {
        ImageFile entry = entry(name);
        if (entry.getSize() > ImageFormat.MAX_METADATA_BYTES) {
            throw ImageValidation.oversize(name, entry.getSize());
        }
        byte[] bytes = new byte[(int) entry.getSize()];
        read(name, 0, MemorySegment.ofArray(bytes));
        int crc = Checksums.of(bytes);
        if (crc != entry.getCrc32C()) {
            throw new ImageException(Checksums.mismatch(name, crc, entry.getCrc32C()));
        }
        try {
            return parser.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new ImageException("image file " + name + ": does not parse (" + e.getMessage()
                    + "): the image is corrupt", e);
        }
    }

    /** Every process-PID.pb of the image, in the order written: the root first, parents before children. */
    public List<Process> processes() throws ImageException {
        List<Process> all = new ArrayList<>();
        for (String name : files.keySet()) {
            if (name.startsWith("process-") && name.endsWith(".pb")) {
                all.add(readMessage(name, Process.parser()));
            }
        }
        int root = inventory.getRootPid();
        // The order they were written in: parents before children, as a restart must make them.
        all.sort(Comparator.comparing((Process p) -> p.getPid() != root));
        return all;
    }

    /** Fills {@code dst} from {@code offset} of file {@code name}, in large reads. */
    public void read(String name, long offset, MemorySegment dst) throws ImageException {
        ImageFile entry = entry(name);
        long size = dst.byteSize();
        if (offset < 0 || offset > entry.getSize() - size) {
            throw new ImageException("image file " + name + ": read of " + size + " bytes at offset "
                    + offset + " runs past its end (" + entry.getSize() + " bytes): the image is corrupt");
        }
        FileChannel channel = channel(name);
        try {
            for (long done = 0; done < size; ) {
                ByteBuffer piece = dst.asSlice(done, Math.min(READ_PIECE, size - done)).asByteBuffer();
                while (piece.hasRemaining()) {
                    int n = channel.read(piece, offset + done + piece.position());
                    if (n < 0) {
                        throw new ImageException("image file " + name + ": ended at "
                                + (offset + done + piece.position()) + " of " + entry.getSize()
                                + " bytes: the image is truncated");
                    }
                }
                done += piece.capacity();
            }
        } catch (IOException e) {
            throw new ImageException("cannot read image file " + dir.resolve(name) + ": "
                    + e.getMessage(), e);
        }
    }

    /** Maps a whole file read-only into {@code arena}: for page files restored in place. */
    public MemorySegment map(String name, Arena arena) throws ImageException {
        long size = entry(name).getSize();
        try {
            return channel(name).map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (IOException e) {
            throw new ImageException("cannot map image file " + dir.resolve(name) + ": "
                    + e.getMessage(), e);
        }
    }

    /** The read-only channel of file {@code name}, owned by this reader. */
    public FileChannel channel(String name) throws ImageException {
        entry(name);
        FileChannel channel = channels.get(name);
        if (channel == null) {
            try {
                channel = FileChannel.open(dir.resolve(name), StandardOpenOption.READ,
                        LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                throw new ImageException("cannot open image file " + dir.resolve(name) + ": "
                        + e.getMessage(), e);
            }
            channels.put(name, channel);
        }
        return channel;
    }

    private ImageFile entry(String name) throws ImageException {
        ImageFile entry = files.get(name);
        if (entry == null) {
            throw new ImageException("image file " + name + ": not in the image at " + dir);
        }
        return entry;
    }

    /** Reads a whole metadata file, refusing one over the limit before allocating anything. */
    static byte[] readBounded(Path file, String name) throws ImageException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size <= ImageFormat.MAX_METADATA_BYTES) {
                ByteBuffer bytes = ByteBuffer.allocate((int) size);
                while (bytes.hasRemaining() && channel.read(bytes) >= 0) {
                    // until full or end of file
                }
                return Arrays.copyOf(bytes.array(), bytes.position());
            }
            throw ImageValidation.oversize(name, size);
        } catch (IOException e) {
            throw new ImageException("cannot read image file " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        for (FileChannel channel : channels.values()) {
            try {
                channel.close();
            } catch (IOException e) {
                // Read-only: nothing to lose.
            }
        }
        channels.clear();
    }
}
