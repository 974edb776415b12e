package dev.amber.kind.memory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs one piece of work per item on every CPU (up to four), the calling thread among them.
 * Moving pages in and out of a process is mostly the kernel allocating and copying pages, which
 * parallelises. The first failure stops the others at their next item and is rethrown.
 */
final class Parallel {
    /** Work on one item; {@code mine} is true on the calling thread (the one that may report progress). */
    interface Work<T> {
        void run(T item, boolean mine) throws IOException;
    }

    private static final int WORKERS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    private Parallel() {}

    /** Below this much work, helper threads cost more to start than they save. */
    private static final long WORTH_A_THREAD = 8L << 20;

    /** {@code bytes} is the whole work's size: small work runs on the calling thread alone. */
    static <T> void forEach(List<T> items, String name, long bytes, Work<T> work) throws IOException {
        if (bytes < WORTH_A_THREAD) {
            for (T item : items) {
                work.run(item, true);
            }
            return;
        }
        AtomicInteger cursor = new AtomicInteger();
        Thread caller = Thread.currentThread();
        java.util.concurrent.Callable<Void> worker = () -> {
            for (int i; (i = cursor.getAndIncrement()) < items.size(); ) {
                work.run(items.get(i), Thread.currentThread() == caller);
            }
            return null;
        };
        List<FutureTask<Void>> helpers = new ArrayList<>();
        for (int i = 1; i < Math.min(WORKERS, items.size()); i++) {
            FutureTask<Void> t = new FutureTask<>(worker);
            Thread.ofPlatform().daemon(true).name("amber-" + name + "-" + i).start(t);
            helpers.add(t);
        }
        try {
            worker.call();
            for (FutureTask<Void> t : helpers) {
                t.get();
            }
        } catch (ExecutionException e) {
            cursor.set(items.size());
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IllegalStateException(e.getCause());
        } catch (IOException | RuntimeException e) {
            cursor.set(items.size());
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
