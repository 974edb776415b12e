import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Amber's JVM target (JvmTest): several threads that keep counting into a file.
 *
 * Every 100 ms the writer thread hands a request to whichever of three worker threads takes it
 * (a SynchronousQueue, so the idle workers are parked in the JVM), the worker increments the
 * shared AtomicLong and hands the value back, and the writer appends it to FILE as one line, at
 * the descriptor's own offset. The file therefore holds 1, 2, 3, ... with no gap and no repeat,
 * whatever checkpoints and restarts happen meanwhile. On SIGTERM a shutdown hook stops the writer,
 * checks the file and prints "PASS" (the JVM then exits with 143), or "FAIL: ..." and exits 1.
 *
 * Compiled by JvmTest with the JDK's javac; not part of Maven's test compile.
 */
public final class Counter {
    private static final int WORKERS = 3;

    private final Path file;
    private final AtomicLong counter = new AtomicLong();
    private final AtomicLongArray perWorker = new AtomicLongArray(WORKERS);
    private final SynchronousQueue<Boolean> requests = new SynchronousQueue<>(true); // fair: the workers take turns
    private final SynchronousQueue<Long> replies = new SynchronousQueue<>();
    private volatile boolean stop;
    private volatile String failure;
    private long written;

    private Counter(Path file) {
        this.file = file;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: Counter FILE");
            System.exit(2);
        }
        new Counter(Path.of(args[0])).run();
    }

    private void run() throws IOException {
        FileOutputStream out = new FileOutputStream(file.toFile()); // truncates; not O_APPEND
        for (int i = 0; i < WORKERS; i++) {
            int index = i;
            Thread w = new Thread(() -> work(index), "counter-worker-" + i);
            w.setDaemon(true);
            w.start();
        }
        Thread writer = new Thread(() -> write(out), "counter-writer");
        writer.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> finish(writer), "counter-check"));
        System.out.println("READY");
        System.out.flush();
    }

    private void work(int index) {
        try {
            for (;;) {
                requests.take();
                byte[] garbage = new byte[64 * 1024]; // some allocation, so the collector runs now and then
                garbage[index] = 1;
                perWorker.incrementAndGet(index);
                replies.put(counter.incrementAndGet());
            }
        } catch (InterruptedException e) {
            // daemon: ends with the JVM
        }
    }

    private void write(FileOutputStream out) {
        try {
            while (!stop) {
                requests.put(Boolean.TRUE);
                long value = replies.take();
                if (value != written + 1)
                    fail("counter went from " + written + " to " + value);
                out.write((value + "\n").getBytes(StandardCharsets.US_ASCII)); // one write(2) per line
                written = value;
                TimeUnit.MILLISECONDS.sleep(100);
            }
        } catch (InterruptedException e) {
            // the shutdown hook stops us
        } catch (IOException e) {
            fail("write " + file + ": " + e);
        }
    }

    private void fail(String why) {
        if (failure == null)
            failure = why;
    }

    /** The shutdown hook: stop writing, then check the file holds exactly 1..written. */
    private void finish(Thread writer) {
        stop = true;
        writer.interrupt();
        try {
            writer.join(5000);
            if (writer.isAlive())
                fail("the writer thread did not stop");
            List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
            for (int i = 0; i < lines.size() && failure == null; i++)
                if (!lines.get(i).equals(Long.toString(i + 1)))
                    fail(file + ": line " + (i + 1) + " holds \"" + lines.get(i) + "\" (gap or repeat)");
            if (failure == null && lines.size() != written)
                fail(file + " has " + lines.size() + " lines, the writer wrote " + written);
            for (int i = 0; i < WORKERS && failure == null && written >= 30; i++)
                if (perWorker.get(i) == 0)
                    fail("worker " + i + " never counted (" + written + " counts)");
        } catch (IOException | InterruptedException e) {
            fail("check " + file + ": " + e);
        }
        if (failure != null) {
            System.out.println("FAIL: " + failure);
            System.out.flush();
            Runtime.getRuntime().halt(1);
        }
        System.out.println("counted to " + written);
        System.out.println("PASS");
        System.out.flush();
    }
}
