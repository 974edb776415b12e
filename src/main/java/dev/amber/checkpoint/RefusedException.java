package dev.amber.checkpoint;

import dev.amber.kind.Refusal;
import java.util.List;

/** The checkpoint found resources it cannot save; the process was released untouched. */
public final class RefusedException extends Exception {
    private final List<Refusal> refusals;

    public RefusedException(List<Refusal> refusals) {
        super(refusals.size() + " resource(s) cannot be checkpointed");
        this.refusals = List.copyOf(refusals);
    }

    public List<Refusal> refusals() {
        return refusals;
    }
}
