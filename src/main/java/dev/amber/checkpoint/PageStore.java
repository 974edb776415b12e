package dev.amber.checkpoint;

import dev.amber.image.ImageException;
import dev.amber.image.ImageWriter;
import dev.amber.image.MappedPages;
import dev.amber.image.PageSink;
import dev.amber.image.proto.Memory;
import dev.amber.kind.memory.PageDumper;
import dev.amber.sys.Buffers;
import dev.amber.sys.Errno;
import java.io.IOException;

/**
 * Where a process's pages go while it is frozen, prepared before it is frozen so that freezing
 * costs only the copy. Into an image directory, the page file itself is mapped and its pages
 * allocated beforehand: the copy lands in the page cache and nothing is written afterwards.
 * Into a stream, a buffer of the tool's is filled instead and written out once the process runs
 * again.
 */
abstract sealed class PageStore implements AutoCloseable {
    final int pid;
    final String name;
    long total;

    PageStore(int pid, String name) {
        this.pid = pid;
        this.name = name;
    }

    static PageStore prepare(int pid, ImageWriter writer, String name, long estimate,
            java.util.function.LongConsumer progress) throws IOException, ImageException {
        var mapped = writer.mapPages(name, estimate);
        if (mapped.isPresent()) {
            int errno = Buffers.populate(mapped.get().segment(), progress);
            if (errno != 0 && errno != Errno.EINVAL) {
                throw new IOException("cannot allocate " + (estimate >> 20) + " MiB for the pages of pid " + pid
                        + " in the image (" + Errno.describe(errno) + "): is its file system full?");
            }
            return new Mapped(pid, name, mapped.get());
        }
        return new Buffered(pid, name, writer, Buffers.populated(estimate));
    }

    /** While frozen: every page of {@code memory} is captured or written when this returns. */
    abstract void capture(Memory memory, PageDumper.Progress progress) throws IOException, ImageException;

    /** Once the process runs again (or is about to be killed): the page file is complete. */
    abstract void complete(PageDumper.Progress progress) throws IOException, ImageException;

    long totalBytes() {
        return total;
    }

    @Override
    public void close() {}

    static final class Mapped extends PageStore {
        private final MappedPages pages;

        Mapped(int pid, String name, MappedPages pages) {
            super(pid, name);
            this.pages = pages;
        }

        @Override
        void capture(Memory memory, PageDumper.Progress progress) throws IOException, ImageException {
            PageDumper dumper = new PageDumper(pid, memory, pages.segment());
            total = dumper.totalBytes();
            if (total > pages.segment().byteSize()) {
                pages.resize(total);   // more than estimated: the rest takes page faults, nothing worse
                dumper = new PageDumper(pid, memory, pages.segment());
            }
            if (!dumper.capture(progress)) {
                throw new IllegalStateException("pages of pid " + pid + " do not fit the mapped page file");
            }
        }

        @Override
        void complete(PageDumper.Progress progress) throws ImageException {
            pages.finish(total);
        }
    }

    static final class Buffered extends PageStore {
        private final ImageWriter writer;
        private final Buffers.Mapping buffer;
        private PageDumper dumper;
        private boolean written;

        Buffered(int pid, String name, ImageWriter writer, Buffers.Mapping buffer) {
            super(pid, name);
            this.writer = writer;
            this.buffer = buffer;
        }

        @Override
        void capture(Memory memory, PageDumper.Progress progress) throws IOException, ImageException {
            dumper = new PageDumper(pid, memory, buffer.segment());
            total = dumper.totalBytes();
            if (!dumper.capture(progress)) {
                try (PageSink sink = writer.openPages(name)) {
                    dumper.writeCaptured(sink, progress);
                    dumper.writeRest(sink, progress);
                }
                written = true;
            }
        }

        @Override
        void complete(PageDumper.Progress progress) throws IOException, ImageException {
            if (!written) {
                try (PageSink sink = writer.openPages(name)) {
                    dumper.writeCaptured(sink, progress);
                }
            }
        }

        @Override
        public void close() {
            buffer.close();
        }
    }
}
