package dev.amber.image;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.amber.image.proto.Credentials;
import dev.amber.image.proto.Descriptor;
import dev.amber.image.proto.ImageDescription;
import dev.amber.image.proto.ImageFile;
import dev.amber.image.proto.Inventory;
import dev.amber.image.proto.PageRun;
import dev.amber.image.proto.Process;
import dev.amber.image.proto.RegularFile;
import dev.amber.image.proto.SigAction;
import dev.amber.image.proto.Thread;
import dev.amber.image.proto.Vma;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;

/** Renders an opened image for `amber show`: compact aligned text, or the full JSON mapping. */
public final class ImageDescriber {
    private ImageDescriber() {}

    /** The inventory and every message of every process, field names as in image.proto. */
    public static String json(ImageReader image) throws ImageException {
        ImageDescription description = ImageDescription.newBuilder()
                .setDirectory(image.directory().toString())
                .setInventory(image.inventory())
                .addAllProcesses(image.processes())
                .build();
        try {
            return JsonFormat.printer().preservingProtoFieldNames().print(description) + "\n";
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("image messages hold no Any fields", e);
        }
    }

    public static String text(ImageReader image) throws ImageException {
        StringBuilder out = new StringBuilder();
        inventory(out, image);
        for (Process process : image.processes()) {
            out.append('\n');
            process(out, image.inventory().getArch(), process);
        }
        return out.toString();
    }

    private static void inventory(StringBuilder out, ImageReader image) {
        Inventory inv = image.inventory();
        long bytes = image.files().stream().mapToLong(ImageFile::getSize).sum();
        out.append("image ").append(image.directory()).append('\n');
        new TextTable("format", inv.getFormatMajor() + "." + inv.getFormatMinor())
                .row("arch", inv.getArch())
                .row("kernel", inv.getKernelRelease())
                .row("tool", inv.getToolVersion())
                .row("root pid", inv.getRootPid())
                .row("created", Instant.ofEpochMilli(inv.getCreatedUnixMillis()))
                .row("files", inv.getFilesCount() + ", " + bytes + " bytes")
                .render(out, "  ");
    }

    private static String leader(dev.amber.image.proto.LeaderState state) {
        return switch (state) {
            case OUTSIDE -> " (leader outside the tree)";
            case GHOST -> " (leader gone)";
            default -> "";
        };
    }

    private static String zombie(int status) {
        return (status & 0x7f) == 0 ? "zombie, exited with " + ((status >> 8) & 0xff)
                : "zombie, killed by signal " + (status & 0x7f);
    }

    private static void process(StringBuilder out, String arch, Process p) {
        out.append(String.format("process %d  ppid %d  pgid %d%s  sid %d%s  comm %s%s%n",
                p.getPid(), p.getPpid(), p.getPgid(), leader(p.getGroupLeader()), p.getSid(),
                leader(p.getSessionLeader()), p.getComm(), p.hasZombie() ? "  " + zombie(p.getZombie().getExitStatus()) : ""));
        if (p.hasZombie()) {
            return;
        }
        memory(out, p);
        threads(out, arch, p.getThreadsList());
        signals(out, p.getSignals().getActionsList());
        credentials(out, p.getCredentials());
        seccomp(out, p);
        descriptors(out, p.getDescriptorsList());
    }

    /** Each thread's seccomp mode and newest filter, and the filters first saved in this record. */
    private static void seccomp(StringBuilder out, Process p) {
        TextTable threads = new TextTable("TID", "MODE", "NEWEST FILTER").right(0, 2);
        int n = 0;
        for (Thread t : p.getThreadsList()) {
            if (t.getSeccompMode() != 0) {
                threads.row(t.getTid(), switch (t.getSeccompMode()) {
                    case 1 -> "strict";
                    case 2 -> "filter";
                    default -> "mode " + t.getSeccompMode();
                }, t.getSeccompMode() == 2 ? Integer.toString(t.getSeccompFilter()) : "-");
                n++;
            }
        }
        if (n == 0 && p.getSeccompFiltersCount() == 0) {
            return;
        }
        out.append("  seccomp: ").append(n).append(" threads under seccomp\n");
        threads.render(out, "    ");
        if (p.getSeccompFiltersCount() > 0) {
            TextTable filters = new TextTable("FILTER", "PREV", "INSTRUCTIONS", "FLAGS").right(0, 1, 2);
            p.getSeccompFiltersList().forEach(f -> filters.row(f.getId(), f.getPrev(), f.getProgram().size() / 8,
                    (f.getFlags() & 2) != 0 ? "LOG" : String.format("0x%x", f.getFlags())));
            out.append("  seccomp filters first saved here:\n");
            filters.render(out, "    ");
        }
    }

    private static void memory(StringBuilder out, Process p) {
        long pages = 0;
        TextTable table = new TextTable("ADDRESS", "PROT", "KIND", "PAGES", "PATH").right(3);
        for (Vma vma : p.getMemory().getVmasList()) {
            long saved = vma.getPagesList().stream().mapToLong(PageRun::getCount).sum();
            pages += saved;
            table.row(String.format("%012x-%012x", vma.getStart(), vma.getEnd()), prot(vma),
                    vma.getKind(), saved, vma.getPath());
        }
        out.append(String.format("  memory: %d areas, %d pages saved in %s%n",
                p.getMemory().getVmasCount(), pages, p.getMemory().getPagesFile()));
        table.render(out, "    ");
    }

