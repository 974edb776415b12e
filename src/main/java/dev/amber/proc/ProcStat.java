package dev.amber.proc;

import java.io.IOException;

/**
 * {@code /proc/PID/stat} and {@code /proc/PID/task/TID/stat}: one line of 52 space-separated
 * fields ({@code man 5 proc_pid_stat}, field numbers below are the manual's, 1-based):
 *
 * <pre>
 * (1)  (2)          (3) (4)  (5)  (6)  (7) (8) (9)     (10)...          (52)
 * 4242 (a) b (c) S 4200 4242 4200 0 -1 4194304 101 0 ... 140725732544491 0
 * </pre>
 *
 * The comm (2) is printed raw between parentheses, up to 15 bytes that may include spaces, ')'
 * and even a newline: it runs from the first {@code '('} to the <em>last</em> {@code ')'}. The
 * kernel zeroes the address fields (26-28, 45-51) and {@code kstkesp/kstkeip} when the reader may
 * not ptrace the task. Unsigned 64-bit values (vsize, masks, addresses) are held in longs.
 */
public record ProcStat(
        int pid,            // (1)
        String comm,        // (2)
        char state,         // (3)
        int ppid,           // (4)
        int pgrp,           // (5)
        int session,        // (6)
        int ttyNr,          // (7)
        int tpgid,          // (8)
        int flags,          // (9)  PF_* flags
        long minflt,        // (10)
        long cminflt,       // (11)
        long majflt,        // (12)
        long cmajflt,       // (13)
        long utime,         // (14) clock ticks
        long stime,         // (15)
        long cutime,        // (16)
        long cstime,        // (17)
        long priority,      // (18)
        long nice,          // (19)
        int numThreads,     // (20)
        long itrealvalue,   // (21) always 0
        long startTime,     // (22) clock ticks since boot
        long vsize,         // (23) bytes
        long rss,           // (24) pages
        long rsslim,        // (25)
        long startCode,     // (26)
        long endCode,       // (27)
        long startStack,    // (28)
        long kstkesp,       // (29)
        long kstkeip,       // (30)
        long signal,        // (31) legacy masks: prefer ProcStatus
        long blocked,       // (32)
        long sigignore,     // (33)
        long sigcatch,      // (34)
        long wchan,         // (35)
        long nswap,         // (36)
        long cnswap,        // (37)
        int exitSignal,     // (38)
        int processor,      // (39)
        int rtPriority,     // (40)
        int policy,         // (41)
        long delayacctBlkioTicks, // (42)
        long guestTime,     // (43)
        long cguestTime,    // (44)
        long startData,     // (45)
        long endData,       // (46)
        long startBrk,      // (47)
        long argStart,      // (48)
        long argEnd,        // (49)
        long envStart,      // (50)
        long envEnd,        // (51)
        int exitCode) {     // (52)

    /** PF_EXITING (include/linux/sched.h): set by do_exit before it lets go of the memory and files. */
    public static final int PF_EXITING = 0x4;

    /**
     * Whether the task has begun to exit: a zombie or dead already, or still running its
     * do_exit (PF_EXITING), where /proc files that need its memory (smaps_rollup, mem) give ESRCH.
     */
    public boolean exiting() {
        return state == 'Z' || state == 'X' || (flags & PF_EXITING) != 0;
    }

    public static ProcStat read(int pid) throws IOException {
        return ProcFiles.read(ProcFiles.path(pid, "stat"), ProcStat::parse);
    }

    public static ProcStat read(int pid, int tid) throws IOException {
        return ProcFiles.read(ProcFiles.taskPath(pid, tid, "stat"), ProcStat::parse);
    }

    public static ProcStat parse(String text) {
        String line = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        // A comm may contain a newline: treat the whole text as one line.
        var lines = new Lines("stat", line.replace('\n', ' '));
        lines.next();
        int open = line.indexOf(" (");
        int close = line.lastIndexOf(')');
        if (open < 0 || close < open) throw lines.error("\"pid (comm) state ...\"");
        int pid;
        try {
            pid = Integer.parseInt(line.substring(0, open));
        } catch (NumberFormatException e) {
            throw lines.error("a decimal pid before \"(comm)\"");
        }
        String comm = line.substring(open + 2, close);
        Cursor c = new Cursor(lines, line.substring(close + 1).replace('\n', ' '));
        String state = c.token("(3) state");
        if (state.length() != 1) throw lines.error("(3) state as one letter");
        var stat = new ProcStat(pid, comm, state.charAt(0),
                c.decimalInt("(4) ppid"), c.decimalInt("(5) pgrp"), c.decimalInt("(6) session"),
                c.decimalInt("(7) tty_nr"), c.decimalInt("(8) tpgid"), c.decimalInt("(9) flags"),
                c.decimal("(10) minflt"), c.decimal("(11) cminflt"), c.decimal("(12) majflt"), c.decimal("(13) cmajflt"),
                c.decimal("(14) utime"), c.decimal("(15) stime"), c.decimal("(16) cutime"), c.decimal("(17) cstime"),
                c.decimal("(18) priority"), c.decimal("(19) nice"), c.decimalInt("(20) num_threads"),
                c.decimal("(21) itrealvalue"), c.decimal("(22) starttime"), c.decimal("(23) vsize"),
                c.decimal("(24) rss"), c.decimal("(25) rsslim"),
                c.decimal("(26) startcode"), c.decimal("(27) endcode"), c.decimal("(28) startstack"),
                c.decimal("(29) kstkesp"), c.decimal("(30) kstkeip"),
                c.decimal("(31) signal"), c.decimal("(32) blocked"), c.decimal("(33) sigignore"), c.decimal("(34) sigcatch"),
                c.decimal("(35) wchan"), c.decimal("(36) nswap"), c.decimal("(37) cnswap"),
                c.decimalInt("(38) exit_signal"), c.decimalInt("(39) processor"),
                c.decimalInt("(40) rt_priority"), c.decimalInt("(41) policy"),
                c.decimal("(42) delayacct_blkio_ticks"), c.decimal("(43) guest_time"), c.decimal("(44) cguest_time"),
                c.decimal("(45) start_data"), c.decimal("(46) end_data"), c.decimal("(47) start_brk"),
                c.decimal("(48) arg_start"), c.decimal("(49) arg_end"),
                c.decimal("(50) env_start"), c.decimal("(51) env_end"),
                c.decimalInt("(52) exit_code"));
        if (!c.atEnd()) throw lines.error("52 fields");
        return stat;
    }
}
