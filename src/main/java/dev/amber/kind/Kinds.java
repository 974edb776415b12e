package dev.amber.kind;

import dev.amber.kind.attr.AttributesKind;
import dev.amber.kind.attr.LoginuidKind;
import dev.amber.kind.cpu.CpuKind;
import dev.amber.kind.creds.CredentialsKind;
import dev.amber.kind.file.FileKind;
import dev.amber.kind.fs.FsKind;
import dev.amber.kind.memfd.MemfdEarlyKind;
import dev.amber.kind.memfd.MemfdLateKind;
import dev.amber.kind.memory.MemoryKind;
import dev.amber.kind.memory.MmBoundsKind;
import dev.amber.kind.ns.NamespaceKind;
import dev.amber.kind.seccomp.SeccompKind;
import dev.amber.kind.seccomp.SeccompStrictKind;
import dev.amber.kind.session.SessionKind;
import dev.amber.kind.signal.SignalKind;
import dev.amber.kind.thread.ThreadKind;
import dev.amber.kind.thread.ThreadsKind;
import dev.amber.kind.timer.ExpiredAlarmKind;
import dev.amber.kind.timer.ITimerKind;
import java.util.List;

/**
 * Every kind, in the order a restart applies them: memfds before memory (a mapping of a memfd
 * maps the memfd that the descriptors share) and their last seals after the descriptors, memory
 * first otherwise (later kinds need their memory), the mm bounds once the puppet's own
 * executable is unmapped, files and directories before anything that drops privileges, seccomp
 * filters while the puppet is still root, credentials late, and the attributes that a
 * credential change resets after them; interval timers last, so they do not run during the
 * restore, and seccomp strict mode after everything.
 */
public final class Kinds {
    public static final List<ProcessKind> ALL = List.of(
            new NamespaceKind(),
            new dev.amber.kind.cgroup.CgroupKind(),   // a refusal only: membership is not saved yet
            new MemfdEarlyKind(),
            new MemoryKind(),
            new dev.amber.kind.ipc.IpcKind(),   // SysV objects and shm attachments, once memory is in place
            new MmBoundsKind(),
            new ThreadsKind(),
            new FileKind(),
            new MemfdLateKind(),
            new FsKind(),
            new SessionKind(),
            new dev.amber.kind.tty.ControllingTerminalKind(),   // once sessions and groups exist
            new ExpiredAlarmKind(),   // before the signals: see there
            new SignalKind(),
            new ThreadKind(),
            new CpuKind(),
            new SeccompKind(),   // while the puppet is still root: see there
            new LoginuidKind(),   // before the credentials: see there
            new CredentialsKind(),
            new AttributesKind(),
            new dev.amber.kind.oom.OomKind(),
            new dev.amber.kind.membarrier.MembarrierKind(),
            new ITimerKind(),
            new SeccompStrictKind());   // strict mode last of all: see there

    private Kinds() {}
}
