package dev.amber.kind;

import java.io.IOException;

/**
 * One kind of process state (memory, descriptors, signals, credentials…): everything Amber knows
 * about it, dump and restore, in its own package. Kinds are listed in {@link Kinds} in the order
 * a restart must apply them.
 */
public interface ProcessKind {
    /** The kind's one name, as in its package, image section and log prefix. */
    String name();

    /**
     * Reads the kind's state from the stopped process into {@code ctx.process()}, or records a
     * refusal with {@link DumpContext#refuse}. Must leave the process as it found it.
     */
    void dump(DumpContext ctx) throws IOException;

    /** Puts the kind's state from {@code ctx.process()} back into the puppet. */
    void restore(RestoreContext ctx) throws IOException;

    /**
     * Once per checkpoint, before the tree is frozen: work that would otherwise be done while it
     * is (starting a helper process), so that the freeze stays short.
     */
    default void beforeFreeze() throws IOException {}

    /** Once per checkpoint, when it is over, whatever its outcome: undoes {@link #beforeFreeze}. */
    default void afterCheckpoint() {}
}
