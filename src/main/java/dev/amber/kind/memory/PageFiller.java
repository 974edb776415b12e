package dev.amber.kind.memory;

import dev.amber.image.proto.Memory;
import dev.amber.image.proto.PageRun;
import dev.amber.image.proto.Vma;
import dev.amber.kind.PageSource;
import dev.amber.sys.Arch;
import dev.amber.sys.ProcessMemory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Writes the saved pages into a restoring process, from the page file mapped in the tool, with
 * process_vm_writev on every CPU: most of the cost is the kernel allocating the process's new
 * pages, and that parallelises. The mappings must be writable while this runs.
 */
final class PageFiller {
    private static final long PIECE = 8 << 20;
    private static final int WRITERS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    private PageFiller() {}

    static void fill(int pid, Memory memory, PageSource pages) throws IOException {
        List<long[]> pieces = new ArrayList<>();   // {address, file offset, length}
        for (Vma v : memory.getVmasList()) {
            for (PageRun run : v.getPagesList()) {
                long bytes = run.getCount() * Arch.PAGE_SIZE;
                for (long done = 0; done < bytes; done += PIECE) {
                    pieces.add(new long[] {run.getAddress() + done, run.getFileOffset() + done,
                            Math.min(PIECE, bytes - done)});
                }
            }
        }
        AtomicInteger cursor = new AtomicInteger();
        Callable<Void> writer = () -> {
            for (int i; (i = cursor.getAndIncrement()) < pieces.size(); ) {
                long[] p = pieces.get(i);
                ProcessMemory.write(pid, p[0], pages.slice(memory.getPagesFile(), p[1], p[2]));
            }
            return null;
        };
        List<FutureTask<Void>> helpers = new ArrayList<>();
        for (int i = 1; i < Math.min(WRITERS, pieces.size()); i++) {
            FutureTask<Void> t = new FutureTask<>(writer);
            Thread.ofPlatform().daemon(true).name("amber-fill-" + i).start(t);
            helpers.add(t);
        }
        try {
            writer.call();
            for (FutureTask<Void> t : helpers) {
                t.get();
            }
        } catch (ExecutionException e) {
            cursor.set(pieces.size());
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IllegalStateException(e.getCause());
        } catch (IOException | RuntimeException e) {
            cursor.set(pieces.size());
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
