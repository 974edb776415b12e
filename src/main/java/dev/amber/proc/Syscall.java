package dev.amber.proc;

import java.io.IOException;

/**
 * {@code /proc/PID/syscall} (or {@code task/TID/syscall}): what a stopped task is doing. Three
 * shapes, numbers after the first in {@code 0x} hexadecimal:
 *
 * <pre>
 * running                                       the task is running: nothing to report
 * -1 0x7ffd5c2a1e48 0x7f3bf581b2ad              stopped, not in a system call: sp pc
 * 0 0x3 0x7f3b... 0x20000 0x7f3b... 0xffffffff 0x0 0x7ffd... 0x7f3b...   nr, 6 args, sp, pc
 * </pre>
 *
 * Readable only by a task that may ptrace the target; meaningful once the task is stopped.
 */
public sealed interface Syscall permits Syscall.Running, Syscall.NotInSyscall, Syscall.InSyscall {

    /** The task was running when the file was read. */
    record Running() implements Syscall {}

    /** Stopped outside any system call ({@code -1 sp pc}). */
    record NotInSyscall(long sp, long pc) implements Syscall {}

    /** Stopped inside system call {@code nr}, with its six argument registers. */
    record InSyscall(long nr, long[] args, long sp, long pc) implements Syscall {
        public InSyscall {
            if (args.length != 6) throw new IllegalArgumentException("6 args expected, got " + args.length);
            args = args.clone();
        }

        @Override
        public long[] args() {
            return args.clone();
        }

        public long arg(int index) {
            return args[index];
        }
    }

    static Syscall read(int pid) throws IOException {
        return ProcFiles.read(ProcFiles.path(pid, "syscall"), Syscall::parse);
    }

    static Syscall read(int pid, int tid) throws IOException {
        return ProcFiles.read(ProcFiles.taskPath(pid, tid, "syscall"), Syscall::parse);
    }

    static Syscall parse(String text) {
        var lines = new Lines("syscall", text);
        if (!lines.next()) throw new ProcFormatException("syscall", 0, "expected \"running\" or a syscall number, found nothing");
        if (lines.line().strip().equals("running")) return new Running();
        Cursor c = lines.cursor();
        long nr = c.decimal("\"running\" or a decimal syscall number");
        Syscall result;
        if (nr == -1) {
            result = new NotInSyscall(c.hex("sp in hexadecimal"), c.hex("pc in hexadecimal"));
        } else {
            long[] args = new long[6];
            for (int i = 0; i < 6; i++) args[i] = c.hex("argument " + (i + 1) + " in hexadecimal");
            result = new InSyscall(nr, args, c.hex("sp in hexadecimal"), c.hex("pc in hexadecimal"));
        }
        if (!c.atEnd()) throw lines.error("nothing after pc");
        return result;
    }
}
