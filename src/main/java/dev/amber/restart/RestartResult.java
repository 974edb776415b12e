package dev.amber.restart;

/**
 * What a restart did: the root's saved pid, the pid it has on this host (different only with
 * --new-pidns, where the saved one is its pid inside the new namespace), the process to wait for
 * (the root, or with --new-pidns the namespace's helper init, which ends with the root's status),
 * how long it took, and what the user should be told.
 */
public record RestartResult(int pid, int hostPid, int waitPid, long wallNanos, java.util.List<String> warnings) {
    public RestartResult(int pid, long wallNanos) {
        this(pid, pid, pid, wallNanos, java.util.List.of());
    }
}
