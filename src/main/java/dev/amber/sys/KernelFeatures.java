package dev.amber.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What this kernel offers Amber, probed by trying each thing (never by comparing versions).
 * {@code required} probes must pass for checkpoint and restart; the others enable later features.
 */
public record KernelFeatures(List<Probe> probes) {
    public record Probe(String name, boolean ok, boolean required, String detail) {}

    public static KernelFeatures probe() {
        List<Probe> p = new ArrayList<>();
        p.add(exists("clone3 with set_tid (exact PIDs)", Arch.SYS_CLONE3, true));
        p.add(exists("pidfd_open", Arch.SYS_PIDFD_OPEN, false));
        p.add(exists("pidfd_getfd (copy a target's descriptors)", Arch.SYS_PIDFD_GETFD, false));
        p.add(exists("rseq", Arch.SYS_RSEQ, true));
        p.add(vmReadv());
        p.add(mmMap());
        p.add(file("/proc/self/map_files (CONFIG_CHECKPOINT_RESTORE)", "/proc/self/map_files", true));
        p.add(file("/proc/PID/task/TID/children", "/proc/self/task/" + ProcessHandle.current().pid() + "/children",
                false));
        p.add(file("time namespaces", "/proc/self/ns/time", false));
        p.add(exists("userfaultfd (lazy restore, dirty tracking)", 323, false));
        p.add(file("freezer cgroup v1", "/sys/fs/cgroup/freezer", false));
        p.add(seccompFilters());
        return new KernelFeatures(List.copyOf(p));
    }

    public boolean allRequired() {
        return probes.stream().allMatch(p -> p.ok() || !p.required());
    }

    /** Calls {@code nr} with bad arguments: anything but ENOSYS means the kernel has it. */
    private static Probe exists(String name, long nr, boolean required) {
        long r = Syscall.raw(nr, -1, 0, 0, 0, 0, 0);
        if (r >= 0 && nr == 323) {
            Syscall.raw(Arch.SYS_CLOSE, r, 0, 0);
        }
        boolean ok = r != -Errno.ENOSYS;
        return new Probe(name, ok, required, ok ? "present" : "missing (ENOSYS)");
    }

    private static Probe vmReadv() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocate(8);
            src.set(ValueLayout.JAVA_LONG, 0, 0x616d626572L);
            MemorySegment dst = a.allocate(8);
            ProcessMemory.read((int) ProcessHandle.current().pid(), src.address(), dst);
            boolean ok = dst.get(ValueLayout.JAVA_LONG, 0) == 0x616d626572L;
            return new Probe("process_vm_readv", ok, true, ok ? "works" : "read wrong data");
        } catch (ErrnoException e) {
            return new Probe("process_vm_readv", false, true, e.getMessage());
        }
    }

    private static Probe mmMap() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment size = a.allocate(4);
            long r = Syscall.raw(Arch.SYS_PRCTL, 35, 15, size.address(), 0, 0, 0);  // PR_SET_MM, PR_SET_MM_MAP_SIZE
            boolean ok = r == 0 && size.get(ValueLayout.JAVA_INT, 0) == 104;
            return new Probe("prctl(PR_SET_MM_MAP)", ok, true,
                    ok ? "present" : r < 0 ? Errno.describe((int) -r) : "struct size " + size.get(ValueLayout.JAVA_INT, 0));
        }
    }

    /**
     * Seccomp filters (CONFIG_SECCOMP_FILTER), which /proc/PID/status then counts per task: reading
     * a process's filters back (PTRACE_SECCOMP_GET_FILTER) also needs CONFIG_CHECKPOINT_RESTORE.
     */
    private static Probe seccompFilters() {
        String name = "seccomp filters (CONFIG_SECCOMP_FILTER)";
        try {
            boolean ok = Files.readString(Path.of("/proc/self/status")).contains("\nSeccomp_filters:");
            return new Probe(name, ok, false, ok ? "present" : "no Seccomp_filters line in /proc/self/status");
        } catch (java.io.IOException e) {
            return new Probe(name, false, false, e.getMessage());
        }
    }

    private static Probe file(String name, String path, boolean required) {
        boolean ok = Files.exists(Path.of(path));
        return new Probe(name, ok, required, ok ? "present" : "missing: " + path);
    }
}
