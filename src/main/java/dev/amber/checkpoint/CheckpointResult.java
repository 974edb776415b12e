package dev.amber.checkpoint;

import java.util.List;

/**
 * What a checkpoint did, for the user and the benchmark: the root, how many processes the tree
 * had, how long it was frozen, and what the user should know that did not stop it.
 */
public record CheckpointResult(int pid, int processes, long frozenNanos, long wallNanos, long pageBytes,
        long imageBytes, List<String> warnings) {}