    static String prot(Vma vma) {
        int prot = vma.getProt();
        return ((prot & 1) != 0 ? "r" : "-") + ((prot & 2) != 0 ? "w" : "-")
                + ((prot & 4) != 0 ? "x" : "-") + (vma.getShared() ? "s" : "p");
    }

    private static void threads(StringBuilder out, String arch, List<Thread> threads) {
        out.append("  threads:\n");
        TextTable table = new TextTable("TID", "COMM", "REGISTERS", "XSAVE", "INTERRUPTED").right(0, 3);
        for (Thread t : threads) {
            String interrupted = !t.hasInterrupted() ? "-"
                    : String.format("syscall %d result %d, %s", t.getInterrupted().getNr(),
                            t.getInterrupted().getResult(), t.getInterrupted().getResumedAs());
            table.row(t.getTid(), t.getComm(), Registers.summary(arch, t.getGpRegs()),
                    t.getXsave().size(), interrupted);
        }
        table.render(out, "    ");
    }

    private static void signals(StringBuilder out, List<SigAction> actions) {
        TextTable table = new TextTable("SIGNAL", "HANDLER", "FLAGS", "MASK");
        int n = 0;
        for (SigAction a : actions) {
            if (a.getHandler() != 0 || a.getFlags() != 0 || a.getMask() != 0) {
                String handler = a.getHandler() == 0 ? "SIG_DFL"
                        : a.getHandler() == 1 ? "SIG_IGN" : String.format("0x%x", a.getHandler());
                table.row(Signals.name(a.getSigno()), handler, String.format("0x%x", a.getFlags()),
                        String.format("0x%x", a.getMask()));
                n++;
            }
        }
        out.append("  signals: ").append(n == 0 ? "all default\n" : n + " not default\n");
        if (n > 0) {
            table.render(out, "    ");
        }
    }

    private static void credentials(StringBuilder out, Credentials c) {
        out.append(String.format(
                "  credentials: uid %s  gid %s  groups %s%n"
                        + "    cap eff 0x%x prm 0x%x inh 0x%x bnd 0x%x amb 0x%x  securebits 0x%x%s%n",
                join(c.getUidsList()), join(c.getGidsList()), join(c.getGroupsList()),
                c.getCapEffective(), c.getCapPermitted(), c.getCapInheritable(), c.getCapBounding(),
                c.getCapAmbient(), c.getSecurebits(), c.getNoNewPrivs() ? "  no_new_privs" : ""));
    }

    private static String join(List<Integer> ids) {
        return ids.isEmpty() ? "-" : ids.stream().map(String::valueOf).collect(Collectors.joining("/"));
    }

    /** A one-line summary of a descriptor that is not a plain file; a kind not listed shows "-". */
    private static String details(Descriptor d) {
        return switch (d.getKindCase()) {
            case EVENTFD -> "count " + Long.toUnsignedString(d.getEventfd().getCount())
                    + (d.getEventfd().getSemaphore() ? ", semaphore" : "");
            case SIGNALFD -> "mask 0x" + Long.toHexString(d.getSignalfd().getMask());
            case TIMERFD -> String.format("clock %d, next in %d ns, every %d ns, %d unread", d.getTimerfd().getClockid(),
                    d.getTimerfd().getValueNanos(), d.getTimerfd().getIntervalNanos(), d.getTimerfd().getTicks());
            case EPOLL -> d.getEpoll().getWatchesCount() + " watches: fds " + d.getEpoll().getWatchesList().stream()
                    .map(w -> Integer.toString(w.getFd())).collect(Collectors.joining(","));
            case MEMFD -> "memfd:" + d.getMemfd().getName() + ", " + d.getMemfd().getSize() + " bytes";
            case INOTIFY -> d.getInotify().getWatchesCount() + " watches: " + d.getInotify().getWatchesList().stream()
                    .map(w -> w.getWd() + " " + w.getPath()).collect(Collectors.joining(", "))
                    + (d.getInotify().getDroppedEventBytes() > 0
                            ? "; " + d.getInotify().getDroppedEventBytes() + " bytes of events dropped" : "");
            case MQUEUE -> "/" + d.getMqueue().getName() + (d.getMqueue().getHoldsQueue() ? ", " + d.getMqueue()
                    .getMessagesCount() + " messages, maxmsg " + d.getMqueue().getMaxmsg() + ", msgsize "
                    + d.getMqueue().getMsgsize() : "");
            case UNIX -> unix(d.getUnix());
            case NETLINK -> "netlink protocol " + d.getNetlink().getProtocol() + ", port id "
                    + Integer.toUnsignedString(d.getNetlink().getPortid()) + (d.getNetlink().getGroupsCount() > 0
                    ? ", groups " + d.getNetlink().getGroupsList() : "");
            case PACKET -> "packet type " + d.getPacket().getType() + ", protocol 0x"
                    + Integer.toHexString(d.getPacket().getProtocol()) + (d.getPacket().getIfindex() != 0
                    ? ", interface " + d.getPacket().getIfindex() : "") + (d.getPacket().getDevice().isEmpty()
                    ? "" : ", device " + d.getPacket().getDevice()) + (d.getPacket().getFanout() != 0
                    ? ", fanout group " + (d.getPacket().getFanout() & 0xffff) : "");
            case TERMINAL -> terminal(d.getTerminal());
            case PIPE -> (d.getPipe().getFifoPath().isEmpty() ? "pipe:[" + d.getPipe().getId() + "]"
                    : "FIFO " + d.getPipe().getFifoPath()) + (d.getPipe().getReadWrite() ? ", both ends"
                    : d.getPipe().getWriteEnd() ? ", write end" : ", read end")
                    + (d.getPipe().getData().isEmpty() ? "" : ", " + d.getPipe().getData().size() + " bytes buffered");
            default -> "-";
        };
    }

