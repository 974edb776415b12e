package dev.amber.restart;

/** What a restart did: the pid running again, and how long it took. */
public record RestartResult(int pid, long wallNanos) {}
