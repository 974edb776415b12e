package dev.amber.kind;

import dev.amber.kind.device.DeviceKind;
import dev.amber.kind.file.RegularFileKind;
import java.util.List;
import java.util.Optional;

/** Every kind of open file Amber can save; one line each. */
public final class FdKinds {
    public static final List<FdKind> ALL = List.of(
            new dev.amber.kind.pipe.PipeKind(),   // before regular files: a FIFO has a path too
            new dev.amber.kind.mqueue.MqueueKind(),   // before regular files: a queue's link reads /NAME
            new DeviceKind(),   // before regular files: a device node has a path too
            new RegularFileKind(),
            new dev.amber.kind.memfd.MemfdKind(),
            new dev.amber.kind.timerfd.TimerfdKind(),
            new dev.amber.kind.epoll.EpollKind(),
            new dev.amber.kind.eventfd.EventfdKind(),
            new dev.amber.kind.signalfd.SignalfdKind(),
            new dev.amber.kind.unix.UnixSocketKind(),   // before inet: it passes other families on
            new dev.amber.kind.inet.InetSocketKind(),
            new dev.amber.kind.netlink.NetlinkSocketKind(),   // reached through the unix kind, by family
            new dev.amber.kind.packet.PacketSocketKind(),   // reached through the unix kind, by family
            new dev.amber.kind.tty.TerminalKind(),
            new dev.amber.kind.inotify.InotifyKind(),
            new dev.amber.kind.fanotify.FanotifyKind(),
            new dev.amber.kind.pidfd.PidfdKind(),
            new dev.amber.kind.nsfd.NamespaceFdKind());

    private FdKinds() {}

    public static Optional<FdKind> forTarget(String target) {
        return ALL.stream().filter(k -> k.handles(target)).findFirst();
    }

    /** The kind that saves descriptor {@code fd} of {@code pid}, whose link reads {@code target}. */
    public static Optional<FdKind> forDescriptor(int pid, int fd, String target) {
        return ALL.stream().filter(k -> k.handles(pid, fd, target)).findFirst();
    }

    /** The kind that saved {@code d} (its oneof case), for restore. */
    public static FdKind of(dev.amber.image.proto.Descriptor d) {
        return ALL.stream().filter(k -> k.kindCase() == d.getKindCase()).findFirst().orElseThrow(
                () -> new IllegalStateException("no kind restores descriptor " + d.getFd() + " (" + d.getKindCase() + ")"));
    }
}