    /** {@code unix stream /run/app.sock, listening, 1 queued} or {@code unix datagram, pair socket:[7], 2 messages (13 bytes)}. */
    private static String unix(dev.amber.image.proto.UnixSocket u) {
        String type = switch (u.getType()) {
            case 1 -> "stream";
            case 2 -> "datagram";
            case 5 -> "seqpacket";
            default -> "type " + u.getType();
        };
        byte[] n = u.getName().toByteArray();
        String name = n.length == 0 ? "" : n[0] == 0
                ? " @" + new String(n, 1, n.length - 1, java.nio.charset.StandardCharsets.UTF_8)
                : " " + new String(n, java.nio.charset.StandardCharsets.UTF_8).replace("\0", "");
        String role = switch (u.getRole()) {
            case UNIX_LISTENING -> ", listening, " + u.getListener().getClientsCount() + " queued";
            case UNIX_PAIR -> ", pair socket:[" + u.getPeerInode() + "]";
            case UNIX_DEAD_PEER -> ", peer closed";
            case UNIX_DGRAM_TO -> ", sends to socket:[" + u.getPeerInode() + "]";
            case UNIX_QUEUED -> ", waiting on socket:[" + u.getPeerInode() + "]";
            case UNIX_EXTERNAL -> ", external peer";
            default -> "";
        };
        long bytes = u.getQueueList().stream().mapToLong(com.google.protobuf.ByteString::size).sum();
        return "unix " + type + name + role + (u.getQueueCount() == 0 ? "" : ", " + (u.getType() == 1 ? bytes
                + " bytes queued" : u.getQueueCount() + " messages (" + bytes + " bytes)"));
    }

    private static String terminal(dev.amber.image.proto.Terminal t) {
        if (t.getShell()) {
            return "the shell's terminal (" + t.getPath() + " at checkpoint)";
        }
        String s = (t.getMaster() ? "master of /dev/pts/" : "/dev/pts/") + t.getIndex();
        if (t.hasPty()) {
            var p = t.getPty();
            s += ", " + p.getRows() + "x" + p.getCols() + (p.getPacket() ? ", packet mode" : "")
                    + (p.getLocked() ? ", locked" : "") + (p.getSlaveExclusive() ? ", exclusive" : "")
                    + ", queued " + p.getInput().size() + " in, " + p.getOutput().size() + " out";
        }
        return s;
    }

    private static void descriptors(StringBuilder out, List<Descriptor> descriptors) {
        out.append("  descriptors: ").append(descriptors.size()).append('\n');
        TextTable table = new TextTable("FD", "KIND", "FLAGS", "OFFSET", "PATH").right(0, 3);
        for (Descriptor d : descriptors) {
            String cloexec = d.getCloexec() ? ",cloexec" : "";
            if (d.getShares()) {
                table.row(d.getFd(), "shared", cloexec.isEmpty() ? "-" : "cloexec", "-",
                        "same open file as fd " + d.getSameAs());
            } else if (d.getFromPid() != 0) {
                table.row(d.getFd(), "shared", cloexec.isEmpty() ? "-" : "cloexec", "-",
                        "same open file as pid " + d.getFromPid() + " fd " + d.getFromFd());
            } else if (!d.getExternal().isEmpty()) {
                table.row(d.getFd(), "external", cloexec.isEmpty() ? "-" : "cloexec", "-",
                        (d.hasPipe() ? details(d) : d.getExternal()) + "; supplied at restart (--inherit-fd"
                                + (d.hasPipe() ? " or --external-closed)" : ")"));
            } else if (d.hasRegular()) {
                RegularFile f = d.getRegular();
                table.row(d.getFd(), "file", OpenFlags.describe(f.getFlags()) + cloexec, f.getPosition(),
                        f.getPath());
            } else {
                table.row(d.getFd(), d.getKindCase().name().toLowerCase(), cloexec.isEmpty() ? "-"
                        : "cloexec", "-", details(d));
            }
        }
        if (!descriptors.isEmpty()) {
            table.render(out, "    ");
        }
    }
}
