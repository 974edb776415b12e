package dev.amber.trace;

import dev.amber.sys.ErrnoException;
import dev.amber.sys.Scheduling;

/**
 * Puts the tracer thread on the CPU its tracee last ran on. An injected call is two ptrace
 * round trips; with tracer and tracee on one CPU each costs about 5 µs, across CPUs about 70 µs
 * (waking the other vCPU). Only the tracer's own affinity changes, never the tracee's.
 */
public final class CpuPin {
    private CpuPin() {}

    /** Pins the calling thread to {@code cpu} if the tracee may run there; does nothing otherwise. */
    public static void follow(int tid, int cpu) {
        try {
            byte[] allowed = Scheduling.affinity(tid);
            if (cpu < 0 || cpu / 8 >= allowed.length || (allowed[cpu / 8] & (1 << (cpu % 8))) == 0) {
                return;
            }
            byte[] mask = new byte[allowed.length];
            mask[cpu / 8] = (byte) (1 << (cpu % 8));
            Scheduling.setAffinity(0, mask);
        } catch (ErrnoException e) {
            // Only a speed-up: without it the calls just cost more.
        }
    }
}
