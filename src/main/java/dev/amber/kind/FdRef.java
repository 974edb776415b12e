package dev.amber.kind;

/** Descriptor {@code fd} of process {@code pid}. */
public record FdRef(int pid, int fd) {
    @Override
    public String toString() {
        return "pid " + pid + " fd " + fd;
    }
}
