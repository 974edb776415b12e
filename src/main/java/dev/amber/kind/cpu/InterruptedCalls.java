package dev.amber.kind.cpu;

import dev.amber.sys.Arch;
import dev.amber.trace.Regs;
import dev.amber.trace.SyscallRestart;

/**
 * How a call that the task was stopped in continues in a restarted process. Calls that return
 * -ERESTARTSYS, -ERESTARTNOINTR or -ERESTARTNOHAND are simply run again, as the kernel would.
 * Calls that left a restart block (-ERESTART_RESTARTBLOCK: relative nanosleep and
 * clock_nanosleep, poll with a timeout) cannot use it in a new process: a sleep that was given a
 * place for the remaining time has it there already (the kernel wrote it when the sleep was
 * interrupted), so it sleeps just that; one without is run again with its whole timeout.
 */
final class InterruptedCalls {
    record Resumption(Regs regs, String description) {}

    private InterruptedCalls() {}

    static Resumption forImage(Regs r) {
        long nr = r.get(Arch.ORIG_RAX);
        if (r.get(Arch.RAX) == SyscallRestart.EINTR) {
            return new Resumption(SyscallRestart.rerun(r, nr), "call " + nr + " run again (its EINTR came from the checkpoint)");
        }
        if (r.get(Arch.RAX) != SyscallRestart.ERESTART_RESTARTBLOCK) {
            return new Resumption(SyscallRestart.rerun(r, nr), "call " + nr + " run again");
        }
        if (nr == Arch.SYS_NANOSLEEP && r.get(Arch.RSI) != 0) {
            // nanosleep(req, rem): sleep what remains, read from rem.
            return new Resumption(SyscallRestart.rerun(r.with(Arch.RDI, r.get(Arch.RSI)), nr),
                    "nanosleep for the remaining time");
        }
        if (nr == Arch.SYS_CLOCK_NANOSLEEP && r.get(Arch.R10) != 0) {
            // clock_nanosleep(clock, flags, req, rem): relative (absolute ones restart as they are).
            return new Resumption(SyscallRestart.rerun(r.with(Arch.RDX, r.get(Arch.R10)), nr),
                    "clock_nanosleep for the remaining time");
        }
        String name = nr == Arch.SYS_NANOSLEEP ? "nanosleep" : nr == Arch.SYS_CLOCK_NANOSLEEP ? "clock_nanosleep"
                : nr == Arch.SYS_POLL ? "poll" : "call " + nr;
        return new Resumption(SyscallRestart.rerun(r, nr), name + " run again with its whole timeout");
    }
}
