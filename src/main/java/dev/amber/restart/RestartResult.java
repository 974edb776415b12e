package dev.amber.restart;

/**
 * What a restart did: the root's saved pid, the pid it has on this host (different only with
 * --new-pidns, where the saved one is its pid inside the new namespace), the process to wait for
 * (the root, or with --new-pidns the namespace's helper init, which ends with the root's status),
 * and how long it took.
 */
public record RestartResult(int pid, int hostPid, int waitPid, long wallNanos) {
    public RestartResult(int pid, long wallNanos) {
        this(pid, pid, pid, wallNanos);
    }
}
