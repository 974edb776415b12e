package dev.amber.kind;

import dev.amber.image.proto.Descriptor;
import dev.amber.proc.FdInfo;
import java.io.IOException;

/**
 * One kind of open file (regular file, eventfd, timerfd, memfd…), recognised by what its
 * {@code /proc/PID/fd/N} link reads. The descriptor table ({@code kind.file.FileKind}) asks each
 * registered kind ({@link FdKinds}) in turn; the first that {@link #handles} a descriptor saves
 * and restores it. Sharing (dup'ed descriptors) and close-on-exec are the table's business.
 */
public interface FdKind {
    /** The {@code Descriptor.kind} case this kind writes, by which a restart finds it again. */
    Descriptor.KindCase kindCase();

    /** Whether this kind saves a descriptor whose link reads {@code target}, e.g. {@code anon_inode:[eventfd]}. */
    boolean handles(String target);

    /**
     * Whether this kind saves descriptor {@code fd} of {@code pid}, whose link reads {@code target}:
     * for kinds that must look at the open file itself (a device node's st_mode), not just its link; a FIFO
     * removed while open, whose link reads {@code /path (deleted)} as a deleted file's does).
     */
    default boolean handles(int pid, int fd, String target) {
        return handles(target);
    }

    /**
     * Saves descriptor {@code fd} into {@code d} (its {@code kind} field), or refuses it with
     * {@link DumpContext#refuse}. The process is stopped; {@code info} is its fdinfo.
     */
    void dump(DumpContext ctx, int fd, String target, FdInfo info, Descriptor.Builder d) throws IOException;

    /**
     * Makes the open file in the puppet and returns the descriptor number it got; the table then
     * moves it to {@code d.getFd()} and sets close-on-exec.
     */
    long restore(RestoreContext ctx, Descriptor d) throws IOException;

    /**
     * Restore pass: descriptors that refer to other descriptors come after them: 1 for an inotify
     * watching through a descriptor, 2 for an epoll (which may watch that inotify).
     */
    default int pass() {
        return 0;
    }

    /** The pass of descriptor {@code d} of this kind: {@link #pass()} unless the record says otherwise. */
    default int pass(Descriptor d) {
        return pass();
    }
}
