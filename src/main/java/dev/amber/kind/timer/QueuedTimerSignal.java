package dev.amber.kind.timer;

import dev.amber.image.proto.PosixTimer;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.Thread;
import dev.amber.kind.TaskHandle;
import dev.amber.sys.Arch;
import dev.amber.trace.Injector;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The signal a POSIX timer has queued and that is not yet delivered. The kernel queues a
 * timer's signal from a sigqueue of the timer's own, at most once, and a periodic timer is
 * re-armed only when that signal is delivered (until then timer_gettime reads the next expiry
 * but nothing fires). Queued again as a plain copy beside a re-armed timer, the signal would come
 * twice; so it is saved as the timer's state, not as a pending signal, and restored by arming
 * the timer to expire at once in the puppet (whose signals are all blocked) and waiting for the
 * kernel to queue it. Its siginfo, as PTRACE_PEEKSIGINFO shows it:
 *
 * <pre>
 *  8  i32 si_code     SI_TIMER -2
 * 16  i32 si_tid      the timer id
 * 20  i32 si_overrun
 * 24  u64 si_value    sigev_value
 * </pre>
 */
final class QueuedTimerSignal {
    static final int SHARED = -1, NONE = -2;
    private static final int SI_TIMER = -2, SLEEP_AT = 192;
    private static final long SLEEP_NANOS = 100_000;
    private static final int POLLS = 10_000;   // 100 µs each: a second

    private QueuedTimerSignal() {}

    static boolean of(byte[] info, int timerId) {
        ByteBuffer b = ByteBuffer.wrap(info).order(ByteOrder.LITTLE_ENDIAN);
        return b.getInt(8) == SI_TIMER && b.getInt(16) == timerId;
    }

    /** Where the kernel holds the timer's signal queued: {@link #SHARED}, a thread's index, or {@link #NONE}. */
    static int queue(List<TaskHandle> tasks, int timerId) throws IOException {
        if (tasks.getFirst().tracee().pendingSignals(true).stream().anyMatch(i -> of(i, timerId))) {
            return SHARED;
        }
        for (int t = 0; t < tasks.size(); t++) {
            if (tasks.get(t).tracee().pendingSignals(false).stream().anyMatch(i -> of(i, timerId))) {
                return t;
            }
        }
        return NONE;
    }

    /**
     * Takes the timer's queued signal (in {@code queue}) out of the pending signals the signal
     * kind saved, if it was queued when they were read. A thread's saved list begins with the
     * signals taken off it while it was seized: those were delivered as far as the timer is
     * concerned (it was re-armed) and stay.
     */
    static void unsave(Process.Builder process, List<Thread.Builder> threads, List<TaskHandle> tasks, int queue,
            int timerId) {
        if (queue == SHARED) {
            var signals = process.getSignalsBuilder();
            List<ByteString> kept = new ArrayList<>(signals.getSharedPendingList());
            int last = lastOf(kept, timerId);
            if (last >= 0) {
                kept.remove(last);
                signals.clearSharedPending().addAllSharedPending(kept);
            }
        } else if (queue != NONE) {
            Thread.Builder thread = threads.get(queue);
            List<ByteString> kept = new ArrayList<>(thread.getPendingList());
            long held = tasks.get(queue).tracee().heldSignals().stream().filter(i -> of(i, timerId)).count();
            if (kept.stream().filter(i -> of(i.toByteArray(), timerId)).count() > held) {
                kept.remove(lastOf(kept, timerId));
                thread.clearPending().addAllPending(kept);
            }
        }
    }

    private static int lastOf(List<ByteString> infos, int timerId) {
        for (int i = infos.size() - 1; i >= 0; i--) {
            if (of(infos.get(i).toByteArray(), timerId)) {
                return i;
            }
        }
        return -1;
    }

    /** Waits, in the puppet, until the timer just armed to expire at once has queued its signal. */
    static void await(Injector inj, List<TaskHandle> tasks, int pid, PosixTimer t) throws IOException {
        long sleep = inj.put(SLEEP_AT, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(0).putLong(SLEEP_NANOS).array());
        for (int i = 0; i < POLLS; i++) {
            if (queue(tasks, t.getId()) != NONE) {
                return;
            }
            inj.check("nanosleep(100 us)", Arch.SYS_NANOSLEEP, sleep, 0);
        }
        throw new IOException("pid " + pid + " timer " + t.getId() + ": armed to expire in 1 ns, it queued no"
                + " signal " + t.getSignal() + " within a second");
    }
}
