package dev.amber.kind.file;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.FileExtent;
import dev.amber.sys.Arch;
import dev.amber.sys.LocalBuffer;
import dev.amber.sys.Pidfd;
import dev.amber.sys.Syscall;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The data of a file with holes: lseek(2) with SEEK_DATA and SEEK_HOLE walks its allocated
 * stretches (a file system without them reports one stretch, the whole file), so a 2 GiB file
 * with a megabyte written is saved as that megabyte and its size.
 */
final class FileExtents {
    private static final int SEEK_DATA = 3, SEEK_HOLE = 4, O_RDONLY = 0, O_CLOEXEC = 02000000, AT_FDCWD = -100,
            ENXIO = 6;

    private FileExtents() {}

    /** The data stretches of the file at {@code link} (of {@code size} bytes), as [start, end) pairs. */
    static List<long[]> data(Path link, long size) throws IOException {
        List<long[]> out = new ArrayList<>();
        long fd;
        try (LocalBuffer b = new LocalBuffer(link.toString().length() * 4L + 1)) {
            fd = Syscall.raw(Arch.SYS_OPENAT, AT_FDCWD, b.putString(0, link.toString()), O_RDONLY | O_CLOEXEC, 0);
        }
        if (fd < 0) {
            throw new dev.amber.sys.ErrnoException("open", link.toString(), (int) -fd);
        }
        try {
            long at = 0;
            while (at < size) {
                long start = Syscall.raw(Arch.SYS_LSEEK, fd, at, SEEK_DATA);
                if (start == -ENXIO) {
                    break;   // only a hole from here to the end
                }
                if (start < 0) {
                    throw new dev.amber.sys.ErrnoException("lseek(SEEK_DATA)", link.toString(), (int) -start);
                }
                long end = Math.min(size, Syscall.raw(Arch.SYS_LSEEK, fd, start, SEEK_HOLE));
                if (end <= start) {
                    end = size;
                }
                out.add(new long[] {start, end});
                at = end;
            }
        } finally {
            Pidfd.close((int) fd);
        }
        return out;
    }

    /** Reads each stretch; the process is stopped, so nothing changes them meanwhile. */
    static List<FileExtent> read(Path link, List<long[]> extents) throws IOException {
        List<FileExtent> out = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(link, StandardOpenOption.READ)) {
            for (long[] e : extents) {
                ByteBuffer data = ByteBuffer.allocate(Math.toIntExact(e[1] - e[0]));
                while (data.hasRemaining() && ch.read(data, e[0] + data.position()) > 0) {
                    // until the stretch is read
                }
                if (data.hasRemaining()) {
                    throw new IOException(link + ": read " + data.position() + " of " + (e[1] - e[0]) + " bytes at " + e[0]);
                }
                out.add(FileExtent.newBuilder().setOffset(e[0]).setData(ByteString.copyFrom(data.flip())).build());
            }
        }
        return out;
    }
}
