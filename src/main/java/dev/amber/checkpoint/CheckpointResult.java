package dev.amber.checkpoint;

/** What a checkpoint did, for the user and the benchmark. */
public record CheckpointResult(int pid, long frozenNanos, long wallNanos, long pageBytes, long imageBytes) {}
