package dev.amber.kind;

/**
 * Something a checkpoint cannot save faithfully: {@code pid 4242 fd 7: socket (unix stream): not
 * supported yet}. {@code where} names the resource inside the process ("fd 7", "address
 * 0x7f00…"), {@code kind} what it is, {@code reason} why, with a remedy where there is one.
 */
public record Refusal(int pid, String where, String kind, String reason) {
    @Override
    public String toString() {
        return "pid " + pid + (where.isEmpty() ? "" : " " + where) + ": " + kind + ": " + reason;
    }
}
