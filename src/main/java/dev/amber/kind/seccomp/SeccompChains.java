package dev.amber.kind.seccomp;

import com.google.protobuf.ByteString;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.SeccompFilter;
import dev.amber.trace.Tracee;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The seccomp filters of a tree being checkpointed, each saved once. The kernel shows no identity
 * for a filter (kcmp has no KCMP_ type for it), so filters are told apart by what can be seen:
 * a filter is the same one when its program and flags are, and so is everything installed before
 * it. Threads and children that inherited a chain thus share its filters in the image, and a
 * filter added on top by one of them is its own.
 */
final class SeccompChains {
    /** A filter in its place: the filter before it (its id), its flags and its program. */
    private record Key(int prev, long flags, ByteString program) {}

    private final Map<Key, Integer> ids = new HashMap<>();

    /**
     * The id of the newest filter of {@code chain} (oldest first); the filters not saved before
     * are added to {@code process}'s record, with ids that go on from the last.
     */
    int add(List<Tracee.SeccompProgram> chain, Process.Builder process) {
        int prev = 0;
        for (Tracee.SeccompProgram f : chain) {
            Key key = new Key(prev, f.flags(), ByteString.copyFrom(f.instructions()));
            Integer id = ids.get(key);
            if (id == null) {
                id = ids.size() + 1;
                ids.put(key, id);
                process.addSeccompFilters(SeccompFilter.newBuilder().setId(id).setPrev(prev)
                        .setProgram(key.program()).setFlags(f.flags()));
            }
            prev = id;
        }
        return prev;
    }

    private static final int BPF_RET_K = 0x06, SECCOMP_RET_ACTION_FULL = 0xffff0000,
            SECCOMP_RET_USER_NOTIF = 0x7fc00000;

    /**
     * Why {@code chain} cannot be saved, or null: a filter that can return SECCOMP_RET_USER_NOTIF
     * hands calls to a supervisor through the listener descriptor made with it, which cannot be
     * saved (after a restart without it those calls would fail with ENOSYS).
     *
     * <pre>
     * struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }   (little-endian)
     * </pre>
     */
    static String userNotification(List<Tracee.SeccompProgram> chain) {
        for (int i = 0; i < chain.size(); i++) {
            ByteBuffer b = ByteBuffer.wrap(chain.get(i).instructions()).order(ByteOrder.LITTLE_ENDIAN);
            for (int at = 0; at + 8 <= b.limit(); at += 8) {
                if (b.getShort(at) == BPF_RET_K && (b.getInt(at + 4) & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF) {
                    return "filter " + (i + 1) + " of " + chain.size() + " (oldest first) can return"
                            + " SECCOMP_RET_USER_NOTIF: its notification listener (a supervisor's descriptor) cannot"
                            + " be saved yet";
                }
            }
        }
        return null;
    }
}
