package dev.amber.trace;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The one platform thread that makes every ptrace and wait4 call. The kernel accepts ptrace
 * requests for a tracee only from the thread that attached, and detaches every tracee when that
 * thread exits; so the thread is never replaced ({@code submit}, never {@code execute}: an
 * uncaught exception in an executed task would replace the thread) and never virtual.
 */
public final class Tracer implements AutoCloseable {
    /** Work that runs on the tracer thread and may fail with a checked exception. */
    public interface Work<T> {
        T run() throws Exception;
    }

    private final ExecutorService executor;
    private volatile Thread thread;

    public Tracer() {
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = Thread.ofPlatform().name("amber-tracer").daemon(true).unstarted(r);
            thread = t;
            return t;
        });
    }

    /** Runs {@code work} on the tracer thread and returns its result, rethrowing what it threw. */
    public <T> T call(Work<T> work) throws Exception {
        if (Thread.currentThread() == thread) {
            return work.run();
        }
        Callable<T> task = work::run;
        Future<T> f = executor.submit(task);
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // The tracer thread carries on: what it does must finish, or the tracee stays half-done.
            try {
                return f.get();
            } catch (ExecutionException ee) {
                throw unwrap(ee);
            }
        } catch (ExecutionException e) {
            throw unwrap(e);
        }
    }

    private static Exception unwrap(ExecutionException e) {
        Throwable c = e.getCause();
        if (c instanceof Exception ex) {
            return ex;
        }
        if (c instanceof Error err) {
            throw err;
        }
        return e;
    }

    public static void assertOnTracer(Thread expected) {
        if (Thread.currentThread() != expected) {
            throw new IllegalStateException("ptrace call off the tracer thread: " + Thread.currentThread().getName());
        }
    }

    Thread thread() {
        return thread;
    }

    @Override
    public void close() {
        executor.shutdown();
    }
}
