package dev.amber.proc;

import java.io.IOException;

/**
 * {@code /proc/PID/status} and {@code /proc/PID/task/TID/status}: one {@code Label:\tvalue} per
 * line ({@code man 5 proc_pid_status}).
 *
 * <pre>
 * Name:	java
 * Umask:	0022
 * State:	S (sleeping)
 * Tgid:	4242
 * Uid:	1000	1000	1000	1000
 * Groups:	4 24 27
 * NStgid:	4242	1
 * SigQ:	0/96551
 * SigBlk:	0000000000000000
 * CapEff:	000001fffeffffff
 * </pre>
 *
 * Signal masks and capability sets are hexadecimal bitmasks (bit n-1 is signal n); Umask is octal.
 * Umask is absent when the task has no fs struct (a zombie), NStgid/NSpid/NSpgid/NSsid list one
 * id per pid namespace level, outermost first. Lines this record does not name (Vm*, Cpus_allowed,
 * Speculation*) are ignored. Ids are unsigned 32-bit values held in ints. The int[] components
 * are copied in and out; as in every record, {@code equals} compares them by identity.
 *
 * @param name the comm, with the kernel's {@code \n} and {@code \\} escapes decoded
 * @param umask octal value, or -1 when the line is absent
 * @param state the state letter: R S D T t X Z P I
 * @param groups supplementary groups, possibly none
 * @param sigQueued queued signals of the real uid (first half of {@code SigQ})
 * @param sigQueueLimit RLIMIT_SIGPENDING (second half of {@code SigQ})
 * @param kernelThread {@code Kthread: 1} (false when the line is absent)
 */
public record ProcStatus(
        String name,
        int umask,
        char state,
        int tgid,
        int pid,
        int ppid,
        int tracerPid,
        Ids uid,
        Ids gid,
        int[] groups,
        int[] nstgid,
        int[] nspid,
        int[] nspgid,
        int[] nssid,
        int threads,
        long sigQueued,
        long sigQueueLimit,
        long sigPnd,
        long shdPnd,
        long sigBlk,
        long sigIgn,
        long sigCgt,
        long capInh,
        long capPrm,
        long capEff,
        long capBnd,
        long capAmb,
        boolean noNewPrivs,
        int seccomp,
        boolean coreDumping,
        boolean kernelThread) {

    /** The four ids of a {@code Uid:} or {@code Gid:} line, in the kernel's order. */
    public record Ids(int real, int effective, int saved, int fs) {}

    public ProcStatus {
        groups = groups.clone();
        nstgid = nstgid.clone();
        nspid = nspid.clone();
        nspgid = nspgid.clone();
        nssid = nssid.clone();
    }

    @Override
    public int[] groups() {
        return groups.clone();
    }

    @Override
    public int[] nstgid() {
        return nstgid.clone();
    }

    @Override
    public int[] nspid() {
        return nspid.clone();
    }

    @Override
    public int[] nspgid() {
        return nspgid.clone();
    }

    @Override
    public int[] nssid() {
        return nssid.clone();
    }

    public static ProcStatus read(int pid) throws IOException {
        return ProcFiles.read(ProcFiles.path(pid, "status"), ProcStatus::parse);
    }

    public static ProcStatus read(int pid, int tid) throws IOException {
        return ProcFiles.read(ProcFiles.taskPath(pid, tid, "status"), ProcStatus::parse);
    }

    public static ProcStatus parse(String text) {
        var v = KeyValues.parse("status", text);
        long[] sigQ = sigQ(v);
        return new ProcStatus(
                name(v), umask(v), state(v),
                v.decimalInt("Tgid"), v.decimalInt("Pid"), v.decimalInt("PPid"), v.decimalInt("TracerPid"),
                ids(v, "Uid"), ids(v, "Gid"),
                v.ints("Groups"), v.ints("NStgid"), v.ints("NSpid"), v.ints("NSpgid"), v.ints("NSsid"),
                v.decimalInt("Threads"), sigQ[0], sigQ[1],
                v.hex("SigPnd"), v.hex("ShdPnd"), v.hex("SigBlk"), v.hex("SigIgn"), v.hex("SigCgt"),
                v.hex("CapInh"), v.hex("CapPrm"), v.hex("CapEff"), v.hex("CapBnd"), v.hex("CapAmb", 0),
                v.decimal("NoNewPrivs", 0) != 0, v.decimalInt("Seccomp", 0),
                v.decimal("CoreDumping", 0) != 0, v.decimal("Kthread", 0) != 0);
    }

    /** The kernel prints {@code "Name:\t"} then the comm, escaping only newline and backslash. */
    private static String name(KeyValues v) {
        String raw = v.require("Name").raw();
        if (raw.startsWith("\t")) raw = raw.substring(1);
        var out = new StringBuilder(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '\\' && i + 1 < raw.length()) {
                char next = raw.charAt(++i);
                out.append(next == 'n' ? '\n' : next);
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static int umask(KeyValues v) {
        if (!v.has("Umask")) return -1;
        var line = v.require("Umask");
        try {
            return Integer.parseInt(line.value(), 8);
        } catch (NumberFormatException e) {
            throw v.error(line, "Umask as octal");
        }
    }

    private static char state(KeyValues v) {
        var line = v.require("State");
        if (line.value().isEmpty()) throw v.error(line, "a state letter like \"S (sleeping)\"");
        return line.value().charAt(0);
    }

    private static Ids ids(KeyValues v, String label) {
        var line = v.require(label);
        int[] ids = v.ints(line);
        if (ids.length != 4) throw v.error(line, label + " as 4 ids (real, effective, saved, fs)");
        return new Ids(ids[0], ids[1], ids[2], ids[3]);
    }

    private static long[] sigQ(KeyValues v) {
        var line = v.require("SigQ");
        String[] parts = line.value().split("/");
        try {
            if (parts.length == 2) return new long[] {Long.parseLong(parts[0]), Long.parseLong(parts[1])};
        } catch (NumberFormatException e) {
            // fall through to the error below
        }
        throw v.error(line, "SigQ as \"queued/limit\"");
    }
}
